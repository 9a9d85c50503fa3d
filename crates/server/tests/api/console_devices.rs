//! The console's device pages over plain HTTP: CSV import and export, the
//! dashboard, deleting a selection, rotating credentials, and an endpoint's
//! settings in the redirection portal.

use reqwest::header::COOKIE;
use reqwest::StatusCode;
use serde_json::json;

use crate::console::{csrf_of, first_admin, page_of, post_form, Console};
use crate::helpers::*;

#[tokio::test]
async fn devices_import_from_csv_all_or_nothing_and_export_back() {
    let mut app = spawn_app().await;
    app.tenant("acme", "prov-acme", "s3cr3t-prov").await;
    let post_csv = |path: &str, body: &str| {
        let req = app
            .http
            .post(format!("{}{path}", app.admin))
            .bearer_auth(TOKEN)
            .header("content-type", "text/csv")
            .body(body.to_owned());
        async move {
            let r = req.send().await.unwrap();
            (r.status(), r.json::<serde_json::Value>().await.unwrap())
        }
    };
    let good = "mac,model,tenant,name,lines,settings\n\
                000413AA0001,snomD717,acme,Reception,401:s1:Alice|402:s2,language=Deutsch|user_idle_text[1]=Hi\n\
                00:04:13:AA:00:02,snomD785,acme,\"Desk, left\",403:s3,\n";
    let (s, r) = post_csv("/devices/import?dry_run=true", good).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(
        (
            r["rows"].as_u64(),
            r["created"].as_u64(),
            r["dry_run"].as_bool()
        ),
        (Some(2), Some(0), Some(true))
    );
    assert_eq!(
        app.get("/devices").await.1.as_array().unwrap().len(),
        0,
        "a dry run writes nothing"
    );

    let bad = "mac,model,tenant,lines\n\
               000413AA0003,snomD717,acme,404:s4\n\
               not-a-mac,snomD717,acme,405:s5\n\
               000413AA0005,snomD717,nowhere,406\n";
    let (s, r) = post_csv("/devices/import", bad).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{r}");
    let problems: Vec<(u64, String)> = r["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["row"].as_u64().unwrap(),
                p["column"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        problems,
        [(3, "mac".to_owned()), (4, "lines".to_owned())],
        "{r}"
    );
    assert_eq!(
        app.get("/devices").await.1.as_array().unwrap().len(),
        0,
        "nothing unless every row is good"
    );
    let (s, r) = post_csv(
        "/devices/import",
        "mac,model,tenant\n000413AA0009,snomD717,nowhere\n",
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(r["problems"][0]["reason"], "tenant nowhere does not exist");
    let (s, r) = post_csv("/devices/import", "mac,model,pin\n").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let columns: Vec<_> = r["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["column"].as_str().unwrap())
        .collect();
    assert_eq!(
        columns,
        ["pin", "tenant"],
        "unknown and missing columns: {r}"
    );

    let (s, r) = post_csv("/devices/import", good).await;
    assert_eq!((s, r["created"].as_u64()), (StatusCode::OK, Some(2)), "{r}");
    let (s, r) = post_csv("/devices/import", good).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(
        r["problems"][0]["reason"],
        "device 000413AA0001 already exists"
    );
    let (_, d) = app.get("/devices/000413AA0001").await;
    assert_eq!(d["lines"][0]["display_name"], "Alice");
    assert_eq!(d["settings"][1]["value"], "Hi");

    let export = |q: &'static str| {
        let req = app
            .http
            .get(format!("{}/devices/export{q}", app.admin))
            .bearer_auth(TOKEN);
        async move { req.send().await.unwrap().text().await.unwrap() }
    };
    let plain = export("").await;
    assert!(
        plain.contains("401::Alice|402:"),
        "no SIP password unless asked: {plain}"
    );
    let full = export("?secrets=true").await;
    assert!(
        full.contains("401:s1:Alice|402:s2") && full.contains("\"Desk, left\""),
        "{full}"
    );
    // What export writes, import reads: into a fresh installation, the same devices.
    let mut other = spawn_app().await;
    other.tenant("acme", "prov-acme", "s3cr3t-prov").await;
    let r = other
        .http
        .post(format!("{}/devices/import", other.admin))
        .bearer_auth(TOKEN)
        .header("content-type", "text/csv")
        .body(full)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (_, d2) = other.get("/devices/000413AA0001").await;
    assert_eq!(
        (&d2["lines"], &d2["settings"], &d2["name"]),
        (&d["lines"], &d["settings"], &d["name"])
    );
    other.stop().await;
    app.stop().await;
}

#[tokio::test]
async fn the_dashboard_says_what_needs_attention_and_who_asked() {
    let mut app = spawn_app().await;
    let c = Console::of(&app);
    let (user, password) = first_admin(&app);
    app.acme_with_devices(&["000413AD0001"]).await;
    app.post(
        "/providers",
        json!({"name": "snom", "base_url": "http://127.0.0.1:9/api/v1/", "access_key_id": "k", "secret": "s"}),
    )
    .await;
    // A phone asks (without credentials: a 401 is a contact too).
    let r = app
        .http
        .get(format!("{}/prov/snomD717-000413AD0001.htm", app.prov))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let admin = c.session(&user, &password).await;
    let t = std::time::Instant::now();
    let page = loop {
        let (_, page) = c.get("/", &admin).await;
        if page.contains("000413AD0001") {
            break page;
        }
        assert!(
            t.elapsed() < std::time::Duration::from_secs(10),
            "no contact shown: {page}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert!(page.contains("Needs attention"), "{page}");
    assert!(
        page.contains("Provider <a href=\"&#x2f;providers#provider-snom\">snom</a>")
            || page.contains("provider-snom"),
        "{page}"
    );
    assert!(page.contains("127.0.0.1:9"), "the Test's own words: {page}");
    app.stop().await;
}

#[tokio::test]
async fn selected_devices_are_deleted_and_registered_ones_deregistered_first() {
    let mut app = spawn_app().await;
    let c = Console::of(&app);
    let (user, password) = first_admin(&app);
    app.acme_with_devices(&["000413AE0001", "000413AE0002", "000413AE0003"])
        .await;
    // One has been registered (its event is queued), so it may be at a provider.
    app.post("/devices/register", json!({"macs": ["000413AE0002"]}))
        .await;
    let admin = c.session(&user, &password).await;
    let csrf = csrf_of(&page_of(&c, &admin).await);
    let r = c
        .http
        .post(format!("{}/devices/action", c.base))
        .header(COOKIE, &admin)
        .header("accept", "application/json")
        .form(&[
            ("csrf", csrf.as_str()),
            ("action", "delete"),
            ("mac", "000413AE0001"),
            ("mac", "000413AE0002"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let done: serde_json::Value = r.json().await.unwrap();
    assert_eq!(done["removed"], json!(["000413AE0001"]), "{done}");
    assert_eq!(done["pending"], json!(["000413AE0002"]), "{done}");
    assert!(done["message"]
        .as_str()
        .unwrap()
        .starts_with("1 device(s) deleted; 1 being deregistered first"));
    assert_eq!(
        app.get("/devices/000413AE0001").await.0,
        StatusCode::NOT_FOUND
    );
    let (_, d) = app.get("/devices/000413AE0002").await;
    assert_eq!(d["removing"], true);
    assert_eq!(
        app.get("/devices/000413AE0003").await.0,
        StatusCode::OK,
        "not selected"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_credentials_and_an_endpoints_settings_in_the_portal() {
    let mut app = spawn_app_with(|c| {
        crate::daemon::fast(c);
        c.daemon.bootstrap_local_provider = true;
    })
    .await;
    let c = Console::of(&app);
    let (user, password) = first_admin(&app);
    app.acme_with_devices(&["000413AF0001"]).await;
    let (_, before) = app.get("/devices/000413AF0001").await;
    let admin = c.session(&user, &password).await;
    let csrf = csrf_of(&page_of(&c, &admin).await);
    let (s, _) = post_form(
        &c,
        &admin,
        "/devices/000413AF0001/rotate",
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let t = std::time::Instant::now();
    let after = loop {
        let (_, d) = app.get("/devices/000413AF0001").await;
        if d["status"] == "registered" {
            break d;
        }
        assert!(t.elapsed() < std::time::Duration::from_secs(20), "{d}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_ne!(
        after["prov_user"], before["prov_user"],
        "new /prov credentials"
    );
    assert_ne!(
        after["ztprov_user"], before["ztprov_user"],
        "new ztprov credentials, pushed"
    );

    // The endpoint the local redirection service now holds, with its settings.
    let (s, page) = c.get("/portal/endpoints/000413AF0001", &admin).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    let page = page.replace("&#x2f;", "/");
    assert!(
        page.contains("setting_server") && page.contains("/ztprov/snomD717-000413AF0001.htm"),
        "{page}"
    );
    assert!(page.contains("***"), "the password is masked: {page}");
    assert!(
        page.contains(after["ztprov_user"].as_str().unwrap()),
        "the phone's new HTTP user: {page}"
    );
    app.stop().await;
}
