//! What one phone's credentials open, and for how long: one-time ztprov
//! credentials, per-device `/prov` credentials, re-registration that never
//! locks a phone out, and a phone-facing redirect that makes guessing slow.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::fake_sraps::{FakeSraps, Fault};
use crate::helpers::*;

const MAC: &str = "000413AABBCC";
const OTHER: &str = "000413AABBCD";
const UA: &str =
    "Mozilla/4.0 (compatible; snomD717-SIP 10.1.33.33 2010.12-00004-g9ba52f5 000413AABBCC SXM:0 UXM:0)";

/// A tenant with the default scope: every phone gets its own /prov credentials.
async fn device_scoped(app: &TestApp) -> (Value, Value) {
    let (s, t) = app
        .post(
            "/tenants",
            json!({"id": "acme", "sip_host": "pbx.example.com", "prov_user": "prov-acme", "prov_pass": "s3cr3t-prov"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    assert_eq!(t["prov_credentials"], "device", "the default");
    let a = app.device(MAC, "acme").await;
    let b = app.device(OTHER, "acme").await;
    (a, b)
}

fn zt_url(app: &TestApp, mac: &str) -> String {
    format!("{}/ztprov/snomD717-{mac}.htm", app.prov)
}

fn prov_url(app: &TestApp, mac: &str) -> String {
    format!("{}/prov/snomD717-{mac}.htm", app.prov)
}

fn creds<'a>(d: &'a Value, kind: &str) -> (&'a str, &'a str) {
    (
        d[format!("{kind}_user")].as_str().unwrap(),
        d[format!("{kind}_pass")].as_str().unwrap(),
    )
}

fn text_of(body: &str, name: &str) -> Option<String> {
    let doc = roxmltree::Document::parse(body).unwrap();
    doc.descendants()
        .find(|n| n.has_tag_name(name))
        .and_then(|n| n.text())
        .map(str::to_owned)
}

/// One phone's credentials open that phone's file only: not its neighbour's,
/// and the tenant's shared pair opens nothing while the tenant is per-device.
#[tokio::test]
async fn one_phones_credentials_open_only_that_phone() {
    let mut app = spawn_app().await;
    let (a, b) = device_scoped(&app).await;
    let (zu, zp) = creds(&a, "ztprov");
    let (status, body) = digest_get(&app.http, &zt_url(&app, MAC), zu, zp, "MD5").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (pu, pp) = creds(&a, "prov");
    assert_eq!(text_of(&body, "http_client_user").as_deref(), Some(pu));
    assert_eq!(text_of(&body, "http_client_pass").as_deref(), Some(pp));
    assert_ne!(pu, "prov-acme");

    let (status, own) = digest_get(&app.http, &prov_url(&app, MAC), pu, pp, "SHA-256").await;
    assert_eq!(status, StatusCode::OK, "{own}");
    assert_eq!(text_of(&own, "http_client_user").as_deref(), Some(pu));
    // A's credentials on B's file: the same 401 as a wrong password.
    let (status, denied) = digest_get(&app.http, &prov_url(&app, OTHER), pu, pp, "MD5").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (_, wrong) = digest_get(&app.http, &prov_url(&app, OTHER), pu, "wrong", "MD5").await;
    assert_eq!(denied, wrong);
    let (bu, bp) = creds(&b, "prov");
    assert_eq!(
        digest_get(&app.http, &prov_url(&app, OTHER), bu, bp, "MD5")
            .await
            .0,
        StatusCode::OK
    );
    // The tenant's pair is not handed out, so it opens nothing.
    for mac in [MAC, OTHER] {
        assert_eq!(
            digest_get(
                &app.http,
                &prov_url(&app, mac),
                "prov-acme",
                "s3cr3t-prov",
                "MD5"
            )
            .await
            .0,
            StatusCode::UNAUTHORIZED
        );
    }
    // A phone may fetch its tenant's model-wide file with its own pair.
    let model = format!("{}/prov/snomD717.htm", app.prov);
    assert_eq!(
        digest_get(&app.http, &model, pu, pp, "MD5").await.0,
        StatusCode::OK
    );
    assert_eq!(
        digest_get(&app.http, &model, "prov-acme", "s3cr3t-prov", "MD5")
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );

    // Switching the tenant to the seed's shared pair: /ztprov hands that out.
    let (s, _) = app
        .admin_call(
            reqwest::Method::PATCH,
            "/tenants/acme",
            Some(json!({"prov_credentials": "tenant"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, body) = digest_get(&app.http, &zt_url(&app, MAC), zu, zp, "MD5").await;
    assert_eq!(
        text_of(&body, "http_client_user").as_deref(),
        Some("prov-acme")
    );
    assert_eq!(
        digest_get(
            &app.http,
            &prov_url(&app, OTHER),
            "prov-acme",
            "s3cr3t-prov",
            "MD5"
        )
        .await
        .0,
        StatusCode::OK
    );
    assert_eq!(
        digest_get(&app.http, &prov_url(&app, MAC), pu, pp, "MD5")
            .await
            .0,
        StatusCode::UNAUTHORIZED,
        "the per-device pair no longer applies"
    );
    app.stop().await;
}

/// ztprov credentials work for the phone's retries right after its first
/// fetch, then never again: the same 401 as a wrong password.
#[tokio::test]
async fn ztprov_credentials_stop_working_after_first_use_and_grace() {
    let mut app = spawn_app_with(|c| c.provisioning.ztprov_grace_secs = 1).await;
    let (a, _) = device_scoped(&app).await;
    let (zu, zp) = creds(&a, "ztprov");
    let url = zt_url(&app, MAC);
    assert_eq!(
        digest_get(&app.http, &url, zu, zp, "MD5").await.0,
        StatusCode::OK
    );
    // The first use is on record (what other nodes go by).
    let mut used = Value::Null;
    for _ in 0..100 {
        used = app.get(&format!("/devices/{MAC}/credentials")).await.1["ztprov_used_at"].clone();
        if used.is_string() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(used.is_string(), "first use recorded");
    let mut refused = None;
    for _ in 0..100 {
        let (s, body) = digest_get(&app.http, &url, zu, zp, "SHA-256").await;
        if s == StatusCode::UNAUTHORIZED {
            refused = Some(body);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let refused = refused.expect("refused after the grace");
    let (_, wrong) = digest_get(&app.http, &url, zu, "not-the-password", "SHA-256").await;
    assert_eq!(refused, wrong, "indistinguishable from a wrong password");
    // After a restart too: the database has it.
    app.stop().await;
}

#[tokio::test]
async fn ztprov_credentials_expire_with_their_window_unused() {
    let mut app = spawn_app_with(|c| c.provisioning.ztprov_window_secs = 1).await;
    let (a, _) = device_scoped(&app).await;
    let (zu, zp) = creds(&a, "ztprov");
    let mut status = StatusCode::OK;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        status = digest_get(&app.http, &zt_url(&app, MAC), zu, zp, "MD5")
            .await
            .0;
        if status == StatusCode::UNAUTHORIZED {
            break;
        }
    }
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    app.stop().await;
}

/// The daemon's quick test settings, with time for the fake's one-second hang
/// and a single retry.
fn fast(c: &mut touchless_server::Config) {
    crate::daemon::fast(c);
    c.daemon.request_timeout_ms = 2000;
    c.daemon.max_attempts = 2;
}

async fn device_status(app: &TestApp, mac: &str) -> Value {
    app.get(&format!("/devices/{mac}")).await.1
}

async fn wait_status(app: &TestApp, mac: &str, want: &str) -> Value {
    for _ in 0..200 {
        let d = device_status(app, mac).await;
        if d["status"] == want {
            return d;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "{mac} never became {want}: {}",
        device_status(app, mac).await
    );
}

/// Registering again pushes new credentials; until the provider confirms
/// them the old ones still work (the provider still hands them out), and if
/// the push fails for good the phone is not locked out either.
#[tokio::test]
async fn re_registering_never_locks_a_phone_out() {
    let fake = FakeSraps::start(Duration::ZERO).await;
    let mut app = spawn_app_with(fast).await;
    let (a, _) = device_scoped(&app).await;
    let (s, v) = app
        .post(
            "/providers",
            json!({"name": "snom", "base_url": fake.url(), "access_key_id": "k", "secret": "s"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (old_u, old_p) = creds(&a, "ztprov");
    let url = zt_url(&app, MAC);

    // A push that fails for good: the old credentials keep working.
    fake.script(
        &MAC.to_ascii_lowercase(),
        vec![Fault::Status(403, json!({"detail": "nope"}))],
    );
    app.post("/devices/register", json!({"macs": [MAC]})).await;
    let failed = wait_status(&app, MAC, "failed").await;
    assert!(
        failed["last_message"].as_str().unwrap().contains("403"),
        "{failed}"
    );
    assert_eq!(
        digest_get(&app.http, &url, old_u, old_p, "MD5").await.0,
        StatusCode::OK,
        "not locked out by a failed push"
    );

    // A push in flight (the fake hangs for a second, then fails once): the
    // old pair keeps working meanwhile.
    fake.script(
        &MAC.to_ascii_lowercase(),
        vec![Fault::Hang(Duration::from_secs(1))],
    );
    app.post("/devices/register", json!({"macs": [MAC]})).await;
    assert_eq!(
        digest_get(&app.http, &url, old_u, old_p, "MD5").await.0,
        StatusCode::OK,
        "not locked out while the push is in flight"
    );
    let mut pushed = None;
    for _ in 0..100 {
        if let Some((_, body)) = fake
            .state
            .recorded
            .lock()
            .unwrap()
            .puts
            .get(&MAC.to_ascii_lowercase())
        {
            pushed = Some(body.clone());
        }
        if pushed.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let registered = wait_status(&app, MAC, "registered").await;
    assert_eq!(registered["last_message"], "-");
    let (_, now) = app.get(&format!("/devices/{MAC}/credentials")).await;
    let (new_u, new_p) = creds(&now, "ztprov");
    assert_ne!(new_u, old_u);
    let pushed = pushed
        .expect("the provider got the new credentials")
        .to_string();
    assert!(pushed.contains(new_u) && pushed.contains(new_p), "{pushed}");
    // Confirmed: the new pair works, the old one is retired.
    assert_eq!(
        digest_get(&app.http, &url, new_u, new_p, "MD5").await.0,
        StatusCode::OK
    );
    // The view learns of the promotion at its next reload.
    let mut old = StatusCode::OK;
    for _ in 0..100 {
        old = digest_get(&app.http, &url, old_u, old_p, "MD5").await.0;
        if old == StatusCode::UNAUTHORIZED {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(old, StatusCode::UNAUTHORIZED, "the old pair is retired");
    app.stop().await;
}

async fn phone(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    ua: Option<&str>,
) -> reqwest::Response {
    let mut r = app.http.request(method, format!("{}{path}", app.redirect));
    if let Some(ua) = ua {
        r = r.header("user-agent", ua);
    }
    r.send().await.unwrap()
}

/// Only GET/HEAD from a Snom phone naming the MAC it asks for get anything,
/// and a source that collects misses is slowed down.
#[tokio::test]
async fn the_redirect_answers_phones_only_and_slows_guessing() {
    let mut app = spawn_app_with(|c| {
        c.redirect.phone_misses_burst = 5;
        c.redirect.phone_misses_per_min = 6;
    })
    .await;
    let path = format!("/snomD717-{MAC}.htm");
    let r = phone(&app, reqwest::Method::POST, &path, Some(UA)).await;
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.headers()["allow"], "GET, HEAD");
    // Misses: no User-Agent, a User-Agent without the MAC, an unknown MAC.
    let statuses = [
        phone(&app, reqwest::Method::GET, &path, None)
            .await
            .status(),
        phone(&app, reqwest::Method::GET, &path, Some("curl/8.0"))
            .await
            .status(),
        phone(
            &app,
            reqwest::Method::GET,
            &path,
            Some("Mozilla/4.0 (compatible; snom320-SIP 8.4.18 1.1.3-s)"),
        )
        .await
        .status(),
        phone(&app, reqwest::Method::GET, &path, Some(UA))
            .await
            .status(),
        phone(&app, reqwest::Method::GET, "/snomD717.htm", None)
            .await
            .status(),
    ];
    assert_eq!(statuses, [StatusCode::NOT_FOUND; 5]);
    // The budget of 5 is spent: this source now waits.
    let r = phone(&app, reqwest::Method::GET, &path, Some(UA)).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    app.stop().await;
}
