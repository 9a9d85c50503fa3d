//! The SRAPS-compatible REST API v1 (`/api/v1/…`), Hawk-authenticated JSON.
//!
//! Shapes follow what public SRAPS clients send and expect (reference §1.3–1.7):
//! bare JSON arrays with `Link: <…>; rel="next"` pagination, absolute `links` on
//! the host the client addressed, errors as `{"detail": …}`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, StatusCode};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use touchless_domain::{Mac, Perm};
use touchless_store::{
    ApiKey, Endpoint, EndpointIn, Profile, ProfileIn, Role, SettingValue, SettingValues, StoreError,
};

use super::catalogue::{uuid_for, Catalogue, SettingDef};
use super::hawk::{self, HawkError, RequestInfo};
use super::RedirectState;

// -- errors -------------------------------------------------------------------------

#[derive(Debug)]
pub struct SrapsError {
    status: StatusCode,
    detail: String,
    www_authenticate: Option<String>,
    retry_after: Option<u64>,
}

impl SrapsError {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        SrapsError {
            status,
            detail: detail.into(),
            www_authenticate: None,
            retry_after: None,
        }
    }
    fn bad(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, detail)
    }
    fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, detail)
    }
    fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, format!("{what} not found"))
    }
}

impl IntoResponse for SrapsError {
    fn into_response(self) -> Response {
        let mut r = (self.status, axum::Json(json!({ "detail": self.detail }))).into_response();
        if let Some(w) = self
            .www_authenticate
            .and_then(|w| HeaderValue::from_str(&w).ok())
        {
            r.headers_mut().insert(header::WWW_AUTHENTICATE, w);
        }
        if let Some(s) = self.retry_after {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        r
    }
}

impl From<StoreError> for SrapsError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { what, .. } => SrapsError::not_found(what),
            StoreError::Forbidden(m) => SrapsError::forbidden(m),
            StoreError::Conflict(m) => SrapsError::new(StatusCode::CONFLICT, m),
            StoreError::Invalid { field, message } => {
                SrapsError::bad(format!("{field}: {message}"))
            }
            other => {
                tracing::error!(error = %other, "store failure in the redirection API");
                SrapsError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
            }
        }
    }
}

type ApiResult<T = Response> = Result<T, SrapsError>;

pub async fn not_found() -> SrapsError {
    SrapsError::new(StatusCode::NOT_FOUND, "no such resource")
}

pub async fn method_not_allowed() -> SrapsError {
    SrapsError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method not allowed on this resource",
    )
}

// -- rate limiting -------------------------------------------------------------------

