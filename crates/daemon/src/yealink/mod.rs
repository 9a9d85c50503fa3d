//! Yealink's cloud: YMCS v2 RPS (reference "Yealink", where falconieri and
//! fspbx agree). An OAuth2 client-credentials token, cached until 60 s
//! before it expires; `timestamp` (ms) and `nonce` headers on every call;
//! one server (the phones' first URL, a folder) created or reused, and the
//! devices added to it by MAC in batches of up to 100 with their own pair,
//! answered per MAC. Accounts for which adding by MAC is forbidden (a 403,
//! fspbx#600) add each device with its serial number instead.
//!
//! Error codes: 800001 invalid MAC, 800003 already exists (a
//! re-registration: removed and added again), 800004 managed by another
//! organisation, 800006 batch too large, 900401 session expired (a new token,
//! one retry), 900429 rate limited (the provider pauses), 9005xx server errors.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use touchless_domain::Mac;

use crate::provider::{Account, Kind, ProviderApi, ProviderError, Registration};

pub const KIND: Kind = Kind {
    vendor: "yealink",
    factory,
    // **Guess**: the reference names no host; give `--url`.
    default_base_url: Some("https://api.ymcs.yealink.com/"),
};

fn factory(a: &Account<'_>) -> std::sync::Arc<dyn ProviderApi> {
    std::sync::Arc::new(Ymcs::new(
        a.base_url, a.key_id, a.secret, a.timeout, a.ca_pem,
    ))
}

/// The name of the one server touchless keeps at YMCS.
const SERVER_NAME: &str = "touchless";

pub struct Ymcs {
    base: String,
    id: String,
    secret: String,
    http: reqwest::Client,
    token: Mutex<Option<(String, Instant)>>,
    /// The server's id, for the URL it was made for. An async lock held
    /// while it is looked up or made, so the workers that start together
    /// make one server, not one each.
    server: tokio::sync::Mutex<Option<(String, String)>>,
}

fn mac_id(mac: Mac) -> String {
    mac.to_string().to_ascii_lowercase()
}

/// A YMCS error body: `{code, error, message}`.
fn code_of(body: &Value) -> Option<i64> {
    body["code"]
        .as_i64()
        .or_else(|| body["code"].as_str()?.parse().ok())
}

fn message_of(body: &Value) -> String {
    body["message"]
        .as_str()
        .or(body["error"].as_str())
        .unwrap_or("")
        .to_owned()
}

/// A per-MAC or whole-call YMCS code in words.
fn refusal(code: i64, message: &str) -> ProviderError {
    match code {
        800001 => ProviderError::Permanent(format!(
            "YMCS refused the MAC as invalid (800001): {message}"
        )),
        800003 => ProviderError::Permanent(format!(
            "YMCS says the device already exists (800003): {message}"
        )),
        800004 => ProviderError::Permanent(
            "MAC is owned by another account (YMCS 800004: managed by another organisation)".into(),
        ),
        800006 => ProviderError::Permanent(format!(
            "YMCS refused the batch as too large (800006): {message}"
        )),
        900429 => ProviderError::Throttled {
            message: "rate limited by YMCS (900429)".into(),
            retry_after: Duration::from_secs(30),
        },
        c if (900500..900600).contains(&c) => ProviderError::Transient {
            message: format!("YMCS error {c}: {message}"),
            retry_after: None,
        },
        c => ProviderError::Permanent(format!("YMCS error {c}: {message}")),
    }
}

/// The answer of one call: its status and JSON body (`Null` when none).
struct Answer {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: Value,
    text: String,
}

impl Ymcs {
    pub fn new(
        base_url: &str,
        id: &str,
        secret: &str,
        timeout: Duration,
        ca_pem: Option<&str>,
    ) -> Self {
        Ymcs {
            base: base_url.trim_end_matches('/').to_owned(),
            id: id.to_owned(),
            secret: secret.to_owned(),
            http: crate::tls::provider_client(ca_pem, timeout),
            token: Mutex::new(None),
            server: tokio::sync::Mutex::new(None),
        }
    }

