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

/// A Yealink phone, simulated: it starts from what Yealink's cloud would
/// hand it (the `/ztprov/` folder and the device's one-time pair), fetches
/// its file there, learns `/prov/` and the steady pair, and comes up with its
/// SIP identity, all in Yealink's names and format.
#[test]
fn a_simulated_yealink_phone_boots_from_what_its_cloud_hands_out() {
    let server = start();
    server.add_acme();
    let (ok, out, err) = server.cli(&[
        "device",
        "add",
        "80:5e:c0:12:34:56",
        "--model",
        "T46S",
        "--tenant",
        "acme",
        "--line",
        "401:sip-secret:Alice",
    ]);
    assert!(ok, "{out}{err}");
    let (ok, json, _) = server.cli(&["--json", "device", "show", "805EC0123456", "--secrets"]);
    assert!(ok);
    let d: serde_json::Value = serde_json::from_str(&json).unwrap();
    let first = format!("{}/ztprov/", server.prov_url);
    let (ok, out, err) = server.cli(&[
        "phone",
        "boot",
        "--vendor",
        "yealink",
        "--mac",
        "805EC0123456",
        "--once",
        "--server",
        &first,
        "--user",
        d["ztprov_user"].as_str().unwrap(),
        "--pass",
        d["ztprov_pass"].as_str().unwrap(),
    ]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("/ztprov/805ec0123456.cfg -> 200"), "{out}");
    assert!(out.contains("/prov/y000000000066.cfg -> 200"), "{out}");
    assert!(out.contains("/prov/805ec0123456.cfg -> 200"), "{out}");
    assert!(
        out.contains(&format!(
            "OK: provisioned from {}/prov/: SIP identity 401@pbx.example.com",
            server.prov_url
        )),
        "{out}"
    );
    // Without what the cloud hands out, it says what is missing.
    let (ok, out, err) = server.cli(&[
        "phone",
        "boot",
        "--vendor",
        "yealink",
        "--mac",
        "805EC0123456",
        "--once",
    ]);
    assert!(!ok);
    assert!(
        out.contains("Yealink phones learn their server from Yealink's cloud"),
        "{out}{err}"
    );
}

/// Phones whose vendor's cloud hands out a URL without a pair (Fanvil) and
/// bases that have no setting for one (Gigaset), simulated: each boots from
/// the first-contact URL alone (its pair is in the path), and comes up with
/// its SIP identity in its vendor's names and format.
#[test]
fn simulated_fanvil_and_gigaset_phones_boot_from_a_url_alone() {
    let server = start();
    server.add_acme();
    for (mac, model, first_file, steady, then) in [
        (
            "0C383E000001",
            "X4U",
            "0c383e000001.cfg",
            "/prov/0c383e000001.cfg",
            "/prov/0c383e000001.cfg -> 200",
        ),
        (
            "7C2F80000001",
            "N870",
            "7c2f80000001.xml",
            "/prov/",
            "7c2f80000001.xml -> 200",
        ),
        (
            "000413E50001",
            "P810",
            "gigasetP810-000413E50001.htm",
            "/prov/gigasetP810-000413E50001.htm",
            "/prov/gigasetP810-000413E50001.htm -> 200",
        ),
    ] {
        let (ok, out, err) = server.cli(&[
            "device",
            "add",
            mac,
            "--model",
            model,
            "--tenant",
            "acme",
            "--line",
            "401:sip-secret:Alice",
        ]);
        assert!(ok, "{out}{err}");
        let (ok, json, _) = server.cli(&["--json", "device", "show", mac, "--secrets"]);
        assert!(ok);
        let d: serde_json::Value = serde_json::from_str(&json).unwrap();
        let first = d["ztprov_url"].as_str().unwrap();
        assert!(
            first.starts_with(&format!("{}/ztprov/", server.prov_url)),
            "{first}"
        );
        let (ok, out, err) = server.cli(&[
            "phone", "boot", "--model", model, "--mac", mac, "--once", "--server", first,
        ]);
        assert!(ok, "{out}{err}");
        // The pair is in the URL: no challenge, and the report hides nothing
        // it should not print (it is the phone's own view).
        assert!(out.contains(&format!("{first_file} -> 200")), "{out}");
        assert!(out.contains(then), "{out}");
        assert!(
            out.contains(&format!("OK: provisioned from {}{steady}", server.prov_url)),
            "{out}"
        );
        assert!(out.contains("SIP identity 401@pbx.example.com"), "{out}");
    }
}

