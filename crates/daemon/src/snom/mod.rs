//! Snom's cloud: SRAPS, which touchless's own redirection service speaks too.

use super::provider::Kind;
use super::sraps_api::{self, Dialect};

/// SRAPS names the server `setting_server` in section `phone-settings`, and
/// has settings for the pair.
pub static DIALECT: Dialect = Dialect {
    cloud: "Snom",
    section: Some("phone-settings"),
    server: "setting_server",
    pair: Some(("http_client_user", "http_client_pass")),
    per_product: false,
};

fn factory(a: &super::provider::Account<'_>) -> std::sync::Arc<dyn super::provider::ProviderApi> {
    sraps_api::client(&DIALECT, a)
}

/// The provider kind: Snom's SRAPS at its public address, or any service
/// speaking its API (touchless's own redirection service among them).
pub const KIND: Kind = Kind {
    vendor: "snom",
    factory,
    default_base_url: Some("https://secure-provisioning.snom.com/api/v1/"),
};
