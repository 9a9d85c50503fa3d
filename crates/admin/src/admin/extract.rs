//! The admin API's edge: typed bodies and query strings in, [`ErrorBody`] out.
//!
//! Bodies deserialize straight into the `touchless_api` request types, whose
//! fields are domain types, so a body that parses is valid. What does not parse
//! is answered with a 400 naming the field and echoing the value sent:
//! `{"error":"invalid MAC address …","field":"mac","value":"zz"}`. serde's
//! own wording ("missing field `id`") is put into the API's ("id is required").

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::response::{IntoResponse, Response};
use axum::Json;
use http::StatusCode;
use serde::de::DeserializeOwned;
use serde_path_to_error::Segment;

use touchless_api::wire::PathStep;
use touchless_api::{Echo, ErrorBody};
use touchless_runtime::json::{self, BodyError};
use touchless_store::StoreError;

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    error: String,
    field: Option<String>,
    value: Option<Echo>,
}

impl ApiError {
    /// The status and the sentence the API would answer with, for a page to show.
    pub(crate) fn status_and_message(&self) -> (StatusCode, &str) {
        (self.status, &self.error)
    }

    /// The request field the refusal is about, if one.
    pub(crate) fn field_name(&self) -> Option<&str> {
        self.field.as_deref()
    }

    pub(crate) fn new(status: StatusCode, error: impl Into<String>) -> Self {
        ApiError {
            status,
            error: error.into(),
            field: None,
            value: None,
        }
    }

    /// A 500 whose cause is logged here and not answered.
    pub(crate) fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "admin API failure");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error; see the server log",
        )
    }

    /// A 400 for one field; `value` is what was sent for it.
    pub(crate) fn field(field: &str, value: impl Into<Echo>, error: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            error: error.into(),
            field: Some(field.to_owned()),
            value: Some(value.into()),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { .. } => ApiError::new(StatusCode::NOT_FOUND, e.to_string()),
            StoreError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, m),
            StoreError::Forbidden(m) => ApiError::new(StatusCode::FORBIDDEN, m),
            StoreError::Invalid { field, message } => ApiError {
                status: StatusCode::BAD_REQUEST,
                error: message,
                field: Some(field.to_owned()),
                value: None,
            },
            other => {
                tracing::error!(error = %other, "store failure in admin API");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal error; see the server log",
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.error,
            field: self.field,
            value: self.value,
        };
        (self.status, Json(body)).into_response()
    }
}

pub(crate) type ApiResult<T> = Result<T, ApiError>;

/// A MAC from a path segment, or a 400 naming it.
pub(crate) fn path_mac(mac: &str) -> ApiResult<touchless_domain::Mac> {
    touchless_domain::Mac::parse(mac).map_err(|e| ApiError::field("mac", mac, e.to_string()))
}

/// A JSON request body of type `T` (see the module doc for its errors).
pub(crate) struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::new(e.status(), e.body_text()))?;
        parse_object(&bytes).map(ApiJson)
    }
}

/// One `T` (an object) or many (an array), and which it was.
pub(crate) enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for OneOrMany<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::new(e.status(), e.body_text()))?;
        match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'[') => parse_body(&bytes).map(OneOrMany::Many),
            _ => parse_object(&bytes).map(OneOrMany::One),
        }
    }
}

/// A body that must be one JSON object.
pub(crate) fn parse_object<T: DeserializeOwned>(bytes: &[u8]) -> ApiResult<T> {
    json::object(bytes).map_err(|e| refused(bytes, e))
}

fn parse_body<T: DeserializeOwned>(bytes: &[u8]) -> ApiResult<T> {
    json::any(bytes).map_err(|e| refused(bytes, e))
}

fn refused(bytes: &[u8], e: BodyError) -> ApiError {
    match e {
        BodyError::Syntax(e) => ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("request body is not valid JSON: {e}"),
        ),
        BodyError::NotObject => ApiError::new(
            StatusCode::BAD_REQUEST,
            "request body must be a JSON object",
        ),
        BodyError::Data { path, message } => field_error(bytes, &path, message),
    }
}

/// Text between the first pair of backticks, and what follows it.
fn ticked(s: &str) -> Option<(&str, &str)> {
    let (_, rest) = s.split_once('`')?;
    rest.split_once('`')
}

