//! Poly's cloud: ZTP (reference "Poly ZTP", from fspbx's client). An `API-KEY`
//! header; a *profile* holds the provisioning server's address, user and
//! password (`template.provisioning.server`); a device is `POST /devices
//! {id, profile}` and goes with `DELETE /devices/{mac}`. Errors come as JSON
//! `message`.
//!
//! A Poly phone's first URL carries its one-time pair in the path
//! (`docs/vendors/poly.md`), so it differs per device, and a profile holds one
//! URL: touchless keeps one profile per device, named `touchless-{mac}`,
//! creates or updates it, then points the device at it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use touchless_domain::Mac;

use crate::provider::{Account, Kind, ProviderApi, ProviderError, Registration};

pub const KIND: Kind = Kind {
    vendor: "poly",
    factory,
    // Poly's public ZTP API (**guess**: the reference gives no host).
    default_base_url: Some("https://api.ztp.poly.com/v1/"),
};

fn factory(a: &Account<'_>) -> std::sync::Arc<dyn ProviderApi> {
    std::sync::Arc::new(Ztp::new(a.base_url, a.secret, a.timeout, a.ca_pem))
}

pub struct Ztp {
    base: String,
    key: String,
    http: reqwest::Client,
    /// Profile ids by name, as learned; a miss looks the name up.
    profiles: Mutex<HashMap<String, String>>,
}

fn mac_id(mac: Mac) -> String {
    mac.to_string().to_ascii_lowercase()
}

fn profile_name(mac: Mac) -> String {
    format!("touchless-{}", mac_id(mac))
}

impl Ztp {
    pub fn new(base_url: &str, key: &str, timeout: Duration, ca_pem: Option<&str>) -> Self {
        let base = if base_url.ends_with('/') {
            base_url.to_owned()
        } else {
            format!("{base_url}/")
        };
        Ztp {
            base,
            key: key.to_owned(),
            http: crate::tls::provider_client(ca_pem, timeout),
            profiles: Mutex::new(HashMap::new()),
        }
    }

    /// One request with the API key; `(status, body)` for any answer.
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(StatusCode, reqwest::header::HeaderMap, String), ProviderError> {
        let url = format!("{}{path}", self.base);
        let mut req = self
            .http
            .request(method, &url)
            .header("API-KEY", &self.key)
            .header("accept", "application/json");
        if let Some(b) = body {
            req = req.json(b);
        }
        let mut resp = req
            .send()
            .await
            .map_err(|e| crate::http::transport_error(&e, &url))?;
        let status = resp.status();
        let headers = std::mem::take(resp.headers_mut());
        Ok((status, headers, resp.text().await.unwrap_or_default()))
    }

    /// A call whose non-2xx answer is an error, in words.
    async fn ok(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<String, ProviderError> {
        let (status, headers, text) = self.call(method, path, body).await?;
        if status.is_success() {
            return Ok(text);
        }
        Err(classify(
            status,
            &headers,
            &text,
            &format!("{}{path}", self.base),
        ))
    }

    /// The id of the profile named `name`, looked up page by page.
    async fn find_profile(&self, name: &str) -> Result<Option<String>, ProviderError> {
        let mut cursor: Option<String> = None;
        for _ in 0..1000 {
            let path = match &cursor {
                Some(c) => format!("profiles?limit=100&cursor={c}"),
                None => "profiles?limit=100".to_owned(),
            };
            let page: Value = parse(&self.ok(Method::GET, &path, None).await?)?;
            for p in page["results"].as_array().into_iter().flatten() {
                if p["name"] == name {
                    return Ok(p["id"].as_str().map(str::to_owned));
                }
            }
            cursor = page["cursor"]
                .as_str()
                .filter(|c| !c.is_empty())
                .map(str::to_owned);
            if cursor.is_none() {
                return Ok(None);
            }
        }
        Ok(None)
    }

    /// Creates or updates the device's profile; its id.
    async fn ensure_profile(&self, r: &Registration) -> Result<String, ProviderError> {
        let name = profile_name(r.mac);
        let body = json!({
            "name": name,
            "template": {"provisioning": {
                "server": {"address": r.url, "username": r.user, "password": r.pass},
                // The phone takes the profile's server, not DHCP's (**guess**
                // where the setting sits).
                "dhcp": {"bootServerOption": "STATIC"},
            }},
        });
        let known = self
            .profiles
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&name)
            .cloned();
        let id = match known {
            Some(id) => Some(id),
            None => self.find_profile(&name).await?,
        };
        if let Some(id) = id {
            let (status, headers, text) = self
                .call(Method::PUT, &format!("profiles/{id}"), Some(&body))
                .await?;
            if status.is_success() {
                self.remember(&name, &id);
                return Ok(id);
            }
            if status != StatusCode::NOT_FOUND {
                return Err(classify(
                    status,
                    &headers,
                    &text,
                    &format!("{}profiles/{id}", self.base),
                ));
            }
            // Gone meanwhile: create it again.
        }
        let created: Value = parse(&self.ok(Method::POST, "profiles", Some(&body)).await?)?;
        let id = created["id"].as_str().map(str::to_owned).ok_or_else(|| {
            ProviderError::Permanent("Poly ZTP created the profile but answered no id".into())
        })?;
        self.remember(&name, &id);
        Ok(id)
    }

