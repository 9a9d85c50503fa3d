//! The admin API: authentication, CRUD, and precise errors for bad input.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;

#[tokio::test]
async fn requires_the_token() {
    let mut app = spawn_app().await;
    let r = app
        .http
        .get(format!("{}/tenants", app.admin))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.text().await.unwrap().contains("missing admin token"));
    let r = app
        .http
        .get(format!("{}/tenants", app.admin))
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let health = app.admin.replace("/api/v1", "/healthz");
    assert_eq!(
        app.http.get(health).send().await.unwrap().status(),
        StatusCode::OK
    );
    app.stop().await;
}

/// Known and unknown paths, right and wrong methods: all 401 without the token,
/// so a stranger cannot list the routes.
#[tokio::test]
async fn authentication_comes_before_routing() {
    let mut app = spawn_app().await;
    for (method, path) in [
        (Method::GET, "/no-such-thing"),
        (Method::GET, "/tenants"),
        (Method::PUT, "/tenants"),
        (Method::DELETE, "/devices/register"),
    ] {
        let r = app
            .http
            .request(method.clone(), format!("{}{path}", app.admin))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{method} {path}");
    }
    let (s, v) = app.get("/no-such-thing").await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    app.stop().await;
}

/// Query strings are parsed like bodies: a JSON error naming the parameter.
#[tokio::test]
async fn bad_query_parameters_are_json_errors_naming_them() {
    let mut app = spawn_app().await;
    let (s, v) = app.get("/devices?limit=lots").await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(
        (v["field"].as_str(), v["value"].as_str()),
        (Some("limit"), Some("lots")),
        "{v}"
    );
    assert!(v["error"].as_str().unwrap().contains("limit"), "{v}");
    let (s, v) = app.get("/events?limit=-1").await;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("limit")),
        "{v}"
    );
    app.stop().await;
}

