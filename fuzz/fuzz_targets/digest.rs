//! The Digest `Authorization` header and its verification against a stored
//! credential: any header parses or is refused in words; a header made with
//! a fresh nonce verifies only with the right password.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use touchless_provisioning::auth::{Authenticator, Credentials, Presented, Verdict};
use touchless_runtime::config::{AuthConfig, DigestAlgorithm, Scheme};

#[derive(Arbitrary, Debug)]
enum Case {
    /// A header as sent, byte for byte.
    Raw(Vec<u8>, String),
    /// A well-formed answer to a real challenge, parts fuzzed.
    Answer {
        user: String,
        pass: String,
        uri: String,
        cnonce: String,
        nc: String,
        sha256: bool,
        quote_breaker: String,
    },
}

fn auth() -> &'static Authenticator {
    static A: std::sync::OnceLock<Authenticator> = std::sync::OnceLock::new();
    A.get_or_init(|| {
        let cfg = AuthConfig {
            schemes: vec![Scheme::Digest],
            digest_algorithms: vec![DigestAlgorithm::Sha256, DigestAlgorithm::Md5],
            ..AuthConfig::default()
        };
        Authenticator::new(&cfg, b"fuzz nonce secret")
    })
}

fn hex(h: &[u8]) -> String {
    h.iter().map(|b| format!("{b:02x}")).collect()
}

fn digest(sha256: bool, s: &str) -> String {
    use sha2::Digest as _;
    if sha256 {
        hex(&sha2::Sha256::digest(s.as_bytes()))
    } else {
        hex(&md5::Md5::digest(s.as_bytes()))
    }
}

fuzz_target!(|c: Case| {
    let a = auth();
    let stored = Credentials::new("phone", "s3cret", a.realm());
    match c {
        Case::Raw(header, uri) => {
            if let Ok(p) = a.parse(&header) {
                let v = a.verify(&p, "GET", &uri, stored.expected());
                if v == Verdict::Ok {
                    assert_eq!(p.user(), "phone", "verified as someone else");
                }
            }
        }
        Case::Answer {
            user,
            pass,
            uri,
            cnonce,
            nc,
            sha256,
            quote_breaker,
        } => {
            if [&user, &uri, &cnonce, &nc]
                .iter()
                .any(|s| s.contains(['"', '\\']) || s.chars().any(char::is_control))
            {
                return;
            }
            // A nonce this node issued: from its challenge.
            let challenge = a.challenges(false, &[touchless_phones::AuthScheme::Digest]);
            let want = if sha256 { "SHA-256" } else { "MD5" };
            let Some(ch) = challenge
                .iter()
                .find(|c| c.contains(&format!("algorithm={want}")))
            else {
                return;
            };
            let nonce = ch
                .split("nonce=\"")
                .nth(1)
                .and_then(|r| r.split('"').next())
                .unwrap();
            let ha1 = digest(sha256, &format!("{user}:{}:{pass}", a.realm()));
            let ha2 = digest(sha256, &format!("GET:{uri}"));
            let response = digest(sha256, &format!("{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}"));
            let header = format!(
                "Digest username=\"{user}\", realm=\"{}\", nonce=\"{nonce}\", uri=\"{uri}\", algorithm={want}, response=\"{response}\", qop=auth, nc={nc}, cnonce=\"{cnonce}\"{quote_breaker}",
                a.realm()
            );
            let Ok(p) = a.parse(header.as_bytes()) else {
                return;
            };
            let Presented::Digest(_) = &p else {
                panic!("a Digest header read as another scheme")
            };
            let v = a.verify(&p, "GET", &uri, stored.expected());
            if v == Verdict::Ok {
                assert_eq!(
                    (p.user(), pass.as_str()),
                    ("phone", "s3cret"),
                    "verified with the wrong pair"
                );
            }
        }
    }
});
