//! The JSON admin API (default port 15777): tenants, devices, lines, settings,
//! config preview and contact log, behind a bearer token.
//!
//! Request bodies are read as JSON objects and every field is parsed into its
//! domain type here, one by one, so a bad value is answered with a 400 naming the
//! field (`{"error":"invalid MAC address …","field":"mac","value":"zz"}`) and
//! nothing is written. Unknown fields are rejected too: a typo must not be
//! silently ignored.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use http::{header, StatusCode};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use sha2::{Digest as _, Sha256};
use touchless_domain::{
    DeviceStatus, DisplayText, Host, Mac, Perm, PhoneModel, ProvPassword, ProvScope, ProvUser,
    Setting, SipPassword, SipUser, TenantId, TouchlessMode,
};
use touchless_store::{
    Device, DeviceFilter, DevicePatch, Line, NewDevice, NewTenant, Store, StoreError, Tenant,
    TenantPatch,
};

use crate::directory::Directory;
use crate::render::Renderer;
use crate::secret::{ct_eq, random_token};

pub struct AdminState {
    pub store: Arc<dyn Store>,
    /// `None` when the daemon is disabled on this node.
    pub daemon: Option<Arc<crate::daemon::Daemon>>,
    pub dir: Arc<Directory>,
    pub renderer: Arc<Renderer>,
    /// SHA-256 of the bearer token; the token itself is not kept.
    pub token_hash: [u8; 32],
    /// How long newly issued ztprov credentials are accepted.
    pub ztprov_window: std::time::Duration,
}

impl AdminState {
    /// Fresh one-time ztprov credentials for `mac`, valid for the window.
    pub(crate) fn issue_ztprov(&self, mac: Mac) -> touchless_store::Issued {
        touchless_store::Issued {
            mac,
            user: ProvUser::parse(&format!("zt{}", random_token(12)))
                .expect("generated user is valid"),
            pass: ProvPassword::parse(&random_token(20)).expect("generated password is valid"),
            // Whole seconds: what people read and both backends store exactly.
            expires_at: chrono::DateTime::from_timestamp(
                chrono::Utc::now().timestamp()
                    + i64::try_from(self.ztprov_window.as_secs()).unwrap_or(86_400),
                0,
            )
            .unwrap_or_else(chrono::Utc::now),
        }
    }
}

pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

pub fn router(state: Arc<AdminState>) -> Router {
    let api = Router::new()
        .route("/tenants", get(list_tenants).post(create_tenant))
        .route(
            "/tenants/{id}",
            get(get_tenant).patch(patch_tenant).delete(delete_tenant),
        )
        .route("/tenants/{id}/credentials", get(tenant_credentials))
        .route("/devices", get(list_devices).post(create_devices))
        .route(
            "/devices/{mac}",
            get(get_device).patch(patch_device).delete(delete_device),
        )
        .route("/devices/{mac}/credentials", get(device_credentials))
        .route("/devices/{mac}/preview", get(preview))
        .route("/devices/{mac}/contacts", get(contacts))
        .nest("/redirect", crate::redirect::admin::routes())
        .merge(crate::daemon::admin::routes())
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "no such admin API endpoint") })
        // `layer`, not `route_layer`: unknown paths and wrong methods are
        // authenticated too, so the API does not tell a stranger which routes exist.
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            require_token,
        ))
        .with_state(state);
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .nest("/api/v1", api)
        .layer(axum::extract::DefaultBodyLimit::max(8 * 1024 * 1024))
}

async fn require_token(State(st): State<Arc<AdminState>>, req: Request, next: Next) -> Response {
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match presented {
        Some(t) if ct_eq(&token_hash(t.trim()), &st.token_hash) => next.run(req).await,
        Some(_) => ApiError::new(StatusCode::UNAUTHORIZED, "wrong admin token").into_response(),
        None => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "missing admin token: send Authorization: Bearer <token>",
        )
        .into_response(),
    }
}

// -- errors ------------------------------------------------------------------------

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    error: String,
    field: Option<std::borrow::Cow<'static, str>>,
    value: Option<Value>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, error: impl Into<String>) -> Self {
        ApiError {
            status,
            error: error.into(),
            field: None,
            value: None,
        }
    }

    pub(crate) fn field(field: &'static str, value: Value, error: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            error: error.into(),
            field: Some(field.into()),
            value: Some(value),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { .. } => ApiError::new(StatusCode::NOT_FOUND, e.to_string()),
            StoreError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, m),
            StoreError::Forbidden(m) => ApiError::new(StatusCode::FORBIDDEN, m),
            StoreError::Invalid { field, message } => ApiError {
                status: StatusCode::BAD_REQUEST,
                error: message,
                field: Some(field.into()),
                value: None,
            },
            other => {
                tracing::error!(error = %other, "store failure in admin API");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal error; see the server log",
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({ "error": self.error });
        if let Some(f) = self.field {
            body["field"] = json!(f);
        }
        if let Some(v) = self.value {
            body["value"] = v;
        }
        (self.status, Json(body)).into_response()
    }
}

