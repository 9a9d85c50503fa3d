//! The typed bodies of touchless's HTTP APIs: what the server answers and reads,
//! what the CLI sends and parses, and what the OpenAPI document describes.
//!
//! One crate for both sides, so the server, the CLI and a web console cannot
//! drift apart: a field renamed here is renamed everywhere, by the compiler.
//!
//! - [`tenants`], [`devices`], [`daemon`] and [`redirect`]: the admin API
//!   (`/api/v1/…` on the admin listener, bearer token).
//! - [`sraps`]: the SRAPS-compatible API of the redirection service, which the
//!   daemon's SRAPS client also speaks to the vendor's real service.
//! - [`users`]: console accounts (`/api/v1/users`).
//! - [`status`]: one node's view and render cache (`GET /api/v1/status`).
//! - [`wire`]: scalars read leniently, as the APIs have always accepted them
//!   (a setting's value may be a number; SRAPS clients send `"true"`).
//! - [`ErrorBody`]: every 4xx/5xx of the admin API.
//!
//! Request types reject unknown fields (a typo must not be silently ignored)
//! and hold domain types, so a body that deserializes is already valid.
//! Responses never hold a secret unless the endpoint exists to hand it out,
//! and then only in an `Option` that is absent elsewhere.

pub mod csv;
pub mod daemon;
pub mod devices;
mod error;
pub mod firmware;
pub mod redirect;
pub mod sraps;
pub mod status;
pub mod tenants;
pub mod users;
pub mod wire;

pub use error::ErrorBody;
pub use wire::Echo;
