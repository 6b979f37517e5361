//! End to end on a real kube-apiserver: the pause switches. `kubectl annotate` of
//! `isc.identitynow.dev/paused` and a Tenant's `spec.suspend` hold every tenant write (checked
//! on the simulator's journal) while the objects show `Suspended`; lifting them lets the held
//! writes go without any other change.

pub mod support;

use std::time::Duration;

use isc_operator::api::IdentityProfile;
use isc_sim::JournalEntry;
use support::e2e::*;

fn spec(description: &str, extra: &str) -> String {
    format!(
        "  description: {description}\n  authoritativeSource:\n    id: {SOURCE_EMPLOYEES}\n{extra}"
    )
}

/// `(status, reason)` of condition `type_`, if shown.
fn shown(p: &IdentityProfile, type_: &str) -> Option<(String, String)> {
    let conditions = &p.status.as_ref()?.conditions;
    let c = conditions.iter().find(|c| c.type_ == type_)?;
    Some((c.status.clone(), c.reason.clone()))
}

/// Waits until `name` shows a held write for its current generation: `Suspended=True` and
/// `Ready=False` with `reason`, neither `Reconciling` nor `Stalled`.
async fn wait_held(env: &Env, name: &str, reason: &str) -> IdentityProfile {
    let api = env.profiles();
    env.wait_for(
        &format!("{name} held ({reason})"),
        Duration::from_secs(60),
        || {
            let api = api.clone();
            async move {
                let p = api.get_opt(name).await.ok()??;
                let current = p.status.as_ref()?.observed_generation == p.metadata.generation;
                let held = shown(&p, "Suspended") == Some(("True".into(), reason.into()))
                    && shown(&p, "Ready") == Some(("False".into(), reason.into()));
                (current && held).then_some(p)
            }
        },
    )
    .await
}

/// Waits until `name` shows `Suspended` with `reason` (`None`: not shown).
async fn wait_suspended(env: &Env, name: &str, reason: Option<&str>) -> IdentityProfile {
    let want = reason.map(|r| ("True".to_string(), r.to_string()));
    env.wait_for(
        &format!("{name} Suspended = {reason:?}"),
        Duration::from_secs(60),
        || async {
            let p = env.profiles().get_opt(name).await.ok()??;
            (shown(&p, "Suspended") == want).then_some(p)
        },
    )
    .await
}

