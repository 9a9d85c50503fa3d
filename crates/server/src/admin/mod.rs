//! The JSON admin API (default port 15777): tenants, devices, providers, the
//! event queue and the redirection service's accounts, behind a bearer token.
//!
//! The bodies are the `touchless_api` types, shared with the CLI. The modules
//! form a tree under this one, which only routes:
//! - `state`: what handlers share, and `AdminState::written`, the one way a
//!   write reaches the provisioning view and the queue;
//! - `extract`: typed bodies and query strings in, `ErrorBody` out;
//! - `view`: store records as the API answers them;
//! - `tenants`, `devices`, `providers`, `queue`, `redirect`, `users`: the endpoints.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::Router;
use http::{header, StatusCode};

use crate::secret::ct_eq;

mod backup;
pub(crate) mod devices;
pub(crate) mod extract;
pub(crate) mod import;
pub(crate) mod providers;
pub(crate) mod queue;
pub(crate) mod redirect;
mod state;
pub(crate) mod tenants;
pub(crate) mod users;
pub(crate) mod view;

use extract::ApiError;
pub use state::{token_hash, AdminState};

pub fn router(state: Arc<AdminState>) -> Router {
    let redirect = Router::new()
        .route(
            "/companies",
            get(redirect::list_companies).post(redirect::create_company),
        )
        .route("/keys", get(redirect::list_keys).post(redirect::create_key))
        .route("/keys/{id}", delete(redirect::revoke_key))
        .route("/endpoints", get(redirect::list_endpoints))
        .route("/endpoints/{mac}", get(redirect::get_endpoint))
        .route("/contacts", get(redirect::contacts));
    let api = Router::new()
        .route(
            "/tenants",
            get(tenants::list_tenants).post(tenants::create_tenant),
        )
        .route(
            "/tenants/{id}",
            get(tenants::get_tenant)
                .patch(tenants::patch_tenant)
                .delete(tenants::delete_tenant),
        )
        .route(
            "/tenants/{id}/credentials",
            get(tenants::tenant_credentials),
        )
        .route(
            "/devices",
            get(devices::list_devices).post(devices::create_devices),
        )
        .route(
            "/devices/{mac}",
            get(devices::get_device)
                .patch(devices::patch_device)
                .delete(devices::delete_device),
        )
        .route(
            "/devices/{mac}/credentials",
            get(devices::device_credentials),
        )
        .route("/devices/{mac}/preview", get(devices::preview))
        .route("/devices/{mac}/contacts", get(devices::contacts))
        .route("/devices/import", post(import::import_devices))
        .route("/devices/export", get(import::export_devices))
        .route("/devices/register", post(queue::register))
        .route("/devices/{mac}/rotate", post(queue::rotate))
        .route("/devices/deregister", post(queue::deregister))
        .route("/devices/remove", post(queue::remove_selected))
        .route("/events", get(queue::list_events))
        .route("/events/summary", get(queue::event_summary))
        .route("/events/{id}/retry", post(queue::retry_event))
        .route(
            "/providers",
            get(providers::list_providers).post(providers::create_provider),
        )
        .route(
            "/providers/{name}",
            get(providers::get_provider)
                .patch(providers::patch_provider)
                .delete(providers::delete_provider),
        )
        .route("/providers/{name}/test", post(providers::test_provider))
        .route("/users", get(users::list_users).post(users::create_user))
        .route("/users/{name}", delete(users::delete_user))
        .route("/users/{name}/password", post(users::set_password_handler))
        .route("/status", get(status))
        .route("/backup", post(backup::backup))
        .nest("/redirect", redirect)
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "no such admin API endpoint") })
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            audit_writes,
        ))
        // `layer`, not `route_layer`: unknown paths and wrong methods are
        // authenticated too, so the API does not tell a stranger which routes exist.
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            require_token,
        ))
        .with_state(Arc::clone(&state));
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/metrics", get(metrics).with_state(Arc::clone(&state)))
        .route(
            "/readyz",
            get(
                |State(st): State<Arc<AdminState>>| async move { database_ready(&*st.store).await },
            )
            .with_state(state),
        )
        .nest("/api/v1", api)
        .layer(axum::extract::DefaultBodyLimit::max(8 * 1024 * 1024))
}

