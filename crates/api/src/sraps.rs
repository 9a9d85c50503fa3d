//! The bodies of the SRAPS REST API v1, as the redirection service answers
//! them and as the daemon's SRAPS client reads them from the vendor's real service.
//!
//! Answers are read leniently (every field may be absent, unknown fields are
//! ignored): a third party's service may add or leave out fields, and the
//! client only needs a few. Requests are read leniently too, as SRAPS does:
//! unknown fields are ignored and booleans may be strings.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use touchless_domain::Perm;
use utoipa::ToSchema;

use crate::wire::{Echo, FlexBool, FlexIndex, SettingText};

/// `links` of a resource: URLs of itself and what it points to.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Links {
    #[serde(rename = "self", default, skip_serializing_if = "Option::is_none")]
    pub self_: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoints: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioning_profiles: Option<String>,
    /// A setting's group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

/// `GET tokens/{access_key_id}`: the key itself; the entry point of discovery.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Token {
    #[serde(default)]
    pub access_key_id: String,
    /// `none`, `read`, `write` or `admin`. A string, not a `Role`: a service
    /// may know roles we do not.
    #[serde(default)]
    pub role: String,
    #[serde(default)]
    pub enabled: bool,
    #[serde(default)]
    pub last_used: Option<DateTime<Utc>>,
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub links: Links,
}

/// `GET companies/{uuid}`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Company {
    #[serde(default)]
    pub uuid: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub links: Links,
}

/// How an indexed setting (e.g. `fkey`) numbers its slots.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct Indexed {
    pub enabled: bool,
    pub start: u32,
    pub default_size: u32,
    pub max_size: u32,
}

/// One entry of the settings catalogue (`GET settings/`). Every field may be
/// absent in an answer (reference §1.4 lists what SRAPS sends).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct SettingDefinition {
    pub uuid: String,
    pub name: String,
    /// The phone's setting name, e.g. `setting_server`.
    pub param_name: String,
    pub description: String,
    /// `phone-settings` for what a phone is given; SRAPS also has `global`.
    pub section: String,
    pub field_type: String,
    pub group: Option<String>,
    pub product_groups: Vec<String>,
    /// Whatever the service says here is passed through; we send none.
    #[schema(value_type = Vec<Object>)]
    pub attrs: Vec<Echo>,
    #[schema(value_type = Option<Vec<Object>>)]
    pub choices: Option<Vec<Echo>>,
    #[schema(value_type = Option<Object>)]
    pub default_value: Option<Echo>,
    pub fkey: bool,
    pub multiple: bool,
    pub sortable: bool,
    pub uses_permissions: bool,
    pub no_profiles: u32,
    pub indexed: Indexed,
    pub links: Links,
}

/// One entry of `GET product-groups/`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProductGroup {
    pub uuid: String,
    pub name: String,
    #[serde(default)]
    pub links: Links,
}

/// The attributes of a managed value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ManagedAttrs {
    pub perm: Perm,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idx: Option<u32>,
}

/// A setting's value in a `settings_manager`, as answered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ManagedValue {
    pub value: String,
    pub attrs: ManagedAttrs,
}

/// Setting uuid → value.
pub type SettingsManager = BTreeMap<String, ManagedValue>;

/// An endpoint (a phone, by MAC), as answered.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Endpoint {
    pub uuid: String,
    /// Lower-case hex, no separators.
    pub mac: String,
    pub name: String,
    pub autoprovisioning_enabled: bool,
    pub provisioning_profile: Option<String>,
    pub settings_manager: SettingsManager,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub links: Links,
}

/// A provisioning profile, as answered.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Profile {
    pub uuid: String,
    pub name: String,
    pub product_group: Option<String>,
    pub autoprovisioning_enabled: bool,
    pub settings_manager: SettingsManager,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub links: Links,
}

/// The attributes of a managed value in a request.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ManagedAttrsIn {
    /// Defaults to `RW`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub perm: Option<Perm>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idx: Option<FlexIndex>,
}

/// A setting's value in a request. A `null` value leaves the setting out.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ManagedValueIn {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<SettingText>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attrs: Option<ManagedAttrsIn>,
}

impl ManagedValueIn {
    /// A value with permission `RW`, as the daemon registers its settings.
    pub fn rw(value: &str) -> Self {
        ManagedValueIn {
            value: Some(SettingText(value.to_owned())),
            attrs: Some(ManagedAttrsIn {
                perm: Some(Perm::RW),
                idx: None,
            }),
        }
    }
}

/// `PUT endpoints/{mac}`: a full replacement (absent fields take their defaults).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EndpointWrite {
    /// Must match the MAC in the URL if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Defaults to true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoprovisioning_enabled: Option<FlexBool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioning_profile: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings_manager: Option<BTreeMap<String, ManagedValueIn>>,
}

/// `POST provisioning-profiles/` and `PUT provisioning-profiles/{uuid}`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ProfileWrite {
    /// Required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_group: Option<String>,
    /// Defaults to true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoprovisioning_enabled: Option<FlexBool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings_manager: Option<BTreeMap<String, ManagedValueIn>>,
}

/// An error from the API. SRAPS says `detail`; other services say `message`
/// or `error`, which the client reads too.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Problem {
    pub fn detail(detail: impl Into<String>) -> Self {
        Problem {
            detail: Some(detail.into()),
            ..Problem::default()
        }
    }

    /// The first of `detail`, `message`, `error` that is given.
    pub fn text(&self) -> Option<&str> {
        self.detail
            .as_deref()
            .or(self.message.as_deref())
            .or(self.error.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_sraps_clients_send() {
        let w: EndpointWrite = serde_json::from_str(
            r#"{"mac":"000413aabbcc","autoprovisioning_enabled":"true","extra":1,
                "settings_manager":{"u1":{"value":5,"attrs":{"perm":"R","idx":"2"}},"u2":{"value":null}}}"#,
        )
        .unwrap();
        assert_eq!(w.autoprovisioning_enabled, Some(FlexBool(true)));
        let sm = w.settings_manager.unwrap();
        assert_eq!(sm["u1"].value.as_ref().unwrap().0, "5");
        assert_eq!(sm["u1"].attrs.as_ref().unwrap().idx, Some(FlexIndex(2)));
        assert_eq!(sm["u2"].value, None);
    }

    #[test]
    fn reads_a_sparse_answer() {
        let t: Token = serde_json::from_str(r#"{"role":"none"}"#).unwrap();
        assert_eq!(t.role, "none");
        assert_eq!(t.links.company, None);
        let p: Problem = serde_json::from_str(r#"{"message":"bad mac"}"#).unwrap();
        assert_eq!(p.text(), Some("bad mac"));
    }
}
