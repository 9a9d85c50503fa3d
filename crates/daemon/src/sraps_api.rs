//! The SRAPS REST API v1 client: Hawk-signed REST calls, exactly the chain
//! real clients run (reference §1.3–1.8): `tokens/{key}` → company →
//! `links.endpoints`; the settings catalogue (every page, the server setting
//! looked up by name); then `PUT {endpoints}{mac}`. Two clouds speak it, told
//! apart by a [`Dialect`]: the phone maker's SRAPS (and touchless's own
//! redirection service) names the server `setting_server` in section
//! `phone-settings` beside settings for the pair; Gigaset's GRAPE names it
//! `ProvisioningServer`, once per product group, and has no pair settings
//! (falconieri's `libs/grape` reuses its SRAPS client the same way).

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;
use touchless_api::sraps::{Company, EndpointWrite, ManagedValueIn, SettingDefinition, Token};
use touchless_api::wire::FlexBool;
use touchless_domain::Mac;

use crate::provider::{ProviderApi, ProviderError, Registration};
use touchless_runtime::hawk;

/// How long discovery results (endpoints URL, setting uuids) are reused.
const DISCOVERY_TTL: Duration = Duration::from_secs(3600);

/// What differs between the clouds that speak the API.
pub struct Dialect {
    /// The cloud's name in logs.
    pub cloud: &'static str,
    /// The catalogue section holding what a phone is given (`None`: any).
    pub section: Option<&'static str>,
    /// The setting naming the phone's provisioning server.
    pub server: &'static str,
    /// The settings for the pair, where the cloud has them. Without them the
    /// pair travels in the URL: in the path where the phone's vendor takes
    /// it there (the first-contact URL already carries it), else as
    /// `user:pass@host`.
    pub pair: Option<(&'static str, &'static str)>,
    /// Whether the server setting is one per product group (GRAPE), so the
    /// device's model picks it.
    pub per_product: bool,
}

#[derive(Clone, Debug)]
struct Discovery {
    company: String,
    company_name: String,
    endpoints: String,
    /// The server setting's uuids, with the product groups each is for.
    servers: Vec<(Vec<String>, String)>,
    http_client_user: String,
    http_client_pass: String,
}

pub struct Sraps {
    dialect: &'static Dialect,
    base: String,
    key_id: String,
    secret: String,
    http: reqwest::Client,
    /// Shared, not cloned: every call reads it (a clone was a dozen
    /// allocations per call).
    cache: Mutex<Option<(Instant, Arc<Discovery>)>>,
}

/// A kind's client for `dialect` (see `crate::kinds`).
pub fn client(
    dialect: &'static Dialect,
    a: &crate::provider::Account<'_>,
) -> std::sync::Arc<dyn ProviderApi> {
    std::sync::Arc::new(Sraps::new(
        dialect, a.base_url, a.key_id, a.secret, a.timeout, a.ca_pem,
    ))
}

