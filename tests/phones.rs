//! Simulated phones of every vendor against the real binary: `touchless
//! phone boot` from what each vendor's cloud hands out, and `phone storm`
//! with a mixed fleet.

mod common;

use common::start;

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
