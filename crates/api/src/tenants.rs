//! Tenants: the customers of the PBX, each with SIP server, provisioning
//! credentials and settings that all its devices share.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use touchless_domain::{
    DisplayText, Host, Perm, ProvPassword, ProvScope, ProvUser, Setting, SettingName, TenantId,
    TouchlessMode,
};
use utoipa::ToSchema;

use crate::wire::{Port, SettingText};

/// A tenant, as `GET /tenants` and `GET /tenants/{id}` answer it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Tenant {
    pub id: TenantId,
    pub name: DisplayText,
    /// The user of the tenant's provisioning credentials.
    pub prov_user: ProvUser,
    /// Only in the answer to `POST /tenants`, where it may have been
    /// generated; afterwards see `GET /tenants/{id}/credentials`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prov_pass: Option<ProvPassword>,
    /// The SIP registrar the tenant's phones register at.
    pub sip_host: Host,
    pub sip_port: u16,
    /// Which provider account registers the tenant's devices.
    pub mode: TouchlessMode,
    /// Which credentials open the tenant's devices' `/prov` files.
    pub prov_credentials: ProvScope,
    /// Settings every device of the tenant gets (a device's own win).
    pub settings: Vec<Setting>,
    /// Bumped by every change; lets a client notice a concurrent edit.
    pub revision: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `POST /tenants`. Only `id` and `sip_host` are required.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTenant {
    pub id: TenantId,
    /// Defaults to the id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<DisplayText>,
    /// Defaults to `prov-<id>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prov_user: Option<ProvUser>,
    /// Generated (20 random characters) when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prov_pass: Option<ProvPassword>,
    pub sip_host: Host,
    /// Defaults to 5060.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sip_port: Option<Port>,
    /// Defaults to `master`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<TouchlessMode>,
    /// Defaults to `device`: each phone gets its own `/prov` credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prov_credentials: Option<ProvScope>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<Vec<SettingIn>>,
}

/// `PATCH /tenants/{id}`: absent fields stay as they are. `settings` replaces
/// the whole list; `add_settings` puts settings in (replacing one of the same
/// name and index), after `settings` if both are given.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<DisplayText>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prov_user: Option<ProvUser>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prov_pass: Option<ProvPassword>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sip_host: Option<Host>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sip_port: Option<Port>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<TouchlessMode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prov_credentials: Option<ProvScope>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<Vec<SettingIn>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add_settings: Option<Vec<SettingIn>>,
}

/// `GET /tenants/{id}/credentials`: what phones in tenant scope send to `/prov`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TenantCredentials {
    pub prov_user: ProvUser,
    pub prov_pass: ProvPassword,
}

/// A setting in a request: the name and value are required; `idx` picks one
/// of an indexed setting's slots (`fkey` 0…), `perm` defaults to `R`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingIn {
    pub name: SettingName,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idx: Option<u32>,
    pub value: SettingText,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub perm: Option<Perm>,
}
