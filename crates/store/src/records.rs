//! The records a [`crate::Store`] reads and writes.

use chrono::{DateTime, Utc};
use serde::Serialize;
use touchless_domain::{
    DeviceStatus, DisplayText, Host, Mac, ProvPassword, ProvScope, ProvUser, SerialNumber, Setting,
    SipPassword, SipUser, TenantId, TouchlessMode,
};
use touchless_phones::PhoneModel;

/// A customer of the PBX. Its devices fetch `/prov` with its provisioning credentials.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Tenant {
    pub id: TenantId,
    pub name: DisplayText,
    pub prov_user: ProvUser,
    #[serde(skip)]
    pub prov_pass: ProvPassword,
    pub sip_host: Host,
    pub sip_port: u16,
    pub mode: TouchlessMode,
    /// Whether `/prov` is opened by each device's own credentials or by the
    /// tenant's.
    #[serde(rename = "prov_credentials")]
    pub prov_scope: ProvScope,
    pub settings: Vec<Setting>,
    pub revision: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug)]
pub struct NewTenant {
    pub id: TenantId,
    pub name: DisplayText,
    pub prov_user: ProvUser,
    pub prov_pass: ProvPassword,
    pub sip_host: Host,
    pub sip_port: u16,
    pub mode: TouchlessMode,
    pub prov_scope: ProvScope,
    pub settings: Vec<Setting>,
}

/// `None` leaves a field as it is. `settings: Some(..)` replaces the whole list.
#[derive(Clone, Debug, Default)]
pub struct TenantPatch {
    pub name: Option<DisplayText>,
    pub prov_user: Option<ProvUser>,
    pub prov_pass: Option<ProvPassword>,
    pub sip_host: Option<Host>,
    pub sip_port: Option<u16>,
    pub mode: Option<TouchlessMode>,
    pub prov_scope: Option<ProvScope>,
    pub settings: Option<Vec<Setting>>,
}

/// One SIP identity of a device (`idx` 1..n, the index of its settings).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Line {
    pub idx: u32,
    pub extension: SipUser,
    pub auth_user: SipUser,
    #[serde(skip_serializing)]
    pub sip_password: SipPassword,
    #[serde(default = "empty_name")]
    pub display_name: DisplayText,
}

fn empty_name() -> DisplayText {
    DisplayText::parse("").expect("empty name is valid")
}

/// A phone in the registry, with everything needed to provision it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Device {
    pub mac: Mac,
    pub model: PhoneModel,
    pub tenant: TenantId,
    pub name: DisplayText,
    /// What some clouds register the phone by; most take the MAC.
    pub serial: Option<SerialNumber>,
    pub status: DeviceStatus,
    pub registered_at: Option<DateTime<Utc>>,
    pub last_message: String,
    /// Per-device credentials for `/ztprov`; the redirection provider hands them
    /// to the phone as `http_client_user`/`http_client_pass`. One-time: accepted
    /// until `ztprov_expires_at`, and after their first successful use
    /// (`ztprov_used_at`) only for a short grace.
    pub ztprov_user: ProvUser,
    #[serde(skip)]
    pub ztprov_pass: ProvPassword,
    pub ztprov_expires_at: Option<DateTime<Utc>>,
    pub ztprov_used_at: Option<DateTime<Utc>>,
    /// Credentials a register event is pushing to the provider: accepted beside
    /// the current ones until the provider confirms them, then they replace them.
    #[serde(skip)]
    pub ztprov_next: Option<NextZtprov>,
    /// This device's own `/prov` credentials, which `/ztprov` hands the phone
    /// when its tenant's scope is [`ProvScope::Device`].
    pub prov_user: ProvUser,
    #[serde(skip)]
    pub prov_pass: ProvPassword,
    /// Deleted by the admin; removed once its deregistration has succeeded.
    pub removing: bool,
    /// The firmware version the phone last reported (User-Agent of a
    /// successful fetch), and when; not a registry change.
    pub firmware: Option<String>,
    pub firmware_at: Option<DateTime<Utc>>,
    pub lines: Vec<Line>,
    pub settings: Vec<Setting>,
    pub revision: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Pending ztprov credentials (see [`Device::ztprov_next`]).
#[derive(Clone, Debug, PartialEq)]
pub struct NextZtprov {
    pub user: ProvUser,
    pub pass: ProvPassword,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
}

/// Freshly issued credentials for one device, valid until `expires_at`.
#[derive(Clone, Debug)]
pub struct Issued {
    pub mac: Mac,
    pub user: ProvUser,
    pub pass: ProvPassword,
    pub expires_at: DateTime<Utc>,
}

#[derive(Clone, Debug)]
pub struct NewDevice {
    pub mac: Mac,
    pub model: PhoneModel,
    pub tenant: TenantId,
    pub name: DisplayText,
    pub serial: Option<SerialNumber>,
    pub ztprov_user: ProvUser,
    pub ztprov_pass: ProvPassword,
    pub ztprov_expires_at: DateTime<Utc>,
    pub prov_user: ProvUser,
    pub prov_pass: ProvPassword,
    pub lines: Vec<Line>,
    pub settings: Vec<Setting>,
}

/// `None` leaves a field as it is; `Some(list)` replaces the whole list.
#[derive(Clone, Debug, Default)]
pub struct DevicePatch {
    pub model: Option<PhoneModel>,
    pub tenant: Option<TenantId>,
    pub name: Option<DisplayText>,
    /// `Some(None)` clears it.
    pub serial: Option<Option<SerialNumber>>,
    pub status: Option<DeviceStatus>,
    pub registered_at: Option<Option<DateTime<Utc>>>,
    pub last_message: Option<String>,
    /// New current ztprov credentials with a fresh window (their use is reset).
    pub ztprov: Option<(ProvUser, ProvPassword, DateTime<Utc>)>,
    pub prov: Option<(ProvUser, ProvPassword)>,
    pub lines: Option<Vec<Line>>,
    pub settings: Option<Vec<Setting>>,
}

