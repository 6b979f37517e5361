//! A managed profile's life: create, adopt, patch, converge, observe.

use serde_json::json;

use isc_operator::api::identity_profile::{PendingCreate, SourceRef};
use isc_operator::api::{IdentityProfile, IdentityProfileStatus};
use isc_operator::controller::status::now;

use super::{
    condition, condition_state, create_ready, edit_spec, put_tenant_profile, reconcile,
    tenant_profiles, tenant_write_bodies,
};
use crate::env::{SOURCE_CONTRACTORS, TestEnv, profile as profile_manifest};

const TRANSFORMS: &str = "  identityAttributeConfig:\n    attributeTransforms:\n      - identityAttributeName: email\n        transformDefinition:\n          type: accountAttribute\n          attributes:\n            attributeName: mail\n";

fn ready_and_synced(obj: &IdentityProfile) {
    for type_ in ["Ready", "Synced"] {
        let c = condition(obj, type_);
        assert_eq!((c.status.as_str(), c.reason.as_str()), ("True", "Synced"));
        assert_eq!(c.observed_generation, obj.metadata.generation, "{type_}");
    }
    let status = obj.status.as_ref().unwrap();
    assert_eq!(status.observed_generation, obj.metadata.generation);
}

#[tokio::test]
async fn a_new_profile_is_created_once() {
    let mut env = TestEnv::new().await;
    env.put_profile(&profile_manifest("employees", "Employees Rc", ""));
    reconcile(&mut env, "employees")
        .await
        .expect("reconcile succeeds");
    let writes = env.tenant_writes().await;
    assert_eq!(
        writes,
        vec!["POST /v2024/identity-profiles/import"],
        "{writes:?}"
    );
    let journal = env.journal().await;
    let import = journal.iter().position(|e| {
        e.method == "POST" && e.operation_id.as_deref() == Some("importIdentityProfiles")
    });
    let import = import.expect("a create through import");
    assert_eq!(
        journal[import - 1].operation_id.as_deref(),
        Some("listIdentityProfiles"),
        "the wave's fresh list right before the create: {journal:?}"
    );

    let stored = env.profile("employees");
    ready_and_synced(&stored);
    let status = stored.status.clone().unwrap();
    let tenant = tenant_profiles(&env).await;
    assert_eq!(
        status.id.as_deref(),
        tenant[tenant.len() - 1]["id"].as_str()
    );
    assert!(status.pending_create.is_none(), "{status:?}");
    assert!(status.planned_change.is_none(), "{status:?}");
    assert_eq!(status.changed_generation, Some(1));
    assert_eq!(env.kube.event_reasons(), vec!["Created"]);

    // The marker went out before the POST, and the same reconcile's last write cleared it.
    let patches = env.kube.status_patches();
    assert_eq!(patches.len(), 2, "{patches:?}");
    assert!(patches[0]["status"]["pendingCreate"]["name"] == "Employees Rc");
    // The marker's write shows the create under way (kstatus): Reconciling, reason Creating.
    let conditions = patches[0]["status"]["conditions"].as_array().unwrap();
    let reconciling = conditions.iter().find(|c| c["type"] == "Reconciling");
    assert_eq!(reconciling.unwrap()["reason"], "Creating", "{conditions:?}");
    assert_eq!(patches[0]["status"]["observedGeneration"], 1);
    assert!(patches[1]["status"]["pendingCreate"].is_null());
    assert!(
        patches[1]["status"]
            .as_object()
            .unwrap()
            .contains_key("pendingCreate")
    );
}

#[tokio::test]
async fn an_existing_tenant_profile_with_the_same_name_is_adopted_without_writes() {
    let mut env = TestEnv::new().await;
    let id = put_tenant_profile(&env, "Adopted", "made in the UI").await;
    env.clear_calls().await;
    let mut obj = profile_manifest("adopted", "Adopted", "");
    obj.spec.description = Some("made in the UI".into());
    env.put_profile(&obj);
    reconcile(&mut env, "adopted")
        .await
        .expect("reconcile succeeds");
    assert_eq!(env.tenant_writes().await, Vec::<String>::new());
    let stored = env.profile("adopted");
    ready_and_synced(&stored);
    assert_eq!(stored.status.unwrap().id, Some(id));
    assert_eq!(env.kube.event_reasons(), vec!["Adopted"]);
}

#[tokio::test]
async fn a_spec_change_is_one_minimal_patch() {
    let mut env = TestEnv::new().await;
    let obj = create_ready(
        &mut env,
        &profile_manifest("staff", "Staff", "  description: first\n"),
    )
    .await;
    let id = obj.status.unwrap().id.unwrap();
    edit_spec(&mut env, "staff", |p| {
        p.spec.description = Some("second".into())
    });
    reconcile(&mut env, "staff")
        .await
        .expect("reconcile succeeds");

    let writes = env.tenant_writes().await;
    assert_eq!(
        writes,
        vec!["PATCH /v2024/identity-profiles/{identity-profile-id}"]
    );
    assert_eq!(
        tenant_write_bodies(&env).await,
        vec![json!([{"op": "replace", "path": "/description", "value": "second"}])]
    );
    // The patch was planned against a fresh read of this very profile.
    let calls = env.tenant_calls().await;
    assert!(
        calls.contains(&"GET /v2024/identity-profiles/{identity-profile-id}".to_string()),
        "{calls:?}"
    );
    let stored = env.profile("staff");
    ready_and_synced(&stored);
    assert_eq!(stored.status.as_ref().unwrap().changed_generation, Some(2));
    assert_eq!(stored.status.unwrap().id, Some(id));
    assert_eq!(env.kube.event_reasons(), vec!["Patched"]);
}

