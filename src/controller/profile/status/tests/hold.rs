//! The pause switches in the pure status computation.

use super::*;
use crate::controller::pause::{PAUSED, TENANT_SUSPENDED};

fn hold(reason: &'static str) -> Option<WriteHold> {
    Some(WriteHold {
        reason,
        message: "held for the test".into(),
    })
}

fn patch_plan() -> ProfilePlan {
    ProfilePlan::Patch(vec![vec![isc_client::models::JsonPatchOperation {
        op: "replace".into(),
        path: "/description".into(),
        value: Some(json!("new")),
        from: None,
    }]])
}

#[test]
fn a_held_write_is_suspended_not_ready_and_announced_once() {
    use crate::controller::kstatus::condition::{RECONCILING, STALLED};
    let stored = IdentityProfileStatus {
        observed_generation: Some(1),
        ..Default::default()
    };
    let obj = object(2, stored.clone(), json!({}));
    let outcome = Outcome {
        conflict_free: true,
        tenant_profile: Some(tenant_profile(false)),
        unapplied: Some(patch_plan()),
        hold: hold(PAUSED),
        ..Default::default()
    };
    let (status, events) = synced(&obj, &stored, &outcome);
    assert_eq!(
        shown(&status, SUSPENDED),
        Some((TRUE.into(), PAUSED.into()))
    );
    assert_eq!(
        shown(&status, condition::READY),
        Some((FALSE.into(), PAUSED.into()))
    );
    assert_eq!(
        shown(&status, condition::SYNCED),
        Some((FALSE.into(), PAUSED.into()))
    );
    assert_eq!(shown(&status, RECONCILING), None);
    assert_eq!(shown(&status, STALLED), None);
    assert_eq!(status.planned_change.as_ref().unwrap().action, "Patch");
    every_condition_describes(&status, 2);
    let held: Vec<_> = events.iter().map(|e| (e.type_, e.reason)).collect();
    assert_eq!(held, vec![(EventType::Normal, PAUSED)]);

    // The next reconcile with the same hold and the same plan: same status, no Event.
    let (again, events) = synced(&obj, &status, &outcome);
    assert_eq!(again, status);
    assert!(events.is_empty(), "{events:?}");

    // Another hold (the Tenant's suspend instead of the annotation) is announced again.
    let by_tenant = Outcome {
        hold: hold(TENANT_SUSPENDED),
        ..outcome
    };
    let (status, events) = synced(&obj, &status, &by_tenant);
    assert_eq!(
        shown(&status, condition::READY),
        Some((FALSE.into(), TENANT_SUSPENDED.into()))
    );
    assert_eq!(events.len(), 1);
}

#[test]
fn a_held_object_in_sync_stays_ready_and_shows_suspended() {
    let obj = object(1, IdentityProfileStatus::default(), json!({}));
    let outcome = Outcome {
        conflict_free: true,
        tenant_profile: Some(tenant_profile(false)),
        unapplied: Some(ProfilePlan::Nothing),
        hold: hold(TENANT_SUSPENDED),
        ..Default::default()
    };
    let (status, events) = synced(&obj, &IdentityProfileStatus::default(), &outcome);
    assert_eq!(
        shown(&status, SUSPENDED),
        Some((TRUE.into(), TENANT_SUSPENDED.into()))
    );
    assert_eq!(
        shown(&status, condition::READY),
        Some((TRUE.into(), reason::SYNCED.into()))
    );
    assert_eq!(status.planned_change, None);
    assert!(events.is_empty());

    // Lifted: Suspended goes.
    let lifted = Outcome {
        hold: None,
        ..outcome
    };
    let (status, _) = synced(&obj, &status, &lifted);
    assert_eq!(shown(&status, SUSPENDED), None);
}

#[test]
fn a_held_write_keeps_the_recorded_refusal_and_an_error_still_shows_suspended() {
    let refusal = crate::api::identity_profile::Refusal {
        generation: Some(1),
        operation: "Patch".into(),
        at: now(),
        attempts: 1,
        retry_after: now(),
        message: "refused".into(),
    };
    let stored = IdentityProfileStatus {
        last_refusal: Some(Box::new(refusal)),
        ..Default::default()
    };
    let obj = object(1, stored.clone(), json!({}));
    let outcome = Outcome {
        tenant_profile: Some(tenant_profile(false)),
        unapplied: Some(patch_plan()),
        hold: hold(PAUSED),
        ..Default::default()
    };
    let (status, _) = synced(&obj, &stored, &outcome);
    assert!(
        status.last_refusal.is_some(),
        "the refused write was not sent again"
    );

    let error = ReconcileError::TenantNotFound("demo".into());
    let (status, _) = failed(&obj, &stored, &outcome, &error);
    assert_eq!(
        shown(&status, SUSPENDED),
        Some((TRUE.into(), PAUSED.into()))
    );
    assert_eq!(
        shown(&status, crate::controller::kstatus::condition::RECONCILING),
        Some((TRUE.into(), "TenantNotFound".into()))
    );
}

#[test]
fn a_held_delete_is_held_not_reconciling() {
    let error = ReconcileError::WritesHeld(hold(PAUSED).unwrap());
    assert!(!error.stalls());
    assert_eq!(error.reason(), PAUSED);
    assert!(matches!(
        error.progress("m"),
        crate::controller::kstatus::Progress::Held { reason: PAUSED, .. }
    ));
}
