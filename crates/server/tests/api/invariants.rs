//! ARCHITECTURE.md's invariants, each tried from outside so that breaking it
//! fails a test: nonces shared between nodes, one 401 for every failure under
//! Digest, bodies rendered once per revision.

use reqwest::StatusCode;
use serde_json::json;

use touchless_server::tasks::TaskState;

use crate::helpers::*;

const MAC: &str = "000413AABBCC";

/// A second node on the first one's database, with its own listeners.
async fn second_node(first: &TestApp, f: impl FnOnce(&mut touchless_server::Config)) -> TestApp {
    let url = first.database_url.clone();
    spawn_app_with(move |c| {
        c.database_url = url;
        f(c);
    })
    .await
}

fn hawk_header(id: &str, secret: &str, method: &str, host: &str, port: u16, path: &str) -> String {
    let creds = hawk::Credentials {
        id: id.to_owned(),
        key: hawk::Key::new(secret.as_bytes(), hawk::SHA256).unwrap(),
    };
    let header = hawk::RequestBuilder::new(method, host, port, path)
        .request()
        .make_header(&creds)
        .unwrap();
    format!("Hawk {header}")
}

/// A Hawk request replayed to another node is refused: that node's own nonce
/// cache has never seen it, so only the shared table can catch it. Both nodes
/// sit behind a proxy (`trust_forwarded`), which is also what lets one
/// signature be valid on both; a node that does not trust the proxy checks the
/// signature against its own address and refuses it.
#[tokio::test]
async fn a_hawk_request_replayed_to_another_node_is_refused() {
    let mut a = spawn_app_with(|c| c.redirect.trust_forwarded = true).await;
    let mut b = second_node(&a, |c| c.redirect.trust_forwarded = true).await;
    let mut plain = second_node(&a, |_| {}).await;
    let (_, company) = a.post("/redirect/companies", json!({"name": "Acme"})).await;
    let (_, key) = a
        .post(
            "/redirect/keys",
            json!({"company": company["id"], "role": "read"}),
        )
        .await;
    let (id, secret) = (key["id"].as_str().unwrap(), key["secret"].as_str().unwrap());
    let path = format!("/api/v1/tokens/{id}");
    let send = |base: String, auth: String| {
        let http = a.http.clone();
        let path = path.clone();
        async move {
            http.get(format!("{base}{path}"))
                .header("authorization", auth)
                .header("x-forwarded-host", "sraps.example.com")
                .header("x-forwarded-proto", "https")
                .send()
                .await
                .unwrap()
        }
    };
    let auth = hawk_header(id, secret, "GET", "sraps.example.com", 443, &path);
    let first = send(a.redirect.clone(), auth.clone()).await;
    assert_eq!(
        first.status(),
        StatusCode::OK,
        "{}",
        first.text().await.unwrap()
    );
    let replay = send(b.redirect.clone(), auth).await;
    assert_eq!(replay.status(), StatusCode::UNAUTHORIZED);
    let www = replay.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(www.contains("eplay") || www.contains("nonce"), "{www}");

    // A fresh signature for the proxy's address works on the other node too ...
    let fresh = hawk_header(id, secret, "GET", "sraps.example.com", 443, &path);
    assert_eq!(
        send(b.redirect.clone(), fresh).await.status(),
        StatusCode::OK
    );
    // ... but not on a node that does not trust X-Forwarded-*.
    let fresh = hawk_header(id, secret, "GET", "sraps.example.com", 443, &path);
    assert_eq!(
        send(plain.redirect.clone(), fresh).await.status(),
        StatusCode::UNAUTHORIZED
    );
    plain.stop().await;
    b.stop().await;
    a.stop().await;
}

