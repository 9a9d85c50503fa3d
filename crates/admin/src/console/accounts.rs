//! Accounts in the console: one's own password, the admins' Users page
//! (add, reset a password, remove) and the audit log, which only admins read.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use minijinja::context;
use serde::Deserialize;
use touchless_api::users as api;
use touchless_domain::{ConsoleRole, TenantId, UserName};
use touchless_store::AuditFilter;

use super::respond::{audit, internal, plain, refusal, render};
use super::session::{verify_password, NoFields, Posted, Viewer};
use super::ConsoleState;
use crate::admin;

#[derive(Deserialize, Default)]
pub struct AuditQuery {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
}

pub async fn audit_log(
    State(st): State<Arc<ConsoleState>>,
    v: Viewer,
    Query(q): Query<AuditQuery>,
) -> Response {
    if let Err(r) = v.admins_only() {
        return r.into_response();
    }
    let pick = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let filter = AuditFilter {
        tenant: None,
        actor: pick(&q.actor),
        action: pick(&q.action),
        limit: 200,
    };
    let lines = match st.admin.store.audit_log(&filter).await {
        Ok(l) => l,
        Err(e) => return internal(e),
    };
    render(
        &st,
        "audit.html",
        context! { ..v.frame("audit"), ..context! { lines => lines, f => context! { actor => q.actor, action => q.action } } },
    )
}

/// The Users page, with what the last action says (a generated password
/// appears here once, never in a URL).
async fn users_page(
    st: &ConsoleState,
    v: &Viewer,
    note: &str,
    password: Option<&str>,
    status: StatusCode,
) -> Response {
    let users = match st.admin.store.list_users().await {
        Ok(u) => u,
        Err(e) => return internal(e),
    };
    let tenants = match st.admin.store.list_tenants().await {
        Ok(t) => t
            .into_iter()
            .map(|t| t.id.into_string())
            .collect::<Vec<_>>(),
        Err(e) => return internal(e),
    };
    let users: Vec<api::User> = users.iter().map(admin::users::view).collect();
    let page = render(
        st,
        "users.html",
        context! { ..v.frame("users"), ..context! { users => users, tenants => tenants, note => note, password => password } },
    );
    (status, page).into_response()
}

pub async fn users(State(st): State<Arc<ConsoleState>>, v: Viewer) -> Response {
    if let Err(r) = v.admins_only() {
        return r.into_response();
    }
    users_page(&st, &v, "", None, StatusCode::OK).await
}

#[derive(Deserialize)]
pub struct AddUser {
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    tenant: String,
    #[serde(default)]
    password: String,
}

/// The labels the account forms show for the API's fields.
const LABELS: &[(&str, &str)] = &[
    ("name", "User name"),
    ("tenant", "Tenant"),
    ("password", "Password"),
];

pub async fn add_user(
    State(st): State<Arc<ConsoleState>>,
    Posted(v, f): Posted<AddUser>,
) -> Response {
    if let Err(r) = v.admins_only() {
        return r.into_response();
    }
    let req = match new_user(f) {
        Ok(r) => r,
        Err(m) => return users_page(&st, &v, &m, None, StatusCode::BAD_REQUEST).await,
    };
    match admin::users::create(&st.admin, req).await {
        Ok(u) => {
            audit(
                &st,
                v.user.name.as_str(),
                u.user.tenant.clone(),
                "user-add",
                u.user.name.as_str(),
                u.user.role.as_str(),
            )
            .await;
            let note = format!("Account {} added.", u.user.name);
            users_page(&st, &v, &note, u.password.as_deref(), StatusCode::OK).await
        }
        Err(e) => users_page(&st, &v, &refusal(&e, LABELS), None, StatusCode::BAD_REQUEST).await,
    }
}

/// The form's fields as the API's request, or what is wrong, by label.
fn new_user(f: AddUser) -> Result<api::NewUser, String> {
    let name = UserName::parse(f.name.trim()).map_err(|e| format!("User name: {e}"))?;
    let role = f
        .role
        .parse::<ConsoleRole>()
        .map_err(|e| format!("Role: {e}"))?;
    let tenant = match f.tenant.trim() {
        "" => None,
        t => Some(TenantId::parse(t).map_err(|e| format!("Tenant: {e}"))?),
    };
    Ok(api::NewUser {
        name,
        role,
        tenant,
        password: Some(f.password).filter(|p| !p.is_empty()),
    })
}

