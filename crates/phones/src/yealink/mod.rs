//! Yealink: desk phones that fetch `{mac}.cfg` (lower-case MAC) and a
//! per-model common file `y0000000000XX.cfg` from a provisioning *directory*,
//! in the `#!version:1.0.0.1` key = value format. Facts and their sources:
//! `docs/vendors/yealink.md`.

mod render;

use std::fmt;

use touchless_domain::Mac;

use crate::model::{by_bare_name, strip_prefix_ci};
use crate::{
    AuthScheme, ConfigFile, CredentialLimits, Model, Phone, PhoneModel, PhoneVendor, RenderError,
    Templates, TenantFacts, UserAgent, Vendor,
};

pub(crate) static YEALINK: Yealink = Yealink;

pub(crate) struct Yealink;

const PREFIX: &str = "yealink";

/// Models and the number XX of their common file `y0000000000XX.cfg`
/// (docs/vendors/yealink.md). Models of one family share a file; its name
/// parses as the family's first model here.
const TABLE: [(&str, u16); 29] = [
    ("yealinkT19P_E2", 53),
    ("yealinkT21P_E2", 52),
    ("yealinkT23G", 44),
    ("yealinkT27G", 69),
    ("yealinkT29G", 46),
    ("yealinkT30P", 127),
    ("yealinkT30", 127),
    ("yealinkT31P", 123),
    ("yealinkT31G", 123),
    ("yealinkT31", 123),
    ("yealinkT33G", 124),
    ("yealinkT33P", 124),
    ("yealinkT40P", 54),
    ("yealinkT40G", 76),
    ("yealinkT41P", 36),
    ("yealinkT41S", 68),
    ("yealinkT42S", 67),
    ("yealinkT46S", 66),
    ("yealinkT48S", 65),
    ("yealinkT48G", 35),
    ("yealinkT42U", 116),
    ("yealinkT43U", 107),
    ("yealinkT46U", 108),
    ("yealinkT54W", 96),
    ("yealinkT57W", 97),
    ("yealinkT58W", 150),
    ("yealinkT58A", 58),
    ("yealinkCP920", 78),
    ("yealinkVP59", 91),
];

static MODELS: [Model; TABLE.len()] = {
    let mut out = [const { Model::new(&YEALINK, "") }; TABLE.len()];
    let mut i = 0;
    while i < TABLE.len() {
        out[i] = Model::new(&YEALINK, TABLE[i].0);
        i += 1;
    }
    out
};

/// The model without the vendor prefix, as the phone says it: `T46S`.
fn short(m: PhoneModel) -> &'static str {
    &m.as_str()[PREFIX.len()..]
}

fn common_number(m: PhoneModel) -> u16 {
    TABLE
        .iter()
        .find(|(id, _)| *id == m.as_str())
        .map(|(_, n)| *n)
        .unwrap_or(0)
}

