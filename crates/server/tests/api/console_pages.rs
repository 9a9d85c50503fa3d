//! The console's admin pages over plain HTTP: accounts and passwords, the
//! audit log, tenants, and the event queue.

use reqwest::header::COOKIE;
use reqwest::StatusCode;
use serde_json::json;

use crate::console::{csrf_of, first_admin, page_of, post_form, Console};
use crate::helpers::*;

#[tokio::test]
async fn console_accounts_through_the_admin_api() {
    let mut app = spawn_app().await;
    let c = Console::of(&app);
    app.tenant("acme", "prov-acme", "s3cr3t-prov").await;
    let (s, v) = app
        .post(
            "/users",
            json!({"name": "ann", "role": "tenant-admin", "tenant": "acme"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["user"]["tenant"], "acme");
    let generated = v["password"].as_str().unwrap().to_owned();
    assert_eq!(generated.len(), 20, "generated and answered once");
    let session = c.session("ann", &generated).await;
    assert_eq!(c.get("/devices", &session).await.0, StatusCode::OK);

    for (body, field) in [
        (
            json!({"name": "bob", "role": "admin", "tenant": "acme"}),
            "tenant",
        ),
        (json!({"name": "carl", "role": "tenant-admin"}), "tenant"),
        (
            json!({"name": "dora", "role": "admin", "password": "short"}),
            "password",
        ),
        (json!({"name": "no spaces", "role": "admin"}), "name"),
        (json!({"name": "eve", "role": "root"}), "role"),
    ] {
        let (s, v) = app.post("/users", body.clone()).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}: {v}");
        assert_eq!(v["field"], field, "{body}: {v}");
    }
    let (s, v) = app
        .post(
            "/users",
            json!({"name": "ann", "role": "tenant-admin", "tenant": "acme"}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");

    let (s, v) = app
        .post(
            "/users/ann/password",
            json!({"password": "a-new-long-password"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(
        v.get("password").is_none(),
        "a given password is not echoed"
    );
    assert_eq!(
        c.get("/devices", &session).await.0,
        StatusCode::SEE_OTHER,
        "a new password ends the sessions"
    );
    assert_eq!(
        c.sign_in("ann", &generated).await.status(),
        StatusCode::UNAUTHORIZED
    );
    c.session("ann", "a-new-long-password").await;

    let (_, list) = app.get("/users").await;
    let names: Vec<_> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["admin", "ann"]);
    assert!(list
        .as_array()
        .unwrap()
        .iter()
        .all(|u| u.get("password_hash").is_none()));
    let (s, _) = app
        .admin_call(reqwest::Method::DELETE, "/users/ann", None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = app
        .admin_call(reqwest::Method::DELETE, "/users/ann", None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    app.stop().await;
}

#[tokio::test]
async fn accounts_passwords_and_the_audit_log_in_the_console() {
    let mut app = spawn_app().await;
    let c = Console::of(&app);
    let (user, password) = first_admin(&app);
    app.acme_with_devices(&["000413FF0001"]).await;
    let admin = c.session(&user, &password).await;
    let (_, page) = c.get("/users", &admin).await;
    let csrf = csrf_of(&page);

    // Added with a generated password, shown once on the page.
    let (s, page) = post_form(
        &c,
        &admin,
        "/users/add",
        &[
            ("csrf", &csrf),
            ("name", "ann"),
            ("role", "tenant-admin"),
            ("tenant", "acme"),
            ("password", ""),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{page}");
    let marker = "id=\"new-password\">";
    let at = page.find(marker).unwrap() + marker.len();
    let generated = page[at..].split('<').next().unwrap().to_owned();
    assert_eq!(generated.len(), 20);
    assert!(
        !c.get("/users", &admin).await.1.contains(&generated),
        "shown once"
    );
    let (s, page) = post_form(
        &c,
        &admin,
        "/users/add",
        &[
            ("csrf", &csrf),
            ("name", "bob"),
            ("role", "tenant-admin"),
            ("tenant", ""),
            ("password", ""),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        page.contains("Tenant: a tenant-admin needs the tenant they administer"),
        "{page}"
    );

    // The tenant admin: no Users, no audit log; their own password.
    let ann = c.session("ann", &generated).await;
    for path in ["/users", "/audit"] {
        assert_eq!(c.get(path, &ann).await.0, StatusCode::NOT_FOUND, "{path}");
    }
    let (_, page) = c.get("/account", &ann).await;
    let ann_csrf = csrf_of(&page);
    let (s, page) = post_form(
        &c,
        &ann,
        "/account/password",
        &[
            ("csrf", &ann_csrf),
            ("current", "wrong"),
            ("password", "ann-new-password"),
            ("repeat", "ann-new-password"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(page.contains("Current password: this is not your current password."));
    // A register through the console, then the new password.
    let (_, page) = c.get("/devices", &ann).await;
    let (s, _) = post_form(
        &c,
        &ann,
        "/devices/action",
        &[
            ("csrf", &csrf_of(&page)),
            ("action", "register"),
            ("mac", "000413FF0001"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (s, _) = post_form(
        &c,
        &ann,
        "/account/password",
        &[
            ("csrf", &ann_csrf),
            ("current", &generated),
            ("password", "ann-new-password"),
            ("repeat", "ann-new-password"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(
        c.get("/devices", &ann).await.0,
        StatusCode::SEE_OTHER,
        "signed out everywhere"
    );
    c.session("ann", "ann-new-password").await;

    // An API write, then the log as an admin reads it.
    app.post(
        "/tenants",
        json!({"id": "beta", "sip_host": "pbx.example.com"}),
    )
    .await;
    let (_, log) = c.get("/audit", &admin).await;
    // minijinja escapes '/' in HTML text.
    let log = log.replace("&#x2f;", "/");
    for line in [
        "user-add",
        "register",
        "password-change",
        "POST /api/v1/tenants",
        "sign-in",
    ] {
        assert!(log.contains(line), "the audit log shows {line}");
    }
    let (_, mine) = c.get("/audit?actor=ann", &admin).await;
    assert!(
        mine.contains("register") && !mine.contains("user-add"),
        "filtered by who"
    );
    assert!(
        !log.contains(&generated) && !log.contains("ann-new-password"),
        "no secret in the log"
    );
    app.stop().await;
}

#[tokio::test]
async fn tenants_are_added_edited_and_deleted_in_the_console() {
    let mut app = spawn_app().await;
    let c = Console::of(&app);
    let (user, password) = first_admin(&app);
    let admin = c.session(&user, &password).await;
    let (_, page) = c.get("/tenants", &admin).await;
    let csrf = csrf_of(&page);
    let (s, page) = post_form(
        &c,
        &admin,
        "/tenants/add",
        &[
            ("csrf", &csrf),
            ("id", "Not An Id"),
            ("sip_host", "pbx.example.com"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(page.contains("Id: "), "names the field: {page}");
    let (s, _) = post_form(
        &c,
        &admin,
        "/tenants/add",
        &[
            ("csrf", &csrf),
            ("id", "acme"),
            ("sip_host", "pbx.example.com"),
            ("mode", "master"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let form = |settings: &'static str, mode: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("name", "Acme Ltd".to_owned()),
            ("sip_host", "sip.acme.example".to_owned()),
            ("sip_port", "5080".to_owned()),
            ("prov_user", "prov-acme".to_owned()),
            ("prov_pass", String::new()),
            ("prov_credentials", "device".to_owned()),
            ("mode", mode.to_owned()),
            ("settings", settings.to_owned()),
        ]
    };
    let save = |cookie: String, f: Vec<(&'static str, String)>| {
        let (http, url) = (c.http.clone(), format!("{}/tenants/acme/save", c.base));
        async move {
            let r = http
                .post(url)
                .header(COOKIE, cookie)
                .form(&f)
                .send()
                .await
                .unwrap();
            (r.status(), r.text().await.unwrap())
        }
    };
    let (s, page) = save(
        admin.clone(),
        form(
            "language=Deutsch\nuser_idle_text[1]=Hello there",
            "per-tenant",
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(page.contains("Saved."));
    let (_, t) = app.get("/tenants/acme").await;
    assert_eq!(
        (
            t["sip_host"].as_str(),
            t["sip_port"].as_u64(),
            t["mode"].as_str()
        ),
        (Some("sip.acme.example"), Some(5080), Some("per-tenant"))
    );
    assert_eq!(t["settings"][1]["value"], "Hello there");
    let (_, creds) = app.get("/tenants/acme/credentials").await;
    assert!(
        !creds["prov_pass"].as_str().unwrap().is_empty(),
        "an empty password field keeps it"
    );
    let (s, page) = save(
        admin.clone(),
        form("language=Deutsch\nno equals sign", "master"),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        page.contains("Settings, line 2: write NAME=VALUE or NAME[IDX]=VALUE"),
        "{page}"
    );

    // A tenant admin edits their tenant, but not its mode; others do not exist.
    app.post("/users", json!({"name": "ann", "role": "tenant-admin", "tenant": "acme", "password": "ann-password"})).await;
    app.tenant("other", "prov-other", "s3cr3t-prov").await;
    let ann = c.session("ann", "ann-password").await;
    assert_eq!(c.get("/tenants/other", &ann).await.0, StatusCode::NOT_FOUND);
    let (_, page) = c.get("/tenants/acme", &ann).await;
    let ann_csrf = csrf_of(&page);
    let mut f = form("language=English", "master");
    f[0].1 = ann_csrf.clone();
    let (s, _) = save(ann.clone(), f).await;
    assert_eq!(s, StatusCode::OK);
    let (_, t) = app.get("/tenants/acme").await;
    assert_eq!(
        (t["mode"].as_str(), t["settings"][0]["value"].as_str()),
        (Some("per-tenant"), Some("English"))
    );
    let (s, _) = post_form(&c, &ann, "/tenants/acme/delete", &[("csrf", &ann_csrf)]).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "a tenant admin deletes no tenant");

    // Deleting a tenant with devices is refused, with why and where they are.
    app.post(
        "/devices",
        json!([{"mac": "000413AB0001", "model": "snomD717", "tenant": "acme"}]),
    )
    .await;
    let (s, page) = post_form(&c, &admin, "/tenants/acme/delete", &[("csrf", &csrf)]).await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(
        page.contains("tenant acme still has 1 device(s); remove them first"),
        "{page}"
    );
    assert!(page.contains("See its devices"));
    let (s, page) = post_form(&c, &admin, "/tenants/other/delete", &[("csrf", &csrf)]).await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("Tenant other deleted."));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_events_are_listed_with_their_message_and_retried() {
    let fake = crate::fake_sraps::FakeSraps::start(std::time::Duration::ZERO).await;
    let mut app = spawn_app_with(crate::daemon::fast).await;
    let c = Console::of(&app);
    let (user, password) = first_admin(&app);
    app.acme_with_devices(&["000413AC0001"]).await;
    // No provider yet: the register fails, and says what to do.
    app.post("/devices/register", json!({"macs": ["000413AC0001"]}))
        .await;
    let admin = c.session(&user, &password).await;
    let t = std::time::Instant::now();
    let page = loop {
        let (_, page) = c.get("/events?state=failed", &admin).await;
        if page.contains("retry-") {
            break page;
        }
        assert!(
            t.elapsed() < std::time::Duration::from_secs(20),
            "no failed event"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(
        page.contains("no master provider for snom phones is configured"),
        "{page}"
    );
    let id = {
        let at = page.find("id=\"retry-").unwrap() + 10;
        page[at..].split('"').next().unwrap().to_owned()
    };
    app.post(
        "/providers",
        json!({"name": "snom", "base_url": fake.url(), "access_key_id": "k", "secret": "s"}),
    )
    .await;

    // Another tenant's admin cannot retry it.
    app.tenant("other", "prov-other", "s3cr3t-prov").await;
    app.post("/users", json!({"name": "olga", "role": "tenant-admin", "tenant": "other", "password": "olga-password"})).await;
    let olga = c.session("olga", "olga-password").await;
    let (_, page) = c.get("/events", &olga).await;
    assert!(!page.contains("000413AC0001"), "not their tenant's event");
    let (s, _) = post_form(
        &c,
        &olga,
        &format!("/events/{id}/retry"),
        &[("csrf", &csrf_of(&page))],
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    let (s, _) = post_form(
        &c,
        &admin,
        &format!("/events/{id}/retry"),
        &[("csrf", &csrf_of(&page_of(&c, &admin).await))],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let t = std::time::Instant::now();
    loop {
        let (_, d) = app.get("/devices/000413AC0001").await;
        if d["status"] == "registered" {
            break;
        }
        assert!(t.elapsed() < std::time::Duration::from_secs(20), "{d}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    app.stop().await;
}

/// The console's Add form offers every cloud by its kind, so an admin adds a
/// Poly ZTP or YMCS account by clicking, not typing a command.
#[tokio::test]
async fn a_provider_of_any_kind_is_added_from_the_console() {
    let mut app = spawn_app().await;
    let (user, password) = crate::console::first_admin(&app);
    let c = crate::console::Console::of(&app);
    let cookie = c.session(&user, &password).await;
    let (_, page) = c.get("/providers", &cookie).await;
    for kind in ["snom", "grape", "ymcs", "ztp", "fdps"] {
        assert!(
            page.contains(&format!("<option value=\"{kind}\"")),
            "{kind}"
        );
    }
    assert!(
        page.contains("ymcs (Yealink phones)"),
        "the vendor beside the kind"
    );
    let csrf = crate::console::csrf_of(&page);
    let r = c
        .http
        .post(format!("{}/providers/add", c.base))
        .header(reqwest::header::COOKIE, &cookie)
        .form(&[
            ("csrf", csrf.as_str()),
            ("name", "poly"),
            ("kind", "ztp"),
            ("base_url", "https://ztp.example/v1/"),
            ("access_key_id", "unused"),
            ("secret", "api-key"),
            ("tenant", ""),
        ])
        .send()
        .await
        .unwrap();
    assert!(
        r.status().is_redirection() || r.status().is_success(),
        "{}",
        r.status()
    );
    let (_, list) = app.get("/providers").await;
    let p = list
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "poly")
        .unwrap()
        .clone();
    assert_eq!(
        (p["kind"].as_str(), p["vendor"].as_str()),
        (Some("ztp"), Some("poly")),
        "{p}"
    );
    app.stop().await;
}
