//! The console's pages: sign-in and out, the dashboard, the device list and
//! a device's page. Each renders `touchless_api` types (through the admin
//! API's own `view` functions), so a page shows what the JSON API says.

use std::sync::Arc;

use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use http::{header, HeaderMap, StatusCode};
use minijinja::context;
use serde::Deserialize;
use touchless_domain::{DeviceStatus, Mac, PhoneModel, TenantId, UserName};
use touchless_store::{DeviceFilter, EventState, NewAudit};

use super::session::{self, Viewer};
use super::ConsoleState;
use crate::admin;
use crate::secret::random_token;

/// Devices per page of the list.
const PAGE: u32 = 50;

/// A page with one message and no chrome: errors, refusals. Never a trace.
pub fn plain(status: StatusCode, message: &str) -> Response {
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{code} · touchless</title>\
         <link rel=\"stylesheet\" href=\"/static/console.css\"></head><body class=\"plain\"><main>\
         <h1>{code}</h1><p>{}</p><p><a href=\"/\">Back to the console</a></p></main></body></html>",
        minijinja::HtmlEscape(message),
        code = status.as_u16(),
    );
    (status, Html(body)).into_response()
}

/// Why a page answers with a plain page instead of itself: a refusal whose
/// sentence the user can act on, or a failure on our side (logged where it
/// happened).
pub enum Refusal {
    Said(StatusCode, String),
    Broken,
}

impl Refusal {
    fn bad(message: impl Into<String>) -> Self {
        Refusal::Said(StatusCode::BAD_REQUEST, message.into())
    }

    fn broken(e: impl std::fmt::Display) -> Self {
        tracing::error!(error = %e, "a console page failed");
        Refusal::Broken
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::Said(status, message) => plain(status, &message),
            Refusal::Broken => plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong on our side; it has been logged.",
            ),
        }
    }
}

/// The answer to a form whose CSRF token is missing or not the session's.
fn forged() -> Response {
    plain(
        StatusCode::FORBIDDEN,
        "This form has expired or did not come from this console. Go back, reload the page and try again.",
    )
}

fn internal(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "a console page failed");
    plain(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong on our side; it has been logged.",
    )
}

/// An admin API refusal as a page: its status and its sentence; a 5xx was
/// logged where it happened and says nothing more here.
fn api_error(e: &admin::extract::ApiError) -> Response {
    match e.status_and_message() {
        (s, _) if s.is_server_error() => {
            plain(s, "Something went wrong on our side; it has been logged.")
        }
        (s, m) => plain(s, m),
    }
}

fn render(st: &ConsoleState, name: &str, ctx: minijinja::Value) -> Response {
    match st.templates.get_template(name).and_then(|t| t.render(ctx)) {
        Ok(html) => Html(html).into_response(),
        Err(e) => internal(e),
    }
}

/// What every page's frame needs: who is signed in, and the CSRF token of
/// the sign-out form.
fn frame(v: &Viewer, section: &str) -> minijinja::Value {
    context! {
        user => v.user.name.as_str(),
        role => v.user.role.as_str(),
        tenant => v.user.tenant.as_ref().map(|t| t.as_str()),
        is_admin => v.is_admin(),
        csrf => v.csrf.as_str(),
        section => section,
    }
}

pub async fn login_form(State(st): State<Arc<ConsoleState>>) -> Response {
    render(&st, "login.html", context! {})
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    user: String,
    #[serde(default)]
    password: String,
}

/// A sign-in form posted from another site is refused: the browser says
/// where a form came from, and a session must not be planted from outside.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    origin
        .split_once("://")
        .is_some_and(|(_, rest)| rest == host)
}

