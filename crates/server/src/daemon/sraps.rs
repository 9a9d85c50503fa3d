//! The Snom SRAPS provider: Hawk-signed REST calls, exactly the chain real
//! clients run (reference §1.3–1.8): `tokens/{key}` → company →
//! `links.endpoints`; the settings catalogue (every page, `setting_server` from
//! section `phone-settings`); then `PUT {endpoints}{mac}`.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use touchless_domain::Mac;

use super::provider::{ProviderApi, ProviderError, Registration};
use crate::redirect::hawk;

/// How long discovery results (endpoints URL, setting uuids) are reused.
const DISCOVERY_TTL: Duration = Duration::from_secs(3600);

#[derive(Clone, Debug)]
struct Discovery {
    company: String,
    company_name: String,
    endpoints: String,
    setting_server: String,
    http_client_user: String,
    http_client_pass: String,
}

pub struct Sraps {
    base: String,
    key_id: String,
    secret: String,
    http: reqwest::Client,
    cache: Mutex<Option<(Instant, Discovery)>>,
}

impl Sraps {
    /// `ca_pem`: certificates trusted besides the public roots (see [`super::tls`]).
    pub fn new(
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
            base,
            key_id: key_id.to_owned(),
            secret: secret.to_owned(),
            http: super::tls::client(ca_pem, timeout).unwrap_or_else(|e| {
                // The admin API checks bundles before storing them.
                tracing::error!(error = %e, "the provider's CA bundle is unusable; using the public roots only");
                reqwest::Client::builder()
                    .timeout(timeout)
                    .connect_timeout(timeout)
                    .build()
                    .expect("building an HTTP client")
            }),
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
        body: Option<&Value>,
    ) -> Result<(StatusCode, reqwest::header::HeaderMap, Value), ProviderError> {
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
            nonce: crate::secret::random_token(12),
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
        let mut auth = format!(
            "Hawk id=\"{}\", ts=\"{}\", nonce=\"{}\"",
            h.id, h.ts, h.nonce
        );
        if let Some(hash) = &h.hash {
            auth.push_str(&format!(", hash=\"{hash}\""));
        }
        auth.push_str(&format!(", mac=\"{}\"", h.mac));
        tracing::info!(
            "(Snom): Sending Request. Method={} Url={url}",
            method.as_str()
        );
        let mut req = self
            .http
            .request(method, url)
            .header("authorization", auth)
            .header("accept", "application/json");
        if let Some(b) = bytes {
            req = req.header("content-type", "application/json").body(b);
        }
        let resp = req.send().await.map_err(|e| {
            // An untrusted certificate stays untrusted: no point retrying.
            if let Some(words) = super::tls::explain(&e, url) {
                return ProviderError::Permanent(words);
            }
            if e.is_timeout() {
                ProviderError::Transient {
                    message: format!("the provider did not answer in time ({url})"),
                    retry_after: None,
                }
            } else {
                ProviderError::Transient {
                    message: format!("cannot reach the provider at {url}: {}", root_cause(&e)),
                    retry_after: None,
                }
            }
        })?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap_or_default();
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Ok((status, headers, value))
    }

    /// A request whose non-2xx answer is an error.
    async fn ok(
        &self,
        method: Method,
        url: &str,
        body: Option<&Value>,
    ) -> Result<(reqwest::header::HeaderMap, Value), ProviderError> {
        let (status, headers, value) = self.call(method, url, body).await?;
        if status.is_success() {
            Ok((headers, value))
        } else {
            Err(classify(status, &headers, &value, url))
        }
    }

    async fn discover(&self, fresh: bool) -> Result<Discovery, ProviderError> {
        if !fresh {
            if let Some((at, d)) = self
                .cache
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .as_ref()
            {
                if at.elapsed() < DISCOVERY_TTL {
                    return Ok(d.clone());
                }
            }
        }
        let (_, token) = self
            .ok(
                Method::GET,
                &self.url(&format!("tokens/{}", self.key_id)),
                None,
            )
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
        if token.get("role").and_then(Value::as_str) == Some("none") {
            return Err(no_role());
        }
        let company_url = link(&token, "company")?;
        let (_, company) = self.ok(Method::GET, &company_url, None).await?;
        let endpoints = link(&company, "endpoints")?;
        let endpoints = if endpoints.ends_with('/') {
            endpoints
        } else {
            format!("{endpoints}/")
        };
        let mut uuids: [Option<String>; 3] = [None, None, None];
        let mut next = Some(self.url("settings/?page_size=1000"));
        let mut pages = 0;
        while let Some(url) = next.take() {
            pages += 1;
            if pages > 100 {
                return Err(ProviderError::Permanent(
                    "the provider's settings catalogue does not end (over 100 pages)".into(),
                ));
            }
            let (headers, list) = self.ok(Method::GET, &url, None).await?;
            for s in list.as_array().into_iter().flatten() {
                // Only section phone-settings: SRAPS also has a `global` setting_server.
                if s.get("section").and_then(Value::as_str) != Some("phone-settings") {
                    continue;
                }
                let slot = match s.get("param_name").and_then(Value::as_str) {
                    Some("setting_server") => 0,
                    Some("http_client_user") => 1,
                    Some("http_client_pass") => 2,
                    _ => continue,
                };
                if uuids[slot].is_none() {
                    uuids[slot] = s.get("uuid").and_then(Value::as_str).map(str::to_owned);
                }
            }
            next = next_link(&headers);
        }
        let [Some(setting_server), user, pass] = uuids else {
            return Err(ProviderError::Permanent(
                "the provider's settings catalogue has no setting_server in section phone-settings"
                    .into(),
            ));
        };
        let d = Discovery {
            company: company
                .get("uuid")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
            company_name: company
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
            endpoints,
            setting_server,
            http_client_user: user.unwrap_or_default(),
            http_client_pass: pass.unwrap_or_default(),
        };
        if d.http_client_user.is_empty() || d.http_client_pass.is_empty() {
            tracing::warn!("(Snom): the provider's catalogue lacks http_client_user/http_client_pass; credentials are sent in the URL instead");
        }
        *self.cache.lock().unwrap_or_else(|p| p.into_inner()) = Some((Instant::now(), d.clone()));
        Ok(d)
    }
}