impl Sraps {
    /// `ca_pem`: certificates trusted besides the public roots (see [`crate::tls`]).
    pub fn new(
        dialect: &'static Dialect,
        base_url: &str,
        key_id: &str,
        secret: &str,
        timeout: Duration,
        ca_pem: Option<&str>,
    ) -> Self {
        let base = if base_url.ends_with('/') {
            base_url.to_owned()
        } else {
            format!("{base_url}/")
        };
        Sraps {
            dialect,
            base,
            key_id: key_id.to_owned(),
            secret: secret.to_owned(),
            http: crate::tls::provider_client(ca_pem, timeout),
            cache: Mutex::new(None),
        }
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        }
    }

    /// One signed request; `Ok((status, headers, body))` for any HTTP answer.
    async fn call(
        &self,
        method: Method,
        url: &str,
        body: Option<&impl Serialize>,
    ) -> Result<(StatusCode, reqwest::header::HeaderMap, Vec<u8>), ProviderError> {
        let parsed = reqwest::Url::parse(url)
            .map_err(|e| ProviderError::Permanent(format!("bad provider URL {url}: {e}")))?;
        let host = parsed.host_str().unwrap_or("").to_owned();
        let port = parsed.port_or_known_default().unwrap_or(443);
        let resource = match parsed.query() {
            Some(q) => format!("{}?{q}", parsed.path()),
            None => parsed.path().to_owned(),
        };
        let bytes = body.map(|b| serde_json::to_vec(b).unwrap_or_default());
        let mut h = hawk::Header {
            id: self.key_id.clone(),
            ts: chrono::Utc::now().timestamp().max(0) as u64,
            nonce: touchless_runtime::secret::random_token(12),
            hash: bytes
                .as_ref()
                .map(|b| hawk::payload_hash("application/json", b)),
            ..hawk::Header::default()
        };
        h.mac = hawk::request_mac(
            self.secret.as_bytes(),
            &h,
            &hawk::RequestInfo {
                method: method.as_str(),
                resource: &resource,
                host: &host,
                port,
            },
        );
        // One buffer: this runs once per queued event.
        let mut auth = String::with_capacity(160);
        let _ = write!(
            auth,
            "Hawk id=\"{}\", ts=\"{}\", nonce=\"{}\"",
            h.id, h.ts, h.nonce
        );
        if let Some(hash) = &h.hash {
            let _ = write!(auth, ", hash=\"{hash}\"");
        }
        let _ = write!(auth, ", mac=\"{}\"", h.mac);
        tracing::info!(
            "({}): Sending Request. Method={} Url={url}",
            self.dialect.cloud,
            method.as_str()
        );
        // The URL parsed above, not parsed again by reqwest.
        let mut req = self
            .http
            .request(method, parsed)
            .header("authorization", auth)
            .header("accept", "application/json");
        if let Some(b) = bytes {
            req = req.header("content-type", "application/json").body(b);
        }
        let mut resp = req
            .send()
            .await
            .map_err(|e| crate::http::transport_error(&e, url))?;
        let status = resp.status();
        // Taken, not cloned, and the body as bytes: `text()` would parse the
        // Content-Type for a charset, and the API answers JSON in UTF-8.
        let headers = std::mem::take(resp.headers_mut());
        let body = resp.bytes().await.map(Vec::from).unwrap_or_default();
        Ok((status, headers, body))
    }

    /// A request whose non-2xx answer is an error, and whose answer is an `R`.
    async fn ok<R: DeserializeOwned>(
        &self,
        method: Method,
        url: &str,
        body: Option<&impl Serialize>,
    ) -> Result<(reqwest::header::HeaderMap, R), ProviderError> {
        let (status, headers, body) = self.call(method, url, body).await?;
        if !status.is_success() {
            return Err(classify(
                status,
                &headers,
                &String::from_utf8_lossy(&body),
                url,
            ));
        }
        let value = serde_json::from_slice(&body).map_err(|e| {
            ProviderError::Permanent(format!(
                "the provider's answer to {url} is not what the SRAPS API answers: {e}"
            ))
        })?;
        Ok((headers, value))
    }

    /// A GET answered with an `R`.
    async fn get<R: DeserializeOwned>(
        &self,
        url: &str,
    ) -> Result<(reqwest::header::HeaderMap, R), ProviderError> {
        self.ok(Method::GET, url, None::<&()>).await
    }

    async fn discover(&self, fresh: bool) -> Result<Arc<Discovery>, ProviderError> {
        if !fresh {
            if let Some((at, d)) = self
                .cache
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .as_ref()
            {
                if at.elapsed() < DISCOVERY_TTL {
                    return Ok(Arc::clone(d));
                }
            }
        }
        let (_, token): (_, Token) = self
            .get(&self.url(&format!("tokens/{}", self.key_id)))
            .await
            .map_err(|e| match e {
                ProviderError::Permanent(m) if m.starts_with("404") => {
                    ProviderError::Permanent(format!(
                        "the provider does not know the access key id {} (404 on tokens/)",
                        self.key_id
                    ))
                }
                other => other,
            })?;
        if token.role == "none" {
            return Err(no_role());
        }
        let company_url = link(token.links.company, "company")?;
        let (_, company): (_, Company) = self.get(&company_url).await?;
        let endpoints = link(company.links.endpoints, "endpoints")?;
        let endpoints = if endpoints.ends_with('/') {
            endpoints
        } else {
            format!("{endpoints}/")
        };
        let dialect = self.dialect;
        let mut servers: Vec<(Vec<String>, String)> = Vec::new();
        let mut pair: [Option<String>; 2] = [None, None];
        let mut next = Some(self.url("settings/?page_size=1000"));
        let mut pages = 0;
        while let Some(url) = next.take() {
            pages += 1;
            if pages > 100 {
                return Err(ProviderError::Permanent(
                    "the provider's settings catalogue does not end (over 100 pages)".into(),
                ));
            }
            let (headers, list): (_, Vec<SettingDefinition>) = self.get(&url).await?;
            for s in list {
                // Only the phone's section: SRAPS also has a `global` setting_server.
                if dialect.section.is_some_and(|sec| s.section != sec) || s.uuid.is_empty() {
                    continue;
                }
                if s.param_name == dialect.server {
                    if dialect.per_product || servers.is_empty() {
                        servers.push((s.product_groups, s.uuid));
                    }
                    continue;
                }
                if let Some((user, pass)) = dialect.pair {
                    let slot = if s.param_name == user {
                        0
                    } else if s.param_name == pass {
                        1
                    } else {
                        continue;
                    };
                    pair[slot].get_or_insert(s.uuid);
                }
            }
            next = next_link(&headers);
        }
        if servers.is_empty() {
            return Err(ProviderError::Permanent(format!(
                "the provider's settings catalogue has no {}{}",
                dialect.server,
                dialect
                    .section
                    .map(|s| format!(" in section {s}"))
                    .unwrap_or_default()
            )));
        }
        let [user, pass] = pair;
        let d = Discovery {
            company: company.uuid,
            company_name: company.name,
            endpoints,
            servers,
            http_client_user: user.unwrap_or_default(),
            http_client_pass: pass.unwrap_or_default(),
        };
        if dialect.pair.is_some()
            && (d.http_client_user.is_empty() || d.http_client_pass.is_empty())
        {
            tracing::warn!("({}): the provider's catalogue lacks the pair's settings; credentials are sent in the URL instead", dialect.cloud);
        }
        let d = Arc::new(d);
        *self.cache.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((Instant::now(), Arc::clone(&d)));
        Ok(d)
    }
}

