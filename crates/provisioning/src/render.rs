//! Rendering from the registry's records: a tenant and a device's facts become
//! the vendor seam's inputs, and the device's vendor renders them
//! (`touchless_phones`). What decides the credentials a file hands out (the
//! tenant's scope) is touchless's, not a vendor's, so it lives here.

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use touchless_domain::ProvScope;
use touchless_phones::{Firmware, Line, Phone, PhoneModel, TenantFacts, Vendor};
use touchless_store::Tenant;

pub use crate::facts::DeviceFacts;
pub use touchless_phones::{RenderError, SettingView};

/// Every vendor's templates, fed from registry records.
pub struct Renderer(Arc<touchless_phones::Renderer>);

impl Renderer {
    /// Compiles every vendor's templates (and the operator's overrides under
    /// `template_dir`), so a broken override is reported at start.
    pub fn new(template_dir: Option<PathBuf>) -> Result<Self, RenderError> {
        touchless_phones::Renderer::new(template_dir).map(|r| Renderer(Arc::new(r)))
    }

    /// A vendor's public file (the same for every phone, no secret in it).
    pub fn public(&self, name: &str) -> Option<(Bytes, &'static str)> {
        self.0.public(name)
    }

    /// The vendors' renderer itself, for the redirection service, which renders
    /// from no registry record.
    pub fn shared(&self) -> Arc<touchless_phones::Renderer> {
        Arc::clone(&self.0)
    }

    /// The first-contact file (`/ztprov/…`): hands the phone its steady-state
    /// URL and credentials.
    pub fn ztprov(
        &self,
        public_url: &str,
        tenant: &Tenant,
        device: &DeviceFacts,
    ) -> Result<Bytes, RenderError> {
        self.0.first_contact(&phone(public_url, tenant, device))
    }

    /// The device's full configuration (`/prov/…`).
    pub fn device(
        &self,
        public_url: &str,
        tenant: &Tenant,
        device: &DeviceFacts,
        firmware: Option<Firmware>,
    ) -> Result<Bytes, RenderError> {
        let mut p = phone(public_url, tenant, device);
        p.firmware = firmware;
        self.0.device(&p)
    }

    /// The device's firmware file, where its vendor has one; `None` when
    /// there is nothing to serve.
    pub fn firmware_file(
        &self,
        public_url: &str,
        tenant: &Tenant,
        device: &DeviceFacts,
        firmware: Option<Firmware>,
    ) -> Result<Option<Bytes>, RenderError> {
        let mut p = phone(public_url, tenant, device);
        p.firmware = firmware;
        self.0.firmware_file(&p)
    }

    /// The tenant's file for every phone of a model.
    pub fn model(&self, tenant: &Tenant, model: PhoneModel) -> Result<Bytes, RenderError> {
        self.0.common(&tenant_facts(tenant), model)
    }

    /// What the redirection service hands a phone of `vendor`.
    pub fn redirect(&self, vendor: Vendor, settings: &[SettingView]) -> Result<Bytes, RenderError> {
        self.0.redirect(vendor, settings)
    }
}

fn tenant_facts(t: &Tenant) -> TenantFacts<'_> {
    TenantFacts {
        id: t.id.as_str(),
        name: t.name.as_str(),
        sip_host: t.sip_host.as_str(),
        sip_port: t.sip_port,
        settings: &t.settings,
    }
}

fn phone<'a>(public_url: &'a str, tenant: &'a Tenant, d: &'a DeviceFacts) -> Phone<'a> {
    let (prov_user, prov_pass) = prov_credentials(tenant, d);
    Phone {
        public_url,
        tenant: tenant_facts(tenant),
        mac: d.mac,
        model: d.model,
        name: d.name(),
        revision: d.revision,
        lines: d
            .lines
            .iter()
            .map(|l| Line {
                idx: l.idx,
                extension: l.extension(),
                auth_user: l.auth_user(),
                sip_password: l.sip_password(),
                display_name: l.display_name(),
            })
            .collect(),
        settings: &d.settings,
        prov_user,
        prov_pass,
        firmware: None,
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
