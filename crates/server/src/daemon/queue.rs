//! The event queue: a distributor claims due events from the database (with a
//! lease) and hands them to `queuenum` queues of `queuecap` events each; one
//! worker per queue runs them. Events of one MAC hash to one queue, and the
//! store never hands out an event while an older one of the same MAC is
//! unfinished, so they run in order. A crash loses nothing: a claimed event
//! whose lease runs out is claimed again, and PUT/DELETE are idempotent.
//!
//! The database sees batches, not events: what an attempt needs (device,
//! tenant, provider) is read once per claim, the leases of every event in
//! hand are renewed by one statement (the keeper), and outcomes are written
//! by one recorder, as many per transaction as have come in meanwhile (a
//! worker hands in its next outcome only once its last is written, so a
//! crash re-runs at most two events per queue). So a
//! queue waiting on a slow cloud with hundreds of workers is not held back
//! by one statement per event on the database's single writer.

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch, Notify};

use crate::tasks::Task;
use touchless_domain::{Mac, TenantId, TouchlessMode};
use touchless_store::{Action, Device, Event, Outcome, Provider, Store, Tenant};

use super::provider::{ProviderApi, ProviderError, Registration};
use super::sraps::Sraps;
use crate::config::DaemonConfig;

/// A provider record and the API client built from it.
type Client = (Provider, Arc<dyn ProviderApi>);

pub struct Daemon {
    store: Arc<dyn Store>,
    cfg: DaemonConfig,
    public_url: String,
    /// Identifies this process's leases.
    node: String,
    wake: Notify,
    clients: Mutex<HashMap<String, Client>>,
    /// A provider that answered 429 is left alone by every worker until then.
    paused: Mutex<HashMap<String, Instant>>,
    /// The events this node has claimed and not yet recorded an outcome
    /// for: the keeper renews their leases.
    held: Mutex<HashSet<i64>>,
    /// The keeper's last renewal that succeeded: (taken before it read
    /// `held`, the time its leases run until).
    renewed: Mutex<Option<(Instant, Instant)>>,
}

/// One claimed event and what its attempt needs, looked up with its batch.
struct Job {
    ev: Event,
    /// Its lease runs at least until then: the claim began before this.
    lease_until: Instant,
    /// When it was added to [`Daemon::held`].
    held_at: Instant,
    target: Result<Target, String>,
}

/// Who to call for an event, and with what.
struct Target {
    provider: String,
    api: Arc<dyn ProviderApi>,
    /// For a register: what the provider hands the phone.
    registration: Option<Registration>,
    /// The admin deleted the device; it goes once deregistered.
    removing: bool,
}

