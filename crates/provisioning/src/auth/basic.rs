//! A Basic user and password (RFC 7617), decoded into one buffer that holds
//! any phone's pair inline: parsing the header a phone sends on every fetch
//! allocates nothing.

use base64::Engine as _;
use smallvec::SmallVec;

use super::AuthError;

/// Room for a pair without allocating: phones' users and passwords are a
/// few dozen bytes.
type Buf = SmallVec<[u8; 128]>;

/// `user:pass`, valid UTF-8, with where the user ends.
pub struct BasicPair {
    buf: Buf,
    /// `buf[..colon]` is the user, `buf[colon + 1..]` the password.
    colon: usize,
}

impl BasicPair {
    /// A pair from its parts (a pair a phone carries in its path).
    pub fn new(user: &str, pass: &str) -> Self {
        let mut buf = Buf::with_capacity(user.len() + 1 + pass.len());
        buf.extend_from_slice(user.as_bytes());
        buf.push(b':');
        buf.extend_from_slice(pass.as_bytes());
        BasicPair {
            buf,
            colon: user.len(),
        }
    }

    /// The credentials of a `Basic` header: base64 of `user:pass`.
    pub(super) fn decode(b64: &[u8]) -> Result<Self, AuthError> {
        let engine = &base64::engine::general_purpose::STANDARD;
        let mut buf = Buf::new();
        buf.resize(base64::decoded_len_estimate(b64.len()), 0);
        let n = engine
            .decode_slice(b64, &mut buf)
            .map_err(|_| AuthError::Malformed("Basic credentials are not base64"))?;
        buf.truncate(n);
        std::str::from_utf8(&buf).map_err(|_| AuthError::Malformed("not UTF-8"))?;
        let colon = memchr::memchr(b':', &buf)
            .ok_or(AuthError::Malformed("Basic credentials have no ':'"))?;
        Ok(BasicPair { buf, colon })
    }

    pub fn user(&self) -> &str {
        // Both halves were UTF-8 when made, and a split at an ASCII ':' keeps
        // them so; the fallback is never taken.
        std::str::from_utf8(&self.buf[..self.colon]).unwrap_or_default()
    }

    /// The user as bytes, not checked again: what hashing and comparing take.
    pub(super) fn user_bytes(&self) -> &[u8] {
        &self.buf[..self.colon]
    }

    pub(super) fn pass_bytes(&self) -> &[u8] {
        &self.buf[self.colon + 1..]
    }
}

/// Shows the user only: the password is a secret.
impl std::fmt::Debug for BasicPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BasicPair")
            .field("user", &self.user())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_and_splits_at_the_first_colon() {
        let b64 = base64::engine::general_purpose::STANDARD.encode("prov:pa:ss wörd");
        let p = BasicPair::decode(b64.as_bytes()).unwrap();
        assert_eq!(
            (p.user(), p.pass_bytes()),
            ("prov", "pa:ss wörd".as_bytes())
        );
        assert!(!format!("{p:?}").contains("wörd"));
        let long = format!("{}:{}", "u".repeat(300), "p".repeat(300));
        let p = BasicPair::decode(
            base64::engine::general_purpose::STANDARD
                .encode(&long)
                .as_bytes(),
        )
        .unwrap();
        assert_eq!((p.user().len(), p.pass_bytes().len()), (300, 300));
        let p = BasicPair::new("a:b", "c");
        assert_eq!((p.user(), p.pass_bytes()), ("a:b", &b"c"[..]));
    }

    #[test]
    fn refuses_what_is_not_a_pair() {
        let enc = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        for (b64, why) in [
            ("!!!".to_owned(), "Basic credentials are not base64"),
            (enc(b"no colon"), "Basic credentials have no ':'"),
            (enc(b"u:\xff"), "not UTF-8"),
        ] {
            assert_eq!(
                BasicPair::decode(b64.as_bytes()).unwrap_err(),
                AuthError::Malformed(why)
            );
        }
    }
}
