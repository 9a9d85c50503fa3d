//! Tenants in the admin API: create, read, change (settings replaced or added to), delete.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::Json;
use http::StatusCode;
use serde_json::{json, Value};
use touchless_domain::{
    DisplayText, Host, ProvPassword, ProvScope, ProvUser, TenantId, TouchlessMode,
};
use touchless_store::{NewTenant, StoreError, Tenant, TenantPatch};

use crate::secret::random_token;

use super::*;

pub(super) fn tenant_json(t: &Tenant) -> Value {
    serde_json::to_value(t).unwrap_or(Value::Null)
}

pub(super) async fn list_tenants(State(st): State<Arc<AdminState>>) -> ApiResult<Json<Value>> {
    let ts = st.store.list_tenants().await?;
    Ok(Json(Value::Array(ts.iter().map(tenant_json).collect())))
}

pub(super) async fn create_tenant(
    State(st): State<Arc<AdminState>>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let f = Fields::parse(
        &body,
        &[
            "id",
            "name",
            "prov_user",
            "prov_pass",
            "sip_host",
            "sip_port",
            "mode",
            "prov_credentials",
            "settings",
        ],
    )?;
    let id = f.req("id", TenantId::parse)?;
    let generated_user = format!("prov-{}", &id.as_str()[..id.as_str().len().min(25)]);
    let new = NewTenant {
        name: f
            .opt("name", DisplayText::parse)?
            .unwrap_or_else(|| DisplayText::parse(id.as_str()).expect("ids are valid names")),
        prov_user: f
            .opt("prov_user", ProvUser::parse)?
            .unwrap_or_else(|| ProvUser::parse(&generated_user).expect("generated user is valid")),
        prov_pass: f.opt("prov_pass", ProvPassword::parse)?.unwrap_or_else(|| {
            ProvPassword::parse(&random_token(20)).expect("generated password is valid")
        }),
        sip_host: f.req("sip_host", Host::parse)?,
        sip_port: f.port("sip_port")?.unwrap_or(5060),
        mode: f
            .opt("mode", str::parse::<TouchlessMode>)?
            .unwrap_or_default(),
        prov_scope: f
            .opt("prov_credentials", str::parse::<ProvScope>)?
            .unwrap_or_default(),
        settings: f
            .list("settings")?
            .map(parse_settings)
            .transpose()?
            .unwrap_or_default(),
        id,
    };
    let t = st.store.create_tenant(&new).await?;
    refresh(&st).await;
    tracing::info!(tenant = %t.id, "tenant created");
    let mut v = tenant_json(&t);
    // Shown once here, because it may have been generated.
    v["prov_pass"] = json!(t.prov_pass.as_str());
    Ok((StatusCode::CREATED, Json(v)))
}

pub(super) fn path_tenant(id: &str) -> ApiResult<TenantId> {
    TenantId::parse(id).map_err(|e| ApiError::field("id", json!(id), e.to_string()))
}

pub(super) async fn fetch_tenant(st: &AdminState, id: &str) -> ApiResult<Tenant> {
    let id = path_tenant(id)?;
    Ok(st
        .store
        .get_tenant(&id)
        .await?
        .ok_or(StoreError::NotFound {
            what: "tenant",
            key: id.to_string(),
        })?)
}

pub(super) async fn get_tenant(
    State(st): State<Arc<AdminState>>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let t = fetch_tenant(&st, &id).await?;
    Ok(Json(tenant_json(&t)))
}

pub(super) async fn tenant_credentials(
    State(st): State<Arc<AdminState>>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let t = fetch_tenant(&st, &id).await?;
    Ok(Json(
        json!({ "prov_user": t.prov_user, "prov_pass": t.prov_pass.as_str() }),
    ))
}

pub(super) async fn patch_tenant(
    State(st): State<Arc<AdminState>>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let id = path_tenant(&id)?;
    let f = Fields::parse(
        &body,
        &[
            "name",
            "prov_user",
            "prov_pass",
            "sip_host",
            "sip_port",
            "mode",
            "prov_credentials",
            "settings",
            "add_settings",
        ],
    )?;
    let mut settings = f.list("settings")?.map(parse_settings).transpose()?;
    if let Some(extra) = f.list("add_settings")?.map(parse_settings).transpose()? {
        let base = match settings.take() {
            Some(s) => s,
            None => fetch_tenant(&st, id.as_str()).await?.settings,
        };
        settings = Some(upsert_settings(base, extra));
    }
    let patch = TenantPatch {
        name: f.opt("name", DisplayText::parse)?,
        prov_user: f.opt("prov_user", ProvUser::parse)?,
        prov_pass: f.opt("prov_pass", ProvPassword::parse)?,
        sip_host: f.opt("sip_host", Host::parse)?,
        sip_port: f.port("sip_port")?,
        mode: f.opt("mode", str::parse::<TouchlessMode>)?,
        prov_scope: f.opt("prov_credentials", str::parse::<ProvScope>)?,
        settings,
    };
    let t = st.store.update_tenant(&id, &patch).await?;
    refresh(&st).await;
    Ok(Json(tenant_json(&t)))
}

pub(super) async fn delete_tenant(
    State(st): State<Arc<AdminState>>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = path_tenant(&id)?;
    st.store.delete_tenant(&id).await?;
    refresh(&st).await;
    Ok(StatusCode::NO_CONTENT)
}