/// Locks a mutex whose data stays consistent even if a holder panicked.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Daemon {
    /// `node` names this process in the queue's leases; it must be stable
    /// across restarts (see [`run`]) and distinct between nodes.
    pub fn new(
        store: Arc<dyn Store>,
        cfg: DaemonConfig,
        public_url: &str,
        node: String,
    ) -> Arc<Self> {
        Arc::new(Daemon {
            store,
            cfg,
            public_url: public_url.to_owned(),
            node,
            wake: Notify::new(),
            clients: Mutex::new(HashMap::new()),
            paused: Mutex::new(HashMap::new()),
            held: Mutex::new(HashSet::new()),
            renewed: Mutex::new(None),
        })
    }

    /// Something was enqueued: distribute now instead of at the next poll.
    pub fn notify(&self) {
        self.wake.notify_one();
    }

    /// The API client for a provider record, reused while the record is unchanged
    /// (so its discovery cache survives).
    pub fn client(&self, p: &Provider) -> Arc<dyn ProviderApi> {
        let mut c = lock(&self.clients);
        if let Some((rec, api)) = c.get(&p.name) {
            if rec == p {
                return Arc::clone(api);
            }
        }
        let api: Arc<dyn ProviderApi> = Arc::new(Sraps::new(
            &p.base_url,
            &p.access_key_id,
            &p.secret,
            Duration::from_millis(self.cfg.request_timeout_ms),
            p.ca_pem.as_deref(),
        ));
        c.insert(p.name.clone(), (p.clone(), Arc::clone(&api)));
        api
    }

    /// What each claimed event's attempt needs, read in a few statements for
    /// the whole batch: the devices, their tenants and the providers. An
    /// event whose device, tenant or provider is missing (or whose lookup
    /// failed) carries the message its outcome records.
    async fn prepare(&self, events: Vec<Event>, lease_until: Instant) -> Vec<Job> {
        let macs: Vec<Mac> = events.iter().map(|e| e.mac).collect();
        let looked_up = async {
            let devices = self.store.get_devices(&macs).await?;
            let providers = self.store.list_providers().await?;
            let mut tenants: HashMap<TenantId, Option<Tenant>> = HashMap::new();
            for d in &devices {
                if !tenants.contains_key(&d.tenant) {
                    let t = self.store.get_tenant(&d.tenant).await?;
                    tenants.insert(d.tenant.clone(), t);
                }
            }
            let devices: HashMap<Mac, Device> = devices.into_iter().map(|d| (d.mac, d)).collect();
            Ok::<_, touchless_store::StoreError>((devices, providers, tenants))
        }
        .await;
        let held_at = {
            lock(&self.held).extend(events.iter().map(|e| e.id));
            Instant::now()
        };
        events
            .into_iter()
            .map(|ev| {
                let target = match &looked_up {
                    Ok((devices, providers, tenants)) => {
                        self.target(&ev, devices.get(&ev.mac), providers, tenants)
                    }
                    Err(e) => Err(format!("store error: {e}")),
                };
                Job {
                    ev,
                    lease_until,
                    held_at,
                    target,
                }
            })
            .collect()
    }

    /// The provider responsible for a device: the master account for
    /// tenants in `master` mode, the tenant's own account for `per-tenant`.
    fn target(
        &self,
        ev: &Event,
        device: Option<&Device>,
        providers: &[Provider],
        tenants: &HashMap<TenantId, Option<Tenant>>,
    ) -> Result<Target, String> {
        let device = device.ok_or_else(|| format!("device {} no longer exists", ev.mac))?;
        let tenant = tenants
            .get(&device.tenant)
            .and_then(Option::as_ref)
            .ok_or_else(|| format!("tenant {} no longer exists", device.tenant))?;
        let found = match tenant.mode {
            TouchlessMode::Master => providers.iter().find(|p| p.tenant.is_none()),
            TouchlessMode::PerTenant => providers
                .iter()
                .find(|p| p.tenant.as_ref() == Some(&tenant.id)),
        };
        let p = found.ok_or_else(|| match tenant.mode {
            TouchlessMode::Master => "no master provider is configured; add one with `touchless provider add`".to_owned(),
            TouchlessMode::PerTenant => format!(
                "tenant {} is in per-tenant mode but has no provider; add one with `touchless provider add --tenant {}`",
                tenant.id, tenant.id
            ),
        })?;
        let registration = (ev.action == Action::Register).then(|| {
            // The staged credentials; the current ones if a newer event
            // already promoted them (a repeat is harmless).
            let (user, pass) = match &device.ztprov_next {
                Some(n) => (n.user.as_str(), n.pass.as_str()),
                None => (device.ztprov_user.as_str(), device.ztprov_pass.as_str()),
            };
            Registration {
                mac: device.mac,
                model: device.model,
                url: format!(
                    "{}/ztprov/{}-{}.htm",
                    self.public_url, device.model, device.mac
                ),
                user: user.to_owned(),
                pass: pass.to_owned(),
            }
        });
        Ok(Target {
            provider: p.name.clone(),
            api: self.client(p),
            registration,
            removing: device.removing,
        })
    }

    /// How much of a job's lease is surely left: its claim's, or the
    /// keeper's last renewal if that began after the job was in hand.
    fn lease_left(&self, job: &Job) -> Duration {
        let mut until = job.lease_until;
        if let Some((taken, renewed_until)) = *lock(&self.renewed) {
            if taken > job.held_at {
                until = until.max(renewed_until);
            }
        }
        until.saturating_duration_since(Instant::now())
    }

    fn backoff(&self, attempts: u32, retry_after: Option<Duration>) -> Duration {
        let exp = self
            .cfg
            .backoff_base_ms
            .saturating_mul(1u64 << attempts.saturating_sub(1).min(20));
        let capped = exp.min(self.cfg.backoff_max_ms);
        // Full jitter on the upper half: spreads a burst of retries out.
        let mut r = [0u8; 8];
        let _ = getrandom::fill(&mut r);
        let jitter = u64::from_le_bytes(r) % (capped / 2 + 1);
        let d = Duration::from_millis(capped / 2 + jitter);
        retry_after.map_or(d, |r| d.max(r))
    }

    async fn handle(&self, job: &Job) -> Outcome {
        let ev = &job.ev;
        let action = match ev.action {
            Action::Register => "add",
            Action::Deregister => "delete",
        };
        let target = match &job.target {
            Ok(t) => t,
            Err(message) => {
                tracing::error!(
                    "Error while handling Event. Action={action} Err={message} Mac={}",
                    ev.mac
                );
                return Outcome::Failed {
                    message: message.clone(),
                };
            }
        };
        let pause = lock(&self.paused).get(&target.provider).copied();
        if let Some(until) = pause {
            tokio::time::sleep_until(until.into()).await;
        }
        let result = match &target.registration {
            Some(r) => target.api.register(r).await,
            None => target.api.deregister(ev.mac).await,
        };
        match result {
            Ok(()) => {
                tracing::info!(
                    "Event handled. Action={action} Mac={} Provider={} Attempt={}",
                    ev.mac,
                    target.provider,
                    ev.attempts
                );
                Outcome::Done
            }
            Err(e) => {
                tracing::error!(
                    "Error while handling Event. Action={action} Err={e} Mac={} Provider={} Attempt={}",
                    ev.mac,
                    target.provider,
                    ev.attempts
                );
                match e {
                    // Throttling is the provider pacing us, not a failure: wait as
                    // told (all workers, via the pause), and do not count it.
                    ProviderError::Throttled {
                        message,
                        retry_after,
                    } if ev.attempts < self.cfg.max_attempts * 10 => {
                        let until = Instant::now() + retry_after;
                        lock(&self.paused).insert(target.provider.clone(), until);
                        let wait = self.backoff(1, Some(retry_after));
                        Outcome::Retry {
                            at: chrono::Utc::now()
                                + chrono::Duration::from_std(wait)
                                    .unwrap_or(chrono::Duration::seconds(1)),
                            message,
                        }
                    }
                    ProviderError::Throttled { message, .. } => Outcome::Failed {
                        message: format!(
                            "gave up after {} throttled attempts: {message}",
                            ev.attempts
                        ),
                    },
                    ProviderError::Transient {
                        message,
                        retry_after,
                    } if ev.attempts < self.cfg.max_attempts => {
                        let wait = self.backoff(ev.attempts, retry_after);
                        Outcome::Retry {
                            at: chrono::Utc::now()
                                + chrono::Duration::from_std(wait)
                                    .unwrap_or(chrono::Duration::seconds(1)),
                            message: format!(
                                "{message}; retry {} of {} in {} s",
                                ev.attempts,
                                self.cfg.max_attempts - 1,
                                wait.as_secs().max(1)
                            ),
                        }
                    }
                    ProviderError::Transient { message, .. } => Outcome::Failed {
                        message: format!("gave up after {} attempts: {message}", ev.attempts),
                    },
                    ProviderError::Permanent(message) => Outcome::Failed { message },
                }
            }
        }
    }

    /// Runs one attempt and hands its outcome to the recorder, once the
    /// queue's previous outcome is written (`unwritten`): the next attempt
    /// overlaps the write, yet a node that dies has at most one event per
    /// queue done but not recorded, besides the one in hand (both run again
    /// elsewhere, harmlessly). An event whose lease may not last the attempt
    /// is renewed first (the keeper normally has): if it is no longer ours,
    /// it is dropped.
    async fn work(
        &self,
        job: Job,
        record: &mpsc::UnboundedSender<Recorded>,
        unwritten: &mut Option<tokio::sync::oneshot::Receiver<()>>,
    ) {
        let lease = Duration::from_secs(self.cfg.lease_secs);
        if self.lease_left(&job) < lease / 2 {
            match self.store.renew_lease(job.ev.id, &self.node, lease).await {
                Ok(true) => {}
                Ok(false) => {
                    lock(&self.held).remove(&job.ev.id);
                    return;
                }
                Err(e) => {
                    tracing::error!(error = %e, event = job.ev.id, "renewing a lease failed");
                    lock(&self.held).remove(&job.ev.id);
                    return;
                }
            }
        }
        let mut outcome = self.handle(&job).await;
        if let (Outcome::Failed { message }, Action::Deregister, Ok(t)) =
            (&mut outcome, job.ev.action, &job.target)
        {
            if t.removing {
                message.push_str(
                    "; the device is kept until it is deregistered: retry the event, or remove it with --force",
                );
            }
        }
        // The recorder outlives the workers; should it be gone, the lease
        // runs out and the event runs again.
        if let Some(previous) = unwritten.take() {
            let _ = previous.await;
        }
        let (written, wait) = tokio::sync::oneshot::channel();
        if record.send((job.ev.id, outcome, written)).is_ok() {
            *unwritten = Some(wait);
        }
    }

    /// Writes outcomes as they come, each write taking every outcome that
    /// arrived while the last one ran. Ends when every worker has.
    async fn record(&self, mut rx: mpsc::UnboundedReceiver<Recorded>) {
        let mut batch = Vec::new();
        while rx.recv_many(&mut batch, RECORD_BATCH).await > 0 {
            let outcomes: Vec<(i64, Outcome)> =
                batch.iter().map(|(id, o, _)| (*id, o.clone())).collect();
            if let Err(e) = self.store.finish_events(&self.node, &outcomes).await {
                // The leases run out and the events run again; PUT/DELETE are
                // idempotent, so that is safe.
                tracing::error!(error = %e, events = batch.len(), "recording event outcomes failed");
            }
            let mut held = lock(&self.held);
            for (id, _, written) in batch.drain(..) {
                held.remove(&id);
                let _ = written.send(());
            }
        }
    }

    /// Renews the leases of every event in hand, a quarter lease apart, so
    /// none runs out while this node is alive, however long it waits in a
    /// queue or on a slow provider.
    async fn keep_leases(&self, mut stop: watch::Receiver<bool>) {
        let lease = Duration::from_secs(self.cfg.lease_secs);
        loop {
            tokio::select! {
                _ = stop.wait_for(|s| *s) => return,
                _ = tokio::time::sleep(lease / 4) => {}
            }
            let taken = Instant::now();
            let ids: Vec<i64> = lock(&self.held).iter().copied().collect();
            if ids.is_empty() {
                continue;
            }
            match self.store.renew_leases(&self.node, &ids, lease).await {
                Ok(_) => *lock(&self.renewed) = Some((taken, taken + lease)),
                Err(e) => tracing::error!(error = %e, events = ids.len(), "renewing leases failed"),
            }
        }
    }
}

