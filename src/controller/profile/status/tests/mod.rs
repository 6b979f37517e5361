//! Unit tests of the pure status computation.

use serde_json::json;

use super::*;

mod hold;
use crate::api::identity_profile::PendingCreate;
use crate::controller::kstatus::condition::SUSPENDED;
use crate::controller::status::{find_condition, now};
use isc_client::models::IdentityProfile as TenantProfile;

fn object(
    generation: i64,
    status: IdentityProfileStatus,
    extra_spec: serde_json::Value,
) -> IdentityProfile {
    let mut spec = json!({
        "tenantRef": {"name": "demo"},
        "name": "Staff",
        "authoritativeSource": {"id": "source-1"},
    });
    spec.as_object_mut()
        .unwrap()
        .extend(extra_spec.as_object().cloned().unwrap_or_default());
    let mut obj: IdentityProfile = serde_json::from_value(json!({
        "apiVersion": "isc.identitynow.dev/v1alpha1",
        "kind": "IdentityProfile",
        "metadata": {"name": "staff", "namespace": "team-a", "generation": generation},
        "spec": spec,
    }))
    .expect("valid object");
    obj.status = Some(status);
    obj
}

fn tenant_profile(refresh_required: bool) -> TenantProfile {
    TenantProfile {
        id: Some("p-1".into()),
        name: "Staff".into(),
        identity_count: Some(3),
        identity_refresh_required: refresh_required,
        ..Default::default()
    }
}

fn state(status: &IdentityProfileStatus, type_: &str) -> (String, String) {
    let c = find_condition(&status.conditions, type_).expect("condition");
    (c.status.clone(), c.reason.clone())
}

#[test]
fn a_create_clears_the_marker_and_records_the_generation() {
    let stored = IdentityProfileStatus {
        pending_create: Some(Box::new(PendingCreate {
            name: "Staff".into(),
            since: now(),
        })),
        ..Default::default()
    };
    let obj = object(4, IdentityProfileStatus::default(), json!({}));
    let outcome = Outcome {
        conflict_free: true,
        tenant_profile: Some(tenant_profile(false)),
        created: true,
        wrote_changes: true,
        create_resolved: true,
        ..Default::default()
    };
    let (status, events) = synced(&obj, &stored, &outcome);
    assert_eq!(status.pending_create, None);
    assert_eq!(status.id.as_deref(), Some("p-1"));
    assert_eq!(status.identity_count, Some(3));
    assert_eq!(status.changed_generation, Some(4));
    assert_eq!(status.observed_generation, Some(4));
    assert_eq!(status.planned_change, None);
    assert_eq!(
        state(&status, condition::READY),
        (TRUE.into(), reason::SYNCED.into())
    );
    assert_eq!(
        state(&status, condition::SYNCED),
        (TRUE.into(), reason::SYNCED.into())
    );
    let refresh = state(&status, condition::REFRESH_REQUIRED);
    assert_eq!(refresh, (FALSE.into(), reason::UP_TO_DATE.into()));
    let reasons: Vec<_> = events.iter().map(|e| e.reason).collect();
    assert_eq!(reasons, vec![reason::CREATED]);
}

#[test]
fn a_patch_without_a_spec_change_is_a_drift_correction() {
    let previous = IdentityProfileStatus {
        observed_generation: Some(2),
        ..Default::default()
    };
    let obj = object(2, previous.clone(), json!({"refreshPolicy": "OnChange"}));
    let outcome = Outcome {
        tenant_profile: Some(tenant_profile(true)),
        patch_calls: 1,
        wrote_changes: true,
        create_resolved: true,
        processing_started: true,
        ..Default::default()
    };
    let (status, events) = synced(&obj, &previous, &outcome);
    assert_eq!(status.processed_generation, Some(2));
    let refresh = state(&status, condition::REFRESH_REQUIRED);
    assert_eq!(refresh, (TRUE.into(), reason::PROCESSING_STARTED.into()));
    let reasons: Vec<_> = events.iter().map(|e| e.reason).collect();
    assert_eq!(
        reasons,
        vec![reason::DRIFT_CORRECTED, reason::PROCESSING_STARTED]
    );
}

