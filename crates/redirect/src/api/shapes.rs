//! The SRAPS bodies the API sends (settings, endpoints, profiles) and reads,
//! as `touchless_api::sraps` types.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use touchless_api::sraps::{self, Links, ManagedAttrs, ManagedValue, ManagedValueIn};
use touchless_api::wire::FlexBool;
use touchless_domain::{Mac, Perm};
use touchless_store::{Endpoint, Profile, SettingValue, SettingValues};

use crate::catalogue::{uuid_for, Catalogue, SettingDef};
use touchless_runtime::json::{self, BodyError};

use super::*;

pub(super) fn setting_def(base: &str, s: &SettingDef) -> sraps::SettingDefinition {
    sraps::SettingDefinition {
        uuid: s.uuid.clone(),
        name: s.name.to_owned(),
        param_name: s.param_name.to_owned(),
        description: s.description.to_owned(),
        section: s.section.to_owned(),
        field_type: s.field_type.to_owned(),
        group: None,
        product_groups: Catalogue::get()
            .groups
            .iter()
            .map(|g| g.uuid.clone())
            .collect(),
        attrs: Vec::new(),
        choices: None,
        default_value: None,
        fkey: false,
        multiple: false,
        sortable: false,
        uses_permissions: true,
        no_profiles: 0,
        indexed: sraps::Indexed {
            enabled: s.indexed,
            start: 1,
            default_size: if s.indexed { 1 } else { 0 },
            max_size: if s.indexed { 12 } else { 0 },
        },
        links: Links {
            self_: Some(format!("{base}settings/{}", s.uuid)),
            ..Links::default()
        },
    }
}

pub(super) fn settings_manager(values: &SettingValues) -> sraps::SettingsManager {
    values
        .iter()
        .map(|(uuid, v)| {
            (
                uuid.clone(),
                ManagedValue {
                    value: v.value.clone(),
                    attrs: ManagedAttrs {
                        perm: v.perm,
                        idx: v.idx,
                    },
                },
            )
        })
        .collect()
}

pub(super) fn endpoint_body(ctx: &Ctx, e: &Endpoint) -> sraps::Endpoint {
    let mac = e.mac.to_string().to_ascii_lowercase();
    sraps::Endpoint {
        uuid: uuid_for("endpoint", &mac),
        name: e.name.clone(),
        autoprovisioning_enabled: e.autoprovisioning_enabled,
        provisioning_profile: e.profile.clone(),
        settings_manager: settings_manager(&e.settings),
        created_at: e.created_at,
        updated_at: e.updated_at,
        links: Links {
            self_: Some(format!("{}endpoints/{mac}", ctx.company_url(&e.company))),
            company: Some(ctx.company_url(&e.company)),
            ..Links::default()
        },
        mac,
    }
}

pub(super) fn profile_body(ctx: &Ctx, p: &Profile) -> sraps::Profile {
    sraps::Profile {
        uuid: p.id.clone(),
        name: p.name.clone(),
        product_group: p.product_group.clone(),
        autoprovisioning_enabled: p.autoprovisioning_enabled,
        settings_manager: settings_manager(&p.settings),
        created_at: p.created_at,
        updated_at: p.updated_at,
        links: Links {
            self_: Some(format!(
                "{}provisioning-profiles/{}",
                ctx.company_url(&p.company),
                p.id
            )),
            company: Some(ctx.company_url(&p.company)),
            ..Links::default()
        },
    }
}

/// The request body as a `T`; a 400 says where it went wrong
/// (`settings_manager.<uuid>.attrs.perm: …`).
pub(super) fn body<T: DeserializeOwned>(ctx: &Ctx) -> ApiResult<T> {
    json::object(&ctx.body).map_err(|e| match e {
        BodyError::Syntax(e) => SrapsError::bad(format!("JSON parse error: {e}")),
        BodyError::NotObject => SrapsError::bad("request body must be a JSON object"),
        BodyError::Data { path, message } => {
            SrapsError::bad(format!("{}: {message}", json::dotted(&path)))
        }
    })
}

/// A boolean field, `default` when absent.
pub(super) fn flag(v: Option<FlexBool>, default: bool) -> bool {
    v.map_or(default, |b| b.0)
}

/// An optional text field: at most `max` characters that XML can carry.
pub(super) fn text(key: &str, v: Option<String>, max: usize) -> ApiResult<Option<String>> {
    match v {
        Some(s) if s.chars().count() > max || !touchless_domain::is_xml_text(&s, false) => {
            Err(SrapsError::bad(format!(
                "{key}: too long, or contains control characters or U+FFFE/U+FFFF"
            )))
        }
        other => Ok(other),
    }
}

/// A `settings_manager` as the store keeps it: uuids known to the catalogue,
/// values a phone can be given.
pub(super) fn settings_in(m: Option<BTreeMap<String, ManagedValueIn>>) -> ApiResult<SettingValues> {
    let mut out = SettingValues::new();
    let cat = Catalogue::get();
    for (uuid, entry) in m.unwrap_or_default() {
        let def = cat.setting(&uuid).ok_or_else(|| {
            SrapsError::bad(format!(
                "settings_manager: unknown setting uuid {uuid:?}; see settings/"
            ))
        })?;
        let Some(value) = entry.value else { continue };
        touchless_domain::Setting::new(def.param_name, None, &value.0, Perm::RW)
            .map_err(|e| SrapsError::bad(format!("settings_manager.{uuid}.value: {e}")))?;
        let attrs = entry.attrs.unwrap_or_default();
        out.insert(
            uuid,
            SettingValue {
                value: value.0,
                perm: attrs.perm.unwrap_or(Perm::RW),
                idx: attrs.idx.map(|i| i.0),
            },
        );
    }
    Ok(out)
}

pub(super) fn path_mac(mac: &str) -> ApiResult<Mac> {
    Mac::parse(mac).map_err(|e| SrapsError::bad(format!("mac: {e}")))
}

pub(super) fn hex32(id: &str, what: &str) -> ApiResult<()> {
    if id.len() == 32 && id.bytes().all(|c| c.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(SrapsError::not_found(what))
    }
}
