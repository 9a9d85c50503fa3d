//! How console pages answer: rendering a template in the frame every page
//! shares, plain pages for refusals and failures (never a trace), and the
//! audit log line a write leaves.

use axum::response::{Html, IntoResponse, Response};
use http::StatusCode;
use touchless_domain::TenantId;
use touchless_store::NewAudit;

use super::ConsoleState;
use crate::admin;

/// A page with one message and no chrome: errors, refusals. Never a trace.
pub fn plain(status: StatusCode, message: &str) -> Response {
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{code} · touchless</title>\
         <link rel=\"stylesheet\" href=\"/static/console.css\"></head><body class=\"plain\"><main>\
         <h1>{code}</h1><p>{}</p><p><a href=\"/\">Back to the console</a></p></main></body></html>",
        minijinja::HtmlEscape(message),
        code = status.as_u16(),
    );
    (status, Html(body)).into_response()
}

/// Why a page answers with a plain page instead of itself: a refusal whose
/// sentence the user can act on, or a failure on our side (logged where it
/// happened).
pub(super) enum Refusal {
    Said(StatusCode, String),
    Broken,
}

impl Refusal {
    pub(super) fn bad(message: impl Into<String>) -> Self {
        Refusal::Said(StatusCode::BAD_REQUEST, message.into())
    }

    pub(super) fn broken(e: impl std::fmt::Display) -> Self {
        tracing::error!(error = %e, "a console page failed");
        Refusal::Broken
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::Said(status, message) => plain(status, &message),
            Refusal::Broken => plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong on our side; it has been logged.",
            ),
        }
    }
}

/// The answer to a form whose CSRF token is missing or not the session's.
pub(super) fn forged() -> Response {
    plain(
        StatusCode::FORBIDDEN,
        "This form has expired or did not come from this console. Go back, reload the page and try again.",
    )
}

pub(super) fn internal(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "a console page failed");
    plain(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong on our side; it has been logged.",
    )
}

/// An admin API refusal as a form's note: its sentence, led by the label
/// the form shows for the field it names (`labels`: API field → label; a
/// field not listed is named as the API names it). A 5xx says nothing more.
pub(super) fn refusal(e: &admin::extract::ApiError, labels: &[(&str, &str)]) -> String {
    let (status, message) = e.status_and_message();
    if status.is_server_error() {
        return "Something went wrong on our side; it has been logged.".into();
    }
    match e.field_name() {
        Some(f) => {
            let label = labels
                .iter()
                .find(|(api, _)| *api == f)
                .map_or(f, |(_, l)| l);
            format!("{label}: {message}")
        }
        None => message.to_owned(),
    }
}

/// Whether a request asks for JSON (a page's script) rather than a page.
pub(super) fn wants_json(headers: &http::HeaderMap) -> bool {
    headers
        .get(http::header::ACCEPT)
        .and_then(|a| a.to_str().ok())
        .is_some_and(|a| a.contains("application/json"))
}

/// An admin API refusal as a page: its status and its sentence; a 5xx was
/// logged where it happened and says nothing more here.
pub(super) fn api_error(e: &admin::extract::ApiError) -> Response {
    match e.status_and_message() {
        (s, _) if s.is_server_error() => {
            plain(s, "Something went wrong on our side; it has been logged.")
        }
        (s, m) => plain(s, m),
    }
}

pub(super) fn render(st: &ConsoleState, name: &str, ctx: minijinja::Value) -> Response {
    match st.templates.get_template(name).and_then(|t| t.render(ctx)) {
        Ok(html) => Html(html).into_response(),
        Err(e) => internal(e),
    }
}

pub(super) async fn audit(
    st: &ConsoleState,
    actor: &str,
    tenant: Option<TenantId>,
    action: &str,
    target: &str,
    detail: &str,
) {
    let entry = NewAudit {
        actor: actor.to_owned(),
        tenant,
        action: action.to_owned(),
        target: target.to_owned(),
        detail: detail.to_owned(),
    };
    if let Err(e) = st.admin.store.audit(&entry).await {
        tracing::error!(error = %e, action, "writing the audit log failed");
    }
}