pub(crate) type ApiResult<T> = Result<T, ApiError>;

/// `Query<T>` whose rejection is the API's JSON error naming the parameter,
/// not axum's plain-text one.
pub(crate) struct ApiQuery<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> axum::extract::FromRequestParts<S>
    for ApiQuery<T>
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(ApiQuery)
            .map_err(|e| {
                let field = e.path().to_string();
                let value = form_urlencoded::parse(query.as_bytes())
                    .find(|(k, _)| *k == field)
                    .map(|(_, v)| json!(v))
                    .unwrap_or(Value::Null);
                let inner = e.into_inner();
                ApiError {
                    status: StatusCode::BAD_REQUEST,
                    error: format!("query parameter {field}: {inner}"),
                    field: Some(field.into()),
                    value: Some(value),
                }
            })
    }
}

// -- field-by-field body parsing ---------------------------------------------------

pub(crate) struct Fields(pub(crate) Map<String, Value>);

impl Fields {
    pub(crate) fn parse(body: &[u8], allowed: &[&str]) -> ApiResult<Self> {
        let v: Value = serde_json::from_slice(body).map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("request body is not valid JSON: {e}"),
            )
        })?;
        Self::from_value(v, allowed)
    }

    fn from_value(v: Value, allowed: &[&str]) -> ApiResult<Self> {
        let Value::Object(map) = v else {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "request body must be a JSON object",
            ));
        };
        if let Some(k) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(ApiError::field(
                "body",
                json!(k),
                format!(
                    "unknown field {k:?}; expected one of {}",
                    allowed.join(", ")
                ),
            ));
        }
        Ok(Fields(map))
    }

    /// A string field parsed by `parse`; `None` if absent or null.
    pub(crate) fn opt<T, E: std::fmt::Display>(
        &self,
        key: &'static str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> ApiResult<Option<T>> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => parse(s)
                .map(Some)
                .map_err(|e| ApiError::field(key, json!(s), e.to_string())),
            Some(other) => Err(ApiError::field(
                key,
                other.clone(),
                format!("{key} must be a string"),
            )),
        }
    }

    pub(crate) fn req<T, E: std::fmt::Display>(
        &self,
        key: &'static str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> ApiResult<T> {
        self.opt(key, parse)?
            .ok_or_else(|| ApiError::field(key, Value::Null, format!("{key} is required")))
    }

    fn port(&self, key: &'static str) -> ApiResult<Option<u16>> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_u64()
                .and_then(|n| u16::try_from(n).ok())
                .filter(|n| *n > 0)
                .map(Some)
                .ok_or_else(|| {
                    ApiError::field(
                        key,
                        v.clone(),
                        format!("{key} must be a port number 1-65535"),
                    )
                }),
        }
    }

    fn list(&self, key: &'static str) -> ApiResult<Option<Vec<Value>>> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a.clone())),
            Some(other) => Err(ApiError::field(
                key,
                other.clone(),
                format!("{key} must be a list"),
            )),
        }
    }
}

fn parse_settings(items: Vec<Value>) -> ApiResult<Vec<Setting>> {
    items
        .into_iter()
        .map(|v| {
            let f =
                Fields::from_value(v, &["name", "idx", "value", "perm"]).map_err(|e| ApiError {
                    field: Some("settings".into()),
                    ..e
                })?;
            let name = f
                .req("name", |s| {
                    Setting::new(s, None, "", Perm::R).map(|s| s.name)
                })
                .map_err(|e| ApiError {
                    field: Some("settings".into()),
                    ..e
                })?;
            let idx = match f.0.get("idx") {
                None | Some(Value::Null) => None,
                Some(v) => Some(v.as_u64().and_then(|n| u32::try_from(n).ok()).ok_or_else(
                    || {
                        ApiError::field(
                            "settings",
                            v.clone(),
                            "setting idx must be a non-negative integer",
                        )
                    },
                )?),
            };
            let value = match f.0.get("value") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Number(n)) => n.to_string(),
                Some(Value::Bool(b)) => if *b { "on" } else { "off" }.to_owned(),
                other => {
                    return Err(ApiError::field(
                        "settings",
                        other.cloned().unwrap_or(Value::Null),
                        format!("setting {name} needs a string value"),
                    ))
                }
            };
            let perm = f.opt("perm", str::parse::<Perm>)?.unwrap_or_default();
            Setting::new(name.as_str(), idx, &value, perm)
                .map_err(|e| ApiError::field("settings", json!(value), e.to_string()))
        })
        .collect()
}

