//! The registry on SQLite: the shared queries of `queries/registry.rs`,
//! instantiated for this backend's connection and row types.

use crate::rows::sqlite::*;
use crate::sqlite_pool::{self as be, SqliteStore};

type Conn = sqlx::SqliteConnection;
type Query<'q> = sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>;

crate::queries::registry::registry_store!(SqliteStore);
crate::queries::firmware::firmware_store!(SqliteStore);