impl PhoneVendor for Yealink {
    fn name(&self) -> &'static str {
        "yealink"
    }

    fn display_name(&self) -> &'static str {
        "Yealink"
    }

    fn models(&self) -> &'static [Model] {
        &MODELS
    }

    /// `yealinkT46S`, `T46S` or `SIP-T46S` (the User-Agent's form), any case.
    fn parse_model(&self, s: &str) -> Option<PhoneModel> {
        let bare = strip_prefix_ci(s, PREFIX)
            .or_else(|| strip_prefix_ci(s, "SIP-"))
            .unwrap_or(s);
        by_bare_name(&MODELS, PREFIX, bare)
    }

    fn model_examples(&self) -> &'static str {
        "yealinkT46S, yealinkT54W or yealinkCP920"
    }

    fn ouis(&self) -> &'static [[u8; 3]] {
        // IEEE (Debian's ieee-data): 00-15-65, 80-5E-C0, 80-5E-0C, 24-9A-D8.
        &[
            [0x00, 0x15, 0x65],
            [0x80, 0x5E, 0xC0],
            [0x80, 0x5E, 0x0C],
            [0x24, 0x9A, 0xD8],
        ]
    }

    /// `{mac}.cfg` (12 lower-case hex digits) and `y0000000000XX.cfg`. The
    /// other files the phones try (`*.boot`, `{mac}-local.cfg`,
    /// `{mac}-contact.xml`) are not parsed, so they get a 404: with a `.boot`
    /// file present the phones would stop asking for the `.cfg` files.
    fn parse_file(&self, name: &str) -> Option<ConfigFile> {
        let stem = name.strip_suffix(".cfg")?;
        if let Some(n) = stem.strip_prefix('y').filter(|n| n.len() == 12) {
            if !n.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let n: u16 = n.parse().ok()?;
            let model = TABLE.iter().position(|(_, c)| *c == n)?;
            return Some(ConfigFile::common(PhoneModel::of(&MODELS[model])));
        }
        if stem.len() == 12 && stem.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')) {
            return Some(ConfigFile {
                vendor: Vendor(&YEALINK),
                model: None,
                mac: Some(Mac::parse_compact(stem).ok()?),
            });
        }
        None
    }

    fn file_name(&self, f: &ConfigFile) -> String {
        match (f.mac, f.model) {
            (Some(mac), _) => format!("{}.cfg", mac.to_string().to_ascii_lowercase()),
            (None, Some(m)) => format!("y{:012}.cfg", common_number(m)),
            (None, None) => String::new(),
        }
    }

    fn file_forms(&self) -> &'static str {
        "<mac>.cfg or y0000000000<NN>.cfg"
    }

    /// `Yealink SIP-T46S 66.86.0.15 80:5e:c0:12:34:56` (lower-case colon MAC).
    fn user_agent(&self, model: PhoneModel, firmware: &str, mac: Mac) -> String {
        format!(
            "Yealink SIP-{} {firmware} {}",
            short(model),
            mac.colon().to_ascii_lowercase()
        )
    }

    /// `Yealink SIP-T46S 66.86.0.15 80:5e:c0:12:34:56`, also `yealink` and
    /// `SIP VP-…`; the MAC is optional.
    fn parse_user_agent(&self, ua: &str) -> Option<UserAgent> {
        let rest = strip_prefix_ci(ua, "yealink ")?;
        let mut t = rest.split_ascii_whitespace();
        let mut model_token = t.next()?;
        if model_token == "SIP" {
            model_token = t.next()?;
        }
        let bare = model_token
            .strip_prefix("SIP-")
            .or_else(|| model_token.strip_prefix("VP-"))
            .unwrap_or(model_token);
        let model = self.parse_model(bare)?;
        let firmware = t.next()?;
        if firmware.is_empty() || !firmware.bytes().all(|c| c.is_ascii_digit() || c == b'.') {
            return None;
        }
        let mac = t.next().and_then(|m| Mac::parse(m).ok());
        Some(UserAgent {
            model,
            firmware: firmware.to_owned(),
            mac,
        })
    }

    /// No documented limit for `static.auto_provision.server.username` and
    /// `.password` was found; 64 is what the web UI accepts in practice
    /// (guess, docs/vendors/yealink.md), above the domain's limits.
    fn credential_limits(&self) -> CredentialLimits {
        CredentialLimits { user: 64, pass: 64 }
    }

    fn auth_schemes(&self) -> &'static [AuthScheme] {
        &[AuthScheme::Digest, AuthScheme::Basic]
    }

    /// The phones take a provisioning *directory* and fetch their files in it,
    /// so the cloud and `/ztprov` hand out the folder, not a file.
    fn first_contact_path(&self, _model: PhoneModel, _mac: Mac) -> String {
        "/ztprov/".to_owned()
    }

    fn steady_path(&self, _model: PhoneModel, _mac: Mac) -> String {
        "/prov/".to_owned()
    }

    fn templates(&self) -> &'static [(&'static str, &'static str)] {
        render::TEMPLATES
    }

    /// A value runs to the end of its line and has no escape: a line break
    /// (which the edges already refuse) becomes a space, so no value can
    /// start a second setting.
    fn escape(&self, out: &mut dyn fmt::Write, s: &str) -> fmt::Result {
        let mut last = 0;
        for (i, c) in s.char_indices() {
            if matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}') {
                out.write_str(&s[last..i])?;
                out.write_char(' ')?;
                last = i + c.len_utf8();
            }
        }
        out.write_str(&s[last..])
    }

    fn content_type(&self) -> &'static str {
        "text/plain; charset=utf-8"
    }

    fn render_first_contact(&self, t: &Templates, p: &Phone) -> Result<bytes::Bytes, RenderError> {
        render::first_contact(t, p)
    }

    fn render_device(&self, t: &Templates, p: &Phone) -> Result<bytes::Bytes, RenderError> {
        render::device(t, p)
    }

    fn render_common(
        &self,
        t: &Templates,
        tenant: &TenantFacts,
        model: PhoneModel,
    ) -> Result<bytes::Bytes, RenderError> {
        render::common(t, tenant, model)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ylk() -> Vendor {
        Vendor(&YEALINK)
    }

    #[test]
    fn models_parse_in_the_spellings_admins_and_phones_use() {
        for s in ["yealinkT46S", "T46S", "t46s", "SIP-T46S", "YEALINKt46s"] {
            assert_eq!(PhoneModel::parse(s).unwrap().as_str(), "yealinkT46S", "{s}");
        }
        assert_eq!(PhoneModel::parse("T46S").unwrap().vendor(), ylk());
        assert!(PhoneModel::parse("T99X").is_err());
    }

    #[test]
    fn file_names_parse_and_round_trip() {
        let mac = Mac::parse("805EC0123456").unwrap();
        let f = YEALINK.parse_file("805ec0123456.cfg").unwrap();
        assert_eq!((f.mac, f.model), (Some(mac), None));
        assert_eq!(f.to_string(), "805ec0123456.cfg");
        let c = YEALINK.parse_file("y000000000066.cfg").unwrap();
        assert_eq!((c.model.unwrap().as_str(), c.mac), ("yealinkT46S", None));
        assert_eq!(c.to_string(), "y000000000066.cfg");
        assert_eq!(
            YEALINK.parse_file("y000000000150.cfg").unwrap().to_string(),
            "y000000000150.cfg"
        );
        for m in MODELS.iter().map(PhoneModel::of) {
            let name = ConfigFile::common(m).to_string();
            let back = YEALINK.parse_file(&name).unwrap();
            assert_eq!(back.to_string(), name, "{m}");
            assert_eq!(common_number(back.model.unwrap()), common_number(m), "{m}");
        }
        for bad in [
            "805EC0123456.cfg",
            "805ec0123456.boot",
            "y000000000000.boot",
            "805ec0123456-local.cfg",
            "805ec0123456-contact.xml",
            "y000000000999.cfg",
            "y00000000066.cfg",
            "y0000000000+6.cfg",
            "../805ec0123456.cfg",
            "805ec012345.cfg",
        ] {
            assert!(YEALINK.parse_file(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn user_agents_parse_and_round_trip() {
        let ua = YEALINK
            .parse_user_agent("Yealink SIP-T46S 66.86.0.15 80:5e:c0:12:34:56")
            .unwrap();
        assert_eq!(ua.model.as_str(), "yealinkT46S");
        assert_eq!(ua.firmware, "66.86.0.15");
        assert_eq!(ua.mac, Some(Mac::parse("805EC0123456").unwrap()));
        let ua = YEALINK
            .parse_user_agent("Yealink SIP-T31G 124.85.257.55 80:5e:c0:d5:7d:72")
            .map(|u| u.model.as_str());
        assert_eq!(ua, Some("yealinkT31G"));
        let ua = YEALINK.parse_user_agent("Yealink SIP-T99Z 1.2.3 80:5e:c0:d5:7d:72");
        assert!(ua.is_none(), "an unknown model is not guessed");
        let mac = Mac::parse("001565AABBCC").unwrap();
        for m in MODELS.iter().map(PhoneModel::of) {
            let s = YEALINK.user_agent(m, "66.86.0.15", mac);
            let back = crate::parse_user_agent(&s).unwrap_or_else(|| panic!("{s}"));
            assert_eq!((back.model, back.mac), (m, Some(mac)), "{s}");
        }
        for bad in [
            "",
            "Yealink",
            "Yealink SIP-T46S",
            "Yealink SIP-T46S x.y",
            "curl/8",
        ] {
            assert!(YEALINK.parse_user_agent(bad).is_none(), "{bad}");
        }
    }

    proptest::proptest! {
        /// Whatever a value holds (line breaks included, though the edges
        /// refuse them), it stays on its own line: no second setting.
        #[test]
        fn no_value_starts_a_second_setting(value in "(\\PC|[\r\n\t\u{2028}]){0,60}") {
            let r = crate::Renderer::new(None).unwrap();
            let settings = [touchless_domain::Setting {
                name: touchless_domain::SettingName::parse("x").unwrap(),
                idx: None,
                value: value.clone(),
                perm: touchless_domain::Perm::R,
            }];
            let t = TenantFacts { id: "acme", name: "Acme", sip_host: "pbx", sip_port: 5060, settings: &settings };
            let body = r.common(&t, PhoneModel::parse("T46S").unwrap()).unwrap();
            let text = std::str::from_utf8(&body).unwrap();
            let lines: Vec<&str> = text.split('\n').filter(|l| !l.is_empty()).collect();
            proptest::prop_assert_eq!(lines.len(), 3, "{:?}", text);
            proptest::prop_assert!(lines[2].starts_with("x = "));
            proptest::prop_assert!(!text.contains('\r'));
        }

        #[test]
        fn parsers_never_panic(s in "\\PC{0,80}") {
            let _ = YEALINK.parse_file(&s);
            let _ = YEALINK.parse_user_agent(&s);
        }
    }
}
