//! The daemon in the admin API: providers, register/deregister, the event queue.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use http::StatusCode;
use serde::Deserialize;
use serde_json::{json, Value};
use touchless_domain::{DeviceStatus, Mac, TenantId};
use touchless_store::{Action, DeviceFilter, EventState, Provider, StoreError};

use crate::admin::{AdminState, ApiError, ApiQuery, ApiResult, Fields};

pub fn routes() -> Router<Arc<AdminState>> {
    Router::new()
        .route("/providers", get(list_providers).post(create_provider))
        .route(
            "/providers/{name}",
            get(get_provider).delete(delete_provider),
        )
        .route("/providers/{name}/test", post(test_provider))
        .route("/devices/register", post(register))
        .route("/devices/deregister", post(deregister))
        .route("/devices/remove", post(remove_selected))
        .route("/events", get(list_events))
        .route("/events/summary", get(event_summary))
        .route("/events/{id}/retry", post(retry_event))
}

fn provider_json(p: &Provider) -> Value {
    serde_json::to_value(p).unwrap_or_default()
}

async fn list_providers(State(st): State<Arc<AdminState>>) -> ApiResult<Json<Value>> {
    let ps = st.store.list_providers().await?;
    Ok(Json(Value::Array(ps.iter().map(provider_json).collect())))
}

fn slug(s: &str) -> Result<String, &'static str> {
    TenantId::parse(s)
        .map(|t| t.into_string())
        .map_err(|_| "use lowercase letters, digits and '-'")
}

fn url(s: &str) -> Result<String, &'static str> {
    let ok =
        (s.starts_with("https://") || s.starts_with("http://")) && reqwest::Url::parse(s).is_ok();
    if ok {
        Ok(s.to_owned())
    } else {
        Err("expected an http:// or https:// URL")
    }
}

fn printable(s: &str) -> Result<String, &'static str> {
    if !s.is_empty() && s.len() <= 200 && s.bytes().all(|c| c.is_ascii_graphic()) {
        Ok(s.to_owned())
    } else {
        Err("expected 1-200 printable ASCII characters")
    }
}

async fn create_provider(
    State(st): State<Arc<AdminState>>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let f = Fields::parse(
        &body,
        &[
            "name",
            "kind",
            "base_url",
            "access_key_id",
            "secret",
            "tenant",
            "ca_pem",
        ],
    )?;
    let kind = f.opt("kind", |s: &str| {
        if s == "snom" {
            Ok(s.to_owned())
        } else {
            Err("only snom (SRAPS and compatible services) is supported")
        }
    })?;
    let p = Provider {
        name: f.req("name", slug)?,
        kind: kind.unwrap_or_else(|| "snom".into()),
        base_url: f
            .opt("base_url", url)?
            .unwrap_or_else(|| "https://secure-provisioning.snom.com/api/v1/".into()),
        access_key_id: f.req("access_key_id", printable)?,
        secret: f.req("secret", printable)?,
        tenant: f.opt("tenant", TenantId::parse)?,
        ca_pem: f.opt("ca_pem", |pem: &str| {
            super::tls::parse_bundle(pem).map(|_| pem.to_owned())
        })?,
        created_at: chrono::Utc::now(),
    };
    let created = st.store.create_provider(&p).await?;
    tracing::info!(provider = %created.name, url = %created.base_url, "provider added");
    Ok((StatusCode::CREATED, Json(provider_json(&created))))
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

async fn get_provider(
    State(st): State<Arc<AdminState>>,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    let p = fetch_provider(&st, name).await?;
    Ok(Json(provider_json(&p)))
}

async fn delete_provider(
    State(st): State<Arc<AdminState>>,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    st.store.delete_provider(&name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Runs the discovery chain now; a failure is a normal answer (`ok: false`), not an error.
async fn test_provider(
    State(st): State<Arc<AdminState>>,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    let p = fetch_provider(&st, name).await?;
    let daemon = st.daemon.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the daemon is disabled on this node",
        )
    })?;
    Ok(Json(match daemon.client(&p).test().await {
        Ok(m) => json!({ "ok": true, "message": m }),
        Err(e) => json!({ "ok": false, "message": e.to_string() }),
    }))
}

/// `{"macs": [...]}`, `{"tenant": "acme"}` or `{"all": true}`.
async fn select(st: &AdminState, body: &[u8]) -> ApiResult<Vec<Mac>> {
    select_with(st, body, &[]).await.map(|(m, _)| m)
}

/// [`select`], with `extra` boolean fields allowed beside the selector.
async fn select_with(
    st: &AdminState,
    body: &[u8],
    extra: &[&'static str],
) -> ApiResult<(Vec<Mac>, Vec<bool>)> {
    let mut allowed = vec!["macs", "tenant", "all"];
    allowed.extend_from_slice(extra);
    let f = Fields::parse(body, &allowed)?;
    let flags = extra
        .iter()
        .map(|k| match f.0.get(*k) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(other) => Err(ApiError::field(k, other.clone(), "must be true or false")),
        })
        .collect::<ApiResult<Vec<bool>>>()?;
    select_fields(st, f).await.map(|m| (m, flags))
}

