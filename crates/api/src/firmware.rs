//! Firmware policies and where each phone stands against its policy
//! (`/api/v1/firmware/policies`, and `firmware` in every device).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use touchless_domain::{FirmwareVersion, Mac, PolicyScope, TenantId};
use touchless_phones::{PhoneModel, Vendor};
use utoipa::ToSchema;

/// One version and its image: a URL elsewhere, or a file touchless serves
/// from its firmware directory (exactly one of the two).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    #[schema(value_type = String, example = "10.1.175.10")]
    pub version: FirmwareVersion,
    /// `http://` or `https://`: the phone fetches the image there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "https://downloads.example.com/fw/10.1.175.10/phone-10.1.175.10.bin")]
    pub url: Option<String>,
    /// A plain file name in `provisioning.firmware_dir`, served under
    /// `/firmware/` behind the same authentication as `/prov`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "phone-10.1.175.10.bin")]
    pub file: Option<String>,
}

impl Stage {
    /// A version and an image written as people write it: a URL
    /// (`http://…`, `https://…`) or else a file name. What the CLI's flags and
    /// the console's form both read; the API checks the image.
    pub fn of(version: FirmwareVersion, image: &str) -> Stage {
        let url = image.contains("://");
        Stage {
            version,
            url: url.then(|| image.to_owned()),
            file: (!url).then(|| image.to_owned()),
        }
    }
}

/// `PUT /firmware/policies`: creates the policy of (scope, model), or
/// replaces it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutPolicy {
    /// installation, tenant (give `tenant`) or device (give `mac`).
    #[schema(value_type = String, example = "installation")]
    pub scope: PolicyScope,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<TenantId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<Mac>,
    pub model: PhoneModel,
    /// The version the phones end on, and its image.
    pub target: Stage,
    /// Versions to pass through first, oldest first.
    #[serde(default)]
    pub steps: Vec<Stage>,
}

/// A stored policy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Policy {
    pub id: i64,
    #[schema(value_type = String, example = "tenant")]
    pub scope: PolicyScope,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<TenantId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<Mac>,
    pub model: PhoneModel,
    pub vendor: Vendor,
    pub target: Stage,
    pub steps: Vec<Stage>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Where a phone stands against its firmware policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Standing {
    /// No policy applies to it.
    None,
    /// It reported its policy's target.
    Current,
    /// A policy applies and it has not reported the target (yet).
    Behind,
}

/// A device's firmware: what it last reported, against its policy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DeviceFirmware {
    /// The version in the User-Agent of its last successful fetch.
    pub reported: Option<String>,
    pub reported_at: Option<DateTime<Utc>>,
    pub standing: Standing,
    /// The policy that applies (the most specific), and where it was set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub scope: Option<PolicyScope>,
    /// Its policy's target version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// What its next fetch installs, from the version it reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}
