//! The touchless-provisioning daemon: redirection providers, registering and
//! deregistering devices through the event queue, and the queue itself.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use touchless_domain::{Mac, TenantId};
use utoipa::{IntoParams, ToSchema};

/// A redirection provider account: a vendor's cloud, or a service speaking its API.
/// The secret is never answered.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Provider {
    pub name: String,
    /// Which cloud's API it speaks, which decides whose phones it registers
    /// (one provider per scope and vendor).
    pub kind: String,
    /// Whose phones it registers (from its kind).
    pub vendor: touchless_phones::Vendor,
    /// The API's base URL, ending in `/api/v1/` for SRAPS.
    pub base_url: String,
    pub access_key_id: String,
    /// The tenant whose own account this is; absent for the master account.
    pub tenant: Option<TenantId>,
    /// PEM certificates trusted for this provider besides the public roots.
    pub ca_pem: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// `POST /providers`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProvider {
    /// Lowercase letters, digits and '-'.
    pub name: String,
    /// A kind this touchless speaks; the default kind when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Defaults to the kind's public cloud (an error for a kind without one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    pub access_key_id: String,
    pub secret: String,
    /// For a tenant in `per-tenant` mode; absent for the master account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<TenantId>,
    /// Extra trusted certificates (PEM), e.g. a private CA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_pem: Option<String>,
}

/// `PATCH /providers/{name}`: what an admin edits; the secret is write-only
/// (sent to replace it, never returned).
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// `POST /providers/{name}/test`: the discovery a registration would do, run
/// now. A failure is an answer (`ok: false`), not an HTTP error.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProviderTest {
    pub ok: bool,
    pub message: String,
}

/// Which devices `POST /devices/register`, `/deregister` and `/remove` act
/// on: exactly one of a non-empty list of MACs, a tenant's devices, or all.
/// `force` is read by `/remove` only.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Selection {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub macs: Option<Vec<Mac>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<TenantId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub all: Option<bool>,
    /// `/remove` only: remove even devices that may still be registered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force: Option<bool>,
}

/// `202` to register/deregister: one event per device, committed before this answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Queued {
    pub queued: usize,
    pub events: Vec<i64>,
}

/// The answer to removing devices: `200` when all went at once, `202` when
/// some wait for their provider to let them go.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Removed {
    /// Gone now.
    pub removed: Vec<Mac>,
    /// Being deregistered; gone when their provider has let them go.
    pub deregistering: Vec<Mac>,
    /// The deregister events for `deregistering`.
    pub events: Vec<i64>,
    /// Removed by force though they may still be registered at their provider.
    pub left_at_provider: Vec<Mac>,
}

/// What an event does at the provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Register,
    Deregister,
}

/// Where an event is: waiting (`pending`, perhaps for a retry), leased by a
/// node (`running`), or finished.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum EventState {
    Pending,
    Running,
    Done,
    Failed,
}

/// One queued registration or deregistration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Event {
    pub id: i64,
    pub action: Action,
    pub mac: Mac,
    pub state: EventState,
    /// Attempts started so far, the current one included.
    pub attempts: u32,
    pub next_attempt_at: DateTime<Utc>,
    pub lease_until: Option<DateTime<Utc>>,
    /// The node running it, while it runs.
    pub leased_by: Option<String>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `GET /events/summary`: what an admin watches while a queue drains.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EventSummary {
    pub pending: u64,
    pub running: u64,
    pub done: u64,
    pub failed: u64,
}

/// `GET /events` (newest first; 100 by default, at most 10,000).
#[derive(Clone, Debug, Default, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// pending, running, done or failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}