fn no_role() -> ProviderError {
    ProviderError::Permanent(
        "403 Forbidden: the API key has no role; choose a role for the key at the provider".into(),
    )
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

fn link(v: &Value, name: &str) -> Result<String, ProviderError> {
    v.get("links")
        .and_then(|l| l.get(name))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| {
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

fn detail(v: &Value) -> String {
    for k in ["detail", "message", "error"] {
        if let Some(s) = v.get(k).and_then(Value::as_str) {
            return s.to_owned();
        }
    }
    match v {
        Value::String(s) => s.chars().take(200).collect(),
        other => other.to_string().chars().take(200).collect(),
    }
}

/// Turns a non-2xx answer into words an admin can act on.
fn classify(
    status: StatusCode,
    headers: &reqwest::header::HeaderMap,
    body: &Value,
    url: &str,
) -> ProviderError {
    let d = detail(body);
    let retry_after = headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    match status.as_u16() {
        401 => ProviderError::Permanent(format!(
            "401 Unauthorized: the provider rejected the API key (wrong access key id or secret): {d}"
        )),
        403 if d.contains("taken_mac_or_forbidden") || d.contains("lacks permission to endpoint") => {
            ProviderError::Permanent("MAC is owned by another account (taken_mac_or_forbidden)".into())
        }
        403 if d.contains("role") => no_role(),
        403 => ProviderError::Permanent(format!("403 Forbidden: {d}")),
        404 => ProviderError::Permanent(format!("404 Not Found: {url}")),
        408 => ProviderError::Transient { message: format!("408 Request Timeout at the provider: {d}"), retry_after },
        429 => {
            let wait = retry_after.unwrap_or(Duration::from_secs(5));
            ProviderError::Throttled {
                message: format!("429 Too Many Requests: rate limited by the provider (retry after {} s)", wait.as_secs()),
                retry_after: wait,
            }
        }
        400 => ProviderError::Permanent(format!("400 Bad Request: {d}")),
        s if s >= 500 => ProviderError::Transient { message: format!("provider error {s}: {d}"), retry_after },
        s => ProviderError::Permanent(format!("{s}: {d}")),
    }
}

#[async_trait]
impl ProviderApi for Sraps {
    async fn register(&self, r: &Registration) -> Result<(), ProviderError> {
        let d = self.discover(false).await?;
        let mac = r.mac.to_string().to_ascii_lowercase();
        let mut settings = serde_json::Map::new();
        let mut url = r.url.clone();
        if d.http_client_user.is_empty() || d.http_client_pass.is_empty() {
            // Snom accepts user:pass@host in the setting server URL (reference §3).
            if let Some((scheme, rest)) = url.split_once("://") {
                url = format!("{scheme}://{}:{}@{rest}", r.user, r.pass);
            }
        } else {
            settings.insert(
                d.http_client_user.clone(),
                json!({ "value": r.user, "attrs": { "perm": "RW" } }),
            );
            settings.insert(
                d.http_client_pass.clone(),
                json!({ "value": r.pass, "attrs": { "perm": "RW" } }),
            );
        }
        settings.insert(
            d.setting_server.clone(),
            json!({ "value": url, "attrs": { "perm": "RW" } }),
        );
        let body =
            json!({ "mac": mac, "autoprovisioning_enabled": true, "settings_manager": settings });
        let result = self
            .ok(Method::PUT, &format!("{}{mac}", d.endpoints), Some(&body))
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
        let (status, headers, body) = self.call(Method::DELETE, &url, None).await?;
        if status.is_success() || status == StatusCode::NOT_FOUND {
            return Ok(());
        }
        Err(classify(status, &headers, &body, &url))
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
        let p = |s: u16, body: Value| {
            classify(StatusCode::from_u16(s).unwrap(), &h, &body, "http://x/")
        };
        assert_eq!(
            p(
                403,
                json!({"detail": "taken_mac_or_forbidden: MAC 1 is owned by another account"})
            )
            .to_string(),
            "MAC is owned by another account (taken_mac_or_forbidden)"
        );
        assert_eq!(
            p(
                403,
                json!({"detail": "The API key has no role (role \"none\")"})
            )
            .to_string(),
            "403 Forbidden: the API key has no role; choose a role for the key at the provider"
        );
        assert!(p(401, json!({"detail": "Bad mac"}))
            .to_string()
            .contains("wrong access key id or secret"));
        assert!(p(503, json!("down")).is_transient());
        assert!(!p(400, json!({"message": "bad mac"})).is_transient());
        let mut h429 = reqwest::header::HeaderMap::new();
        h429.insert("retry-after", "7".parse().unwrap());
        match classify(StatusCode::TOO_MANY_REQUESTS, &h429, &json!({}), "u") {
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
