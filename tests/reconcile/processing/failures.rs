//! How a request fails (and that nothing is sent when it fails early), how it waits while
//! blocked, and how it expires after its TTL.

use isc_operator::api::processing_request::{Phase, SubmissionState};
use isc_operator::api::{IdentityProfile, Tenant};
use isc_operator::controller::status::{FALSE, TRUE, condition as ctype, reason};
use kube::runtime::controller::Action;
use reqwest::Method;
use serde_json::json;

use super::*;
use crate::env::{NAMESPACE, profile as profile_manifest};

#[tokio::test]
async fn a_failing_task_fails_the_request() {
    let env = fast_env().await;
    env.sim_admin(
        Method::POST,
        "faults",
        json!({"method": "POST", "path": "/v2024/identities/process", "taskOutcome": "ERROR"}),
    )
    .await;
    env.put_request(&request("doomed", &process_ids(&[seed_id(0)])));
    reconcile(&env, "doomed")
        .await
        .expect("a failed request is no error");
    let failed = status(&env, "doomed");
    assert_eq!(failed.phase, Some(Phase::Failed), "{failed:#?}");
    assert_eq!(
        condition(&failed, ctype::FAILED),
        (TRUE.into(), reason::TASK_FAILED.into())
    );
    assert_eq!(condition(&failed, ctype::COMPLETE).0, FALSE);
    assert!(failed.completion_time.is_some());
    let events = env.kube.events();
    assert!(
        events
            .iter()
            .any(|(t, r, _)| t == "Warning" && r == reason::TASK_FAILED),
        "{events:?}"
    );
}

#[tokio::test]
async fn a_refused_call_fails_the_request_and_skips_the_rest() {
    let env = fast_env().await;
    env.sim_admin(
        Method::POST,
        "faults",
        json!({"method": "POST", "path": "/v2024/identities/*/synchronize-attributes", "status": 400}),
    )
    .await;
    let ids = [seed_id(0), seed_id(1)];
    let spec = format!(
        "  action: SynchronizeAttributes\n  identities:\n    ids: [{}]\n",
        quoted(&ids)
    );
    env.put_request(&request("refused", &spec));
    reconcile(&env, "refused")
        .await
        .expect("a failed request is no error");
    let failed = status(&env, "refused");
    assert_eq!(failed.phase, Some(Phase::Failed), "{failed:#?}");
    assert_eq!(
        condition(&failed, ctype::FAILED).1,
        reason::SUBMISSION_REJECTED
    );
    assert_eq!(failed.submissions[0].state, SubmissionState::Failed);
    assert_eq!(failed.submissions[1].state, SubmissionState::Skipped);
    assert_eq!(
        calls(&env, "synchronizeAttributesForIdentity").await.len(),
        1
    );
}

#[tokio::test]
async fn an_unresolvable_target_fails_before_anything_is_sent() {
    let mut env = fast_env().await;
    let cases = [
        (
            "no-such-profile",
            "  action: ProcessProfile\n  profile:\n    id: nope\n".to_string(),
            reason::PROFILE_NOT_FOUND,
        ),
        (
            "unknown-ids",
            process_ids(&[seed_id(0), "ffff0000".to_string()]),
            reason::IDENTITIES_NOT_FOUND,
        ),
        (
            "other-tenant",
            "  action: ProcessProfile\n  profile:\n    identityProfileRef:\n      name: elsewhere\n"
                .to_string(),
            reason::INVALID_TARGET,
        ),
    ];
    let mut elsewhere: IdentityProfile = profile_manifest("elsewhere", "Elsewhere", "");
    elsewhere.spec.tenant_ref.name = "another-tenant".into();
    env.put_profile(&elsewhere);
    for (name, spec, expected) in cases {
        env.put_request(&request(name, &spec));
        let action = reconcile(&env, name)
            .await
            .expect("a failed request is no error");
        assert_eq!(action, Action::await_change(), "{name}");
        let failed = status(&env, name);
        assert_eq!(failed.phase, Some(Phase::Failed), "{name}: {failed:#?}");
        assert_eq!(
            condition(&failed, ctype::FAILED),
            (TRUE.into(), expected.into()),
            "{name}"
        );
        assert_eq!(
            condition(&failed, ctype::RESOLVED),
            (FALSE.into(), expected.into()),
            "{name}"
        );
        assert!(failed.submissions.is_empty(), "{name}");
        assert!(
            env.kube.event_reasons().contains(&expected.to_string()),
            "{name}"
        );
    }
    assert!(
        env.tenant_writes().await.is_empty(),
        "{:?}",
        env.tenant_writes().await
    );
    assert_status_writes_guarded(&env);
}

