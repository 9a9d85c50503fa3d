//! A made-up vendor for tests (feature `testing`): its phones fetch
//! `{mac}.cfg` (lower-case MAC, no model in the name) in a `key=value` format
//! and a per-model common file `{model}.cfg`. It shares nothing with the built-in vendors, so a
//! test that provisions one proves the seam carries a second vendor.

use std::fmt;

use bytes::Bytes;
use minijinja::context;
use touchless_domain::Mac;

use crate::render::{layer, SettingView};
use crate::{
    AuthScheme, ConfigFile, CredentialLimits, Model, Phone, PhoneModel, PhoneVendor, RenderError,
    Templates, TenantFacts, UserAgent,
};

pub struct Keyval;

pub static KEYVAL: Keyval = Keyval;

static MODELS: [Model; 2] = [Model::new(&KEYVAL, "kv100"), Model::new(&KEYVAL, "kv200")];

/// Registers the vendor (once per process; later calls do nothing).
pub fn register() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| crate::register(&KEYVAL).expect("keyval registers once"));
}

const TEMPLATES: &[(&str, &str)] = &[
    (
        "keyval/device.cfg",
        "#!keyval\n# {{ device.mac }} revision {{ device.revision }}\n{% for s in settings %}{{ s.name }}{% if s.idx is not none %}.{{ s.idx }}{% endif %}={{ s.value }}\n{% endfor %}",
    ),
    (
        "keyval/common.cfg",
        "#!keyval\n# every {{ model }}\n{% for s in settings %}{{ s.name }}{% if s.idx is not none %}.{{ s.idx }}{% endif %}={{ s.value }}\n{% endfor %}",
    ),
];

