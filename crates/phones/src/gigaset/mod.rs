//! Gigaset: the N-series DECT IP bases (N670, N870, N870E), which fetch
//! `{mac}.xml` (lower-case MAC) from a provisioning *folder*, in the
//! `<provisioning><nvm><param name= value=/>` format. Gigaset's cloud (GRAPE)
//! hands a base a URL only, and a base has no setting for a pair, so the
//! pair travels in the path of both folders (`/ztprov/{user}/{pass}/`, then
//! `/prov/{user}/{pass}/`). Facts and their sources: `docs/vendors/gigaset.md`.

mod render;

use std::fmt;

use touchless_domain::Mac;

use crate::model::{by_bare_name, strip_prefix_ci};
use crate::{
    AuthScheme, ConfigFile, CredentialLimits, Model, PairInPath, Phone, PhoneModel, PhoneVendor,
    RenderError, Templates, TenantFacts, UserAgent, Vendor,
};

pub(crate) static GIGASET: Gigaset = Gigaset;

pub(crate) struct Gigaset;

const PREFIX: &str = "gigaset";

static MODELS: [Model; 3] = [
    Model::new(&GIGASET, "gigasetN670"),
    Model::new(&GIGASET, "gigasetN870"),
    Model::new(&GIGASET, "gigasetN870E"),
];

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

    /// `gigasetN870`, `N870`, `N870 IP PRO` (the User-Agent's form), any case.
    fn parse_model(&self, s: &str) -> Option<PhoneModel> {
        let bare = strip_prefix_ci(s, PREFIX).unwrap_or(s).trim();
        let bare = strip_suffix_ci(bare, " IP PRO").unwrap_or(bare);
        by_bare_name(&MODELS, PREFIX, bare)
    }

    fn model_examples(&self) -> &'static str {
        "gigasetN870, gigasetN670 or gigasetN870E"
    }

    fn ouis(&self) -> &'static [[u8; 3]] {
        // IEEE (Debian's ieee-data): Gigaset Communications GmbH.
        &[[0x7C, 0x2F, 0x80], [0x58, 0x9E, 0xC6], [0x00, 0x21, 0x04]]
    }

    /// `{mac}.xml`, 12 lower-case hex digits; anything else is a 404.
    fn parse_file(&self, name: &str) -> Option<ConfigFile> {
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

    fn file_name(&self, f: &ConfigFile) -> String {
        match f.mac {
            Some(mac) => format!("{}.xml", mac.to_string().to_ascii_lowercase()),
            None => String::new(),
        }
    }

    fn file_forms(&self) -> &'static str {
        "<mac>.xml"
    }

    /// The bases fetch no model-wide file.
    fn has_common_file(&self, _model: PhoneModel) -> bool {
        false
    }

    /// `Gigaset N870 IP PRO/83.V2.65.0+build.a546b91;7C2F80E0D605`.
    fn user_agent(&self, model: PhoneModel, firmware: &str, mac: Mac) -> String {
        format!(
            "Gigaset {} IP PRO/{firmware}+build.0000000;{mac}",
            &model.as_str()[PREFIX.len()..]
        )
    }

    /// `Gigaset N870 IP PRO/83.V2.11.0+build.a546b91;7C2F80E0D605`, perhaps
    /// in quotes, perhaps with `;Handset=N` after the MAC.
    fn parse_user_agent(&self, ua: &str) -> Option<UserAgent> {
        let ua = ua.trim_matches('"');
        let rest = strip_prefix_ci(ua, "gigaset ")?;
        let (model, rest) = rest.split_once('/')?;
        let model = self.parse_model(model)?;
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

    /// The pair is part of a URL the base stores; no limit is documented
    /// (**guess**, docs/vendors/gigaset.md).
    fn credential_limits(&self) -> CredentialLimits {
        CredentialLimits { user: 64, pass: 64 }
    }

    fn auth_schemes(&self) -> &'static [AuthScheme] {
        &[AuthScheme::Digest, AuthScheme::Basic]
    }

    fn first_contact_path(&self, _model: PhoneModel, _mac: Mac) -> String {
        "/ztprov/".to_owned()
    }

    fn steady_path(&self, _model: PhoneModel, _mac: Mac) -> String {
        "/prov/".to_owned()
    }

    fn pair_in_path(&self) -> PairInPath {
        PairInPath::Always
    }

    fn templates(&self) -> &'static [(&'static str, &'static str)] {
        render::TEMPLATES
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
        render::first_contact(t, p)
    }

    fn render_device(&self, t: &Templates, p: &Phone) -> Result<bytes::Bytes, RenderError> {
        render::device(t, p)
    }

    fn render_common(
        &self,
        _t: &Templates,
        _tenant: &TenantFacts,
        _model: PhoneModel,
    ) -> Result<bytes::Bytes, RenderError> {
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
