//! `managementPolicy: Observe` on a change to the attribute mappings: the tenant's identity
//! preview of a few identities of the profile goes to `status.attributePreview`, computed once
//! per distinct change (never again on a reconcile or a resync sweep that finds the same one),
//! with preview calls only; without a user-context credential the status says so.

use isc_operator::api::identity_profile::{AttributePreview, AttributePreviewEntry};
use isc_operator::api::{IdentityProfile, Tenant};
use isc_operator::controller::profile::identity_preview::USER_CONTEXT_REQUIRED;
use isc_operator::controller::resync;
use isc_sim::SimClient;
use serde_json::json;

use super::{admin, condition_state, edit_spec, new_tenant_generation, reconcile};
use crate::env::{NAMESPACE, SOURCE_EMPLOYEES, TENANT, TestEnv, credentials_secret, manifest};

/// Stores tenant profile "Staff" whose `email` and `lastname` come from the account attributes
/// of the same name; returns its id.
async fn put_staff(env: &TestEnv) -> String {
    let mapping = |attribute: &str| {
        json!({"identityAttributeName": attribute, "transformDefinition": {"type": "accountAttribute",
            "attributes": {"attributeName": attribute, "sourceName": "HR Employees", "sourceId": SOURCE_EMPLOYEES}}})
    };
    let stored = admin(env)
        .put_profile(json!({"name": "Staff",
            "authoritativeSource": {"type": "SOURCE", "id": SOURCE_EMPLOYEES, "name": "HR Employees"},
            "identityAttributeConfig": {"enabled": true,
                "attributeTransforms": [mapping("email"), mapping("lastname")]}}))
        .await;
    stored["id"].as_str().expect("profile id").to_string()
}

/// An Observe object for "Staff" mapping `email` from `email_from` and `lastname` as the
/// tenant does, with extra spec lines.
fn observer(email_from: &str, extra_spec: &str) -> IdentityProfile {
    crate::env::profile(
        "staff",
        "Staff",
        &format!(
            "  managementPolicy: Observe\n{extra_spec}  identityAttributeConfig:\n    attributeTransforms:\n    - identityAttributeName: email\n      transformDefinition: {{type: accountAttribute, attributes: {{attributeName: {email_from}}}}}\n    - identityAttributeName: lastname\n      transformDefinition: {{type: accountAttribute, attributes: {{attributeName: lastname, sourceName: HR Employees, sourceId: {SOURCE_EMPLOYEES}}}}}\n"
        ),
    )
}

fn attribute_preview(env: &mut TestEnv) -> Option<AttributePreview> {
    env.profile("staff")
        .status
        .and_then(|s| s.attribute_preview.map(|p| *p))
}

fn entry(identity: &str, before: &str, after: &str) -> AttributePreviewEntry {
    AttributePreviewEntry {
        identity: identity.into(),
        attribute: "email".into(),
        before: Some(before.into()),
        after: Some(after.into()),
        errors: vec![],
    }
}

/// Tenant calls of the preview (identity list pages and preview calls).
async fn preview_calls(env: &TestEnv) -> Vec<String> {
    env.tenant_calls()
        .await
        .into_iter()
        .filter(|c| c.contains("/identities") || c.contains("identity-preview"))
        .collect()
}

const LIST: &str = "GET /v2024/identities";
const PREVIEW: &str = "POST /v2024/identity-profiles/identity-preview";

