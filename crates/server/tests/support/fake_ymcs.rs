//! A fake of Yealink's YMCS v2 RPS for tests: an OAuth2 client-credentials
//! token (Basic id:secret), `timestamp` and `nonce` checked on every call,
//! servers, devices added by MAC (answered per MAC) or by serial number,
//! PINs, the reference's error codes, and switches for what the reference
//! reports of some accounts: adding by MAC forbidden (403), and a session
//! that expires (900401). HTTP faults per MAC come from the fake SRAPS.

#![allow(dead_code)]

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{patch, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::fake_sraps::Fault;

pub const ID: &str = "ymcs-client";
pub const SECRET: &str = "ymcs-secret";

#[derive(Default)]
pub struct YmcsState {
    pub tokens_issued: AtomicUsize,
    valid: Mutex<HashSet<String>>,
    /// The next call with a token is told the session expired (900401).
    pub expire_next: AtomicBool,
    /// Adding by MAC answers 403, as for ordinary accounts (fspbx#600).
    pub by_mac_forbidden: AtomicBool,
    pub servers: Mutex<HashMap<String, Value>>,
    /// MAC → what it was added with.
    pub devices: Mutex<HashMap<String, Value>>,
    pub elsewhere: Mutex<HashSet<String>>,
    pub plan: Mutex<HashMap<String, VecDeque<Fault>>>,
    /// Sizes of the addDevicesByMac calls.
    pub batches: Mutex<Vec<usize>>,
    pub deleted: Mutex<Vec<String>>,
}

pub struct FakeYmcs {
    pub addr: SocketAddr,
    pub state: Arc<YmcsState>,
}

impl FakeYmcs {
    pub async fn start() -> FakeYmcs {
        let state = Arc::new(YmcsState::default());
        let app = Router::new()
            .route("/v2/token", post(token))
            .route("/v2/rps/listServers", post(list_servers))
            .route("/v2/rps/servers", post(add_server))
            .route("/v2/rps/servers/{id}", patch(edit_server))
            .route("/v2/rps/addDevicesByMac", post(add_by_mac))
            .route("/v2/rps/devices", post(add_by_sn))
            .route("/v2/rps/delDevices", post(del_devices))
            .route("/v2/rps/listDevicePins", post(pins))
            .with_state(Arc::clone(&state));
        let addr = crate::fake_sraps::listen(app).await;
        FakeYmcs { addr, state }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn script(&self, mac: &str, faults: Vec<Fault>) {
        self.state
            .plan
            .lock()
            .unwrap()
            .insert(mac.to_ascii_lowercase(), faults.into());
    }
}

pub fn pin_of(mac: &str) -> String {
    format!(
        "{}",
        u64::from_str_radix(&mac[6..], 16).unwrap() % 1_000_000
    )
}

fn code(status: StatusCode, code: i64, message: &str) -> Response {
    (status, Json(json!({"code": code, "error": "error", "requestId": "r1", "message": message, "details": []}))).into_response()
}

async fn token(
    State(st): State<Arc<YmcsState>>,
    h: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    use base64::Engine as _;
    let want = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{ID}:{SECRET}"))
    );
    if h.get("authorization").and_then(|v| v.to_str().ok()) != Some(want.as_str())
        || body["grant_type"] != "client_credentials"
    {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"message": "invalid client"})),
        )
            .into_response();
    }
    let n = st.tokens_issued.fetch_add(1, Ordering::SeqCst) + 1;
    let t = format!("tok-{n}");
    st.valid.lock().unwrap().insert(t.clone());
    Json(json!({"access_token": t, "token_type": "bearer", "expires_in": 7200})).into_response()
}

/// The token, `timestamp` and `nonce` of a call; `Some` is the refusal.
fn gate(st: &YmcsState, h: &HeaderMap) -> Option<Response> {
    let bearer = h
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("")
        .to_owned();
    if !st.valid.lock().unwrap().contains(&bearer) {
        return Some(code(StatusCode::UNAUTHORIZED, 900401, "session expired"));
    }
    if st.expire_next.swap(false, Ordering::SeqCst) {
        st.valid.lock().unwrap().remove(&bearer);
        return Some(code(StatusCode::OK, 900401, "session expired"));
    }
    let ts_ok = h
        .get("timestamp")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.len() == 13 && t.bytes().all(|c| c.is_ascii_digit()));
    let nonce_ok = h
        .get("nonce")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|n| n.len() == 32 && n.bytes().all(|c| c.is_ascii_hexdigit()));
    if !ts_ok || !nonce_ok {
        return Some(code(
            StatusCode::BAD_REQUEST,
            400,
            "timestamp and nonce are required",
        ));
    }
    None
}

