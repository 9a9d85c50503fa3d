//! The seed's walkthrough, step by step, as an admin and a factory-reset phone
//! live it — with the real binary, its CLI and the phone simulator.

mod common;

use std::time::{Duration, Instant};

use serde_json::Value;

const MAC: &str = "000413A1B2C3";

fn json(out: &str) -> Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

#[test]
fn the_seed_walkthrough() {
    // touchless serve, nothing configured: it sets up its own redirection account.
    let server = common::start();
    let cli = |args: &[&str]| {
        let (ok, out, err) = server.cli(args);
        assert!(ok, "{args:?} failed: {err}{out}");
        out
    };

    // 1. A tenant with provisioning credentials, and a device.
    server.add_acme();
    cli(&[
        "device",
        "add",
        MAC,
        "--model",
        "snomD717",
        "--tenant",
        "acme",
        "--name",
        "Reception",
        "--line",
        "401:sip-secret:Alice",
    ]);

    // 2. The provider answers.
    let test = cli(&["provider", "test", "local"]);
    assert!(test.starts_with("OK, company Local redirection/"), "{test}");
    // A console account for the tenant's admin; a generated password is shown once.
    let added = cli(&[
        "user",
        "add",
        "ann",
        "--role",
        "tenant-admin",
        "--tenant",
        "acme",
    ]);
    assert!(
        added.starts_with("tenant-admin added: ann; password (shown once): "),
        "{added}"
    );
    let users = cli(&["user", "list"]);
    assert!(
        users.contains("ann") && users.contains("tenant-admin") && users.contains("acme"),
        "{users}"
    );
    // Edited in place (here to the URL it has); what is not given stays.
    let shown = json(&cli(&["--json", "provider", "show", "local"]));
    let url = shown["base_url"].as_str().unwrap();
    let edited = cli(&["provider", "edit", "local", "--url", url]);
    assert_eq!(
        edited.trim(),
        format!("provider local changed (master): {url}")
    );
    assert!(cli(&["provider", "test", "local"]).starts_with("OK, company"));

    // 3. Register; the daemon pushes the device to the redirection service.
    cli(&["device", "register", MAC]);
    let started = Instant::now();
    let device = loop {
        let d = json(&cli(&["--json", "device", "show", MAC, "--secrets"]));
        if d["status"] == "registered" {
            break d;
        }
        assert!(d["status"] == "pending", "{d}");
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "not registered: {d}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(device["last_message"], "-");

    // 4. The redirection service holds the endpoint with the URL, user and password.
    let masked = json(&cli(&["--json", "redirect", "endpoint", "show", MAC]));
    let endpoint = json(&cli(&[
        "--json",
        "redirect",
        "endpoint",
        "show",
        MAC,
        "--secrets",
    ]));
    let password_of = |e: &serde_json::Value| {
        e["settings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["param_name"] == "http_client_pass")
            .unwrap()["value"]
            .clone()
    };
    assert_eq!(password_of(&masked), "***", "masked unless --secrets");
    let setting = |name: &str| {
        endpoint["settings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["param_name"] == name)
            .unwrap()["value"]
            .clone()
    };
    assert_eq!(setting("setting_server"), device["ztprov_url"]);
    assert!(device["ztprov_url"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/ztprov/snomD717-{MAC}.htm")));
    assert_eq!(setting("http_client_user"), device["ztprov_user"]);
    assert_eq!(setting("http_client_pass"), device["ztprov_pass"]);

    // 5. The phone boots: redirect → ztprov → prov.
    let phones = server.dir.path().join("phones");
    let phones = phones.to_str().unwrap();
    let boot = |extra: &[&str]| {
        let mut args = vec![
            "--json",
            "phone",
            "boot",
            "--mac",
            MAC,
            "--model",
            "snomD717",
            "--redirect",
            &server.redirect_url,
            "--state-dir",
            phones,
        ];
        args.extend_from_slice(extra);
        let (ok, out, err) = server.cli(&args);
        (ok, json(&out), err)
    };
    let (ok, report, err) = boot(&[]);
    assert!(ok, "{err}{report}");
    assert!(
        report["verdict"]
            .as_str()
            .unwrap()
            .ends_with("SIP identity 401@pbx.example.com"),
        "{report}"
    );
    let stages: Vec<(&str, u64)> = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["stage"].as_str().unwrap(), s["status"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        stages,
        [
            ("redirect", 200),
            ("redirect", 200),
            ("ztprov", 401),
            ("ztprov", 200),
            ("prov", 401),
            ("prov", 200)
        ]
    );

    // 6. The access log shows the phone's four requests, in order.
    // The access log is written by its own thread; wait for the four lines
    // (generously), not for a fixed time.
    let mut log: Vec<String> = Vec::new();
    let until = std::time::Instant::now() + Duration::from_secs(20);
    while log.len() < 4 && std::time::Instant::now() < until {
        if let Ok(l) = server.stdout.recv_timeout(Duration::from_millis(200)) {
            if l.contains("\"GET /") {
                log.push(l);
            }
        }
    }
    let seen: Vec<String> = log
        .iter()
        .map(|l| {
            let request = l.split('"').nth(1).unwrap();
            let status = l
                .split('"')
                .nth(2)
                .unwrap()
                .split_whitespace()
                .next()
                .unwrap();
            format!("{} {status}", request.split(' ').nth(1).unwrap())
        })
        .collect();
    assert_eq!(
        seen,
        [
            format!("/ztprov/snomD717-{MAC}.htm 401"),
            format!("/ztprov/snomD717-{MAC}.htm 200"),
            format!("/prov/snomD717-{MAC}.htm 401"),
            format!("/prov/snomD717-{MAC}.htm 200"),
        ],
        "{log:#?}"
    );

    // 7. The device's status and contact log show it provisioned.
    let started = Instant::now();
    loop {
        let contacts = json(&cli(&["--json", "device", "contacts", MAC]));
        let provisioned = contacts
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["status"] == 200 && c["path"] == format!("/prov/snomD717-{MAC}.htm"));
        if provisioned {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "no provisioning contact: {contacts}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    assert!(cli(&["device", "list"]).contains("registered"));

    // 8. After a reboot the phone goes straight to /prov and never asks the redirection service again.
    // The redirect's contact log is written once a second.
    let started = Instant::now();
    let asked = loop {
        let n = json(&cli(&["--json", "redirect", "contacts", "--mac", MAC]))
            .as_array()
            .unwrap()
            .len();
        if n >= 2 || started.elapsed() > Duration::from_secs(10) {
            break n;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(asked, 2);
    let (ok, report, err) = boot(&[]);
    assert!(ok, "{err}");
    let stages: Vec<&str> = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["stage"].as_str().unwrap())
        .collect();
    assert_eq!(stages, ["prov", "prov"]);
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(
        json(&cli(&["--json", "redirect", "contacts", "--mac", MAC]))
            .as_array()
            .unwrap()
            .len(),
        asked
    );

    // 9. After deregistering, the phone's ztprov credentials no longer work.
    cli(&["device", "deregister", MAC]);
    let started = Instant::now();
    while json(&cli(&["--json", "device", "show", MAC]))["status"] != "unregistered" {
        assert!(started.elapsed() < Duration::from_secs(20));
        std::thread::sleep(Duration::from_millis(100));
    }
    let (ok, _, _) = server.cli(&["redirect", "endpoint", "show", MAC]);
    assert!(!ok, "the endpoint is gone from the redirection service");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let status = rt.block_on(async {
        let url = device["ztprov_url"].as_str().unwrap();
        let http = reqwest::Client::new();
        let first = http.get(url).send().await.unwrap();
        let challenge = first.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_owned();
        let path = format!("/ztprov/snomD717-{MAC}.htm");
        let mut prompt = digest_auth::parse(&challenge).unwrap();
        let answer = prompt
            .respond(&digest_auth::AuthContext::new(
                device["ztprov_user"].as_str().unwrap(),
                device["ztprov_pass"].as_str().unwrap(),
                &path,
            ))
            .unwrap();
        http.get(url)
            .header("authorization", answer.to_header_string())
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(status, 401);
    // and a factory-reset phone is no longer redirected
    let (ok, report, _) = boot(&["--factory-reset"]);
    assert!(!ok);
    assert!(
        report["verdict"]
            .as_str()
            .unwrap()
            .contains("did not redirect"),
        "{report}"
    );
    server.stop();
}
