//! The web console: server-rendered pages on the admin listener for the
//! admins who click rather than type. Templates and the stylesheet are
//! compiled into the binary; no script is needed for the basic flows, and
//! nothing is fetched from elsewhere at run time.
//!
//! - `session`: accounts' passwords, session cookies, CSRF, who may see what;
//! - `respond`: rendering, plain refusal pages, the audit line of a write;
//! - `pages` (sign-in, dashboard), `devices`, `tenants`, `providers`,
//!   `device_form` (add, edit, delete, rotate a device), `import` (devices
//!   from and to CSV), `events` (the queue, Retry), `portal` (the redirection service's
//!   companies, keys, endpoints and phones), `accounts`
//!   (one's password, the Users page, the audit log): the handlers, which read and
//!   write through the same calls and `touchless_api` types as the JSON
//!   admin API, so the console and the API cannot drift apart.

use std::sync::Arc;

use axum::routing::{get, post};
use axum::Router;
use minijinja::Environment;

use crate::admin::AdminState;
use touchless_runtime::limits::PerSource;

mod accounts;
mod device_form;
mod devices;
mod events;
mod firmware;
mod import;
mod pages;
mod portal;
mod providers;
mod respond;
pub mod session;
mod tenants;

pub struct ConsoleState {
    pub admin: Arc<AdminState>,
    templates: Environment<'static>,
    /// Whether the admin listener speaks TLS: cookies are then `Secure`.
    pub secure: bool,
    /// A session unused this long is over (`admin.console_idle_minutes`).
    pub idle: std::time::Duration,
    /// A session is over this long after sign-in (`admin.console_session_hours`).
    pub absolute: std::time::Duration,
    /// Failed sign-ins per source address.
    pub sign_in_failures: PerSource,
    /// The dashboard's last Test of every provider, and when it ran.
    provider_checks: tokio::sync::Mutex<Option<(std::time::Instant, Vec<ProviderCheck>)>>,
}

/// A provider's name, whether its Test passed, and what it said.
pub(crate) type ProviderCheck = (String, bool, String);

/// The templates, by name; `base.html` is what the pages extend.
const TEMPLATES: [(&str, &str); 17] = [
    ("base.html", include_str!("templates/base.html")),
    ("login.html", include_str!("templates/login.html")),
    ("dashboard.html", include_str!("templates/dashboard.html")),
    ("devices.html", include_str!("templates/devices.html")),
    ("device.html", include_str!("templates/device.html")),
    ("providers.html", include_str!("templates/providers.html")),
    ("audit.html", include_str!("templates/audit.html")),
    ("account.html", include_str!("templates/account.html")),
    ("users.html", include_str!("templates/users.html")),
    ("tenants.html", include_str!("templates/tenants.html")),
    ("tenant.html", include_str!("templates/tenant.html")),
    ("portal.html", include_str!("templates/portal.html")),
    ("events.html", include_str!("templates/events.html")),
    ("firmware.html", include_str!("templates/firmware.html")),
    ("import.html", include_str!("templates/import.html")),
    (
        "device_form.html",
        include_str!("templates/device_form.html"),
    ),
    ("endpoint.html", include_str!("templates/endpoint.html")),
];

const STYLESHEET: &str = include_str!("templates/console.css");
const SCRIPT: &str = include_str!("templates/console.js");

impl ConsoleState {
    pub fn new(
        admin: Arc<AdminState>,
        secure: bool,
        cfg: &touchless_runtime::config::AdminConfig,
    ) -> Arc<Self> {
        let mut templates = Environment::new();
        // Placeholders show a model this build knows.
        templates.add_global("example_model", touchless_phones::example_model().as_str());
        for (name, body) in TEMPLATES {
            // Compiled in and covered by the tests: a broken one is a bug here.
            templates
                .add_template(name, body)
                .expect("console templates compile");
        }
        Arc::new(ConsoleState {
            admin,
            templates,
            secure,
            idle: std::time::Duration::from_secs(cfg.console_idle_minutes.max(1) * 60),
            absolute: std::time::Duration::from_secs(cfg.console_session_hours.max(1) * 3600),
            // Five wrong passwords, then one try every twelve seconds.
            sign_in_failures: PerSource::new(1.0 / 12.0, 5.0),
            provider_checks: tokio::sync::Mutex::new(None),
        })
    }
}

