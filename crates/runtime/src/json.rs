//! Reading JSON request bodies into typed values, for both JSON APIs: where
//! a value failed (its path) and why, in words, without serde's position suffix.

use serde::de::DeserializeOwned;
use serde_path_to_error::Segment;

/// Why a body was refused.
pub enum BodyError {
    /// Not JSON at all (or trailing bytes after it).
    Syntax(serde_json::Error),
    /// JSON, but not an object.
    NotObject,
    /// An object, but a value in it is wrong: where, and why.
    Data { path: Vec<Segment>, message: String },
}

/// One JSON object as a `T`. (serde would also read a struct from an array of
/// its fields in order, which no client means.)
pub fn object<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, BodyError> {
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => any(bytes),
        _ => match serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
            Ok(_) => Err(BodyError::NotObject),
            Err(e) => Err(BodyError::Syntax(e)),
        },
    }
}

/// Any JSON document as a `T`.
pub fn any<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, BodyError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize(&mut de) {
        Ok(v) => de.end().map(|()| v).map_err(BodyError::Syntax),
        Err(e) => {
            let path: Vec<Segment> = e.path().iter().cloned().collect();
            let inner = e.into_inner();
            if inner.is_data() {
                Err(BodyError::Data {
                    path,
                    message: bare_message(&inner),
                })
            } else {
                Err(BodyError::Syntax(inner))
            }
        }
    }
}

/// serde's message without the " at line 1 column 30" it appends.
fn bare_message(e: &serde_json::Error) -> String {
    let s = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    s.strip_suffix(&suffix).unwrap_or(&s).to_owned()
}

/// `a.b[2].c`, as people write a place in a document.
pub fn dotted(path: &[Segment]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Segment::Map { key } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct T {
        a: Vec<u8>,
    }

    #[test]
    fn says_where_and_why() {
        match object::<T>(br#"{"a":[1,"x"]}"#) {
            Err(BodyError::Data { path, message }) => {
                assert_eq!(dotted(&path), "a[1]");
                assert!(message.starts_with("invalid type: string"), "{message}");
                assert!(!message.contains("line 1"), "{message}");
            }
            _ => panic!("expected a data error"),
        }
        assert!(matches!(object::<T>(b"[1]"), Err(BodyError::NotObject)));
        assert!(matches!(object::<T>(b"{nope"), Err(BodyError::Syntax(_))));
        assert!(matches!(
            object::<T>(br#"{"a":[]} x"#),
            Err(BodyError::Syntax(_))
        ));
    }
}