    async fn send(&self, req: reqwest::RequestBuilder, url: &str) -> Result<Answer, ProviderError> {
        let mut resp = req
            .send()
            .await
            .map_err(|e| crate::http::transport_error(&e, url))?;
        let status = resp.status();
        let headers = std::mem::take(resp.headers_mut());
        let text = resp.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Ok(Answer {
            status,
            headers,
            body,
            text,
        })
    }

    /// The cached token, or a new one (kept until 60 s before it expires).
    async fn token(&self, fresh: bool) -> Result<String, ProviderError> {
        if !fresh {
            if let Some((t, until)) = self
                .token
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .as_ref()
            {
                if Instant::now() < *until {
                    return Ok(t.clone());
                }
            }
        }
        let url = format!("{}/v2/token", self.base);
        let req = self
            .http
            .post(&url)
            .basic_auth(&self.id, Some(&self.secret))
            .json(&json!({"grant_type": "client_credentials"}));
        let a = self.send(req, &url).await?;
        if a.status == StatusCode::UNAUTHORIZED || a.status == StatusCode::BAD_REQUEST {
            return Err(ProviderError::Permanent(format!(
                "401 Unauthorized: YMCS rejected the client id or secret: {}",
                message_of(&a.body)
            )));
        }
        if !a.status.is_success() {
            return Err(crate::http::classify(a.status, &a.headers, &a.text, &url));
        }
        let token = a.body["access_token"].as_str().unwrap_or("").to_owned();
        if token.is_empty() {
            return Err(ProviderError::Permanent(
                "YMCS answered the token request without an access_token".into(),
            ));
        }
        let ttl = a.body["expires_in"].as_u64().unwrap_or(3600);
        let until = Instant::now() + Duration::from_secs(ttl.saturating_sub(60));
        *self.token.lock().unwrap_or_else(|p| p.into_inner()) = Some((token.clone(), until));
        Ok(token)
    }

    /// A call with the token, `timestamp` and `nonce`; an expired session
    /// (900401, or a 401) gets a new token and one more try.
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: &Value,
    ) -> Result<Answer, ProviderError> {
        let url = format!("{}{path}", self.base);
        for fresh in [false, true] {
            let token = self.token(fresh).await?;
            let ts = chrono::Utc::now().timestamp_millis().to_string();
            let nonce = touchless_runtime::secret::random_hex(16);
            let req = self
                .http
                .request(method.clone(), &url)
                .bearer_auth(&token)
                .header("timestamp", ts)
                .header("nonce", nonce)
                .json(body);
            let a = self.send(req, &url).await?;
            let expired = a.status == StatusCode::UNAUTHORIZED || code_of(&a.body) == Some(900401);
            if expired && !fresh {
                continue;
            }
            return Ok(a);
        }
        unreachable!("the loop returns on its second pass")
    }

    /// A call whose failure is an error in words.
    async fn ok(&self, method: Method, path: &str, body: &Value) -> Result<Value, ProviderError> {
        let a = self.call(method, path, body).await?;
        check(&a, &format!("{}{path}", self.base))?;
        Ok(a.body)
    }

    /// The server holding the phones' first URL: reused when it exists.
    async fn server(&self, url: &str) -> Result<String, ProviderError> {
        let mut known = self.server.lock().await;
        if let Some((id, for_url)) = known.as_ref() {
            if for_url == url {
                return Ok(id.clone());
            }
        }
        let list = self
            .ok(
                Method::POST,
                "/v2/rps/listServers",
                &json!({"skip": 0, "limit": 100}),
            )
            .await?;
        let found = list["data"]
            .as_array()
            .or(list.as_array())
            .into_iter()
            .flatten()
            .find(|s| s["serverName"] == SERVER_NAME)
            .cloned();
        let id = match found {
            Some(s) if s["url"] == url => s["id"].as_str().unwrap_or("").to_owned(),
            Some(s) => {
                let id = s["id"].as_str().unwrap_or("").to_owned();
                self.ok(
                    Method::PATCH,
                    &format!("/v2/rps/servers/{id}"),
                    &json!({"serverName": SERVER_NAME, "url": url}),
                )
                .await?;
                id
            }
            None => {
                let made = self
                    .ok(
                        Method::POST,
                        "/v2/rps/servers",
                        &json!({"serverName": SERVER_NAME, "url": url}),
                    )
                    .await?;
                made["id"].as_str().unwrap_or("").to_owned()
            }
        };
        if id.is_empty() {
            return Err(ProviderError::Permanent(
                "YMCS answered a server without an id".into(),
            ));
        }
        *known = Some((id.clone(), url.to_owned()));
        Ok(id)
    }

    /// The folder part of a first URL: the server's URL.
    fn folder(url: &str) -> &str {
        url.rsplit_once('/').map(|(f, _)| f).unwrap_or(url)
    }

    async fn add_by_serial(&self, r: &Registration, server: &str) -> Result<(), ProviderError> {
        let Some(sn) = &r.serial else {
            return Err(ProviderError::Permanent(
                "YMCS does not let this account add devices by MAC (403); the device needs its serial number: set `serial` (touchless device edit MAC --serial SN)".into(),
            ));
        };
        let body = json!({"mac": mac_id(r.mac), "sn": sn, "serverId": server, "authName": r.user, "password": r.pass});
        let a = self.call(Method::POST, "/v2/rps/devices", &body).await?;
        if code_of(&a.body) == Some(800003) {
            self.ok(
                Method::POST,
                "/v2/rps/delDevices",
                &json!({"deviceIdType": "mac", "deviceIds": [mac_id(r.mac)]}),
            )
            .await?;
            return self
                .ok(Method::POST, "/v2/rps/devices", &body)
                .await
                .map(|_| ());
        }
        check(&a, &format!("{}/v2/rps/devices", self.base))
    }
}

