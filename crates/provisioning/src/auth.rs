//! HTTP authentication for phones: Digest (RFC 7616, MD5 and SHA-256, qop=auth)
//! and Basic (RFC 7617).
//!
//! Nonces are stateless: a nonce is its issue time plus an HMAC of that time under
//! a secret shared by every node (kept in the database), so verifying one costs a
//! hash and no write, and any node accepts a nonce another node issued. The price
//! is that a captured response can be replayed while its nonce is fresh; phones
//! fetch public-per-tenant files over it, so the trade is the one every stateless
//! provisioning server makes. Use TLS where that matters.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use hmac::{Hmac, Mac as _};
use md5::Md5;
use sha2::Sha256;

use touchless_phones::AuthScheme;
use touchless_runtime::config::{AuthConfig, DigestAlgorithm, Scheme};
use touchless_runtime::secret::ct_eq;

mod basic;
mod ha1;
mod parse;

pub use basic::BasicPair;
use ha1::{ha1, Hex};
pub use ha1::{Credentials, Expected, Ha1};
use parse::parse_digest;
pub use parse::DigestResponse;

/// The longest `Authorization` header we parse; real ones are ~300 bytes.
const MAX_HEADER: usize = 4096;

/// What the client sent in `Authorization`, parsed but not yet verified.
#[derive(Debug)]
pub enum Presented<'a> {
    Basic(BasicPair),
    Digest(DigestResponse<'a>),
}

impl Presented<'_> {
    pub fn user(&self) -> &str {
        match self {
            Presented::Basic(p) => p.user(),
            Presented::Digest(d) => &d.username,
        }
    }
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("malformed Authorization header: {0}")]
    Malformed(&'static str),
    #[error("authentication scheme not offered")]
    SchemeNotOffered,
}

/// The outcome of checking presented credentials against expected ones.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Ok,
    /// Wrong user, wrong password, wrong realm or URI: a fresh challenge.
    Denied,
    /// Everything right except that the nonce has expired: challenge with `stale=true`.
    Stale,
}

thread_local! {
    /// The nonce this thread verified last, with its issue time, and whose
    /// secret (`Authenticator::id`) made it: a phone answers many requests on
    /// one nonce, and every challenge of the same second carries the same
    /// one, so most checks compare a string instead of computing an HMAC. It
    /// only remembers a verification's result; expiry is checked every time.
    static LAST_NONCE: std::cell::RefCell<(u64, String, u64)> =
        const { std::cell::RefCell::new((0, String::new(), 0)) };
}

/// Tells authenticators (and their secrets) apart in [`LAST_NONCE`].
static AUTHENTICATORS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// Issues challenges and checks answers. One per process, cheap to share.
pub struct Authenticator {
    id: u64,
    schemes: Vec<Scheme>,
    algorithms: Vec<DigestAlgorithm>,
    realm: String,
    nonce_lifetime: u64,
    /// HMAC-SHA256 keyed with the nonce secret once; cloned per nonce, which
    /// saves hashing the key on every request.
    nonce_key: Hmac<Sha256>,
    /// Digest hashes computed by `verify`: a miss must cost what a hit costs,
    /// and this is how a test sees that it does.
    hashes: std::sync::atomic::AtomicU64,
}

