//! HTTPS to providers: the public web roots, plus a provider's own CA bundle,
//! and TLS failures worded for the person who has to fix them.
//!
//! A certificate listed in a provider's bundle is also trusted exactly as it is
//! (pinned), whatever its name and extensions: that is what makes a
//! self-signed server certificate work, including one marked as a CA, as
//! `openssl req -x509` and many appliances make them. The bootstrapped `local`
//! provider pins the certificate of the listener it was made for.

use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};

/// The certificates in a PEM bundle; an error says why none could be used.
pub fn parse_bundle(pem: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs: Vec<_> = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|e| format!("not a PEM certificate bundle: {e}"))?;
    if certs.is_empty() {
        return Err("no certificate in it (expected -----BEGIN CERTIFICATE-----)".into());
    }
    Ok(certs)
}

/// A provider kind's client: [`client`], or (the admin API checks bundles
/// before storing them, so this is a stored bundle gone bad) the public
/// roots only, said in the log.
pub fn provider_client(ca_pem: Option<&str>, timeout: Duration) -> reqwest::Client {
    client(ca_pem, timeout).unwrap_or_else(|e| {
        tracing::error!(error = %e, "the provider's CA bundle is unusable; using the public roots only");
        builder(timeout)
            .build()
            .expect("building an HTTP client")
    })
}

/// What every provider client is: bounded in time; it follows no redirect
/// (a cloud API answers where it is asked, and its 3xx is an error to show,
/// not a place to send credentials) and retries nothing itself (the queue
/// retries, with backoff and the cloud's Retry-After).
fn builder(timeout: Duration) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .retry(reqwest::retry::never())
}

/// An HTTP client for one provider: `ca_pem` adds to the public roots.
pub fn client(ca_pem: Option<&str>, timeout: Duration) -> Result<reqwest::Client, String> {
    let builder = builder(timeout);
    let Some(pem) = ca_pem.filter(|p| !p.trim().is_empty()) else {
        return builder.build().map_err(|e| e.to_string());
    };
    let pinned = parse_bundle(pem)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    // A bundle entry that cannot serve as a root (a leaf) is still pinned.
    let _ = roots.add_parsable_certificates(pinned.iter().cloned());
    let inner = rustls::client::WebPkiServerVerifier::builder_with_provider(
        Arc::new(roots),
        Arc::clone(&provider),
    )
    .build()
    .map_err(|e| e.to_string())?;
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Pinning { inner, pinned }))
        .with_no_client_auth();
    builder
        .use_preconfigured_tls(config)
        .build()
        .map_err(|e| e.to_string())
}

/// WebPKI, or an exact match with a certificate the operator handed us. The
/// handshake signature is checked either way, so only the holder of that
/// certificate's key gets through.
#[derive(Debug)]
struct Pinning {
    inner: Arc<rustls::client::WebPkiServerVerifier>,
    pinned: Vec<CertificateDer<'static>>,
}

impl ServerCertVerifier for Pinning {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if self
            .pinned
            .iter()
            .any(|p| p.as_ref() == end_entity.as_ref())
        {
            return Ok(ServerCertVerified::assertion());
        }
        self.inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// A TLS failure somewhere in `e`'s causes, in words: which certificate, why
/// it is not trusted, and what to do. `None` if TLS is not what failed.
pub fn explain(e: &(dyn std::error::Error + 'static), url: &str) -> Option<String> {
    let host = reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default();
    find_rustls(e).map(|t| words(t, &host))
}

/// The rustls error among `e`'s causes. `io::Error` hides the error it wraps
/// from `source` (it returns that error's source), so look inside it too.
fn find_rustls<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    if let Some(t) = e.downcast_ref::<rustls::Error>() {
        return Some(t);
    }
    if let Some(inner) = e
        .downcast_ref::<std::io::Error>()
        .and_then(|io| io.get_ref())
    {
        if let Some(t) = find_rustls(inner) {
            return Some(t);
        }
    }
    e.source().and_then(find_rustls)
}

fn words(e: &rustls::Error, host: &str) -> String {
    let fix = "if it is self-signed or from a private CA, give that certificate or CA with \
               `touchless provider add NAME … --ca-file FILE`";
    let why = match e {
        rustls::Error::InvalidCertificate(c) => match c {
            CertificateError::UnknownIssuer => {
                "it is issued by a CA this server does not know".to_owned()
            }
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                "it has expired".to_owned()
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                "it is not valid yet (check the clocks)".to_owned()
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                format!("it is not valid for the name {host}")
            }
            CertificateError::Revoked => "it has been revoked".to_owned(),
            CertificateError::Other(o) if format!("{o:?}").contains("CaUsedAsEndEntity") => {
                "it is a CA certificate used as a server certificate, as self-signed ones often are"
                    .to_owned()
            }
            other => format!("{other:?}"),
        },
        other => return format!("TLS with the provider at {host} failed: {other}"),
    };
    format!("the provider's TLS certificate ({host}) is not trusted: {why}; {fix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundles_must_hold_certificates() {
        assert!(parse_bundle("hello")
            .unwrap_err()
            .contains("no certificate"));
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let pem = cert.cert.pem();
        assert_eq!(parse_bundle(&format!("{pem}{pem}")).unwrap().len(), 2);
        assert!(client(Some(&pem), Duration::from_secs(1)).is_ok());
    }

    #[test]
    fn untrusted_certificates_are_explained() {
        let e = rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer);
        let io = std::io::Error::other(e);
        let m = explain(&io, "https://sraps.example.com/api/v1/").unwrap();
        assert!(
            m.contains("sraps.example.com")
                && m.contains("does not know")
                && m.contains("--ca-file"),
            "{m}"
        );
    }
}
