//! A fake of Fanvil's FDPS for tests: XML-RPC behind Basic authentication
//! whose password is `md5hex(md5hex(secret))`, the reference's call sequence
//! and `Error: …` strings, MACs registered by another account, the fake
//! SRAPS's HTTP `Fault`s per MAC, and the answer's shape as a switch (an
//! array `[boolean, string]`, or a struct of the two: the reference only
//! says "a boolean plus a string").

#![allow(dead_code)]

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;

use crate::fake_sraps::Fault;

pub const USER: &str = "fdps-user";
pub const SECRET: &str = "fdps-secret";

#[derive(Default)]
pub struct FdpsState {
    /// Server name → its `cfg…=` fields.
    pub servers: Mutex<HashMap<String, Vec<String>>>,
    /// MAC → server name.
    pub devices: Mutex<HashMap<String, String>>,
    pub elsewhere: Mutex<HashSet<String>>,
    pub plan: Mutex<HashMap<String, VecDeque<Fault>>>,
    /// `method mac` of every call, in order.
    pub calls: Mutex<Vec<String>>,
    pub as_struct: bool,
}

pub struct FakeFdps {
    pub addr: SocketAddr,
    pub state: Arc<FdpsState>,
}

fn md5hex(s: &str) -> String {
    use md5::Digest as _;
    md5::Md5::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl FakeFdps {
    pub async fn start(as_struct: bool) -> FakeFdps {
        let state = Arc::new(FdpsState {
            as_struct,
            ..FdpsState::default()
        });
        let app = Router::new()
            .route("/xmlrpc", post(rpc))
            .with_state(Arc::clone(&state));
        let addr = crate::fake_sraps::listen(app).await;
        FakeFdps { addr, state }
    }

    pub fn url(&self) -> String {
        format!("http://{}/xmlrpc", self.addr)
    }

    pub fn script(&self, mac: &str, faults: Vec<Fault>) {
        self.state
            .plan
            .lock()
            .unwrap()
            .insert(mac.to_ascii_lowercase(), faults.into());
    }
}

fn answer(st: &FdpsState, ok: bool, s: &str) -> Response {
    let b = if ok { 1 } else { 0 };
    let value = if st.as_struct {
        format!("<struct><member><name>result</name><value><boolean>{b}</boolean></value></member><member><name>message</name><value><string>{s}</string></value></member></struct>")
    } else {
        format!("<array><data><value><boolean>{b}</boolean></value><value><string>{s}</string></value></data></array>")
    };
    (
        [("content-type", "text/xml")],
        format!("<?xml version=\"1.0\"?><methodResponse><params><param><value>{value}</value></param></params></methodResponse>"),
    )
        .into_response()
}

async fn rpc(State(st): State<Arc<FdpsState>>, h: HeaderMap, body: String) -> Response {
    use base64::Engine as _;
    let want = base64::engine::general_purpose::STANDARD
        .encode(format!("{USER}:{}", md5hex(&md5hex(SECRET))));
    if h.get("authorization").and_then(|v| v.to_str().ok()) != Some(&format!("Basic {want}")) {
        return (StatusCode::UNAUTHORIZED, "unauthorized").into_response();
    }
    let doc = roxmltree::Document::parse(&body).unwrap();
    let method = doc
        .descendants()
        .find(|n| n.has_tag_name("methodName"))
        .and_then(|n| n.text())
        .unwrap_or_default()
        .to_owned();
    let strings: Vec<String> = doc
        .descendants()
        .filter(|n| n.has_tag_name("string"))
        .map(|n| n.text().unwrap_or("").to_owned())
        .collect();
    let mac = match method.as_str() {
        "redirect.addMaterialServer" => strings
            .iter()
            .find_map(|s| s.strip_prefix("cfgName="))
            .unwrap_or_default()
            .to_owned(),
        _ => strings.first().cloned().unwrap_or_default(),
    };
    st.calls.lock().unwrap().push(format!("{method} {mac}"));
    let fault = st
        .plan
        .lock()
        .unwrap()
        .get_mut(&mac)
        .and_then(|q| q.pop_front());
    match fault {
        Some(Fault::Status(code, body)) => {
            return (StatusCode::from_u16(code).unwrap(), body.to_string()).into_response()
        }
        Some(Fault::RateLimited(secs)) => {
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", secs.to_string())],
                "slow down",
            )
                .into_response()
        }
        Some(Fault::Hang(d)) => {
            tokio::time::sleep(d).await;
            return StatusCode::GATEWAY_TIMEOUT.into_response();
        }
        Some(Fault::Redirect(to)) => return crate::fake_sraps::redirect(&to),
        None => {}
    }
    match method.as_str() {
        "redirect.listServers" => answer(&st, true, ""),
        "redirect.deleteServer" => match st.servers.lock().unwrap().remove(&mac) {
            Some(_) => answer(&st, true, "ok"),
            None => answer(&st, false, "Error:server_not_exist"),
        },
        "redirect.addMaterialServer" => {
            let fields: Vec<String> = strings.clone();
            let srv = fields
                .iter()
                .find_map(|s| s.strip_prefix("cfgPfSrv="))
                .unwrap_or("");
            if srv.is_empty() || srv.contains('/') {
                return answer(&st, false, "Error: url_format_error");
            }
            st.servers.lock().unwrap().insert(mac, fields);
            answer(&st, true, "ok")
        }
        "redirect.deRegisterDevice" => match st.devices.lock().unwrap().remove(&mac) {
            Some(_) => answer(&st, true, "ok"),
            None => answer(&st, false, "Error: device_not_exist"),
        },
        "redirect.registerDevice" => {
            if mac.len() != 12 || !mac.bytes().all(|c| c.is_ascii_hexdigit()) {
                return answer(&st, false, "Error: mac_format_error");
            }
            if st.elsewhere.lock().unwrap().contains(&mac) {
                return answer(&st, false, "Error: device_had_existed");
            }
            let server = strings.get(1).cloned().unwrap_or_default();
            st.devices.lock().unwrap().insert(mac, server);
            answer(&st, true, "ok")
        }
        other => answer(&st, false, &format!("Error: unknown method {other}")),
    }
}
