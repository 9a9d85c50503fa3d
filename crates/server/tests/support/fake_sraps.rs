//! A fake of Snom's SRAPS cloud for tests: the same resource shapes, no Hawk
//! check (it stands in for a third-party service), scripted faults per MAC
//! (status codes, `Retry-After`, hangs), optional latency, and a record of what
//! it was asked, including whether two writes for one MAC ever overlapped.
//! Started as GRAPE ([`FakeSraps::start_grape`]) it answers Gigaset's
//! catalogue instead: `ProvisioningServer` per product group (or once: the
//! reference's guess that it may be a single setting is a switch).

#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use serde_json::{json, Value};

#[derive(Clone, Debug)]
pub enum Fault {
    Status(u16, Value),
    /// 429 with this Retry-After (seconds).
    RateLimited(u64),
    /// Answer 504 only after this long, without writing: a request the client
    /// gives up on (time out) and a gateway drops. It does not count as in
    /// flight, since the client has abandoned it.
    Hang(Duration),
    /// 307 to this address: a client that followed it would write there.
    Redirect(String),
}

/// What [`Fault::Redirect`] answers, in every fake.
pub fn redirect(to: &str) -> Response {
    (
        StatusCode::TEMPORARY_REDIRECT,
        [(axum::http::header::LOCATION, to.to_owned())],
    )
        .into_response()
}

#[derive(Default)]
pub struct Recorded {
    /// Successful PUTs per MAC, with the body of the last one.
    pub puts: HashMap<String, (u32, Value)>,
    pub deletes: HashMap<String, u32>,
    pub attempts: HashMap<String, u32>,
    /// Every write attempt as it arrived: when, for which MAC, and the status
    /// it was answered with (filled in when answered).
    pub timeline: Vec<(std::time::Instant, String, u16)>,
}

pub struct FakeState {
    pub role: Mutex<String>,
    pub plan: Mutex<HashMap<String, VecDeque<Fault>>>,
    pub latency: Duration,
    pub recorded: Mutex<Recorded>,
    inflight: Mutex<HashMap<String, u32>>,
    pub overlaps: AtomicU32,
    base: Mutex<String>,
    /// GRAPE's catalogue: `Some(per_product_group)`.
    grape: Option<bool>,
}

/// The uuids of the fake GRAPE's `ProvisioningServer` settings.
pub const GRAPE_N: &str = "9a000000000000000000000000000870";
pub const GRAPE_P: &str = "9b000000000000000000000000000810";
pub const GRAPE_ANY: &str = "9c000000000000000000000000000000";

/// Serves a fake's router on a free local port; its address.
pub async fn listen(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    addr
}

pub struct FakeSraps {
    pub addr: SocketAddr,
    pub state: Arc<FakeState>,
}

impl FakeSraps {
    pub async fn start(latency: Duration) -> FakeSraps {
        Self::start_as(latency, None).await
    }

    /// A fake GRAPE: its catalogue has `ProvisioningServer` once per product
    /// group (`N870`/`N670` and `P8`), or once for all when not `per_product`.
    pub async fn start_grape(latency: Duration, per_product: bool) -> FakeSraps {
        Self::start_as(latency, Some(per_product)).await
    }

    async fn start_as(latency: Duration, grape: Option<bool>) -> FakeSraps {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(FakeState {
            role: Mutex::new("write".into()),
            plan: Mutex::new(HashMap::new()),
            latency,
            recorded: Mutex::new(Recorded::default()),
            inflight: Mutex::new(HashMap::new()),
            overlaps: AtomicU32::new(0),
            base: Mutex::new(format!("http://{addr}/api/v1/")),
            grape,
        });
        let app = Router::new()
            .route("/api/v1/tokens/{id}", get(token))
            .route("/api/v1/companies/c0ffee/", get(company))
            .route("/api/v1/settings/", get(settings))
            .route(
                "/api/v1/companies/c0ffee/endpoints/{mac}",
                put(put_endpoint).delete(delete_endpoint).get(get_endpoint),
            )
            .with_state(Arc::clone(&state));
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        FakeSraps { addr, state }
    }

    pub fn url(&self) -> String {
        format!("http://{}/api/v1/", self.addr)
    }

    /// Faults for the next requests touching `mac` (lowercase hex), in order.
    pub fn script(&self, mac: &str, faults: Vec<Fault>) {
        self.state
            .plan
            .lock()
            .unwrap()
            .insert(mac.to_ascii_lowercase(), faults.into());
    }
}

async fn token(State(st): State<Arc<FakeState>>, Path(id): Path<String>) -> Response {
    let base = st.base.lock().unwrap().clone();
    if id == "unknown" {
        return (StatusCode::NOT_FOUND, Json(json!({"detail": "Not found."}))).into_response();
    }
    let role = st.role.lock().unwrap().clone();
    Json(json!({"access_key_id": id, "role": role, "links": {"company": format!("{base}companies/c0ffee/")}})).into_response()
}

async fn company(State(st): State<Arc<FakeState>>) -> Response {
    let base = st.base.lock().unwrap().clone();
    Json(json!({"uuid": "c0ffee", "name": "Fake Cloud", "links": {"endpoints": format!("{base}companies/c0ffee/endpoints/")}})).into_response()
}