fn parse_lines(items: Vec<Value>) -> ApiResult<Vec<Line>> {
    items
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            let f = Fields::from_value(
                v,
                &[
                    "idx",
                    "extension",
                    "auth_user",
                    "sip_password",
                    "display_name",
                ],
            )
            .map_err(|e| ApiError {
                field: Some("lines".into()),
                ..e
            })?;
            let in_line = |e: ApiError| ApiError {
                field: Some("lines".into()),
                ..e
            };
            let idx = match f.0.get("idx") {
                None | Some(Value::Null) => i as u32 + 1,
                Some(v) => v
                    .as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| {
                        ApiError::field("lines", v.clone(), "line idx must be a positive integer")
                    })?,
            };
            let extension = f.req("extension", SipUser::parse).map_err(in_line)?;
            Ok(Line {
                idx,
                auth_user: f
                    .opt("auth_user", SipUser::parse)
                    .map_err(in_line)?
                    .unwrap_or_else(|| extension.clone()),
                extension,
                sip_password: f.req("sip_password", SipPassword::parse).map_err(in_line)?,
                display_name: f
                    .opt("display_name", DisplayText::parse)
                    .map_err(in_line)?
                    .unwrap_or_else(|| DisplayText::parse("").expect("empty is valid")),
            })
        })
        .collect()
}

// -- tenants ----------------------------------------------------------------------

pub(crate) async fn refresh_view(st: &AdminState) {
    refresh(st).await
}

async fn refresh(st: &AdminState) {
    // The provisioning server must serve a change on the next request.
    if let Err(e) = st.dir.refresh().await {
        tracing::error!(error = %e, "reloading the provisioning view after a write failed");
    }
}

fn tenant_json(t: &Tenant) -> Value {
    serde_json::to_value(t).unwrap_or(Value::Null)
}

async fn list_tenants(State(st): State<Arc<AdminState>>) -> ApiResult<Json<Value>> {
    let ts = st.store.list_tenants().await?;
    Ok(Json(Value::Array(ts.iter().map(tenant_json).collect())))
}

