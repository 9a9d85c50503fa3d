//! The provisioning server's in-memory view of the registry, and its render cache.
//!
//! Phones are served from here, never from the database: a request is a hash
//! lookup, a credential check against precomputed HA1 values and, after the first
//! request of a revision, a cached body. The view is built once from a store
//! snapshot; after that, when the store's generation moves (a change hint, the
//! poll every `reload_interval_ms`, or at once after a write through this
//! node's admin API), only what changed since the view's generation is read
//! and applied to a copy of the view, which then replaces it: requests never
//! wait for a reload. Entries whose device and tenant revisions are unchanged
//! are carried over with their rendered bodies.

use std::collections::HashMap;

use foldhash::HashMap as FastMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use touchless_domain::{Mac, PhoneModel, ProvScope, ProvUser};
use touchless_store::{Device, Store, StoreError, Tenant};

use crate::auth::Credentials;
use crate::render::{RenderError, Renderer};
use crate::sharded::Sharded;

pub struct TenantEntry {
    pub tenant: Tenant,
    pub creds: Credentials,
    models: Mutex<HashMap<PhoneModel, Bytes>>,
}

pub struct DeviceEntry {
    pub device: Device,
    pub tenant: Arc<TenantEntry>,
    ztprov_creds: Credentials,
    /// Staged by a pending registration; accepted beside the current ones.
    ztprov_next_creds: Option<Credentials>,
    /// The device's own `/prov` credentials (used when its tenant's scope is
    /// `device`).
    prov_creds: Credentials,
    /// First successful use of the current / staged ztprov credentials seen by
    /// this node (ms since the epoch, 0: none). The database learns it through
    /// [`Directory::ztprov_used`]; until the view reloads, this enforces the
    /// grace on this node at once.
    used_here: AtomicI64,
    next_used_here: AtomicI64,
    prov: OnceLock<Bytes>,
    ztprov: OnceLock<Bytes>,
}

/// Which ztprov credentials a request was checked against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ZtprovSlot {
    Current,
    Next,
}

impl DeviceEntry {
    /// The ztprov credentials `user` names, if they are still accepted: within
    /// their window, and not past the grace after their first use. `None` means
    /// "check against a decoy": the answer must not depend on which rule failed.
    pub fn ztprov_expected(
        &self,
        user: &str,
        now: DateTime<Utc>,
        grace: chrono::Duration,
    ) -> Option<ZtprovSlot> {
        let open =
            |expires: Option<DateTime<Utc>>, used: Option<DateTime<Utc>>, here: &AtomicI64| {
                let here = match here.load(Ordering::Relaxed) {
                    0 => None,
                    ms => DateTime::from_timestamp_millis(ms),
                };
                let first = match (used, here) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                expires.is_some_and(|e| now < e) && first.is_none_or(|f| now < f + grace)
            };
        match (&self.ztprov_next_creds, &self.device.ztprov_next) {
            (Some(c), Some(n)) if c.user == user => {
                open(Some(n.expires_at), n.used_at, &self.next_used_here)
                    .then_some(ZtprovSlot::Next)
            }
            _ => open(
                self.device.ztprov_expires_at,
                self.device.ztprov_used_at,
                &self.used_here,
            )
            .then_some(ZtprovSlot::Current),
        }
    }

    pub fn ztprov_creds(&self, slot: ZtprovSlot) -> &Credentials {
        match (slot, &self.ztprov_next_creds) {
            (ZtprovSlot::Next, Some(c)) => c,
            _ => &self.ztprov_creds,
        }
    }

