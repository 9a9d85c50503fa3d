//! Devices in the admin API: bulk create, list and filter, change, credentials, preview, contacts, remove.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use http::{header, StatusCode};
use touchless_api::daemon::Removed;
use touchless_api::devices as api;
use touchless_domain::{
    DeviceStatus, DisplayText, Mac, ProvPassword, ProvScope, ProvUser, TenantId,
};
use touchless_phones::PhoneModel;
use touchless_store::{Device, DeviceFilter, DevicePatch, Line, NewDevice, StoreError};

use super::extract::{path_mac, query_param, ApiError, ApiJson, ApiQuery, ApiResult, OneOrMany};
use super::state::AdminState;
use super::tenants::{fetch_tenant, settings, upsert_settings};
use super::view;
use touchless_runtime::secret::random_token;

#[utoipa::path(get, path = "/devices", tag = "devices", params(api::DeviceQuery), responses((status = 200, description = "the devices that match, by MAC", body = Vec<api::Device>)))]
pub(super) async fn list_devices(
    State(st): State<Arc<AdminState>>,
    ApiQuery(q): ApiQuery<api::DeviceQuery>,
) -> ApiResult<Json<Vec<api::Device>>> {
    let filter = DeviceFilter {
        tenant: query_param("tenant", q.tenant.as_deref(), TenantId::parse)?,
        status: query_param("status", q.status.as_deref(), str::parse::<DeviceStatus>)?,
        model: query_param("model", q.model.as_deref(), PhoneModel::parse)?,
        search: q.q.filter(|s| !s.is_empty()),
        firmware: query_param(
            "firmware",
            q.firmware.as_deref(),
            touchless_domain::FirmwareFilter::parse,
        )?,
        limit: q.limit,
        offset: q.offset.unwrap_or(0),
    };
    let ds = st.store.list_devices(&filter).await?;
    let plans = st.dir.plans();
    Ok(Json(ds.iter().map(|d| view::device(d, &plans)).collect()))
}

/// Lines of a request as the store keeps them; `first_idx` numbers those
/// that do not say their index.
fn lines(items: Vec<api::LineIn>, first_idx: u32) -> Vec<Line> {
    items
        .into_iter()
        .enumerate()
        .map(|(i, l)| Line {
            idx: l.idx.unwrap_or(first_idx + i as u32),
            auth_user: l.auth_user.unwrap_or_else(|| l.extension.clone()),
            extension: l.extension,
            sip_password: l.sip_password,
            display_name: l
                .display_name
                .unwrap_or_else(|| DisplayText::parse("").expect("empty is valid")),
        })
        .collect()
}

pub(crate) fn new_device(st: &AdminState, d: api::NewDevice) -> ApiResult<NewDevice> {
    if let Some(v) = d.vendor {
        v.check(d.model)
            .map_err(|e| ApiError::field("vendor", v.name(), e.to_string()))?;
    }
    let zt = st.issue_ztprov(d.mac);
    Ok(NewDevice {
        mac: d.mac,
        model: d.model,
        tenant: d.tenant,
        name: d
            .name
            .unwrap_or_else(|| DisplayText::parse("").expect("empty is valid")),
        serial: d.serial,
        ztprov_user: zt.user,
        ztprov_pass: zt.pass,
        ztprov_expires_at: zt.expires_at,
        prov_user: ProvUser::parse(&format!("pv{}", random_token(12)))
            .expect("generated user is valid"),
        prov_pass: ProvPassword::parse(&random_token(20)).expect("generated password is valid"),
        lines: lines(d.lines.unwrap_or_default(), 1),
        settings: settings(d.settings.unwrap_or_default())?,
    })
}

/// Creates devices in one transaction: all or none (a duplicate in a batch
/// of 1,000 leaves no 999 behind). The console's Add comes here too.
pub(crate) async fn create(st: &AdminState, items: Vec<api::NewDevice>) -> ApiResult<Vec<Device>> {
    let news = items
        .into_iter()
        .map(|d| new_device(st, d))
        .collect::<ApiResult<Vec<_>>>()?;
    let made = st.store.create_devices(&news).await?;
    st.written(false).await;
    tracing::info!(count = made.len(), "device(s) created");
    Ok(made)
}

/// With the passwords: this answer is where a generated one is shown.
fn created(d: Device, plans: &touchless_provisioning::firmware::Plans) -> api::Device {
    let mut out = view::device(&d, plans);
    out.ztprov_pass = Some(d.ztprov_pass);
    out.prov_pass = Some(d.prov_pass);
    out
}

