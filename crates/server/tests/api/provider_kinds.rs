//! A made-up provider kind, as test-only code: a cloud that takes up to 100
//! devices per call and answers per device, behind an OAuth token the client
//! caches. It needs its module and one registration line, nothing else.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};
use touchless_domain::Mac;
use touchless_server::daemon::provider::{Account, ProviderApi, ProviderError, Registration};

use crate::daemon::fast;
use crate::helpers::*;

#[derive(Default)]
struct Cloud {
    tokens_issued: AtomicUsize,
    calls: AtomicUsize,
    largest: AtomicUsize,
    registered: Mutex<Vec<String>>,
}

/// The cloud refuses this MAC: another account holds it.
const TAKEN: &str = "000413BA0007";

async fn token(State(c): State<Arc<Cloud>>, Json(body): Json<Value>) -> (StatusCode, Json<Value>) {
    if body["client_secret"] != "s3cret" {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "invalid_client"})),
        );
    }
    c.tokens_issued.fetch_add(1, Ordering::SeqCst);
    (
        StatusCode::OK,
        Json(json!({"access_token": "tok-1", "expires_in": 3600})),
    )
}

async fn batch(
    State(c): State<Arc<Cloud>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer tok-1") {
        return (StatusCode::UNAUTHORIZED, Json(json!({"error": "token"})));
    }
    let items = body["devices"].as_array().cloned().unwrap_or_default();
    c.calls.fetch_add(1, Ordering::SeqCst);
    c.largest.fetch_max(items.len(), Ordering::SeqCst);
    let results: Vec<Value> = items
        .iter()
        .map(|d| {
            let mac = d["mac"].as_str().unwrap_or("").to_owned();
            if mac == TAKEN {
                json!({"mac": mac, "ok": false, "error": "MAC is claimed by another account"})
            } else {
                c.registered.lock().unwrap().push(mac.clone());
                json!({"mac": mac, "ok": true})
            }
        })
        .collect();
    (StatusCode::OK, Json(json!({ "results": results })))
}

/// The client: a token fetched once and reused, batches of 100.
struct BatchCloud {
    base: String,
    id: String,
    secret: String,
    http: reqwest::Client,
    token: tokio::sync::Mutex<Option<String>>,
}

fn factory(a: &Account<'_>) -> Arc<dyn ProviderApi> {
    Arc::new(BatchCloud {
        base: a.base_url.trim_end_matches('/').to_owned(),
        id: a.key_id.to_owned(),
        secret: a.secret.to_owned(),
        http: reqwest::Client::new(),
        token: tokio::sync::Mutex::new(None),
    })
}

impl BatchCloud {
    async fn token(&self) -> Result<String, ProviderError> {
        let mut t = self.token.lock().await;
        if let Some(tok) = t.as_ref() {
            return Ok(tok.clone());
        }
        let r = self
            .http
            .post(format!("{}/oauth/token", self.base))
            .json(&json!({"client_id": self.id, "client_secret": self.secret}))
            .send()
            .await
            .map_err(|e| ProviderError::Transient {
                message: e.to_string(),
                retry_after: None,
            })?;
        if !r.status().is_success() {
            return Err(ProviderError::Permanent(format!(
                "the cloud refused the credentials ({})",
                r.status()
            )));
        }
        let v: Value = r
            .json()
            .await
            .map_err(|e| ProviderError::Permanent(e.to_string()))?;
        let tok = v["access_token"].as_str().unwrap_or_default().to_owned();
        *t = Some(tok.clone());
        Ok(tok)
    }
}

#[async_trait]
impl ProviderApi for BatchCloud {
    fn batch_size(&self) -> usize {
        100
    }

    async fn register(&self, r: &Registration) -> Result<(), ProviderError> {
        self.register_batch(std::slice::from_ref(r)).await.remove(0)
    }

    async fn deregister(&self, _mac: Mac) -> Result<(), ProviderError> {
        Ok(())
    }

