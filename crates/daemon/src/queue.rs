//! The event queue's [`Daemon`]: what the distributor and its workers
//! (`distributor.rs`) share. The distributor claims due events from the
//! database (with a lease) and hands them to `queuenum` queues of `queuecap`
//! events each; one worker per queue runs them, one provider call at a time
//! (one event, or a batch for a provider that takes several). Events of one
//! MAC hash to one queue, and the
//! store never hands out an event while an older one of the same MAC is
//! unfinished, so they run in order. A crash loses nothing: a claimed event
//! whose lease runs out is claimed again, and PUT/DELETE are idempotent.
//!
//! The database sees batches, not events: what an attempt needs (device,
//! tenant, provider) is read once per claim, the leases of every event in
//! hand are renewed by one statement (the keeper), and outcomes are written
//! by one recorder, as many per transaction as have come in meanwhile (a
//! worker hands in its next outcomes only once all but its last call's are
//! written, so a crash re-runs at most three calls' events per queue; the
//! PostgreSQL store runs these writes on a connection and thread of their
//! own, so their round trips do not wait behind the workers). So a
//! queue waiting on a slow cloud with hundreds of workers is not held back
//! by one statement per event on the database's single writer.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch, Notify};

use touchless_domain::{Mac, TenantId, TouchlessMode};
use touchless_phones::Vendor;
use touchless_store::{Action, Device, Event, Outcome, Provider, Store, Tenant};

use super::provider::{ProviderApi, ProviderError, Registration};
use touchless_runtime::config::DaemonConfig;

/// A provider record and the API client built from it.
type Client = (Provider, Arc<dyn ProviderApi>);

pub struct Daemon {
    pub(super) store: Arc<dyn Store>,
    pub(super) cfg: DaemonConfig,
    public_url: String,
    /// Identifies this process's leases.
    pub(super) node: String,
    pub(super) wake: Notify,
    /// A worker finished a call: its queue has room again (see
    /// `Distributor::wake`).
    pub(super) room: Notify,
    clients: Mutex<HashMap<String, Client>>,
    /// A provider that answered 429 is left alone by every worker until then.
    paused: Mutex<HashMap<String, Instant>>,
    /// The events this node has claimed and not yet recorded an outcome
    /// for: the keeper renews their leases.
    held: Mutex<HashSet<i64>>,
    /// The keeper's last renewal that succeeded: (taken before it read
    /// `held`, the time its leases run until).
    renewed: Mutex<Option<(Instant, Instant)>>,
    metrics: Arc<touchless_runtime::metrics::Metrics>,
}

/// One claimed event and what its attempt needs, looked up with its batch.
pub(super) struct Job {
    pub(super) ev: Event,
    /// Its lease runs at least until then: the claim began before this.
    lease_until: Instant,
    /// When it was added to [`Daemon::held`].
    held_at: Instant,
    target: Result<Target, String>,
}

impl Job {
    /// How many events its provider takes in one call.
    pub(super) fn batch_size(&self) -> usize {
        self.target.as_ref().map_or(1, |t| t.api.batch_size())
    }

    /// Whether it can go in one call with `other`: same provider, same action.
    pub(super) fn same_call(&self, other: &Job) -> bool {
        match (&self.target, &other.target) {
            (Ok(a), Ok(b)) => a.provider == b.provider && self.ev.action == other.ev.action,
            _ => false,
        }
    }
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

/// The provider of a tenant's `vendor` phones: the master account for a
/// tenant in `master` mode, the tenant's own in `per-tenant` mode.
pub fn provider_of<'a>(
    providers: &'a [Provider],
    tenant: &Tenant,
    vendor: Vendor,
) -> Option<&'a Provider> {
    providers.iter().find(|p| {
        p.vendor == vendor
            && match tenant.mode {
                TouchlessMode::Master => p.tenant.is_none(),
                TouchlessMode::PerTenant => p.tenant.as_ref() == Some(&tenant.id),
            }
    })
}

