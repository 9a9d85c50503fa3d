//! Fanvil's file names, User-Agents and format, against docs/vendors/fanvil.md.

use super::*;
use crate::render::SettingView;
use render::tree;

fn fvl() -> Vendor {
    Vendor(&FANVIL)
}

#[test]
fn models_parse_in_the_spellings_admins_and_phones_use() {
    for s in ["fanvilX6U-Pro", "X6U-Pro", "x6u pro", "FANVILx6u-pro"] {
        assert_eq!(
            PhoneModel::parse(s).unwrap().as_str(),
            "fanvilX6U-Pro",
            "{s}"
        );
    }
    assert_eq!(PhoneModel::parse("V67").unwrap().vendor(), fvl());
    assert!(PhoneModel::parse("X99").is_err());
}

#[test]
fn file_names_parse_and_round_trip() {
    let mac = Mac::parse("0C383E123456").unwrap();
    let f = FANVIL.parse_file("0c383e123456.cfg").unwrap();
    assert_eq!((f.mac, f.model, f.vendor), (Some(mac), None, fvl()));
    assert_eq!(FANVIL.file_name(&f), "0c383e123456.cfg");
    let c = FANVIL.parse_file("F0V0V6700000.cfg").unwrap();
    assert_eq!((c.model.unwrap().as_str(), c.mac), ("fanvilV67", None));
    for m in MODELS.iter().map(PhoneModel::of) {
        let name = FANVIL.file_name(&ConfigFile::common(m));
        assert_eq!(FANVIL.has_common_file(m), !name.is_empty(), "{m}");
        if !name.is_empty() {
            assert_eq!(FANVIL.parse_file(&name).unwrap().model, Some(m), "{m}");
        }
    }
    for bad in [
        "0C383E123456.cfg",
        "000000000000.cfg",
        "0c383e123456.xml",
        "0c383e12345.cfg",
        "f0v0v6700000.cfg",
        "../0c383e123456.cfg",
    ] {
        assert!(FANVIL.parse_file(bad).is_none(), "{bad}");
    }
}

#[test]
fn user_agents_parse_and_round_trip() {
    // Real ones (wazo-provd-plugins wazo_fanvil/common/common.py).
    for (ua, model, fw) in [
        (
            "Fanvil X4 2.10.2.6887 0c383e07e16c",
            "fanvilX4",
            "2.10.2.6887",
        ),
        (
            "Fanvil X6U Pro 0.0.10 0c383e2cd782",
            "fanvilX6U-Pro",
            "0.0.10",
        ),
        (
            "Fanvil V67 2.6.6.187 0c383e2b29e6",
            "fanvilV67",
            "2.6.6.187",
        ),
    ] {
        let u = FANVIL
            .parse_user_agent(ua)
            .unwrap_or_else(|| panic!("{ua}"));
        assert_eq!((u.model.as_str(), u.firmware.as_str()), (model, fw), "{ua}");
        assert!(u.mac.is_some(), "{ua}");
    }
    let mac = Mac::parse("0C383E00AA01").unwrap();
    for m in MODELS.iter().map(PhoneModel::of) {
        let s = FANVIL.user_agent(m, "2.12.16.17", mac);
        let back = crate::parse_user_agent(&s).unwrap_or_else(|| panic!("{s}"));
        assert_eq!((back.model, back.mac), (m, Some(mac)), "{s}");
    }
    for bad in [
        "",
        "Fanvil",
        "Fanvil X6U",
        "Fanvil X99 1.2.3",
        "Fanvil a b c 1.2",
    ] {
        assert!(FANVIL.parse_user_agent(bad).is_none(), "{bad}");
    }
}

fn set(name: &str, idx: Option<u32>, value: &str) -> SettingView {
    SettingView::builtin(name, idx, value)
}

