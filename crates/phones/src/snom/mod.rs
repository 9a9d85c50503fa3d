//! Snom: desk phones and DECT bases that fetch `snom{model}[-{MAC}].htm` in
//! Snom's XML settings format (reference: `snom-sraps.md` §4), and are
//! redirected by SRAPS, which touchless's own redirection service speaks.

mod agent;
pub(crate) mod family;
mod file;
mod render;

use std::fmt;

use touchless_domain::Mac;

use crate::model::{by_bare_name, strip_prefix_ci};
use crate::{
    AuthScheme, ConfigFile, CredentialLimits, Model, Phone, PhoneModel, PhoneVendor, RenderError,
    SettingView, Templates, TenantFacts, UserAgent,
};

pub(crate) static SNOM: Snom = Snom;

pub(crate) struct Snom;

/// Every model identifier (`phoneType`) touchless knows, in the spelling the
/// phone uses in file names. From the reference §5 (Wazo and FusionPBX model
/// lists). DECT bases report `Snom M900` in their User-Agent; their file names
/// use the `snomM900` form like every other model.
static MODELS: [Model; 49] = {
    const fn m(id: &'static str) -> Model {
        Model::new(&SNOM, id)
    }
    [
        m("snom300"),
        m("snom320"),
        m("snom360"),
        m("snom370"),
        m("snom710"),
        m("snom715"),
        m("snom720"),
        m("snom725"),
        m("snom760"),
        m("snom820"),
        m("snom821"),
        m("snom870"),
        m("snomD120"),
        m("snomD140"),
        m("snomD150"),
        m("snomD305"),
        m("snomD315"),
        m("snomD335"),
        m("snomD345"),
        m("snomD375"),
        m("snomD385"),
        m("snomD712"),
        m("snomD713"),
        m("snomD715"),
        m("snomD717"),
        m("snomD725"),
        m("snomD735"),
        m("snomD745"),
        m("snomD765"),
        m("snomD785"),
        m("snomD810"),
        m("snomD812"),
        m("snomD815"),
        m("snomD862"),
        m("snomD865"),
        m("snomD892"),
        m("snomMP"),
        m("snomPA1"),
        m("snomm9"),
        m("snomM3"),
        m("snomC520"),
        m("snomC620"),
        m("snomM100KLE"),
        m("snomM200SC"),
        m("snomM300"),
        m("snomM400"),
        m("snomM500KLE"),
        m("snomM700"),
        m("snomM900"),
    ]
};

const PREFIX: &str = "snom";

/// The model without the vendor prefix: `D717`.
fn short(m: PhoneModel) -> &'static str {
    &m.as_str()[PREFIX.len()..]
}

/// DECT bases (the M-series) have a different User-Agent and settings layout.
fn is_dect(m: PhoneModel) -> bool {
    let s = short(m);
    s.starts_with('M') && s[1..].starts_with(|c: char| c.is_ascii_digit())
}

