//! Devices: the phones in the registry, their lines and settings, and what
//! the provisioning server hands them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use touchless_domain::{
    DeviceStatus, DisplayText, Mac, ProvPassword, ProvScope, ProvUser, SerialNumber, Setting,
    SipPassword, SipUser, TenantId,
};
use touchless_phones::{PhoneModel, Vendor};
use utoipa::{IntoParams, ToSchema};

use crate::tenants::SettingIn;

/// A device, as the admin API answers it. Passwords appear only in the answer
/// to `POST /devices`; afterwards see `GET /devices/{mac}/credentials`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Device {
    pub mac: Mac,
    pub model: PhoneModel,
    /// Whose phone it is: its model's vendor.
    pub vendor: Vendor,
    pub tenant: TenantId,
    pub name: DisplayText,
    /// Its serial number, which some clouds register it by.
    #[schema(value_type = Option<String>, example = "0215070812345")]
    pub serial: Option<SerialNumber>,
    /// Where it stands with its redirection provider.
    pub status: DeviceStatus,
    /// When the provider last accepted it.
    pub registered_at: Option<DateTime<Utc>>,
    /// The last word from the provider or the queue; empty when all is well.
    pub last_message: String,
    /// The one-time credentials for `/ztprov`, which the provider hands the phone.
    pub ztprov_user: ProvUser,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ztprov_pass: Option<ProvPassword>,
    /// Until when `/ztprov` accepts them.
    pub ztprov_expires_at: Option<DateTime<Utc>>,
    /// Their first successful use; after it they hold only for a short grace.
    pub ztprov_used_at: Option<DateTime<Utc>>,
    /// The device's own `/prov` credentials (used when its tenant's scope is `device`).
    pub prov_user: ProvUser,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prov_pass: Option<ProvPassword>,
    /// Deleted, and waiting for its provider to let it go.
    pub removing: bool,
    pub lines: Vec<Line>,
    /// The device's own settings, over its tenant's.
    pub settings: Vec<Setting>,
    /// The firmware it last reported, against its policy.
    pub firmware: crate::firmware::DeviceFirmware,
    pub revision: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One SIP identity of a device, as answered (the password never is).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Line {
    /// 1-based; the index of the line's settings in the phone's file.
    pub idx: u32,
    pub extension: SipUser,
    pub auth_user: SipUser,
    pub display_name: DisplayText,
}

/// A line in a request. `idx` defaults to the line's position (1-based), or
/// after the last line for `add_lines`; `auth_user` to the extension.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineIn {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idx: Option<u32>,
    pub extension: SipUser,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_user: Option<SipUser>,
    pub sip_password: SipPassword,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<DisplayText>,
}

/// `POST /devices` takes one of these, or a list of them (created all or none).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDevice {
    pub mac: Mac,
    pub model: PhoneModel,
    /// Optional: checked against the model's vendor (a CSV or script that
    /// says both is told when they disagree).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<Vendor>,
    /// An existing tenant.
    pub tenant: TenantId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<DisplayText>,
    /// The serial number on its label, for clouds that register by it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub serial: Option<SerialNumber>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lines: Option<Vec<LineIn>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<Vec<SettingIn>>,
}

/// A field a PATCH may clear: absent stays, `null` clears, a value sets.
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// `PATCH /devices/{mac}`: absent fields stay. `lines`/`settings` replace the
/// whole list; `add_lines`/`add_settings` add to it (after any replacement in
/// the same call). A changed device is served at once.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DevicePatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<PhoneModel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<TenantId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<DisplayText>,
    /// A serial number; `null` clears it.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    #[schema(value_type = Option<String>)]
    pub serial: Option<Option<SerialNumber>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lines: Option<Vec<LineIn>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<Vec<SettingIn>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add_lines: Option<Vec<LineIn>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add_settings: Option<Vec<SettingIn>>,
}

/// `GET /devices/{mac}/credentials`: the URLs and credentials of both stages,
/// what an admin types into a phone by hand if it cannot use a provider.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DeviceCredentials {
    pub ztprov_url: String,
    pub ztprov_user: ProvUser,
    pub ztprov_pass: ProvPassword,
    pub ztprov_expires_at: Option<DateTime<Utc>>,
    pub ztprov_used_at: Option<DateTime<Utc>>,
    /// Whose credentials `prov_user`/`prov_pass` are: the device's or its tenant's.
    pub prov_credentials: ProvScope,
    pub prov_url: String,
    pub prov_user: ProvUser,
    pub prov_pass: ProvPassword,
}

/// `GET /devices/{mac}/pin`: the PIN the device's cloud holds for it (Yealink
/// phones ask for one), as the cloud says it now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DevicePin {
    /// The provider asked.
    pub provider: String,
    /// `null` when the cloud has none for it.
    pub pin: Option<String>,
}

/// `GET /devices`: all filters combine. `q` matches name, MAC or any line's
/// extension (substring, any case).
#[derive(Clone, Debug, Default, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeviceQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// unregistered, pending, registered or failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    /// `behind`: a firmware policy applies and the phone has not reported
    /// its target; `current`: it has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firmware: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u32>,
}

/// `GET /devices/{mac}/preview`: which file, as the phone would get it.
#[derive(Clone, Debug, Default, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PreviewQuery {
    /// `prov` (default), `ztprov` or `model`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
}

/// `DELETE /devices/{mac}`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeleteQuery {
    /// Remove at once, even if the device may still be registered at its provider.
    #[serde(default)]
    pub force: bool,
}

/// `GET /devices/{mac}/contacts` (newest first; 50 by default, at most 1,000).
#[derive(Clone, Debug, Default, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ContactsQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// A request of a phone to the provisioning server. Identical requests within
/// one flush interval are one contact with a hit count; repeats of a contact
/// written lately (six to twelve intervals, 30 to 60 s by default) wait and
/// are one contact then, `at` being the last of them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Contact {
    pub at: DateTime<Utc>,
    pub mac: Mac,
    pub ip: String,
    pub user_agent: String,
    pub path: String,
    pub status: u16,
    pub hits: u32,
}

/// A file a phone uploaded with `PUT` (Poly phones: their logs and local
/// settings), without its content: `GET /devices/{mac}/uploads/{id}` has it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Upload {
    pub id: i64,
    pub at: DateTime<Utc>,
    /// What it is, as the phone named it after its MAC.
    #[schema(example = "app.log")]
    pub kind: String,
    /// Its length in bytes.
    pub size: u64,
}

/// `POST /devices/import?dry_run=true`: the query of an import.
#[derive(Clone, Debug, Default, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// Check every row and report, writing nothing.
    #[serde(default)]
    pub dry_run: bool,
}

/// What was wrong with one row of an import (row 1 is the header).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ImportProblem {
    pub row: usize,
    pub column: String,
    pub reason: String,
}

/// The answer to an import: with any problem, nothing was written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ImportReport {
    /// Device rows read (the header not counted).
    pub rows: usize,
    /// Devices created: 0 on a dry run or when a row was bad.
    pub created: usize,
    pub dry_run: bool,
    /// Every bad row's problems (the first 1,000).
    pub problems: Vec<ImportProblem>,
}

/// `GET /devices/export?tenant=…&secrets=true`: the import format back.
#[derive(Clone, Debug, Default, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<TenantId>,
    /// With the lines' SIP passwords (they are left empty otherwise).
    #[serde(default)]
    pub secrets: bool,
}
