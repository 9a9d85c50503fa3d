//! One shape for the node's background tasks: the provisioning view's
//! reloader, the two contact-log writers, the queue's distributor and the
//! access-log writer.
//!
//! Each is a [`Task`]: it sleeps until something wakes it (a timer, a change
//! hint, a notification), does one round of work, and when the node stops it
//! flushes what it holds. [`Tasks`] runs them, keeps a [`TaskStatus`] for
//! each that anyone may read, and stops them one at a time in the order the
//! caller declares, so a writer is flushed only after what feeds it stopped.

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tokio::sync::watch;
use tokio::task::JoinHandle;

#[async_trait]
pub trait Task: Send + 'static {
    /// Waits until there is work. Dropped (cancelled) when the node stops, so
    /// it must only wait, never hold work half done.
    async fn wake(&mut self);

    /// One round of work. Not cancelled: a stop waits for it to end. An error
    /// is logged and counted, and the loop goes on.
    async fn work(&mut self) -> anyhow::Result<()>;

    /// Once, after the last round: write out what is held.
    async fn flush(&mut self) -> anyhow::Result<()> {
        Ok(())
    }
}

/// Runs `f`, a stretch of work without an await (changing or dropping
/// 100,000 entries of the provisioning view takes tens of milliseconds),
/// so that the tasks queued behind it on this worker, phones' requests
/// among them, move to another thread meanwhile instead of waiting for it.
/// On a single-threaded runtime (some tests) it just runs `f`.
pub fn cpu_bound<T>(f: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}

/// Where a task is, what it has done, and its last failure.
#[derive(Debug)]
pub struct TaskStatus {
    name: &'static str,
    state: AtomicU8,
    rounds: AtomicU64,
    failures: AtomicU64,
    last_error: Mutex<Option<String>>,
}

/// A task's [`TaskStatus::state`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskState {
    Running,
    /// Asked to stop: finishing its round, then flushing.
    Stopping,
    /// Flushed and ended.
    Stopped,
}

impl TaskStatus {
    fn new(name: &'static str) -> Self {
        TaskStatus {
            name,
            state: AtomicU8::new(TaskState::Running as u8),
            rounds: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            last_error: Mutex::new(None),
        }
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    pub fn state(&self) -> TaskState {
        match self.state.load(Ordering::Acquire) {
            0 => TaskState::Running,
            1 => TaskState::Stopping,
            _ => TaskState::Stopped,
        }
    }

    /// Rounds of work done, failed ones included.
    pub fn rounds(&self) -> u64 {
        self.rounds.load(Ordering::Relaxed)
    }

    pub fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }

    pub fn last_error(&self) -> Option<String> {
        self.last_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn set(&self, s: TaskState) {
        self.state.store(s as u8, Ordering::Release);
    }

    fn failed(&self, e: &anyhow::Error, during: &str) {
        self.failures.fetch_add(1, Ordering::Relaxed);
        tracing::error!(
            task = self.name,
            error = format!("{e:#}"),
            "{during} failed"
        );
        *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(format!("{e:#}"));
    }
}

struct Spawned {
    status: Arc<TaskStatus>,
    stop: watch::Sender<bool>,
    join: JoinHandle<()>,
}

/// The running tasks of a node.
#[derive(Default)]
pub struct Tasks {
    running: Vec<Spawned>,
}

impl Tasks {
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts `task` under `name` (unique among this node's tasks).
    pub fn spawn(&mut self, name: &'static str, task: impl Task) {
        debug_assert!(self.running.iter().all(|s| s.status.name != name));
        let status = Arc::new(TaskStatus::new(name));
        let (stop, stopped) = watch::channel(false);
        let join = tokio::spawn(drive(task, stopped, Arc::clone(&status)));
        self.running.push(Spawned { status, stop, join });
    }

    pub fn statuses(&self) -> Vec<Arc<TaskStatus>> {
        self.running.iter().map(|s| Arc::clone(&s.status)).collect()
    }

    /// Stops the tasks one at a time: those named in `order` first, in that
    /// order, then any others in the order they were started. Each has
    /// flushed before the next is asked to stop.
    pub async fn stop(mut self, order: &[&str]) {
        let mut sorted = Vec::with_capacity(self.running.len());
        for name in order {
            if let Some(i) = self.running.iter().position(|s| s.status.name == *name) {
                sorted.push(self.running.remove(i));
            }
        }
        sorted.append(&mut self.running);
        for s in sorted {
            let _ = s.stop.send(true);
            if let Err(e) = s.join.await {
                tracing::error!(task = s.status.name, error = %e, "background task ended abnormally");
            }
        }
    }
}

async fn drive<T: Task>(mut task: T, mut stop: watch::Receiver<bool>, status: Arc<TaskStatus>) {
    loop {
        tokio::select! {
            // A stop wins over work that is also due: the flush does it.
            biased;
            _ = stop.wait_for(|s| *s) => break,
            _ = task.wake() => {}
        }
        status.rounds.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = task.work().await {
            status.failed(&e, "a round of work");
        }
    }
    status.set(TaskState::Stopping);
    if let Err(e) = task.flush().await {
        status.failed(&e, "the final flush");
    }
    status.set(TaskState::Stopped);
    tracing::debug!(
        task = status.name,
        rounds = status.rounds(),
        "background task stopped"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    struct Counter {
        log: Arc<Mutex<Vec<String>>>,
        name: &'static str,
        n: u32,
    }

    #[async_trait]
    impl Task for Counter {
        async fn wake(&mut self) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        async fn work(&mut self) -> anyhow::Result<()> {
            self.n += 1;
            if self.n == 2 {
                anyhow::bail!("round two fails");
            }
            Ok(())
        }
        async fn flush(&mut self) -> anyhow::Result<()> {
            self.log
                .lock()
                .unwrap()
                .push(format!("{} flushed", self.name));
            Ok(())
        }
    }

    #[tokio::test]
    async fn runs_counts_and_stops_in_the_declared_order() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Tasks::new();
        for name in ["a", "b", "c"] {
            tasks.spawn(
                name,
                Counter {
                    log: Arc::clone(&log),
                    name,
                    n: 0,
                },
            );
        }
        let statuses = tasks.statuses();
        while statuses.iter().any(|s| s.rounds() < 3) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(statuses.iter().all(|s| s.state() == TaskState::Running));
        assert!(statuses.iter().all(|s| s.failures() == 1));
        assert_eq!(statuses[0].last_error().as_deref(), Some("round two fails"));
        tasks.stop(&["c", "a"]).await;
        assert_eq!(
            *log.lock().unwrap(),
            ["c flushed", "a flushed", "b flushed"]
        );
        assert!(statuses.iter().all(|s| s.state() == TaskState::Stopped));
    }
}
