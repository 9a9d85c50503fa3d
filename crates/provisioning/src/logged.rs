//! What a request leaves behind, whoever answered it (a fetch, an upload,
//! an image): its access log line (a pair in the path shown as `<pair>`),
//! its contact-log row, its metrics.

use std::net::SocketAddr;

use http::{header, Request, Response};
use touchless_runtime::accesslog::Entry;
use touchless_runtime::metrics::FileKind;

use crate::body::Body;
use crate::state::{Outcome, ProvState};

/// Logs a request (access log, contact log, metrics) and returns its answer.
pub(crate) fn finish<B>(
    st: &ProvState,
    req: &Request<B>,
    peer: SocketAddr,
    started: Option<std::time::Instant>,
    now: chrono::DateTime<chrono::Utc>,
    out: Outcome,
) -> Response<Body> {
    let status = out.response.status().as_u16();
    let ip = Some(peer.ip());
    let ua = req.headers().get(header::USER_AGENT).map(|v| v.as_bytes());
    let redacted = without_pair(req.uri().path());
    if st.access.enabled() {
        st.access.log(&Entry {
            time: now.timestamp().max(0) as u64,
            ip,
            user: out.user.as_deref(),
            method: req.method().as_str(),
            uri: match &redacted {
                Some(r) => r,
                None => req
                    .uri()
                    .path_and_query()
                    .map(|p| p.as_str())
                    .unwrap_or("/"),
            },
            version: version_str(req.version()),
            status,
            bytes: out.bytes,
            referer: req.headers().get(header::REFERER).map(|v| v.as_bytes()),
            user_agent: ua,
        });
    }
    // The contact log wants every phone contact; the MAC comes from the file name
    // or, for model-wide files, from the User-Agent.
    let ua_str = ua.and_then(|u| std::str::from_utf8(u).ok()).unwrap_or("");
    let (mac, known) = match out.file.and_then(|f| f.mac) {
        Some(mac) => (Some(mac), out.known),
        None => {
            let mac = touchless_phones::parse_user_agent(ua_str).and_then(|u| u.mac);
            (mac, mac.is_some_and(|m| st.dir.device(m).is_some()))
        }
    };
    if let Some(mac) = mac {
        st.contacts.record(
            now,
            mac,
            known,
            ip,
            ua_str,
            redacted.as_deref().unwrap_or(req.uri().path()),
            status,
        );
    }
    if let Some(t) = started {
        let kind = match out.file {
            None => FileKind::Other,
            Some(_) if req.uri().path().starts_with("/ztprov/") => FileKind::Ztprov,
            Some(f) if f.mac.is_some() => FileKind::Device,
            Some(_) => FileKind::Model,
        };
        st.metrics.prov.record(kind, status, t.elapsed());
        if out.refused {
            st.metrics.prov.auth_failed();
        }
    }
    out.response
}

/// A path with a pair in it, as the logs show it: the pair is a secret, so
/// `/ztprov/{user}/{pass}/{name}` becomes `/ztprov/<pair>/{name}`. `None`
/// for every other path (no allocation on the usual path).
fn without_pair(path: &str) -> Option<String> {
    let (kind, rest) = path
        .strip_prefix("/ztprov/")
        .map(|r| ("/ztprov/", r))
        .or_else(|| path.strip_prefix("/prov/").map(|r| ("/prov/", r)))?;
    if !rest.contains('/') {
        return None;
    }
    let name = rest.rsplit('/').next().unwrap_or("");
    Some(format!("{kind}<pair>/{name}"))
}

fn version_str(v: http::Version) -> &'static str {
    match v {
        http::Version::HTTP_10 => "HTTP/1.0",
        http::Version::HTTP_2 => "HTTP/2.0",
        _ => "HTTP/1.1",
    }
}
