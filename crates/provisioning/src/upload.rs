//! Uploads: what phones `PUT` under `/prov/` (Poly's logs and local
//! settings), authorised as their own files are, limited in size and kept
//! per device. Off the hot path: the handler's one boxed future.

use std::net::SocketAddr;
use std::sync::Arc;

use http::{header, Request, Response, StatusCode};

use crate::auth::Verdict;
use crate::directory::DeviceEntry;
use crate::handler::{
    challenge, log_name, not_allowed, plain, presented, refused, split_pair, Body, Outcome,
    ProvState, MAX_PATH,
};
use crate::logged::finish;
use touchless_phones::ConfigFile;

/// An upload's body is read up to this many bytes; a Poly phone's logs
/// rotate well below it.
const UPLOAD_MAX: usize = 1 << 20;
/// Of each device's kind of upload, the newest this many are kept.
const UPLOADS_KEPT: u32 = 5;

/// `PUT /prov/{name}`: a phone stores its logs or local settings (Poly). Off
/// the hot path, so it may read a body and write to the store.
pub(crate) async fn upload(
    st: Arc<ProvState>,
    req: Request<hyper::body::Incoming>,
    peer: SocketAddr,
) -> Response<Body> {
    let started = st.metrics.prov.enabled().then(std::time::Instant::now);
    let now = chrono::Utc::now();
    let (parts, body) = req.into_parts();
    let head = Request::from_parts(parts, ());
    let out = match authorize_upload(&st, &head) {
        Ok((e, kind, user)) => {
            let mut o = store_upload(&st, &e, kind, body, now).await;
            o.user = user;
            o.file = Some(ConfigFile::device(e.facts.model, e.facts.mac));
            o.known = true;
            o
        }
        Err(o) => *o,
    };
    finish(&st, &head, peer, started, now, out)
}

/// An upload that may go ahead: the device, what it is, who sent it.
type Allowed = (Arc<DeviceEntry>, &'static str, Option<String>);

/// Who may upload what: the device's own `/prov` pair (or its tenant's,
/// as for its files), for a name its vendor's phones upload.
fn authorize_upload(st: &ProvState, req: &Request<()>) -> Result<Allowed, Box<Outcome>> {
    let path = req.uri().path();
    if path.len() > MAX_PATH {
        return Err(Box::new(plain(
            StatusCode::URI_TOO_LONG,
            "request path too long\n",
        )));
    }
    let Some(rest) = path.strip_prefix("/prov/") else {
        return Err(Box::new(not_allowed()));
    };
    let (name, path_pair) = split_pair(rest);
    let Some((mac, kind)) = touchless_phones::parse_upload(name) else {
        return Err(Box::new(not_allowed()));
    };
    let in_path = path_pair.is_some();
    let presented = presented(st, req, name, path_pair)?;
    let user = Some(log_name(presented.user()));
    let entry = st.dir.device(mac).filter(|e| {
        let m = e.facts.model;
        !in_path || m.vendor().pair_in_path(m) == touchless_phones::PairInPath::Always
    });
    let expected = entry
        .as_ref()
        .and_then(|e| e.prov_expected())
        .unwrap_or_else(|| st.decoy.expected());
    let uri = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    match st.auth.verify(&presented, "PUT", uri, expected) {
        Verdict::Ok => {}
        Verdict::Stale => return Err(Box::new(challenge(st, name, true, user))),
        Verdict::Denied => return Err(Box::new(refused(st, name, user))),
    }
    let Some(e) = entry else {
        return Err(Box::new(refused(st, name, user)));
    };
    if e.facts.model.vendor().parse_upload(name).is_none() {
        return Err(Box::new(plain(
            StatusCode::NOT_FOUND,
            "not found: this phone's vendor does not upload this file\n",
        )));
    }
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > UPLOAD_MAX as u64) {
        return Err(Box::new(too_large()));
    }
    Ok((e, kind, user))
}

fn too_large() -> Outcome {
    plain(
        StatusCode::PAYLOAD_TOO_LARGE,
        "upload too large: at most 1 MiB\n",
    )
}

async fn store_upload(
    st: &ProvState,
    e: &DeviceEntry,
    kind: &'static str,
    body: hyper::body::Incoming,
    now: chrono::DateTime<chrono::Utc>,
) -> Outcome {
    use http_body_util::BodyExt as _;
    let bytes = match http_body_util::Limited::new(body, UPLOAD_MAX)
        .collect()
        .await
    {
        Ok(b) => b.to_bytes(),
        Err(err) if err.is::<http_body_util::LengthLimitError>() => return too_large(),
        Err(err) => {
            tracing::debug!(error = %err, "reading an upload failed");
            return plain(
                StatusCode::BAD_REQUEST,
                "the upload's body could not be read\n",
            );
        }
    };
    match st
        .dir
        .store()
        .record_upload(e.facts.mac, kind, now, &bytes, UPLOADS_KEPT)
        .await
    {
        Ok(()) => {
            let mut o = plain(StatusCode::NO_CONTENT, "");
            // A 204 has no body and must not say it has one (hyper writes
            // no length for a 204).
            o.response.headers_mut().remove(header::CONTENT_TYPE);
            o
        }
        Err(err) => {
            tracing::error!(error = %err, mac = %e.facts.mac, kind, "storing an upload failed");
            plain(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n")
        }
    }
}