#[tokio::test]
async fn broadcast_multicast_and_zero_macs_are_refused() {
    let mut app = spawn_app().await;
    app.tenant("acme", "prov", "s3cr3t-prov").await;
    for mac in ["FFFFFFFFFFFF", "01:00:5E:00:00:01", "000000000000"] {
        let (s, v) = app
            .post(
                "/devices",
                json!({"mac": mac, "model": "snomD717", "tenant": "acme"}),
            )
            .await;
        assert_eq!(
            (s, v["field"].as_str()),
            (StatusCode::BAD_REQUEST, Some("mac")),
            "{mac}: {v}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn registering_an_unknown_tenant_is_404() {
    let mut app = spawn_app().await;
    let (s, v) = app
        .post("/devices/register", json!({"tenant": "nosuch"}))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    assert!(v["error"].as_str().unwrap().contains("nosuch"), "{v}");
    app.stop().await;
}

#[tokio::test]
async fn tenant_and_device_crud() {
    let mut app = spawn_app().await;
    let t = app.tenant("acme", "prov", "s3cr3t-prov").await;
    assert_eq!(t["prov_pass"], "s3cr3t-prov", "shown once at creation");
    let (_, t) = app.get("/tenants/acme").await;
    assert!(t.get("prov_pass").is_none(), "not shown afterwards: {t}");
    let (_, cr) = app.get("/tenants/acme/credentials").await;
    assert_eq!(cr["prov_pass"], "s3cr3t-prov");

    // generated credentials when none are given
    let (s, g) = app
        .post(
            "/tenants",
            json!({"id": "gen", "sip_host": "10.0.0.1", "sip_port": 5070}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{g}");
    assert_eq!(g["prov_user"], "prov-gen");
    assert_eq!(g["prov_pass"].as_str().unwrap().len(), 20);

    let d = app.device("00-04-13-aa-bb-cc", "acme").await;
    assert_eq!(d["mac"], "000413AABBCC");
    assert_eq!(d["status"], "unregistered");
    assert_eq!(d["last_message"], "-");
    assert!(d["ztprov_user"].as_str().unwrap().starts_with("zt"));
    assert_eq!(d["ztprov_pass"].as_str().unwrap().len(), 20);
    let (_, got) = app.get("/devices/000413aabbcc").await;
    assert!(got.get("ztprov_pass").is_none());
    assert!(got["lines"][0].get("sip_password").is_none(), "{got}");
    let (_, cr) = app.get("/devices/00:04:13:AA:BB:CC/credentials").await;
    assert_eq!(cr["ztprov_pass"], d["ztprov_pass"]);
    assert!(cr["ztprov_url"]
        .as_str()
        .unwrap()
        .ends_with("/ztprov/snomD717-000413AABBCC.htm"));

    // bulk creation
    let many: Vec<Value> = (1..=20)
        .map(|i| {
            json!({"mac": format!("0004130000{i:02X}"), "model": "snomD785", "tenant": "gen",
                        "lines": [{"extension": format!("{}", 500 + i), "sip_password": "pw"}]})
        })
        .collect();
    let (s, v) = app.post("/devices", Value::Array(many)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v.as_array().unwrap().len(), 20);

    let (_, list) = app.get("/devices?tenant=gen").await;
    assert_eq!(list.as_array().unwrap().len(), 20);
    let (_, list) = app.get("/devices?q=505").await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    let (_, list) = app.get("/devices?model=snomD717").await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    let (_, page) = app.get("/devices?tenant=gen&limit=5&offset=5").await;
    let page = page.as_array().unwrap();
    assert_eq!(page.len(), 5);
    assert_eq!(page[0]["mac"], "000413000006");

    let (s, v) = app
        .admin_call(
            Method::PATCH,
            "/devices/000413AABBCC",
            Some(json!({"name": "Lobby", "tenant": "gen"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (
            v["name"].as_str(),
            v["tenant"].as_str(),
            v["revision"].as_i64()
        ),
        (Some("Lobby"), Some("gen"), Some(2))
    );

    let (s, v) = app.admin_call(Method::DELETE, "/tenants/gen", None).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    let (s, v) = app
        .admin_call(Method::DELETE, "/devices/000413AABBCC", None)
        .await;
    assert_eq!(s, StatusCode::OK, "never registered: removed at once");
    assert_eq!(v["removed"], json!(["000413AABBCC"]), "{v}");
    let (s, _) = app.get("/devices/000413AABBCC").await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    let (s, preview) = app.get("/devices/000413000001/preview").await;
    assert_eq!(s, StatusCode::OK);
    let text = preview.as_str().unwrap();
    let doc = roxmltree::Document::parse(text).unwrap();
    // The exact file a phone gets: its server URL and its MAC in it.
    let server = doc
        .descendants()
        .find(|n| n.has_tag_name("setting_server"))
        .and_then(|n| n.text())
        .unwrap();
    assert!(
        server.ends_with("/prov/snomD785-000413000001.htm"),
        "{text}"
    );
    assert!(text.contains(">501<"), "its line: {text}");
    app.stop().await;
}

#[tokio::test]
async fn bad_input_names_the_field_and_writes_nothing() {
    let mut app = spawn_app().await;
    app.tenant("acme", "prov", "s3cr3t-prov").await;
    let cases = [
        (
            json!({"mac": "zz", "model": "snomD717", "tenant": "acme"}),
            "mac",
            "invalid MAC address",
        ),
        (
            json!({"mac": "000413000001", "model": "snomD999", "tenant": "acme"}),
            "model",
            "unknown phone model",
        ),
        (
            json!({"mac": "805EC0000001", "model": "T46S", "vendor": "snom", "tenant": "acme"}),
            "vendor",
            "model yealinkT46S is a yealink phone, not a snom one",
        ),
        (
            json!({"mac": "805EC0000001", "model": "T46S", "vendor": "acme-phones", "tenant": "acme"}),
            "vendor",
            "unknown vendor",
        ),
        (
            json!({"mac": "000413000001", "model": "snomD717", "tenant": "Bad Id"}),
            "tenant",
            "invalid tenant id",
        ),
        (
            json!({"mac": "000413000001", "model": "snomD717", "tenant": "ghost"}),
            "tenant",
            "does not exist",
        ),
        (
            json!({"mac": "000413000001", "model": "snomD717"}),
            "tenant",
            "tenant is required",
        ),
        (
            json!({"mac": 12, "model": "snomD717", "tenant": "acme"}),
            "mac",
            "must be a string",
        ),
        (
            json!({"mac": "000413000001", "model": "snomD717", "tenant": "acme", "colour": "red"}),
            "body",
            "unknown field",
        ),
        (
            json!({"mac": "000413000001", "model": "snomD717", "tenant": "acme", "name": "a\u{1}b"}),
            "name",
            "control characters",
        ),
        (
            json!({"mac": "000413000001", "model": "snomD717", "tenant": "acme",
                "lines": [{"extension": "401", "sip_password": "a"}, {"idx": 1, "extension": "402", "sip_password": "b"}]}),
            "lines",
            "given twice",
        ),
        (
            json!({"mac": "000413000001", "model": "snomD717", "tenant": "acme",
                "lines": [{"extension": "40 1", "sip_password": "a"}]}),
            "lines",
            "SIP user",
        ),
        (
            json!({"mac": "000413000001", "model": "snomD717", "tenant": "acme",
                "settings": [{"name": "bad name", "value": "x"}]}),
            "settings",
            "setting name",
        ),
        (
            json!({"mac": "000413000001", "model": "snomD717", "tenant": "acme",
                "settings": [{"name": "x", "value": "x", "perm": "Q"}]}),
            // Nested fields are named by the top-level one, as a form groups them.
            "settings",
            "expected R, RW or !",
        ),
    ];
    for (body, field, msg) in cases {
        let (s, v) = app.post("/devices", body.clone()).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body} -> {v}");
        assert_eq!(v["field"], field, "{body} -> {v}");
        assert!(v["error"].as_str().unwrap().contains(msg), "{body} -> {v}");
    }
    let (s, v) = app
        .post(
            "/devices",
            json!({"mac": "zz", "model": "snomD717", "tenant": "acme"}),
        )
        .await;
    assert_eq!(
        (s, v["value"].as_str()),
        (StatusCode::BAD_REQUEST, Some("zz"))
    );
    let (_, list) = app.get("/devices").await;
    assert_eq!(list, json!([]), "nothing half-written");

    // a bulk request with one bad device creates none of them
    let (s, _) = app
        .post(
            "/devices",
            json!([{"mac": "000413000001", "model": "snomD717", "tenant": "acme"},
                                 {"mac": "bad", "model": "snomD717", "tenant": "acme"}]),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(app.get("/devices").await.1, json!([]));
    // and so does one that conflicts with an existing device halfway
    app.post(
        "/devices",
        json!({"mac": "000413000002", "model": "snomD717", "tenant": "acme"}),
    )
    .await;
    let (s, v) = app
        .post(
            "/devices",
            json!([{"mac": "000413000001", "model": "snomD717", "tenant": "acme"},
                                 {"mac": "000413000002", "model": "snomD717", "tenant": "acme"}]),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(
        app.get("/devices/000413000001").await.0,
        StatusCode::NOT_FOUND
    );
    app.admin_call(Method::DELETE, "/devices/000413000002", None)
        .await;

    for (body, field) in [
        (
            json!({"id": "acme2", "sip_host": "pbx", "prov_pass": "x".repeat(21)}),
            "prov_pass",
        ),
        (
            json!({"id": "acme2", "sip_host": "pbx", "sip_port": 70000}),
            "sip_port",
        ),
        (
            json!({"id": "acme2", "sip_host": "pbx", "mode": "solo"}),
            "mode",
        ),
        (json!({"id": "acme2", "sip_host": "bad host/"}), "sip_host"),
    ] {
        let (s, v) = app.post("/tenants", body.clone()).await;
        assert_eq!(
            (s, v["field"].as_str()),
            (StatusCode::BAD_REQUEST, Some(field)),
            "{body} -> {v}"
        );
    }
    let (s, v) = app
        .post(
            "/tenants",
            json!({"id": "other", "sip_host": "pbx", "prov_user": "prov"}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert!(v["error"]
        .as_str()
        .unwrap()
        .contains("provisioning user prov is already used"));

    let r = app
        .http
        .post(format!("{}/tenants", app.admin))
        .bearer_auth(TOKEN)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("not valid JSON"));
    let (s, _) = app.get("/devices/zz").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = app.get("/nope").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    app.stop().await;
}

/// Every listener limits requests and connections per source, and answers
/// plainly when it does.
#[tokio::test]
async fn every_listener_limits_requests_and_connections_per_source() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut app = spawn_app_with(|c| {
        c.limits.requests_per_sec_per_ip = 2;
        c.limits.requests_burst_per_ip = 5;
        c.limits.connections_per_ip = 3;
    })
    .await;
    let admin_health = app.admin.replace("/api/v1", "/healthz");
    for url in [
        format!("{}/healthz", app.prov),
        admin_health,
        format!("{}/healthz", app.redirect),
    ] {
        let mut statuses = Vec::new();
        let mut retry = None;
        for _ in 0..8 {
            let r = app.http.get(&url).send().await.unwrap();
            statuses.push(r.status().as_u16());
            if r.status() == StatusCode::TOO_MANY_REQUESTS {
                retry = r.headers().get("retry-after").cloned();
            }
        }
        assert_eq!(&statuses[..5], &[200; 5], "{url}: {statuses:?}");
        assert!(statuses[5..].contains(&429), "{url}: {statuses:?}");
        assert!(retry.is_some(), "{url}: 429 says when to come back");
    }
    // Connections: three held open, the fourth is answered and closed.
    let addr = app.prov.trim_start_matches("http://").to_owned();
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(tokio::net::TcpStream::connect(&addr).await.unwrap());
    }
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let mut fourth = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let _ = fourth
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    let mut answer = String::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        fourth.read_to_string(&mut answer),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 429"), "{answer}");
    assert!(answer.contains("too many connections"), "{answer}");
    drop(held);
    app.stop().await;
}

/// A device may carry the serial number on its label, for clouds that
/// register by it: set on create, changed, cleared with `null`, refused when
/// malformed, and in the CSV's `serial` column both ways.
#[tokio::test]
async fn devices_carry_a_serial_number() {
    let mut app = spawn_app().await;
    app.tenant("acme", "prov-acme", "s3cr3t-prov").await;
    let (s, v) = app
        .post(
            "/devices",
            json!({"mac": "805EC0000001", "model": "T46S", "tenant": "acme", "serial": "801234567890"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["serial"], "801234567890");
    let (s, v) = app
        .post("/devices", json!({"mac": "805EC0000002", "model": "T46S", "tenant": "acme", "serial": "has space"}))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(
        v["error"].as_str().unwrap().contains("serial number"),
        "{v}"
    );
    let patch = |body: serde_json::Value| {
        let app = &app;
        async move {
            app.admin_call(reqwest::Method::PATCH, "/devices/805EC0000001", Some(body))
                .await
                .1
        }
    };
    assert_eq!(
        patch(json!({"name": "Desk"})).await["serial"],
        "801234567890",
        "absent: kept"
    );
    assert_eq!(patch(json!({"serial": "X-2"})).await["serial"], "X-2");
    assert_eq!(
        patch(json!({"serial": null})).await["serial"],
        serde_json::Value::Null
    );

    let r = app
        .http
        .post(format!("{}/devices/import", app.admin))
        .bearer_auth(TOKEN)
        .header("content-type", "text/csv")
        .body("mac,model,tenant,serial\n805EC0000003,T46S,acme,SN-3\n805EC0000004,T46S,acme,\n")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (_, d) = app.get("/devices/805EC0000003").await;
    assert_eq!(d["serial"], "SN-3");
    let csv = app
        .http
        .get(format!("{}/devices/export", app.admin))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let header = csv.lines().next().unwrap();
    assert!(header.ends_with(",vendor,serial"), "{header}");
    assert!(csv.contains(",yealink,SN-3\n"), "{csv}");
    app.stop().await;
}