/// A Digest nonce one node issued is accepted by another: the nonce secret is
/// in the database, not in either node.
#[tokio::test]
async fn a_digest_nonce_from_one_node_is_accepted_by_another() {
    let mut a = spawn_app().await;
    a.tenant("acme", "prov-acme", "s3cr3t-prov").await;
    a.device(MAC, "acme").await;
    let mut b = second_node(&a, |_| {}).await;
    let path = format!("/prov/snomD717-{MAC}.htm");
    let challenge = a
        .http
        .get(format!("{}{path}", a.prov))
        .send()
        .await
        .unwrap();
    let challenge = challenge
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.contains("MD5"))
        .unwrap();
    let mut prompt = digest_auth::parse(&challenge).unwrap();
    let answer = prompt
        .respond(&digest_auth::AuthContext::new(
            "prov-acme",
            "s3cr3t-prov",
            &path,
        ))
        .unwrap()
        .to_header_string();
    // B has loaded the device from the shared database by its first refresh.
    let r = b
        .http
        .get(format!("{}{path}", b.prov))
        .header("authorization", answer)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    b.stop().await;
    a.stop().await;
}

/// Status, headers and body of a 401, with the nonce (a timestamp and its
/// HMAC, the same for everyone within a second) and Date left out.
async fn normalized_401(r: reqwest::Response) -> (u16, Vec<(String, String)>, String) {
    let status = r.status().as_u16();
    let mut headers: Vec<(String, String)> = r
        .headers()
        .iter()
        .filter(|(k, _)| k.as_str() != "date")
        .map(|(k, v)| {
            let v = v.to_str().unwrap().to_owned();
            let v = match v.find("nonce=\"") {
                Some(i) => {
                    let rest = &v[i + 7..];
                    let end = rest.find('"').unwrap();
                    format!("{}nonce=\"N\"{}", &v[..i], &rest[end + 1..])
                }
                None => v,
            };
            (k.as_str().to_owned(), v)
        })
        .collect();
    headers.sort();
    (status, headers, r.text().await.unwrap())
}

/// Under Digest (both algorithms), an unknown MAC, a wrong password, an
/// unknown user, another tenant's device and another device's own pair all
/// get the very same 401.
#[tokio::test]
async fn every_failure_gets_the_same_401_under_digest() {
    let mut app = spawn_app().await;
    app.tenant("acme", "prov-acme", "pass-acme").await;
    app.tenant("beta", "prov-beta", "pass-beta").await;
    app.device(MAC, "acme").await;
    app.device("000413000002", "beta").await;
    let (_, scoped) = app
        .post(
            "/tenants",
            json!({"id": "gamma", "sip_host": "pbx.example.com"}),
        )
        .await;
    assert_eq!(scoped["prov_credentials"], "device");
    let other = app.device("000413000003", "gamma").await;
    app.device("000413000004", "gamma").await;
    let (ou, op) = (
        other["prov_user"].as_str().unwrap().to_owned(),
        other["prov_pass"].as_str().unwrap().to_owned(),
    );
    let cases = [
        ("unknown MAC", "000413FFFFFF", "prov-acme", "pass-acme"),
        ("wrong password", MAC, "prov-acme", "wrong"),
        ("unknown user", MAC, "nobody", "pass-acme"),
        ("other tenant", "000413000002", "prov-acme", "pass-acme"),
        (
            "other device's pair",
            "000413000004",
            ou.as_str(),
            op.as_str(),
        ),
    ];
    for alg in ["MD5", "SHA-256"] {
        let mut seen = Vec::new();
        for (what, mac, user, pass) in cases {
            let path = format!("/prov/snomD717-{mac}.htm");
            let url = format!("{}{path}", app.prov);
            let first = app.http.get(&url).send().await.unwrap();
            let challenge = first
                .headers()
                .get_all("www-authenticate")
                .iter()
                .map(|v| v.to_str().unwrap().to_owned())
                .find(|v| v.contains(&format!("algorithm={alg}")))
                .unwrap();
            let mut prompt = digest_auth::parse(&challenge).unwrap();
            let answer = prompt
                .respond(&digest_auth::AuthContext::new(user, pass, &path))
                .unwrap()
                .to_header_string();
            let r = app
                .http
                .get(&url)
                .header("authorization", answer)
                .send()
                .await
                .unwrap();
            let got = normalized_401(r).await;
            assert_eq!(got.0, 401, "{alg} {what}");
            seen.push((what, got));
        }
        for w in seen.windows(2) {
            assert_eq!(w[0].1, w[1].1, "{alg}: {} vs {}", w[0].0, w[1].0);
        }
    }
    app.stop().await;
}

