//! Poly's file names, uploads, User-Agents and format, against docs/vendors/poly.md.

use super::*;
use crate::render::SettingView;

#[test]
fn models_parse_in_the_spellings_admins_and_phones_use() {
    for s in ["polyVVX450", "VVX450", "vvx_450", "POLYvvx450"] {
        assert_eq!(PhoneModel::parse(s).unwrap().as_str(), "polyVVX450", "{s}");
    }
    assert!(PhoneModel::parse("VVX999").is_err());
}

#[test]
fn file_names_and_uploads_parse() {
    let mac = Mac::parse("0004F2ABCDEF").unwrap();
    let f = POLY.parse_file("0004f2abcdef-user.cfg").unwrap();
    assert_eq!((f.mac, f.vendor), (Some(mac), Vendor(&POLY)));
    assert_eq!(POLY.file_name(&f), "0004f2abcdef-user.cfg");
    assert_eq!(crate::parse_file("0004f2abcdef-user.cfg"), Some(f));
    for bad in [
        "0004F2ABCDEF-user.cfg",
        "000000000000-user.cfg",
        "0004f2abcdef.cfg",
        "0004f2abcdef-app.log",
        "x-user.cfg",
    ] {
        assert!(POLY.parse_file(bad).is_none(), "{bad}");
    }
    for (name, kind) in [
        ("0004f2abcdef-app.log", "app.log"),
        ("0004f2abcdef-boot.log", "boot.log"),
        ("0004f2abcdef-phone.cfg", "phone.cfg"),
        ("0004f2abcdef-web.cfg", "web.cfg"),
        ("0004f2abcdef-directory.xml", "directory.xml"),
    ] {
        assert_eq!(crate::parse_upload(name), Some((mac, kind)), "{name}");
    }
    for bad in [
        "0004f2abcdef-user.cfg",
        "0004f2abcdef.cfg",
        "000000000000-app.log",
        "0004f2abcdef-app.log.1",
        "../0004f2abcdef-app.log",
    ] {
        assert!(crate::parse_upload(bad).is_none(), "{bad}");
    }
}

#[test]
fn user_agents_parse_and_round_trip() {
    // Real (wazo-provd-plugins wazo_polycom/common/common.py).
    let u = POLY
        .parse_user_agent("FileTransport PolycomVVX-VVX_400-UA/4.1.4.7430 Type/Application")
        .unwrap();
    assert_eq!(
        (u.model.as_str(), u.firmware.as_str(), u.mac),
        ("polyVVX400", "4.1.4.7430", None)
    );
    let u =
        POLY.parse_user_agent("FileTransport PolycomVVX-VVX_101-UA/5.4.3.1014 Type/Application");
    assert_eq!(u.map(|u| u.model.as_str()), Some("polyVVX101"));
    let mac = Mac::parse("64167F000001").unwrap();
    for m in MODELS.iter().map(PhoneModel::of) {
        let s = POLY.user_agent(m, "6.4.3.5156", mac);
        let back = crate::parse_user_agent(&s).unwrap_or_else(|| panic!("{s}"));
        assert_eq!(back.model, m, "{s}");
    }
    for bad in [
        "",
        "FileTransport PolycomVVX",
        "FileTransport PolycomVVX-VVX_999-UA/1.2",
        "FileTransport PolycomVVX-VVX_400-UA/x",
    ] {
        assert!(POLY.parse_user_agent(bad).is_none(), "{bad}");
    }
}

#[test]
fn the_master_is_public_and_names_the_users_file() {
    let r = crate::Renderer::new(None).unwrap();
    let (body, ct) = r.public("000000000000.cfg").unwrap();
    assert_eq!(ct, "text/xml; charset=utf-8");
    let text = std::str::from_utf8(&body).unwrap();
    let doc = roxmltree::Document::parse(text).unwrap();
    assert_eq!(
        doc.root_element().attribute("CONFIG_FILES"),
        Some("[PHONE_MAC_ADDRESS]-user.cfg")
    );
    assert!(r.public("0004f2abcdef-user.cfg").is_none());
}

fn read_back(xml: &str) -> Vec<(String, String)> {
    let doc = roxmltree::Document::parse(xml).unwrap_or_else(|e| panic!("{e}: {xml}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "polycomConfig");
    assert_eq!(root.children().filter(|c| c.is_element()).count(), 0);
    root.attributes()
        .map(|a| (a.name().to_owned(), a.value().to_owned()))
        .collect()
}

proptest::proptest! {
    /// Whatever the values hold, and whichever names collide once an index
    /// joins them, the file holds exactly one attribute a name, each with
    /// the last value given for it.
    #[test]
    fn the_file_holds_exactly_the_settings(
        items in proptest::collection::vec(("[A-Za-z0-9_][A-Za-z0-9_.-]{0,5}", proptest::option::of(0u32..3), "(\\PC|[<>&\"'\r\n\t])*"), 1..8),
    ) {
        let settings: Vec<SettingView> = items.iter().map(|(n, i, v)| SettingView::builtin(n, *i, v)).collect();
        let mut want: Vec<(String, String)> = Vec::new();
        for (n, i, v) in &items {
            let name = match i { Some(i) => format!("{n}.{i}"), None => n.clone() };
            if !name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
                continue;
            }
            match want.iter_mut().find(|w| w.0 == name) {
                Some(w) => w.1 = v.clone(),
                None => want.push((name, v.clone())),
            }
        }
        let t = crate::render::environment(&POLY, None).unwrap();
        let body = t.render("poly/device.xml", minijinja::context! {
            device => minijinja::context! { mac => "0004f2abcdef", model => "polyVVX450", revision => 1 },
            settings => render::attributes(settings),
        }).unwrap();
        proptest::prop_assert_eq!(read_back(std::str::from_utf8(&body).unwrap()), want);
    }

    #[test]
    fn parsers_never_panic(s in "\\PC{0,80}") {
        let _ = POLY.parse_file(&s);
        let _ = POLY.parse_upload(&s);
        let _ = POLY.parse_user_agent(&s);
    }
}
