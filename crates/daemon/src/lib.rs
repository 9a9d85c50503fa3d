//! The touchless-provisioning daemon: registers devices at redirection providers
//! through a durable event queue (the seed's DISTRIBUTOR and QUEUEs).

pub mod distributor;
pub mod fanvil;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod gigaset;
pub mod http;
pub mod kinds;
pub mod poly;
pub mod provider;
pub mod queue;
pub mod snom;
pub mod sraps_api;
pub mod tls;
pub mod yealink;

pub use queue::Daemon;
