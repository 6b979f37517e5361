//! Unit and property tests of the sweep's pure decision: which objects need a reconcile.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use proptest::prelude::*;
use serde_json::json;

use super::*;
use crate::api::IdentityProfileStatus;
use crate::api::identity_profile::PendingCreate;
use crate::controller::profile_cache::MalformedProfile;
use crate::controller::status::{FALSE, now};
use isc_client::models::IdentityProfile as TenantProfile;

fn condition_of(type_: &str, status: &str) -> Condition {
    Condition {
        type_: type_.into(),
        status: status.into(),
        reason: "Test".into(),
        message: String::new(),
        observed_generation: Some(1),
        last_transition_time: now(),
    }
}

/// An object named `name` whose status says it converged with tenant profile `id`, as a
/// successful reconcile leaves it (Ready, generation observed, nothing pending).
fn converged(name: &str, id: &str, policy: &str) -> IdentityProfile {
    let mut obj: IdentityProfile = serde_json::from_value(json!({
        "apiVersion": "isc.identitynow.dev/v1alpha1",
        "kind": "IdentityProfile",
        "metadata": {"name": name.to_lowercase(), "namespace": "team-a", "generation": 2},
        "spec": {
            "tenantRef": {"name": "demo"},
            "name": name,
            "description": "as declared",
            "authoritativeSource": {"id": "source-1"},
            "managementPolicy": policy,
        },
    }))
    .expect("valid object");
    let tenant = tenant_profile(&obj, id);
    let plan = obj.spec.desired().validated().unwrap().plan(Some(&tenant));
    obj.status = Some(IdentityProfileStatus {
        id: Some(id.into()),
        observed_generation: Some(2),
        identity_count: tenant.identity_count,
        conditions: vec![
            condition_of(condition::READY, TRUE),
            condition_of(condition::REFRESH_REQUIRED, FALSE),
        ],
        planned_change: (policy == "Observe").then(|| Box::new(profile::shown_plan(&plan))),
        ..Default::default()
    });
    obj
}

/// The tenant profile that matches `obj`'s spec exactly.
fn tenant_profile(obj: &IdentityProfile, id: &str) -> TenantProfile {
    let mut profile = obj.spec.desired().to_create_body();
    profile.id = Some(id.into());
    profile.identity_count = Some(7);
    profile
}

fn listed(profiles: Vec<TenantProfile>) -> TenantProfiles {
    TenantProfiles::new(profiles, vec![])
}

fn status_mut(obj: &mut IdentityProfile) -> &mut IdentityProfileStatus {
    obj.status.as_mut().expect("status")
}

#[test]
fn a_converged_object_is_left_alone_under_either_policy() {
    for policy in ["Manage", "Observe"] {
        let obj = converged("Staff", "p-1", policy);
        let list = listed(vec![tenant_profile(&obj, "p-1")]);
        assert_eq!(needs_reconcile(&obj, &list), None, "{policy}");
    }
}

#[test]
fn an_object_that_never_finished_a_reconcile_is_sent() {
    let obj = converged("Staff", "p-1", "Manage");
    let list = listed(vec![tenant_profile(&obj, "p-1")]);

    let mut fresh = obj.clone();
    fresh.status = None;
    assert_eq!(
        needs_reconcile(&fresh, &list),
        Some(SweepReason::NeverReconciled)
    );

    let mut edited = obj.clone();
    edited.metadata.generation = Some(3);
    assert_eq!(
        needs_reconcile(&edited, &list),
        Some(SweepReason::GenerationLags)
    );

    let mut failing = obj.clone();
    status_mut(&mut failing).conditions[0].status = FALSE.into();
    assert_eq!(
        needs_reconcile(&failing, &list),
        Some(SweepReason::NotReady)
    );

    let mut interrupted = obj.clone();
    status_mut(&mut interrupted).pending_create = Some(Box::new(PendingCreate {
        name: "Staff".into(),
        since: now(),
    }));
    assert_eq!(
        needs_reconcile(&interrupted, &list),
        Some(SweepReason::Unfinished)
    );
}

#[test]
fn a_deleted_or_drifted_tenant_profile_is_sent() {
    let obj = converged("Staff", "p-1", "Manage");
    assert_eq!(
        needs_reconcile(&obj, &listed(vec![])),
        Some(SweepReason::Missing),
        "deleted in the tenant"
    );
    let mut drifted = tenant_profile(&obj, "p-1");
    drifted.description = Some("changed in the UI".into());
    assert_eq!(
        needs_reconcile(&obj, &listed(vec![drifted.clone()])),
        Some(SweepReason::Drifted)
    );
    // Under Observe the same drift changes the plan shown in status.
    let observed = converged("Staff", "p-1", "Observe");
    assert_eq!(
        needs_reconcile(&observed, &listed(vec![drifted])),
        Some(SweepReason::ShownPlanChanged)
    );
    let broken = TenantProfiles::new(
        vec![],
        vec![MalformedProfile {
            id: Some("p-1".into()),
            name: Some("Staff".into()),
            error: "owner: invalid type".into(),
        }],
    );
    assert_eq!(needs_reconcile(&obj, &broken), Some(SweepReason::Malformed));
}