/// A token bucket per API key, in memory (per node).
pub struct RateLimiter {
    per_minute: u32,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    pub fn new(per_minute: u32) -> Self {
        RateLimiter {
            per_minute,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(seconds to wait)` when the key is over its rate.
    fn take(&self, key: &str) -> Result<(), u64> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let rate = f64::from(self.per_minute) / 60.0;
        let burst = (f64::from(self.per_minute) / 6.0).max(10.0);
        let now = Instant::now();
        let mut b = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let (tokens, last) = b.entry(key.to_owned()).or_insert((burst, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * rate).min(burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - *tokens) / rate).ceil().max(1.0) as u64)
        }
    }
}

// -- authentication -------------------------------------------------------------------

/// An authenticated request: who, where they addressed us, and the body.
pub struct Ctx {
    pub key: ApiKey,
    /// `scheme://host[:port]/api/v1/`, as the client addressed us.
    pub base: String,
    pub body: Bytes,
    pub query: String,
}

impl Ctx {
    fn company_url(&self, id: &str) -> String {
        format!("{}companies/{id}/", self.base)
    }

    fn require(&self, role: Role, action: &str) -> ApiResult<()> {
        if self.key.role >= role {
            return Ok(());
        }
        Err(SrapsError::forbidden(if self.key.role == Role::None {
            format!(
                "The API key has no role (role \"none\") and may not {action}; choose a role for the key (read, write or admin)"
            )
        } else {
            format!(
                "The API key's role \"{}\" may not {action}; it needs role \"{}\"",
                self.key.role.as_str(),
                role.as_str()
            )
        }))
    }

    fn own_company(&self, id: &str) -> ApiResult<()> {
        if id == self.key.company {
            Ok(())
        } else {
            Err(SrapsError::forbidden(
                "User lacks permission to this company",
            ))
        }
    }
}

/// Host, port and scheme as the client addressed the server (behind a proxy,
/// from `X-Forwarded-*` when configured to trust them).
fn addressed(st: &RedirectState, headers: &HeaderMap) -> ApiResult<(String, String, u16)> {
    let fwd = |name: &str| {
        st.trust_forwarded
            .then(|| headers.get(name).and_then(|v| v.to_str().ok()))
            .flatten()
            .map(|v| v.split(',').next().unwrap_or("").trim().to_owned())
    };
    let scheme = fwd("x-forwarded-proto").unwrap_or_else(|| {
        if st.tls {
            "https".into()
        } else {
            "http".into()
        }
    });
    let host = fwd("x-forwarded-host")
        .or_else(|| {
            headers
                .get(header::HOST)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        })
        .ok_or_else(|| SrapsError::bad("missing Host header"))?;
    if host.is_empty()
        || host.len() > 255
        || !host
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b".-:[]".contains(&c))
    {
        return Err(SrapsError::bad("invalid Host header"));
    }
    let (name, port) = match host.rsplit_once(':') {
        Some((n, p))
            if !n.ends_with(':') && p.bytes().all(|c| c.is_ascii_digit()) && !p.is_empty() =>
        {
            (
                n.to_owned(),
                p.parse::<u16>()
                    .map_err(|_| SrapsError::bad("invalid port in Host header"))?,
            )
        }
        _ => (host.clone(), if scheme == "https" { 443 } else { 80 }),
    };
    let port = match fwd("x-forwarded-port") {
        Some(p) => p
            .parse()
            .map_err(|_| SrapsError::bad("invalid X-Forwarded-Port"))?,
        None => port,
    };
    Ok((format!("{scheme}://{host}/api/v1/"), name, port))
}

/// How long a client may take to send a request body once its headers are in.
const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

impl RedirectState {
    /// Verifies Hawk and reads the body (bounded). Every API handler starts here.
    pub async fn auth(&self, req: Request) -> ApiResult<Ctx> {
        let (parts, body) = req.into_parts();
        let (base, host, port) = addressed(self, &parts.headers)?;
        let value = parts
            .headers
            .get(header::AUTHORIZATION)
            .ok_or_else(|| SrapsError {
                www_authenticate: Some("Hawk".into()),
                ..SrapsError::new(
                    StatusCode::UNAUTHORIZED,
                    "Authentication credentials were not provided (Hawk)",
                )
            })?
            .to_str()
            .map_err(|_| SrapsError::bad("Bad header: not ASCII"))?;
        let h = hawk::parse_header(value).map_err(|e| SrapsError::bad(e.to_string()))?;
        let unauthorized = |e: HawkError| {
            let www = match &e {
                HawkError::Stale { now, tsm } => {
                    format!("Hawk ts=\"{now}\", tsm=\"{tsm}\", error=\"Stale timestamp\"")
                }
                other => format!("Hawk error=\"{other}\""),
            };
            SrapsError {
                www_authenticate: Some(www),
                ..SrapsError::new(StatusCode::UNAUTHORIZED, e.to_string())
            }
        };
        let key = match self.store.get_api_key(&h.id).await? {
            Some(k) if k.enabled => k,
            _ => return Err(unauthorized(HawkError::UnknownCredentials)),
        };
        // Only now, with a known key, is the body worth waiting for; and a body
        // that trickles in is cut off, so a client cannot hold connections open
        // with a promised Content-Length it never sends.
        let body = match tokio::time::timeout(
            BODY_TIMEOUT,
            axum::body::to_bytes(Body::new(body), self.max_body),
        )
        .await
        {
            Ok(Ok(b)) => b,
            Ok(Err(_)) => {
                return Err(SrapsError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("request body larger than {} bytes", self.max_body),
                ))
            }
            Err(_) => {
                return Err(SrapsError::new(
                    StatusCode::REQUEST_TIMEOUT,
                    format!(
                        "request body not received within {} s",
                        BODY_TIMEOUT.as_secs()
                    ),
                ))
            }
        };
        let resource = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/");
        let content_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let now = chrono::Utc::now().timestamp().max(0) as u64;
        hawk::verify(
            key.secret.as_bytes(),
            &h,
            &RequestInfo {
                method: parts.method.as_str(),
                resource,
                host: &host,
                port,
            },
            content_type,
            &body,
            &self.nonces,
            now,
            self.skew,
        )
        .map_err(|e| {
            tracing::info!(key = %key.id, error = %e, "Hawk authentication failed");
            unauthorized(e)
        })?;
        // The in-memory cache caught replays to this node; the shared table
        // catches a request replayed to another node on the same database.
        let expires = chrono::Utc::now() + chrono::Duration::seconds((2 * self.skew + 1) as i64);
        if !self
            .store
            .remember_nonce(&key.id, &h.nonce, expires)
            .await?
        {
            tracing::info!(key = %key.id, "Hawk nonce replayed (seen by another node)");
            return Err(unauthorized(HawkError::Replay));
        }
        if let Err(wait) = self.limiter.take(&key.id) {
            return Err(SrapsError {
                retry_after: Some(wait),
                ..SrapsError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    format!("Request was throttled. Expected available in {wait} seconds."),
                )
            });
        }
        self.touch(&key.id).await;
        Ok(Ctx {
            key,
            base,
            body,
            query: parts.uri.query().unwrap_or("").to_owned(),
        })
    }

    /// Records the key's last use, at most once a minute per key and node.
    async fn touch(&self, id: &str) {
        {
            let mut t = self.touched.lock().unwrap_or_else(|p| p.into_inner());
            let now = Instant::now();
            if t.get(id)
                .is_some_and(|last| now.duration_since(*last) < Duration::from_secs(60))
            {
                return;
            }
            t.insert(id.to_owned(), now);
        }
        if let Err(e) = self.store.touch_api_key(id, chrono::Utc::now()).await {
            tracing::warn!(error = %e, "recording API key use failed");
        }
    }
}

