//! What the Debian package relies on: the unit's command line, run by hand
//! with the packaged configuration, serves; SIGHUP reopens the access log
//! (logrotate) instead of killing the process; the unit passes
//! `systemd-analyze verify` and rates 2.0 or better in `systemd-analyze
//! security`.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

const UNIT: &str = include_str!("../packaging/touchless.service");
const CONFIG: &str = include_str!("../packaging/touchless.toml");

/// The unit's `ExecStart=` words.
fn exec_start() -> Vec<String> {
    let line = UNIT
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("the unit has an ExecStart");
    line.split_whitespace().map(str::to_owned).collect()
}

#[test]
fn the_units_command_line_serves_with_the_packaged_config_and_survives_sighup() {
    let words = exec_start();
    assert_eq!(
        words,
        [
            "/usr/bin/touchless",
            "--config",
            "/etc/touchless/touchless.toml",
            "serve"
        ]
    );
    // The packaged file, with its system paths moved into a scratch folder
    // and its listeners on free ports: nothing else changes.
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let config = CONFIG
        .replace(
            "/var/lib/touchless",
            &root.join("lib").display().to_string(),
        )
        .replace(
            "/var/log/touchless",
            &root.join("log").display().to_string(),
        )
        .replace("0.0.0.0:8080", "127.0.0.1:0")
        .replace("0.0.0.0:8081", "127.0.0.1:0")
        .replace("127.0.0.1:15777", "127.0.0.1:0");
    let etc = root.join("etc/touchless.toml");
    std::fs::create_dir_all(etc.parent().unwrap()).unwrap();
    std::fs::write(&etc, config).unwrap();
    // The unit's own words, then the scratch config: the last --config wins.
    let mut child = Command::new(env!("CARGO_BIN_EXE_touchless"))
        .args(&words[1..])
        .arg("--config")
        .arg(&etc)
        .env_remove("TOUCHLESS_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut prov, mut admin) = (String::new(), String::new());
    for line in lines.by_ref().map_while(Result::ok) {
        if let Some(rest) = line.trim().strip_prefix("provisioning server") {
            prov = rest.split_whitespace().next().unwrap().to_owned();
        }
        if let Some(rest) = line.trim().strip_prefix("admin API") {
            admin = rest.trim().to_owned();
        }
        if line.starts_with("Stop with") {
            break;
        }
    }
    std::thread::spawn(move || lines.for_each(drop));
    assert!(
        root.join("lib/admin-token").exists(),
        "data in the StateDirectory"
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    let get =
        |url: String| rt.block_on(async { reqwest::get(url).await.unwrap().status().as_u16() });
    assert_eq!(get(format!("{admin}/readyz")), 200);
    assert_eq!(get(format!("{prov}/prov/snomD717-000413000001.htm")), 401);

    // logrotate: move the file away, SIGHUP, and the next lines go to a new one.
    let log = root.join("log/access.log");
    let rotated = root.join("log/access.log.1");
    wait_for(|| std::fs::read_to_string(&log).is_ok_and(|t| t.lines().count() == 1));
    std::fs::rename(&log, &rotated).unwrap();
    let hup = Command::new("kill")
        .args(["-HUP", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(hup.success());
    wait_for(|| log.exists());
    assert_eq!(get(format!("{prov}/prov/snomD717-000413000002.htm")), 401);
    wait_for(|| std::fs::read_to_string(&log).is_ok_and(|t| t.contains("000413000002")));
    let old = std::fs::read_to_string(&rotated).unwrap();
    assert!(
        old.contains("000413000001") && !old.contains("000413000002"),
        "{old}"
    );
    assert!(
        child.try_wait().unwrap().is_none(),
        "SIGHUP must not stop the server"
    );
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success());
}

fn wait_for(mut ok: impl FnMut() -> bool) {
    for _ in 0..200 {
        if ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("timed out");
}

/// `systemd-analyze` is Debian's `systemd` package (`.ci/run` installs it).
#[test]
fn the_unit_verifies_and_is_hardened() {
    let dir = tempfile::tempdir().unwrap();
    // verify checks that ExecStart's binary exists: point it at this build.
    let unit = dir.path().join("touchless.service");
    std::fs::write(
        &unit,
        UNIT.replace("/usr/bin/touchless", env!("CARGO_BIN_EXE_touchless")),
    )
    .unwrap();
    let verify = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&unit)
        .output()
        .expect("systemd-analyze runs (apt-get install systemd)");
    assert!(
        verify.status.success() && verify.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
    // --threshold is on the 0-100 scale: 20 is an exposure of 2.0.
    let security = Command::new("systemd-analyze")
        .args(["security", "--offline=true", "--threshold=20", "--no-pager"])
        .arg(&unit)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&security.stdout);
    let score = out
        .lines()
        .find(|l| l.contains("Overall exposure level"))
        .unwrap_or_default()
        .to_owned();
    assert!(security.status.success(), "{score}\n{out}");
    eprintln!("{score}");
}
