//! The provisioning server's in-memory view of the registry, and its render cache.
//!
//! Phones are served from here, never from the database: a request is a hash
//! lookup, a credential check against precomputed HA1 values and, after the first
//! request of a revision, a cached body. The view is rebuilt from a store
//! snapshot when the store's generation moves (polled every
//! `reload_interval_ms`, or at once after a write through this node's admin API).
//! Entries whose device and tenant revisions are unchanged are carried over with
//! their rendered bodies, so a reload does not throw the cache away.

use std::collections::HashMap;

use foldhash::HashMap as FastMap;
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use bytes::Bytes;
use touchless_domain::{Mac, PhoneModel};
use touchless_store::{Device, Store, StoreError, Tenant};

use crate::auth::Credentials;
use crate::render::{RenderError, Renderer};

pub struct TenantEntry {
    pub tenant: Tenant,
    pub creds: Credentials,
    models: Mutex<HashMap<PhoneModel, Bytes>>,
}

pub struct DeviceEntry {
    pub device: Device,
    pub tenant: Arc<TenantEntry>,
    pub ztprov_creds: Credentials,
    prov: OnceLock<Bytes>,
    ztprov: OnceLock<Bytes>,
}

#[derive(Default)]
struct View {
    generation: i64,
    // foldhash: randomly seeded (no HashDoS from chosen MACs), much cheaper
    // than SipHash for a 6-byte key on every request.
    devices: FastMap<Mac, Arc<DeviceEntry>>,
    tenants_by_user: FastMap<String, Arc<TenantEntry>>,
}

pub struct Directory {
    view: RwLock<Arc<View>>,
    /// Serialises reloads so two triggers do not build the same view twice.
    reload: tokio::sync::Mutex<()>,
    store: Arc<dyn Store>,
    renderer: Arc<Renderer>,
    realm: String,
    public_url: String,
}

impl Directory {
    pub fn new(
        store: Arc<dyn Store>,
        renderer: Arc<Renderer>,
        realm: &str,
        public_url: &str,
    ) -> Self {
        Directory {
            view: RwLock::new(Arc::new(View {
                generation: -1,
                ..View::default()
            })),
            reload: tokio::sync::Mutex::new(()),
            store,
            renderer,
            realm: realm.to_owned(),
            public_url: public_url.to_owned(),
        }
    }

    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    fn current(&self) -> Arc<View> {
        self.view.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn device(&self, mac: Mac) -> Option<Arc<DeviceEntry>> {
        self.current().devices.get(&mac).cloned()
    }

    pub fn tenant_by_user(&self, user: &str) -> Option<Arc<TenantEntry>> {
        self.current().tenants_by_user.get(user).cloned()
    }

    pub fn len(&self) -> usize {
        self.current().devices.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Reloads if the store changed since the view was built.
    pub async fn refresh(&self) -> Result<bool, StoreError> {
        let _guard = self.reload.lock().await;
        let old = self.current();
        if self.store.generation().await? == old.generation {
            return Ok(false);
        }
        let snap = self.store.snapshot().await?;
        let mut tenants: HashMap<String, Arc<TenantEntry>> = HashMap::new();
        let mut by_user = FastMap::default();
        let old_tenants: HashMap<&str, &Arc<TenantEntry>> = old
            .tenants_by_user
            .values()
            .map(|t| (t.tenant.id.as_str(), t))
            .collect();
        for t in snap.tenants {
            let entry = match old_tenants.get(t.id.as_str()) {
                Some(e) if e.tenant.revision == t.revision => Arc::clone(e),
                _ => Arc::new(TenantEntry {
                    creds: Credentials::new(
                        t.prov_user.as_str(),
                        t.prov_pass.as_str(),
                        &self.realm,
                    ),
                    tenant: t,
                    models: Mutex::new(HashMap::new()),
                }),
            };
            by_user.insert(
                entry.tenant.prov_user.as_str().to_owned(),
                Arc::clone(&entry),
            );
            tenants.insert(entry.tenant.id.as_str().to_owned(), entry);
        }
        let mut devices = FastMap::with_capacity_and_hasher(snap.devices.len(), Default::default());
        for d in snap.devices {
            let Some(tenant) = tenants.get(d.tenant.as_str()) else {
                continue;
            };
            let entry = match old.devices.get(&d.mac) {
                Some(e) if e.device.revision == d.revision && Arc::ptr_eq(&e.tenant, tenant) => {
                    Arc::clone(e)
                }
                _ => Arc::new(DeviceEntry {
                    ztprov_creds: Credentials::new(
                        d.ztprov_user.as_str(),
                        d.ztprov_pass.as_str(),
                        &self.realm,
                    ),
                    tenant: Arc::clone(tenant),
                    device: d,
                    prov: OnceLock::new(),
                    ztprov: OnceLock::new(),
                }),
            };
            devices.insert(entry.device.mac, entry);
        }
        let view = Arc::new(View {
            generation: snap.generation,
            devices,
            tenants_by_user: by_user,
        });
        *self.view.write().unwrap_or_else(|e| e.into_inner()) = view;
        Ok(true)
    }

    /// The device's `/prov` file, rendered once per revision.
    pub fn prov_body(&self, e: &DeviceEntry) -> Result<Bytes, RenderError> {
        cached(&e.prov, || {
            self.renderer
                .device(&self.public_url, &e.tenant.tenant, &e.device)
        })
    }

    pub fn ztprov_body(&self, e: &DeviceEntry) -> Result<Bytes, RenderError> {
        cached(&e.ztprov, || {
            self.renderer
                .ztprov(&self.public_url, &e.tenant.tenant, &e.device)
        })
    }

    pub fn model_body(&self, t: &TenantEntry, model: PhoneModel) -> Result<Bytes, RenderError> {
        if let Some(b) = t
            .models
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&model)
        {
            return Ok(b.clone());
        }
        let body = self.renderer.model(&self.public_url, &t.tenant, model)?;
        t.models
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(model, body.clone());
        Ok(body)
    }
}

/// `OnceLock::get_or_try_init` is unstable; two racing first requests may both
/// render, which is harmless.
fn cached(
    cell: &OnceLock<Bytes>,
    f: impl FnOnce() -> Result<Bytes, RenderError>,
) -> Result<Bytes, RenderError> {
    if let Some(b) = cell.get() {
        return Ok(b.clone());
    }
    let b = f()?;
    Ok(cell.get_or_init(|| b).clone())
}

/// Keeps the view fresh until `shutdown` fires.
pub async fn run_reloader(
    dir: Arc<Directory>,
    interval: std::time::Duration,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut hints = dir.store.change_hints().await;
    loop {
        let hint = async {
            match hints.as_mut() {
                Some(h) => h.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            h = hint => {
                if h.is_none() {
                    hints = None;
                }
                if let Err(e) = dir.refresh().await {
                    tracing::error!(error = %e, "reloading the provisioning view failed; serving the previous one");
                }
            }
            _ = tick.tick() => {
                match dir.refresh().await {
                    Ok(true) => tracing::debug!(devices = dir.len(), "provisioning view reloaded"),
                    Ok(false) => {}
                    Err(e) => tracing::error!(error = %e, "reloading the provisioning view failed; serving the previous one"),
                }
            }
            _ = shutdown.changed() => return,
        }
    }
}