// -- pagination --------------------------------------------------------------------

#[derive(Deserialize, Default)]
struct PageQuery {
    page: Option<String>,
    page_size: Option<String>,
}

/// Bounds `page` so that `(page - 1) * page_size` fits any database's offset
/// (PostgreSQL's is a signed 64-bit integer) with room to spare.
const MAX_PAGE: u64 = 1_000_000_000;

struct Page {
    number: u64,
    size: u64,
}

impl Page {
    fn parse(query: &str) -> ApiResult<Page> {
        let q: PageQuery = serde_urlencoded_lite(query);
        let number = match q.page.as_deref() {
            None | Some("") => 1,
            Some(p) => p
                .parse::<u64>()
                .ok()
                .filter(|n| (1..=MAX_PAGE).contains(n))
                .ok_or_else(|| {
                    SrapsError::bad(format!("page: must be an integer from 1 to {MAX_PAGE}"))
                })?,
        };
        let size = match q.page_size.as_deref() {
            None | Some("") => 20,
            Some(p) => p
                .parse::<u64>()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| SrapsError::bad("page_size: must be a positive integer"))?
                .min(1000),
        };
        Ok(Page { number, size })
    }

    fn offset(&self) -> u64 {
        (self.number - 1) * self.size
    }

    /// A bare JSON array with RFC 8288 `Link` headers for the neighbours.
    fn respond(&self, items: Vec<Value>, total: u64, url: &str) -> Response {
        let mut links = Vec::new();
        if self.offset() + self.size < total {
            links.push(format!(
                "<{url}?page={}&page_size={}>; rel=\"next\"",
                self.number + 1,
                self.size
            ));
        }
        if self.number > 1 {
            links.push(format!(
                "<{url}?page={}&page_size={}>; rel=\"prev\"",
                self.number - 1,
                self.size
            ));
        }
        let mut r = axum::Json(Value::Array(items)).into_response();
        if !links.is_empty() {
            if let Ok(v) = HeaderValue::from_str(&links.join(", ")) {
                r.headers_mut().insert(header::LINK, v);
            }
        }
        if let Ok(v) = HeaderValue::from_str(&total.to_string()) {
            r.headers_mut().insert("x-total-count", v);
        }
        r
    }

    fn slice(&self, items: Vec<Value>, url: &str) -> Response {
        let total = items.len() as u64;
        let page = items
            .into_iter()
            .skip(self.offset() as usize)
            .take(self.size as usize)
            .collect();
        self.respond(page, total, url)
    }
}

