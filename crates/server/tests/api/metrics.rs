//! `GET /metrics`: scraped after real phone and queue traffic, read with an
//! independent parser (`prometheus-parse`), and checked to have moved by
//! exactly what the traffic was.

use reqwest::StatusCode;
use serde_json::json;

use crate::daemon::{devices, fast, local_provider, settle};
use crate::helpers::*;

/// A scrape, read by a parser that is not ours.
struct Scraped(prometheus_parse::Scrape);

impl Scraped {
    async fn of(app: &TestApp, token: &str) -> Scraped {
        let r = app
            .http
            .get(app.admin.replace("/api/v1", "/metrics"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let ct = r.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(ct.starts_with("text/plain; version=0.0.4"), "{ct}");
        let text = r.text().await.unwrap();
        let lines = text.lines().map(|l| Ok(l.to_owned()));
        Scraped(prometheus_parse::Scrape::parse(lines).unwrap())
    }

    /// A counter's or gauge's value, or a histogram's count; 0 when the
    /// series is not there yet.
    fn get(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        use prometheus_parse::Value::*;
        self.0
            .samples
            .iter()
            .filter(|s| s.metric == name)
            .filter(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
            .map(|s| match &s.value {
                Counter(v) | Gauge(v) | Untyped(v) => *v,
                Histogram(buckets) => buckets
                    .iter()
                    .find(|b| b.less_than.is_infinite())
                    .map_or(0.0, |b| b.count),
                Summary(_) => panic!("{name} is a summary"),
            })
            .sum()
    }

    fn help(&self, name: &str) -> Option<&String> {
        self.0.docs.get(name)
    }
}

#[tokio::test]
async fn counters_move_by_what_phones_and_the_queue_did() {
    let mut app = spawn_app_with(|c| {
        fast(c);
        basic_only(c);
        c.metrics.token = "scrape-only".into();
    })
    .await;
    let macs = devices(&app, 3).await;
    let before = Scraped::of(&app, TOKEN).await;

    // Phones: a first GET without credentials, a wrong password, three
    // good fetches of one file, one ztprov fetch, one path that is nothing.
    let url = format!("{}/prov/snomD717-{}.htm", app.prov, macs[0]);
    let r = app.http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let (s, _) = app.prov_file(&macs[0], "prov-acme", "wrong").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    for _ in 0..3 {
        let (s, _) = app.prov_file(&macs[0], "prov-acme", "s3cr3t-prov").await;
        assert_eq!(s, StatusCode::OK);
    }
    let (_, cr) = app.get(&format!("/devices/{}/credentials", macs[1])).await;
    let r = app
        .http
        .get(format!("{}/ztprov/snomD717-{}.htm", app.prov, macs[1]))
        .basic_auth(
            cr["ztprov_user"].as_str().unwrap(),
            cr["ztprov_pass"].as_str(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = app
        .http
        .get(format!("{}/nothing", app.prov))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // The queue: three registrations at our own redirection service.
    local_provider(&app).await;
    let (s, _) = app.post("/devices/register", json!({"all": true})).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    settle(&app).await;

    // A wrong token is refused and counted, without saying whose.
    let r = app
        .http
        .get(app.admin.replace("/api/v1", "/metrics"))
        .bearer_auth("guess")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // The scrape-only token opens /metrics and nothing else.
    let after = Scraped::of(&app, "scrape-only").await;
    let r = app
        .http
        .get(format!("{}/devices", app.admin))
        .bearer_auth("scrape-only")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    let moved =
        |name: &str, labels: &[(&str, &str)]| after.get(name, labels) - before.get(name, labels);
    let req = "touchless_provisioning_requests_total";
    assert_eq!(moved(req, &[("file", "device"), ("status", "401")]), 2.0);
    assert_eq!(moved(req, &[("file", "device"), ("status", "200")]), 3.0);
    assert_eq!(moved(req, &[("file", "ztprov"), ("status", "200")]), 1.0);
    assert_eq!(moved(req, &[("file", "other"), ("status", "404")]), 1.0);
    let took = "touchless_provisioning_request_duration_seconds";
    assert_eq!(moved(took, &[("file", "device")]), 5.0);
    assert_eq!(moved(took, &[("file", "ztprov")]), 1.0);
    // Only the wrong password is a failure; the first GET is a challenge.
    let fail = "touchless_auth_failures_total";
    assert_eq!(moved(fail, &[("listener", "provisioning")]), 1.0);
    assert_eq!(moved(fail, &[("listener", "admin")]), 1.0);
    // One file fetched three times: rendered once, then served from cache.
    assert_eq!(moved("touchless_render_cache_hits_total", &[]), 2.0);
    assert!(after.get("touchless_render_cache_bytes", &[]) > 0.0);
    assert_eq!(after.get("touchless_view_devices", &[]), 3.0);
    // SQLite's own heap (page caches, statements): read from the library.
    if std::env::var("TOUCHLESS_TEST_BACKEND").as_deref() != Ok("postgres") {
        assert!(after.get("touchless_sqlite_memory_bytes", &[]) > 0.0);
    }
    assert!(after.get("touchless_view_reloads_total", &[]) >= 1.0);
    // The queue and the provider it called.
    assert_eq!(
        moved("touchless_queue_outcomes_total", &[("outcome", "done")]),
        3.0
    );
    assert_eq!(
        after.get("touchless_queue_events", &[("state", "pending")]),
        0.0
    );
    assert_eq!(
        after.get("touchless_queue_events", &[("state", "done")]),
        3.0
    );
    let calls = "touchless_provider_calls_total";
    assert_eq!(
        moved(calls, &[("provider", "local"), ("outcome", "ok")]),
        3.0
    );
    assert!(
        after.get(
            "touchless_provider_call_duration_seconds",
            &[("provider", "local")]
        ) >= 1.0
    );
    // Those calls reached the redirection service's API.
    assert!(
        moved(
            "touchless_redirect_requests_total",
            &[("surface", "api"), ("status", "200")]
        ) >= 3.0
    );
    assert!(
        after
            .0
            .samples
            .iter()
            .any(|s| s.metric == "touchless_contact_log_backlog"),
        "the backlog gauge is scraped"
    );
    assert!(after
        .help(req)
        .is_some_and(|h| h.contains("by file kind and status")));
    // No label carries a MAC or a user.
    let text = format!("{:?}", after.0.samples);
    let zt_user = cr["ztprov_user"].as_str().unwrap();
    for secret_ish in [macs[0].as_str(), "prov-acme", zt_user] {
        assert!(!text.contains(secret_ish), "{secret_ish} in a label");
    }
    app.stop().await;
}

#[tokio::test]
async fn off_means_not_there() {
    let mut app = spawn_app_with(|c| c.metrics.enabled = false).await;
    let r = app
        .http
        .get(app.admin.replace("/api/v1", "/metrics"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    app.stop().await;
}
