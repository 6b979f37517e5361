//! What the benchmark puts on the tenant and in the cluster: simulator seeds (built in
//! memory, so 10 000 profiles or 50 000 identities cost nothing to load) and object manifests.

use std::time::Duration;

use futures::{StreamExt, TryStreamExt, stream};
use isc_operator::api::IdentityProfile;
use isc_sim::{Seed, SeedIdentity};
use kube::Resource;
use kube::api::{Api, PostParams};
use serde_json::{Value, json};

use crate::report::{BenchError, BenchResult};
use crate::world::{TENANT, from_json};

/// The source every benchmark profile is built from ("HR Employees" of the built-in seed).
const PROFILE_SOURCE: (&str, &str) = ("2c9180835d2e5168015d32f890ca1581", "HR Employees");
/// The source the benchmark's identities come from ("Active Directory", no built-in ones).
const IDENTITY_SOURCE: &str = "2c9180835d2e5168015d32f890ca1583";
/// Display-name prefix of the benchmark's identities (what the large request selects).
pub const IDENTITY_PREFIX: &str = "Bench Identity";
/// How many concurrent creates the API server gets.
const CREATE_CONCURRENCY: usize = 32;

/// The built-in tenant plus `identities` benchmark identities.
pub fn seed_with_identities(identities: u32) -> Seed {
    let mut seed = Seed::builtin();
    seed.identities
        .extend((0..identities).map(|i| SeedIdentity {
            id: Some(format!("be0c{i:028x}")),
            name: format!("{IDENTITY_PREFIX} {i:06}"),
            alias: Some(format!("bench.{i:06}")),
            email: Some(format!("bench.{i:06}@example.com")),
            source_id: IDENTITY_SOURCE.to_string(),
            correlated: true,
            identity_status: None,
            lifecycle_state: None,
            attributes: serde_json::Map::new(),
        }));
    seed
}

/// The built-in tenant plus `adopted` profiles that [`profile`] objects with `prefix` match
/// exactly, and `others` profiles no object names.
pub fn seed_with_profiles(prefix: &str, adopted: u32, others: u32) -> BenchResult<Seed> {
    let mut seed = Seed::builtin();
    let tenant_profile = |name: String| {
        json!({
            "name": name,
            "description": description(&name),
            "authoritativeSource": {"type": "SOURCE", "id": PROFILE_SOURCE.0, "name": PROFILE_SOURCE.1},
        })
    };
    let mut profiles: Vec<Value> = (1..=adopted)
        .map(|i| tenant_profile(tenant_name(prefix, i)))
        .collect();
    profiles.extend((1..=others).map(|i| tenant_profile(tenant_name("Other Profile", i))));
    seed.identity_profiles = from_json(Value::Array(profiles))?;
    Ok(seed)
}

fn tenant_name(prefix: &str, i: u32) -> String {
    format!("{prefix} {i:05}")
}

fn description(tenant_name: &str) -> String {
    format!("{tenant_name}, managed by the benchmark")
}

/// IdentityProfile object `p-NNNNN` for tenant profile `<prefix> NNNNN`.
pub fn profile(prefix: &str, i: u32) -> BenchResult<IdentityProfile> {
    let name = tenant_name(prefix, i);
    from_json(json!({
        "apiVersion": "isc.identitynow.dev/v1alpha1",
        "kind": "IdentityProfile",
        "metadata": {"name": format!("p-{i:05}")},
        "spec": {
            "tenantRef": {"name": TENANT},
            "name": name,
            "description": description(&name),
            "authoritativeSource": {"id": PROFILE_SOURCE.0},
        },
    }))
}

/// The profiles `p-00001..=p-<n>`.
pub fn profiles(prefix: &str, n: u32) -> BenchResult<Vec<IdentityProfile>> {
    (1..=n).map(|i| profile(prefix, i)).collect()
}

/// Creates every object, 32 at a time (what a bulk `kubectl apply` amounts to, faster);
/// returns how long it took.
pub async fn create_all<K>(api: &Api<K>, objects: Vec<K>) -> BenchResult<Duration>
where
    K: Resource + Clone + serde::Serialize + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let started = std::time::Instant::now();
    stream::iter(objects)
        .map(|object| async move {
            let name = object.meta().name.clone().unwrap_or_default();
            api.create(&PostParams::default(), &object)
                .await
                .map_err(BenchError::kube(format!("create {name}")))
        })
        .buffer_unordered(CREATE_CONCURRENCY)
        .try_for_each(|_| async { Ok(()) })
        .await?;
    Ok(started.elapsed())
}
