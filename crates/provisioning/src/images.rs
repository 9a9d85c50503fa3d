//! Firmware images touchless serves itself: `GET /firmware/{file}` from the
//! firmware directory, behind the same authentication as `/prov` (any
//! phone's own pair or its tenant's; a vendor whose phones carry their pair
//! in the path get `/firmware/{user}/{pass}/{file}`). Single byte ranges are
//! honoured (a phone resumes an interrupted download); the file is read as
//! it is sent (`body::FileBody`), so memory does not grow with the image or
//! with the number of phones fetching it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use touchless_domain::FirmwareFile;

use crate::auth::Verdict;
use crate::body::FileBody;
use crate::directory::ModelAuth;
use crate::handler::{
    challenge, log_name, not_allowed, plain, presented, refused, split_pair, Body, Outcome,
    ProvState, MAX_PATH,
};
use crate::logged::finish;

/// `GET|HEAD /firmware/…`. Off the hot path of configuration files: a
/// boxed future, since it opens a file.
pub(crate) async fn serve(
    st: Arc<ProvState>,
    req: Request<hyper::body::Incoming>,
    peer: SocketAddr,
) -> Response<Body> {
    let started = st.metrics.prov.enabled().then(std::time::Instant::now);
    let now = chrono::Utc::now();
    let (parts, _body) = req.into_parts();
    let head = Request::from_parts(parts, ());
    let out = match authorize(&st, &head) {
        Ok((file, user)) => {
            let mut o = image(&st.firmware_dir, &file, &head).await;
            o.user = user;
            o
        }
        Err(o) => *o,
    };
    finish(&st, &head, peer, started, now, out)
}

/// The image a request may fetch, and who asks.
fn authorize(
    st: &ProvState,
    req: &Request<()>,
) -> Result<(FirmwareFile, Option<String>), Box<Outcome>> {
    let path = req.uri().path();
    if path.len() > MAX_PATH {
        return Err(Box::new(plain(
            StatusCode::URI_TOO_LONG,
            "request path too long\n",
        )));
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return Err(Box::new(not_allowed()));
    }
    let rest = path.strip_prefix("/firmware/").unwrap_or("");
    let (name, path_pair) = split_pair(rest);
    let Ok(file) = FirmwareFile::parse(name) else {
        return Err(Box::new(plain(
            StatusCode::NOT_FOUND,
            "not found: /firmware/ serves image files by their plain name\n",
        )));
    };
    let presented = presented(st, req, name, path_pair)?;
    let user = Some(log_name(presented.user()));
    let uri = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let found = st.dir.model_auth(presented.user());
    let expected = match &found {
        Some(ModelAuth::Tenant(t)) => Some(t.creds.expected()),
        Some(ModelAuth::Device(d)) => d.prov_expected(),
        None => None,
    }
    .unwrap_or_else(|| st.decoy.expected());
    match st
        .auth
        .verify(&presented, req.method().as_str(), uri, expected)
    {
        Verdict::Ok if found.is_some() => Ok((file, user)),
        Verdict::Stale => Err(Box::new(challenge(st, name, true, user))),
        _ => Err(Box::new(refused(st, name, user))),
    }
}

