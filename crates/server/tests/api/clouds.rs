//! The vendors' clouds as provider kinds, each against a fake that replays
//! the reference's examples, with the reference's guesses as switches and the
//! clouds' faults injected.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::daemon::{fast, settle};
use crate::fake_sraps::{FakeSraps, Fault, GRAPE_ANY, GRAPE_N, GRAPE_P};
use crate::helpers::*;

async fn add_provider(app: &TestApp, name: &str, kind: &str, url: &str) {
    add_provider_with(app, name, kind, url, "s3cr3t").await
}

async fn add_provider_with(app: &TestApp, name: &str, kind: &str, url: &str, secret: &str) {
    add_account(app, name, kind, url, "key-1", secret).await
}

async fn add_account(app: &TestApp, name: &str, kind: &str, url: &str, key: &str, secret: &str) {
    let (s, v) = app
        .post(
            "/providers",
            json!({"name": name, "kind": kind, "base_url": url, "access_key_id": key, "secret": secret}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["vendor"], json!(kind_vendor(kind)), "{v}");
}

fn kind_vendor(kind: &str) -> &'static str {
    match kind {
        "grape" => "gigaset",
        "ztp" => "poly",
        "fdps" => "fanvil",
        "ymcs" => "yealink",
        other => panic!("{other}"),
    }
}

fn by<'a>(list: &'a [Value], mac: &str) -> &'a Value {
    list.iter().find(|d| d["mac"] == mac).unwrap()
}

