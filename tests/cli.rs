//! The binary as a new user runs it: `touchless serve` with no config file, the
//! CLI against it, curl-like requests from a phone, SIGTERM.

mod common;

use common::{bin, start};

/// Everything in the data folder holds secrets: private whatever the umask,
/// and the generated admin token is not printed when stdout is no terminal
/// (under systemd stdout is the journal).
#[test]
fn the_data_folder_is_private_and_the_token_stays_out_of_logs() {
    use std::os::unix::fs::PermissionsExt as _;
    let server = start();
    let data = server.dir.path().join("touchless-data");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700, "data folder");
    // Make SQLite write, so the WAL exists.
    let (ok, out, err) = server.cli(&["tenant", "add", "acme", "--sip-host", "pbx.example.com"]);
    assert!(ok, "{out}{err}");
    for f in [
        "touchless.db",
        "touchless.db-wal",
        "touchless.db-shm",
        "admin-token",
        "console-admin-password",
    ] {
        let p = data.join(f);
        assert!(p.exists(), "{f}");
        assert_eq!(mode(&p), 0o600, "{f}");
    }
    let token = std::fs::read_to_string(data.join("admin-token")).unwrap();
    // The database keeps only a hash of the token.
    for f in ["touchless.db", "touchless.db-wal"] {
        let bytes = std::fs::read(data.join(f)).unwrap();
        let found = bytes
            .windows(token.trim().len())
            .any(|w| w == token.trim().as_bytes());
        assert!(!found, "the admin token is stored in {f}");
    }
    let banner = server.banner.join("\n");
    // The console's first password: in the file, not in the log.
    let console = std::fs::read_to_string(data.join("console-admin-password")).unwrap();
    let (user, password) = console.trim().split_once(' ').unwrap();
    assert_eq!(user, "admin");
    assert!(!banner.contains(password), "{banner}");
    assert!(banner.contains("console-admin-password"), "{banner}");
    assert!(!banner.contains(token.trim()), "{banner}");
    assert!(banner.contains("admin-token"), "{banner}");
}

#[test]
fn a_new_user_provisions_a_phone_from_the_cli() {
    let server = start();
    assert!(server
        .dir
        .path()
        .join("touchless-data/touchless.db")
        .exists());
    assert!(server
        .dir
        .path()
        .join("touchless-data/admin-token")
        .exists());

    server.add_acme();
    let (ok, out, err) = server.cli(&[
        "device",
        "add",
        "00:04:13:aa:bb:cc",
        "--model",
        "snomD717",
        "--tenant",
        "acme",
        "--name",
        "Reception",
        "--line",
        "401:sip-secret:Alice",
    ]);
    assert!(ok, "{out}{err}");
    let (ok, list, _) = server.cli(&["device", "list"]);
    assert!(ok);
    assert!(list.lines().next().unwrap().starts_with("MAC"), "{list}");
    assert!(
        list.contains("000413AABBCC") && list.contains("401") && list.contains("unregistered"),
        "{list}"
    );

    let (ok, json, _) = server.cli(&["--json", "device", "show", "000413AABBCC", "--secrets"]);
    assert!(ok);
    let d: serde_json::Value = serde_json::from_str(&json).unwrap();
    let (zu, zp) = (
        d["ztprov_user"].as_str().unwrap(),
        d["ztprov_pass"].as_str().unwrap(),
    );
    // New tenants give each phone its own /prov credentials.
    assert_eq!(d["prov_credentials"], "device", "{d}");
    let (pu, pp) = (
        d["prov_user"].as_str().unwrap(),
        d["prov_pass"].as_str().unwrap(),
    );
    assert_ne!(pu, "prov");

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let http = reqwest::Client::new();
        for (path, user, pass) in [
            ("/ztprov/snomD717-000413AABBCC.htm", zu, zp),
            ("/prov/snomD717-000413AABBCC.htm", pu, pp),
        ] {
            let url = format!("{}{path}", server.prov_url);
            let r = http.get(&url).send().await.unwrap();
            assert_eq!(r.status(), 401);
            let challenge = r.headers()["www-authenticate"].to_str().unwrap().to_owned();
            let mut prompt = digest_auth::parse(&challenge).unwrap();
            let answer = prompt
                .respond(&digest_auth::AuthContext::new(user, pass, path))
                .unwrap();
            let r = http
                .get(&url)
                .header("authorization", answer.to_header_string())
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "{path}");
        }
    });

    let (ok, preview, _) = server.cli(&["device", "preview", "000413AABBCC"]);
    assert!(
        ok && preview.contains("<user_name idx=\"1\" perm=\"R\">401</user_name>"),
        "{preview}"
    );

    let (ok, _, err) = server.cli(&[
        "device", "add", "zz", "--model", "snomD717", "--tenant", "acme",
    ]);
    assert!(!ok);
    // Refused before any request: the CLI parses its flags into the API's types.
    assert!(
        err.contains("invalid MAC address \"zz\": expected 12 hex digits"),
        "{err}"
    );
    assert!(!err.contains("backtrace"), "{err}");
    let (ok, _, err) = server.cli(&["--token", "wrong", "tenant", "list"]);
    assert!(!ok && err.contains("401 wrong admin token"), "{err}");

    let out = server.stop();
    let log: Vec<&String> = out.iter().filter(|l| l.contains("\"GET /")).collect();
    let statuses: Vec<(&str, &str)> = log
        .iter()
        .map(|l| {
            let path = l.split('"').nth(1).unwrap().split(' ').nth(1).unwrap();
            let status = l
                .split('"')
                .nth(2)
                .unwrap()
                .split_whitespace()
                .next()
                .unwrap();
            (path, status)
        })
        .collect();
    assert_eq!(
        statuses,
        [
            ("/ztprov/snomD717-000413AABBCC.htm", "401"),
            ("/ztprov/snomD717-000413AABBCC.htm", "200"),
            ("/prov/snomD717-000413AABBCC.htm", "401"),
            ("/prov/snomD717-000413AABBCC.htm", "200"),
        ],
        "{out:#?}"
    );
}

