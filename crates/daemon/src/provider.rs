//! The provider abstraction: what the queue needs from a redirection service.
//!
//! Each provider kind implements [`ProviderApi`] in its own module and is
//! named once in [`super::kinds`]: SRAPS (and our own redirection
//! service) in [`super::sraps`]. A cloud that takes many devices per call
//! says so in [`ProviderApi::batch_size`] and answers per device.

use std::time::Duration;

use async_trait::async_trait;
use touchless_domain::Mac;
use touchless_phones::PhoneModel;

/// What the provider must hand the phone.
#[derive(Clone, Debug)]
pub struct Registration {
    pub mac: Mac,
    pub model: PhoneModel,
    /// The phone's first URL on our side (the vendor's first-contact file).
    pub url: String,
    pub user: String,
    pub pass: String,
    /// The serial number on its label, for clouds that register by it.
    pub serial: Option<String>,
}

/// Transient errors are retried with backoff; permanent ones fail the event.
/// Messages are written for the admin who reads the device's last message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    #[error("{message}")]
    Transient {
        message: String,
        retry_after: Option<Duration>,
    },
    #[error("{message}")]
    Throttled {
        message: String,
        retry_after: Duration,
    },
    #[error("{0}")]
    Permanent(String),
}

impl ProviderError {
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ProviderError::Transient { .. } | ProviderError::Throttled { .. }
        )
    }
}

/// What a provider kind's client is built from: the provider record's
/// account, and the daemon's request timeout.
pub struct Account<'a> {
    pub base_url: &'a str,
    pub key_id: &'a str,
    pub secret: &'a str,
    /// PEM certificates trusted besides the public roots.
    pub ca_pem: Option<&'a str>,
    pub timeout: Duration,
}

/// Builds a kind's client; clients are kept while their record is unchanged,
/// so session state (a discovery cache, an OAuth token) lives in them.
pub type Factory = fn(&Account<'_>) -> std::sync::Arc<dyn ProviderApi>;

/// What a kind is: whose phones it registers, how its client is built, and
/// where its public cloud is (the base URL an admin may leave out).
#[derive(Clone, Copy)]
pub struct Kind {
    /// A vendor name of `touchless_phones`.
    pub vendor: &'static str,
    pub factory: Factory,
    pub default_base_url: Option<&'static str>,
}

#[async_trait]
pub trait ProviderApi: Send + Sync {
    /// How many devices one call may carry; the queue groups up to this
    /// many events of one provider and action (1: a call per device).
    fn batch_size(&self) -> usize {
        1
    }
    /// Creates or replaces the endpoint (idempotent).
    async fn register(&self, r: &Registration) -> Result<(), ProviderError>;
    /// Removes the endpoint; an endpoint that is already gone is success.
    async fn deregister(&self, mac: Mac) -> Result<(), ProviderError>;
    /// Registers several at once: one result per registration, in order.
    async fn register_batch(&self, rs: &[Registration]) -> Vec<Result<(), ProviderError>> {
        let mut out = Vec::with_capacity(rs.len());
        for r in rs {
            out.push(self.register(r).await);
        }
        out
    }
    /// Deregisters several at once: one result per MAC, in order.
    async fn deregister_batch(&self, macs: &[Mac]) -> Vec<Result<(), ProviderError>> {
        let mut out = Vec::with_capacity(macs.len());
        for m in macs {
            out.push(self.deregister(*m).await);
        }
        out
    }
    /// The PINs the cloud holds for these devices (Yealink's: a phone asks
    /// for it), as many as it knows; a cloud without PINs answers none.
    async fn pins(&self, macs: &[Mac]) -> Result<Vec<(Mac, String)>, ProviderError> {
        let _ = macs;
        Ok(Vec::new())
    }
    /// Runs discovery; `Ok("OK, company <name>/<id>")` or the precise problem.
    async fn test(&self) -> Result<String, ProviderError>;
}