#[test]
fn observe_shows_the_unapplied_plan() {
    let obj = object(
        1,
        IdentityProfileStatus::default(),
        json!({"managementPolicy": "Observe"}),
    );
    let outcome = Outcome {
        unapplied: Some(ProfilePlan::Nothing),
        ..Default::default()
    };
    let (status, events) = synced(&obj, &IdentityProfileStatus::default(), &outcome);
    assert_eq!(status.planned_change.as_ref().unwrap().action, "None");
    assert_eq!(
        state(&status, condition::READY),
        (TRUE.into(), reason::OBSERVED.into())
    );
    assert!(events.is_empty());
}

#[test]
fn a_conflict_sets_both_conditions_and_one_warning() {
    let obj = object(1, IdentityProfileStatus::default(), json!({}));
    let error = ReconcileError::Conflict("IdentityProfile \"first\" already manages it".into());
    let (status, events) = failed(
        &obj,
        &IdentityProfileStatus::default(),
        &Outcome::default(),
        &error,
    );
    assert_eq!(
        state(&status, condition::READY),
        (FALSE.into(), reason::CONFLICT.into())
    );
    assert_eq!(
        state(&status, condition::CONFLICT),
        (TRUE.into(), reason::CONFLICT.into())
    );
    assert_eq!(events.len(), 1);
    assert_eq!(
        (events[0].type_, events[0].reason),
        (EventType::Warning, reason::CONFLICT)
    );

    // Once the conflict is gone, the next failure (or success) removes the condition.
    let outcome = Outcome {
        conflict_free: true,
        ..Default::default()
    };
    let error = ReconcileError::TenantNotFound("demo".into());
    let (status, _) = failed(&obj, &status, &outcome, &error);
    assert!(find_condition(&status.conditions, condition::CONFLICT).is_none());
}

#[test]
fn the_sync_time_moves_only_with_another_change() {
    let earlier = now();
    let stored = IdentityProfileStatus {
        last_sync_time: Some(earlier.clone()),
        observed_generation: Some(1),
        ..Default::default()
    };
    let unchanged = with_sync_time(&stored, stored.clone(), now());
    assert_eq!(unchanged, stored);
    let changed = IdentityProfileStatus {
        observed_generation: Some(2),
        ..stored.clone()
    };
    let later = Time(earlier.0 + std::time::Duration::from_secs(5));
    let written = with_sync_time(&stored, changed, later.clone());
    assert_eq!(written.last_sync_time, Some(later));
}

/// `(status, reason)` of `type_`, or `None` when absent.
fn shown(status: &IdentityProfileStatus, type_: &str) -> Option<(String, String)> {
    find_condition(&status.conditions, type_).map(|c| (c.status.clone(), c.reason.clone()))
}

fn every_condition_describes(status: &IdentityProfileStatus, generation: i64) {
    assert_eq!(status.observed_generation, Some(generation));
    for c in &status.conditions {
        assert_eq!(c.observed_generation, Some(generation), "{c:?}");
    }
}

fn api_error(status: u16) -> ReconcileError {
    ReconcileError::Tenant(isc_client::IscError::Api {
        method: "PATCH".into(),
        path: "/v2024/identity-profiles/p-1".into(),
        status,
        detail_code: None,
        tracking_id: None,
        message: "m".into(),
    })
}

fn timeout() -> ReconcileError {
    ReconcileError::Tenant(isc_client::IscError::Transport {
        method: "GET".into(),
        path: "/v2024/identity-profiles".into(),
        message: "timed out".into(),
        outcome_unknown: false,
    })
}

fn auth_answered(status: u16) -> ReconcileError {
    ReconcileError::Tenant(isc_client::IscError::Auth {
        token_url: "https://t/oauth/token".into(),
        status,
        message: "invalid_client".into(),
    })
}

