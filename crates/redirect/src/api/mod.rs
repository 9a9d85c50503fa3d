//! The SRAPS-compatible REST API v1 (`/api/v1/…`), Hawk-authenticated JSON.
//!
//! Shapes follow what public SRAPS clients send and expect (reference §1.3–1.7):
//! bare JSON arrays with `Link: <…>; rel="next"` pagination, absolute `links` on
//! the host the client addressed, errors as `{"detail": …}`.
//!
//! One file per part: `auth.rs` (Hawk, the addressed host, the request
//! context), `page.rs` (pagination), `shapes.rs` (JSON out and in), and
//! `handlers.rs` (the resources); errors and the per-key rate limit here.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use axum::response::{IntoResponse, Response};
use http::{header, HeaderValue, StatusCode};
use touchless_store::StoreError;

mod auth;
mod handlers;
mod page;
mod shapes;

pub use auth::Ctx;
pub use handlers::*;
use page::*;
use shapes::*;

// -- errors -------------------------------------------------------------------------

#[derive(Debug)]
pub struct SrapsError {
    status: StatusCode,
    detail: String,
    www_authenticate: Option<String>,
    retry_after: Option<u64>,
}

impl SrapsError {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        SrapsError {
            status,
            detail: detail.into(),
            www_authenticate: None,
            retry_after: None,
        }
    }
    pub(super) fn bad(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, detail)
    }
    pub(super) fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, detail)
    }
    pub(super) fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, format!("{what} not found"))
    }
}

impl IntoResponse for SrapsError {
    fn into_response(self) -> Response {
        let mut r = (
            self.status,
            axum::Json(touchless_api::sraps::Problem::detail(self.detail)),
        )
            .into_response();
        if let Some(w) = self
            .www_authenticate
            .and_then(|w| HeaderValue::from_str(&w).ok())
        {
            r.headers_mut().insert(header::WWW_AUTHENTICATE, w);
        }
        if let Some(s) = self.retry_after {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        r
    }
}

impl From<StoreError> for SrapsError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { what, .. } => SrapsError::not_found(what),
            StoreError::Forbidden(m) => SrapsError::forbidden(m),
            StoreError::Conflict(m) => SrapsError::new(StatusCode::CONFLICT, m),
            StoreError::Invalid { field, message } => {
                SrapsError::bad(format!("{field}: {message}"))
            }
            other => {
                tracing::error!(error = %other, "store failure in the redirection API");
                SrapsError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
            }
        }
    }
}

pub(super) type ApiResult<T = Response> = Result<T, SrapsError>;

pub async fn not_found() -> SrapsError {
    SrapsError::new(StatusCode::NOT_FOUND, "no such resource")
}

pub async fn method_not_allowed() -> SrapsError {
    SrapsError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method not allowed on this resource",
    )
}

// -- rate limiting -------------------------------------------------------------------

/// A token bucket per API key, in memory (per node).
pub struct RateLimiter {
    per_minute: u32,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    pub fn new(per_minute: u32) -> Self {
        RateLimiter {
            per_minute,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(seconds to wait)` when the key is over its rate.
    pub(super) fn take(&self, key: &str) -> Result<(), u64> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let rate = f64::from(self.per_minute) / 60.0;
        let burst = (f64::from(self.per_minute) / 6.0).max(10.0);
        let now = Instant::now();
        let mut b = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let (tokens, last) = b.entry(key.to_owned()).or_insert((burst, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * rate).min(burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - *tokens) / rate).ceil().max(1.0) as u64)
        }
    }
}
