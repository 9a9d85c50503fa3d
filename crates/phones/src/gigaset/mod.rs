//! Gigaset: two families under one brand.
//!
//! - The N-series DECT IP bases (N670, N870, N870E) fetch `{mac}.xml`
//!   (lower-case MAC) from a provisioning *folder*, in the
//!   `<provisioning><nvm><param name= value=/>` format. Gigaset's cloud
//!   (GRAPE) hands a base a URL only, and a base has no setting for a pair,
//!   so the pair travels in the path of both folders (`/ztprov/{user}/{pass}/`,
//!   then `/prov/{user}/{pass}/`).
//! - The P-series desk phones (P710 … P855) are made on another maker's
//!   platform, whose OUI they carry: they take that platform's file names,
//!   User-Agent form and files (`crate`'s `family` module of that maker),
//!   under Gigaset's model names. Their first fetch carries its one-time pair
//!   in the path (GRAPE's setting is a URL); the file sets their pair.
//!
//! The registry's model decides the family. Facts and their sources:
//! `docs/vendors/gigaset.md`.

mod render;

use std::fmt;

use touchless_domain::Mac;

use crate::model::{by_bare_name, strip_prefix_ci};
use crate::snom::family as platform;
use crate::{
    AuthScheme, ConfigFile, CredentialLimits, Model, PairInPath, Phone, PhoneModel, PhoneVendor,
    RenderError, Templates, TenantFacts, UserAgent, Vendor,
};

pub(crate) static GIGASET: Gigaset = Gigaset;

pub(crate) struct Gigaset;

const PREFIX: &str = "gigaset";

static MODELS: [Model; 9] = [
    Model::new(&GIGASET, "gigasetN670"),
    Model::new(&GIGASET, "gigasetN870"),
    Model::new(&GIGASET, "gigasetN870E"),
    Model::new(&GIGASET, "gigasetP710"),
    Model::new(&GIGASET, "gigasetP810"),
    Model::new(&GIGASET, "gigasetP820"),
    Model::new(&GIGASET, "gigasetP825"),
    Model::new(&GIGASET, "gigasetP850"),
    Model::new(&GIGASET, "gigasetP855"),
];

/// A P-series desk phone (the other platform's family), not an N base.
fn desk(m: PhoneModel) -> bool {
    m.as_str().starts_with("gigasetP")
}

/// The bases' templates and the platform's, in one environment.
fn templates() -> &'static [(&'static str, &'static str)] {
    static ALL: std::sync::OnceLock<Vec<(&'static str, &'static str)>> = std::sync::OnceLock::new();
    ALL.get_or_init(|| [render::TEMPLATES, platform::TEMPLATES].concat())
}

