//! Crash safety: the daemon is killed with SIGKILL in the middle of a queue of
//! 1,000 registrations against a slow provider, started again, and finishes
//! every one, with no MAC ever written twice at once. The lease is ten
//! minutes: only the restarted node taking its own leases back lets it finish
//! within the test's deadline.

mod common;
#[path = "../crates/server/tests/support/fake_sraps.rs"]
mod fake_sraps;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_daemon_loses_no_registration() {
    let fake = fake_sraps::FakeSraps::start(Duration::from_millis(20)).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("touchless.toml");
    std::fs::write(
        &config,
        "[admin]\ntoken = \"crash-test\"\n[redirect]\nenabled = false\n[daemon]\nlease_secs = 600\npoll_ms = 100\nqueuenum = 4\nqueuecap = 50\n\
         backoff_base_ms = 100\nbackoff_max_ms = 1000\n[provisioning]\naccess_log = \"off\"\n",
    )
    .unwrap();
    let server = tokio::task::spawn_blocking({
        let config = config.clone();
        move || common::start_in(dir, Some(&config))
    })
    .await
    .unwrap();
    let http = reqwest::Client::new();
    let admin = server.admin_url.clone();
    let call = |method: reqwest::Method, admin: &str, path: &str, body: Value| {
        http.request(method, format!("{admin}/api/v1{path}"))
            .bearer_auth("crash-test")
            .json(&body)
            .send()
    };
    let r = call(
        reqwest::Method::POST,
        &admin,
        "/tenants",
        json!({"id": "acme", "sip_host": "pbx", "prov_user": "prov"}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 201);
    let devices: Vec<Value> = (0..1000)
        .map(|i| json!({"mac": format!("000413{i:06X}"), "model": "snomD717", "tenant": "acme"}))
        .collect();
    assert_eq!(
        call(
            reqwest::Method::POST,
            &admin,
            "/devices",
            Value::Array(devices)
        )
        .await
        .unwrap()
        .status(),
        201
    );
    let r = call(
        reqwest::Method::POST,
        &admin,
        "/providers",
        json!({"name": "snom", "base_url": fake.url(), "access_key_id": "k", "secret": "s"}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 201);
    let r = call(
        reqwest::Method::POST,
        &admin,
        "/devices/register",
        json!({"all": true}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 202);

    // Kill it mid-queue.
    let start = Instant::now();
    while fake.state.recorded.lock().unwrap().puts.len() < 250 {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the daemon did not start working"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let dir = tokio::task::spawn_blocking(move || server.kill())
        .await
        .unwrap();
    let done_before = fake.state.recorded.lock().unwrap().puts.len();
    assert!(
        done_before < 1000,
        "killed too late to test anything ({done_before} done)"
    );

    // Start again on the same data: everything gets done.
    let server = tokio::task::spawn_blocking({
        let config = config.clone();
        move || common::start_in(dir, Some(&config))
    })
    .await
    .unwrap();
    let admin = server.admin_url.clone();
    let start = Instant::now();
    let list = loop {
        let list: Value = call(reqwest::Method::GET, &admin, "/devices", Value::Null)
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let list = list.as_array().unwrap().clone();
        if list.iter().all(|d| d["status"] == "registered") {
            break list;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "not all registered after restart"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(list.len(), 1000);
    {
        let rec = fake.state.recorded.lock().unwrap();
        assert_eq!(rec.puts.len(), 1000, "the provider saw every MAC");
        // Exactly once, or a harmless repeat: only events that were running
        // when the node died (at most a queue's worth per worker) run twice,
        // and a repeat PUT is the same PUT.
        let repeats: Vec<(&String, u32)> = rec
            .puts
            .iter()
            .filter(|(_, (n, _))| *n > 1)
            .map(|(m, (n, _))| (m, *n))
            .collect();
        assert!(
            repeats.iter().all(|(_, n)| *n == 2),
            "no MAC written more than twice: {repeats:?}"
        );
        assert!(
            repeats.len() <= 4 * 50,
            "{} repeats, more than the events in flight could explain",
            repeats.len()
        );
        // What the provider holds is what each device has now.
        for d in &list {
            let mac = d["mac"].as_str().unwrap().to_ascii_lowercase();
            let body = &rec.puts[&mac].1;
            assert_eq!(
                body["settings_manager"]["33333333333333333333333333333333"]["value"],
                d["ztprov_user"]
            );
        }
    }
    assert_eq!(
        fake.state.overlaps.load(Ordering::SeqCst),
        0,
        "no MAC was written twice at once"
    );
    let events: Value = call(
        reqwest::Method::GET,
        &admin,
        "/events?limit=5000",
        Value::Null,
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let events = events.as_array().unwrap();
    assert_eq!(events.len(), 1000);
    assert!(events.iter().all(|e| e["state"] == "done"));
    tokio::task::spawn_blocking(move || server.stop())
        .await
        .unwrap();
}