#[test]
fn the_redirection_service_is_managed_from_the_cli() {
    let server = start();
    let (ok, out, err) = server.cli(&["--json", "redirect", "company", "add", "Acme Telecom"]);
    assert!(ok, "{err}");
    let company: serde_json::Value = serde_json::from_str(&out).unwrap();
    let id = company["id"].as_str().unwrap();
    assert_eq!(id.len(), 32);
    let (ok, out, _) = server.cli(&["redirect", "company", "list"]);
    assert!(
        ok && out.contains("Acme Telecom") && out.contains(id),
        "{out}"
    );
    let (ok, out, err) = server.cli(&["redirect", "key", "add", "--company", id, "--role", "none"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("access key id")
            && out.contains("access key secret")
            && out.contains("role none"),
        "{out}"
    );
    let key_id = out
        .lines()
        .find(|l| l.contains("access key id"))
        .unwrap()
        .split_whitespace()
        .last()
        .unwrap()
        .to_owned();
    let (ok, out, _) = server.cli(&["redirect", "key", "list"]);
    assert!(
        ok && out.contains(&key_id) && !out.contains("secret"),
        "{out}"
    );
    let (ok, _, _) = server.cli(&["redirect", "key", "revoke", &key_id]);
    assert!(ok);
    let (_, out, _) = server.cli(&["--json", "redirect", "key", "list"]);
    assert!(out.contains("\"enabled\": false"), "{out}");
    let (ok, _, err) = server.cli(&["redirect", "key", "add", "--company", id, "--role", "root"]);
    assert!(
        !ok && err.contains("expected none, read, write or admin"),
        "{err}"
    );
    let (ok, out, _) = server.cli(&["redirect", "endpoint", "list"]);
    assert!(ok && out.contains("0 endpoint(s)"), "{out}");
    let (ok, _, err) = server.cli(&["redirect", "endpoint", "show", "000413AABBCC"]);
    assert!(!ok && err.contains("404"), "{err}");
    let (ok, out, _) = server.cli(&["redirect", "contacts"]);
    assert!(ok && out.starts_with("TIME"), "{out}");
    server.stop();
}

#[test]
fn config_example_is_printed_and_bad_config_is_reported() {
    let out = bin().args(["config", "example"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("[provisioning]") && text.contains("listen = \"127.0.0.1:15777\""));

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, "[auth]\nschemes = [\"basic\"]\n").unwrap();
    let out = bin()
        .args(["--config", file.to_str().unwrap(), "serve"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("Basic sends passwords in clear"), "{err}");
}

/// `device edit` and `tenant edit`: replace or add lines and settings, and the
/// phone gets the change on its next fetch.
#[test]
fn editing_a_device_and_a_tenant_from_the_cli() {
    let server = start();
    let cli = |args: &[&str]| {
        let (ok, out, err) = server.cli(args);
        assert!(ok, "{args:?}: {err}{out}");
        out
    };
    cli(&["tenant", "add", "acme", "--sip-host", "pbx.example.com"]);
    cli(&[
        "device",
        "add",
        "000413AABBCC",
        "--model",
        "snomD717",
        "--tenant",
        "acme",
        "--line",
        "401:pw401:Alice",
        "--setting",
        "language=English",
    ]);
    cli(&[
        "device",
        "edit",
        "000413AABBCC",
        "--name",
        "Lobby",
        "--add-line",
        "402:pw402:Bob",
        "--add-setting",
        "timezone=GER+1",
        "--add-setting",
        "language=Deutsch",
    ]);
    cli(&[
        "tenant",
        "edit",
        "acme",
        "--sip-port",
        "5070",
        "--add-setting",
        "fkey[0]=blf sip:401@pbx",
    ]);
    let d: serde_json::Value = serde_json::from_str(&cli(&[
        "--json",
        "device",
        "show",
        "000413AABBCC",
        "--secrets",
    ]))
    .unwrap();
    assert_eq!(d["name"], "Lobby");
    let exts: Vec<&str> = d["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["extension"].as_str().unwrap())
        .collect();
    assert_eq!(exts, ["401", "402"]);
    let (pu, pp) = (
        d["prov_user"].as_str().unwrap().to_owned(),
        d["prov_pass"].as_str().unwrap().to_owned(),
    );
    let fetch = || {
        let url = format!("{}/prov/snomD717-000413AABBCC.htm", server.prov_url);
        tokio::runtime::Runtime::new().unwrap().block_on(async {
            let http = reqwest::Client::new();
            let path = "/prov/snomD717-000413AABBCC.htm";
            let r = http.get(&url).send().await.unwrap();
            let challenge = r.headers()["www-authenticate"].to_str().unwrap().to_owned();
            let answer = digest_auth::parse(&challenge)
                .unwrap()
                .respond(&digest_auth::AuthContext::new(
                    pu.as_str(),
                    pp.as_str(),
                    path,
                ))
                .unwrap()
                .to_header_string();
            let r = http
                .get(&url)
                .header("authorization", answer)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            r.text().await.unwrap()
        })
    };
    let body = fetch();
    for want in [
        "<user_name idx=\"2\" perm=\"R\">402</user_name>",
        "<user_pass idx=\"2\" perm=\"R\">pw402</user_pass>",
        "<user_pass idx=\"1\" perm=\"R\">pw401</user_pass>",
        "<language perm=\"R\">Deutsch</language>",
        "<timezone perm=\"R\">GER+1</timezone>",
        "<user_host idx=\"1\" perm=\"R\">pbx.example.com:5070</user_host>",
        "blf sip:401@pbx",
    ] {
        assert!(body.contains(want), "{want} missing in\n{body}");
    }
    // Replace the lines outright; clear the settings.
    cli(&[
        "device",
        "edit",
        "000413AABBCC",
        "--line",
        "500:pw500",
        "--clear-settings",
    ]);
    let body = fetch();
    assert!(
        body.contains("<user_name idx=\"1\" perm=\"R\">500</user_name>"),
        "{body}"
    );
    assert!(
        !body.contains(">402<") && !body.contains("timezone"),
        "{body}"
    );
    // A bad value is refused with the field named, and nothing changes.
    let (ok, _, err) = server.cli(&["device", "edit", "000413AABBCC", "--add-line", "bad ext:x"]);
    assert!(!ok && err.contains("line \"bad ext:x\""), "{err}");
}

#[test]
fn devices_are_imported_and_exported_as_csv_from_the_cli() {
    let server = start();
    let (ok, out, err) = server.cli(&["tenant", "add", "acme", "--sip-host", "pbx.example.com"]);
    assert!(ok, "{out}{err}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("devices.csv");
    std::fs::write(
        &file,
        "mac,model,tenant,name,lines\n000413CA0001,snomD717,acme,Reception,401:s1:Alice\nbad,snomD717,acme,,\n",
    )
    .unwrap();
    let f = file.to_str().unwrap();
    let (ok, out, err) = server.cli(&["device", "import", f]);
    assert!(!ok, "a bad row fails the command");
    assert!(
        out.contains("row 3, column mac: invalid MAC address"),
        "{out}"
    );
    assert!(
        err.contains("1 problem(s) in 2 row(s); nothing was imported"),
        "{err}"
    );
    std::fs::write(
        &file,
        "mac,model,tenant,name,lines\n000413CA0001,snomD717,acme,Reception,401:s1:Alice\n",
    )
    .unwrap();
    let (ok, out, _) = server.cli(&["device", "import", f, "--dry-run"]);
    assert!(
        ok && out.contains("all 1 row(s) are good; nothing was written (dry run)"),
        "{out}"
    );
    let (ok, out, _) = server.cli(&["device", "import", f]);
    assert!(ok && out.contains("1 device(s) imported"), "{out}");
    let (ok, out, _) = server.cli(&["device", "export", "--tenant", "acme"]);
    assert!(ok);
    assert_eq!(
        out,
        "mac,model,tenant,name,lines,settings,vendor,serial\n000413CA0001,snomD717,acme,Reception,401::Alice,,snom,\n"
    );
    // The vendor column is checked against the model.
    std::fs::write(
        &file,
        "mac,model,tenant,vendor\n805EC0000001,T46S,acme,yealink\n805EC0000002,T46S,acme,snom\n",
    )
    .unwrap();
    let (ok, out, err) = server.cli(&["device", "import", f, "--dry-run"]);
    assert!(!ok, "{out}");
    let said = format!("{out}{err}");
    assert!(!said.contains("row 2"), "the agreeing row is fine: {said}");
    assert!(
        said.contains("row 3, column vendor: model yealinkT46S is a yealink phone, not a snom one"),
        "{said}"
    );
    let (_, out, _) = server.cli(&["device", "export", "--secrets"]);
    assert!(out.contains("401:s1:Alice"), "{out}");
}

/// Logs to a file or a shipper: no colour codes when stderr is not a
/// terminal, and with `log.format = "json"` one JSON object a line.
#[test]
fn logs_are_plain_text_off_a_terminal_or_json_lines() {
    let logs = tempfile::tempdir().unwrap();
    for (format, file) in [("text", "text.log"), ("json", "json.log")] {
        let path = logs.path().join(file);
        let server = common::start_with(
            tempfile::tempdir().unwrap(),
            None,
            &[("TOUCHLESS_LOG__FORMAT", format)],
            Some(&path),
        );
        let (ok, out, err) =
            server.cli(&["tenant", "add", "acme", "--sip-host", "pbx.example.com"]);
        assert!(ok, "{out}{err}");
        server.stop();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.is_empty(), "{format}: something was logged");
        assert!(
            !text.contains('\u{1b}'),
            "{format}: no escape codes off a terminal:\n{text}"
        );
        if format == "json" {
            for line in text.lines() {
                let v: serde_json::Value = serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
                assert!(v["level"].is_string() && v["fields"].is_object(), "{line}");
            }
        }
    }
}

/// Completion scripts for the shells people use, naming every subcommand;
/// `--json` on the commands that print.
#[test]
fn completions_and_json() {
    for (shell, marker) in [
        ("bash", "_touchless()"),
        ("zsh", "#compdef touchless"),
        ("fish", "complete -c touchless"),
    ] {
        let out = bin().args(["completions", shell]).output().unwrap();
        assert!(out.status.success());
        let script = String::from_utf8(out.stdout).unwrap();
        assert!(script.contains(marker), "{shell}");
        for sub in ["serve", "device", "backup", "restore", "completions"] {
            assert!(script.contains(sub), "{shell} lacks {sub}");
        }
    }
    let out = bin().args(["completions", "tcsh"]).output().unwrap();
    assert!(!out.status.success());
    let out = bin()
        .args(["--json", "config", "show"])
        .env("TOUCHLESS_METRICS__TOKEN", "scrape-secret")
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["metrics"]["token"], "***", "secrets are masked");
    assert_eq!(v["admin"]["listen"], "127.0.0.1:15777");
}

/// `touchless api openapi` prints the documents without a server.
#[test]
fn api_openapi_prints_both_documents() {
    for (args, title) in [
        (&["api", "openapi"][..], "touchless admin API"),
        (&["api", "openapi", "--sraps"][..], "SRAPS"),
    ] {
        let out = bin().args(args).output().unwrap();
        assert!(out.status.success());
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
        assert!(doc["info"]["title"].as_str().unwrap().contains(title));
        assert!(!doc["paths"].as_object().unwrap().is_empty());
    }
}

/// `/metrics` of the real binary shows its allocator's counts, in the order
/// they nest: live allocations within the pages holding them, within what the
/// allocator keeps resident. (Not against RSS: jemalloc's `resident` is an
/// upper bound that counts mapped pages not yet touched.)
#[test]
fn metrics_show_the_allocators_counts() {
    let server = start();
    let token =
        std::fs::read_to_string(server.dir.path().join("touchless-data/admin-token")).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let text = rt.block_on(async {
        let r = reqwest::Client::new()
            .get(format!("{}/metrics", server.admin_url))
            .bearer_auth(token.trim())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.text().await.unwrap()
    });
    let gauge = |kind: &str| -> f64 {
        let prefix = format!("touchless_heap_bytes{{kind=\"{kind}\"}} ");
        let line = text.lines().find(|l| l.starts_with(&prefix));
        let line = line.unwrap_or_else(|| panic!("no {prefix} in\n{text}"));
        line[prefix.len()..].trim().parse().unwrap()
    };
    let (allocated, active, resident) = (gauge("allocated"), gauge("active"), gauge("resident"));
    assert!(
        0.0 < allocated && allocated <= active && active <= resident,
        "allocated {allocated}, active {active}, resident {resident}"
    );
}