pub use touchless_domain::FirmwareFilter;

#[derive(Clone, Debug, Default)]
pub struct DeviceFilter {
    pub tenant: Option<TenantId>,
    pub status: Option<DeviceStatus>,
    pub model: Option<PhoneModel>,
    /// Matches name, MAC or any line's extension (substring, case-insensitive).
    pub search: Option<String>,
    /// Against the firmware policy that applies to each device.
    pub firmware: Option<FirmwareFilter>,
    /// A page: at most `limit` devices after skipping `offset`, in list order.
    pub limit: Option<u32>,
    pub offset: u32,
}

/// The whole registry, as the provisioning server loads it.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    pub generation: i64,
    pub tenants: Vec<Tenant>,
    pub devices: Vec<Device>,
    pub firmware: Vec<FirmwarePolicy>,
}

/// A part of a paged snapshot (see [`crate::RegistryStore::snapshot_pages`]).
#[derive(Debug)]
pub enum SnapshotPart {
    /// Every firmware policy; handed over first.
    Firmware(Vec<FirmwarePolicy>),
    Tenants(Vec<Tenant>),
    Devices(Vec<Device>),
}

/// What changed in the registry after a generation (see
/// [`crate::RegistryStore::changes_since`]).
#[derive(Clone, Debug, Default)]
pub struct Changes {
    /// The generation these changes bring a reader up to.
    pub generation: i64,
    /// Tenants created or changed, with their settings.
    pub tenants: Vec<Tenant>,
    /// Devices created or changed, with their lines and settings.
    pub devices: Vec<Device>,
    /// Deleted since (a key may also be in `tenants`/`devices` if it was
    /// created again afterwards: apply deletions first).
    pub gone_tenants: Vec<TenantId>,
    pub gone_devices: Vec<Mac>,
    /// Every firmware policy, when any changed since (the table is small:
    /// a reader replaces its copy).
    pub firmware: Option<Vec<FirmwarePolicy>>,
    /// Deletions after the reader's generation may have been pruned: these
    /// changes are incomplete, read a snapshot.
    pub stale: bool,
    /// More devices changed than the reader asked to hold at once
    /// (`Store::changes_since_at_most`): nothing was read, read a snapshot.
    pub too_many: bool,
}

/// A file a phone uploaded with `PUT` (its logs, its local settings), without
/// its content.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Upload {
    pub id: i64,
    pub mac: Mac,
    /// What it is, as the phone named it after its MAC: `app.log`.
    pub kind: String,
    pub at: DateTime<Utc>,
    pub size: u64,
}

/// A request from a phone, as the contact log keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Contact {
    pub at: DateTime<Utc>,
    pub mac: Mac,
    pub ip: String,
    pub user_agent: String,
    pub path: String,
    pub status: u16,
    /// How many identical requests this row stands for (within one flush
    /// interval; for repeats, since the row before).
    pub hits: u32,
}

/// Whom a firmware policy applies to.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PolicyTarget {
    Installation,
    Tenant(TenantId),
    Device(Mac),
}

impl PolicyTarget {
    pub fn scope(&self) -> touchless_domain::PolicyScope {
        use touchless_domain::PolicyScope as S;
        match self {
            PolicyTarget::Installation => S::Installation,
            PolicyTarget::Tenant(_) => S::Tenant,
            PolicyTarget::Device(_) => S::Device,
        }
    }

    /// The stored key: '' for the installation, the tenant id, the MAC.
    pub fn key(&self) -> String {
        match self {
            PolicyTarget::Installation => String::new(),
            PolicyTarget::Tenant(t) => t.as_str().to_owned(),
            PolicyTarget::Device(m) => m.to_string(),
        }
    }

    pub fn from_stored(scope: &str, key: &str) -> Result<Self, touchless_domain::Error> {
        use touchless_domain::PolicyScope as S;
        Ok(match touchless_domain::PolicyScope::parse(scope)? {
            S::Installation => PolicyTarget::Installation,
            S::Tenant => PolicyTarget::Tenant(TenantId::parse(key)?),
            S::Device => PolicyTarget::Device(Mac::parse_stored(key)?),
        })
    }
}

/// One version of a policy and its image.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
pub struct FirmwareStage {
    pub version: touchless_domain::FirmwareVersion,
    #[serde(with = "image_text")]
    pub image: touchless_domain::FirmwareImage,
}

mod image_text {
    pub fn serialize<S: serde::Serializer>(
        i: &touchless_domain::FirmwareImage,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_str(i.as_str())
    }
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<touchless_domain::FirmwareImage, D::Error> {
        let s = <String as serde::Deserialize>::deserialize(d)?;
        touchless_domain::FirmwareImage::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A firmware policy to create, or to replace the one of the same target
/// and model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewFirmwarePolicy {
    pub applies_to: PolicyTarget,
    pub model: PhoneModel,
    pub target: FirmwareStage,
    /// Versions to pass through first, in order.
    pub steps: Vec<FirmwareStage>,
}

/// A stored firmware policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FirmwarePolicy {
    pub id: i64,
    pub applies_to: PolicyTarget,
    pub model: PhoneModel,
    pub target: FirmwareStage,
    pub steps: Vec<FirmwareStage>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl FirmwarePolicy {
    /// The intermediate versions, then the target: what a phone walks.
    pub fn stages(&self) -> impl Iterator<Item = &FirmwareStage> {
        self.steps.iter().chain(std::iter::once(&self.target))
    }
}
