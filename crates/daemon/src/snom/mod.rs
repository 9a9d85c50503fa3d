//! Snom's cloud: SRAPS, which touchless's own redirection service speaks too.

pub mod sraps;

use super::provider::Kind;

/// The provider kind: Snom's SRAPS at its public address, or any service
/// speaking its API (touchless's own redirection service among them).
pub const KIND: Kind = Kind {
    vendor: "snom",
    factory: sraps::factory,
    default_base_url: Some("https://secure-provisioning.snom.com/api/v1/"),
};
