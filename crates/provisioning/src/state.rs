//! The provisioning listener's shared state (`ProvState`) and what a
//! request resolved to (`Outcome`), which the handler, uploads, images and
//! the request log all use.

use std::sync::Arc;

use http::Response;
use touchless_phones::ConfigFile;
use touchless_runtime::accesslog::AccessLog;
use touchless_runtime::metrics::Metrics;

use crate::auth::{Authenticator, Credentials};
use crate::body::Body;
use crate::contacts::ContactSink;
use crate::directory::Directory;

pub struct ProvState {
    pub dir: Arc<Directory>,
    pub auth: Authenticator,
    pub access: AccessLog,
    pub contacts: Arc<ContactSink>,
    pub metrics: Arc<Metrics>,
    /// `/readyz` fails once the view is staler than this.
    pub(crate) ready_max_stale: std::time::Duration,
    /// Compared against when nothing is expected, so a miss costs what a hit costs.
    pub(crate) decoy: Credentials,
    /// How long ztprov credentials still work after their first use.
    pub(crate) ztprov_grace: chrono::Duration,
    /// Where `/firmware/{file}` reads images from.
    pub(crate) firmware_dir: std::path::PathBuf,
}

impl ProvState {
    pub fn new(
        dir: Arc<Directory>,
        auth: Authenticator,
        access: AccessLog,
        contacts: Arc<ContactSink>,
        metrics: Arc<Metrics>,
        ztprov_grace: std::time::Duration,
        ready_max_stale: std::time::Duration,
    ) -> Self {
        let decoy = Credentials::new(
            "\u{0}decoy",
            &touchless_runtime::secret::random_token(20),
            auth.realm(),
        );
        ProvState {
            dir,
            auth,
            access,
            contacts,
            metrics,
            ready_max_stale,
            decoy,
            ztprov_grace: chrono::Duration::from_std(ztprov_grace)
                .unwrap_or(chrono::Duration::minutes(10)),
            firmware_dir: std::path::PathBuf::from("firmware"),
        }
    }

    /// Where `/firmware/{file}` reads images from.
    pub fn with_firmware_dir(mut self, dir: std::path::PathBuf) -> Self {
        self.firmware_dir = dir;
        self
    }
}

/// What a request resolved to, for the access and contact logs.
pub(crate) struct Outcome {
    /// Body length, known when the body is built (not re-parsed from headers).
    pub(crate) bytes: usize,
    pub(crate) user: Option<String>,
    pub(crate) file: Option<ConfigFile>,
    /// The file's MAC is a registered device (worth a full contact record).
    pub(crate) known: bool,
    /// Credentials were presented and refused (not a first challenge, not a
    /// stale nonce).
    pub(crate) refused: bool,
    pub(crate) response: Response<Body>,
}
