//! Firmware over HTTP: policies through the admin API (checked, applied to
//! what phones are served at once, removed), and images served from the
//! firmware directory behind `/prov`'s authentication, with byte ranges.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::*;

const UA_OLD: &str = "Mozilla/4.0 (compatible; snomD717-SIP 10.1.20.1 2010.12-00001-g1a2b3c4 000413000001 SXM:0 UXM:0)";
const UA_TARGET: &str = "Mozilla/4.0 (compatible; snomD717-SIP 10.1.46.12 2010.12-00001-g1a2b3c4 000413000001 SXM:0 UXM:0)";

async fn fetch(app: &TestApp, name: &str, ua: &str) -> (StatusCode, String) {
    let r = app
        .http
        .get(format!("{}/prov/{name}", app.prov))
        .basic_auth("prov-acme", Some("s3cr3t-prov"))
        .header("user-agent", ua)
        .send()
        .await
        .unwrap();
    (r.status(), r.text().await.unwrap())
}

async fn put(app: &TestApp, body: serde_json::Value) -> (StatusCode, serde_json::Value) {
    app.admin_call(Method::PUT, "/firmware/policies", Some(body))
        .await
}

#[tokio::test]
async fn policies_are_checked_and_change_what_phones_get_at_once() {
    let mut app = spawn_app_with(basic_only).await;
    app.acme_with_devices(&["000413000001"]).await;
    let target =
        json!({"version": "10.1.46.12", "url": "https://fw.example.com/d717-10.1.46.12.bin"});

    // Bad requests say what was wrong.
    for (body, field) in [
        (
            json!({"scope": "tenant", "model": "D717", "target": target}),
            "scope",
        ),
        (
            json!({"scope": "installation", "mac": "000413000001", "model": "D717", "target": target}),
            "scope",
        ),
        (
            json!({"scope": "installation", "model": "D717", "target": {"version": "1", "url": "ftp://x/a.bin"}}),
            "target",
        ),
        (
            json!({"scope": "installation", "model": "D717", "target": {"version": "1", "file": "../a.bin"}}),
            "target",
        ),
        (
            json!({"scope": "installation", "model": "D717", "target": {"version": "1", "url": "https://x/a", "file": "a.bin"}}),
            "target",
        ),
        (
            json!({"scope": "installation", "model": "D717", "target": {"version": "1"}}),
            "target",
        ),
        (
            json!({"scope": "installation", "model": "D717", "target": target, "steps": [target]}),
            "steps",
        ),
    ] {
        let (s, v) = put(&app, body.clone()).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}: {v}");
        assert_eq!(v["field"], field, "{body}: {v}");
    }
    let (s, v) = put(
        &app,
        json!({"scope": "installation", "model": "X999", "target": target}),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let (s, v) = put(
        &app,
        json!({"scope": "device", "mac": "000413FFFFFF", "model": "D717", "target": target}),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    let (s, v) = app.get("/devices?firmware=ahead").await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");

    // Without a policy: no firmware_status, no firmware file.
    let (s, body) = fetch(&app, "snomD717-000413000001.htm", UA_OLD).await;
    assert_eq!(s, StatusCode::OK);
    assert!(!body.contains("firmware_status"), "{body}");
    assert!(body.contains(">settings_only<"), "{body}");
    let (s, _) = fetch(&app, "snomD717-000413000001-firmware.xml", UA_OLD).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // A policy with one step: the phone on 10.1.20.1 is given the step, the
    // same answer served at once (no reload wait).
    let (s, p) = put(
        &app,
        json!({"scope": "installation", "model": "snomD717", "target": target,
        "steps": [{"version": "10.1.33.33", "file": "d717-10.1.33.33.bin"}]}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{p}");
    assert_eq!(p["vendor"], "snom");
    let (_, body) = fetch(&app, "snomD717-000413000001.htm", UA_OLD).await;
    assert!(body.contains(&format!("<firmware_status perm=\"R\">{}/prov/snomD717-000413000001-firmware.xml</firmware_status>", app.prov)), "{body}");
    assert!(body.contains(">auto_update<"), "{body}");
    let (s, fw) = fetch(&app, "snomD717-000413000001-firmware.xml", UA_OLD).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        fw.contains(&format!(
            "<firmware perm=\"R\">{}/firmware/d717-10.1.33.33.bin</firmware>",
            app.prov
        )),
        "{fw}"
    );
    // On the step, the target; on the target, nothing.
    let (_, fw) = fetch(
        &app,
        "snomD717-000413000001-firmware.xml",
        &UA_OLD.replace("10.1.20.1", "10.1.33.33"),
    )
    .await;
    assert!(
        fw.contains("https://fw.example.com/d717-10.1.46.12.bin"),
        "{fw}"
    );
    let (_, fw) = fetch(&app, "snomD717-000413000001-firmware.xml", UA_TARGET).await;
    assert!(!fw.contains("<firmware "), "{fw}");
    // The firmware file is not another device's to read, nor /ztprov's.
    let r = app
        .http
        .get(format!(
            "{}/ztprov/snomD717-000413000001-firmware.xml",
            app.prov
        ))
        .basic_auth("prov-acme", Some("s3cr3t-prov"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // Where the device stands, once its fetch is in the contact log.
    let d = wait_for(&app, "/devices/000413000001", |d| {
        d["firmware"]["reported"] == "10.1.46.12"
    })
    .await;
    assert_eq!(d["firmware"]["standing"], "current", "{d}");
    assert_eq!(d["firmware"]["target"], "10.1.46.12");
    assert_eq!(d["firmware"]["scope"], "installation");
    // A device's own policy wins over the installation's: a beta on one desk.
    let (s, own) = put(
        &app,
        json!({"scope": "device", "mac": "000413000001", "model": "D717",
        "target": {"version": "10.2.0.1-beta", "file": "beta.bin"}}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{own}");
    let (_, d) = app.get("/devices/000413000001").await;
    assert_eq!(d["firmware"]["standing"], "behind", "{d}");
    assert_eq!(d["firmware"]["scope"], "device");
    assert_eq!(d["firmware"]["next"], "10.2.0.1-beta");
    let (_, list) = app.get("/devices?firmware=behind").await;
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    let (_, fw) = fetch(&app, "snomD717-000413000001-firmware.xml", UA_TARGET).await;
    assert!(fw.contains("/firmware/beta.bin"), "{fw}");
    let (_, all) = app.get("/firmware/policies").await;
    assert_eq!(all.as_array().unwrap().len(), 2, "{all}");

    // Removed: the phone is told nothing about firmware any more.
    for id in [&own["id"], &p["id"]] {
        let (s, v) = app
            .admin_call(Method::DELETE, &format!("/firmware/policies/{id}"), None)
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    }
    let (s, _) = app
        .admin_call(
            Method::DELETE,
            &format!("/firmware/policies/{}", p["id"]),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, body) = fetch(&app, "snomD717-000413000001.htm", UA_OLD).await;
    assert!(!body.contains("firmware_status"), "{body}");
    let (_, d) = app.get("/devices/000413000001").await;
    assert_eq!(d["firmware"]["standing"], "none", "{d}");
    app.stop().await;
}

async fn wait_for(
    app: &TestApp,
    path: &str,
    ok: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    for _ in 0..100 {
        let (_, v) = app.get(path).await;
        if ok(&v) {
            return v;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{path} never got there");
}

#[tokio::test]
async fn images_are_served_in_ranges_behind_the_prov_pair() {
    let mut app = spawn_app_with(basic_only).await;
    app.acme_with_devices(&["000413000001"]).await;
    let dir = app._dir.path().join("data/firmware");
    std::fs::create_dir_all(&dir).unwrap();
    let image: Vec<u8> = (0..300_001u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(dir.join("d717-10.1.46.12.bin"), &image).unwrap();
    let url = format!("{}/firmware/d717-10.1.46.12.bin", app.prov);
    let get = |range: Option<&str>| {
        let mut r = app
            .http
            .get(&url)
            .basic_auth("prov-acme", Some("s3cr3t-prov"));
        if let Some(v) = range {
            r = r.header("range", v);
        }
        r
    };

    // No pair, a wrong one: the same 401.
    let r = app.http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = app
        .http
        .get(&url)
        .basic_auth("prov-acme", Some("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = app
        .http
        .get(&url)
        .basic_auth("nobody", Some("s3cr3t-prov"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // Whole.
    let r = get(None).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["accept-ranges"], "bytes");
    assert_eq!(r.headers()["content-length"], "300001");
    let etag = r.headers()["etag"].to_str().unwrap().to_owned();
    assert!(r.headers().contains_key("last-modified"));
    assert_eq!(r.bytes().await.unwrap().as_ref(), &image[..]);

    // Ranges.
    for (range, from, to) in [
        ("bytes=100-199", 100, 199),
        ("bytes=299990-", 299_990, 300_000),
        ("bytes=-10", 299_991, 300_000),
        ("bytes=0-0", 0, 0),
        ("bytes=200000-999999", 200_000, 300_000),
    ] {
        let r = get(Some(range)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT, "{range}");
        assert_eq!(
            r.headers()["content-range"],
            format!("bytes {from}-{to}/300001"),
            "{range}"
        );
        assert_eq!(
            r.bytes().await.unwrap().as_ref(),
            &image[from..=to],
            "{range}"
        );
    }
    let r = get(Some("bytes=300001-")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(r.headers()["content-range"], "bytes */300001");
    // Several ranges, or a range of another version of the image: all of it.
    let r = get(Some("bytes=0-1,5-9")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = get(Some("bytes=0-9"))
        .header("if-range", "\"other\"")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = get(Some("bytes=0-9"))
        .header("if-range", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);

    // HEAD: the length, no body.
    let r = app
        .http
        .head(&url)
        .basic_auth("prov-acme", Some("s3cr3t-prov"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-length"], "300001");
    // Names that are no plain file, files that are not there, other methods.
    for (path, status) in [
        ("/firmware/missing.bin", StatusCode::NOT_FOUND),
        ("/firmware/..%2Fdata.db", StatusCode::NOT_FOUND),
        ("/firmware/.hidden", StatusCode::NOT_FOUND),
        ("/firmware/", StatusCode::NOT_FOUND),
    ] {
        let r = app
            .http
            .get(format!("{}{path}", app.prov))
            .basic_auth("prov-acme", Some("s3cr3t-prov"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), status, "{path}");
    }
    let r = app
        .http
        .post(&url)
        .basic_auth("prov-acme", Some("s3cr3t-prov"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    // The access log names the image, never the pair.
    app.stop().await;
    let log = app.access_log();
    assert!(log.contains("/firmware/d717-10.1.46.12.bin"), "{log}");
    assert!(!log.contains("s3cr3t-prov"));
}
