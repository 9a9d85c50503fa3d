//! Firmware policies as the view keeps them: per (target, model) the stages
//! a phone walks (intermediates, then the target), resolved once per device
//! entry, and the step a phone is given from the version it reports.

use std::collections::HashMap;
use std::sync::Arc;

use touchless_domain::{FirmwareImage, FirmwareVersion, Mac, TenantId};
use touchless_phones::{Firmware, FirmwareStep, PairInPath, PhoneModel};
use touchless_store::{FirmwarePolicy, PolicyTarget};

/// One policy's stages, in the order a phone walks them.
#[derive(Debug, PartialEq, Eq)]
pub struct Plan {
    pub policy: i64,
    pub scope: touchless_domain::PolicyScope,
    pub versions: Vec<FirmwareVersion>,
    pub images: Vec<FirmwareImage>,
}

impl Plan {
    fn of(p: &FirmwarePolicy) -> Plan {
        Plan {
            policy: p.id,
            scope: p.applies_to.scope(),
            versions: p.stages().map(|s| s.version.clone()).collect(),
            images: p.stages().map(|s| s.image.clone()).collect(),
        }
    }

    /// The stage a phone reporting `reported` installs next; `None` once
    /// it runs the target.
    pub fn next(&self, reported: Option<&str>) -> Option<usize> {
        touchless_domain::next_stage(&self.versions, reported)
    }

    pub fn target(&self) -> &FirmwareVersion {
        self.versions.last().expect("a plan has its target")
    }

    /// What a file renders from for `stage`: the version and the image's
    /// URL (a file of ours is under `/firmware/`, with the phone's pair in
    /// the path where its vendor carries it there).
    pub fn firmware(
        &self,
        stage: Option<usize>,
        public_url: &str,
        model: PhoneModel,
        pair: (&str, &str),
    ) -> Firmware {
        let step = stage.map(|i| FirmwareStep {
            version: self.versions[i].as_str().to_owned(),
            url: match &self.images[i] {
                FirmwareImage::Url(u) => u.clone(),
                FirmwareImage::File(f) => {
                    let path = format!("/firmware/{f}");
                    let path = match model.vendor().pair_in_path(model) {
                        PairInPath::Always => touchless_phones::pair::insert(&path, pair.0, pair.1),
                        _ => path,
                    };
                    format!("{public_url}{path}")
                }
            },
        });
        Firmware { step }
    }
}

/// Every policy, by whom it applies to and the model.
#[derive(Default)]
pub struct Plans {
    installation: HashMap<PhoneModel, Arc<Plan>>,
    tenant: HashMap<(TenantId, PhoneModel), Arc<Plan>>,
    device: HashMap<(Mac, PhoneModel), Arc<Plan>>,
}

impl Plans {
    /// The plans of `policies`, reusing `old`'s where a policy is unchanged,
    /// so that only the devices whose plan changed get new entries.
    pub fn new(policies: &[FirmwarePolicy], old: &Plans) -> Plans {
        let mut out = Plans::default();
        for p in policies {
            let plan = Plan::of(p);
            let prev = old.exactly(&p.applies_to, p.model);
            let plan = match prev {
                Some(prev) if **prev == plan => Arc::clone(prev),
                _ => Arc::new(plan),
            };
            match &p.applies_to {
                PolicyTarget::Installation => {
                    out.installation.insert(p.model, plan);
                }
                PolicyTarget::Tenant(t) => {
                    out.tenant.insert((t.clone(), p.model), plan);
                }
                PolicyTarget::Device(m) => {
                    out.device.insert((*m, p.model), plan);
                }
            }
        }
        out
    }

    fn exactly(&self, to: &PolicyTarget, model: PhoneModel) -> Option<&Arc<Plan>> {
        match to {
            PolicyTarget::Installation => self.installation.get(&model),
            PolicyTarget::Tenant(t) => self.tenant.get(&(t.clone(), model)),
            PolicyTarget::Device(m) => self.device.get(&(*m, model)),
        }
    }

    /// The most specific plan for a device: its own, its tenant's, the
    /// installation's.
    pub fn resolve(&self, mac: Mac, tenant: &TenantId, model: PhoneModel) -> Option<Arc<Plan>> {
        self.device
            .get(&(mac, model))
            .or_else(|| self.tenant.get(&(tenant.clone(), model)))
            .or_else(|| self.installation.get(&model))
            .cloned()
    }

    pub fn is_empty(&self) -> bool {
        self.installation.is_empty() && self.tenant.is_empty() && self.device.is_empty()
    }
}

/// Whether two entries' plans are the same (both none, or one plan).
pub fn same(a: &Option<Arc<Plan>>, b: &Option<Arc<Plan>>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(x), Some(y)) => Arc::ptr_eq(x, y),
        _ => false,
    }
}
