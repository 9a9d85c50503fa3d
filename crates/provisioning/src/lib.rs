//! The provisioning server: the phone-facing handler (`handler.rs`:
//! `/ztprov/…`, `/prov/…`, health and readiness), authentication (Digest and
//! Basic against precomputed HA1 values), and the in-memory view of the
//! registry it serves from (`directory`, kept current by `reloader`), with its
//! render cache (`bodies`) and the batched device contact log (`contacts`);
//! what phones upload (`upload`, Poly's logs: the one request that writes,
//! off the hot path). The request path of a fetch never touches the database.

pub mod auth;
pub mod bodies;
pub mod body;
pub mod contacts;
pub mod directory;
pub mod facts;
pub mod firmware;
pub mod handler;
mod images;
mod logged;
pub mod reloader;
mod route;
pub use route::{handler, Reply};
pub mod render;
mod sharded;
mod state;
mod upload;
