//! End-to-end: creation waves against a real API server and the operator binary. New profiles
//! that are ready together are created through import in ⌈wave/batch⌉ calls after one fresh
//! list; without user context the same wave falls back to one POST per profile; a kill -9 in
//! the middle of a wave leaves exactly one tenant profile per object after a restart.
//!
//! Each test applies its objects while the operator is stopped, then starts it: every object's
//! first reconcile creates (`deletionPolicy: Orphan` needs no finalizer, so there is no
//! finalizer pass first) and they start at once, so they form one wave however fast the API
//! server is. Counts, never timings, are asserted.

pub mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use isc_sim::JournalEntry;
use serde_json::json;
use support::e2e::{Env, SOURCE_EMPLOYEES, tenant_yaml};
use support::{APP_CLIENT_ID, APP_CLIENT_SECRET, USER_CLIENT_ID, USER_CLIENT_SECRET};

const IMPORT: &str = "/v2024/identity-profiles/import";
const PROFILES: &str = "/v2024/identity-profiles";

/// The demo Tenant (resync 600 s, so no resync list falls into the test) creating in batches of
/// `batch`; with `user_context: false` its credential is an API client without user context.
fn tenant(env: &Env, batch: u32, user_context: bool) -> String {
    let yaml = tenant_yaml(&env.sim.base_url(), 600);
    let yaml = if user_context {
        yaml
    } else {
        // The secret first: the client id is a prefix of it.
        yaml.replace(USER_CLIENT_SECRET, APP_CLIENT_SECRET)
            .replace(USER_CLIENT_ID, APP_CLIENT_ID)
    };
    format!("{yaml}  creation:\n    method: Import\n    importBatchSize: {batch}\n")
}

/// `count` IdentityProfiles `wave-<i>` (tenant names `Wave Profile <i>`), `Orphan` (no
/// finalizer).
fn wave(count: usize) -> String {
    (0..count)
        .map(|i| {
            format!(
                "apiVersion: isc.identitynow.dev/v1alpha1\nkind: IdentityProfile\nmetadata:\n  name: wave-{i}\nspec:\n  tenantRef:\n    name: demo\n  name: Wave Profile {i}\n  authoritativeSource:\n    id: {SOURCE_EMPLOYEES}\n"
            )
        })
        .collect::<Vec<_>>()
        .join("---\n")
}

/// Applies the Tenant and a wave of `count` objects while the operator is stopped, then starts
/// it and waits until every object is Ready.
async fn run_wave(env: &mut Env, tenant_yaml: &str, count: usize) {
    env.kill_operator();
    env.apply(tenant_yaml).await;
    env.apply(&wave(count)).await;
    env.start_operator();
    wait_all_ready(env, count).await;
}

async fn wait_all_ready(env: &Env, count: usize) {
    for i in 0..count {
        let stored = env.wait_ready(&format!("wave-{i}")).await;
        let status = stored.status.expect("status");
        assert!(
            status.id.is_some() && status.pending_create.is_none(),
            "wave-{i}: {status:?}"
        );
    }
}

/// Tenant profiles by lowercased name, with how many carry each name.
async fn names_on_tenant(env: &Env) -> BTreeMap<String, usize> {
    let mut names = BTreeMap::new();
    for profile in env.tenant_profiles().await {
        let name = profile["name"].as_str().expect("name").to_lowercase();
        *names.entry(name).or_insert(0) += 1;
    }
    names
}

/// Each of the wave's profiles exists exactly once on the tenant (and nothing else does).
async fn assert_each_once(env: &Env, count: usize) {
    let names = names_on_tenant(env).await;
    assert_eq!(names.len(), count, "{names:?}");
    for i in 0..count {
        let name = format!("wave profile {i}");
        assert_eq!(names.get(&name), Some(&1), "{name}: {names:?}");
    }
}

fn calls_to<'a>(calls: &'a [JournalEntry], method: &str, path: &str) -> Vec<&'a JournalEntry> {
    calls
        .iter()
        .filter(|e| e.method == method && e.path == path)
        .collect()
}

