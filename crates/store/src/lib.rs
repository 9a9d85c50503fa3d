//! Storage for touchless: the [`Store`] trait, the records it deals in, and its backends.
//!
//! The HTTP surfaces and the daemon only ever see `Arc<dyn Store>`; which database
//! sits behind it is decided once, from the database URL, in [`open`]. Every backend
//! must pass the `conformance` suite (feature `testing`), the executable definition of what
//! the trait promises (atomic writes, clean conflict errors, revision counters).

#[cfg(feature = "testing")]
pub mod conformance;
mod console;
mod daemon;
mod error;
mod nonces;
mod postgres;
mod postgres_daemon;
mod postgres_pool;
mod postgres_recorder;
mod postgres_redirect;
mod postgres_registry;
pub mod private;
mod queries;
mod records;
mod redirect;
mod rows;
mod sql;
mod sqlite;
mod sqlite_daemon;
mod sqlite_pool;
mod sqlite_redirect;
mod sqlite_registry;
#[cfg(feature = "testing")]
pub mod testing;
mod validate;

use async_trait::async_trait;
use touchless_domain::{DeviceStatus, Mac, ProvUser, TenantId, UserName};

pub use console::*;
pub use daemon::*;
pub use error::StoreError;
pub use postgres_pool::PgStore;
pub use records::*;
pub use redirect::*;
pub use sqlite_pool::sqlite_memory_bytes;
pub use sqlite_pool::SqliteStore;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Everything touchless keeps: the union of the stores of each concern, so a
/// caller may ask for only the part it uses. Writes are atomic: a call either
/// commits entirely or leaves the store as it was.
pub trait Store:
    RegistryStore + FirmwareStore + QueueStore + RedirectStore + ConsoleStore + MetaStore
{
}

impl<T: RegistryStore + FirmwareStore + QueueStore + RedirectStore + ConsoleStore + MetaStore> Store
    for T
{
}

/// Firmware policies: per model, for the installation, a tenant or one
/// device (the most specific wins). A change bumps the generation, and
/// [`RegistryStore::changes_since`] then hands every policy over.
#[async_trait]
pub trait FirmwareStore: Send + Sync + 'static {
    async fn firmware_policies(&self) -> Result<Vec<FirmwarePolicy>>;
    /// Creates the policy, or replaces the one of the same target and
    /// model. An unknown tenant or device is [`StoreError::NotFound`].
    async fn put_firmware_policy(&self, p: &NewFirmwarePolicy) -> Result<FirmwarePolicy>;
    async fn delete_firmware_policy(&self, id: i64) -> Result<()>;
}