#[test]
fn what_the_status_reports_of_the_tenant_profile_is_kept_current() {
    let obj = converged("Staff", "p-1", "Manage");
    let mut counted = tenant_profile(&obj, "p-1");
    counted.identity_count = Some(8);
    assert_eq!(
        needs_reconcile(&obj, &listed(vec![counted])),
        Some(SweepReason::TenantReportChanged)
    );
    let mut flagged = tenant_profile(&obj, "p-1");
    flagged.identity_refresh_required = true;
    assert_eq!(
        needs_reconcile(&obj, &listed(vec![flagged])),
        Some(SweepReason::TenantReportChanged)
    );
    // No id recorded: found by name, the id is to be recorded.
    let mut unrecorded = obj.clone();
    status_mut(&mut unrecorded).id = None;
    assert_eq!(
        needs_reconcile(&unrecorded, &listed(vec![tenant_profile(&obj, "p-1")])),
        Some(SweepReason::TenantReportChanged)
    );
    // A case-only rename in the tenant is found by name, and is drift.
    let mut renamed = tenant_profile(&obj, "p-1");
    renamed.name = "STAFF".into();
    assert_eq!(
        needs_reconcile(&unrecorded, &listed(vec![renamed])),
        Some(SweepReason::Drifted)
    );
}

#[test]
fn an_object_being_deleted_is_left_to_its_finalizer() {
    let mut obj = converged("Staff", "p-1", "Manage");
    obj.metadata.deletion_timestamp = Some(now());
    assert_eq!(needs_reconcile(&obj, &listed(vec![])), None);
}

proptest! {
    /// Among any number of converged objects, exactly the ones whose tenant profile drifted,
    /// disappeared or changed its count are sent, whatever else the tenant holds.
    #[test]
    fn exactly_the_objects_that_need_a_reconcile_are_sent(
        changes in prop::collection::vec(0u8..5, 1..40),
        others in 0usize..20,
    ) {
        let mut objects = Vec::new();
        let mut tenant = Vec::new();
        for (i, change) in changes.iter().enumerate() {
            let policy = if i % 3 == 0 { "Observe" } else { "Manage" };
            let obj = converged(&format!("Profile {i}"), &format!("p-{i}"), policy);
            let mut profile = tenant_profile(&obj, &format!("p-{i}"));
            match change {
                1 => profile.description = Some("drifted".into()),
                2 => profile.authoritative_source.id = Some("source-2".into()),
                3 => profile.identity_count = Some(1000),
                _ => {}
            }
            if *change != 4 {
                tenant.push(profile);
            }
            objects.push((obj, *change));
        }
        for j in 0..others {
            tenant.push(TenantProfile {
                id: Some(format!("other-{j}")),
                name: format!("Unmanaged {j}"),
                ..Default::default()
            });
        }
        let list = listed(tenant);
        for (obj, change) in &objects {
            let observe = obj.spec.management_policy == ManagementPolicy::Observe;
            let expected = match change {
                0 => None,
                1 | 2 if observe => Some(SweepReason::ShownPlanChanged),
                1 | 2 => Some(SweepReason::Drifted),
                3 => Some(SweepReason::TenantReportChanged),
                _ if observe => Some(SweepReason::ShownPlanChanged),
                _ => Some(SweepReason::Missing),
            };
            prop_assert_eq!(needs_reconcile(obj, &list), expected, "change {}", change);
        }
    }
}

#[test]
fn a_sweep_waits_for_the_tenants_creates_at_most_one_interval() {
    let due = std::time::Instant::now();
    let resync = std::time::Duration::from_secs(30);
    let later = |secs| due + std::time::Duration::from_secs(secs);
    // Not due yet: never swept, creates or not.
    assert!(!super::sweep_now(later(10), due, false, resync));
    // Due, no creates under way: swept.
    assert!(super::sweep_now(due, later(0), false, resync));
    // Due while creates run: waits...
    assert!(!super::sweep_now(due, later(1), true, resync));
    assert!(!super::sweep_now(due, later(29), true, resync));
    // ...at most one interval.
    assert!(super::sweep_now(due, later(30), true, resync));
    // Creates done: swept at once.
    assert!(super::sweep_now(due, later(5), false, resync));
}
