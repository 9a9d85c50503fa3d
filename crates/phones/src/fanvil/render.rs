//! Fanvil's files: which built-in settings each carries (Fanvil's `<sysConf>`
//! names, docs/vendors/fanvil.md), and the settings turned into the nested
//! elements of that format.
//!
//! A setting's dotted name is its element path, and an index belongs to the
//! element that holds the leaf: `sip.line.RegisterAddr[1]` is
//! `<sip><line index="1"><RegisterAddr>`. A name with a part that is no XML
//! name (empty, or starting with a digit or `-`) cannot be written in this
//! format and is left out.

use bytes::Bytes;
use minijinja::context;
use serde::Serialize;

use crate::render::{layer, SettingView};
use crate::{Phone, PhoneModel, RenderError, Templates, TenantFacts};

pub(super) const TEMPLATES: &[(&str, &str)] = &[
    ("fanvil/_macros.xml", include_str!("templates/_macros.xml")),
    ("fanvil/ztprov.xml", include_str!("templates/ztprov.xml")),
    ("fanvil/device.xml", include_str!("templates/device.xml")),
    ("fanvil/common.xml", include_str!("templates/common.xml")),
];

fn gen(name: &str, idx: Option<u32>, value: &str) -> SettingView {
    SettingView::builtin(name, idx, value)
}

/// One element of the document.
#[derive(Serialize, Debug, PartialEq)]
pub(super) struct Node {
    name: String,
    index: Option<u32>,
    value: String,
    children: Vec<Node>,
    /// Indentation, so the templates need no arithmetic.
    pad: String,
}

fn xml_name(s: &str) -> bool {
    s.bytes()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
}

/// The settings as a tree, in first-seen order; a later setting of the same
/// path replaces the value (layering already did, this only keeps it so).
pub(super) fn tree(settings: &[SettingView]) -> Vec<Node> {
    let mut roots: Vec<Node> = Vec::new();
    for s in settings {
        let parts: Vec<&str> = s.name.split('.').collect();
        if !parts.iter().all(|p| xml_name(p)) {
            continue;
        }
        let mut level = &mut roots;
        let last = parts.len() - 1;
        for (depth, part) in parts.iter().enumerate() {
            // The index goes on the leaf's parent, or on the leaf when it
            // has none.
            let index = if depth + 1 == last || (last == 0 && depth == 0) {
                s.idx
            } else {
                None
            };
            let at = match level
                .iter()
                .position(|n| n.name == *part && n.index == index)
            {
                Some(i) => i,
                None => {
                    level.push(Node {
                        name: (*part).to_owned(),
                        index,
                        value: String::new(),
                        children: Vec::new(),
                        pad: "    ".repeat(depth + 1),
                    });
                    level.len() - 1
                }
            };
            if depth == last {
                level[at].value = s.value.clone();
                level[at].children.clear();
                break;
            }
            level[at].value.clear();
            level = &mut level[at].children;
        }
    }
    roots
}

/// Where the phone fetches from from now on (a server, and a file on it)
/// and with which pair.
fn fetch_settings(p: &Phone) -> Vec<SettingView> {
    let file = p.steady_url();
    let file = file
        .strip_prefix(p.public_url)
        .unwrap_or(&file)
        .trim_start_matches('/');
    let protocol = if p.public_url.starts_with("https:") {
        "5"
    } else {
        "4"
    };
    vec![
        gen("ap.FlashServerIP", None, p.public_url),
        gen("ap.FlashFileName", None, file),
        gen("ap.FlashProtocol", None, protocol),
        gen("ap.DefaultUsername", None, p.prov_user),
        gen("ap.DefaultPassword", None, p.prov_pass),
    ]
}

/// `/ztprov/{user}/{pass}/{mac}.cfg`: the steady-state file and its pair.
pub(super) fn first_contact(t: &Templates, p: &Phone) -> Result<Bytes, RenderError> {
    t.render(
        "fanvil/ztprov.xml",
        context! { device => p.view_lower_mac(), tree => tree(&fetch_settings(p)) },
    )
}

/// Built-in (server, pair, lines) < tenant < device.
fn device_settings(p: &Phone) -> Vec<SettingView> {
    let mut base = fetch_settings(p);
    for l in &p.lines {
        let i = Some(l.idx);
        base.push(gen("sip.line.PhoneNumber", i, l.extension));
        base.push(gen("sip.line.DisplayName", i, l.display_name));
        base.push(gen("sip.line.RegisterAddr", i, p.tenant.sip_host));
        base.push(gen(
            "sip.line.RegisterPort",
            i,
            &p.tenant.sip_port.to_string(),
        ));
        base.push(gen("sip.line.RegisterUser", i, l.auth_user));
        base.push(gen("sip.line.RegisterPswd", i, l.sip_password));
        base.push(gen("sip.line.EnableReg", i, "1"));
    }
    if let Some(step) = p.firmware_step() {
        // wazo's `base-new.tpl`: fetch the image named here on provisioning.
        base.push(gen("AUTOUPDATE_CONFIG_MODULE.Download_Mode", None, "1"));
        base.push(gen(
            "AUTOUPDATE_CONFIG_MODULE.Auto_Image_URL",
            None,
            &step.url,
        ));
    }
    layer(base, &[p.tenant.settings, p.settings])
}

/// `/prov/{mac}.cfg`: the device's full configuration.
pub(super) fn device(t: &Templates, p: &Phone) -> Result<Bytes, RenderError> {
    t.render(
        "fanvil/device.xml",
        context! { device => p.view_lower_mac(), tree => tree(&device_settings(p)) },
    )
}

/// The model-wide file: the tenant's settings for every phone of the model.
pub(super) fn common(
    t: &Templates,
    tenant: &TenantFacts,
    model: PhoneModel,
) -> Result<Bytes, RenderError> {
    t.render(
        "fanvil/common.xml",
        context! {
            model => model.as_str(),
            tree => tree(&layer(Vec::new(), &[tenant.settings])),
        },
    )
}
