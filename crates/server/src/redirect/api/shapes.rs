//! The JSON the API sends (settings, endpoints, profiles) and reads (bodies).

use serde_json::{json, Map, Value};
use touchless_domain::{Mac, Perm};
use touchless_store::{Endpoint, Profile, SettingValue, SettingValues};

use crate::redirect::catalogue::{uuid_for, Catalogue, SettingDef};

use super::*;

// -- JSON shapes -----------------------------------------------------------------------

pub(super) fn setting_json(base: &str, s: &SettingDef) -> Value {
    let groups: Vec<&str> = Catalogue::get()
        .groups
        .iter()
        .map(|g| g.uuid.as_str())
        .collect();
    json!({
        "uuid": s.uuid,
        "name": s.name,
        "param_name": s.param_name,
        "description": s.description,
        "section": s.section,
        "field_type": s.field_type,
        "group": null,
        "product_groups": groups,
        "attrs": [],
        "choices": null,
        "default_value": null,
        "fkey": false,
        "multiple": false,
        "sortable": false,
        "uses_permissions": true,
        "no_profiles": 0,
        "indexed": {
            "enabled": s.indexed,
            "start": 1,
            "default_size": if s.indexed { 1 } else { 0 },
            "max_size": if s.indexed { 12 } else { 0 },
        },
        "links": { "self": format!("{base}settings/{}", s.uuid) },
    })
}

pub(super) fn settings_manager_json(values: &SettingValues) -> Value {
    let mut m = Map::new();
    for (uuid, v) in values {
        let mut attrs = json!({ "perm": v.perm.as_str() });
        if let Some(i) = v.idx {
            attrs["idx"] = json!(i);
        }
        m.insert(uuid.clone(), json!({ "value": v.value, "attrs": attrs }));
    }
    Value::Object(m)
}

pub(super) fn endpoint_json(ctx: &Ctx, e: &Endpoint) -> Value {
    let mac = e.mac.to_string().to_ascii_lowercase();
    json!({
        "uuid": uuid_for("endpoint", &mac),
        "mac": mac,
        "name": e.name,
        "autoprovisioning_enabled": e.autoprovisioning_enabled,
        "provisioning_profile": e.profile,
        "settings_manager": settings_manager_json(&e.settings),
        "created_at": e.created_at,
        "updated_at": e.updated_at,
        "links": {
            "self": format!("{}endpoints/{mac}", ctx.company_url(&e.company)),
            "company": ctx.company_url(&e.company),
        },
    })
}

pub(super) fn profile_json(ctx: &Ctx, p: &Profile) -> Value {
    json!({
        "uuid": p.id,
        "name": p.name,
        "product_group": p.product_group,
        "autoprovisioning_enabled": p.autoprovisioning_enabled,
        "settings_manager": settings_manager_json(&p.settings),
        "created_at": p.created_at,
        "updated_at": p.updated_at,
        "links": {
            "self": format!("{}provisioning-profiles/{}", ctx.company_url(&p.company), p.id),
            "company": ctx.company_url(&p.company),
        },
    })
}

pub(super) fn json_body(ctx: &Ctx) -> ApiResult<Map<String, Value>> {
    match serde_json::from_slice::<Value>(&ctx.body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(SrapsError::bad("request body must be a JSON object")),
        Err(e) => Err(SrapsError::bad(format!("JSON parse error: {e}"))),
    }
}

/// A bool, or the strings "true"/"false" (ngcp-panel sends a string).
pub(super) fn flexible_bool(m: &Map<String, Value>, key: &str, default: bool) -> ApiResult<bool> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(true),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(false),
        Some(other) => Err(SrapsError::bad(format!(
            "{key}: must be a boolean, got {other}"
        ))),
    }
}

pub(super) fn opt_string(
    m: &Map<String, Value>,
    key: &str,
    max: usize,
) -> ApiResult<Option<String>> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s))
            if s.chars().count() <= max && touchless_domain::is_xml_text(s, false) =>
        {
            Ok(Some(s.clone()))
        }
        Some(Value::String(_)) => Err(SrapsError::bad(format!(
            "{key}: too long, or contains control characters or U+FFFE/U+FFFF"
        ))),
        Some(other) => Err(SrapsError::bad(format!(
            "{key}: must be a string, got {other}"
        ))),
    }
}

pub(super) fn parse_settings_manager(m: &Map<String, Value>) -> ApiResult<SettingValues> {
    let mut out = SettingValues::new();
    let Some(v) = m.get("settings_manager") else {
        return Ok(out);
    };
    let obj = match v {
        Value::Null => return Ok(out),
        Value::Object(o) => o,
        other => {
            return Err(SrapsError::bad(format!(
                "settings_manager: must be an object, got {other}"
            )))
        }
    };
    let cat = Catalogue::get();
    for (uuid, entry) in obj {
        let def = cat.setting(uuid).ok_or_else(|| {
            SrapsError::bad(format!(
                "settings_manager: unknown setting uuid {uuid:?}; see settings/"
            ))
        })?;
        let entry = entry.as_object().ok_or_else(|| {
            SrapsError::bad(format!(
                "settings_manager.{uuid}: must be an object with value and attrs"
            ))
        })?;
        let value = match entry.get("value") {
            None | Some(Value::Null) => continue,
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::Bool(b)) => if *b { "on" } else { "off" }.to_owned(),
            Some(other) => {
                return Err(SrapsError::bad(format!(
                    "settings_manager.{uuid}.value: must be a string, got {other}"
                )))
            }
        };
        touchless_domain::Setting::new(def.param_name, None, &value, Perm::RW)
            .map_err(|e| SrapsError::bad(format!("settings_manager.{uuid}.value: {e}")))?;
        let attrs = entry.get("attrs").and_then(Value::as_object);
        let perm = match attrs.and_then(|a| a.get("perm")) {
            None | Some(Value::Null) => Perm::RW,
            Some(Value::String(p)) => p
                .parse::<Perm>()
                .map_err(|e| SrapsError::bad(format!("settings_manager.{uuid}.attrs.perm: {e}")))?,
            Some(other) => {
                return Err(SrapsError::bad(format!(
                    "settings_manager.{uuid}.attrs.perm: must be a string, got {other}"
                )))
            }
        };
        let idx = match attrs.and_then(|a| a.get("idx")) {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                v.as_u64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| {
                        SrapsError::bad(format!(
                            "settings_manager.{uuid}.attrs.idx: must be a non-negative integer"
                        ))
                    })?,
            ),
        };
        out.insert(uuid.clone(), SettingValue { value, perm, idx });
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
