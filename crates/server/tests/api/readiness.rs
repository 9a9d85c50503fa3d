//! `/readyz` per listener: phones' listener by the view's staleness, the
//! admin and redirection listeners by the database.

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
