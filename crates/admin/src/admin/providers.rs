//! Redirection providers in the admin API: add, read, edit, test, remove.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::Json;
use http::StatusCode;
use touchless_api::daemon as api;
use touchless_domain::TenantId;
use touchless_store::{Provider, StoreError};

use super::extract::{ApiError, ApiJson, ApiResult};
use super::state::AdminState;
use super::view;

#[utoipa::path(get, path = "/providers", tag = "providers", responses((status = 200, description = "every provider (no secrets)", body = Vec<api::Provider>)))]
pub(super) async fn list_providers(
    State(st): State<Arc<AdminState>>,
) -> ApiResult<Json<Vec<api::Provider>>> {
    let ps = st.store.list_providers().await?;
    Ok(Json(ps.iter().map(view::provider).collect()))
}

/// A field parsed by `parse`, or a 400 naming it.
fn check(
    field: &str,
    value: String,
    parse: impl FnOnce(&str) -> Result<(), String>,
) -> ApiResult<String> {
    match parse(&value) {
        Ok(()) => Ok(value),
        Err(why) => Err(ApiError::field(field, value.as_str(), why)),
    }
}

fn slug(s: &str) -> Result<(), String> {
    TenantId::parse(s)
        .map(|_| ())
        .map_err(|_| "use lowercase letters, digits and '-'".into())
}

fn url(s: &str) -> Result<(), String> {
    let ok =
        (s.starts_with("https://") || s.starts_with("http://")) && reqwest::Url::parse(s).is_ok();
    ok.then_some(())
        .ok_or_else(|| "expected an http:// or https:// URL".into())
}

fn printable(s: &str) -> Result<(), String> {
    let ok = !s.is_empty() && s.len() <= 200 && s.bytes().all(|c| c.is_ascii_graphic());
    ok.then_some(())
        .ok_or_else(|| "expected 1-200 printable ASCII characters".into())
}

#[utoipa::path(post, path = "/providers", tag = "providers", request_body = api::NewProvider, responses((status = 201, description = "created", body = api::Provider)))]
pub(super) async fn create_provider(
    State(st): State<Arc<AdminState>>,
    ApiJson(req): ApiJson<api::NewProvider>,
) -> ApiResult<(StatusCode, Json<api::Provider>)> {
    Ok((StatusCode::CREATED, Json(create(&st, req).await?)))
}

/// Adds a provider; the console's Add comes here too.
pub(crate) async fn create(st: &AdminState, req: api::NewProvider) -> ApiResult<api::Provider> {
    use touchless_daemon::kinds;
    let kind_name = req.kind.unwrap_or_else(|| kinds::default_kind().into());
    let (kind, vendor) = kinds::kind(&kind_name)
        .and_then(|k| Ok((k, kinds::vendor(&k)?)))
        .map_err(|e| ApiError::field("kind", kind_name.as_str(), e))?;
    let p = Provider {
        name: check("name", req.name, slug)?,
        vendor,
        base_url: match (req.base_url, kind.default_base_url) {
            (Some(u), _) => check("base_url", u, url)?,
            (None, Some(u)) => u.into(),
            (None, None) => {
                return Err(ApiError::field(
                    "base_url",
                    "",
                    format!("a provider of kind {kind_name} needs its base_url: the kind has no public address"),
                ))
            }
        },
        kind: kind_name,
        access_key_id: check("access_key_id", req.access_key_id, printable)?,
        secret: check("secret", req.secret, printable)?,
        tenant: req.tenant,
        ca_pem: req
            .ca_pem
            .map(|pem| {
                check("ca_pem", pem, |p| {
                    touchless_daemon::tls::parse_bundle(p).map(|_| ())
                })
            })
            .transpose()?,
        created_at: chrono::Utc::now(),
    };
    let created = st.store.create_provider(&p).await?;
    tracing::info!(provider = %created.name, url = %created.base_url, "provider added");
    Ok(view::provider(&created))
}

async fn fetch_provider(st: &AdminState, name: String) -> ApiResult<Provider> {
    Ok(st
        .store
        .get_provider(&name)
        .await?
        .ok_or(StoreError::NotFound {
            what: "provider",
            key: name,
        })?)
}

#[utoipa::path(get, path = "/providers/{name}", tag = "providers", params(("name" = String, Path, description = "provider name")), responses((status = 200, description = "the provider", body = api::Provider)))]
pub(super) async fn get_provider(
    State(st): State<Arc<AdminState>>,
    Path(name): Path<String>,
) -> ApiResult<Json<api::Provider>> {
    let p = fetch_provider(&st, name).await?;
    Ok(Json(view::provider(&p)))
}

#[utoipa::path(patch, path = "/providers/{name}", tag = "providers", params(("name" = String, Path, description = "provider name")), request_body = api::ProviderPatch, responses((status = 200, description = "the changed provider", body = api::Provider)))]
pub(super) async fn patch_provider(
    State(st): State<Arc<AdminState>>,
    Path(name): Path<String>,
    ApiJson(req): ApiJson<api::ProviderPatch>,
) -> ApiResult<Json<api::Provider>> {
    Ok(Json(update(&st, name, req).await?))
}

/// Edits a provider; the console's Save comes here too. An empty secret
/// keeps the stored one (the form never shows it).
pub(crate) async fn update(
    st: &AdminState,
    name: String,
    req: api::ProviderPatch,
) -> ApiResult<api::Provider> {
    let mut p = fetch_provider(st, name).await?;
    if let Some(u) = req.base_url {
        p.base_url = check("base_url", u, url)?;
    }
    if let Some(k) = req.access_key_id {
        p.access_key_id = check("access_key_id", k, printable)?;
    }
    if let Some(s) = req.secret.filter(|s| !s.is_empty()) {
        p.secret = check("secret", s, printable)?;
    }
    let saved = st.store.update_provider(&p).await?;
    tracing::info!(provider = %saved.name, url = %saved.base_url, "provider changed");
    Ok(view::provider(&saved))
}

#[utoipa::path(delete, path = "/providers/{name}", tag = "providers", params(("name" = String, Path, description = "provider name")), responses((status = 204, description = "deleted")))]
pub(super) async fn delete_provider(
    State(st): State<Arc<AdminState>>,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    st.store.delete_provider(&name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Runs the discovery chain now; a failure is a normal answer (`ok: false`), not an error.
#[utoipa::path(post, path = "/providers/{name}/test", tag = "providers", params(("name" = String, Path, description = "provider name")), responses((status = 200, description = "what the provider answered", body = api::ProviderTest)))]
pub(super) async fn test_provider(
    State(st): State<Arc<AdminState>>,
    Path(name): Path<String>,
) -> ApiResult<Json<api::ProviderTest>> {
    Ok(Json(test(&st, name).await?))
}

/// The discovery chain, worded as the CLI and the console show it.
pub(crate) async fn test(st: &AdminState, name: String) -> ApiResult<api::ProviderTest> {
    let p = fetch_provider(st, name).await?;
    let daemon = st.daemon.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the daemon is disabled on this node",
        )
    })?;
    let api = match daemon.client(&p) {
        Ok(api) => api,
        Err(message) => return Ok(api::ProviderTest { ok: false, message }),
    };
    Ok(match api.test().await {
        Ok(message) => api::ProviderTest { ok: true, message },
        Err(e) => api::ProviderTest {
            ok: false,
            message: e.to_string(),
        },
    })
}