/// The server setting for a device of `model`: the only one, or (one per
/// product group) the one whose group names the model: a group equal to the
/// model without its vendor prefix, or a prefix of it (`N870`, `N8`; the
/// groups' spelling is a **guess**, docs/providers.md).
fn server_for(d: &Discovery, model: touchless_phones::PhoneModel) -> Result<String, ProviderError> {
    if let [(_, uuid)] = d.servers.as_slice() {
        return Ok(uuid.clone());
    }
    let vendor = model.vendor();
    let short = model
        .as_str()
        .get(vendor.name().len()..)
        .unwrap_or(model.as_str())
        .to_ascii_lowercase();
    let fits = |groups: &Vec<String>| {
        groups.is_empty()
            || groups.iter().any(|g| {
                let g = g.to_ascii_lowercase();
                !g.is_empty() && short.starts_with(&g)
            })
    };
    // The most specific group that fits (`N870` before `N8`, both before none).
    d.servers
        .iter()
        .filter(|(groups, _)| fits(groups))
        .max_by_key(|(groups, _)| groups.iter().map(String::len).max().unwrap_or(0))
        .map(|(_, uuid)| uuid.clone())
        .ok_or_else(|| {
            let groups: Vec<&str> = d
                .servers
                .iter()
                .flat_map(|(g, _)| g.iter().map(String::as_str))
                .collect();
            ProviderError::Permanent(format!(
                "the provider has no server setting for {model}: its product groups are {}",
                groups.join(", ")
            ))
        })
}

fn no_role() -> ProviderError {
    ProviderError::Permanent(
        "403 Forbidden: the API key has no role; choose a role for the key at the provider".into(),
    )
}

fn link(url: Option<String>, name: &str) -> Result<String, ProviderError> {
    url.filter(|u| !u.is_empty()).ok_or_else(|| {
        ProviderError::Permanent(format!("the provider's answer has no links.{name}"))
    })
}

fn next_link(h: &reqwest::header::HeaderMap) -> Option<String> {
    h.get_all("link")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|part| {
            part.contains("rel=\"next\"")
                .then(|| {
                    part.trim()
                        .strip_prefix('<')?
                        .split_once('>')
                        .map(|(u, _)| u.to_owned())
                })
                .flatten()
        })
}

/// Turns a non-2xx answer into words an admin can act on; a 403 with the
/// role words is the key's missing role.
fn classify(
    status: StatusCode,
    headers: &reqwest::header::HeaderMap,
    body: &str,
    url: &str,
) -> ProviderError {
    if status == StatusCode::FORBIDDEN
        && crate::http::detail(body).contains("role")
        && !body.contains("taken_mac_or_forbidden")
    {
        return no_role();
    }
    crate::http::classify(status, headers, body, url)
}

