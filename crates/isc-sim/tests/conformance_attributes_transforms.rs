//! Conformance of the identity-attribute and transform operations: every operation, on success
//! and on each documented refusal, driven through the tenant client (so its request bodies are
//! validated too) and raw requests, then the simulator's journal is checked entry by entry
//! against the official schemas (`common::openapi::check_journal`).

pub mod common;

use common::openapi::{check_journal, v2024};
use common::*;
use isc_client::models::*;
use isc_client::{Filter, IscError, ListParams, TenantClient};
use serde_json::Map;

/// Every new operation, each answered with success at least once.
const OPERATIONS: &[&str] = &[
    "listIdentityAttributes",
    "createIdentityAttribute",
    "getIdentityAttribute",
    "putIdentityAttribute",
    "deleteIdentityAttribute",
    "listTransforms",
    "createTransform",
    "getTransform",
    "updateTransform",
    "deleteTransform",
];

/// Every refusal the rules make, each seen at least once.
const ERROR_CASES: &[(&str, u16)] = &[
    ("createIdentityAttribute", 403),
    ("putIdentityAttribute", 403),
    ("deleteIdentityAttribute", 403),
    ("createIdentityAttribute", 400),
    ("putIdentityAttribute", 400),
    ("deleteIdentityAttribute", 400),
    ("getIdentityAttribute", 404),
    ("createTransform", 400),
    ("updateTransform", 400),
    ("deleteTransform", 400),
    ("getTransform", 404),
    ("listTransforms", 400),
    ("createIdentityProfile", 400),
    ("updateIdentityProfile", 400),
];

/// The member of `Transform.attributes` for each transform type (`title` of the member schema).
const TRANSFORM_MEMBERS: &[(&str, &str)] = &[
    ("accountAttribute", "AccountAttribute"),
    ("base64Decode", "Base64Decode"),
    ("base64Encode", "Base64Encode"),
    ("concat", "Concatenation"),
    ("conditional", "Conditional"),
    ("dateCompare", "DateCompare"),
    ("dateFormat", "DateFormat"),
    ("dateMath", "DateMath"),
    ("decomposeDiacriticalMarks", "DecomposeDiacriticalMarks"),
    ("e164phone", "E164phone"),
    ("firstValid", "FirstValid"),
    ("rule", "Rule"),
    ("identityAttribute", "IdentityAttribute"),
    ("indexOf", "IndexOf"),
    ("iso3166", "ISO3166"),
    ("leftPad", "LeftPad"),
    ("lookup", "Lookup"),
    ("lower", "Lower"),
    ("normalizeNames", "NameNormalizer"),
    ("randomAlphaNumeric", "RandomAlphaNumeric"),
    ("randomNumeric", "RandomNumeric"),
    ("reference", "Reference-2"),
    ("replaceAll", "ReplaceAll"),
    ("replace", "Replace"),
    ("rightPad", "RightPad"),
    ("split", "Split"),
    ("static", "Static"),
    ("substring", "Substring"),
    ("trim", "Trim"),
    ("upper", "Upper"),
    ("uuid", "UUIDGenerator"),
];

/// Checks the `attributes` of every transform sent or answered against the member schema of
/// its `type` (the document's `oneOf` cannot tell them apart; see `common::openapi`). Returns
/// how many were checked.
fn check_transform_attributes(journal: &[JournalEntry]) -> usize {
    let ops = [
        "createTransform",
        "updateTransform",
        "getTransform",
        "listTransforms",
    ];
    let mut checked = 0;
    for entry in journal
        .iter()
        .filter(|e| e.status < 300 && ops.contains(&e.operation_id.as_deref().unwrap_or_default()))
    {
        let bodies = [&entry.body, &entry.response_body];
        let transforms = bodies.into_iter().flat_map(|b| match b {
            Value::Array(items) => items.iter().collect::<Vec<_>>(),
            other => vec![other],
        });
        for t in transforms {
            let (Some(kind), Some(attributes)) = (t["type"].as_str(), t.get("attributes")) else {
                continue;
            };
            let (_, member) = TRANSFORM_MEMBERS
                .iter()
                .find(|(k, _)| *k == kind)
                .unwrap_or_else(|| panic!("no member schema for type {kind}"));
            let errors: Vec<String> = v2024()
                .component_validator(member)
                .iter_errors(attributes)
                .map(|e| e.to_string())
                .collect();
            assert!(
                errors.is_empty(),
                "{kind} attributes {attributes}: {errors:?}"
            );
            checked += 1;
        }
    }
    checked
}