/// One device (an object) or many (an array), created in one transaction: all
/// or none. The answer has the same shape as the request.
#[utoipa::path(post, path = "/devices", tag = "devices", request_body(content = Vec<api::NewDevice>, description = "one device, or an array of up to 10,000 written in one transaction"), responses((status = 201, description = "the created device (an object when one was sent, an array when an array was)", body = Vec<api::Device>)))]
pub(super) async fn create_devices(
    State(st): State<Arc<AdminState>>,
    body: OneOrMany<api::NewDevice>,
) -> ApiResult<Response> {
    let (many, items) = match body {
        OneOrMany::Many(items) => (true, items),
        OneOrMany::One(item) => (false, vec![item]),
    };
    let made = create(&st, items).await?;
    let plans = st.dir.plans();
    let mut out: Vec<api::Device> = made.into_iter().map(|d| created(d, &plans)).collect();
    Ok(match (many, out.pop()) {
        (false, Some(one)) => (StatusCode::CREATED, Json(one)).into_response(),
        (_, last) => {
            out.extend(last);
            (StatusCode::CREATED, Json(out)).into_response()
        }
    })
}

pub(crate) async fn fetch_device(st: &AdminState, mac: Mac) -> ApiResult<Device> {
    Ok(st
        .store
        .get_device(mac)
        .await?
        .ok_or_else(|| StoreError::not_found("device", mac))?)
}

#[utoipa::path(get, path = "/devices/{mac}", tag = "devices", params(("mac" = String, Path, description = "the MAC, 12 hex digits (separators allowed)")), responses((status = 200, description = "the device", body = api::Device)))]
pub(super) async fn get_device(
    State(st): State<Arc<AdminState>>,
    Path(mac): Path<String>,
) -> ApiResult<Json<api::Device>> {
    let d = fetch_device(&st, path_mac(&mac)?).await?;
    Ok(Json(view::device(&d, &st.dir.plans())))
}

#[utoipa::path(get, path = "/devices/{mac}/credentials", tag = "devices", params(("mac" = String, Path, description = "the MAC, 12 hex digits (separators allowed)")), responses((status = 200, description = "its URLs and credentials", body = api::DeviceCredentials)))]
pub(super) async fn device_credentials(
    State(st): State<Arc<AdminState>>,
    Path(mac): Path<String>,
) -> ApiResult<Json<api::DeviceCredentials>> {
    Ok(Json(credentials(&st, path_mac(&mac)?).await?))
}

/// What a phone is handed, and where: the console's device page shows the same.
pub(crate) async fn credentials(st: &AdminState, mac: Mac) -> ApiResult<api::DeviceCredentials> {
    let d = fetch_device(st, mac).await?;
    let t = fetch_tenant(st, &d.tenant).await?;
    let base = st.dir.public_url();
    // The credentials the phone is handed for /prov, whichever scope applies.
    let (prov_user, prov_pass) = match t.prov_scope {
        ProvScope::Device => (d.prov_user, d.prov_pass),
        ProvScope::Tenant => (t.prov_user, t.prov_pass),
    };
    let vendor = d.model.vendor();
    Ok(api::DeviceCredentials {
        ztprov_url: format!(
            "{base}{}",
            vendor.first_contact_url_path(
                d.model,
                d.mac,
                d.ztprov_user.as_str(),
                d.ztprov_pass.as_str()
            )
        ),
        prov_url: format!(
            "{base}{}",
            vendor.steady_url_path(d.model, d.mac, prov_user.as_str(), prov_pass.as_str())
        ),
        ztprov_user: d.ztprov_user,
        ztprov_pass: d.ztprov_pass,
        ztprov_expires_at: d.ztprov_expires_at,
        ztprov_used_at: d.ztprov_used_at,
        prov_credentials: t.prov_scope,
        prov_user,
        prov_pass,
    })
}

#[utoipa::path(patch, path = "/devices/{mac}", tag = "devices", params(("mac" = String, Path, description = "the MAC, 12 hex digits (separators allowed)")), request_body = api::DevicePatch, responses((status = 200, description = "the changed device", body = api::Device)))]
pub(super) async fn patch_device(
    State(st): State<Arc<AdminState>>,
    Path(mac): Path<String>,
    ApiJson(req): ApiJson<api::DevicePatch>,
) -> ApiResult<Json<api::Device>> {
    Ok(Json(patch(&st, path_mac(&mac)?, req).await?))
}

