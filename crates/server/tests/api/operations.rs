//! What operators lean on: `/readyz` per listener (phones' listener by the
//! view's staleness, the admin and redirection listeners by the database),
//! and `POST /api/v1/backup` on each backend.

use reqwest::StatusCode;

use crate::helpers::*;

async fn ready(app: &TestApp, base: &str) -> (StatusCode, String) {
    let r = app.http.get(format!("{base}/readyz")).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

#[tokio::test]
async fn ready_when_fresh_not_when_the_view_goes_unchecked() {
    let mut app = spawn_app_with(|c| {
        // No polls: the view is checked at start and by this node's writes only.
        c.provisioning.reload_interval_ms = 3_600_000;
        c.provisioning.ready_max_stale_secs = 1;
    })
    .await;
    let admin = app.admin.replace("/api/v1", "");
    let redirect = app.redirect.replace("localhost", "127.0.0.1");
    let prov = app.prov.clone();
    assert_eq!(ready(&app, &prov).await, (StatusCode::OK, "ready\n".into()));
    assert_eq!(ready(&app, &admin).await.0, StatusCode::OK);
    assert_eq!(ready(&app, &redirect).await.0, StatusCode::OK);

    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    let (s, text) = ready(&app, &prov).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    assert!(text.contains("ready_max_stale_secs"), "{text}");
    // The database is fine, so the other listeners stay in.
    assert_eq!(ready(&app, &admin).await.0, StatusCode::OK);
    assert_eq!(ready(&app, &redirect).await.0, StatusCode::OK);

    // A write checks the view against the database again.
    app.tenant("acme", "prov", "s3cr3t-prov").await;
    assert_eq!(ready(&app, &prov).await.0, StatusCode::OK);
    app.stop().await;
}

#[tokio::test]
async fn backup_streams_the_sqlite_database_or_points_postgres_at_pg_dump() {
    let mut app = spawn_app().await;
    app.tenant("acme", "prov", "s3cr3t-prov").await;
    let r = app
        .http
        .post(format!("{}/backup", app.admin))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    if app.database_url.starts_with("postgres") {
        assert_eq!(r.status(), StatusCode::CONFLICT);
        let v: serde_json::Value = r.json().await.unwrap();
        assert!(v["error"].as_str().unwrap().contains("pg_dump"), "{v}");
    } else {
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["content-type"], "application/vnd.sqlite3");
        let body = r.bytes().await.unwrap();
        assert!(body.starts_with(b"SQLite format 3\0"));
        let copy = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(copy.path(), &body).unwrap();
        let summary = touchless_store::check_backup(copy.path()).await.unwrap();
        assert_eq!(summary.tenants, 1);
    }
    // Nothing is left behind in the data directory.
    let data = app._dir.path().join("data");
    let left: Vec<_> = std::fs::read_dir(&data)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".backup-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    // Without the token, nothing.
    let r = app
        .http
        .post(format!("{}/backup", app.admin))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    app.stop().await;
}

/// A renewed certificate is served without a restart once SIGHUP arrives;
/// a broken pair is refused and the listener keeps the one it has.
#[tokio::test]
async fn tls_certificates_reload_on_sighup() {
    let dir = tempfile::tempdir().unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let write = |c: &rcgen::CertifiedKey| {
        std::fs::write(&cert_path, c.cert.pem()).unwrap();
        std::fs::write(&key_path, c.key_pair.serialize_pem()).unwrap();
    };
    let old = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let new = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    write(&old);
    let mut app = spawn_app_with(|c| {
        c.provisioning.tls_cert = cert_path.to_string_lossy().into();
        c.provisioning.tls_key = key_path.to_string_lossy().into();
    })
    .await;
    // One client trusts only the old certificate, one only the new; every
    // request a full handshake (a reload changes new connections only, and a
    // resumed session shows no certificate).
    let trusting = |c: &rcgen::CertifiedKey| {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(c.cert.der().clone()).unwrap();
        let mut tls = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        tls.resumption = rustls::client::Resumption::disabled();
        reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .use_preconfigured_tls(tls)
            .build()
            .unwrap()
    };
    let (to_old, to_new) = (trusting(&old), trusting(&new));
    let url = format!("{}/healthz", app.prov);
    let ok = |c: &reqwest::Client| {
        let req = c.get(&url).send();
        async move { req.await.is_ok_and(|r| r.status() == StatusCode::OK) }
    };
    assert!(ok(&to_old).await && !ok(&to_new).await);

    write(&new);
    // SAFETY: signals this test process, whose runtime handles SIGHUP.
    unsafe { libc::kill(libc::getpid(), libc::SIGHUP) };
    let mut served = false;
    for _ in 0..100 {
        if ok(&to_new).await {
            served = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(served, "the new certificate was never presented");
    assert!(!ok(&to_old).await);

    // A half-written renewal: the key does not match. Kept: the new pair.
    std::fs::write(&key_path, old.key_pair.serialize_pem()).unwrap();
    unsafe { libc::kill(libc::getpid(), libc::SIGHUP) };
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(ok(&to_new).await);
    app.stop().await;
}