fn object(value: Value) -> Map<String, Value> {
    value.as_object().cloned().expect("an object")
}

/// The status and message of a refused call.
fn refused(result: Result<impl std::fmt::Debug, IscError>) -> (u16, String) {
    let err = result.expect_err("the tenant refuses");
    (err.status().unwrap_or_default(), err.to_string())
}

fn assert_refused(result: Result<impl std::fmt::Debug, IscError>, status: u16, needles: &[&str]) {
    let (got, text) = refused(result);
    assert_eq!(got, status, "{text}");
    for needle in needles {
        assert!(text.contains(needle), "expected {needle:?} in {text}");
    }
}

fn cost_center() -> IdentityAttribute {
    IdentityAttribute {
        name: "costCenter".into(),
        display_name: Some("Cost Center".into()),
        r#type: Some("string".into()),
        sources: vec![IdentityAttributeSource {
            kind: Some("rule".into()),
            properties: Some(object(json!({"ruleType": "IdentityAttribute",
                "ruleName": "Cloud Promote Identity Attribute"}))),
        }],
        ..Default::default()
    }
}

fn lower_transform(name: &str) -> Transform {
    Transform {
        name: name.into(),
        kind: "lower".into(),
        attributes: Some(object(json!({"input": {"type": "accountAttribute",
            "attributes": {"sourceName": "HR Employees", "attributeName": "department"}}}))),
        ..Default::default()
    }
}

/// A profile mapping `attribute` with a `reference` to the transform `reference`.
fn profile_with_reference(name: &str, attribute: &str, reference: &str) -> IdentityProfile {
    IdentityProfile {
        name: name.into(),
        authoritative_source: ObjectRef {
            kind: Some("SOURCE".into()),
            id: Some(EMPLOYEES.into()),
            name: Some("HR Employees".into()),
        },
        identity_attribute_config: Some(IdentityAttributeConfig {
            enabled: true,
            attribute_transforms: vec![IdentityAttributeTransform {
                identity_attribute_name: Some(attribute.into()),
                transform_definition: Some(TransformDefinition {
                    kind: Some("reference".into()),
                    attributes: Some(object(json!({"id": reference}))),
                }),
            }],
        }),
        ..Default::default()
    }
}

async fn drive_identity_attributes(env: &Env, user: &TenantClient, app: &TenantClient) {
    let all = user.list_identity_attributes().await.expect("list");
    let find = |name: &str| all.iter().find(|a| a.name == name).cloned();
    assert!(find("email").is_some_and(|a| a.standard && !a.system));
    assert!(find("cloudLifecycleState").is_some_and(|a| a.system));
    app.list_identity_attributes()
        .await
        .expect("reads need no user context");
    let r = env.get("/v2024/identity-attributes?count=true").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        !names(&r.body).contains(&"cloudLifecycleState".to_string()),
        "system only with includeSystem"
    );
    assert_eq!(
        r.headers["x-total-count"],
        r.body.as_array().unwrap().len().to_string()
    );
    user.get_identity_attribute("email").await.expect("get");

    let mut attribute = cost_center();
    let created = user
        .create_identity_attribute(&attribute)
        .await
        .expect("create");
    assert_eq!(created, attribute);
    assert_refused(
        app.create_identity_attribute(&IdentityAttribute {
            name: "other".into(),
            ..Default::default()
        })
        .await,
        403,
        &[],
    );
    assert_refused(
        user.create_identity_attribute(&attribute).await,
        400,
        &["'costCenter' already exists"],
    );
    let shouting = IdentityAttribute {
        name: "COSTCENTER".into(),
        ..Default::default()
    };
    assert_refused(
        user.create_identity_attribute(&shouting).await,
        400,
        &["already exists"],
    );

    attribute.display_name = Some("Cost centre".into());
    attribute.searchable = true;
    let put = user
        .put_identity_attribute("costCenter", &attribute)
        .await
        .expect("put");
    assert_eq!(put.display_name.as_deref(), Some("Cost centre"));
    assert_refused(
        app.put_identity_attribute("costCenter", &attribute).await,
        403,
        &[],
    );
    let multi = IdentityAttribute {
        multi: true,
        searchable: false,
        ..attribute.clone()
    };
    assert_refused(
        user.put_identity_attribute("costCenter", &multi).await,
        400,
        &["'multi' cannot be changed"],
    );
    assert_refused(
        user.put_identity_attribute("email", &attribute).await,
        400,
        &["'name' cannot be changed"],
    );
    let standard_searchable = IdentityAttribute {
        standard: true,
        ..attribute.clone()
    };
    assert_refused(
        user.put_identity_attribute("costCenter", &standard_searchable)
            .await,
        400,
        &["'searchable'"],
    );
    assert_refused(
        user.get_identity_attribute("noSuchAttribute").await,
        404,
        &["noSuchAttribute"],
    );
    assert_refused(
        user.delete_identity_attribute("email").await,
        400,
        &["'standard' to false"],
    );
    assert_refused(app.delete_identity_attribute("costCenter").await, 403, &[]);
}

