//! Hostile tenant answers, end to end: several simulators each answer one way no tenant should
//! (a `Retry-After` or `expires_in` at `u64::MAX`, 429 forever on the token endpoint, a list that
//! ignores `offset`, a profile with nulls where the schema says object, a 10 MB error body, a
//! redirect of the token request to another listener). The operator must stay up, a healthy
//! tenant next to them must keep converging, and the redirect target must receive nothing.
//! Also: two Tenants sharing one client id, and a restart under load, cause no 429.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use isc_sim::RunningSimulator;
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

use crate::support::e2e::*;
use crate::support::{SimAdmin, USER_CLIENT_ID, USER_CLIENT_SECRET, sim_config, start_sim};

const LONG: Duration = Duration::from_secs(90);
/// The tenant's largest page (`limit` 250): that many profiles make a list ask for a second page.
const FULL_PAGE: usize = 250;
/// A fault count no test outlives.
const FOREVER: u32 = u32::MAX;

/// A labelled Secret with the simulator credentials, for Tenants this file declares itself.
fn secret_yaml(name: &str) -> String {
    format!(
        r#"apiVersion: v1
kind: Secret
metadata:
  name: {name}
  labels:
    isc.identitynow.dev/credentials: "true"
type: Opaque
stringData:
  client_id: {USER_CLIENT_ID}
  client_secret: {USER_CLIENT_SECRET}
"#
    )
}

/// A Tenant named `name` for `base_url`, using Secret `secret`, with an optional client-side
/// rate limit (`requests` per 10 s).
fn named_tenant_yaml(name: &str, base_url: &str, secret: &str, requests: Option<u32>) -> String {
    let rate = requests
        .map(|r| format!("  rateLimit:\n    requests: {r}\n    windowSeconds: 10\n"))
        .unwrap_or_default();
    format!(
        r#"apiVersion: isc.identitynow.dev/v1alpha1
kind: Tenant
metadata:
  name: {name}
spec:
  baseUrl: {base_url}
  credentialsSecretRef:
    name: {secret}
  resyncIntervalSeconds: 2
{rate}"#
    )
}

/// An IdentityProfile `name` (tenant name `tenant_name`) of Tenant `tenant`.
fn tenant_profile_yaml(name: &str, tenant: &str, tenant_name: &str) -> String {
    format!(
        r#"apiVersion: isc.identitynow.dev/v1alpha1
kind: IdentityProfile
metadata:
  name: {name}
spec:
  tenantRef:
    name: {tenant}
  name: {tenant_name}
  authoritativeSource:
    id: {SOURCE_EMPLOYEES}
"#
    )
}

/// A TCP listener that only counts: connections accepted and bytes received.
struct Recorder {
    url: String,
    connections: Arc<AtomicUsize>,
    bytes: Arc<AtomicUsize>,
}

impl Recorder {
    async fn start() -> Recorder {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind recorder");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let connections = Arc::new(AtomicUsize::new(0));
        let bytes = Arc::new(AtomicUsize::new(0));
        let (c, b) = (connections.clone(), bytes.clone());
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                c.fetch_add(1, Ordering::SeqCst);
                let b = b.clone();
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    while let Ok(n) = stream.read(&mut buf).await {
                        if n == 0 {
                            break;
                        }
                        b.fetch_add(n, Ordering::SeqCst);
                    }
                });
            }
        });
        Recorder {
            url,
            connections,
            bytes,
        }
    }

    fn received(&self) -> (usize, usize) {
        (
            self.connections.load(Ordering::SeqCst),
            self.bytes.load(Ordering::SeqCst),
        )
    }
}

/// One hostile simulator: its Tenant name, the simulator, and its admin client.
struct Hostile {
    tenant: &'static str,
    sim: RunningSimulator,
    admin: SimAdmin,
}

async fn hostile(tenant: &'static str, faults: &[Value]) -> Hostile {
    let sim = start_sim(sim_config()).await;
    let admin = SimAdmin::new(&sim);
    for fault in faults {
        admin.add_fault(fault.clone()).await;
    }
    Hostile { tenant, sim, admin }
}

/// Fills a simulator with `n` profiles so a list needs more than one full page.
async fn fill_profiles(admin: &SimAdmin, n: usize) {
    for i in 0..n {
        admin
            .put_profile(json!({
                "name": format!("Filler {i:04}"),
                "authoritativeSource": {"type": "SOURCE", "id": SOURCE_CONTRACTORS, "name": "HR Contractors"},
            }))
            .await;
    }
}

