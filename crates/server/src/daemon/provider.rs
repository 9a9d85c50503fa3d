//! The provider abstraction: what the queue needs from a redirection service.
//!
//! Snom's SRAPS (and our own redirection service) implement it in [`super::sraps`].
//! Today the queue builds that client for every provider record; other clouds
//! (Gigaset GRAPE, Yealink, …) need a provider kind that picks the client, and
//! Yealink's batches need a batch interface here (issue "seams for vendors").

use std::time::Duration;

use async_trait::async_trait;
use touchless_domain::{Mac, PhoneModel};

/// What the provider must hand the phone.
#[derive(Clone, Debug)]
pub struct Registration {
    pub mac: Mac,
    pub model: PhoneModel,
    /// The phone's first URL on our side: `/ztprov/snom{model}-{MAC}.htm`.
    pub url: String,
    pub user: String,
    pub pass: String,
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

#[async_trait]
pub trait ProviderApi: Send + Sync {
    /// Creates or replaces the endpoint (idempotent).
    async fn register(&self, r: &Registration) -> Result<(), ProviderError>;
    /// Removes the endpoint; an endpoint that is already gone is success.
    async fn deregister(&self, mac: Mac) -> Result<(), ProviderError>;
    /// Runs discovery; `Ok("OK, company <name>/<id>")` or the precise problem.
    async fn test(&self) -> Result<String, ProviderError>;
}