/// This node's view and render cache.
async fn status(
    State(st): State<Arc<AdminState>>,
) -> axum::Json<touchless_api::status::NodeStatus> {
    axum::Json(touchless_api::status::NodeStatus {
        devices: st.dir.len() as u64,
        renders: st.dir.renders(),
        rows_read: st.dir.rows_read(),
        render_cache: st.dir.cache_stats(),
    })
}

/// `/readyz` on the admin and redirection listeners: their work needs the
/// database, so they are ready when it answers (within 2 s).
pub(crate) async fn database_ready(
    store: &dyn touchless_store::Store,
) -> (StatusCode, &'static str) {
    match tokio::time::timeout(std::time::Duration::from_secs(2), store.generation()).await {
        Ok(Ok(_)) => (StatusCode::OK, "ready\n"),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: the database failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "not ready: the database fails\n",
            )
        }
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: the database does not answer within 2 s\n",
        ),
    }
}

/// Prometheus' scrape: the admin token or the scrape-only token.
async fn metrics(State(st): State<Arc<AdminState>>, headers: http::HeaderMap) -> Response {
    if !st.metrics.enabled() {
        return ApiError::new(StatusCode::NOT_FOUND, "metrics are off (metrics.enabled)")
            .into_response();
    }
    let presented = bearer(&headers).map(|t| token_hash(t.trim()));
    let ok = presented.is_some_and(|h| {
        ct_eq(&h, &st.token_hash) | st.metrics_token_hash.is_some_and(|m| ct_eq(&h, &m))
    });
    if !ok {
        st.metrics.admin_auth_failed();
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "send Authorization: Bearer <admin token or metrics.token>",
        )
        .into_response();
    }
    let mut now = crate::metrics::Snapshot {
        devices: st.dir.len() as u64,
        cache: st.dir.cache_stats(),
        contact_backlog: st.contacts.backlog() as u64,
        events: Vec::new(),
    };
    match st.store.event_counts().await {
        Ok(counts) => {
            // Every state, so a gauge falls back to 0 when its last event leaves it.
            use touchless_store::EventState::*;
            now.events = [Pending, Running, Done, Failed]
                .into_iter()
                .map(|s| {
                    let n = counts.iter().find(|(c, _)| *c == s).map_or(0, |(_, n)| *n);
                    (s.as_str(), n)
                })
                .collect();
        }
        // The rest of the scrape is still worth having.
        Err(e) => tracing::warn!(error = %e, "counting the queue's events for /metrics failed"),
    }
    let text = st.metrics.render(&now).unwrap_or_default();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

fn bearer(headers: &http::HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
}

/// Every write through the API that succeeded leaves a line in the audit
/// log, as the console's do: the bearer token stands for one actor, `api`.
/// (Bodies are not logged: they may hold passwords.)
async fn audit_writes(State(st): State<Arc<AdminState>>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    // Inside `nest` the path has lost its `/api/v1`; log it as it was asked.
    let path = format!("/api/v1{}", req.uri().path());
    let resp = next.run(req).await;
    if method != http::Method::GET && resp.status().is_success() {
        // `/tenants/acme/…` concerns tenant acme: its admins see the line.
        let tenant = path
            .strip_prefix("/api/v1/tenants/")
            .and_then(|rest| rest.split('/').next())
            .and_then(|t| touchless_domain::TenantId::parse(t).ok());
        let entry = touchless_store::NewAudit {
            actor: "api".into(),
            tenant,
            action: format!("{method} {path}"),
            target: path.clone(),
            detail: resp.status().as_u16().to_string(),
        };
        if let Err(e) = st.store.audit(&entry).await {
            tracing::error!(error = %e, "writing the audit log failed");
        }
    }
    resp
}

async fn require_token(State(st): State<Arc<AdminState>>, req: Request, next: Next) -> Response {
    match bearer(req.headers()) {
        Some(t) if ct_eq(&token_hash(t.trim()), &st.token_hash) => next.run(req).await,
        Some(_) => {
            st.metrics.admin_auth_failed();
            ApiError::new(StatusCode::UNAUTHORIZED, "wrong admin token").into_response()
        }
        None => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "missing admin token: send Authorization: Bearer <token>",
        )
        .into_response(),
    }
}
