//! The admin API's error shape and its field-by-field parsing of bodies and query strings.

use axum::response::{IntoResponse, Response};
use axum::Json;
use http::StatusCode;
use serde_json::{json, Map, Value};
use touchless_domain::{DisplayText, Perm, Setting, SipPassword, SipUser};
use touchless_store::{Line, StoreError};

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    error: String,
    field: Option<std::borrow::Cow<'static, str>>,
    value: Option<Value>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, error: impl Into<String>) -> Self {
        ApiError {
            status,
            error: error.into(),
            field: None,
            value: None,
        }
    }

    pub(crate) fn field(field: &'static str, value: Value, error: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            error: error.into(),
            field: Some(field.into()),
            value: Some(value),
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
                field: Some(field.into()),
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
        let mut body = json!({ "error": self.error });
        if let Some(f) = self.field {
            body["field"] = json!(f);
        }
        if let Some(v) = self.value {
            body["value"] = v;
        }
        (self.status, Json(body)).into_response()
    }
}

pub(crate) type ApiResult<T> = Result<T, ApiError>;

/// `Query<T>` whose rejection is the API's JSON error naming the parameter,
/// not axum's plain-text one.
pub(crate) struct ApiQuery<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> axum::extract::FromRequestParts<S>
    for ApiQuery<T>
{
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
                    .map(|(_, v)| json!(v))
                    .unwrap_or(Value::Null);
                let inner = e.into_inner();
                ApiError {
                    status: StatusCode::BAD_REQUEST,
                    error: format!("query parameter {field}: {inner}"),
                    field: Some(field.into()),
                    value: Some(value),
                }
            })
    }
}

pub(crate) struct Fields(pub(crate) Map<String, Value>);

impl Fields {
    pub(crate) fn parse(body: &[u8], allowed: &[&str]) -> ApiResult<Self> {
        let v: Value = serde_json::from_slice(body).map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("request body is not valid JSON: {e}"),
            )
        })?;
        Self::from_value(v, allowed)
    }

    pub(super) fn from_value(v: Value, allowed: &[&str]) -> ApiResult<Self> {
        let Value::Object(map) = v else {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "request body must be a JSON object",
            ));
        };
        if let Some(k) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(ApiError::field(
                "body",
                json!(k),
                format!(
                    "unknown field {k:?}; expected one of {}",
                    allowed.join(", ")
                ),
            ));
        }
        Ok(Fields(map))
    }

    /// A string field parsed by `parse`; `None` if absent or null.
    pub(crate) fn opt<T, E: std::fmt::Display>(
        &self,
        key: &'static str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> ApiResult<Option<T>> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => parse(s)
                .map(Some)
                .map_err(|e| ApiError::field(key, json!(s), e.to_string())),
            Some(other) => Err(ApiError::field(
                key,
                other.clone(),
                format!("{key} must be a string"),
            )),
        }
    }

    pub(crate) fn req<T, E: std::fmt::Display>(
        &self,
        key: &'static str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> ApiResult<T> {
        self.opt(key, parse)?
            .ok_or_else(|| ApiError::field(key, Value::Null, format!("{key} is required")))
    }

    pub(super) fn port(&self, key: &'static str) -> ApiResult<Option<u16>> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_u64()
                .and_then(|n| u16::try_from(n).ok())
                .filter(|n| *n > 0)
                .map(Some)
                .ok_or_else(|| {
                    ApiError::field(
                        key,
                        v.clone(),
                        format!("{key} must be a port number 1-65535"),
                    )
                }),
        }
    }

    pub(super) fn list(&self, key: &'static str) -> ApiResult<Option<Vec<Value>>> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a.clone())),
            Some(other) => Err(ApiError::field(
                key,
                other.clone(),
                format!("{key} must be a list"),
            )),
        }
    }
}

pub(super) fn parse_settings(items: Vec<Value>) -> ApiResult<Vec<Setting>> {
    items
        .into_iter()
        .map(|v| {
            let f =
                Fields::from_value(v, &["name", "idx", "value", "perm"]).map_err(|e| ApiError {
                    field: Some("settings".into()),
                    ..e
                })?;
            let name = f
                .req("name", |s| {
                    Setting::new(s, None, "", Perm::R).map(|s| s.name)
                })
                .map_err(|e| ApiError {
                    field: Some("settings".into()),
                    ..e
                })?;
            let idx = match f.0.get("idx") {
                None | Some(Value::Null) => None,
                Some(v) => Some(v.as_u64().and_then(|n| u32::try_from(n).ok()).ok_or_else(
                    || {
                        ApiError::field(
                            "settings",
                            v.clone(),
                            "setting idx must be a non-negative integer",
                        )
                    },
                )?),
            };
            let value = match f.0.get("value") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Number(n)) => n.to_string(),
                Some(Value::Bool(b)) => if *b { "on" } else { "off" }.to_owned(),
                other => {
                    return Err(ApiError::field(
                        "settings",
                        other.cloned().unwrap_or(Value::Null),
                        format!("setting {name} needs a string value"),
                    ))
                }
            };
            let perm = f.opt("perm", str::parse::<Perm>)?.unwrap_or_default();
            Setting::new(name.as_str(), idx, &value, perm)
                .map_err(|e| ApiError::field("settings", json!(value), e.to_string()))
        })
        .collect()
}

pub(super) fn parse_lines(items: Vec<Value>) -> ApiResult<Vec<Line>> {
    items
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            let f = Fields::from_value(
                v,
                &[
                    "idx",
                    "extension",
                    "auth_user",
                    "sip_password",
                    "display_name",
                ],
            )
            .map_err(|e| ApiError {
                field: Some("lines".into()),
                ..e
            })?;
            let in_line = |e: ApiError| ApiError {
                field: Some("lines".into()),
                ..e
            };
            let idx = match f.0.get("idx") {
                None | Some(Value::Null) => i as u32 + 1,
                Some(v) => v
                    .as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| {
                        ApiError::field("lines", v.clone(), "line idx must be a positive integer")
                    })?,
            };
            let extension = f.req("extension", SipUser::parse).map_err(in_line)?;
            Ok(Line {
                idx,
                auth_user: f
                    .opt("auth_user", SipUser::parse)
                    .map_err(in_line)?
                    .unwrap_or_else(|| extension.clone()),
                extension,
                sip_password: f.req("sip_password", SipPassword::parse).map_err(in_line)?,
                display_name: f
                    .opt("display_name", DisplayText::parse)
                    .map_err(in_line)?
                    .unwrap_or_else(|| DisplayText::parse("").expect("empty is valid")),
            })
        })
        .collect()
}

/// `base` with each of `extra` put in: replacing the setting of the same name
/// and index, or appended.
pub(super) fn upsert_settings(mut base: Vec<Setting>, extra: Vec<Setting>) -> Vec<Setting> {
    for s in extra {
        match base.iter_mut().find(|b| b.name == s.name && b.idx == s.idx) {
            Some(slot) => *slot = s,
            None => base.push(s),
        }
    }
    base
}