/// Two pages; the `global` duplicate of setting_server comes first, as in SRAPS.
async fn settings(
    State(st): State<Arc<FakeState>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let base = st.base.lock().unwrap().clone();
    let s = |uuid: &str, param: &str, section: &str| json!({"uuid": uuid, "param_name": param, "section": section, "field_type": "text"});
    if let Some(per_product) = st.grape {
        let g = |uuid: &str, param: &str, groups: &[&str]| json!({"uuid": uuid, "param_name": param, "section": "provisioning", "product_groups": groups});
        return Json(if per_product {
            json!([
                g("9d000000000000000000000000000001", "Language", &["N870"]),
                g(GRAPE_N, "ProvisioningServer", &["N870", "N670"]),
                g(GRAPE_P, "ProvisioningServer", &["P8", "P7"])
            ])
        } else {
            json!([g(GRAPE_ANY, "ProvisioningServer", &[])])
        })
        .into_response();
    }
    if q.get("page").map(String::as_str) == Some("2") {
        return Json(json!([
            s(
                "22222222222222222222222222222222",
                "setting_server",
                "phone-settings"
            ),
            s(
                "33333333333333333333333333333333",
                "http_client_user",
                "phone-settings"
            ),
            s(
                "44444444444444444444444444444444",
                "http_client_pass",
                "phone-settings"
            ),
        ]))
        .into_response();
    }
    let mut h = HeaderMap::new();
    h.insert(
        "link",
        format!("<{base}settings/?page=2&page_size=1000>; rel=\"next\"")
            .parse()
            .unwrap(),
    );
    (
        h,
        Json(json!([
            s(
                "11111111111111111111111111111111",
                "setting_server",
                "global"
            ),
            s(
                "55555555555555555555555555555555",
                "language",
                "phone-settings"
            )
        ])),
    )
        .into_response()
}

/// Counts a request as in flight for its MAC until dropped, which also covers a
/// handler cancelled because its client went away (a killed node).
struct InFlight<'a> {
    st: &'a FakeState,
    mac: String,
    done: bool,
}

impl InFlight<'_> {
    fn release(&mut self) {
        if !self.done {
            self.done = true;
            *self.st.inflight.lock().unwrap().get_mut(&self.mac).unwrap() -= 1;
        }
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.release();
    }
}

/// Applies the scripted fault for this MAC, if any, tracking overlap.
async fn guarded(st: &FakeState, mac: &str, f: impl FnOnce(&mut Recorded) -> Response) -> Response {
    {
        let mut inflight = st.inflight.lock().unwrap();
        let n = inflight.entry(mac.to_owned()).or_default();
        *n += 1;
        if *n > 1 {
            st.overlaps.fetch_add(1, Ordering::SeqCst);
        }
    }
    let mut guard = InFlight {
        st,
        mac: mac.to_owned(),
        done: false,
    };
    *st.recorded
        .lock()
        .unwrap()
        .attempts
        .entry(mac.to_owned())
        .or_default() += 1;
    if !st.latency.is_zero() {
        tokio::time::sleep(st.latency).await;
    }
    let fault = st
        .plan
        .lock()
        .unwrap()
        .get_mut(mac)
        .and_then(|q| q.pop_front());
    let arrived = std::time::Instant::now();
    let resp = match fault {
        Some(Fault::Status(code, body)) => {
            (StatusCode::from_u16(code).unwrap(), Json(body)).into_response()
        }
        Some(Fault::RateLimited(secs)) => {
            let mut h = HeaderMap::new();
            h.insert("retry-after", secs.to_string().parse().unwrap());
            (
                StatusCode::TOO_MANY_REQUESTS,
                h,
                Json(json!({"detail": "Request was throttled."})),
            )
                .into_response()
        }
        Some(Fault::Redirect(to)) => redirect(&to),
        Some(Fault::Hang(d)) => {
            guard.release();
            tokio::time::sleep(d).await;
            return StatusCode::GATEWAY_TIMEOUT.into_response();
        }
        None => f(&mut st.recorded.lock().unwrap()),
    };
    st.recorded
        .lock()
        .unwrap()
        .timeline
        .push((arrived, mac.to_owned(), resp.status().as_u16()));
    guard.release();
    resp
}

async fn put_endpoint(
    State(st): State<Arc<FakeState>>,
    Path(mac): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let key = mac.to_ascii_lowercase();
    guarded(&st, &key, |r| {
        let e = r.puts.entry(key.clone()).or_insert((0, Value::Null));
        e.0 += 1;
        e.1 = body;
        (StatusCode::OK, Json(json!({"mac": key}))).into_response()
    })
    .await
}

async fn delete_endpoint(State(st): State<Arc<FakeState>>, Path(mac): Path<String>) -> Response {
    let key = mac.to_ascii_lowercase();
    guarded(&st, &key, |r| {
        *r.deletes.entry(key.clone()).or_default() += 1;
        let existed = r.puts.remove(&key).is_some();
        if existed {
            StatusCode::NO_CONTENT
        } else {
            StatusCode::NOT_FOUND
        }
        .into_response()
    })
    .await
}

async fn get_endpoint(State(st): State<Arc<FakeState>>, Path(mac): Path<String>) -> Response {
    match st
        .recorded
        .lock()
        .unwrap()
        .puts
        .get(&mac.to_ascii_lowercase())
    {
        Some((_, body)) => Json(body.clone()).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