impl PhoneVendor for Gigaset {
    fn name(&self) -> &'static str {
        "gigaset"
    }

    fn display_name(&self) -> &'static str {
        "Gigaset"
    }

    fn models(&self) -> &'static [Model] {
        &MODELS
    }

    /// `gigasetN870`, `N870`, `N870 IP PRO` (the User-Agent's form), `P810`,
    /// any case.
    fn parse_model(&self, s: &str) -> Option<PhoneModel> {
        let bare = strip_prefix_ci(s, PREFIX).unwrap_or(s).trim();
        let bare = strip_suffix_ci(bare, " IP PRO").unwrap_or(bare);
        by_bare_name(&MODELS, PREFIX, bare)
    }

    fn model_examples(&self) -> &'static str {
        "gigasetN870, gigasetN670 or gigasetN870E"
    }

    fn ouis(&self) -> &'static [[u8; 3]] {
        // IEEE (Debian's ieee-data): Gigaset Communications GmbH; and the
        // platform's 00-04-13, which the P-series carry (tancredi's
        // `patterns.d/gigaset.ini` lists sub-ranges of it).
        &[
            [0x7C, 0x2F, 0x80],
            [0x58, 0x9E, 0xC6],
            [0x00, 0x21, 0x04],
            [0x00, 0x04, 0x13],
        ]
    }

    /// `{mac}.xml` (12 lower-case hex digits) for the bases; the platform's
    /// names for the P-series; anything else is a 404.
    fn parse_file(&self, name: &str) -> Option<ConfigFile> {
        if let Some(f) = platform::parse_file(name, PREFIX, self.name()) {
            return f.model.is_some_and(desk).then_some(f);
        }
        let stem = name.strip_suffix(".xml")?;
        if stem.len() != 12 || !stem.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')) {
            return None;
        }
        Some(ConfigFile {
            vendor: Vendor(&GIGASET),
            model: None,
            mac: Some(Mac::parse_compact(stem).ok()?),
        })
    }

    fn firmware_file_name(&self, model: PhoneModel, mac: Mac) -> Option<String> {
        desk(model).then(|| platform::firmware_file_name(model, mac))
    }

    fn parse_firmware_file(&self, name: &str) -> Option<Mac> {
        platform::parse_firmware_file(name, PREFIX, self.name())
    }

    fn render_firmware_file(
        &self,
        t: &Templates,
        p: &Phone,
    ) -> Option<Result<bytes::Bytes, RenderError>> {
        if desk(p.model) {
            return platform::firmware_file(t, p);
        }
        None
    }

    fn file_name(&self, f: &ConfigFile) -> String {
        if f.model.is_some_and(desk) {
            return platform::file_name(f);
        }
        match f.mac {
            Some(mac) => format!("{}.xml", mac.to_string().to_ascii_lowercase()),
            None => String::new(),
        }
    }

    fn file_forms(&self) -> &'static str {
        static FORMS: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        FORMS.get_or_init(|| {
            let p = platform::file_name(&ConfigFile::common(PhoneModel::of(&MODELS[4])));
            format!("<mac>.xml (N bases) or names like {p} (P-series)")
        })
    }

    /// The bases fetch no model-wide file; the P-series do.
    fn has_common_file(&self, model: PhoneModel) -> bool {
        desk(model)
    }

    /// `Gigaset N870 IP PRO/83.V2.65.0+build.a546b91;7C2F80E0D605`; the
    /// P-series send the platform's form.
    fn user_agent(&self, model: PhoneModel, firmware: &str, mac: Mac) -> String {
        if desk(model) {
            return platform::user_agent(model, firmware, mac);
        }
        format!(
            "Gigaset {} IP PRO/{firmware}+build.0000000;{mac}",
            &model.as_str()[PREFIX.len()..]
        )
    }

    /// `Gigaset N870 IP PRO/83.V2.11.0+build.a546b91;7C2F80E0D605`, perhaps
    /// in quotes, perhaps with `;Handset=N` after the MAC.
    fn parse_user_agent(&self, ua: &str) -> Option<UserAgent> {
        if let Some(u) = platform::parse_user_agent(ua, PREFIX, self.name()) {
            return desk(u.model).then_some(u);
        }
        let ua = ua.trim_matches('"');
        let rest = strip_prefix_ci(ua, "gigaset ")?;
        let (model, rest) = rest.split_once('/')?;
        // The bases' form names a base: a desk phone never sends it (it
        // sends its platform's, above), so a desk model here is no phone
        // of ours (found by fuzzing: it was read as that desk phone).
        let model = self.parse_model(model).filter(|m| !desk(*m))?;
        let mut parts = rest.split(';');
        let version = parts.next()?;
        let firmware = version.split('+').next()?;
        if firmware.is_empty()
            || !firmware
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'.')
        {
            return None;
        }
        let mac = parts.next().and_then(|m| Mac::parse(m).ok());
        Some(UserAgent {
            model,
            firmware: firmware.to_owned(),
            mac,
        })
    }

    /// The P-series store the pair as the platform does (30 and 20); the
    /// bases keep it in a URL, with no documented limit.
    fn credential_limits(&self) -> CredentialLimits {
        CredentialLimits { user: 30, pass: 20 }
    }

    fn auth_schemes(&self) -> &'static [AuthScheme] {
        &[AuthScheme::Digest, AuthScheme::Basic]
    }

    fn first_contact_path(&self, model: PhoneModel, mac: Mac) -> String {
        if desk(model) {
            return format!(
                "/ztprov/{}",
                self.file_name(&ConfigFile::device(model, mac))
            );
        }
        "/ztprov/".to_owned()
    }

    fn steady_path(&self, model: PhoneModel, mac: Mac) -> String {
        if desk(model) {
            return format!("/prov/{}", self.file_name(&ConfigFile::device(model, mac)));
        }
        "/prov/".to_owned()
    }

    fn pair_in_path(&self, model: PhoneModel) -> PairInPath {
        if desk(model) {
            PairInPath::FirstContact
        } else {
            PairInPath::Always
        }
    }

    fn templates(&self) -> &'static [(&'static str, &'static str)] {
        templates()
    }

    /// Values go into attributes, where a parser would turn white space
    /// into a plain space: it goes as character references.
    fn escape(&self, out: &mut dyn fmt::Write, s: &str) -> fmt::Result {
        crate::render::write_xml_escaped_exact(out, s)
    }

    fn content_type(&self) -> &'static str {
        "text/xml; charset=utf-8"
    }

    fn render_first_contact(&self, t: &Templates, p: &Phone) -> Result<bytes::Bytes, RenderError> {
        if desk(p.model) {
            return platform::first_contact(t, p);
        }
        render::first_contact(t, p)
    }

    fn render_device(&self, t: &Templates, p: &Phone) -> Result<bytes::Bytes, RenderError> {
        if desk(p.model) {
            return platform::device(t, p);
        }
        render::device(t, p)
    }

    fn render_common(
        &self,
        t: &Templates,
        tenant: &TenantFacts,
        model: PhoneModel,
    ) -> Result<bytes::Bytes, RenderError> {
        if desk(model) {
            return platform::common(t, tenant, model);
        }
        Err(RenderError::NoSuchFile(self.name()))
    }
}

fn strip_suffix_ci<'a>(s: &'a str, suffix: &str) -> Option<&'a str> {
    let at = s.len().checked_sub(suffix.len())?;
    let tail = s.get(at..)?;
    tail.eq_ignore_ascii_case(suffix).then(|| &s[..at])
}

#[cfg(test)]
mod tests;
