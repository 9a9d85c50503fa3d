//! The view after this node queued registrations or deregistrations: the
//! credentials the queueing wrote are applied from what was written, not
//! read back.
//!
//! Queueing changes no more of a device than its ztprov credentials and its
//! revision, but for every device it names: `register --all` of 100,000
//! made the reload read all 100,000 rows back (3 s on SQLite here, most of
//! the call), only to learn the credentials the admin API had just made.
//! The write's own items say the same, provided it is the one change since
//! the view's generation; when another came between, the view reloads as
//! after any write.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use touchless_runtime::tasks::cpu_bound;
use touchless_store::{Action, Issued, StoreError};

use super::entry::{DeviceEntry, Ztprov};
use super::{Directory, View};

/// Keeps this node's view from reloading until [`Directory::queued`]: taken
/// before the queueing's write, so a change hint of that write does not
/// start the reload it makes needless.
pub struct ReloadHold<'a> {
    _reloads: tokio::sync::MutexGuard<'a, ()>,
}

impl Directory {
    /// Hold reloads for a queueing: while it is held, changes from other
    /// nodes wait too, so hold it for the write alone.
    pub async fn hold_reloads(&self) -> ReloadHold<'_> {
        ReloadHold {
            _reloads: self.reload.lock().await,
        }
    }

    /// Call after `Store::enqueue(action, items)` committed, instead of
    /// [`Directory::refresh`], with the hold taken before it. `true` if the
    /// view moved.
    pub async fn queued(
        &self,
        hold: ReloadHold<'_>,
        action: Action,
        items: &[Issued],
    ) -> Result<bool, StoreError> {
        let old = self.current();
        let checked = chrono::Utc::now().timestamp_millis();
        let generation = self.store.generation().await?;
        // One queueing is one generation: at the view's next, nothing else
        // changed since the view was read.
        if old.generation < 0 || generation != old.generation + 1 {
            drop(hold);
            return self.refresh().await;
        }
        let started = std::time::Instant::now();
        let view = cpu_bound(|| self.restaged(&old, generation, action, items));
        self.install(old, view, started, checked);
        drop(hold);
        Ok(true)
    }

    /// `old` with what `enqueue` wrote on each of `items`' devices, as the
    /// store's `ENQUEUE_*_SET` statements write it: a registration stages
    /// its credentials beside the current ones; a deregistration replaces
    /// the current ones with credentials nobody knows (no expiry, so the
    /// view keeps none) and drops any staged. Either way the revision moves
    /// by one, so the device's bodies render again.
    fn restaged(&self, old: &View, generation: i64, action: Action, items: &[Issued]) -> View {
        let mut changed = Vec::with_capacity(items.len());
        let mut seen = std::collections::HashSet::with_capacity(items.len());
        for it in items {
            // The store queues a MAC named twice once, with its first item.
            if !seen.insert(it.mac) {
                continue;
            }
            let Some(e) = old.devices.get(&it.mac) else {
                continue;
            };
            let mut facts = e.facts.clone();
            facts.revision += 1;
            let (ztprov, ztprov_next, used_here) = match action {
                Action::Register => {
                    let next = Ztprov::of(
                        &it.user,
                        it.pass.as_str(),
                        Some(it.expires_at),
                        None,
                        &self.realm,
                    );
                    let used = e.used_here.load(Ordering::Relaxed);
                    (e.ztprov.clone(), next.map(Box::new), used)
                }
                Action::Deregister => (None, None, 0),
            };
            let entry = DeviceEntry {
                facts,
                tenant: Arc::clone(&e.tenant),
                firmware: e.firmware.clone(),
                ztprov,
                ztprov_next,
                prov_ha1: e.prov_ha1.clone(),
                used_here: AtomicI64::new(used_here),
                next_used_here: AtomicI64::new(0),
                stamp: self.stamp(),
            };
            changed.push((Arc::clone(e), Arc::new(entry)));
        }
        let mut v = old.clone();
        v.generation = generation;
        v.replace_devices(changed);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use touchless_domain::{DisplayText, Mac, ProvPassword, ProvUser};
    use touchless_store::conformance::{new_device, new_tenant};
    use touchless_store::{DevicePatch, Store, TenantPatch};

    /// What a view holds of a device, as far as queueing changes it.
    fn held(d: &Directory, mac: Mac) -> impl PartialEq + std::fmt::Debug {
        let v = d.current();
        let e = v.devices.get(&mac).expect("the device is in the view");
        let z = |z: &Option<Box<Ztprov>>| z.as_ref().map(|z| z.held());
        (
            e.facts.revision,
            e.tenant.tenant.id.clone(),
            z(&e.ztprov),
            z(&e.ztprov_next),
            e.prov_ha1.is_some(),
        )
    }

    fn directory(store: &Arc<dyn Store>) -> Directory {
        let renderer = crate::render::Renderer::new(None).expect("the built-in templates");
        let metrics = touchless_runtime::metrics::Metrics::new(false);
        Directory::new(
            Arc::clone(store),
            Arc::new(renderer),
            "touchless",
            "http://prov.example.com",
            1 << 20,
            metrics.view.clone(),
        )
    }

    /// A SQLite store in `tmp` with tenant `acme` (one `/prov` pair).
    async fn with_acme(tmp: &tempfile::TempDir) -> Arc<dyn Store> {
        let store = touchless_store::open(&tmp.path().join("t.db").to_string_lossy())
            .await
            .unwrap();
        store.create_tenant(&new_tenant("acme")).await.unwrap();
        store
    }

    fn issued(macs: &[Mac], tag: &str) -> Vec<Issued> {
        let expires_at = chrono::DateTime::from_timestamp(chrono::Utc::now().timestamp() + 3600, 0)
            .expect("an hour ahead");
        macs.iter()
            .map(|m| Issued {
                mac: *m,
                user: ProvUser::parse(&format!("{tag}{m}")).unwrap(),
                pass: ProvPassword::parse(&format!("pass-{tag}")).unwrap(),
                expires_at,
            })
            .collect()
    }

    /// The view that applied its own queueing holds what a view that read
    /// every row back holds, having read none; a queueing with another
    /// write before it is read back like any write.
    #[tokio::test]
    async fn queueing_is_applied_as_a_reload_would_apply_it() {
        let tmp = tempfile::tempdir().unwrap();
        let store = with_acme(&tmp).await;
        let mut own = new_tenant("own");
        own.prov_user = ProvUser::parse("prov-own").unwrap();
        own.prov_scope = touchless_domain::ProvScope::Device;
        store.create_tenant(&own).await.unwrap();
        let macs: Vec<Mac> = (0..40)
            .map(|i| Mac::parse(&format!("0004135000{i:02X}")).unwrap())
            .collect();
        let devices: Vec<_> = macs
            .iter()
            .enumerate()
            .map(|(i, m)| new_device(&m.to_string(), if i % 2 == 0 { "acme" } else { "own" }))
            .collect();
        store.create_devices(&devices).await.unwrap();
        let (here, other) = (directory(&store), directory(&store));
        here.refresh().await.unwrap();
        other.refresh().await.unwrap();

        // Registrations of 30, one MAC named twice (the store queues it once).
        let mut items = issued(&macs[..30], "a");
        items.push(issued(&macs[3..4], "b").remove(0));
        let read = here.rows_read();
        let hold = here.hold_reloads().await;
        store.enqueue(Action::Register, &items).await.unwrap();
        assert!(here.queued(hold, Action::Register, &items).await.unwrap());
        assert_eq!(here.rows_read(), read, "queueing is applied unread");
        other.refresh().await.unwrap();
        other_matches(&here, &other, &macs, "after registrations");

        // Deregistrations, among them devices with staged credentials.
        let items = issued(&macs[25..35], "c");
        let hold = here.hold_reloads().await;
        store.enqueue(Action::Deregister, &items).await.unwrap();
        assert!(here.queued(hold, Action::Deregister, &items).await.unwrap());
        assert_eq!(here.rows_read(), read);
        other.refresh().await.unwrap();
        other_matches(&here, &other, &macs, "after deregistrations");

        // Another write between the view's generation and the queueing.
        let hold = here.hold_reloads().await;
        let patch = DevicePatch {
            name: Some(DisplayText::parse("Lobby").unwrap()),
            ..DevicePatch::default()
        };
        store.update_device(macs[39], &patch).await.unwrap();
        let items = issued(&macs[..5], "d");
        store.enqueue(Action::Register, &items).await.unwrap();
        assert!(here.queued(hold, Action::Register, &items).await.unwrap());
        assert!(here.rows_read() > read, "read back like any write");
        other.refresh().await.unwrap();
        other_matches(
            &here,
            &other,
            &macs,
            "after a queueing behind another write",
        );
        assert_eq!(here.current().generation, other.current().generation);
    }

    /// A tenant change repoints all its devices at once (a shard copied
    /// once, not once per device): the view that applied it holds what a
    /// view built afresh holds, for a change of SIP host and for changes of
    /// scope, which move the devices' `/prov` users in or out of the index.
    #[tokio::test]
    async fn a_tenant_change_is_applied_as_a_fresh_read_holds_it() {
        use touchless_domain::{Host, ProvScope, TenantId};
        let tmp = tempfile::tempdir().unwrap();
        let store = with_acme(&tmp).await;
        let macs: Vec<Mac> = (0..60)
            .map(|i| Mac::parse(&format!("0004136000{i:02X}")).unwrap())
            .collect();
        let devices: Vec<_> = macs
            .iter()
            .map(|m| new_device(&m.to_string(), "acme"))
            .collect();
        store.create_devices(&devices).await.unwrap();
        let here = directory(&store);
        here.refresh().await.unwrap();
        let acme = TenantId::parse("acme").unwrap();
        let changes = [
            (Some(Host::parse("pbx2.example.com").unwrap()), None),
            (None, Some(ProvScope::Device)),
            (Some(Host::parse("pbx3.example.com").unwrap()), None),
            (None, Some(ProvScope::Tenant)),
        ];
        for (sip_host, prov_scope) in changes {
            let patch = TenantPatch {
                sip_host,
                prov_scope,
                ..TenantPatch::default()
            };
            let t = store.update_tenant(&acme, &patch).await.unwrap();
            let read = here.rows_read();
            assert!(here.refresh().await.unwrap());
            assert_eq!(here.rows_read(), read + 1, "only the tenant is read");
            let fresh = directory(&store);
            fresh.refresh().await.unwrap();
            let what = format!("{:?} {:?}", t.sip_host, t.prov_scope);
            other_matches(&here, &fresh, &macs, &what);
            let v = here.current();
            for m in &macs {
                let e = v.devices.get(m).unwrap();
                assert_eq!(e.tenant.tenant.sip_host, t.sip_host, "{what}: {m}");
                let own = here.model_auth(e.facts.prov_user());
                assert_eq!(
                    matches!(own, Some(super::super::ModelAuth::Device(d)) if d.facts.mac == *m),
                    t.prov_scope == ProvScope::Device,
                    "{what}: {m}"
                );
            }
        }
    }

    fn other_matches(here: &Directory, other: &Directory, macs: &[Mac], what: &str) {
        assert_eq!(
            here.current().generation,
            other.current().generation,
            "{what}"
        );
        for m in macs {
            assert_eq!(held(here, *m), held(other, *m), "{what}: {m}");
        }
        let by_user = |d: &Directory| d.current().devices_by_prov_user.len();
        assert_eq!(by_user(here), by_user(other), "{what}");
    }
}
