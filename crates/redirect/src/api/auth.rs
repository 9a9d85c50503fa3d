//! Hawk authentication of an API request, the host it addressed, and its context.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::Request;
use bytes::Bytes;
use http::{header, HeaderMap, StatusCode};
use touchless_store::{ApiKey, Role};

use crate::RedirectState;
use touchless_runtime::hawk::{self, HawkError, RequestInfo};

use super::*;

/// An authenticated request: who, where they addressed us, and the body.
pub struct Ctx {
    pub key: ApiKey,
    /// `scheme://host[:port]/api/v1/`, as the client addressed us.
    pub base: String,
    pub body: Bytes,
    pub query: String,
}

impl Ctx {
    pub(super) fn company_url(&self, id: &str) -> String {
        format!("{}companies/{id}/", self.base)
    }

    pub(super) fn require(&self, role: Role, action: &str) -> ApiResult<()> {
        if self.key.role >= role {
            return Ok(());
        }
        Err(SrapsError::forbidden(if self.key.role == Role::None {
            format!(
                "The API key has no role (role \"none\") and may not {action}; choose a role for the key (read, write or admin)"
            )
        } else {
            format!(
                "The API key's role \"{}\" may not {action}; it needs role \"{}\"",
                self.key.role.as_str(),
                role.as_str()
            )
        }))
    }

    pub(super) fn own_company(&self, id: &str) -> ApiResult<()> {
        if id == self.key.company {
            Ok(())
        } else {
            Err(SrapsError::forbidden(
                "User lacks permission to this company",
            ))
        }
    }
}

/// Host, port and scheme as the client addressed the server (behind a proxy,
/// from `X-Forwarded-*` when configured to trust them).
pub(super) fn addressed(
    st: &RedirectState,
    headers: &HeaderMap,
) -> ApiResult<(String, String, u16)> {
    let fwd = |name: &str| {
        st.trust_forwarded
            .then(|| headers.get(name).and_then(|v| v.to_str().ok()))
            .flatten()
            .map(|v| v.split(',').next().unwrap_or("").trim().to_owned())
    };
    let scheme = fwd("x-forwarded-proto").unwrap_or_else(|| {
        if st.tls {
            "https".into()
        } else {
            "http".into()
        }
    });
    let host = fwd("x-forwarded-host")
        .or_else(|| {
            headers
                .get(header::HOST)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        })
        .ok_or_else(|| SrapsError::bad("missing Host header"))?;
    if host.is_empty()
        || host.len() > 255
        || !host
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b".-:[]".contains(&c))
    {
        return Err(SrapsError::bad("invalid Host header"));
    }
    let (name, port) = match host.rsplit_once(':') {
        Some((n, p))
            if !n.ends_with(':') && p.bytes().all(|c| c.is_ascii_digit()) && !p.is_empty() =>
        {
            (
                n.to_owned(),
                p.parse::<u16>()
                    .map_err(|_| SrapsError::bad("invalid port in Host header"))?,
            )
        }
        _ => (host.clone(), if scheme == "https" { 443 } else { 80 }),
    };
    let port = match fwd("x-forwarded-port") {
        Some(p) => p
            .parse()
            .map_err(|_| SrapsError::bad("invalid X-Forwarded-Port"))?,
        None => port,
    };
    Ok((format!("{scheme}://{host}/api/v1/"), name, port))
}

/// How long a client may take to send a request body once its headers are in.
pub(super) const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

impl RedirectState {
    /// Verifies Hawk and reads the body (bounded). Every API handler starts here.
    pub async fn auth(&self, req: Request) -> ApiResult<Ctx> {
        let (parts, body) = req.into_parts();
        let (base, host, port) = addressed(self, &parts.headers)?;
        let value = parts
            .headers
            .get(header::AUTHORIZATION)
            .ok_or_else(|| SrapsError {
                www_authenticate: Some("Hawk".into()),
                ..SrapsError::new(
                    StatusCode::UNAUTHORIZED,
                    "Authentication credentials were not provided (Hawk)",
                )
            })?
            .to_str()
            .map_err(|_| SrapsError::bad("Bad header: not ASCII"))?;
        let h = hawk::parse_header(value).map_err(|e| SrapsError::bad(e.to_string()))?;
        let unauthorized = |e: HawkError| {
            let www = match &e {
                HawkError::Stale { now, tsm } => {
                    format!("Hawk ts=\"{now}\", tsm=\"{tsm}\", error=\"Stale timestamp\"")
                }
                other => format!("Hawk error=\"{other}\""),
            };
            SrapsError {
                www_authenticate: Some(www),
                ..SrapsError::new(StatusCode::UNAUTHORIZED, e.to_string())
            }
        };
        let key = match self.store.get_api_key(&h.id).await? {
            Some(k) if k.enabled => k,
            _ => return Err(unauthorized(HawkError::UnknownCredentials)),
        };
        // Only now, with a known key, is the body worth waiting for; and a body
        // that trickles in is cut off, so a client cannot hold connections open
        // with a promised Content-Length it never sends.
        let body = match tokio::time::timeout(
            BODY_TIMEOUT,
            axum::body::to_bytes(Body::new(body), self.max_body),
        )
        .await
        {
            Ok(Ok(b)) => b,
            Ok(Err(_)) => {
                return Err(SrapsError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("request body larger than {} bytes", self.max_body),
                ))
            }
            Err(_) => {
                return Err(SrapsError::new(
                    StatusCode::REQUEST_TIMEOUT,
                    format!(
                        "request body not received within {} s",
                        BODY_TIMEOUT.as_secs()
                    ),
                ))
            }
        };
        let resource = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/");
        let content_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let now = chrono::Utc::now().timestamp().max(0) as u64;
        hawk::verify(
            key.secret.as_bytes(),
            &h,
            &RequestInfo {
                method: parts.method.as_str(),
                resource,
                host: &host,
                port,
            },
            content_type,
            &body,
            &self.nonces,
            now,
            self.skew,
        )
        .map_err(|e| {
            tracing::info!(key = %key.id, error = %e, "Hawk authentication failed");
            unauthorized(e)
        })?;
        // The in-memory cache caught replays to this node; the shared table
        // catches a request replayed to another node on the same database.
        let expires = chrono::Utc::now() + chrono::Duration::seconds((2 * self.skew + 1) as i64);
        if !self
            .store
            .remember_nonce(&key.id, &h.nonce, expires)
            .await?
        {
            tracing::info!(key = %key.id, "Hawk nonce replayed (seen by another node)");
            return Err(unauthorized(HawkError::Replay));
        }
        if let Err(wait) = self.limiter.take(&key.id) {
            return Err(SrapsError {
                retry_after: Some(wait),
                ..SrapsError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    format!("Request was throttled. Expected available in {wait} seconds."),
                )
            });
        }
        self.touch(&key.id).await;
        Ok(Ctx {
            key,
            base,
            body,
            query: parts.uri.query().unwrap_or("").to_owned(),
        })
    }

    /// Records the key's last use, at most once a minute per key and node.
    pub(super) async fn touch(&self, id: &str) {
        {
            let mut t = self.touched.lock().unwrap_or_else(|p| p.into_inner());
            let now = Instant::now();
            if t.get(id)
                .is_some_and(|last| now.duration_since(*last) < Duration::from_secs(60))
            {
                return;
            }
            t.insert(id.to_owned(), now);
        }
        if let Err(e) = self.store.touch_api_key(id, chrono::Utc::now()).await {
            tracing::warn!(error = %e, "recording API key use failed");
        }
    }
}
