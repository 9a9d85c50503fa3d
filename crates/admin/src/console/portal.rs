//! The redirection service's portal, as SRAPS users know it: companies,
//! API keys (a role each, the secret shown once, revoke), the endpoints
//! registered, and the phones that asked where to go. Admins only.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use minijinja::context;
use serde::Deserialize;
use touchless_api::redirect as api;
use touchless_domain::Role;

use super::respond::{audit, internal, plain, refusal, render};
use super::session::{NoFields, Posted, Viewer};
use super::ConsoleState;
use crate::admin;

/// What the last action says: a refusal, or a new key's secret (shown in
/// this answer only, never in a URL).
#[derive(Default)]
struct Said {
    note: String,
    ok: bool,
    key: Option<api::ApiKey>,
}

async fn page(st: &ConsoleState, v: &Viewer, said: Said, status: StatusCode) -> Response {
    if !v.is_admin() {
        return plain(StatusCode::NOT_FOUND, "There is no such page.");
    }
    let store = &st.admin.store;
    let companies = match store.list_companies().await {
        Ok(c) => c.into_iter().map(admin::view::company).collect::<Vec<_>>(),
        Err(e) => return internal(e),
    };
    let names: std::collections::BTreeMap<String, String> = companies
        .iter()
        .map(|c| (c.id.clone(), c.name.clone()))
        .collect();
    let keys = match store.list_api_keys(None).await {
        Ok(k) => k.into_iter().map(admin::view::api_key).collect::<Vec<_>>(),
        Err(e) => return internal(e),
    };
    let (endpoints, total) = match store.list_endpoints(None, 0, 50).await {
        Ok((e, n)) => (
            e.into_iter().map(admin::view::endpoint).collect::<Vec<_>>(),
            n,
        ),
        Err(e) => return internal(e),
    };
    let contacts = match store.redirect_contacts(None, 20).await {
        Ok(c) => c
            .into_iter()
            .map(admin::view::redirect_contact)
            .collect::<Vec<_>>(),
        Err(e) => return internal(e),
    };
    let body = render(
        st,
        "portal.html",
        context! {
            ..v.frame("portal"),
            ..context! {
                companies => companies, names => names, keys => keys, endpoints => endpoints, total => total,
                contacts => contacts, roles => ["none", "read", "write", "admin"],
                note => said.note, ok => said.ok, new_key => said.key,
            }
        },
    );
    (status, body).into_response()
}

pub async fn portal(State(st): State<Arc<ConsoleState>>, v: Viewer) -> Response {
    page(&st, &v, Said::default(), StatusCode::OK).await
}

fn refused(e: &admin::extract::ApiError) -> Said {
    Said {
        note: refusal(e, &[("name", "Company name"), ("company", "Company")]),
        ok: false,
        key: None,
    }
}

#[derive(Deserialize)]
pub struct CompanyForm {
    #[serde(default)]
    name: String,
}

pub async fn add_company(
    State(st): State<Arc<ConsoleState>>,
    Posted(v, f): Posted<CompanyForm>,
) -> Response {
    if !v.is_admin() {
        return plain(StatusCode::NOT_FOUND, "There is no such page.");
    }
    match admin::redirect::company(&st.admin, api::NewCompany { name: f.name }).await {
        Ok(c) => {
            audit(
                &st,
                v.user.name.as_str(),
                None,
                "company-add",
                &c.id,
                &c.name,
            )
            .await;
            let said = Said {
                note: format!("Company {} added.", c.name),
                ok: true,
                key: None,
            };
            page(&st, &v, said, StatusCode::OK).await
        }
        Err(e) => page(&st, &v, refused(&e), StatusCode::BAD_REQUEST).await,
    }
}

#[derive(Deserialize)]
pub struct KeyForm {
    #[serde(default)]
    company: String,
    #[serde(default)]
    role: String,
}

pub async fn add_key(
    State(st): State<Arc<ConsoleState>>,
    Posted(v, f): Posted<KeyForm>,
) -> Response {
    if !v.is_admin() {
        return plain(StatusCode::NOT_FOUND, "There is no such page.");
    }
    let role = match f.role.parse::<Role>() {
        Ok(r) => r,
        Err(e) => {
            let said = Said {
                note: format!("Role: {e}"),
                ..Said::default()
            };
            return page(&st, &v, said, StatusCode::BAD_REQUEST).await;
        }
    };
    let req = api::NewApiKey {
        company: f.company,
        role: Some(role),
    };
    match admin::redirect::key(&st.admin, req).await {
        Ok(k) => {
            audit(
                &st,
                v.user.name.as_str(),
                None,
                "key-create",
                &k.id,
                k.role.as_str(),
            )
            .await;
            let said = Said {
                note: format!("API key {} created with role {}.", k.id, k.role.as_str()),
                ok: true,
                key: Some(k),
            };
            page(&st, &v, said, StatusCode::OK).await
        }
        Err(e) => page(&st, &v, refused(&e), StatusCode::BAD_REQUEST).await,
    }
}

pub async fn revoke_key(
    State(st): State<Arc<ConsoleState>>,
    Path(id): Path<String>,
    Posted(v, _): Posted<NoFields>,
) -> Response {
    if !v.is_admin() {
        return plain(StatusCode::NOT_FOUND, "There is no such page.");
    }
    match st.admin.store.set_api_key_enabled(&id, false).await {
        Ok(k) => {
            audit(&st, v.user.name.as_str(), None, "key-revoke", &k.id, "").await;
            let said = Said {
                note: format!("API key {} revoked.", k.id),
                ok: true,
                key: None,
            };
            page(&st, &v, said, StatusCode::OK).await
        }
        Err(touchless_store::StoreError::NotFound { .. }) => {
            plain(StatusCode::NOT_FOUND, "There is no such API key.")
        }
        Err(e) => internal(e),
    }
}

/// One endpoint and its settings by name (passwords masked).
pub async fn endpoint(
    State(st): State<Arc<ConsoleState>>,
    v: Viewer,
    Path(mac): Path<String>,
) -> Response {
    let not_found = || plain(StatusCode::NOT_FOUND, "There is no such endpoint.");
    if !v.is_admin() {
        return not_found();
    }
    let Ok(mac) = touchless_domain::Mac::parse(&mac) else {
        return not_found();
    };
    match admin::redirect::endpoint(&st.admin, mac, false).await {
        Ok(e) => render(
            &st,
            "endpoint.html",
            context! { ..v.frame("portal"), ..context! { e => e } },
        ),
        Err(e) if e.status_and_message().0 == StatusCode::NOT_FOUND => not_found(),
        Err(e) => super::respond::api_error(&e),
    }
}
