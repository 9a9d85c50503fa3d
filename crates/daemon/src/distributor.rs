//! The distributor and its workers: claims events, looks up what their
//! attempts need, and hands them to `queuenum` queues (a device's events to
//! the queue that holds one already, so they never overlap; others to the
//! queue with the most room); each queue's worker runs one call at a time,
//! grouping events of one provider and action up to what that provider
//! takes per call.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use touchless_domain::Mac;

use tokio::sync::{mpsc, watch};

use super::queue::{Daemon, Job};
use touchless_runtime::tasks::Task;

/// The next call's events: `first`, and as many of those waiting (taken
/// from the channel without waiting) as share its provider and action, up
/// to the provider's batch size. The rest keep their order for later.
fn batch(first: Job, waiting: &mut VecDeque<Job>, rx: &mut mpsc::Receiver<Job>) -> Vec<Job> {
    let size = first.batch_size();
    if size <= 1 {
        return vec![first];
    }
    while waiting.len() < size {
        match rx.try_recv() {
            Ok(job) => waiting.push_back(job),
            Err(_) => break,
        }
    }
    let mut jobs = vec![first];
    let mut rest = VecDeque::with_capacity(waiting.len());
    while let Some(job) = waiting.pop_front() {
        if jobs.len() < size && job.same_call(&jobs[0]) {
            jobs.push(job);
        } else {
            rest.push_back(job);
        }
    }
    *waiting = rest;
    jobs
}

/// Which queue holds each device's events in hand, and how many.
///
/// A device's events go where one of them already is, so they run one
/// after another; any other goes to the queue with the most room. (Hashing
/// MACs to queues, as before, left the busiest of 256 queues with about half
/// again the average, and the run took as long as that queue.)
#[derive(Default)]
struct Placement {
    held: HashMap<Mac, (usize, u32)>,
    /// Where the search for the roomiest queue starts, so ties rotate.
    next: usize,
}

impl Placement {
    fn place(&mut self, mac: Mac, senders: &[mpsc::Sender<Job>]) -> usize {
        if let Some((q, n)) = self.held.get_mut(&mac) {
            *n += 1;
            return *q;
        }
        let len = senders.len();
        let start = self.next;
        // The first of the roomiest, counting from `next`.
        let q = (0..len)
            .map(|i| (start + i) % len)
            .min_by_key(|&q| std::cmp::Reverse(senders[q].capacity()))
            .unwrap_or(0);
        self.next = (q + 1) % len;
        self.held.insert(mac, (q, 1));
        q
    }

    fn done(&mut self, mac: Mac) {
        if let Some((_, n)) = self.held.get_mut(&mac) {
            *n -= 1;
            if *n == 0 {
                self.held.remove(&mac);
            }
        }
    }
}

fn lock(p: &Mutex<Placement>) -> std::sync::MutexGuard<'_, Placement> {
    p.lock().unwrap_or_else(|e| e.into_inner())
}

/// The distributor (a [`Task`]): claims due events (leasing them to this
/// node) and hands each to a worker queue ([`Placement`]), so one device's
/// events never overlap. It wakes on the poll interval, on
/// [`Daemon::notify`], or at once while claims keep returning events.
///
/// At a stop the workers finish the event in hand but start no new one:
/// events already handed to a queue keep their lease and are claimed again
/// (by this node after a restart, which takes its old leases back first, or
/// by another node when the lease runs out).
pub struct Distributor {
    daemon: Arc<Daemon>,
    senders: Vec<mpsc::Sender<Job>>,
    placement: Arc<Mutex<Placement>>,
    /// The workers, then the recorder and the keeper.
    workers: Vec<tokio::task::JoinHandle<()>>,
    recorder: Option<tokio::task::JoinHandle<()>>,
    keeper: Option<tokio::task::JoinHandle<()>>,
    stop_workers: watch::Sender<bool>,
    /// The last claim returned events: more may be due right away.
    more: bool,
}

impl Distributor {
    /// Room left in the queues, in events.
    fn free(&self) -> usize {
        self.senders.iter().map(|s| s.capacity()).sum()
    }