/// `a=1&b=2` into the two fields we read; percent-decoding is not needed for
/// numbers, and anything else simply fails to parse as one.
fn serde_urlencoded_lite(query: &str) -> PageQuery {
    let mut q = PageQuery::default();
    for pair in query.split('&') {
        match pair.split_once('=') {
            Some(("page", v)) => q.page = Some(v.to_owned()),
            Some(("page_size", v)) => q.page_size = Some(v.to_owned()),
            _ => {}
        }
    }
    q
}

// -- JSON shapes -----------------------------------------------------------------------

fn setting_json(base: &str, s: &SettingDef) -> Value {
    let groups: Vec<&str> = Catalogue::get()
        .groups
        .iter()
        .map(|g| g.uuid.as_str())
        .collect();
    json!({
        "uuid": s.uuid,
        "name": s.name,
        "param_name": s.param_name,
        "description": s.description,
        "section": s.section,
        "field_type": s.field_type,
        "group": null,
        "product_groups": groups,
        "attrs": [],
        "choices": null,
        "default_value": null,
        "fkey": false,
        "multiple": false,
        "sortable": false,
        "uses_permissions": true,
        "no_profiles": 0,
        "indexed": {
            "enabled": s.indexed,
            "start": 1,
            "default_size": if s.indexed { 1 } else { 0 },
            "max_size": if s.indexed { 12 } else { 0 },
        },
        "links": { "self": format!("{base}settings/{}", s.uuid) },
    })
}

fn settings_manager_json(values: &SettingValues) -> Value {
    let mut m = Map::new();
    for (uuid, v) in values {
        let mut attrs = json!({ "perm": v.perm.as_str() });
        if let Some(i) = v.idx {
            attrs["idx"] = json!(i);
        }
        m.insert(uuid.clone(), json!({ "value": v.value, "attrs": attrs }));
    }
    Value::Object(m)
}

fn endpoint_json(ctx: &Ctx, e: &Endpoint) -> Value {
    let mac = e.mac.to_string().to_ascii_lowercase();
    json!({
        "uuid": uuid_for("endpoint", &mac),
        "mac": mac,
        "name": e.name,
        "autoprovisioning_enabled": e.autoprovisioning_enabled,
        "provisioning_profile": e.profile,
        "settings_manager": settings_manager_json(&e.settings),
        "created_at": e.created_at,
        "updated_at": e.updated_at,
        "links": {
            "self": format!("{}endpoints/{mac}", ctx.company_url(&e.company)),
            "company": ctx.company_url(&e.company),
        },
    })
}

fn profile_json(ctx: &Ctx, p: &Profile) -> Value {
    json!({
        "uuid": p.id,
        "name": p.name,
        "product_group": p.product_group,
        "autoprovisioning_enabled": p.autoprovisioning_enabled,
        "settings_manager": settings_manager_json(&p.settings),
        "created_at": p.created_at,
        "updated_at": p.updated_at,
        "links": {
            "self": format!("{}provisioning-profiles/{}", ctx.company_url(&p.company), p.id),
            "company": ctx.company_url(&p.company),
        },
    })
}

// -- body parsing ------------------------------------------------------------------------

fn json_body(ctx: &Ctx) -> ApiResult<Map<String, Value>> {
    match serde_json::from_slice::<Value>(&ctx.body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(SrapsError::bad("request body must be a JSON object")),
        Err(e) => Err(SrapsError::bad(format!("JSON parse error: {e}"))),
    }
}

