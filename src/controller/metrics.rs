//! Prometheus metrics: every tenant call (by tenant, method, route and status), every failed
//! reconcile (by kind and reason) and every resync sweep (by tenant), served on `/metrics`.

use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use isc_client::client::{CallObserver, CallRecord};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TenantCallLabels {
    tenant: String,
    method: String,
    route: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReconcileErrorLabels {
    kind: String,
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TenantLabels {
    tenant: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SweepLabels {
    tenant: String,
    result: String,
}

/// What the resync sweeps report, by tenant.
#[derive(Default)]
struct SweepMetrics {
    sweeps: Family<SweepLabels, Counter>,
    enqueued: Family<TenantLabels, Counter>,
    listed: Family<TenantLabels, Gauge>,
    last_success: Family<TenantLabels, Gauge>,
}

/// The operator's metrics registry.
pub struct Metrics {
    registry: Registry,
    tenant_calls: Family<TenantCallLabels, Counter>,
    reconcile_errors: Family<ReconcileErrorLabels, Counter>,
    sweeps: SweepMetrics,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("isc_operator");
        let tenant_calls = Family::<TenantCallLabels, Counter>::default();
        registry.register(
            "tenant_requests",
            "HTTP attempts to ISC tenants, retries and token requests included (status 0: no response)",
            tenant_calls.clone(),
        );
        let reconcile_errors = Family::<ReconcileErrorLabels, Counter>::default();
        registry.register(
            "reconcile_errors",
            "Reconciles that ended in an error, by kind and reason",
            reconcile_errors.clone(),
        );
        let sweeps = SweepMetrics::default();
        registry.register(
            "resync_sweeps",
            "Resync sweeps of a tenant's profiles, by result (ok: listed and compared)",
            sweeps.sweeps.clone(),
        );
        registry.register(
            "resync_enqueued",
            "IdentityProfiles a resync sweep sent to their reconciler (drifted, missing, not ready)",
            sweeps.enqueued.clone(),
        );
        registry.register(
            "resync_listed_profiles",
            "Profiles in the tenant's list at its last successful sweep",
            sweeps.listed.clone(),
        );
        registry.register(
            "resync_last_success_timestamp_seconds",
            "Unix time of the tenant's last successful sweep",
            sweeps.last_success.clone(),
        );
        Metrics {
            registry,
            tenant_calls,
            reconcile_errors,
            sweeps,
        }
    }
}

impl Metrics {
    /// The OpenMetrics text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }

    /// Counts a failed reconcile.
    pub fn reconcile_error(&self, kind: &str, reason: &str) {
        self.reconcile_errors
            .get_or_create(&ReconcileErrorLabels {
                kind: kind.to_string(),
                reason: reason.to_string(),
            })
            .inc();
    }

    /// Records a successful sweep of `tenant` (`namespace/name`): `listed` profiles in its
    /// list, `enqueued` objects sent to their reconciler.
    pub fn resync_swept(&self, tenant: &str, listed: usize, enqueued: usize) {
        let labels = TenantLabels {
            tenant: tenant.to_string(),
        };
        self.sweep_result(tenant, "ok");
        self.sweeps
            .enqueued
            .get_or_create(&labels)
            .inc_by(enqueued as u64);
        self.sweeps
            .listed
            .get_or_create(&labels)
            .set(i64::try_from(listed).unwrap_or(i64::MAX));
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        self.sweeps
            .last_success
            .get_or_create(&labels)
            .set(i64::try_from(now).unwrap_or(i64::MAX));
    }

    /// Records a sweep of `tenant` that could not list the tenant's profiles.
    pub fn resync_failed(&self, tenant: &str) {
        self.sweep_result(tenant, "error");
    }

    fn sweep_result(&self, tenant: &str, result: &str) {
        self.sweeps
            .sweeps
            .get_or_create(&SweepLabels {
                tenant: tenant.to_string(),
                result: result.to_string(),
            })
            .inc();
    }

    /// An observer that counts the calls of one tenant (`namespace/name`).
    pub fn tenant_observer(self: &Arc<Self>, tenant: String) -> Arc<dyn CallObserver> {
        Arc::new(TenantCallCounter {
            tenant,
            calls: self.tenant_calls.clone(),
        })
    }
}

struct TenantCallCounter {
    tenant: String,
    calls: Family<TenantCallLabels, Counter>,
}

impl CallObserver for TenantCallCounter {
    fn observe(&self, call: &CallRecord<'_>) {
        self.calls
            .get_or_create(&TenantCallLabels {
                tenant: self.tenant.clone(),
                method: call.method.to_string(),
                route: call.route.to_string(),
                status: call.status.unwrap_or(0).to_string(),
            })
            .inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_calls_are_counted_by_route_and_status() {
        let metrics = Arc::new(Metrics::default());
        let observer = metrics.tenant_observer("ns/demo".into());
        for status in [Some(200), Some(200), None] {
            observer.observe(&CallRecord {
                method: "GET",
                route: "/v2024/identity-profiles",
                status,
            });
        }
        metrics.reconcile_error(
            "IdentityProfile",
            crate::controller::status::reason::CONFLICT,
        );
        let text = metrics.encode();
        assert!(
            text.contains(r#"isc_operator_tenant_requests_total{tenant="ns/demo",method="GET",route="/v2024/identity-profiles",status="200"} 2"#),
            "{text}"
        );
        assert!(text.contains(r#"status="0"} 1"#), "{text}");
        assert!(
            text.contains(
                r#"isc_operator_reconcile_errors_total{kind="IdentityProfile",reason="Conflict"} 1"#
            ),
            "{text}"
        );
    }
}
