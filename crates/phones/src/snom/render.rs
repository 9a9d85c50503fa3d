//! Snom's XML settings files (reference §4.2): which built-in settings each
//! file carries, and the templates (`snom/*.xml`) they go through.

use bytes::Bytes;
use minijinja::{context, Value};

use crate::render::{layer, SettingView};
use crate::{Phone, PhoneModel, RenderError, Templates, TenantFacts};

pub(super) const TEMPLATES: &[(&str, &str)] = &[
    ("snom/_macros.xml", include_str!("templates/_macros.xml")),
    ("snom/ztprov.xml", include_str!("templates/ztprov.xml")),
    ("snom/model.xml", include_str!("templates/model.xml")),
    ("snom/device.xml", include_str!("templates/device.xml")),
    ("snom/redirect.xml", include_str!("templates/redirect.xml")),
    ("snom/firmware.xml", include_str!("templates/firmware.xml")),
];

fn gen(name: &str, idx: Option<u32>, value: &str) -> SettingView {
    SettingView::builtin(name, idx, value)
}

fn device_view(p: &Phone) -> Value {
    context! {
        mac => p.mac.to_string(),
        model => p.model.as_str(),
        name => p.name,
        revision => p.revision,
    }
}

fn tenant_view(t: &TenantFacts) -> Value {
    context! { id => t.id, name => t.name }
}

/// Where the phone fetches its settings from and with which credentials:
/// what the first contact hands over and what `/prov` repeats.
fn fetch_settings(p: &Phone) -> Vec<SettingView> {
    vec![
        gen("setting_server", None, &p.steady_url()),
        gen("http_client_user", None, p.prov_user),
        gen("http_client_pass", None, p.prov_pass),
        gen("update_policy", None, "settings_only"),
    ]
}

/// `/ztprov/snom{model}-{MAC}.htm`: hands the phone its `/prov` URL and
/// credentials.
pub(super) fn first_contact(t: &Templates, p: &Phone) -> Result<Bytes, RenderError> {
    t.render(
        "snom/ztprov.xml",
        context! { device => device_view(p), settings => fetch_settings(p) },
    )
}

/// The layered settings of a device: built-in (identity, server,
/// credentials) < tenant < device. Function keys (`fkey`) come back
/// separately because Snom wants them in their own section.
fn device_settings(p: &Phone) -> (Vec<SettingView>, Vec<SettingView>) {
    let mut base = fetch_settings(p);
    if p.firmware.is_some() {
        // `settings_only` would refuse every image; the firmware file says
        // whether there is one to install.
        for s in base.iter_mut().filter(|s| s.name == "update_policy") {
            s.value = "auto_update".to_owned();
        }
        let name = super::file::firmware_name(p.model, p.mac);
        base.push(gen("firmware_status", None, &p.prov_file_url(&name)));
    }
    let registrar = p.tenant.registrar();
    for l in &p.lines {
        let i = Some(l.idx);
        base.push(gen("user_active", i, "on"));
        base.push(gen("user_realname", i, l.display_name));
        base.push(gen("user_name", i, l.extension));
        base.push(gen("user_pname", i, l.auth_user));
        base.push(gen("user_pass", i, l.sip_password));
        base.push(gen("user_host", i, &registrar));
    }
    layer(base, &[p.tenant.settings, p.settings])
        .into_iter()
        .partition(|s| !(s.name == "fkey" && s.idx.is_some()))
}

/// `/prov/snom{model}-{MAC}.htm`: the device's full configuration.
pub(super) fn device(t: &Templates, p: &Phone) -> Result<Bytes, RenderError> {
    let (settings, fkeys) = device_settings(p);
    t.render(
        "snom/device.xml",
        context! {
            device => device_view(p),
            tenant => tenant_view(&p.tenant),
            settings => settings,
            fkeys => fkeys,
        },
    )
}

/// `/prov/snom{model}-{MAC}-firmware.xml`, what `firmware_status` names:
/// the image of the phone's next step, if it has one; none without a policy.
pub(super) fn firmware(t: &Templates, p: &Phone) -> Option<Result<Bytes, RenderError>> {
    let f = p.firmware.as_ref()?;
    Some(t.render(
        "snom/firmware.xml",
        context! { device => device_view(p), step => f.step.as_ref().map(|s| context! { url => s.url.clone(), version => s.version.clone() }) },
    ))
}

/// `/prov/snom{model}.htm`: the tenant's settings for every phone of a model.
pub(super) fn common(
    t: &Templates,
    tenant: &TenantFacts,
    model: PhoneModel,
) -> Result<Bytes, RenderError> {
    let base = vec![gen("update_policy", None, "settings_only")];
    let settings: Vec<SettingView> = layer(base, &[tenant.settings])
        .into_iter()
        .filter(|s| !(s.name == "fkey" && s.idx.is_some()))
        .collect();
    t.render(
        "snom/model.xml",
        context! {
            model => model.as_str(),
            tenant => tenant_view(tenant),
            settings => settings,
        },
    )
}