/// A miss (unknown MAC, unknown user) does the same hashing as a wrong
/// password: counted, so that the decoy check cannot be skipped unnoticed.
#[tokio::test]
async fn a_miss_hashes_as_much_as_a_wrong_password() {
    let mut app = spawn_app().await;
    app.tenant("acme", "prov-acme", "pass-acme").await;
    app.device(MAC, "acme").await;
    let hashes = |app: &TestApp| app.running.as_ref().unwrap().auth_hashes();
    let mut costs = Vec::new();
    for (what, mac, user, pass) in [
        ("right", MAC, "prov-acme", "pass-acme"),
        ("wrong password", MAC, "prov-acme", "wrong"),
        ("unknown MAC", "000413FFFFFF", "prov-acme", "pass-acme"),
        ("unknown user", MAC, "nobody", "x"),
    ] {
        for alg in ["MD5", "SHA-256"] {
            let url = format!("{}/prov/snomD717-{mac}.htm", app.prov);
            let before = hashes(&app);
            let (status, _) = digest_get(&app.http, &url, user, pass, alg).await;
            let cost = hashes(&app) - before;
            costs.push((what, alg, status.as_u16(), cost));
        }
    }
    assert!(
        costs.iter().all(|c| c.3 == costs[0].3 && c.3 > 0),
        "{costs:?}"
    );
    app.stop().await;
}