pub async fn reset_password(
    State(st): State<Arc<ConsoleState>>,
    Path(name): Path<String>,
    Posted(v, _): Posted<NoFields>,
) -> Response {
    if let Err(r) = v.admins_only() {
        return r.into_response();
    }
    let Ok(name) = UserName::parse(&name) else {
        return plain(StatusCode::NOT_FOUND, "There is no such account.");
    };
    match admin::users::set_password(&st.admin, &name, None).await {
        Ok(u) => {
            audit(
                &st,
                v.user.name.as_str(),
                u.user.tenant.clone(),
                "user-password-reset",
                name.as_str(),
                "",
            )
            .await;
            let note = format!("New password for {name}; their sessions have ended.");
            users_page(&st, &v, &note, u.password.as_deref(), StatusCode::OK).await
        }
        Err(e) => {
            users_page(
                &st,
                &v,
                &refusal(&e, LABELS),
                None,
                e.status_and_message().0,
            )
            .await
        }
    }
}

pub async fn remove_user(
    State(st): State<Arc<ConsoleState>>,
    Path(name): Path<String>,
    Posted(v, _): Posted<NoFields>,
) -> Response {
    if let Err(r) = v.admins_only() {
        return r.into_response();
    }
    let Ok(name) = UserName::parse(&name) else {
        return plain(StatusCode::NOT_FOUND, "There is no such account.");
    };
    if name == v.user.name {
        return users_page(
            &st,
            &v,
            "You cannot remove your own account while signed in with it.",
            None,
            StatusCode::BAD_REQUEST,
        )
        .await;
    }
    match st.admin.store.delete_user(&name).await {
        Ok(()) => {
            audit(
                &st,
                v.user.name.as_str(),
                None,
                "user-remove",
                name.as_str(),
                "",
            )
            .await;
            users_page(
                &st,
                &v,
                &format!("Account {name} removed."),
                None,
                StatusCode::OK,
            )
            .await
        }
        Err(touchless_store::StoreError::NotFound { .. }) => {
            plain(StatusCode::NOT_FOUND, "There is no such account.")
        }
        Err(e) => internal(e),
    }
}

pub async fn account(State(st): State<Arc<ConsoleState>>, v: Viewer) -> Response {
    render(
        &st,
        "account.html",
        context! { ..v.frame("account"), ..context! { note => "" } },
    )
}

#[derive(Deserialize)]
pub struct NewPassword {
    #[serde(default)]
    current: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    repeat: String,
}

/// One's own password: the current one first, so a session left open on a
/// shared screen cannot take the account over.
pub async fn change_password(
    State(st): State<Arc<ConsoleState>>,
    Posted(v, f): Posted<NewPassword>,
) -> Response {
    let say = |note: String, status: StatusCode| {
        let page = render(
            &st,
            "account.html",
            context! { ..v.frame("account"), ..context! { note => note } },
        );
        (status, page).into_response()
    };
    let stored = v.user.password_hash.clone();
    let current = f.current.clone();
    let good = tokio::task::spawn_blocking(move || verify_password(&current, &stored))
        .await
        .unwrap_or(false);
    if !good {
        return say(
            "Current password: this is not your current password.".into(),
            StatusCode::BAD_REQUEST,
        );
    }
    if f.password != f.repeat {
        return say(
            "Repeat: the two new passwords differ.".into(),
            StatusCode::BAD_REQUEST,
        );
    }
    match admin::users::set_password(&st.admin, &v.user.name, Some(f.password)).await {
        Ok(_) => {
            audit(
                &st,
                v.user.name.as_str(),
                v.user.tenant.clone(),
                "password-change",
                v.user.name.as_str(),
                "",
            )
            .await;
            // Every session ended, this one too: sign in with the new password.
            axum::response::Redirect::to("/login").into_response()
        }
        Err(e) => say(refusal(&e, LABELS), e.status_and_message().0),
    }
}