impl Authenticator {
    /// Digest hashes `verify` has computed since start.
    pub fn hashes(&self) -> u64 {
        self.hashes.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn new(cfg: &AuthConfig, nonce_secret: &[u8]) -> Self {
        Authenticator {
            schemes: cfg.schemes.clone(),
            algorithms: cfg.digest_algorithms.clone(),
            realm: cfg.realm.clone(),
            nonce_lifetime: cfg.nonce_lifetime_secs,
            nonce_key: Hmac::<Sha256>::new_from_slice(nonce_secret).expect("HMAC takes any key"),
            hashes: std::sync::atomic::AtomicU64::new(0),
            id: AUTHENTICATORS.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        }
    }

    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// The `WWW-Authenticate` values, most preferred first: the configured schemes the phone's
    /// vendor answers (`phones`), or all configured ones if it answers none
    /// of them.
    pub fn challenges(&self, stale: bool, phones: &[AuthScheme]) -> Vec<String> {
        let answered = |s: &Scheme| {
            phones.contains(&match s {
                Scheme::Digest => AuthScheme::Digest,
                Scheme::Basic => AuthScheme::Basic,
            })
        };
        let any = self.schemes.iter().any(answered);
        let mut out = Vec::with_capacity(3);
        for scheme in self.schemes.iter().filter(|s| !any || answered(s)) {
            match scheme {
                Scheme::Digest => {
                    let nonce = self.nonce_at(now_secs());
                    for alg in &self.algorithms {
                        out.push(format!(
                            "Digest realm=\"{}\", qop=\"auth\", algorithm={}, nonce=\"{nonce}\"{}",
                            self.realm,
                            alg.as_str(),
                            if stale { ", stale=true" } else { "" }
                        ));
                    }
                }
                Scheme::Basic => {
                    out.push(format!("Basic realm=\"{}\", charset=\"UTF-8\"", self.realm))
                }
            }
        }
        out
    }

    fn nonce_mac(&self, ts: u64) -> [u8; 16] {
        let mut m = self.nonce_key.clone();
        m.update(&ts.to_be_bytes());
        m.update(self.realm.as_bytes());
        let full = m.finalize().into_bytes();
        let mut out = [0u8; 16];
        out.copy_from_slice(&full[..16]);
        out
    }

    fn nonce_at(&self, ts: u64) -> String {
        let mut raw = [0u8; 24];
        raw[..8].copy_from_slice(&ts.to_be_bytes());
        raw[8..].copy_from_slice(&self.nonce_mac(ts));
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
    }

    /// `Some(true)` if the nonce is ours and fresh, `Some(false)` if ours but
    /// expired, `None` if not ours at all.
    fn check_nonce(&self, nonce: &str) -> Option<bool> {
        let ts = LAST_NONCE.with(|last| {
            let last = last.borrow();
            (last.0 == self.id && last.1 == nonce).then_some(last.2)
        });
        let ts = match ts {
            Some(ts) => ts,
            None => {
                let ts = self.nonce_time(nonce)?;
                LAST_NONCE.with(|last| {
                    let mut last = last.borrow_mut();
                    last.0 = self.id;
                    last.1.clear();
                    last.1.push_str(nonce);
                    last.2 = ts;
                });
                ts
            }
        };
        let now = now_secs();
        if ts > now + 5 {
            return None;
        }
        Some(now - ts.min(now) <= self.nonce_lifetime)
    }

    /// The issue time of a nonce this secret made, `None` for any other.
    fn nonce_time(&self, nonce: &str) -> Option<u64> {
        let mut raw = [0u8; 24];
        let n = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode_slice(nonce, &mut raw)
            .ok()?;
        if n != raw.len() {
            return None;
        }
        let ts = u64::from_be_bytes(raw[..8].try_into().ok()?);
        ct_eq(&raw[8..], &self.nonce_mac(ts)).then_some(ts)
    }

    /// Parses an `Authorization` header value.
    pub fn parse<'h>(&self, header: &'h [u8]) -> Result<Presented<'h>, AuthError> {
        if header.len() > MAX_HEADER {
            return Err(AuthError::Malformed("too long"));
        }
        // Split as bytes: Basic's base64 is checked by its decoder and the
        // pair as UTF-8 once decoded, so only Digest needs the text checked.
        let space = memchr::memchr(b' ', header)
            .ok_or(AuthError::Malformed("no credentials after the scheme"))?;
        let (scheme, rest) = (&header[..space], &header[space + 1..]);
        if scheme.eq_ignore_ascii_case(b"basic") {
            if !self.schemes.contains(&Scheme::Basic) {
                return Err(AuthError::SchemeNotOffered);
            }
            return BasicPair::decode(rest.trim_ascii()).map(Presented::Basic);
        }
        if scheme.eq_ignore_ascii_case(b"digest") {
            if !self.schemes.contains(&Scheme::Digest) {
                return Err(AuthError::SchemeNotOffered);
            }
            let rest = std::str::from_utf8(rest).map_err(|_| AuthError::Malformed("not UTF-8"))?;
            return parse_digest(rest).map(Presented::Digest);
        }
        Err(AuthError::SchemeNotOffered)
    }

    /// Checks presented credentials for a request `method uri` against `expected`.
    /// Runs the same hashing whether or not the user name matches, so timing does
    /// not tell a wrong user from a wrong password.
    pub fn verify(
        &self,
        p: &Presented<'_>,
        method: &str,
        uri: &str,
        expected: Expected<'_>,
    ) -> Verdict {
        match p {
            Presented::Basic(pair) => {
                self.count_hash();
                let user = pair.user_bytes();
                let got = ha1::<Md5>(user, &self.realm, pair.pass_bytes());
                let ok = ct_eq(user, expected.user.as_bytes()) & ct_eq(&got, &expected.ha1.md5);
                if ok {
                    Verdict::Ok
                } else {
                    Verdict::Denied
                }
            }
            Presented::Digest(d) => {
                let alg = match d.algorithm.as_deref() {
                    None => DigestAlgorithm::Md5,
                    Some(a) if a.eq_ignore_ascii_case("MD5") => DigestAlgorithm::Md5,
                    Some(a) if a.eq_ignore_ascii_case("SHA-256") => DigestAlgorithm::Sha256,
                    Some(_) => return Verdict::Denied,
                };
                if !self.algorithms.contains(&alg) {
                    return Verdict::Denied;
                }
                let want = match alg {
                    DigestAlgorithm::Md5 => {
                        self.digest_response::<Md5>(d, method, expected.ha1.get(alg))
                    }
                    DigestAlgorithm::Sha256 => {
                        self.digest_response::<Sha256>(d, method, expected.ha1.get(alg))
                    }
                };
                let Some(want) = want else {
                    return Verdict::Denied;
                };
                let ok = ct_eq_ignore_case(want.as_bytes(), d.response.as_bytes())
                    & ct_eq(d.username.as_bytes(), expected.user.as_bytes())
                    & (d.realm == self.realm)
                    & (d.uri == uri);
                if !ok {
                    return Verdict::Denied;
                }
                match self.check_nonce(&d.nonce) {
                    Some(true) => Verdict::Ok,
                    Some(false) => Verdict::Stale,
                    None => Verdict::Denied,
                }
            }
        }
    }

    fn count_hash(&self) {
        self.hashes
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// The response a client that knows the password behind `ha1` sends
    /// (RFC 7616 §3.4.1), as hex; `None` for a qop combination we refuse.
    fn digest_response<D: sha2::Digest>(
        &self,
        d: &DigestResponse<'_>,
        method: &str,
        ha1: &[u8],
    ) -> Option<Hex> {
        self.count_hash();
        let ha2 = Hex::of(
            &D::new()
                .chain_update(method)
                .chain_update(b":")
                .chain_update(d.uri.as_bytes())
                .finalize(),
        );
        let ha1 = Hex::of(ha1);
        let h = D::new()
            .chain_update(ha1.as_bytes())
            .chain_update(b":")
            .chain_update(d.nonce.as_bytes())
            .chain_update(b":");
        let h = match (&d.qop, &d.nc, &d.cnonce) {
            (Some(q), Some(nc), Some(cn)) if q == "auth" => h
                .chain_update(nc.as_bytes())
                .chain_update(b":")
                .chain_update(cn.as_bytes())
                .chain_update(b":auth:"),
            (None, None, None) => h,
            _ => return None,
        };
        self.count_hash();
        Some(Hex::of(&h.chain_update(ha2.as_bytes()).finalize()))
    }
}

