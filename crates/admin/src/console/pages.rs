//! The console's own pages: sign-in and out, and the dashboard.

use std::sync::Arc;

use axum::extract::{FromRequest, Request, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use http::{header, HeaderMap, StatusCode};
use minijinja::context;
use serde::Deserialize;
use touchless_domain::{DeviceStatus, UserName};
use touchless_store::EventState;

use super::respond::{audit, internal, plain, render};
use super::session::{self, NoFields, Posted, Viewer};
use super::ConsoleState;
use touchless_runtime::secret::random_token;

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
    resp.headers_mut().insert(
        header::SET_COOKIE,
        session::cookie(&token, st.secure, st.absolute),
    );
    resp
}

pub async fn logout(
    State(st): State<Arc<ConsoleState>>,
    Posted(v, _): Posted<NoFields>,
) -> Response {
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
    resp.headers_mut().insert(
        header::SET_COOKIE,
        session::cookie("", st.secure, st.absolute),
    );
    resp
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
    let contacts = match st.admin.store.recent_contacts(tenant.as_ref(), 10).await {
        Ok(c) => c,
        Err(e) => return internal(e),
    };
    // What needs attention: providers whose Test fails (an admin's concern).
    let failing: Vec<_> = if v.is_admin() {
        st.provider_checks()
            .await
            .into_iter()
            .filter(|(_, ok, _)| !ok)
            .map(|(name, _, message)| context! { name => name, message => message })
            .collect()
    } else {
        Vec::new()
    };
    render(
        &st,
        "dashboard.html",
        context! {
            ..v.frame("dashboard"),
            ..context! {
                total => total,
                by_status => by_status,
                // The queue is the installation's, not a tenant's.
                queue => v.is_admin().then(|| context! {
                    pending => q(EventState::Pending),
                    running => q(EventState::Running),
                    failed => q(EventState::Failed),
                }),
                contacts => contacts,
                failing => failing,
            }
        },
    )
}
