//! The web console over plain HTTP: sessions, CSRF, the sign-in limit, who
//! sees what, accounts and the audit log. `console_browser` clicks through
//! the same pages in a real Chromium.

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::{redirect::Policy, StatusCode};
use serde_json::json;

use crate::helpers::*;

/// The console's address and a client that does not follow redirects (so
/// a test sees where it is sent) and keeps no cookies (so it names its own).
pub struct Console {
    pub base: String,
    pub http: reqwest::Client,
}

impl Console {
    pub fn of(app: &TestApp) -> Console {
        Console {
            base: app.admin.trim_end_matches("/api/v1").to_owned(),
            http: reqwest::Client::builder()
                .redirect(Policy::none())
                .build()
                .unwrap(),
        }
    }

    pub async fn sign_in(&self, user: &str, password: &str) -> reqwest::Response {
        self.http
            .post(format!("{}/login", self.base))
            .form(&[("user", user), ("password", password)])
            .send()
            .await
            .unwrap()
    }

    /// Signs in and returns the session cookie (`name=value`).
    pub async fn session(&self, user: &str, password: &str) -> String {
        let r = self.sign_in(user, password).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "signed in as {user}");
        let c = r.headers()[SET_COOKIE].to_str().unwrap().to_owned();
        c.split(';').next().unwrap().to_owned()
    }

    pub async fn get(&self, path: &str, cookie: &str) -> (StatusCode, String) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .header(COOKIE, cookie)
            .send()
            .await
            .unwrap();
        (r.status(), r.text().await.unwrap())
    }
}

pub fn first_admin(app: &TestApp) -> (String, String) {
    app.running
        .as_ref()
        .unwrap()
        .new_console_admin
        .clone()
        .expect("the first start creates the console's admin")
}

/// The CSRF token a page's forms carry.
pub fn csrf_of(page: &str) -> String {
    let at = page
        .find("name=\"csrf\" value=\"")
        .expect("a form with a CSRF token")
        + 19;
    page[at..].split('"').next().unwrap().to_owned()
}