/// Changes a device; the console's Save comes here too. It is served at once.
pub(crate) async fn patch(
    st: &AdminState,
    mac: Mac,
    req: api::DevicePatch,
) -> ApiResult<api::Device> {
    let mut new_lines = req.lines.map(|l| lines(l, 1));
    let mut new_settings = req.settings.map(settings).transpose()?;
    let add_settings = req.add_settings.map(settings).transpose()?;
    if req.add_lines.is_some() || add_settings.is_some() {
        // Added to what is there (or to what this same call replaces it with).
        let cur = fetch_device(st, mac).await?;
        if let Some(items) = req.add_lines {
            let mut all = new_lines.take().unwrap_or(cur.lines);
            let next = all.iter().map(|l| l.idx).max().unwrap_or(0);
            all.extend(lines(items, next + 1));
            new_lines = Some(all);
        }
        if let Some(extra) = add_settings {
            new_settings = Some(upsert_settings(
                new_settings.take().unwrap_or(cur.settings),
                extra,
            ));
        }
    }
    let patch = DevicePatch {
        model: req.model,
        tenant: req.tenant,
        name: req.name,
        serial: req.serial,
        lines: new_lines,
        settings: new_settings,
        ..DevicePatch::default()
    };
    let d = st.store.update_device(mac, &patch).await?;
    st.written(false).await;
    Ok(view::device(&d, &st.dir.plans()))
}

/// See [`super::queue::remove`]: a registered device is deregistered first
/// (`202`), one never registered goes at once (`200`).
#[utoipa::path(delete, path = "/devices/{mac}", tag = "devices", params(("mac" = String, Path, description = "the MAC, 12 hex digits (separators allowed)"), api::DeleteQuery), responses((status = 200, description = "deleted at once (never registered, or force)", body = touchless_api::daemon::Removed), (status = 202, description = "deregistration queued; deleted once the provider confirms", body = touchless_api::daemon::Removed)))]
pub(super) async fn delete_device(
    State(st): State<Arc<AdminState>>,
    Path(mac): Path<String>,
    ApiQuery(q): ApiQuery<api::DeleteQuery>,
) -> ApiResult<(StatusCode, Json<Removed>)> {
    super::queue::remove(&st, &[path_mac(&mac)?], q.force).await
}

/// The exact bytes the provisioning server sends for this device.
#[utoipa::path(get, path = "/devices/{mac}/preview", tag = "devices", params(("mac" = String, Path, description = "the MAC, 12 hex digits (separators allowed)"), api::PreviewQuery), responses((status = 200, description = "the file as the phone gets it", body = String, content_type = "text/xml")))]
pub(super) async fn preview(
    State(st): State<Arc<AdminState>>,
    Path(mac): Path<String>,
    ApiQuery(q): ApiQuery<api::PreviewQuery>,
) -> ApiResult<Response> {
    let body = rendered(&st, path_mac(&mac)?, q.file.as_deref().unwrap_or("prov")).await?;
    Ok(([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], body).into_response())
}

/// A device's file as the phone gets it (`prov`, `ztprov` or `model`); the
/// console's device page shows the same.
pub(crate) async fn rendered(st: &AdminState, mac: Mac, file: &str) -> ApiResult<String> {
    let d = fetch_device(st, mac).await?;
    let t = fetch_tenant(st, &d.tenant).await?;
    let base = st.dir.public_url();
    let reported = d.firmware.clone();
    let d = touchless_provisioning::render::DeviceFacts::from(d);
    let body = match file {
        "prov" => {
            // As the phone gets it from the version it last reported.
            let plans = st.dir.plans();
            let fw = plans.resolve(d.mac, &t.id, d.model).map(|p| {
                let stage = p.next(reported.as_deref());
                let pair = touchless_provisioning::render::prov_credentials(&t, &d);
                p.firmware(stage, base, d.model, pair)
            });
            st.renderer.device(base, &t, &d, fw)
        }
        "ztprov" => st.renderer.ztprov(base, &t, &d),
        "model" => st.renderer.model(&t, d.model),
        other => {
            return Err(ApiError::field(
                "file",
                other,
                "file must be prov, ztprov or model",
            ));
        }
    }
    .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()))?;
    Ok(String::from_utf8_lossy(&body).into_owned())
}

