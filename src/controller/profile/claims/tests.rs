//! Unit and property tests of the claim index: it never misses an object of the cache that
//! claims a name or id, whatever the order of watch events, and forgets what is gone.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use serde_json::json;

use super::*;

/// `namespace/name` claiming tenant profile `spec_name`, with `id` recorded when given.
fn object(namespace: &str, name: &str, spec_name: &str, id: Option<&str>) -> IdentityProfile {
    let mut obj: IdentityProfile = serde_json::from_value(json!({
        "apiVersion": "isc.identitynow.dev/v1alpha1",
        "kind": "IdentityProfile",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "tenantRef": {"name": "demo"},
            "name": spec_name,
            "authoritativeSource": {"id": "source-1"},
        },
    }))
    .expect("valid object");
    if let Some(id) = id {
        obj.status = Some(crate::api::IdentityProfileStatus {
            id: Some(id.into()),
            ..Default::default()
        });
    }
    obj
}

fn refs(cache: &ProfileCache, name: &str, id: Option<&str>) -> BTreeSet<String> {
    cache
        .claims
        .candidates(name, id)
        .into_iter()
        .map(|o| {
            let meta = &o.metadata;
            format!(
                "{}/{}",
                meta.namespace.as_deref().unwrap_or_default(),
                meta.name.as_deref().unwrap_or_default()
            )
        })
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn names_are_matched_as_the_tenant_compares_them_and_ids_too() {
    let (cache, mut writer) = profile_cache();
    writer.apply_watcher_event(&watcher::Event::Apply(object(
        "a",
        "x",
        "Staff",
        Some("p-1"),
    )));
    writer.apply_watcher_event(&watcher::Event::Apply(object("b", "y", "STAFF", None)));
    writer.apply_watcher_event(&watcher::Event::Apply(object("a", "z", "Ärzte", None)));
    writer.apply_watcher_event(&watcher::Event::Apply(object(
        "a",
        "w",
        "Other",
        Some("p-9"),
    )));
    assert_eq!(refs(&cache, "staff", None), set(&["a/x", "b/y"]));
    assert_eq!(refs(&cache, "ärzte", None), set(&["a/z"]));
    assert_eq!(refs(&cache, "Renamed", Some("p-9")), set(&["a/w"]));
    assert_eq!(
        refs(&cache, "Staff", Some("p-9")),
        set(&["a/x", "a/w", "b/y"])
    );
    assert!(refs(&cache, "Nobody", Some("p-2")).is_empty());
    // The index holds the cache's own copies, not objects of its own.
    let found = cache.claims.candidates("Other", None);
    let cached = cache.store.get(&ObjectRef::new("w").within("a"));
    assert!(Arc::ptr_eq(&found[0], &cached.expect("cached")));
}

#[test]
fn a_changed_or_deleted_object_is_no_longer_found_under_what_it_claimed() {
    let (cache, mut writer) = profile_cache();
    let first = object("a", "x", "Staff", None);
    writer.apply_watcher_event(&watcher::Event::Apply(first.clone()));
    let renamed = object("a", "x", "Contractors", Some("p-1"));
    writer.apply_watcher_event(&watcher::Event::Apply(renamed.clone()));
    assert!(refs(&cache, "Staff", None).is_empty());
    assert_eq!(refs(&cache, "contractors", None), set(&["a/x"]));
    assert_eq!(refs(&cache, "?", Some("p-1")), set(&["a/x"]));
    writer.apply_watcher_event(&watcher::Event::Delete(renamed));
    assert!(refs(&cache, "contractors", Some("p-1")).is_empty());
    assert_eq!(cache.claims.len(), 0);
}

#[test]
fn a_relist_drops_objects_deleted_while_the_watch_was_down() {
    let (cache, mut writer) = profile_cache();
    writer.apply_watcher_event(&watcher::Event::Apply(object("a", "gone", "Staff", None)));
    writer.apply_watcher_event(&watcher::Event::Apply(object("a", "kept", "Staff", None)));
    writer.apply_watcher_event(&watcher::Event::Init);
    writer.apply_watcher_event(&watcher::Event::InitApply(object(
        "a", "kept", "Staff", None,
    )));
    writer.apply_watcher_event(&watcher::Event::InitApply(object(
        "a", "new", "staff", None,
    )));
    // Until the relist is complete the index shows what the cache shows: the previous objects.
    assert_eq!(refs(&cache, "Staff", None), set(&["a/gone", "a/kept"]));
    writer.apply_watcher_event(&watcher::Event::InitDone);
    assert_eq!(refs(&cache, "Staff", None), set(&["a/kept", "a/new"]));
    assert_eq!(cache.claims.len(), 2);
}

/// One watch event of the generated history.
#[derive(Debug, Clone)]
enum Step {
    /// Object `obj` (of 6) now claims name `name` (of 4, in varying case) and maybe id `id`.
    Apply {
        obj: u8,
        name: u8,
        upper: bool,
        id: Option<u8>,
    },
    Delete {
        obj: u8,
    },
    /// A relist that keeps the objects whose number is in the mask.
    Relist {
        keep: u8,
    },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => (0u8..6, 0u8..4, any::<bool>(), prop::option::of(0u8..3))
            .prop_map(|(obj, name, upper, id)| Step::Apply { obj, name, upper, id }),
        2 => (0u8..6).prop_map(|obj| Step::Delete { obj }),
        1 => any::<u8>().prop_map(|keep| Step::Relist { keep }),
    ]
}