#[async_trait]
impl ProviderApi for Sraps {
    async fn register(&self, r: &Registration) -> Result<(), ProviderError> {
        let d = self.discover(false).await?;
        let mac = r.mac.to_string().to_ascii_lowercase();
        let mut settings = std::collections::BTreeMap::new();
        let mut url = r.url.clone();
        let pair_in_path =
            r.model.vendor().pair_in_path(r.model) != touchless_phones::PairInPath::Never;
        if pair_in_path {
            // The URL carries the pair already.
        } else if d.http_client_user.is_empty() || d.http_client_pass.is_empty() {
            // The phones take user:pass@host in the server URL (reference §3).
            if let Some((scheme, rest)) = url.split_once("://") {
                url = format!("{scheme}://{}:{}@{rest}", r.user, r.pass);
            }
        } else {
            settings.insert(
                d.http_client_user.clone(),
                ManagedValueIn::rw(r.user.as_str()),
            );
            settings.insert(
                d.http_client_pass.clone(),
                ManagedValueIn::rw(r.pass.as_str()),
            );
        }
        settings.insert(server_for(&d, r.model)?, ManagedValueIn::rw(&url));
        let body = EndpointWrite {
            mac: Some(mac.clone()),
            autoprovisioning_enabled: Some(FlexBool(true)),
            settings_manager: Some(settings),
            ..EndpointWrite::default()
        };
        // The answer is the endpoint; nothing in it is needed.
        let result = self
            .ok::<serde::de::IgnoredAny>(Method::PUT, &format!("{}{mac}", d.endpoints), Some(&body))
            .await;
        if matches!(&result, Err(ProviderError::Permanent(m)) if m.starts_with("404")) {
            // A stale endpoints URL: forget discovery so the next attempt redoes it.
            *self.cache.lock().unwrap_or_else(|p| p.into_inner()) = None;
        }
        result.map(|_| ())
    }

    async fn deregister(&self, mac: Mac) -> Result<(), ProviderError> {
        let d = self.discover(false).await?;
        let url = format!("{}{}", d.endpoints, mac.to_string().to_ascii_lowercase());
        let (status, headers, body) = self.call(Method::DELETE, &url, None::<&()>).await?;
        if status.is_success() || status == StatusCode::NOT_FOUND {
            return Ok(());
        }
        Err(classify(
            status,
            &headers,
            &String::from_utf8_lossy(&body),
            &url,
        ))
    }

    async fn test(&self) -> Result<String, ProviderError> {
        let d = self.discover(true).await?;
        Ok(format!("OK, company {}/{}", d.company_name, d.company))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_answers_for_admins() {
        let h = reqwest::header::HeaderMap::new();
        let p =
            |s: u16, body: &str| classify(StatusCode::from_u16(s).unwrap(), &h, body, "http://x/");
        assert_eq!(
            p(
                403,
                r#"{"detail": "taken_mac_or_forbidden: MAC 1 is owned by another account"}"#
            )
            .to_string(),
            "MAC is owned by another account (taken_mac_or_forbidden)"
        );
        assert_eq!(
            p(
                403,
                r#"{"detail": "The API key has no role (role \"none\")"}"#
            )
            .to_string(),
            "403 Forbidden: the API key has no role; choose a role for the key at the provider"
        );
        assert!(p(401, r#"{"detail": "Bad mac"}"#)
            .to_string()
            .contains("wrong access key id or secret"));
        assert!(p(503, "down").is_transient());
        assert!(!p(400, r#"{"message": "bad mac"}"#).is_transient());
        let mut h429 = reqwest::header::HeaderMap::new();
        h429.insert("retry-after", "7".parse().unwrap());
        match classify(StatusCode::TOO_MANY_REQUESTS, &h429, "{}", "u") {
            ProviderError::Throttled {
                retry_after,
                message,
            } => {
                assert_eq!(retry_after, Duration::from_secs(7));
                assert!(message.contains("retry after 7 s"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn follows_link_headers() {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert("link", "<http://a/settings/?page=2&page_size=20>; rel=\"next\", <http://a/settings/?page=0>; rel=\"prev\"".parse().unwrap());
        assert_eq!(
            next_link(&h).as_deref(),
            Some("http://a/settings/?page=2&page_size=20")
        );
        assert_eq!(next_link(&reqwest::header::HeaderMap::new()), None);
    }
}
