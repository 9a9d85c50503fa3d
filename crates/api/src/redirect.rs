//! The redirection service's accounts in the admin API (`/api/v1/redirect/…`):
//! companies, their API keys, endpoints and what phones asked.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use touchless_domain::{Mac, Perm, Role};
use utoipa::{IntoParams, ToSchema};

/// An account at the redirection service; its API keys manage its endpoints.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Company {
    /// 32 hex digits.
    pub id: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

/// `POST /redirect/companies`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCompany {
    /// 1-200 characters without control characters.
    pub name: String,
}

/// A SRAPS API key (Hawk credentials) of a company.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ApiKey {
    /// The Hawk id (`access_key_id`).
    pub id: String,
    pub company: String,
    pub role: Role,
    /// False once revoked.
    pub enabled: bool,
    pub last_used_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// Only in the answer to `POST /redirect/keys`, and nowhere else, ever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// `POST /redirect/keys`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApiKey {
    /// The company's id.
    pub company: String,
    /// Defaults to `write`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
}

/// `GET /redirect/keys`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct KeysQuery {
    /// Only this company's keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
}

/// A value of a managed setting, keyed by the setting's uuid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SettingValue {
    pub value: String,
    pub perm: Perm,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idx: Option<u32>,
}

/// A phone the redirection service knows: where it is sent, by which company.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Endpoint {
    pub mac: Mac,
    pub company: String,
    pub name: String,
    /// False: the phone gets no redirection.
    pub autoprovisioning_enabled: bool,
    /// A provisioning profile's uuid.
    pub profile: Option<String>,
    /// Setting uuid → value.
    pub settings: BTreeMap<String, SettingValue>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `GET /redirect/endpoints`: one page, and how many there are in all.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EndpointList {
    pub total: u64,
    pub endpoints: Vec<Endpoint>,
}

/// `GET /redirect/endpoints`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EndpointsQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    /// 1,000 by default, at most 10,000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
}

/// `GET /redirect/endpoints/{mac}`: the endpoint with its settings named.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EndpointDetail {
    pub mac: Mac,
    pub company: String,
    pub name: String,
    pub autoprovisioning_enabled: bool,
    pub profile: Option<String>,
    pub settings: Vec<EndpointSetting>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One setting of an endpoint. Passwords read `***` unless `?secrets=true`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EndpointSetting {
    pub uuid: String,
    /// The phone setting it is (`setting_server`, …), if the catalogue knows the uuid.
    pub param_name: Option<String>,
    pub value: String,
    pub perm: Perm,
    pub idx: Option<u32>,
}

/// `GET /redirect/endpoints/{mac}`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EndpointQuery {
    /// Show password settings in clear.
    #[serde(default)]
    pub secrets: bool,
}

/// A phone's request to the redirection service.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RedirectContact {
    pub at: DateTime<Utc>,
    /// Absent when the request named none (or an unparsable one).
    pub mac: Option<Mac>,
    pub ip: String,
    pub user_agent: String,
    pub firmware: Option<String>,
    pub path: String,
    /// `redirected`, `unknown`, `disabled`, `ua_mac_mismatch`, `certificate_rejected`, …
    pub outcome: String,
}

/// `GET /redirect/contacts` (newest first; 50 by default, at most 1,000).
#[derive(Clone, Debug, Default, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RedirectContactsQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}