    async fn register_batch(&self, rs: &[Registration]) -> Vec<Result<(), ProviderError>> {
        let all = |e: ProviderError| rs.iter().map(|_| Err(e.clone())).collect();
        let token = match self.token().await {
            Ok(t) => t,
            Err(e) => return all(e),
        };
        let devices: Vec<Value> = rs
            .iter()
            .map(
                |r| json!({"mac": r.mac.to_string(), "url": r.url, "user": r.user, "pass": r.pass}),
            )
            .collect();
        let answer: Value = match self
            .http
            .post(format!("{}/devices/batch", self.base))
            .bearer_auth(token)
            .json(&json!({ "devices": devices }))
            .send()
            .await
        {
            Ok(r) => r.json().await.unwrap_or_default(),
            Err(e) => {
                return all(ProviderError::Transient {
                    message: e.to_string(),
                    retry_after: None,
                })
            }
        };
        let results = answer["results"].as_array().cloned().unwrap_or_default();
        rs.iter()
            .map(|r| {
                let mac = r.mac.to_string();
                match results.iter().find(|x| x["mac"] == mac.as_str()) {
                    Some(x) if x["ok"] == true => Ok(()),
                    Some(x) => Err(ProviderError::Permanent(
                        x["error"].as_str().unwrap_or("refused").to_owned(),
                    )),
                    None => Err(ProviderError::Transient {
                        message: "no answer for this device".into(),
                        retry_after: None,
                    }),
                }
            })
            .collect()
    }

    async fn test(&self) -> Result<String, ProviderError> {
        self.token().await.map(|_| "OK, token issued".to_owned())
    }
}

/// The made-up kind registers Snom's phones in the first test, and the
/// made-up vendor's in the mixed fleet below.
const KIND: touchless_server::daemon::kinds::Kind = touchless_server::daemon::kinds::Kind {
    vendor: "snom",
    factory,
    default_base_url: None,
};