#[utoipa::path(get, path = "/devices/{mac}/pin", tag = "devices", params(("mac" = String, Path, description = "the MAC, 12 hex digits (separators allowed)")), responses((status = 200, description = "the PIN its cloud holds", body = api::DevicePin), (status = 502, description = "the cloud did not answer, in its words")))]
pub(super) async fn device_pin(
    State(st): State<Arc<AdminState>>,
    Path(mac): Path<String>,
) -> ApiResult<Json<api::DevicePin>> {
    Ok(Json(pin(&st, path_mac(&mac)?).await?))
}

/// Asks the device's provider for its PIN.
pub(crate) async fn pin(st: &AdminState, mac: Mac) -> ApiResult<api::DevicePin> {
    let d = fetch_device(st, mac).await?;
    let t = fetch_tenant(st, &d.tenant).await?;
    let providers = st.store.list_providers().await?;
    let vendor = d.model.vendor();
    let p = touchless_daemon::queue::provider_of(&providers, &t, vendor).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            touchless_daemon::queue::missing_provider(&t, vendor),
        )
    })?;
    let daemon = st.daemon.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the daemon is disabled on this node",
        )
    })?;
    let api = daemon
        .client(p)
        .map_err(|m| ApiError::new(StatusCode::BAD_GATEWAY, m))?;
    let pins = api
        .pins(&[mac])
        .await
        .map_err(|e| ApiError::new(StatusCode::BAD_GATEWAY, format!("provider {}: {e}", p.name)))?;
    Ok(api::DevicePin {
        provider: p.name.clone(),
        pin: pins
            .into_iter()
            .find(|(m, _)| *m == mac)
            .map(|(_, pin)| pin),
    })
}

#[utoipa::path(get, path = "/devices/{mac}/uploads", tag = "devices", params(("mac" = String, Path, description = "the MAC, 12 hex digits (separators allowed)")), responses((status = 200, description = "what the phone uploaded, newest first (the newest 5 of each kind, as long as its contacts are kept)", body = Vec<api::Upload>)))]
pub(super) async fn uploads(
    State(st): State<Arc<AdminState>>,
    Path(mac): Path<String>,
) -> ApiResult<Json<Vec<api::Upload>>> {
    let mac = path_mac(&mac)?;
    let list = st.store.uploads(mac).await?;
    Ok(Json(list.into_iter().map(view::upload).collect()))
}

#[utoipa::path(get, path = "/devices/{mac}/uploads/{id}", tag = "devices", params(("mac" = String, Path, description = "the MAC, 12 hex digits (separators allowed)"), ("id" = i64, Path, description = "the upload's id")), responses((status = 200, description = "the bytes the phone sent, as a download", content_type = "application/octet-stream", body = Vec<u8>)))]
pub(super) async fn upload(
    State(st): State<Arc<AdminState>>,
    Path((mac, id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let mac = path_mac(&mac)?;
    let id: i64 = id.parse().map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!(
                "upload id {:?} is not a number",
                touchless_domain::truncate(&id)
            ),
        )
    })?;
    let (u, content) = upload_of(&st, mac, id).await?;
    Ok(download(mac, &u.kind, content))
}

/// One upload of a device, or a 404 that says which.
pub(crate) async fn upload_of(
    st: &AdminState,
    mac: Mac,
    id: i64,
) -> ApiResult<(touchless_store::Upload, Vec<u8>)> {
    st.store.upload_content(mac, id).await?.ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            format!("device {mac} has no upload {id}"),
        )
    })
}

/// Bytes a phone sent, as a download: never rendered by a browser.
pub(crate) fn download(mac: Mac, kind: &str, content: Vec<u8>) -> Response {
    let name = format!("{}-{kind}", mac.to_string().to_ascii_lowercase());
    (
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        ],
        content,
    )
        .into_response()
}

#[utoipa::path(get, path = "/devices/{mac}/contacts", tag = "devices", params(("mac" = String, Path, description = "the MAC, 12 hex digits (separators allowed)"), api::ContactsQuery), responses((status = 200, description = "the phone's requests, newest first", body = Vec<api::Contact>)))]
pub(super) async fn contacts(
    State(st): State<Arc<AdminState>>,
    Path(mac): Path<String>,
    ApiQuery(q): ApiQuery<api::ContactsQuery>,
) -> ApiResult<Json<Vec<api::Contact>>> {
    let mac = path_mac(&mac)?;
    let limit = q.limit.unwrap_or(50).clamp(1, 1000);
    let cs = st.store.contacts(mac, limit).await?;
    Ok(Json(cs.into_iter().map(view::contact).collect()))
}