/// GRAPE: a Gigaset base and a desk phone registered through the fake, each
/// with its product group's `ProvisioningServer` and its first URL (pair in
/// the path, no pair settings); then the faults; then deregistration.
#[tokio::test]
async fn gigaset_phones_are_registered_at_grape() {
    let fake = FakeSraps::start_grape(Duration::ZERO, true).await;
    let mut app = spawn_app_with(fast).await;
    app.tenant("acme", "prov-acme", "s3cr3t-prov").await;
    let (s, v) = app
        .post(
            "/devices",
            json!([{"mac": "7C2F80000001", "model": "N870", "tenant": "acme"},
                   {"mac": "000413E50001", "model": "P810", "tenant": "acme"},
                   {"mac": "7C2F80000002", "model": "N870E", "tenant": "acme"},
                   {"mac": "7C2F80000003", "model": "N670", "tenant": "acme"},
                   {"mac": "7C2F80000004", "model": "N870", "tenant": "acme"},
                   {"mac": "7C2F80000005", "model": "N870", "tenant": "acme"}]),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    add_provider(&app, "grape", "grape", &fake.url()).await;
    // 429 with and without Retry-After, a 5xx, a timeout: each retried.
    fake.script(
        "7c2f80000002",
        vec![
            Fault::RateLimited(1),
            Fault::Status(429, json!({"detail": "slow down"})),
        ],
    );
    fake.script(
        "7c2f80000003",
        vec![Fault::Status(503, json!({"detail": "maintenance"}))],
    );
    fake.script("7c2f80000004", vec![Fault::Hang(Duration::from_secs(2))]);
    // Owned by another account: the exact words, no retry.
    fake.script(
        "7c2f80000005",
        vec![Fault::Status(
            403,
            json!({"detail": "taken_mac_or_forbidden: MAC owned by another account"}),
        )],
    );
    let (s, _) = app.post("/devices/register", json!({"all": true})).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let list = settle(&app).await;
    for mac in [
        "7C2F80000001",
        "000413E50001",
        "7C2F80000002",
        "7C2F80000003",
        "7C2F80000004",
    ] {
        let d = by(&list, mac);
        assert_eq!(
            (d["status"].as_str(), d["last_message"].as_str()),
            (Some("registered"), Some("-")),
            "{d}"
        );
    }
    let d = by(&list, "7C2F80000005");
    assert_eq!(d["status"], "failed");
    assert_eq!(
        d["last_message"],
        "MAC is owned by another account (taken_mac_or_forbidden)"
    );

    let (puts, attempts) = {
        let rec = fake.state.recorded.lock().unwrap();
        (rec.puts.clone(), rec.attempts.clone())
    };
    for (mac, uuid, model) in [
        ("7c2f80000001", GRAPE_N, "N870"),
        ("000413e50001", GRAPE_P, "P810"),
        ("7c2f80000002", GRAPE_N, "N870E"),
        ("7c2f80000003", GRAPE_N, "N670"),
    ] {
        let (n, body) = &puts[mac];
        assert_eq!(*n, 1, "{mac}: one PUT");
        let sm = body["settings_manager"].as_object().unwrap();
        assert_eq!(
            sm.len(),
            1,
            "{mac}: the server only, no pair settings: {body}"
        );
        let url = sm[uuid]["value"]
            .as_str()
            .unwrap_or_else(|| panic!("{mac} {model}: {body}"));
        assert!(url.starts_with(&format!("{}/ztprov/", app.prov)), "{url}");
        let (_, c) = app
            .get(&format!(
                "/devices/{}/credentials",
                mac.to_ascii_uppercase()
            ))
            .await;
        assert_eq!(
            url, c["ztprov_url"],
            "{mac}: its first URL, pair in the path"
        );
        assert_eq!(body["autoprovisioning_enabled"], true);
    }
    assert_eq!(attempts["7c2f80000002"], 3, "two 429s, then done");
    assert_eq!(attempts["7c2f80000005"], 1, "no retry for a taken MAC");

    // Deregistration removes the endpoints.
    let (s, _) = app
        .post(
            "/devices/deregister",
            json!({"macs": ["7C2F80000001", "000413E50001"]}),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    settle(&app).await;
    {
        let rec = fake.state.recorded.lock().unwrap();
        assert_eq!(rec.deletes.get("7c2f80000001"), Some(&1));
        assert_eq!(rec.deletes.get("000413e50001"), Some(&1));
        assert!(!rec.puts.contains_key("7c2f80000001"));
    }
    let (_, m) = app
        .admin_call(reqwest::Method::POST, "/providers/grape/test", None)
        .await;
    assert_eq!(m["message"], "OK, company Fake Cloud/c0ffee", "{m}");
    app.stop().await;
}

/// The reference's guess that GRAPE may have one `ProvisioningServer` for
/// every product: then that one is used for every model.
#[tokio::test]
async fn grape_with_one_server_setting_uses_it_for_every_model() {
    let fake = FakeSraps::start_grape(Duration::ZERO, false).await;
    let mut app = spawn_app_with(fast).await;
    app.tenant("acme", "prov-acme", "s3cr3t-prov").await;
    app.post(
        "/devices",
        json!([{"mac": "7C2F80000001", "model": "N870", "tenant": "acme"},
               {"mac": "000413E50001", "model": "P810", "tenant": "acme"}]),
    )
    .await;
    add_provider(&app, "grape", "grape", &fake.url()).await;
    app.post("/devices/register", json!({"all": true})).await;
    let list = settle(&app).await;
    assert!(list.iter().all(|d| d["status"] == "registered"), "{list:?}");
    {
        let rec = fake.state.recorded.lock().unwrap();
        for mac in ["7c2f80000001", "000413e50001"] {
            assert!(rec.puts[mac].1["settings_manager"][GRAPE_ANY]["value"].is_string());
        }
    }
    app.stop().await;
}

/// Poly ZTP: a profile per device (its first URL carries its pair), created
/// or updated, then the device pointed at it; a re-registration updates the
/// profile and re-points the device; faults; deregistration removes both.
#[tokio::test]
async fn poly_phones_are_registered_at_ztp() {
    use crate::fake_ztp::{FakeZtp, KEY};
    let fake = FakeZtp::start().await;
    let mut app = spawn_app_with(fast).await;
    app.tenant("acme", "prov-acme", "s3cr3t-prov").await;
    let macs = [
        "0004F2000001",
        "0004F2000002",
        "0004F2000003",
        "0004F2000004",
        "0004F2000005",
    ];
    let items: Vec<Value> = macs
        .iter()
        .map(|m| json!({"mac": m, "model": "VVX450", "tenant": "acme"}))
        .collect();
    let (s, v) = app.post("/devices", Value::Array(items)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    add_provider_with(&app, "ztp", "ztp", &fake.url(), KEY).await;
    fake.script(
        "0004f2000002",
        vec![
            Fault::RateLimited(1),
            Fault::Status(429, json!({"message": "Too many requests"})),
            Fault::Status(502, json!({"message": "Bad gateway"})),
        ],
    );
    fake.script("0004f2000003", vec![Fault::Hang(Duration::from_secs(2))]);
    fake.state
        .elsewhere
        .lock()
        .unwrap()
        .insert("0004f2000004".into());
    app.post("/devices/register", json!({"all": true})).await;
    let list = settle(&app).await;
    for mac in [
        "0004F2000001",
        "0004F2000002",
        "0004F2000003",
        "0004F2000005",
    ] {
        let d = by(&list, mac);
        assert_eq!(
            (d["status"].as_str(), d["last_message"].as_str()),
            (Some("registered"), Some("-")),
            "{d}"
        );
    }
    let d = by(&list, "0004F2000004");
    assert_eq!(d["status"], "failed");
    assert_eq!(
        d["last_message"],
        "MAC is owned by another account (Poly ZTP: Device is claimed by another account)"
    );
    let check = |mac: &str, url: &Value| {
        let devices = fake.state.devices.lock().unwrap();
        let profiles = fake.state.profiles.lock().unwrap();
        let p = &profiles[&devices[&mac.to_ascii_lowercase()]];
        assert_eq!(p["name"], format!("touchless-{}", mac.to_ascii_lowercase()));
        assert_eq!(
            &p["template"]["provisioning"]["server"]["address"], url,
            "{p}"
        );
    };
    let (_, c1) = app.get("/devices/0004F2000001/credentials").await;
    check("0004F2000001", &c1["ztprov_url"]);
    assert_eq!(
        fake.state.profiles.lock().unwrap().len(),
        4,
        "one profile a device; none left for the one owned elsewhere"
    );

    // Re-registering updates the profile (new pair, new URL) and re-points.
    app.post("/devices/register", json!({"macs": ["0004F2000001"]}))
        .await;
    settle(&app).await;
    let (_, c2) = app.get("/devices/0004F2000001/credentials").await;
    assert_ne!(c1["ztprov_url"], c2["ztprov_url"]);
    check("0004F2000001", &c2["ztprov_url"]);
    assert_eq!(
        fake.state.profiles.lock().unwrap().len(),
        4,
        "updated, not duplicated"
    );

    // Deregistering removes the device and its profile.
    app.post("/devices/deregister", json!({"macs": ["0004F2000001"]}))
        .await;
    settle(&app).await;
    assert!(!fake
        .state
        .devices
        .lock()
        .unwrap()
        .contains_key("0004f2000001"));
    assert_eq!(fake.state.profiles.lock().unwrap().len(), 3);
    let (_, m) = app
        .admin_call(reqwest::Method::POST, "/providers/ztp/test", None)
        .await;
    assert_eq!(m["message"], "OK, Poly ZTP accepts the API key", "{m}");
    app.stop().await;
}

/// A wrong API key is said in ZTP's words, and fails at once.
#[tokio::test]
async fn a_wrong_ztp_key_is_said_plainly() {
    let fake = crate::fake_ztp::FakeZtp::start().await;
    let mut app = spawn_app_with(fast).await;
    app.tenant("acme", "prov-acme", "s3cr3t-prov").await;
    app.post(
        "/devices",
        json!({"mac": "0004F2000009", "model": "VVX450", "tenant": "acme"}),
    )
    .await;
    add_provider_with(&app, "ztp", "ztp", &fake.url(), "not-the-key").await;
    let (_, m) = app
        .admin_call(reqwest::Method::POST, "/providers/ztp/test", None)
        .await;
    assert_eq!(m["ok"], false);
    assert_eq!(
        m["message"],
        "401 Unauthorized: Poly ZTP rejected the API key: Invalid API key"
    );
    app.post("/devices/register", json!({"all": true})).await;
    let list = settle(&app).await;
    assert_eq!(
        list[0]["last_message"],
        "401 Unauthorized: Poly ZTP rejected the API key: Invalid API key"
    );
    app.stop().await;
}

/// Fanvil FDPS: the reference's sequence per device (deleteServer,
/// addMaterialServer with the first URL's host and path, deRegisterDevice,
/// registerDevice), "not exist" answers tolerated, the password sent as
/// md5hex(md5hex(secret)); both answer shapes; faults; deregistration.
#[tokio::test]
async fn fanvil_phones_are_registered_at_fdps() {
    use crate::fake_fdps::{FakeFdps, SECRET, USER};
    for as_struct in [false, true] {
        let fake = FakeFdps::start(as_struct).await;
        let mut app = spawn_app_with(fast).await;
        app.tenant("acme", "prov-acme", "s3cr3t-prov").await;
        let macs = [
            "0C383E000001",
            "0C383E000002",
            "0C383E000003",
            "0C383E000004",
        ];
        let items: Vec<Value> = macs
            .iter()
            .map(|m| json!({"mac": m, "model": "X4U", "tenant": "acme"}))
            .collect();
        let (s, v) = app.post("/devices", Value::Array(items)).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        add_account(&app, "fdps", "fdps", &fake.url(), USER, SECRET).await;
        fake.script(
            "0c383e000002",
            vec![
                Fault::RateLimited(1),
                Fault::Status(429, json!("slow down")),
                Fault::Status(500, json!("oops")),
            ],
        );
        fake.script("0c383e000003", vec![Fault::Hang(Duration::from_secs(2))]);
        fake.state
            .elsewhere
            .lock()
            .unwrap()
            .insert("0c383e000004".into());
        app.post("/devices/register", json!({"all": true})).await;
        let list = settle(&app).await;
        for mac in ["0C383E000001", "0C383E000002", "0C383E000003"] {
            let d = by(&list, mac);
            assert_eq!(
                (d["status"].as_str(), d["last_message"].as_str()),
                (Some("registered"), Some("-")),
                "{d}"
            );
        }
        let d = by(&list, "0C383E000004");
        assert_eq!(d["status"], "failed");
        assert_eq!(
            d["last_message"],
            "MAC is owned by another account (FDPS: device_had_existed)"
        );
        let calls: Vec<String> = fake
            .state
            .calls
            .lock()
            .unwrap()
            .iter()
            .filter(|c| c.ends_with("0c383e000001"))
            .cloned()
            .collect();
        assert_eq!(
            calls,
            [
                "redirect.deleteServer 0c383e000001",
                "redirect.addMaterialServer 0c383e000001",
                "redirect.deRegisterDevice 0c383e000001",
                "redirect.registerDevice 0c383e000001",
            ]
        );
        let (_, c) = app.get("/devices/0C383E000001/credentials").await;
        let first = reqwest::Url::parse(c["ztprov_url"].as_str().unwrap()).unwrap();
        let server = fake.state.servers.lock().unwrap()["0c383e000001"].clone();
        let host = format!("{}:{}", first.host_str().unwrap(), first.port().unwrap());
        for want in [
            "cfgName=0c383e000001".to_owned(),
            format!("cfgPfSrv={host}"),
            format!("cfgPfName={}", first.path()),
            "cfgPfProt=4".to_owned(),
        ] {
            assert!(server.contains(&want), "{want}: {server:?}");
        }
        assert!(
            first.path().starts_with("/ztprov/") && first.path().ends_with('/'),
            "{first}"
        );
        assert_eq!(
            fake.state.devices.lock().unwrap()["0c383e000001"],
            "0c383e000001"
        );

        // Deregistering removes device and server.
        app.post("/devices/deregister", json!({"macs": ["0C383E000001"]}))
            .await;
        settle(&app).await;
        assert!(!fake
            .state
            .devices
            .lock()
            .unwrap()
            .contains_key("0c383e000001"));
        assert!(!fake
            .state
            .servers
            .lock()
            .unwrap()
            .contains_key("0c383e000001"));
        let (_, m) = app
            .admin_call(reqwest::Method::POST, "/providers/fdps/test", None)
            .await;
        assert_eq!(m["message"], "OK, FDPS accepts the account", "{m}");
        app.stop().await;
    }
}

/// A wrong FDPS password fails at once, in words.
#[tokio::test]
async fn a_wrong_fdps_password_is_said_plainly() {
    let fake = crate::fake_fdps::FakeFdps::start(false).await;
    let mut app = spawn_app().await;
    add_account(
        &app,
        "fdps",
        "fdps",
        &fake.url(),
        crate::fake_fdps::USER,
        "wrong",
    )
    .await;
    let (_, m) = app
        .admin_call(reqwest::Method::POST, "/providers/fdps/test", None)
        .await;
    assert_eq!(m["ok"], false);
    assert_eq!(
        m["message"],
        "401 Unauthorized: FDPS rejected the account (wrong user or password)"
    );
    app.stop().await;
}

/// Yealink YMCS: 150 phones added by MAC in batches of at most 100 to one
/// server (their first URL's folder) with their own pairs, a token fetched
/// once and again when the session expires, per-MAC refusals in words, the
/// PIN from the cloud, and removal.
#[tokio::test]
async fn yealink_phones_are_registered_at_ymcs() {
    use crate::fake_ymcs::{pin_of, FakeYmcs, ID, SECRET};
    let fake = FakeYmcs::start().await;
    let mut app = spawn_app_with(|c| {
        fast(c);
        c.daemon.max_attempts = 6;
    })
    .await;
    app.tenant("acme", "prov-acme", "s3cr3t-prov").await;
    let macs: Vec<String> = (0..150).map(|i| format!("805EC0{i:06X}")).collect();
    let items: Vec<Value> = macs
        .iter()
        .map(|m| json!({"mac": m, "model": "T46S", "tenant": "acme"}))
        .collect();
    let (s, v) = app.post("/devices", Value::Array(items)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    add_account(&app, "ymcs", "ymcs", &fake.url(), ID, SECRET).await;
    fake.state
        .elsewhere
        .lock()
        .unwrap()
        .insert("805ec0000007".into());
    app.post("/devices/register", json!({"all": true})).await;
    let list = settle(&app).await;
    for d in &list {
        if d["mac"] == "805EC0000007" {
            assert_eq!(d["status"], "failed");
            assert_eq!(
                d["last_message"],
                "MAC is owned by another account (YMCS 800004: managed by another organisation)"
            );
        } else {
            assert_eq!(
                (d["status"].as_str(), d["last_message"].as_str()),
                (Some("registered"), Some("-")),
                "{d}"
            );
        }
    }
    let batches = fake.state.batches.lock().unwrap().clone();
    assert!(
        batches.iter().all(|n| *n <= 100) && batches.iter().sum::<usize>() >= 150,
        "{batches:?}"
    );
    assert!(
        batches.len() < 150,
        "batched, not one call a device: {batches:?}"
    );
    let servers: Vec<Value> = fake
        .state
        .servers
        .lock()
        .unwrap()
        .values()
        .cloned()
        .collect();
    assert_eq!(servers.len(), 1, "one server, reused: {servers:?}");
    assert_eq!(servers[0]["url"], format!("{}/ztprov", app.prov));
    let (_, c) = app.get("/devices/805EC0000001/credentials").await;
    let added = fake.state.devices.lock().unwrap()["805ec0000001"].clone();
    assert_eq!(added["authName"], c["ztprov_user"]);
    assert_eq!(added["password"], c["ztprov_pass"]);
    assert_eq!(
        fake.state
            .tokens_issued
            .load(std::sync::atomic::Ordering::SeqCst),
        1,
        "the token is cached"
    );

    // An expired session: a new token, one retry; a re-registration of a
    // phone already there removes and adds it again with its new pair.
    fake.state
        .expire_next
        .store(true, std::sync::atomic::Ordering::SeqCst);
    app.post("/devices/register", json!({"macs": ["805EC0000001"]}))
        .await;
    let list = settle(&app).await;
    assert_eq!(by(&list, "805EC0000001")["status"], "registered");
    assert_eq!(
        fake.state
            .tokens_issued
            .load(std::sync::atomic::Ordering::SeqCst),
        2
    );
    let (_, c2) = app.get("/devices/805EC0000001/credentials").await;
    assert_eq!(
        fake.state.devices.lock().unwrap()["805ec0000001"]["password"],
        c2["ztprov_pass"]
    );

    // The PIN, from the cloud.
    let (s, p) = app.get("/devices/805EC0000002/pin").await;
    assert_eq!(s, StatusCode::OK, "{p}");
    assert_eq!(p["pin"], pin_of("805ec0000002"));
    assert_eq!(p["provider"], "ymcs");

    app.post("/devices/deregister", json!({"macs": ["805EC0000002"]}))
        .await;
    settle(&app).await;
    assert!(fake
        .state
        .deleted
        .lock()
        .unwrap()
        .contains(&"805ec0000002".to_owned()));
    assert!(!fake
        .state
        .devices
        .lock()
        .unwrap()
        .contains_key("805ec0000002"));
    let (_, m) = app
        .admin_call(reqwest::Method::POST, "/providers/ymcs/test", None)
        .await;
    assert_eq!(m["message"], "OK, YMCS issued a token and answers", "{m}");
    app.stop().await;
}

/// An account that may not add by MAC (403): phones with a serial number
/// are added by it; one without fails naming the field. And the throttles
/// and faults: 429 with and without Retry-After, 900429, 5xx, a timeout.
#[tokio::test]
async fn ymcs_by_serial_number_and_its_faults() {
    use crate::fake_ymcs::{FakeYmcs, ID, SECRET};
    let fake = FakeYmcs::start().await;
    let mut app = spawn_app_with(|c| {
        fast(c);
        c.daemon.max_attempts = 8;
    })
    .await;
    app.tenant("acme", "prov-acme", "s3cr3t-prov").await;
    let (s, v) = app
        .post(
            "/devices",
            json!([{"mac": "805EC0000001", "model": "T46S", "tenant": "acme", "serial": "SN1"},
                   {"mac": "805EC0000002", "model": "T46S", "tenant": "acme"}]),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    add_account(&app, "ymcs", "ymcs", &fake.url(), ID, SECRET).await;
    fake.state
        .by_mac_forbidden
        .store(true, std::sync::atomic::Ordering::SeqCst);
    app.post("/devices/register", json!({"all": true})).await;
    let list = settle(&app).await;
    assert_eq!(by(&list, "805EC0000001")["status"], "registered");
    assert_eq!(
        fake.state.devices.lock().unwrap()["805ec0000001"]["sn"],
        "SN1"
    );
    let d = by(&list, "805EC0000002");
    assert_eq!(d["status"], "failed");
    assert_eq!(
        d["last_message"],
        "YMCS does not let this account add devices by MAC (403); the device needs its serial number: set `serial` (touchless device edit MAC --serial SN)"
    );

    // Faults on the MAC path, each retried to success.
    fake.state
        .by_mac_forbidden
        .store(false, std::sync::atomic::Ordering::SeqCst);
    let (s, _) = app
        .post(
            "/devices",
            json!([{"mac": "805EC0000003", "model": "T46S", "tenant": "acme"},
                   {"mac": "805EC0000004", "model": "T46S", "tenant": "acme"},
                   {"mac": "805EC0000005", "model": "T46S", "tenant": "acme"}]),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    fake.script(
        "805ec0000003",
        vec![
            Fault::RateLimited(1),
            Fault::Status(429, json!({"message": "slow"})),
        ],
    );
    fake.script(
        "805ec0000004",
        vec![
            Fault::Status(200, json!({"code": 900503, "message": "busy"})),
            Fault::Status(503, json!({"message": "down"})),
        ],
    );
    fake.script("805ec0000005", vec![Fault::Hang(Duration::from_secs(2))]);
    for mac in ["805EC0000003", "805EC0000004", "805EC0000005"] {
        app.post("/devices/register", json!({"macs": [mac]})).await;
        let list = settle(&app).await;
        let d = by(&list, mac);
        assert_eq!(
            (d["status"].as_str(), d["last_message"].as_str()),
            (Some("registered"), Some("-")),
            "{d}"
        );
    }
    app.stop().await;
}