    /// Notes a successful `/ztprov` fetch; `true` if it is the first this node
    /// has seen for those credentials (and the database must be told).
    fn first_use(&self, slot: ZtprovSlot, now: DateTime<Utc>) -> bool {
        let (cell, recorded) = match slot {
            ZtprovSlot::Current => (&self.used_here, self.device.ztprov_used_at.is_some()),
            ZtprovSlot::Next => (
                &self.next_used_here,
                self.device
                    .ztprov_next
                    .as_ref()
                    .is_some_and(|n| n.used_at.is_some()),
            ),
        };
        !recorded
            && cell
                .compare_exchange(
                    0,
                    now.timestamp_millis().max(1),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok()
    }

    /// This device under a changed tenant: its credentials (and their HA1
    /// values) and first uses carry over; its bodies render again.
    fn repointed(&self, tenant: Arc<TenantEntry>) -> DeviceEntry {
        DeviceEntry {
            device: self.device.clone(),
            tenant,
            ztprov_creds: self.ztprov_creds.clone(),
            ztprov_next_creds: self.ztprov_next_creds.clone(),
            prov_creds: self.prov_creds.clone(),
            used_here: AtomicI64::new(self.used_here.load(Ordering::Relaxed)),
            next_used_here: AtomicI64::new(self.next_used_here.load(Ordering::Relaxed)),
            prov: OnceLock::new(),
            ztprov: OnceLock::new(),
        }
    }

    /// What opens this device's `/prov` files.
    pub fn prov_expected(&self) -> &Credentials {
        match self.tenant.tenant.prov_scope {
            ProvScope::Device => &self.prov_creds,
            ProvScope::Tenant => &self.tenant.creds,
        }
    }
}

/// What a `/prov` model-wide file request authenticates against, found by user.
pub enum ModelAuth {
    Tenant(Arc<TenantEntry>),
    Device(Arc<DeviceEntry>),
}

#[derive(Clone, Default)]
struct View {
    generation: i64,
    // foldhash: randomly seeded (no HashDoS from chosen MACs), much cheaper
    // than SipHash for a 6-byte key on every request.
    devices: Sharded<Mac, Arc<DeviceEntry>>,
    /// Tenants that share one pair of `/prov` credentials, by that user.
    tenants_by_user: FastMap<String, Arc<TenantEntry>>,
    /// Devices with their own `/prov` credentials, by that user.
    devices_by_prov_user: Sharded<String, Arc<DeviceEntry>>,
    /// Every tenant, for carrying entries over a reload.
    tenants: HashMap<String, Arc<TenantEntry>>,
}

pub struct Directory {
    view: RwLock<Arc<View>>,
    /// Serialises reloads so two triggers do not build the same view twice.
    reload: tokio::sync::Mutex<()>,
    store: Arc<dyn Store>,
    renderer: Arc<Renderer>,
    realm: String,
    public_url: String,
    /// First uses of ztprov credentials not yet written to the database.
    uses: Mutex<Vec<(Mac, ProvUser, DateTime<Utc>)>>,
    /// Files rendered since start: a cache that works keeps this at one per
    /// file and revision.
    renders: std::sync::atomic::AtomicU64,
    /// Tenant and device rows read by reloads since start: an edit of one
    /// device among many reads one row.
    rows_read: std::sync::atomic::AtomicU64,
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
            uses: Mutex::new(Vec::new()),
            renders: std::sync::atomic::AtomicU64::new(0),
            rows_read: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// The store's hints that the generation may have moved (see
    /// [`touchless_store::RegistryStore::change_hints`]).
    pub(crate) async fn change_hints(&self) -> Option<tokio::sync::mpsc::Receiver<()>> {
        self.store.change_hints().await
    }

    /// Tenant and device rows read by reloads since start.
    pub fn rows_read(&self) -> u64 {
        self.rows_read.load(Ordering::Relaxed)
    }

    fn read(&self, rows: usize) {
        self.rows_read.fetch_add(rows as u64, Ordering::Relaxed);
    }

    /// How many files have been rendered since start.
    pub fn renders(&self) -> u64 {
        self.renders.load(Ordering::Relaxed)
    }

    fn rendering(&self) {
        self.renders.fetch_add(1, Ordering::Relaxed);
    }

    /// Notes a successful `/ztprov` fetch. The first one per credentials on
    /// this node starts their grace here at once and is queued for the
    /// database (so this queue is bounded by the registry).
    pub fn ztprov_used(&self, e: &DeviceEntry, slot: ZtprovSlot, at: DateTime<Utc>) {
        if !e.first_use(slot, at) {
            return;
        }
        let user = match slot {
            ZtprovSlot::Current => e.device.ztprov_user.clone(),
            ZtprovSlot::Next => match &e.device.ztprov_next {
                Some(n) => n.user.clone(),
                None => return,
            },
        };
        self.uses
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((e.device.mac, user, at));
    }

