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

/// A vendor whose cloud has no provider configured: its device fails with
/// words naming the kind to add, and the Snom phone beside it is registered
/// as before.
#[tokio::test]
async fn a_vendor_without_a_provider_fails_naming_its_kind() {
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
        "no master provider for yealink phones is configured; add one with `touchless provider add --kind ymcs`"
    );
    app.stop().await;
}

/// The contacts of a device, once `n` requests are recorded.
async fn contacts(app: &TestApp, mac: &str, n: u64) -> Vec<serde_json::Value> {
    let mut list = Vec::new();
    for _ in 0..100 {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        list = app
            .get(&format!("/devices/{mac}/contacts"))
            .await
            .1
            .as_array()
            .cloned()
            .unwrap_or_default();
        if list
            .iter()
            .map(|c| c["hits"].as_u64().unwrap())
            .sum::<u64>()
            >= n
        {
            break;
        }
    }
    list
}

/// A Fanvil X6U of tenant `acme`: its cloud hands out a server and a path
/// but no pair, so the first fetch carries its one-time pair in the path,
/// opens only its own first-contact file, and never shows in a log; the
/// file sets the tenant's pair for `/prov/{mac}.cfg`, which is `<sysConf>`
/// XML with the settings as nested elements.
#[tokio::test]
async fn a_fanvil_phone_fetches_first_with_its_pair_in_the_path() {
    let mut app = spawn_app_with(basic_only).await;
    app.tenant("acme", "prov-acme", "s3cr3t-prov").await;
    let (s, _) = app
        .admin_call(
            reqwest::Method::PATCH,
            "/tenants/acme",
            Some(json!({"settings": [{"name": "phone.display.DefaultLanguage", "value": "de"}]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = app
        .post(
            "/devices",
            json!([{"mac": "0C:38:3E:12:34:56", "model": "X6U", "tenant": "acme",
                    "lines": [{"extension": "401", "sip_password": "sip<&>secret", "display_name": "Alice Ä"}],
                    "settings": [{"name": "sip.line.DTMFMode", "idx": 1, "value": "2"}]},
                   {"mac": "805EC0000001", "model": "T46S", "tenant": "acme"}]),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v[0]["model"], "fanvilX6U");
    assert_eq!(v[0]["vendor"], "fanvil");
    let (zu, zp) = (
        v[0]["ztprov_user"].as_str().unwrap().to_owned(),
        v[0]["ztprov_pass"].as_str().unwrap().to_owned(),
    );
    let (_, c) = app.get("/devices/0C383E123456/credentials").await;
    assert_eq!(c["ztprov_url"], format!("{}/ztprov/{zu}/{zp}/", app.prov));
    assert_eq!(c["prov_url"], format!("{}/prov/0c383e123456.cfg", app.prov));

    // The pair in the path: no header, no challenge.
    let r = app
        .http
        .get(format!("{}/ztprov/{zu}/{zp}/0c383e123456.cfg", app.prov))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "text/xml; charset=utf-8");
    assert_eq!(
        r.text().await.unwrap(),
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<!-- touchless: zero-touch step for 0c383e123456 (fanvilX6U); points the phone at its provisioning server. -->
<sysConf>
    <Version>2.0002</Version>
    <ap>
        <FlashServerIP>{prov}</FlashServerIP>
        <FlashFileName>prov/0c383e123456.cfg</FlashFileName>
        <FlashProtocol>4</FlashProtocol>
        <DefaultUsername>prov-acme</DefaultUsername>
        <DefaultPassword>s3cr3t-prov</DefaultPassword>
    </ap>
</sysConf>"#,
            prov = app.prov
        )
    );
    let get = |path: String, pair: Option<(&str, &str)>| {
        let r = app.http.get(format!("{}{path}", app.prov));
        match pair {
            Some((u, p)) => r.basic_auth(u, Some(p)),
            None => r,
        }
        .send()
    };
    // A wrong pair, another device's file, the steady folder, and a vendor
    // whose phones present their pair in a header: the same 401.
    for path in [
        format!("/ztprov/{zu}/wrong/0c383e123456.cfg"),
        format!("/ztprov/{zu}/{zp}/805ec0000001.cfg"),
        format!("/prov/{zu}/{zp}/0c383e123456.cfg"),
        "/prov/prov-acme/s3cr3t-prov/0c383e123456.cfg".to_owned(),
    ] {
        let r = get(path.clone(), None).await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
    let yealink = &v[1];
    let r = get(
        format!(
            "/ztprov/{}/{}/805ec0000001.cfg",
            yealink["ztprov_user"].as_str().unwrap(),
            yealink["ztprov_pass"].as_str().unwrap()
        ),
        None,
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    let r = get(
        "/prov/0c383e123456.cfg".into(),
        Some(("prov-acme", "s3cr3t-prov")),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.text().await.unwrap(),
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<!-- touchless: fanvilX6U 0c383e123456, revision 1 -->
<sysConf>
    <Version>2.0002</Version>
    <ap>
        <FlashServerIP>{prov}</FlashServerIP>
        <FlashFileName>prov/0c383e123456.cfg</FlashFileName>
        <FlashProtocol>4</FlashProtocol>
        <DefaultUsername>prov-acme</DefaultUsername>
        <DefaultPassword>s3cr3t-prov</DefaultPassword>
    </ap>
    <sip>
        <line index="1">
            <PhoneNumber>401</PhoneNumber>
            <DisplayName>Alice Ä</DisplayName>
            <RegisterAddr>pbx.example.com</RegisterAddr>
            <RegisterPort>5060</RegisterPort>
            <RegisterUser>401</RegisterUser>
            <RegisterPswd>sip&lt;&amp;&gt;secret</RegisterPswd>
            <EnableReg>1</EnableReg>
            <DTMFMode>2</DTMFMode>
        </line>
    </sip>
    <phone>
        <display>
            <DefaultLanguage>de</DefaultLanguage>
        </display>
    </phone>
</sysConf>"#,
            prov = app.prov
        )
    );
    // A model-wide file, where the model has one.
    let r = get(
        "/prov/F0V00X600000.cfg".into(),
        Some(("prov-acme", "s3cr3t-prov")),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("<DefaultLanguage>de</DefaultLanguage>"));

    // The pair never shows in the access log or the contact log.
    let list = contacts(&app, "0C383E123456", 5).await;
    let paths: Vec<&str> = list.iter().map(|c| c["path"].as_str().unwrap()).collect();
    assert!(
        paths.contains(&"/ztprov/<pair>/0c383e123456.cfg"),
        "{paths:?}"
    );
    assert!(!format!("{list:?}").contains(&zp), "{list:?}");
    app.stop().await;
    // The access log is written out at the stop.
    let log = app.access_log();
    assert!(log.contains("/ztprov/<pair>/0c383e123456.cfg"), "{log}");
    assert!(!log.contains(&zp), "{log}");
}

/// A Gigaset N870 base has no setting for a pair: both folders carry it in
/// the path, and its files are `<param name= value=/>` lists.
#[tokio::test]
async fn a_gigaset_base_carries_its_pair_in_both_folders() {
    let mut app = spawn_app_with(basic_only).await;
    app.tenant("acme", "prov-acme", "s3cr3t/pr%v").await;
    let (s, v) = app
        .post(
            "/devices",
            json!({"mac": "7C2F80E0D605", "model": "N870", "tenant": "acme",
                   "lines": [{"extension": "401", "sip_password": "sip\"secret", "display_name": "Alice"}],
                   "settings": [{"name": "DmGlobal.0.TimeZone", "value": "Europe/Berlin"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["vendor"], "gigaset");
    let (zu, zp) = (
        v["ztprov_user"].as_str().unwrap(),
        v["ztprov_pass"].as_str().unwrap(),
    );
    let (_, c) = app.get("/devices/7C2F80E0D605/credentials").await;
    let steady = format!("{}/prov/prov-acme/s3cr3t%2Fpr%25v/", app.prov);
    assert_eq!(c["ztprov_url"], format!("{}/ztprov/{zu}/{zp}/", app.prov));
    assert_eq!(c["prov_url"], steady);

    let r = app
        .http
        .get(format!("{}/ztprov/{zu}/{zp}/7c2f80e0d605.xml", app.prov))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.text().await.unwrap(),
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<!-- touchless: zero-touch step for 7c2f80e0d605 (gigasetN870); points the base at its provisioning server. -->
<provisioning version="1.1" productID="e2">
    <nvm>
        <param name="Provisioning.global.ProvisioningServer" value="{steady}"/>
    </nvm>
</provisioning>"#
        )
    );
    let r = app
        .http
        .get(format!("{steady}7c2f80e0d605.xml"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.text().await.unwrap(),
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<!-- touchless: gigasetN870 7c2f80e0d605, revision 1 -->
<provisioning version="1.1" productID="e2">
    <nvm>
        <param name="Provisioning.global.ProvisioningServer" value="{steady}"/>
        <param name="SipProvider.0.Name" value="Tenant acme"/>
        <param name="SipProvider.0.Domain" value="pbx.example.com"/>
        <param name="SipProvider.0.ProxyServerAddress" value="pbx.example.com"/>
        <param name="SipProvider.0.ProxyServerPort" value="5060"/>
        <param name="SipProvider.0.RegServerAddress" value="pbx.example.com"/>
        <param name="SipProvider.0.RegServerPort" value="5060"/>
        <param name="SipAccount.00001.AuthName" value="401"/>
        <param name="SipAccount.00001.AuthPassword" value="sip&quot;secret"/>
        <param name="SipAccount.00001.UserName" value="401"/>
        <param name="SipAccount.00001.DisplayName" value="Alice"/>
        <param name="SipAccount.00001.ProviderId" value="0"/>
        <param name="DmGlobal.0.TimeZone" value="Europe/Berlin"/>
    </nvm>
</provisioning>"#
        )
    );
    // The steady pair opens nothing in the first-contact folder.
    let r = app
        .http
        .get(format!(
            "{}/ztprov/prov-acme/s3cr3t%2Fpr%25v/7c2f80e0d605.xml",
            app.prov
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    app.stop().await;
}

/// A Poly VVX 450: it asks for `{mac}.cfg` (a 404 for a Poly phone), takes
/// the public master `000000000000.cfg`, whose `CONFIG_FILES` names its own
/// `{mac}-user.cfg`; its first fetch carries the one-time pair in the path
/// (a ZTP profile holds one URL), and the file points it at `/prov/` with
/// its steady pair. It uploads its logs with `PUT`: kept per device, limited
/// in size, for its own pair only, visible to the admin.
#[tokio::test]
async fn a_poly_phone_gets_its_master_its_file_and_uploads_its_logs() {
    let mut app = spawn_app().await;
    app.tenant("acme", "prov-acme", "s3cr3t-prov").await;
    let (s, v) = app
        .post(
            "/devices",
            json!([{"mac": "0004F2ABCDEF", "model": "VVX450", "tenant": "acme",
                    "lines": [{"extension": "401", "sip_password": "sip\"secret", "display_name": "Alice <A>"}],
                    "settings": [{"name": "lcl.ml.lang", "value": "German_Germany"}]},
                   {"mac": "0C383E000009", "model": "X4U", "tenant": "acme"}]),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v[0]["vendor"], "poly");
    let (zu, zp) = (
        v[0]["ztprov_user"].as_str().unwrap().to_owned(),
        v[0]["ztprov_pass"].as_str().unwrap().to_owned(),
    );
    let (_, c) = app.get("/devices/0004F2ABCDEF/credentials").await;
    assert_eq!(c["ztprov_url"], format!("{}/ztprov/{zu}/{zp}/", app.prov));
    assert_eq!(c["prov_url"], format!("{}/prov/", app.prov));
    let user = c["prov_user"].as_str().unwrap().to_owned();
    let pass = c["prov_pass"].as_str().unwrap().to_owned();
    let ztprov = format!("{}/ztprov/{zu}/{zp}", app.prov);
    let http = &app.http;

    // Its own master: a 404 for a Poly phone, once the pair is checked.
    let r = http
        .get(format!("{ztprov}/0004f2abcdef.cfg"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // The shared master: public, in both folders, the same for every phone.
    for url in [
        format!("{ztprov}/000000000000.cfg"),
        format!("{}/prov/000000000000.cfg", app.prov),
    ] {
        let r = http.get(&url).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{url}");
        assert_eq!(
            r.text().await.unwrap(),
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<!-- touchless: the master file of every Poly phone; each phone's settings are in its own file. -->
<APPLICATION APP_FILE_PATH="sip.ld" CONFIG_FILES="[PHONE_MAC_ADDRESS]-user.cfg" MISC_FILES="" LOG_FILE_DIRECTORY="" OVERRIDES_DIRECTORY="" CONTACTS_DIRECTORY="" LICENSE_DIRECTORY=""/>"#
        );
    }
    let r = http
        .get(format!("{ztprov}/0004f2abcdef-user.cfg"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.text().await.unwrap(),
        format!(
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<!-- touchless: zero-touch step for 0004f2abcdef (polyVVX450); points the phone at its provisioning server. -->
<polycomConfig
  device.set="1"
  device.prov.serverType.set="1"
  device.prov.serverType="HTTP"
  device.prov.serverName.set="1"
  device.prov.serverName="{prov}/prov/"
  device.prov.user.set="1"
  device.prov.user="{user}"
  device.prov.password.set="1"
  device.prov.password="{pass}"
/>"#,
            prov = app.prov
        )
    );
    let (s, body) = digest_get(
        http,
        &format!("{}/prov/0004f2abcdef-user.cfg", app.prov),
        &user,
        &pass,
        "MD5",
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        body,
        format!(
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<!-- touchless: polyVVX450 0004f2abcdef, revision 1 -->
<polycomConfig
  device.set="1"
  device.prov.serverType.set="1"
  device.prov.serverType="HTTP"
  device.prov.serverName.set="1"
  device.prov.serverName="{prov}/prov/"
  device.prov.user.set="1"
  device.prov.user="{user}"
  device.prov.password.set="1"
  device.prov.password="{pass}"
  reg.1.address="401"
  reg.1.label="401"
  reg.1.displayName="Alice &lt;A&gt;"
  reg.1.auth.userId="401"
  reg.1.auth.password="sip&quot;secret"
  reg.1.server.1.address="pbx.example.com"
  reg.1.server.1.port="5060"
  lcl.ml.lang="German_Germany"
/>"#,
            prov = app.prov
        )
    );

    // Uploads: its own pair, Digest over PUT.
    let log_url = format!("{}/prov/0004f2abcdef-app.log", app.prov);
    let r = http.put(&log_url).body("boot log\n").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "a challenge first");
    for i in 0..7u8 {
        let body = format!("boot {i}\n").into_bytes();
        assert_eq!(
            digest_put(&log_url, body, &user, &pass).await,
            StatusCode::NO_CONTENT
        );
    }
    let cfg_url = format!("{}/prov/0004f2abcdef-phone.cfg", app.prov);
    let local = b"<PHONE_CONFIG><OVERRIDES up.backlight=\"1\"/></PHONE_CONFIG>".to_vec();
    assert_eq!(
        digest_put(&cfg_url, local, &user, &pass).await,
        StatusCode::NO_CONTENT
    );
    // Too large, a wrong pair, another vendor's phone, a name no phone uploads.
    assert_eq!(
        digest_put(&log_url, vec![b'x'; (1 << 20) + 1], &user, &pass).await,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    assert_eq!(
        digest_put(&log_url, b"x".to_vec(), &user, "wrong").await,
        StatusCode::UNAUTHORIZED
    );
    let r = http
        .put(format!("{}/prov/0004f2abcdef-user.cfg", app.prov))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    let r = http
        .put(format!("{ztprov}/0004f2abcdef-app.log"))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::METHOD_NOT_ALLOWED,
        "not into the first-contact folder"
    );
    let (_, fanvil) = app.get("/devices/0C383E000009/credentials").await;
    let r = http
        .put(format!("{}/prov/0c383e000009-app.log", app.prov))
        .basic_auth(
            fanvil["prov_user"].as_str().unwrap(),
            fanvil["prov_pass"].as_str(),
        )
        .body("x")
        .send()
        .await
        .unwrap();
    assert!(
        matches!(r.status(), StatusCode::UNAUTHORIZED | StatusCode::NOT_FOUND),
        "a Fanvil phone uploads nothing: {}",
        r.status()
    );

    // The admin sees the newest five logs and the settings file, newest first.
    let (s, list) = app.get("/devices/0004F2ABCDEF/uploads").await;
    assert_eq!(s, StatusCode::OK);
    let kinds: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "phone.cfg",
            "app.log",
            "app.log",
            "app.log",
            "app.log",
            "app.log"
        ]
    );
    let newest_log = list[1]["id"].as_i64().unwrap();
    let r = http
        .get(format!(
            "{}/devices/0004F2ABCDEF/uploads/{newest_log}",
            app.admin
        ))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/octet-stream");
    assert_eq!(
        r.headers()["content-disposition"],
        "attachment; filename=\"0004f2abcdef-app.log\""
    );
    assert_eq!(r.text().await.unwrap(), "boot 6\n");
    let (s, e) = app.get("/devices/0004F2ABCDEF/uploads/999999").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(e["error"], "device 0004F2ABCDEF has no upload 999999");
    app.stop().await;
}

/// A Gigaset P810, made on Snom's platform and carrying its OUI: the
/// registry's model makes it Gigaset's, and it gets the platform's files
/// under its own model's names; its first fetch carries the one-time pair in
/// the path, the file sets its pair for `/prov/`.
#[tokio::test]
async fn a_gigaset_desk_phone_gets_its_platforms_files() {
    let mut app = spawn_app().await;
    app.tenant("acme", "prov-acme", "s3cr3t-prov").await;
    let (s, v) = app
        .post(
            "/devices",
            json!({"mac": "000413E50001", "model": "P810", "tenant": "acme",
                   "lines": [{"extension": "401", "sip_password": "sip-secret"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(
        (v["vendor"].as_str(), v["model"].as_str()),
        (Some("gigaset"), Some("gigasetP810"))
    );
    let (zu, zp) = (
        v["ztprov_user"].as_str().unwrap(),
        v["ztprov_pass"].as_str().unwrap(),
    );
    let (_, c) = app.get("/devices/000413E50001/credentials").await;
    let first = format!("{}/ztprov/{zu}/{zp}/gigasetP810-000413E50001.htm", app.prov);
    assert_eq!(c["ztprov_url"], first);
    let steady = format!("{}/prov/gigasetP810-000413E50001.htm", app.prov);
    assert_eq!(c["prov_url"], steady);
    let r = app.http.get(&first).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body = r.text().await.unwrap();
    let doc = roxmltree::Document::parse(&body).unwrap();
    let setting = |name: &str| {
        doc.descendants()
            .find(|n| n.has_tag_name(name))
            .and_then(|n| n.text())
            .map(str::to_owned)
    };
    assert_eq!(setting("setting_server"), Some(steady.clone()), "{body}");
    let (pu, pp) = (
        c["prov_user"].as_str().unwrap(),
        c["prov_pass"].as_str().unwrap(),
    );
    assert_eq!(setting("http_client_user").as_deref(), Some(pu));
    let (s, body) = digest_get(&app.http, &steady, pu, pp, "MD5").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        body.contains("<user_name idx=\"1\" perm=\"R\">401</user_name>"),
        "{body}"
    );
    // The platform's model-wide file, under the Gigaset model's name.
    let (s, _) = digest_get(
        &app.http,
        &format!("{}/prov/gigasetP810.htm", app.prov),
        pu,
        pp,
        "MD5",
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    app.stop().await;
}
