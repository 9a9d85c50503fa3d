//! The admin API's error body.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::wire::Echo;

/// Every error of the admin API. A 4xx says what was wrong in `error`; when one
/// field of the request was at fault, `field` names it and `value` echoes what
/// was sent. A 5xx says only that the server log has the details.
///
/// ```json
/// {"error": "invalid MAC address \"zz\": expected 12 hex digits, …", "field": "mac", "value": "zz"}
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// What was wrong, in words meant for the person who sent the request.
    pub error: String,
    /// The request field (or query parameter) at fault; `body` for the body as a whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The value that was sent for `field`, as it was sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub value: Option<Echo>,
}