/// A body is rendered once per revision: repeated fetches are served from the
/// cache, and a change renders once more.
#[tokio::test]
async fn bodies_are_rendered_once_per_revision() {
    let mut app = spawn_app_with(basic_only).await;
    app.tenant("acme", "prov-acme", "pass-acme").await;
    app.device(MAC, "acme").await;
    let renders = |app: &TestApp| app.running.as_ref().unwrap().renders();
    let fetch = || async {
        let (status, body) = app.prov_file(MAC, "prov-acme", "pass-acme").await;
        assert_eq!(status, StatusCode::OK);
        body
    };
    let before = renders(&app);
    let first = fetch().await;
    for _ in 0..5 {
        assert_eq!(fetch().await, first);
    }
    assert_eq!(renders(&app), before + 1, "one render for six fetches");
    let (s, _) = app
        .admin_call(
            reqwest::Method::PATCH,
            &format!("/devices/{MAC}"),
            Some(json!({"name": "Lobby"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    fetch().await;
    fetch().await;
    assert_eq!(
        renders(&app),
        before + 2,
        "a new revision renders once more"
    );
    app.stop().await;
}

/// The render cache stays within its bytes: with 1 MiB and 1,500 devices'
/// files it evicts, counts hits and misses, and every file is still served
/// (a miss renders again).
#[tokio::test]
async fn the_render_cache_is_bounded_in_bytes() {
    let mut app = spawn_app_with(|c| {
        basic_only(c);
        c.provisioning.render_cache_mb = 1;
    })
    .await;
    app.tenant("acme", "prov-acme", "pass-acme").await;
    let macs: Vec<String> = (0..1500).map(|i| format!("000414{i:06X}")).collect();
    let batch: Vec<_> = macs
        .iter()
        .map(|m| {
            json!({"mac": m, "model": "snomD717", "tenant": "acme",
                   "lines": [{"extension": "401", "sip_password": "sip-secret",
                              "display_name": "x".repeat(60)}]})
        })
        .collect();
    let (s, _) = app.post("/devices", json!(batch)).await;
    assert_eq!(s, StatusCode::CREATED);
    for m in &macs {
        let (status, body) = app.prov_file(m, "prov-acme", "pass-acme").await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains(&m[6..]), "{m}");
    }
    // Read at once after its render: still there.
    app.prov_file(&macs[1499], "prov-acme", "pass-acme").await;
    let (_, st) = app.get("/status").await;
    let c = &st["render_cache"];
    let n = |k: &str| c[k].as_u64().unwrap();
    assert_eq!(n("capacity_bytes"), 1 << 20, "{st}");
    assert!(n("bytes") <= n("capacity_bytes"), "{st}");
    assert!(n("entries") < 1500 && n("entries") > 100, "{st}");
    assert_eq!(n("evictions"), 1500 - n("entries"), "{st}");
    assert_eq!(n("misses"), 1500, "{st}");
    assert_eq!(n("hits"), 1, "{st}");
    assert_eq!(st["devices"], 1500);
    app.stop().await;
}

/// After the first load, a reload reads only what changed: one edited device
/// is one row, a tenant's new SIP host is one row and reaches every phone of
/// that tenant, a removed device is gone.
#[tokio::test]
async fn a_reload_reads_only_what_changed() {
    let mut app = spawn_app_with(basic_only).await;
    app.tenant("acme", "prov-acme", "pass-acme").await;
    let macs: Vec<String> = (0..50).map(|i| format!("0004130010{i:02X}")).collect();
    let batch: Vec<_> = macs
        .iter()
        .map(|m| {
            json!({"mac": m, "model": "snomD717", "tenant": "acme",
                   "lines": [{"extension": "401", "sip_password": "sip-secret"}]})
        })
        .collect();
    let (s, _) = app.post("/devices", json!(batch)).await;
    assert_eq!(s, StatusCode::CREATED);
    let rows = |app: &TestApp| app.running.as_ref().unwrap().rows_read();
    let before = rows(&app);
    let (s, _) = app
        .admin_call(
            reqwest::Method::PATCH,
            &format!("/devices/{}", macs[7]),
            Some(json!({"name": "Lobby"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(rows(&app), before + 1, "one edited device is one row read");

    let (s, _) = app
        .admin_call(
            reqwest::Method::PATCH,
            "/tenants/acme",
            Some(json!({"sip_host": "pbx-new.example.com"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        rows(&app),
        before + 2,
        "a tenant change reads the tenant only"
    );
    for m in [&macs[0], &macs[7], &macs[49]] {
        let (s, body) = app.prov_file(m, "prov-acme", "pass-acme").await;
        assert_eq!(s, StatusCode::OK);
        assert!(body.contains("pbx-new.example.com"), "{m}: {body}");
    }

    let (s, _) = app
        .admin_call(
            reqwest::Method::DELETE,
            &format!("/devices/{}", macs[3]),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (gone, _) = app.prov_file(&macs[3], "prov-acme", "pass-acme").await;
    assert_eq!(gone, StatusCode::UNAUTHORIZED);
    let (kept, _) = app.prov_file(&macs[4], "prov-acme", "pass-acme").await;
    assert_eq!(kept, StatusCode::OK);
    assert_eq!(rows(&app), before + 2, "a removal reads no row");
    app.stop().await;
}

/// Every background task runs while the node does, and each has stopped
/// (flushed, without a failure) when shutdown returns.
#[tokio::test]
async fn background_tasks_stop_flushed() {
    let mut app = spawn_app().await;
    let tasks = app.running.as_ref().unwrap().tasks();
    let mut names: Vec<&str> = tasks.iter().map(|t| t.name()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "access-log-writer",
            "contact-log-writer",
            "directory-reloader",
            "metrics-upkeep",
            "queue-distributor",
            "redirect-log-writer"
        ]
    );
    assert!(tasks.iter().all(|t| t.state() == TaskState::Running));
    app.stop().await;
    for t in &tasks {
        assert_eq!(t.state(), TaskState::Stopped, "{}", t.name());
        assert_eq!(t.failures(), 0, "{}: {:?}", t.name(), t.last_error());
    }
}

/// HEAD gets the headers GET would, with no body.
#[tokio::test]
async fn head_requests_get_headers_only() {
    let mut app = spawn_app_with(basic_only).await;
    app.tenant("acme", "prov-acme", "pass-acme").await;
    app.device(MAC, "acme").await;
    let url = format!("{}/prov/snomD717-{MAC}.htm", app.prov);
    let get = app
        .http
        .get(&url)
        .basic_auth("prov-acme", Some("pass-acme"))
        .send()
        .await
        .unwrap();
    let len = get.headers()["content-length"].clone();
    let body = get.bytes().await.unwrap();
    assert!(!body.is_empty());
    let head = app
        .http
        .head(&url)
        .basic_auth("prov-acme", Some("pass-acme"))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(head.headers()["content-length"], len);
    assert_eq!(head.headers()["content-type"], "text/xml; charset=utf-8");
    assert!(head.bytes().await.unwrap().is_empty());
    let unauth = app.http.head(&url).send().await.unwrap();
    assert_eq!(unauth.status(), StatusCode::UNAUTHORIZED);
    app.stop().await;
}

/// A failure inside the server is a plain 500 that names nothing of it; the
/// details go to the log.
#[tokio::test]
async fn a_5xx_hides_internals() {
    let templates = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(templates.path().join("snom")).unwrap();
    std::fs::write(
        templates.path().join("snom/device.xml"),
        "<settings>{{ secret_helper_that_does_not_exist(device.mac) }}</settings>",
    )
    .unwrap();
    let dir = templates.path().to_string_lossy().into_owned();
    let mut app = spawn_app_with(|c| {
        c.template_dir = dir;
        basic_only(c);
    })
    .await;
    app.tenant("acme", "prov-acme", "pass-acme").await;
    app.device(MAC, "acme").await;
    let (status, body) = app.prov_file(MAC, "prov-acme", "pass-acme").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body, "internal error\n");
    app.stop().await;
}

/// The redirect's 404 is byte for byte the same for an unknown MAC, a disabled
/// endpoint and a User-Agent naming another MAC.
#[tokio::test]
async fn the_redirect_says_the_same_404_whatever_the_reason() {
    let mut app = spawn_app().await;
    let (_, company) = app
        .post("/redirect/companies", json!({"name": "Acme"}))
        .await;
    let (_, key) = app
        .post(
            "/redirect/keys",
            json!({"company": company["id"], "role": "write"}),
        )
        .await;
    let (id, secret) = (key["id"].as_str().unwrap(), key["secret"].as_str().unwrap());
    let company = company["id"].as_str().unwrap();
    let port: u16 = app.redirect.rsplit(':').next().unwrap().parse().unwrap();
    // Two endpoints: one enabled, one disabled.
    for (mac, enabled) in [(MAC, true), ("000413AABBCD", false)] {
        let path = format!("/api/v1/companies/{company}/endpoints/{mac}");
        let body = serde_json::to_vec(&json!({ "autoprovisioning_enabled": enabled })).unwrap();
        let r = app
            .http
            .put(format!("{}{path}", app.redirect))
            .header(
                "authorization",
                hawk_header(id, secret, "PUT", "localhost", port, &path),
            )
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    }
    let ua = |mac: &str| {
        format!("Mozilla/4.0 (compatible; snomD717-SIP 10.1.33.33 2010.12-00004-g9ba52f5 {mac} SXM:0 UXM:0)")
    };
    let ask = |mac: &'static str, ua: String| {
        let http = app.http.clone();
        let url = format!("{}/snomD717-{mac}.htm", app.redirect);
        async move {
            let r = http.get(url).header("user-agent", ua).send().await.unwrap();
            normalized_401(r).await
        }
    };
    let ok = ask(MAC, ua(MAC)).await;
    assert_eq!(ok.0, 200);
    let unknown = ask("000413FFFFF0", ua("000413FFFFF0")).await;
    let disabled = ask("000413AABBCD", ua("000413AABBCD")).await;
    let other_ua = ask(MAC, ua("000413000001")).await;
    assert_eq!(unknown.0, 404);
    assert_eq!(disabled, unknown, "disabled looks unknown");
    assert_eq!(other_ua, unknown, "another MAC's phone learns nothing");
    app.stop().await;
}

/// A first start that died half-way through setting up the local provider is
/// completed by the next start (the "done" mark comes last).
#[tokio::test]
async fn the_local_provider_setup_survives_a_crash_half_way() {
    let first = spawn_app().await;
    let url = first.database_url.clone();
    let (_, company) = first
        .post("/redirect/companies", json!({"name": "Local redirection"}))
        .await;
    assert!(company["id"].is_string());
    let store = touchless_store::open(&url).await.unwrap();
    // What a start that died after its first write left behind.
    store
        .meta_set("local_provider_bootstrap", "pending")
        .await
        .unwrap();
    store.close().await;
    let mut again = spawn_app_with(move |c| {
        c.database_url = url;
        c.daemon.bootstrap_local_provider = true;
    })
    .await;
    let (s, p) = again.get("/providers/local").await;
    assert_eq!(s, StatusCode::OK, "{p}");
    let mut first = first;
    first.stop().await;
    again.stop().await;
}
