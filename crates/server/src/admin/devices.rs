//! Devices in the admin API: bulk create, list and filter, change, credentials, preview, contacts, remove.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use http::{header, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};
use touchless_domain::{
    DeviceStatus, DisplayText, Mac, PhoneModel, ProvPassword, ProvScope, ProvUser, TenantId,
};
use touchless_store::{Device, DeviceFilter, DevicePatch, NewDevice, StoreError};

use crate::secret::random_token;

use super::*;

pub(super) fn device_json(d: &Device) -> Value {
    serde_json::to_value(d).unwrap_or(Value::Null)
}

pub(super) fn path_mac(mac: &str) -> ApiResult<Mac> {
    Mac::parse(mac).map_err(|e| ApiError::field("mac", json!(mac), e.to_string()))
}

#[derive(Deserialize)]
pub(super) struct ListQuery {
    tenant: Option<String>,
    status: Option<String>,
    model: Option<String>,
    q: Option<String>,
    limit: Option<u32>,
    offset: Option<u32>,
}

pub(super) async fn list_devices(
    State(st): State<Arc<AdminState>>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Value>> {
    let bad = |field: &'static str, v: &str, e: touchless_domain::Error| {
        ApiError::field(field, json!(v), e.to_string())
    };
    let filter = DeviceFilter {
        tenant: q
            .tenant
            .as_deref()
            .map(|t| TenantId::parse(t).map_err(|e| bad("tenant", t, e)))
            .transpose()?,
        status: q
            .status
            .as_deref()
            .map(|s| s.parse::<DeviceStatus>().map_err(|e| bad("status", s, e)))
            .transpose()?,
        model: q
            .model
            .as_deref()
            .map(|m| PhoneModel::parse(m).map_err(|e| bad("model", m, e)))
            .transpose()?,
        search: q.q.filter(|s| !s.is_empty()),
        limit: q.limit,
        offset: q.offset.unwrap_or(0),
    };
    let ds = st.store.list_devices(&filter).await?;
    Ok(Json(Value::Array(ds.iter().map(device_json).collect())))
}

pub(super) const DEVICE_FIELDS: &[&str] = &["mac", "model", "tenant", "name", "lines", "settings"];

pub(super) fn parse_new_device(st: &AdminState, v: Value) -> ApiResult<NewDevice> {
    let f = Fields::from_value(v, DEVICE_FIELDS)?;
    let mac = f.req("mac", Mac::parse)?;
    let zt = st.issue_ztprov(mac);
    Ok(NewDevice {
        model: f.req("model", PhoneModel::parse)?,
        tenant: f.req("tenant", TenantId::parse)?,
        name: f
            .opt("name", DisplayText::parse)?
            .unwrap_or_else(|| DisplayText::parse("").expect("empty is valid")),
        ztprov_user: zt.user,
        ztprov_pass: zt.pass,
        ztprov_expires_at: zt.expires_at,
        prov_user: ProvUser::parse(&format!("pv{}", random_token(12)))
            .expect("generated user is valid"),
        prov_pass: ProvPassword::parse(&random_token(20)).expect("generated password is valid"),
        lines: f
            .list("lines")?
            .map(parse_lines)
            .transpose()?
            .unwrap_or_default(),
        settings: f
            .list("settings")?
            .map(parse_settings)
            .transpose()?
            .unwrap_or_default(),
        mac,
    })
}

/// One device (an object) or many (an array), created in one transaction: all
/// or none.
pub(super) async fn create_devices(
    State(st): State<Arc<AdminState>>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let v: Value = serde_json::from_slice(&body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("request body is not valid JSON: {e}"),
        )
    })?;
    let (many, items) = match v {
        Value::Array(items) => (true, items),
        other => (false, vec![other]),
    };
    let news = items
        .into_iter()
        .map(|v| parse_new_device(&st, v))
        .collect::<ApiResult<Vec<_>>>()?;
    // All or nothing: a duplicate in a batch of 1,000 leaves no 999 behind.
    let created = st.store.create_devices(&news).await?;
    refresh(&st).await;
    let mut out: Vec<Value> = created
        .iter()
        .map(|d| {
            let mut v = device_json(d);
            v["ztprov_pass"] = json!(d.ztprov_pass.as_str());
            v["prov_pass"] = json!(d.prov_pass.as_str());
            v
        })
        .collect();
    tracing::info!(count = out.len(), "device(s) created");
    let body = if many {
        Value::Array(out)
    } else {
        out.pop().unwrap_or(Value::Null)
    };
    Ok((StatusCode::CREATED, Json(body)))
}

pub(super) async fn fetch_device(st: &AdminState, mac: Mac) -> ApiResult<Device> {
    Ok(st
        .store
        .get_device(mac)
        .await?
        .ok_or(StoreError::NotFound {
            what: "device",
            key: mac.to_string(),
        })?)
}

pub(super) async fn get_device(
    State(st): State<Arc<AdminState>>,
    Path(mac): Path<String>,
) -> ApiResult<Json<Value>> {
    let d = fetch_device(&st, path_mac(&mac)?).await?;
    Ok(Json(device_json(&d)))
}

