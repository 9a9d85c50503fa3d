//! Golden request and response bodies for every admin endpoint, errors
//! included: the contract the typed admin API (and the console on it) must keep.
//!
//! Generated values (times, passwords, ids, ports) are replaced by
//! placeholders, so the same file holds on SQLite and PostgreSQL. After a
//! change that is meant to alter a response, regenerate with
//! `TOUCHLESS_BLESS=1 cargo nextest run -p touchless-server --test api golden`
//! and review the diff of `tests/golden/admin.json`.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;

const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/admin.json");

/// A placeholder for a generated value, or the value itself.
fn placeholder(s: &str) -> Option<&'static str> {
    let alnum = |t: &str| t.bytes().all(|b| b.is_ascii_alphanumeric());
    let is_time = s.len() >= 20
        && s.as_bytes()[4] == b'-'
        && s.as_bytes()[10] == b'T'
        && chrono::DateTime::parse_from_rfc3339(s).is_ok();
    if is_time {
        return Some("<time>");
    }
    if s.len() == 14 && s.starts_with("zt") && alnum(s) {
        return Some("<ztprov-user>");
    }
    if s.len() == 14 && s.starts_with("pv") && alnum(s) {
        return Some("<prov-user>");
    }
    if s.len() == 20 && s.starts_with("tk") && alnum(s) {
        return Some("<key-id>");
    }
    if s.len() == 32
        && s.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    {
        return Some("<hex32>");
    }
    if (s.len() == 20 || s.len() == 40) && alnum(s) {
        return Some("<secret>");
    }
    if s.starts_with("node-") {
        return Some("<node>");
    }
    None
}

