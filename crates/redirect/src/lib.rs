//! The redirection service: an SRAPS-compatible REST API for PBXes (Hawk) and
//! the phone-facing redirect, on their own listener.

pub mod api;
pub mod catalogue;
mod openapi;
pub mod phone;

pub use openapi::openapi;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::routing::get;
use axum::Router;
use touchless_store::Store;

use touchless_phones::Renderer;
use touchless_runtime::config::RedirectConfig;
use touchless_runtime::hawk;

pub struct RedirectState {
    pub store: Arc<dyn Store>,
    pub renderer: Arc<Renderer>,
    pub nonces: hawk::NonceCache,
    pub limiter: api::RateLimiter,
    pub log: phone::RedirectLog,
    pub tls: bool,
    pub client_ca: bool,
    pub trust_forwarded: bool,
    pub max_body: usize,
    pub skew: u64,
    /// Phone-facing requests per source address.
    pub phone_rate: touchless_runtime::limits::PerSource,
    /// Phone-facing misses per source address: what slows MAC guessing down.
    pub phone_misses: touchless_runtime::limits::PerSource,
    pub contact_retention: chrono::Duration,
    pub contact_max_rows: u64,
    pub metrics: Arc<touchless_runtime::metrics::Metrics>,
    touched: Mutex<HashMap<String, Instant>>,
}

impl RedirectState {
    pub fn new(
        store: Arc<dyn Store>,
        renderer: Arc<Renderer>,
        cfg: &RedirectConfig,
        metrics: Arc<touchless_runtime::metrics::Metrics>,
    ) -> Self {
        RedirectState {
            metrics,
            store,
            renderer,
            nonces: hawk::NonceCache::new(cfg.nonce_cache_size),
            limiter: api::RateLimiter::new(cfg.rate_limit_per_minute),
            log: phone::RedirectLog::new(),
            tls: !cfg.tls_cert.is_empty(),
            client_ca: !cfg.client_ca.is_empty(),
            trust_forwarded: cfg.trust_forwarded,
            max_body: cfg.max_body_bytes,
            skew: cfg.timestamp_skew_secs,
            phone_rate: touchless_runtime::limits::PerSource::new(
                f64::from(cfg.phone_requests_per_sec),
                f64::from(cfg.phone_requests_burst),
            ),
            phone_misses: touchless_runtime::limits::PerSource::new(
                f64::from(cfg.phone_misses_per_min) / 60.0,
                f64::from(cfg.phone_misses_burst),
            ),
            contact_retention: chrono::Duration::days(
                i64::try_from(cfg.contact_retention_days).unwrap_or(36_500),
            ),
            contact_max_rows: cfg.contact_max_rows,
            touched: Mutex::new(HashMap::new()),
        }
    }
}

/// Routes are spelled out in full rather than nested: `nest` would rewrite the
/// request URI, and the Hawk MAC covers the URI exactly as the client sent it.
pub fn router(state: Arc<RedirectState>) -> Router {
    const V1: &str = "/api/v1";
    let r = |path: &str| format!("{V1}{path}");
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route(
            "/readyz",
            get(
                |axum::extract::State(st): axum::extract::State<Arc<RedirectState>>| async move {
                    touchless_runtime::database_ready(&*st.store).await
                },
            ),
        )
        .route(&r("/openapi.json"), get(|| async { axum::Json(openapi()) }))
        .route(&r("/tokens/{id}"), get(api::token))
        .route(&r("/companies/{id}"), get(api::company))
        .route(&r("/companies/{id}/"), get(api::company))
        .route(&r("/settings"), get(api::settings))
        .route(&r("/settings/"), get(api::settings))
        .route(&r("/settings/{uuid}"), get(api::setting))
        .route(&r("/product-groups"), get(api::product_groups))
        .route(&r("/product-groups/"), get(api::product_groups))
        .route(
            &r("/companies/{id}/provisioning-profiles"),
            get(api::profiles).post(api::profiles),
        )
        .route(
            &r("/companies/{id}/provisioning-profiles/"),
            get(api::profiles).post(api::profiles),
        )
        .route(
            &r("/companies/{id}/provisioning-profiles/{uuid}"),
            get(api::profile).put(api::profile).delete(api::profile),
        )
        .route(&r("/companies/{id}/endpoints"), get(api::endpoints))
        .route(&r("/companies/{id}/endpoints/"), get(api::endpoints))
        .route(
            &r("/companies/{id}/endpoints/{mac}"),
            get(api::endpoint).put(api::endpoint).delete(api::endpoint),
        )
        .method_not_allowed_fallback(api::method_not_allowed)
        .fallback(fallback)
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state.metrics),
            count,
        ))
        .with_state(state)
}

/// Counts every answer by surface and status; a 401 on the API is a Hawk
/// failure.
async fn count(
    axum::extract::State(m): axum::extract::State<Arc<touchless_runtime::metrics::Metrics>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let path = req.uri().path();
    let surface = if path.starts_with("/api/") {
        "api"
    } else if path == "/healthz" || path == "/readyz" {
        "health"
    } else {
        "phone"
    };
    let res = next.run(req).await;
    let status = res.status();
    m.counter(
        "touchless_redirect_requests_total",
        &[("surface", surface), ("status", status.as_str())],
    )
    .increment(1);
    if surface == "api" && status == http::StatusCode::UNAUTHORIZED {
        m.counter("touchless_auth_failures_total", &[("listener", "redirect")])
            .increment(1);
    }
    res
}

/// Unknown API paths get a JSON 404; everything else is a phone asking.
async fn fallback(
    state: axum::extract::State<Arc<RedirectState>>,
    req: axum::extract::Request,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    if req.uri().path().starts_with("/api/") {
        return api::not_found().await.into_response();
    }
    phone::handle(state, req).await
}
