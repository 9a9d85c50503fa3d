//! The device list and a device's page: filters and pages of 50, the
//! selection that Register and Deregister act on, and the live rows the
//! list's script refreshes while the queue works.

use std::sync::Arc;

use axum::extract::{Path, Query, Request, State};
use axum::response::{IntoResponse, Redirect, Response};
use http::{HeaderMap, StatusCode};
use minijinja::context;
use serde::Deserialize;
use touchless_domain::{DeviceStatus, Mac, TenantId};
use touchless_phones::PhoneModel;
use touchless_store::DeviceFilter;

use super::respond::{api_error, audit, internal, plain, render, wants_json, Refusal};
use super::session::{Posted, Viewer};
use super::ConsoleState;
use crate::admin;

/// Devices per page of the list.
const PAGE: u32 = 50;

#[derive(Deserialize, Default)]
pub struct DeviceQuery {
    #[serde(default)]
    tenant: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    model: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    firmware: String,
    #[serde(default)]
    page: u32,
}

/// The store's filter for a list's query: a tenant admin's is always their
/// tenant, whatever the query says.
fn filter_of(v: &Viewer, q: &DeviceQuery) -> Result<DeviceFilter, Refusal> {
    let bad = |field: &str, value: &str| {
        Refusal::bad(format!(
            "The filter {field} = \"{value}\" is not one this list knows."
        ))
    };
    let pick = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_owned());
    let tenant = match pick(&q.tenant).map(|t| TenantId::parse(&t)) {
        None => None,
        Some(Ok(t)) => Some(t),
        Some(Err(_)) => return Err(bad("tenant", &q.tenant)),
    };
    let tenant = if v.is_admin() {
        tenant
    } else {
        v.user.tenant.clone()
    };
    let status = match pick(&q.status).map(|s| s.parse::<DeviceStatus>()) {
        None => None,
        Some(Ok(s)) => Some(s),
        Some(Err(_)) => return Err(bad("status", &q.status)),
    };
    let model = match pick(&q.model).map(|m| PhoneModel::parse(&m)) {
        None => None,
        Some(Ok(m)) => Some(m),
        Some(Err(_)) => return Err(bad("model", &q.model)),
    };
    let firmware = match pick(&q.firmware).map(|f| touchless_domain::FirmwareFilter::parse(&f)) {
        None => None,
        Some(Ok(f)) => Some(f),
        Some(Err(_)) => return Err(bad("firmware", &q.firmware)),
    };
    Ok(DeviceFilter {
        tenant,
        status,
        model,
        firmware,
        search: pick(&q.q).map(|s| s.to_lowercase()),
        // One more than a page: whether there is a next one.
        limit: Some(PAGE + 1),
        offset: q.page.saturating_mul(PAGE),
    })
}

pub async fn devices(
    State(st): State<Arc<ConsoleState>>,
    v: Viewer,
    Query(q): Query<DeviceQuery>,
) -> Response {
    let filter = match filter_of(&v, &q) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    let tenant = filter.tenant.clone();
    let mut list = match st.admin.store.list_devices(&filter).await {
        Ok(l) => l,
        Err(e) => return internal(e),
    };
    let more = list.len() > PAGE as usize;
    list.truncate(PAGE as usize);
    let plans = st.admin.dir.plans();
    let rows: Vec<_> = list
        .iter()
        .map(|d| admin::view::device(d, &plans))
        .collect();
    let tenants: Vec<String> = if v.is_admin() {
        match st.admin.store.list_tenants().await {
            Ok(ts) => ts.into_iter().map(|t| t.id.into_string()).collect(),
            Err(e) => return internal(e),
        }
    } else {
        Vec::new()
    };
    let link = |page: u32| {
        let mut qs = form_urlencoded::Serializer::new(String::new());
        for (k, val) in [
            ("tenant", &q.tenant),
            ("status", &q.status),
            ("model", &q.model),
            ("q", &q.q),
            ("firmware", &q.firmware),
        ] {
            if !val.is_empty() {
                qs.append_pair(k, val);
            }
        }
        qs.append_pair("page", &page.to_string());
        format!("/devices?{}", qs.finish())
    };
    render(
        &st,
        "devices.html",
        context! {
            ..v.frame("devices"),
            ..context! {
                devices => rows,
                tenants => tenants,
                statuses => ["registered", "pending", "failed", "unregistered"],
                f => context! {
                    tenant => tenant.as_ref().map(|t| t.as_str()).unwrap_or(""),
                    status => q.status.trim(), model => q.model.trim(), q => q.q.trim(),
                    firmware => q.firmware.trim(),
                },
                page => q.page + 1,
                here => link(q.page),
                prev => (q.page > 0).then(|| link(q.page - 1)),
                next => more.then(|| link(q.page + 1)),
            }
        },
    )
}

