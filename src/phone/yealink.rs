//! The simulated Yealink phone's side: `key = value` files, whose
//! `static.auto_provision.server.*` keys name its server and pair
//! (docs/vendors/yealink.md).

use std::collections::HashMap;

pub(super) struct Yealink;

pub(super) static SIM: Yealink = Yealink;

impl super::Simulated for Yealink {
    fn vendor(&self) -> &'static str {
        "yealink"
    }

    fn parse_settings(&self, body: &str) -> Vec<(String, String)> {
        body.lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .filter_map(|l| {
                let (k, v) = l.split_once('=')?;
                let k = match k.trim() {
                    "static.auto_provision.server.url" | "auto_provision.server.url" => {
                        "setting_server"
                    }
                    "static.auto_provision.server.username" => "http_client_user",
                    "static.auto_provision.server.password" => "http_client_pass",
                    k => k,
                };
                Some((k.to_owned(), v.trim().to_owned()))
            })
            .collect()
    }

    fn firmware_hint(
        &self,
        _body: &str,
        settings: &[(String, String)],
    ) -> Option<super::firmware::Hint> {
        let (_, url) = settings.iter().find(|(k, _)| k == "static.firmware.url")?;
        Some(super::firmware::Hint::Image {
            url: url.clone(),
            version: None,
        })
    }

    fn identity(&self, s: &HashMap<String, String>) -> Option<String> {
        Some(format!(
            "{}@{}",
            s.get("account.1.user_name")?,
            s.get("account.1.sip_server.1.address")?
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::super::Simulated as _;
    use super::*;

    #[test]
    fn reads_the_server_and_the_pair() {
        let body = "#!version:1.0.0.1\n## comment\nstatic.auto_provision.server.url = http://pbx/prov/\nstatic.auto_provision.server.username = u\nstatic.auto_provision.server.password = p = q\naccount.1.user_name = 401\n";
        assert_eq!(
            SIM.parse_settings(body),
            vec![
                ("setting_server".into(), "http://pbx/prov/".into()),
                ("http_client_user".into(), "u".into()),
                ("http_client_pass".into(), "p = q".into()),
                ("account.1.user_name".into(), "401".into()),
            ]
        );
    }
}
