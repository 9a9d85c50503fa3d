//! Gigaset's file names, User-Agents and format, against docs/vendors/gigaset.md.

use super::*;
use crate::render::SettingView;

#[test]
fn models_parse_in_the_spellings_admins_and_bases_use() {
    for s in ["gigasetN870", "N870", "n870 ip pro", "N870 IP PRO"] {
        assert_eq!(PhoneModel::parse(s).unwrap().as_str(), "gigasetN870", "{s}");
    }
    assert_eq!(PhoneModel::parse("N870E").unwrap().as_str(), "gigasetN870E");
    assert!(PhoneModel::parse("N999").is_err());
}

#[test]
fn file_names_parse_and_round_trip() {
    let mac = Mac::parse("7C2F80E0D605").unwrap();
    let f = GIGASET.parse_file("7c2f80e0d605.xml").unwrap();
    assert_eq!(
        (f.mac, f.model, f.vendor),
        (Some(mac), None, Vendor(&GIGASET))
    );
    assert_eq!(GIGASET.file_name(&f), "7c2f80e0d605.xml");
    assert_eq!(crate::parse_file("7c2f80e0d605.xml"), Some(f));
    for bad in [
        "7C2F80E0D605.xml",
        "7c2f80e0d60.xml",
        "7c2f80e0d605.cfg",
        "x.xml",
    ] {
        assert!(GIGASET.parse_file(bad).is_none(), "{bad}");
    }
}

#[test]
fn user_agents_parse_and_round_trip() {
    // Real (wazo-provd-plugins wazo_gigaset/Nx70_83_v2_65_0/common.py).
    let u = GIGASET
        .parse_user_agent("Gigaset N870 IP PRO/83.V2.11.0+build.a546b91;7C2F80E0D605")
        .unwrap();
    assert_eq!(u.model.as_str(), "gigasetN870");
    assert_eq!(u.firmware, "83.V2.11.0");
    assert_eq!(u.mac, Some(Mac::parse("7C2F80E0D605").unwrap()));
    let quoted = "\"Gigaset N670 IP PRO/83.V2.11.0+build.a546b91;7C2F80E0D605;Handset=1\"";
    assert_eq!(
        GIGASET.parse_user_agent(quoted).unwrap().model.as_str(),
        "gigasetN670"
    );
    let mac = Mac::parse("589EC6000001").unwrap();
    for m in MODELS.iter().map(PhoneModel::of) {
        let fw = if desk(m) { "10.1.54.5" } else { "83.V2.65.0" };
        let s = GIGASET.user_agent(m, fw, mac);
        let back = crate::parse_user_agent(&s).unwrap_or_else(|| panic!("{s}"));
        assert_eq!((back.model, back.mac), (m, Some(mac)), "{s}");
    }
    for bad in [
        "",
        "Gigaset",
        "Gigaset N870 IP PRO",
        "Gigaset N999/1.2;x",
        "Gigaset N870/;x",
    ] {
        assert!(GIGASET.parse_user_agent(bad).is_none(), "{bad}");
    }
}