#[tokio::test]
async fn a_missing_tenant_or_secret_keeps_the_request_pending() {
    let env = fast_env().await;
    let mut obj = request("no-tenant", &process_ids(&[seed_id(0)]));
    obj.spec.tenant_ref.name = "nope".into();
    env.put_request(&obj);
    let error = reconcile(&env, "no-tenant").await.expect_err("blocked");
    assert_eq!(error.reason(), reason::TENANT_NOT_FOUND);
    let blocked = status(&env, "no-tenant");
    assert_eq!(blocked.phase, Some(Phase::Pending));
    assert_eq!(
        condition(&blocked, ctype::BLOCKED),
        (TRUE.into(), reason::TENANT_NOT_FOUND.into())
    );

    let mut tenant: Tenant = env.kube.get(NAMESPACE, crate::env::TENANT).unwrap();
    tenant.metadata = kube::api::ObjectMeta {
        name: Some("no-secret".into()),
        namespace: Some(NAMESPACE.into()),
        ..Default::default()
    };
    tenant.spec.credentials_secret_ref.name = "missing".into();
    tenant.status = None;
    env.kube.insert(&tenant);
    obj.metadata.name = Some("no-secret".into());
    obj.spec.tenant_ref.name = "no-secret".into();
    env.put_request(&obj);
    let error = reconcile(&env, "no-secret").await.expect_err("blocked");
    assert_eq!(error.reason(), reason::SECRET_NOT_FOUND);
    let blocked = status(&env, "no-secret");
    assert_eq!(blocked.phase, Some(Phase::Pending));
    assert_eq!(
        condition(&blocked, ctype::BLOCKED).1,
        reason::SECRET_NOT_FOUND
    );
    assert_eq!(
        env.kube.event_reasons(),
        vec![reason::TENANT_NOT_FOUND, reason::SECRET_NOT_FOUND]
    );
    assert!(
        env.journal().await.is_empty(),
        "the tenant was never called"
    );
}

#[tokio::test]
async fn a_finished_request_is_deleted_after_its_ttl() {
    let env = fast_env().await;
    let spec = format!(
        "{}  ttlSecondsAfterFinished: 3600\n",
        process_ids(&[seed_id(0)])
    );
    env.put_request(&request("kept", &spec));
    let action = reconcile(&env, "kept").await.expect("reconcile succeeds");
    assert_eq!(status(&env, "kept").phase, Some(Phase::Succeeded));
    assert_ne!(
        action,
        Action::await_change(),
        "looked at again when the TTL ends"
    );
    assert!(env.request("kept").is_some());

    let spec = format!(
        "{}  ttlSecondsAfterFinished: 0\n",
        process_ids(&[seed_id(0)])
    );
    env.put_request(&request("expired", &spec));
    env.kube.clear_requests();
    let action = reconcile(&env, "expired")
        .await
        .expect("reconcile succeeds");
    assert_eq!(action, Action::await_change());
    assert!(env.request("expired").is_none(), "deleted");
    let deletes: Vec<_> = env
        .kube
        .writes()
        .into_iter()
        .filter(|r| r.method == http::Method::DELETE)
        .collect();
    assert_eq!(deletes.len(), 1);
    assert_eq!(
        deletes[0].body["preconditions"]["uid"],
        format!("uid-{NAMESPACE}-expired"),
        "only this very object"
    );
}