/// The operator still answers its health endpoint and its log holds no panic.
async fn assert_operator_up(env: &Env) {
    let op = env.operator.as_ref().expect("the operator runs");
    assert!(
        op.probe("/healthz").await.is_some(),
        "the operator no longer answers /healthz; log:\n{}",
        op.log()
    );
    assert!(
        !op.log().contains("panicked"),
        "the operator panicked:\n{}",
        op.log()
    );
}

#[tokio::test]
async fn operator_survives_hostile_tenants_and_others_keep_converging() {
    let env = Env::new("faults").await;
    let started = std::time::Instant::now();
    let recorder = Recorder::start().await;
    let ten_mb = 10 * 1024 * 1024;
    let hostiles = vec![
        hostile(
            "retry-after",
            &[
                json!({"method": "GET", "path": "/v2024/*", "count": FOREVER, "status": 429, "retryAfter": u64::MAX}),
                json!({"method": "POST", "path": "/v2024/*", "count": FOREVER, "status": 503, "retryAfter": "99999999999999999999999999"}),
            ],
        )
        .await,
        hostile(
            "expires-in",
            &[json!({"path": "/oauth/token", "count": FOREVER, "expiresIn": u64::MAX})],
        )
        .await,
        hostile(
            "token-429",
            &[json!({"path": "/oauth/token", "count": FOREVER, "status": 429, "retryAfter": 1})],
        )
        .await,
        hostile(
            "no-offset",
            &[json!({"method": "GET", "path": "/v2024/identity-profiles", "count": FOREVER, "ignoreOffset": true})],
        )
        .await,
        hostile("nulls", &[]).await,
        hostile(
            "big-body",
            &[json!({"path": "/v2024/*", "count": FOREVER, "status": 500, "bodyBytes": ten_mb})],
        )
        .await,
        hostile(
            "redirect",
            &[json!({"path": "/oauth/token", "count": FOREVER, "status": 307, "location": format!("{}/oauth/token", recorder.url)})],
        )
        .await,
    ];
    // A full first page that the next page repeats, and a profile the schema cannot decode.
    let no_offset = &hostiles[3].admin;
    fill_profiles(no_offset, FULL_PAGE).await;
    let nulls = &hostiles[4].admin;
    let damaged = nulls
        .put_profile(json!({
            "name": "Damaged",
            "authoritativeSource": {"type": "SOURCE", "id": SOURCE_CONTRACTORS, "name": "HR Contractors"},
        }))
        .await;
    let damaged_id = damaged["id"].as_str().unwrap();
    nulls
        .post(
            &format!("/__sim/identity-profiles/{damaged_id}/wire-overrides"),
            json!({"authoritativeSource": null, "identityAttributeConfig": "not an object", "priority": "high"}),
        )
        .await;

    // The healthy tenant first, then every hostile one with one profile each.
    env.apply_tenant(2).await;
    env.apply(&secret_yaml("hostile-credentials")).await;
    for h in &hostiles {
        env.apply(&named_tenant_yaml(
            h.tenant,
            &h.sim.base_url(),
            "hostile-credentials",
            None,
        ))
        .await;
        env.apply(&tenant_profile_yaml(
            &format!("{}-profile", h.tenant),
            h.tenant,
            &format!("Declared {}", h.tenant),
        ))
        .await;
    }
    env.apply(&profile_yaml(
        "healthy-first",
        "Healthy First",
        &format!("  authoritativeSource:\n    id: {SOURCE_EMPLOYEES}\n"),
    ))
    .await;
    env.wait_ready("healthy-first").await;

    // Let the hostile answers work on the operator for a while, then prove it still converges.
    tokio::time::sleep(Duration::from_secs(20)).await;
    assert_operator_up(&env).await;
    env.apply(&profile_yaml(
        "healthy-later",
        "Healthy Later",
        &format!("  authoritativeSource:\n    id: {SOURCE_EMPLOYEES}\n"),
    ))
    .await;
    env.wait_ready("healthy-later").await;
    let names: Vec<String> = env
        .tenant_profiles()
        .await
        .iter()
        .filter_map(|p| p["name"].as_str().map(str::to_string))
        .collect();
    assert!(names.contains(&"Healthy First".to_string()), "{names:?}");
    assert!(names.contains(&"Healthy Later".to_string()), "{names:?}");

    // A huge expires_in is capped, not fatal: that tenant converges too. One damaged tenant
    // profile is isolated: the declared profile next to it converges.
    env.wait_ready("expires-in-profile").await;
    env.wait_ready("nulls-profile").await;

    // The redirect target never heard from the operator, and no status names it.
    assert_eq!(recorder.received(), (0, 0), "the redirect was followed");
    let redirected = env.profiles().get("redirect-profile").await.unwrap();
    let status = serde_json::to_string(&redirected.status).unwrap();
    assert!(
        !status.contains(&recorder.url),
        "the status shows the redirect target: {status}"
    );
    let tenant = env.tenants().get("redirect").await.unwrap();
    let status = serde_json::to_string(&tenant.status).unwrap();
    assert!(!status.contains(&recorder.url), "{status}");
    assert!(
        !hostiles[6].admin.token_calls().await.is_empty(),
        "the operator asked the redirecting tenant for a token"
    );

    // The token endpoint's endless 429 is retried with restraint, not in a tight loop.
    let token_429s = hostiles[2].admin.token_calls().await.len();
    let elapsed = started.elapsed().as_secs() as usize;
    assert!(
        token_429s <= 3 * elapsed,
        "{token_429s} token requests in {elapsed} s against an endless 429"
    );
    // A list that ignores offset is abandoned after a bounded number of pages.
    let pages = hostiles[3]
        .admin
        .api_calls()
        .await
        .iter()
        .filter(|e| e.operation_id.as_deref() == Some("listIdentityProfiles"))
        .count();
    assert!(pages > 0, "the operator never listed the no-offset tenant");
    assert_operator_up(&env).await;
    for h in hostiles {
        h.sim.shutdown().await;
    }
}

