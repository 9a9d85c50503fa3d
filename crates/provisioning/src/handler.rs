//! The provisioning server: `/ztprov/…` and `/prov/…` for phones.
//!
//! The hot path: parse the file name, look the device up in the in-memory
//! [`Directory`], check the credentials against precomputed values, return the
//! cached body. No database access and no password hashing with a slow KDF;
//! the allocations are small and few (the Digest hashes, the user name for the
//! logs, a new contact-log row). Unknown MACs, wrong passwords, expired ztprov
//! credentials and other devices' pairs all get the very same `401`, so the
//! server cannot be used to find out which MACs exist.

use std::sync::Arc;

use std::net::SocketAddr;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use touchless_phones::ConfigFile;

use crate::auth::{AuthError, Presented, Verdict};
use crate::directory::{DeviceEntry, ModelAuth, ZtprovSlot};
use crate::logged::finish;

pub use crate::body::Body;
pub(crate) use crate::state::Outcome;
pub use crate::state::ProvState;

pub(crate) const MAX_PATH: usize = 1024;

enum Kind {
    Ztprov,
    Prov,
}

/// Public for `benches/handle.rs`; the listener calls it from the closure
/// `crate::handler` makes.
pub fn handle<B>(st: &ProvState, req: &Request<B>, peer: SocketAddr) -> Response<Body> {
    let started = st.metrics.prov.enabled().then(std::time::Instant::now);
    let now = chrono::Utc::now();
    let out = dispatch(st, req, now);
    finish(st, req, peer, started, now, out)
}

pub(crate) fn plain(status: StatusCode, msg: &'static str) -> Outcome {
    let mut r = Response::new(Body::from(msg));
    *r.status_mut() = status;
    // No Content-Length: hyper writes it from the body's exact size, for
    // HEAD too, without a header value to allocate.
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    Outcome {
        bytes: msg.len(),
        user: None,
        file: None,
        known: false,
        refused: false,
        response: r,
    }
}

fn dispatch<B>(st: &ProvState, req: &Request<B>, now: DateTime<Utc>) -> Outcome {
    let path = req.uri().path();
    if path.len() > MAX_PATH {
        return plain(StatusCode::URI_TOO_LONG, "request path too long\n");
    }
    if path == "/healthz" {
        return plain(StatusCode::OK, "ok\n");
    }
    if path == "/readyz" {
        return ready(st);
    }
    let (kind, rest) = if let Some(n) = path.strip_prefix("/ztprov/") {
        (Kind::Ztprov, n)
    } else if let Some(n) = path.strip_prefix("/prov/") {
        (Kind::Prov, n)
    } else {
        return plain(StatusCode::NOT_FOUND, not_found_words());
    };
    // `{user}/{pass}/{name}`: the pair of a phone whose vendor carries it in
    // the path (see `touchless_phones::pair`).
    let (name, path_pair) = split_pair(rest);
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return not_allowed();
    }
    if let Some((body, content_type)) = st.dir.public_file(name) {
        return config(body, content_type);
    }
    // A vendor's firmware file of its own (the file a firmware setting names)
    // is a device's file too, under `/prov/` only.
    let (file, firmware_file) = match ConfigFile::parse(name) {
        Some(f) => (f, false),
        None => match touchless_phones::parse_firmware_file(name) {
            Some((vendor, mac)) if matches!(kind, Kind::Prov) => (
                ConfigFile {
                    vendor,
                    model: None,
                    mac: Some(mac),
                },
                true,
            ),
            _ => {
                return plain(
                    StatusCode::NOT_FOUND,
                    "not found: not a configuration file name any phone asks for\n",
                )
            }
        },
    };
    if matches!(kind, Kind::Ztprov) && file.mac.is_none() {
        return plain(
            StatusCode::NOT_FOUND,
            "not found: /ztprov serves per-device files only\n",
        );
    }
    // One lookup serves authentication and the contact log.
    let entry = file.mac.and_then(|m| st.dir.device(m));
    let known = entry.is_some();
    let mut out = authenticate_and_serve(
        st,
        req,
        kind,
        name,
        file,
        firmware_file,
        entry,
        path_pair,
        now,
    );
    out.file = Some(file);
    out.known = known;
    out
}

