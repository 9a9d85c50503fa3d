//! A fake of Poly's ZTP cloud for tests: profiles and devices as the
//! reference describes them (`API-KEY` header, JSON `message` errors),
//! scripted faults per MAC (the fake SRAPS's `Fault`s), MACs claimed by
//! another account, and a record of every call.

#![allow(dead_code)]

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, put};
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::fake_sraps::Fault;

pub const KEY: &str = "ztp-key-1";

#[derive(Default)]
pub struct ZtpState {
    pub profiles: Mutex<HashMap<String, Value>>,
    next: Mutex<u32>,
    /// MAC (lower case) → profile id.
    pub devices: Mutex<HashMap<String, String>>,
    pub elsewhere: Mutex<HashSet<String>>,
    pub plan: Mutex<HashMap<String, VecDeque<Fault>>>,
    /// `METHOD path` of every call, in order.
    pub calls: Mutex<Vec<String>>,
}

pub struct FakeZtp {
    pub addr: SocketAddr,
    pub state: Arc<ZtpState>,
}

impl FakeZtp {
    pub async fn start() -> FakeZtp {
        let state = Arc::new(ZtpState::default());
        let app = Router::new()
            .route("/v1/profiles", get(list_profiles).post(create_profile))
            .route(
                "/v1/profiles/{id}",
                put(update_profile).delete(delete_profile),
            )
            .route("/v1/devices", axum::routing::post(add_device))
            .route("/v1/devices/{mac}", delete(remove_device))
            .with_state(Arc::clone(&state));
        let addr = crate::fake_sraps::listen(app).await;
        FakeZtp { addr, state }
    }

    pub fn url(&self) -> String {
        format!("http://{}/v1/", self.addr)
    }

    pub fn script(&self, mac: &str, faults: Vec<Fault>) {
        self.state
            .plan
            .lock()
            .unwrap()
            .insert(mac.to_ascii_lowercase(), faults.into());
    }
}

fn err(code: StatusCode, message: &str) -> Response {
    (code, Json(json!({"message": message}))).into_response()
}

/// Records the call and checks the API key; `Some` is the refusal to give.
fn gate(st: &ZtpState, h: &HeaderMap, call: String) -> Option<Response> {
    st.calls.lock().unwrap().push(call);
    (h.get("api-key").and_then(|v| v.to_str().ok()) != Some(KEY))
        .then(|| err(StatusCode::UNAUTHORIZED, "Invalid API key"))
}

fn fault(st: &ZtpState, mac: &str) -> Option<Response> {
    let f = st
        .plan
        .lock()
        .unwrap()
        .get_mut(mac)
        .and_then(|q| q.pop_front())?;
    Some(match f {
        Fault::Status(code, body) => {
            (StatusCode::from_u16(code).unwrap(), Json(body)).into_response()
        }
        Fault::RateLimited(secs) => {
            let mut h = HeaderMap::new();
            h.insert("retry-after", secs.to_string().parse().unwrap());
            (
                StatusCode::TOO_MANY_REQUESTS,
                h,
                Json(json!({"message": "Too many requests"})),
            )
                .into_response()
        }
        Fault::Hang(_) => return None,
        Fault::Redirect(to) => crate::fake_sraps::redirect(&to),
    })
}

async fn hang_if_scripted(st: &ZtpState, mac: &str) -> bool {
    let hang = {
        let mut plan = st.plan.lock().unwrap();
        match plan.get_mut(mac).and_then(|q| q.front().cloned()) {
            Some(Fault::Hang(d)) => {
                plan.get_mut(mac).unwrap().pop_front();
                Some(d)
            }
            _ => None,
        }
    };
    if let Some(d) = hang {
        tokio::time::sleep(d).await;
        return true;
    }
    false
}