fn field_error(body: &[u8], path: &[Segment], msg: String) -> ApiError {
    let keys: Vec<&str> = path
        .iter()
        .filter_map(|s| match s {
            Segment::Map { key } => Some(key.as_str()),
            _ => None,
        })
        .collect();
    // The top-level field is what a form or a CLI flag corresponds to.
    let top = keys.first().copied();
    if let Some(rest) = msg.strip_prefix("unknown field ") {
        let (name, expected) = ticked(rest).unwrap_or((rest, ""));
        let expected: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
        // The unknown key itself may or may not be on the path.
        let field = match keys.as_slice() {
            [only] if *only == name => "body",
            [first, ..] if *first != name => first,
            [] => "body",
            _ => "body",
        };
        return ApiError::field(
            field,
            name,
            format!(
                "unknown field {name:?}; expected one of {}",
                expected.join(", ")
            ),
        );
    }
    if let Some(rest) = msg.strip_prefix("missing field ") {
        let name = ticked(rest).map(|(n, _)| n).unwrap_or(rest);
        return ApiError::field(
            top.unwrap_or(name),
            Echo::Null,
            format!("{name} is required"),
        );
    }
    let leaf = keys.last().copied().unwrap_or("body");
    let error = if msg.starts_with("must be") {
        format!("{leaf} {msg}")
    } else if let Some(rest) = msg.strip_prefix("invalid type: ") {
        // "invalid type: integer `12`, expected a string"
        match rest.rsplit_once(", expected ") {
            Some((got, want)) => format!("{leaf} must be {want}, not {got}"),
            None => format!("{leaf}: {msg}"),
        }
    } else if msg.starts_with("invalid value") {
        format!("{leaf}: {msg}")
    } else {
        msg
    };
    ApiError::field(top.unwrap_or("body"), echo_at(body, path), error)
}

/// What the client sent at `path`, read again only for the error.
fn echo_at(body: &[u8], path: &[Segment]) -> Echo {
    let Ok(root) = serde_json::from_slice::<Echo>(body) else {
        return Echo::Null;
    };
    let mut cur = &root;
    for seg in path {
        let step = match seg {
            Segment::Map { key } => PathStep::Key(key),
            Segment::Seq { index } => PathStep::Index(*index),
            _ => return Echo::Null,
        };
        match cur.get(step) {
            Some(next) => cur = next,
            None => return Echo::Null,
        }
    }
    cur.clone()
}

/// `Query<T>` whose rejection is the API's JSON error naming the parameter,
/// not axum's plain-text one.
pub(crate) struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(ApiQuery)
            .map_err(|e| {
                let field = e.path().to_string();
                let value = form_urlencoded::parse(query.as_bytes())
                    .find(|(k, _)| *k == field)
                    .map(|(_, v)| Echo::Text(v.into_owned()))
                    .unwrap_or(Echo::Null);
                let inner = e.into_inner();
                ApiError::field(&field, value, format!("query parameter {field}: {inner}"))
            })
    }
}

/// A query parameter parsed into its domain type, or a 400 naming it.
pub(crate) fn query_param<T, E: std::fmt::Display>(
    name: &str,
    value: Option<&str>,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> ApiResult<Option<T>> {
    value
        .map(|v| parse(v).map_err(|e| ApiError::field(name, v, e.to_string())))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use touchless_api::tenants::NewTenant;

    fn err(body: &str) -> ErrorBody {
        let e = parse_object::<NewTenant>(body.as_bytes()).expect_err("an error");
        ErrorBody {
            error: e.error,
            field: e.field,
            value: e.value,
        }
    }

    #[test]
    fn errors_name_the_field_and_echo_the_value() {
        let e = err(r#"{"id":"Bad Id","sip_host":"pbx"}"#);
        assert_eq!(e.field.as_deref(), Some("id"));
        assert_eq!(e.value, Some(Echo::from("Bad Id")));
        assert!(e.error.starts_with("invalid tenant id"), "{}", e.error);

        let e = err(r#"{"id":"x"}"#);
        assert_eq!(
            (e.error.as_str(), e.field.as_deref()),
            ("sip_host is required", Some("sip_host"))
        );

        let e = err(r#"{"id":"x","sip_host":"pbx","sip_port":0}"#);
        assert_eq!(e.error, "sip_port must be a port number 1-65535");
        assert_eq!(e.value, Some(Echo::Unsigned(0)));

        let e =
            err(r#"{"id":"x","sip_host":"pbx","settings":[{"name":"a","value":"b","colour":1}]}"#);
        assert_eq!(e.field.as_deref(), Some("settings"));
        assert_eq!(e.value, Some(Echo::from("colour")));

        let e = err(r#"{"id":"x","sip_host":"pbx","settings":[{"name":"1a","value":"b"}]}"#);
        assert_eq!(e.field.as_deref(), Some("settings"));
        assert_eq!(e.value, Some(Echo::from("1a")));

        let e = err(r#"{"id":"x","sip_host":"pbx","settings":[{"value":"b"}]}"#);
        assert_eq!(
            (e.error.as_str(), e.field.as_deref()),
            ("name is required", Some("settings"))
        );

        let e = err("[1]");
        assert_eq!(e.error, "request body must be a JSON object");
        let e = err("{\"id\":");
        assert!(
            e.error.starts_with("request body is not valid JSON"),
            "{}",
            e.error
        );
        let e = err(r#"{"id":"x","sip_host":"pbx"} trailing"#);
        assert!(
            e.error.starts_with("request body is not valid JSON"),
            "{}",
            e.error
        );
    }
}