/// Outcomes written per transaction at most.
const RECORD_BATCH: usize = 1000;

/// An outcome for the recorder, and how it tells the worker it is written.
type Recorded = (i64, Outcome, tokio::sync::oneshot::Sender<()>);

fn queue_of(mac: &touchless_domain::Mac, n: usize) -> usize {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    mac.hash(&mut h);
    (h.finish() % n as u64) as usize
}

/// The distributor (a [`Task`]): claims due events (leasing them to this
/// node) and hands each to the worker queue its MAC hashes to, so one
/// device's events never overlap. It wakes on the poll interval, on
/// [`Daemon::notify`], or at once while claims keep returning events.
///
/// At a stop the workers finish the event in hand but start no new one:
/// events already handed to a queue keep their lease and are claimed again
/// (by this node after a restart, which takes its old leases back first, or
/// by another node when the lease runs out).
pub struct Distributor {
    daemon: Arc<Daemon>,
    senders: Vec<mpsc::Sender<Job>>,
    /// The workers, then the recorder and the keeper.
    workers: Vec<tokio::task::JoinHandle<()>>,
    recorder: Option<tokio::task::JoinHandle<()>>,
    keeper: Option<tokio::task::JoinHandle<()>>,
    stop_workers: watch::Sender<bool>,
    /// The last claim returned events: more may be due right away.
    more: bool,
}