/// A bool, or the strings "true"/"false" (ngcp-panel sends a string).
fn flexible_bool(m: &Map<String, Value>, key: &str, default: bool) -> ApiResult<bool> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(true),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(false),
        Some(other) => Err(SrapsError::bad(format!(
            "{key}: must be a boolean, got {other}"
        ))),
    }
}

fn opt_string(m: &Map<String, Value>, key: &str, max: usize) -> ApiResult<Option<String>> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s))
            if s.chars().count() <= max && touchless_domain::is_xml_text(s, false) =>
        {
            Ok(Some(s.clone()))
        }
        Some(Value::String(_)) => Err(SrapsError::bad(format!(
            "{key}: too long, or contains control characters or U+FFFE/U+FFFF"
        ))),
        Some(other) => Err(SrapsError::bad(format!(
            "{key}: must be a string, got {other}"
        ))),
    }
}

fn parse_settings_manager(m: &Map<String, Value>) -> ApiResult<SettingValues> {
    let mut out = SettingValues::new();
    let Some(v) = m.get("settings_manager") else {
        return Ok(out);
    };
    let obj = match v {
        Value::Null => return Ok(out),
        Value::Object(o) => o,
        other => {
            return Err(SrapsError::bad(format!(
                "settings_manager: must be an object, got {other}"
            )))
        }
    };
    let cat = Catalogue::get();
    for (uuid, entry) in obj {
        let def = cat.setting(uuid).ok_or_else(|| {
            SrapsError::bad(format!(
                "settings_manager: unknown setting uuid {uuid:?}; see settings/"
            ))
        })?;
        let entry = entry.as_object().ok_or_else(|| {
            SrapsError::bad(format!(
                "settings_manager.{uuid}: must be an object with value and attrs"
            ))
        })?;
        let value = match entry.get("value") {
            None | Some(Value::Null) => continue,
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::Bool(b)) => if *b { "on" } else { "off" }.to_owned(),
            Some(other) => {
                return Err(SrapsError::bad(format!(
                    "settings_manager.{uuid}.value: must be a string, got {other}"
                )))
            }
        };
        touchless_domain::Setting::new(def.param_name, None, &value, Perm::RW)
            .map_err(|e| SrapsError::bad(format!("settings_manager.{uuid}.value: {e}")))?;
        let attrs = entry.get("attrs").and_then(Value::as_object);
        let perm = match attrs.and_then(|a| a.get("perm")) {
            None | Some(Value::Null) => Perm::RW,
            Some(Value::String(p)) => p
                .parse::<Perm>()
                .map_err(|e| SrapsError::bad(format!("settings_manager.{uuid}.attrs.perm: {e}")))?,
            Some(other) => {
                return Err(SrapsError::bad(format!(
                    "settings_manager.{uuid}.attrs.perm: must be a string, got {other}"
                )))
            }
        };
        let idx = match attrs.and_then(|a| a.get("idx")) {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                v.as_u64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| {
                        SrapsError::bad(format!(
                            "settings_manager.{uuid}.attrs.idx: must be a non-negative integer"
                        ))
                    })?,
            ),
        };
        out.insert(uuid.clone(), SettingValue { value, perm, idx });
    }
    Ok(out)
}

fn path_mac(mac: &str) -> ApiResult<Mac> {
    Mac::parse(mac).map_err(|e| SrapsError::bad(format!("mac: {e}")))
}

fn hex32(id: &str, what: &str) -> ApiResult<()> {
    if id.len() == 32 && id.bytes().all(|c| c.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(SrapsError::not_found(what))
    }
}

// -- handlers --------------------------------------------------------------------------------

pub async fn token(
    State(st): State<Arc<RedirectState>>,
    Path(id): Path<String>,
    req: Request,
) -> ApiResult {
    let ctx = st.auth(req).await?;
    if id != ctx.key.id {
        return Err(SrapsError::not_found("token"));
    }
    Ok(axum::Json(json!({
        "access_key_id": ctx.key.id,
        "role": ctx.key.role.as_str(),
        "enabled": ctx.key.enabled,
        "last_used": ctx.key.last_used_at,
        "created_at": ctx.key.created_at,
        "links": {
            "self": format!("{}tokens/{}", ctx.base, ctx.key.id),
            "company": ctx.company_url(&ctx.key.company),
        },
    }))
    .into_response())
}

