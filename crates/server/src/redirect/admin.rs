//! The redirection service in the admin API (`/api/v1/redirect/…`, bearer token):
//! companies, API keys, endpoints and phone contacts, for the CLI.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::routing::{delete, get};
use axum::{Json, Router};
use http::StatusCode;
use serde::Deserialize;
use serde_json::{json, Value};
use touchless_domain::Mac;
use touchless_store::{Role, StoreError};

use crate::admin::{AdminState, ApiError, ApiQuery, ApiResult, Fields};
use crate::secret::{random_hex, random_token};

pub fn routes() -> Router<Arc<AdminState>> {
    Router::new()
        .route("/companies", get(list_companies).post(create_company))
        .route("/keys", get(list_keys).post(create_key))
        .route("/keys/{id}", delete(revoke_key))
        .route("/endpoints", get(list_endpoints))
        .route("/endpoints/{mac}", get(get_endpoint))
        .route("/contacts", get(contacts))
}

async fn list_companies(State(st): State<Arc<AdminState>>) -> ApiResult<Json<Value>> {
    Ok(Json(
        serde_json::to_value(st.store.list_companies().await?).unwrap_or_default(),
    ))
}

fn check_name(s: &str) -> Result<String, &'static str> {
    let n = s.trim();
    if n.is_empty() || n.chars().count() > 200 || !touchless_domain::is_xml_text(n, false) {
        Err("must be 1-200 characters without control characters")
    } else {
        Ok(n.to_owned())
    }
}

async fn create_company(
    State(st): State<Arc<AdminState>>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let f = Fields::parse(&body, &["name"])?;
    let name = f.req("name", check_name)?;
    let c = st.store.create_company(&random_hex(16), &name).await?;
    tracing::info!(company = %c.id, "redirect company created");
    Ok((
        StatusCode::CREATED,
        Json(serde_json::to_value(c).unwrap_or_default()),
    ))
}

#[derive(Deserialize)]
struct CompanyQuery {
    company: Option<String>,
}

async fn list_keys(
    State(st): State<Arc<AdminState>>,
    ApiQuery(q): ApiQuery<CompanyQuery>,
) -> ApiResult<Json<Value>> {
    let keys = st.store.list_api_keys(q.company.as_deref()).await?;
    Ok(Json(serde_json::to_value(keys).unwrap_or_default()))
}

/// The secret is in this response and nowhere else, ever.
async fn create_key(
    State(st): State<Arc<AdminState>>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let f = Fields::parse(&body, &["company", "role"])?;
    let company = f.req("company", |s: &str| Ok::<_, &str>(s.to_owned()))?;
    let role = f
        .opt("role", |s: &str| {
            Role::parse(s).ok_or("expected none, read, write or admin")
        })?
        .unwrap_or(Role::Write);
    if st.store.get_company(&company).await?.is_none() {
        return Err(ApiError::field(
            "company",
            json!(company),
            "no such company",
        ));
    }
    let id = format!("tk{}", random_token(18));
    let secret = random_token(40);
    let k = st
        .store
        .create_api_key(&id, &company, &secret, role)
        .await?;
    tracing::info!(key = %k.id, company = %k.company, role = k.role.as_str(), "redirect API key created");
    let mut v = serde_json::to_value(&k).unwrap_or_default();
    v["secret"] = json!(secret);
    Ok((StatusCode::CREATED, Json(v)))
}

async fn revoke_key(
    State(st): State<Arc<AdminState>>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let k = st.store.set_api_key_enabled(&id, false).await?;
    tracing::info!(key = %k.id, "redirect API key revoked");
    Ok(Json(serde_json::to_value(k).unwrap_or_default()))
}

#[derive(Deserialize)]
struct EndpointQuery {
    company: Option<String>,
    offset: Option<u64>,
    limit: Option<u64>,
}

async fn list_endpoints(
    State(st): State<Arc<AdminState>>,
    ApiQuery(q): ApiQuery<EndpointQuery>,
) -> ApiResult<Json<Value>> {
    let (items, total) = st
        .store
        .list_endpoints(
            q.company.as_deref(),
            q.offset.unwrap_or(0),
            q.limit.unwrap_or(1000).min(10_000),
        )
        .await?;
    Ok(Json(json!({ "total": total, "endpoints": items })))
}

#[derive(Deserialize)]
struct EndpointShowQuery {
    #[serde(default)]
    secrets: bool,
}

/// Whether a catalogue setting holds a password; shown as `***` unless asked for.
fn is_secret_setting(param_name: &str) -> bool {
    param_name.ends_with("_pass") || param_name.contains("password")
}

async fn get_endpoint(
    State(st): State<Arc<AdminState>>,
    Path(mac): Path<String>,
    ApiQuery(q): ApiQuery<EndpointShowQuery>,
) -> ApiResult<Json<Value>> {
    let mac = Mac::parse(&mac).map_err(|e| ApiError::field("mac", json!(mac), e.to_string()))?;
    let e = st
        .store
        .get_endpoint(mac)
        .await?
        .ok_or(StoreError::NotFound {
            what: "endpoint",
            key: mac.to_string(),
        })?;
    let cat = super::catalogue::Catalogue::get();
    let settings: Vec<Value> = e
        .settings
        .iter()
        .map(|(uuid, v)| {
            let name = cat.setting(uuid).map(|d| d.param_name);
            let secret = !q.secrets && name.is_some_and(is_secret_setting);
            json!({
                "uuid": uuid,
                "param_name": name,
                "value": if secret { "***" } else { v.value.as_str() },
                "perm": v.perm,
                "idx": v.idx,
            })
        })
        .collect();
    let mut out = serde_json::to_value(&e).unwrap_or_default();
    out["settings"] = Value::Array(settings);
    Ok(Json(out))
}

#[derive(Deserialize)]
struct ContactsQuery {
    mac: Option<String>,
    limit: Option<u32>,
}

async fn contacts(
    State(st): State<Arc<AdminState>>,
    ApiQuery(q): ApiQuery<ContactsQuery>,
) -> ApiResult<Json<Value>> {
    let mac = q
        .mac
        .as_deref()
        .map(|m| Mac::parse(m).map_err(|e| ApiError::field("mac", json!(m), e.to_string())))
        .transpose()?;
    let cs = st
        .store
        .redirect_contacts(mac, q.limit.unwrap_or(50).clamp(1, 1000))
        .await?;
    Ok(Json(serde_json::to_value(cs).unwrap_or_default()))
}