async fn start_cloud() -> (Arc<Cloud>, std::net::SocketAddr) {
    let cloud = Arc::new(Cloud::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = Router::new()
        .route("/oauth/token", post(token))
        .route("/devices/batch", post(batch))
        .with_state(Arc::clone(&cloud));
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (cloud, addr)
}

async fn settled(app: &TestApp) -> Vec<Value> {
    let t = std::time::Instant::now();
    loop {
        let (_, list) = app.get("/devices").await;
        let list = list.as_array().unwrap().clone();
        if list.iter().all(|d| d["status"] != "pending") {
            return list;
        }
        assert!(
            t.elapsed() < std::time::Duration::from_secs(30),
            "still pending"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// A mixed fleet: a made-up vendor (`{mac}.cfg`, key=value, a per-model
/// common file; `touchless_phones::testing`) beside Snom in one tenant. Each
/// phone is served its vendor's files, and each device goes to the provider
/// of its scope for its vendor; a vendor without one fails, naming it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mixed_fleet_gets_each_vendors_files_and_provider() {
    touchless_phones::testing::register();
    touchless_server::daemon::kinds::register(
        "kvcloud",
        touchless_server::daemon::kinds::Kind {
            vendor: "keyval",
            ..KIND
        },
    );
    let (cloud, addr) = start_cloud().await;
    let mut app = spawn_app_with(|c| {
        fast(c);
        basic_only(c);
    })
    .await;
    app.tenant("acme", "prov-acme", "s3cr3t-prov").await;
    let (s, v) = app
        .post(
            "/devices",
            json!([
                {"mac": "0A0B0C000001", "model": "kv100", "tenant": "acme",
                 "lines": [{"extension": "401", "sip_password": "sip-secret", "display_name": "Alice"}]},
                {"mac": "000413BA0001", "model": "snomD717", "tenant": "acme"},
            ]),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let kv = &v[0];

    // The made-up vendor's files, by its names, in its format.
    let get = |path: &str, user: &str, pass: &str| {
        app.http
            .get(format!("{}{path}", app.prov))
            .basic_auth(user.to_owned(), Some(pass.to_owned()))
            .send()
    };
    let r = get(
        "/ztprov/0a0b0c000001.cfg",
        kv["ztprov_user"].as_str().unwrap(),
        kv["ztprov_pass"].as_str().unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "text/plain; charset=utf-8");
    let body = r.text().await.unwrap();
    assert!(
        body.contains(&format!(
            "provisioning.url={}/prov/0a0b0c000001.cfg\n",
            app.prov
        )),
        "{body}"
    );
    assert!(body.contains("provisioning.user=prov-acme\n"), "{body}");
    let r = get("/prov/0a0b0c000001.cfg", "prov-acme", "s3cr3t-prov")
        .await
        .unwrap();
    let body = r.text().await.unwrap();
    assert!(
        body.contains("account.registrar.1=pbx.example.com\n"),
        "{body}"
    );
    assert!(body.contains("account.label.1=Alice\n"), "{body}");
    let r = get("/prov/kv100.cfg", "prov-acme", "s3cr3t-prov")
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r
        .text()
        .await
        .unwrap()
        .starts_with("#!keyval\n# every kv100"));
    // Snom's phone in the same tenant still gets Snom's XML.
    let (s, body) = app
        .prov_file("000413BA0001", "prov-acme", "s3cr3t-prov")
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("<setting_server"), "{body}");

    // Only a Snom provider in the master scope: the other vendor's device
    // fails with words naming what is missing.
    let (key, secret) = crate::daemon::own_redirect_account(&app, "write").await;
    let local = format!("{}/api/v1/", app.redirect);
    crate::daemon::provider(&app, "local", &local, &key, &secret, None).await;
    app.post("/devices/register", json!({"all": true})).await;
    let list = settled(&app).await;
    let status = |list: &[Value], mac: &str| {
        let d = list.iter().find(|d| d["mac"] == mac).unwrap();
        (
            d["status"].as_str().unwrap().to_owned(),
            d["last_message"].as_str().unwrap().to_owned(),
        )
    };
    assert_eq!(
        status(&list, "000413BA0001"),
        ("registered".into(), "-".into())
    );
    assert_eq!(
        status(&list, "0A0B0C000001"),
        (
            "failed".into(),
            "no master provider for keyval phones is configured; add one with `touchless provider add --kind kvcloud`".into()
        )
    );

    // With a provider for that vendor, it goes there, and only it.
    let (s, v) = app
        .post(
            "/providers",
            json!({"name": "kv", "kind": "kvcloud", "base_url": format!("http://{addr}"), "access_key_id": "id", "secret": "s3cret"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = app
        .post(
            "/providers",
            json!({"name": "kv2", "kind": "kvcloud", "base_url": format!("http://{addr}"), "access_key_id": "id", "secret": "s3cret"}),
        )
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (
            StatusCode::CONFLICT,
            Some("a master provider already exists for keyval phones")
        ),
        "{v}"
    );
    app.post("/devices/register", json!({"macs": ["0A0B0C000001"]}))
        .await;
    let list = settled(&app).await;
    assert_eq!(
        status(&list, "0A0B0C000001"),
        ("registered".into(), "-".into())
    );
    assert_eq!(
        *cloud.registered.lock().unwrap(),
        vec!["0A0B0C000001".to_owned()]
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_provider_kind_registers_a_hundred_per_call_with_a_cached_token() {
    // The one registration line a new kind needs.
    touchless_server::daemon::kinds::register("batchy", KIND);

    let (cloud, addr) = start_cloud().await;

    // One queue, so its events come to one worker, which groups them.
    let mut app = spawn_app_with(|c| {
        fast(c);
        c.daemon.queuenum = 1;
        c.daemon.queuecap = 1000;
    })
    .await;
    app.tenant("acme", "prov-acme", "s3cr3t-prov").await;
    let devices: Vec<Value> = (0..250)
        .map(|i| json!({"mac": format!("000413BA{i:04X}"), "model": "snomD717", "tenant": "acme"}))
        .collect();
    app.post("/devices", json!(devices)).await;
    let (s, v) = app
        .post(
            "/providers",
            json!({"name": "cloud", "kind": "batchy", "base_url": format!("http://{addr}"), "access_key_id": "id", "secret": "s3cret"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (_, t) = app.post("/providers/cloud/test", json!({})).await;
    assert_eq!(t["message"], "OK, token issued");
    let (s, v) = app
        .post(
            "/providers",
            json!({"name": "x", "kind": "nope", "access_key_id": "i", "secret": "s"}),
        )
        .await;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("kind")),
        "{v}"
    );
    assert!(
        v["error"].as_str().unwrap().contains("batchy"),
        "names the kinds: {v}"
    );

    app.post("/devices/register", json!({"all": true})).await;
    let list = settled(&app).await;
    let failed: Vec<_> = list.iter().filter(|d| d["status"] == "failed").collect();
    assert_eq!(failed.len(), 1, "only the refused MAC");
    assert_eq!(failed[0]["mac"], TAKEN);
    assert_eq!(
        failed[0]["last_message"],
        "MAC is claimed by another account"
    );
    assert_eq!(
        list.iter().filter(|d| d["status"] == "registered").count(),
        249
    );
    let calls = cloud.calls.load(Ordering::SeqCst);
    assert!(
        cloud.largest.load(Ordering::SeqCst) <= 100,
        "at most 100 per call"
    );
    assert!(
        (3..250).contains(&calls),
        "batched: {calls} calls for 250 devices"
    );
    assert_eq!(
        cloud.tokens_issued.load(Ordering::SeqCst),
        1,
        "the token is cached"
    );
    app.stop().await;
}

/// The 401 offers the configured schemes the phones asking for that file
/// name answer (the made-up vendor's only Basic), decided by the name alone:
/// a known and an unknown MAC get the same challenge. A vendor that answers
/// none of the configured schemes is offered them all: the operator's choice
/// stands.
#[tokio::test]
async fn phones_are_challenged_with_the_schemes_their_vendor_answers() {
    use touchless_server::config::Scheme;
    touchless_phones::testing::register();
    let mut app = spawn_app_with(|c| {
        c.auth.schemes = vec![Scheme::Digest, Scheme::Basic];
        c.auth.allow_basic_over_http = true;
    })
    .await;
    let schemes = |path: &'static str| {
        let r = app.http.get(format!("{}{path}", app.prov)).send();
        async move {
            let r = r.await.unwrap();
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
            r.headers()
                .get_all("www-authenticate")
                .iter()
                .map(|v| v.to_str().unwrap().split(' ').next().unwrap().to_owned())
                .fold(Vec::<String>::new(), |mut seen, s| {
                    // One Digest challenge per algorithm: the schemes, once.
                    if !seen.contains(&s) {
                        seen.push(s);
                    }
                    seen
                })
        }
    };
    assert_eq!(schemes("/prov/kv100.cfg").await, ["Basic"]);
    // `{mac}.cfg` is Yealink's name too: its phones' schemes join.
    assert_eq!(schemes("/prov/0a0b0c000001.cfg").await, ["Digest", "Basic"]);
    let snom = schemes("/prov/snomD717-000413000001.htm").await;
    assert_eq!(snom.first().map(String::as_str), Some("Digest"), "{snom:?}");
    assert_eq!(snom.last().map(String::as_str), Some("Basic"), "{snom:?}");
    app.stop().await;
    let mut app = spawn_app().await;
    let r = app
        .http
        .get(format!("{}/prov/kv100.cfg", app.prov))
        .send()
        .await
        .unwrap();
    let offered: Vec<_> = r.headers().get_all("www-authenticate").iter().collect();
    assert!(
        offered
            .iter()
            .all(|v| v.to_str().unwrap().starts_with("Digest")),
        "{offered:?}"
    );
    app.stop().await;
}

/// A vendor no provider kind registers (the made-up one, without its kind):
/// its device fails with words that say so and name the kinds there are.
#[tokio::test]
async fn a_vendor_no_kind_registers_fails_in_words() {
    touchless_phones::testing::register();
    let mut app = spawn_app_with(fast).await;
    app.tenant("acme", "prov-acme", "s3cr3t-prov").await;
    let (s, v) = app
        .post(
            "/devices",
            json!({"mac": "0A0B0C000009", "model": "kv100", "tenant": "acme"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    app.post("/devices/register", json!({"all": true})).await;
    let list = settled(&app).await;
    assert_eq!(
        list[0]["last_message"],
        "no master provider for keyval phones is configured, and no provider kind of this touchless registers keyval phones (it speaks fdps, grape, snom, ymcs, ztp)"
    );
    app.stop().await;
}