proptest! {
    /// After any history of watch events, the candidates for every name and id are exactly
    /// the cached objects that claim it (the index holds nothing else).
    #[test]
    fn candidates_are_exactly_the_cached_claimants(steps in prop::collection::vec(step(), 1..60)) {
        let (cache, mut writer) = profile_cache();
        // What the cache should hold: object number → (name number, id number).
        let mut truth: BTreeMap<u8, (u8, Option<u8>)> = BTreeMap::new();
        let make = |obj: u8, name: u8, upper: bool, id: Option<u8>| {
            let spec_name = format!("Profile {name}");
            let spec_name = if upper { spec_name.to_uppercase() } else { spec_name };
            let id = id.map(|i| format!("id-{i}"));
            object("ns", &format!("o{obj}"), &spec_name, id.as_deref())
        };
        let mut shown: BTreeMap<u8, IdentityProfile> = BTreeMap::new();
        for step in steps {
            match step {
                Step::Apply { obj, name, upper, id } => {
                    let o = make(obj, name, upper, id);
                    writer.apply_watcher_event(&watcher::Event::Apply(o.clone()));
                    truth.insert(obj, (name, id));
                    shown.insert(obj, o);
                }
                Step::Delete { obj } => {
                    if let Some(o) = shown.remove(&obj) {
                        writer.apply_watcher_event(&watcher::Event::Delete(o));
                        truth.remove(&obj);
                    }
                }
                Step::Relist { keep } => {
                    writer.apply_watcher_event(&watcher::Event::Init);
                    shown.retain(|obj, _| keep & (1 << obj) != 0);
                    truth.retain(|obj, _| keep & (1 << obj) != 0);
                    for o in shown.values() {
                        writer.apply_watcher_event(&watcher::Event::InitApply(o.clone()));
                    }
                    writer.apply_watcher_event(&watcher::Event::InitDone);
                }
            }
            prop_assert_eq!(cache.claims.len(), truth.len());
            prop_assert_eq!(cache.store.state().len(), truth.len());
            for name in 0u8..4 {
                for id in [None, Some(0u8), Some(1), Some(2)] {
                    let expected: BTreeSet<String> = truth
                        .iter()
                        .filter(|(_, (n, i))| *n == name || (id.is_some() && *i == id))
                        .map(|(obj, _)| format!("ns/o{obj}"))
                        .collect();
                    let id_text = id.map(|i| format!("id-{i}"));
                    let asked = format!("profile {name}");
                    prop_assert_eq!(refs(&cache, &asked, id_text.as_deref()), expected);
                }
            }
        }
    }
}