/// Why a device has no provider: which scope lacks one for which vendor, and
/// the command that adds it.
pub fn missing_provider(tenant: &Tenant, vendor: Vendor) -> String {
    let missing = match tenant.mode {
        TouchlessMode::Master => format!("no master provider for {vendor} phones is configured"),
        TouchlessMode::PerTenant => format!(
            "tenant {} is in per-tenant mode but has no provider for {vendor} phones",
            tenant.id
        ),
    };
    let Some(kind) = super::kinds::kind_for(vendor) else {
        return format!(
            "{missing}, and no provider kind of this touchless registers {vendor} phones (it speaks {})",
            super::kinds::known().join(", ")
        );
    };
    let tenant_flag = match tenant.mode {
        TouchlessMode::Master => String::new(),
        TouchlessMode::PerTenant => format!(" --tenant {}", tenant.id),
    };
    format!("{missing}; add one with `touchless provider add{tenant_flag} --kind {kind}`")
}

impl Daemon {
    /// `node` names this process in the queue's leases; it must be stable
    /// across restarts (see [`run`]) and distinct between nodes.
    pub fn new(
        store: Arc<dyn Store>,
        cfg: DaemonConfig,
        public_url: &str,
        node: String,
        metrics: Arc<touchless_runtime::metrics::Metrics>,
    ) -> Arc<Self> {
        Arc::new(Daemon {
            store,
            cfg,
            public_url: public_url.to_owned(),
            node,
            wake: Notify::new(),
            room: Notify::new(),
            clients: Mutex::new(HashMap::new()),
            paused: Mutex::new(HashMap::new()),
            held: Mutex::new(HashSet::new()),
            renewed: Mutex::new(None),
            metrics,
        })
    }

    /// Times one stage of the queue (`claim`, `prepare`, `write` of
    /// outcomes, a worker's `wait_for_write`), so an operator (and
    /// `benches/queue_latency.rs`) can see where a slow queue waits.
    pub(super) fn stage(&self, stage: &'static str, took: Duration) {
        self.metrics
            .histogram(
                "touchless_queue_stage_duration_seconds",
                &[("stage", stage)],
            )
            .record(took.as_secs_f64());
    }

    /// Something was enqueued: distribute now instead of at the next poll.
    pub fn notify(&self) {
        self.wake.notify_one();
    }

    /// The API client for a provider record, reused while the record is
    /// unchanged (so its session state, such as a discovery cache, survives);
    /// `Err` says why there is none (a kind this build does not speak).
    pub fn client(&self, p: &Provider) -> Result<Arc<dyn ProviderApi>, String> {
        let mut c = lock(&self.clients);
        if let Some((rec, api)) = c.get(&p.name) {
            if rec == p {
                return Ok(Arc::clone(api));
            }
        }
        let api = super::kinds::client(p, Duration::from_millis(self.cfg.request_timeout_ms))?;
        c.insert(p.name.clone(), (p.clone(), Arc::clone(&api)));
        Ok(api)
    }

