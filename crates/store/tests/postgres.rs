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