impl Distributor {
    /// Takes back this node's old leases, then starts the workers.
    pub async fn start(daemon: Arc<Daemon>) -> Self {
        // Events this node was running when it stopped (or died) are ours to
        // finish: take them back now rather than after their leases run out.
        match daemon.store.release_leases(&daemon.node).await {
            Ok(0) => {}
            Ok(n) => {
                tracing::info!(node = %daemon.node, events = n, "took back the events this node was running before it restarted")
            }
            Err(e) => tracing::error!(error = %e, "releasing this node's old leases failed"),
        }
        let n = daemon.cfg.queuenum.max(1);
        let cap = daemon.cfg.queuecap.max(1);
        let (stop_workers, stopped) = watch::channel(false);
        // Unbounded, yet never holds more than the events in hand.
        let (record, recorded) = mpsc::unbounded_channel();
        let mut senders = Vec::with_capacity(n);
        let mut workers = Vec::with_capacity(n);
        for i in 0..n {
            let (tx, mut rx) = mpsc::channel::<Job>(cap);
            senders.push(tx);
            let d = Arc::clone(&daemon);
            let mut stop = stopped.clone();
            let record = record.clone();
            workers.push(tokio::spawn(async move {
                let mut unwritten = None;
                loop {
                    let job = tokio::select! {
                        biased;
                        _ = stop.wait_for(|s| *s) => break,
                        job = rx.recv() => match job { Some(job) => job, None => break },
                    };
                    d.work(job, &record, &mut unwritten).await;
                }
                if let Some(last) = unwritten {
                    let _ = last.await;
                }
                tracing::debug!(queue = i, "queue stopped");
            }));
        }
        drop(record);
        let d = Arc::clone(&daemon);
        let recorder = tokio::spawn(async move { d.record(recorded).await });
        let d = Arc::clone(&daemon);
        let keeper = tokio::spawn(async move { d.keep_leases(stopped).await });
        Distributor {
            daemon,
            senders,
            workers,
            recorder: Some(recorder),
            keeper: Some(keeper),
            stop_workers,
            more: true,
        }
    }
}

