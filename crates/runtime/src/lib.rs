//! What every part of touchless runs on: the configuration and its layering,
//! the accept loop with its limits and TLS, background tasks, metrics, the
//! access log, secrets, typed JSON bodies, the data directory, and Hawk
//! (which the redirection service verifies and the daemon signs). No part of
//! touchless is below it but the store and the types.

pub mod accesslog;
pub mod certs;
pub mod config;
pub mod datadir;
pub mod hawk;
pub mod json;
pub mod limits;
pub mod metrics;
pub mod secret;
pub mod serve;
pub mod tasks;

pub use config::Config;

/// `/readyz` on the admin and redirection listeners: their work needs the
/// database, so they are ready when it answers (within 2 s).
pub async fn database_ready(
    store: &dyn touchless_store::Store,
) -> (http::StatusCode, &'static str) {
    match tokio::time::timeout(std::time::Duration::from_secs(2), store.generation()).await {
        Ok(Ok(_)) => (http::StatusCode::OK, "ready\n"),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: the database failed");
            (
                http::StatusCode::SERVICE_UNAVAILABLE,
                "not ready: the database fails\n",
            )
        }
        Err(_) => (
            http::StatusCode::SERVICE_UNAVAILABLE,
            "not ready: the database does not answer within 2 s\n",
        ),
    }
}