    /// What each claimed event's attempt needs, read in a few statements for
    /// the whole batch: the devices, their tenants and the providers. An
    /// event whose device, tenant or provider is missing (or whose lookup
    /// failed) carries the message its outcome records.
    pub(super) async fn prepare(&self, events: Vec<Event>, lease_until: Instant) -> Vec<Job> {
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

    /// The provider responsible for a device (see [`provider_of`]): the master account for
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
        let vendor = device.model.vendor();
        let p = provider_of(providers, tenant, vendor)
            .ok_or_else(|| missing_provider(tenant, vendor))?;
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
                serial: device.serial.as_ref().map(|s| s.to_string()),
                url: format!(
                    "{}{}",
                    self.public_url,
                    device.model.vendor().first_contact_url_path(
                        device.model,
                        device.mac,
                        user,
                        pass
                    )
                ),
                user: user.to_owned(),
                pass: pass.to_owned(),
            }
        });
        Ok(Target {
            provider: p.name.clone(),
            api: self.client(p)?,
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

    /// What an attempt's result means for its event: done, retried with
    /// backoff (throttling pauses the provider for every worker and does not
    /// count as a failure), or failed with the words the admin reads.
    fn outcome(&self, job: &Job, provider: &str, result: Result<(), ProviderError>) -> Outcome {
        let ev = &job.ev;
        let action = match ev.action {
            Action::Register => "add",
            Action::Deregister => "delete",
        };
        let e = match result {
            Ok(()) => {
                tracing::info!(
                    "Event handled. Action={action} Mac={} Provider={provider} Attempt={}",
                    ev.mac,
                    ev.attempts
                );
                return Outcome::Done;
            }
            Err(e) => e,
        };
        tracing::error!(
            "Error while handling Event. Action={action} Err={e} Mac={} Provider={provider} Attempt={}",
            ev.mac,
            ev.attempts
        );
        let retry_at = |wait: Duration| {
            chrono::Utc::now()
                + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::seconds(1))
        };
        let mut outcome = match e {
            ProviderError::Throttled {
                message,
                retry_after,
            } if ev.attempts < self.cfg.max_attempts * 10 => {
                let until = Instant::now() + retry_after;
                lock(&self.paused).insert(provider.to_owned(), until);
                Outcome::Retry {
                    at: retry_at(self.backoff(1, Some(retry_after))),
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
                    at: retry_at(wait),
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
        };
        if let (Outcome::Failed { message }, Action::Deregister, Ok(t)) =
            (&mut outcome, ev.action, &job.target)
        {
            if t.removing {
                message.push_str(
                    "; the device is kept until it is deregistered: retry the event, or remove it with --force",
                );
            }
        }
        outcome
    }

    /// Whether a job's lease is sure to last its attempt, renewing it if
    /// need be (the keeper normally has); `false`: no longer ours, dropped.
    async fn still_ours(&self, job: &Job) -> bool {
        let lease = Duration::from_secs(self.cfg.lease_secs);
        if self.lease_left(job) >= lease / 2 {
            return true;
        }
        let kept = match self.store.renew_lease(job.ev.id, &self.node, lease).await {
            Ok(kept) => kept,
            Err(e) => {
                tracing::error!(error = %e, event = job.ev.id, "renewing a lease failed");
                false
            }
        };
        if !kept {
            lock(&self.held).remove(&job.ev.id);
        }
        kept
    }

    /// Runs one call for `jobs` (one event, or a batch of one provider and
    /// action that its client takes in one call) and hands their outcomes to
    /// the recorder, once all but the last of the queue's earlier calls are
    /// written (`unwritten`, [`UNWRITTEN_CALLS`]): the next calls overlap
    /// the writes, yet a node that dies has at most two calls' events done
    /// but not recorded per queue, besides those in hand (all run again
    /// elsewhere, harmlessly).
    pub(super) async fn work(
        &self,
        jobs: Vec<Job>,
        record: &mpsc::UnboundedSender<Recorded>,
        unwritten: &mut std::collections::VecDeque<tokio::sync::oneshot::Receiver<()>>,
    ) {
        let mut live = Vec::with_capacity(jobs.len());
        for job in jobs {
            if self.still_ours(&job).await {
                live.push(job);
            }
        }
        let mut outcomes = Vec::with_capacity(live.len());
        let mut calls = Vec::with_capacity(live.len());
        for job in live {
            match &job.target {
                Err(message) => {
                    tracing::error!(
                        "Error while handling Event. Err={message} Mac={}",
                        job.ev.mac
                    );
                    let failed = Outcome::Failed {
                        message: message.clone(),
                    };
                    outcomes.push((job.ev.id, failed));
                }
                Ok(_) => calls.push(job),
            }
        }
        if let Some(Ok(t)) = calls.first().map(|j| &j.target) {
            let (api, provider) = (Arc::clone(&t.api), t.provider.clone());
            let pause = lock(&self.paused).get(&provider).copied();
            if let Some(until) = pause {
                tokio::time::sleep_until(until.into()).await;
            }
            let started = Instant::now();
            let results = match calls[0].ev.action {
                Action::Register => {
                    let regs: Vec<Registration> = calls
                        .iter()
                        .filter_map(|j| j.target.as_ref().ok()?.registration.clone())
                        .collect();
                    match regs.as_slice() {
                        [one] => vec![api.register(one).await],
                        many => api.register_batch(many).await,
                    }
                }
                Action::Deregister => {
                    let macs: Vec<_> = calls.iter().map(|j| j.ev.mac).collect();
                    match macs.as_slice() {
                        [one] => vec![api.deregister(*one).await],
                        many => api.deregister_batch(many).await,
                    }
                }
            };
            self.metrics
                .histogram(
                    "touchless_provider_call_duration_seconds",
                    &[("provider", &provider)],
                )
                .record(started.elapsed().as_secs_f64());
            for r in &results {
                let outcome = match r {
                    Ok(()) => "ok",
                    Err(ProviderError::Transient { .. }) => "transient",
                    Err(ProviderError::Throttled { .. }) => "throttled",
                    Err(ProviderError::Permanent(_)) => "permanent",
                };
                self.metrics
                    .counter(
                        "touchless_provider_calls_total",
                        &[("provider", &provider), ("outcome", outcome)],
                    )
                    .increment(1);
            }
            let mut results = results.into_iter();
            for job in &calls {
                // A client that answers fewer results than it was given
                // leaves the rest to be tried again.
                let result = results.next().unwrap_or_else(|| {
                    Err(ProviderError::Transient {
                        message: format!("provider {provider} gave no answer for this device"),
                        retry_after: None,
                    })
                });
                outcomes.push((job.ev.id, self.outcome(job, &provider, result)));
            }
        }
        // The recorder outlives the workers; should it be gone, the leases
        // run out and the events run again.
        let waiting = Instant::now();
        while unwritten.len() >= UNWRITTEN_CALLS {
            if let Some(oldest) = unwritten.pop_front() {
                let _ = oldest.await;
            }
        }
        self.stage("wait_for_write", waiting.elapsed());
        let mut last = None;
        for (id, outcome) in outcomes {
            let label = match &outcome {
                Outcome::Done => "done",
                Outcome::Retry { .. } => "retry",
                Outcome::Failed { .. } => "failed",
            };
            self.metrics
                .counter("touchless_queue_outcomes_total", &[("outcome", label)])
                .increment(1);
            let (written, wait) = tokio::sync::oneshot::channel();
            if record.send((id, outcome, written)).is_ok() {
                last = Some(wait);
            }
        }
        // The last outcome of a call is written with (or after) the others.
        unwritten.extend(last);
    }

    /// Writes outcomes as they come, each write taking every outcome that
    /// arrived while the last one ran. Ends when every worker has.
    pub(super) async fn record(&self, mut rx: mpsc::UnboundedReceiver<Recorded>) {
        let mut batch = Vec::new();
        while rx.recv_many(&mut batch, RECORD_BATCH).await > 0 {
            let outcomes: Vec<(i64, Outcome)> =
                batch.iter().map(|(id, o, _)| (*id, o.clone())).collect();
            let writing = Instant::now();
            let written = self.store.finish_events(&self.node, &outcomes).await;
            self.stage("write", writing.elapsed());
            if let Err(e) = written {
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
    pub(super) async fn keep_leases(&self, mut stop: watch::Receiver<bool>) {
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

/// Calls per queue whose outcomes may be unwritten when the next call's
/// are handed in. With one, every worker waited for each write before its
/// next outcome (a 10 ms write on PostgreSQL at 256 queues was a third of
/// a 20 ms call again); with two, a write has a whole call to finish in.
const UNWRITTEN_CALLS: usize = 2;

/// Outcomes written per transaction at most.
const RECORD_BATCH: usize = 1000;

/// An outcome for the recorder, and how it tells the worker it is written.
pub(super) type Recorded = (i64, Outcome, tokio::sync::oneshot::Sender<()>);