async fn fault(st: &YmcsState, mac: &str) -> Option<Response> {
    let f = st
        .plan
        .lock()
        .unwrap()
        .get_mut(mac)
        .and_then(|q| q.pop_front())?;
    Some(match f {
        Fault::Status(c, body) => (StatusCode::from_u16(c).unwrap(), Json(body)).into_response(),
        Fault::RateLimited(secs) => (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", secs.to_string())],
            Json(json!({"message": "slow down"})),
        )
            .into_response(),
        Fault::Hang(d) => {
            tokio::time::sleep(d).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
        Fault::Redirect(to) => crate::fake_sraps::redirect(&to),
    })
}

async fn list_servers(State(st): State<Arc<YmcsState>>, h: HeaderMap) -> Response {
    if let Some(r) = gate(&st, &h) {
        return r;
    }
    let list: Vec<Value> = st.servers.lock().unwrap().values().cloned().collect();
    Json(json!({"total": list.len(), "data": list})).into_response()
}

async fn add_server(
    State(st): State<Arc<YmcsState>>,
    h: HeaderMap,
    Json(mut body): Json<Value>,
) -> Response {
    if let Some(r) = gate(&st, &h) {
        return r;
    }
    let mut servers = st.servers.lock().unwrap();
    let id = format!("srv-{}", servers.len() + 1);
    body["id"] = json!(id);
    servers.insert(id.clone(), body);
    (StatusCode::CREATED, Json(json!({"id": id}))).into_response()
}

async fn edit_server(
    State(st): State<Arc<YmcsState>>,
    h: HeaderMap,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    if let Some(r) = gate(&st, &h) {
        return r;
    }
    match st.servers.lock().unwrap().get_mut(&id) {
        Some(s) => {
            s["url"] = body["url"].clone();
            Json(s.clone()).into_response()
        }
        None => code(StatusCode::NOT_FOUND, 404, "no such server"),
    }
}

async fn add_by_mac(
    State(st): State<Arc<YmcsState>>,
    h: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Some(r) = gate(&st, &h) {
        return r;
    }
    let items = body.as_array().cloned().unwrap_or_default();
    if items.len() > 100 {
        return code(StatusCode::OK, 800006, "too many devices");
    }
    let first = items
        .first()
        .and_then(|i| i["mac"].as_str())
        .unwrap_or("")
        .to_owned();
    if let Some(r) = fault(&st, &first).await {
        return r;
    }
    if st.by_mac_forbidden.load(Ordering::SeqCst) {
        return (
            StatusCode::FORBIDDEN,
            Json(json!({"message": "This request is forbidden"})),
        )
            .into_response();
    }
    st.batches.lock().unwrap().push(items.len());
    let mut errors = Vec::new();
    let mut devices = st.devices.lock().unwrap();
    for i in &items {
        let mac = i["mac"].as_str().unwrap_or("").to_owned();
        let err =
            |c: i64, m: &str| json!({"mac": mac, "sn": "", "errorInfo": {"code": c, "message": m}});
        if mac.len() != 12 || !mac.bytes().all(|c| c.is_ascii_hexdigit()) {
            errors.push(err(800001, "invalid mac"));
        } else if st.elsewhere.lock().unwrap().contains(&mac) {
            errors.push(err(800004, "managed by another organization"));
        } else if devices.contains_key(&mac) {
            errors.push(err(800003, "already exists"));
        } else {
            devices.insert(mac.clone(), i.clone());
        }
    }
    Json(json!({"total": items.len(), "successCount": items.len() - errors.len(), "failureCount": errors.len(), "errors": errors})).into_response()
}

async fn add_by_sn(
    State(st): State<Arc<YmcsState>>,
    h: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Some(r) = gate(&st, &h) {
        return r;
    }
    let mac = body["mac"].as_str().unwrap_or("").to_owned();
    if body["sn"].as_str().unwrap_or("").is_empty() {
        return code(StatusCode::BAD_REQUEST, 400, "sn is required");
    }
    let mut devices = st.devices.lock().unwrap();
    if devices.contains_key(&mac) {
        return code(StatusCode::OK, 800003, "already exists");
    }
    devices.insert(mac, body);
    StatusCode::CREATED.into_response()
}

async fn del_devices(
    State(st): State<Arc<YmcsState>>,
    h: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Some(r) = gate(&st, &h) {
        return r;
    }
    for id in body["deviceIds"].as_array().into_iter().flatten() {
        let mac = id.as_str().unwrap_or("").to_owned();
        st.devices.lock().unwrap().remove(&mac);
        st.deleted.lock().unwrap().push(mac);
    }
    Json(json!({"code": 0})).into_response()
}

async fn pins(State(st): State<Arc<YmcsState>>, h: HeaderMap, Json(body): Json<Value>) -> Response {
    if let Some(r) = gate(&st, &h) {
        return r;
    }
    let devices = st.devices.lock().unwrap();
    let data: Vec<Value> = body["macs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m.as_str())
        .filter(|m| devices.contains_key(*m))
        .map(|m| json!({"mac": m, "pin": pin_of(m)}))
        .collect();
    Json(json!({"data": data})).into_response()
}