/// Tenants, devices, the provisioning view and the device contact log. Every
/// write that changes what phones are served bumps the store's
/// [`generation`], which is how nodes that cache the registry in memory learn
/// that it changed; contact records, event outcomes and device status do not.
///
/// [`generation`]: RegistryStore::generation
#[async_trait]
pub trait RegistryStore: Send + Sync + 'static {
    // -- tenants ------------------------------------------------------------------
    async fn create_tenant(&self, t: &NewTenant) -> Result<Tenant>;
    async fn get_tenant(&self, id: &TenantId) -> Result<Option<Tenant>>;
    async fn list_tenants(&self) -> Result<Vec<Tenant>>;
    async fn update_tenant(&self, id: &TenantId, patch: &TenantPatch) -> Result<Tenant>;
    /// Refuses with [`StoreError::Conflict`] while the tenant still has devices.
    async fn delete_tenant(&self, id: &TenantId) -> Result<()>;

    // -- devices ------------------------------------------------------------------
    /// Creates all of them or none: one transaction.
    async fn create_devices(&self, ds: &[NewDevice]) -> Result<Vec<Device>>;
    async fn create_device(&self, d: &NewDevice) -> Result<Device> {
        let mut created = self.create_devices(std::slice::from_ref(d)).await?;
        created
            .pop()
            .ok_or_else(|| StoreError::not_found("device", d.mac))
    }
    async fn get_device(&self, mac: Mac) -> Result<Option<Device>>;
    /// How many devices are in each status (statuses with none left out),
    /// of one tenant or of all.
    async fn device_counts(&self, tenant: Option<&TenantId>) -> Result<Vec<(DeviceStatus, u64)>>;
    /// The devices among `macs` that exist, in MAC order.
    async fn get_devices(&self, macs: &[Mac]) -> Result<Vec<Device>>;
    async fn list_devices(&self, filter: &DeviceFilter) -> Result<Vec<Device>>;
    /// For each MAC, whether the device may be registered at a provider
    /// (its status is not `unregistered`, or it was registered once):
    /// what removing it must take care of. An unknown MAC fails the call.
    async fn may_be_registered(&self, macs: &[Mac]) -> Result<Vec<(Mac, bool)>>;
    /// The MACs of every device, or of one tenant's: what a selection of
    /// "all" needs, without loading the devices.
    async fn device_macs(&self, tenant: Option<&TenantId>) -> Result<Vec<Mac>>;
    /// Applies the patch and bumps the device's revision.
    async fn update_device(&self, mac: Mac, patch: &DevicePatch) -> Result<Device>;
    async fn delete_device(&self, mac: Mac) -> Result<()> {
        self.delete_devices(&[mac]).await
    }
    /// Deletes all of them or none: an unknown MAC fails the whole call.
    /// None given is no write (the generation stays).
    async fn delete_devices(&self, macs: &[Mac]) -> Result<()>;
    /// Marks devices for removal once their deregistration succeeds (the
    /// caller queues it); unknown MACs fail the whole call.
    async fn mark_removing(&self, macs: &[Mac]) -> Result<()>;
    /// Records the first successful `/ztprov` fetch with these credentials
    /// (current or staged), which starts their short grace. Later uses of the
    /// same credentials change nothing.
    async fn mark_ztprov_used(
        &self,
        uses: &[(Mac, ProvUser, chrono::DateTime<chrono::Utc>)],
    ) -> Result<()>;

    // -- provisioning view --------------------------------------------------------
    /// A counter that changes whenever anything in the store changes.
    async fn generation(&self) -> Result<i64>;
    /// A stream of "the generation may have moved" hints from other processes,
    /// if the backend can push them (PostgreSQL's LISTEN/NOTIFY). Readers still
    /// poll [`RegistryStore::generation`]; this only makes them notice sooner.
    async fn change_hints(&self) -> Option<tokio::sync::mpsc::Receiver<()>> {
        None
    }
    /// Every tenant and device with lines and settings, in one consistent read:
    /// what the provisioning server serves from.
    async fn snapshot(&self) -> Result<Snapshot> {
        let (mut tenants, mut devices, mut firmware) = (Vec::new(), Vec::new(), Vec::new());
        let generation = self
            .snapshot_pages(1_000, &mut |part| match part {
                SnapshotPart::Firmware(f) => firmware = f,
                SnapshotPart::Tenants(t) => tenants.extend(t),
                SnapshotPart::Devices(d) => devices.extend(d),
            })
            .await?;
        Ok(Snapshot {
            generation,
            tenants,
            devices,
            firmware,
        })
    }
    /// The same read as [`RegistryStore::snapshot`], handed to `sink` in
    /// parts: all tenants first, then devices in MAC order, `page` at a time,
    /// so that a reader turning rows into something smaller never holds all
    /// of them. Returns the generation the parts belong to.
    async fn snapshot_pages(
        &self,
        page: usize,
        sink: &mut (dyn FnMut(SnapshotPart) + Send),
    ) -> Result<i64>;
    /// What changed after generation `since`, in one consistent read: only
    /// the rows written since (each row carries the generation of its last
    /// change) and the keys deleted since. A reader that applies these to
    /// the snapshot or changes it had is at `generation`.
    /// If tombstones older than `since` were pruned, the answer says
    /// [`Changes::stale`] and the reader must take a snapshot instead.
    async fn changes_since(&self, since: i64) -> Result<Changes> {
        self.changes_since_at_most(since, usize::MAX).await
    }
    /// [`Store::changes_since`], unless more than `max_devices` devices
    /// changed: then nothing is read and the answer says
    /// [`Changes::too_many`]; the reader takes a snapshot in pages instead.
    /// This read holds every changed row at once (100,000 changed devices
    /// after `register --all` held ~450 MB); a snapshot holds a page.
    async fn changes_since_at_most(&self, since: i64, max_devices: usize) -> Result<Changes>;
    /// Deletes all but the newest `keep` tombstones and remembers below which
    /// generation they are gone; returns how many were deleted.
    async fn prune_tombstones(&self, keep: u64) -> Result<u64>;

    // -- contact log --------------------------------------------------------------
    async fn record_contacts(&self, batch: &[Contact]) -> Result<()>;
    /// The newest `limit` contacts of one MAC, newest first.
    async fn contacts(&self, mac: Mac, limit: u32) -> Result<Vec<Contact>>;
    /// The newest contacts of any device (of one tenant's devices when given).
    async fn recent_contacts(&self, tenant: Option<&TenantId>, limit: u32) -> Result<Vec<Contact>>;
    /// Deletes contacts older than `before`, then the oldest beyond `max_rows`
    /// (0: no cap); returns how many.
    async fn prune_contacts(
        &self,
        before: chrono::DateTime<chrono::Utc>,
        max_rows: u64,
    ) -> Result<u64>;

    // -- phone uploads ------------------------------------------------------------
    /// Keeps a file a phone uploaded; of each device's kind only the newest
    /// `keep` stay. Not a registry change: no view reloads.
    async fn record_upload(
        &self,
        mac: Mac,
        kind: &str,
        at: chrono::DateTime<chrono::Utc>,
        content: &[u8],
        keep: u32,
    ) -> Result<()>;
    /// A device's uploads, newest first, without their contents.
    async fn uploads(&self, mac: Mac) -> Result<Vec<Upload>>;
    /// One upload of a device, with its content.
    async fn upload_content(&self, mac: Mac, id: i64) -> Result<Option<(Upload, Vec<u8>)>>;
    /// Deletes uploads older than `before`; returns how many.
    async fn prune_uploads(&self, before: chrono::DateTime<chrono::Utc>) -> Result<u64>;
}

