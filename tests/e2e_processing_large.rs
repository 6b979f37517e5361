//! A deliberately large `ProcessingRequest` end to end: 50 000 identities on the simulator,
//! the request raising its own limit (`spec.maxIdentities`), the operator binary against a
//! real kube-apiserver. Counts come from the simulator's journal; the status size is the
//! object as the API server returns it.

pub mod support;

use std::time::Duration;

use isc_operator::api::processing_request::{Phase, SubmissionState};
use isc_sim::JournalEntry;
use kube::ResourceExt;
use support::e2e::*;

/// Identities the request resolves to.
const IDENTITIES: usize = 50_000;

async fn calls(env: &Env, operation: &str) -> Vec<JournalEntry> {
    env.admin
        .api_calls()
        .await
        .into_iter()
        .filter(|e| e.operation_id.as_deref() == Some(operation))
        .collect()
}

/// The simulator's configuration with `n` more identities, alias `bulk.N`.
fn config_with_identities(n: usize) -> isc_sim::SimConfig {
    let mut config = isc_sim::testing::sim_config();
    let template = config.seed.identities[0].clone();
    config.seed.identities.extend((0..n).map(|i| {
        let mut identity = template.clone();
        identity.id = Some(format!("b0b0b0b0b0b0b0b0{i:016x}"));
        identity.name = format!("bulk {i}");
        identity.alias = Some(format!("bulk.{i}"));
        identity.email = Some(format!("bulk.{i}@example.com"));
        identity.correlated = true;
        identity
    }));
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_thousand_identities_take_200_pages_and_200_calls_with_a_small_status() {
    let env = Env::with_sim(
        "pr-large",
        "127.0.0.1:0",
        config_with_identities(IDENTITIES),
    )
    .await;
    env.wait_processing_crd().await;
    env.apply_tenant(30).await;
    env.admin.clear_journal().await;
    env.apply(
        "apiVersion: isc.identitynow.dev/v1alpha1\nkind: ProcessingRequest\nmetadata:\n  name: everyone\nspec:\n  tenantRef:\n    name: demo\n  action: ProcessIdentities\n  maxIdentities: 50000\n  identities:\n    filter:\n      - attribute: alias\n        operator: sw\n        value: bulk.\n",
    )
    .await;
    let api = env.requests();
    let done = env
        .wait_for(
            "the large request finished",
            Duration::from_secs(600),
            || {
                let api = api.clone();
                async move {
                    let r = api.get_opt("everyone").await.ok()??;
                    r.status.as_ref()?.phase?.is_finished().then_some(r)
                }
            },
        )
        .await;
    let status = done.status.clone().expect("status");
    assert_eq!(status.phase, Some(Phase::Succeeded), "{status:#?}");
    assert_eq!(status.identity_count, Some(IDENTITIES as i64));
    assert_eq!(status.submissions.len(), 200);
    assert!(status.submissions.iter().all(|s| {
        s.state == SubmissionState::Succeeded
            && s.identity_count == Some(250)
            && s.task_id.is_some()
    }));

    let lists = calls(&env, "listIdentities").await;
    assert_eq!(lists.len(), 200, "one list call per page of 250");
    let posts = calls(&env, "startIdentityProcessing").await;
    assert_eq!(posts.len(), 200, "one process call per 250 ids");
    let mut sent: Vec<String> = posts
        .iter()
        .flat_map(|p| {
            p.body["identityIds"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    assert_eq!(sent.len(), IDENTITIES);
    sent.sort();
    sent.dedup();
    assert_eq!(sent.len(), IDENTITIES, "every identity exactly once");

    // The 200 tasks were followed in list form (50 per `id in (...)` list call), never with
    // a GET per task.
    let task_lists = calls(&env, "getTaskStatusList").await;
    assert!(
        !task_lists.is_empty() && task_lists.len() <= 30,
        "{} task-status list calls",
        task_lists.len()
    );
    assert!(task_lists.iter().all(|l| {
        l.query["filters"]
            .as_str()
            .is_some_and(|f| f.starts_with("id in (") && f.matches(',').count() < 50)
    }));
    assert!(
        calls(&env, "getTaskStatus").await.is_empty(),
        "no GET per task"
    );

    // The object, as the API server returns it (compact JSON, managedFields included), stays
    // small; so does its status alone.
    let path = format!(
        "/apis/isc.identitynow.dev/v1alpha1/namespaces/{}/processingrequests/everyone",
        env.ns
    );
    let out = env.cp.kubectl_async(&["get", "--raw", &path]).await;
    assert_success(&out, "get the request as JSON");
    let object: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let status_size = serde_json::to_vec(&object["status"]).expect("JSON").len();
    let size = out.stdout.len();
    eprintln!("ProcessingRequest object: {size} bytes, its status {status_size} bytes");
    assert!(size < 100 * 1024, "{size} bytes");

    // The ids are in ConfigMaps the request owns: 5000 per ConfigMap.
    let uid = done.uid().expect("uid");
    let out = env
        .kubectl(&[
            "get",
            "configmaps",
            "-l",
            &format!("isc.identitynow.dev/processing-request-uid={uid}"),
            "-o",
            "name",
        ])
        .await;
    assert_success(&out, "list the request's ConfigMaps");
    let names = String::from_utf8_lossy(&out.stdout);
    assert_eq!(names.lines().count(), IDENTITIES / 5000, "{names}");
}
