//! Snom's platform under another brand: Gigaset's P-series desk phones are
//! made on it (nethesis/tancredi lists them beside Snom's, with Snom's OUI
//! ranges), so they take Snom's file names, User-Agent form, files and
//! escaping, for that brand's own model table. The brand's vendor module
//! calls these; Snom's specifics stay in this folder.

use bytes::Bytes;
use touchless_domain::Mac;

use crate::{ConfigFile, Phone, PhoneModel, RenderError, Templates, TenantFacts, UserAgent};

/// Snom's templates (`snom/*.xml`), which the brand's environment holds too:
/// an operator's override of a Snom file applies to the whole family.
pub(crate) const TEMPLATES: &[(&str, &str)] = super::render::TEMPLATES;

/// `{model}-{MAC}.htm` and `{model}.htm`, for models starting with `prefix`
/// that are `vendor`'s.
pub(crate) fn parse_file(name: &str, prefix: &str, vendor: &str) -> Option<ConfigFile> {
    super::file::parse_for(name, prefix, vendor)
}

pub(crate) fn firmware_file_name(model: PhoneModel, mac: Mac) -> String {
    super::file::firmware_name(model, mac)
}

pub(crate) fn parse_firmware_file(name: &str, prefix: &str, vendor: &str) -> Option<Mac> {
    super::file::parse_firmware_for(name, prefix, vendor)
}

pub(crate) fn firmware_file(t: &Templates, p: &Phone) -> Option<Result<Bytes, RenderError>> {
    super::render::firmware(t, p)
}

pub(crate) fn file_name(f: &ConfigFile) -> String {
    super::file::name(f)
}

/// The desk phones' form, `Mozilla/4.0 (compatible; gigasetP810-SIP …)`
/// (**guess** for a brand: the platform's form with the brand's model).
pub(crate) fn user_agent(model: PhoneModel, firmware: &str, mac: Mac) -> String {
    format!(
        "Mozilla/4.0 (compatible; {model}-SIP {firmware} 2010.12-00001-g1a2b3c4 {mac} SXM:0 UXM:0)"
    )
}

pub(crate) fn parse_user_agent(ua: &str, prefix: &str, vendor: &str) -> Option<UserAgent> {
    super::agent::parse_for(ua, prefix, vendor)
}

pub(crate) fn first_contact(t: &Templates, p: &Phone) -> Result<Bytes, RenderError> {
    super::render::first_contact(t, p)
}

pub(crate) fn device(t: &Templates, p: &Phone) -> Result<Bytes, RenderError> {
    super::render::device(t, p)
}

pub(crate) fn common(
    t: &Templates,
    tenant: &TenantFacts,
    model: PhoneModel,
) -> Result<Bytes, RenderError> {
    super::render::common(t, tenant, model)
}
