//! The PostgreSQL backend: the shared queries of `queries/` instantiated for
//! it, one file per concern (`postgres_registry`, `postgres_daemon`,
//! `postgres_redirect`, and `meta` here), over the pool and transactions of
//! `postgres_pool`.

use crate::postgres_pool::PgStore;

crate::queries::meta::meta_store!(PgStore);

/// The console's accounts, sessions and audit log.
mod console {
    use crate::postgres_pool as be;
    use crate::postgres_pool::PgStore;

    crate::queries::console::console_store!(PgStore, sqlx::postgres::PgRow);
}
