//! Who is signed in: argon2id passwords, session cookies kept by their hash
//! in the database (so every node knows them and signing out ends them
//! everywhere), CSRF tokens, and the rate limit on sign-in attempts.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::response::{IntoResponse, Redirect, Response};
use http::request::Parts;
use http::{header, HeaderValue};
use sha2::{Digest as _, Sha256};
use touchless_domain::ConsoleRole;
use touchless_store::{Session, User};

use super::ConsoleState;
use touchless_runtime::secret::ct_eq;
pub use touchless_runtime::secret::{dummy_hash, hash_password, verify_password};
use touchless_runtime::serve::ClientAddr;

pub const COOKIE: &str = "touchless_session";
/// Recording each request's time would write on every page view; a minute's
/// precision is plenty for a 30-minute idle expiry.
const TOUCH_EVERY: Duration = Duration::from_secs(60);

/// What the database keys a session by: the SHA-256 of its cookie, hex.
pub fn id_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The `Set-Cookie` for a new session lasting at most `max`, or for ending
/// one (`token` empty).
pub fn cookie(token: &str, secure: bool, max: Duration) -> HeaderValue {
    let age = if token.is_empty() { 0 } else { max.as_secs() };
    let v = format!(
        "{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={age}{}",
        if secure { "; Secure" } else { "" }
    );
    HeaderValue::from_str(&v).unwrap_or(HeaderValue::from_static(""))
}

fn token_of(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_owned())
}

/// The signed-in account of a console request. Extracting it sends anyone
/// without a live session to the sign-in page.
pub struct Viewer {
    pub user: User,
    pub csrf: String,
    /// The cookie's hash: what signing out deletes.
    pub id_hash: String,
}

impl Viewer {
    /// What every page's frame needs: who is signed in, and the CSRF token
    /// of the sign-out form.
    pub fn frame(&self, section: &str) -> minijinja::Value {
        minijinja::context! {
            user => self.user.name.as_str(),
            role => self.user.role.as_str(),
            tenant => self.user.tenant.as_ref().map(|t| t.as_str()),
            is_admin => self.is_admin(),
            csrf => self.csrf.as_str(),
            section => section,
        }
    }

    pub fn is_admin(&self) -> bool {
        self.user.role == ConsoleRole::Admin
    }

    /// For pages only the installation's admins may open: to anyone else
    /// they do not exist.
    pub(super) fn admins_only(&self) -> Result<(), super::respond::Refusal> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(super::respond::Refusal::Said(
                http::StatusCode::NOT_FOUND,
                "There is no such page.".into(),
            ))
        }
    }

    /// Whether this account may see `tenant`'s things.
    pub fn sees(&self, tenant: &touchless_domain::TenantId) -> bool {
        self.is_admin() || self.user.tenant.as_ref() == Some(tenant)
    }

    /// Whether a form's CSRF token is this session's.
    pub fn csrf_ok(&self, presented: &str) -> bool {
        ct_eq(presented.as_bytes(), self.csrf.as_bytes())
    }
}

impl FromRequestParts<Arc<ConsoleState>> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        st: &Arc<ConsoleState>,
    ) -> Result<Self, Self::Rejection> {
        let to_sign_in = || Redirect::to("/login").into_response();
        let token = token_of(parts).ok_or_else(to_sign_in)?;
        let id_hash = id_hash(&token);
        let session: Session = match st.admin.store.get_session(&id_hash).await {
            Ok(Some(s)) => s,
            Ok(None) => return Err(to_sign_in()),
            Err(e) => {
                tracing::error!(error = %e, "reading a console session failed");
                return Err(super::respond::plain(
                    http::StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong on our side; it has been logged.",
                ));
            }
        };
        let now = chrono::Utc::now();
        let age = |t: chrono::DateTime<chrono::Utc>| (now - t).to_std().unwrap_or_default();
        if age(session.last_seen_at) > st.idle || age(session.created_at) > st.absolute {
            let _ = st.admin.store.delete_session(&id_hash).await;
            return Err(to_sign_in());
        }
        if age(session.last_seen_at) > TOUCH_EVERY {
            if let Err(e) = st.admin.store.touch_session(&id_hash).await {
                tracing::warn!(error = %e, "recording a console session's use failed");
            }
        }
        Ok(Viewer {
            user: session.user,
            csrf: session.csrf,
            id_hash,
        })
    }
}

/// A state-changing form, from a signed-in session, whose CSRF token is that
/// session's: the viewer and the form's fields (`T` ignores `csrf`). Every
/// console POST but sign-in and the CSV upload takes one, so none can
/// forget the check.
pub struct Posted<T>(pub Viewer, pub T);

/// A form with nothing but its CSRF token (Retry, Revoke, Delete…).
#[derive(serde::Deserialize)]
pub struct NoFields {}

/// Forms are small; a CSV upload has its own limit.
const FORM_LIMIT: usize = 1 << 20;

impl<T: serde::de::DeserializeOwned> FromRequest<Arc<ConsoleState>> for Posted<T> {
    type Rejection = Response;

    async fn from_request(req: Request, st: &Arc<ConsoleState>) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let v = Viewer::from_request_parts(&mut parts, st).await?;
        let bytes = axum::body::to_bytes(body, FORM_LIMIT).await.map_err(|_| {
            super::respond::plain(
                http::StatusCode::PAYLOAD_TOO_LARGE,
                "The form is too large.",
            )
        })?;
        let csrf = form_urlencoded::parse(&bytes)
            .find(|(k, _)| k == "csrf")
            .map(|(_, val)| val.into_owned())
            .unwrap_or_default();
        if !v.csrf_ok(&csrf) {
            return Err(super::respond::forged());
        }
        let fields = serde_urlencoded::from_bytes(&bytes).map_err(|e| {
            super::respond::plain(
                http::StatusCode::BAD_REQUEST,
                &format!("The form could not be read: {e}."),
            )
        })?;
        Ok(Posted(v, fields))
    }
}

/// The client's address, for the sign-in rate limit.
pub fn client_ip(parts_ext: &http::Extensions) -> IpAddr {
    parts_ext
        .get::<ClientAddr>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::from([127, 0, 0, 1]))
}
