//! Gigaset's cloud: GRAPE, which speaks the SRAPS API v1 (Hawk included)
//! with its own setting names: the server is `ProvisioningServer`, one per
//! product group, and there are no settings for a pair, which Gigaset's
//! phones take in the path of their first URL (reference, "Gigaset").

use super::provider::Kind;
use super::sraps_api::{self, Dialect};

pub static DIALECT: Dialect = Dialect {
    cloud: "Gigaset",
    section: None,
    server: "ProvisioningServer",
    pair: None,
    per_product: true,
};

fn factory(a: &super::provider::Account<'_>) -> std::sync::Arc<dyn super::provider::ProviderApi> {
    sraps_api::client(&DIALECT, a)
}

/// The provider kind: GRAPE at its public address.
pub const KIND: Kind = Kind {
    vendor: "gigaset",
    factory,
    default_base_url: Some("https://api.grape.gigaset.net/api/v1/"),
};