/// What the redirection service hands a phone: the settings its PBX pushed.
pub(super) fn redirect(t: &Templates, settings: &[SettingView]) -> Result<Bytes, RenderError> {
    t.render("snom/redirect.xml", context! { settings => settings })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Line, Renderer, Vendor};
    use touchless_domain::{Mac, Perm, Setting};

    struct Owned {
        tenant_name: String,
        tenant_settings: Vec<Setting>,
        name: String,
        display: String,
        settings: Vec<Setting>,
    }

    fn owned() -> Owned {
        Owned {
            tenant_name: "Müller & Söhne <GmbH>".into(),
            tenant_settings: vec![Setting::new("language", None, "Deutsch", Perm::RW).unwrap()],
            name: "Desk & <Lobby>".into(),
            display: "Zoë <\"Boss\"> & 'Co' ☎".into(),
            settings: vec![
                Setting::new("language", None, "English", Perm::Keep).unwrap(),
                Setting::new("fkey", Some(0), "blf sip:402@pbx|*8", Perm::R).unwrap(),
                Setting::new("user_host", Some(2), "other.example.com", Perm::R).unwrap(),
            ],
        }
    }

    fn phone<'a>(o: &'a Owned, public_url: &'a str) -> Phone<'a> {
        Phone {
            public_url,
            tenant: TenantFacts {
                id: "acme",
                name: &o.tenant_name,
                sip_host: "pbx.example.com",
                sip_port: 5070,
                settings: &o.tenant_settings,
            },
            mac: Mac::parse("000413AABBCC").unwrap(),
            model: PhoneModel::parse("snomD717").unwrap(),
            name: &o.name,
            revision: 3,
            lines: vec![
                Line {
                    idx: 1,
                    extension: "401",
                    auth_user: "401",
                    sip_password: "s3cret",
                    display_name: &o.display,
                },
                Line {
                    idx: 2,
                    extension: "402",
                    auth_user: "402",
                    sip_password: "s3cret",
                    display_name: "Two",
                },
            ],
            settings: &o.settings,
            prov_user: "acme",
            prov_pass: "p&<\"'>",
            firmware: None,
        }
    }

    fn snom() -> Vendor {
        Vendor::parse("snom").unwrap()
    }

    /// Every rendered file must parse as XML, and the parsed text must be exactly
    /// what went in, markup characters and non-ASCII included.
    #[test]
    fn output_is_well_formed_and_escaped() {
        let r = Renderer::new(None).unwrap();
        let o = owned();
        let p = phone(&o, "http://pbx:8080");
        let body = r.device(&p).unwrap();
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
            r.first_contact(&p).unwrap(),
            r.common(&p.tenant, p.model).unwrap(),
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
            let mut o = owned();
            o.tenant_name = name.as_str().to_owned();
            o.tenant_settings = vec![setting.clone()];
            o.name = name.as_str().to_owned();
            o.settings.clear();
            o.display = display.as_str().to_owned();
            let p = phone(&o, "http://pbx:8080");
            for (i, body) in [
                r.device(&p).unwrap(),
                r.first_contact(&p).unwrap(),
                r.common(&p.tenant, p.model).unwrap(),
                r.redirect(snom(), &[SettingView { name: "setting_server".into(), idx: None, value: setting.value.clone(), perm: "RW" }]).unwrap(),
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
    fn overrides_replace_builtins_file_by_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("snom")).unwrap();
        std::fs::write(
            dir.path().join("snom/device.xml"),
            "<settings><phone-settings><custom perm=\"R\">{{ device.name }}</custom></phone-settings></settings>",
        )
        .unwrap();
        let r = Renderer::new(Some(dir.path().to_owned())).unwrap();
        let o = owned();
        let p = phone(&o, "http://x");
        let body = r.device(&p).unwrap();
        assert_eq!(
            std::str::from_utf8(&body).unwrap(),
            "<settings><phone-settings><custom perm=\"R\">Desk &amp; &lt;Lobby&gt;</custom></phone-settings></settings>"
        );
        // the first-contact file still comes from the built-in
        let z = r.first_contact(&p).unwrap();
        assert!(std::str::from_utf8(&z)
            .unwrap()
            .contains("http_client_user"));
    }

    #[test]
    fn redirect_documents_are_well_formed() {
        let r = Renderer::new(None).unwrap();
        let empty = r.redirect(snom(), &[]).unwrap();
        roxmltree::Document::parse(std::str::from_utf8(&empty).unwrap()).unwrap();
        let one = r
            .redirect(
                snom(),
                &[SettingView {
                    name: "setting_server".into(),
                    idx: None,
                    value: "http://a/?x=1&y=<2>".into(),
                    perm: "RW",
                }],
            )
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
