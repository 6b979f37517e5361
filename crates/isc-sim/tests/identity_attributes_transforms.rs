//! The identity-attribute and transform rules the official documents leave open, as the
//! simulator pins them (see the module docs of `routes/identity_attributes.rs` and
//! `routes/transforms.rs`): built-in and seeded objects, `internal` transforms, list
//! parameters, body checks, the reset, and how imports and PATCHes meet unknown mappings.

pub mod common;

use common::*;
use isc_sim::Seed;

fn put(env: &Env, path: &str, body: Value) -> impl Future<Output = Resp> {
    env.send(
        Method::PUT,
        path,
        Some(&env.pat),
        Some(("application/json", body.to_string())),
        &[],
    )
}

fn delete<'a>(env: &'a Env, path: &'a str) -> impl Future<Output = Resp> + 'a {
    env.send(Method::DELETE, path, Some(&env.pat), None, &[])
}

const BAD: &str = "400.1 Bad Request Content";

/// A seed with one extra attribute, a replaced standard one, and an internal and a custom
/// transform.
fn seeded_config() -> SimConfig {
    let mut config = config();
    config.seed.identity_attributes = serde_json::from_value(json!([
        {"name": "costCenter", "displayName": "Cost Center", "type": "string"},
        {"name": "department", "displayName": "Division", "standard": true, "searchable": false}
    ]))
    .unwrap();
    config.seed.transforms = serde_json::from_value(json!([
        {"id": "2cd78adghjkja34jh2b1hkjhasuecd", "name": "ToUpper", "type": "upper",
         "attributes": null, "internal": true},
        {"name": "Cost Center Lookup", "type": "lookup", "attributes": {"table": {"default": "0"}}}
    ]))
    .unwrap();
    config
}

#[test]
fn a_seed_file_without_the_new_fields_still_loads() {
    let seed: Seed = serde_json::from_value(json!({
        "sources": [{"id": EMPLOYEES, "name": "HR Employees"}], "identities": []
    }))
    .unwrap();
    seed.validate().unwrap();
    assert!(seed.identity_attributes.is_empty() && seed.transforms.is_empty());
    let twice: Seed = serde_json::from_value(json!({"transforms": [
        {"name": "A", "type": "lower", "attributes": null},
        {"name": "a", "type": "upper", "attributes": null}]}))
    .unwrap();
    assert!(
        twice
            .validate()
            .unwrap_err()
            .to_string()
            .contains("transform name 'a'")
    );
}