pub async fn company(
    State(st): State<Arc<RedirectState>>,
    Path(id): Path<String>,
    req: Request,
) -> ApiResult {
    let ctx = st.auth(req).await?;
    ctx.own_company(&id)?;
    let c = st
        .store
        .get_company(&id)
        .await?
        .ok_or_else(|| SrapsError::not_found("company"))?;
    let url = ctx.company_url(&c.id);
    Ok(axum::Json(json!({
        "uuid": c.id,
        "name": c.name,
        "created_at": c.created_at,
        "links": {
            "self": url,
            "endpoints": format!("{url}endpoints/"),
            "provisioning_profiles": format!("{url}provisioning-profiles/"),
        },
    }))
    .into_response())
}

pub async fn settings(State(st): State<Arc<RedirectState>>, req: Request) -> ApiResult {
    let ctx = st.auth(req).await?;
    let page = Page::parse(&ctx.query)?;
    let items = Catalogue::get()
        .settings
        .iter()
        .map(|s| setting_json(&ctx.base, s))
        .collect();
    Ok(page.slice(items, &format!("{}settings/", ctx.base)))
}

pub async fn setting(
    State(st): State<Arc<RedirectState>>,
    Path(uuid): Path<String>,
    req: Request,
) -> ApiResult {
    let ctx = st.auth(req).await?;
    let s = Catalogue::get()
        .setting(&uuid)
        .ok_or_else(|| SrapsError::not_found("setting"))?;
    Ok(axum::Json(setting_json(&ctx.base, s)).into_response())
}

pub async fn product_groups(State(st): State<Arc<RedirectState>>, req: Request) -> ApiResult {
    let ctx = st.auth(req).await?;
    let page = Page::parse(&ctx.query)?;
    let items = Catalogue::get()
        .groups
        .iter()
        .map(|g| json!({ "uuid": g.uuid, "name": g.name, "links": { "self": format!("{}product-groups/{}", ctx.base, g.uuid) } }))
        .collect();
    Ok(page.slice(items, &format!("{}product-groups/", ctx.base)))
}

fn parse_profile(m: &Map<String, Value>) -> ApiResult<ProfileIn> {
    let name = opt_string(m, "name", 200)?
        .filter(|n| !n.is_empty())
        .ok_or_else(|| SrapsError::bad("name: this field is required"))?;
    let product_group = opt_string(m, "product_group", 64)?;
    if let Some(g) = &product_group {
        Catalogue::get().group(g).ok_or_else(|| {
            SrapsError::bad(format!(
                "product_group: unknown product group {g:?}; see product-groups/"
            ))
        })?;
    }
    Ok(ProfileIn {
        name,
        product_group,
        autoprovisioning_enabled: flexible_bool(m, "autoprovisioning_enabled", true)?,
        settings: parse_settings_manager(m)?,
    })
}

pub async fn profiles(
    State(st): State<Arc<RedirectState>>,
    Path(company): Path<String>,
    req: Request,
) -> ApiResult {
    let method = req.method().clone();
    let ctx = st.auth(req).await?;
    ctx.own_company(&company)?;
    if method == http::Method::POST {
        ctx.require(Role::Write, "create provisioning profiles")?;
        let p = parse_profile(&json_body(&ctx)?)?;
        let id = crate::secret::random_hex(16);
        let created = st.store.create_profile(&id, &company, &p).await?;
        return Ok((
            StatusCode::CREATED,
            axum::Json(profile_json(&ctx, &created)),
        )
            .into_response());
    }
    ctx.require(Role::Read, "read provisioning profiles")?;
    let page = Page::parse(&ctx.query)?;
    let items = st
        .store
        .list_profiles(&company)
        .await?
        .iter()
        .map(|p| profile_json(&ctx, p))
        .collect();
    Ok(page.slice(
        items,
        &format!("{}provisioning-profiles/", ctx.company_url(&company)),
    ))
}

