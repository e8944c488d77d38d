//! The HTTP endpoint: `GET /metrics`, `GET /health` (readiness) and `GET /health/live`.

use std::net::SocketAddr;

use super::Metrics;

impl Metrics {
    /// Serves `GET /metrics`, `GET /health` (readiness, also `/health/ready`) and
    /// `GET /health/live` (liveness) on `addr` (port 0: any free port) until
    /// [`MetricsServer::stop`].
    pub async fn serve(&self, addr: SocketAddr) -> std::io::Result<MetricsServer> {
        use axum::http::{header, StatusCode};
        use axum::routing::get;

        let listener = tokio::net::TcpListener::bind(addr).await?;
        let local_addr = listener.local_addr()?;
        let for_metrics = self.clone();
        let readiness = {
            let m = self.clone();
            move || {
                let m = m.clone();
                async move {
                    match m.readiness() {
                        Ok(summary) => (StatusCode::OK, format!("ok: {summary}\n")),
                        Err(why) => (StatusCode::SERVICE_UNAVAILABLE, format!("{why}\n")),
                    }
                }
            }
        };
        let for_liveness = self.clone();
        let app = axum::Router::new()
            .route(
                "/metrics",
                get(move || {
                    let m = for_metrics.clone();
                    async move {
                        (
                            [(
                                header::CONTENT_TYPE,
                                "text/plain; version=0.0.4; charset=utf-8",
                            )],
                            m.render(),
                        )
                    }
                }),
            )
            .route("/health", get(readiness.clone()))
            .route("/health/ready", get(readiness))
            .route(
                "/health/live",
                get(move || {
                    let m = for_liveness.clone();
                    async move {
                        match m.liveness() {
                            Ok(()) => (StatusCode::OK, "ok\n".to_owned()),
                            Err(why) => (StatusCode::SERVICE_UNAVAILABLE, format!("{why}\n")),
                        }
                    }
                }),
            );
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stop_rx.await;
                })
                .await;
            if let Err(e) = served {
                tracing::error!(error = %e, "metrics endpoint failed");
            }
        });
        tracing::info!(%local_addr, "metrics endpoint listening (/metrics, /health, /health/live)");
        Ok(MetricsServer {
            local_addr,
            stop: stop_tx,
            task,
        })
    }
}

/// A running metrics endpoint.
#[derive(Debug)]
pub struct MetricsServer {
    local_addr: SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl MetricsServer {
    /// Where it listens.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops listening (requests being answered finish).
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}
