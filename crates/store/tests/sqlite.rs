//! Runs the store conformance suite against the SQLite backend, on a real file.

use std::sync::Arc;

use touchless_store::{conformance_tests, MetaStore, RegistryStore, SqliteStore, Store};

async fn fresh() -> (Arc<dyn Store>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("touchless.db"))
        .await
        .unwrap();
    (Arc::new(store), dir)
}

conformance_tests!(fresh);

#[tokio::test]
async fn reopening_keeps_data_and_migrations_are_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/dir/touchless.db");
    let s = SqliteStore::open(&path).await.unwrap();
    s.create_tenant(&touchless_store::conformance::new_tenant("acme"))
        .await
        .unwrap();
    s.close().await;
    let s = touchless_store::open(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    assert_eq!(s.list_tenants().await.unwrap().len(), 1);
}

#[tokio::test]
async fn unknown_url_schemes_are_refused() {
    let e = touchless_store::open("mysql://x").await.err().unwrap();
    assert!(e.to_string().contains("unknown database URL scheme"), "{e}");
}