/// The P-series: the platform's names, User-Agent and files, under
/// Gigaset's models; the registry's model decides (they carry the
/// platform's OUI).
#[test]
fn the_p_series_takes_the_platforms_names_and_files() {
    let m = PhoneModel::parse("P810").unwrap();
    assert_eq!((m.as_str(), m.vendor().name()), ("gigasetP810", "gigaset"));
    let mac = Mac::parse("000413E50001").unwrap();
    let f = crate::parse_file("gigasetP810-000413E50001.htm").unwrap();
    assert_eq!(
        (f.vendor.name(), f.model, f.mac),
        ("gigaset", Some(m), Some(mac))
    );
    assert_eq!(GIGASET.file_name(&f), "gigasetP810-000413E50001.htm");
    let c = crate::parse_file("gigasetP810.htm").unwrap();
    assert_eq!((c.model, c.mac), (Some(m), None));
    assert!(GIGASET.has_common_file(m));
    assert!(!GIGASET.has_common_file(PhoneModel::parse("N870").unwrap()));
    // A base's model in the platform's names is no file; the platform's own
    // phones stay its own.
    assert!(crate::parse_file("gigasetN870-7C2F80E0D605.htm").is_none());
    assert_eq!(
        crate::parse_file("snomD717-000413AABBCC.htm")
            .unwrap()
            .vendor
            .name(),
        "snom"
    );
    assert_eq!(
        GIGASET.first_contact_path(m, mac),
        "/ztprov/gigasetP810-000413E50001.htm"
    );
    assert_eq!(GIGASET.pair_in_path(m), crate::PairInPath::FirstContact);
    assert_eq!(
        GIGASET.pair_in_path(PhoneModel::parse("N870").unwrap()),
        crate::PairInPath::Always
    );
    let ua = GIGASET.user_agent(m, "10.1.54.5", mac);
    assert!(ua.contains("gigasetP810-SIP 10.1.54.5"), "{ua}");
    let back = crate::parse_user_agent(&ua).unwrap();
    assert_eq!((back.model, back.mac), (m, Some(mac)));
    assert!(GIGASET.ouis().contains(&[0x00, 0x04, 0x13]));
}

fn params(xml: &str) -> Vec<(String, String)> {
    let doc = roxmltree::Document::parse(xml).unwrap_or_else(|e| panic!("{e}: {xml}"));
    assert_eq!(doc.root_element().tag_name().name(), "provisioning");
    doc.descendants()
        .filter(|n| n.has_tag_name("param"))
        .map(|n| {
            assert_eq!(n.parent().unwrap().tag_name().name(), "nvm");
            (
                n.attribute("name").unwrap().to_owned(),
                n.attribute("value").unwrap().to_owned(),
            )
        })
        .collect()
}

proptest::proptest! {
    /// Whatever a value holds, the parsed file holds exactly the settings
    /// that went in: no second parameter, no injected markup, and white
    /// space kept as it was.
    #[test]
    fn the_file_holds_exactly_the_settings(value in "(\\PC|[<>&\"'\r\n\t])*", idx in proptest::option::of(0u32..100)) {
        let t = crate::render::environment(&GIGASET, None).unwrap();
        let settings = vec![
            SettingView::builtin("DmGlobal.0.NtpServer", None, "pool.ntp.org"),
            SettingView::builtin("Custom.x", idx, &value),
        ];
        let body = t.render("gigaset/ztprov.xml", minijinja::context! {
            device => minijinja::context! { mac => "7c2f80e0d605", model => "gigasetN870" },
            settings => settings,
        }).unwrap();
        let name = match idx { Some(i) => format!("Custom.x.{i}"), None => "Custom.x".into() };
        proptest::prop_assert_eq!(
            params(std::str::from_utf8(&body).unwrap()),
            vec![("DmGlobal.0.NtpServer".to_owned(), "pool.ntp.org".to_owned()), (name, value)]
        );
    }

    #[test]
    fn parsers_never_panic(s in "\\PC{0,80}") {
        let _ = GIGASET.parse_file(&s);
        let _ = GIGASET.parse_user_agent(&s);
    }
}

/// The input `fuzz/` found (user_agents): a desk phone's model in the
/// bases' form was read as that desk phone, whose own form then did not
/// read back. The bases' form names bases only.
#[test]
fn the_bases_user_agent_form_names_bases_only() {
    assert!(GIGASET
        .parse_user_agent("Gigaset gigasetP855/.snomM9000;F827C2C0E005")
        .is_none());
    let u = GIGASET
        .parse_user_agent("Gigaset N870 IP PRO/83.V2.11.0+build.a546b91;7C2F80E0D605")
        .unwrap();
    assert_eq!(u.model.as_str(), "gigasetN870");
}
