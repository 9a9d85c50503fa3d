//! Rendering, the vendor-neutral half: one minijinja environment per vendor
//! (its templates, its escaping), the inputs a file renders from, and the
//! layering of settings.
//!
//! The built-in templates are compiled into the binary; an operator's
//! template directory overrides them file by file (`<template_dir>/<vendor>/<file>`),
//! so an upgrade never overwrites local changes and a missing override falls
//! back to the built-in. Every interpolated value is escaped by the
//! environment's formatter with the vendor's escaping, not by the templates,
//! so an override cannot forget it.

use std::collections::HashMap;
use std::path::PathBuf;

use bytes::Bytes;
use minijinja::{Environment, Value};
use serde::Serialize;
use touchless_domain::{Mac, Perm, Setting};

use crate::{PhoneModel, PhoneVendor, Vendor};

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("template error: {0:#}")]
    Template(#[from] minijinja::Error),
    #[error("no templates are loaded for {0} phones: the vendor was registered after the renderer was built")]
    NotLoaded(Vendor),
    #[error("{0} phones have no file of this kind")]
    NoSuchFile(&'static str),
}

/// One setting as the templates see it, after layering.
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

impl SettingView {
    /// A built-in setting (read-only for the phone's user).
    pub fn builtin(name: &str, idx: Option<u32>, value: &str) -> Self {
        SettingView {
            name: name.to_owned(),
            idx,
            value: value.to_owned(),
            perm: Perm::R.as_str(),
        }
    }
}

/// What a tenant's files render from.
pub struct TenantFacts<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub sip_host: &'a str,
    pub sip_port: u16,
    pub settings: &'a [Setting],
}

impl TenantFacts<'_> {
    /// `host`, or `host:port` when the port is not SIP's default.
    pub fn registrar(&self) -> String {
        if self.sip_port == 5060 {
            self.sip_host.to_owned()
        } else {
            format!("{}:{}", self.sip_host, self.sip_port)
        }
    }
}

/// One SIP identity of a device.
pub struct Line<'a> {
    pub idx: u32,
    pub extension: &'a str,
    pub auth_user: &'a str,
    pub sip_password: &'a str,
    pub display_name: &'a str,
}

/// What a device's files render from: the device, its tenant, the public URL
/// it fetches from, and the pair that opens its steady-state files (its own
/// or its tenant's, decided by the caller).
pub struct Phone<'a> {
    pub public_url: &'a str,
    pub tenant: TenantFacts<'a>,
    pub mac: Mac,
    pub model: PhoneModel,
    pub name: &'a str,
    pub revision: i64,
    pub lines: Vec<Line<'a>>,
    pub settings: &'a [Setting],
    pub prov_user: &'a str,
    pub prov_pass: &'a str,
    /// The firmware policy that applies to the phone, if any.
    pub firmware: Option<Firmware>,
}

/// A firmware policy as a file sees it: whether one applies, and what the
/// phone is to install next (`None` once it runs the target).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Firmware {
    pub step: Option<FirmwareStep>,
}

/// The version a phone is to install next and where its image is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FirmwareStep {
    pub version: String,
    pub url: String,
}

impl Phone<'_> {
    /// The URL of the file (or folder) it fetches from now on, with its
    /// pair in the path where its vendor needs it there.
    pub fn steady_url(&self) -> String {
        let v = self.model.vendor();
        let path = v.steady_url_path(self.model, self.mac, self.prov_user, self.prov_pass);
        format!("{}{path}", self.public_url)
    }
}

impl Phone<'_> {
    /// The step to install now, if the phone has one.
    pub fn firmware_step(&self) -> Option<&FirmwareStep> {
        self.firmware.as_ref().and_then(|f| f.step.as_ref())
    }

    /// The URL of a file in the phone's `/prov` folder, with its pair in
    /// the path where its vendor needs it there.
    pub fn prov_file_url(&self, name: &str) -> String {
        let path = format!("/prov/{name}");
        let path = match self.model.vendor().pair_in_path(self.model) {
            crate::PairInPath::Always => crate::pair::insert(&path, self.prov_user, self.prov_pass),
            _ => path,
        };
        format!("{}{path}", self.public_url)
    }

    /// The device as the templates of a vendor whose file names carry the
    /// MAC in lower case see it: `device.mac`, `device.model`,
    /// `device.revision`.
    pub(crate) fn view_lower_mac(&self) -> Value {
        minijinja::context! {
            mac => self.mac.to_string().to_ascii_lowercase(),
            model => self.model.as_str(),
            revision => self.revision,
        }
    }
}

/// A vendor's compiled templates.
pub struct Templates {
    env: Environment<'static>,
}

