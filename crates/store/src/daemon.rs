//! Records of the touchless-provisioning daemon: providers and queued events.

use chrono::{DateTime, Utc};
use serde::Serialize;
use touchless_domain::{Mac, TenantId};
use touchless_phones::Vendor;

/// A redirection provider account: a cloud (of a kind the daemon speaks) that
/// registers one vendor's phones.
#[derive(Clone, PartialEq, Serialize)]
pub struct Provider {
    pub name: String,
    pub kind: String,
    /// Whose phones it registers; one provider per (scope, vendor).
    pub vendor: Vendor,
    pub base_url: String,
    pub access_key_id: String,
    #[serde(skip)]
    pub secret: String,
    /// `None`: the master account, used for tenants in `master` mode.
    pub tenant: Option<TenantId>,
    /// PEM certificates trusted for this provider besides the public roots.
    pub ca_pem: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Provider({}, {}, key {}, secret ***)",
            self.name, self.base_url, self.access_key_id
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Register,
    Deregister,
}

impl Action {
    pub fn as_str(&self) -> &'static str {
        match self {
            Action::Register => "register",
            Action::Deregister => "deregister",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EventState {
    Pending,
    Running,
    Done,
    Failed,
}

impl EventState {
    pub fn as_str(&self) -> &'static str {
        match self {
            EventState::Pending => "pending",
            EventState::Running => "running",
            EventState::Done => "done",
            EventState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(EventState::Pending),
            "running" => Some(EventState::Running),
            "done" => Some(EventState::Done),
            "failed" => Some(EventState::Failed),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Event {
    pub id: i64,
    pub action: Action,
    pub mac: Mac,
    pub state: EventState,
    /// Attempts started so far, the current one included.
    pub attempts: u32,
    pub next_attempt_at: DateTime<Utc>,
    pub lease_until: Option<DateTime<Utc>>,
    /// The node running it (its `daemon.node_id`), while it runs.
    pub leased_by: Option<String>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// How an attempt ended; applied to the event and its device in one transaction.
#[derive(Clone, Debug)]
pub enum Outcome {
    Done,
    /// Try again at `at`; the device's last message says why.
    Retry {
        at: DateTime<Utc>,
        message: String,
    },
    Failed {
        message: String,
    },
}

/// The events per state from `(state, count)` rows: the running count, the
/// finished totals, and `queued`, every event ever queued, of which the
/// rest are pending. Shared by the backends.
pub(crate) fn counts(rows: Vec<(String, i64)>) -> crate::Result<Vec<(EventState, u64)>> {
    let mut queued = 0i64;
    let mut out = Vec::with_capacity(4);
    for (s, n) in rows {
        if s == "queued" {
            queued = n;
            continue;
        }
        let st = EventState::parse(&s)
            .ok_or_else(|| crate::StoreError::Corrupt(format!("event state {s}")))?;
        out.push((st, n));
    }
    // Below zero only if a writer queued events without counting them (a
    // node of an older version beside this one): the summary says 0 and
    // warns rather than failing every console page.
    let mut pending = queued - out.iter().map(|(_, n)| n).sum::<i64>();
    if pending < 0 {
        tracing::warn!(
            queued,
            "fewer events counted as queued than are running or finished; are all nodes the same version?"
        );
        pending = 0;
    }
    out.insert(0, (EventState::Pending, pending));
    Ok(out
        .into_iter()
        .map(|(st, n)| (st, n.max(0) as u64))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(r: &[(&str, i64)]) -> Vec<(String, i64)> {
        r.iter().map(|(s, n)| (s.to_string(), *n)).collect()
    }

    #[test]
    fn pending_is_what_the_queued_leave() {
        let got = counts(rows(&[
            ("running", 3),
            ("done", 10),
            ("failed", 2),
            ("queued", 20),
        ]))
        .unwrap();
        assert_eq!(
            got,
            [
                (EventState::Pending, 5),
                (EventState::Running, 3),
                (EventState::Done, 10),
                (EventState::Failed, 2)
            ]
        );
    }

    #[test]
    fn counts_that_do_not_add_up_say_none_pending() {
        let got = counts(rows(&[("running", 3), ("done", 10), ("queued", 4)])).unwrap();
        assert_eq!(got[0], (EventState::Pending, 0));
        assert!(counts(rows(&[("stuck", 1)])).is_err(), "an unknown state");
    }
}
