//! Fanvil: desk phones that fetch `{mac}.cfg` (lower-case MAC) and, for some
//! models, a model-wide file named by an irregular table, in the `<sysConf>`
//! XML format. Fanvil's cloud (FDPS) hands a phone a server and a path but no
//! user or password, so the first fetch carries its one-time pair in the
//! path (`/ztprov/{user}/{pass}/`); the file it gets sets the pair for
//! `/prov/`. Facts and their sources: `docs/vendors/fanvil.md`.

mod render;

use std::fmt;

use touchless_domain::Mac;

use crate::model::{by_bare_name, strip_prefix_ci};
use crate::{
    AuthScheme, ConfigFile, CredentialLimits, Model, PairInPath, Phone, PhoneModel, PhoneVendor,
    RenderError, Templates, TenantFacts, UserAgent, Vendor,
};

pub(crate) static FANVIL: Fanvil = Fanvil;

pub(crate) struct Fanvil;

const PREFIX: &str = "fanvil";

/// Models and the model-wide file some of them fetch
/// (docs/vendors/fanvil.md: wazo-provd-plugins `wazo_fanvil/serie_*/entry.py`).
const TABLE: [(&str, Option<&str>); 27] = [
    ("fanvilX2", Some("f0X2hw1.100.cfg")),
    ("fanvilX210", None),
    ("fanvilX210i", None),
    ("fanvilX210-Pro", None),
    ("fanvilX210i-Pro", None),
    ("fanvilX3", Some("F0V00X300000.cfg")),
    ("fanvilX3S", Some("f0X3shw1.100.cfg")),
    ("fanvilX3SG", Some("f0X3sghw1.100.cfg")),
    ("fanvilX4", Some("f0X4hw1.100.cfg")),
    ("fanvilX4U", None),
    ("fanvilX4U-Pro", None),
    ("fanvilX5", Some("f0X5hw1.100.cfg")),
    ("fanvilX5S", Some("F0V00X5S0000.cfg")),
    ("fanvilX5U", None),
    ("fanvilX5U-Pro", None),
    ("fanvilX6", Some("F0V00X600000.cfg")),
    ("fanvilX6V2", Some("F0000X600000.cfg")),
    ("fanvilX6U", None),
    ("fanvilX6U-Pro", None),
    ("fanvilX7", None),
    ("fanvilX7C", None),
    ("fanvilX7C-Pro", None),
    ("fanvilV62", Some("F0V0V6200000.cfg")),
    ("fanvilV64", Some("F0V0V6400000.cfg")),
    ("fanvilV65", Some("F0V0V6500000.cfg")),
    ("fanvilV67", Some("F0V0V6700000.cfg")),
    ("fanvilV67-Pro", None),
];

static MODELS: [Model; TABLE.len()] = {
    let mut out = [const { Model::new(&FANVIL, "") }; TABLE.len()];
    let mut i = 0;
    while i < TABLE.len() {
        out[i] = Model::new(&FANVIL, TABLE[i].0);
        i += 1;
    }
    out
};

/// The model without the vendor prefix, as the phone says it: `X6U-Pro`.
fn short(m: PhoneModel) -> &'static str {
    &m.as_str()[PREFIX.len()..]
}

fn common_file(m: PhoneModel) -> Option<&'static str> {
    TABLE
        .iter()
        .find(|(id, _)| *id == m.as_str())
        .and_then(|(_, f)| *f)
}