pub async fn profile(
    State(st): State<Arc<RedirectState>>,
    Path((company, id)): Path<(String, String)>,
    req: Request,
) -> ApiResult {
    let method = req.method().clone();
    let ctx = st.auth(req).await?;
    ctx.own_company(&company)?;
    hex32(&id, "provisioning profile")?;
    match method {
        http::Method::PUT => {
            ctx.require(Role::Write, "change provisioning profiles")?;
            let p = parse_profile(&json_body(&ctx)?)?;
            let updated = st.store.replace_profile(&company, &id, &p).await?;
            Ok(axum::Json(profile_json(&ctx, &updated)).into_response())
        }
        http::Method::DELETE => {
            ctx.require(Role::Write, "delete provisioning profiles")?;
            st.store.delete_profile(&company, &id).await?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        _ => {
            ctx.require(Role::Read, "read provisioning profiles")?;
            let p = st
                .store
                .get_profile(&company, &id)
                .await?
                .ok_or_else(|| SrapsError::not_found("provisioning profile"))?;
            Ok(axum::Json(profile_json(&ctx, &p)).into_response())
        }
    }
}

pub async fn endpoints(
    State(st): State<Arc<RedirectState>>,
    Path(company): Path<String>,
    req: Request,
) -> ApiResult {
    let ctx = st.auth(req).await?;
    ctx.own_company(&company)?;
    ctx.require(Role::Read, "list endpoints")?;
    let page = Page::parse(&ctx.query)?;
    let (items, total) = st
        .store
        .list_endpoints(Some(&company), page.offset(), page.size)
        .await?;
    let items = items.iter().map(|e| endpoint_json(&ctx, e)).collect();
    Ok(page.respond(
        items,
        total,
        &format!("{}endpoints/", ctx.company_url(&company)),
    ))
}

pub async fn endpoint(
    State(st): State<Arc<RedirectState>>,
    Path((company, mac)): Path<(String, String)>,
    req: Request,
) -> ApiResult {
    let method = req.method().clone();
    let ctx = st.auth(req).await?;
    ctx.own_company(&company)?;
    let mac = path_mac(&mac)?;
    match method {
        http::Method::PUT => {
            ctx.require(Role::Write, "register devices")?;
            let m = json_body(&ctx)?;
            if let Some(body_mac) = opt_string(&m, "mac", 32)? {
                let body_mac =
                    Mac::parse(&body_mac).map_err(|e| SrapsError::bad(format!("mac: {e}")))?;
                if body_mac != mac {
                    return Err(SrapsError::bad(format!(
                        "mac: {body_mac} in the body does not match {mac} in the URL"
                    )));
                }
            }
            let profile = opt_string(&m, "provisioning_profile", 64)?;
            let e = EndpointIn {
                mac,
                name: opt_string(&m, "name", 200)?.unwrap_or_default(),
                autoprovisioning_enabled: flexible_bool(&m, "autoprovisioning_enabled", true)?,
                profile,
                settings: parse_settings_manager(&m)?,
            };
            let (saved, created) =
                st.store
                    .put_endpoint(&company, &e)
                    .await
                    .map_err(|err| match err {
                        StoreError::Forbidden(m) => SrapsError::forbidden(format!(
                            "{m}. User lacks permission to endpoint."
                        )),
                        other => other.into(),
                    })?;
            tracing::info!(company = %company, mac = %mac, key = %ctx.key.id, created, "endpoint saved");
            let status = if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            Ok((status, axum::Json(endpoint_json(&ctx, &saved))).into_response())
        }
        http::Method::DELETE => {
            ctx.require(Role::Write, "remove devices")?;
            st.store.delete_endpoint(&company, mac).await?;
            tracing::info!(company = %company, mac = %mac, key = %ctx.key.id, "endpoint deleted");
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        _ => {
            ctx.require(Role::Read, "read endpoints")?;
            match st.store.get_endpoint(mac).await? {
                Some(e) if e.company == company => {
                    Ok(axum::Json(endpoint_json(&ctx, &e)).into_response())
                }
                // Another company's MAC looks like no MAC at all.
                _ => Err(SrapsError::not_found("endpoint")),
            }
        }
    }
}