pub(super) async fn device_credentials(
    State(st): State<Arc<AdminState>>,
    Path(mac): Path<String>,
) -> ApiResult<Json<Value>> {
    let d = fetch_device(&st, path_mac(&mac)?).await?;
    let t = fetch_tenant(&st, d.tenant.as_str()).await?;
    let base = st.dir.public_url();
    // The credentials the phone is handed for /prov, whichever scope applies.
    let (pu, pp) = match t.prov_scope {
        ProvScope::Device => (&d.prov_user, &d.prov_pass),
        ProvScope::Tenant => (&t.prov_user, &t.prov_pass),
    };
    Ok(Json(json!({
        "ztprov_user": d.ztprov_user,
        "ztprov_pass": d.ztprov_pass.as_str(),
        "ztprov_url": format!("{base}/ztprov/{}-{}.htm", d.model, d.mac),
        "ztprov_expires_at": d.ztprov_expires_at,
        "ztprov_used_at": d.ztprov_used_at,
        "prov_credentials": t.prov_scope,
        "prov_user": pu,
        "prov_pass": pp.as_str(),
        "prov_url": format!("{base}/prov/{}-{}.htm", d.model, d.mac),
    })))
}

pub(super) async fn patch_device(
    State(st): State<Arc<AdminState>>,
    Path(mac): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let mac = path_mac(&mac)?;
    let f = Fields::parse(
        &body,
        &[
            "model",
            "tenant",
            "name",
            "lines",
            "settings",
            "add_lines",
            "add_settings",
        ],
    )?;
    let mut lines = f.list("lines")?.map(parse_lines).transpose()?;
    let mut settings = f.list("settings")?.map(parse_settings).transpose()?;
    let add_lines = f.list("add_lines")?;
    let add_settings = f.list("add_settings")?.map(parse_settings).transpose()?;
    if add_lines.is_some() || add_settings.is_some() {
        // Added to what is there (or to what this same call replaces it with).
        let cur = fetch_device(&st, mac).await?;
        if let Some(items) = add_lines {
            let mut all = lines.take().unwrap_or(cur.lines);
            let next = all.iter().map(|l| l.idx).max().unwrap_or(0);
            let explicit: Vec<bool> = items
                .iter()
                .map(|v| v.get("idx").is_some_and(|i| !i.is_null()))
                .collect();
            for (i, mut l) in parse_lines(items)?.into_iter().enumerate() {
                if !explicit[i] {
                    l.idx = next + i as u32 + 1;
                }
                all.push(l);
            }
            lines = Some(all);
        }
        if let Some(extra) = add_settings {
            settings = Some(upsert_settings(
                settings.take().unwrap_or(cur.settings),
                extra,
            ));
        }
    }
    let patch = DevicePatch {
        model: f.opt("model", PhoneModel::parse)?,
        tenant: f.opt("tenant", TenantId::parse)?,
        name: f.opt("name", DisplayText::parse)?,
        lines,
        settings,
        ..DevicePatch::default()
    };
    let d = st.store.update_device(mac, &patch).await?;
    refresh(&st).await;
    Ok(Json(device_json(&d)))
}

#[derive(Deserialize)]
pub(super) struct DeleteQuery {
    #[serde(default)]
    force: bool,
}

/// See [`crate::daemon::admin::remove`]: a registered device is deregistered
/// first (`202`), one never registered goes at once (`200`).
pub(super) async fn delete_device(
    State(st): State<Arc<AdminState>>,
    Path(mac): Path<String>,
    ApiQuery(q): ApiQuery<DeleteQuery>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    crate::daemon::admin::remove(&st, &[path_mac(&mac)?], q.force).await
}

#[derive(Deserialize)]
pub(super) struct PreviewQuery {
    file: Option<String>,
}

/// The exact bytes the provisioning server sends for this device.
pub(super) async fn preview(
    State(st): State<Arc<AdminState>>,
    Path(mac): Path<String>,
    ApiQuery(q): ApiQuery<PreviewQuery>,
) -> ApiResult<Response> {
    let d = fetch_device(&st, path_mac(&mac)?).await?;
    let t = fetch_tenant(&st, d.tenant.as_str()).await?;
    let base = st.dir.public_url();
    let body = match q.file.as_deref().unwrap_or("prov") {
        "prov" => st.renderer.device(base, &t, &d),
        "ztprov" => st.renderer.ztprov(base, &t, &d),
        "model" => st.renderer.model(base, &t, d.model),
        other => {
            return Err(ApiError::field(
                "file",
                json!(other),
                "file must be prov, ztprov or model",
            ));
        }
    }
    .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()))?;
    Ok(([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], body).into_response())
}

#[derive(Deserialize)]
pub(super) struct ContactsQuery {
    limit: Option<u32>,
}

pub(super) async fn contacts(
    State(st): State<Arc<AdminState>>,
    Path(mac): Path<String>,
    ApiQuery(q): ApiQuery<ContactsQuery>,
) -> ApiResult<Json<Value>> {
    let mac = path_mac(&mac)?;
    let limit = q.limit.unwrap_or(50).clamp(1, 1000);
    let cs = st.store.contacts(mac, limit).await?;
    Ok(Json(serde_json::to_value(cs).unwrap_or(Value::Null)))
}
