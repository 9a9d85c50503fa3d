//! What the fuzz targets share: the render property (fuzzed values go
//! through a vendor's renderer, and reading the output back gives exactly
//! the settings that went in: no setting added, none lost, every value as
//! it was, as the vendor's format carries it) and a reader per format.

use arbitrary::Arbitrary;
use touchless_domain::{DisplayText, Mac, Perm, ProvPassword, Setting, SipPassword, SipUser};
use touchless_phones::{Firmware, FirmwareStep, Line, Phone, PhoneModel, Renderer, TenantFacts};

/// What an admin (or the API) may put into a phone's file.
#[derive(Arbitrary, Debug)]
pub struct Input {
    pub setting_name: String,
    pub setting_idx: Option<u8>,
    pub setting_value: String,
    pub tenant_setting_value: String,
    pub tenant_name: String,
    pub device_name: String,
    pub display_name: String,
    pub extension: String,
    pub sip_password: String,
    pub prov_pass: String,
    pub firmware_version: String,
    pub firmware_url: String,
}

/// One value of each kind, each unique, so the benign file says which key
/// carries which value.
const MARKS: [&str; 9] = [
    "mk0setting",
    "mk1tenantset",
    "mk2tenant",
    "mk3device",
    "mk4display",
    "mk5ext",
    "mk6sip",
    "mk7prov",
    "mk8fwurl",
];

fn valid<T>(s: &str, parse: impl Fn(&str) -> Result<T, touchless_domain::Error>) -> Option<String> {
    parse(s).ok().map(|_| s.to_owned())
}

/// The values of `i` the domain accepts (what the API would let through);
/// `None` when one of them is refused: nothing to render.
fn values(i: &Input) -> Option<[String; 9]> {
    let text = |s: &str| valid(s, DisplayText::parse);
    let setting = |s: &str| {
        Setting::new("x", None, s, Perm::R)
            .ok()
            .map(|_| s.to_owned())
    };
    let url = |s: &str| {
        touchless_domain::FirmwareImage::url(&format!("https://{s}"))
            .ok()
            .map(|_| format!("https://{s}"))
    };
    Some([
        setting(&i.setting_value)?,
        setting(&i.tenant_setting_value)?,
        text(&i.tenant_name)?,
        text(&i.device_name)?,
        text(&i.display_name)?,
        valid(&i.extension, SipUser::parse)?,
        valid(&i.sip_password, SipPassword::parse)?,
        valid(&i.prov_pass, ProvPassword::parse)?,
        url(&i.firmware_url)?,
    ])
}

/// Renders the device file of `model` with `v` as its values.
fn render(
    r: &Renderer,
    model: PhoneModel,
    mac: Mac,
    name: &str,
    idx: Option<u32>,
    fw: &str,
    v: &[String; 9],
) -> String {
    let device = [Setting::new(name, idx, &v[0], Perm::R).expect("checked")];
    let tenant = [Setting::new("fuzz_tenant_setting", None, &v[1], Perm::RW).expect("checked")];
    let p = Phone {
        public_url: "https://prov.example.com",
        tenant: TenantFacts {
            id: "acme",
            name: &v[2],
            sip_host: "pbx.example.com",
            sip_port: 5060,
            settings: &tenant,
        },
        mac,
        model,
        name: &v[3],
        revision: 1,
        lines: vec![Line {
            idx: 1,
            extension: &v[5],
            auth_user: &v[5],
            sip_password: &v[6],
            display_name: &v[4],
        }],
        settings: &device,
        prov_user: "prov-user",
        prov_pass: &v[7],
        firmware: Some(Firmware {
            step: Some(FirmwareStep {
                version: fw.to_owned(),
                url: v[8].clone(),
            }),
        }),
    };
    let mut out = String::from_utf8(r.device(&p).expect("renders").to_vec()).expect("UTF-8");
    if let Some(f) = r.firmware_file(&p).expect("renders") {
        out.push_str("\n<!--firmware-->\n");
        out.push_str(std::str::from_utf8(&f).expect("UTF-8"));
    }
    out
}

