//! The HTTP surfaces of touchless (provisioning server, admin API), their
//! configuration, and [`app::start`], which wires them to a store.

pub mod accesslog;
pub mod admin;
pub mod app;
pub mod auth;
pub mod bodies;
pub mod certs;
pub mod config;
pub mod console;
pub mod contacts;
pub mod daemon;
pub mod datadir;
pub mod directory;
pub mod facts;
mod json;
pub mod limits;
pub mod metrics;
pub mod provisioning;
pub mod redirect;
pub mod reloader;
pub mod render;
pub mod secret;
pub mod serve;
mod sharded;
pub mod tasks;

pub use app::{start, Running};
pub use config::Config;
