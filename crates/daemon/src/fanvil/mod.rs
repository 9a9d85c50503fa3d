//! Fanvil's cloud: FDPS, an XML-RPC service (reference "Fanvil FDPS", from
//! falconieri's client). Basic authentication whose password is
//! `md5hex(md5hex(password))`; a device is registered by a sequence that
//! tolerates "not exist" answers on the way: `redirect.deleteServer(mac)`,
//! `redirect.addMaterialServer([...])` (a server named after the MAC: host,
//! path, protocol), `redirect.deRegisterDevice(mac)`,
//! `redirect.registerDevice(mac, mac)`. Each answer is a boolean and a
//! string; `Error: …` strings are the errors.
//!
//! A server holds a host and a path and no pair, so the phone's first URL
//! carries its one-time pair in the path (`docs/vendors/fanvil.md`).

use std::fmt::Write as _;
use std::time::Duration;

use async_trait::async_trait;
use md5::{Digest as _, Md5};
use reqwest::StatusCode;
use touchless_domain::Mac;

use crate::provider::{Account, Kind, ProviderApi, ProviderError, Registration};

pub const KIND: Kind = Kind {
    vendor: "fanvil",
    factory,
    // **Guess**: FDPS accounts come from Fanvil with their address.
    default_base_url: Some("https://fdps.fanvil.com/xmlrpc"),
};

fn factory(a: &Account<'_>) -> std::sync::Arc<dyn ProviderApi> {
    std::sync::Arc::new(Fdps::new(
        a.base_url, a.key_id, a.secret, a.timeout, a.ca_pem,
    ))
}

pub struct Fdps {
    url: String,
    user: String,
    /// `md5hex(md5hex(secret))`, what FDPS takes as the password.
    pass: String,
    http: reqwest::Client,
}