/// The file, whole or the one range asked for.
async fn image(dir: &std::path::Path, file: &FirmwareFile, req: &Request<()>) -> Outcome {
    let path: PathBuf = dir.join(file.as_str());
    let opened = match tokio::fs::File::open(&path).await {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return plain(StatusCode::NOT_FOUND, "not found: no such firmware image\n")
        }
        Err(e) => {
            tracing::error!(error = %e, path = %path.display(), "cannot open firmware image");
            return plain(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n");
        }
    };
    let meta = match opened.metadata().await {
        Ok(m) if m.is_file() => m,
        Ok(_) => return plain(StatusCode::NOT_FOUND, "not found: no such firmware image\n"),
        Err(e) => {
            tracing::error!(error = %e, path = %path.display(), "cannot read firmware image");
            return plain(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n");
        }
    };
    let len = meta.len();
    let modified = meta
        .modified()
        .ok()
        .map(chrono::DateTime::<chrono::Utc>::from);
    let etag = format!(
        "\"{len:x}-{:x}\"",
        modified.map_or(0, |m| m.timestamp_millis())
    );
    let last_modified = modified.map(|m| m.format("%a, %d %b %Y %H:%M:%S GMT").to_string());
    let range = match req.headers().get(header::RANGE) {
        Some(r) if if_range_holds(req, &etag, last_modified.as_deref()) => {
            parse_range(r.as_bytes(), len)
        }
        _ => Range::Whole,
    };
    let (status, start, count) = match range {
        Range::Whole => (StatusCode::OK, 0, len),
        Range::Part(a, b) => (StatusCode::PARTIAL_CONTENT, a, b - a + 1),
        Range::Unsatisfiable => {
            let mut o = plain(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "range not satisfiable: it starts past the end of the image\n",
            );
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{len}")) {
                o.response.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return o;
        }
    };
    let body = if req.method() == Method::HEAD || count == 0 {
        Body::from(bytes::Bytes::new())
    } else {
        Body::File(Box::new(FileBody::new(
            opened.into_std().await,
            start,
            count,
        )))
    };
    let mut r = Response::new(body);
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(count));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    if let Some(v) = last_modified.and_then(|m| HeaderValue::from_str(&m).ok()) {
        h.insert(header::LAST_MODIFIED, v);
    }
    if status == StatusCode::PARTIAL_CONTENT {
        let v = format!("bytes {start}-{}/{len}", start + count - 1);
        if let Ok(v) = HeaderValue::from_str(&v) {
            h.insert(header::CONTENT_RANGE, v);
        }
    }
    Outcome {
        bytes: usize::try_from(count).unwrap_or(usize::MAX),
        user: None,
        file: None,
        known: false,
        refused: false,
        response: r,
    }
}

/// `If-Range`: the range applies only to the version of the image it names.
fn if_range_holds(req: &Request<()>, etag: &str, last_modified: Option<&str>) -> bool {
    match req.headers().get(header::IF_RANGE).map(|v| v.as_bytes()) {
        None => true,
        Some(v) => v == etag.as_bytes() || Some(v) == last_modified.map(str::as_bytes),
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Range {
    Whole,
    /// First and last byte, inclusive.
    Part(u64, u64),
    Unsatisfiable,
}

/// One `bytes=` range (RFC 9110 §14.1.2) against a file of `len` bytes.
/// A header that does not parse, or asks for several ranges, is ignored
/// (the whole file), as the RFC allows.
fn parse_range(v: &[u8], len: u64) -> Range {
    let Some(spec) = std::str::from_utf8(v)
        .ok()
        .and_then(|s| s.trim().strip_prefix("bytes="))
    else {
        return Range::Whole;
    };
    if spec.contains(',') {
        return Range::Whole;
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return Range::Whole;
    };
    let num = |s: &str| {
        (!s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()))
            .then(|| s.parse::<u64>().ok())
            .flatten()
    };
    match (a.is_empty(), num(a), num(b)) {
        // `-N`: the last N bytes.
        (true, _, Some(n)) if n > 0 => {
            if len == 0 {
                Range::Unsatisfiable
            } else {
                Range::Part(len.saturating_sub(n), len - 1)
            }
        }
        (true, _, _) => Range::Unsatisfiable,
        (false, Some(start), _) if start >= len => Range::Unsatisfiable,
        (false, Some(start), None) if b.is_empty() => Range::Part(start, len - 1),
        (false, Some(start), Some(end)) if end >= start => Range::Part(start, end.min(len - 1)),
        _ => Range::Whole,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse_as_the_rfc_says() {
        let r = |s: &str| parse_range(s.as_bytes(), 1000);
        assert_eq!(r("bytes=0-99"), Range::Part(0, 99));
        assert_eq!(r("bytes=900-"), Range::Part(900, 999));
        assert_eq!(r("bytes=-100"), Range::Part(900, 999));
        assert_eq!(r("bytes=-5000"), Range::Part(0, 999));
        assert_eq!(r("bytes=990-5000"), Range::Part(990, 999));
        assert_eq!(r("bytes=1000-"), Range::Unsatisfiable);
        assert_eq!(r("bytes=-0"), Range::Unsatisfiable);
        for ignored in [
            "bytes=5-1",
            "bytes=0-1,5-9",
            "items=0-1",
            "bytes=a-b",
            "bytes=",
            "bytes=+1-2",
        ] {
            assert_eq!(r(ignored), Range::Whole, "{ignored}");
        }
        assert_eq!(parse_range(b"bytes=0-", 0), Range::Unsatisfiable);
    }
}
