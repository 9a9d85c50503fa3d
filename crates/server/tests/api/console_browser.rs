//! The web console in a real Chromium (through `webdriver`): the pages an
//! admin clicks through as the seed describes them, with screenshots for a
//! reviewer in `$TOUCHLESS_SCREENSHOTS` (default `/tmp/touchless-screenshots`).

use reqwest::StatusCode;
use serde_json::json;

use crate::console::first_admin;
use crate::helpers::*;
use crate::webdriver::Browser;

/// Where the browser tests leave their screenshots.
pub(crate) fn screenshots() -> std::path::PathBuf {
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

    b.find("nav a[href='/users']").await.click().await;
    b.wait_for_text("Add an account").await;
    b.find("#u-name").await.type_text("ann").await;
    b.script("document.getElementById('u-tenant').value = 'acme'")
        .await;
    b.find("#add-user").await.click().await;
    b.wait_for_text("Password, shown this once").await;
    assert_eq!(b.find("#new-password").await.text().await.len(), 20);
    b.screenshot(&shots.join("users.png")).await;
    b.find("nav a[href='/audit']").await.click().await;
    b.wait_for_text("user-add").await;
    b.screenshot(&shots.join("audit.png")).await;

    b.find("#sign-out").await.click().await;
    b.wait_for_text("Sign in").await;
    b.goto(&format!("{base}/devices")).await;
    assert!(b.url().await.ends_with("/login"), "signed out for good");
    b.quit().await;
    println!("screenshots in {}", shots.display());
    app.stop().await;
}