    /// Whether less than a quarter of the queues' room is left: the next
    /// claim waits for room for a batch (see `wake`).
    fn nearly_full(&self) -> bool {
        let total = self.senders.len() * self.daemon.cfg.queuecap.max(1);
        self.free() * 4 < total
    }

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
        let placement = Arc::new(Mutex::new(Placement::default()));
        for i in 0..n {
            let (tx, mut rx) = mpsc::channel::<Job>(cap);
            senders.push(tx);
            let d = Arc::clone(&daemon);
            let mut stop = stopped.clone();
            let record = record.clone();
            let placement = Arc::clone(&placement);
            workers.push(tokio::spawn(async move {
                let mut unwritten = VecDeque::new();
                let mut waiting = VecDeque::new();
                loop {
                    let first = match waiting.pop_front() {
                        Some(job) => job,
                        None => tokio::select! {
                            biased;
                            _ = stop.wait_for(|s| *s) => break,
                            job = rx.recv() => match job { Some(job) => job, None => break },
                        },
                    };
                    if *stop.borrow() {
                        break;
                    }
                    let jobs = batch(first, &mut waiting, &mut rx);
                    let macs: Vec<Mac> = jobs.iter().map(|j| j.ev.mac).collect();
                    d.work(jobs, &record, &mut unwritten).await;
                    {
                        let mut p = lock(&placement);
                        for mac in macs {
                            p.done(mac);
                        }
                    }
                    d.room.notify_one();
                }
                for last in unwritten {
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
            placement,
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
    /// Waits for the poll interval or an enqueue; with every queue full,
    /// until the workers have emptied a quarter of them. (Waiting for the
    /// poll there left fast workers idle most of each second: 10,000 local
    /// registrations took 24 s with 4 queues, the workers busy a third of
    /// it.) A quarter, so a claim fetches a batch and not one event.
    async fn wake(&mut self) {
        if self.more {
            return;
        }
        let poll = tokio::time::sleep(Duration::from_millis(self.daemon.cfg.poll_ms));
        tokio::pin!(poll);
        let full = self.nearly_full();
        loop {
            tokio::select! {
                _ = &mut poll => return,
                _ = self.daemon.wake.notified() => return,
                _ = self.daemon.room.notified(), if full => {
                    if !self.nearly_full() {
                        return;
                    }
                }
            }
        }
    }

    async fn work(&mut self) -> anyhow::Result<()> {
        self.more = false;
        if self.nearly_full() {
            return Ok(());
        }
        let free = self.free();
        let lease = Duration::from_secs(self.daemon.cfg.lease_secs);
        let lease_until = Instant::now() + lease;
        let claiming = Instant::now();
        let events = self
            .daemon
            .store
            .claim_events(&self.daemon.node, free.min(1000) as u32, lease)
            .await
            .map_err(|e| anyhow::anyhow!("(DISTRIBUTOR): claiming events failed: {e}"))?;
        if events.is_empty() {
            return Ok(());
        }
        self.daemon.stage("claim", claiming.elapsed());
        tracing::info!("(DISTRIBUTOR): Distributing events. Num={}", events.len());
        let preparing = Instant::now();
        let jobs = self.daemon.prepare(events, lease_until).await;
        self.daemon.stage("prepare", preparing.elapsed());
        for job in jobs {
            let q = lock(&self.placement).place(job.ev.mac, &self.senders);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn mac(n: u8) -> Mac {
        Mac::parse(&format!("0004130000{n:02X}")).unwrap()
    }

    #[test]
    fn a_device_stays_on_its_queue_and_others_spread() {
        let queues: Vec<_> = (0..4).map(|_| mpsc::channel::<Job>(10)).collect();
        let senders: Vec<_> = queues.iter().map(|(tx, _)| tx.clone()).collect();
        let mut p = Placement::default();
        let first: Vec<usize> = (1..=4).map(|n| p.place(mac(n), &senders)).collect();
        let mut spread = first.clone();
        spread.sort_unstable();
        assert_eq!(spread, [0, 1, 2, 3], "four devices, four queues");
        // A second event of a device joins the first, wherever there is room.
        assert_eq!(p.place(mac(2), &senders), first[1]);
        p.done(mac(2));
        assert_eq!(
            p.place(mac(2), &senders),
            first[1],
            "one event still in hand"
        );
        p.done(mac(2));
        p.done(mac(2));
        assert!(
            !p.held.contains_key(&mac(2)),
            "forgotten once none is in hand"
        );
    }
}
