//! The event queue: a distributor claims due events from the database (with a
//! lease) and hands them to `queuenum` queues of `queuecap` events each; one
//! worker per queue runs them. Events of one MAC hash to one queue, and the
//! store never hands out an event while an older one of the same MAC is
//! unfinished, so they run in order. A crash loses nothing: a claimed event
//! whose lease runs out is claimed again, and PUT/DELETE are idempotent.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, watch, Notify};

use crate::tasks::Task;
use touchless_domain::TouchlessMode;
use touchless_store::{Action, Event, Outcome, Provider, Store};

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
    paused: Mutex<HashMap<String, std::time::Instant>>,
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
        })
    }

    /// Something was enqueued: distribute now instead of at the next poll.
    pub fn notify(&self) {
        self.wake.notify_one();
    }

    /// The API client for a provider record, reused while the record is unchanged
    /// (so its discovery cache survives).
    pub fn client(&self, p: &Provider) -> Arc<dyn ProviderApi> {
        let mut c = self.clients.lock().unwrap_or_else(|e| e.into_inner());
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

    /// The event's device and the provider responsible for it: the master
    /// account for tenants in `master` mode, the tenant's own account for
    /// `per-tenant`.
    async fn provider_for(
        &self,
        ev: &Event,
    ) -> Result<(touchless_store::Device, Provider, Arc<dyn ProviderApi>), String> {
        let device = self
            .store
            .get_device(ev.mac)
            .await
            .map_err(|e| format!("store error: {e}"))?
            .ok_or_else(|| format!("device {} no longer exists", ev.mac))?;
        let tenant = self
            .store
            .get_tenant(&device.tenant)
            .await
            .map_err(|e| format!("store error: {e}"))?
            .ok_or_else(|| format!("tenant {} no longer exists", device.tenant))?;
        let providers = self
            .store
            .list_providers()
            .await
            .map_err(|e| format!("store error: {e}"))?;
        let found = match tenant.mode {
            TouchlessMode::Master => providers.into_iter().find(|p| p.tenant.is_none()),
            TouchlessMode::PerTenant => providers
                .into_iter()
                .find(|p| p.tenant.as_ref() == Some(&tenant.id)),
        };
        let p = found.ok_or_else(|| match tenant.mode {
            TouchlessMode::Master => "no master provider is configured; add one with `touchless provider add`".to_owned(),
            TouchlessMode::PerTenant => format!(
                "tenant {} is in per-tenant mode but has no provider; add one with `touchless provider add --tenant {}`",
                tenant.id, tenant.id
            ),
        })?;
        let api = self.client(&p);
        Ok((device, p, api))
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

    async fn handle(&self, ev: &Event) -> Outcome {
        let action = match ev.action {
            Action::Register => "add",
            Action::Deregister => "delete",
        };
        let (device, provider, api) = match self.provider_for(ev).await {
            Ok(p) => p,
            Err(message) => {
                tracing::error!(
                    "Error while handling Event. Action={action} Err={message} Mac={}",
                    ev.mac
                );
                return Outcome::Failed { message };
            }
        };
        let pause = self
            .paused
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&provider.name)
            .copied();
        if let Some(until) = pause {
            tokio::time::sleep_until(until.into()).await;
        }
        let result = match ev.action {
            Action::Register => {
                let d = &device;
                // The staged credentials; the current ones if a newer
                // event already promoted them (a repeat is harmless).
                let (user, pass) = match &d.ztprov_next {
                    Some(n) => (n.user.as_str(), n.pass.as_str()),
                    None => (d.ztprov_user.as_str(), d.ztprov_pass.as_str()),
                };
                api.register(&Registration {
                    mac: d.mac,
                    model: d.model,
                    url: format!("{}/ztprov/{}-{}.htm", self.public_url, d.model, d.mac),
                    user: user.to_owned(),
                    pass: pass.to_owned(),
                })
                .await
            }
            Action::Deregister => api.deregister(ev.mac).await,
        };
        match result {
            Ok(()) => {
                tracing::info!(
                    "Event handled. Action={action} Mac={} Provider={} Attempt={}",
                    ev.mac,
                    provider.name,
                    ev.attempts
                );
                Outcome::Done
            }
            Err(e) => {
                tracing::error!(
                    "Error while handling Event. Action={action} Err={e} Mac={} Provider={} Attempt={}",
                    ev.mac,
                    provider.name,
                    ev.attempts
                );
                match e {
                    // Throttling is the provider pacing us, not a failure: wait as
                    // told (all workers, via the pause), and do not count it.
                    ProviderError::Throttled {
                        message,
                        retry_after,
                    } if ev.attempts < self.cfg.max_attempts * 10 => {
                        let until = std::time::Instant::now() + retry_after;
                        self.paused
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .insert(provider.name.clone(), until);
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

    async fn work(&self, ev: Event) {
        let lease = Duration::from_secs(self.cfg.lease_secs);
        // The event may have waited in the queue; make sure it is still ours,
        // and that the attempt gets a whole lease.
        match self.store.renew_lease(ev.id, &self.node, lease).await {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => {
                tracing::error!(error = %e, event = ev.id, "renewing a lease failed");
                return;
            }
        }
        let mut outcome = self.handle(&ev).await;
        if let (Outcome::Failed { message }, Action::Deregister) = (&mut outcome, ev.action) {
            if let Ok(Some(d)) = self.store.get_device(ev.mac).await {
                if d.removing {
                    message.push_str(
                        "; the device is kept until it is deregistered: retry the event, or remove it with --force",
                    );
                }
            }
        }
        if let Err(e) = self.store.finish_event(ev.id, &self.node, &outcome).await {
            // The lease will run out and the event will run again; PUT/DELETE
            // are idempotent, so that is safe.
            tracing::error!(error = %e, event = ev.id, "recording an event's outcome failed");
        }
    }
}

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
    senders: Vec<mpsc::Sender<Event>>,
    workers: Vec<tokio::task::JoinHandle<()>>,
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
        let mut senders = Vec::with_capacity(n);
        let mut workers = Vec::with_capacity(n);
        for i in 0..n {
            let (tx, mut rx) = mpsc::channel::<Event>(cap);
            senders.push(tx);
            let d = Arc::clone(&daemon);
            let mut stop = stopped.clone();
            workers.push(tokio::spawn(async move {
                loop {
                    let ev = tokio::select! {
                        biased;
                        _ = stop.wait_for(|s| *s) => break,
                        ev = rx.recv() => match ev { Some(ev) => ev, None => break },
                    };
                    d.work(ev).await;
                }
                tracing::debug!(queue = i, "queue stopped");
            }));
        }
        Distributor {
            daemon,
            senders,
            workers,
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
        for ev in events {
            let q = queue_of(&ev.mac, n);
            if self.senders[q].send(ev).await.is_err() {
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
        Ok(())
    }
}