pub(crate) fn not_allowed() -> Outcome {
    let mut o = plain(
        StatusCode::METHOD_NOT_ALLOWED,
        "only GET and HEAD are allowed here; phones PUT only the files their vendor uploads, under /prov/\n",
    );
    o.response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
    o
}

/// The words of a 404 for a path outside `/ztprov/` and `/prov/`: the file
/// names each vendor's phones ask for.
fn not_found_words() -> &'static str {
    static WORDS: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    WORDS.get_or_init(|| {
        format!(
            "not found: phones fetch /ztprov/<file> once, then /prov/<file>, where <file> is {}\n",
            touchless_phones::file_forms()
        )
    })
}

/// For a load balancer: this node can serve phones. The view is loaded and
/// was checked against the database recently; a short database outage keeps
/// the node in (phones are served from memory), a long one takes it out.
fn ready(st: &ProvState) -> Outcome {
    match st.dir.staleness() {
        None => plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: the provisioning view is not loaded yet\n",
        ),
        Some(d) if d > st.ready_max_stale => plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: the view has not been checked against the database for longer than provisioning.ready_max_stale_secs\n",
        ),
        Some(_) => plain(StatusCode::OK, "ready\n"),
    }
}

/// What a request's credentials are checked against, and what they open.
enum Target {
    Ztprov(Arc<DeviceEntry>, ZtprovSlot),
    Device(Arc<DeviceEntry>),
    Model(Arc<crate::directory::TenantEntry>),
    Nothing,
}