impl PhoneVendor for Keyval {
    fn name(&self) -> &'static str {
        "keyval"
    }
    fn display_name(&self) -> &'static str {
        "KeyVal"
    }
    fn models(&self) -> &'static [Model] {
        &MODELS
    }
    fn parse_model(&self, s: &str) -> Option<PhoneModel> {
        MODELS
            .iter()
            .find(|m| m.id.eq_ignore_ascii_case(s))
            .map(PhoneModel::of)
    }
    fn model_examples(&self) -> &'static str {
        "kv100 or kv200"
    }
    fn ouis(&self) -> &'static [[u8; 3]] {
        &[[0x0A, 0x0B, 0x0C]]
    }
    fn parse_file(&self, name: &str) -> Option<ConfigFile> {
        let stem = name.strip_suffix(".cfg")?;
        if stem.len() == 12 && stem.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')) {
            return Some(ConfigFile {
                vendor: crate::Vendor(&KEYVAL),
                model: None,
                mac: Some(Mac::parse_compact(stem).ok()?),
            });
        }
        let model = self.parse_model(stem).filter(|m| m.as_str() == stem)?;
        Some(ConfigFile::common(model))
    }
    fn file_name(&self, f: &ConfigFile) -> String {
        match (f.mac, f.model) {
            (Some(mac), _) => format!("{}.cfg", mac.to_string().to_ascii_lowercase()),
            (None, Some(m)) => format!("{m}.cfg"),
            (None, None) => String::new(),
        }
    }
    fn file_forms(&self) -> &'static str {
        "<mac>.cfg or <model>.cfg"
    }
    fn user_agent(&self, model: PhoneModel, firmware: &str, mac: Mac) -> String {
        format!(
            "KeyVal {model} {firmware} {}",
            mac.to_string().to_ascii_lowercase()
        )
    }
    fn parse_user_agent(&self, ua: &str) -> Option<UserAgent> {
        let mut t = ua.strip_prefix("KeyVal ")?.split(' ');
        let model = self.parse_model(t.next()?)?;
        let firmware = t.next()?.to_owned();
        let mac = t.next().and_then(|m| Mac::parse_compact(m).ok());
        Some(UserAgent {
            model,
            firmware,
            mac,
        })
    }
    fn credential_limits(&self) -> CredentialLimits {
        CredentialLimits { user: 64, pass: 64 }
    }
    fn auth_schemes(&self) -> &'static [AuthScheme] {
        &[AuthScheme::Basic]
    }
    fn templates(&self) -> &'static [(&'static str, &'static str)] {
        TEMPLATES
    }
    /// A value is one line: a backslash and a line break are written as
    /// `\\` and `\n`, so no value starts another setting.
    fn escape(&self, out: &mut dyn fmt::Write, s: &str) -> fmt::Result {
        for c in s.chars() {
            match c {
                '\\' => out.write_str("\\\\")?,
                '\n' => out.write_str("\\n")?,
                '\r' => out.write_str("\\r")?,
                c => out.write_char(c)?,
            }
        }
        Ok(())
    }
    fn content_type(&self) -> &'static str {
        "text/plain; charset=utf-8"
    }
    fn render_first_contact(&self, t: &Templates, p: &Phone) -> Result<Bytes, RenderError> {
        let settings = vec![
            SettingView::builtin("provisioning.url", None, &p.steady_url()),
            SettingView::builtin("provisioning.user", None, p.prov_user),
            SettingView::builtin("provisioning.password", None, p.prov_pass),
        ];
        t.render(
            "keyval/device.cfg",
            context! { device => context! { mac => p.mac.to_string(), revision => p.revision }, settings => settings },
        )
    }
    fn render_device(&self, t: &Templates, p: &Phone) -> Result<Bytes, RenderError> {
        let mut base = vec![
            SettingView::builtin("provisioning.url", None, &p.steady_url()),
            SettingView::builtin("provisioning.user", None, p.prov_user),
            SettingView::builtin("provisioning.password", None, p.prov_pass),
        ];
        for l in &p.lines {
            let i = Some(l.idx);
            base.push(SettingView::builtin(
                "account.registrar",
                i,
                &p.tenant.registrar(),
            ));
            base.push(SettingView::builtin("account.user", i, l.extension));
            base.push(SettingView::builtin("account.auth_user", i, l.auth_user));
            base.push(SettingView::builtin("account.password", i, l.sip_password));
            base.push(SettingView::builtin("account.label", i, l.display_name));
        }
        let settings = layer(base, &[p.tenant.settings, p.settings]);
        t.render(
            "keyval/device.cfg",
            context! { device => context! { mac => p.mac.to_string(), revision => p.revision }, settings => settings },
        )
    }
    fn render_common(
        &self,
        t: &Templates,
        tenant: &TenantFacts,
        model: PhoneModel,
    ) -> Result<Bytes, RenderError> {
        let settings = layer(Vec::new(), &[tenant.settings]);
        t.render(
            "keyval/common.cfg",
            context! { model => model.as_str(), settings => settings },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_vendor_parses_and_renders_through_the_seam() {
        register();
        let mac = Mac::parse("0A0B0C000001").unwrap();
        let f = KEYVAL.parse_file("0a0b0c000001.cfg").unwrap();
        assert_eq!(
            (f.vendor.name(), f.mac, f.model),
            ("keyval", Some(mac), None)
        );
        // Another vendor's phones ask for the same name: the name leads to
        // the MAC, and the registry says whose phone it is.
        let any = crate::parse_file("0a0b0c000001.cfg").unwrap();
        assert_eq!(any.mac, Some(mac));
        let c = crate::parse_file("kv200.cfg").unwrap();
        assert_eq!(c.model.unwrap().as_str(), "kv200");
        assert!(crate::parse_file("KV200.cfg").is_none());
        let m = PhoneModel::parse("kv100").unwrap();
        assert_eq!(m.vendor().name(), "keyval");
        assert_eq!(
            m.vendor().first_contact_path(m, mac),
            "/ztprov/0a0b0c000001.cfg"
        );
        let ua = crate::parse_user_agent(&KEYVAL.user_agent(m, "1.2", mac)).unwrap();
        assert_eq!((ua.model, ua.mac), (m, Some(mac)));
        // Snom's files still parse as Snom's.
        assert_eq!(
            crate::parse_file("snomD717.htm").unwrap().vendor.name(),
            "snom"
        );
        // A value cannot start a second line.
        let r = crate::Renderer::new(None).unwrap();
        let evil =
            [
                touchless_domain::Setting::new("x", None, "a\tb\\nc", touchless_domain::Perm::R)
                    .unwrap(),
            ];
        let t = TenantFacts {
            id: "acme",
            name: "Acme",
            sip_host: "pbx",
            sip_port: 5060,
            settings: &evil,
        };
        let body = r.common(&t, m).unwrap();
        let text = std::str::from_utf8(&body).unwrap();
        assert_eq!(
            text.lines().filter(|l| l.starts_with("x=")).count(),
            1,
            "{text}"
        );
        assert!(text.contains("x=a\tb\\\\nc"), "{text}");
    }
}