/// Equal as ASCII case-insensitive bytes (hex digits may come in upper
/// case), in time that depends only on the lengths.
fn ct_eq_ignore_case(want: &[u8], got: &[u8]) -> bool {
    if want.len() != got.len() {
        return false;
    }
    let mut diff = 0u8;
    for (a, b) in want.iter().zip(got) {
        diff |= a ^ b.to_ascii_lowercase();
    }
    diff == 0
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::ha1::{hex, hex_md5, hex_sha256};
    use super::*;

    fn auth(schemes: Vec<Scheme>) -> Authenticator {
        let cfg = AuthConfig {
            schemes,
            ..AuthConfig::default()
        };
        Authenticator::new(&cfg, b"test-secret")
    }

    /// RFC 7616 §3.9.1: the example for "Mufasa" / "Circle of Life".
    #[test]
    fn rfc7616_example_vectors() {
        let cfg = AuthConfig {
            realm: "http-auth@example.org".into(),
            ..AuthConfig::default()
        };
        let a = Authenticator::new(&cfg, b"k");
        let creds = Credentials::new("Mufasa", "Circle of Life", "http-auth@example.org");
        let nonce = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
        let uri = "/dir/index.html";
        let ha2 = hex_md5(format!("GET:{uri}").as_bytes());
        let resp = hex_md5(
            format!(
                "{}:{nonce}:00000001:f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ:auth:{ha2}",
                hex(&creds.ha1.md5)
            )
            .as_bytes(),
        );
        assert_eq!(resp, "8ca523f5e9506fed4657c9700eebdbec");
        let ha2 = hex_sha256(format!("GET:{uri}").as_bytes());
        let resp = hex_sha256(
            format!(
                "{}:{nonce}:00000001:f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ:auth:{ha2}",
                hex(&creds.ha1.sha256)
            )
            .as_bytes(),
        );
        assert_eq!(
            resp,
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
        );
        // Our verifier rejects it only because the nonce is not one we issued.
        let header = format!(
            "Digest username=\"Mufasa\", realm=\"http-auth@example.org\", uri=\"{uri}\", algorithm=SHA-256, \
             nonce=\"{nonce}\", nc=00000001, cnonce=\"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ\", qop=auth, \
             response=\"{resp}\", opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\""
        );
        let p = a.parse(header.as_bytes()).unwrap();
        assert_eq!(a.verify(&p, "GET", uri, creds.expected()), Verdict::Denied);
        // The same inputs with a nonce we issued, the response computed the
        // RFC's way: accepted. So the refusal above is the nonce, not `verify`.
        let ours = a.nonce_at(now_secs());
        let ha2 = hex_sha256(format!("GET:{uri}").as_bytes());
        let resp = hex_sha256(
            format!(
                "{}:{ours}:00000001:f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ:auth:{ha2}",
                hex(&creds.ha1.sha256)
            )
            .as_bytes(),
        );
        let header = format!(
            "Digest username=\"Mufasa\", realm=\"http-auth@example.org\", uri=\"{uri}\", algorithm=SHA-256, \
             nonce=\"{ours}\", nc=00000001, cnonce=\"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ\", qop=auth, \
             response=\"{resp}\", opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\""
        );
        let p = a.parse(header.as_bytes()).unwrap();
        assert_eq!(a.verify(&p, "GET", uri, creds.expected()), Verdict::Ok);
    }

    fn answer(
        a: &Authenticator,
        alg: &str,
        nonce: &str,
        user: &str,
        pass: &str,
        uri: &str,
    ) -> String {
        let c = Credentials::new(user, pass, a.realm());
        let (ha1, h): (String, fn(&[u8]) -> String) = if alg == "MD5" {
            (hex(&c.ha1.md5), hex_md5)
        } else {
            (hex(&c.ha1.sha256), hex_sha256)
        };
        let ha2 = h(format!("GET:{uri}").as_bytes());
        let r = h(format!("{ha1}:{nonce}:00000001:abc:auth:{ha2}").as_bytes());
        format!(
            "Digest username=\"{user}\", realm=\"{}\", nonce=\"{nonce}\", uri=\"{uri}\", \
             algorithm={alg}, qop=auth, nc=00000001, cnonce=\"abc\", response=\"{r}\"",
            a.realm()
        )
    }

    #[test]
    fn digest_round_trip_and_failures() {
        let a = auth(vec![Scheme::Digest]);
        let creds = Credentials::new("u", "p", "touchless");
        let nonce = a.nonce_at(now_secs());
        for alg in ["MD5", "SHA-256"] {
            let h = answer(&a, alg, &nonce, "u", "p", "/prov/x.htm");
            let p = a.parse(h.as_bytes()).unwrap();
            assert_eq!(
                a.verify(&p, "GET", "/prov/x.htm", creds.expected()),
                Verdict::Ok
            );
            assert_eq!(
                a.verify(&p, "GET", "/prov/y.htm", creds.expected()),
                Verdict::Denied
            );
            let wrong = Credentials::new("u", "q", "touchless");
            assert_eq!(
                a.verify(&p, "GET", "/prov/x.htm", wrong.expected()),
                Verdict::Denied
            );
        }
        let old = a.nonce_at(now_secs() - 301);
        let h = answer(&a, "MD5", &old, "u", "p", "/x");
        let p = a.parse(h.as_bytes()).unwrap();
        assert_eq!(a.verify(&p, "GET", "/x", creds.expected()), Verdict::Stale);
        let forged = Authenticator::new(&AuthConfig::default(), b"other").nonce_at(now_secs());
        let h = answer(&a, "MD5", &forged, "u", "p", "/x");
        let p = a.parse(h.as_bytes()).unwrap();
        assert_eq!(a.verify(&p, "GET", "/x", creds.expected()), Verdict::Denied);
    }

    /// The remembered nonce belongs to the secret that verified it: another
    /// node's secret on the same thread does not accept it, and expiry is
    /// checked on every use.
    #[test]
    fn a_remembered_nonce_is_only_good_for_its_own_secret() {
        let a = auth(vec![Scheme::Digest]);
        let b = Authenticator::new(&AuthConfig::default(), b"another-secret");
        let creds = Credentials::new("u", "p", "touchless");
        let nonce = a.nonce_at(now_secs());
        let h = answer(&a, "MD5", &nonce, "u", "p", "/x");
        let p = a.parse(h.as_bytes()).unwrap();
        assert_eq!(a.verify(&p, "GET", "/x", creds.expected()), Verdict::Ok);
        assert_eq!(a.verify(&p, "GET", "/x", creds.expected()), Verdict::Ok);
        assert_eq!(b.verify(&p, "GET", "/x", creds.expected()), Verdict::Denied);
        let old = a.nonce_at(now_secs() - 301);
        let h = answer(&a, "MD5", &old, "u", "p", "/x");
        let p = a.parse(h.as_bytes()).unwrap();
        for _ in 0..2 {
            assert_eq!(a.verify(&p, "GET", "/x", creds.expected()), Verdict::Stale);
        }
    }

    #[test]
    fn basic_round_trip() {
        let a = auth(vec![Scheme::Basic]);
        let creds = Credentials::new("prov", "s3cr3t", "touchless");
        let h = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("prov:s3cr3t")
        );
        let p = a.parse(h.as_bytes()).unwrap();
        assert_eq!(a.verify(&p, "GET", "/", creds.expected()), Verdict::Ok);
        let h = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("prov:wrong")
        );
        assert_eq!(
            a.verify(
                &a.parse(h.as_bytes()).unwrap(),
                "GET",
                "/",
                creds.expected()
            ),
            Verdict::Denied
        );
        // Basic is not accepted when only Digest is offered
        assert_eq!(
            auth(vec![Scheme::Digest]).parse(h.as_bytes()).unwrap_err(),
            AuthError::SchemeNotOffered
        );
    }

    #[test]
    fn garbage_is_malformed_not_a_panic() {
        let a = auth(vec![Scheme::Digest, Scheme::Basic]);
        for h in [
            "",
            "Digest",
            "Digest ",
            "Digest username",
            "Digest username=\"unterminated",
            "Digest username=\"a\", username=\"b\", nonce=x, uri=/, response=y",
            "Digest username=\"a\\",
            "Basic !!!",
            "Basic Zm9v",
            "Bearer abc",
            "Digest =x",
        ] {
            assert!(a.parse(h.as_bytes()).is_err(), "{h}");
        }
        assert!(a.parse(&vec![b'a'; 10_000]).is_err());
        assert!(a.parse(&[0xff, 0xfe, b' ', b'x']).is_err());
    }

    #[test]
    fn challenges_follow_config() {
        let a = auth(vec![Scheme::Digest, Scheme::Basic]);
        let c = a.challenges(true, &[AuthScheme::Digest, AuthScheme::Basic]);
        assert_eq!(c.len(), 3);
        assert!(c[0].starts_with("Digest realm=\"touchless\", qop=\"auth\", algorithm=SHA-256"));
        assert!(c[0].ends_with("stale=true"));
        assert!(c[1].contains("algorithm=MD5"));
        assert!(c[2].starts_with("Basic"));
    }
}
