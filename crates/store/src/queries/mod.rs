//! Every query both backends run, written once. Each file holds a macro that
//! a backend's module instantiates with its connection and row types (the
//! way `rows.rs` maps rows): sqlx's generic executor bounds would say the
//! same at far greater length. What really differs between the backends
//! stays in their `*_pool.rs`: connecting, transactions (`BEGIN IMMEDIATE`
//! on SQLite's single writer), `LISTEN`/`NOTIFY`, claiming with
//! `SKIP LOCKED`, list parameters, and the mapping of error codes.

pub(crate) mod console;
pub(crate) mod firmware;
pub(crate) mod meta;
pub(crate) mod queue;
pub(crate) mod redirect;
pub(crate) mod registry;
pub(crate) mod registry_bulk;
pub(crate) mod rows_of;
