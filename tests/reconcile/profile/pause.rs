//! Pause switches: the object's `isc.identitynow.dev/paused` annotation and the Tenant's
//! `spec.suspend` hold every tenant write (create, patch, processing, delete) while reads and
//! the plan go on; the object shows `Suspended`, and writes resume once the hold is lifted.

use isc_operator::api::{IdentityProfile, Tenant};
use isc_operator::controller::error::ReconcileError;
use isc_operator::controller::pause::PAUSED_ANNOTATION;
use isc_operator::controller::resync::{self, SweepReason};
use kube::runtime::reflector::ObjectRef;

use super::{condition_state, create_ready, delete, edit_spec, reconcile};
use crate::env::{NAMESPACE, TENANT, TestEnv, profile as profile_manifest};

/// Sets or removes the pause annotation (a metadata change: no new generation).
fn set_paused(env: &mut TestEnv, name: &str, paused: bool) {
    let mut obj = env.profile(name);
    let annotations = obj.metadata.annotations.get_or_insert_default();
    if paused {
        annotations.insert(PAUSED_ANNOTATION.into(), "true".into());
    } else {
        annotations.remove(PAUSED_ANNOTATION);
    }
    env.put_profile(&obj);
}

/// Sets the Tenant's `spec.suspend` (a new generation, in the API and the watch cache).
fn set_suspend(env: &TestEnv, suspend: bool) -> Tenant {
    let mut tenant: Tenant = env.kube.get(NAMESPACE, TENANT).expect("tenant");
    tenant.spec.suspend = suspend;
    tenant.metadata.generation = tenant.metadata.generation.map(|g| g + 1);
    env.put_tenant(&tenant)
}

/// The condition types shown, each as `type=status/reason`.
fn shown(obj: &IdentityProfile) -> Vec<String> {
    let mut shown: Vec<String> = obj
        .status
        .as_ref()
        .expect("status")
        .conditions
        .iter()
        .map(|c| format!("{}={}/{}", c.type_, c.status, c.reason))
        .collect();
    shown.sort();
    shown
}

/// Asserts the kstatus picture of a held pending write: `Suspended=True` and `Ready=False`
/// with the hold's reason, neither `Reconciling` nor `Stalled`, all for this generation.
fn held_pending(obj: &IdentityProfile, reason: &str) {
    assert_eq!(
        condition_state(obj, "Suspended"),
        ("True".into(), reason.into())
    );
    assert_eq!(
        condition_state(obj, "Ready"),
        ("False".into(), reason.into())
    );
    let status = obj.status.as_ref().unwrap();
    assert_eq!(status.observed_generation, obj.metadata.generation);
    for c in &status.conditions {
        assert!(
            c.type_ != "Reconciling" && c.type_ != "Stalled",
            "{:?}",
            shown(obj)
        );
        assert_eq!(c.observed_generation, obj.metadata.generation, "{c:?}");
    }
}

#[tokio::test]
async fn a_paused_profile_makes_no_tenant_write_and_resumes_when_the_annotation_goes() {
    let mut env = TestEnv::new().await;
    create_ready(
        &mut env,
        &profile_manifest("staff", "Staff", "  description: first\n"),
    )
    .await;
    set_paused(&mut env, "staff", true);
    edit_spec(&mut env, "staff", |p| {
        p.spec.description = Some("second".into())
    });
    reconcile(&mut env, "staff")
        .await
        .expect("a held write is not an error");
    assert_eq!(env.tenant_writes().await, Vec::<String>::new());
    let stored = env.profile("staff");
    held_pending(&stored, "Paused");
    assert_eq!(
        condition_state(&stored, "Synced"),
        ("False".into(), "Paused".into())
    );
    let plan = stored.status.as_ref().unwrap().planned_change.clone();
    let plan = plan.expect("the plan is shown");
    assert_eq!(plan.action, "Patch");
    assert_eq!(plan.patches[0][0].path, "/description");
    assert_eq!(env.kube.event_reasons(), vec!["Paused"]);

    // Held again: nothing sent, nothing written, no second Event.
    env.clear_calls().await;
    reconcile(&mut env, "staff").await.expect("still held");
    assert_eq!(env.tenant_writes().await, Vec::<String>::new());
    assert!(env.kube.writes().is_empty(), "{:?}", env.kube.writes());

    // Lifted: the PATCH goes, Suspended goes.
    set_paused(&mut env, "staff", false);
    reconcile(&mut env, "staff")
        .await
        .expect("reconcile succeeds");
    assert_eq!(
        env.tenant_writes().await,
        vec!["PATCH /v2024/identity-profiles/{identity-profile-id}"]
    );
    let stored = env.profile("staff");
    assert_eq!(
        shown(&stored),
        vec![
            "Ready=True/Synced",
            "RefreshRequired=False/UpToDate",
            "Synced=True/Synced"
        ]
    );
    assert!(stored.status.unwrap().planned_change.is_none());
}

