//! Backups of the embedded database: taken from a running server while
//! devices are being written, restored into the stopped installation, and
//! consistent (whole batches, every device with its line, served).

mod common;

use std::os::unix::fs::PermissionsExt as _;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

const BATCH: usize = 50;

fn token(dir: &std::path::Path) -> String {
    std::fs::read_to_string(dir.join("touchless-data/admin-token"))
        .unwrap()
        .trim()
        .to_owned()
}

#[test]
fn a_backup_taken_during_writes_restores_to_a_consistent_state() {
    let server = common::start();
    let token = token(server.dir.path());
    let admin = server.admin_url.clone();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let http = reqwest::Client::new();
    rt.block_on(async {
        let r = http
            .post(format!("{admin}/api/v1/tenants"))
            .bearer_auth(&token)
            .json(&json!({"id": "acme", "name": "Acme", "sip_host": "pbx.example.com"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    });

    // Batches of devices, each one transaction, written until told to stop.
    let committed = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (committed, stop, http, admin, token) = (
            Arc::clone(&committed),
            Arc::clone(&stop),
            http.clone(),
            admin.clone(),
            token.clone(),
        );
        rt.spawn(async move {
            let mut b = 0usize;
            while !stop.load(Ordering::Relaxed) {
                let items: Vec<Value> = (0..BATCH)
                    .map(|i| {
                        let n = b * BATCH + i;
                        json!({"mac": format!("000413{n:06X}"), "model": "snomD717", "tenant": "acme",
                               "lines": [{"extension": format!("{}", 1000 + n), "sip_password": "pw"}]})
                    })
                    .collect();
                let r = http
                    .post(format!("{admin}/api/v1/devices"))
                    .bearer_auth(&token)
                    .json(&items)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 201);
                b += 1;
                committed.store(b, Ordering::SeqCst);
            }
        })
    };
    while committed.load(Ordering::SeqCst) < 10 {
        std::thread::sleep(Duration::from_millis(20));
    }
    let file = server.dir.path().join("nightly.db");
    let at_start = committed.load(Ordering::SeqCst);
    let (ok, out, err) = server.cli(&["backup", file.to_str().unwrap()]);
    let at_end = committed.load(Ordering::SeqCst) + 1; // one may be in flight
    assert!(ok, "{out}{err}");
    assert!(out.contains("backup written to"), "{out}");
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    while committed.load(Ordering::SeqCst) < at_end + 3 {
        std::thread::sleep(Duration::from_millis(20));
    }
    stop.store(true, Ordering::Relaxed);
    rt.block_on(writer).unwrap();
    let written = committed.load(Ordering::SeqCst) * BATCH;

    // Not while the server runs on that data directory.
    let (ok, out, err) = server.cli(&["restore", file.to_str().unwrap()]);
    assert!(!ok, "{out}");
    assert!(err.contains("a touchless server is running"), "{err}");
    // Not a file that is not a backup.
    let junk = server.dir.path().join("junk.db");
    std::fs::write(&junk, b"SQLite format 3\0 but then nonsense").unwrap();

    let dir = server.stop_keep();
    let restore = |f: &std::path::Path| {
        common::bin()
            .current_dir(dir.path())
            .env_remove("TOUCHLESS_CONFIG")
            .args(["restore", f.to_str().unwrap()])
            .output()
            .unwrap()
    };
    let r = restore(&junk);
    assert!(!r.status.success());
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(err.contains("not a touchless backup"), "{err}");
    let r = restore(&file);
    let out = String::from_utf8_lossy(&r.stdout);
    assert!(
        r.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&r.stderr)
    );
    assert!(out.contains("restored") && out.contains("kept as"), "{out}");

    // Started on the backup: whole batches, no fewer than were committed
    // when it began, no more than when it ended, and none half there.
    // Basic, so that the test can fetch a phone's file without Digest.
    let config = dir.path().join("basic.toml");
    std::fs::write(
        &config,
        "[auth]\nschemes = [\"digest\", \"basic\"]\nallow_basic_over_http = true\n",
    )
    .unwrap();
    let server = common::start_in(dir, Some(&config));
    let get = |path: String| {
        let req = http
            .get(format!("{}/api/v1{path}", server.admin_url))
            .bearer_auth(&token);
        async move { req.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    rt.block_on(async {
        let devices = get("/devices?limit=100000".into()).await;
        let devices = devices.as_array().unwrap();
        let n = devices.len();
        assert_eq!(n % BATCH, 0, "{n} devices: a batch was cut in two");
        assert!(
            n >= at_start * BATCH && n <= at_end * BATCH,
            "{n} devices, {at_start}..{at_end} batches"
        );
        assert!(
            n < written,
            "the backup holds what was written after it: {n} of {written}"
        );
        assert!(devices
            .iter()
            .all(|d| d["lines"].as_array().is_some_and(|l| l.len() == 1)));
        // And phones are served from it.
        let mac = devices[n - 1]["mac"].as_str().unwrap();
        let creds = get(format!("/devices/{mac}/credentials")).await;
        let r = http
            .get(format!("{}/prov/snomD717-{mac}.htm", server.prov_url))
            .basic_auth(
                creds["prov_user"].as_str().unwrap(),
                creds["prov_pass"].as_str(),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{creds}");
    });
    server.stop();
}
