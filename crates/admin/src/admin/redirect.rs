//! The redirection service in the admin API (`/api/v1/redirect/…`): companies,
//! API keys, endpoints and phone contacts.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::Json;
use http::StatusCode;
use touchless_api::redirect as api;
use touchless_domain::{Mac, Role};
use touchless_store::StoreError;

use super::extract::{path_mac, query_param, ApiError, ApiJson, ApiQuery, ApiResult};
use super::state::AdminState;
use super::view;
use touchless_redirect::catalogue::Catalogue;
use touchless_runtime::secret::{random_hex, random_token};

#[utoipa::path(get, path = "/companies", tag = "redirect", operation_id = "redirect_list_companies", responses((status = 200, description = "companies of the redirection service", body = Vec<api::Company>)))]
pub(super) async fn list_companies(
    State(st): State<Arc<AdminState>>,
) -> ApiResult<Json<Vec<api::Company>>> {
    let cs = st.store.list_companies().await?;
    Ok(Json(cs.into_iter().map(view::company).collect()))
}

#[utoipa::path(post, path = "/companies", tag = "redirect", operation_id = "redirect_create_company", request_body = api::NewCompany, responses((status = 201, description = "created", body = api::Company)))]
pub(super) async fn create_company(
    State(st): State<Arc<AdminState>>,
    ApiJson(req): ApiJson<api::NewCompany>,
) -> ApiResult<(StatusCode, Json<api::Company>)> {
    Ok((StatusCode::CREATED, Json(company(&st, req).await?)))
}

/// Creates a company; the console's portal comes here too.
pub(crate) async fn company(st: &AdminState, req: api::NewCompany) -> ApiResult<api::Company> {
    let name = req.name.trim();
    if name.is_empty() || name.chars().count() > 200 || !touchless_domain::is_xml_text(name, false)
    {
        return Err(ApiError::field(
            "name",
            req.name.as_str(),
            "must be 1-200 characters without control characters",
        ));
    }
    let c = st.store.create_company(&random_hex(16), name).await?;
    tracing::info!(company = %c.id, "redirect company created");
    Ok(view::company(c))
}

#[utoipa::path(get, path = "/keys", tag = "redirect", operation_id = "redirect_list_keys", params(api::KeysQuery), responses((status = 200, description = "API keys (no secrets)", body = Vec<api::ApiKey>)))]
pub(super) async fn list_keys(
    State(st): State<Arc<AdminState>>,
    ApiQuery(q): ApiQuery<api::KeysQuery>,
) -> ApiResult<Json<Vec<api::ApiKey>>> {
    let keys = st.store.list_api_keys(q.company.as_deref()).await?;
    Ok(Json(keys.into_iter().map(view::api_key).collect()))
}

/// The secret is in this response and nowhere else, ever.
#[utoipa::path(post, path = "/keys", tag = "redirect", operation_id = "redirect_create_key", request_body = api::NewApiKey, responses((status = 201, description = "created; the secret is shown once", body = api::ApiKey)))]
pub(super) async fn create_key(
    State(st): State<Arc<AdminState>>,
    ApiJson(req): ApiJson<api::NewApiKey>,
) -> ApiResult<(StatusCode, Json<api::ApiKey>)> {
    Ok((StatusCode::CREATED, Json(key(&st, req).await?)))
}

/// Creates an API key; its secret is in the answer, once.
pub(crate) async fn key(st: &AdminState, req: api::NewApiKey) -> ApiResult<api::ApiKey> {
    let role = req.role.unwrap_or(Role::Write);
    if st.store.get_company(&req.company).await?.is_none() {
        return Err(ApiError::field(
            "company",
            req.company.as_str(),
            "no such company",
        ));
    }
    let id = format!("tk{}", random_token(18));
    let secret = random_token(40);
    let k = st
        .store
        .create_api_key(&id, &req.company, &secret, role)
        .await?;
    tracing::info!(key = %k.id, company = %k.company, role = k.role.as_str(), "redirect API key created");
    let mut out = view::api_key(k);
    out.secret = Some(secret);
    Ok(out)
}

