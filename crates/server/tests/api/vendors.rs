//! Phones of other vendors than Snom, end to end through the provisioning
//! server: their file names, their formats (golden output, as
//! `docs/vendors/<vendor>.md` describes them) and the files they must not get.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

/// A Yealink T46S of tenant `acme` (the tenant's pair): the first contact
/// hands it the `/prov/` folder and the pair, the folder holds its `{mac}.cfg`
/// and its model's `y000000000066.cfg`, and `.boot` files are not there.
#[tokio::test]
async fn a_yealink_phone_gets_its_files_in_yealink_format() {
    let mut app = spawn_app_with(basic_only).await;
    app.tenant("acme", "prov-acme", "s3cr3t-prov").await;
    let (s, _) = app
        .admin_call(
            reqwest::Method::PATCH,
            "/tenants/acme",
            Some(json!({"settings": [{"name": "lang.gui", "value": "German"}]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = app
        .post(
            "/devices",
            json!({"mac": "80:5E:C0:12:34:56", "model": "T46S", "tenant": "acme", "name": "Desk",
                   "lines": [{"extension": "401", "sip_password": "sip-secret", "display_name": "Alice Ä"}],
                   "settings": [{"name": "account.1.dtmf.type", "value": "2"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["model"], "yealinkT46S");
    let get = |path: &str, user: &str, pass: &str| {
        app.http
            .get(format!("{}{path}", app.prov))
            .basic_auth(user.to_owned(), Some(pass.to_owned()))
            .send()
    };
    let (zu, zp) = (
        v["ztprov_user"].as_str().unwrap(),
        v["ztprov_pass"].as_str().unwrap(),
    );
    // The URLs an admin reads are the vendor's: Yealink's are folders.
    let (_, c) = app.get("/devices/805EC0123456/credentials").await;
    assert_eq!(c["ztprov_url"], format!("{}/ztprov/", app.prov));
    assert_eq!(c["prov_url"], format!("{}/prov/", app.prov));

    let r = get("/ztprov/805ec0123456.cfg", zu, zp).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "text/plain; charset=utf-8");
    assert_eq!(
        r.text().await.unwrap(),
        format!(
            "#!version:1.0.0.1\n\
             ## touchless: zero-touch step for 805ec0123456 (yealinkT46S); points the phone at its provisioning server.\n\
             static.auto_provision.server.url = {prov}/prov/\n\
             static.auto_provision.server.username = prov-acme\n\
             static.auto_provision.server.password = s3cr3t-prov\n",
            prov = app.prov
        )
    );

    let r = get("/prov/805ec0123456.cfg", "prov-acme", "s3cr3t-prov")
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.text().await.unwrap(),
        format!(
            "#!version:1.0.0.1\n\
             ## touchless: yealinkT46S 805ec0123456 of tenant acme, revision 1\n\
             static.auto_provision.server.url = {prov}/prov/\n\
             static.auto_provision.server.username = prov-acme\n\
             static.auto_provision.server.password = s3cr3t-prov\n\
             account.1.enable = 1\n\
             account.1.label = Alice Ä\n\
             account.1.display_name = Alice Ä\n\
             account.1.auth_name = 401\n\
             account.1.user_name = 401\n\
             account.1.password = sip-secret\n\
             account.1.sip_server.1.address = pbx.example.com\n\
             account.1.sip_server.1.port = 5060\n\
             lang.gui = German\n\
             account.1.dtmf.type = 2\n",
            prov = app.prov
        )
    );

    let r = get("/prov/y000000000066.cfg", "prov-acme", "s3cr3t-prov")
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.text().await.unwrap(),
        "#!version:1.0.0.1\n\
         ## touchless: settings for every yealinkT46S of tenant acme\n\
         lang.gui = German\n"
    );

    // Files that would change what the phone asks for, or that touchless
    // does not serve: not found, before any authentication.
    for path in [
        "/prov/805ec0123456.boot",
        "/prov/y000000000000.boot",
        "/prov/805ec0123456-local.cfg",
        "/prov/805ec0123456-contact.xml",
        "/prov/805EC0123456.cfg",
    ] {
        let r = get(path, "prov-acme", "s3cr3t-prov").await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
    }
    // The first-contact folder serves the device's own file only.
    let r = get("/ztprov/y000000000066.cfg", zu, zp).await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    app.stop().await;
}

/// A vendor no provider kind registers yet: its device fails with words that
/// say so, and the Snom phone beside it is registered as before.
#[tokio::test]
async fn a_vendor_without_a_provider_kind_fails_in_words() {
    let mut app = spawn_app_with(crate::daemon::fast).await;
    app.tenant("acme", "prov-acme", "s3cr3t-prov").await;
    let (s, v) = app
        .post(
            "/devices",
            json!([{"mac": "805EC0123456", "model": "T46S", "tenant": "acme"},
                   {"mac": "000413BA0001", "model": "snomD717", "tenant": "acme"}]),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (key, secret) = crate::daemon::own_redirect_account(&app, "write").await;
    let local = format!("{}/api/v1/", app.redirect);
    crate::daemon::provider(&app, "local", &local, &key, &secret, None).await;
    app.post("/devices/register", json!({"all": true})).await;
    let list = crate::daemon::settle(&app).await;
    let by = |mac: &str| list.iter().find(|d| d["mac"] == mac).unwrap().clone();
    assert_eq!(by("000413BA0001")["status"], "registered");
    assert_eq!(by("805EC0123456")["status"], "failed");
    assert_eq!(
        by("805EC0123456")["last_message"],
        "no master provider for yealink phones is configured, and no provider kind of this touchless registers yealink phones (it speaks snom)"
    );
    app.stop().await;
}