#[async_trait::async_trait]
impl Task for Distributor {
    async fn wake(&mut self) {
        if self.more {
            return;
        }
        let poll = Duration::from_millis(self.daemon.cfg.poll_ms);
        tokio::select! {
            _ = tokio::time::sleep(poll) => {}
            _ = self.daemon.wake.notified() => {}
        }
    }

    async fn work(&mut self) -> anyhow::Result<()> {
        self.more = false;
        let free: usize = self.senders.iter().map(|s| s.capacity()).sum();
        if free == 0 {
            return Ok(());
        }
        let lease = Duration::from_secs(self.daemon.cfg.lease_secs);
        let lease_until = Instant::now() + lease;
        let events = self
            .daemon
            .store
            .claim_events(&self.daemon.node, free.min(1000) as u32, lease)
            .await
            .map_err(|e| anyhow::anyhow!("(DISTRIBUTOR): claiming events failed: {e}"))?;
        if events.is_empty() {
            return Ok(());
        }
        tracing::info!("(DISTRIBUTOR): Distributing events. Num={}", events.len());
        let n = self.senders.len();
        for job in self.daemon.prepare(events, lease_until).await {
            let q = queue_of(&job.ev.mac, n);
            if self.senders[q].send(job).await.is_err() {
                break;
            }
        }
        self.more = true;
        Ok(())
    }

    async fn flush(&mut self) -> anyhow::Result<()> {
        let _ = self.stop_workers.send(true);
        self.senders.clear();
        for w in self.workers.drain(..) {
            let _ = w.await;
        }
        // The workers are done: the recorder writes what they left, then ends.
        if let Some(r) = self.recorder.take() {
            let _ = r.await;
        }
        if let Some(k) = self.keeper.take() {
            let _ = k.await;
        }
        Ok(())
    }
}