impl PhoneVendor for Fanvil {
    fn name(&self) -> &'static str {
        "fanvil"
    }

    fn display_name(&self) -> &'static str {
        "Fanvil"
    }

    fn models(&self) -> &'static [Model] {
        &MODELS
    }

    /// `fanvilX6U-Pro`, `X6U-Pro`, `X6U Pro` (the User-Agent's form), any case.
    fn parse_model(&self, s: &str) -> Option<PhoneModel> {
        let bare = strip_prefix_ci(s, PREFIX).unwrap_or(s).replace(' ', "-");
        by_bare_name(&MODELS, PREFIX, &bare)
    }

    fn model_examples(&self) -> &'static str {
        "fanvilX6U, fanvilX4U-Pro or fanvilV67"
    }

    fn ouis(&self) -> &'static [[u8; 3]] {
        // IEEE (Debian's ieee-data): 0C-38-3E, Fanvil Technology Co., Ltd.
        &[[0x0C, 0x38, 0x3E]]
    }

    /// `{mac}.cfg` (12 lower-case hex digits, never all zero) and the
    /// model-wide names of the table; anything else is a 404.
    fn parse_file(&self, name: &str) -> Option<ConfigFile> {
        if let Some(i) = TABLE.iter().position(|(_, f)| *f == Some(name)) {
            return Some(ConfigFile::common(PhoneModel::of(&MODELS[i])));
        }
        let stem = name.strip_suffix(".cfg")?;
        if stem.len() == 12 && stem.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')) {
            let mac = Mac::parse_compact(stem).ok()?;
            if mac.bytes() == [0; 6] {
                return None;
            }
            return Some(ConfigFile {
                vendor: Vendor(&FANVIL),
                model: None,
                mac: Some(mac),
            });
        }
        None
    }

    fn file_name(&self, f: &ConfigFile) -> String {
        match (f.mac, f.model) {
            (Some(mac), _) => format!("{}.cfg", mac.to_string().to_ascii_lowercase()),
            (None, Some(m)) => common_file(m).unwrap_or_default().to_owned(),
            (None, None) => String::new(),
        }
    }

    fn file_forms(&self) -> &'static str {
        "<mac>.cfg or F0V0<model>….cfg"
    }

    fn has_common_file(&self, model: PhoneModel) -> bool {
        common_file(model).is_some()
    }

    /// `Fanvil X6U 2.12.16.17 0c383e2cd782` (lower-case MAC without
    /// separators; a `-Pro` model says ` Pro`).
    fn user_agent(&self, model: PhoneModel, firmware: &str, mac: Mac) -> String {
        format!(
            "Fanvil {} {firmware} {}",
            short(model).replace('-', " "),
            mac.to_string().to_ascii_lowercase()
        )
    }

    /// `Fanvil X4 2.10.2.6887 0c383e07e16c`, `Fanvil X6U Pro 0.0.10
    /// 0c383e2cd782`: the model may be two words, the MAC is optional.
    fn parse_user_agent(&self, ua: &str) -> Option<UserAgent> {
        let rest = strip_prefix_ci(ua, "fanvil ")?;
        let t: Vec<&str> = rest.split_ascii_whitespace().collect();
        let is_version = |s: &str| {
            !s.is_empty()
                && s.bytes().all(|c| c.is_ascii_digit() || c == b'.')
                && s.bytes().next().is_some_and(|c| c.is_ascii_digit())
        };
        let v = t.iter().position(|s| is_version(s))?;
        if v == 0 || v > 2 {
            return None;
        }
        let model = self.parse_model(&t[..v].join("-"))?;
        let mac = t.get(v + 1).and_then(|m| Mac::parse(m).ok());
        Some(UserAgent {
            model,
            firmware: t[v].to_owned(),
            mac,
        })
    }

    /// No documented limit for the auto-provisioning user and password was
    /// found (**guess**, docs/vendors/fanvil.md); 64 is above the domain's.
    fn credential_limits(&self) -> CredentialLimits {
        CredentialLimits { user: 64, pass: 64 }
    }

    fn auth_schemes(&self) -> &'static [AuthScheme] {
        &[AuthScheme::Digest, AuthScheme::Basic]
    }

    /// The phones take a server and a path and fetch `{mac}.cfg` in it.
    fn first_contact_path(&self, _model: PhoneModel, _mac: Mac) -> String {
        "/ztprov/".to_owned()
    }

    fn pair_in_path(&self, _model: PhoneModel) -> PairInPath {
        PairInPath::FirstContact
    }

    fn templates(&self) -> &'static [(&'static str, &'static str)] {
        render::TEMPLATES
    }

    /// A parser would turn a carriage return in text into a line feed: it
    /// goes as a character reference, as tabs and line feeds do.
    fn escape(&self, out: &mut dyn fmt::Write, s: &str) -> fmt::Result {
        crate::render::write_xml_escaped_exact(out, s)
    }

    fn content_type(&self) -> &'static str {
        "text/xml; charset=utf-8"
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
mod tests;
