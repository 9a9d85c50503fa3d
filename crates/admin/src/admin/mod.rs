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
use axum::Router;
use http::{header, StatusCode};
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use touchless_runtime::secret::ct_eq;

mod backup;
pub(crate) mod devices;
pub(crate) mod extract;
pub(crate) mod firmware;
pub(crate) mod import;
mod openapi;
pub(crate) mod providers;
pub(crate) mod queue;
pub(crate) mod redirect;
mod state;
pub(crate) mod tenants;
pub(crate) mod users;
pub(crate) mod view;

use extract::ApiError;
pub use state::{token_hash, AdminState};

/// Every route of the admin API, each with its OpenAPI description: a route
/// can only be added through `routes!`, which takes the handler's
/// `#[utoipa::path]`, so none exists undocumented (`tests/api/openapi.rs`
/// also checks the source has no bare `.route(`).
fn api_routes() -> OpenApiRouter<Arc<AdminState>> {
    let redirect = OpenApiRouter::new()
        .routes(routes!(redirect::list_companies, redirect::create_company))
        .routes(routes!(redirect::list_keys, redirect::create_key))
        .routes(routes!(redirect::revoke_key))
        .routes(routes!(redirect::list_endpoints))
        .routes(routes!(redirect::get_endpoint))
        .routes(routes!(redirect::contacts));
    OpenApiRouter::new()
        .routes(routes!(tenants::list_tenants, tenants::create_tenant))
        .routes(routes!(
            tenants::get_tenant,
            tenants::patch_tenant,
            tenants::delete_tenant
        ))
        .routes(routes!(tenants::tenant_credentials))
        .routes(routes!(devices::list_devices, devices::create_devices))
        .routes(routes!(
            devices::get_device,
            devices::patch_device,
            devices::delete_device
        ))
        .routes(routes!(devices::device_credentials))
        .routes(routes!(devices::preview))
        .routes(routes!(devices::contacts))
        .routes(routes!(devices::uploads))
        .routes(routes!(devices::device_pin))
        .routes(routes!(devices::upload))
        .routes(routes!(firmware::list_policies, firmware::put_policy))
        .routes(routes!(firmware::delete_policy))
        .routes(routes!(import::import_devices))
        .routes(routes!(import::export_devices))
        .routes(routes!(queue::register))
        .routes(routes!(queue::rotate))
        .routes(routes!(queue::deregister))
        .routes(routes!(queue::remove_selected))
        .routes(routes!(queue::list_events))
        .routes(routes!(queue::event_summary))
        .routes(routes!(queue::retry_event))
        .routes(routes!(
            providers::list_providers,
            providers::create_provider
        ))
        .routes(routes!(
            providers::get_provider,
            providers::patch_provider,
            providers::delete_provider
        ))
        .routes(routes!(providers::test_provider))
        .routes(routes!(users::list_users, users::create_user))
        .routes(routes!(users::delete_user))
        .routes(routes!(users::set_password_handler))
        .routes(routes!(status))
        .routes(routes!(backup::backup))
        .routes(routes!(openapi_json))
        .nest("/redirect", redirect)
}

/// The routes outside `/api/v1`: probes and the scrape.
fn root_routes() -> OpenApiRouter<Arc<AdminState>> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics))
}

/// The admin API's OpenAPI 3.1 document (`touchless api openapi`; served at
/// `GET /api/v1/openapi.json`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    use utoipa::Modify as _;
    let (_, mut doc) = OpenApiRouter::with_openapi(openapi::AdminApi::openapi())
        .merge(root_routes())
        .nest("/api/v1", api_routes())
        .split_for_parts();
    openapi::Shared.modify(&mut doc);
    doc
}

pub fn router(state: Arc<AdminState>) -> Router {
    let (api, _) = api_routes().split_for_parts();
    let api = api
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
    let (root, _) = root_routes().split_for_parts();
    root.with_state(state)
        .nest("/api/v1", api)
        .layer(axum::extract::DefaultBodyLimit::max(8 * 1024 * 1024))
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "probes", security(()),
    responses((status = 200, description = "always", body = String, content_type = "text/plain")))]
async fn healthz() -> &'static str {
    "ok\n"
}

/// The admin listener can work: the database answers.
#[utoipa::path(get, path = "/readyz", tag = "probes", security(()),
    responses((status = 200, description = "ready", body = String, content_type = "text/plain"),
              (status = 503, description = "the database does not answer", body = String, content_type = "text/plain")))]
async fn readyz(State(st): State<Arc<AdminState>>) -> (StatusCode, &'static str) {
    touchless_runtime::database_ready(&*st.store).await
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "meta",
    responses((status = 200, description = "the admin API's OpenAPI 3.1 document", body = Object)))]
async fn openapi_json() -> axum::Json<utoipa::openapi::OpenApi> {
    axum::Json(openapi())
}

/// This node's view and render cache.
#[utoipa::path(get, path = "/status", tag = "meta",
    responses((status = 200, description = "this node's view and render cache", body = touchless_api::status::NodeStatus)))]
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

/// Prometheus' scrape: the admin token or the scrape-only token.
#[utoipa::path(get, path = "/metrics", tag = "probes", security(("bearer" = [])),
    responses((status = 200, description = "Prometheus text format 0.0.4", body = String, content_type = "text/plain"),
              (status = 404, description = "metrics are off (metrics.enabled)", body = touchless_api::ErrorBody)))]
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
    let mut now = touchless_runtime::metrics::Snapshot {
        devices: st.dir.len() as u64,
        cache: st.dir.cache_stats(),
        contact_backlog: st.contacts.backlog() as u64,
        events: Vec::new(),
        sqlite_memory: touchless_store::sqlite_memory_bytes(),
        heap: touchless_runtime::metrics::heap_stats(),
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