fn count(writes: &[JournalEntry], method: &str) -> usize {
    writes.iter().filter(|e| e.method == method).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_profile_sends_no_patch_until_the_annotation_is_removed() {
    let env = Env::new("pause").await;
    env.apply_tenant(2).await;
    env.apply(&profile_yaml("staff", "Staff", &spec("first", "")))
        .await;
    env.wait_ready("staff").await;

    let out = env
        .kubectl(&[
            "annotate",
            "identityprofile",
            "staff",
            "isc.identitynow.dev/paused=true",
        ])
        .await;
    assert_success(&out, "kubectl annotate paused");
    wait_suspended(&env, "staff", Some("Paused")).await;
    env.admin.clear_journal().await;
    env.apply(&profile_yaml("staff", "Staff", &spec("second", "")))
        .await;
    let p = wait_held(&env, "staff", "Paused").await;
    assert_eq!(shown(&p, "Reconciling"), None);
    assert_eq!(shown(&p, "Stalled"), None);
    let plan = p
        .status
        .unwrap()
        .planned_change
        .expect("the held plan is shown");
    assert_eq!(plan.action, "Patch");
    // Several resync intervals (2 s) pass: nothing is sent.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let writes = env.tenant_writes().await;
    assert!(
        writes.is_empty(),
        "no tenant write while paused: {writes:?}"
    );
    let held_events = env
        .events_for("staff")
        .await
        .into_iter()
        .filter(|e| e.reason.as_deref() == Some("Paused"))
        .count();
    assert_eq!(held_events, 1, "one Event for the held write");

    let out = env
        .kubectl(&[
            "annotate",
            "identityprofile",
            "staff",
            "isc.identitynow.dev/paused-",
        ])
        .await;
    assert_success(&out, "kubectl annotate paused-");
    let p = env.wait_ready("staff").await;
    assert_eq!(shown(&p, "Suspended"), None);
    let writes = env.tenant_writes().await;
    assert_eq!(
        (writes.len(), count(&writes, "PATCH")),
        (1, 1),
        "the held PATCH, once: {writes:?}"
    );
    let profiles = env.tenant_profiles().await;
    let staff = profiles.iter().find(|p| p["name"] == "Staff").unwrap();
    assert_eq!(staff["description"], "second");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suspended_tenant_holds_every_write_of_its_profiles_deletes_included() {
    let env = Env::new("suspend").await;
    env.apply_tenant(2).await;
    let delete_policy = "  deletionPolicy: Delete\n";
    env.apply(&profile_yaml("a", "A", &spec("one", ""))).await;
    env.apply(&profile_yaml("b", "B", &spec("one", delete_policy)))
        .await;
    env.wait_ready("a").await;
    env.wait_ready("b").await;

    let out = env
        .kubectl(&[
            "patch",
            "tenant",
            "demo",
            "--type=merge",
            "-p",
            r#"{"spec":{"suspend":true}}"#,
        ])
        .await;
    assert_success(&out, "kubectl patch tenant suspend");
    // Every profile shows it, the converged ones too (they stay Ready).
    let a = wait_suspended(&env, "a", Some("TenantSuspended")).await;
    assert_eq!(shown(&a, "Ready"), Some(("True".into(), "Synced".into())));
    wait_suspended(&env, "b", Some("TenantSuspended")).await;
    env.wait_for("Tenant Suspended", Duration::from_secs(30), || async {
        let tenant = env.tenants().get("demo").await.ok()?;
        let conditions = tenant.status?.conditions;
        let suspended = conditions
            .iter()
            .any(|c| c.type_ == "Suspended" && c.status == "True");
        let ready = conditions
            .iter()
            .any(|c| c.type_ == "Ready" && c.status == "True");
        (suspended && ready).then_some(())
    })
    .await;

    env.admin.clear_journal().await;
    env.apply(&profile_yaml("a", "A", &spec("two", ""))).await;
    wait_held(&env, "a", "TenantSuspended").await;
    let out = env
        .kubectl(&["delete", "identityprofile", "b", "--wait=false"])
        .await;
    assert_success(&out, "kubectl delete b");
    wait_held(&env, "b", "TenantSuspended").await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    let writes = env.tenant_writes().await;
    assert!(
        writes.is_empty(),
        "no tenant write while suspended: {writes:?}"
    );
    let b = env
        .profiles()
        .get("b")
        .await
        .expect("b waits with its finalizer");
    assert!(b.metadata.deletion_timestamp.is_some());

    let out = env
        .kubectl(&[
            "patch",
            "tenant",
            "demo",
            "--type=merge",
            "-p",
            r#"{"spec":{"suspend":false}}"#,
        ])
        .await;
    assert_success(&out, "kubectl patch tenant resume");
    let a = env.wait_ready("a").await;
    assert_eq!(shown(&a, "Suspended"), None);
    env.wait_for("b deleted", Duration::from_secs(60), || async {
        let gone = env.profiles().get_opt("b").await.ok()?.is_none();
        gone.then_some(())
    })
    .await;
    let writes = env.tenant_writes().await;
    assert_eq!(
        (
            count(&writes, "PATCH"),
            count(&writes, "DELETE"),
            writes.len()
        ),
        (1, 1, 2),
        "the held PATCH and DELETE, once each: {writes:?}"
    );
    let names: Vec<_> = env
        .tenant_profiles()
        .await
        .into_iter()
        .filter_map(|p| p["name"].as_str().map(str::to_string))
        .collect();
    assert!(names.contains(&"A".to_string()) && !names.contains(&"B".to_string()));
}
