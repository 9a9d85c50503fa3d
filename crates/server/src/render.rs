//! Rendering Snom configuration files: layered settings merged, then minijinja.
//!
//! The built-in templates are compiled into the binary; an operator's template
//! directory overrides them file by file (`<template_dir>/snom/device.xml`), so an
//! upgrade never overwrites local changes and a missing override falls back to the
//! built-in. Every interpolated value is XML-escaped by the environment's
//! formatter, not by the templates, so an override cannot forget it.

use std::path::PathBuf;

use bytes::Bytes;
use minijinja::{Environment, Value};
use serde::Serialize;
use touchless_domain::{Perm, PhoneModel, ProvScope, Setting};
use touchless_store::Tenant;

pub use crate::facts::DeviceFacts;

const BUILTIN: &[(&str, &str)] = &[
    (
        "snom/_macros.xml",
        include_str!("../templates/snom/_macros.xml"),
    ),
    (
        "snom/ztprov.xml",
        include_str!("../templates/snom/ztprov.xml"),
    ),
    (
        "snom/model.xml",
        include_str!("../templates/snom/model.xml"),
    ),
    (
        "snom/device.xml",
        include_str!("../templates/snom/device.xml"),
    ),
    (
        "snom/redirect.xml",
        include_str!("../templates/snom/redirect.xml"),
    ),
];

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("template error: {0:#}")]
    Template(#[from] minijinja::Error),
}

pub struct Renderer {
    env: Environment<'static>,
}

/// One line of `<phone-settings>` as the templates see it.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct SettingView {
    pub name: String,
    pub idx: Option<u32>,
    pub value: String,
    pub perm: &'static str,
}

impl From<&Setting> for SettingView {
    fn from(s: &Setting) -> Self {
        SettingView {
            name: s.name.as_str().to_owned(),
            idx: s.idx,
            value: s.value.clone(),
            perm: s.perm.as_str(),
        }
    }
}

impl Renderer {
    /// Builds the environment and compiles every template once, so a broken
    /// override is reported at start, not at the first phone's request.
    pub fn new(template_dir: Option<PathBuf>) -> Result<Self, RenderError> {
        let mut env = Environment::new();
        env.set_loader(move |name| {
            if let Some(dir) = &template_dir {
                // minijinja rejects names with `..` before calling us; the join
                // is under the operator's own directory.
                let path = dir.join(name);
                match std::fs::read_to_string(&path) {
                    Ok(s) => return Ok(Some(s)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => {
                        return Err(minijinja::Error::new(
                            minijinja::ErrorKind::InvalidOperation,
                            format!("cannot read {}: {e}", path.display()),
                        ))
                    }
                }
            }
            Ok(BUILTIN
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, s)| (*s).to_owned()))
        });
        env.set_formatter(|out, _state, value| {
            if value.is_undefined() || value.is_none() {
                return Ok(());
            }
            if value.is_safe() {
                return write!(out, "{value}").map_err(minijinja::Error::from);
            }
            match value.as_str() {
                Some(s) => write_xml_escaped(out, s),
                None => write_xml_escaped(out, &value.to_string()),
            }
            .map_err(minijinja::Error::from)
        });
        for (name, _) in BUILTIN {
            env.get_template(name)?;
        }
        Ok(Renderer { env })
    }

    fn render(&self, name: &str, ctx: Value) -> Result<Bytes, RenderError> {
        let s = self.env.get_template(name)?.render(ctx)?;
        Ok(Bytes::from(s))
    }

    /// `/ztprov/snom{model}-{MAC}.htm`: hands the phone the tenant's credentials and
    /// its `/prov` URL.
    pub fn ztprov(
        &self,
        public_url: &str,
        tenant: &Tenant,
        device: &DeviceFacts,
    ) -> Result<Bytes, RenderError> {
        let settings = fetch_settings(public_url, tenant, device);
        self.render(
            "snom/ztprov.xml",
            minijinja::context! { device => device_view(device), settings => settings },
        )
    }

    /// `/prov/snom{model}.htm`: the tenant's settings for every phone of a model.
    pub fn model(
        &self,
        public_url: &str,
        tenant: &Tenant,
        model: PhoneModel,
    ) -> Result<Bytes, RenderError> {
        let _ = public_url;
        let base = vec![gen("update_policy", None, "settings_only")];
        let (settings, _) = layer(base, &[&tenant.settings]);
        self.render(
            "snom/model.xml",
            minijinja::context! {
                model => model.as_str(),
                tenant => minijinja::context! { id => tenant.id.as_str(), name => tenant.name.as_str() },
                settings => settings,
            },
        )
    }

    /// What the redirection service hands a phone: the settings its PBX pushed.
    pub fn redirect(&self, settings: &[SettingView]) -> Result<Bytes, RenderError> {
        self.render(
            "snom/redirect.xml",
            minijinja::context! { settings => settings },
        )
    }

    /// `/prov/snom{model}-{MAC}.htm`: the device's full configuration.
    pub fn device(
        &self,
        public_url: &str,
        tenant: &Tenant,
        device: &DeviceFacts,
    ) -> Result<Bytes, RenderError> {
        let (settings, fkeys) = device_settings(public_url, tenant, device);
        self.render(
            "snom/device.xml",
            minijinja::context! {
                device => device_view(device),
                tenant => minijinja::context! { id => tenant.id.as_str(), name => tenant.name.as_str() },
                settings => settings,
                fkeys => fkeys,
            },
        )
    }
}