#[tokio::test]
async fn observe_shows_the_values_a_mapping_change_would_give_once_per_change() {
    let mut env = TestEnv::new().await;
    put_staff(&env).await;
    env.put_profile(&observer("uid", ""));
    reconcile(&mut env, "staff")
        .await
        .expect("reconcile succeeds");

    // Reads and preview calls only: one identities page, one preview per sample identity.
    assert_eq!(
        env.tenant_calls().await,
        [
            "GET /v2024/identity-profiles",
            LIST,
            PREVIEW,
            PREVIEW,
            PREVIEW
        ]
    );
    let stored = env.profile("staff");
    assert_eq!(
        condition_state(&stored, "Ready"),
        ("True".into(), "Observed".into())
    );
    let preview = attribute_preview(&mut env).expect("a preview");
    assert_eq!(preview.generation, stored.metadata.generation);
    assert_eq!(preview.message, None);
    // Only the attribute whose mapping changes; the first three identities of HR Employees.
    assert_eq!(
        preview.entries,
        [
            entry("Ada Lovelace", "ada.lovelace@example.com", "ada.lovelace"),
            entry(
                "Alan Lovelace",
                "alan.lovelace@example.com",
                "alan.lovelace"
            ),
            entry(
                "Claude Lovelace",
                "claude.lovelace@example.com",
                "claude.lovelace"
            ),
        ]
    );

    // The same change again (a reconcile, a resync sweep, an edit of another field): no call.
    env.clear_calls().await;
    reconcile(&mut env, "staff")
        .await
        .expect("reconcile succeeds");
    let swept = resync::sweep_tenant(
        &env.ctx,
        &env.kube.get::<Tenant>(NAMESPACE, TENANT).unwrap(),
    )
    .await
    .expect("sweep");
    assert_eq!(
        swept.due,
        vec![],
        "an unchanged Observe object is not reconciled"
    );
    edit_spec(&mut env, "staff", |o| {
        o.spec.description = Some("edited".into())
    });
    reconcile(&mut env, "staff")
        .await
        .expect("reconcile succeeds");
    assert_eq!(preview_calls(&env).await, Vec::<String>::new());
    assert_eq!(attribute_preview(&mut env), Some(preview.clone()));

    // Another mapping change in the spec: previewed again.
    env.clear_calls().await;
    edit_spec(&mut env, "staff", |o| {
        let config = o.spec.identity_attribute_config.as_mut().unwrap();
        config.attribute_transforms[0]
            .transform_definition
            .attributes = json!({"attributeName": "firstname"})
            .as_object()
            .unwrap()
            .clone();
    });
    reconcile(&mut env, "staff")
        .await
        .expect("reconcile succeeds");
    assert_eq!(preview_calls(&env).await, [LIST, PREVIEW, PREVIEW, PREVIEW]);
    let again = attribute_preview(&mut env).expect("a preview");
    assert_ne!(again.basis, preview.basis);
    assert_eq!(
        again.entries[0],
        entry("Ada Lovelace", "ada.lovelace@example.com", "Ada")
    );
    assert_eq!(env.tenant_writes().await, [PREVIEW, PREVIEW, PREVIEW]);
}

#[tokio::test]
async fn a_mapping_changed_in_the_tenant_is_previewed_again() {
    let mut env = TestEnv::new().await;
    let id = put_staff(&env).await;
    env.put_profile(&observer("uid", ""));
    reconcile(&mut env, "staff")
        .await
        .expect("reconcile succeeds");
    let first = attribute_preview(&mut env).expect("a preview");

    // Someone removes the `lastname` mapping in the tenant: the plan shown changes (it adds it).
    admin(&env)
        .merge_profile(&id, json!({"identityAttributeConfig": {"enabled": true, "attributeTransforms": [
            {"identityAttributeName": "email", "transformDefinition": {"type": "accountAttribute",
                "attributes": {"attributeName": "email", "sourceName": "HR Employees", "sourceId": SOURCE_EMPLOYEES}}}]}}))
        .await;
    new_tenant_generation(&env);
    env.clear_calls().await;
    let swept = resync::sweep_tenant(
        &env.ctx,
        &env.kube.get::<Tenant>(NAMESPACE, TENANT).unwrap(),
    )
    .await
    .expect("sweep");
    assert_eq!(swept.due.len(), 1, "{:?}", swept.due);
    reconcile(&mut env, "staff")
        .await
        .expect("reconcile succeeds");
    assert_eq!(preview_calls(&env).await, [LIST, PREVIEW, PREVIEW, PREVIEW]);
    let second = attribute_preview(&mut env).expect("a preview");
    assert_ne!(second.basis, first.basis);
    // Both attributes now: `email` as before, and `lastname`, whose mapping the plan adds.
    assert_eq!(second.entries.len(), 6);
    assert_eq!(second.entries[0], first.entries[0]);
    assert_eq!(
        second.entries[1],
        AttributePreviewEntry {
            identity: "Ada Lovelace".into(),
            attribute: "lastname".into(),
            before: Some("Lovelace".into()),
            after: Some("Lovelace".into()),
            errors: vec![],
        }
    );
}

