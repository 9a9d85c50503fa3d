//! The provisioning server as a phone sees it: challenges, credentials, files.

use reqwest::StatusCode;
use serde_json::json;
use touchless_server::config::Scheme;

use crate::helpers::*;

const MAC: &str = "000413AABBCC";

fn setting<'a>(doc: &'a roxmltree::Document, name: &str) -> Option<&'a str> {
    doc.descendants()
        .find(|n| n.has_tag_name(name))
        .and_then(|n| n.text())
}

#[tokio::test]
async fn ztprov_then_prov_with_digest_md5_and_sha256() {
    let mut app = spawn_app().await;
    app.tenant("acme", "prov-acme", "s3cr3t-prov").await;
    let d = app.device(MAC, "acme").await;
    let (zu, zp) = (
        d["ztprov_user"].as_str().unwrap(),
        d["ztprov_pass"].as_str().unwrap(),
    );
    let zt_url = format!("{}/ztprov/snomD717-{MAC}.htm", app.prov);
    let prov_url = format!("{}/prov/snomD717-{MAC}.htm", app.prov);

    for alg in ["MD5", "SHA-256"] {
        let (status, body) = digest_get(&app.http, &zt_url, zu, zp, alg).await;
        assert_eq!(status, StatusCode::OK, "{alg}: {body}");
        let doc = roxmltree::Document::parse(&body).unwrap();
        assert!(setting(&doc, "setting_server")
            .unwrap()
            .ends_with(&format!("/prov/snomD717-{MAC}.htm")));
        assert_eq!(setting(&doc, "http_client_user"), Some("prov-acme"));
        assert_eq!(setting(&doc, "http_client_pass"), Some("s3cr3t-prov"));

        // The phone now uses what it learned.
        let (status, body) =
            digest_get(&app.http, &prov_url, "prov-acme", "s3cr3t-prov", alg).await;
        assert_eq!(status, StatusCode::OK, "{alg}: {body}");
        let doc = roxmltree::Document::parse(&body).unwrap();
        let line = |name: &str| {
            doc.descendants()
                .find(|n| n.has_tag_name(name) && n.attribute("idx") == Some("1"))
                .and_then(|n| n.text())
                .map(str::to_owned)
        };
        assert_eq!(line("user_name").as_deref(), Some("401"));
        assert_eq!(line("user_pass").as_deref(), Some("sip-secret"));
        assert_eq!(line("user_realname").as_deref(), Some("Alice"));
        assert_eq!(line("user_host").as_deref(), Some("pbx.example.com"));
        assert_eq!(setting(&doc, "setting_server"), Some(prov_url.as_str()));

        // The model-wide file is served to the tenant's credentials too, with
        // the tenant's layer and nothing of any one device.
        let (status, model) = digest_get(
            &app.http,
            &format!("{}/prov/snomD717.htm", app.prov),
            "prov-acme",
            "s3cr3t-prov",
            alg,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let mdoc = roxmltree::Document::parse(&model).unwrap();
        assert_eq!(setting(&mdoc, "update_policy"), Some("settings_only"));
        assert!(
            setting(&mdoc, "user_pass").is_none() && setting(&mdoc, "http_client_pass").is_none(),
            "{model}"
        );
    }
    // The ztprov credentials are not the tenant's, and vice versa.
    assert_eq!(
        digest_get(&app.http, &prov_url, zu, zp, "MD5").await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        digest_get(&app.http, &zt_url, "prov-acme", "s3cr3t-prov", "MD5")
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );

    app.stop().await;
    let log = app.access_log();
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(&format!("/ztprov/snomD717-{MAC}.htm")))
        .collect();
    assert!(
        lines[0].contains("\"GET /ztprov/snomD717-000413AABBCC.htm HTTP/1.1\" 401 "),
        "{log}"
    );
    assert!(
        lines[1].contains(&format!(" - {zu} [")) && lines[1].contains("HTTP/1.1\" 200 "),
        "{log}"
    );
}

