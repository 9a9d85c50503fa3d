//! What every provider kind's HTTP client shares: a transport failure and a
//! non-2xx answer turned into a [`ProviderError`] an admin can act on, so
//! every cloud's faults read alike (`429 Too Many Requests: …`, `provider
//! error 503: …`, `the provider did not answer in time (…)`).

use std::time::Duration;

use reqwest::StatusCode;
use touchless_api::sraps::Problem;

use crate::provider::ProviderError;

/// A request that got no answer: a timeout or an unreachable cloud is worth
/// retrying; an untrusted certificate stays untrusted.
pub fn transport_error(e: &reqwest::Error, url: &str) -> ProviderError {
    if let Some(words) = crate::tls::explain(e, url) {
        return ProviderError::Permanent(words);
    }
    if e.is_timeout() {
        ProviderError::Transient {
            message: format!("the provider did not answer in time ({url})"),
            retry_after: None,
        }
    } else {
        ProviderError::Transient {
            message: format!("cannot reach the provider at {url}: {}", root_cause(e)),
            retry_after: None,
        }
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// What an error answer says: its `detail`, `message` or `error`, else the
/// start of the body as it came.
pub fn detail(body: &str) -> String {
    serde_json::from_str::<Problem>(body)
        .ok()
        .and_then(|p| p.text().map(str::to_owned))
        .unwrap_or_else(|| body.chars().take(200).collect())
}

/// The `Retry-After` of an answer, in seconds.
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

/// Turns a non-2xx answer into words an admin can act on: 5xx and 408 are
/// retried, a 429 pauses the provider for its `Retry-After` (5 s without
/// one), other 4xx fail the event.
pub fn classify(
    status: StatusCode,
    headers: &reqwest::header::HeaderMap,
    body: &str,
    url: &str,
) -> ProviderError {
    let d = detail(body);
    let retry_after = retry_after(headers);
    match status.as_u16() {
        401 => ProviderError::Permanent(format!(
            "401 Unauthorized: the provider rejected the API key (wrong access key id or secret): {d}"
        )),
        403 if d.contains("taken_mac_or_forbidden") || d.contains("lacks permission to endpoint") => {
            ProviderError::Permanent("MAC is owned by another account (taken_mac_or_forbidden)".into())
        }
        403 => ProviderError::Permanent(format!("403 Forbidden: {d}")),
        404 => ProviderError::Permanent(format!("404 Not Found: {url}")),
        408 => ProviderError::Transient {
            message: format!("408 Request Timeout at the provider: {d}"),
            retry_after,
        },
        409 => ProviderError::Permanent(format!("409 Conflict: {d}")),
        429 => {
            let wait = retry_after.unwrap_or(Duration::from_secs(5));
            ProviderError::Throttled {
                message: format!(
                    "429 Too Many Requests: rate limited by the provider (retry after {} s)",
                    wait.as_secs()
                ),
                retry_after: wait,
            }
        }
        400 => ProviderError::Permanent(format!("400 Bad Request: {d}")),
        s @ 300..=399 => {
            let to = headers
                .get(reqwest::header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .unwrap_or("an address it did not give");
            ProviderError::Permanent(format!(
                "{s} redirect to {to}: a provider's redirect is not followed \
                 (it would take the API key elsewhere); set the provider's URL to where it is now"
            ))
        }
        s if s >= 500 => ProviderError::Transient {
            message: format!("provider error {s}: {d}"),
            retry_after,
        },
        s => ProviderError::Permanent(format!("{s}: {d}")),
    }
}