/// Objects sent in import calls that the tenant answered 200, by name.
fn imported_names(calls: &[JournalEntry]) -> Vec<String> {
    calls_to(calls, "POST", IMPORT)
        .into_iter()
        .filter(|e| e.status == 200)
        .flat_map(|e| e.body.as_array().cloned().unwrap_or_default())
        .map(|o| o["object"]["name"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// `METHOD path query -> status`, one per call.
fn summary(calls: &[JournalEntry]) -> Vec<String> {
    calls
        .iter()
        .map(|e| format!("{} {} {:?} -> {}", e.method, e.path, e.query, e.status))
        .collect()
}

/// One wave as the operator logged it.
#[derive(Debug)]
struct Wave {
    members: usize,
    sent: usize,
    import_calls: usize,
    post_calls: usize,
}

/// The waves the running operator logged ("creation wave finished members=.. sent=.. ...").
fn waves_in_log(env: &Env) -> Vec<Wave> {
    let log = env.operator.as_ref().expect("operator runs").log();
    let field = |line: &str, key: &str| -> usize {
        let at = line
            .find(&format!(" {key}="))
            .unwrap_or_else(|| panic!("{key} in {line}"));
        line[at + key.len() + 2..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
            .parse()
            .expect("a count")
    };
    log.lines()
        .filter(|l| l.contains("creation wave finished"))
        .map(|l| Wave {
            members: field(l, "members"),
            sent: field(l, "sent"),
            import_calls: field(l, "import_calls"),
            post_calls: field(l, "post_calls"),
        })
        .collect()
}

/// The journal agrees with the logged waves: each object joined one wave, each wave made one
/// list (plus the shared list's first fill at start), its import calls are ⌈sent/batch⌉, and
/// no object was looked up on its own.
fn assert_waves(calls: &[JournalEntry], waves: &[Wave], count: usize, batch: usize) -> usize {
    assert!(!waves.is_empty(), "no wave logged");
    let members: usize = waves.iter().map(|w| w.members).sum();
    assert_eq!(members, count, "every object joined one wave: {waves:?}");
    let lists: Vec<_> = calls
        .iter()
        .filter(|e| e.method == "GET" && e.path == PROFILES)
        .collect();
    let by_name = lists
        .iter()
        .filter(|e| e.query.contains_key("filters"))
        .count();
    assert_eq!(by_name, 0, "no per-object lookup: {:?}", summary(calls));
    assert_eq!(
        lists.len(),
        waves.len() + 1,
        "one list per wave ({waves:?}) plus the first fill: {:?}",
        summary(calls)
    );
    let imports: usize = waves.iter().map(|w| w.import_calls).sum();
    assert_eq!(calls_to(calls, "POST", IMPORT).len(), imports);
    let posts: usize = waves.iter().map(|w| w.post_calls).sum();
    assert_eq!(calls_to(calls, "POST", PROFILES).len(), posts);
    waves.iter().map(|w| w.sent.div_ceil(batch)).sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wave_is_created_through_import_in_batches_after_one_list() {
    let mut env = Env::new("import-wave").await;
    let yaml = tenant(&env, 25, true);
    run_wave(&mut env, &yaml, 60).await;
    let calls = env.admin.api_calls().await;
    let waves = waves_in_log(&env);
    let batches = assert_waves(&calls, &waves, 60, 25);
    let imports = calls_to(&calls, "POST", IMPORT);
    assert_eq!(
        imports.len(),
        batches,
        "⌈wave/25⌉ import calls per wave: {waves:?}"
    );
    if waves.len() == 1 {
        assert_eq!(imports.len(), 3, "⌈60/25⌉");
    }
    assert!(
        calls_to(&calls, "POST", PROFILES).is_empty(),
        "no POST per profile"
    );
    let mut sent = imported_names(&calls);
    sent.sort();
    let total = sent.len();
    sent.dedup();
    assert_eq!(
        (sent.len(), total),
        (60, 60),
        "every profile sent exactly once"
    );
    assert_each_once(&env, 60).await;
    let created = env.events_for("wave-0").await;
    assert!(
        created
            .iter()
            .any(|e| e.reason.as_deref() == Some("Created")),
        "{created:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_user_context_the_wave_falls_back_to_one_post_per_profile() {
    let mut env = Env::new("import-fallback").await;
    let yaml = tenant(&env, 25, false);
    run_wave(&mut env, &yaml, 30).await;
    let calls = env.admin.api_calls().await;
    assert_waves(&calls, &waves_in_log(&env), 30, 25);
    let imports = calls_to(&calls, "POST", IMPORT);
    assert_eq!(
        imports.len(),
        1,
        "one import, answered 403, then never again"
    );
    assert_eq!(imports[0].status, 403);
    let posts = calls_to(&calls, "POST", PROFILES);
    assert_eq!(posts.len(), 30, "one POST per profile");
    assert!(posts.iter().all(|e| e.status == 201), "{posts:?}");
    assert_each_once(&env, 30).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_during_a_wave_leaves_one_tenant_profile_per_object() {
    let mut env = Env::new("import-kill").await;
    // The first import is applied at once but answered only after 30 s: the operator is
    // killed while it waits, with 20 profiles created and none recorded.
    env.admin
        .add_fault(json!({"method": "POST", "path": IMPORT, "count": 1, "delayAfterMs": 30000}))
        .await;
    let yaml = tenant(&env, 20, true);
    env.kill_operator();
    env.apply(&yaml).await;
    env.apply(&wave(40)).await;
    env.start_operator();
    env.wait_for(
        "the first batch on the tenant",
        Duration::from_secs(60),
        || async { (env.tenant_profiles().await.len() >= 20).then_some(()) },
    )
    .await;
    env.kill_operator();
    assert_eq!(env.tenant_profiles().await.len(), 20, "one batch applied");

    env.start_operator();
    wait_all_ready(&env, 40).await;
    assert_each_once(&env, 40).await;
    let calls = env.admin.api_calls().await;
    let mut sent = imported_names(&calls);
    sent.sort();
    let total = sent.len();
    sent.dedup();
    assert_eq!((sent.len(), total), (40, 40), "no profile was sent twice");
    assert!(calls_to(&calls, "POST", PROFILES).is_empty());
}
