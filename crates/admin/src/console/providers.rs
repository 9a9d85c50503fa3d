//! The Providers page, as the seed's admins use it: each redirection
//! provider account with Edit (URL, key id, a write-only secret), Save and
//! Test (worded as the CLI words it), Add, and each tenant's Touchless
//! Provisioning Mode (Master or Per Tenant).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use http::{HeaderMap, StatusCode};
use minijinja::context;
use serde::Deserialize;
use touchless_api::daemon as api;
use touchless_domain::{TenantId, TouchlessMode};
use touchless_store::TenantPatch;

use super::respond::{audit, internal, plain, refusal, render, wants_json};
use super::session::{NoFields, Posted, Viewer};
use super::ConsoleState;
use crate::admin;

/// What one round of the page says beside a provider: a Test's result, or
/// why a form was refused (`for_` is the provider's name, or `new`).
#[derive(Default)]
struct Notes {
    for_: String,
    ok: Option<bool>,
    message: String,
}

/// The labels the provider forms show for the API's fields.
const LABELS: &[(&str, &str)] = &[
    ("base_url", "URL"),
    ("access_key_id", "API key id"),
    ("secret", "API key secret"),
    ("name", "Name"),
    ("tenant", "Tenant"),
    ("kind", "Kind"),
];

fn refused(for_: &str, e: &admin::extract::ApiError) -> Notes {
    Notes {
        for_: for_.to_owned(),
        ok: Some(false),
        message: refusal(e, LABELS),
    }
}

async fn page(st: &ConsoleState, v: &Viewer, notes: Notes, status: StatusCode) -> Response {
    let providers = match st.admin.store.list_providers().await {
        Ok(p) => p,
        Err(e) => return internal(e),
    };
    let providers: Vec<api::Provider> = providers
        .iter()
        .filter(|p| v.is_admin() || (p.tenant.is_some() && p.tenant == v.user.tenant))
        .map(admin::view::provider)
        .collect();
    let tenants = match st.admin.store.list_tenants().await {
        Ok(t) => t,
        Err(e) => return internal(e),
    };
    let tenants: Vec<_> = tenants
        .iter()
        .filter(|t| v.sees(&t.id))
        .map(|t| context! { id => t.id.as_str(), mode => t.mode.as_str() })
        .collect();
    // Every cloud this touchless speaks, with whose phones it registers.
    let kinds: Vec<_> = touchless_daemon::kinds::known()
        .into_iter()
        .filter_map(|k| {
            let kind = touchless_daemon::kinds::kind(k).ok()?;
            let vendor = touchless_daemon::kinds::vendor(&kind).ok()?;
            Some(context! { name => k, vendor => vendor.display_name() })
        })
        .collect();
    let body = render(
        st,
        "providers.html",
        context! {
            ..v.frame("providers"),
            ..context! {
                providers => providers,
                tenants => tenants,
                kinds => kinds,
                default_kind => touchless_daemon::kinds::default_kind(),
                note => context! { for_ => notes.for_, ok => notes.ok, message => notes.message },
            }
        },
    );
    (status, body).into_response()
}

pub async fn providers(State(st): State<Arc<ConsoleState>>, v: Viewer) -> Response {
    page(&st, &v, Notes::default(), StatusCode::OK).await
}

#[derive(Deserialize)]
pub struct AddForm {
    #[serde(default)]
    name: String,
    /// Empty: the default kind.
    #[serde(default)]
    kind: String,
    #[serde(default)]
    base_url: String,
    #[serde(default)]
    access_key_id: String,
    #[serde(default)]
    secret: String,
    /// Empty: the master account.
    #[serde(default)]
    tenant: String,
}

pub async fn add(State(st): State<Arc<ConsoleState>>, Posted(v, f): Posted<AddForm>) -> Response {
    let tenant = if v.is_admin() {
        match f.tenant.trim() {
            "" => None,
            t => match TenantId::parse(t) {
                Ok(t) => Some(t),
                Err(e) => {
                    let n = Notes {
                        for_: "new".into(),
                        ok: Some(false),
                        message: format!("Tenant: {e}"),
                    };
                    return page(&st, &v, n, StatusCode::BAD_REQUEST).await;
                }
            },
        }
    } else {
        // A tenant admin adds their own tenant's account, nothing else.
        v.user.tenant.clone()
    };
    let req = api::NewProvider {
        name: f.name.trim().to_owned(),
        kind: Some(f.kind.trim().to_owned()).filter(|k| !k.is_empty()),
        base_url: Some(f.base_url.trim().to_owned()).filter(|u| !u.is_empty()),
        access_key_id: f.access_key_id.trim().to_owned(),
        secret: f.secret.trim().to_owned(),
        tenant,
        ca_pem: None,
    };
    match admin::providers::create(&st.admin, req).await {
        Ok(p) => {
            audit(
                &st,
                v.user.name.as_str(),
                p.tenant.clone(),
                "provider-add",
                &p.name,
                &p.base_url,
            )
            .await;
            Redirect::to("/providers").into_response()
        }
        Err(e) => page(&st, &v, refused("new", &e), StatusCode::BAD_REQUEST).await,
    }
}

