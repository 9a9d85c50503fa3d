//! The registry on PostgreSQL: the shared queries of `queries/registry.rs`,
//! instantiated for this backend's connection and row types.

use crate::postgres_pool::{self as be, PgStore};
use crate::rows::postgres::*;

type Conn = sqlx::PgConnection;
type Query<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

crate::queries::registry::registry_store!(PgStore);
crate::queries::firmware::firmware_store!(PgStore);
