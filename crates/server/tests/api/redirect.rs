//! The redirection service, driven by an independent Hawk client (the `hawk`
//! crate signs; our verifier checks) and by simulated phones.

use std::time::{Duration, SystemTime};

use reqwest::{Method, StatusCode, Url};
use serde_json::{json, Value};

use crate::helpers::*;

const MAC: &str = "000413aabbcc";
const UA: &str = "Mozilla/4.0 (compatible; snomD717-SIP 10.1.33.33 2010.12-00004-g9ba52f5 000413AABBCC SXM:0 UXM:0)";

/// An SRAPS client: signs every request with the `hawk` crate.
struct Sraps {
    http: reqwest::Client,
    base: String,
    id: String,
    secret: String,
}

struct Answer {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

enum Sign {
    Plain,
    WithHash,
    At(SystemTime),
    WrongHash,
}

impl Sraps {
    fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}/api/v1/{path}", self.base)
        }
    }

    fn header(&self, method: &str, url: &str, body: Option<&[u8]>, sign: &Sign) -> String {
        let u = Url::parse(url).unwrap();
        let path = match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_owned(),
        };
        let creds = hawk::Credentials {
            id: self.id.clone(),
            key: hawk::Key::new(self.secret.as_bytes(), hawk::SHA256).unwrap(),
        };
        let hash = match (sign, body) {
            (Sign::WithHash, b) => Some(
                hawk::PayloadHasher::hash("application/json", hawk::SHA256, b.unwrap_or(b""))
                    .unwrap(),
            ),
            (Sign::WrongHash, _) => Some(
                hawk::PayloadHasher::hash("application/json", hawk::SHA256, b"something else")
                    .unwrap(),
            ),
            _ => None,
        };
        let host = u.host_str().unwrap().to_owned();
        let mut rb =
            hawk::RequestBuilder::new(method, &host, u.port_or_known_default().unwrap(), &path);
        if let Some(h) = &hash {
            rb = rb.hash(&h[..]);
        }
        let req = rb.request();
        let header = match sign {
            Sign::At(ts) => req.make_header_full(&creds, *ts, "fixed-nonce-1").unwrap(),
            _ => req.make_header(&creds).unwrap(),
        };
        format!("Hawk {header}")
    }

    async fn send(&self, method: Method, path: &str, body: Option<Value>, sign: Sign) -> Answer {
        let url = self.url(path);
        let bytes = body.map(|b| serde_json::to_vec(&b).unwrap());
        let auth = self.header(method.as_str(), &url, bytes.as_deref(), &sign);
        self.raw(method, &url, bytes, Some(auth)).await
    }

    async fn raw(
        &self,
        method: Method,
        url: &str,
        body: Option<Vec<u8>>,
        auth: Option<String>,
    ) -> Answer {
        let mut req = self.http.request(method, url);
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b);
        }
        let r = req.send().await.unwrap();
        let status = r.status();
        let headers = r.headers().clone();
        let text = r.text().await.unwrap();
        Answer {
            status,
            headers,
            body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
        }
    }

    async fn get(&self, path: &str) -> Answer {
        self.send(Method::GET, path, None, Sign::Plain).await
    }
}