#[utoipa::path(delete, path = "/keys/{id}", tag = "redirect", operation_id = "redirect_revoke_key", params(("id" = String, Path, description = "key id")), responses((status = 200, description = "revoked", body = api::ApiKey)))]
pub(super) async fn revoke_key(
    State(st): State<Arc<AdminState>>,
    Path(id): Path<String>,
) -> ApiResult<Json<api::ApiKey>> {
    let k = st.store.set_api_key_enabled(&id, false).await?;
    tracing::info!(key = %k.id, "redirect API key revoked");
    Ok(Json(view::api_key(k)))
}

#[utoipa::path(get, path = "/endpoints", tag = "redirect", operation_id = "redirect_list_endpoints", params(api::EndpointsQuery), responses((status = 200, description = "endpoints (MACs) and where they are sent", body = api::EndpointList)))]
pub(super) async fn list_endpoints(
    State(st): State<Arc<AdminState>>,
    ApiQuery(q): ApiQuery<api::EndpointsQuery>,
) -> ApiResult<Json<api::EndpointList>> {
    let (items, total) = st
        .store
        .list_endpoints(
            q.company.as_deref(),
            q.offset.unwrap_or(0),
            q.limit.unwrap_or(1000).min(10_000),
        )
        .await?;
    Ok(Json(api::EndpointList {
        total,
        endpoints: items.into_iter().map(view::endpoint).collect(),
    }))
}

/// Whether a catalogue setting holds a password; shown as `***` unless asked for.
fn is_secret_setting(param_name: &str) -> bool {
    param_name.ends_with("_pass") || param_name.contains("password")
}

#[utoipa::path(get, path = "/endpoints/{mac}", tag = "redirect", operation_id = "redirect_get_endpoint", params(("mac" = String, Path, description = "the MAC, 12 hex digits (separators allowed)"), api::EndpointQuery), responses((status = 200, description = "the endpoint and its settings", body = api::EndpointDetail)))]
pub(super) async fn get_endpoint(
    State(st): State<Arc<AdminState>>,
    Path(mac): Path<String>,
    ApiQuery(q): ApiQuery<api::EndpointQuery>,
) -> ApiResult<Json<api::EndpointDetail>> {
    Ok(Json(endpoint(&st, path_mac(&mac)?, q.secrets).await?))
}

/// An endpoint with its settings by name; passwords masked unless `secrets`.
/// The console's portal shows the same.
pub(crate) async fn endpoint(
    st: &AdminState,
    mac: Mac,
    secrets: bool,
) -> ApiResult<api::EndpointDetail> {
    let e = st
        .store
        .get_endpoint(mac)
        .await?
        .ok_or_else(|| StoreError::not_found("endpoint", mac))?;
    let cat = Catalogue::get();
    let settings = e
        .settings
        .into_iter()
        .map(|(uuid, v)| {
            let param_name = cat.setting(&uuid).map(|d| d.param_name);
            let secret = !secrets && param_name.is_some_and(is_secret_setting);
            api::EndpointSetting {
                param_name: param_name.map(str::to_owned),
                value: if secret { "***".into() } else { v.value },
                perm: v.perm,
                idx: v.idx,
                uuid,
            }
        })
        .collect();
    Ok(api::EndpointDetail {
        mac: e.mac,
        company: e.company,
        name: e.name,
        autoprovisioning_enabled: e.autoprovisioning_enabled,
        profile: e.profile,
        settings,
        created_at: e.created_at,
        updated_at: e.updated_at,
    })
}

#[utoipa::path(get, path = "/contacts", tag = "redirect", operation_id = "redirect_contacts", params(api::RedirectContactsQuery), responses((status = 200, description = "phones that asked, newest first", body = Vec<api::RedirectContact>)))]
pub(super) async fn contacts(
    State(st): State<Arc<AdminState>>,
    ApiQuery(q): ApiQuery<api::RedirectContactsQuery>,
) -> ApiResult<Json<Vec<api::RedirectContact>>> {
    let mac = query_param("mac", q.mac.as_deref(), Mac::parse)?;
    let cs = st
        .store
        .redirect_contacts(mac, q.limit.unwrap_or(50).clamp(1, 1000))
        .await?;
    Ok(Json(cs.into_iter().map(view::redirect_contact).collect()))
}
