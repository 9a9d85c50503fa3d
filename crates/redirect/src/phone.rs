//! The phone-facing side of the redirection service: a factory-reset phone of
//! a vendor whose phones SRAPS redirects asks for its model-wide and per-MAC
//! files (as the vendor seam names them) and gets the settings its PBX pushed
//! (its setting server and one-time credentials).
//!
//! What a phone that is not registered gets: `404` with the same body whether
//! the MAC is unknown, disabled, or does not match the phone's User-Agent or
//! certificate, so the service cannot be used to learn which MACs exist or who
//! owns them. Unknown and disabled MACs are one query that finds nothing, so
//! they also take the same time. Only GET and HEAD from a phone's User-Agent that
//! names the MAC asked for (or a client certificate that does) get anything.
//! Every source address has a request rate and a budget of misses; past the
//! budget it gets `429` for a while, which makes guessing MACs take years. The
//! model-wide file carries nothing device-specific and is an empty settings
//! document (`200`) for any such phone, so the phone goes on to its per-MAC file.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::{header, HeaderValue, StatusCode};
use touchless_domain::Mac;
use touchless_phones::{ConfigFile, UserAgent};
use touchless_store::{RedirectContact, Store};

use super::catalogue::Catalogue;
use super::RedirectState;
use touchless_phones::SettingView;
use touchless_runtime::serve::{ClientAddr, ClientCert};
use touchless_runtime::tasks::Task;

const NOT_HERE: &str = "not found\n";

pub async fn handle(State(st): State<Arc<RedirectState>>, req: Request) -> Response {
    let ip = req.extensions().get::<ClientAddr>().map(|c| c.0.ip());
    if req.method() != http::Method::GET && req.method() != http::Method::HEAD {
        let mut r = (
            StatusCode::METHOD_NOT_ALLOWED,
            "only GET and HEAD are allowed\n",
        )
            .into_response();
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    if let Some(ip) = ip {
        // A source past its budget of misses, or over its request rate, is
        // turned away before anything is looked up.
        if let Err(wait) = st
            .phone_misses
            .check(ip)
            .and_then(|_| st.phone_rate.take(ip))
        {
            return too_many(wait);
        }
    }
    let peer = ip.map(|i| i.to_string()).unwrap_or_default();
    let ua = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .chars()
        .take(512)
        .collect::<String>();
    let parsed_ua = touchless_phones::parse_user_agent(&ua);
    let path = req.uri().path().chars().take(256).collect::<String>();
    let cert = req.extensions().get::<ClientCert>().cloned();
    let (outcome, mac, response) = decide(&st, &path, parsed_ua.as_ref(), cert.as_ref()).await;
    // A certificate for another MAC (403) is as much a miss as a 404.
    if matches!(
        response.status(),
        StatusCode::NOT_FOUND | StatusCode::FORBIDDEN
    ) {
        if let Some(ip) = ip {
            st.phone_misses.charge(ip);
        }
    }
    st.log.push(RedirectContact {
        at: chrono::Utc::now(),
        mac,
        ip: peer,
        user_agent: ua,
        firmware: parsed_ua.map(|u| u.firmware),
        path,
        outcome: outcome.to_owned(),
    });
    response
}

fn too_many(wait: Duration) -> Response {
    let secs = wait.as_secs().max(1);
    let mut r = (
        StatusCode::TOO_MANY_REQUESTS,
        format!("too many requests from this address; retry in {secs} s\n"),
    )
        .into_response();
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    r
}

fn not_here() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        NOT_HERE,
    )
        .into_response()
}