/// The elements of a rendered `<sysConf>` back as settings: a leaf's path is
/// its name, an `index` on its parent (or itself) its index.
fn read_back(xml: &str) -> Vec<(String, Option<u32>, String)> {
    let doc = roxmltree::Document::parse(xml).unwrap_or_else(|e| panic!("{e}: {xml}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "sysConf");
    let mut out = Vec::new();
    for n in root.descendants().filter(|n| n.is_element() && *n != root) {
        if n.children().any(|c| c.is_element()) || n.tag_name().name() == "Version" {
            continue;
        }
        let mut path = vec![n.tag_name().name().to_owned()];
        let mut idx = n.attribute("index").map(|i| i.parse().unwrap());
        let mut up = n.parent_element();
        while let Some(p) = up.filter(|p| *p != root) {
            if let Some(i) = p.attribute("index") {
                idx = Some(i.parse().unwrap());
            }
            path.push(p.tag_name().name().to_owned());
            up = p.parent_element();
        }
        path.reverse();
        out.push((path.join("."), idx, n.text().unwrap_or("").to_owned()));
    }
    out
}

#[test]
fn settings_become_nested_elements() {
    let s = [
        set("ap.FlashServerIP", None, "https://pbx"),
        set("sip.line.PhoneNumber", Some(1), "401"),
        set("sip.line.PhoneNumber", Some(2), "402"),
        set("sip.SIPPort", None, "5060"),
        set("phone.display.DefaultLanguage", None, "de"),
        set("ap.FlashServerIP", None, "https://pbx2"),
        set("9bad", None, "x"),
        set("a..b", None, "x"),
        set("Tone", Some(3), "eu"),
    ];
    let t = crate::render::environment(&FANVIL, None).unwrap();
    let body = t
        .render(
            "fanvil/common.xml",
            minijinja::context! { model => "fanvilX6U", tree => tree(&s) },
        )
        .unwrap();
    let text = std::str::from_utf8(&body).unwrap();
    assert_eq!(
        read_back(text),
        vec![
            ("ap.FlashServerIP".into(), None, "https://pbx2".into()),
            ("sip.line.PhoneNumber".into(), Some(1), "401".into()),
            ("sip.line.PhoneNumber".into(), Some(2), "402".into()),
            ("sip.SIPPort".into(), None, "5060".into()),
            ("phone.display.DefaultLanguage".into(), None, "de".into()),
            ("Tone".into(), Some(3), "eu".into()),
        ],
        "{text}"
    );
}

proptest::proptest! {
    /// Whatever the values hold, the parsed document holds exactly the
    /// settings that went in: no second element, no injected markup.
    #[test]
    fn the_document_holds_exactly_the_settings(
        values in proptest::collection::vec("(\\PC|[<>&\"'\r\n\t])*", 1..6),
        names in proptest::collection::vec("[A-Za-z_][A-Za-z0-9_]{0,6}(\\.[A-Za-z_][A-Za-z0-9_-]{0,6}){0,2}", 1..6),
    ) {
        let mut settings = Vec::new();
        let mut want: Vec<(String, Option<u32>, String)> = Vec::new();
        for (i, (n, v)) in names.iter().zip(values.iter().cycle()).enumerate() {
            let idx = (i % 2 == 1).then_some(i as u32);
            // A name that is a prefix path of another cannot hold both a
            // value and children; keep the test to names that can.
            if want.iter().any(|(w, _, _)| w.starts_with(&format!("{n}.")) || n.starts_with(&format!("{w}.")) || (w == n)) {
                continue;
            }
            settings.push(set(n, idx, v));
            want.push((n.clone(), idx, v.clone()));
        }
        let t = crate::render::environment(&FANVIL, None).unwrap();
        let body = t.render("fanvil/common.xml", minijinja::context! { model => "x", tree => tree(&settings) }).unwrap();
        let text = std::str::from_utf8(&body).unwrap();
        let mut got = read_back(text);
        got.sort();
        want.sort();
        proptest::prop_assert_eq!(got, want);
    }

    #[test]
    fn parsers_never_panic(s in "\\PC{0,80}") {
        let _ = FANVIL.parse_file(&s);
        let _ = FANVIL.parse_user_agent(&s);
    }
}
