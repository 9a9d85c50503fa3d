//! Runs the store conformance suite against PostgreSQL: a throwaway database per
//! test, created from `TOUCHLESS_TEST_DATABASE_URL` (default: the local server
//! on 127.0.0.1:5432 as `root`) and dropped afterwards.

use std::sync::Arc;

use touchless_store::testing::{temp_database, TempDb};
use touchless_store::{conformance_tests, PgStore, Store};

async fn fresh() -> (Arc<dyn Store>, TempDb) {
    let (url, guard) = temp_database().await;
    let store = PgStore::open(&url).await.unwrap();
    (Arc::new(store), guard)
}

conformance_tests!(fresh);

#[tokio::test]
async fn open_selects_postgres_by_url() {
    let (url, _guard) = temp_database().await;
    let s = touchless_store::open(&url).await.unwrap();
    s.create_tenant(&touchless_store::conformance::new_tenant("acme"))
        .await
        .unwrap();
    s.close().await;
    // migrating again is a no-op
    let s = touchless_store::open(&url).await.unwrap();
    assert_eq!(s.list_tenants().await.unwrap().len(), 1);
    s.close().await;
}

/// A bulk load leaves the devices analyzed: a plan cached while the table
/// was empty would otherwise scan every device on each view reload until
/// autovacuum came by (see `PgStore::after_create_devices`).
#[tokio::test]
async fn a_bulk_load_leaves_statistics_behind() {
    use touchless_store::conformance::{new_device, new_tenant};
    use touchless_store::{MetaStore as _, RegistryStore as _};
    let (url, _guard) = temp_database().await;
    let s = PgStore::open(&url).await.unwrap();
    s.create_tenant(&new_tenant("acme")).await.unwrap();
    // Counts ANALYZE commands only: autovacuum's own runs are counted apart
    // (`autoanalyze_count`), so it cannot make this pass or fail.
    let analyzed = || async {
        let mut c = <sqlx::PgConnection as sqlx::Connection>::connect(&url)
            .await
            .unwrap();
        let n: i64 = sqlx::query_scalar(
            "SELECT analyze_count FROM pg_stat_user_tables WHERE relname = 'devices'",
        )
        .fetch_one(&mut c)
        .await
        .unwrap();
        n
    };
    let batch = |from: u32| {
        (from..from + 500)
            .map(|i| new_device(&format!("000413{i:06X}"), "acme"))
            .collect::<Vec<_>>()
    };
    s.create_devices(&batch(0)).await.unwrap();
    assert_eq!(analyzed().await, 0, "not analyzed after 500 devices");
    s.create_devices(&batch(500)).await.unwrap();
    assert_eq!(analyzed().await, 1, "analyzed once 1,000 are in");
    s.create_devices(&batch(1000)).await.unwrap();
    assert_eq!(analyzed().await, 1, "not again until they double");
    s.create_devices(&batch(1500)).await.unwrap();
    assert_eq!(analyzed().await, 2, "again at 2,000");
    s.close().await;
}
