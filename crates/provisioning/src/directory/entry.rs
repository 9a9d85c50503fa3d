//! The view's entries: what it keeps per tenant and per device, and which
//! credentials an entry accepts (ztprov window and grace, staged pair, own
//! or tenant `/prov` pair).

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use touchless_domain::{ProvScope, ProvUser};
use touchless_store::Tenant;

use crate::auth::{Credentials, Expected, Ha1};
use crate::render::DeviceFacts;

pub struct TenantEntry {
    pub tenant: Tenant,
    pub creds: Credentials,
    /// Names this entry in the render cache.
    pub(super) stamp: u64,
}

/// One pair of ztprov credentials the view accepts, with their window.
#[derive(Clone)]
pub(super) struct Ztprov {
    user: ProvUser,
    ha1: Ha1,
    expires_at: DateTime<Utc>,
    used_at: Option<DateTime<Utc>>,
}

impl Ztprov {
    /// Credentials that can open something: with an expiry still ahead.
    /// Others are not kept (most devices, once provisioned).
    pub(super) fn of(
        user: &ProvUser,
        pass: &str,
        expires_at: Option<DateTime<Utc>>,
        used_at: Option<DateTime<Utc>>,
        realm: &str,
    ) -> Option<Ztprov> {
        let expires_at = expires_at.filter(|e| *e > Utc::now())?;
        Some(Ztprov {
            ha1: Ha1::new(user.as_str(), pass, realm),
            user: user.clone(),
            expires_at,
            used_at,
        })
    }

    /// What a test compares of two views' credentials.
    #[cfg(test)]
    pub(super) fn held(&self) -> (ProvUser, DateTime<Utc>, Option<DateTime<Utc>>) {
        (self.user.clone(), self.expires_at, self.used_at)
    }

    fn expected(&self) -> Expected<'_> {
        Expected {
            user: self.user.as_str(),
            ha1: &self.ha1,
        }
    }
}

/// What the view keeps per device: what authenticates its requests and what
/// its files render from; not the registry row.
pub struct DeviceEntry {
    pub facts: DeviceFacts,
    pub tenant: Arc<TenantEntry>,
    /// The firmware policy that applies to the device, resolved when the
    /// entry is made (a policy change makes new entries for the devices it
    /// changes).
    pub firmware: Option<Arc<crate::firmware::Plan>>,
    pub(super) ztprov: Option<Box<Ztprov>>,
    /// Staged by a pending registration; accepted beside the current ones.
    pub(super) ztprov_next: Option<Box<Ztprov>>,
    /// The HA1 values of the device's own `/prov` password (its user is in
    /// `facts`), kept while its tenant's scope is `device`.
    pub(super) prov_ha1: Option<Ha1>,
    /// First successful use of the current / staged ztprov credentials seen by
    /// this node (ms since the epoch, 0: none). The database learns it through
    /// [`super::Directory::ztprov_used`]; until the view reloads, this enforces the
    /// grace on this node at once.
    pub(super) used_here: AtomicI64,
    pub(super) next_used_here: AtomicI64,
    /// Names this entry in the render cache.
    pub(super) stamp: u64,
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
        let open = |z: &Ztprov, here: &AtomicI64| {
            let here = match here.load(Ordering::Relaxed) {
                0 => None,
                ms => DateTime::from_timestamp_millis(ms),
            };
            let first = match (z.used_at, here) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            now < z.expires_at && first.is_none_or(|f| now < f + grace)
        };
        match (&self.ztprov_next, &self.ztprov) {
            (Some(n), _) if n.user.as_str() == user => {
                open(n, &self.next_used_here).then_some(ZtprovSlot::Next)
            }
            (_, Some(z)) => open(z, &self.used_here).then_some(ZtprovSlot::Current),
            (_, None) => None,
        }
    }

    /// The credentials of a slot [`Self::ztprov_expected`] returned.
    pub fn ztprov_creds(&self, slot: ZtprovSlot) -> Option<Expected<'_>> {
        match slot {
            ZtprovSlot::Next => self.ztprov_next.as_deref().map(Ztprov::expected),
            ZtprovSlot::Current => self.ztprov.as_deref().map(Ztprov::expected),
        }
    }

    /// Notes a successful `/ztprov` fetch; the user of those credentials if it
    /// is the first this node has seen for them (and the database must be told).
    pub(super) fn first_use(&self, slot: ZtprovSlot, now: DateTime<Utc>) -> Option<&ProvUser> {
        let (cell, z) = match slot {
            ZtprovSlot::Current => (&self.used_here, self.ztprov.as_deref()?),
            ZtprovSlot::Next => (&self.next_used_here, self.ztprov_next.as_deref()?),
        };
        let first = z.used_at.is_none()
            && cell
                .compare_exchange(
                    0,
                    now.timestamp_millis().max(1),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok();
        first.then_some(&z.user)
    }

    /// What opens this device's `/prov` files.
    pub fn prov_expected(&self) -> Option<Expected<'_>> {
        match self.tenant.tenant.prov_scope {
            ProvScope::Device => self.prov_ha1.as_ref().map(|ha1| Expected {
                user: self.facts.prov_user(),
                ha1,
            }),
            ProvScope::Tenant => Some(self.tenant.creds.expected()),
        }
    }
}

/// A device entry as a key by its `/prov` user, so that the index does not
/// hold a second copy of every user name.
#[derive(Clone)]
pub(super) struct ByProvUser(pub(super) Arc<DeviceEntry>);

impl std::hash::Hash for ByProvUser {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        // As `str` hashes: lookups by `&str` must find it.
        self.0.facts.prov_user().hash(h)
    }
}

impl PartialEq for ByProvUser {
    fn eq(&self, other: &Self) -> bool {
        self.0.facts.prov_user() == other.0.facts.prov_user()
    }
}

impl Eq for ByProvUser {}

impl Ord for ByProvUser {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        // As `str` orders: lookups by `&str` must find it.
        self.0.facts.prov_user().cmp(other.0.facts.prov_user())
    }
}

impl PartialOrd for ByProvUser {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl std::borrow::Borrow<str> for ByProvUser {
    fn borrow(&self) -> &str {
        self.0.facts.prov_user()
    }
}