#[tokio::test]
async fn signing_in_out_and_forms_without_their_token() {
    let mut app = spawn_app().await;
    let c = Console::of(&app);
    let (user, password) = first_admin(&app);

    let r = c.http.get(format!("{}/", c.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[LOCATION], "/login");

    let r = c.sign_in(&user, "wrong").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Wrong user name or password."));
    let r = c.sign_in("nobody", &password).await;
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "an unknown name looks the same"
    );

    let r = c.sign_in(&user, &password).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let set = r.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set.contains(attr), "{set} has {attr}");
    }
    assert!(
        !set.contains("Secure"),
        "plain HTTP: a Secure cookie would never come back"
    );
    let cookie = set.split(';').next().unwrap().to_owned();
    let (s, page) = c.get("/", &cookie).await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("Dashboard") && page.contains(&user));

    // A form from elsewhere: no token, or a wrong one.
    for token in ["", "forged"] {
        let r = c
            .http
            .post(format!("{}/logout", c.base))
            .header(COOKIE, &cookie)
            .form(&[("csrf", token)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
    }
    assert_eq!(
        c.get("/", &cookie).await.0,
        StatusCode::OK,
        "still signed in"
    );
    let r = c
        .http
        .post(format!("{}/logout", c.base))
        .header(COOKIE, &cookie)
        .form(&[("csrf", csrf_of(&page))])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (s, _) = c.get("/", &cookie).await;
    assert_eq!(
        s,
        StatusCode::SEE_OTHER,
        "the session is over, on every node"
    );

    // A sign-in form posted from another site.
    let r = c
        .http
        .post(format!("{}/login", c.base))
        .header("Origin", "http://evil.example")
        .form(&[("user", user.as_str()), ("password", password.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // Unknown pages are plain pages.
    let (s, body) = c.get("/no/such/page", "").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(body.contains("There is no such page."));

    // Guessing: five wrong passwords, then the address waits, right or wrong.
    for _ in 0..3 {
        c.sign_in(&user, "wrong").await;
    }
    let r = c.sign_in(&user, &password).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.text().await.unwrap().contains("Try again in"));
    app.stop().await;
}

#[tokio::test]
async fn a_tenant_admin_sees_only_their_tenant() {
    let mut app = spawn_app().await;
    let c = Console::of(&app);
    for (t, mac) in [("acme", "000413AA0001"), ("other", "000413BB0001")] {
        app.tenant(t, &format!("prov-{t}"), "s3cr3t-prov").await;
        let (s, v) = app
            .post(
                "/devices",
                json!([{"mac": mac, "model": "snomD717", "tenant": t}]),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    let store = touchless_store::open(&app.database_url).await.unwrap();
    store
        .create_user(&touchless_store::NewUser {
            name: touchless_domain::UserName::parse("ann").unwrap(),
            role: touchless_domain::ConsoleRole::TenantAdmin,
            tenant: Some(touchless_domain::TenantId::parse("acme").unwrap()),
            password_hash: touchless_server::console::session::hash_password("ann-pass").unwrap(),
        })
        .await
        .unwrap();
    let ann = c.session("ann", "ann-pass").await;
    for path in ["/devices", "/devices?tenant=other", "/devices?q=BB"] {
        let (s, page) = c.get(path, &ann).await;
        assert_eq!(s, StatusCode::OK);
        assert!(
            !page.contains("000413BB0001"),
            "{path} shows no other tenant"
        );
    }
    assert!(c.get("/devices", &ann).await.1.contains("000413AA0001"));
    let (s, _) = c.get("/devices/000413BB0001", &ann).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "a guessed URL finds nothing");
    let (s, page) = c.get("/devices/000413AA0001", &ann).await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("snomD717-000413AA0001.htm"));
    store.close().await;
    app.stop().await;
}

#[tokio::test]
async fn a_selection_form_without_its_token_or_for_another_tenant_is_refused() {
    let mut app = spawn_app().await;
    let c = Console::of(&app);
    let (user, password) = first_admin(&app);
    app.tenant("acme", "prov-acme", "s3cr3t-prov").await;
    app.post(
        "/devices",
        json!([{"mac": "000413EE0001", "model": "snomD717", "tenant": "acme"}]),
    )
    .await;
    let admin = c.session(&user, &password).await;
    let (_, page) = c.get("/devices", &admin).await;
    let csrf = csrf_of(&page);
    let post = |cookie: String, form: Vec<(&'static str, String)>| {
        let http = c.http.clone();
        let url = format!("{}/devices/action", c.base);
        async move {
            http.post(url)
                .header(COOKIE, cookie)
                .form(&form)
                .send()
                .await
                .unwrap()
        }
    };
    let r = post(
        admin.clone(),
        vec![
            ("action", "register".into()),
            ("mac", "000413EE0001".into()),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "no CSRF token");
    let r = post(
        admin.clone(),
        vec![
            ("csrf", csrf.clone()),
            ("action", "register".into()),
            ("mac", "000413EE0001".into()),
            ("back", "https://evil.example/".into()),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        r.headers()[LOCATION],
        "/devices",
        "back only ever leads home"
    );
    let (_, events) = app.get("/events").await;
    assert_eq!(events.as_array().unwrap().len(), 1, "queued");

    // A tenant admin of another tenant cannot act on it, by MAC or by "all".
    app.tenant("other", "prov-other", "s3cr3t-prov").await;
    let store = touchless_store::open(&app.database_url).await.unwrap();
    store
        .create_user(&touchless_store::NewUser {
            name: touchless_domain::UserName::parse("olga").unwrap(),
            role: touchless_domain::ConsoleRole::TenantAdmin,
            tenant: Some(touchless_domain::TenantId::parse("other").unwrap()),
            password_hash: touchless_server::console::session::hash_password("olga-pass").unwrap(),
        })
        .await
        .unwrap();
    let olga = c.session("olga", "olga-pass").await;
    let (_, page) = c.get("/devices", &olga).await;
    let csrf = csrf_of(&page);
    let r = post(
        olga.clone(),
        vec![
            ("csrf", csrf.clone()),
            ("action", "deregister".into()),
            ("mac", "000413EE0001".into()),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = post(
        olga.clone(),
        vec![
            ("csrf", csrf),
            ("action", "deregister".into()),
            ("all", "1".into()),
            ("tenant", "acme".into()),
        ],
    )
    .await;
    assert_eq!(
        r.status(),
        StatusCode::BAD_REQUEST,
        "all that match, in their own tenant: none"
    );
    let (_, events) = app.get("/events").await;
    assert_eq!(
        events.as_array().unwrap().len(),
        1,
        "nothing more was queued"
    );
    store.close().await;
    app.stop().await;
}

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

/// A form post with the page's CSRF token.
async fn post_form(
    c: &Console,
    cookie: &str,
    path: &str,
    form: &[(&str, &str)],
) -> (StatusCode, String) {
    let r = c
        .http
        .post(format!("{}{path}", c.base))
        .header(COOKIE, cookie)
        .form(form)
        .send()
        .await
        .unwrap();
    (r.status(), r.text().await.unwrap())
}

#[tokio::test]
async fn accounts_passwords_and_the_audit_log_in_the_console() {
    let mut app = spawn_app().await;
    let c = Console::of(&app);
    let (user, password) = first_admin(&app);
    app.tenant("acme", "prov-acme", "s3cr3t-prov").await;
    app.post(
        "/devices",
        json!([{"mac": "000413FF0001", "model": "snomD717", "tenant": "acme"}]),
    )
    .await;
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
    app.tenant("acme", "prov-acme", "s3cr3t-prov").await;
    app.post(
        "/devices",
        json!([{"mac": "000413AC0001", "model": "snomD717", "tenant": "acme"}]),
    )
    .await;
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
    assert!(page.contains("no master provider is configured"), "{page}");
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

/// Any page of the admin's, for its CSRF token.
async fn page_of(c: &Console, cookie: &str) -> String {
    c.get("/events", cookie).await.1
}
