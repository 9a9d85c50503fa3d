//! The Tenants pages: the list with Add, and one tenant's form (SIP
//! registrar, `/prov` credentials, mode, settings) with Save and Delete. A
//! tenant admin sees and edits their own tenant only, and neither adds,
//! deletes nor changes the mode.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use http::StatusCode;
use minijinja::context;
use serde::Deserialize;
use touchless_api::tenants as api;
use touchless_api::wire::Port;
use touchless_domain::{
    DisplayText, Host, ProvPassword, ProvScope, ProvUser, TenantId, TouchlessMode,
};

use super::respond::{audit, internal, plain, refusal, render};
use super::session::{NoFields, Posted, Viewer};
use super::ConsoleState;
use crate::admin;

async fn list_page(st: &ConsoleState, v: &Viewer, note: &str, status: StatusCode) -> Response {
    let tenants = match st.admin.store.list_tenants().await {
        Ok(t) => t,
        Err(e) => return internal(e),
    };
    let rows: Vec<api::Tenant> = tenants
        .iter()
        .filter(|t| v.sees(&t.id))
        .map(admin::view::tenant)
        .collect();
    let page = render(
        st,
        "tenants.html",
        context! { ..v.frame("tenants"), ..context! { tenants => rows, note => note } },
    );
    (status, page).into_response()
}

pub async fn tenants(State(st): State<Arc<ConsoleState>>, v: Viewer) -> Response {
    list_page(&st, &v, "", StatusCode::OK).await
}

/// The fields of both tenant forms, as typed.
#[derive(Deserialize, Default)]
pub struct TenantForm {
    #[serde(default)]
    id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    sip_host: String,
    #[serde(default)]
    sip_port: String,
    #[serde(default)]
    prov_user: String,
    /// Empty: generated on Add, unchanged on Save.
    #[serde(default)]
    prov_pass: String,
    #[serde(default)]
    mode: String,
    #[serde(default)]
    prov_credentials: String,
    /// One `NAME[IDX]=VALUE` per line.
    #[serde(default)]
    settings: String,
}

/// A field parsed, or the form's label and why not.
fn field<T, E: std::fmt::Display>(label: &str, r: Result<T, E>) -> Result<T, String> {
    r.map_err(|e| format!("{label}: {e}"))
}

