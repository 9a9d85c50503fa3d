//! Poly (Polycom) VVX desk phones: they fetch the master file `{mac}.cfg`,
//! else `000000000000.cfg`, whose `CONFIG_FILES` names the files that hold
//! their settings; touchless answers with one master for every phone (a
//! public file naming `[PHONE_MAC_ADDRESS]-user.cfg`) and a 404 for
//! `{mac}.cfg`, so each phone's settings are one file, `{mac}-user.cfg`, in
//! the `<polycomConfig name="value" …/>` format. The phones also upload their
//! logs and local settings with `PUT` (see [`PhoneVendor::parse_upload`]).
//! Poly's cloud (ZTP) keeps a URL, a user and a password per *profile*, not
//! per phone, so the one-time pair rides in the first-contact path and the
//! profile is per device's URL. Facts and their sources: `docs/vendors/poly.md`.

mod render;

use std::fmt;

use touchless_domain::Mac;

use crate::model::{by_bare_name, strip_prefix_ci};
use crate::{
    AuthScheme, ConfigFile, CredentialLimits, Model, PairInPath, Phone, PhoneModel, PhoneVendor,
    RenderError, Templates, TenantFacts, UserAgent, Vendor,
};

pub(crate) static POLY: Poly = Poly;

pub(crate) struct Poly;

const PREFIX: &str = "poly";

const IDS: [&str; 19] = [
    "polyVVX101",
    "polyVVX150",
    "polyVVX201",
    "polyVVX250",
    "polyVVX300",
    "polyVVX301",
    "polyVVX310",
    "polyVVX311",
    "polyVVX350",
    "polyVVX400",
    "polyVVX401",
    "polyVVX410",
    "polyVVX411",
    "polyVVX450",
    "polyVVX500",
    "polyVVX501",
    "polyVVX600",
    "polyVVX601",
    "polyVVX1500",
];

static MODELS: [Model; IDS.len()] = {
    let mut out = [const { Model::new(&POLY, "") }; IDS.len()];
    let mut i = 0;
    while i < IDS.len() {
        out[i] = Model::new(&POLY, IDS[i]);
        i += 1;
    }
    out
};

/// What the phones upload, by the suffix after `{mac}`: their local and web
/// settings, their logs and their contact directory.
const UPLOADS: [&str; 5] = [
    "-phone.cfg",
    "-web.cfg",
    "-app.log",
    "-boot.log",
    "-directory.xml",
];

/// The lower-case MAC a name starts with, and the rest.
fn mac_prefix(name: &str) -> Option<(Mac, &str)> {
    let (mac, rest) = (name.get(..12)?, name.get(12..)?);
    if !mac.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')) || mac == "000000000000" {
        return None;
    }
    Some((Mac::parse_compact(mac).ok()?, rest))
}

impl PhoneVendor for Poly {
    fn name(&self) -> &'static str {
        "poly"
    }

    fn display_name(&self) -> &'static str {
        "Poly"
    }

    fn models(&self) -> &'static [Model] {
        &MODELS
    }

    /// `polyVVX450`, `VVX450`, `VVX_450` (the User-Agent's form), any case.
    fn parse_model(&self, s: &str) -> Option<PhoneModel> {
        let bare = strip_prefix_ci(s, PREFIX).unwrap_or(s).replace('_', "");
        by_bare_name(&MODELS, PREFIX, &bare)
    }

    fn model_examples(&self) -> &'static str {
        "polyVVX450, polyVVX250 or polyVVX601"
    }

    fn ouis(&self) -> &'static [[u8; 3]] {
        // IEEE (Debian's ieee-data): 00-04-F2 and 64-16-7F Polycom, 48-25-67 Poly.
        &[[0x00, 0x04, 0xF2], [0x64, 0x16, 0x7F], [0x48, 0x25, 0x67]]
    }

    /// `{mac}-user.cfg`, the one file with a phone's settings. `{mac}.cfg`
    /// parses as another vendor's and is a 404 for a Poly phone, so it falls
    /// back to the public master.
    fn parse_file(&self, name: &str) -> Option<ConfigFile> {
        let (mac, rest) = mac_prefix(name)?;
        (rest == "-user.cfg").then_some(ConfigFile {
            vendor: Vendor(&POLY),
            model: None,
            mac: Some(mac),
        })
    }

    fn file_name(&self, f: &ConfigFile) -> String {
        match f.mac {
            Some(mac) => format!("{}-user.cfg", mac.to_string().to_ascii_lowercase()),
            None => String::new(),
        }
    }

    fn firmware_file_name(&self, _model: PhoneModel, mac: Mac) -> Option<String> {
        Some(format!("{}.cfg", mac.to_string().to_ascii_lowercase()))
    }

    fn parse_firmware_file(&self, name: &str) -> Option<Mac> {
        let (mac, rest) = mac_prefix(name)?;
        (rest == ".cfg").then_some(mac)
    }

    fn render_firmware_file(
        &self,
        t: &Templates,
        p: &Phone,
    ) -> Option<Result<bytes::Bytes, RenderError>> {
        render::firmware(t, p)
    }

    fn file_forms(&self) -> &'static str {
        "000000000000.cfg or <mac>-user.cfg"
    }

    fn has_common_file(&self, _model: PhoneModel) -> bool {
        false
    }

    fn public_files(&self) -> &'static [(&'static str, &'static str)] {
        &[("000000000000.cfg", "poly/master.xml")]
    }

    fn parse_upload(&self, name: &str) -> Option<(Mac, &'static str)> {
        let (mac, rest) = mac_prefix(name)?;
        UPLOADS.iter().find(|u| **u == rest).map(|u| (mac, &u[1..]))
    }

    /// `FileTransport PolycomVVX-VVX_450-UA/5.9.0.9373 Type/Application`: no
    /// MAC in it.
    fn user_agent(&self, model: PhoneModel, firmware: &str, _mac: Mac) -> String {
        let short = &model.as_str()[PREFIX.len()..];
        format!(
            "FileTransport PolycomVVX-VVX_{}-UA/{firmware} Type/Application",
            &short[3..]
        )
    }

    fn parse_user_agent(&self, ua: &str) -> Option<UserAgent> {
        let rest = ua.strip_prefix("FileTransport Polycom")?;
        let (_family, rest) = rest.split_once('-')?;
        let (model, rest) = rest.split_once("-UA/")?;
        let model = self.parse_model(model)?;
        let firmware = rest.split_ascii_whitespace().next()?;
        if firmware.is_empty() || !firmware.bytes().all(|c| c.is_ascii_digit() || c == b'.') {
            return None;
        }
        Some(UserAgent {
            model,
            firmware: firmware.to_owned(),
            mac: None,
        })
    }

    /// `device.prov.user`/`.password` take at most 255 characters (**guess**,
    /// docs/vendors/poly.md); above the domain's.
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

    fn pair_in_path(&self, _model: PhoneModel) -> PairInPath {
        PairInPath::FirstContact
    }

    fn templates(&self) -> &'static [(&'static str, &'static str)] {
        render::TEMPLATES
    }

    /// Values are attributes: escaped, white space as character references.
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

#[cfg(test)]
mod tests;