/// The daemon's providers and its durable event queue.
#[async_trait]
pub trait QueueStore: Send + Sync + 'static {
    // -- daemon: providers ------------------------------------------------------
    async fn create_provider(&self, p: &Provider) -> Result<Provider>;
    async fn list_providers(&self) -> Result<Vec<Provider>>;
    async fn get_provider(&self, name: &str) -> Result<Option<Provider>>;
    /// Replaces a provider's URL, key id, secret and CA bundle (by name; the
    /// name, kind and tenant stay).
    async fn update_provider(&self, p: &Provider) -> Result<Provider>;
    async fn delete_provider(&self, name: &str) -> Result<()>;

    // -- daemon: event queue ----------------------------------------------------
    /// One event per MAC, atomically, and the device's status becomes
    /// `pending`. A register stages the given ztprov credentials beside the
    /// current ones (the provider still hands those out); they replace them
    /// when the event succeeds. A deregister replaces every ztprov credential
    /// with the given ones, known to nobody and without a window, so the old
    /// ones stop working at once. An unknown MAC fails the whole call.
    async fn enqueue(&self, action: Action, items: &[Issued]) -> Result<Vec<i64>>;
    /// Leases up to `limit` due events to `node`: pending ones whose time has
    /// come and running ones whose lease expired, never an event whose MAC has
    /// an older unfinished event. Each claim counts as an attempt.
    async fn claim_events(
        &self,
        node: &str,
        limit: u32,
        lease: std::time::Duration,
    ) -> Result<Vec<Event>>;
    /// Lets go of every lease `node` holds, so its running events can be claimed
    /// at once: a node that restarts takes its work back without waiting for
    /// its old leases to expire.
    async fn release_leases(&self, node: &str) -> Result<u64>;
    /// Extends `node`'s lease; `false` if the event is no longer `node`'s.
    async fn renew_lease(&self, id: i64, node: &str, lease: std::time::Duration) -> Result<bool>;
    /// Extends `node`'s leases on the given events in one statement (those no
    /// longer `node`'s are left alone); how many were extended.
    async fn renew_leases(
        &self,
        node: &str,
        ids: &[i64],
        lease: std::time::Duration,
    ) -> Result<u64>;
    /// Records each outcome on its event and device, for the events `node`
    /// still holds, in one transaction; how many were recorded.
    async fn finish_events(&self, node: &str, outcomes: &[(i64, Outcome)]) -> Result<u64>;
    /// [`finish_events`](QueueStore::finish_events) for one event: `false`
    /// if `node` no longer holds it.
    async fn finish_event(&self, id: i64, node: &str, outcome: &Outcome) -> Result<bool> {
        Ok(self.finish_events(node, &[(id, outcome.clone())]).await? == 1)
    }
    async fn list_events(&self, state: Option<EventState>, limit: u32) -> Result<Vec<Event>>;
    /// One device's events, newest first.
    async fn events_of(&self, mac: Mac, limit: u32) -> Result<Vec<Event>>;
    /// How many events are in each state (states with none are left out).
    async fn event_counts(&self) -> Result<Vec<(EventState, u64)>>;
    async fn get_event(&self, id: i64) -> Result<Option<Event>>;
    /// Puts a failed event back in the queue, due now, with its attempts reset.
    async fn retry_event(&self, id: i64) -> Result<Event>;
}