    /// Writes the queued first uses (one transaction); the write's change hint
    /// (or the poll) brings them back into the view.
    pub async fn flush_ztprov_uses(&self) {
        let batch = std::mem::take(&mut *self.uses.lock().unwrap_or_else(|p| p.into_inner()));
        if batch.is_empty() {
            return;
        }
        if let Err(e) = self.store.mark_ztprov_used(&batch).await {
            tracing::error!(error = %e, count = batch.len(), "recording first uses of ztprov credentials failed; retrying");
            // Keep them: losing one would let those credentials outlive their
            // grace on the other nodes.
            self.uses
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .extend(batch);
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

    /// Who a model-wide `/prov` file request with this user may be: a device
    /// with its own credentials, or a tenant that shares one pair.
    pub fn model_auth(&self, user: &str) -> Option<ModelAuth> {
        let v = self.current();
        if let Some(d) = v.devices_by_prov_user.get(user) {
            return Some(ModelAuth::Device(Arc::clone(d)));
        }
        v.tenants_by_user
            .get(user)
            .map(|t| ModelAuth::Tenant(Arc::clone(t)))
    }

    pub fn len(&self) -> usize {
        self.current().devices.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Brings the view up to the store's generation, if it moved: the first
    /// time from a snapshot, then from the changes since. `true` if it did.
    pub async fn refresh(&self) -> Result<bool, StoreError> {
        let _guard = self.reload.lock().await;
        let old = self.current();
        if self.store.generation().await? == old.generation {
            return Ok(false);
        }
        let view = if old.generation < 0 {
            let snap = self.store.snapshot().await?;
            self.read(snap.tenants.len() + snap.devices.len());
            self.build(&old, snap.generation, snap.tenants, snap.devices)
        } else {
            let c = self.store.changes_since(old.generation).await?;
            self.read(c.tenants.len() + c.devices.len());
            if c.stale {
                // This node fell behind further than tombstones are kept.
                tracing::warn!(
                    generation = old.generation,
                    "the view is too old to update; reading it whole"
                );
                let snap = self.store.snapshot().await?;
                self.read(snap.tenants.len() + snap.devices.len());
                self.build(&old, snap.generation, snap.tenants, snap.devices)
            } else {
                self.apply(&old, c)
            }
        };
        *self.view.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(view);
        Ok(true)
    }

    /// A whole view, carrying over `old`'s entries whose revisions match.
    fn build(&self, old: &View, generation: i64, ts: Vec<Tenant>, ds: Vec<Device>) -> View {
        let mut v = View {
            generation,
            ..View::default()
        };
        for t in ts {
            let entry = self.tenant_entry(old, t);
            v.put_tenant(entry);
        }
        for d in ds {
            let Some(tenant) = v.tenants.get(d.tenant.as_str()).cloned() else {
                continue;
            };
            let entry = self.carried_or_new(old, d, tenant);
            v.put_device(entry);
        }
        v
    }

    /// `old` with the changes applied: deletions first (a key may have been
    /// deleted and created again), then changed tenants (whose devices get
    /// new entries pointing at them; their bodies render again on demand),
    /// then changed devices.
    fn apply(&self, old: &View, c: touchless_store::Changes) -> View {
        let mut v = old.clone();
        v.generation = c.generation;
        for mac in &c.gone_devices {
            v.remove_device(mac);
        }
        for id in &c.gone_tenants {
            if let Some(t) = v.tenants.remove(id.as_str()) {
                v.tenants_by_user.remove(t.tenant.prov_user.as_str());
            }
        }
        for t in c.tenants {
            let entry = self.tenant_entry(old, t);
            if let Some(prev) = v.tenants.get(entry.tenant.id.as_str()).cloned() {
                if Arc::ptr_eq(&prev, &entry) {
                    continue;
                }
                v.tenants_by_user.remove(prev.tenant.prov_user.as_str());
                let moved: Vec<Arc<DeviceEntry>> = v
                    .devices
                    .values()
                    .filter(|d| Arc::ptr_eq(&d.tenant, &prev))
                    .cloned()
                    .collect();
                for d in moved {
                    v.remove_device(&d.device.mac);
                    v.put_device(Arc::new(d.repointed(Arc::clone(&entry))));
                }
            }
            v.put_tenant(entry);
        }
        for d in c.devices {
            v.remove_device(&d.mac);
            let Some(tenant) = v.tenants.get(d.tenant.as_str()).cloned() else {
                continue;
            };
            let entry = self.carried_or_new(old, d, tenant);
            v.put_device(entry);
        }
        v
    }

    fn tenant_entry(&self, old: &View, t: Tenant) -> Arc<TenantEntry> {
        match old.tenants.get(t.id.as_str()) {
            Some(e) if e.tenant.revision == t.revision => Arc::clone(e),
            _ => Arc::new(TenantEntry {
                creds: Credentials::new(t.prov_user.as_str(), t.prov_pass.as_str(), &self.realm),
                tenant: t,
                models: Mutex::new(HashMap::new()),
            }),
        }
    }

    fn carried_or_new(&self, old: &View, d: Device, tenant: Arc<TenantEntry>) -> Arc<DeviceEntry> {
        match old.devices.get(&d.mac) {
            Some(e) if e.device.revision == d.revision && Arc::ptr_eq(&e.tenant, &tenant) => {
                Arc::clone(e)
            }
            _ => Arc::new(self.device_entry(d, tenant)),
        }
    }

    fn device_entry(&self, d: Device, tenant: Arc<TenantEntry>) -> DeviceEntry {
        DeviceEntry {
            ztprov_creds: Credentials::new(
                d.ztprov_user.as_str(),
                d.ztprov_pass.as_str(),
                &self.realm,
            ),
            ztprov_next_creds: d
                .ztprov_next
                .as_ref()
                .map(|n| Credentials::new(n.user.as_str(), n.pass.as_str(), &self.realm)),
            prov_creds: Credentials::new(d.prov_user.as_str(), d.prov_pass.as_str(), &self.realm),
            used_here: AtomicI64::new(0),
            next_used_here: AtomicI64::new(0),
            tenant,
            device: d,
            prov: OnceLock::new(),
            ztprov: OnceLock::new(),
        }
    }

    /// The device's `/prov` file, rendered once per revision.
    pub fn prov_body(&self, e: &DeviceEntry) -> Result<Bytes, RenderError> {
        cached(&e.prov, || {
            self.rendering();
            self.renderer
                .device(&self.public_url, &e.tenant.tenant, &e.device)
        })
    }

    pub fn ztprov_body(&self, e: &DeviceEntry) -> Result<Bytes, RenderError> {
        cached(&e.ztprov, || {
            self.rendering();
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
        self.rendering();
        let body = self.renderer.model(&self.public_url, &t.tenant, model)?;
        t.models
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(model, body.clone());
        Ok(body)
    }
}

impl View {
    fn put_tenant(&mut self, entry: Arc<TenantEntry>) {
        if entry.tenant.prov_scope == ProvScope::Tenant {
            self.tenants_by_user.insert(
                entry.tenant.prov_user.as_str().to_owned(),
                Arc::clone(&entry),
            );
        }
        self.tenants
            .insert(entry.tenant.id.as_str().to_owned(), entry);
    }

    fn put_device(&mut self, entry: Arc<DeviceEntry>) {
        if entry.tenant.tenant.prov_scope == ProvScope::Device {
            self.devices_by_prov_user.insert(
                entry.device.prov_user.as_str().to_owned(),
                Arc::clone(&entry),
            );
        }
        self.devices.insert(entry.device.mac, entry);
    }

    fn remove_device(&mut self, mac: &Mac) {
        if let Some(d) = self.devices.remove(mac) {
            let user = d.device.prov_user.as_str();
            if self
                .devices_by_prov_user
                .get(user)
                .is_some_and(|e| Arc::ptr_eq(e, &d))
            {
                self.devices_by_prov_user.remove(user);
            }
        }
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
