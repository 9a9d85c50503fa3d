//! The registration daemon against our own redirection service and against a
//! fault-injecting fake of Snom's cloud.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::fake_sraps::{FakeSraps, Fault};
use crate::helpers::*;

pub(crate) fn fast(c: &mut touchless_server::Config) {
    c.daemon.poll_ms = 50;
    c.daemon.backoff_base_ms = 50;
    c.daemon.backoff_max_ms = 200;
    c.daemon.request_timeout_ms = 500;
    c.daemon.max_attempts = 4;
}

pub(crate) async fn devices(app: &TestApp, n: u32) -> Vec<String> {
    app.tenant("acme", "prov-acme", "s3cr3t-prov").await;
    let items: Vec<Value> = (0..n)
        .map(|i| {
            json!({"mac": format!("000413{i:06X}"), "model": "snomD717", "tenant": "acme",
                        "lines": [{"extension": format!("{}", 1000 + i), "sip_password": "pw"}]})
        })
        .collect();
    let (s, v) = app.post("/devices", Value::Array(items)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    (0..n).map(|i| format!("000413{i:06X}")).collect()
}

/// Polls until no device is pending, then returns them all.
pub(crate) async fn settle(app: &TestApp) -> Vec<Value> {
    for _ in 0..600 {
        let (_, list) = app.get("/devices").await;
        let list = list.as_array().unwrap().clone();
        if list.iter().all(|d| d["status"] != "pending") {
            return list;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("devices still pending after 30 s");
}

pub(crate) async fn provider(
    app: &TestApp,
    name: &str,
    url: &str,
    key: &str,
    secret: &str,
    tenant: Option<&str>,
) {
    let (s, v) = app
        .post("/providers", json!({"name": name, "base_url": url, "access_key_id": key, "secret": secret, "tenant": tenant}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert!(v.get("secret").is_none(), "the secret is never returned");
}

/// The provider `local`: a write key of a new company at this node's own
/// redirection service.
pub(crate) async fn local_provider(app: &TestApp) {
    let (key, secret) = own_redirect_account(app, "write").await;
    provider(
        app,
        "local",
        &format!("{}/api/v1/", app.redirect),
        &key,
        &secret,
        None,
    )
    .await;
}

pub(crate) async fn own_redirect_account(app: &TestApp, role: &str) -> (String, String) {
    let (_, c) = app
        .post("/redirect/companies", json!({"name": "Acme Telecom"}))
        .await;
    let (_, k) = app
        .post("/redirect/keys", json!({"company": c["id"], "role": role}))
        .await;
    (
        k["id"].as_str().unwrap().to_owned(),
        k["secret"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn registers_200_devices_at_our_own_redirection_service_and_deregisters_them() {
    let mut app = spawn_app_with(fast).await;
    let macs = devices(&app, 200).await;
    local_provider(&app).await;

    let (s, v) = app.post("/devices/register", json!({"all": true})).await;
    assert_eq!(
        (s, v["queued"].as_u64()),
        (StatusCode::ACCEPTED, Some(200)),
        "{v}"
    );
    let list = settle(&app).await;
    for d in &list {
        assert_eq!(d["status"], "registered", "{d}");
        assert_eq!(d["last_message"], "-");
        assert!(d["registered_at"].is_string());
    }
    // The redirection service holds every endpoint with the URL and the device's current credentials.
    let (_, eps) = app.get("/redirect/endpoints").await;
    assert_eq!(eps["total"], 200);
    for mac in macs.iter().step_by(37) {
        let (_, e) = app
            .get(&format!("/redirect/endpoints/{mac}?secrets=true"))
            .await;
        let (_, cr) = app.get(&format!("/devices/{mac}/credentials")).await;
        let get = |p: &str| {
            e["settings"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["param_name"] == p)
                .unwrap()["value"]
                .clone()
        };
        assert_eq!(get("setting_server"), cr["ztprov_url"]);
        assert_eq!(get("http_client_user"), cr["ztprov_user"]);
        assert_eq!(get("http_client_pass"), cr["ztprov_pass"]);
    }
    // Re-registering re-pushes with fresh credentials, nothing duplicated.
    let (_, before) = app.get(&format!("/devices/{}/credentials", macs[0])).await;
    app.post("/devices/register", json!({"macs": [macs[0]]}))
        .await;
    settle(&app).await;
    let (_, after) = app.get(&format!("/devices/{}/credentials", macs[0])).await;
    assert_ne!(before["ztprov_pass"], after["ztprov_pass"]);
    assert_eq!(app.get("/redirect/endpoints").await.1["total"], 200);
    // the old ztprov credentials no longer open the ztprov file, once the
    // view has heard of the promotion
    let zt = format!("{}/ztprov/snomD717-{}.htm", app.prov, macs[0]);
    let mut old = (StatusCode::OK, String::new());
    for _ in 0..100 {
        old = digest_get(
            &app.http,
            &zt,
            before["ztprov_user"].as_str().unwrap(),
            before["ztprov_pass"].as_str().unwrap(),
            "MD5",
        )
        .await;
        if old.0 == StatusCode::UNAUTHORIZED {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(old.0, StatusCode::UNAUTHORIZED);
    let new = digest_get(
        &app.http,
        &zt,
        after["ztprov_user"].as_str().unwrap(),
        after["ztprov_pass"].as_str().unwrap(),
        "MD5",
    )
    .await;
    assert_eq!(new.0, StatusCode::OK);

    let (s, _) = app
        .post("/devices/deregister", json!({"tenant": "acme"}))
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let list = settle(&app).await;
    assert!(
        list.iter().all(|d| d["status"] == "unregistered"),
        "{list:?}"
    );
    assert_eq!(app.get("/redirect/endpoints").await.1["total"], 0);
    let gone = digest_get(
        &app.http,
        &zt,
        after["ztprov_user"].as_str().unwrap(),
        after["ztprov_pass"].as_str().unwrap(),
        "MD5",
    )
    .await;
    assert_eq!(
        gone.0,
        StatusCode::UNAUTHORIZED,
        "deregistering invalidates the ztprov credentials"
    );
    let (_, done) = app.get("/events?state=done&limit=1000").await;
    assert_eq!(done.as_array().unwrap().len(), 401);
    app.stop().await;
}

/// With every queue full, the distributor claims again as soon as the
/// workers have made room, not at its next poll: here the poll is an hour
/// away and the queue holds 4 of 40 events.
#[tokio::test]
async fn a_full_queue_is_refilled_when_its_worker_makes_room_not_at_the_next_poll() {
    let mut app = spawn_app_with(|c| {
        fast(c);
        c.daemon.poll_ms = 3_600_000;
        c.daemon.queuenum = 1;
        c.daemon.queuecap = 4;
    })
    .await;
    devices(&app, 40).await;
    local_provider(&app).await;
    let (s, v) = app.post("/devices/register", json!({"all": true})).await;
    assert_eq!((s, v["queued"].as_u64()), (StatusCode::ACCEPTED, Some(40)));
    let list = settle(&app).await;
    assert!(list.iter().all(|d| d["status"] == "registered"), "{list:?}");
    app.stop().await;
}

// Several worker threads and a fake with latency: writes for one MAC could
// overlap here if the queue let them, so "no overlap" below can fail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_faults_are_retried_and_permanent_ones_fail_with_a_clear_message() {
    let fake = FakeSraps::start(Duration::from_millis(20)).await;
    let mut app = spawn_app_with(fast).await;
    let macs = devices(&app, 7).await;
    let m = |i: usize| macs[i].to_ascii_lowercase();
    fake.script(
        &m(0),
        vec![
            Fault::Status(500, json!({"detail": "boom"})),
            Fault::Status(502, json!("bad gateway")),
        ],
    );
    fake.script(&m(1), vec![Fault::RateLimited(1)]);
    fake.script(&m(2), vec![Fault::Hang(Duration::from_secs(2))]);
    fake.script(
        &m(3),
        vec![Fault::Status(
            403,
            json!({"detail": "taken_mac_or_forbidden"}),
        )],
    );
    fake.script(
        &m(4),
        vec![Fault::Status(503, json!({"detail": "maintenance"})); 10],
    );
    fake.script(
        &m(5),
        vec![Fault::Status(
            400,
            json!({"message": "invalid settings_manager"}),
        )],
    );
    // The same endpoint again: a client that followed would register there.
    fake.script(
        &m(6),
        vec![Fault::Redirect(format!(
            "{}companies/c0ffee/endpoints/{}",
            fake.url(),
            m(6)
        ))],
    );
    provider(&app, "snom", &fake.url(), "key", "secret", None).await;
    let started = std::time::Instant::now();
    app.post("/devices/register", json!({"all": true})).await;
    let list = settle(&app).await;
    let by_mac = |i: usize| list.iter().find(|d| d["mac"] == macs[i]).unwrap().clone();
    for i in 0..3 {
        assert_eq!(by_mac(i)["status"], "registered", "{}", by_mac(i));
    }
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After was honoured"
    );
    assert_eq!(by_mac(3)["status"], "failed");
    assert_eq!(
        by_mac(3)["last_message"],
        "MAC is owned by another account (taken_mac_or_forbidden)"
    );
    assert_eq!(by_mac(4)["status"], "failed");
    assert_eq!(
        by_mac(4)["last_message"],
        "gave up after 4 attempts: provider error 503: maintenance"
    );
    assert_eq!(
        by_mac(5)["last_message"],
        "400 Bad Request: invalid settings_manager"
    );
    assert_eq!(by_mac(6)["status"], "failed", "{}", by_mac(6));
    assert_eq!(
        by_mac(6)["last_message"],
        format!(
            "307 redirect to {}companies/c0ffee/endpoints/{}: a provider's redirect is not followed \
             (it would take the API key elsewhere); set the provider's URL to where it is now",
            fake.url(),
            m(6)
        )
    );
    {
        let rec = fake.state.recorded.lock().unwrap();
        assert_eq!(rec.attempts[&m(0)], 3);
        assert_eq!(rec.attempts[&m(4)], 4);
        assert_eq!(rec.attempts[&m(3)], 1, "permanent errors are not retried");
        // what was pushed: the phone-settings uuid (not the `global` duplicate), and credentials
        let body = &rec.puts[&m(0)].1;
        assert!(
            body["settings_manager"]["22222222222222222222222222222222"]["value"]
                .as_str()
                .unwrap()
                .ends_with(&format!("/ztprov/snomD717-{}.htm", macs[0]))
        );
        assert!(body["settings_manager"]
            .get("11111111111111111111111111111111")
            .is_none());
        assert_eq!(body["autoprovisioning_enabled"], true);
    }
    assert_eq!(
        fake.state
            .overlaps
            .load(std::sync::atomic::Ordering::SeqCst),
        0,
        "no MAC was written twice at once"
    );

    // a failed event can be retried once the cause is fixed
    let (_, failed) = app.get("/events?state=failed").await;
    let ev = failed
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["mac"] == macs[3])
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let (s, v) = app.post(&format!("/events/{ev}/retry"), json!(null)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let list = settle(&app).await;
    assert_eq!(
        list.iter().find(|d| d["mac"] == macs[3]).unwrap()["status"],
        "registered"
    );
    app.stop().await;
}

#[tokio::test]
async fn provider_test_tells_apart_the_four_usual_situations() {
    let mut app = spawn_app().await;
    for t in ["t1", "t2", "t3"] {
        let (s, _) = app
            .post("/tenants", json!({"id": t, "sip_host": "pbx", "prov_user": format!("p-{t}"), "mode": "per-tenant"}))
            .await;
        assert_eq!(s, StatusCode::CREATED);
    }
    let (key, secret) = own_redirect_account(&app, "write").await;
    let (none_key, none_secret) = own_redirect_account(&app, "none").await;
    let url = format!("{}/api/v1/", app.redirect);
    provider(&app, "good", &url, &key, &secret, None).await;
    provider(
        &app,
        "wrong-secret",
        &url,
        &key,
        "not-the-secret",
        Some("t1"),
    )
    .await;
    provider(&app, "no-role", &url, &none_key, &none_secret, Some("t2")).await;
    provider(
        &app,
        "unreachable",
        "http://127.0.0.1:9/api/v1/",
        &key,
        &secret,
        Some("t3"),
    )
    .await;
    let test = |name: &'static str| {
        let app = &app;
        async move {
            app.admin_call(Method::POST, &format!("/providers/{name}/test"), None)
                .await
                .1
        }
    };
    let good = test("good").await;
    assert_eq!(good["ok"], true);
    assert!(
        good["message"]
            .as_str()
            .unwrap()
            .starts_with("OK, company Acme Telecom/"),
        "{good}"
    );
    let m = test("wrong-secret").await;
    assert!(
        m["ok"] == false
            && m["message"]
                .as_str()
                .unwrap()
                .contains("wrong access key id or secret"),
        "{m}"
    );
    let m = test("no-role").await;
    assert_eq!(
        m["message"],
        "403 Forbidden: the API key has no role; choose a role for the key at the provider"
    );
    let m = test("unreachable").await;
    assert!(
        m["message"]
            .as_str()
            .unwrap()
            .starts_with("cannot reach the provider at http://127.0.0.1:9/"),
        "{m}"
    );

    // per-tenant mode without a provider of its own: a precise failure
    let (s, _) = app
        .post(
            "/tenants",
            json!({"id": "t4", "sip_host": "pbx", "prov_user": "p-t4", "mode": "per-tenant"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _) = app
        .post(
            "/devices",
            json!({"mac": "000413000099", "model": "snomD717", "tenant": "t4"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    app.post("/devices/register", json!({"macs": ["000413000099"]}))
        .await;
    let list = settle(&app).await;
    assert!(
        list[0]["last_message"]
            .as_str()
            .unwrap()
            .contains("add one with `touchless provider add --tenant t4 --kind snom`"),
        "{list:?}"
    );
    let (s, v) = app
        .post("/devices/register", json!({"macs": ["000413FFFFFF"]}))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    let (s, _) = app.post("/devices/register", json!({})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    app.stop().await;
}

/// Removing a registered device deregisters it first: the phone is never left
/// pointed at us with credentials that no longer exist. A failed
/// deregistration keeps the device and says so; `force` removes at once and
/// names what it left behind.
#[tokio::test]
async fn removing_a_registered_device_deregisters_it_first() {
    let fake = FakeSraps::start(Duration::ZERO).await;
    let mut app = spawn_app_with(fast).await;
    let macs = devices(&app, 4).await;
    provider(&app, "snom", &fake.url(), "k", "s", None).await;
    app.post(
        "/devices/register",
        json!({"macs": [macs[0], macs[1], macs[2]]}),
    )
    .await;
    settle(&app).await;

    // One registered device: 202, deregistered, then gone.
    let (s, v) = app
        .admin_call(Method::DELETE, &format!("/devices/{}", macs[0]), None)
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    assert_eq!(v["deregistering"], json!([macs[0]]));
    let mut gone = false;
    for _ in 0..200 {
        if app.get(&format!("/devices/{}", macs[0])).await.0 == StatusCode::NOT_FOUND {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(gone, "removed once deregistered");
    let lower = |m: &str| m.to_ascii_lowercase();
    assert_eq!(
        fake.state
            .recorded
            .lock()
            .unwrap()
            .deletes
            .get(&lower(&macs[0])),
        Some(&1)
    );

    // The provider refuses: the device stays, and the message says what to do.
    fake.script(
        &lower(&macs[1]),
        vec![Fault::Status(403, json!({"detail": "no"}))],
    );
    let (s, _) = app
        .post("/devices/remove", json!({"macs": [macs[1]]}))
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let list = settle(&app).await;
    let d = list.iter().find(|d| d["mac"] == macs[1]).unwrap();
    assert_eq!(d["status"], "failed", "{d}");
    assert!(
        d["last_message"].as_str().unwrap().contains("--force"),
        "{d}"
    );
    assert_eq!(d["removing"], true);

    // force: removed at once, and named as left at the provider; a device
    // that was never registered is removed at once without force.
    let (s, v) = app
        .post(
            "/devices/remove",
            json!({"macs": [macs[1], macs[3]], "force": true}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["left_at_provider"], json!([macs[1]]));
    let (s, v) = app.post("/devices/remove", json!({"tenant": "acme"})).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    assert_eq!(v["deregistering"], json!([macs[2]]));
    for _ in 0..200 {
        if app.get("/devices").await.1.as_array().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(app.get("/devices").await.1.as_array().unwrap().is_empty());
    app.stop().await;
}

/// TLS on the redirection listener with a self-signed certificate marked as a
/// CA (what `openssl req -x509` makes): the bootstrapped local provider trusts
/// exactly that certificate, and a provider that does not trust it says why in
/// words, and what to do.
#[tokio::test]
async fn the_local_provider_trusts_its_own_tls_listener() {
    let dir = tempfile::tempdir().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    let path = |n: &str| dir.path().join(n).to_string_lossy().into_owned();
    std::fs::write(path("cert.pem"), cert.pem()).unwrap();
    std::fs::write(path("key.pem"), key.serialize_pem()).unwrap();
    let mut app = spawn_app_with(|c| {
        fast(c);
        c.redirect.tls_cert = path("cert.pem");
        c.redirect.tls_key = path("key.pem");
        c.daemon.bootstrap_local_provider = true;
    })
    .await;
    let macs = devices(&app, 2).await;
    app.post("/devices/register", json!({"macs": [macs[0]]}))
        .await;
    let list = settle(&app).await;
    let d = list.iter().find(|d| d["mac"] == macs[0]).unwrap();
    assert_eq!(
        (&d["status"], &d["last_message"]),
        (&json!("registered"), &json!("-")),
        "{d}"
    );

    // The same listener through a provider given no certificate.
    let (_, local) = app.get("/providers/local").await;
    let (s, _) = app
        .admin_call(Method::DELETE, "/providers/local", None)
        .await;
    assert!(s.is_success());
    let (_, k) = {
        let (_, c) = app.post("/redirect/companies", json!({"name": "B"})).await;
        app.post(
            "/redirect/keys",
            json!({"company": c["id"], "role": "write"}),
        )
        .await
    };
    provider(
        &app,
        "plain",
        local["base_url"].as_str().unwrap(),
        k["id"].as_str().unwrap(),
        k["secret"].as_str().unwrap(),
        None,
    )
    .await;
    app.post("/devices/register", json!({"macs": [macs[1]]}))
        .await;
    let list = settle(&app).await;
    let d = list.iter().find(|d| d["mac"] == macs[1]).unwrap();
    let msg = d["last_message"].as_str().unwrap();
    assert_eq!(d["status"], "failed", "{d}");
    assert!(
        msg.contains("not trusted")
            && msg.contains("CA certificate used as a server certificate")
            && msg.contains("--ca-file"),
        "{msg}"
    );
    // Bad bundles are refused with the field named.
    let (s, v) = app
        .post(
            "/providers",
            json!({"name": "x", "access_key_id": "k", "secret": "s", "ca_pem": "nope"}),
        )
        .await;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("ca_pem")),
        "{v}"
    );
    app.stop().await;
}

/// A 429 pauses the whole provider for its Retry-After: measured at the fake,
/// the next write to it (for another device) comes no sooner than that.
#[tokio::test]
async fn a_429_pauses_the_provider_for_its_retry_after() {
    let fake = FakeSraps::start(Duration::ZERO).await;
    let mut app = spawn_app_with(fast).await;
    let macs = devices(&app, 2).await;
    provider(&app, "snom", &fake.url(), "k", "s", None).await;
    fake.script(&macs[0].to_ascii_lowercase(), vec![Fault::RateLimited(2)]);
    app.post("/devices/register", json!({"macs": [macs[0]]}))
        .await;
    let mut throttled_at = None;
    for _ in 0..200 {
        throttled_at = fake
            .state
            .recorded
            .lock()
            .unwrap()
            .timeline
            .iter()
            .find(|(_, _, s)| *s == 429)
            .map(|(t, _, _)| *t);
        if throttled_at.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let throttled_at = throttled_at.expect("the fake answered 429");
    // Another device's registration, queued during the pause.
    app.post("/devices/register", json!({"macs": [macs[1]]}))
        .await;
    let list = settle(&app).await;
    assert!(list.iter().all(|d| d["status"] == "registered"), "{list:?}");
    let next = fake
        .state
        .recorded
        .lock()
        .unwrap()
        .timeline
        .iter()
        .filter(|(t, _, _)| *t > throttled_at)
        .map(|(t, _, _)| t.duration_since(throttled_at))
        .min()
        .expect("writes after the 429");
    assert!(
        next >= Duration::from_millis(1900),
        "the provider was written to {next:?} after it said to wait 2 s"
    );
    assert!(
        next < Duration::from_secs(10),
        "paused far too long: {next:?}"
    );
    app.stop().await;
}

/// In a mixed installation each device goes to its scope's provider: a
/// per-tenant tenant's to that tenant's account, the others to the master's.
#[tokio::test]
async fn per_tenant_devices_register_at_their_tenants_provider() {
    let master = FakeSraps::start(Duration::ZERO).await;
    let own = FakeSraps::start(Duration::ZERO).await;
    let mut app = spawn_app_with(fast).await;
    for (id, mode) in [("acme", "per-tenant"), ("beta", "master")] {
        let (s, v) = app
            .post(
                "/tenants",
                json!({"id": id, "sip_host": "pbx", "mode": mode}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    provider(&app, "master", &master.url(), "k", "s", None).await;
    provider(&app, "acme-own", &own.url(), "k", "s", Some("acme")).await;
    for (mac, tenant) in [("000413000001", "acme"), ("000413000002", "beta")] {
        let (s, v) = app
            .post(
                "/devices",
                json!({"mac": mac, "model": "snomD717", "tenant": tenant}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    app.post("/devices/register", json!({"all": true})).await;
    let list = settle(&app).await;
    assert!(list.iter().all(|d| d["status"] == "registered"), "{list:?}");
    let macs = |f: &FakeSraps| {
        let mut m: Vec<String> = f
            .state
            .recorded
            .lock()
            .unwrap()
            .puts
            .keys()
            .cloned()
            .collect();
        m.sort();
        m
    };
    assert_eq!(macs(&own), ["000413000001"]);
    assert_eq!(macs(&master), ["000413000002"]);
    app.stop().await;
}
