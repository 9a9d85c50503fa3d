//! Adding and editing a device in the console: model, tenant, name, its
//! lines and settings. Lines are written `EXT:PASSWORD[:DISPLAY]`, one per
//! line; on Edit the SIP passwords are not shown, and a line left without
//! one keeps the password its extension has.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use http::StatusCode;
use minijinja::context;
use serde::Deserialize;
use touchless_api::devices as api;
use touchless_domain::{DisplayText, Mac, SerialNumber, SipPassword, SipUser, TenantId};
use touchless_phones::PhoneModel;

use super::respond::{audit, internal, plain, render};
use super::session::{NoFields, Posted, Viewer};
use super::ConsoleState;
use crate::admin;

#[derive(Deserialize, Default)]
pub struct DeviceForm {
    #[serde(default)]
    mac: String,
    #[serde(default)]
    model: String,
    #[serde(default)]
    tenant: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    serial: String,
    #[serde(default)]
    lines: String,
    #[serde(default)]
    settings: String,
}

/// What the form shows: the values as typed (so a refused form keeps them).
fn values(f: &DeviceForm) -> minijinja::Value {
    context! { mac => f.mac, model => f.model, tenant => f.tenant, name => f.name, lines => f.lines, settings => f.settings }
}

async fn form_page(
    st: &ConsoleState,
    v: &Viewer,
    editing: Option<Mac>,
    f: &DeviceForm,
    note: &str,
    status: StatusCode,
) -> Response {
    let tenants: Vec<String> = match st.admin.store.list_tenants().await {
        Ok(t) => t
            .into_iter()
            .filter(|t| v.sees(&t.id))
            .map(|t| t.id.into_string())
            .collect(),
        Err(e) => return internal(e),
    };
    let page = render(
        st,
        "device_form.html",
        context! {
            ..v.frame("devices"),
            ..context! { editing => editing.map(|m| m.to_string()), f => values(f), tenants => tenants, note => note }
        },
    );
    (status, page).into_response()
}

/// The lines of the textarea. `keep`: the device's current lines, whose
/// passwords fill in those left empty.
fn lines(text: &str, keep: &[touchless_store::Line]) -> Result<Vec<api::LineIn>, String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .enumerate()
        .map(|(i, item)| {
            let at = |why: String| format!("Lines, line {}: {why}", i + 1);
            let mut parts = item.splitn(3, ':');
            let ext = SipUser::parse(parts.next().unwrap_or("")).map_err(|e| at(e.to_string()))?;
            let pass = match parts.next().unwrap_or("") {
                "" => keep
                    .iter()
                    .find(|l| l.extension == ext)
                    .map(|l| l.sip_password.clone())
                    .ok_or_else(|| {
                        at(format!(
                            "extension {ext} needs a SIP password (EXT:PASSWORD)"
                        ))
                    })?,
                p => SipPassword::parse(p).map_err(|e| at(e.to_string()))?,
            };
            let display = parts
                .next()
                .filter(|d| !d.is_empty())
                .map(DisplayText::parse)
                .transpose()
                .map_err(|e| at(e.to_string()))?;
            Ok(api::LineIn {
                idx: None,
                extension: ext,
                auth_user: None,
                sip_password: pass,
                display_name: display,
            })
        })
        .collect()
}

/// The form's serial number; empty is none.
fn serial_of(f: &DeviceForm) -> Result<Option<SerialNumber>, String> {
    match f.serial.trim() {
        "" => Ok(None),
        s => SerialNumber::parse(s)
            .map(Some)
            .map_err(|e| format!("Serial number: {e}")),
    }
}

fn tenant_of(v: &Viewer, f: &DeviceForm) -> Result<TenantId, String> {
    let t = TenantId::parse(f.tenant.trim()).map_err(|e| format!("Tenant: {e}"))?;
    if v.sees(&t) {
        Ok(t)
    } else {
        Err(format!(
            "Tenant: you may add devices to {} only",
            v.user.tenant.as_ref().map_or("", |t| t.as_str())
        ))
    }
}

pub async fn new_form(State(st): State<Arc<ConsoleState>>, v: Viewer) -> Response {
    let f = DeviceForm {
        model: touchless_phones::example_model().to_string(),
        tenant: v
            .user
            .tenant
            .as_ref()
            .map(|t| t.to_string())
            .unwrap_or_default(),
        ..DeviceForm::default()
    };
    form_page(&st, &v, None, &f, "", StatusCode::OK).await
}

pub async fn add(
    State(st): State<Arc<ConsoleState>>,
    Posted(v, f): Posted<DeviceForm>,
) -> Response {
    let req = (|| -> Result<api::NewDevice, String> {
        Ok(api::NewDevice {
            vendor: None,
            mac: Mac::parse(f.mac.trim()).map_err(|e| format!("MAC: {e}"))?,
            model: PhoneModel::parse(f.model.trim()).map_err(|e| format!("Model: {e}"))?,
            tenant: tenant_of(&v, &f)?,
            name: match f.name.trim() {
                "" => None,
                n => Some(DisplayText::parse(n).map_err(|e| format!("Name: {e}"))?),
            },
            serial: serial_of(&f)?,
            lines: Some(lines(&f.lines, &[])?),
            settings: Some(admin::import::settings_of_lines(&f.settings)?),
        })
    })();
    let req = match req {
        Ok(r) => r,
        Err(m) => return form_page(&st, &v, None, &f, &m, StatusCode::BAD_REQUEST).await,
    };
    let mac = req.mac;
    match admin::devices::create(&st.admin, vec![req]).await {
        Ok(_) => {
            audit(
                &st,
                v.user.name.as_str(),
                TenantId::parse(f.tenant.trim()).ok(),
                "device-add",
                &mac.to_string(),
                "",
            )
            .await;
            Redirect::to(&format!("/devices/{mac}")).into_response()
        }
        Err(e) => {
            let (_, m) = e.status_and_message();
            form_page(&st, &v, None, &f, m, StatusCode::BAD_REQUEST).await
        }
    }
}