impl Templates {
    /// Renders the template `name` (`<vendor>/<file>`) with `ctx`.
    pub fn render(&self, name: &str, ctx: Value) -> Result<Bytes, RenderError> {
        let s = self.env.get_template(name)?.render(ctx)?;
        Ok(Bytes::from(s))
    }
}

/// Every vendor's templates; what the provisioning server and the
/// redirection service render with.
pub struct Renderer {
    by_vendor: HashMap<&'static str, Templates>,
    /// Each vendor's public files, rendered once: name → (body, content type).
    /// Every phone request looks its file name up here first; the keys are
    /// the vendors' fixed names, so a fast hash is safe.
    public: foldhash::HashMap<&'static str, (Bytes, &'static str)>,
}

impl Renderer {
    /// Builds each vendor's environment and compiles every template once, so
    /// a broken override is reported at start, not at the first phone's
    /// request.
    pub fn new(template_dir: Option<PathBuf>) -> Result<Self, RenderError> {
        let mut by_vendor = HashMap::new();
        let mut public = foldhash::HashMap::default();
        for v in crate::vendors() {
            let t = environment(*v, template_dir.clone())?;
            for (name, template) in v.public_files() {
                let body = t.render(template, minijinja::context! {})?;
                public.insert(*name, (body, v.content_type()));
            }
            by_vendor.insert(v.name(), t);
        }
        Ok(Renderer { by_vendor, public })
    }

    /// A public file (see [`PhoneVendor::public_files`]) and its content type.
    pub fn public(&self, name: &str) -> Option<(Bytes, &'static str)> {
        self.public.get(name).cloned()
    }

    fn of(&self, v: Vendor) -> Result<&Templates, RenderError> {
        self.by_vendor
            .get(v.name())
            .ok_or(RenderError::NotLoaded(v))
    }

    pub fn first_contact(&self, p: &Phone) -> Result<Bytes, RenderError> {
        let v = p.model.vendor();
        v.render_first_contact(self.of(v)?, p)
    }

    pub fn device(&self, p: &Phone) -> Result<Bytes, RenderError> {
        let v = p.model.vendor();
        v.render_device(self.of(v)?, p)
    }

    /// The phone's firmware file, for a vendor whose firmware instruction
    /// is a file of its own (see [`PhoneVendor::render_firmware_file`]).
    pub fn firmware_file(&self, p: &Phone) -> Result<Option<Bytes>, RenderError> {
        let v = p.model.vendor();
        v.render_firmware_file(self.of(v)?, p).transpose()
    }

    pub fn common(&self, tenant: &TenantFacts, model: PhoneModel) -> Result<Bytes, RenderError> {
        let v = model.vendor();
        v.render_common(self.of(v)?, tenant, model)
    }

    /// The redirection service's answer for `vendor`'s phones.
    pub fn redirect(&self, vendor: Vendor, settings: &[SettingView]) -> Result<Bytes, RenderError> {
        vendor.render_redirect(self.of(vendor)?, settings)
    }
}

pub(crate) fn environment(
    vendor: &'static dyn PhoneVendor,
    template_dir: Option<PathBuf>,
) -> Result<Templates, RenderError> {
    let builtin = vendor.templates();
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
        Ok(builtin
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, s)| (*s).to_owned()))
    });
    env.set_formatter(move |out, _state, value| {
        if value.is_undefined() || value.is_none() {
            return Ok(());
        }
        if value.is_safe() {
            return write!(out, "{value}").map_err(minijinja::Error::from);
        }
        match value.as_str() {
            Some(s) => vendor.escape(out, s),
            None => vendor.escape(out, &value.to_string()),
        }
        .map_err(minijinja::Error::from)
    });
    for (name, _) in builtin {
        env.get_template(name)?;
    }
    Ok(Templates { env })
}

/// Applies each layer over `base`: same `(name, idx)` replaces in place, new
/// ones are appended in layer order.
pub fn layer(mut merged: Vec<SettingView>, layers: &[&[Setting]]) -> Vec<SettingView> {
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
    merged
}

/// [`write_xml_escaped`], and tab, line feed and carriage return as
/// character references, so a parser reads back exactly what went in (it
/// would turn them into spaces in attributes and `\r` into `\n` in text).
pub fn write_xml_escaped_exact(out: &mut dyn std::fmt::Write, s: &str) -> std::fmt::Result {
    let mut last = 0;
    for (i, c) in s.char_indices() {
        let rep = match c {
            '\t' => "&#9;",
            '\n' => "&#10;",
            '\r' => "&#13;",
            _ => continue,
        };
        write_xml_escaped(out, &s[last..i])?;
        out.write_str(rep)?;
        last = i + 1;
    }
    write_xml_escaped(out, &s[last..])
}

/// XML 1.0 text and attribute escaping: the five markup characters.
pub fn write_xml_escaped(out: &mut dyn std::fmt::Write, s: &str) -> std::fmt::Result {
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