fn md5hex(s: &str) -> String {
    Md5::digest(s.as_bytes())
        .iter()
        .fold(String::with_capacity(32), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}

/// One XML-RPC parameter.
enum Param<'a> {
    Str(&'a str),
    List(&'a [String]),
}

fn escape(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
}

/// A `methodCall` document.
fn method_call(method: &str, params: &[Param<'_>]) -> String {
    let mut out = String::from("<?xml version=\"1.0\"?><methodCall><methodName>");
    escape(&mut out, method);
    out.push_str("</methodName><params>");
    for p in params {
        out.push_str("<param><value>");
        match p {
            Param::Str(s) => {
                out.push_str("<string>");
                escape(&mut out, s);
                out.push_str("</string>");
            }
            Param::List(items) => {
                out.push_str("<array><data>");
                for s in items.iter() {
                    out.push_str("<value><string>");
                    escape(&mut out, s);
                    out.push_str("</string></value>");
                }
                out.push_str("</data></array>");
            }
        }
        out.push_str("</value></param>");
    }
    out.push_str("</params></methodCall>");
    out
}

/// What an answer says: its boolean and its string, or a fault's string.
#[derive(Debug, PartialEq)]
pub(crate) enum Answer {
    Done(bool, String),
    Fault(String),
}

pub(crate) fn parse_answer(xml: &str) -> Option<Answer> {
    let doc = roxmltree::Document::parse(xml).ok()?;
    let text = |name: &str| {
        doc.descendants()
            .find(|n| n.has_tag_name(name))
            .map(|n| n.text().unwrap_or("").trim().to_owned())
    };
    if doc.descendants().any(|n| n.has_tag_name("fault")) {
        return Some(Answer::Fault(text("string").unwrap_or_default()));
    }
    let ok = text("boolean").map(|b| b == "1" || b.eq_ignore_ascii_case("true"))?;
    Some(Answer::Done(ok, text("string").unwrap_or_default()))
}

/// `0c383e123456`, as Fanvil's file names spell a MAC.
fn mac_id(mac: Mac) -> String {
    mac.to_string().to_ascii_lowercase()
}

impl Fdps {
    pub fn new(
        url: &str,
        user: &str,
        secret: &str,
        timeout: Duration,
        ca_pem: Option<&str>,
    ) -> Self {
        Fdps {
            url: url.to_owned(),
            user: user.to_owned(),
            pass: md5hex(&md5hex(secret)),
            http: crate::tls::provider_client(ca_pem, timeout),
        }
    }

    /// Calls `method`; `Ok((true, string))` on success, the `Error: …`
    /// string of a refusal as `Ok((false, …))`.
    async fn call(
        &self,
        method: &str,
        params: &[Param<'_>],
    ) -> Result<(bool, String), ProviderError> {
        let mut resp = self
            .http
            .post(&self.url)
            .basic_auth(&self.user, Some(&self.pass))
            .header("content-type", "text/xml")
            .body(method_call(method, params))
            .send()
            .await
            .map_err(|e| crate::http::transport_error(&e, &self.url))?;
        let status = resp.status();
        let headers = std::mem::take(resp.headers_mut());
        let text = resp.text().await.unwrap_or_default();
        if status == StatusCode::UNAUTHORIZED {
            return Err(ProviderError::Permanent(
                "401 Unauthorized: FDPS rejected the account (wrong user or password)".into(),
            ));
        }
        if !status.is_success() {
            return Err(crate::http::classify(status, &headers, &text, &self.url));
        }
        match parse_answer(&text) {
            Some(Answer::Done(ok, s)) => Ok((ok, s)),
            Some(Answer::Fault(s)) => Err(ProviderError::Permanent(format!(
                "FDPS refused {method}: {s}"
            ))),
            None => Err(ProviderError::Permanent(format!(
                "FDPS's answer to {method} is not XML-RPC: {}",
                text.chars().take(120).collect::<String>()
            ))),
        }
    }

    /// A step whose "does not exist" refusal is fine (it is what the step
    /// wants to be true).
    async fn tolerant(&self, method: &str, mac: &str) -> Result<(), ProviderError> {
        let (ok, s) = self.call(method, &[Param::Str(mac)]).await?;
        if ok || s.contains("not_exist") || s.contains("not exist") {
            return Ok(());
        }
        Err(refusal(method, &s))
    }
}

/// FDPS's `Error: …` strings, in words.
fn refusal(method: &str, s: &str) -> ProviderError {
    let code = s.trim().strip_prefix("Error:").unwrap_or(s).trim();
    ProviderError::Permanent(match code {
        "device_had_existed" => {
            "MAC is owned by another account (FDPS: device_had_existed)".to_owned()
        }
        "mac_format_error" => "FDPS refused the MAC (mac_format_error)".to_owned(),
        "url_format_error" => "FDPS refused the server's address (url_format_error)".to_owned(),
        other => format!("FDPS refused {method}: {other}"),
    })
}

#[async_trait]
impl ProviderApi for Fdps {
    async fn register(&self, r: &Registration) -> Result<(), ProviderError> {
        let url = reqwest::Url::parse(&r.url).map_err(|e| {
            ProviderError::Permanent(format!("the phone's first URL {} is not a URL: {e}", r.url))
        })?;
        let host = match (url.host_str(), url.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_owned(),
            (None, _) => {
                return Err(ProviderError::Permanent(format!(
                    "the phone's first URL {} has no host",
                    r.url
                )))
            }
        };
        let protocol = if url.scheme() == "https" { "5" } else { "4" };
        let mac = mac_id(r.mac);
        self.tolerant("redirect.deleteServer", &mac).await?;
        let server = [
            format!("cfgName={mac}"),
            "cfgPfMode=1".to_owned(),
            "cfgDhcpOpt=false".to_owned(),
            "cfgPnpEnable=false".to_owned(),
            format!("cfgPfSrv={host}"),
            format!("cfgPfName={}", url.path()),
            format!("cfgPfProt={protocol}"),
        ];
        let (ok, s) = self
            .call("redirect.addMaterialServer", &[Param::List(&server)])
            .await?;
        if !ok {
            return Err(refusal("redirect.addMaterialServer", &s));
        }
        self.tolerant("redirect.deRegisterDevice", &mac).await?;
        let (ok, s) = self
            .call(
                "redirect.registerDevice",
                &[Param::Str(&mac), Param::Str(&mac)],
            )
            .await?;
        if !ok {
            return Err(refusal("redirect.registerDevice", &s));
        }
        Ok(())
    }

    async fn deregister(&self, mac: Mac) -> Result<(), ProviderError> {
        let mac = mac_id(mac);
        self.tolerant("redirect.deRegisterDevice", &mac).await?;
        self.tolerant("redirect.deleteServer", &mac).await
    }

    async fn test(&self) -> Result<String, ProviderError> {
        let (ok, s) = self.call("redirect.listServers", &[]).await?;
        if !ok {
            return Err(refusal("redirect.listServers", &s));
        }
        Ok("OK, FDPS accepts the account".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_is_md5_of_md5() {
        // md5("secret") = 5ebe2294ecd0e0f08eab7690d2a6ee69
        assert_eq!(md5hex("secret"), "5ebe2294ecd0e0f08eab7690d2a6ee69");
        assert_eq!(
            md5hex(&md5hex("secret")),
            md5hex("5ebe2294ecd0e0f08eab7690d2a6ee69")
        );
    }

    #[test]
    fn calls_and_answers_are_xml_rpc() {
        let c = method_call(
            "redirect.registerDevice",
            &[Param::Str("0c383e000001"), Param::Str("a<b")],
        );
        let doc = roxmltree::Document::parse(&c).unwrap();
        let strings: Vec<&str> = doc
            .descendants()
            .filter(|n| n.has_tag_name("string"))
            .filter_map(|n| n.text())
            .collect();
        assert_eq!(strings, ["0c383e000001", "a<b"]);
        let ok = "<?xml version=\"1.0\"?><methodResponse><params><param><value><array><data><value><boolean>1</boolean></value><value><string>ok</string></value></data></array></value></param></params></methodResponse>";
        assert_eq!(parse_answer(ok), Some(Answer::Done(true, "ok".into())));
        let no = ok
            .replace("<boolean>1", "<boolean>0")
            .replace(">ok<", ">Error: device_had_existed<");
        assert_eq!(
            parse_answer(&no),
            Some(Answer::Done(false, "Error: device_had_existed".into()))
        );
        let fault = "<methodResponse><fault><value><struct><member><name>faultString</name><value><string>no such method</string></value></member></struct></value></fault></methodResponse>";
        assert_eq!(
            parse_answer(fault),
            Some(Answer::Fault("no such method".into()))
        );
        assert_eq!(parse_answer("not xml"), None);
        assert_eq!(
            refusal("x", "Error: device_had_existed").to_string(),
            "MAC is owned by another account (FDPS: device_had_existed)"
        );
    }
}
