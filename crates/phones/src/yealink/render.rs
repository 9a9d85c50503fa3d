//! Yealink's files: which built-in settings each carries (Yealink's setting
//! names, docs/vendors/yealink.md) and the templates (`yealink/*.cfg`).

use bytes::Bytes;
use minijinja::context;

use crate::render::{layer, SettingView};
use crate::{Phone, PhoneModel, RenderError, Templates, TenantFacts};

pub(super) const TEMPLATES: &[(&str, &str)] = &[
    ("yealink/ztprov.cfg", include_str!("templates/ztprov.cfg")),
    ("yealink/device.cfg", include_str!("templates/device.cfg")),
    ("yealink/common.cfg", include_str!("templates/common.cfg")),
];

fn gen(name: &str, value: &str) -> SettingView {
    SettingView::builtin(name, None, value)
}

/// Where the phone fetches from (a folder: it adds its own file names) and
/// with which credentials.
fn fetch_settings(p: &Phone) -> Vec<SettingView> {
    vec![
        gen("static.auto_provision.server.url", &p.steady_url()),
        gen("static.auto_provision.server.username", p.prov_user),
        gen("static.auto_provision.server.password", p.prov_pass),
    ]
}

/// `/ztprov/{mac}.cfg`: the steady-state folder and its credentials.
pub(super) fn first_contact(t: &Templates, p: &Phone) -> Result<Bytes, RenderError> {
    t.render(
        "yealink/ztprov.cfg",
        context! { device => p.view_lower_mac(), settings => fetch_settings(p) },
    )
}

/// Built-in (server, credentials, accounts) < tenant < device.
fn device_settings(p: &Phone) -> Vec<SettingView> {
    let mut base = fetch_settings(p);
    for l in &p.lines {
        let a = |key: &str| format!("account.{}.{key}", l.idx);
        let label = if l.display_name.is_empty() {
            l.extension
        } else {
            l.display_name
        };
        base.push(gen(&a("enable"), "1"));
        base.push(gen(&a("label"), label));
        base.push(gen(&a("display_name"), l.display_name));
        base.push(gen(&a("auth_name"), l.auth_user));
        base.push(gen(&a("user_name"), l.extension));
        base.push(gen(&a("password"), l.sip_password));
        base.push(gen(&a("sip_server.1.address"), p.tenant.sip_host));
        base.push(gen(&a("sip_server.1.port"), &p.tenant.sip_port.to_string()));
    }
    if let Some(step) = p.firmware_step() {
        // The phone installs the image when its name differs from what it
        // runs; no line at all once it runs the target.
        base.push(gen("static.firmware.url", &step.url));
    }
    layer(base, &[p.tenant.settings, p.settings])
}

/// `/prov/{mac}.cfg`: the device's full configuration.
pub(super) fn device(t: &Templates, p: &Phone) -> Result<Bytes, RenderError> {
    t.render(
        "yealink/device.cfg",
        context! {
            device => p.view_lower_mac(),
            tenant => context! { id => p.tenant.id },
            settings => device_settings(p),
        },
    )
}

/// `/prov/y0000000000XX.cfg`: the tenant's settings for every phone of the
/// model.
pub(super) fn common(
    t: &Templates,
    tenant: &TenantFacts,
    model: PhoneModel,
) -> Result<Bytes, RenderError> {
    t.render(
        "yealink/common.cfg",
        context! {
            model => model.as_str(),
            tenant => context! { id => tenant.id },
            settings => layer(Vec::new(), &[tenant.settings]),
        },
    )
}
