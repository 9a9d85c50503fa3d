//! Records and the storage trait of the redirection service.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
pub use touchless_domain::Role;
use touchless_domain::{Mac, Perm};

use crate::Result;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Company {
    pub id: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, PartialEq, Serialize)]
pub struct ApiKey {
    pub id: String,
    pub company: String,
    #[serde(skip)]
    pub secret: String,
    pub role: Role,
    pub enabled: bool,
    pub last_used_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ApiKey({}, company {}, {:?}, secret ***)",
            self.id, self.company, self.role
        )
    }
}

/// One value of a managed setting, keyed by the setting's uuid in a map.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingValue {
    pub value: String,
    pub perm: Perm,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idx: Option<u32>,
}

pub type SettingValues = BTreeMap<String, SettingValue>;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Profile {
    pub id: String,
    pub company: String,
    pub name: String,
    pub product_group: Option<String>,
    pub autoprovisioning_enabled: bool,
    pub settings: SettingValues,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug)]
pub struct ProfileIn {
    pub name: String,
    pub product_group: Option<String>,
    pub autoprovisioning_enabled: bool,
    pub settings: SettingValues,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Endpoint {
    pub mac: Mac,
    pub company: String,
    pub name: String,
    pub autoprovisioning_enabled: bool,
    pub profile: Option<String>,
    pub settings: SettingValues,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A full replacement of an endpoint (SRAPS PUT semantics).
#[derive(Clone, Debug)]
pub struct EndpointIn {
    pub mac: Mac,
    pub name: String,
    pub autoprovisioning_enabled: bool,
    pub profile: Option<String>,
    pub settings: SettingValues,
}

/// A phone's request to the redirection service.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RedirectContact {
    pub at: DateTime<Utc>,
    pub mac: Option<Mac>,
    pub ip: String,
    pub user_agent: String,
    pub firmware: Option<String>,
    pub path: String,
    /// `redirected`, `unknown`, `disabled`, `ua_mac_mismatch`, `certificate_rejected`, …
    pub outcome: String,
}

/// Storage of the redirection service. Every company-scoped call takes the
/// caller's company and refuses (with [`crate::StoreError::Forbidden`]) to touch
/// another company's data.
#[async_trait]
pub trait RedirectStore: Send + Sync + 'static {
    async fn create_company(&self, id: &str, name: &str) -> Result<Company>;
    async fn get_company(&self, id: &str) -> Result<Option<Company>>;
    async fn list_companies(&self) -> Result<Vec<Company>>;

    async fn create_api_key(
        &self,
        id: &str,
        company: &str,
        secret: &str,
        role: Role,
    ) -> Result<ApiKey>;
    async fn get_api_key(&self, id: &str) -> Result<Option<ApiKey>>;
    async fn list_api_keys(&self, company: Option<&str>) -> Result<Vec<ApiKey>>;
    async fn set_api_key_enabled(&self, id: &str, enabled: bool) -> Result<ApiKey>;
    async fn touch_api_key(&self, id: &str, at: DateTime<Utc>) -> Result<()>;

    async fn create_profile(&self, id: &str, company: &str, p: &ProfileIn) -> Result<Profile>;
    async fn get_profile(&self, company: &str, id: &str) -> Result<Option<Profile>>;
    async fn list_profiles(&self, company: &str) -> Result<Vec<Profile>>;
    async fn replace_profile(&self, company: &str, id: &str, p: &ProfileIn) -> Result<Profile>;
    async fn delete_profile(&self, company: &str, id: &str) -> Result<()>;

    /// Creates or fully replaces the endpoint; `true` if it was created. A MAC
    /// owned by another company is `Forbidden` with `taken_mac_or_forbidden`.
    async fn put_endpoint(&self, company: &str, e: &EndpointIn) -> Result<(Endpoint, bool)>;
    /// Any company's endpoint; callers check ownership.
    async fn get_endpoint(&self, mac: Mac) -> Result<Option<Endpoint>>;
    /// The endpoint if it may be handed to a phone (autoprovisioning enabled).
    /// One query whose miss looks the same whether the MAC is unknown or
    /// disabled, so the phone-facing redirect takes the same time for both.
    async fn get_enabled_endpoint(&self, mac: Mac) -> Result<Option<Endpoint>>;
    /// One page, ordered by MAC, and the total count.
    async fn list_endpoints(
        &self,
        company: Option<&str>,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<Endpoint>, u64)>;
    async fn delete_endpoint(&self, company: &str, mac: Mac) -> Result<()>;

    /// Records a Hawk nonce until `expires_at`; `false` if it was seen before
    /// and has not expired (a replay), whichever node saw it.
    async fn remember_nonce(
        &self,
        key_id: &str,
        nonce: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<bool>;
    async fn prune_nonces(&self, before: DateTime<Utc>) -> Result<u64>;

    async fn record_redirect_contacts(&self, batch: &[RedirectContact]) -> Result<()>;
    /// As [`crate::Store::prune_contacts`], for the redirect contact log.
    async fn prune_redirect_contacts(&self, before: DateTime<Utc>, max_rows: u64) -> Result<u64>;
    async fn redirect_contacts(&self, mac: Option<Mac>, limit: u32)
        -> Result<Vec<RedirectContact>>;
}