#[test]
fn each_error_class_is_stalled_or_reconciling_never_both() {
    use crate::controller::kstatus::condition::{RECONCILING, STALLED};
    let obj = object(3, IdentityProfileStatus::default(), json!({}));
    let cases: Vec<(ReconcileError, &str, bool)> = vec![
        (ReconcileError::InvalidSpec("x".into()), "InvalidSpec", true),
        (ReconcileError::Conflict("x".into()), "Conflict", true),
        (api_error(400), "TenantRejected", true),
        (api_error(403), "Forbidden", true),
        (
            ReconcileError::ImportRefused {
                key: "K".into(),
                text: "t".into(),
            },
            "TenantRejected",
            true,
        ),
        (
            ReconcileError::DuplicateTenantProfiles("x".into()),
            "Conflict",
            true,
        ),
        (
            ReconcileError::TenantTaskFailed("x".into()),
            "TenantTaskFailed",
            true,
        ),
        (auth_answered(401), "AuthenticationFailed", true),
        (auth_answered(503), "TenantUnavailable", false),
        (api_error(429), "RateLimited", false),
        (timeout(), "TenantUnavailable", false),
        (api_error(503), "TenantUnavailable", false),
        (
            ReconcileError::TenantNotFound("demo".into()),
            "TenantNotFound",
            false,
        ),
        (
            ReconcileError::SecretNotFound("s".into()),
            "SecretNotFound",
            false,
        ),
        (
            ReconcileError::WaveFailed("x".into()),
            "TenantUnavailable",
            false,
        ),
        (ReconcileError::Waiting("x".into()), "Waiting", false),
    ];
    for (error, reason, stalls) in cases {
        // Start from a status that shows the opposite, so each case proves the removal too.
        let mut stored = IdentityProfileStatus::default();
        let opposite = if stalls { RECONCILING } else { STALLED };
        set_condition(
            &mut stored.conditions,
            opposite,
            TRUE,
            "Earlier",
            "m",
            Some(2),
        );
        let (status, _) = failed(&obj, &stored, &Outcome::default(), &error);
        let (set, absent) = if stalls {
            (STALLED, RECONCILING)
        } else {
            (RECONCILING, STALLED)
        };
        assert_eq!(
            shown(&status, set),
            Some((TRUE.into(), reason.into())),
            "{error:?}"
        );
        assert_eq!(shown(&status, absent), None, "{error:?}");
        assert_eq!(
            shown(&status, condition::READY),
            Some((FALSE.into(), reason.into())),
            "{error:?}"
        );
        every_condition_describes(&status, 3);
    }
}

#[test]
fn success_removes_reconciling_and_stalled_and_stamps_every_condition() {
    use crate::controller::kstatus::condition::{RECONCILING, STALLED};
    let mut stored = IdentityProfileStatus {
        observed_generation: Some(1),
        ..Default::default()
    };
    for type_ in [RECONCILING, STALLED, condition::SUBMISSION_OUTCOME_UNKNOWN] {
        set_condition(&mut stored.conditions, type_, TRUE, "Earlier", "m", Some(1));
    }
    let obj = object(2, stored.clone(), json!({}));
    let outcome = Outcome {
        conflict_free: true,
        tenant_profile: Some(tenant_profile(false)),
        create_resolved: true,
        ..Default::default()
    };
    let (status, _) = synced(&obj, &stored, &outcome);
    assert_eq!(shown(&status, RECONCILING), None);
    assert_eq!(shown(&status, STALLED), None);
    assert_eq!(shown(&status, SUSPENDED), None);
    assert_eq!(
        shown(&status, condition::READY),
        Some((TRUE.into(), reason::SYNCED.into()))
    );
    every_condition_describes(&status, 2);
}

#[test]
fn a_failure_keeps_the_generation_of_what_it_did_not_judge_again() {
    let mut stored = IdentityProfileStatus {
        observed_generation: Some(1),
        ..Default::default()
    };
    set_condition(
        &mut stored.conditions,
        condition::SYNCED,
        TRUE,
        reason::SYNCED,
        "m",
        Some(1),
    );
    let obj = object(2, stored.clone(), json!({}));
    let error = ReconcileError::InvalidSpec("x".into());
    let (status, _) = failed(&obj, &stored, &Outcome::default(), &error);
    assert_eq!(status.observed_generation, Some(2));
    let generation_of = |type_: &str| {
        find_condition(&status.conditions, type_)
            .unwrap()
            .observed_generation
    };
    assert_eq!(
        generation_of(condition::SYNCED),
        Some(1),
        "synced for 1, not 2"
    );
    assert_eq!(generation_of(condition::READY), Some(2));
    assert_eq!(
        generation_of(crate::controller::kstatus::condition::STALLED),
        Some(2)
    );
}