fn optional<T, E: std::fmt::Display>(
    label: &str,
    s: &str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<Option<T>, String> {
    match s.trim() {
        "" => Ok(None),
        t => field(label, parse(t)).map(Some),
    }
}

fn port(s: &str) -> Result<Port, String> {
    match s.parse::<u16>() {
        Ok(p) if p > 0 => Ok(Port(p)),
        _ => Err("expected a port from 1 to 65535".into()),
    }
}

impl TenantForm {
    fn new_tenant(&self) -> Result<api::NewTenant, String> {
        Ok(api::NewTenant {
            id: field("Id", TenantId::parse(self.id.trim()))?,
            name: optional("Name", &self.name, DisplayText::parse)?,
            prov_user: optional("Provisioning user", &self.prov_user, ProvUser::parse)?,
            prov_pass: optional(
                "Provisioning password",
                &self.prov_pass,
                ProvPassword::parse,
            )?,
            sip_host: field("SIP host", Host::parse(self.sip_host.trim()))?,
            sip_port: optional("SIP port", &self.sip_port, port)?,
            mode: optional("Mode", &self.mode, str::parse::<TouchlessMode>)?,
            prov_credentials: optional(
                "Provisioning credentials",
                &self.prov_credentials,
                str::parse::<ProvScope>,
            )?,
            settings: Some(admin::import::settings_of_lines(&self.settings)?),
        })
    }

    fn patch(&self, may_set_mode: bool) -> Result<api::TenantPatch, String> {
        Ok(api::TenantPatch {
            name: Some(field("Name", DisplayText::parse(self.name.trim()))?),
            prov_user: optional("Provisioning user", &self.prov_user, ProvUser::parse)?,
            prov_pass: optional(
                "Provisioning password",
                &self.prov_pass,
                ProvPassword::parse,
            )?,
            sip_host: Some(field("SIP host", Host::parse(self.sip_host.trim()))?),
            sip_port: optional("SIP port", &self.sip_port, port)?,
            mode: if may_set_mode {
                optional("Mode", &self.mode, str::parse::<TouchlessMode>)?
            } else {
                None
            },
            prov_credentials: optional(
                "Provisioning credentials",
                &self.prov_credentials,
                str::parse::<ProvScope>,
            )?,
            settings: Some(admin::import::settings_of_lines(&self.settings)?),
            add_settings: None,
        })
    }
}

/// The labels the tenant forms show for the API's fields.
const LABELS: &[(&str, &str)] = &[("settings", "Settings")];

pub async fn add(
    State(st): State<Arc<ConsoleState>>,
    Posted(v, f): Posted<TenantForm>,
) -> Response {
    if !v.is_admin() {
        return plain(StatusCode::NOT_FOUND, "There is no such page.");
    }
    let req = match f.new_tenant() {
        Ok(r) => r,
        Err(m) => return list_page(&st, &v, &m, StatusCode::BAD_REQUEST).await,
    };
    match admin::tenants::create(&st.admin, req).await {
        Ok(t) => {
            audit(
                &st,
                v.user.name.as_str(),
                Some(t.id.clone()),
                "tenant-add",
                t.id.as_str(),
                "",
            )
            .await;
            Redirect::to(&format!("/tenants/{}", t.id)).into_response()
        }
        Err(e) => list_page(&st, &v, &refusal(&e, LABELS), StatusCode::BAD_REQUEST).await,
    }
}

async fn edit_page(
    st: &ConsoleState,
    v: &Viewer,
    id: &TenantId,
    note: &str,
    ok: bool,
    status: StatusCode,
) -> Response {
    let t = match admin::tenants::fetch_tenant(&st.admin, id).await {
        Ok(t) => admin::view::tenant(&t),
        Err(_) => return plain(StatusCode::NOT_FOUND, "There is no such tenant."),
    };
    let counts = match st.admin.store.device_counts(Some(id)).await {
        Ok(c) => c,
        Err(e) => return internal(e),
    };
    let devices: u64 = counts.iter().map(|(_, n)| n).sum();
    let text = t
        .settings
        .iter()
        .map(admin::import::setting_text)
        .collect::<Vec<_>>()
        .join("\n");
    let page = render(
        st,
        "tenant.html",
        context! { ..v.frame("tenants"), ..context! { t => t, settings => text, devices => devices, note => note, ok => ok } },
    );
    (status, page).into_response()
}

/// The tenant a path names, if the viewer may see it; others do not exist.
fn visible(v: &Viewer, id: &str) -> Option<TenantId> {
    TenantId::parse(id).ok().filter(|t| v.sees(t))
}

pub async fn tenant(
    State(st): State<Arc<ConsoleState>>,
    v: Viewer,
    Path(id): Path<String>,
) -> Response {
    match visible(&v, &id) {
        Some(id) => edit_page(&st, &v, &id, "", false, StatusCode::OK).await,
        None => plain(StatusCode::NOT_FOUND, "There is no such tenant."),
    }
}

pub async fn save(
    State(st): State<Arc<ConsoleState>>,
    Path(id): Path<String>,
    Posted(v, f): Posted<TenantForm>,
) -> Response {
    let Some(id) = visible(&v, &id) else {
        return plain(StatusCode::NOT_FOUND, "There is no such tenant.");
    };
    let req = match f.patch(v.is_admin()) {
        Ok(r) => r,
        Err(m) => return edit_page(&st, &v, &id, &m, false, StatusCode::BAD_REQUEST).await,
    };
    match admin::tenants::patch(&st.admin, id.clone(), req).await {
        Ok(_) => {
            audit(
                &st,
                v.user.name.as_str(),
                Some(id.clone()),
                "tenant-edit",
                id.as_str(),
                "",
            )
            .await;
            edit_page(&st, &v, &id, "Saved.", true, StatusCode::OK).await
        }
        Err(e) => {
            edit_page(
                &st,
                &v,
                &id,
                &refusal(&e, LABELS),
                false,
                StatusCode::BAD_REQUEST,
            )
            .await
        }
    }
}

/// Delete: refused, with the reason and a link, while devices remain.
pub async fn delete(
    State(st): State<Arc<ConsoleState>>,
    Path(id): Path<String>,
    Posted(v, _): Posted<NoFields>,
) -> Response {
    let Some(id) = visible(&v, &id).filter(|_| v.is_admin()) else {
        return plain(StatusCode::NOT_FOUND, "There is no such tenant.");
    };
    match st.admin.store.delete_tenant(&id).await {
        Ok(()) => {
            st.admin.written(false).await;
            audit(
                &st,
                v.user.name.as_str(),
                Some(id.clone()),
                "tenant-delete",
                id.as_str(),
                "",
            )
            .await;
            list_page(&st, &v, &format!("Tenant {id} deleted."), StatusCode::OK).await
        }
        Err(touchless_store::StoreError::Conflict(m)) => {
            edit_page(&st, &v, &id, &m, false, StatusCode::CONFLICT).await
        }
        Err(touchless_store::StoreError::NotFound { .. }) => {
            plain(StatusCode::NOT_FOUND, "There is no such tenant.")
        }
        Err(e) => internal(e),
    }
}
