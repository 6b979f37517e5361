//! ProcessingRequests: one large request of M identities, and R small ones kept for the
//! memory figure.

use std::time::{Duration, Instant};

use isc_operator::api::{ProcessingRequest, ProcessingRequestStatus};
use isc_operator::controller::status::find_condition;
use kube::api::{Api, DynamicObject, PostParams};
use kube::discovery::ApiResource;
use kube::runtime::watcher;
use serde_json::{Value, json};

use crate::calls::{Calls, JournalCursor, arrived, div_ceil};
use crate::content::{IDENTITY_PREFIX, create_all};
use crate::phases::CALLS_PER_SECOND;
use crate::report::{BenchError, BenchResult, Row, secs};
use crate::wait::{request_finished, wait_all};
use crate::world::{TENANT, from_json};

/// Name of the large request.
const LARGE: &str = "bench-large";
/// Label of the small requests.
const SMALL_LABEL: &str = "isc-bench/small";
/// The built-in identities (ids `2c9180857a1b4c2d<i as 16 hex>`, i < 300).
const BUILTIN_IDENTITIES: u32 = 300;

fn request(name: &str, labels: Value, spec: Value) -> BenchResult<DynamicObject> {
    let resource = ApiResource::erase::<ProcessingRequest>(&());
    from_json(json!({
        "apiVersion": resource.api_version, "kind": resource.kind,
        "metadata": {"name": name, "labels": labels}, "spec": spec,
    }))
}

fn dynamic_api(kube: &kube::Client, ns: &str) -> Api<DynamicObject> {
    Api::namespaced_with(
        kube.clone(),
        ns,
        &ApiResource::erase::<ProcessingRequest>(&()),
    )
}

/// One ProcessingRequest selecting the `m` benchmark identities (`name sw "Bench Identity"`),
/// with `spec.maxIdentities: m` when the build has it, run until it finished.
pub async fn large(
    kube: &kube::Client,
    ns: &str,
    cursor: &mut JournalCursor,
    m: u32,
    max_identities: bool,
) -> BenchResult<Row> {
    let figure = format!("ProcessingRequest of {m} identities → finished");
    if m > 5000 && !max_identities {
        return Ok(Row::not_run(
            figure,
            "n/a (spec.maxIdentities not supported by this build)",
        ));
    }
    let mut spec = json!({
        "tenantRef": {"name": TENANT},
        "action": "ProcessIdentities",
        "identities": {"filter": [{"attribute": "name", "operator": "sw", "value": IDENTITY_PREFIX}]},
    });
    if max_identities {
        spec["maxIdentities"] = json!(m);
    }
    let pages = div_ceil(u64::from(m), 250);
    let floor = (2 * pages) as f64 / CALLS_PER_SECOND;
    let timeout = Duration::from_secs_f64(120.0 + 10.0 * floor);
    cursor.skip().await;
    eprintln!("» processing: one request of {m} identities in {ns}");
    let started = Instant::now();
    dynamic_api(kube, ns)
        .create(&PostParams::default(), &request(LARGE, json!({}), spec)?)
        .await
        .map_err(BenchError::kube(format!(
            "create ProcessingRequest {ns}/{LARGE}"
        )))?;
    let typed: Api<ProcessingRequest> = Api::namespaced(kube.clone(), ns);
    let config = watcher::Config::default().fields(&format!("metadata.name={LARGE}"));
    let reached = wait_all(
        typed.clone(),
        config,
        1,
        request_finished,
        timeout,
        "large request",
    )
    .await?;
    let entries = cursor.advance().await;
    let calls = Calls::of(
        entries
            .iter()
            .filter(|e| arrived(e).is_some_and(|t| t <= reached.wall)),
    );
    let done = typed.get(LARGE).await.map_err(BenchError::kube(format!(
        "get ProcessingRequest {ns}/{LARGE}"
    )))?;
    let status = done.status.unwrap_or_default();
    let elapsed = reached.at - started;
    Ok(large_row(figure, elapsed, &calls, &status, pages))
}

/// The large request's row: time and calls against ⌈M/250⌉ lists + ⌈M/250⌉ process calls.
fn large_row(
    figure: String,
    elapsed: Duration,
    calls: &Calls,
    status: &ProcessingRequestStatus,
    pages: u64,
) -> Row {
    let floor = (2 * pages) as f64 / CALLS_PER_SECOND;
    let status_kib = serde_json::to_vec(status).map_or(0, |b| b.len()) as f64 / 1024.0;
    let failed = find_condition(&status.conditions, "Failed")
        .filter(|c| c.status == "True")
        .map(|c| format!("; Failed: {} {}", c.reason, c.message))
        .unwrap_or_default();
    Row {
        figure,
        result: secs(elapsed),
        calls: format!(
            "{} ({} identity lists, {} process calls, {} other, {} × 429)",
            calls.total,
            calls.identity_lists,
            calls.processes,
            calls.total - calls.identity_lists - calls.processes,
            calls.rate_limited
        ),
        reference: format!("floor {floor:.1} s ({pages} lists + {pages} process calls at 10/s)"),
        notes: format!(
            "{:.2} × floor; phase {}; identityCount {}; status {status_kib:.1} KiB{failed}",
            elapsed.as_secs_f64() / floor,
            status.phase.map_or("–".into(), |p| format!("{p:?}")),
            status.identity_count.map_or("–".into(), |c| c.to_string()),
        ),
    }
}

/// `r` requests of one built-in identity each, all run until finished.
pub async fn small(
    kube: &kube::Client,
    ns: &str,
    cursor: &mut JournalCursor,
    r: u32,
) -> BenchResult<Row> {
    let objects = (0..r)
        .map(|i| {
            let id = format!("2c9180857a1b4c2d{:016x}", i % BUILTIN_IDENTITIES);
            let spec = json!({
                "tenantRef": {"name": TENANT},
                "action": "ProcessIdentities",
                "identities": {"ids": [id]},
            });
            request(&format!("small-{i:05}"), json!({SMALL_LABEL: "true"}), spec)
        })
        .collect::<BenchResult<Vec<_>>>()?;
    let timeout = Duration::from_secs_f64(120.0 + f64::from(r));
    cursor.skip().await;
    eprintln!("» requests: {r} small ProcessingRequests in {ns}");
    let started = Instant::now();
    let typed: Api<ProcessingRequest> = Api::namespaced(kube.clone(), ns);
    let dynamic = dynamic_api(kube, ns);
    let config = watcher::Config::default().labels(&format!("{SMALL_LABEL}=true"));
    let (_, reached) = tokio::try_join!(
        create_all(&dynamic, objects),
        wait_all(
            typed.clone(),
            config,
            r as usize,
            request_finished,
            timeout,
            "small requests"
        )
    )?;
    let calls = Calls::of(&cursor.advance().await);
    let floor = f64::from(r) / CALLS_PER_SECOND;
    let elapsed = reached.at - started;
    Ok(Row {
        figure: format!("{r} ProcessingRequests of one identity each → finished"),
        result: secs(elapsed),
        calls: calls.summary(),
        reference: format!("floor {floor:.1} s ({r} process calls at 10/s)"),
        notes: format!(
            "{:.2} × floor; {} process calls",
            elapsed.as_secs_f64() / floor,
            calls.processes
        ),
    })
}
