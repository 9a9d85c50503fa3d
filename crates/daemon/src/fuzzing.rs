//! What the fuzz targets (`fuzz/`) reach of the providers: every parser of
//! a cloud's answer, on bytes as any answer may hold them. Only built with
//! the `fuzzing` feature, which only `fuzz/` turns on.

use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};
use reqwest::StatusCode;

use crate::provider::ProviderError;

/// Reads `body` as each cloud's answer with `status` and `retry_after`,
/// and words each outcome, as the queue would record it.
pub fn cloud_answers(status: u16, retry_after: &[u8], body: &[u8]) -> Vec<String> {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::IM_A_TEAPOT);
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_bytes(retry_after) {
        headers.insert(RETRY_AFTER, v);
    }
    let text = String::from_utf8_lossy(body);
    let mut out = Vec::new();
    let mut say = |e: &ProviderError| out.push(e.to_string());
    // Any cloud's non-2xx answer, and Poly ZTP's own.
    say(&crate::http::classify(status, &headers, &text, "fuzz"));
    say(&crate::poly::classify(status, &headers, &text, "fuzz"));
    match crate::poly::parse(&text) {
        Ok(v) => out.push(v.to_string()),
        Err(e) => out.push(e.to_string()),
    }
    // YMCS: a whole answer, and the per-MAC errors of a batch.
    if let Some(e) = crate::yealink::answer_error(status, &headers, &text) {
        out.push(e.to_string());
    }
    let body: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    for (mac, e, exists) in crate::yealink::batch_errors(&body) {
        out.push(format!("{mac} {e} {exists}"));
    }
    // FDPS: XML-RPC.
    out.push(format!("{:?}", crate::fanvil::parse_answer(&text)));
    // SRAPS and GRAPE: the bodies their client reads.
    use touchless_api::sraps;
    out.push(format!(
        "{:?}",
        serde_json::from_str::<sraps::Endpoint>(&text).is_ok()
    ));
    out.push(format!(
        "{:?}",
        serde_json::from_str::<Vec<sraps::Endpoint>>(&text).is_ok()
    ));
    out.push(format!(
        "{:?}",
        serde_json::from_str::<Vec<sraps::Profile>>(&text).is_ok()
    ));
    out.push(format!(
        "{:?}",
        serde_json::from_str::<Vec<sraps::Company>>(&text).is_ok()
    ));
    out.push(format!(
        "{:?}",
        serde_json::from_str::<Vec<sraps::SettingDefinition>>(&text).is_ok()
    ));
    out.push(format!(
        "{:?}",
        serde_json::from_str::<Vec<sraps::ProductGroup>>(&text).is_ok()
    ));
    out.push(format!(
        "{:?}",
        serde_json::from_str::<sraps::Problem>(&text).is_ok()
    ));
    out
}