async fn drive_transforms(env: &Env, user: &TenantClient, app: &TenantClient) -> Transform {
    let lower = user
        .create_transform(&lower_transform("Lower Department"))
        .await
        .expect("create");
    assert_eq!(
        (lower.internal, lower.kind.as_str()),
        (Some(false), "lower")
    );
    let id = lower.id.clone().expect("an id");
    let upper = Transform {
        kind: "upper".into(),
        ..lower_transform("Upper Department")
    };
    let upper = app
        .create_transform(&upper)
        .await
        .expect("no user context needed");
    let both = user
        .list_all_transforms(&ListParams {
            filter: Some(Filter::starts_with("name", "Lower")),
            limit: Some(1),
            count: true,
            ..Default::default()
        })
        .await
        .expect("list");
    assert_eq!(both.len(), 1);
    let paged = env
        .get("/v2024/transforms?limit=1&offset=1&count=true&filters=internal%20eq%20false")
        .await;
    assert_eq!(
        (paged.status, names(&paged.body)),
        (StatusCode::OK, vec!["Upper Department".to_string()])
    );
    assert_eq!(paged.headers["x-total-count"], "2");
    let by_name = env.get("/v2024/transforms?name=lower%20department").await;
    assert_eq!(names(&by_name.body), ["Lower Department"]);
    let bad_filter = env
        .get("/v2024/transforms?filters=type%20eq%20%22lower%22")
        .await;
    bad_filter.assert_error(
        StatusCode::BAD_REQUEST,
        "400.1 Bad Request Content",
        "'type'",
    );
    assert_eq!(user.get_transform(&id).await.expect("get"), lower);

    let mut changed = lower.clone();
    changed.attributes = Some(object(
        json!({"input": {"type": "static", "attributes": {"value": "X"}}}),
    ));
    let updated = user
        .update_transform(&id, &changed)
        .await
        .expect("put attributes");
    assert_eq!(updated.attributes, changed.attributes);
    let renamed = Transform {
        name: "Renamed".into(),
        ..changed.clone()
    };
    assert_refused(
        user.update_transform(&id, &renamed).await,
        400,
        &["'name' cannot be changed"],
    );
    let retyped = Transform {
        kind: "upper".into(),
        ..changed.clone()
    };
    assert_refused(
        user.update_transform(&id, &retyped).await,
        400,
        &["'type' cannot be changed"],
    );
    assert_refused(
        user.create_transform(&lower_transform("LOWER department"))
            .await,
        400,
        &["already exists"],
    );
    let r = env
        .post(
            "/v2024/transforms",
            json!({"name": "x", "type": "frobnicate", "attributes": null}),
        )
        .await;
    r.assert_error(
        StatusCode::BAD_REQUEST,
        "400.1 Bad Request Content",
        "'type'",
    );
    let r = env
        .post(
            "/v2024/transforms",
            json!({"name": "x", "type": "lower", "attributes": {}, "internal": true}),
        )
        .await;
    r.assert_error(
        StatusCode::BAD_REQUEST,
        "400.1 Bad Request Content",
        "'internal'",
    );
    assert_refused(
        user.get_transform("0123456789abcdef0123456789abcdef").await,
        404,
        &[],
    );
    user.delete_transform(upper.id.as_deref().unwrap())
        .await
        .expect("delete unused");
    updated
}

