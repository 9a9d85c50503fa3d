//! No secret in any log: a whole flow with tracing at debug level and the
//! access log on, then both searched for every secret the flow made, as
//! written, base64-encoded inside a Basic header, and URL-encoded.

mod common;

use base64::Engine as _;

const MAC: &str = "000413A1B2C4";

#[test]
fn no_secret_reaches_a_log() {
    let dir = tempfile::tempdir().unwrap();
    // Outside the server's folder, which goes when the server is stopped.
    let logs_dir = tempfile::tempdir().unwrap();
    let access = logs_dir.path().join("access.log");
    let debug = logs_dir.path().join("debug.log");
    let config = logs_dir.path().join("touchless.toml");
    std::fs::write(
        &config,
        format!(
            "[provisioning]\naccess_log = \"{}\"\ncontact_flush_ms = 100\n\
             [auth]\nschemes = [\"digest\", \"basic\"]\nallow_basic_over_http = true\n",
            access.display()
        ),
    )
    .unwrap();
    let server = common::start_with(
        dir,
        Some(&config),
        &[("TOUCHLESS_LOG", "debug")],
        Some(&debug),
    );
    let cli = |args: &[&str]| {
        let (ok, out, err) = server.cli(args);
        assert!(ok, "{args:?}: {err}{out}");
        out
    };
    let json = |out: String| serde_json::from_str::<serde_json::Value>(&out).unwrap();
    let mut secrets: Vec<(String, String)> = Vec::new();
    let keep =
        |secrets: &mut Vec<(String, String)>, what: &str, user: &str, v: &serde_json::Value| {
            let s = v
                .as_str()
                .unwrap_or_else(|| panic!("{what}: {v}"))
                .to_owned();
            assert!(s.len() >= 8, "{what}: {s}");
            secrets.push((user.to_owned(), s));
        };

    let t = json(cli(&[
        "--json",
        "tenant",
        "add",
        "acme",
        "--sip-host",
        "pbx.example.com",
        "--prov-pass",
        "Tenant-Pass-8731",
    ]));
    keep(
        &mut secrets,
        "tenant password",
        t["prov_user"].as_str().unwrap(),
        &t["prov_pass"],
    );
    cli(&[
        "device",
        "add",
        MAC,
        "--model",
        "snomD717",
        "--tenant",
        "acme",
        "--line",
        "401:Sip-Secret-5521:Alice",
    ]);
    secrets.push(("401".into(), "Sip-Secret-5521".into()));
    cli(&["device", "register", MAC]);
    // The phone boots: redirect, ztprov, prov (registration is quick here).
    let mut booted = String::new();
    for _ in 0..100 {
        let (ok, out, _) = server.cli(&[
            "phone",
            "boot",
            "--mac",
            MAC,
            "--redirect",
            &server.redirect_url,
            "--state-dir",
            "phones",
        ]);
        if ok {
            booted = out;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(booted.contains("OK: provisioned"), "{booted}");
    let d = json(cli(&["--json", "device", "show", MAC, "--secrets"]));
    keep(
        &mut secrets,
        "ztprov password",
        d["ztprov_user"].as_str().unwrap(),
        &d["ztprov_pass"],
    );
    keep(
        &mut secrets,
        "prov password",
        d["prov_user"].as_str().unwrap(),
        &d["prov_pass"],
    );
    let company = json(cli(&[
        "--json",
        "redirect",
        "company",
        "add",
        "Acme Telecom",
    ]));
    let key = json(cli(&[
        "--json",
        "redirect",
        "key",
        "add",
        "--company",
        company["id"].as_str().unwrap(),
        "--role",
        "write",
    ]));
    keep(
        &mut secrets,
        "API key secret",
        key["id"].as_str().unwrap(),
        &key["secret"],
    );
    let token = std::fs::read_to_string(server.dir.path().join("touchless-data/admin-token"))
        .unwrap()
        .trim()
        .to_owned();
    secrets.push(("admin".into(), token));
    // A wrong password and a Basic request too, so failures are logged.
    let url = format!("{}/prov/snomD717-{MAC}.htm", server.prov_url);
    let (pu, pp) = (
        d["prov_user"].as_str().unwrap(),
        d["prov_pass"].as_str().unwrap(),
    );
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let http = reqwest::Client::new();
        let get = |pass: &str| http.get(&url).basic_auth(pu, Some(pass.to_owned())).send();
        assert_eq!(get(pp).await.unwrap().status(), 200);
        assert_eq!(get("Wrong-Guess-1").await.unwrap().status(), 401);
    });

    let stdout: Vec<String> = server.stop();
    let logs = [
        (
            "debug log",
            std::fs::read_to_string(&debug).unwrap_or_default(),
        ),
        (
            "access log",
            std::fs::read_to_string(&access).unwrap_or_default(),
        ),
        ("stdout", stdout.join("\n")),
    ];
    assert!(logs[0].1.contains("DEBUG"), "tracing ran at debug level");
    assert!(
        logs[1].1.contains(&format!("snomD717-{MAC}.htm")),
        "the access log has the flow"
    );
    let b64 = base64::engine::general_purpose::STANDARD;
    for (user, secret) in &secrets {
        let forms = [
            secret.clone(),
            b64.encode(format!("{user}:{secret}")),
            b64.encode(secret),
            url_encode(secret),
        ];
        for (name, text) in &logs {
            for f in &forms {
                assert!(
                    !text.contains(f.as_str()),
                    "{name} contains a secret of {user}: {f}"
                );
            }
        }
    }
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