/// The property, for one vendor's model: `read` gives a file's settings as
/// (key, value) in order; `carried` says what the format makes of a value
/// (Yealink's lines turn line breaks into spaces).
pub fn check(
    model: &str,
    mac: &str,
    i: &Input,
    read: fn(&str) -> Vec<(String, String)>,
    carried: fn(&str) -> String,
) {
    let Some(fuzzed) = values(i) else { return };
    let Ok(name) = touchless_domain::SettingName::parse(&i.setting_name) else {
        return;
    };
    // A name or version spelled like a marker would read as one.
    if name.as_str().contains("mk") || i.firmware_version.contains("mk") {
        return;
    }
    let Ok(fw) = touchless_domain::FirmwareVersion::parse(&i.firmware_version) else {
        return;
    };
    let r = renderer();
    let model = PhoneModel::parse(model).expect("a model");
    let mac = Mac::parse(mac).expect("a MAC");
    let idx = i.setting_idx.map(u32::from);
    let benign: [String; 9] = MARKS.map(str::to_owned);
    let benign = {
        let mut b = benign;
        b[8] = "https://mk8fwurl".to_owned();
        b
    };
    let plain = read(&render(
        r,
        model,
        mac,
        name.as_str(),
        idx,
        fw.as_str(),
        &benign,
    ));
    let text = render(r, model, mac, name.as_str(), idx, fw.as_str(), &fuzzed);
    let got = read(&text);
    let keys = |v: &[(String, String)]| v.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
    assert_eq!(keys(&got), keys(&plain), "settings added or lost:\n{text}");
    for ((k, want), (_, have)) in plain.iter().zip(&got) {
        for (m, value) in benign.iter().zip(&fuzzed) {
            // An empty value may make a file fall back to another (Yealink's
            // label is the extension without a display name).
            if want == m && !value.is_empty() {
                assert_eq!(*have, carried(value), "{k} does not read back:\n{text}");
            }
        }
    }
}

fn renderer() -> &'static Renderer {
    static R: std::sync::OnceLock<Renderer> = std::sync::OnceLock::new();
    R.get_or_init(|| Renderer::new(None).expect("built-in templates"))
}

/// A value as a format that carries any text carries it.
pub fn exact(s: &str) -> String {
    s.to_owned()
}

/// Every element with text, and every attribute, of an XML file (and of
/// the firmware file after it), keyed by their path: what a phone reads.
pub fn xml(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for part in text.split("\n<!--firmware-->\n") {
        let doc =
            roxmltree::Document::parse(part).unwrap_or_else(|e| panic!("not XML: {e}\n{part}"));
        for n in doc.descendants().filter(|n| n.is_element()) {
            let path: Vec<String> = n
                .ancestors()
                .filter(|a| a.is_element())
                .map(|a| {
                    // An index names a slot (Snom's idx, Fanvil's index); on
                    // the root it is a setting of that name (Poly's attributes).
                    let root = a.parent_element().is_none();
                    let idx = match root {
                        true => "",
                        false => a.attribute("idx").or(a.attribute("index")).unwrap_or(""),
                    };
                    format!("{}{idx}", a.tag_name().name())
                })
                .collect();
            let path = path.into_iter().rev().collect::<Vec<_>>().join("/");
            for a in n.attributes() {
                out.push((format!("{path}@{}", a.name()), a.value().to_owned()));
            }
            if !n.children().any(|c| c.is_element()) {
                out.push((path, n.text().unwrap_or("").to_owned()));
            }
        }
    }
    out
}

/// Yealink's `key = value` lines (comments and the version line skipped).
pub fn yealink(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (k, v) = l
                .split_once(" = ")
                .unwrap_or_else(|| panic!("not a key = value line: {l:?}\n{text}"));
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

/// What Yealink's format makes of a value: no line breaks.
pub fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| {
            if matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}') {
                ' '
            } else {
                c
            }
        })
        .collect()
}