fn xml(body: bytes::Bytes) -> Response {
    let mut r = (StatusCode::OK, body).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/xml; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

async fn decide(
    st: &RedirectState,
    path: &str,
    ua: Option<&UserAgent>,
    cert: Option<&ClientCert>,
) -> (&'static str, Option<Mac>, Response) {
    let Some(file) = path
        .strip_prefix('/')
        .and_then(ConfigFile::parse)
        .filter(|f| f.vendor.redirected())
    else {
        return ("bad_request", None, not_here());
    };
    // With a client CA configured, the certificate is the phone's identity.
    let cert_mac = match (st.client_ca, cert) {
        (false, _) => None,
        (true, None) => {
            return (
                "no_client_certificate",
                file.mac,
                (StatusCode::FORBIDDEN, "a client certificate is required\n").into_response(),
            )
        }
        (true, Some(c)) => match cert_subject_mac(&c.0) {
            Some(m) => Some(m),
            None => {
                return (
                    "certificate_without_mac",
                    file.mac,
                    (
                        StatusCode::FORBIDDEN,
                        "the client certificate names no MAC address\n",
                    )
                        .into_response(),
                )
            }
        },
    };
    let Some(mac) = file.mac else {
        if ua.is_none() && cert_mac.is_none() {
            return ("not_a_phone", None, not_here());
        }
        let body = st.renderer.redirect(file.vendor, &[]);
        return match body {
            Ok(b) => ("model_file", ua.and_then(|u| u.mac).or(cert_mac), xml(b)),
            Err(e) => {
                tracing::error!(error = %e, "rendering the redirect document failed");
                (
                    "error",
                    None,
                    StatusCode::INTERNAL_SERVER_ERROR.into_response(),
                )
            }
        };
    };
    if cert_mac.is_some_and(|c| c != mac) {
        return (
            "certificate_mac_mismatch",
            Some(mac),
            (
                StatusCode::FORBIDDEN,
                "the client certificate belongs to another MAC\n",
            )
                .into_response(),
        );
    }
    // The phone must name the MAC it asks for: in its User-Agent, or through
    // the certificate checked above.
    if cert_mac != Some(mac) && ua.and_then(|u| u.mac) != Some(mac) {
        let outcome = match ua {
            None => "not_a_phone",
            Some(u) if u.mac.is_none() => "ua_without_mac",
            Some(_) => "ua_mac_mismatch",
        };
        return (outcome, Some(mac), not_here());
    }
    let endpoint = match st.store.get_enabled_endpoint(mac).await {
        Ok(Some(e)) => e,
        // Unknown or disabled: the same query, the same answer.
        Ok(None) => return ("unknown_or_disabled", Some(mac), not_here()),
        Err(e) => {
            tracing::error!(error = %e, "looking up an endpoint failed");
            return (
                "error",
                Some(mac),
                StatusCode::INTERNAL_SERVER_ERROR.into_response(),
            );
        }
    };
    match settings_for(&*st.store, &endpoint).await {
        Ok(settings) => match st.renderer.redirect(file.vendor, &settings) {
            Ok(body) => {
                tracing::info!(mac = %mac, company = %endpoint.company, "phone redirected");
                ("redirected", Some(mac), xml(body))
            }
            Err(e) => {
                tracing::error!(error = %e, "rendering the redirect document failed");
                (
                    "error",
                    Some(mac),
                    StatusCode::INTERNAL_SERVER_ERROR.into_response(),
                )
            }
        },
        Err(e) => {
            tracing::error!(error = %e, "loading the endpoint's profile failed");
            (
                "error",
                Some(mac),
                StatusCode::INTERNAL_SERVER_ERROR.into_response(),
            )
        }
    }
}

/// Profile values, overridden by the endpoint's own, in catalogue order.
async fn settings_for(
    store: &dyn Store,
    e: &touchless_store::Endpoint,
) -> Result<Vec<SettingView>, touchless_store::StoreError> {
    let mut values = match &e.profile {
        Some(p) => store
            .get_profile(&e.company, p)
            .await?
            .map(|p| p.settings)
            .unwrap_or_default(),
        None => Default::default(),
    };
    values.extend(e.settings.clone());
    let cat = Catalogue::get();
    Ok(cat
        .settings
        .iter()
        .filter_map(|def| {
            values.get(&def.uuid).map(|v| SettingView {
                name: def.param_name.to_owned(),
                idx: v.idx,
                value: v.value.clone(),
                perm: v.perm.as_str(),
            })
        })
        .collect())
}

/// The MAC named in the certificate's subject (any attribute, typically CN), in
/// any of the usual spellings.
fn cert_subject_mac(der: &[u8]) -> Option<Mac> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let mac = cert
        .subject()
        .iter_attributes()
        .filter_map(|a| a.as_str().ok())
        .find_map(|s| Mac::parse(s.trim()).ok());
    mac
}