#[tokio::test]
async fn no_preview_without_a_mapping_change_under_manage_or_when_turned_off() {
    let mut env = TestEnv::new().await;
    put_staff(&env).await;
    // The same mappings as the tenant (a subset of its arguments): only the description differs.
    env.put_profile(&observer("email", "  description: new\n"));
    reconcile(&mut env, "staff")
        .await
        .expect("reconcile succeeds");
    let status = env.profile("staff").status.unwrap();
    assert_eq!(status.planned_change.unwrap().action, "Patch");
    assert_eq!(status.attribute_preview, None);
    assert_eq!(preview_calls(&env).await, Vec::<String>::new());

    // previewIdentities: 0 turns it off.
    edit_spec(&mut env, "staff", |o| {
        o.spec.preview_identities = Some(0);
        let config = o.spec.identity_attribute_config.as_mut().unwrap();
        config.attribute_transforms[0]
            .transform_definition
            .attributes = json!({"attributeName": "uid"}).as_object().unwrap().clone();
    });
    reconcile(&mut env, "staff")
        .await
        .expect("reconcile succeeds");
    assert_eq!(attribute_preview(&mut env), None);
    assert_eq!(preview_calls(&env).await, Vec::<String>::new());

    // One identity when asked for one.
    edit_spec(&mut env, "staff", |o| o.spec.preview_identities = Some(1));
    reconcile(&mut env, "staff")
        .await
        .expect("reconcile succeeds");
    assert_eq!(attribute_preview(&mut env).unwrap().entries.len(), 1);
    assert_eq!(preview_calls(&env).await, [LIST, PREVIEW]);

    // Manage writes the change instead: no preview, and the shown one goes.
    env.clear_calls().await;
    edit_spec(&mut env, "staff", |o| {
        o.spec.management_policy = isc_operator::api::identity_profile::ManagementPolicy::Manage;
    });
    reconcile(&mut env, "staff")
        .await
        .expect("reconcile succeeds");
    assert_eq!(attribute_preview(&mut env), None);
    assert_eq!(preview_calls(&env).await, Vec::<String>::new());
    assert_eq!(
        env.tenant_writes().await,
        ["PATCH /v2024/identity-profiles/{identity-profile-id}"]
    );
}

#[tokio::test]
async fn without_user_context_the_status_says_so_and_it_is_not_asked_again() {
    let mut env = TestEnv::with_config(|c| {
        c.clients.push(SimClient {
            id: "app-client".into(),
            secret: "app-client-secret-9".into(),
            user_context: false,
        });
    })
    .await;
    env.kube.insert(&credentials_secret(
        "app-creds",
        "app-client",
        "app-client-secret-9",
    ));
    let tenant: Tenant = manifest(&format!(
        "apiVersion: isc.identitynow.dev/v1alpha1\nkind: Tenant\nmetadata:\n  name: {TENANT}\nspec:\n  baseUrl: {}\n  credentialsSecretRef:\n    name: app-creds\n",
        env.sim.base_url()
    ));
    env.put_tenant(&tenant);
    put_staff(&env).await;
    env.put_profile(&observer("uid", ""));
    reconcile(&mut env, "staff")
        .await
        .expect("the plan goes on");
    let preview = attribute_preview(&mut env).expect("a preview");
    assert_eq!(preview.message.as_deref(), Some(USER_CONTEXT_REQUIRED));
    assert_eq!(preview.entries, vec![]);
    assert_eq!(preview_calls(&env).await, [LIST]);
    assert_eq!(env.tenant_writes().await, Vec::<String>::new());

    env.clear_calls().await;
    reconcile(&mut env, "staff")
        .await
        .expect("reconcile succeeds");
    assert_eq!(preview_calls(&env).await, Vec::<String>::new());
}