/// The web console's accounts, sessions and audit log. Sessions are keyed by
/// a hash of their cookie, which the store never sees.
#[async_trait]
pub trait ConsoleStore: Send + Sync + 'static {
    /// `Conflict` if the name is taken, `Invalid` if the tenant does not exist.
    async fn create_user(&self, u: &NewUser) -> Result<User>;
    async fn get_user(&self, name: &UserName) -> Result<Option<User>>;
    async fn list_users(&self) -> Result<Vec<User>>;
    /// Replaces the password hash and ends every session of the account.
    async fn set_password(&self, name: &UserName, password_hash: &str) -> Result<()>;
    async fn delete_user(&self, name: &UserName) -> Result<()>;
    async fn count_users(&self) -> Result<u64>;

    async fn create_session(&self, id_hash: &str, user: &UserName, csrf: &str) -> Result<()>;
    /// The session and its account, if the session exists.
    async fn get_session(&self, id_hash: &str) -> Result<Option<Session>>;
    /// Records that the session was used now (for its idle expiry).
    async fn touch_session(&self, id_hash: &str) -> Result<()>;
    async fn delete_session(&self, id_hash: &str) -> Result<()>;
    /// Deletes sessions idle since before `idle_before` or begun before
    /// `begun_before`; how many.
    async fn prune_sessions(
        &self,
        idle_before: chrono::DateTime<chrono::Utc>,
        begun_before: chrono::DateTime<chrono::Utc>,
    ) -> Result<u64>;

    async fn audit(&self, entry: &NewAudit) -> Result<()>;
    /// The newest entries first, as the filter says.
    async fn audit_log(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>>;
}

/// Installation-wide values, and the store's connections.
#[async_trait]
pub trait MetaStore: Send + Sync + 'static {
    // -- installation-wide values -------------------------------------------------
    /// Stores `value` under `key` unless a value is there already, and returns
    /// whichever value is stored: the first node to start wins, the rest agree.
    async fn meta_get_or_insert(&self, key: &str, value: &str) -> Result<String>;
    async fn meta_set(&self, key: &str, value: &str) -> Result<()>;

    /// Writes a consistent copy of the whole database into `into`, an empty
    /// file the caller created (0600), while writes go on. SQLite only
    /// (`VACUUM INTO`); PostgreSQL answers `Unsupported` (that is
    /// `pg_dump`'s job).
    async fn backup_into(&self, into: &std::path::Path) -> Result<()>;

    /// Closes connections; pending writes are already committed.
    async fn close(&self);
}

/// The SQLite database file a URL names (`sqlite://PATH`, `sqlite:PATH` or
/// a bare path); `None` for PostgreSQL.
pub fn sqlite_path(url: &str) -> Option<&std::path::Path> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return None;
    }
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    Some(path.as_ref())
}

/// What a backup file holds, read without changing it.
#[derive(Clone, Debug)]
pub struct BackupSummary {
    pub tenants: u64,
    pub devices: u64,
}

/// Checks that `path` is a whole touchless SQLite database (SQLite's own
/// integrity check, and our tables), opened read-only.
pub async fn check_backup(path: &std::path::Path) -> Result<BackupSummary> {
    sqlite_pool::check_backup(path).await
}

/// Opens the store a database URL names and applies its migrations.
///
/// `sqlite://path`, `sqlite:path` or a plain file path select SQLite;
/// `postgres://…` or `postgresql://…` select PostgreSQL.
pub async fn open(url: &str) -> Result<std::sync::Arc<dyn Store>> {
    if let Some(path) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    {
        return Ok(std::sync::Arc::new(SqliteStore::open(path.as_ref()).await?));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(std::sync::Arc::new(PgStore::open(url).await?));
    }
    if url.contains("://") {
        return Err(StoreError::Unsupported(format!(
            "unknown database URL scheme in {url:?}; expected sqlite://PATH or postgres://…"
        )));
    }
    Ok(std::sync::Arc::new(SqliteStore::open(url.as_ref()).await?))
}