impl PhoneVendor for Snom {
    fn name(&self) -> &'static str {
        "snom"
    }

    fn display_name(&self) -> &'static str {
        "Snom"
    }

    fn models(&self) -> &'static [Model] {
        &MODELS
    }

    /// With or without the `snom` prefix, in any case (`D717`, `snomd717`).
    fn parse_model(&self, s: &str) -> Option<PhoneModel> {
        let bare = strip_prefix_ci(s, PREFIX).unwrap_or(s);
        by_bare_name(&MODELS, PREFIX, bare)
    }

    fn model_examples(&self) -> &'static str {
        "snomD717, snomD785 or snomM900"
    }

    fn ouis(&self) -> &'static [[u8; 3]] {
        // IEEE: 00-04-13 snom technology GmbH (Debian's ieee-data).
        &[[0x00, 0x04, 0x13]]
    }

    fn parse_file(&self, name: &str) -> Option<ConfigFile> {
        file::parse(name)
    }

    fn file_name(&self, f: &ConfigFile) -> String {
        file::name(f)
    }

    fn file_forms(&self) -> &'static str {
        "snom<model>.htm or snom<model>-<MAC>.htm"
    }

    fn firmware_file_name(&self, model: PhoneModel, mac: Mac) -> Option<String> {
        Some(file::firmware_name(model, mac))
    }

    fn parse_firmware_file(&self, name: &str) -> Option<Mac> {
        file::parse_firmware_for(name, PREFIX, "snom")
    }

    fn render_firmware_file(
        &self,
        t: &Templates,
        p: &Phone,
    ) -> Option<Result<bytes::Bytes, RenderError>> {
        render::firmware(t, p)
    }

    fn user_agent(&self, model: PhoneModel, firmware: &str, mac: Mac) -> String {
        if is_dect(model) {
            format!(
                "Mozilla/4.0 (compatible; Snom {} {firmware} {mac})",
                short(model)
            )
        } else {
            format!("Mozilla/4.0 (compatible; {model}-SIP {firmware} 2010.12-00001-g1a2b3c4 {mac} SXM:0 UXM:0)")
        }
    }

    fn parse_user_agent(&self, ua: &str) -> Option<UserAgent> {
        agent::parse(ua)
    }

    /// What a Snom phone stores in `http_client_user` and `http_client_pass`.
    fn credential_limits(&self) -> CredentialLimits {
        CredentialLimits { user: 30, pass: 20 }
    }

    fn auth_schemes(&self) -> &'static [AuthScheme] {
        &[AuthScheme::Digest, AuthScheme::Basic]
    }

    fn templates(&self) -> &'static [(&'static str, &'static str)] {
        render::TEMPLATES
    }

    fn escape(&self, out: &mut dyn fmt::Write, s: &str) -> fmt::Result {
        crate::render::write_xml_escaped(out, s)
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

    fn redirected(&self) -> bool {
        true
    }

    fn render_redirect(
        &self,
        t: &Templates,
        settings: &[SettingView],
    ) -> Result<bytes::Bytes, RenderError> {
        render::redirect(t, settings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_model_identifiers() {
        for (input, want) in [
            ("snomD717", "snomD717"),
            ("D785", "snomD785"),
            ("snomd735", "snomD735"),
            ("SNOMD865", "snomD865"),
            ("snomD120", "snomD120"),
            ("M900", "snomM900"),
            ("snom710", "snom710"),
        ] {
            assert_eq!(PhoneModel::parse(input).unwrap().as_str(), want);
        }
        assert!(is_dect(PhoneModel::parse("snomM900").unwrap()));
        assert!(!is_dect(PhoneModel::parse("snomD717").unwrap()));
        assert_eq!(PhoneModel::parse("D717").unwrap().vendor().name(), "snom");
    }

    /// What the simulator sends is what the parser reads, for every model.
    #[test]
    fn user_agents_round_trip() {
        let mac = Mac::parse("000413AABBCC").unwrap();
        for m in MODELS.iter().map(PhoneModel::of) {
            let ua = SNOM.user_agent(m, "10.1.33.33", mac);
            let back = SNOM.parse_user_agent(&ua).unwrap_or_else(|| panic!("{ua}"));
            assert_eq!(
                (back.model, back.firmware.as_str(), back.mac),
                (m, "10.1.33.33", Some(mac)),
                "{ua}"
            );
        }
    }

    #[test]
    fn unknown_models_are_clear_errors() {
        for s in ["", "snom", "snomD999", "yealinkT46", "snomD717x", "ñ"] {
            let e = PhoneModel::parse(s).unwrap_err();
            assert!(e.to_string().contains("unknown phone model"), "{e}");
        }
        // (Another test may have registered a second vendor, which joins the list.)
        assert!(PhoneModel::parse("snomD999").unwrap_err().to_string().starts_with(
            "unknown phone model \"snomD999\": expected a model identifier such as snomD717 (Snom), yealinkT46S (Yealink)"
        ));
    }
}