#[tokio::test]
async fn a_paused_new_profile_joins_no_wave_and_writes_no_marker() {
    let mut env = TestEnv::new().await;
    let mut obj = profile_manifest("new", "New One", "");
    obj.metadata
        .annotations
        .get_or_insert_default()
        .insert(PAUSED_ANNOTATION.into(), "TRUE".into());
    env.put_profile(&obj);
    reconcile(&mut env, "new").await.expect("held");
    assert_eq!(env.tenant_writes().await, Vec::<String>::new());
    let stored = env.profile("new");
    held_pending(&stored, "Paused");
    let status = stored.status.clone().unwrap();
    assert!(status.pending_create.is_none(), "{status:?}");
    assert_eq!(status.planned_change.unwrap().action, "Create");

    set_paused(&mut env, "new", false);
    reconcile(&mut env, "new").await.expect("created");
    assert_eq!(
        env.tenant_writes().await,
        vec!["POST /v2024/identity-profiles/import"]
    );
    assert_eq!(
        condition_state(&env.profile("new"), "Ready"),
        ("True".into(), "Synced".into())
    );
}

#[tokio::test]
async fn a_suspended_tenant_holds_every_profile_and_the_sweep_shows_it() {
    let mut env = TestEnv::new().await;
    create_ready(
        &mut env,
        &profile_manifest("a", "A", "  description: one\n"),
    )
    .await;
    create_ready(
        &mut env,
        &profile_manifest("b", "B", "  description: one\n"),
    )
    .await;
    // A create's answer has no identity count: one sweep and reconcile record it first.
    let tenant: Tenant = env.kube.get(NAMESPACE, TENANT).expect("tenant");
    let first = resync::sweep_tenant(&env.ctx, &tenant)
        .await
        .expect("sweep succeeds");
    for (due, _) in &first.due {
        reconcile(&mut env, &due.name).await.expect("converges");
        env.profile(&due.name);
    }
    let tenant = set_suspend(&env, true);

    // The Tenant changed: its sweep sends the converged objects too, to show Suspended.
    let sweep = resync::sweep_tenant(&env.ctx, &tenant)
        .await
        .expect("sweep succeeds");
    let mut due = sweep.due.clone();
    due.sort_by_key(|(r, _)| r.name.clone());
    let (a, b) = (env.profile("a"), env.profile("b"));
    assert_eq!(
        due,
        vec![
            (ObjectRef::from_obj(&a), SweepReason::HoldChanged),
            (ObjectRef::from_obj(&b), SweepReason::HoldChanged),
        ]
    );
    reconcile(&mut env, "a").await.expect("in sync");
    let a = env.profile("a");
    assert_eq!(
        condition_state(&a, "Suspended"),
        ("True".into(), "TenantSuspended".into())
    );
    assert_eq!(
        condition_state(&a, "Ready"),
        ("True".into(), "Synced".into()),
        "nothing pending: still Ready"
    );

    edit_spec(&mut env, "a", |p| p.spec.description = Some("two".into()));
    edit_spec(&mut env, "b", |p| p.spec.description = Some("two".into()));
    env.clear_calls().await;
    reconcile(&mut env, "a").await.expect("held");
    reconcile(&mut env, "b").await.expect("held");
    assert_eq!(env.tenant_writes().await, Vec::<String>::new());
    held_pending(&env.profile("a"), "TenantSuspended");
    held_pending(&env.profile("b"), "TenantSuspended");
    assert_eq!(
        env.kube.event_reasons(),
        vec!["TenantSuspended", "TenantSuspended"]
    );

    // Lifted: the sweep sends both (not Ready), and their writes go.
    let tenant = set_suspend(&env, false);
    env.profile("a");
    env.profile("b");
    let sweep = resync::sweep_tenant(&env.ctx, &tenant)
        .await
        .expect("sweep succeeds");
    assert_eq!(sweep.due.len(), 2, "{:?}", sweep.due);
    reconcile(&mut env, "a").await.expect("patched");
    reconcile(&mut env, "b").await.expect("patched");
    let writes = env.tenant_writes().await;
    assert_eq!(writes.len(), 2, "{writes:?}");
    for name in ["a", "b"] {
        let stored = env.profile(name);
        assert_eq!(
            condition_state(&stored, "Ready"),
            ("True".into(), "Synced".into())
        );
        assert!(
            !shown(&stored).iter().any(|c| c.starts_with("Suspended")),
            "{:?}",
            shown(&stored)
        );
    }
    let sweep = resync::sweep_tenant(&env.ctx, &tenant)
        .await
        .expect("sweep succeeds");
    assert!(sweep.due.is_empty(), "{:?}", sweep.due);
}