    fn remember(&self, name: &str, id: &str) {
        self.profiles
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.to_owned(), id.to_owned());
    }
}

pub(crate) fn parse(text: &str) -> Result<Value, ProviderError> {
    serde_json::from_str(text).map_err(|e| {
        ProviderError::Permanent(format!(
            "Poly ZTP's answer is not the JSON its API answers: {e}"
        ))
    })
}

/// ZTP's words: its key is one API key; a device claimed by another account
/// is a 403 with its `message`.
pub(crate) fn classify(
    status: StatusCode,
    headers: &reqwest::header::HeaderMap,
    body: &str,
    url: &str,
) -> ProviderError {
    let d = crate::http::detail(body);
    match status.as_u16() {
        401 => ProviderError::Permanent(format!(
            "401 Unauthorized: Poly ZTP rejected the API key: {d}"
        )),
        403 if d.to_ascii_lowercase().contains("another account")
            || d.to_ascii_lowercase().contains("claimed") =>
        {
            ProviderError::Permanent(format!("MAC is owned by another account (Poly ZTP: {d})"))
        }
        _ => crate::http::classify(status, headers, body, url),
    }
}

#[async_trait]
impl ProviderApi for Ztp {
    async fn register(&self, r: &Registration) -> Result<(), ProviderError> {
        let profile = self.ensure_profile(r).await?;
        let body = json!({"id": mac_id(r.mac), "profile": profile});
        let (status, headers, text) = self.call(Method::POST, "devices", Some(&body)).await?;
        if status.is_success() {
            return Ok(());
        }
        if status == StatusCode::CONFLICT {
            // Already in this account (a re-registration): point it at the
            // profile again, with the calls the API is known to have.
            self.deregister_device(r.mac).await?;
            self.ok(Method::POST, "devices", Some(&body)).await?;
            return Ok(());
        }
        let e = classify(status, &headers, &text, &format!("{}devices", self.base));
        if !e.is_transient() {
            // The device is not ours to point anywhere: leave no profile
            // behind for it (best effort; a retry creates it again).
            self.forget_profile(r.mac).await.ok();
        }
        Err(e)
    }

    async fn deregister(&self, mac: Mac) -> Result<(), ProviderError> {
        self.deregister_device(mac).await?;
        self.forget_profile(mac).await
    }

    async fn test(&self) -> Result<String, ProviderError> {
        let page: Value = parse(&self.ok(Method::GET, "profiles?limit=1", None).await?)?;
        if !page["results"].is_array() {
            return Err(ProviderError::Permanent(
                "Poly ZTP's answer to profiles has no results list".into(),
            ));
        }
        Ok("OK, Poly ZTP accepts the API key".into())
    }
}

impl Ztp {
    /// Deletes the device's profile; one that is not there is done.
    async fn forget_profile(&self, mac: Mac) -> Result<(), ProviderError> {
        let name = profile_name(mac);
        let cached = self
            .profiles
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&name);
        let id = match cached {
            Some(id) => Some(id),
            None => self.find_profile(&name).await?,
        };
        let Some(id) = id else {
            return Ok(());
        };
        self.delete(&format!("profiles/{id}")).await
    }

    /// `DELETE /devices/{mac}`; a device that is not there is done.
    async fn deregister_device(&self, mac: Mac) -> Result<(), ProviderError> {
        self.delete(&format!("devices/{}", mac_id(mac))).await
    }

    /// `DELETE path`; what is not there is gone already.
    async fn delete(&self, path: &str) -> Result<(), ProviderError> {
        let (status, headers, text) = self.call(Method::DELETE, path, None).await?;
        if status.is_success() || status == StatusCode::NOT_FOUND {
            return Ok(());
        }
        Err(classify(
            status,
            &headers,
            &text,
            &format!("{}{path}", self.base),
        ))
    }
}
