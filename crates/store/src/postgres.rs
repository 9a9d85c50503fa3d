//! The PostgreSQL backend: the shared queries of `queries/` instantiated for
//! it, one file per concern (`postgres_registry`, `postgres_daemon`,
//! `postgres_redirect`, and `meta` here), over the pool and transactions of
//! `postgres_pool`.

use crate::postgres_pool::PgStore;

crate::queries::meta::meta_store!(PgStore);
