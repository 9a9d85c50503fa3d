//! The provisioning server's in-memory view of the registry, and its render cache.
//!
//! Phones are served from here, never from the database: a request is a hash
//! lookup, a credential check against precomputed HA1 values and, after the first
//! request of a revision, a cached body. The view is built once from a store
//! snapshot; after that, when the store's generation moves (a change hint, the
//! poll every `reload_interval_ms`, or at once after a write through this
//! node's admin API), only what changed since the view's generation is read and
//! applied to a copy of the view, which then replaces it: requests never wait for
//! a reload. Entries whose device and tenant revisions are unchanged are carried
//! over with their rendered bodies. Queueing through this node is applied unread.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use touchless_domain::{Mac, ProvScope, ProvUser};
use touchless_phones::PhoneModel;
use touchless_store::{Device, Store, StoreError, Tenant};

use crate::auth::{Credentials, Ha1};
use crate::bodies::{Bodies, BodyKey};
use crate::firmware::{Plan, Plans};
use crate::render::{DeviceFacts, RenderError, Renderer};
use touchless_runtime::{metrics::ViewMetrics, tasks::cpu_bound};

mod entry;
pub mod staged;
mod view;
use entry::Ztprov;
pub use entry::{DeviceEntry, TenantEntry, ZtprovSlot};
use view::View;

/// What a `/prov` model-wide file request authenticates against, found by user.
pub enum ModelAuth {
    Tenant(Arc<TenantEntry>),
    Device(Arc<DeviceEntry>),
}

pub struct Directory {
    view: RwLock<Arc<View>>,
    /// Serialises reloads so two triggers do not build the same view twice.
    reload: tokio::sync::Mutex<()>,
    store: Arc<dyn Store>,
    renderer: Arc<Renderer>,
    bodies: Bodies,
    realm: String,
    public_url: String,
    /// First uses of ztprov credentials not yet written to the database.
    uses: Mutex<Vec<(Mac, ProvUser, DateTime<Utc>)>>,
    /// The next entry's stamp.
    stamps: AtomicU64,
    /// Files rendered since start: a cache that works keeps this at one per
    /// file and revision.
    renders: AtomicU64,
    /// Tenant and device rows read by reloads since start: an edit of one
    /// device among many reads one row.
    rows_read: AtomicU64,
    metrics: ViewMetrics,
    /// When the view was last found up to date with the store (Unix ms; 0:
    /// never), for `/readyz`.
    checked_at: AtomicI64,
}

/// Devices a snapshot hands over at a time: the rows of a page are turned
/// into entries before the next page is read, so a start never holds all
/// registry rows at once.
pub const SNAPSHOT_PAGE: usize = 2_000;
/// Past this many changed devices a reload reads the view whole, a page at a
/// time, carrying over the entries that did not change: the changes are read
/// in one piece, and 100,000 of them (`register --all`, removing a tenant's
/// devices) held ~450 MB at once.
pub const CHANGES_AT_ONCE: usize = 5 * SNAPSHOT_PAGE;

impl Directory {
    /// `cache_bytes` bounds the render cache.
    pub fn new(
        store: Arc<dyn Store>,
        renderer: Arc<Renderer>,
        realm: &str,
        public_url: &str,
        cache_bytes: usize,
        metrics: ViewMetrics,
    ) -> Self {
        Directory {
            view: RwLock::new(Arc::new(View {
                generation: -1,
                ..View::default()
            })),
            reload: tokio::sync::Mutex::new(()),
            store,
            renderer,
            bodies: Bodies::new(cache_bytes),
            realm: realm.to_owned(),
            public_url: public_url.to_owned(),
            uses: Mutex::new(Vec::new()),
            stamps: AtomicU64::new(1),
            renders: AtomicU64::new(0),
            rows_read: AtomicU64::new(0),
            metrics,
            checked_at: AtomicI64::new(0),
        }
    }

    /// The store's hints that the generation may have moved (see
    /// [`touchless_store::RegistryStore::change_hints`]).
    pub async fn change_hints(&self) -> Option<tokio::sync::mpsc::Receiver<()>> {
        self.store.change_hints().await
    }