#[tokio::test]
async fn a_source_and_attribute_config_change_is_two_patches_source_first() {
    let mut env = TestEnv::new().await;
    create_ready(&mut env, &profile_manifest("staff", "Staff", TRANSFORMS)).await;
    edit_spec(&mut env, "staff", |p| {
        p.spec.authoritative_source = SourceRef {
            id: Some(SOURCE_CONTRACTORS.into()),
            name: None,
        };
        let config = p.spec.identity_attribute_config.as_mut().unwrap();
        let definition = &mut config.attribute_transforms[0].transform_definition;
        definition
            .attributes
            .insert("attributeName".into(), json!("email"));
    });
    reconcile(&mut env, "staff")
        .await
        .expect("reconcile succeeds");

    let bodies = tenant_write_bodies(&env).await;
    assert_eq!(bodies.len(), 2, "{bodies:?}");
    let paths = |body: &serde_json::Value| -> Vec<String> {
        body.as_array()
            .unwrap()
            .iter()
            .map(|op| op["path"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(paths(&bodies[0]), vec!["/authoritativeSource"]);
    assert!(
        paths(&bodies[1])
            .iter()
            .all(|p| p.starts_with("/identityAttributeConfig")),
        "{bodies:?}"
    );
    let tenant = tenant_profiles(&env).await;
    let staff = tenant.iter().find(|p| p["name"] == "Staff").unwrap();
    assert_eq!(staff["authoritativeSource"]["id"], SOURCE_CONTRACTORS);
    assert_eq!(env.kube.event_reasons(), vec!["Patched"]);
    ready_and_synced(&env.profile("staff"));
}

#[tokio::test]
async fn a_converged_profile_costs_no_writes() {
    let mut env = TestEnv::new().await;
    let before = create_ready(&mut env, &profile_manifest("staff", "Staff", TRANSFORMS)).await;
    reconcile(&mut env, "staff")
        .await
        .expect("reconcile succeeds");
    assert_eq!(env.tenant_writes().await, Vec::<String>::new());
    assert!(env.kube.writes().is_empty(), "{:?}", env.kube.writes());
    let after = env.profile("staff");
    assert_eq!(
        before.metadata.resource_version,
        after.metadata.resource_version
    );
}

#[tokio::test]
async fn a_change_made_in_the_tenant_is_corrected() {
    let mut env = TestEnv::new().await;
    let obj = create_ready(
        &mut env,
        &profile_manifest("staff", "Staff", "  description: from git\n"),
    )
    .await;
    let id = obj.status.unwrap().id.unwrap();
    super::admin(&env)
        .merge_profile(&id, json!({"description": "changed in the UI"}))
        .await;
    // The shared list still holds the operator's own write: the next resync's list sees the drift.
    super::new_tenant_generation(&env);
    env.clear_calls().await;
    reconcile(&mut env, "staff")
        .await
        .expect("reconcile succeeds");
    assert_eq!(
        tenant_write_bodies(&env).await,
        vec![json!([{"op": "replace", "path": "/description", "value": "from git"}])]
    );
    assert_eq!(env.kube.event_reasons(), vec!["DriftCorrected"]);
}

#[tokio::test]
async fn observe_shows_the_plan_and_never_writes() {
    let mut env = TestEnv::new().await;
    put_tenant_profile(&env, "Watched", "old").await;
    env.clear_calls().await;
    env.put_profile(&profile_manifest(
        "watched",
        "Watched",
        "  description: new\n  managementPolicy: Observe\n",
    ));
    reconcile(&mut env, "watched")
        .await
        .expect("reconcile succeeds");
    assert_eq!(env.tenant_writes().await, Vec::<String>::new());

    let stored = env.profile("watched");
    assert_eq!(
        condition_state(&stored, "Ready"),
        ("True".into(), "Observed".into())
    );
    assert_eq!(
        condition_state(&stored, "Synced"),
        ("False".into(), "ObserveOnly".into())
    );
    let plan = stored.status.unwrap().planned_change.unwrap();
    assert_eq!(plan.action, "Patch");
    assert_eq!(plan.patches.len(), 1);
    assert_eq!(plan.patches[0][0].path, "/description");
    assert_eq!(plan.patches[0][0].value, Some(json!("new")));
    assert_eq!(env.kube.event_reasons(), vec!["Adopted"]);
    let tenant = tenant_profiles(&env).await;
    assert_eq!(
        tenant.iter().find(|p| p["name"] == "Watched").unwrap()["description"],
        "old"
    );
}

#[tokio::test]
async fn a_create_interrupted_after_the_post_is_resolved_by_name() {
    let mut env = TestEnv::new().await;
    // The POST went through, then the operator died before recording the id.
    let id = put_tenant_profile(&env, "Staff", "once").await;
    env.clear_calls().await;
    let mut obj = profile_manifest("staff", "Staff", "  description: once\n");
    obj.status = Some(IdentityProfileStatus {
        pending_create: Some(Box::new(PendingCreate {
            name: "Staff".into(),
            since: now(),
        })),
        ..Default::default()
    });
    env.put_profile(&obj);
    reconcile(&mut env, "staff")
        .await
        .expect("reconcile succeeds");
    assert_eq!(
        env.tenant_writes().await,
        Vec::<String>::new(),
        "no second create"
    );
    let status = env.profile("staff").status.unwrap();
    assert_eq!(status.id, Some(id));
    assert!(status.pending_create.is_none(), "{status:?}");
}