pub async fn device(
    State(st): State<Arc<ConsoleState>>,
    v: Viewer,
    Path(mac): Path<String>,
) -> Response {
    let not_found = || plain(StatusCode::NOT_FOUND, "There is no such device.");
    let Ok(mac) = Mac::parse(&mac) else {
        return not_found();
    };
    let d = match st.admin.store.get_device(mac).await {
        Ok(Some(d)) => d,
        Ok(None) => return not_found(),
        Err(e) => return internal(e),
    };
    // Another tenant's device does not exist, as far as a tenant admin knows.
    if !v.sees(&d.tenant) {
        return not_found();
    }
    let creds = match admin::devices::credentials(&st.admin, mac).await {
        Ok(c) => c,
        Err(e) => return api_error(&e),
    };
    let contacts: Vec<_> = match st.admin.store.contacts(mac, 20).await {
        Ok(c) => c
            .into_iter()
            .map(|k| {
                // The firmware the phone said it runs, from its User-Agent.
                let firmware = touchless_phones::parse_user_agent(&k.user_agent)
                    .map(|ua| ua.firmware)
                    .unwrap_or_default();
                context! { at => k.at, ip => k.ip, path => k.path, status => k.status, user_agent => k.user_agent, firmware => firmware }
            })
            .collect(),
        Err(e) => return internal(e),
    };
    let uploads: Vec<_> = match st.admin.store.uploads(mac).await {
        Ok(u) => u.into_iter().map(admin::view::upload).collect(),
        Err(e) => return internal(e),
    };
    let events: Vec<_> = match st.admin.store.events_of(mac, 20).await {
        Ok(e) => e.into_iter().map(admin::view::event).collect(),
        Err(e) => return internal(e),
    };
    // A template error is the admin's to see here, not a failure of the page.
    let file_of = |which: &'static str| {
        let admin = Arc::clone(&st.admin);
        async move {
            match admin::devices::rendered(&admin, mac, which).await {
                Ok(f) => f,
                Err(e) => format!("(cannot be rendered: {})", e.status_and_message().1),
            }
        }
    };
    let (file, ztprov_file) = (file_of("prov").await, file_of("ztprov").await);
    // A URL that carries a pair shows its password only when asked.
    let ztprov_shown = touchless_phones::pair::mask(&creds.ztprov_url, creds.ztprov_pass.as_str());
    let prov_shown = touchless_phones::pair::mask(&creds.prov_url, creds.prov_pass.as_str());
    render(
        &st,
        "device.html",
        context! {
            ..v.frame("devices"),
            ..context! {
                d => admin::view::device(&d, &st.admin.dir.plans()),
                ztprov_shown => ztprov_shown,
                prov_shown => prov_shown,
                c => creds,
                contacts => contacts,
                uploads => uploads,
                events => events,
                file => file,
                ztprov_file => ztprov_file,
            }
        },
    )
}

/// The PIN the device's cloud holds, asked when the admin clicks for it (a
/// page view does not wait on a cloud).
pub async fn pin(
    State(st): State<Arc<ConsoleState>>,
    v: Viewer,
    Path(mac): Path<String>,
) -> Response {
    let Ok(mac) = Mac::parse(&mac) else {
        return plain(StatusCode::NOT_FOUND, "There is no such device.");
    };
    match st.admin.store.get_device(mac).await {
        Ok(Some(d)) if v.sees(&d.tenant) => {}
        Ok(_) => return plain(StatusCode::NOT_FOUND, "There is no such device."),
        Err(e) => return internal(e),
    }
    match admin::devices::pin(&st.admin, mac).await {
        Ok(p) => match p.pin {
            Some(pin) => plain(
                StatusCode::OK,
                &format!("PIN {pin} (from provider {})", p.provider),
            ),
            None => plain(
                StatusCode::OK,
                &format!("Provider {} holds no PIN for this phone.", p.provider),
            ),
        },
        Err(e) => {
            let (status, m) = e.status_and_message();
            plain(status, m)
        }
    }
}

/// A file the phone uploaded, as a download, for whoever sees the device.
pub async fn upload(
    State(st): State<Arc<ConsoleState>>,
    v: Viewer,
    Path((mac, id)): Path<(String, String)>,
) -> Response {
    let not_found = || plain(StatusCode::NOT_FOUND, "There is no such upload.");
    let (Ok(mac), Ok(id)) = (Mac::parse(&mac), id.parse::<i64>()) else {
        return not_found();
    };
    match st.admin.store.get_device(mac).await {
        Ok(Some(d)) if v.sees(&d.tenant) => {}
        Ok(_) => return not_found(),
        Err(e) => return internal(e),
    }
    match admin::devices::upload_of(&st.admin, mac, id).await {
        Ok((u, content)) => admin::devices::download(mac, &u.kind, content),
        Err(_) => not_found(),
    }
}