#[tokio::test]
async fn basic_when_enabled() {
    let mut app = spawn_app_with(|c| {
        c.auth.schemes = vec![Scheme::Digest, Scheme::Basic];
        c.auth.allow_basic_over_http = true;
    })
    .await;
    app.tenant("acme", "prov", "s3cr3t-prov").await;
    app.device(MAC, "acme").await;
    let url = format!("{}/prov/snomD717-{MAC}.htm", app.prov);
    let r = app.http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let challenges: Vec<_> = r
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert!(
        challenges
            .iter()
            .any(|c| c.starts_with("Basic realm=\"touchless\"")),
        "{challenges:?}"
    );
    let r = app
        .http
        .get(&url)
        .basic_auth("prov", Some("s3cr3t-prov"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body = r.text().await.unwrap();
    let doc = roxmltree::Document::parse(&body).unwrap();
    assert_eq!(setting(&doc, "user_name"), Some("401"), "{body}");
    assert_eq!(setting(&doc, "http_client_user"), Some("prov"));
    let r = app
        .http
        .get(&url)
        .basic_auth("prov", Some("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // Digest still works alongside.
    assert_eq!(
        digest_get(&app.http, &url, "prov", "s3cr3t-prov", "SHA-256")
            .await
            .0,
        StatusCode::OK
    );
    app.stop().await;
}

#[tokio::test]
async fn basic_is_not_accepted_when_not_offered() {
    let mut app = spawn_app().await;
    app.tenant("acme", "prov", "s3cr3t-prov").await;
    app.device(MAC, "acme").await;
    let url = format!("{}/prov/snomD717-{MAC}.htm", app.prov);
    let r = app
        .http
        .get(&url)
        .basic_auth("prov", Some("s3cr3t-prov"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r
        .headers()
        .get("www-authenticate")
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("Digest"));
    app.stop().await;
}

/// Unknown MAC, wrong password and another tenant's device are indistinguishable.
#[tokio::test]
async fn the_same_401_for_unknown_mac_wrong_password_and_other_tenant() {
    let mut app = spawn_app_with(basic_only).await;
    app.tenant("acme", "prov-acme", "pass-acme").await;
    app.tenant("beta", "prov-beta", "pass-beta").await;
    app.device(MAC, "acme").await;
    app.device("000413000002", "beta").await;
    let cases = [
        ("unknown MAC", "000413FFFFFF", "prov-acme", "pass-acme"),
        ("wrong password", MAC, "prov-acme", "wrong"),
        ("unknown user", MAC, "nobody", "pass-acme"),
        ("other tenant", "000413000002", "prov-acme", "pass-acme"),
    ];
    let mut seen = Vec::new();
    for (what, mac, user, pass) in cases {
        let r = app
            .http
            .get(format!("{}/prov/snomD717-{mac}.htm", app.prov))
            .basic_auth(user, Some(pass))
            .send()
            .await
            .unwrap();
        let status = r.status();
        let challenge = r
            .headers()
            .get("www-authenticate")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        let body = r.text().await.unwrap();
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}");
        seen.push((challenge, body));
    }
    assert!(seen.windows(2).all(|w| w[0] == w[1]), "{seen:?}");
    // and for ztprov
    let r = app
        .http
        .get(format!("{}/ztprov/snomD717-000413FFFFFF.htm", app.prov))
        .basic_auth("x", Some("y"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.text().await.unwrap(), seen[0].1);
    app.stop().await;
}

#[tokio::test]
async fn an_expired_nonce_gets_stale_true() {
    let mut app = spawn_app_with(|c| c.auth.nonce_lifetime_secs = 1).await;
    app.tenant("acme", "prov", "s3cr3t-prov").await;
    app.device(MAC, "acme").await;
    let url = format!("{}/prov/snomD717-{MAC}.htm", app.prov);
    let first = app.http.get(&url).send().await.unwrap();
    let challenge = first
        .headers()
        .get("www-authenticate")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let mut prompt = digest_auth::parse(&challenge).unwrap();
    let path = format!("/prov/snomD717-{MAC}.htm");
    let answer = prompt
        .respond(&digest_auth::AuthContext::new("prov", "s3cr3t-prov", &path))
        .unwrap();
    let r = app
        .http
        .get(&url)
        .header("authorization", answer.to_header_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let h = r
        .headers()
        .get("www-authenticate")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(h.contains("stale=true"), "{h}");
    // and the wrong password with an expired nonce is not "stale", just denied
    let mut prompt = digest_auth::parse(&challenge).unwrap();
    let answer = prompt
        .respond(&digest_auth::AuthContext::new("prov", "wrong", &path))
        .unwrap();
    let r = app
        .http
        .get(&url)
        .header("authorization", answer.to_header_string())
        .send()
        .await
        .unwrap();
    assert!(!r
        .headers()
        .get("www-authenticate")
        .unwrap()
        .to_str()
        .unwrap()
        .contains("stale"));
    app.stop().await;
}

#[tokio::test]
async fn bad_requests_get_clear_4xx() {
    let mut app = spawn_app().await;
    app.tenant("acme", "prov", "s3cr3t-prov").await;
    app.device(MAC, "acme").await;
    let base = &app.prov;
    for (path, want) in [
        ("/prov/../etc/passwd", StatusCode::NOT_FOUND),
        ("/prov/%2e%2e/%2e%2e/etc/passwd", StatusCode::NOT_FOUND),
        ("/prov/..%2fsnomD717.htm", StatusCode::NOT_FOUND),
        ("/prov/snomD717%2F000413AABBCC.htm", StatusCode::NOT_FOUND),
        ("/prov/snomD999-000413AABBCC.htm", StatusCode::NOT_FOUND),
        ("/prov/snomD717-00041", StatusCode::NOT_FOUND),
        ("/prov/", StatusCode::NOT_FOUND),
        ("/ztprov/snomD717.htm", StatusCode::NOT_FOUND),
        ("/etc/passwd", StatusCode::NOT_FOUND),
        ("/", StatusCode::NOT_FOUND),
        ("/healthz", StatusCode::OK),
    ] {
        let r = app.http.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(r.status(), want, "{path}");
    }
    let long = format!("{base}/prov/{}", "a".repeat(5000));
    assert_eq!(
        app.http.get(long).send().await.unwrap().status(),
        StatusCode::URI_TOO_LONG
    );
    let r = app
        .http
        .post(format!("{base}/prov/snomD717-{MAC}.htm"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    let url = format!("{base}/prov/snomD717-{MAC}.htm");
    for garbage in [
        "Digest",
        "Digest username=\"unterminated",
        "Digest username=a, username=b, nonce=x, uri=/, response=y",
        "Digest realm=x",
    ] {
        let r = app
            .http
            .get(&url)
            .header("authorization", garbage)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{garbage}");
    }
    let r = app
        .http
        .get(&url)
        .header("authorization", "Negotiate abc")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = app
        .http
        .get(&url)
        .header(
            "authorization",
            format!("Digest username=\"{}\"", "x".repeat(5000)),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = app
        .http
        .get(&url)
        .header("x-huge", "y".repeat(64 * 1024))
        .send()
        .await;
    match r {
        Ok(r) => assert_eq!(r.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE),
        Err(e) => assert!(e.is_request() || e.is_connect(), "{e}"),
    }
    // the server is still fine
    assert_eq!(
        digest_get(&app.http, &url, "prov", "s3cr3t-prov", "MD5")
            .await
            .0,
        StatusCode::OK
    );
    app.stop().await;
}

#[tokio::test]
async fn changes_are_served_on_the_next_request() {
    let mut app = spawn_app_with(basic_only).await;
    app.tenant("acme", "prov", "s3cr3t-prov").await;
    app.device(MAC, "acme").await;
    let url = format!("{}/prov/snomD717-{MAC}.htm", app.prov);
    let get = || async {
        app.http
            .get(&url)
            .basic_auth("prov", Some("s3cr3t-prov"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let before = get().await;
    assert_eq!(before, get().await, "cached body is stable");
    let (s, _) = app
        .admin_call(
            reqwest::Method::PATCH,
            &format!("/devices/{MAC}"),
            Some(json!({"lines": [{"extension": "999", "sip_password": "new-pass"}], "settings": [{"name": "language", "value": "Français"}]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let after = get().await;
    assert!(
        after.contains(">999<") && after.contains("Français") && !after.contains(">401<"),
        "{after}"
    );
    // tenant settings reach every device of the tenant
    let (s, _) = app
        .admin_call(
            reqwest::Method::PATCH,
            "/tenants/acme",
            Some(json!({"settings": [{"name": "timezone", "value": "GER+1"}]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(get()
        .await
        .contains("<timezone perm=\"R\">GER+1</timezone>"));
    // a removed device is gone at once
    let (s, _) = app
        .admin_call(reqwest::Method::DELETE, &format!("/devices/{MAC}"), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let r = app
        .http
        .get(&url)
        .basic_auth("prov", Some("s3cr3t-prov"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    app.stop().await;
}

#[tokio::test]
async fn contacts_are_recorded_without_blocking_requests() {
    let mut app = spawn_app().await;
    app.tenant("acme", "prov", "s3cr3t-prov").await;
    app.device(MAC, "acme").await;
    let ua = "Mozilla/4.0 (compatible; snomD717-SIP 10.1.33.33 2010.12-00004-g9ba52f5 000413AABBCC SXM:0 UXM:0)";
    let http = reqwest::Client::builder().user_agent(ua).build().unwrap();
    let url = format!("{}/prov/snomD717-{MAC}.htm", app.prov);
    for _ in 0..3 {
        http.get(&url).send().await.unwrap();
    }
    assert_eq!(
        digest_get(&http, &url, "prov", "s3cr3t-prov", "MD5")
            .await
            .0,
        StatusCode::OK
    );
    // the model-wide file carries no MAC; the User-Agent does
    http.get(format!("{}/prov/snomD717.htm", app.prov))
        .send()
        .await
        .unwrap();
    let mut contacts = serde_json::Value::Null;
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        contacts = app.get(&format!("/devices/{MAC}/contacts")).await.1;
        if contacts
            .as_array()
            .map(|a| a.iter().map(|c| c["hits"].as_u64().unwrap()).sum::<u64>())
            == Some(6)
        {
            break;
        }
    }
    let list = contacts.as_array().unwrap();
    let hits = |status: u64, path: &str| {
        list.iter()
            .filter(|c| c["status"] == status && c["path"] == path)
            .map(|c| c["hits"].as_u64().unwrap())
            .sum::<u64>()
    };
    assert_eq!(
        hits(401, &format!("/prov/snomD717-{MAC}.htm")),
        4,
        "{contacts}"
    );
    assert_eq!(
        hits(200, &format!("/prov/snomD717-{MAC}.htm")),
        1,
        "{contacts}"
    );
    assert_eq!(hits(401, "/prov/snomD717.htm"), 1, "{contacts}");
    assert_eq!(list[0]["user_agent"], ua);
    assert_eq!(list[0]["ip"], "127.0.0.1");
    app.stop().await;
}

#[tokio::test]
async fn shutdown_flushes_logs() {
    let mut app = spawn_app_with(|c| {
        c.provisioning.contact_flush_ms = 60_000;
    })
    .await;
    app.tenant("acme", "prov", "s3cr3t-prov").await;
    app.device(MAC, "acme").await;
    let url = format!("{}/prov/snomD717-{MAC}.htm", app.prov);
    for _ in 0..200 {
        app.http.get(&url).send().await.unwrap();
    }
    app.stop().await;
    assert_eq!(app.access_log().lines().count(), 200);
    // the contact batch (flush interval: a minute) was written at shutdown
    let store = touchless_store::open(&app.database_url).await.unwrap();
    let cs = store
        .contacts(touchless_domain::Mac::parse(MAC).unwrap(), 10)
        .await
        .unwrap();
    assert_eq!(cs.iter().map(|c| c.hits).sum::<u32>(), 200);
}

#[tokio::test]
async fn tls_with_basic() {
    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.key_pair.serialize_pem()).unwrap();
    let mut app = spawn_app_with(|c| {
        c.provisioning.tls_cert = cert_path.to_string_lossy().into();
        c.provisioning.tls_key = key_path.to_string_lossy().into();
        // Basic needs no special permission over TLS.
        c.auth.schemes = vec![Scheme::Basic];
    })
    .await;
    app.tenant("acme", "prov", "s3cr3t-prov").await;
    app.device(MAC, "acme").await;
    let http = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert.cert.pem().as_bytes()).unwrap())
        .build()
        .unwrap();
    let url = format!("{}/prov/snomD717-{MAC}.htm", app.prov);
    assert!(url.starts_with("https://"));
    assert_eq!(
        http.get(&url).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    let r = http
        .get(&url)
        .basic_auth("prov", Some("s3cr3t-prov"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body = r.text().await.unwrap();
    assert!(
        body.contains(&format!(
            "https://127.0.0.1:{}/prov/",
            url.rsplit(':').next().unwrap().split('/').next().unwrap()
        )),
        "{body}"
    );
    // a plain-HTTP client gets no answer from the TLS listener
    assert!(app
        .http
        .get(url.replace("https", "http"))
        .basic_auth("prov", Some("s3cr3t-prov"))
        .send()
        .await
        .is_err());
    app.stop().await;
}

#[tokio::test]
async fn operator_templates_override_builtins() {
    let tpl = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tpl.path().join("snom")).unwrap();
    std::fs::write(
        tpl.path().join("snom/device.xml"),
        "<?xml version=\"1.0\"?><settings><phone-settings><custom perm=\"R\">{{ device.mac }}/{{ tenant.id }}</custom></phone-settings></settings>",
    )
    .unwrap();
    let dir = tpl.path().to_string_lossy().into_owned();
    let mut app = spawn_app_with(|c| {
        c.template_dir = dir;
        basic_only(c);
    })
    .await;
    app.tenant("acme", "prov", "s3cr3t-prov").await;
    app.device(MAC, "acme").await;
    let r = app
        .http
        .get(format!("{}/prov/snomD717-{MAC}.htm", app.prov))
        .basic_auth("prov", Some("s3cr3t-prov"))
        .send()
        .await
        .unwrap();
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("<custom perm=\"R\">000413AABBCC/acme</custom>"));
    // the preview shows the same bytes
    let (_, preview) = app.get(&format!("/devices/{MAC}/preview")).await;
    assert!(preview
        .as_str()
        .unwrap()
        .contains("<custom perm=\"R\">000413AABBCC/acme</custom>"));
    app.stop().await;
}

/// A flood of made-up MACs, on both phone-facing listeners, leaves a bounded
/// sample in the contact logs, not a row per request.
#[tokio::test]
async fn junk_requests_do_not_fill_the_contact_logs() {
    let mut app = spawn_app_with(|c| {
        c.provisioning.contact_flush_ms = 600_000;
        c.redirect.phone_misses_burst = 10_000;
    })
    .await;
    app.tenant("acme", "prov-acme", "s3cr3t-prov").await;
    app.device(MAC, "acme").await;
    let macs: Vec<String> = (0..300).map(|i| format!("00041399{i:04X}")).collect();
    for m in &macs {
        let r = app
            .http
            .get(format!("{}/prov/snomD717-{m}.htm", app.prov))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        let ua = format!("Mozilla/4.0 (compatible; snomD717-SIP 10.1.33.33 x {m})");
        let r = app
            .http
            .get(format!("{}/snomD717-{m}.htm", app.redirect))
            .header("user-agent", ua)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
    }
    // The registered phone is always on record.
    let r = app
        .http
        .get(format!("{}/prov/snomD717-{MAC}.htm", app.prov))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let (_, redirect_rows) = app.get("/redirect/contacts?limit=1000").await;
    let url = app.database_url.clone();
    app.stop().await;
    let store = touchless_store::open(&url).await.unwrap();
    let mut rows = 0;
    for m in &macs {
        rows += store
            .contacts(touchless_domain::Mac::parse(m).unwrap(), 10)
            .await
            .unwrap()
            .len();
    }
    assert!(rows <= 20, "{rows} rows for 300 made-up MACs");
    let known = store
        .contacts(touchless_domain::Mac::parse(MAC).unwrap(), 10)
        .await
        .unwrap();
    assert_eq!(known.len(), 1, "the registered phone's request is kept");
    let redirect_rows = redirect_rows.as_array().unwrap().len();
    let flushed = store.redirect_contacts(None, 1000).await.unwrap().len();
    assert!(
        redirect_rows.max(flushed) <= 20 * 10,
        "{redirect_rows}/{flushed} redirect rows for 300 junk requests"
    );
    store.close().await;
}
