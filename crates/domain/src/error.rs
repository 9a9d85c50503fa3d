//! The one error type for everything that fails to parse at the edge.

/// Why a value from the outside world was rejected. The message names the
/// expected form, because the person reading it is fixing a config file or a
/// CLI call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("invalid MAC address {0:?}: expected 12 hex digits, e.g. 000413AABBCC, 00:04:13:AA:BB:CC or 0004.13aa.bbcc")]
    Mac(String),
    #[error("invalid MAC address {0:?}: a phone has a unicast address; this one is {1}")]
    MacNotUnicast(String, &'static str),
    #[error("invalid {what} {value:?}: {why}")]
    Field {
        what: &'static str,
        value: String,
        why: &'static str,
    },
}

impl Error {
    pub(crate) fn field(what: &'static str, value: &str, why: &'static str) -> Self {
        Error::Field {
            what,
            value: truncate(value),
            why,
        }
    }
}

/// Error messages echo the offending value; a 1 MB value must not become a 1 MB log line.
pub fn truncate(s: &str) -> String {
    const MAX: usize = 80;
    if s.len() <= MAX {
        return s.to_owned();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}