#[allow(clippy::too_many_arguments)]
fn authenticate_and_serve<B>(
    st: &ProvState,
    req: &Request<B>,
    kind: Kind,
    name: &str,
    file: ConfigFile,
    mut firmware_file: bool,
    entry: Option<Arc<DeviceEntry>>,
    path_pair: Option<Presented<'static>>,
    now: DateTime<Utc>,
) -> Outcome {
    let in_path = path_pair.is_some();
    let presented = match presented(st, req, name, path_pair) {
        Ok(p) => p,
        Err(o) => return *o,
    };
    let user = Some(log_name(presented.user()));
    let uri = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let method = req.method().as_str();

    // Resolve what is expected, then verify once, in every branch: an unknown
    // MAC, expired or used-up ztprov credentials and another device's user all
    // verify against the decoy, so they cost and look the same as a wrong
    // password.
    let target = match (&kind, file.mac) {
        (Kind::Ztprov, Some(_)) => entry
            .and_then(|e| {
                let slot = e.ztprov_expected(presented.user(), now, st.ztprov_grace)?;
                Some(Target::Ztprov(e, slot))
            })
            .unwrap_or(Target::Nothing),
        (Kind::Prov, Some(_)) => entry.map(Target::Device).unwrap_or(Target::Nothing),
        (Kind::Prov, None) => match st.dir.model_auth(presented.user()) {
            Some(ModelAuth::Tenant(t)) => Target::Model(t),
            // A phone with its own credentials may fetch its tenant's
            // model-wide file, and only that one.
            Some(ModelAuth::Device(d)) => Target::Device(d),
            None => Target::Nothing,
        },
        (Kind::Ztprov, None) => Target::Nothing,
    };
    // A pair in the path opens only what its vendor's phones fetch that way:
    // anything else verifies against the decoy, as a wrong pair does.
    let target = if in_path && !pair_in_path_fits(&kind, &target, file) {
        Target::Nothing
    } else {
        target
    };
    let expected = match &target {
        Target::Ztprov(e, slot) => e.ztprov_creds(*slot),
        Target::Device(e) => e.prov_expected(),
        Target::Model(t) => Some(t.creds.expected()),
        Target::Nothing => None,
    }
    .unwrap_or_else(|| st.decoy.expected());
    match st.auth.verify(&presented, method, uri, expected) {
        Verdict::Ok => {}
        Verdict::Stale => return challenge(st, name, true, user),
        Verdict::Denied => return refused(st, name, user),
    }
    // The registry decides a device's vendor and model; the file name only
    // has to lead to the device, and be one its vendor's phones ask for
    // (several vendors' phones ask for `{mac}.cfg`; a Poly phone must get a
    // 404 there, to fall back to its master file).
    if let Target::Ztprov(e, _) | Target::Device(e) = &target {
        // Asked only when the name is another vendor's first: a phone
        // fetching its own vendor's name costs no second parse.
        let vendor = e.facts.model.vendor();
        if file.mac.is_some() && file.vendor != vendor && vendor.parse_file(name).is_none() {
            // Poly's own master file (`{mac}.cfg`) is its firmware file.
            firmware_file =
                matches!(kind, Kind::Prov) && vendor.parse_firmware_file(name) == file.mac;
            if !firmware_file {
                return plain(
                    StatusCode::NOT_FOUND,
                    "not found: this phone's vendor does not use this file name\n",
                );
            }
        }
    }
    if firmware_file {
        let Target::Device(e) = &target else {
            return refused(st, name, user);
        };
        return match st.dir.firmware_body(e, || reported_firmware(req)) {
            Ok(Some(body)) => {
                let mut o = config(body, e.facts.model.vendor().content_type());
                o.user = user;
                o
            }
            Ok(None) => plain(
                StatusCode::NOT_FOUND,
                "not found: no firmware instruction for this phone\n",
            ),
            Err(e) => {
                tracing::error!(error = %e, file = %file, "rendering failed");
                plain(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n")
            }
        };
    }
    let (body, vendor) = match (&target, file.mac) {
        (Target::Ztprov(e, slot), _) => {
            st.dir.ztprov_used(e, *slot, now);
            vendor_check(req, e);
            (st.dir.ztprov_body(e), e.facts.model.vendor())
        }
        (Target::Device(e), Some(_)) => {
            if file.model.is_some_and(|m| m != e.facts.model) {
                tracing::warn!(mac = %e.facts.mac, registered = %e.facts.model, requested = %file,
                    "phone asks for another model's file than registered; serving its configuration anyway");
            }
            (
                st.dir.prov_body(e, || reported_firmware(req)),
                e.facts.model.vendor(),
            )
        }
        (Target::Device(e), None) => {
            let model = file.model.unwrap_or(e.facts.model);
            (st.dir.model_body(&e.tenant, model), model.vendor())
        }
        (Target::Model(t), _) => match file.model {
            Some(model) => (st.dir.model_body(t, model), model.vendor()),
            None => return refused(st, name, user),
        },
        (Target::Nothing, _) => return refused(st, name, user),
    };
    match body {
        Ok(body) => {
            let mut o = config(body, vendor.content_type());
            o.user = user;
            o
        }
        Err(e) => {
            tracing::error!(error = %e, file = %file, "rendering failed");
            plain(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n")
        }
    }
}

/// The firmware version a request's User-Agent reports; asked only for a
/// device a firmware policy applies to.
fn reported_firmware<B>(req: &Request<B>) -> Option<String> {
    let ua = req.headers().get(header::USER_AGENT)?.to_str().ok()?;
    touchless_phones::parse_user_agent(ua).map(|u| u.firmware)
}

/// A presented user name as the logs keep it: its first 64 characters.
pub(crate) fn log_name(user: &str) -> String {
    let end = if user.len() <= 64 {
        user.len()
    } else {
        user.char_indices().nth(64).map_or(user.len(), |(i, _)| i)
    };
    user[..end].to_owned()
}

/// What follows `/ztprov/` or `/prov/`: the file name, and the pair before
/// it when the path carries one (`{user}/{pass}/{name}`, see
/// `touchless_phones::pair`), read as a Basic pair.
pub(crate) fn split_pair(rest: &str) -> (&str, Option<Presented<'static>>) {
    match touchless_phones::pair::split(rest) {
        Some((user, pass, name)) => (
            name,
            Some(Presented::Basic(crate::auth::BasicPair::new(&user, &pass))),
        ),
        None => (rest, None),
    }
}

/// The pair a request presents: the one in its path, else its
/// `Authorization` header; without either (or with a scheme not offered) the
/// answer is the 401 challenge, with a broken header a 400.
pub(crate) fn presented<'r, B>(
    st: &ProvState,
    req: &'r Request<B>,
    name: &str,
    path_pair: Option<Presented<'static>>,
) -> Result<Presented<'r>, Box<Outcome>> {
    if let Some(p) = path_pair {
        return Ok(p);
    }
    let Some(header) = req.headers().get(header::AUTHORIZATION) else {
        return Err(Box::new(challenge(st, name, false, None)));
    };
    match st.auth.parse(header.as_bytes()) {
        Ok(p) => Ok(p),
        Err(AuthError::SchemeNotOffered) => Err(Box::new(challenge(st, name, false, None))),
        Err(e @ AuthError::Malformed(_)) => {
            tracing::debug!(error = %e, "bad Authorization header");
            Err(Box::new(plain(
                StatusCode::BAD_REQUEST,
                "malformed Authorization header\n",
            )))
        }
    }
}

