//! The SQLite backend: the shared queries of `queries/` instantiated for it,
//! one file per concern (`sqlite_registry`, `sqlite_daemon`,
//! `sqlite_redirect`, and `meta` here), over the pool and transactions of
//! `sqlite_pool`.

use crate::sqlite_pool::SqliteStore;

crate::queries::meta::meta_store!(SqliteStore);

/// The console's accounts, sessions and audit log.
mod console {
    use crate::sqlite_pool as be;
    use crate::sqlite_pool::SqliteStore;

    crate::queries::console::console_store!(SqliteStore, sqlx::sqlite::SqliteRow);
}
