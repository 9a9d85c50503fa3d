//! Parsing a Digest `Authorization` header (RFC 7616 §3.4) into its
//! parameters, without trusting a byte of it.

use super::AuthError;

/// The parameters of a Digest answer, not yet verified.
#[derive(Debug, Default)]
pub struct DigestResponse {
    pub username: String,
    pub realm: String,
    pub nonce: String,
    pub uri: String,
    pub response: String,
    pub algorithm: Option<String>,
    pub qop: Option<String>,
    pub nc: Option<String>,
    pub cnonce: Option<String>,
}

/// Parses the parameters of a Digest `Authorization` header: `k=v` or `k="v"`
/// pairs separated by commas, with backslash escapes inside quotes.
pub(super) fn parse_digest(s: &str) -> Result<DigestResponse, AuthError> {
    let mut d = DigestResponse::default();
    let b = s.as_bytes();
    let mut i = 0;
    // Parameters seen so far, as slices of the header: a handful per
    // header, so a linear scan beats hashing owned copies.
    let mut seen: Vec<&str> = Vec::with_capacity(12);
    loop {
        while i < b.len() && (b[i] == b' ' || b[i] == b'\t' || b[i] == b',') {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        let start = i;
        while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'-' || b[i] == b'_') {
            i += 1;
        }
        let key = &s[start..i];
        if key.is_empty() {
            return Err(AuthError::Malformed("expected a parameter name"));
        }
        while i < b.len() && b[i] == b' ' {
            i += 1;
        }
        if i >= b.len() || b[i] != b'=' {
            return Err(AuthError::Malformed("expected '=' after a parameter name"));
        }
        i += 1;
        while i < b.len() && b[i] == b' ' {
            i += 1;
        }
        let value = if i < b.len() && b[i] == b'"' {
            i += 1;
            let mut v = Vec::new();
            loop {
                match b.get(i) {
                    None => return Err(AuthError::Malformed("unterminated quoted string")),
                    Some(b'"') => {
                        i += 1;
                        break;
                    }
                    Some(b'\\') => {
                        v.push(
                            *b.get(i + 1)
                                .ok_or(AuthError::Malformed("dangling escape"))?,
                        );
                        i += 2;
                    }
                    Some(&c) => {
                        v.push(c);
                        i += 1;
                    }
                }
            }
            String::from_utf8(v).map_err(|_| AuthError::Malformed("not UTF-8"))?
        } else {
            let start = i;
            while i < b.len() && b[i] != b',' && b[i] != b' ' {
                i += 1;
            }
            s[start..i].to_owned()
        };
        if seen.iter().any(|k| k.eq_ignore_ascii_case(key)) {
            return Err(AuthError::Malformed("a parameter is repeated"));
        }
        seen.push(key);
        let mut lower = [0u8; 16];
        let key = match key.as_bytes() {
            k if k.len() <= lower.len() => {
                lower[..k.len()].copy_from_slice(k);
                lower[..k.len()].make_ascii_lowercase();
                std::str::from_utf8(&lower[..k.len()]).unwrap_or("")
            }
            // Longer than any parameter we know.
            _ => "",
        };
        match key {
            "username" => d.username = value,
            "realm" => d.realm = value,
            "nonce" => d.nonce = value,
            "uri" => d.uri = value,
            "response" => d.response = value,
            "algorithm" => d.algorithm = Some(value),
            "qop" => d.qop = Some(value),
            "nc" => d.nc = Some(value),
            "cnonce" => d.cnonce = Some(value),
            // Known but unused; unknown parameters are ignored as RFC 7616 asks.
            _ => {}
        }
    }
    if d.username.is_empty() || d.nonce.is_empty() || d.uri.is_empty() || d.response.is_empty() {
        return Err(AuthError::Malformed(
            "Digest needs username, nonce, uri and response",
        ));
    }
    Ok(d)
}