/// Zero 429s in a journal: every entry below the simulator's limit.
fn rate_limited(entries: &[isc_sim::JournalEntry]) -> Vec<String> {
    entries
        .iter()
        .filter(|e| e.status == 429 || e.flags.rate_limited)
        .map(|e| format!("{} {} at {}", e.method, e.path, e.time))
        .collect()
}

#[tokio::test]
async fn two_tenants_sharing_a_client_id_and_a_restart_under_load_cause_no_429() {
    // The tenant allows 10 requests per 10 s per client id; each Tenant object declares 8, so
    // only a limiter shared by both stays under the tenant's limit.
    let mut config = sim_config();
    config.rate_limit = Some((10, Duration::from_secs(10)));
    let mut env = Env::with_sim("shared-limit", "127.0.0.1:0", config).await;
    let base = env.sim.base_url();
    env.apply(&secret_yaml("shared-credentials")).await;
    for tenant in ["team-a", "team-b"] {
        env.apply(&named_tenant_yaml(
            tenant,
            &base,
            "shared-credentials",
            Some(8),
        ))
        .await;
        for i in 0..4 {
            env.apply(&tenant_profile_yaml(
                &format!("{tenant}-{i}"),
                tenant,
                &format!("{tenant} profile {i}"),
            ))
            .await;
        }
    }
    // Load: eight profiles, each checked every 2 s, against 8 requests per 10 s.
    tokio::time::sleep(Duration::from_secs(25)).await;
    let before_restart = env.admin.api_calls().await;
    assert!(
        before_restart.len() >= 10,
        "too little load to prove anything: {} calls",
        before_restart.len()
    );
    env.kill_operator();
    env.start_operator();
    tokio::time::sleep(Duration::from_secs(25)).await;
    let calls = env.admin.api_calls().await;
    assert!(
        calls.len() > before_restart.len(),
        "the restarted operator made no call"
    );
    let limited = rate_limited(&calls);
    assert!(limited.is_empty(), "429s in the journal: {limited:?}");
    // The load was real work: every profile eventually exists on the tenant.
    for tenant in ["team-a", "team-b"] {
        for i in 0..4 {
            env.wait_for(&format!("{tenant}-{i} on the tenant"), LONG, || async {
                let wanted = format!("{tenant} profile {i}");
                env.tenant_profiles()
                    .await
                    .iter()
                    .any(|p| p["name"] == wanted.as_str())
                    .then_some(())
            })
            .await;
        }
    }
    let limited = rate_limited(&env.admin.api_calls().await);
    assert!(limited.is_empty(), "429s in the journal: {limited:?}");
}