#[tokio::test]
async fn a_held_delete_keeps_the_finalizer_and_runs_once_lifted() {
    let mut env = TestEnv::new().await;
    let spec = "  deletionPolicy: Delete\n";
    create_ready(&mut env, &profile_manifest("gone", "Gone", spec)).await;
    set_paused(&mut env, "gone", true);
    delete(&env, "gone").await;

    for _ in 0..2 {
        let held = reconcile(&mut env, "gone").await;
        assert!(
            matches!(held, Err(ReconcileError::WritesHeld(_))),
            "{held:?}"
        );
    }
    assert_eq!(env.tenant_writes().await, Vec::<String>::new());
    let stored = env.profile("gone");
    assert!(stored.metadata.finalizers.is_some_and(|f| !f.is_empty()));
    let stored = env.profile("gone");
    held_pending(&stored, "Paused");
    assert_eq!(env.kube.event_reasons(), vec!["Paused"], "one Event");

    set_paused(&mut env, "gone", false);
    let started = reconcile(&mut env, "gone").await;
    assert!(
        matches!(started, Err(ReconcileError::Waiting(_))),
        "{started:?}"
    );
    assert_eq!(
        env.tenant_writes().await,
        vec!["DELETE /v2024/identity-profiles/{identity-profile-id}"]
    );
    let stored = env.profile("gone");
    assert_eq!(
        condition_state(&stored, "Reconciling"),
        ("True".into(), "Deleting".into())
    );
    assert!(
        !shown(&stored).iter().any(|c| c.starts_with("Suspended")),
        "{:?}",
        shown(&stored)
    );
}

#[tokio::test]
async fn a_suspended_tenant_holds_onchange_processing() {
    let mut env = TestEnv::new().await;
    let spec = "  refreshPolicy: OnChange\n  description: one\n";
    create_ready(&mut env, &profile_manifest("p", "P", spec)).await;
    set_suspend(&env, true);
    edit_spec(&mut env, "p", |p| p.spec.description = Some("two".into()));
    reconcile(&mut env, "p").await.expect("held");
    assert_eq!(env.tenant_writes().await, Vec::<String>::new());
    let status = env.profile("p").status.unwrap();
    assert!(status.pending_processing.is_none(), "{status:?}");
}
