//! Devices from a CSV file in the console: upload (or paste), check with
//! Dry run, Import; the format is the API's (`admin::import`). With scripts
//! the file goes up in the background with a progress bar; without, the
//! pasted text is posted as a form.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::{header, StatusCode};
use minijinja::context;

use super::respond::{api_error, audit, forged, render, wants_json};
use super::session::Viewer;
use super::ConsoleState;
use crate::admin;

/// Largest file taken: about 100,000 devices with a line each.
const MAX_BYTES: usize = 32 << 20;

pub async fn form(State(st): State<Arc<ConsoleState>>, v: Viewer) -> Response {
    render(
        &st,
        "import.html",
        context! { ..v.frame("devices"), ..context! { report => () } },
    )
}

/// The file, the CSRF token and whether this is a dry run, from either a
/// form post (`csv`, `csrf`, `dry_run` fields) or a `text/csv` upload (the
/// body; `X-CSRF-Token`; `?dry_run=1`).
struct Upload {
    csv: Vec<u8>,
    csrf: String,
    dry_run: bool,
    wants_json: bool,
}

async fn upload(req: Request) -> Result<Upload, Response> {
    let is_csv = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/csv"));
    let wants_json = wants_json(req.headers());
    let query_dry = req.uri().query().is_some_and(|q| {
        form_urlencoded::parse(q.as_bytes()).any(|(k, v)| k == "dry_run" && v == "1")
    });
    let header_csrf = req
        .headers()
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body = axum::body::to_bytes(req.into_body(), MAX_BYTES)
        .await
        .map_err(|_| {
            super::respond::plain(
                StatusCode::PAYLOAD_TOO_LARGE,
                "The file is larger than 32 MiB; split it into several.",
            )
        })?;
    if is_csv {
        return Ok(Upload {
            csv: body.to_vec(),
            csrf: header_csrf,
            dry_run: query_dry,
            wants_json,
        });
    }
    let mut up = Upload {
        csv: Vec::new(),
        csrf: String::new(),
        dry_run: false,
        wants_json,
    };
    for (k, v) in form_urlencoded::parse(&body) {
        match &*k {
            "csv" => up.csv = v.into_owned().into_bytes(),
            "csrf" => up.csrf = v.into_owned(),
            "dry_run" => up.dry_run = v == "1",
            _ => {}
        }
    }
    Ok(up)
}

pub async fn import(State(st): State<Arc<ConsoleState>>, v: Viewer, req: Request) -> Response {
    let up = match upload(req).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    if !v.csrf_ok(&up.csrf) {
        return forged();
    }
    let only = if v.is_admin() {
        None
    } else {
        v.user.tenant.clone()
    };
    let report = match admin::import::import(&st.admin, &up.csv, up.dry_run, only.as_ref()).await {
        Ok(r) => r,
        Err(e) => return api_error(&e),
    };
    if report.created > 0 {
        audit(
            &st,
            v.user.name.as_str(),
            only,
            "import",
            &format!("{} device(s)", report.created),
            "",
        )
        .await;
    }
    let status = if report.problems.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    if up.wants_json {
        return (status, axum::Json(report)).into_response();
    }
    let page = render(
        &st,
        "import.html",
        context! { ..v.frame("devices"), ..context! { report => report } },
    );
    (status, page).into_response()
}

/// The devices the viewer sees, in the import format (SIP passwords left
/// out: this is for reading and editing, and a download is easily left
/// lying around).
pub async fn export(State(st): State<Arc<ConsoleState>>, v: Viewer) -> Response {
    let only = if v.is_admin() {
        None
    } else {
        v.user.tenant.clone()
    };
    match admin::import::export(&st.admin, only, false).await {
        Ok(text) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"devices.csv\"",
                ),
            ],
            text,
        )
            .into_response(),
        Err(e) => api_error(&e),
    }
}
