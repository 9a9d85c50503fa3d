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

/// A form post with the page's CSRF token.
pub async fn post_form(
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

/// Any page of the admin's, for its CSRF token.
pub async fn page_of(c: &Console, cookie: &str) -> String {
    c.get("/events", cookie).await.1
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
    app.acme_with_devices(&["000413EE0001"]).await;
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

/// Two nodes on one database: a session begun on one is good on the other,
/// and signing out on one ends it on both.
#[tokio::test]
async fn a_session_holds_on_every_node_and_ends_on_every_node() {
    let mut a = spawn_app().await;
    let url = a.database_url.clone();
    let mut b = spawn_app_with(move |c| c.database_url = url).await;
    let (ca, cb) = (Console::of(&a), Console::of(&b));
    let (user, password) = first_admin(&a);
    assert!(
        b.running.as_ref().unwrap().new_console_admin.is_none(),
        "one first admin per database"
    );
    let cookie = ca.session(&user, &password).await;
    let (s, page) = cb.get("/devices", &cookie).await;
    assert_eq!(s, StatusCode::OK, "node B knows node A's session");
    let r = cb
        .http
        .post(format!("{}/logout", cb.base))
        .header(COOKIE, &cookie)
        .form(&[("csrf", csrf_of(&page))])
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "the CSRF token is the session's, on any node"
    );
    assert_eq!(
        ca.get("/devices", &cookie).await.0,
        StatusCode::SEE_OTHER,
        "signed out on A too"
    );
    b.stop().await;
    a.stop().await;
}