fn device_view(d: &DeviceFacts) -> Value {
    minijinja::context! {
        mac => d.mac.to_string(),
        model => d.model.as_str(),
        name => d.name(),
        revision => d.revision,
    }
}

/// The user and password that open this device's `/prov` files: its own, or
/// its tenant's when the tenant shares one pair among all its phones.
pub fn prov_credentials<'a>(tenant: &'a Tenant, device: &'a DeviceFacts) -> (&'a str, &'a str) {
    match tenant.prov_scope {
        ProvScope::Device => (device.prov_user(), device.prov_pass()),
        ProvScope::Tenant => (tenant.prov_user.as_str(), tenant.prov_pass.as_str()),
    }
}

fn prov_url(public_url: &str, d: &DeviceFacts) -> String {
    format!("{public_url}/prov/{}-{}.htm", d.model, d.mac)
}

fn gen(name: &str, idx: Option<u32>, value: &str) -> SettingView {
    SettingView {
        name: name.to_owned(),
        idx,
        value: value.to_owned(),
        perm: Perm::R.as_str(),
    }
}

/// Where the phone fetches its settings from and with which credentials:
/// what `/ztprov` hands over and what `/prov` repeats.
fn fetch_settings(public_url: &str, tenant: &Tenant, device: &DeviceFacts) -> Vec<SettingView> {
    let (user, pass) = prov_credentials(tenant, device);
    vec![
        gen("setting_server", None, &prov_url(public_url, device)),
        gen("http_client_user", None, user),
        gen("http_client_pass", None, pass),
        gen("update_policy", None, "settings_only"),
    ]
}

/// The layered settings of a device: built-in (identity, server, credentials) <
/// tenant < device. Function keys (`fkey`) come back separately because Snom
/// wants them in their own section.
pub fn device_settings(
    public_url: &str,
    tenant: &Tenant,
    device: &DeviceFacts,
) -> (Vec<SettingView>, Vec<SettingView>) {
    let mut base = fetch_settings(public_url, tenant, device);
    let registrar = if tenant.sip_port == 5060 {
        tenant.sip_host.to_string()
    } else {
        format!("{}:{}", tenant.sip_host, tenant.sip_port)
    };
    for l in &device.lines {
        let i = Some(l.idx);
        base.push(gen("user_active", i, "on"));
        base.push(gen("user_realname", i, l.display_name()));
        base.push(gen("user_name", i, l.extension()));
        base.push(gen("user_pname", i, l.auth_user()));
        base.push(gen("user_pass", i, l.sip_password()));
        base.push(gen("user_host", i, &registrar));
    }
    layer(base, &[&tenant.settings, &device.settings])
}

/// Applies each layer over `base`: same `(name, idx)` replaces in place, new ones
/// are appended in layer order. Splits off `fkey` entries.
fn layer(
    mut merged: Vec<SettingView>,
    layers: &[&[Setting]],
) -> (Vec<SettingView>, Vec<SettingView>) {
    for layer in layers {
        for s in layer.iter() {
            let v = SettingView::from(s);
            match merged
                .iter_mut()
                .find(|m| m.name == v.name && m.idx == v.idx)
            {
                Some(slot) => *slot = v,
                None => merged.push(v),
            }
        }
    }
    let (fkeys, settings) = merged
        .into_iter()
        .partition(|s| s.name == "fkey" && s.idx.is_some());
    (settings, fkeys)
}

