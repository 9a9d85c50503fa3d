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

/// Turns transparent huge pages off for this process, before it allocates
/// much (the binary's and the queue bench's first step). Under mimalloc,
/// which asked the kernel for them for its arenas, each first touch of one
/// zeroed 2 MiB and kept all of it resident: the RSS of a node grew in 2 MiB
/// steps (7 MB more after a start with 100,000 devices, 9 MB more after every
/// phone fetched once, `bench/memory.sh`). jemalloc does not ask, but a
/// system whose THP mode is `always` would hand them out all the same, and a
/// server of many small allocations gains nothing from them.
pub fn without_huge_pages() {
    // SAFETY: integer arguments only; it changes a flag of this process.
    unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
}

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
