//! Firmware policies end to end, against the real binary: simulated phones
//! of every vendor, reporting an old version, walk a policy's intermediate
//! versions to its target across reboots (fetching each image from
//! touchless's firmware directory with their own pair), and the device
//! list's "behind" filter shows exactly those not there yet.

mod common;

use common::start_with;

const OLD: &str = "1.0.0";
const STEPS: [&str; 2] = ["1.5.0", "2.0.0"];
const TARGET: &str = "2.1.0";

/// Each vendor's phone, and how its policy is set: for the one device, for
/// its tenant, or for the installation (one model each, so they do not
/// overlap).
const PHONES: &[(&str, &str, &str)] = &[
    ("000413F00001", "D785", "device"),
    ("805EC0F00001", "T46S", "tenant"),
    ("0C383EF00001", "X4U", "installation"),
    ("7C2F80F00001", "N870", "device"),
    ("000413F00002", "P810", "tenant"),
    ("0004F2F00001", "VVX450", "installation"),
];

#[test]
fn phones_of_every_vendor_step_through_a_policy_to_its_target() {
    let dir = tempfile::tempdir().unwrap();
    let images = dir.path().join("touchless-data/firmware");
    std::fs::create_dir_all(&images).unwrap();
    for v in STEPS.iter().chain([&TARGET]) {
        let mut body = format!("touchless-sim-firmware {v}\n").into_bytes();
        body.resize(64 * 1024 + 17, b'x');
        std::fs::write(images.join(format!("fw-{v}.bin")), body).unwrap();
    }
    // Reported versions reach the registry through the contact log: flush it
    // often, so the list below need not wait seconds.
    let server = start_with(
        dir,
        None,
        &[("TOUCHLESS_PROVISIONING__CONTACT_FLUSH_MS", "100")],
        None,
    );
    server.add_acme();
    let state = tempfile::tempdir().unwrap();
    for (mac, model, scope) in PHONES {
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
        let mut set = vec![
            "firmware".to_owned(),
            "set".into(),
            "--model".into(),
            model.to_string(),
            "--version".into(),
            TARGET.into(),
            "--file".into(),
            format!("fw-{TARGET}.bin"),
        ];
        for s in STEPS {
            set.extend(["--step".into(), format!("{s}=fw-{s}.bin")]);
        }
        match *scope {
            "device" => set.extend(["--device".into(), mac.to_string()]),
            "tenant" => set.extend(["--tenant".into(), "acme".into()]),
            _ => {}
        }
        let args: Vec<&str> = set.iter().map(String::as_str).collect();
        let (ok, out, err) = server.cli(&args);
        assert!(ok, "{out}{err}");
        assert!(
            out.contains(&format!("go to {TARGET} through 1.5.0, 2.0.0")),
            "{out}"
        );
    }
    // One more phone under a policy that never boots: it stays behind.
    let (ok, out, err) = server.cli(&[
        "device",
        "add",
        "805EC0F00002",
        "--model",
        "T46S",
        "--tenant",
        "acme",
    ]);
    assert!(ok, "{out}{err}");
    assert_eq!(behind(&server).len(), PHONES.len() + 1);

    for (mac, model, _) in PHONES {
        let (ok, json, _) = server.cli(&["--json", "device", "show", mac, "--secrets"]);
        assert!(ok);
        let d: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(d["firmware"]["standing"], "behind", "{model}");
        let first = d["ztprov_url"].as_str().unwrap();
        let state_dir = state.path().to_str().unwrap();
        let mut boot = vec![
            "phone",
            "boot",
            "--model",
            model,
            "--mac",
            mac,
            "--firmware",
            OLD,
            "--state-dir",
            state_dir,
            "--server",
            first,
        ];
        // Where the cloud hands out a pair beside the URL.
        if !first.contains(d["ztprov_pass"].as_str().unwrap()) && !first.contains('%') {
            boot.extend([
                "--user",
                d["ztprov_user"].as_str().unwrap(),
                "--pass",
                d["ztprov_pass"].as_str().unwrap(),
            ]);
        }
        let (ok, out, err) = server.cli(&boot);
        assert!(ok, "{model}: {out}{err}");
        // Each boot installs the next version and reboots; the last one,
        // reporting the target, is given nothing to install.
        let mut at = 0;
        for v in STEPS.iter().chain([&TARGET]) {
            let said = format!("installed firmware {v}, reboots");
            let i = out[at..]
                .find(&said)
                .unwrap_or_else(|| panic!("{model}: no {said:?} after byte {at}:\n{out}"));
            at += i + said.len();
        }
        let rest = &out[at..];
        assert!(rest.contains("OK: provisioned"), "{model}: {rest}");
        assert!(!rest.contains("installed firmware"), "{model}: {rest}");
        assert!(out.contains("/firmware/"), "{model}: {out}");
    }

    // The last fetch of each reported the target: only the phone that never
    // booted is behind.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let left = behind(&server);
        if left == ["805EC0F00002"] {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still behind: {left:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let (ok, out, _) = server.cli(&["device", "show", "000413F00001"]);
    assert!(ok);
    assert!(out.contains(&format!("{TARGET}: current")), "{out}");
    let (ok, out, _) = server.cli(&["device", "list", "--firmware", "behind"]);
    assert!(ok);
    assert!(out.contains("? → 2.1.0"), "{out}");
    let (ok, out, _) = server.cli(&["firmware", "list"]);
    assert!(ok);
    assert!(out.contains("1.5.0 → 2.0.0"), "{out}");
}

/// The MACs `device list --firmware behind` shows.
fn behind(server: &common::Server) -> Vec<String> {
    let (ok, json, err) = server.cli(&["--json", "device", "list", "--firmware", "behind"]);
    assert!(ok, "{err}");
    let ds: Vec<serde_json::Value> = serde_json::from_str(&json).unwrap();
    ds.iter()
        .map(|d| d["mac"].as_str().unwrap().to_owned())
        .collect()
}