/// The device a path names, if the viewer may see it.
async fn visible(
    st: &ConsoleState,
    v: &Viewer,
    mac: &str,
) -> Result<touchless_store::Device, Response> {
    let not_found = || plain(StatusCode::NOT_FOUND, "There is no such device.");
    let mac = Mac::parse(mac).map_err(|_| not_found())?;
    match st.admin.store.get_device(mac).await {
        Ok(Some(d)) if v.sees(&d.tenant) => Ok(d),
        Ok(_) => Err(not_found()),
        Err(e) => Err(internal(e)),
    }
}

pub async fn edit_form(
    State(st): State<Arc<ConsoleState>>,
    v: Viewer,
    Path(mac): Path<String>,
) -> Response {
    let d = match visible(&st, &v, &mac).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let f = DeviceForm {
        mac: d.mac.to_string(),
        model: d.model.to_string(),
        tenant: d.tenant.to_string(),
        name: d.name.to_string(),
        serial: d.serial.as_ref().map(|s| s.to_string()).unwrap_or_default(),
        lines: d
            .lines
            .iter()
            .map(|l| match l.display_name.as_str() {
                "" => format!("{}:", l.extension),
                n => format!("{}::{n}", l.extension),
            })
            .collect::<Vec<_>>()
            .join("\n"),
        settings: d
            .settings
            .iter()
            .map(admin::import::setting_text)
            .collect::<Vec<_>>()
            .join("\n"),
    };
    form_page(&st, &v, Some(d.mac), &f, "", StatusCode::OK).await
}

pub async fn save(
    State(st): State<Arc<ConsoleState>>,
    Path(mac): Path<String>,
    Posted(v, f): Posted<DeviceForm>,
) -> Response {
    let d = match visible(&st, &v, &mac).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let req = (|| -> Result<api::DevicePatch, String> {
        Ok(api::DevicePatch {
            model: Some(PhoneModel::parse(f.model.trim()).map_err(|e| format!("Model: {e}"))?),
            tenant: Some(tenant_of(&v, &f)?),
            name: Some(DisplayText::parse(f.name.trim()).map_err(|e| format!("Name: {e}"))?),
            serial: Some(serial_of(&f)?),
            lines: Some(lines(&f.lines, &d.lines)?),
            settings: Some(admin::import::settings_of_lines(&f.settings)?),
            ..api::DevicePatch::default()
        })
    })();
    let req = match req {
        Ok(r) => r,
        Err(m) => return form_page(&st, &v, Some(d.mac), &f, &m, StatusCode::BAD_REQUEST).await,
    };
    match admin::devices::patch(&st.admin, d.mac, req).await {
        Ok(saved) => {
            audit(
                &st,
                v.user.name.as_str(),
                Some(saved.tenant.clone()),
                "device-edit",
                &d.mac.to_string(),
                "",
            )
            .await;
            Redirect::to(&format!("/devices/{}", d.mac)).into_response()
        }
        Err(e) => {
            let (_, m) = e.status_and_message();
            form_page(&st, &v, Some(d.mac), &f, m, StatusCode::BAD_REQUEST).await
        }
    }
}

/// Delete: a device that may be registered is deregistered first and goes
/// when its provider has let it go; one never registered goes at once.
pub async fn delete(
    State(st): State<Arc<ConsoleState>>,
    Path(mac): Path<String>,
    Posted(v, _): Posted<NoFields>,
) -> Response {
    let d = match visible(&st, &v, &mac).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    match admin::queue::remove(&st.admin, &[d.mac], false).await {
        Ok((_, axum::Json(r))) => {
            let what = if r.removed.is_empty() {
                "deregistering, then delete"
            } else {
                "deleted"
            };
            audit(
                &st,
                v.user.name.as_str(),
                Some(d.tenant.clone()),
                "device-delete",
                &d.mac.to_string(),
                what,
            )
            .await;
            if r.removed.is_empty() {
                Redirect::to(&format!("/devices/{}", d.mac)).into_response()
            } else {
                Redirect::to("/devices").into_response()
            }
        }
        Err(e) => super::respond::api_error(&e),
    }
}

/// Rotate credentials: new `/prov` credentials and a register pushing new
/// ztprov ones (see `admin::queue::rotate_credentials`).
pub async fn rotate(
    State(st): State<Arc<ConsoleState>>,
    Path(mac): Path<String>,
    Posted(v, _): Posted<NoFields>,
) -> Response {
    let d = match visible(&st, &v, &mac).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    match admin::queue::rotate_credentials(&st.admin, d.mac).await {
        Ok(_) => {
            audit(
                &st,
                v.user.name.as_str(),
                Some(d.tenant.clone()),
                "device-rotate",
                &d.mac.to_string(),
                "",
            )
            .await;
            Redirect::to(&format!("/devices/{}", d.mac)).into_response()
        }
        Err(e) => super::respond::api_error(&e),
    }
}