/// The devices a selection form names: its checked MACs, or with `all`
/// every device its filter matches; only those the viewer sees.
async fn selected(
    st: &ConsoleState,
    v: &Viewer,
    form: &[(String, String)],
) -> Result<Vec<Mac>, Refusal> {
    let field = |k: &str| {
        form.iter()
            .find(|(n, _)| n == k)
            .map_or("", |(_, val)| val.as_str())
    };
    let macs: Vec<Mac> = if field("all") == "1" {
        let q = DeviceQuery {
            tenant: field("tenant").to_owned(),
            status: field("status").to_owned(),
            model: field("model").to_owned(),
            q: field("q").to_owned(),
            firmware: field("firmware").to_owned(),
            page: 0,
        };
        let mut filter = filter_of(v, &q)?;
        filter.limit = None;
        filter.offset = 0;
        st.admin
            .store
            .list_devices(&filter)
            .await
            .map_err(Refusal::broken)?
            .iter()
            .map(|d| d.mac)
            .collect()
    } else {
        let mut macs = Vec::new();
        for (_, m) in form.iter().filter(|(n, _)| n == "mac") {
            macs.push(Mac::parse(m).map_err(|e| Refusal::bad(e.to_string()))?);
        }
        if !v.is_admin() {
            let found = st
                .admin
                .store
                .get_devices(&macs)
                .await
                .map_err(Refusal::broken)?;
            if found.len() < macs.len() || found.iter().any(|d| !v.sees(&d.tenant)) {
                return Err(Refusal::Said(
                    StatusCode::NOT_FOUND,
                    "There is no such device.".into(),
                ));
            }
        }
        macs
    };
    if macs.is_empty() {
        return Err(Refusal::bad(
            "No devices were selected: tick some, or \"all that match\".",
        ));
    }
    Ok(macs)
}

/// Register or Deregister for the devices a list's form selected. A script
/// posts it and gets JSON (the page stays, and its rows update); without
/// scripts the form posts and the list comes back.
pub async fn act(
    State(st): State<Arc<ConsoleState>>,
    headers: HeaderMap,
    // Pairs, not a struct: `mac` comes once per ticked row.
    Posted(v, form): Posted<Vec<(String, String)>>,
) -> Response {
    let field = |k: &str| {
        form.iter()
            .find(|(n, _)| n == k)
            .map_or("", |(_, val)| val.as_str())
    };
    let action = field("action");
    if !["register", "deregister", "delete"].contains(&action) {
        return plain(
            StatusCode::BAD_REQUEST,
            &format!("\"{action}\" is not something devices can be asked to do."),
        );
    }
    let macs = match selected(&st, &v, &form).await {
        Ok(m) => m,
        Err(r) => return r.into_response(),
    };
    let mut done = match action {
        "delete" => match admin::queue::remove(&st.admin, &macs, false).await {
            Ok((_, axum::Json(r))) => Acted {
                message: format!(
                    "{} device(s) deleted; {} being deregistered first, deleted once their provider lets them go.",
                    r.removed.len(),
                    r.deregistering.len()
                ),
                pending: r.deregistering,
                removed: r.removed,
                all: false,
            },
            Err(e) => return api_error(&e),
        },
        _ => {
            let kind = if action == "register" {
                touchless_store::Action::Register
            } else {
                touchless_store::Action::Deregister
            };
            match admin::queue::enqueue_macs(&st.admin, kind, &macs).await {
                Ok(q) => Acted {
                    message: format!("{} device(s) queued to {action}.", q.queued),
                    pending: macs.clone(),
                    removed: Vec::new(),
                    all: false,
                },
                Err(e) => return api_error(&e),
            }
        }
    };
    if field("all") == "1" {
        done.all = true;
        done.pending.clear();
        done.removed.clear();
    }
    audit(
        &st,
        v.user.name.as_str(),
        v.user.tenant.clone(),
        action,
        &format!("{} device(s)", macs.len()),
        &macs
            .iter()
            .take(20)
            .map(|m| m.to_string())
            .collect::<Vec<_>>()
            .join(" "),
    )
    .await;
    if wants_json(&headers) {
        return axum::Json(done).into_response();
    }
    let back = field("back");
    let back = if back.starts_with("/devices") {
        back
    } else {
        "/devices"
    };
    Redirect::to(back).into_response()
}

/// What a selection's action did, for the list's script: its sentence, the
/// rows now pending and those gone.
#[derive(serde::Serialize)]
struct Acted {
    message: String,
    pending: Vec<Mac>,
    removed: Vec<Mac>,
    /// The selection was "all that match": the lists are left empty (they
    /// may be 100,000 long) and every row on screen is concerned.
    all: bool,
}

#[derive(serde::Serialize)]
struct LiveRow {
    mac: Mac,
    status: DeviceStatus,
    last_message: String,
    registered_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// The status of the given rows, for the list's script to refresh them in
/// place while the queue works.
pub async fn live(State(st): State<Arc<ConsoleState>>, v: Viewer, req: Request) -> Response {
    let macs: Vec<Mac> = form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
        .filter(|(k, _)| k == "mac")
        .filter_map(|(_, m)| Mac::parse(&m).ok())
        .take(PAGE as usize)
        .collect();
    let found = match st.admin.store.get_devices(&macs).await {
        Ok(f) => f,
        Err(e) => return internal(e),
    };
    let rows: Vec<LiveRow> = found
        .into_iter()
        .filter(|d| v.sees(&d.tenant))
        .map(|d| LiveRow {
            mac: d.mac,
            status: d.status,
            last_message: d.last_message,
            registered_at: d.registered_at,
        })
        .collect();
    axum::Json(rows).into_response()
}