    /// How long ago the view was last found up to date with the store;
    /// `None` before it was first loaded.
    pub fn staleness(&self) -> Option<std::time::Duration> {
        let at = self.checked_at.load(Ordering::Relaxed);
        (at > 0).then(|| {
            let ms = (Utc::now().timestamp_millis() - at).max(0);
            std::time::Duration::from_millis(ms as u64)
        })
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

    /// The render cache's size and counters.
    pub fn cache_stats(&self) -> touchless_api::status::RenderCache {
        self.bodies.stats()
    }

    fn stamp(&self) -> u64 {
        self.stamps.fetch_add(1, Ordering::Relaxed)
    }

    /// Notes a successful `/ztprov` fetch. The first one per credentials on
    /// this node starts their grace here at once and is queued for the
    /// database (so this queue is bounded by the registry).
    pub fn ztprov_used(&self, e: &DeviceEntry, slot: ZtprovSlot, at: DateTime<Utc>) {
        let Some(user) = e.first_use(slot, at) else {
            return;
        };
        self.uses
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((e.facts.mac, user.clone(), at));
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

    /// Under the read lock, without a clone of the view: every phone's
    /// request asks this once, and the clone's two atomic writes showed.
    pub fn device(&self, mac: Mac) -> Option<Arc<DeviceEntry>> {
        let view = self.view.read().unwrap_or_else(|e| e.into_inner());
        view.devices.get(&mac).cloned()
    }

    /// Who a model-wide `/prov` file request with this user may be: a device
    /// with its own credentials, or a tenant that shares one pair.
    pub fn model_auth(&self, user: &str) -> Option<ModelAuth> {
        let v = self.current();
        if let Some((d, ())) = v.devices_by_prov_user.get_key_value(user) {
            return Some(ModelAuth::Device(Arc::clone(&d.0)));
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
        let checked = Utc::now().timestamp_millis();
        if self.store.generation().await? == old.generation {
            self.checked_at.store(checked, Ordering::Relaxed);
            return Ok(false);
        }
        let started = std::time::Instant::now();
        let view = if old.generation < 0 {
            self.build(&old).await?
        } else {
            let c = self
                .store
                .changes_since_at_most(old.generation, CHANGES_AT_ONCE)
                .await?;
            self.read(c.tenants.len() + c.devices.len());
            if c.stale || c.too_many {
                // Stale: this node fell behind further than tombstones are
                // kept. Too many: a snapshot's pages hold less at once.
                if c.stale {
                    tracing::warn!(
                        generation = old.generation,
                        "the view is too old to update; reading it whole"
                    );
                }
                self.build(&old).await?
            } else {
                cpu_bound(|| self.apply(&old, c))
            }
        };
        self.install(old, view, started, checked);
        Ok(true)
    }

    /// Swaps in `view`, made from `old` since `started`, the store found at
    /// its generation at `checked` (Unix ms). Dropping the last copy of many
    /// replaced entries is long work too, so it runs off the worker.
    fn install(&self, old: Arc<View>, view: View, started: std::time::Instant, checked: i64) {
        *self.view.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(view);
        self.metrics.reloaded(started.elapsed());
        self.checked_at.store(checked, Ordering::Relaxed);
        cpu_bound(move || drop(old));
    }

    /// A whole view from a paged snapshot, carrying over `old`'s entries
    /// whose revisions match.
    async fn build(&self, old: &View) -> Result<View, StoreError> {
        let mut v = View::default();
        let mut sink = |part: touchless_store::SnapshotPart| match part {
            touchless_store::SnapshotPart::Firmware(ps) => {
                self.read(ps.len());
                v.plans = Arc::new(Plans::new(&ps, &old.plans));
            }
            touchless_store::SnapshotPart::Tenants(ts) => {
                self.read(ts.len());
                for t in ts {
                    let entry = self.tenant_entry(old, t);
                    v.put_tenant(entry);
                }
            }
            touchless_store::SnapshotPart::Devices(ds) => {
                self.read(ds.len());
                for d in ds {
                    let Some(tenant) = v.tenants.get(d.tenant.as_str()).cloned() else {
                        continue;
                    };
                    let entry = self.carried_or_new(old, d, tenant, &v.plans);
                    v.put_device(entry);
                }
            }
        };
        let generation = self.store.snapshot_pages(SNAPSHOT_PAGE, &mut sink).await?;
        v.generation = generation;
        Ok(v)
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
        if let Some(policies) = &c.firmware {
            // The table is small; the devices are many: only those whose
            // plan changed get new entries (and render again).
            self.read(policies.len());
            v.plans = Arc::new(Plans::new(policies, &old.plans));
            let changed: Vec<_> = v
                .devices
                .values()
                .filter_map(|d| {
                    let f = &d.facts;
                    let plan = v.plans.resolve(f.mac, &d.tenant.tenant.id, f.model);
                    if crate::firmware::same(&d.firmware, &plan) {
                        return None;
                    }
                    let mut e = self.repointed(d, Arc::clone(&d.tenant));
                    e.firmware = plan;
                    Some((Arc::clone(d), Arc::new(e)))
                })
                .collect();
            v.replace_devices(changed);
        }
        for t in c.tenants {
            let entry = self.tenant_entry(old, t);
            if let Some(prev) = v.tenants.get(entry.tenant.id.as_str()).cloned() {
                if Arc::ptr_eq(&prev, &entry) {
                    continue;
                }
                v.tenants_by_user.remove(prev.tenant.prov_user.as_str());
                let moved: Vec<_> = v
                    .devices
                    .values()
                    .filter(|d| Arc::ptr_eq(&d.tenant, &prev))
                    .map(|d| {
                        let e = self.repointed(d, Arc::clone(&entry));
                        (Arc::clone(d), Arc::new(e))
                    })
                    .collect();
                // All at once: one at a time, 100,000 devices copied a
                // shard each.
                v.replace_devices(moved);
            }
            v.put_tenant(entry);
        }
        for d in c.devices {
            v.remove_device(&d.mac);
            let Some(tenant) = v.tenants.get(d.tenant.as_str()).cloned() else {
                continue;
            };
            let entry = self.carried_or_new(old, d, tenant, &v.plans);
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
                stamp: self.stamp(),
            }),
        }
    }

    fn carried_or_new(
        &self,
        old: &View,
        d: Device,
        tenant: Arc<TenantEntry>,
        plans: &Plans,
    ) -> Arc<DeviceEntry> {
        let plan = plans.resolve(d.mac, &d.tenant, d.model);
        match old.devices.get(&d.mac) {
            Some(e)
                if e.facts.revision == d.revision
                    && Arc::ptr_eq(&e.tenant, &tenant)
                    && crate::firmware::same(&e.firmware, &plan) =>
            {
                Arc::clone(e)
            }
            _ => Arc::new(self.device_entry(d, tenant, plan)),
        }
    }

    /// The device's own `/prov` HA1 values, if its tenant's scope uses them.
    fn prov_ha1(&self, f: &DeviceFacts, tenant: &TenantEntry) -> Option<Ha1> {
        (tenant.tenant.prov_scope == ProvScope::Device)
            .then(|| Ha1::new(f.prov_user(), f.prov_pass(), &self.realm))
    }

    fn device_entry(
        &self,
        d: Device,
        tenant: Arc<TenantEntry>,
        firmware: Option<Arc<Plan>>,
    ) -> DeviceEntry {
        let realm = &self.realm;
        let ztprov = Ztprov::of(
            &d.ztprov_user,
            d.ztprov_pass.as_str(),
            d.ztprov_expires_at,
            d.ztprov_used_at,
            realm,
        )
        .map(Box::new);
        let ztprov_next = d.ztprov_next.as_ref().and_then(|n| {
            Ztprov::of(
                &n.user,
                n.pass.as_str(),
                Some(n.expires_at),
                n.used_at,
                realm,
            )
            .map(Box::new)
        });
        let facts = DeviceFacts::from(d);
        DeviceEntry {
            prov_ha1: self.prov_ha1(&facts, &tenant),
            facts,
            tenant,
            firmware,
            ztprov,
            ztprov_next,
            used_here: AtomicI64::new(0),
            next_used_here: AtomicI64::new(0),
            stamp: self.stamp(),
        }
    }

    /// `d` under a changed tenant: its ztprov credentials (and their HA1
    /// values) and first uses carry over; its bodies render again.
    fn repointed(&self, d: &DeviceEntry, tenant: Arc<TenantEntry>) -> DeviceEntry {
        let same_scope = d.tenant.tenant.prov_scope == tenant.tenant.prov_scope;
        DeviceEntry {
            facts: d.facts.clone(),
            prov_ha1: if same_scope {
                d.prov_ha1.clone()
            } else {
                self.prov_ha1(&d.facts, &tenant)
            },
            tenant,
            firmware: d.firmware.clone(),
            ztprov: d.ztprov.clone(),
            ztprov_next: d.ztprov_next.clone(),
            used_here: AtomicI64::new(d.used_here.load(Ordering::Relaxed)),
            next_used_here: AtomicI64::new(d.next_used_here.load(Ordering::Relaxed)),
            stamp: self.stamp(),
        }
    }

    /// A cached body, or a fresh render that is then cached.
    fn body(
        &self,
        key: BodyKey,
        stamp: u64,
        render: impl FnOnce() -> Result<Bytes, RenderError>,
    ) -> Result<Bytes, RenderError> {
        if let Some(b) = self.bodies.get(&key, stamp) {
            return Ok(b);
        }
        self.renders.fetch_add(1, Ordering::Relaxed);
        let b = render()?;
        self.bodies.put(key, stamp, b.clone());
        Ok(b)
    }

    /// The firmware policies the view serves from.
    pub fn plans(&self) -> Arc<Plans> {
        Arc::clone(&self.current().plans)
    }

    /// A vendor's public file by name, if it is one.
    pub fn public_file(&self, name: &str) -> Option<(Bytes, &'static str)> {
        self.renderer.public(name)
    }

    /// The store, for what phones send (uploads) off the hot path.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The device's `/prov` file, for a phone that reports firmware
    /// `reported` (asked only when a policy applies).
    pub fn prov_body(
        &self,
        e: &DeviceEntry,
        reported: impl FnOnce() -> Option<String>,
    ) -> Result<Bytes, RenderError> {
        let stage = e
            .firmware
            .as_ref()
            .and_then(|p| p.next(reported().as_deref()));
        self.body(BodyKey::Prov(e.facts.mac, code(stage)), e.stamp, || {
            let fw = self.firmware_of(e, stage);
            self.renderer
                .device(&self.public_url, &e.tenant.tenant, &e.facts, fw)
        })
    }

    /// The device's firmware file, where its vendor has one (see
    /// `PhoneVendor::render_firmware_file`); `None`: nothing to serve.
    pub fn firmware_body(
        &self,
        e: &DeviceEntry,
        reported: impl FnOnce() -> Option<String>,
    ) -> Result<Option<Bytes>, RenderError> {
        let Some(plan) = &e.firmware else {
            return Ok(None);
        };
        let stage = plan.next(reported().as_deref());
        let key = BodyKey::Firmware(e.facts.mac, code(stage));
        if let Some(b) = self.bodies.get(&key, e.stamp) {
            return Ok(Some(b));
        }
        self.renders.fetch_add(1, Ordering::Relaxed);
        let fw = self.firmware_of(e, stage);
        let b = self
            .renderer
            .firmware_file(&self.public_url, &e.tenant.tenant, &e.facts, fw)?;
        if let Some(b) = &b {
            self.bodies.put(key, e.stamp, b.clone());
        }
        Ok(b)
    }

    fn firmware_of(
        &self,
        e: &DeviceEntry,
        stage: Option<usize>,
    ) -> Option<touchless_phones::Firmware> {
        let plan = e.firmware.as_ref()?;
        let pair = crate::render::prov_credentials(&e.tenant.tenant, &e.facts);
        Some(plan.firmware(stage, &self.public_url, e.facts.model, pair))
    }

    pub fn ztprov_body(&self, e: &DeviceEntry) -> Result<Bytes, RenderError> {
        self.body(BodyKey::Ztprov(e.facts.mac), e.stamp, || {
            self.renderer
                .ztprov(&self.public_url, &e.tenant.tenant, &e.facts)
        })
    }

    pub fn model_body(&self, t: &TenantEntry, model: PhoneModel) -> Result<Bytes, RenderError> {
        self.body(BodyKey::Model(t.stamp, model), t.stamp, || {
            self.renderer.model(&t.tenant, model)
        })
    }
}

/// A stage as a cache key: 0 for none, else its index + 1.
fn code(stage: Option<usize>) -> u16 {
    stage.map_or(0, |i| u16::try_from(i + 1).unwrap_or(u16::MAX))
}
