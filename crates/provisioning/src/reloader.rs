//! The task that keeps the provisioning view up to date (see
//! [`crate::directory`]).

use std::sync::Arc;

use crate::directory::Directory;
use touchless_runtime::tasks::Task;

/// Keeps the view fresh (a [`Task`]).
///
/// Change hints and the poll only mark the view as due. A reload reads only
/// what changed, and is usually a millisecond or two; after a slow one (more
/// than 20 ms: the first load, or a queue that changed thousands of devices
/// at once) the next waits until twice its duration has passed, so a stream
/// of large changes takes at most a third of a core. Writes through
/// this node's admin API still reload at once (they call
/// [`Directory::refresh`] themselves). First uses of ztprov credentials are
/// written every 100 ms, so other nodes stop accepting them after the grace too.
/// A reload slower than this spaces the next by twice its duration.
const SLOW_RELOAD: std::time::Duration = std::time::Duration::from_millis(20);

pub struct Reloader {
    dir: Arc<Directory>,
    tick: tokio::time::Interval,
    uses: tokio::time::Interval,
    hints: Option<tokio::sync::mpsc::Receiver<()>>,
    due: bool,
    not_before: tokio::time::Instant,
    next: ReloaderWork,
}

#[derive(Clone, Copy)]
enum ReloaderWork {
    Nothing,
    Reload,
    WriteUses,
}

impl Reloader {
    pub async fn new(dir: Arc<Directory>, interval: std::time::Duration) -> Self {
        use tokio::time::MissedTickBehavior::Delay;
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(Delay);
        let mut uses = tokio::time::interval(std::time::Duration::from_millis(100));
        uses.set_missed_tick_behavior(Delay);
        let hints = dir.change_hints().await;
        Reloader {
            dir,
            tick,
            uses,
            hints,
            due: false,
            not_before: tokio::time::Instant::now(),
            next: ReloaderWork::Nothing,
        }
    }
}

#[async_trait::async_trait]
impl Task for Reloader {
    async fn wake(&mut self) {
        let hint = async {
            match self.hints.as_mut() {
                Some(h) => h.recv().await,
                None => std::future::pending().await,
            }
        };
        self.next = tokio::select! {
            h = hint => {
                if h.is_none() {
                    self.hints = None;
                }
                self.due = true;
                ReloaderWork::Nothing
            }
            _ = self.tick.tick() => {
                self.due = true;
                ReloaderWork::Nothing
            }
            _ = tokio::time::sleep_until(self.not_before), if self.due => ReloaderWork::Reload,
            _ = self.uses.tick() => ReloaderWork::WriteUses,
        };
    }

    async fn work(&mut self) -> anyhow::Result<()> {
        match std::mem::replace(&mut self.next, ReloaderWork::Nothing) {
            ReloaderWork::Nothing => {}
            ReloaderWork::WriteUses => self.dir.flush_ztprov_uses().await,
            ReloaderWork::Reload => {
                self.due = false;
                let started = tokio::time::Instant::now();
                let reloaded = self.dir.refresh().await.map_err(|e| {
                    anyhow::anyhow!(
                        "reloading the provisioning view failed; serving the previous one: {e}"
                    )
                })?;
                if reloaded {
                    let took = started.elapsed();
                    // Only a slow reload (a first load, or a change of many
                    // rows) makes the next one wait: a quick one is what an
                    // edit costs, and the next edit should be served at once.
                    if took > SLOW_RELOAD {
                        self.not_before = tokio::time::Instant::now() + took * 2;
                    }
                    tracing::debug!(
                        devices = self.dir.len(),
                        ms = took.as_millis() as u64,
                        "provisioning view reloaded"
                    );
                }
            }
        }
        Ok(())
    }

    async fn flush(&mut self) -> anyhow::Result<()> {
        self.dir.flush_ztprov_uses().await;
        Ok(())
    }
}