async fn create_tenant(
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

fn path_tenant(id: &str) -> ApiResult<TenantId> {
    TenantId::parse(id).map_err(|e| ApiError::field("id", json!(id), e.to_string()))
}

async fn fetch_tenant(st: &AdminState, id: &str) -> ApiResult<Tenant> {
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

async fn get_tenant(
    State(st): State<Arc<AdminState>>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let t = fetch_tenant(&st, &id).await?;
    Ok(Json(tenant_json(&t)))
}

async fn tenant_credentials(
    State(st): State<Arc<AdminState>>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let t = fetch_tenant(&st, &id).await?;
    Ok(Json(
        json!({ "prov_user": t.prov_user, "prov_pass": t.prov_pass.as_str() }),
    ))
}

async fn patch_tenant(
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

async fn delete_tenant(
    State(st): State<Arc<AdminState>>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = path_tenant(&id)?;
    st.store.delete_tenant(&id).await?;
    refresh(&st).await;
    Ok(StatusCode::NO_CONTENT)
}

/// `base` with each of `extra` put in: replacing the setting of the same name
/// and index, or appended.
fn upsert_settings(mut base: Vec<Setting>, extra: Vec<Setting>) -> Vec<Setting> {
    for s in extra {
        match base.iter_mut().find(|b| b.name == s.name && b.idx == s.idx) {
            Some(slot) => *slot = s,
            None => base.push(s),
        }
    }
    base
}

// -- devices ----------------------------------------------------------------------

fn device_json(d: &Device) -> Value {
    serde_json::to_value(d).unwrap_or(Value::Null)
}

fn path_mac(mac: &str) -> ApiResult<Mac> {
    Mac::parse(mac).map_err(|e| ApiError::field("mac", json!(mac), e.to_string()))
}

#[derive(Deserialize)]
struct ListQuery {
    tenant: Option<String>,
    status: Option<String>,
    model: Option<String>,
    q: Option<String>,
    limit: Option<u32>,
    offset: Option<u32>,
}

async fn list_devices(
    State(st): State<Arc<AdminState>>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Value>> {
    let bad = |field: &'static str, v: &str, e: touchless_domain::Error| {
        ApiError::field(field, json!(v), e.to_string())
    };
    let filter = DeviceFilter {
        tenant: q
            .tenant
            .as_deref()
            .map(|t| TenantId::parse(t).map_err(|e| bad("tenant", t, e)))
            .transpose()?,
        status: q
            .status
            .as_deref()
            .map(|s| s.parse::<DeviceStatus>().map_err(|e| bad("status", s, e)))
            .transpose()?,
        model: q
            .model
            .as_deref()
            .map(|m| PhoneModel::parse(m).map_err(|e| bad("model", m, e)))
            .transpose()?,
        search: q.q.filter(|s| !s.is_empty()),
        limit: q.limit,
        offset: q.offset.unwrap_or(0),
    };
    let ds = st.store.list_devices(&filter).await?;
    Ok(Json(Value::Array(ds.iter().map(device_json).collect())))
}

const DEVICE_FIELDS: &[&str] = &["mac", "model", "tenant", "name", "lines", "settings"];

fn parse_new_device(st: &AdminState, v: Value) -> ApiResult<NewDevice> {
    let f = Fields::from_value(v, DEVICE_FIELDS)?;
    let mac = f.req("mac", Mac::parse)?;
    let zt = st.issue_ztprov(mac);
    Ok(NewDevice {
        model: f.req("model", PhoneModel::parse)?,
        tenant: f.req("tenant", TenantId::parse)?,
        name: f
            .opt("name", DisplayText::parse)?
            .unwrap_or_else(|| DisplayText::parse("").expect("empty is valid")),
        ztprov_user: zt.user,
        ztprov_pass: zt.pass,
        ztprov_expires_at: zt.expires_at,
        prov_user: ProvUser::parse(&format!("pv{}", random_token(12)))
            .expect("generated user is valid"),
        prov_pass: ProvPassword::parse(&random_token(20)).expect("generated password is valid"),
        lines: f
            .list("lines")?
            .map(parse_lines)
            .transpose()?
            .unwrap_or_default(),
        settings: f
            .list("settings")?
            .map(parse_settings)
            .transpose()?
            .unwrap_or_default(),
        mac,
    })
}

/// One device (an object) or many (an array), created in one transaction: all
/// or none.
async fn create_devices(
    State(st): State<Arc<AdminState>>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let v: Value = serde_json::from_slice(&body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("request body is not valid JSON: {e}"),
        )
    })?;
    let (many, items) = match v {
        Value::Array(items) => (true, items),
        other => (false, vec![other]),
    };
    let news = items
        .into_iter()
        .map(|v| parse_new_device(&st, v))
        .collect::<ApiResult<Vec<_>>>()?;
    // All or nothing: a duplicate in a batch of 1,000 leaves no 999 behind.
    let created = st.store.create_devices(&news).await?;
    refresh(&st).await;
    let mut out: Vec<Value> = created
        .iter()
        .map(|d| {
            let mut v = device_json(d);
            v["ztprov_pass"] = json!(d.ztprov_pass.as_str());
            v["prov_pass"] = json!(d.prov_pass.as_str());
            v
        })
        .collect();
    tracing::info!(count = out.len(), "device(s) created");
    let body = if many {
        Value::Array(out)
    } else {
        out.pop().unwrap_or(Value::Null)
    };
    Ok((StatusCode::CREATED, Json(body)))
}

async fn fetch_device(st: &AdminState, mac: Mac) -> ApiResult<Device> {
    Ok(st
        .store
        .get_device(mac)
        .await?
        .ok_or(StoreError::NotFound {
            what: "device",
            key: mac.to_string(),
        })?)
}

async fn get_device(
    State(st): State<Arc<AdminState>>,
    Path(mac): Path<String>,
) -> ApiResult<Json<Value>> {
    let d = fetch_device(&st, path_mac(&mac)?).await?;
    Ok(Json(device_json(&d)))
}

async fn device_credentials(
    State(st): State<Arc<AdminState>>,
    Path(mac): Path<String>,
) -> ApiResult<Json<Value>> {
    let d = fetch_device(&st, path_mac(&mac)?).await?;
    let t = fetch_tenant(&st, d.tenant.as_str()).await?;
    let base = st.dir.public_url();
    // The credentials the phone is handed for /prov, whichever scope applies.
    let (pu, pp) = match t.prov_scope {
        ProvScope::Device => (&d.prov_user, &d.prov_pass),
        ProvScope::Tenant => (&t.prov_user, &t.prov_pass),
    };
    Ok(Json(json!({
        "ztprov_user": d.ztprov_user,
        "ztprov_pass": d.ztprov_pass.as_str(),
        "ztprov_url": format!("{base}/ztprov/{}-{}.htm", d.model, d.mac),
        "ztprov_expires_at": d.ztprov_expires_at,
        "ztprov_used_at": d.ztprov_used_at,
        "prov_credentials": t.prov_scope,
        "prov_user": pu,
        "prov_pass": pp.as_str(),
        "prov_url": format!("{base}/prov/{}-{}.htm", d.model, d.mac),
    })))
}

async fn patch_device(
    State(st): State<Arc<AdminState>>,
    Path(mac): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let mac = path_mac(&mac)?;
    let f = Fields::parse(
        &body,
        &[
            "model",
            "tenant",
            "name",
            "lines",
            "settings",
            "add_lines",
            "add_settings",
        ],
    )?;
    let mut lines = f.list("lines")?.map(parse_lines).transpose()?;
    let mut settings = f.list("settings")?.map(parse_settings).transpose()?;
    let add_lines = f.list("add_lines")?;
    let add_settings = f.list("add_settings")?.map(parse_settings).transpose()?;
    if add_lines.is_some() || add_settings.is_some() {
        // Added to what is there (or to what this same call replaces it with).
        let cur = fetch_device(&st, mac).await?;
        if let Some(items) = add_lines {
            let mut all = lines.take().unwrap_or(cur.lines);
            let next = all.iter().map(|l| l.idx).max().unwrap_or(0);
            let explicit: Vec<bool> = items
                .iter()
                .map(|v| v.get("idx").is_some_and(|i| !i.is_null()))
                .collect();
            for (i, mut l) in parse_lines(items)?.into_iter().enumerate() {
                if !explicit[i] {
                    l.idx = next + i as u32 + 1;
                }
                all.push(l);
            }
            lines = Some(all);
        }
        if let Some(extra) = add_settings {
            settings = Some(upsert_settings(
                settings.take().unwrap_or(cur.settings),
                extra,
            ));
        }
    }
    let patch = DevicePatch {
        model: f.opt("model", PhoneModel::parse)?,
        tenant: f.opt("tenant", TenantId::parse)?,
        name: f.opt("name", DisplayText::parse)?,
        lines,
        settings,
        ..DevicePatch::default()
    };
    let d = st.store.update_device(mac, &patch).await?;
    refresh(&st).await;
    Ok(Json(device_json(&d)))
}

#[derive(Deserialize)]
struct DeleteQuery {
    #[serde(default)]
    force: bool,
}

/// See [`crate::daemon::admin::remove`]: a registered device is deregistered
/// first (`202`), one never registered goes at once (`200`).
async fn delete_device(
    State(st): State<Arc<AdminState>>,
    Path(mac): Path<String>,
    ApiQuery(q): ApiQuery<DeleteQuery>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    crate::daemon::admin::remove(&st, &[path_mac(&mac)?], q.force).await
}

#[derive(Deserialize)]
struct PreviewQuery {
    file: Option<String>,
}

/// The exact bytes the provisioning server sends for this device.
async fn preview(
    State(st): State<Arc<AdminState>>,
    Path(mac): Path<String>,
    ApiQuery(q): ApiQuery<PreviewQuery>,
) -> ApiResult<Response> {
    let d = fetch_device(&st, path_mac(&mac)?).await?;
    let t = fetch_tenant(&st, d.tenant.as_str()).await?;
    let base = st.dir.public_url();
    let body = match q.file.as_deref().unwrap_or("prov") {
        "prov" => st.renderer.device(base, &t, &d),
        "ztprov" => st.renderer.ztprov(base, &t, &d),
        "model" => st.renderer.model(base, &t, d.model),
        other => {
            return Err(ApiError::field(
                "file",
                json!(other),
                "file must be prov, ztprov or model",
            ));
        }
    }
    .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()))?;
    Ok(([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], body).into_response())
}

#[derive(Deserialize)]
struct ContactsQuery {
    limit: Option<u32>,
}

async fn contacts(
    State(st): State<Arc<AdminState>>,
    Path(mac): Path<String>,
    ApiQuery(q): ApiQuery<ContactsQuery>,
) -> ApiResult<Json<Value>> {
    let mac = path_mac(&mac)?;
    let limit = q.limit.unwrap_or(50).clamp(1, 1000);
    let cs = st.store.contacts(mac, limit).await?;
    Ok(Json(serde_json::to_value(cs).unwrap_or(Value::Null)))
}