/// Whether the vendor of what a request resolved to takes its pair in the
/// path for this folder: the registry's model decides for a device, the file
/// name for a model-wide file.
fn pair_in_path_fits(kind: &Kind, target: &Target, file: ConfigFile) -> bool {
    use touchless_phones::PairInPath;
    let model = match target {
        Target::Ztprov(e, _) | Target::Device(e) if file.mac.is_some() => Some(e.facts.model),
        _ => file.model,
    };
    let Some(model) = model else {
        return false;
    };
    matches!(
        (kind, model.vendor().pair_in_path(model)),
        (Kind::Ztprov, PairInPath::FirstContact | PairInPath::Always)
            | (Kind::Prov, PairInPath::Always)
    )
}

/// The registry decides a device's vendor; at its first contact (rare, so
/// off the steady-state path) the MAC's OUI and the User-Agent are checked
/// against it, and a disagreement is logged for the admin.
fn vendor_check<B>(req: &Request<B>, e: &DeviceEntry) {
    let registered = e.facts.model.vendor();
    // A brand's phones made on another maker's platform carry its OUI, and
    // their vendor lists it: what counts is whether the registered vendor's
    // phones carry this OUI, not whose it is first.
    let b = e.facts.mac.bytes();
    if !registered.ouis().contains(&[b[0], b[1], b[2]]) {
        if let Some(by_oui) = touchless_phones::Vendor::of_mac(e.facts.mac) {
            tracing::warn!(mac = %e.facts.mac, registered = %e.facts.model, oui = %by_oui,
                "the MAC's OUI belongs to another vendor than the registered model's");
        }
    }
    let ua = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .and_then(touchless_phones::parse_user_agent);
    if let Some(ua) = ua {
        if ua.model.vendor() != registered {
            tracing::warn!(mac = %e.facts.mac, registered = %e.facts.model, user_agent = %ua.model,
                "the phone's User-Agent names another vendor than the registered model's");
        }
    }
}

/// A configuration file, in its vendor's content type.
fn config(body: Bytes, content_type: &'static str) -> Outcome {
    let len = body.len();
    let mut r = Response::new(Body::from(body));
    *r.headers_mut() = config_headers(content_type);
    Outcome {
        bytes: len,
        user: None,
        file: None,
        known: false,
        refused: false,
        response: r,
    }
}

/// The headers of a configuration file of `content_type`, built once per
/// thread and type and cloned for each response: cheaper than checking and
/// hashing them into a new map every time. Content-Length comes from the
/// body's exact size (see `plain`).
fn config_headers(content_type: &'static str) -> http::HeaderMap {
    thread_local! {
        static LAST: std::cell::RefCell<Option<(&'static str, http::HeaderMap)>> =
            const { std::cell::RefCell::new(None) };
    }
    LAST.with(|last| {
        let mut last = last.borrow_mut();
        match &*last {
            Some((ct, h)) if std::ptr::eq(*ct, content_type) => h.clone(),
            _ => {
                let mut h = http::HeaderMap::with_capacity(2);
                h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
                // The body carries passwords: no shared cache may keep it.
                h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                *last = Some((content_type, h.clone()));
                h
            }
        }
    })
}

/// Presented credentials that open nothing: the same 401 as a first
/// challenge, counted as a failure.
pub(crate) fn refused(st: &ProvState, name: &str, user: Option<String>) -> Outcome {
    let mut o = challenge(st, name, false, user);
    o.refused = true;
    o
}

/// A 401 offering the schemes the phones that ask for this file name answer
/// (every vendor whose phones use the name): decided by the name alone, so a
/// known and an unknown MAC still get the very same answer.
pub(crate) fn challenge(st: &ProvState, name: &str, stale: bool, user: Option<String>) -> Outcome {
    let mut o = plain(StatusCode::UNAUTHORIZED, "authentication required\n");
    for c in st
        .auth
        .challenges(stale, &touchless_phones::auth_schemes_for(name))
    {
        if let Ok(v) = HeaderValue::from_str(&c) {
            o.response.headers_mut().append(header::WWW_AUTHENTICATE, v);
        }
    }
    o.user = user;
    o
}
