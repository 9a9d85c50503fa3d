//! Two `touchless` processes on one PostgreSQL database: they share the event
//! queue, a node killed with SIGKILL loses nothing, and a change made through
//! one node is served by the other.

mod common;
#[path = "../crates/server/tests/support/fake_sraps.rs"]
mod fake_sraps;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const QUEUENUM: u32 = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_the_queue_and_survive_a_kill() {
    let (db, _guard) = touchless_store::testing::temp_database().await;
    let fake = fake_sraps::FakeSraps::start(Duration::from_millis(20)).await;
    let config = tempfile::NamedTempFile::new().unwrap();
    // Leases of 4 s: short, so node B takes over soon after the kill, yet
    // with room for a renewal delayed on a loaded machine (two cores, every
    // test at once). With 2 s one full run saw 14 MACs sent twice, most
    // likely a live node's event handed over after a late renewal.
    // Leases of 10 s: the bound below counts what a killed node re-runs; a
    // live node whose keeper stalls past its lease (a loaded CI machine
    // stalled it past 4 s) re-claims its own events, which would count too.
    std::fs::write(
        config.path(),
        format!(
            "database_url = \"{db}\"\n[admin]\ntoken = \"multi\"\n[redirect]\nenabled = false\n\
             [provisioning]\naccess_log = \"off\"\nreload_interval_ms = 30000\n\
             [daemon]\nbootstrap_local_provider = false\nlease_secs = 10\npoll_ms = 100\nqueuenum = {QUEUENUM}\nqueuecap = 50\n\
             backoff_base_ms = 100\nbackoff_max_ms = 1000\n[auth]\nschemes = [\"digest\", \"basic\"]\nallow_basic_over_http = true\n"
        ),
    )
    .unwrap();
    let start = |path: std::path::PathBuf| {
        tokio::task::spawn_blocking(move || {
            common::start_in(tempfile::tempdir().unwrap(), Some(&path))
        })
    };
    // Both at once: their migrations race, and one must wait for the other.
    let (a, b) = tokio::join!(
        start(config.path().to_owned()),
        start(config.path().to_owned())
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    let node_id = |s: &common::Server| {
        std::fs::read_to_string(s.dir.path().join("touchless-data/node-id"))
            .unwrap()
            .trim()
            .to_owned()
    };
    let (a_id, b_id) = (node_id(&a), node_id(&b));
    assert_ne!(a_id, b_id);
    let http = reqwest::Client::new();
    let call = |method: reqwest::Method, base: &str, path: &str, body: Value| {
        http.request(method, format!("{base}/api/v1{path}"))
            .bearer_auth("multi")
            .json(&body)
            .send()
    };
    let (a_admin, b_admin) = (a.admin_url.clone(), b.admin_url.clone());
    let post = reqwest::Method::POST;
    let r = call(
        post.clone(),
        &a_admin,
        "/tenants",
        json!({"id": "acme", "sip_host": "pbx", "prov_user": "prov", "prov_pass": "s3cr3t",
               "prov_credentials": "tenant"}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 201);
    for chunk in 0..2 {
        let devices: Vec<Value> = (chunk * 1000..(chunk + 1) * 1000)
            .map(|i| json!({"mac": format!("000413{i:06X}"), "model": "snomD717", "tenant": "acme",
                            "lines": [{"extension": format!("{}", 1000 + i), "sip_password": "pw"}]}))
            .collect();
        assert_eq!(
            call(post.clone(), &a_admin, "/devices", Value::Array(devices))
                .await
                .unwrap()
                .status(),
            201
        );
    }

    // A change made through node A is served by node B. Polling is every 30 s
    // here, so only LISTEN/NOTIFY can make this quick.
    let url = format!("{}/prov/snomD717-000413000007.htm", b.prov_url);
    let served = || async {
        http.get(&url)
            .basic_auth("prov", Some("s3cr3t"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    // The devices were created through A: B serves them once NOTIFY has
    // reached it, a moment after A answered.
    let t = Instant::now();
    while !served().await.contains(">1007<") {
        assert!(
            t.elapsed() < Duration::from_secs(15),
            "node B does not serve the devices created through node A"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let r = call(
        reqwest::Method::PATCH,
        &a_admin,
        "/devices/000413000007",
        json!({"lines": [{"extension": "7777", "sip_password": "pw"}]}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let t = Instant::now();
    while !served().await.contains(">7777<") {
        // Polling is every 30 s here: anything well under that is NOTIFY.
        assert!(
            t.elapsed() < Duration::from_secs(15),
            "node B still serves the old file"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let propagation = t.elapsed();
    // A Digest nonce from node A is good at node B.
    let path = "/prov/snomD717-000413000007.htm";
    let first = http
        .get(format!("{}{path}", a.prov_url))
        .send()
        .await
        .unwrap();
    let challenge = first
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.starts_with("Digest") && v.contains("MD5"))
        .unwrap();
    let answer = digest_auth::parse(&challenge)
        .unwrap()
        .respond(&digest_auth::AuthContext::new("prov", "s3cr3t", path))
        .unwrap()
        .to_header_string();
    let at_b = http
        .get(format!("{}{path}", b.prov_url))
        .header("authorization", answer)
        .send()
        .await
        .unwrap();
    assert_eq!(at_b.status(), 200, "node B accepts node A's nonce");

    let r = call(
        post.clone(),
        &a_admin,
        "/providers",
        json!({"name": "snom", "base_url": fake.url(), "access_key_id": "k", "secret": "s"}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 201);
    let r = call(
        post.clone(),
        &a_admin,
        "/devices/register",
        json!({"all": true}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 202);

    // Kill node A halfway, once both nodes are seen running events.
    let t = Instant::now();
    let mut runners = std::collections::HashSet::new();
    while fake.state.recorded.lock().unwrap().puts.len() < 1000 || runners.len() < 2 {
        assert!(
            t.elapsed() < Duration::from_secs(120),
            "the nodes did not both start working (running: {runners:?})"
        );
        let running: Value = call(
            reqwest::Method::GET,
            &b_admin,
            "/events?state=running&limit=1000",
            Value::Null,
        )
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        for e in running.as_array().unwrap() {
            if let Some(n) = e["leased_by"].as_str() {
                runners.insert(n.to_owned());
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        runners,
        [a_id.clone(), b_id.clone()].into(),
        "both nodes ran events"
    );
    drop(tokio::task::spawn_blocking(move || a.kill()).await.unwrap());
    let at_kill = fake.state.recorded.lock().unwrap().puts.len();
    assert!(at_kill < 2000, "killed too late ({at_kill} done)");

    // Node B finishes everything.
    let t = Instant::now();
    loop {
        let events: Value = call(
            reqwest::Method::GET,
            &b_admin,
            "/events?limit=10000",
            Value::Null,
        )
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        let events = events.as_array().unwrap().clone();
        if events.iter().all(|e| e["state"] == "done") {
            assert_eq!(events.len(), 2000, "one event per device");
            break;
        }
        assert!(
            events.iter().all(|e| e["state"] != "failed"),
            "an event failed"
        );
        assert!(
            t.elapsed() < Duration::from_secs(180),
            "node B did not finish"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (seen, twice) = {
        let rec = fake.state.recorded.lock().unwrap();
        (
            rec.puts.len(),
            rec.puts.values().filter(|(n, _)| *n > 1).count(),
        )
    };
    assert_eq!(seen, 2000, "the provider saw every MAC");
    assert_eq!(
        fake.state.overlaps.load(Ordering::SeqCst),
        0,
        "no MAC was written by two nodes at once"
    );
    // Only what A had in hand when it died can have been sent twice: per
    // queue, the event in flight and the done ones whose outcomes were not
    // yet written (a worker goes on while two calls' outcomes wait for the
    // recorder, `UNWRITTEN_CALLS` in the daemon's queue).
    assert!(
        twice <= 3 * QUEUENUM as usize,
        "{twice} MACs were registered more than once"
    );
    eprintln!("change propagated between nodes in {propagation:?}; {at_kill} registrations done when node A was killed");
    tokio::task::spawn_blocking(move || b.stop()).await.unwrap();
}
