//! Gigaset's files: which built-in settings each carries (the bases'
//! parameter names, docs/vendors/gigaset.md) and the templates
//! (`gigaset/*.xml`).

use bytes::Bytes;
use minijinja::context;

use crate::render::{layer, SettingView};
use crate::{Phone, RenderError, Templates};

pub(super) const TEMPLATES: &[(&str, &str)] = &[
    ("gigaset/_macros.xml", include_str!("templates/_macros.xml")),
    ("gigaset/ztprov.xml", include_str!("templates/ztprov.xml")),
    ("gigaset/device.xml", include_str!("templates/device.xml")),
];

fn gen(name: &str, value: &str) -> SettingView {
    SettingView::builtin(name, None, value)
}

/// The folder the base fetches from from now on, its pair in the path.
fn fetch_settings(p: &Phone) -> Vec<SettingView> {
    vec![gen(
        "Provisioning.global.ProvisioningServer",
        &p.steady_url(),
    )]
}

/// `/ztprov/{user}/{pass}/{mac}.xml`: the steady-state folder.
pub(super) fn first_contact(t: &Templates, p: &Phone) -> Result<Bytes, RenderError> {
    t.render(
        "gigaset/ztprov.xml",
        context! { device => p.view_lower_mac(), settings => fetch_settings(p) },
    )
}

/// Built-in (server, one SIP provider, an account per line) < tenant <
/// device. Line N is handset N's account (`SipAccount.0000N.*`).
fn device_settings(p: &Phone) -> Vec<SettingView> {
    let mut base = fetch_settings(p);
    let port = p.tenant.sip_port.to_string();
    base.push(gen("SipProvider.0.Name", p.tenant.name));
    base.push(gen("SipProvider.0.Domain", p.tenant.sip_host));
    base.push(gen("SipProvider.0.ProxyServerAddress", p.tenant.sip_host));
    base.push(gen("SipProvider.0.ProxyServerPort", &port));
    base.push(gen("SipProvider.0.RegServerAddress", p.tenant.sip_host));
    base.push(gen("SipProvider.0.RegServerPort", &port));
    for l in &p.lines {
        let a = |key: &str| format!("SipAccount.{:05}.{key}", l.idx);
        base.push(gen(&a("AuthName"), l.auth_user));
        base.push(gen(&a("AuthPassword"), l.sip_password));
        base.push(gen(&a("UserName"), l.extension));
        base.push(gen(&a("DisplayName"), l.display_name));
        base.push(gen(&a("ProviderId"), "0"));
    }
    layer(base, &[p.tenant.settings, p.settings])
}

/// `/prov/{user}/{pass}/{mac}.xml`: the base's full configuration.
pub(super) fn device(t: &Templates, p: &Phone) -> Result<Bytes, RenderError> {
    t.render(
        "gigaset/device.xml",
        context! {
            device => p.view_lower_mac(),
            settings => device_settings(p),
            firmware => p.firmware_step().map(|s| context! { version => s.version.clone(), url => s.url.clone() }),
        },
    )
}