#[tokio::test]
async fn every_tenant_has_the_built_in_attributes_and_seeds_add_to_them() {
    let env = start_with(seeded_config()).await;
    let r = env
        .get("/v2024/identity-attributes?includeSystem=true")
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let all = names(&r.body);
    for name in [
        "uid",
        "email",
        "firstname",
        "lastname",
        "displayName",
        "manager",
        "cloudLifecycleState",
        "costCenter",
    ] {
        assert!(all.contains(&name.to_string()), "{name} in {all:?}");
    }
    assert_eq!(all.iter().filter(|n| *n == "department").count(), 1);
    let department = env.get("/v2024/identity-attributes/department").await;
    assert_eq!(department.body["displayName"], "Division");
    let visible = names(
        &env.get("/v2024/identity-attributes?includeSilent=true")
            .await
            .body,
    );
    assert_eq!(
        visible.len(),
        all.len() - 2,
        "system attributes are hidden by default"
    );
    let none = env
        .get("/v2024/identity-attributes?searchableOnly=true")
        .await;
    assert_eq!(none.body, json!([]));
    env.get("/v2024/identity-attributes?includeSystem=yes")
        .await
        .assert_error(StatusCode::BAD_REQUEST, BAD, "'includeSystem'");
    // Lookups are exact; uniqueness ignores case.
    assert_eq!(
        env.get("/v2024/identity-attributes/EMAIL").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn internal_transforms_come_only_from_the_seed_and_are_read_only() {
    let env = start_with(seeded_config()).await;
    let internal = env
        .get("/v2024/transforms?filters=internal%20eq%20true")
        .await;
    assert_eq!(names(&internal.body), ["ToUpper"]);
    let custom = env
        .get("/v2024/transforms?filters=internal%20eq%20false")
        .await;
    assert_eq!(names(&custom.body), ["Cost Center Lookup"]);
    assert!(
        is_hex32(custom.body[0]["id"].as_str().unwrap()),
        "seeded ids are generated"
    );
    let path = "/v2024/transforms/2cd78adghjkja34jh2b1hkjhasuecd";
    put(
        &env,
        path,
        json!({"name": "ToUpper", "type": "upper", "attributes": {}}),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, BAD, "internal");
    delete(&env, path)
        .await
        .assert_error(StatusCode::BAD_REQUEST, BAD, "internal");
}

#[tokio::test]
async fn create_bodies_are_checked() {
    let env = start().await;
    let long = "x".repeat(51);
    for (body, needle) in [
        (
            json!({"type": "lower", "attributes": null}),
            "'name' is required",
        ),
        (
            json!({"name": long, "type": "lower", "attributes": null}),
            "1 to 50",
        ),
        (
            json!({"name": "x", "attributes": null}),
            "'type' is required",
        ),
        (
            json!({"name": "x", "type": "lower"}),
            "'attributes' is required",
        ),
        (
            json!({"name": "x", "type": "lower", "attributes": [1]}),
            "'attributes' must be",
        ),
        (json!([]), "JSON object"),
    ] {
        env.post("/v2024/transforms", body).await.assert_error(
            StatusCode::BAD_REQUEST,
            BAD,
            needle,
        );
    }
    for (body, needle) in [
        (json!({"displayName": "x"}), "'name' is required"),
        (json!({"name": "tenantOwned", "system": true}), "'system'"),
        (
            json!({"name": "s", "searchable": true, "multi": true}),
            "'searchable'",
        ),
        (json!({"name": "s", "multi": "yes"}), "IdentityAttribute"),
    ] {
        env.post("/v2024/identity-attributes", body)
            .await
            .assert_error(StatusCode::BAD_REQUEST, BAD, needle);
    }
    put(
        &env,
        "/v2024/identity-attributes/uid",
        json!({"name": "uid", "multi": true}),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, BAD, "'multi'");
    put(
        &env,
        "/v2024/identity-attributes/cloudLifecycleState",
        json!({"name": "cloudLifecycleState"}),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, BAD, "system attribute");
    let standard_off =
        json!({"name": "uid", "standard": false, "type": "string", "displayName": "Username"});
    assert_eq!(
        put(&env, "/v2024/identity-attributes/uid", standard_off)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        delete(&env, "/v2024/identity-attributes/uid").await.status,
        StatusCode::NO_CONTENT
    );
    delete(&env, "/v2024/identity-attributes/uid")
        .await
        .assert_error(StatusCode::NOT_FOUND, "404 Not found", "'uid'");
}

#[tokio::test]
async fn a_reset_brings_back_the_seeded_attributes_and_transforms() {
    let env = start_with(seeded_config()).await;
    let created = env
        .post(
            "/v2024/transforms",
            json!({"name": "New", "type": "trim", "attributes": null}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let seeded = env
        .get("/v2024/transforms?name=cost%20center%20lookup")
        .await
        .body[0]["id"]
        .clone();
    let path = format!("/v2024/transforms/{}", seeded.as_str().unwrap());
    assert_eq!(delete(&env, &path).await.status, StatusCode::NO_CONTENT);
    let r = env
        .post("/v2024/identity-attributes", json!({"name": "badge"}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    env.admin.reset().await;
    let transforms = names(&env.get("/v2024/transforms").await.body);
    assert_eq!(transforms, ["ToUpper", "Cost Center Lookup"]);
    assert_eq!(
        env.get("/v2024/identity-attributes/badge").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        env.get("/v2024/identity-attributes/costCenter")
            .await
            .status,
        StatusCode::OK
    );
}

fn mapping(attribute: &str, reference: &str) -> Value {
    json!({"enabled": true, "attributeTransforms": [{"identityAttributeName": attribute,
        "transformDefinition": {"type": "reference", "attributes": {"id": reference}}}]})
}

#[tokio::test]
async fn imports_and_patches_meet_unknown_mappings() {
    let env = start_with(seeded_config()).await;
    let lookup_id = env
        .get("/v2024/transforms?name=Cost%20Center%20Lookup")
        .await
        .body[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let object = |name: &str, config: Value| {
        json!({"version": 1, "self": {"type": "IDENTITY_PROFILE", "name": name},
               "object": {"name": name, "authoritativeSource": {"type": "SOURCE", "id": EMPLOYEES},
                          "identityAttributeConfig": config}})
    };
    let r = env
        .post(
            "/v2024/identity-profiles/import",
            json!([
                object("By name", mapping("costCenter", "Cost Center Lookup")),
                object("By id", mapping("costCenter", &lookup_id)),
                object("Unknown", mapping("badge", "Cost Center Lookup")),
            ]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(names(&r.body["importedObjects"]), ["By name", "By id"]);
    let error = r.body["errors"][0]["text"].as_str().unwrap();
    assert!(
        error.contains("identity attribute 'badge' does not exist"),
        "{error}"
    );

    // A profile whose mapping went stale (changed in the UI) still takes other edits.
    let stale = env
        .admin
        .put_profile(
            json!({"name": "Stale", "authoritativeSource": {"type": "SOURCE", "id": EMPLOYEES},
                            "identityAttributeConfig": mapping("gone", "Gone")}),
        )
        .await;
    let id = stale["id"].as_str().unwrap();
    let r = env
        .patch(
            id,
            json!([{"op": "replace", "path": "/description", "value": "still editable"}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = env
        .patch(
            id,
            json!([{"op": "replace", "path": "/identityAttributeConfig/enabled", "value": false}]),
        )
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, BAD, "'gone' does not exist");

    let r = delete(&env, &format!("/v2024/transforms/{lookup_id}")).await;
    r.assert_error(StatusCode::BAD_REQUEST, BAD, "'By id'");
    assert!(r.text().contains("'By name'"), "{}", r.text());
}