/// A Poly phone, simulated from the URL its ZTP profile would hold: the
/// master, its own file, then `/prov/` with its steady pair; it uploads its
/// log, which `device uploads` lists and prints.
#[test]
fn a_simulated_poly_phone_boots_and_its_upload_is_there_for_the_admin() {
    let server = start();
    server.add_acme();
    let (ok, out, err) = server.cli(&[
        "device",
        "add",
        "0004F2000001",
        "--model",
        "VVX450",
        "--tenant",
        "acme",
        "--line",
        "401:sip-secret:Alice",
    ]);
    assert!(ok, "{out}{err}");
    let (ok, json, _) = server.cli(&["--json", "device", "show", "0004F2000001", "--secrets"]);
    assert!(ok);
    let d: serde_json::Value = serde_json::from_str(&json).unwrap();
    let first = d["ztprov_url"].as_str().unwrap();
    let (ok, out, err) = server.cli(&[
        "phone",
        "boot",
        "--vendor",
        "poly",
        "--mac",
        "0004F2000001",
        "--once",
        "--server",
        first,
    ]);
    assert!(ok, "{out}{err}");
    for step in [
        "0004f2000001.cfg -> 404",
        "/ztprov/",
        "000000000000.cfg -> 200",
        "0004f2000001-user.cfg -> 200",
        "/prov/0004f2000001-user.cfg -> 200",
        "PUT",
    ] {
        assert!(out.contains(step), "{step}: {out}");
    }
    assert!(
        out.contains(&format!(
            "OK: provisioned from {}/prov/: SIP identity 401@pbx.example.com",
            server.prov_url
        )),
        "{out}"
    );
    let (ok, out, err) = server.cli(&["device", "uploads", "0004F2000001"]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("app.log"), "{out}");
    let (ok, json, _) = server.cli(&["--json", "device", "uploads", "0004F2000001"]);
    assert!(ok);
    let list: serde_json::Value = serde_json::from_str(&json).unwrap();
    let id = list[0]["id"].as_i64().unwrap().to_string();
    let (ok, out, err) = server.cli(&["device", "uploads", "0004F2000001", "--id", &id]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("simulated boot"), "{out}");
}

/// A mixed boot storm: phones of every simulated vendor, taken in turn, each
/// with a MAC in its vendor's OUI; Snom's through the built-in redirection
/// service, the others from what their clouds would hand out.
#[test]
fn a_boot_storm_mixes_vendors() {
    let server = start();
    let (ok, out, err) = server.cli(&[
        "--json",
        "phone",
        "storm",
        "--count",
        "15",
        "--concurrency",
        "5",
        "--redirect",
        &server.redirect_url,
        "--model",
        "D717,T46S,X4U,N870,VVX450",
    ]);
    assert!(ok, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["ok"], 15, "{v}");
    for vendor in ["snom", "yealink", "fanvil", "gigaset", "poly"] {
        assert_eq!(v["ok_by_vendor"][vendor], 3, "{vendor}: {v}");
    }
    let (ok, out, _) = server.cli(&["device", "list", "--tenant", "storm"]);
    assert!(ok);
    for mac in [
        "000413F00000",
        "001565F00001",
        "0C383EF00002",
        "7C2F80F00003",
        "0004F2F00004",
    ] {
        assert!(out.contains(mac), "{mac}: {out}");
    }
}