async fn list_profiles(
    State(st): State<Arc<ZtpState>>,
    h: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = gate(&st, &h, "GET profiles".into()) {
        return r;
    }
    let limit: usize = q.get("limit").and_then(|l| l.parse().ok()).unwrap_or(100);
    let from: usize = q.get("cursor").and_then(|c| c.parse().ok()).unwrap_or(0);
    let mut all: Vec<Value> = st.profiles.lock().unwrap().values().cloned().collect();
    all.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    let page: Vec<Value> = all.iter().skip(from).take(limit).cloned().collect();
    let next = (from + limit < all.len()).then(|| (from + limit).to_string());
    Json(json!({"results": page, "cursor": next})).into_response()
}

async fn create_profile(
    State(st): State<Arc<ZtpState>>,
    h: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Some(r) = gate(&st, &h, "POST profiles".into()) {
        return r;
    }
    let mut profiles = st.profiles.lock().unwrap();
    if profiles.values().any(|p| p["name"] == body["name"]) {
        return err(StatusCode::CONFLICT, "A profile of that name exists");
    }
    let mut n = st.next.lock().unwrap();
    *n += 1;
    let id = format!("p{:04}", *n);
    let mut p = body;
    p["id"] = json!(id);
    profiles.insert(id.clone(), p);
    (StatusCode::CREATED, Json(json!({"id": id}))).into_response()
}

async fn update_profile(
    State(st): State<Arc<ZtpState>>,
    h: HeaderMap,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    if let Some(r) = gate(&st, &h, format!("PUT profiles/{id}")) {
        return r;
    }
    let mut profiles = st.profiles.lock().unwrap();
    match profiles.get_mut(&id) {
        Some(p) => {
            *p = body;
            p["id"] = json!(id);
            Json(p.clone()).into_response()
        }
        None => err(StatusCode::NOT_FOUND, "No such profile"),
    }
}

async fn delete_profile(
    State(st): State<Arc<ZtpState>>,
    h: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Some(r) = gate(&st, &h, format!("DELETE profiles/{id}")) {
        return r;
    }
    match st.profiles.lock().unwrap().remove(&id) {
        Some(_) => StatusCode::NO_CONTENT.into_response(),
        None => err(StatusCode::NOT_FOUND, "No such profile"),
    }
}

async fn add_device(
    State(st): State<Arc<ZtpState>>,
    h: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let mac = body["id"].as_str().unwrap_or_default().to_owned();
    if let Some(r) = gate(&st, &h, format!("POST devices {mac}")) {
        return r;
    }
    if hang_if_scripted(&st, &mac).await {
        return StatusCode::GATEWAY_TIMEOUT.into_response();
    }
    if let Some(r) = fault(&st, &mac) {
        return r;
    }
    if st.elsewhere.lock().unwrap().contains(&mac) {
        return err(
            StatusCode::FORBIDDEN,
            "Device is claimed by another account",
        );
    }
    let profile = body["profile"].as_str().unwrap_or_default().to_owned();
    if !st.profiles.lock().unwrap().contains_key(&profile) {
        return err(StatusCode::BAD_REQUEST, "Unknown profile");
    }
    let mut devices = st.devices.lock().unwrap();
    if devices.contains_key(&mac) {
        return err(StatusCode::CONFLICT, "Device already exists");
    }
    devices.insert(mac.clone(), profile.clone());
    (
        StatusCode::CREATED,
        Json(json!({"id": mac, "profile": profile})),
    )
        .into_response()
}

async fn remove_device(
    State(st): State<Arc<ZtpState>>,
    h: HeaderMap,
    Path(mac): Path<String>,
) -> Response {
    if let Some(r) = gate(&st, &h, format!("DELETE devices/{mac}")) {
        return r;
    }
    if let Some(r) = fault(&st, &mac) {
        return r;
    }
    match st.devices.lock().unwrap().remove(&mac) {
        Some(_) => StatusCode::NO_CONTENT.into_response(),
        None => err(StatusCode::NOT_FOUND, "No such device"),
    }
}