/// Requests that were not redirected, recorded per flush (once a second); the
/// rest are only counted, so junk cannot fill the disk.
const OTHERS_SAMPLE: usize = 20;

/// Phone contacts, batched to the database once a second: every redirected
/// phone, and a sample of the rest.
pub struct RedirectLog {
    pending: Mutex<Pending>,
}

#[derive(Default)]
struct Pending {
    rows: Vec<RedirectContact>,
    others: usize,
}

impl RedirectLog {
    pub fn new() -> Self {
        RedirectLog {
            pending: Mutex::new(Pending::default()),
        }
    }

    fn push(&self, c: RedirectContact) {
        let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        if c.outcome != "redirected" {
            p.others += 1;
            if p.others > OTHERS_SAMPLE {
                return;
            }
        }
        // Bounded: redirected phones are real endpoints, but still.
        if p.rows.len() < 100_000 {
            p.rows.push(c);
        }
    }

    pub async fn flush(&self, store: &dyn Store) {
        let Pending {
            rows: batch,
            others,
        } = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()));
        if others > OTHERS_SAMPLE {
            tracing::info!(
                requests = others,
                recorded = OTHERS_SAMPLE,
                "phone requests that were not redirected in the last second; only a sample is kept"
            );
        }
        if batch.is_empty() {
            return;
        }
        if let Err(e) = store.record_redirect_contacts(&batch).await {
            tracing::error!(error = %e, rows = batch.len(), "writing redirect contacts failed");
        }
    }
}

impl Default for RedirectLog {
    fn default() -> Self {
        Self::new()
    }
}

/// Writes the redirect contact log every second and, every minute, prunes
/// expired Hawk nonces and contacts beyond the retention (a [`Task`]).
pub struct LogWriter {
    st: Arc<RedirectState>,
    tick: tokio::time::Interval,
    prune: tokio::time::Interval,
    pruning: bool,
}

impl LogWriter {
    pub fn new(st: Arc<RedirectState>) -> Self {
        LogWriter {
            st,
            tick: tokio::time::interval(Duration::from_secs(1)),
            prune: tokio::time::interval(Duration::from_secs(60)),
            pruning: false,
        }
    }
}

#[async_trait::async_trait]
impl Task for LogWriter {
    async fn wake(&mut self) {
        self.pruning = tokio::select! {
            _ = self.tick.tick() => false,
            _ = self.prune.tick() => true,
        };
    }

    async fn work(&mut self) -> anyhow::Result<()> {
        let st = &self.st;
        if !self.pruning {
            st.log.flush(&*st.store).await;
            return Ok(());
        }
        if let Err(e) = st.store.prune_nonces(chrono::Utc::now()).await {
            tracing::warn!(error = %e, "pruning Hawk nonces failed");
        }
        let before = chrono::Utc::now() - st.contact_retention;
        let n = st
            .store
            .prune_redirect_contacts(before, st.contact_max_rows)
            .await
            .map_err(|e| anyhow::anyhow!("pruning redirect contacts: {e}"))?;
        if n > 0 {
            tracing::info!(deleted = n, "pruned old redirect contacts");
        }
        Ok(())
    }

    async fn flush(&mut self) -> anyhow::Result<()> {
        self.st.log.flush(&*self.st.store).await;
        Ok(())
    }
}
