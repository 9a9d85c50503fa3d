//! What every admin handler shares, and how a write tells the rest of the
//! node about itself.

use std::sync::Arc;

use sha2::{Digest as _, Sha256};
use touchless_domain::{Mac, ProvPassword, ProvUser};
use touchless_store::{Action, Issued, Store};

use touchless_provisioning::directory::{staged::ReloadHold, Directory};
use touchless_provisioning::render::Renderer;
use touchless_runtime::secret::random_token;

pub struct AdminState {
    pub store: Arc<dyn Store>,
    /// `None` when the daemon is disabled on this node.
    pub daemon: Option<Arc<touchless_daemon::Daemon>>,
    pub dir: Arc<Directory>,
    pub renderer: Arc<Renderer>,
    /// SHA-256 of the bearer token; the token itself is not kept.
    pub token_hash: [u8; 32],
    /// How long newly issued ztprov credentials are accepted.
    pub ztprov_window: std::time::Duration,
    pub metrics: Arc<touchless_runtime::metrics::Metrics>,
    /// SHA-256 of the scrape-only token (`metrics.token`), if one is set.
    pub metrics_token_hash: Option<[u8; 32]>,
    /// Where backups are staged before they are streamed.
    pub data_dir: std::path::PathBuf,
    /// For the contact log's backlog on `/metrics`.
    pub contacts: Arc<touchless_provisioning::contacts::ContactSink>,
}

impl AdminState {
    /// Fresh one-time ztprov credentials for `mac`, valid for the window.
    pub(crate) fn issue_ztprov(&self, mac: Mac) -> Issued {
        Issued {
            mac,
            user: ProvUser::parse(&format!("zt{}", random_token(12)))
                .expect("generated user is valid"),
            pass: ProvPassword::parse(&random_token(20)).expect("generated password is valid"),
            // Whole seconds: what people read and both backends store exactly.
            expires_at: chrono::DateTime::from_timestamp(
                chrono::Utc::now().timestamp()
                    + i64::try_from(self.ztprov_window.as_secs()).unwrap_or(86_400),
                0,
            )
            .unwrap_or_else(chrono::Utc::now),
        }
    }

    /// Call after every committed write to the registry, before answering.
    ///
    /// The one way a write reaches the rest of this node: the provisioning
    /// view reloads (the next request is served the change, whatever the
    /// reloader's interval), then the queue looks for new events: a
    /// provider is never handed credentials this node's view does not
    /// accept yet. Other nodes learn of it through the store's change hints.
    pub(crate) async fn written(&self, queued: bool) {
        if let Err(e) = self.dir.refresh().await {
            tracing::error!(error = %e, "reloading the provisioning view after a write failed");
        }
        if queued {
            self.notify_queue();
        }
    }

    /// [`written`](Self::written) after `Store::enqueue(action, items)`, with
    /// the view's reloads held from before it: the view applies the
    /// credentials just written without reading them back.
    pub(crate) async fn queued(&self, hold: ReloadHold<'_>, action: Action, items: &[Issued]) {
        if let Err(e) = self.dir.queued(hold, action, items).await {
            tracing::error!(error = %e, "updating the provisioning view after queueing failed");
        }
        self.notify_queue();
    }

    fn notify_queue(&self) {
        if let Some(d) = &self.daemon {
            d.notify();
        }
    }
}

pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}