async fn select_fields(st: &AdminState, f: Fields) -> ApiResult<Vec<Mac>> {
    let all = matches!(f.0.get("all"), Some(Value::Bool(true)));
    let tenant = f.opt("tenant", TenantId::parse)?;
    let macs = match f.0.get("macs") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => Some(
            items
                .iter()
                .map(|v| {
                    v.as_str()
                        .ok_or_else(|| {
                            ApiError::field("macs", v.clone(), "must be a list of MAC addresses")
                        })
                        .and_then(|s| {
                            Mac::parse(s)
                                .map_err(|e| ApiError::field("macs", v.clone(), e.to_string()))
                        })
                })
                .collect::<ApiResult<Vec<_>>>()?,
        ),
        Some(other) => {
            return Err(ApiError::field(
                "macs",
                other.clone(),
                "must be a list of MAC addresses",
            ))
        }
    };
    match (macs, tenant, all) {
        (Some(m), None, false) if !m.is_empty() => Ok(m),
        (None, Some(t), false) => {
            if st.store.get_tenant(&t).await?.is_none() {
                return Err(StoreError::not_found("tenant", t).into());
            }
            let ds = st
                .store
                .list_devices(&DeviceFilter {
                    tenant: Some(t),
                    ..Default::default()
                })
                .await?;
            Ok(ds.into_iter().map(|d| d.mac).collect())
        }
        (None, None, true) => Ok(st
            .store
            .list_devices(&DeviceFilter::default())
            .await?
            .into_iter()
            .map(|d| d.mac)
            .collect()),
        _ => Err(ApiError::field(
            "body",
            Value::Null,
            "give exactly one of: macs (a non-empty list), tenant, all: true",
        )),
    }
}

/// Commits one event per device (and its fresh credentials) before answering 202.
async fn enqueue(
    st: &AdminState,
    action: Action,
    body: &[u8],
) -> ApiResult<(StatusCode, Json<Value>)> {
    let macs = select(st, body).await?;
    let items: Vec<_> = macs.iter().map(|m| st.issue_ztprov(*m)).collect();
    let ids = st.store.enqueue(action, &items).await?;
    if let Some(d) = &st.daemon {
        d.notify();
    }
    crate::admin::refresh_view(st).await;
    tracing::info!(count = ids.len(), action = action.as_str(), "events queued");
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "queued": ids.len(), "events": ids })),
    ))
}

/// `POST /devices/remove`: the selector of register, plus `force`.
async fn remove_selected(
    State(st): State<Arc<AdminState>>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let (macs, flags) = select_with(&st, &body, &["force"]).await?;
    remove(&st, &macs, flags[0]).await
}

/// Removes devices. One that was never registered at a provider goes at once.
/// One that may be is deregistered first (the event is committed before this
/// answers) and goes when the provider has let it go, so no phone is left
/// pointed at us with credentials that no longer exist. `force` removes every
/// one at once and names those left behind at their provider.
pub(crate) async fn remove(
    st: &AdminState,
    macs: &[Mac],
    force: bool,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let mut now = Vec::new();
    let mut left = Vec::new();
    let mut later = Vec::new();
    for mac in macs {
        let d = st
            .store
            .get_device(*mac)
            .await?
            .ok_or_else(|| StoreError::not_found("device", mac))?;
        let maybe_registered = d.status != DeviceStatus::Unregistered || d.registered_at.is_some();
        match (maybe_registered, force) {
            (false, _) => now.push(d.mac),
            (true, true) => {
                now.push(d.mac);
                left.push(d.mac);
            }
            (true, false) => later.push(d.mac),
        }
    }
    st.store.delete_devices(&now).await?;
    let mut events = Vec::new();
    if !later.is_empty() {
        st.store.mark_removing(&later).await?;
        let items: Vec<_> = later.iter().map(|m| st.issue_ztprov(*m)).collect();
        events = st.store.enqueue(Action::Deregister, &items).await?;
        if let Some(d) = &st.daemon {
            d.notify();
        }
    }
    crate::admin::refresh_view(st).await;
    if !left.is_empty() {
        tracing::warn!(
            count = left.len(),
            "devices removed by force; they may still be registered at their provider"
        );
    }
    tracing::info!(
        removed = now.len(),
        deregistering = later.len(),
        "devices removed"
    );
    let status = if later.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    Ok((
        status,
        Json(json!({
            "removed": now,
            "deregistering": later,
            "events": events,
            "left_at_provider": left,
        })),
    ))
}

async fn register(
    State(st): State<Arc<AdminState>>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    enqueue(&st, Action::Register, &body).await
}

async fn deregister(
    State(st): State<Arc<AdminState>>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    enqueue(&st, Action::Deregister, &body).await
}

#[derive(Deserialize)]
struct EventsQuery {
    state: Option<String>,
    limit: Option<u32>,
}

async fn list_events(
    State(st): State<Arc<AdminState>>,
    ApiQuery(q): ApiQuery<EventsQuery>,
) -> ApiResult<Json<Value>> {
    let state = q
        .state
        .as_deref()
        .map(|s| {
            EventState::parse(s).ok_or_else(|| {
                ApiError::field(
                    "state",
                    json!(s),
                    "expected pending, running, done or failed",
                )
            })
        })
        .transpose()?;
    let es = st
        .store
        .list_events(state, q.limit.unwrap_or(100).clamp(1, 10_000))
        .await?;
    Ok(Json(serde_json::to_value(es).unwrap_or_default()))
}

/// Counts per state: what an admin (or `phone storm`) watches while a queue drains.
async fn event_summary(State(st): State<Arc<AdminState>>) -> ApiResult<Json<Value>> {
    let mut out = json!({"pending": 0, "running": 0, "done": 0, "failed": 0});
    for (state, n) in st.store.event_counts().await? {
        out[state.as_str()] = json!(n);
    }
    Ok(Json(out))
}

async fn retry_event(
    State(st): State<Arc<AdminState>>,
    Path(id): Path<i64>,
) -> ApiResult<Json<Value>> {
    let e = st.store.retry_event(id).await?;
    if let Some(d) = &st.daemon {
        d.notify();
    }
    Ok(Json(serde_json::to_value(e).unwrap_or_default()))
}
