//! The Basic `Authorization` header: any bytes parse or are refused; a
//! header verifies only with the stored pair, whatever the user holds.
#![no_main]

use base64::Engine as _;
use libfuzzer_sys::fuzz_target;
use touchless_provisioning::auth::{Authenticator, Credentials, Verdict};
use touchless_runtime::config::{AuthConfig, Scheme};

fn auth() -> &'static Authenticator {
    static A: std::sync::OnceLock<Authenticator> = std::sync::OnceLock::new();
    A.get_or_init(|| {
        let cfg = AuthConfig {
            schemes: vec![Scheme::Basic, Scheme::Digest],
            allow_basic_over_http: true,
            ..AuthConfig::default()
        };
        Authenticator::new(&cfg, b"fuzz nonce secret")
    })
}

fuzz_target!(|data: &[u8]| {
    let a = auth();
    let stored = Credentials::new("phone", "s3cret", a.realm());
    // As sent, and as a client would encode these bytes as its pair.
    let encoded = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(data)
    );
    for header in [data, encoded.as_bytes()] {
        if let Ok(p) = a.parse(header) {
            if a.verify(&p, "GET", "/prov/x", stored.expected()) == Verdict::Ok {
                assert_eq!(p.user(), "phone");
            }
        }
    }
});