#[derive(Deserialize)]
pub struct SaveForm {
    #[serde(default)]
    base_url: String,
    #[serde(default)]
    access_key_id: String,
    /// Empty keeps the stored secret: the form never shows it.
    #[serde(default)]
    secret: String,
}

/// Whether the viewer may touch this provider: an admin any, a tenant admin
/// their tenant's own account only. Others do not exist for them.
async fn may_touch(st: &ConsoleState, v: &Viewer, name: &str) -> Result<(), Response> {
    let not_found = || plain(StatusCode::NOT_FOUND, "There is no such provider.");
    match st.admin.store.get_provider(name).await {
        Ok(Some(p)) if v.is_admin() || (p.tenant.is_some() && p.tenant == v.user.tenant) => Ok(()),
        Ok(_) => Err(not_found()),
        Err(e) => Err(internal(e)),
    }
}

pub async fn save(
    State(st): State<Arc<ConsoleState>>,
    Path(name): Path<String>,
    Posted(v, f): Posted<SaveForm>,
) -> Response {
    if let Err(r) = may_touch(&st, &v, &name).await {
        return r;
    }
    let patch = api::ProviderPatch {
        base_url: Some(f.base_url.trim().to_owned()),
        access_key_id: Some(f.access_key_id.trim().to_owned()),
        secret: Some(f.secret.trim().to_owned()),
    };
    match admin::providers::update(&st.admin, name.clone(), patch).await {
        Ok(p) => {
            audit(
                &st,
                v.user.name.as_str(),
                p.tenant.clone(),
                "provider-edit",
                &p.name,
                &p.base_url,
            )
            .await;
            let n = Notes {
                for_: name,
                ok: None,
                message: "Saved.".into(),
            };
            page(&st, &v, n, StatusCode::OK).await
        }
        Err(e) => page(&st, &v, refused(&name, &e), StatusCode::BAD_REQUEST).await,
    }
}

/// Test: the discovery chain now. A script gets JSON and shows it in place;
/// without scripts the page comes back with the result beside the provider.
pub async fn test(
    State(st): State<Arc<ConsoleState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    Posted(v, _): Posted<NoFields>,
) -> Response {
    if let Err(r) = may_touch(&st, &v, &name).await {
        return r;
    }
    let result = admin::providers::test(&st.admin, name.clone()).await;
    let wants_json = wants_json(&headers);
    let notes = match result {
        Ok(t) => {
            if wants_json {
                return axum::Json(t).into_response();
            }
            Notes {
                for_: name,
                ok: Some(t.ok),
                message: t.message,
            }
        }
        Err(e) => refused(&name, &e),
    };
    if wants_json {
        return axum::Json(api::ProviderTest {
            ok: false,
            message: notes.message,
        })
        .into_response();
    }
    page(&st, &v, notes, StatusCode::OK).await
}

#[derive(Deserialize)]
pub struct ModeForm {
    #[serde(default)]
    mode: String,
}

/// A tenant's Touchless Provisioning Mode: which account registers its
/// devices. The installation's admins choose it.
pub async fn mode(
    State(st): State<Arc<ConsoleState>>,
    Path(id): Path<String>,
    Posted(v, f): Posted<ModeForm>,
) -> Response {
    if !v.is_admin() {
        return plain(
            StatusCode::FORBIDDEN,
            "Only the installation's admins choose a tenant's mode.",
        );
    }
    let (Ok(id), Ok(mode)) = (TenantId::parse(&id), f.mode.parse::<TouchlessMode>()) else {
        return plain(
            StatusCode::BAD_REQUEST,
            "Mode: expected Master or Per Tenant.",
        );
    };
    let patch = TenantPatch {
        mode: Some(mode),
        ..TenantPatch::default()
    };
    match st.admin.store.update_tenant(&id, &patch).await {
        Ok(t) => {
            st.admin.written(false).await;
            audit(
                &st,
                v.user.name.as_str(),
                Some(t.id.clone()),
                "tenant-mode",
                t.id.as_str(),
                mode.as_str(),
            )
            .await;
            Redirect::to("/providers").into_response()
        }
        Err(touchless_store::StoreError::NotFound { .. }) => {
            plain(StatusCode::NOT_FOUND, "There is no such tenant.")
        }
        Err(e) => internal(e),
    }
}
