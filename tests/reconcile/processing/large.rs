//! Requests that deliberately process many identities: `spec.maxIdentities` within the
//! operator's ceiling, resolution page by page, one process call per 250 ids, the ids kept in
//! ConfigMaps the request owns, and a status that holds counts and task ids only.

use std::time::{Duration, Instant};

use isc_operator::api::processing_request::{Phase, SubmissionState};
use isc_operator::controller::status::{FALSE, TRUE, condition as ctype, reason};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::ResourceExt;

use super::*;
use crate::env::NAMESPACE;

/// Id of the `i`th added identity.
pub(super) fn bulk_id(i: usize) -> String {
    format!("b0b0b0b0b0b0b0b0{i:016x}")
}

/// A world whose tenant also holds `n` identities with alias `bulk.N`, tasks done at once.
pub(super) async fn bulk_env(n: usize) -> TestEnv {
    TestEnv::with_config(|c| {
        c.task_duration = Duration::ZERO;
        let template = c.seed.identities[0].clone();
        c.seed.identities.extend((0..n).map(|i| {
            let mut identity = template.clone();
            identity.id = Some(bulk_id(i));
            identity.name = format!("bulk {i}");
            identity.alias = Some(format!("bulk.{i}"));
            identity.email = Some(format!("bulk.{i}@example.com"));
            identity.correlated = true;
            identity
        }));
    })
    .await
}

/// Spec lines of a `ProcessIdentities` request for every `bulk.` identity.
pub(super) fn bulk_spec(extra: &str) -> String {
    format!(
        "  action: ProcessIdentities\n  identities:\n    filter:\n      - attribute: alias\n        operator: sw\n        value: bulk.\n{extra}"
    )
}

