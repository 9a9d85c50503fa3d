//! Poly's files: which built-in settings each carries (Poly's parameter
//! names, docs/vendors/poly.md) and the templates (`poly/*.xml`).

use bytes::Bytes;
use minijinja::context;

use crate::render::{layer, SettingView};
use crate::{Phone, RenderError, Templates};

pub(super) const TEMPLATES: &[(&str, &str)] = &[
    ("poly/_macros.xml", include_str!("templates/_macros.xml")),
    ("poly/master.xml", include_str!("templates/master.xml")),
    ("poly/ztprov.xml", include_str!("templates/ztprov.xml")),
    ("poly/device.xml", include_str!("templates/device.xml")),
    ("poly/firmware.xml", include_str!("templates/firmware.xml")),
];

fn gen(name: &str, value: &str) -> SettingView {
    SettingView::builtin(name, None, value)
}

/// The provisioning server the phone uses from now on, and its pair; each
/// `device.*` parameter takes effect with its `.set = 1`.
fn fetch_settings(p: &Phone) -> Vec<SettingView> {
    let https = p.public_url.starts_with("https:");
    let mut out = vec![gen("device.set", "1")];
    for (name, value) in [
        (
            "device.prov.serverType",
            if https { "HTTPS" } else { "HTTP" },
        ),
        ("device.prov.serverName", &p.steady_url()),
        ("device.prov.user", p.prov_user),
        ("device.prov.password", p.prov_pass),
    ] {
        out.push(gen(&format!("{name}.set"), "1"));
        out.push(gen(name, value));
    }
    out
}

/// The settings as attributes: an index joins the name (`NAME.IDX`, Poly's
/// own shape), a name that is no XML name (a part starting with a digit or
/// `-`) is left out, and of two settings that end up with one name the later
/// wins, so no attribute appears twice.
pub(super) fn attributes(settings: Vec<SettingView>) -> Vec<SettingView> {
    let mut out: Vec<SettingView> = Vec::with_capacity(settings.len());
    for mut s in settings {
        if let Some(i) = s.idx.take() {
            s.name = format!("{}.{i}", s.name);
        }
        let first = s.name.bytes().next();
        if !first.is_some_and(|c| c.is_ascii_alphabetic() || c == b'_') {
            continue;
        }
        match out.iter_mut().find(|o| o.name == s.name) {
            Some(o) => *o = s,
            None => out.push(s),
        }
    }
    out
}

/// `/ztprov/{user}/{pass}/{mac}-user.cfg`: the steady server and its pair.
pub(super) fn first_contact(t: &Templates, p: &Phone) -> Result<Bytes, RenderError> {
    t.render(
        "poly/ztprov.xml",
        context! { device => p.view_lower_mac(), settings => attributes(fetch_settings(p)) },
    )
}

/// Built-in (server, pair, lines) < tenant < device.
fn device_settings(p: &Phone) -> Vec<SettingView> {
    let mut base = fetch_settings(p);
    let port = p.tenant.sip_port.to_string();
    for l in &p.lines {
        let r = |key: &str| format!("reg.{}.{key}", l.idx);
        base.push(gen(&r("address"), l.extension));
        base.push(gen(&r("label"), l.extension));
        base.push(gen(&r("displayName"), l.display_name));
        base.push(gen(&r("auth.userId"), l.auth_user));
        base.push(gen(&r("auth.password"), l.sip_password));
        base.push(gen(&r("server.1.address"), p.tenant.sip_host));
        base.push(gen(&r("server.1.port"), &port));
    }
    layer(base, &[p.tenant.settings, p.settings])
}

/// `/prov/{mac}-user.cfg`: the phone's full configuration.
pub(super) fn device(t: &Templates, p: &Phone) -> Result<Bytes, RenderError> {
    t.render(
        "poly/device.xml",
        context! { device => p.view_lower_mac(), settings => attributes(device_settings(p)) },
    )
}

/// `/prov/{mac}.cfg`, the phone's own master file, while it has a firmware
/// step to take: the master's `APP_FILE_PATH` is where a Poly phone finds
/// its image. Without one, none (a 404: the phone falls back to the public
/// master, which names no image of ours).
pub(super) fn firmware(t: &Templates, p: &Phone) -> Option<Result<Bytes, RenderError>> {
    let step = p.firmware_step()?;
    Some(t.render(
        "poly/firmware.xml",
        context! { device => p.view_lower_mac(), url => step.url.clone() },
    ))
}
