//! The view phones are served from: the devices by MAC, the tenants, the
//! indexes by `/prov` user, the firmware plans; and the few ways a reload
//! or a queueing changes a copy of it, keeping the indexes in step.

use foldhash::HashMap as FastMap;
use std::collections::HashMap;
use std::sync::Arc;

use touchless_domain::{Mac, ProvScope};

use super::entry::{ByProvUser, DeviceEntry, TenantEntry};
use crate::firmware::Plans;
use crate::sharded::Sharded;

#[derive(Clone, Default)]
pub(super) struct View {
    pub(super) generation: i64,
    // Shards chosen by foldhash: randomly seeded (no HashDoS from chosen
    // MACs), much cheaper than SipHash for a 6-byte key on every request.
    pub(super) devices: Sharded<Mac, Arc<DeviceEntry>>,
    /// Tenants that share one pair of `/prov` credentials, by that user.
    pub(super) tenants_by_user: FastMap<String, Arc<TenantEntry>>,
    /// Devices with their own `/prov` credentials, by that user.
    pub(super) devices_by_prov_user: Sharded<ByProvUser, ()>,
    /// Every tenant, for carrying entries over a reload.
    pub(super) tenants: HashMap<String, Arc<TenantEntry>>,
    /// Every firmware policy.
    pub(super) plans: Arc<Plans>,
}

impl View {
    pub(super) fn put_tenant(&mut self, entry: Arc<TenantEntry>) {
        if entry.tenant.prov_scope == ProvScope::Tenant {
            self.tenants_by_user.insert(
                entry.tenant.prov_user.as_str().to_owned(),
                Arc::clone(&entry),
            );
        }
        self.tenants
            .insert(entry.tenant.id.as_str().to_owned(), entry);
    }

    pub(super) fn put_device(&mut self, entry: Arc<DeviceEntry>) {
        if entry.tenant.tenant.prov_scope == ProvScope::Device {
            self.devices_by_prov_user
                .insert(ByProvUser(Arc::clone(&entry)), ());
        }
        self.devices.insert(entry.facts.mac, entry);
    }

    pub(super) fn remove_device(&mut self, mac: &Mac) {
        if let Some(d) = self.devices.remove(mac) {
            let user = d.facts.prov_user();
            if self
                .devices_by_prov_user
                .get_key_value(user)
                .is_some_and(|(e, ())| Arc::ptr_eq(&e.0, &d))
            {
                self.devices_by_prov_user.remove(user);
            }
        }
    }

    /// Puts new entries in place of old ones (each pair one device: its MAC
    /// and `/prov` user unchanged), a shard copied once however many of its
    /// devices change. Devices whose tenant's scope is no longer `device`
    /// leave the per-device `/prov` index, and those whose scope now is
    /// enter it.
    pub(super) fn replace_devices(&mut self, changes: Vec<(Arc<DeviceEntry>, Arc<DeviceEntry>)>) {
        let scope = |e: &DeviceEntry| e.tenant.tenant.prov_scope;
        let leaving: Vec<&str> = changes
            .iter()
            .filter(|(old, new)| scope(old) == ProvScope::Device && scope(new) != ProvScope::Device)
            .map(|(old, _)| (old, old.facts.prov_user()))
            .filter(|(old, user)| {
                self.devices_by_prov_user
                    .get_key_value(*user)
                    .is_some_and(|(e, ())| Arc::ptr_eq(&e.0, old))
            })
            .map(|(_, user)| user)
            .collect();
        self.devices_by_prov_user.remove_many(&leaving);
        let entries: Vec<Arc<DeviceEntry>> = changes.into_iter().map(|(_, new)| new).collect();
        let by_user: Vec<(ByProvUser, ())> = entries
            .iter()
            .filter(|e| e.tenant.tenant.prov_scope == ProvScope::Device)
            .map(|e| (ByProvUser(Arc::clone(e)), ()))
            .collect();
        self.devices_by_prov_user.insert_many(by_user);
        self.devices
            .insert_many(entries.into_iter().map(|e| (e.facts.mac, e)).collect());
    }
}
