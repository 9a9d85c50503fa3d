//! The certificate each TLS listener presents, read from its PEM files and
//! swapped in place, without a restart, on SIGHUP or when the files change
//! (a renewal by certbot or an ACME client).

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::tasks::Task;

/// A listener's certificate and key, as last read.
#[derive(Debug)]
pub struct ReloadingCert {
    cert: PathBuf,
    key: PathBuf,
    provider: Arc<CryptoProvider>,
    current: RwLock<(Arc<CertifiedKey>, Option<SystemTime>)>,
}

impl ReloadingCert {
    /// Reads the pair; an error here stops the start.
    pub fn load(cert: &str, key: &str, provider: Arc<CryptoProvider>) -> anyhow::Result<Self> {
        let (cert, key) = (PathBuf::from(cert), PathBuf::from(key));
        let first = read(&cert, &key, &provider)?;
        let stamp = stamp(&cert, &key);
        Ok(ReloadingCert {
            cert,
            key,
            provider,
            current: RwLock::new((Arc::new(first), stamp)),
        })
    }

    /// Reads the pair again if `force` or if either file changed; keeps
    /// what it has when the new pair does not load (a half-written renewal
    /// must not take the listener down). `Ok(true)` when it swapped.
    pub fn reload(&self, force: bool) -> anyhow::Result<bool> {
        let now = stamp(&self.cert, &self.key);
        let seen = self.current.read().unwrap_or_else(|e| e.into_inner()).1;
        if !force && now == seen {
            return Ok(false);
        }
        let next = read(&self.cert, &self.key, &self.provider)?;
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = (Arc::new(next), now);
        Ok(true)
    }

    pub fn files(&self) -> String {
        format!("{} and {}", self.cert.display(), self.key.display())
    }
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(
            &self.current.read().unwrap_or_else(|e| e.into_inner()).0,
        ))
    }
}

/// The later of the two files' modification times.
fn stamp(cert: &PathBuf, key: &PathBuf) -> Option<SystemTime> {
    let m = |p: &PathBuf| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    m(cert).max(m(key))
}

fn read(cert: &PathBuf, key: &PathBuf, provider: &CryptoProvider) -> anyhow::Result<CertifiedKey> {
    let (c, k) = (cert.display(), key.display());
    let certs = CertificateDer::pem_file_iter(cert)
        .with_context(|| format!("cannot read TLS certificate {c}"))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("cannot parse TLS certificate {c}"))?;
    if certs.is_empty() {
        anyhow::bail!("no certificate found in {c}");
    }
    let der =
        PrivateKeyDer::from_pem_file(key).with_context(|| format!("cannot read TLS key {k}"))?;
    CertifiedKey::from_der(certs, der, provider)
        .with_context(|| format!("TLS certificate {c} and key {k} do not match"))
}

/// Checks every listener's files every few seconds and reloads them all on
/// SIGHUP (a [`Task`]).
pub struct CertReloader {
    certs: Vec<Arc<ReloadingCert>>,
    tick: tokio::time::Interval,
    hangups: tokio::signal::unix::Signal,
    force: bool,
}

impl CertReloader {
    pub fn new(certs: Vec<Arc<ReloadingCert>>, every: Duration) -> anyhow::Result<Self> {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let hangups = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
        Ok(CertReloader {
            certs,
            tick,
            hangups,
            force: false,
        })
    }
}

#[async_trait::async_trait]
impl Task for CertReloader {
    async fn wake(&mut self) {
        tokio::select! {
            _ = self.tick.tick() => {}
            _ = self.hangups.recv() => self.force = true,
        }
    }

    async fn work(&mut self) -> anyhow::Result<()> {
        let force = std::mem::take(&mut self.force);
        for c in &self.certs {
            match c.reload(force) {
                Ok(true) => tracing::info!(files = %c.files(), "TLS certificate reloaded"),
                Ok(false) => {}
                Err(e) => tracing::error!(
                    error = %format!("{e:#}"),
                    "TLS certificate not reloaded; the listener keeps the one it has"
                ),
            }
        }
        Ok(())
    }
}