/// Reconciles until the request finished.
pub(super) async fn run_to_end(env: &TestEnv, name: &str) -> ProcessingRequestStatus {
    let start = Instant::now();
    loop {
        reconcile(env, name).await.expect("reconcile succeeds");
        let current = status(env, name);
        if current.phase.is_some_and(Phase::is_finished) {
            return current;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "not finished: {current:#?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Every ConfigMap the fake API server holds for the request's resolved ids, in order.
fn stored_ids(env: &TestEnv, name: &str) -> Vec<String> {
    let request = env.request(name).expect("request");
    let reference = request
        .status
        .as_ref()
        .and_then(|s| s.resolved_ids.clone())
        .expect("status names the stored ids");
    let mut ids = Vec::new();
    for n in 0.. {
        let cm_name = format!("{}-{n}", reference.config_map_prefix);
        let Some(cm) = env.kube.get::<ConfigMap>(NAMESPACE, &cm_name) else {
            break;
        };
        let owner = &cm.owner_references()[0];
        assert_eq!(
            (owner.kind.as_str(), owner.uid.as_str()),
            ("ProcessingRequest", request.uid().unwrap().as_str()),
            "owned by the request, so deleted with it"
        );
        for text in cm.data.unwrap_or_default().values() {
            ids.extend(text.lines().map(str::to_string));
        }
    }
    ids
}

#[tokio::test]
async fn six_hundred_matches_cost_three_list_calls_and_three_process_calls() {
    let env = bulk_env(600).await;
    env.put_request(&request("pages", &bulk_spec("")));
    let done = run_to_end(&env, "pages").await;
    assert_eq!(done.phase, Some(Phase::Succeeded), "{done:#?}");
    assert_eq!(done.identity_count, Some(600));

    let lists = calls(&env, "listIdentities").await;
    assert_eq!(lists.len(), 3, "{lists:#?}");
    let offsets: Vec<&str> = lists
        .iter()
        .map(|l| l.query["offset"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(offsets, vec!["0", "250", "500"]);
    assert_eq!(
        lists[0].query["count"], "true",
        "the first page asks for the total"
    );
    let posts = calls(&env, "startIdentityProcessing").await;
    let sizes: Vec<usize> = posts
        .iter()
        .map(|p| p.body["identityIds"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, vec![250, 250, 100]);
    let sent: Vec<String> = posts
        .iter()
        .flat_map(|p| p.body["identityIds"].as_array().unwrap().clone())
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let expected: Vec<String> = (0..600).map(bulk_id).collect();
    assert_eq!(sent, expected, "every id once, in order");
    assert_eq!(stored_ids(&env, "pages"), expected);
    let counts: Vec<Option<u32>> = done.submissions.iter().map(|s| s.identity_count).collect();
    assert_eq!(counts, vec![Some(250), Some(250), Some(100)]);
    assert_status_writes_guarded(&env);
}

#[tokio::test]
async fn a_total_on_a_page_boundary_needs_no_extra_list_call() {
    let env = bulk_env(500).await;
    env.put_request(&request("even", &bulk_spec("")));
    let done = run_to_end(&env, "even").await;
    assert_eq!(done.phase, Some(Phase::Succeeded), "{done:#?}");
    assert_eq!(calls(&env, "listIdentities").await.len(), 2);
    assert_eq!(calls(&env, "startIdentityProcessing").await.len(), 2);
}

#[tokio::test]
async fn max_identities_raises_the_limit_and_status_stays_small() {
    let env = bulk_env(5200).await;
    // Without it, the default guard of 5000 holds: the first page's total fails it.
    env.put_request(&request("guarded", &bulk_spec("")));
    reconcile(&env, "guarded")
        .await
        .expect("a failed request is no error");
    let failed = status(&env, "guarded");
    assert_eq!(failed.phase, Some(Phase::Failed), "{failed:#?}");
    assert_eq!(
        condition(&failed, ctype::FAILED),
        (TRUE.into(), reason::TOO_MANY_IDENTITIES.into())
    );
    let message = find_condition(&failed.conditions, ctype::FAILED)
        .unwrap()
        .message
        .clone();
    assert!(
        message.contains("5200") && message.contains("5000") && message.contains("maxIdentities"),
        "{message}"
    );
    assert_eq!(calls(&env, "listIdentities").await.len(), 1);
    assert!(env.tenant_writes().await.is_empty(), "nothing sent");

    // Raised for this request: 21 pages, 21 calls.
    env.clear_calls().await;
    env.put_request(&request("raised", &bulk_spec("  maxIdentities: 6000\n")));
    let done = run_to_end(&env, "raised").await;
    assert_eq!(done.phase, Some(Phase::Succeeded), "{done:#?}");
    assert_eq!(done.identity_count, Some(5200));
    assert_eq!(calls(&env, "listIdentities").await.len(), 21);
    assert_eq!(calls(&env, "startIdentityProcessing").await.len(), 21);
    assert!(
        done.submissions
            .iter()
            .all(|s| s.state == SubmissionState::Succeeded && s.task_id.is_some())
    );
    assert_eq!(stored_ids(&env, "raised").len(), 5200);
    // Counts and task ids, never the identity ids.
    let text = serde_json::to_string(&done).unwrap();
    assert!(!text.contains("b0b0b0b0"), "{text}");
    assert!(text.len() < 21 * 300, "{} bytes: {text}", text.len());
}

#[tokio::test]
async fn max_identities_above_the_ceiling_fails_before_anything_is_read() {
    let env = fast_env().await;
    let spec = format!("{}  maxIdentities: 100001\n", bulk_spec(""));
    env.put_request(&request("greedy", &spec));
    reconcile(&env, "greedy")
        .await
        .expect("a failed request is no error");
    let failed = status(&env, "greedy");
    assert_eq!(failed.phase, Some(Phase::Failed), "{failed:#?}");
    assert_eq!(
        condition(&failed, ctype::FAILED),
        (TRUE.into(), reason::MAX_IDENTITIES_ABOVE_CEILING.into())
    );
    assert_eq!(condition(&failed, ctype::RESOLVED).0, FALSE);
    let message = find_condition(&failed.conditions, ctype::FAILED)
        .unwrap()
        .message
        .clone();
    for part in ["100001", "100000", "--max-identities-ceiling"] {
        assert!(message.contains(part), "{message}");
    }
    let events = env.kube.events();
    assert!(
        events.iter().any(|(t, r, note)| t == "Warning"
            && r == reason::MAX_IDENTITIES_ABOVE_CEILING
            && note.contains("--max-identities-ceiling")),
        "{events:?}"
    );
    assert!(
        calls(&env, "listIdentities").await.is_empty(),
        "nothing read"
    );
    assert!(env.tenant_writes().await.is_empty(), "nothing sent");
}

#[tokio::test]
async fn a_call_whose_stored_ids_changed_is_not_sent() {
    let env = fast_env().await;
    let stored = resolved(
        &env,
        "damaged",
        &process_ids(&[seed_id(0), seed_id(1)]),
        &[SubmissionState::Pending, SubmissionState::Pending],
    );
    // Someone edited the ConfigMap: call 0 now names two ids, not the one recorded.
    let prefix = stored
        .status
        .as_ref()
        .unwrap()
        .resolved_ids
        .clone()
        .unwrap();
    let mut cm: ConfigMap = env
        .kube
        .get(NAMESPACE, &format!("{}-0", prefix.config_map_prefix))
        .unwrap();
    cm.data
        .as_mut()
        .unwrap()
        .insert("00000".into(), format!("{}\n{}", seed_id(0), seed_id(2)));
    env.kube.insert(&cm);
    env.put_request(&stored);
    reconcile(&env, "damaged")
        .await
        .expect("a failed request is no error");
    let failed = status(&env, "damaged");
    assert_eq!(failed.phase, Some(Phase::Failed), "{failed:#?}");
    assert_eq!(failed.submissions[0].state, SubmissionState::Failed);
    assert_eq!(failed.submissions[1].state, SubmissionState::Skipped);
    assert!(
        failed.submissions[0]
            .message
            .as_deref()
            .unwrap_or_default()
            .contains("missing or changed")
    );
    assert!(env.tenant_writes().await.is_empty(), "nothing sent");
}