fn normalize(v: &mut Value, ports: &[(String, &str)]) {
    match v {
        Value::String(s) => {
            if let Some(p) = placeholder(s) {
                *s = p.to_owned();
                return;
            }
            for (from, to) in ports {
                *s = s.replace(from.as_str(), to);
            }
            // Generated values inside text (previews, messages).
            let words: Vec<String> = s
                .split(|c: char| !c.is_ascii_alphanumeric() && c != '-' && c != ':' && c != '.')
                .filter_map(|w| placeholder(w).map(|p| (w.to_owned(), p)))
                .map(|(w, p)| format!("{w}\u{0}{p}"))
                .collect();
            for pair in words {
                let (w, p) = pair.split_once('\u{0}').unwrap();
                *s = s.replace(w, p);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| normalize(x, ports)),
        Value::Object(o) => o.values_mut().for_each(|x| normalize(x, ports)),
        _ => {}
    }
}

#[tokio::test]
async fn admin_api_matches_its_golden_bodies() {
    let mut app = spawn_app_with(|c| {
        // No worker: events stay as queued, so every answer is deterministic.
        c.daemon.enabled = false;
    })
    .await;
    let ports = vec![
        (app.prov.clone(), "<prov>"),
        (app.redirect.replace("localhost", "127.0.0.1"), "<redirect>"),
        (app.redirect.clone(), "<redirect>"),
    ];
    let mut company = String::new();
    let mut key_id = String::new();
    let mut transcript = Vec::new();
    let steps: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, "/tenants".into(), None),
        (
            Method::POST,
            "/tenants".into(),
            Some(
                json!({"id": "acme", "name": "Acme", "sip_host": "pbx.example.com", "prov_user": "prov-acme", "prov_pass": "s3cr3t-prov", "settings": [{"name": "language", "value": "Deutsch"}]}),
            ),
        ),
        (
            Method::POST,
            "/tenants".into(),
            Some(
                json!({"id": "shared", "sip_host": "pbx.example.com", "sip_port": 5070, "prov_user": "prov-shared", "prov_pass": "shared-pass", "prov_credentials": "tenant", "mode": "per-tenant"}),
            ),
        ),
        (
            Method::POST,
            "/tenants".into(),
            Some(json!({"id": "acme", "sip_host": "pbx.example.com"})),
        ),
        (
            Method::POST,
            "/tenants".into(),
            Some(json!({"id": "Bad Id", "sip_host": "pbx"})),
        ),
        (
            Method::POST,
            "/tenants".into(),
            Some(json!({"id": "x", "sip_host": "pbx", "colour": "red"})),
        ),
        (Method::GET, "/tenants/acme".into(), None),
        (Method::GET, "/tenants/nosuch".into(), None),
        (
            Method::PATCH,
            "/tenants/acme".into(),
            Some(
                json!({"name": "Acme Inc", "add_settings": [{"name": "timezone", "value": "GER+1"}]}),
            ),
        ),
        (Method::GET, "/tenants/acme/credentials".into(), None),
        (
            Method::POST,
            "/devices".into(),
            Some(
                json!({"mac": "00:04:13:aa:bb:cc", "model": "snomD717", "tenant": "acme", "name": "Desk", "lines": [{"extension": "401", "sip_password": "sip-secret", "display_name": "Alice"}], "settings": [{"name": "fkey", "idx": 0, "value": "blf sip:402@pbx", "perm": "R"}]}),
            ),
        ),
        (
            Method::POST,
            "/devices".into(),
            Some(
                json!([{"mac": "000413000001", "model": "snomD785", "tenant": "shared"}, {"mac": "000413000002", "model": "snomD785", "tenant": "shared"}]),
            ),
        ),
        (
            Method::POST,
            "/devices".into(),
            Some(json!({"mac": "zz", "model": "snomD717", "tenant": "acme"})),
        ),
        (
            Method::POST,
            "/devices".into(),
            Some(json!({"mac": "000413000003", "model": "snomD999", "tenant": "acme"})),
        ),
        (
            Method::POST,
            "/devices".into(),
            Some(json!({"mac": "000413000003", "model": "snomD717", "tenant": "ghost"})),
        ),
        (
            Method::POST,
            "/devices".into(),
            Some(json!({"mac": "000413AABBCC", "model": "snomD717", "tenant": "acme"})),
        ),
        (Method::GET, "/devices".into(), None),
        (
            Method::GET,
            "/devices?tenant=shared&limit=1&offset=1".into(),
            None,
        ),
        (Method::GET, "/devices?q=401".into(), None),
        (Method::GET, "/devices?status=nosuch".into(), None),
        (Method::GET, "/devices?limit=lots".into(), None),
        (Method::GET, "/devices/000413AABBCC".into(), None),
        (Method::GET, "/devices/000413FFFFFE".into(), None),
        (
            Method::PATCH,
            "/devices/000413AABBCC".into(),
            Some(
                json!({"name": "Lobby", "add_lines": [{"extension": "402", "sip_password": "pw"}]}),
            ),
        ),
        (
            Method::PATCH,
            "/devices/000413AABBCC".into(),
            Some(
                json!({"lines": [{"idx": 1, "extension": "401", "sip_password": "pw"}, {"idx": 1, "extension": "402", "sip_password": "pw"}]}),
            ),
        ),
        (
            Method::GET,
            "/devices/000413AABBCC/credentials".into(),
            None,
        ),
        (Method::GET, "/devices/000413AABBCC/preview".into(), None),
        (
            Method::GET,
            "/devices/000413AABBCC/preview?file=ztprov".into(),
            None,
        ),
        (
            Method::GET,
            "/devices/000413AABBCC/preview?file=nosuch".into(),
            None,
        ),
        (Method::GET, "/devices/000413AABBCC/contacts".into(), None),
        (Method::GET, "/providers".into(), None),
        (
            Method::POST,
            "/redirect/companies".into(),
            Some(json!({"name": "Acme Telecom"})),
        ),
        (Method::GET, "/redirect/companies".into(), None),
        (
            Method::POST,
            "/redirect/keys".into(),
            Some(json!({"company": "<company>", "role": "write"})),
        ),
        (
            Method::POST,
            "/redirect/keys".into(),
            Some(json!({"company": "<company>", "role": "boss"})),
        ),
        (Method::GET, "/redirect/keys".into(), None),
        (
            Method::POST,
            "/providers".into(),
            Some(
                json!({"name": "local", "base_url": "<redirect-api>", "access_key_id": "<key-id>", "secret": "<key-secret>"}),
            ),
        ),
        (
            Method::POST,
            "/providers".into(),
            Some(
                json!({"name": "dup", "base_url": "<redirect-api>", "access_key_id": "k", "secret": "s"}),
            ),
        ),
        (
            Method::POST,
            "/providers".into(),
            Some(
                json!({"name": "acme-own", "base_url": "https://sraps.example.com/api/v1/", "access_key_id": "k", "secret": "s", "tenant": "shared", "ca_pem": "nope"}),
            ),
        ),
        (Method::GET, "/providers/local".into(), None),
        (Method::POST, "/providers/local/test".into(), None),
        (
            Method::POST,
            "/devices/register".into(),
            Some(json!({"macs": ["000413AABBCC"]})),
        ),
        (
            Method::POST,
            "/devices/register".into(),
            Some(json!({"tenant": "nosuch"})),
        ),
        (Method::POST, "/devices/register".into(), Some(json!({}))),
        (
            Method::POST,
            "/devices/deregister".into(),
            Some(json!({"tenant": "shared"})),
        ),
        (Method::GET, "/events".into(), None),
        (Method::GET, "/events?state=pending".into(), None),
        (Method::GET, "/events/summary".into(), None),
        (Method::POST, "/events/1/retry".into(), None),
        (Method::POST, "/events/999/retry".into(), None),
        (Method::GET, "/redirect/endpoints".into(), None),
        (Method::GET, "/redirect/endpoints/000413AABBCC".into(), None),
        (Method::GET, "/redirect/contacts".into(), None),
        (
            Method::POST,
            "/devices/remove".into(),
            Some(json!({"macs": ["000413000001"], "force": true})),
        ),
        (Method::DELETE, "/devices/000413AABBCC".into(), None),
        (Method::DELETE, "/tenants/acme".into(), None),
        (Method::DELETE, "/redirect/keys/<key-id>".into(), None),
        (Method::DELETE, "/providers/local".into(), None),
        (Method::GET, "/no-such-endpoint".into(), None),
    ];
    let mut secret = String::new();
    for (method, path, body) in steps {
        let fill = |s: &str| {
            s.replace("<company>", &company)
                .replace("<key-id>", &key_id)
                .replace("<key-secret>", &secret)
                .replace(
                    "<redirect-api>",
                    &format!("{}/api/v1/", app.redirect.replace("localhost", "127.0.0.1")),
                )
        };
        let path = fill(&path);
        let body = body.map(|b| serde_json::from_str::<Value>(&fill(&b.to_string())).unwrap());
        let (status, mut response) = app.admin_call(method.clone(), &path, body.clone()).await;
        if path == "/redirect/companies" && method == Method::POST {
            company = response["id"].as_str().unwrap_or_default().to_owned();
        }
        if path == "/redirect/keys" && method == Method::POST && status.is_success() {
            key_id = response["id"].as_str().unwrap_or_default().to_owned();
            secret = response["secret"].as_str().unwrap_or_default().to_owned();
        }
        let mut request = body.unwrap_or(Value::Null);
        normalize(&mut request, &ports);
        normalize(&mut response, &ports);
        let mut shown_path = Value::String(path);
        normalize(&mut shown_path, &ports);
        transcript.push(json!({
            "request": format!("{method} {}", shown_path.as_str().unwrap()),
            "body": request,
            "status": status.as_u16(),
            "response": response,
        }));
    }
    let got = serde_json::to_string_pretty(&Value::Array(transcript)).unwrap() + "\n";
    if std::env::var("TOUCHLESS_BLESS").is_ok() {
        std::fs::create_dir_all(std::path::Path::new(GOLDEN).parent().unwrap()).unwrap();
        std::fs::write(GOLDEN, &got).unwrap();
    }
    let want = std::fs::read_to_string(GOLDEN)
        .expect("tests/golden/admin.json; create it with TOUCHLESS_BLESS=1");
    if got != want {
        let first = got
            .lines()
            .zip(want.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(0);
        panic!(
            "the admin API's answers changed from tests/golden/admin.json at line {}:\n  got:  {}\n  want: {}",
            first + 1,
            got.lines().nth(first).unwrap_or(""),
            want.lines().nth(first).unwrap_or("")
        );
    }
    app.stop().await;
}
