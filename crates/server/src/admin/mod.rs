//! The JSON admin API (default port 15777): tenants, devices, lines, settings,
//! config preview and contact log, behind a bearer token.
//!
//! Request bodies are read as JSON objects and every field is parsed into its
//! domain type here, one by one, so a bad value is answered with a 400 naming the
//! field (`{"error":"invalid MAC address …","field":"mac","value":"zz"}`) and
//! nothing is written. Unknown fields are rejected too: a typo must not be
//! silently ignored.
//!
//! `parse.rs` holds the error shape and the field-by-field parsing,
//! `tenants.rs` and `devices.rs` their endpoints; the daemon's and the
//! redirection service's parts live with them (`daemon/admin.rs`,
//! `redirect/admin.rs`).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use http::{header, StatusCode};
use sha2::{Digest as _, Sha256};
use touchless_domain::{Mac, ProvPassword, ProvUser};
use touchless_store::Store;

use crate::directory::Directory;
use crate::render::Renderer;
use crate::secret::{ct_eq, random_token};

mod devices;
mod parse;
mod tenants;

use devices::*;
use parse::*;
pub(crate) use parse::{ApiError, ApiQuery, ApiResult, Fields};
use tenants::*;

pub struct AdminState {
    pub store: Arc<dyn Store>,
    /// `None` when the daemon is disabled on this node.
    pub daemon: Option<Arc<crate::daemon::Daemon>>,
    pub dir: Arc<Directory>,
    pub renderer: Arc<Renderer>,
    /// SHA-256 of the bearer token; the token itself is not kept.
    pub token_hash: [u8; 32],
    /// How long newly issued ztprov credentials are accepted.
    pub ztprov_window: std::time::Duration,
}

impl AdminState {
    /// Fresh one-time ztprov credentials for `mac`, valid for the window.
    pub(crate) fn issue_ztprov(&self, mac: Mac) -> touchless_store::Issued {
        touchless_store::Issued {
            mac,
            user: ProvUser::parse(&format!("zt{}", random_token(12)))
                .expect("generated user is valid"),
            pass: ProvPassword::parse(&random_token(20)).expect("generated password is valid"),
            // Whole seconds: what people read and both backends store exactly.
            expires_at: chrono::DateTime::from_timestamp(
                chrono::Utc::now().timestamp()
                    + i64::try_from(self.ztprov_window.as_secs()).unwrap_or(86_400),
                0,
            )
            .unwrap_or_else(chrono::Utc::now),
        }
    }
}

pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

pub fn router(state: Arc<AdminState>) -> Router {
    let api = Router::new()
        .route("/tenants", get(list_tenants).post(create_tenant))
        .route(
            "/tenants/{id}",
            get(get_tenant).patch(patch_tenant).delete(delete_tenant),
        )
        .route("/tenants/{id}/credentials", get(tenant_credentials))
        .route("/devices", get(list_devices).post(create_devices))
        .route(
            "/devices/{mac}",
            get(get_device).patch(patch_device).delete(delete_device),
        )
        .route("/devices/{mac}/credentials", get(device_credentials))
        .route("/devices/{mac}/preview", get(preview))
        .route("/devices/{mac}/contacts", get(contacts))
        .nest("/redirect", crate::redirect::admin::routes())
        .merge(crate::daemon::admin::routes())
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "no such admin API endpoint") })
        // `layer`, not `route_layer`: unknown paths and wrong methods are
        // authenticated too, so the API does not tell a stranger which routes exist.
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            require_token,
        ))
        .with_state(state);
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .nest("/api/v1", api)
        .layer(axum::extract::DefaultBodyLimit::max(8 * 1024 * 1024))
}

async fn require_token(State(st): State<Arc<AdminState>>, req: Request, next: Next) -> Response {
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match presented {
        Some(t) if ct_eq(&token_hash(t.trim()), &st.token_hash) => next.run(req).await,
        Some(_) => ApiError::new(StatusCode::UNAUTHORIZED, "wrong admin token").into_response(),
        None => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "missing admin token: send Authorization: Bearer <token>",
        )
        .into_response(),
    }
}

pub(crate) async fn refresh_view(st: &AdminState) {
    refresh(st).await
}

pub(super) async fn refresh(st: &AdminState) {
    // The provisioning server must serve a change on the next request.
    if let Err(e) = st.dir.refresh().await {
        tracing::error!(error = %e, "reloading the provisioning view after a write failed");
    }
}