/// Per MAC, the errors an `addDevicesByMac` answer lists (the others are
/// done): the MAC as written, the error in words, and whether it says the
/// device already exists.
pub(crate) fn batch_errors(body: &Value) -> Vec<(String, ProviderError, bool)> {
    body["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            let info = &e["errorInfo"];
            let code = code_of(info).or_else(|| {
                info.as_str().and_then(|s| {
                    s.split(|c: char| !c.is_ascii_digit())
                        .find(|t| t.len() == 6)?
                        .parse()
                        .ok()
                })
            });
            let msg = message_of(info);
            let msg = if msg.is_empty() {
                info.as_str().unwrap_or("").to_owned()
            } else {
                msg
            };
            let mac = e["mac"].as_str().unwrap_or("").to_ascii_lowercase();
            (mac, refusal(code.unwrap_or(0), &msg), code == Some(800003))
        })
        .collect()
}

/// A whole YMCS answer in words: its code if it has one, else its status.
#[cfg(feature = "fuzzing")]
pub(crate) fn answer_error(
    status: StatusCode,
    headers: &reqwest::header::HeaderMap,
    text: &str,
) -> Option<ProviderError> {
    let body = serde_json::from_str(text).unwrap_or(Value::Null);
    check(
        &Answer {
            status,
            headers: headers.clone(),
            body,
            text: text.to_owned(),
        },
        "fuzz",
    )
    .err()
}

/// A 2xx answer without an error code is done; anything else in words.
fn check(a: &Answer, url: &str) -> Result<(), ProviderError> {
    if let Some(code) = code_of(&a.body).filter(|c| *c != 0 && *c != 200) {
        return Err(refusal(code, &message_of(&a.body)));
    }
    if a.status.is_success() {
        return Ok(());
    }
    Err(crate::http::classify(a.status, &a.headers, &a.text, url))
}

#[async_trait]
impl ProviderApi for Ymcs {
    fn batch_size(&self) -> usize {
        100
    }

    async fn register(&self, r: &Registration) -> Result<(), ProviderError> {
        self.register_batch(std::slice::from_ref(r)).await.remove(0)
    }

