//! Test support: a throwaway PostgreSQL database per test.
//!
//! Used by this crate's and the server's tests; it is in the library (not a
//! test module) so both can share it, behind the `testing` feature that only
//! tests enable.

/// Drops the database when dropped.
pub struct TempDb {
    admin_url: String,
    name: String,
}

impl Drop for TempDb {
    fn drop(&mut self) {
        let (url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop runs outside any runtime we may use; give the cleanup its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                use sqlx::Connection as _;
                if let Ok(mut c) = sqlx::PgConnection::connect(&url).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut c)
                        .await;
                }
            });
        })
        .join();
    }
}

/// Creates an empty database on the server named by `TOUCHLESS_TEST_DATABASE_URL`
/// (default: the local server on 127.0.0.1:5432 as `root`) and returns its URL.
pub async fn temp_database() -> (String, TempDb) {
    use sqlx::Connection as _;
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let admin_url = std::env::var("TOUCHLESS_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://root@127.0.0.1:5432/postgres".into());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let name = format!(
        "touchless_test_{}_{}_{nanos}",
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    );
    let mut c = sqlx::PgConnection::connect(&admin_url)
        .await
        .unwrap_or_else(|e| {
            panic!("PostgreSQL at {admin_url} is needed for these tests (.ci/run starts it): {e}")
        });
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut c)
        .await
        .unwrap();
    let (base, _) = admin_url.rsplit_once('/').unwrap();
    (format!("{base}/{name}"), TempDb { admin_url, name })
}
