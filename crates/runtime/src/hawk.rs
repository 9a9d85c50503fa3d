//! Hawk request authentication (HMAC-SHA256), as SRAPS clients send it.
//!
//! Written against mozilla/hawk's `lib/server.js` and `lib/crypto.js` and tested
//! against the published vectors (reference §2.6); the interop test signs with
//! the independent `hawk` crate. The check order follows mozilla/hawk: parse,
//! credentials, MAC, payload hash, nonce, timestamp — so a correctly signed but
//! stale request learns the server's time (`tsm`) and can correct its clock.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use base64::Engine as _;
use hmac::{Hmac, Mac as _};
use sha2::{Digest as _, Sha256};

use crate::secret::ct_eq;

const MAX_HEADER: usize = 4096;
const ALLOWED: &[&str] = &["id", "ts", "nonce", "hash", "ext", "mac", "app", "dlg"];

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Header {
    pub id: String,
    pub ts: u64,
    pub nonce: String,
    pub hash: Option<String>,
    pub ext: Option<String>,
    pub mac: String,
    pub app: Option<String>,
    pub dlg: Option<String>,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum HawkError {
    #[error("Bad header: {0}")]
    Malformed(&'static str),
    #[error("Unknown credentials")]
    UnknownCredentials,
    #[error("Bad mac")]
    BadMac,
    #[error("Bad payload hash")]
    BadHash,
    #[error("Invalid nonce")]
    Replay,
    #[error("Stale timestamp")]
    Stale { now: u64, tsm: String },
}

/// Parses the value of an `Authorization: Hawk …` header strictly: known
/// attributes only, each once, double-quoted, printable ASCII without `"` or `\`.
pub fn parse_header(value: &str) -> Result<Header, HawkError> {
    if value.len() > MAX_HEADER {
        return Err(HawkError::Malformed("header too long"));
    }
    // Auth scheme names are case-insensitive (RFC 9110 §11.1).
    let rest = value
        .get(..5)
        .filter(|p| p.eq_ignore_ascii_case("hawk "))
        .map(|_| &value[5..])
        .ok_or(HawkError::Malformed("not a Hawk header"))?;
    let mut h = Header::default();
    let mut seen: Vec<&str> = Vec::new();
    let mut ts = None;
    let mut s = rest.trim_start();
    while !s.is_empty() {
        let eq = s
            .find('=')
            .ok_or(HawkError::Malformed("expected key=\"value\""))?;
        let key = s[..eq].trim();
        if !ALLOWED.contains(&key) {
            return Err(HawkError::Malformed("unknown attribute"));
        }
        if seen.contains(&key) {
            return Err(HawkError::Malformed("duplicate attribute"));
        }
        seen.push(key);
        let after = &s[eq + 1..];
        let after = after
            .strip_prefix('"')
            .ok_or(HawkError::Malformed("attribute value must be quoted"))?;
        let end = after
            .find('"')
            .ok_or(HawkError::Malformed("unterminated value"))?;
        let val = &after[..end];
        if !val.bytes().all(|c| (0x20..0x7f).contains(&c) && c != b'\\') {
            return Err(HawkError::Malformed("bad character in attribute value"));
        }
        let val = val.to_owned();
        match key {
            "id" => h.id = val,
            "ts" => {
                ts = Some(
                    val.parse::<u64>()
                        .map_err(|_| HawkError::Malformed("ts must be a number"))?,
                )
            }
            "nonce" => h.nonce = val,
            "hash" => h.hash = Some(val),
            "ext" => h.ext = Some(val),
            "mac" => h.mac = val,
            "app" => h.app = Some(val),
            "dlg" => h.dlg = Some(val),
            _ => unreachable!("checked against ALLOWED"),
        }
        s = after[end + 1..].trim_start();
        if let Some(r) = s.strip_prefix(',') {
            s = r.trim_start();
        } else if !s.is_empty() {
            return Err(HawkError::Malformed("expected ',' between attributes"));
        }
    }
    h.ts = ts.ok_or(HawkError::Malformed("missing ts"))?;
    if h.id.is_empty() || h.nonce.is_empty() || h.mac.is_empty() {
        return Err(HawkError::Malformed("missing id, nonce or mac"));
    }
    Ok(h)
}

/// The request as the client addressed it.
pub struct RequestInfo<'a> {
    pub method: &'a str,
    /// Path and query exactly as sent.
    pub resource: &'a str,
    pub host: &'a str,
    pub port: u16,
}

fn hmac_b64(key: &[u8], data: &[u8]) -> String {
    let mut m = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key");
    m.update(data);
    base64::engine::general_purpose::STANDARD.encode(m.finalize().into_bytes())
}

/// `hawk.1.header` normalized string and its MAC.
pub fn request_mac(key: &[u8], h: &Header, r: &RequestInfo<'_>) -> String {
    let ext = h
        .ext
        .as_deref()
        .unwrap_or("")
        .replace('\\', "\\\\")
        .replace('\n', "\\n");
    let mut n = format!(
        "hawk.1.header\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n",
        h.ts,
        h.nonce,
        r.method.to_ascii_uppercase(),
        r.resource,
        r.host.to_ascii_lowercase(),
        r.port,
        h.hash.as_deref().unwrap_or(""),
        ext
    );
    if let Some(app) = &h.app {
        n.push_str(app);
        n.push('\n');
        n.push_str(h.dlg.as_deref().unwrap_or(""));
        n.push('\n');
    }
    hmac_b64(key, n.as_bytes())
}

/// `base64(SHA-256("hawk.1.payload\n" + content-type + "\n" + body + "\n"))`, with
/// the content type lowercased and its parameters stripped.
pub fn payload_hash(content_type: &str, body: &[u8]) -> String {
    let ct = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let mut d = Sha256::new();
    d.update(b"hawk.1.payload\n");
    d.update(ct.as_bytes());
    d.update(b"\n");
    d.update(body);
    d.update(b"\n");
    base64::engine::general_purpose::STANDARD.encode(d.finalize())
}

/// The MAC a client can check the server's time with.
pub fn ts_mac(key: &[u8], ts: u64) -> String {
    hmac_b64(key, format!("hawk.1.ts\n{ts}\n").as_bytes())
}

/// Each nonce with its expiry, and the same in insertion order for eviction.
///
/// A nonce is kept as a keyed 64-bit hash of `(key id, nonce)`, not as its
/// text: 16 bytes in each structure instead of two strings (a nonce may be as
/// long as the header allows). Registering 100,000 devices at the local
/// redirection service fills the cache to its default capacity within the
/// replay window, and the strings alone then held about 20 MB.
#[derive(Default)]
struct Seen {
    map: HashMap<u64, u64>,
    order: VecDeque<(u64, u64)>,
}

/// Remembers nonces for the skew window so a request cannot be replayed. Bounded:
/// past `capacity` entries the oldest are forgotten first.
pub struct NonceCache {
    inner: Mutex<Seen>,
    capacity: usize,
    /// SipHash with a random key per process: a client cannot choose two
    /// nonces that collide. A chance collision (about n^2 / 2^65 for the n
    /// nonces kept: 3e-10 at 100,000) refuses one request as a replay, which
    /// its client signs again with a new nonce.
    hasher: std::hash::RandomState,
}

impl NonceCache {
    pub fn new(capacity: usize) -> Self {
        NonceCache {
            inner: Mutex::new(Seen::default()),
            capacity,
            hasher: std::hash::RandomState::new(),
        }
    }

    /// `true` if the nonce is new (and is now remembered until `expires`).
    pub fn check_and_insert(&self, key_id: &str, nonce: &str, now: u64, expires: u64) -> bool {
        use std::hash::BuildHasher as _;
        // `str` hashes with a terminator, so ("ab", "c") and ("a", "bc")
        // are different keys.
        let k = self.hasher.hash_one((key_id, nonce));
        let mut guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let Seen { map, order } = &mut *guard;
        while let Some(&(old, exp)) = order.front() {
            if exp > now && map.len() < self.capacity {
                break;
            }
            if map.get(&old) == Some(&exp) {
                map.remove(&old);
            }
            order.pop_front();
        }
        if map.get(&k).is_some_and(|exp| *exp > now) {
            return false;
        }
        map.insert(k, expires);
        order.push_back((k, expires));
        true
    }

    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .map
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Everything after the credential lookup: MAC, payload hash, nonce, timestamp.
#[allow(clippy::too_many_arguments)]
pub fn verify(
    key: &[u8],
    h: &Header,
    r: &RequestInfo<'_>,
    content_type: &str,
    body: &[u8],
    nonces: &NonceCache,
    now: u64,
    skew: u64,
) -> Result<(), HawkError> {
    let want = request_mac(key, h, r);
    if !ct_eq(want.as_bytes(), h.mac.as_bytes()) {
        return Err(HawkError::BadMac);
    }
    if let Some(hash) = &h.hash {
        let want = payload_hash(content_type, body);
        if !ct_eq(want.as_bytes(), hash.as_bytes()) {
            return Err(HawkError::BadHash);
        }
    }
    if !nonces.check_and_insert(&h.id, &h.nonce, now, now + 2 * skew + 1) {
        return Err(HawkError::Replay);
    }
    if h.ts.abs_diff(now) > skew {
        return Err(HawkError::Stale {
            now,
            tsm: ts_mac(key, now),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"werxhqb98rpaxn39848xrunpaw3489ruxnpa98w4rxn";

    fn spec_header(hash: Option<&str>, ext: Option<&str>) -> Header {
        Header {
            id: "dh37fgj492je".into(),
            ts: 1353832234,
            nonce: "j4h3g2".into(),
            hash: hash.map(Into::into),
            ext: ext.map(Into::into),
            ..Header::default()
        }
    }

    fn example(method: &'static str) -> RequestInfo<'static> {
        RequestInfo {
            method,
            resource: "/resource/1?b=1&a=2",
            host: "example.com",
            port: 8000,
        }
    }

    /// The vectors of the reference §2.6 (mozilla/hawk API.md and computed ones).
    #[test]
    fn published_vectors() {
        assert_eq!(
            request_mac(
                KEY,
                &spec_header(None, Some("some-app-ext-data")),
                &example("GET")
            ),
            "6R4rV5iE+NPoym+WwjeHzjAGXUtLNIxmo1vpMofpLAE="
        );
        let hash = payload_hash("text/plain", b"Thank you for flying Hawk");
        assert_eq!(hash, "Yi9LfIIFRtBEPt74PVmbTF/xVAwPn7ub15ePICfgnuY=");
        assert_eq!(
            request_mac(
                KEY,
                &spec_header(Some(&hash), Some("some-app-ext-data")),
                &example("POST")
            ),
            "aSe1DERmZuRl3pI36/9BdZmnErTw3sNzOOAUlfeKjVw="
        );
        assert_eq!(
            request_mac(KEY, &spec_header(None, None), &example("GET")),
            "nfp3t5BVkMvjhU3PrD0ftTp7NcVpETEX2HEi/Fo4S2g="
        );
        assert_eq!(
            ts_mac(KEY, 1353832234),
            "2mw1eh/qXzl0wJZ/E6XvBhRMEJN7L3j8AyMA8eItEb0="
        );
        assert_eq!(
            payload_hash("", b""),
            "B0weSUXsMcb5UhL41FZbrUJCAotzSI3HawE1NPLRUz8="
        );
        assert_eq!(
            payload_hash("application/json; charset=utf-8", b""),
            "NVuBm+XMyya3Tq4EhpZ0cQWjVUyIA8sKnySkKDOIM4M="
        );
        let get = Header {
            id: "x".into(),
            ts: 1700000000,
            nonce: "n0nce1".into(),
            ..Header::default()
        };
        let r = RequestInfo {
            method: "get",
            resource: "/api/v1/tokens/ck_example",
            host: "Secure-Provisioning.snom.com",
            port: 443,
        };
        assert_eq!(
            request_mac(b"test-secret-key", &get, &r),
            "mBShwqzx2A8livEMP61TnZfyRKnBddHoyqyIHj6aYu0="
        );
        let body = br#"{"mac":"000413aabbcc","autoprovisioning_enabled":true,"settings_manager":{"aaaabbbbccccddddeeeeffff00001111":{"value":"https://pbx.example.com/ztprov/","attrs":{"perm":"RW"}}}}"#;
        assert_eq!(body.len(), 176);
        let hash = payload_hash("application/json", body);
        assert_eq!(hash, "MHkC7bX+bkf7bA614cX5izwsK7VPyra1/ZbkjXBhpjU=");
        let mut put = Header {
            id: "x".into(),
            ts: 1700000000,
            nonce: "n0nce2".into(),
            hash: Some(hash),
            ..Header::default()
        };
        let r = RequestInfo {
            method: "PUT",
            resource: "/api/v1/companies/0123456789abcdef0123456789abcdef/endpoints/000413aabbcc",
            host: "secure-provisioning.snom.com",
            port: 443,
        };
        assert_eq!(
            request_mac(b"test-secret-key", &put, &r),
            "UaPvN77JaKWhk9wbebrTsLJaB9Y9SG8mM3A1wMRAY0c="
        );
        put.hash = None;
        assert_eq!(
            request_mac(b"test-secret-key", &put, &r),
            "AAd9K43lES/KQLFHfj9wka1CjCC/qy9zxb7cjzlP5C4="
        );
    }

    #[test]
    fn parses_any_attribute_order() {
        let h = parse_header(r#"Hawk mac="m", hash="h", id="i", ts="12", nonce="n""#).unwrap();
        assert_eq!(
            (
                h.id.as_str(),
                h.ts,
                h.nonce.as_str(),
                h.hash.as_deref(),
                h.mac.as_str()
            ),
            ("i", 12, "n", Some("h"), "m")
        );
        parse_header(r#"Hawk id="i", ts="12", nonce="n", mac="m""#).unwrap();
        parse_header(r#"hawk id="i", ts="12", nonce="n", mac="m""#).unwrap();
        parse_header(r#"HAWK id="i", ts="12", nonce="n", mac="m""#).unwrap();
    }

    #[test]
    fn rejects_malformed_headers() {
        for h in [
            "",
            "Basic abc",
            "Hawk ",
            r#"Hawk id="i", ts="12", nonce="n""#,
            r#"Hawk id="i", ts="x", nonce="n", mac="m""#,
            r#"Hawk id="i", id="j", ts="1", nonce="n", mac="m""#,
            r#"Hawk id="i", ts="1", nonce="n", mac="m", evil="x""#,
            r#"Hawk id=i, ts="1", nonce="n", mac="m""#,
            r#"Hawk id="i\"", ts="1", nonce="n", mac="m""#,
            r#"Hawk id="i" ts="1" nonce="n" mac="m""#,
            r#"Hawk id="unterminated"#,
        ] {
            assert!(
                matches!(parse_header(h), Err(HawkError::Malformed(_))),
                "{h}"
            );
        }
        let long = format!(
            r#"Hawk id="{}", ts="1", nonce="n", mac="m""#,
            "a".repeat(5000)
        );
        assert!(parse_header(&long).is_err());
    }

    #[test]
    fn nonce_cache_rejects_replays_and_stays_bounded() {
        let c = NonceCache::new(3);
        assert!(c.check_and_insert("k", "a", 100, 200));
        assert!(!c.check_and_insert("k", "a", 150, 250));
        assert!(
            c.check_and_insert("other", "a", 150, 250),
            "nonces are per key"
        );
        assert!(c.check_and_insert("ab", "c", 150, 250));
        assert!(
            c.check_and_insert("a", "bc", 150, 250),
            "the key id and the nonce are told apart"
        );
        assert!(
            c.check_and_insert("k", "a", 201, 301),
            "expired nonces are forgotten"
        );
        for i in 0..10 {
            c.check_and_insert("k", &format!("n{i}"), 300, 400);
        }
        assert!(c.len() <= 3);
        assert!(
            !c.check_and_insert("k", "n9", 301, 401),
            "the newest are kept"
        );
    }

    #[test]
    fn verify_order_and_errors() {
        let c = NonceCache::new(100);
        let r = example("GET");
        let mut h = spec_header(None, None);
        h.mac = request_mac(KEY, &h, &r);
        let now = h.ts + 10;
        assert_eq!(verify(KEY, &h, &r, "", b"", &c, now, 60), Ok(()));
        assert_eq!(
            verify(KEY, &h, &r, "", b"", &c, now, 60),
            Err(HawkError::Replay)
        );
        h.nonce = "other".into();
        assert_eq!(
            verify(KEY, &h, &r, "", b"", &c, now, 60),
            Err(HawkError::BadMac)
        );
        h.mac = request_mac(KEY, &h, &r);
        match verify(KEY, &h, &r, "", b"", &c, h.ts + 61, 60) {
            Err(HawkError::Stale { now, tsm }) => assert_eq!(tsm, ts_mac(KEY, now)),
            other => panic!("{other:?}"),
        }
        let mut h = spec_header(Some("AAAA"), None);
        h.nonce = "third".into();
        h.mac = request_mac(KEY, &h, &r);
        assert_eq!(
            verify(KEY, &h, &r, "text/plain", b"x", &c, now, 60),
            Err(HawkError::BadHash)
        );
    }
}