pub async fn login(State(st): State<Arc<ConsoleState>>, req: Request) -> Response {
    let ip = session::client_ip(req.extensions());
    if !same_origin(req.headers()) {
        return plain(
            StatusCode::FORBIDDEN,
            "This sign-in form came from another site.",
        );
    }
    if let Err(wait) = st.sign_in_failures.check(ip) {
        return plain(
            StatusCode::TOO_MANY_REQUESTS,
            &format!(
                "Too many failed sign-ins from your address. Try again in {} seconds.",
                wait.as_secs().max(1)
            ),
        );
    }
    let Form(f) = match Form::<LoginForm>::from_request(req, &()).await {
        Ok(f) => f,
        Err(_) => return plain(StatusCode::BAD_REQUEST, "The sign-in form was incomplete."),
    };
    let user = match UserName::parse(f.user.trim()) {
        Ok(name) => st.admin.store.get_user(&name).await,
        Err(_) => Ok(None),
    };
    let user = match user {
        Ok(u) => u,
        Err(e) => return internal(e),
    };
    let stored = user
        .as_ref()
        .map(|u| u.password_hash.clone())
        .unwrap_or_else(|| session::dummy_hash().to_owned());
    let password = f.password;
    // argon2 takes tens of milliseconds of CPU: not on the async threads.
    let good = tokio::task::spawn_blocking(move || session::verify_password(&password, &stored))
        .await
        .unwrap_or(false);
    let user = match (user, good) {
        (Some(u), true) => u,
        _ => {
            st.sign_in_failures.charge(ip);
            tracing::info!(%ip, "a console sign-in failed");
            let page = render(
                &st,
                "login.html",
                context! { error => "Wrong user name or password.", user => f.user },
            );
            return (StatusCode::UNAUTHORIZED, page).into_response();
        }
    };
    let token = random_token(43);
    let id_hash = session::id_hash(&token);
    if let Err(e) = st
        .admin
        .store
        .create_session(&id_hash, &user.name, &random_token(32))
        .await
    {
        return internal(e);
    }
    audit(
        &st,
        &user.name.to_string(),
        user.tenant.clone(),
        "sign-in",
        &user.name.to_string(),
        "",
    )
    .await;
    let mut resp = Redirect::to("/").into_response();
    resp.headers_mut()
        .insert(header::SET_COOKIE, session::cookie(&token, st.secure));
    resp
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub async fn logout(
    State(st): State<Arc<ConsoleState>>,
    v: Viewer,
    Form(f): Form<CsrfForm>,
) -> Response {
    if !v.csrf_ok(&f.csrf) {
        return forged();
    }
    if let Err(e) = st.admin.store.delete_session(&v.id_hash).await {
        return internal(e);
    }
    audit(
        &st,
        v.user.name.as_str(),
        v.user.tenant.clone(),
        "sign-out",
        v.user.name.as_str(),
        "",
    )
    .await;
    let mut resp = Redirect::to("/login").into_response();
    resp.headers_mut()
        .insert(header::SET_COOKIE, session::cookie("", st.secure));
    resp
}

async fn audit(
    st: &ConsoleState,
    actor: &str,
    tenant: Option<TenantId>,
    action: &str,
    target: &str,
    detail: &str,
) {
    let entry = NewAudit {
        actor: actor.to_owned(),
        tenant,
        action: action.to_owned(),
        target: target.to_owned(),
        detail: detail.to_owned(),
    };
    if let Err(e) = st.admin.store.audit(&entry).await {
        tracing::error!(error = %e, action, "writing the audit log failed");
    }
}

pub async fn dashboard(State(st): State<Arc<ConsoleState>>, v: Viewer) -> Response {
    let tenant = if v.is_admin() {
        None
    } else {
        v.user.tenant.clone()
    };
    let counts = match st.admin.store.device_counts(tenant.as_ref()).await {
        Ok(c) => c,
        Err(e) => return internal(e),
    };
    let statuses = [
        DeviceStatus::Registered,
        DeviceStatus::Pending,
        DeviceStatus::Failed,
        DeviceStatus::Unregistered,
    ];
    let by_status: Vec<_> = statuses
        .iter()
        .map(|s| {
            let n = counts.iter().find(|(c, _)| c == s).map_or(0, |(_, n)| *n);
            context! { status => s.as_str(), count => n }
        })
        .collect();
    let total: u64 = counts.iter().map(|(_, n)| n).sum();
    let queue = match st.admin.store.event_counts().await {
        Ok(q) => q,
        Err(e) => return internal(e),
    };
    let q = |s: EventState| queue.iter().find(|(c, _)| *c == s).map_or(0, |(_, n)| *n);
    render(
        &st,
        "dashboard.html",
        context! {
            ..frame(&v, "dashboard"),
            ..context! {
                total => total,
                by_status => by_status,
                // The queue is the installation's, not a tenant's.
                queue => v.is_admin().then(|| context! {
                    pending => q(EventState::Pending),
                    running => q(EventState::Running),
                    failed => q(EventState::Failed),
                }),
            }
        },
    )
}

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
    Ok(DeviceFilter {
        tenant,
        status,
        model,
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
    let rows: Vec<_> = list.iter().map(admin::view::device).collect();
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
            ..frame(&v, "devices"),
            ..context! {
                devices => rows,
                tenants => tenants,
                statuses => ["registered", "pending", "failed", "unregistered"],
                f => context! {
                    tenant => tenant.as_ref().map(|t| t.as_str()).unwrap_or(""),
                    status => q.status.trim(), model => q.model.trim(), q => q.q.trim(),
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
    let contacts = match st.admin.store.contacts(mac, 20).await {
        Ok(c) => c,
        Err(e) => return internal(e),
    };
    render(
        &st,
        "device.html",
        context! {
            ..frame(&v, "devices"),
            ..context! {
                d => admin::view::device(&d),
                c => creds,
                contacts => contacts,
            }
        },
    )
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
    v: Viewer,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let form: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let field = |k: &str| {
        form.iter()
            .find(|(n, _)| n == k)
            .map_or("", |(_, val)| val.as_str())
    };
    if !v.csrf_ok(field("csrf")) {
        return forged();
    }
    let action = match field("action") {
        "register" => touchless_store::Action::Register,
        "deregister" => touchless_store::Action::Deregister,
        other => {
            return plain(
                StatusCode::BAD_REQUEST,
                &format!("\"{other}\" is not something devices can be asked to do."),
            )
        }
    };
    let macs = match selected(&st, &v, &form).await {
        Ok(m) => m,
        Err(r) => return r.into_response(),
    };
    let queued = match admin::queue::enqueue_macs(&st.admin, action, &macs).await {
        Ok(q) => q,
        Err(e) => return api_error(&e),
    };
    let detail = format!("{} device(s)", queued.queued);
    audit(
        &st,
        v.user.name.as_str(),
        v.user.tenant.clone(),
        action.as_str(),
        &detail,
        &macs
            .iter()
            .take(20)
            .map(|m| m.to_string())
            .collect::<Vec<_>>()
            .join(" "),
    )
    .await;
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|a| a.to_str().ok())
        .is_some_and(|a| a.contains("application/json"));
    if wants_json {
        return axum::Json(queued).into_response();
    }
    let back = field("back");
    let back = if back.starts_with("/devices") {
        back
    } else {
        "/devices"
    };
    Redirect::to(back).into_response()
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