fn write_xml_escaped(out: &mut impl std::fmt::Write, s: &str) -> std::fmt::Result {
    let mut last = 0;
    for (i, c) in s.char_indices() {
        let rep = match c {
            '&' => "&amp;",
            '<' => "&lt;",
            '>' => "&gt;",
            '"' => "&quot;",
            '\'' => "&apos;",
            _ => continue,
        };
        out.write_str(&s[last..i])?;
        out.write_str(rep)?;
        last = i + 1;
    }
    out.write_str(&s[last..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use touchless_store::conformance::{line, new_device, new_tenant};

    fn tenant() -> Tenant {
        let n = new_tenant("acme");
        Tenant {
            id: n.id,
            name: touchless_domain::DisplayText::parse("Müller & Söhne <GmbH>").unwrap(),
            prov_user: n.prov_user,
            prov_pass: touchless_domain::ProvPassword::parse("p&<\"'>").unwrap(),
            sip_host: n.sip_host,
            sip_port: 5070,
            mode: n.mode,
            prov_scope: n.prov_scope,
            settings: vec![Setting::new("language", None, "Deutsch", Perm::RW).unwrap()],
            revision: 1,
            created_at: chrono::Utc::now(),
            updated_at: chrono::Utc::now(),
        }
    }

    fn device() -> DeviceFacts {
        device_row().into()
    }

    fn device_row() -> touchless_store::Device {
        let n = new_device("000413AABBCC", "acme");
        let mut l = line(1, "401");
        l.display_name = touchless_domain::DisplayText::parse("Zoë <\"Boss\"> & 'Co' ☎").unwrap();
        touchless_store::Device {
            mac: n.mac,
            model: n.model,
            tenant: n.tenant,
            name: touchless_domain::DisplayText::parse("Desk & <Lobby>").unwrap(),
            status: touchless_domain::DeviceStatus::Unregistered,
            registered_at: None,
            last_message: "-".into(),
            ztprov_user: n.ztprov_user,
            ztprov_pass: n.ztprov_pass,
            ztprov_expires_at: Some(n.ztprov_expires_at),
            ztprov_used_at: None,
            ztprov_next: None,
            prov_user: n.prov_user,
            prov_pass: n.prov_pass,
            removing: false,
            lines: vec![l, line(2, "402")],
            settings: vec![
                Setting::new("language", None, "English", Perm::Keep).unwrap(),
                Setting::new("fkey", Some(0), "blf sip:402@pbx|*8", Perm::R).unwrap(),
                Setting::new("user_host", Some(2), "other.example.com", Perm::R).unwrap(),
            ],
            revision: 3,
            created_at: chrono::Utc::now(),
            updated_at: chrono::Utc::now(),
        }
    }

    /// Every rendered file must parse as XML, and the parsed text must be exactly
    /// what went in, markup characters and non-ASCII included.
    #[test]
    fn output_is_well_formed_and_escaped() {
        let r = Renderer::new(None).unwrap();
        let (t, d) = (tenant(), device());
        let body = r.device("http://pbx:8080", &t, &d).unwrap();
        let text = std::str::from_utf8(&body).unwrap();
        let doc = roxmltree::Document::parse(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        let get = |name: &str, idx: Option<&str>| {
            doc.descendants()
                .find(|n| n.has_tag_name(name) && n.attribute("idx") == idx)
                .map(|n| {
                    (
                        n.text().unwrap_or("").to_owned(),
                        n.attribute("perm").unwrap().to_owned(),
                    )
                })
        };
        assert_eq!(
            get("user_realname", Some("1")).unwrap().0,
            "Zoë <\"Boss\"> & 'Co' ☎"
        );
        assert_eq!(get("http_client_pass", None).unwrap().0, "p&<\"'>");
        assert_eq!(
            get("setting_server", None).unwrap().0,
            "http://pbx:8080/prov/snomD717-000413AABBCC.htm"
        );
        assert_eq!(
            get("user_host", Some("1")).unwrap().0,
            "pbx.example.com:5070"
        );
        // device layer beats tenant layer beats built-ins
        assert_eq!(
            get("language", None).unwrap(),
            ("English".into(), "!".into())
        );
        assert_eq!(get("user_host", Some("2")).unwrap().0, "other.example.com");
        let fkey = doc.descendants().find(|n| n.has_tag_name("fkey")).unwrap();
        assert_eq!(fkey.attribute("idx"), Some("0"));
        assert_eq!(fkey.text(), Some("blf sip:402@pbx|*8"));
        // Free text never goes into a comment, where escaping would not help.
        let comment = doc.descendants().find(|n| n.is_comment()).unwrap();
        assert_eq!(
            comment.text(),
            Some(" touchless: snomD717 000413AABBCC of tenant acme, revision 3 ")
        );

        for body in [
            r.ztprov("http://pbx:8080", &t, &d).unwrap(),
            r.model("http://pbx:8080", &t, d.model).unwrap(),
        ] {
            let text = std::str::from_utf8(&body).unwrap();
            roxmltree::Document::parse(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
        /// Whatever free text the edges accept, every rendered file parses and
        /// carries it back exactly: names, display names and setting values.
        #[test]
        fn every_accepted_value_renders_well_formed(
            name in "\\PC{0,40}",
            display in "\\PC{0,40}",
            value in "(\\PC|\t){0,60}",
            tricky in proptest::sample::select(vec!["--", "-->", "]]>", "<!--", "\u{FFFD}", "&#0;", "\u{10FFFF}"]),
        ) {
            let name = format!("{name}{tricky}");
            let (Ok(name), Ok(display), Ok(setting)) = (
                touchless_domain::DisplayText::parse(&name.chars().take(100).collect::<String>()),
                touchless_domain::DisplayText::parse(&format!("{display}{tricky}")),
                Setting::new("language", None, &format!("{value}{tricky}"), Perm::R),
            ) else {
                // Refused at the edge: nothing to render.
                return Ok(());
            };
            let r = Renderer::new(None).unwrap();
            let mut t = tenant();
            t.name = name.clone();
            t.settings = vec![setting.clone()];
            let mut d = device_row();
            d.name = name;
            d.settings.clear();
            d.lines[0].display_name = display.clone();
            let d = DeviceFacts::from(d);
            for (i, body) in [
                r.device("http://pbx:8080", &t, &d).unwrap(),
                r.ztprov("http://pbx:8080", &t, &d).unwrap(),
                r.model("http://pbx:8080", &t, d.model).unwrap(),
                r.redirect(&[SettingView { name: "setting_server".into(), idx: None, value: setting.value.clone(), perm: "RW" }]).unwrap(),
            ].into_iter().enumerate() {
                let carried = if i == 3 { "setting_server" } else { "language" };
                let text = std::str::from_utf8(&body).unwrap();
                let doc = roxmltree::Document::parse(text).map_err(|e| proptest::test_runner::TestCaseError::fail(format!("{e}\n{text}")))?;
                for n in doc.descendants().filter(|n| n.has_tag_name(carried)) {
                    proptest::prop_assert_eq!(n.text().unwrap_or(""), setting.value.as_str());
                }
                for n in doc.descendants().filter(|n| n.has_tag_name("user_realname")) {
                    if n.attribute("idx") == Some("1") {
                        proptest::prop_assert_eq!(n.text().unwrap_or(""), display.as_str());
                    }
                }
            }
        }
    }

    #[test]
    fn values_xml_cannot_carry_are_refused() {
        for bad in ["a\u{FFFE}", "\u{FFFF}", "a\u{1}b", "\u{85}"] {
            assert!(
                touchless_domain::DisplayText::parse(bad).is_err(),
                "{bad:?}"
            );
            assert!(
                Setting::new("language", None, bad, Perm::R).is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn overrides_replace_builtins_file_by_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("snom")).unwrap();
        std::fs::write(
            dir.path().join("snom/device.xml"),
            "<settings><phone-settings><custom perm=\"R\">{{ device.name }}</custom></phone-settings></settings>",
        )
        .unwrap();
        let r = Renderer::new(Some(dir.path().to_owned())).unwrap();
        let body = r.device("http://x", &tenant(), &device()).unwrap();
        assert_eq!(
            std::str::from_utf8(&body).unwrap(),
            "<settings><phone-settings><custom perm=\"R\">Desk &amp; &lt;Lobby&gt;</custom></phone-settings></settings>"
        );
        // ztprov still comes from the built-in
        let z = r.ztprov("http://x", &tenant(), &device()).unwrap();
        assert!(std::str::from_utf8(&z)
            .unwrap()
            .contains("http_client_user"));
    }

    #[test]
    fn redirect_documents_are_well_formed() {
        let r = Renderer::new(None).unwrap();
        let empty = r.redirect(&[]).unwrap();
        roxmltree::Document::parse(std::str::from_utf8(&empty).unwrap()).unwrap();
        let one = r
            .redirect(&[SettingView {
                name: "setting_server".into(),
                idx: None,
                value: "http://a/?x=1&y=<2>".into(),
                perm: "RW",
            }])
            .unwrap();
        let text = std::str::from_utf8(&one).unwrap();
        let doc = roxmltree::Document::parse(text).unwrap();
        let n = doc
            .descendants()
            .find(|n| n.has_tag_name("setting_server"))
            .unwrap();
        assert_eq!(
            (n.text(), n.attribute("perm")),
            (Some("http://a/?x=1&y=<2>"), Some("RW"))
        );
    }

    #[test]
    fn a_broken_override_fails_at_start() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("snom")).unwrap();
        std::fs::write(dir.path().join("snom/model.xml"), "{% if %}").unwrap();
        let e = Renderer::new(Some(dir.path().to_owned())).err().unwrap();
        assert!(e.to_string().contains("template error"), "{e}");
    }
}
