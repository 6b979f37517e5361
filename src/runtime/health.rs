//! The HTTP endpoints a kubelet and a Prometheus scrape need: `/healthz`, `/readyz` and
//! `/metrics`. The counters live in [`crate::controller::metrics`]; this module only serves them.

use std::sync::Arc;

use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use tokio::net::TcpListener;

use crate::controller::metrics::Metrics;

/// Content type of the OpenMetrics text exposition.
const OPENMETRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The routes: liveness and readiness always answer `ok` (the process serving them is the
/// check); `/metrics` encodes `metrics` on every scrape.
pub fn router(metrics: Arc<Metrics>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(|| async { "ok" }))
        .route(
            "/metrics",
            get(move || {
                let metrics = Arc::clone(&metrics);
                async move { ([(CONTENT_TYPE, OPENMETRICS_CONTENT_TYPE)], metrics.encode()) }
            }),
        )
}

/// Serves [`router`] on `listener` in a background task for the rest of the process; a serving
/// failure is logged, never fatal (reconciling matters more than being scraped).
pub fn spawn(listener: TcpListener, metrics: Arc<Metrics>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router(metrics)).await {
            tracing::error!(error = %e, "health endpoint stopped");
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn serve_on_loopback() -> (String, tokio::task::JoinHandle<()>) {
        isc_client::client::install_crypto_provider();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let metrics = Arc::new(Metrics::default());
        metrics.reconcile_error("IdentityProfile", "TenantUnavailable");
        (base, spawn(listener, metrics))
    }

    #[tokio::test]
    async fn health_and_readiness_answer_ok() {
        let (base, server) = serve_on_loopback().await;
        for path in ["/healthz", "/readyz"] {
            let resp = reqwest::get(format!("{base}{path}")).await.expect(path);
            assert_eq!(resp.status(), 200, "{path}");
            assert_eq!(resp.text().await.expect("body"), "ok", "{path}");
        }
        server.abort();
    }

    #[tokio::test]
    async fn metrics_are_served_as_openmetrics() {
        let (base, server) = serve_on_loopback().await;
        let resp = reqwest::get(format!("{base}/metrics"))
            .await
            .expect("scrape");
        assert_eq!(resp.status(), 200);
        assert_eq!(
            resp.headers()[CONTENT_TYPE.as_str()],
            OPENMETRICS_CONTENT_TYPE
        );
        let body = resp.text().await.expect("body");
        assert!(
            body.contains(
                "isc_operator_reconcile_errors_total{kind=\"IdentityProfile\",reason=\"TenantUnavailable\"} 1"
            ),
            "{body}"
        );
        assert!(body.ends_with("# EOF\n"), "{body}");
        server.abort();
    }

    #[tokio::test]
    async fn unknown_paths_are_not_found() {
        let (base, server) = serve_on_loopback().await;
        let resp = reqwest::get(format!("{base}/nope")).await.expect("get");
        assert_eq!(resp.status(), 404);
        server.abort();
    }
}