/// What a Poly phone uploaded is on its device page, as downloads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phones_uploaded_log_is_on_its_device_page() {
    let mut app = spawn_app().await;
    let (user, password) = first_admin(&app);
    app.tenant("acme", "prov-acme", "s3cr3t-prov").await;
    let (s, v) = app
        .post(
            "/devices",
            json!({"mac": "0004F2ABCDEF", "model": "VVX450", "tenant": "acme",
                   "lines": [{"extension": "401", "sip_password": "pw"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (_, c) = app.get("/devices/0004F2ABCDEF/credentials").await;
    let (pu, pp) = (
        c["prov_user"].as_str().unwrap(),
        c["prov_pass"].as_str().unwrap(),
    );
    let url = format!("{}/prov/0004f2abcdef-app.log", app.prov);
    let log = b"0101000000|cfg  |4|00|Prm|device.set changed\n".to_vec();
    assert_eq!(digest_put(&url, log, pu, pp).await, StatusCode::NO_CONTENT);
    let base = app.admin.trim_end_matches("/api/v1").to_owned();

    let b = Browser::start().await;
    sign_in_browser(&b, &base, &user, &password).await;
    b.goto(&format!("{base}/devices/0004F2ABCDEF")).await;
    b.wait_for_text("Files the phone sent").await;
    let link = b.find("#uploads-h + table a").await;
    assert_eq!(link.text().await, "app.log");
    // The link downloads the bytes as the phone sent them.
    let got = b
        .wait_for_script(
            "const a = document.querySelector('#uploads-h + table a'); \
             return fetch(a.href).then(r => r.text());",
            "",
        )
        .await;
    assert_eq!(got, "0101000000|cfg  |4|00|Prm|device.set changed\n");
    // Its first-contact URL carries its one-time pair: the password shows
    // only when asked for, as it does beside it.
    let shown = b.find("#ztprov-url").await.text().await;
    let zp = c["ztprov_pass"].as_str().unwrap();
    assert!(shown.ends_with("/…/") && !shown.contains(zp), "{shown}");
    assert!(
        !b.text().await.contains(zp),
        "the password is nowhere on the page"
    );
    b.find("#reveal").await.click().await;
    assert_eq!(
        b.find("#ztprov-url-full").await.text().await,
        c["ztprov_url"]
    );
    b.tall(1300).await;
    b.screenshot(&screenshots().join("device-uploads.png"))
        .await;
    b.quit().await;
    app.stop().await;
}

pub(crate) async fn sign_in_browser(b: &Browser, base: &str, user: &str, password: &str) {
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
    // The page shows the URL already (the provider's row): wait for the
    // answer itself, which sets the result's class.
    assert_eq!(
        b.wait_for_script(
            "return document.getElementById('result-snom').className",
            ""
        )
        .await,
        "bad"
    );
    b.wait_for_text("127.0.0.1:9").await;
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
async fn an_api_key_is_created_with_a_role_and_its_secret_shown_once() {
    let mut app = spawn_app().await;
    let (user, password) = first_admin(&app);
    let base = app.admin.trim_end_matches("/api/v1").to_owned();
    let b = Browser::start().await;
    sign_in_browser(&b, &base, &user, &password).await;
    b.find("nav a[href='/portal']").await.click().await;
    b.wait_for_text("API keys").await;
    b.find("#c-name").await.type_text("Acme Telecom").await;
    b.find("#add-company").await.click().await;
    b.wait_for_text("Company Acme Telecom added.").await;
    b.script("document.getElementById('k-role').value = 'read'")
        .await;
    b.find("#create-key").await.click().await;
    b.wait_for_text("shown this once").await;
    let secret = b.find("#new-secret").await.text().await;
    assert_eq!(secret.len(), 40);
    b.screenshot(&screenshots().join("portal.png")).await;
    let (_, keys) = app.get("/redirect/keys").await;
    let key = &keys[0];
    assert_eq!(key["role"], "read");
    assert!(
        key.get("secret").is_none(),
        "the API never answers it again"
    );
    b.goto(&format!("{base}/portal")).await;
    b.wait_for_text("API keys").await;
    assert!(!b.text().await.contains(&secret), "shown exactly once");
    let id = key["id"].as_str().unwrap();
    b.find(&format!("#revoke-{id}")).await.click().await;
    b.wait_for_text("revoked").await;
    let (_, keys) = app.get("/redirect/keys").await;
    assert_eq!(keys[0]["enabled"], false);
    b.quit().await;
    app.stop().await;
}

#[tokio::test]
async fn a_thousand_devices_are_imported_from_a_file_after_a_bad_one_wrote_nothing() {
    let mut app = spawn_app().await;
    let (user, password) = first_admin(&app);
    app.tenant("acme", "prov-acme", "s3cr3t-prov").await;
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, bad_row: Option<usize>| {
        let mut text = String::from("mac,model,tenant,name,lines,settings\n");
        for i in 0..1000usize {
            let mac = if Some(i) == bad_row {
                "000413ZZZZZZ".to_owned()
            } else {
                format!("000413B{i:05X}")
            };
            text.push_str(&format!(
                "{mac},snomD717,acme,Desk {i},{}:pw{i}:Desk {i},language=English\n",
                1000 + i
            ));
        }
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let bad = write("bad.csv", Some(500));
    let good = write("good.csv", None);
    let base = app.admin.trim_end_matches("/api/v1").to_owned();
    let b = Browser::start().await;
    sign_in_browser(&b, &base, &user, &password).await;
    b.goto(&format!("{base}/devices")).await;
    b.find("a[href='/devices/import']").await.click().await;
    b.wait_for_text("Import devices from CSV").await;

    b.find("#i-file")
        .await
        .type_text(bad.to_str().unwrap())
        .await;
    b.find("#import-go").await.click().await;
    b.wait_for_text("nothing was imported").await;
    let text = b.text().await;
    assert!(text.contains("1 problem(s) in 1000 row(s)"), "{text}");
    assert!(
        text.contains("502 mac"),
        "row 502 (the header is row 1), column mac: {text}"
    );
    let (_, list) = app.get("/devices").await;
    assert_eq!(
        list.as_array().unwrap().len(),
        0,
        "a bad row writes nothing"
    );
    b.screenshot(&screenshots().join("import-refused.png"))
        .await;

    b.goto(&format!("{base}/devices/import")).await;
    b.wait_for_text("Import devices from CSV").await;
    b.find("#i-file")
        .await
        .type_text(good.to_str().unwrap())
        .await;
    b.find("#import-go").await.click().await;
    b.wait_for_text("1000 device(s) imported.").await;
    assert_eq!(
        b.script("return document.getElementById('i-progress').value")
            .await,
        100
    );
    b.screenshot(&screenshots().join("import-done.png")).await;
    let (_, list) = app.get("/devices?tenant=acme").await;
    assert_eq!(list.as_array().unwrap().len(), 1000);
    b.quit().await;
    app.stop().await;
}

/// The seed's walkthrough, clicked: a tenant, a device with a line, a
/// provider that tests OK, Register and watch, edit, delete, sign out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_walkthrough_clicked_through_in_the_console() {
    let fake = crate::fake_sraps::FakeSraps::start(std::time::Duration::from_millis(100)).await;
    let mut app = spawn_app_with(crate::daemon::fast).await;
    let (user, password) = first_admin(&app);
    let base = app.admin.trim_end_matches("/api/v1").to_owned();
    let b = Browser::start().await;
    sign_in_browser(&b, &base, &user, &password).await;

    b.find("nav a[href='/tenants']").await.click().await;
    b.wait_for_text("Add a tenant").await;
    b.find("#t-id").await.type_text("acme").await;
    b.find("#t-host").await.type_text("pbx.example.com").await;
    b.find("#add-tenant").await.click().await;
    b.wait_for_text("Settings of the tenant").await;

    b.goto(&format!("{base}/devices")).await;
    b.find("#add-device").await.click().await;
    b.wait_for_text("Add a device").await;
    b.find("#d-mac").await.type_text("00:04:13:AB:CD:EF").await;
    b.find("#d-name").await.type_text("Reception").await;
    b.find("#d-lines")
        .await
        .type_text("401:sip-secret:Alice")
        .await;
    b.find("#save-device").await.click().await;
    b.wait_for_text("What the phone is handed").await;
    assert!(b.url().await.ends_with("/devices/000413ABCDEF"));

    b.find("nav a[href='/providers']").await.click().await;
    b.wait_for_text("Add a provider").await;
    b.find("#new-name").await.type_text("snom").await;
    b.find("#new-url").await.type_text(&fake.url()).await;
    b.find("#new-key").await.type_text("key-id").await;
    b.find("#new-secret").await.type_text("key-secret").await;
    b.find("#add-provider").await.click().await;
    b.wait_for_text("master account").await;
    b.find("#test-snom").await.click().await;
    b.wait_for_text("OK, company Fake Cloud").await;

    b.goto(&format!("{base}/devices/000413ABCDEF")).await;
    b.find("#register").await.click().await;
    let t = std::time::Instant::now();
    loop {
        let s = b
            .script("const e = document.getElementById('status'); return e ? e.textContent : ''")
            .await;
        if s == "registered" {
            break;
        }
        assert!(
            t.elapsed() < std::time::Duration::from_secs(20),
            "still {s}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        b.goto(&format!("{base}/devices/000413ABCDEF")).await;
    }
    assert_eq!(b.find("#last-message").await.text().await, "-");
    assert!(
        b.text().await.contains("register done"),
        "the event history"
    );

    b.find("#edit").await.click().await;
    b.wait_for_text("Edit 000413ABCDEF").await;
    assert_eq!(
        b.script("return document.getElementById('d-lines').value")
            .await,
        "401::Alice",
        "the SIP password is not shown"
    );
    b.script("document.getElementById('d-name').value = 'Front desk'")
        .await;
    b.screenshot(&screenshots().join("device-edit.png")).await;
    b.find("#save-device").await.click().await;
    b.wait_for_text("Front desk").await;
    b.screenshot(&screenshots().join("device-registered.png"))
        .await;
    let (_, d) = app.get("/devices/000413ABCDEF").await;
    assert_eq!(d["name"], "Front desk");
    let store = touchless_store::open(&app.database_url).await.unwrap();
    let kept = store
        .get_device(touchless_domain::Mac::parse("000413ABCDEF").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept.lines[0].sip_password.as_str(), "sip-secret", "kept");
    store.close().await;

    // Delete: deregistered at the provider first, then gone.
    b.find("#delete").await.click().await;
    let t = std::time::Instant::now();
    loop {
        let (s, _) = app.get("/devices/000413ABCDEF").await;
        if s == StatusCode::NOT_FOUND {
            break;
        }
        assert!(
            t.elapsed() < std::time::Duration::from_secs(20),
            "not deleted"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(fake.state.recorded.lock().unwrap().deletes.len(), 1);
    b.find("#sign-out").await.click().await;
    b.wait_for_text("Sign in").await;
    b.quit().await;
    app.stop().await;
}
