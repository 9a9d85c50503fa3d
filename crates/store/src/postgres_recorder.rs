//! The queue recorder's own PostgreSQL connection, on a thread of its own.
//!
//! The recorder writes every event outcome of a node, one transaction at a
//! time, and each transaction is six round trips or more (the pool's ping,
//! BEGIN, its statements, COMMIT). On the shared runtime each of them waited
//! behind the tasks of hundreds of queue workers before the recorder was
//! polled again: at 256 queues a write of about 250 outcomes took 29–32 ms,
//! the pool's ping alone 2 ms. On a current-thread runtime that runs nothing
//! else it took 15–24 ms, and the queue ran 5–15% faster (`queue_latency`,
//! `DB=postgres CONCURRENCY=256`, alternated in one call). The connection is
//! made on that runtime, because a socket belongs to the runtime that opened
//! it; the pool's ping stays (a connection broken while idle is replaced).

use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;
use tokio::runtime::Handle;

/// Started at the first write, stopped when dropped (the thread's runtime
/// ends and with it the connection).
pub(crate) struct Recorder {
    url: String,
    started: std::sync::OnceLock<Option<Running>>,
}

struct Running {
    rt: Handle,
    pool: PgPool,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Recorder {
    pub(crate) fn new(url: &str) -> Self {
        Recorder {
            url: url.to_owned(),
            started: std::sync::OnceLock::new(),
        }
    }

    /// The recorder's runtime and pool, started at the first call; `None`
    /// if its thread could not be started (the caller uses the shared pool).
    pub(crate) fn get(&self) -> Option<(Handle, PgPool)> {
        let r = self.started.get_or_init(|| self.start()).as_ref()?;
        Some((r.rt.clone(), r.pool.clone()))
    }

    /// Closes the recorder's connection, if it was started; a later write
    /// fails as one on a closed pool does.
    pub(crate) async fn close(&self) {
        if let Some(Some(r)) = self.started.get() {
            let pool = r.pool.clone();
            // On its own runtime, which drives its socket.
            let _ = r.rt.spawn(async move { pool.close().await }).await;
        }
    }

    fn start(&self) -> Option<Running> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .inspect_err(|e| tracing::warn!(error = %e, "no runtime for the queue recorder"))
            .ok()?;
        let pool = {
            let _on = rt.enter();
            PgPoolOptions::new()
                .max_connections(1)
                .acquire_timeout(std::time::Duration::from_secs(10))
                .connect_lazy(&self.url)
                .ok()?
        };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let handle = rt.handle().clone();
        let closing = pool.clone();
        std::thread::Builder::new()
            .name("queue-recorder".into())
            .spawn(move || {
                rt.block_on(async move {
                    // Err: the store is gone.
                    let _ = stopped.await;
                    closing.close().await;
                });
            })
            .inspect_err(|e| tracing::warn!(error = %e, "no thread for the queue recorder"))
            .ok()?;
        Some(Running {
            rt: handle,
            pool,
            _stop: stop,
        })
    }
}