    async fn register_batch(&self, rs: &[Registration]) -> Vec<Result<(), ProviderError>> {
        let Some(first) = rs.first() else {
            return Vec::new();
        };
        let all = |e: ProviderError| rs.iter().map(|_| Err(e.clone())).collect();
        let server = match self.server(Self::folder(&first.url)).await {
            Ok(s) => s,
            Err(e) => return all(e),
        };
        let items: Vec<Value> = rs
            .iter()
            .map(|r| json!({"mac": mac_id(r.mac), "serverId": server, "authName": r.user, "password": r.pass}))
            .collect();
        let a = match self
            .call(
                Method::POST,
                "/v2/rps/addDevicesByMac",
                &Value::Array(items),
            )
            .await
        {
            Ok(a) => a,
            Err(e) => return all(e),
        };
        if a.status == StatusCode::FORBIDDEN && code_of(&a.body).is_none() {
            // Adding by MAC is not enabled for this account: by serial number.
            let mut out = Vec::with_capacity(rs.len());
            for r in rs {
                out.push(self.add_by_serial(r, &server).await);
            }
            return out;
        }
        if let Err(e) = check(&a, &format!("{}/v2/rps/addDevicesByMac", self.base)) {
            return all(e);
        }
        let errors = batch_errors(&a.body);
        let mut out = Vec::with_capacity(rs.len());
        for r in rs {
            let mac = mac_id(r.mac);
            match errors.iter().find(|(m, _, _)| *m == mac) {
                None => out.push(Ok(())),
                Some((_, _, true)) => {
                    // Already there: a re-registration. Remove and add again
                    // with the new pair.
                    let again = async {
                        self.ok(
                            Method::POST,
                            "/v2/rps/delDevices",
                            &json!({"deviceIdType": "mac", "deviceIds": [mac]}),
                        )
                        .await?;
                        let item = json!([{"mac": mac, "serverId": server, "authName": r.user, "password": r.pass}]);
                        let b = self
                            .ok(Method::POST, "/v2/rps/addDevicesByMac", &item)
                            .await?;
                        match b["errors"].as_array().and_then(|e| e.first()) {
                            Some(e) => Err(refusal(
                                code_of(&e["errorInfo"]).unwrap_or(0),
                                &message_of(&e["errorInfo"]),
                            )),
                            None => Ok(()),
                        }
                    };
                    out.push(again.await);
                }
                Some((_, e, false)) => out.push(Err(e.clone())),
            }
        }
        out
    }

    async fn deregister(&self, mac: Mac) -> Result<(), ProviderError> {
        self.deregister_batch(&[mac]).await.remove(0)
    }

    async fn deregister_batch(&self, macs: &[Mac]) -> Vec<Result<(), ProviderError>> {
        let ids: Vec<String> = macs.iter().map(|m| mac_id(*m)).collect();
        let r = self
            .ok(
                Method::POST,
                "/v2/rps/delDevices",
                &json!({"deviceIdType": "mac", "deviceIds": ids}),
            )
            .await
            .map(|_| ());
        macs.iter().map(|_| r.clone()).collect()
    }

    async fn pins(&self, macs: &[Mac]) -> Result<Vec<(Mac, String)>, ProviderError> {
        let ids: Vec<String> = macs.iter().map(|m| mac_id(*m)).collect();
        let list = self
            .ok(
                Method::POST,
                "/v2/rps/listDevicePins",
                &json!({"macs": ids}),
            )
            .await?;
        let rows = list["data"]
            .as_array()
            .or(list.as_array())
            .cloned()
            .unwrap_or_default();
        Ok(rows
            .iter()
            .filter_map(|r| {
                let mac = Mac::parse(r["mac"].as_str()?).ok()?;
                Some((mac, r["pin"].as_str()?.to_owned()))
            })
            .collect())
    }

    async fn test(&self) -> Result<String, ProviderError> {
        self.token(true).await?;
        self.ok(
            Method::POST,
            "/v2/rps/listServers",
            &json!({"skip": 0, "limit": 1}),
        )
        .await?;
        Ok("OK, YMCS issued a token and answers".into())
    }
}