/// A company with a key of `role`, through the admin API.
async fn account(app: &TestApp, name: &str, role: &str) -> (String, Sraps) {
    let (s, c) = app
        .post("/redirect/companies", json!({ "name": name }))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    let company = c["id"].as_str().unwrap().to_owned();
    let (s, k) = app
        .post(
            "/redirect/keys",
            json!({ "company": company, "role": role }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{k}");
    let client = Sraps {
        http: reqwest::Client::new(),
        base: app.redirect.clone(),
        id: k["id"].as_str().unwrap().to_owned(),
        secret: k["secret"].as_str().unwrap().to_owned(),
    };
    (company, client)
}

/// Follows `Link: rel="next"` to the end, as falconieri learned to.
async fn all_settings(c: &Sraps) -> Vec<Value> {
    let mut out = Vec::new();
    let mut next = Some(c.url("settings/"));
    let mut pages = 0;
    while let Some(url) = next.take() {
        let a = c.get(&url).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        out.extend(a.body.as_array().unwrap().iter().cloned());
        pages += 1;
        next = a
            .headers
            .get("link")
            .and_then(|l| l.to_str().ok())
            .and_then(|l| l.split(',').find(|p| p.contains("rel=\"next\"")))
            .map(|p| {
                p.trim()
                    .trim_start_matches('<')
                    .split('>')
                    .next()
                    .unwrap()
                    .to_owned()
            });
    }
    assert!(pages >= 2, "the catalogue spans more than one default page");
    out
}

fn uuid_of(settings: &[Value], param: &str) -> String {
    settings
        .iter()
        .find(|s| s["param_name"] == param && s["section"] == "phone-settings")
        .unwrap_or_else(|| panic!("{param} not in catalogue"))["uuid"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The redirect contacts of 000413AABBCC once `n` are recorded (the log is
/// written once a second), newest first.
async fn redirect_outcomes(app: &TestApp, n: usize) -> (Value, Vec<String>) {
    let started = std::time::Instant::now();
    loop {
        let (_, contacts) = app.get("/redirect/contacts?mac=000413AABBCC").await;
        let outcomes: Vec<String> = contacts
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["outcome"].as_str().unwrap().to_owned())
            .collect();
        if outcomes.len() >= n || started.elapsed() > Duration::from_secs(10) {
            return (contacts, outcomes);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn phone(app: &TestApp, path: &str, ua: &str) -> (StatusCode, String) {
    let r = app
        .http
        .get(format!("{}{path}", app.redirect))
        .header("user-agent", ua)
        .send()
        .await
        .unwrap();
    (r.status(), r.text().await.unwrap())
}

#[tokio::test]
async fn the_sraps_chain_then_the_phone_is_redirected() {
    let mut app = spawn_app().await;
    let (company, c) = account(&app, "Acme Telecom", "write").await;

    let token = c.get(&format!("tokens/{}", c.id)).await;
    assert_eq!(token.status, StatusCode::OK, "{}", token.body);
    let company_url = token.body["links"]["company"].as_str().unwrap().to_owned();
    assert_eq!(
        company_url,
        format!("{}/api/v1/companies/{company}/", app.redirect)
    );
    let comp = c.get(&company_url).await;
    assert_eq!(comp.body["name"], "Acme Telecom");
    let endpoints_url = comp.body["links"]["endpoints"].as_str().unwrap().to_owned();
    assert!(endpoints_url.ends_with("/endpoints/"));

    let settings = all_settings(&c).await;
    for s in &settings {
        assert_eq!(s["uuid"].as_str().unwrap().len(), 32);
        assert!(s["links"]["self"].as_str().unwrap().starts_with("http"));
    }
    let (server, user, pass) = (
        uuid_of(&settings, "setting_server"),
        uuid_of(&settings, "http_client_user"),
        uuid_of(&settings, "http_client_pass"),
    );
    let one_page = c.get("settings/?page_size=1000").await;
    assert_eq!(one_page.body.as_array().unwrap().len(), settings.len());
    assert!(one_page.headers.get("link").is_none());

    // falconieri style: hash over the JSON body, boolean flag
    let body = json!({
        "mac": MAC,
        "autoprovisioning_enabled": true,
        "settings_manager": {
            server.clone(): {"value": "https://pbx.example.com/ztprov/snomD717-000413AABBCC.htm", "attrs": {"perm": "RW"}},
            user.clone(): {"value": "zt-user", "attrs": {"perm": "RW"}},
            pass.clone(): {"value": "zt-p&ss<word>", "attrs": {"perm": "RW"}},
        },
    });
    let put = c
        .send(
            Method::PUT,
            &format!("{endpoints_url}{MAC}"),
            Some(body.clone()),
            Sign::WithHash,
        )
        .await;
    assert_eq!(put.status, StatusCode::CREATED, "{}", put.body);
    // ngcp-panel style: no hash, the flag as a string, upper-case MAC with colons: a replace
    let mut again = body.clone();
    again["autoprovisioning_enabled"] = json!("true");
    again["mac"] = json!("00:04:13:AA:BB:CC");
    let put = c
        .send(
            Method::PUT,
            &format!("{endpoints_url}000413AABBCC"),
            Some(again),
            Sign::Plain,
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);
    assert_eq!(put.body["mac"], MAC);

    let got = c.get(&format!("{endpoints_url}{MAC}")).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(
        got.body["settings_manager"][&server]["value"],
        "https://pbx.example.com/ztprov/snomD717-000413AABBCC.htm"
    );
    assert_eq!(got.body["settings_manager"][&server]["attrs"]["perm"], "RW");
    let list = c.get(&endpoints_url).await;
    assert_eq!(
        list.body
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["mac"].clone())
            .collect::<Vec<_>>(),
        vec![json!(MAC)]
    );

    // The phone: the model file says nothing, the MAC file carries exactly what was pushed.
    let (s, body) = phone(&app, "/snomD717.htm", UA).await;
    assert_eq!(s, StatusCode::OK);
    let doc = roxmltree::Document::parse(&body).unwrap();
    assert_eq!(
        doc.descendants().filter(|n| n.is_element()).count(),
        2,
        "{body}"
    );
    let (s, body) = phone(&app, "/snomD717-000413AABBCC.htm", UA).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let doc = roxmltree::Document::parse(&body).unwrap();
    let settings: Vec<(String, String, String)> = doc
        .descendants()
        .filter(|n| n.is_element() && n.attribute("perm").is_some())
        .map(|n| {
            (
                n.tag_name().name().to_owned(),
                n.text().unwrap_or("").to_owned(),
                n.attribute("perm").unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        settings,
        vec![
            (
                "setting_server".into(),
                "https://pbx.example.com/ztprov/snomD717-000413AABBCC.htm".into(),
                "RW".into()
            ),
            ("http_client_user".into(), "zt-user".into(), "RW".into()),
            (
                "http_client_pass".into(),
                "zt-p&ss<word>".into(),
                "RW".into()
            ),
        ]
    );

    let del = c
        .send(
            Method::DELETE,
            &format!("{endpoints_url}{MAC}"),
            None,
            Sign::Plain,
        )
        .await;
    assert_eq!(del.status, StatusCode::NO_CONTENT);
    assert_eq!(
        c.get(&format!("{endpoints_url}{MAC}")).await.status,
        StatusCode::NOT_FOUND
    );
    let (s, gone) = phone(&app, "/snomD717-000413AABBCC.htm", UA).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Every phone contact is on record.
    let (contacts, outcomes) = redirect_outcomes(&app, 3).await;
    assert_eq!(
        outcomes,
        ["unknown_or_disabled", "redirected", "model_file"],
        "{contacts}"
    );
    assert_eq!(contacts[0]["firmware"], "10.1.33.33");
    let (s, unknown) = phone(
        &app,
        "/snomD717-000413FFFFFF.htm",
        &UA.replace("000413AABBCC", "000413FFFFFF"),
    )
    .await;
    assert_eq!(
        (s, unknown),
        (StatusCode::NOT_FOUND, gone),
        "unknown and deleted look the same"
    );
    app.stop().await;
}

#[tokio::test]
async fn hawk_failures_are_401_and_write_nothing() {
    let mut app = spawn_app().await;
    let (company, c) = account(&app, "Acme", "write").await;
    let url = c.url(&format!("companies/{company}/endpoints/{MAC}"));
    let body = json!({ "mac": MAC, "autoprovisioning_enabled": true });
    let bytes = serde_json::to_vec(&body).unwrap();

    // replay: the same signed request twice
    let auth = c.header("PUT", &url, Some(&bytes), &Sign::WithHash);
    let first = c
        .raw(Method::PUT, &url, Some(bytes.clone()), Some(auth.clone()))
        .await;
    assert_eq!(first.status, StatusCode::CREATED);
    let replay = c
        .raw(Method::PUT, &url, Some(bytes.clone()), Some(auth))
        .await;
    assert_eq!(
        (replay.status, replay.body["detail"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("Invalid nonce"))
    );
    c.send(Method::DELETE, &url, None, Sign::Plain).await;

    let cases: Vec<(&str, Answer)> = vec![
        (
            "stale",
            c.send(
                Method::PUT,
                &url,
                Some(body.clone()),
                Sign::At(SystemTime::now() - Duration::from_secs(120)),
            )
            .await,
        ),
        (
            "bad hash",
            c.send(Method::PUT, &url, Some(body.clone()), Sign::WrongHash)
                .await,
        ),
        (
            "bad mac",
            Sraps {
                secret: "wrong".into(),
                ..clone_client(&c)
            }
            .send(Method::PUT, &url, Some(body.clone()), Sign::Plain)
            .await,
        ),
        (
            "unknown key",
            Sraps {
                id: "nobody".into(),
                ..clone_client(&c)
            }
            .send(Method::PUT, &url, Some(body.clone()), Sign::Plain)
            .await,
        ),
        (
            "no header",
            c.raw(Method::PUT, &url, Some(bytes.clone()), None).await,
        ),
    ];
    let want = [
        "Stale timestamp",
        "Bad payload hash",
        "Bad mac",
        "Unknown credentials",
        "Authentication credentials were not provided (Hawk)",
    ];
    for ((what, a), detail) in cases.iter().zip(want) {
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{what}: {}", a.body);
        assert_eq!(a.body["detail"], detail, "{what}");
    }
    let www = cases[0].1.headers["www-authenticate"].to_str().unwrap();
    assert!(
        www.starts_with("Hawk ts=\"")
            && www.contains("tsm=\"")
            && www.ends_with("error=\"Stale timestamp\""),
        "{www}"
    );
    let server_ts: u64 = www.split('"').nth(1).unwrap().parse().unwrap();
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(server_ts.abs_diff(now) <= 2);

    for garbage in [
        "Hawk id=\"x\"",
        "Hawk id=\"a\", id=\"b\", ts=\"1\", nonce=\"n\", mac=\"m\"",
        "Hawk id=\"a\", ts=\"1\", nonce=\"n\", mac=\"m\", evil=\"1\"",
        "Hawk id=a, ts=1, nonce=n, mac=m",
    ] {
        let a = c
            .raw(Method::PUT, &url, Some(bytes.clone()), Some(garbage.into()))
            .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{garbage}");
        assert!(
            a.body["detail"].as_str().unwrap().starts_with("Bad header"),
            "{}",
            a.body
        );
    }
    let long = format!(
        "Hawk id=\"{}\", ts=\"1\", nonce=\"n\", mac=\"m\"",
        "a".repeat(5000)
    );
    assert_eq!(
        c.raw(Method::GET, &url, None, Some(long)).await.status,
        StatusCode::BAD_REQUEST
    );

    assert_eq!(
        c.get(&url).await.status,
        StatusCode::NOT_FOUND,
        "nothing was written"
    );
    // a revoked key stops working
    let (s, _) = app
        .admin_call(Method::DELETE, &format!("/redirect/keys/{}", c.id), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        c.get(&format!("tokens/{}", c.id)).await.status,
        StatusCode::UNAUTHORIZED
    );
    app.stop().await;
}

fn clone_client(c: &Sraps) -> Sraps {
    Sraps {
        http: c.http.clone(),
        base: c.base.clone(),
        id: c.id.clone(),
        secret: c.secret.clone(),
    }
}

#[tokio::test]
async fn role_none_and_another_companys_mac_are_403() {
    let mut app = spawn_app().await;
    let (company, none) = account(&app, "No Role Inc", "none").await;
    // discovery works, so a PBX can tell the admin what is wrong
    assert_eq!(
        none.get(&format!("tokens/{}", none.id)).await.body["role"],
        "none"
    );
    assert_eq!(
        none.get(&format!("companies/{company}")).await.status,
        StatusCode::OK
    );
    assert_eq!(none.get("settings/").await.status, StatusCode::OK);
    let put = none
        .send(
            Method::PUT,
            &format!("companies/{company}/endpoints/{MAC}"),
            Some(json!({"mac": MAC})),
            Sign::WithHash,
        )
        .await;
    assert_eq!(put.status, StatusCode::FORBIDDEN);
    assert!(
        put.body["detail"].as_str().unwrap().contains("no role"),
        "{}",
        put.body
    );
    assert_eq!(
        none.get(&format!("companies/{company}/endpoints/"))
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    let (a_id, a) = account(&app, "A", "write").await;
    let (b_id, b) = account(&app, "B", "admin").await;
    let put = a
        .send(
            Method::PUT,
            &format!("companies/{a_id}/endpoints/{MAC}"),
            Some(json!({"name": "A's"})),
            Sign::Plain,
        )
        .await;
    assert_eq!(put.status, StatusCode::CREATED);
    let steal = b
        .send(
            Method::PUT,
            &format!("companies/{b_id}/endpoints/{MAC}"),
            Some(json!({"name": "B's"})),
            Sign::Plain,
        )
        .await;
    assert_eq!(steal.status, StatusCode::FORBIDDEN);
    assert!(
        steal.body["detail"]
            .as_str()
            .unwrap()
            .contains("taken_mac_or_forbidden"),
        "{}",
        steal.body
    );
    let del = b
        .send(
            Method::DELETE,
            &format!("companies/{b_id}/endpoints/{MAC}"),
            None,
            Sign::Plain,
        )
        .await;
    assert_eq!(del.status, StatusCode::FORBIDDEN);
    // B may not even look into A's company
    assert_eq!(
        b.get(&format!("companies/{a_id}/endpoints/")).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        b.get(&format!("companies/{b_id}/endpoints/{MAC}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        a.get(&format!("companies/{a_id}/endpoints/{MAC}"))
            .await
            .body["name"],
        "A's"
    );
    app.stop().await;
}

#[tokio::test]
async fn bad_bodies_sizes_and_methods() {
    let mut app = spawn_app_with(|c| c.redirect.max_body_bytes = 2048).await;
    let (company, c) = account(&app, "Acme", "write").await;
    let url = format!("companies/{company}/endpoints/{MAC}");
    let cases = [
        (json!({"mac": "000413000001"}), "does not match"),
        (
            json!({"autoprovisioning_enabled": "maybe"}),
            "autoprovisioning_enabled",
        ),
        (
            json!({"settings_manager": {"ffffffffffffffffffffffffffffffff": {"value": "x"}}}),
            "unknown setting uuid",
        ),
        (json!({"settings_manager": []}), "settings_manager"),
        (
            json!({"provisioning_profile": "ffffffffffffffffffffffffffffffff"}),
            "does not exist",
        ),
        (json!(["not", "an", "object"]), "JSON object"),
    ];
    for (body, msg) in cases {
        let a = c
            .send(Method::PUT, &url, Some(body.clone()), Sign::Plain)
            .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{body}: {}", a.body);
        assert!(
            a.body["detail"].as_str().unwrap().contains(msg),
            "{body}: {}",
            a.body
        );
    }
    let big = json!({"name": "x".repeat(4000)});
    assert_eq!(
        c.send(Method::PUT, &url, Some(big), Sign::Plain)
            .await
            .status,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    let not_json = c.url(&url);
    let auth = c.header("PUT", &not_json, Some(b"{nope"), &Sign::Plain);
    let a = c
        .raw(Method::PUT, &not_json, Some(b"{nope".to_vec()), Some(auth))
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    let a = c
        .send(Method::POST, &url, Some(json!({})), Sign::Plain)
        .await;
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(a.body["detail"].is_string());
    assert_eq!(c.get("no-such-thing/").await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        c.get(&format!("companies/{company}/endpoints/zz"))
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        c.get("settings/?page_size=0").await.status,
        StatusCode::BAD_REQUEST
    );
    // An offset that would wrap (or go negative on PostgreSQL) is refused.
    let huge = c
        .get("settings/?page=18446744073709551615&page_size=1000")
        .await;
    assert_eq!(huge.status, StatusCode::BAD_REQUEST, "{}", huge.body);
    assert!(huge.body["detail"].as_str().unwrap().contains("page"));
    // Characters XML cannot carry are refused at this edge too.
    let settings = all_settings(&c).await;
    let lang = uuid_of(&settings, "language");
    for bad in ["a\u{FFFE}", "\u{FFFF}", "a\u{1}"] {
        let a = c
            .send(
                Method::PUT,
                &url,
                Some(json!({"settings_manager": {lang.clone(): {"value": bad}}})),
                Sign::Plain,
            )
            .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{bad:?}: {}", a.body);
        let a = c
            .send(Method::PUT, &url, Some(json!({"name": bad})), Sign::Plain)
            .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{bad:?}: {}", a.body);
    }
    assert_eq!(
        c.get(&url).await.status,
        StatusCode::NOT_FOUND,
        "nothing written"
    );

    // profiles: create, use, replace, delete
    let groups = c.get("product-groups/").await;
    let d_series = groups
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "D-Series")
        .unwrap()["uuid"]
        .clone();
    let settings = all_settings(&c).await;
    let lang = uuid_of(&settings, "language");
    let p = c
        .send(
            Method::POST,
            &format!("companies/{company}/provisioning-profiles/"),
            Some(json!({"name": "Office", "product_group": d_series, "autoprovisioning_enabled": "true",
                        "settings_manager": {lang.clone(): {"value": "Deutsch", "attrs": {"perm": "R"}}}})),
            Sign::WithHash,
        )
        .await;
    assert_eq!(p.status, StatusCode::CREATED, "{}", p.body);
    let pid = p.body["uuid"].as_str().unwrap().to_owned();
    let server = uuid_of(&settings, "setting_server");
    let put = c
        .send(
            Method::PUT,
            &url,
            Some(json!({"provisioning_profile": pid, "settings_manager": {server: {"value": "http://pbx/", "attrs": {"perm": "RW"}}}})),
            Sign::Plain,
        )
        .await;
    assert_eq!(put.status, StatusCode::CREATED, "{}", put.body);
    let (_, body) = phone(&app, "/snomD717-000413AABBCC.htm", UA).await;
    assert!(
        body.contains("<setting_server perm=\"RW\">http://pbx/</setting_server>")
            && body.contains("<language perm=\"R\">Deutsch</language>"),
        "{body}"
    );
    let list = c
        .get(&format!("companies/{company}/provisioning-profiles/"))
        .await;
    assert_eq!(list.body.as_array().unwrap().len(), 1);
    let del = c
        .send(
            Method::DELETE,
            &format!("companies/{company}/provisioning-profiles/{pid}"),
            None,
            Sign::Plain,
        )
        .await;
    assert_eq!(del.status, StatusCode::NO_CONTENT);
    app.stop().await;
}

/// A made-up key id with a promised body that never comes: answered at once,
/// from the header alone, instead of holding the connection open.
#[tokio::test]
async fn an_unknown_key_is_refused_before_its_body_is_read() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut app = spawn_app().await;
    let addr = app
        .redirect
        .trim_start_matches("http://")
        .replace("localhost", "127.0.0.1");
    let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "PUT /api/v1/companies/x/endpoints/{MAC} HTTP/1.1\r\nHost: {addr}\r\n\
         Authorization: Hawk id=\"tkmadeup\", ts=\"{}\", nonce=\"n1\", mac=\"bWFj\"\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n",
        chrono::Utc::now().timestamp()
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(std::time::Duration::from_secs(5), conn.read(&mut buf))
        .await
        .expect("answered without waiting for the body")
        .unwrap();
    let answer = String::from_utf8_lossy(&buf[..n]);
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    // A known key with a body that trickles: cut off, not held forever
    // (the limit is 10 s; the test only checks the header-first order above).
    app.stop().await;
}

/// Hawk's scheme name is case-insensitive, as every HTTP auth scheme is.
#[tokio::test]
async fn the_hawk_scheme_name_is_case_insensitive() {
    let mut app = spawn_app().await;
    let (_, c) = account(&app, "Acme", "read").await;
    let url = c.url(&format!("tokens/{}", c.id));
    let auth = c.header("GET", &url, None, &Sign::Plain);
    let lower = auth.replacen("Hawk ", "hawk ", 1);
    let a = c.raw(Method::GET, &url, None, Some(lower)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    app.stop().await;
}

#[tokio::test]
async fn keys_over_their_rate_get_429() {
    // 6 a minute: a burst of 10, then one token every 10 s, so even a slow
    // machine sees the limit.
    let mut app = spawn_app_with(|c| c.redirect.rate_limit_per_minute = 6).await;
    let (_, c) = account(&app, "Acme", "read").await;
    let mut statuses = Vec::new();
    for _ in 0..15 {
        let a = c.get("settings/").await;
        if a.status == StatusCode::TOO_MANY_REQUESTS {
            assert!(
                a.headers["retry-after"]
                    .to_str()
                    .unwrap()
                    .parse::<u64>()
                    .unwrap()
                    >= 1
            );
        }
        statuses.push(a.status);
    }
    // A burst of 10; a machine slower than 10 s for these may refill one.
    let ok = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    assert!((10..=11).contains(&ok), "{statuses:?}");
    assert_eq!(statuses.last(), Some(&StatusCode::TOO_MANY_REQUESTS));
    app.stop().await;
}

#[tokio::test]
async fn phones_whose_user_agent_names_another_mac_learn_nothing() {
    let mut app = spawn_app().await;
    let (company, c) = account(&app, "Acme", "write").await;
    let put = c
        .send(
            Method::PUT,
            &format!("companies/{company}/endpoints/{MAC}"),
            Some(json!({})),
            Sign::Plain,
        )
        .await;
    assert_eq!(put.status, StatusCode::CREATED);
    let other = UA.replace("000413AABBCC", "000413000001");
    assert_eq!(
        phone(&app, "/snomD717-000413AABBCC.htm", &other).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        phone(&app, "/snomD717-000413AABBCC.htm", UA).await.0,
        StatusCode::OK
    );
    // disabled endpoints look unknown
    let put = c
        .send(
            Method::PUT,
            &format!("companies/{company}/endpoints/{MAC}"),
            Some(json!({"autoprovisioning_enabled": false})),
            Sign::Plain,
        )
        .await;
    assert_eq!(put.status, StatusCode::OK);
    assert_eq!(
        phone(&app, "/snomD717-000413AABBCC.htm", UA).await.0,
        StatusCode::NOT_FOUND
    );
    for bad in ["/../etc/passwd", "/snomD999-000413AABBCC.htm", "/x"] {
        assert_eq!(phone(&app, bad, UA).await.0, StatusCode::NOT_FOUND, "{bad}");
    }
    app.stop().await;
}

struct Pki {
    ca: rcgen::Certificate,
    ca_key: rcgen::KeyPair,
}

impl Pki {
    fn new(name: &str) -> Pki {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        p.distinguished_name.push(rcgen::DnType::CommonName, name);
        p.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        Pki {
            ca: p.self_signed(&ca_key).unwrap(),
            ca_key,
        }
    }

    /// A phone certificate whose subject CN is the MAC, as a reqwest identity.
    fn phone(&self, mac: &str) -> reqwest::Identity {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        p.distinguished_name.push(rcgen::DnType::CommonName, mac);
        p.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
        let cert = p.signed_by(&key, &self.ca, &self.ca_key).unwrap();
        reqwest::Identity::from_pem(format!("{}{}", cert.pem(), key.serialize_pem()).as_bytes())
            .unwrap()
    }
}

#[tokio::test]
async fn mutual_tls_ties_the_phone_to_its_mac() {
    let dir = tempfile::tempdir().unwrap();
    let server = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let phones = Pki::new("Phone CA");
    let stranger = Pki::new("Other CA");
    let path = |n: &str| dir.path().join(n).to_string_lossy().into_owned();
    std::fs::write(path("cert.pem"), server.cert.pem()).unwrap();
    std::fs::write(path("key.pem"), server.key_pair.serialize_pem()).unwrap();
    std::fs::write(path("ca.pem"), phones.ca.pem()).unwrap();
    let mut app = spawn_app_with(|c| {
        c.redirect.tls_cert = path("cert.pem");
        c.redirect.tls_key = path("key.pem");
        c.redirect.client_ca = path("ca.pem");
    })
    .await;
    let root = reqwest::Certificate::from_pem(server.cert.pem().as_bytes()).unwrap();
    let (company, mut c) = account(&app, "Acme", "write").await;
    // The PBX has no client certificate and still uses the API.
    c.http = reqwest::Client::builder()
        .add_root_certificate(root.clone())
        .build()
        .unwrap();
    let put = c
        .send(
            Method::PUT,
            &format!("companies/{company}/endpoints/{MAC}"),
            Some(json!({})),
            Sign::WithHash,
        )
        .await;
    assert_eq!(put.status, StatusCode::CREATED, "{}", put.body);

    let url = format!("{}/snomD717-000413AABBCC.htm", app.redirect);
    let client = |id: Option<reqwest::Identity>| {
        let mut b = reqwest::Client::builder().add_root_certificate(root.clone());
        if let Some(id) = id {
            b = b.identity(id);
        }
        b.build().unwrap()
    };
    let right = client(Some(phones.phone("00:04:13:AA:BB:CC")))
        .get(&url)
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), StatusCode::OK);
    let none = client(None).get(&url).send().await.unwrap();
    assert_eq!(none.status(), StatusCode::FORBIDDEN);
    let other_mac = client(Some(phones.phone("000413000001")))
        .get(&url)
        .send()
        .await
        .unwrap();
    assert_eq!(other_mac.status(), StatusCode::FORBIDDEN);
    let no_mac = client(Some(phones.phone("not a mac")))
        .get(&url)
        .send()
        .await
        .unwrap();
    assert_eq!(no_mac.status(), StatusCode::FORBIDDEN);
    let foreign = client(Some(stranger.phone("000413AABBCC")))
        .get(&url)
        .send()
        .await;
    assert!(
        foreign.is_err(),
        "a certificate from another CA fails the TLS handshake: {foreign:?}"
    );

    let (_, outcomes) = redirect_outcomes(&app, 4).await;
    assert_eq!(
        outcomes,
        [
            "certificate_without_mac",
            "certificate_mac_mismatch",
            "no_client_certificate",
            "redirected"
        ]
    );
    app.stop().await;
}
