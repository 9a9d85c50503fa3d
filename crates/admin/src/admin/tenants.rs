//! Tenants in the admin API: create, read, change (settings replaced or added to), delete.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::Json;
use http::StatusCode;
use touchless_api::tenants as api;
use touchless_domain::{DisplayText, ProvPassword, ProvUser, Setting, TenantId};
use touchless_store::{NewTenant, StoreError, Tenant, TenantPatch};

use super::extract::{ApiError, ApiJson, ApiResult};
use super::state::AdminState;
use super::view;
use touchless_runtime::secret::random_token;

#[utoipa::path(get, path = "/tenants", tag = "tenants", responses((status = 200, description = "every tenant", body = Vec<api::Tenant>)))]
pub(super) async fn list_tenants(
    State(st): State<Arc<AdminState>>,
) -> ApiResult<Json<Vec<api::Tenant>>> {
    let ts = st.store.list_tenants().await?;
    Ok(Json(ts.iter().map(view::tenant).collect()))
}

#[utoipa::path(post, path = "/tenants", tag = "tenants", request_body = api::NewTenant, responses((status = 201, description = "created", body = api::Tenant)))]
pub(super) async fn create_tenant(
    State(st): State<Arc<AdminState>>,
    ApiJson(req): ApiJson<api::NewTenant>,
) -> ApiResult<(StatusCode, Json<api::Tenant>)> {
    Ok((StatusCode::CREATED, Json(create(&st, req).await?)))
}

/// Creates a tenant; the answer holds its `/prov` password once, since it
/// may have been generated. The console's Add comes here too.
pub(crate) async fn create(st: &AdminState, req: api::NewTenant) -> ApiResult<api::Tenant> {
    let id = req.id;
    let generated_user = format!("prov-{}", &id.as_str()[..id.as_str().len().min(25)]);
    let new = NewTenant {
        name: req
            .name
            .unwrap_or_else(|| DisplayText::parse(id.as_str()).expect("ids are valid names")),
        prov_user: req
            .prov_user
            .unwrap_or_else(|| ProvUser::parse(&generated_user).expect("generated user is valid")),
        prov_pass: req.prov_pass.unwrap_or_else(|| {
            ProvPassword::parse(&random_token(20)).expect("generated password is valid")
        }),
        sip_host: req.sip_host,
        sip_port: req.sip_port.map_or(5060, |p| p.0),
        mode: req.mode.unwrap_or_default(),
        prov_scope: req.prov_credentials.unwrap_or_default(),
        settings: settings(req.settings.unwrap_or_default())?,
        id,
    };
    let t = st.store.create_tenant(&new).await?;
    st.written(false).await;
    tracing::info!(tenant = %t.id, "tenant created");
    // Shown once here, because it may have been generated.
    let mut out = view::tenant(&t);
    out.prov_pass = Some(t.prov_pass);
    Ok(out)
}

pub(super) fn path_tenant(id: &str) -> ApiResult<TenantId> {
    TenantId::parse(id).map_err(|e| ApiError::field("id", id, e.to_string()))
}

pub(crate) async fn fetch_tenant(st: &AdminState, id: &TenantId) -> ApiResult<Tenant> {
    Ok(st
        .store
        .get_tenant(id)
        .await?
        .ok_or_else(|| StoreError::not_found("tenant", id))?)
}

#[utoipa::path(get, path = "/tenants/{id}", tag = "tenants", params(("id" = String, Path, description = "tenant id")), responses((status = 200, description = "the tenant", body = api::Tenant)))]
pub(super) async fn get_tenant(
    State(st): State<Arc<AdminState>>,
    Path(id): Path<String>,
) -> ApiResult<Json<api::Tenant>> {
    let t = fetch_tenant(&st, &path_tenant(&id)?).await?;
    Ok(Json(view::tenant(&t)))
}

#[utoipa::path(get, path = "/tenants/{id}/credentials", tag = "tenants", params(("id" = String, Path, description = "tenant id")), responses((status = 200, description = "the tenant's shared /prov pair", body = api::TenantCredentials)))]
pub(super) async fn tenant_credentials(
    State(st): State<Arc<AdminState>>,
    Path(id): Path<String>,
) -> ApiResult<Json<api::TenantCredentials>> {
    let t = fetch_tenant(&st, &path_tenant(&id)?).await?;
    Ok(Json(api::TenantCredentials {
        prov_user: t.prov_user,
        prov_pass: t.prov_pass,
    }))
}

#[utoipa::path(patch, path = "/tenants/{id}", tag = "tenants", params(("id" = String, Path, description = "tenant id")), request_body = api::TenantPatch, responses((status = 200, description = "the changed tenant", body = api::Tenant)))]
pub(super) async fn patch_tenant(
    State(st): State<Arc<AdminState>>,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<api::TenantPatch>,
) -> ApiResult<Json<api::Tenant>> {
    Ok(Json(patch(&st, path_tenant(&id)?, req).await?))
}

/// Changes a tenant; the console's Save comes here too.
pub(crate) async fn patch(
    st: &AdminState,
    id: TenantId,
    req: api::TenantPatch,
) -> ApiResult<api::Tenant> {
    let mut new_settings = req.settings.map(settings).transpose()?;
    if let Some(extra) = req.add_settings {
        let base = match new_settings.take() {
            Some(s) => s,
            None => fetch_tenant(st, &id).await?.settings,
        };
        new_settings = Some(upsert_settings(base, settings(extra)?));
    }
    let patch = TenantPatch {
        name: req.name,
        prov_user: req.prov_user,
        prov_pass: req.prov_pass,
        sip_host: req.sip_host,
        sip_port: req.sip_port.map(|p| p.0),
        mode: req.mode,
        prov_scope: req.prov_credentials,
        settings: new_settings,
    };
    let t = st.store.update_tenant(&id, &patch).await?;
    st.written(false).await;
    Ok(view::tenant(&t))
}

#[utoipa::path(delete, path = "/tenants/{id}", tag = "tenants", params(("id" = String, Path, description = "tenant id")), responses((status = 204, description = "deleted")))]
pub(super) async fn delete_tenant(
    State(st): State<Arc<AdminState>>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = path_tenant(&id)?;
    st.store.delete_tenant(&id).await?;
    st.written(false).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Settings of a request as the store keeps them; the value is checked here
/// because whether it is valid depends on nothing but itself.
pub(super) fn settings(items: Vec<api::SettingIn>) -> ApiResult<Vec<Setting>> {
    items
        .into_iter()
        .map(|s| {
            Setting::new(
                s.name.as_str(),
                s.idx,
                &s.value.0,
                s.perm.unwrap_or_default(),
            )
            .map_err(|e| ApiError::field("settings", s.value.0.as_str(), e.to_string()))
        })
        .collect()
}

/// `base` with each of `extra` put in: replacing the setting of the same name
/// and index, or appended.
pub(super) fn upsert_settings(mut base: Vec<Setting>, extra: Vec<Setting>) -> Vec<Setting> {
    for s in extra {
        match base.iter_mut().find(|b| b.name == s.name && b.idx == s.idx) {
            Some(slot) => *slot = s,
            None => base.push(s),
        }
    }
    base
}
