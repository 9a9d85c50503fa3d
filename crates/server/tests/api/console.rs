//! The web console over plain HTTP (sessions, CSRF, the sign-in limit, who
//! sees what) and in a real Chromium (`webdriver`): the pages an admin
//! clicks through, with screenshots for a reviewer.

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::{redirect::Policy, StatusCode};
use serde_json::json;

use crate::helpers::*;
use crate::webdriver::Browser;

struct Console {
    base: String,
    http: reqwest::Client,
}

impl Console {
    fn of(app: &TestApp) -> Console {
        Console {
            base: app.admin.trim_end_matches("/api/v1").to_owned(),
            http: reqwest::Client::builder()
                .redirect(Policy::none())
                .build()
                .unwrap(),
        }
    }

    async fn sign_in(&self, user: &str, password: &str) -> reqwest::Response {
        self.http
            .post(format!("{}/login", self.base))
            .form(&[("user", user), ("password", password)])
            .send()
            .await
            .unwrap()
    }

    /// Signs in and returns the session cookie (`name=value`).
    async fn session(&self, user: &str, password: &str) -> String {
        let r = self.sign_in(user, password).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "signed in as {user}");
        let c = r.headers()[SET_COOKIE].to_str().unwrap().to_owned();
        c.split(';').next().unwrap().to_owned()
    }

    async fn get(&self, path: &str, cookie: &str) -> (StatusCode, String) {
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

fn first_admin(app: &TestApp) -> (String, String) {
    app.running
        .as_ref()
        .unwrap()
        .new_console_admin
        .clone()
        .expect("the first start creates the console's admin")
}

/// The CSRF token a page's forms carry.
fn csrf_of(page: &str) -> String {
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

/// Where the browser tests leave their screenshots.
fn screenshots() -> std::path::PathBuf {
    let dir = std::env::var_os("TOUCHLESS_SCREENSHOTS")
        .map(Into::into)
        .unwrap_or_else(|| std::env::temp_dir().join("touchless-screenshots"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn an_admin_signs_in_finds_a_device_and_reads_its_credentials_in_chromium() {
    let mut app = spawn_app().await;
    let (user, password) = first_admin(&app);
    app.tenant("acme", "prov-acme", "s3cr3t-prov").await;
    let devices: Vec<_> = (0..60)
        .map(|i| json!({"mac": format!("000413CC{i:04X}"), "model": "snomD717", "tenant": "acme",
                        "name": format!("Desk {i}"), "lines": [{"extension": format!("{}", 200 + i), "sip_password": "pw"}]}))
        .collect();
    let (s, v) = app.post("/devices", json!(devices)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let base = app.admin.trim_end_matches("/api/v1").to_owned();
    let shots = screenshots();

    let b = Browser::start().await;
    b.goto(&format!("{base}/")).await;
    assert!(
        b.url().await.ends_with("/login"),
        "signed out: the sign-in page"
    );
    b.screenshot(&shots.join("login.png")).await;
    b.find("#user").await.type_text(&user).await;
    b.find("#password").await.type_text("not it").await;
    b.find("#sign-in").await.click().await;
    b.wait_for_text("Wrong user name or password.").await;
    b.find("#password").await.type_text(&password).await;
    b.find("#sign-in").await.click().await;
    b.wait_for_text("Dashboard").await;
    assert!(b.text().await.contains("60 in all"));
    b.screenshot(&shots.join("dashboard.png")).await;

    b.find("nav a[href='/devices']").await.click().await;
    b.wait_for_text("Last message").await;
    assert_eq!(b.count("table.devices tbody tr").await, 50, "a page of 50");
    b.screenshot(&shots.join("devices.png")).await;
    b.find("a[rel='next']").await.click().await;
    b.wait_for_text("Page 2").await;
    assert_eq!(b.count("table.devices tbody tr").await, 10);
    b.find("#f-q").await.type_text("217").await;
    b.find(".filters button").await.click().await;
    b.wait_for_text("000413CC0011").await;
    assert_eq!(
        b.count("table.devices tbody tr").await,
        1,
        "found by extension"
    );

    b.find("a[href='/devices/000413CC0011']")
        .await
        .click()
        .await;
    b.wait_for_text("What the phone is handed").await;
    let url = b.find("#ztprov-url").await.text().await;
    assert!(url.ends_with("/ztprov/snomD717-000413CC0011.htm"), "{url}");
    assert_eq!(
        b.find("#ztprov-pass").await.text().await,
        "",
        "the password stays hidden until asked for"
    );
    b.find("#reveal").await.click().await;
    let (_, creds) = app.get("/devices/000413CC0011/credentials").await;
    assert_eq!(
        b.find("#ztprov-pass").await.text().await,
        creds["ztprov_pass"].as_str().unwrap()
    );
    b.screenshot(&shots.join("device.png")).await;

    b.find("#sign-out").await.click().await;
    b.wait_for_text("Sign in").await;
    b.goto(&format!("{base}/devices")).await;
    assert!(b.url().await.ends_with("/login"), "signed out for good");
    b.quit().await;
    println!("screenshots in {}", shots.display());
    app.stop().await;
}

async fn sign_in_browser(b: &Browser, base: &str, user: &str, password: &str) {
    b.goto(&format!("{base}/login")).await;
    b.find("#user").await.type_text(user).await;
    b.find("#password").await.type_text(password).await;
    b.find("#sign-in").await.click().await;
    b.wait_for_text("Dashboard").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn selected_devices_register_and_their_rows_turn_registered_without_a_reload() {
    let fake = crate::fake_sraps::FakeSraps::start(std::time::Duration::from_millis(300)).await;
    let mut app = spawn_app_with(crate::daemon::fast).await;
    let (user, password) = first_admin(&app);
    app.tenant("acme", "prov-acme", "s3cr3t-prov").await;
    let devices: Vec<_> = (0..5)
        .map(|i| json!({"mac": format!("000413DD{i:04X}"), "model": "snomD717", "tenant": "acme"}))
        .collect();
    app.post("/devices", json!(devices)).await;
    let (s, v) = app
        .post(
            "/providers",
            json!({"name": "snom", "base_url": fake.url(), "access_key_id": "key", "secret": "secret"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let base = app.admin.trim_end_matches("/api/v1").to_owned();

    let b = Browser::start().await;
    sign_in_browser(&b, &base, &user, &password).await;
    b.goto(&format!("{base}/devices?tenant=acme")).await;
    b.wait_for_text("000413DD0004").await;
    b.script("document.body.dataset.marker = 'still the same page'")
        .await;
    let picked = ["000413DD0001", "000413DD0003"];
    for mac in picked {
        b.find(&format!("input[value='{mac}']")).await.click().await;
    }
    b.find("#register").await.click().await;
    b.wait_for_text("2 device(s) queued to register.").await;
    let status_of = |mac: &str| {
        format!("return document.querySelector(\"tr[data-mac='{mac}'] .status\").textContent")
    };
    let t = std::time::Instant::now();
    for mac in picked {
        loop {
            let s = b.script(&status_of(mac)).await;
            if s == "registered" {
                break;
            }
            assert!(
                t.elapsed() < std::time::Duration::from_secs(20),
                "{mac} is still {s}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let msg = b
            .script(&format!(
                "return document.querySelector(\"tr[data-mac='{mac}'] .message\").textContent"
            ))
            .await;
        assert_eq!(msg, "-", "all is well");
    }
    assert_eq!(
        b.script("return document.body.dataset.marker").await,
        "still the same page",
        "the rows changed without a reload"
    );
    assert_eq!(
        b.script(&status_of("000413DD0002")).await,
        "unregistered",
        "only the selected ones"
    );
    b.screenshot(&screenshots().join("devices-registered.png"))
        .await;
    b.quit().await;
    assert_eq!(fake.state.recorded.lock().unwrap().puts.len(), 2);
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_edits_a_provider_saves_and_tests_it_in_place() {
    let fake = crate::fake_sraps::FakeSraps::start(std::time::Duration::ZERO).await;
    let mut app = spawn_app().await;
    let (user, password) = first_admin(&app);
    app.tenant("acme", "prov-acme", "s3cr3t-prov").await;
    // Added with an address where nothing listens, as a typo would.
    let (s, v) = app
        .post(
            "/providers",
            json!({"name": "snom", "base_url": "http://127.0.0.1:9/api/v1/", "access_key_id": "old", "secret": "old-secret"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let base = app.admin.trim_end_matches("/api/v1").to_owned();

    let b = Browser::start().await;
    sign_in_browser(&b, &base, &user, &password).await;
    b.find("nav a[href='/providers']").await.click().await;
    b.wait_for_text("master account").await;
    b.script("document.body.dataset.marker = 'same page'").await;
    b.find("#test-snom").await.click().await;
    b.wait_for_text("127.0.0.1:9").await;
    assert_eq!(
        b.script("return document.getElementById('result-snom').className")
            .await,
        "bad"
    );
    assert_eq!(
        b.script("return document.body.dataset.marker").await,
        "same page",
        "Test answers in place"
    );

    b.find("#edit-snom").await.click().await;
    assert_eq!(
        b.script("return document.getElementById('secret-snom').value")
            .await,
        "",
        "the secret is never sent back to the browser"
    );
    b.script(&format!(
        "const u = document.getElementById('url-snom'); u.value = '{}';",
        fake.url()
    ))
    .await;
    b.script("document.getElementById('key-snom').value = ''")
        .await;
    b.find("#key-snom").await.type_text("key-1234").await;
    b.find("#secret-snom").await.type_text("new-secret").await;
    b.find("#save-snom").await.click().await;
    b.wait_for_text("Saved.").await;
    b.find("#test-snom").await.click().await;
    b.wait_for_text("OK, company").await;
    let (_, t) = app.post("/providers/snom/test", json!({})).await;
    assert_eq!(
        b.find("#result-snom").await.text().await,
        t["message"].as_str().unwrap(),
        "worded as the API (and so the CLI) words it"
    );
    b.screenshot(&screenshots().join("providers.png")).await;
    let store = touchless_store::open(&app.database_url).await.unwrap();
    let p = store.get_provider("snom").await.unwrap().unwrap();
    assert_eq!(
        (p.access_key_id.as_str(), p.secret.as_str()),
        ("key-1234", "new-secret")
    );
    store.close().await;

    // A refusal names the field as the form labels it.
    b.find("#edit-snom").await.click().await;
    b.script("document.getElementById('url-snom').value = 'ftp://nope'")
        .await;
    b.find("#save-snom").await.click().await;
    b.wait_for_text("URL: expected an http:// or https:// URL")
        .await;

    // The tenant's mode, chosen here.
    b.script("document.getElementById('mode-acme').value = 'per-tenant'")
        .await;
    b.find("#mode-save-acme").await.click().await;
    b.wait_for_text("Touchless Provisioning Mode").await;
    let (_, t) = app.get("/tenants/acme").await;
    assert_eq!(t["mode"], "per-tenant");
    b.quit().await;
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