/// Mappings to unknown attributes or transforms are refused; a used attribute or transform
/// cannot be deleted until the profile is gone.
async fn drive_mapping_rules(env: &Env, user: &TenantClient, transform: &Transform) {
    let unknown_attribute =
        profile_with_reference("Unknown attribute", "noSuchAttribute", &transform.name);
    assert_refused(
        user.create_identity_profile(&unknown_attribute).await,
        400,
        &["identity attribute 'noSuchAttribute' does not exist"],
    );
    let unknown_transform =
        profile_with_reference("Unknown transform", "costCenter", "No Such Transform");
    assert_refused(
        user.create_identity_profile(&unknown_transform).await,
        400,
        &["transform 'No Such Transform' does not exist"],
    );
    let good = profile_with_reference("Finance", "costCenter", &transform.name);
    let profile = user
        .create_identity_profile(&good)
        .await
        .expect("known attribute and transform");
    let profile_id = profile.id.clone().unwrap();
    let to_unknown = JsonPatchOperation {
        op: "replace".into(),
        path: "/identityAttributeConfig/attributeTransforms/0/identityAttributeName".into(),
        value: Some(json!("noSuchAttribute")),
        from: None,
    };
    assert_refused(
        user.update_identity_profile(&profile_id, &[to_unknown])
            .await,
        400,
        &["'noSuchAttribute'"],
    );
    let tid = transform.id.as_deref().unwrap();
    assert_refused(user.delete_transform(tid).await, 400, &["'Finance'"]);
    assert_refused(
        user.delete_identity_attribute("costCenter").await,
        400,
        &["mapped", "'Finance'"],
    );

    let task = user
        .delete_identity_profile(&profile_id)
        .await
        .expect("delete profile");
    env.wait_task(task.id.as_deref().unwrap()).await;
    user.delete_transform(tid).await.expect("no longer used");
    user.delete_identity_attribute("costCenter")
        .await
        .expect("no longer mapped");
    assert_refused(user.get_identity_attribute("costCenter").await, 404, &[]);
}

#[tokio::test]
async fn identity_attribute_and_transform_operations_conform_to_the_official_schemas() {
    let env = start().await;
    let user = tenant_client(&env.sim, PAT_ID, PAT_SECRET);
    let app = tenant_client(&env.sim, APP_ID, APP_SECRET);
    drive_identity_attributes(&env, &user, &app).await;
    let transform = drive_transforms(&env, &user, &app).await;
    drive_mapping_rules(&env, &user, &transform).await;

    let journal = env.admin.journal().await;
    let check = check_journal(&journal);
    assert!(check_transform_attributes(&journal) >= 8);
    assert!(
        check.failures.is_empty(),
        "{} conformance failures:\n{}",
        check.failures.len(),
        check.failures.join("\n")
    );
    let missing: Vec<_> = OPERATIONS
        .iter()
        .filter(|op| !check.covered.iter().any(|(o, s)| o == *op && *s < 300))
        .collect();
    assert!(
        missing.is_empty(),
        "operations never answered with success: {missing:?}"
    );
    let missing: Vec<_> = ERROR_CASES
        .iter()
        .filter(|(op, s)| !check.covered.contains(&(op.to_string(), *s)))
        .collect();
    assert!(missing.is_empty(), "refusals never seen: {missing:?}");
    assert!(
        check.checked_requests >= 10,
        "checked only {} request bodies",
        check.checked_requests
    );
    assert!(
        check.checked_responses >= 40,
        "checked only {} responses",
        check.checked_responses
    );
    env.sim.shutdown().await;
}

#[test]
fn the_schema_check_rejects_wrong_identity_attributes_and_transforms() {
    let doc = v2024();
    let attribute = doc.response_validator("getIdentityAttribute", 200).unwrap();
    assert!(attribute.is_valid(&json!({"name": "x", "type": null, "sources": []})));
    assert!(!attribute.is_valid(&json!({"name": "x", "multi": "no"})));
    let transform = doc.response_validator("getTransform", 200).unwrap();
    assert!(
        !transform.is_valid(&json!({"name": "x", "type": "lower", "attributes": null})),
        "id and internal are required"
    );
    assert!(!transform.is_valid(&json!({"id": "1", "internal": false, "name": "x", "type": "frobnicate", "attributes": null})));
}