impl ConsoleState {
    /// Every provider's Test, at most a minute old: the dashboard shows
    /// those that fail without calling each cloud on every page view. The
    /// Tests run at once, each given five seconds.
    pub(crate) async fn provider_checks(&self) -> Vec<ProviderCheck> {
        const FRESH: std::time::Duration = std::time::Duration::from_secs(60);
        let mut cached = self.provider_checks.lock().await;
        if let Some((at, checks)) = cached.as_ref() {
            if at.elapsed() < FRESH {
                return checks.clone();
            }
        }
        let names = match self.admin.store.list_providers().await {
            Ok(ps) => ps.into_iter().map(|p| p.name).collect::<Vec<_>>(),
            Err(e) => {
                tracing::error!(error = %e, "listing providers for the dashboard failed");
                return Vec::new();
            }
        };
        let mut set = tokio::task::JoinSet::new();
        for name in names {
            let admin = Arc::clone(&self.admin);
            set.spawn(async move {
                let t = tokio::time::timeout(
                    std::time::Duration::from_secs(5),
                    crate::admin::providers::test(&admin, name.clone()),
                )
                .await;
                match t {
                    Ok(Ok(r)) => (name, r.ok, r.message),
                    Ok(Err(e)) => (name, false, e.status_and_message().1.to_owned()),
                    Err(_) => (name, false, "no answer within 5 seconds".to_owned()),
                }
            });
        }
        let mut checks = Vec::new();
        while let Some(r) = set.join_next().await {
            if let Ok(c) = r {
                checks.push(c);
            }
        }
        checks.sort();
        *cached = Some((std::time::Instant::now(), checks.clone()));
        checks
    }
}

pub fn router(st: Arc<ConsoleState>) -> Router {
    Router::new()
        .route("/", get(pages::dashboard))
        .route("/login", get(pages::login_form).post(pages::login))
        .route("/logout", post(pages::logout))
        .route("/devices", get(devices::devices))
        .route("/devices/action", post(devices::act))
        .route("/devices/live", get(devices::live))
        .route(
            "/devices/new",
            get(device_form::new_form).post(device_form::add),
        )
        .route(
            "/devices/{mac}/edit",
            get(device_form::edit_form).post(device_form::save),
        )
        .route("/devices/{mac}/delete", post(device_form::delete))
        .route("/devices/{mac}/rotate", post(device_form::rotate))
        .route("/devices/import", get(import::form).post(import::import))
        .route("/devices/export", get(import::export))
        .route("/providers", get(providers::providers))
        .route("/providers/add", post(providers::add))
        .route("/providers/{name}/save", post(providers::save))
        .route("/providers/{name}/test", post(providers::test))
        .route("/tenants/{id}/mode", post(providers::mode))
        .route("/tenants", get(tenants::tenants))
        .route("/tenants/add", post(tenants::add))
        .route("/tenants/{id}", get(tenants::tenant))
        .route("/tenants/{id}/save", post(tenants::save))
        .route("/tenants/{id}/delete", post(tenants::delete))
        .route("/account", get(accounts::account))
        .route("/account/password", post(accounts::change_password))
        .route("/users", get(accounts::users))
        .route("/users/add", post(accounts::add_user))
        .route("/users/{name}/reset", post(accounts::reset_password))
        .route("/users/{name}/remove", post(accounts::remove_user))
        .route("/audit", get(accounts::audit_log))
        .route("/events", get(events::events))
        .route("/firmware", get(firmware::firmware))
        .route("/firmware/set", post(firmware::set))
        .route("/firmware/{id}/remove", post(firmware::remove))
        .route("/events/{id}/retry", post(events::retry))
        .route("/portal", get(portal::portal))
        .route("/portal/companies", post(portal::add_company))
        .route("/portal/keys", post(portal::add_key))
        .route("/portal/keys/{id}/revoke", post(portal::revoke_key))
        .route("/portal/endpoints/{mac}", get(portal::endpoint))
        .route("/devices/{mac}", get(devices::device))
        .route("/devices/{mac}/uploads/{id}", get(devices::upload))
        .route("/devices/{mac}/pin", get(devices::pin))
        .route(
            "/static/console.css",
            get(|| async {
                (
                    [(http::header::CONTENT_TYPE, "text/css; charset=utf-8")],
                    STYLESHEET,
                )
            }),
        )
        .route(
            "/static/console.js",
            get(|| async {
                (
                    [(http::header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
                    SCRIPT,
                )
            }),
        )
        .fallback(|| async {
            respond::plain(http::StatusCode::NOT_FOUND, "There is no such page.")
        })
        .with_state(st)
}
