//! `spawn_app`: a real touchless on ephemeral ports, in a temp dir, with helpers
//! to create tenants and devices through the admin API.

use std::path::PathBuf;

use reqwest::StatusCode;
use serde_json::{json, Value};
use touchless_server::{Config, Running};

pub const TOKEN: &str = "test-admin-token";

pub struct TestApp {
    pub running: Option<Running>,
    pub prov: String,
    pub admin: String,
    /// `http://127.0.0.1:PORT` of the redirection service.
    pub redirect: String,
    pub http: reqwest::Client,
    pub access_log: PathBuf,
    /// Kept alive for the test's duration (data directory, access log).
    pub _dir: tempfile::TempDir,
    pub database_url: String,
    /// The PostgreSQL database, when the tests run on that backend; dropped with the app.
    pub _pg: Option<touchless_store::testing::TempDb>,
}

/// `TOUCHLESS_TEST_BACKEND=postgres` runs the integration tests on a throwaway
/// PostgreSQL database each; the default is a SQLite file in the test's temp dir.
pub async fn backend() -> Option<(String, touchless_store::testing::TempDb)> {
    match std::env::var("TOUCHLESS_TEST_BACKEND").as_deref() {
        Ok("postgres") => Some(touchless_store::testing::temp_database().await),
        _ => None,
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Basic only, over plain HTTP: simple to drive from a test client.
pub fn basic_only(c: &mut Config) {
    c.auth.schemes = vec![touchless_server::config::Scheme::Basic];
    c.auth.allow_basic_over_http = true;
}

pub async fn spawn_app_with(f: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let access_log = dir.path().join("access.log");
    let mut cfg = Config {
        data_dir: dir.path().join("data"),
        ..Config::default()
    };
    cfg.provisioning.listen = "127.0.0.1:0".parse().unwrap();
    cfg.admin.listen = "127.0.0.1:0".parse().unwrap();
    cfg.redirect.listen = "127.0.0.1:0".parse().unwrap();
    // Tests set up their own providers; the walkthrough test covers the bootstrap.
    cfg.daemon.bootstrap_local_provider = false;
    cfg.admin.token = TOKEN.into();
    cfg.provisioning.access_log = access_log.to_string_lossy().into_owned();
    cfg.provisioning.contact_flush_ms = 50;
    cfg.provisioning.reload_interval_ms = 100;
    let pg = backend().await;
    if let Some((url, _)) = &pg {
        cfg.database_url = url.clone();
    }
    f(&mut cfg);
    cfg.validate().unwrap();
    let database_url = cfg.database_url();
    let tls = !cfg.provisioning.tls_cert.is_empty();
    let redirect_tls = !cfg.redirect.tls_cert.is_empty();
    let running = touchless_server::start(cfg).await.unwrap();
    // The test certificate names localhost; phones get 127.0.0.1 either way.
    let base = if tls {
        "https://localhost"
    } else {
        "http://127.0.0.1"
    };
    TestApp {
        prov: format!("{base}:{}", running.provisioning_addr.port()),
        admin: format!("http://{}/api/v1", running.admin_addr),
        redirect: format!(
            "{}://localhost:{}",
            if redirect_tls { "https" } else { "http" },
            running.redirect_addr.map(|a| a.port()).unwrap_or(0)
        ),
        running: Some(running),
        http: reqwest::Client::builder().build().unwrap(),
        access_log,
        _dir: dir,
        database_url,
        _pg: pg.map(|(_, guard)| guard),
    }
}

impl TestApp {
    /// A device's `/prov` file fetched with Basic credentials (see [`basic_only`]).
    pub async fn prov_file(&self, mac: &str, user: &str, pass: &str) -> (StatusCode, String) {
        let r = self
            .http
            .get(format!("{}/prov/snomD717-{mac}.htm", self.prov))
            .basic_auth(user, Some(pass))
            .send()
            .await
            .unwrap();
        (r.status(), r.text().await.unwrap())
    }

    pub async fn admin_call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.admin))
            .bearer_auth(TOKEN);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.admin_call(reqwest::Method::POST, path, Some(body))
            .await
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.admin_call(reqwest::Method::GET, path, None).await
    }

    /// A tenant whose phones all use the provisioning credentials
    /// `user`/`pass` (the seed's tenant-wide scope).
    pub async fn tenant(&self, id: &str, user: &str, pass: &str) -> Value {
        let (s, v) = self
            .post(
                "/tenants",
                json!({"id": id, "name": format!("Tenant {id}"), "sip_host": "pbx.example.com",
                       "prov_user": user, "prov_pass": pass, "prov_credentials": "tenant"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v
    }

    /// Tenant `acme` (the tenant-wide pair `prov-acme`/`s3cr3t-prov`) with a
    /// bare snomD717 for each MAC.
    pub async fn acme_with_devices(&self, macs: &[&str]) {
        self.tenant("acme", "prov-acme", "s3cr3t-prov").await;
        let devices: Vec<Value> = macs
            .iter()
            .map(|m| json!({"mac": m, "model": "snomD717", "tenant": "acme"}))
            .collect();
        let (s, v) = self.post("/devices", Value::Array(devices)).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }

    /// A snomD717 with one line; returns the device JSON including `ztprov_pass`.
    pub async fn device(&self, mac: &str, tenant: &str) -> Value {
        let (s, v) = self
            .post(
                "/devices",
                json!({"mac": mac, "model": "snomD717", "tenant": tenant, "name": "Desk",
                       "lines": [{"extension": "401", "sip_password": "sip-secret", "display_name": "Alice"}]}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v
    }

    pub async fn stop(&mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown().await;
        }
    }

    pub fn access_log(&self) -> String {
        std::fs::read_to_string(&self.access_log).unwrap_or_default()
    }
}

/// GET without credentials, answer the challenge for `algorithm` with the
/// independent `digest_auth` implementation, GET again.
pub async fn digest_get(
    http: &reqwest::Client,
    url: &str,
    user: &str,
    pass: &str,
    algorithm: &str,
) -> (StatusCode, String) {
    let first = http.get(url).send().await.unwrap();
    assert_eq!(first.status(), StatusCode::UNAUTHORIZED);
    let challenge = first
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.contains(&format!("algorithm={algorithm}")))
        .unwrap_or_else(|| panic!("no {algorithm} challenge"));
    let path = url.splitn(4, '/').nth(3).map(|p| format!("/{p}")).unwrap();
    let mut prompt = digest_auth::parse(&challenge).unwrap();
    let answer = prompt
        .respond(&digest_auth::AuthContext::new(user, pass, &path))
        .unwrap()
        .to_header_string();
    let resp = http
        .get(url)
        .header("authorization", answer)
        .send()
        .await
        .unwrap();
    (resp.status(), resp.text().await.unwrap())
}

/// PUT `body` as a phone uploads: without credentials, then answering the
/// (first) Digest challenge for the PUT with `digest_auth`.
pub async fn digest_put(url: &str, body: Vec<u8>, user: &str, pass: &str) -> StatusCode {
    let http = reqwest::Client::new();
    let first = http.put(url).body(body.clone()).send().await.unwrap();
    if first.status() != StatusCode::UNAUTHORIZED {
        return first.status();
    }
    let challenge = first.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    let path = reqwest::Url::parse(url).unwrap().path().to_owned();
    let mut prompt = digest_auth::parse(&challenge).unwrap();
    let ctx = digest_auth::AuthContext::new_with_method(
        user,
        pass,
        path,
        None::<&[u8]>,
        digest_auth::HttpMethod::PUT,
    );
    let header = prompt.respond(&ctx).unwrap().to_header_string();
    http.put(url)
        .header("authorization", header)
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
}
