//! The simulated Poly phone's side: it asks for `{mac}.cfg`, falls back to
//! the master `000000000000.cfg` and fetches the files its `CONFIG_FILES`
//! names (`[PHONE_MAC_ADDRESS]-user.cfg` from touchless); their
//! `<polycomConfig name="value"/>` attributes name its server and pair
//! (`device.prov.*`). Once provisioned it uploads its log with `PUT`, as the
//! phones do (docs/vendors/poly.md).

use std::collections::HashMap;

use touchless_domain::Mac;
use touchless_phones::PhoneModel;

pub(super) struct Poly;

pub(super) static SIM: Poly = Poly;

fn lower(mac: Mac) -> String {
    mac.to_string().to_ascii_lowercase()
}

impl super::Simulated for Poly {
    fn vendor(&self) -> &'static str {
        "poly"
    }

    /// A master file's `APP_FILE_PATH`, when it is a URL (the shared
    /// master's `sip.ld` names no image of touchless's).
    fn firmware_hint(
        &self,
        body: &str,
        _settings: &[(String, String)],
    ) -> Option<super::firmware::Hint> {
        let doc = roxmltree::Document::parse(body).ok()?;
        let root = doc.root_element();
        if !root.has_tag_name("APPLICATION") {
            return None;
        }
        let url = root
            .attribute("APP_FILE_PATH")
            .filter(|u| u.contains("://"))?;
        Some(super::firmware::Hint::Image {
            url: url.to_owned(),
            version: None,
        })
    }

    fn parse_settings(&self, body: &str) -> Vec<(String, String)> {
        let Ok(doc) = roxmltree::Document::parse(body) else {
            return Vec::new();
        };
        let root = doc.root_element();
        if root.tag_name().name() != "polycomConfig" {
            return Vec::new();
        }
        root.attributes()
            .map(|a| {
                let name = match a.name() {
                    "device.prov.serverName" => "setting_server",
                    "device.prov.user" => "http_client_user",
                    "device.prov.password" => "http_client_pass",
                    n => n,
                };
                (name.to_owned(), a.value().to_owned())
            })
            .collect()
    }

    fn identity(&self, s: &HashMap<String, String>) -> Option<String> {
        Some(format!(
            "{}@{}",
            s.get("reg.1.address")?,
            s.get("reg.1.server.1.address")?
        ))
    }

    /// Its own master (a 404 from touchless), the shared master, then what
    /// the master names; the simulator takes touchless's `CONFIG_FILES`
    /// as it is (`[PHONE_MAC_ADDRESS]-user.cfg`).
    fn folder_files(&self, _model: PhoneModel, mac: Mac) -> Vec<(String, bool)> {
        vec![
            (format!("{}.cfg", lower(mac)), true),
            ("000000000000.cfg".to_owned(), false),
            (format!("{}-user.cfg", lower(mac)), false),
        ]
    }

    fn uploads(&self, mac: Mac) -> Vec<(String, Vec<u8>)> {
        vec![(
            format!("{}-app.log", lower(mac)),
            b"0101000000|cfg  |4|00|Prm|Parameter device.set changed (simulated boot)\n".to_vec(),
        )]
    }
}

#[cfg(test)]
mod tests {
    use super::super::Simulated as _;
    use super::*;

    #[test]
    fn reads_the_server_and_the_pair() {
        let body = r#"<?xml version="1.0"?><polycomConfig device.set="1" device.prov.serverName="http://pbx/prov/" device.prov.user="u" device.prov.password="p&amp;q" reg.1.address="401"/>"#;
        assert_eq!(
            SIM.parse_settings(body),
            vec![
                ("device.set".into(), "1".into()),
                ("setting_server".into(), "http://pbx/prov/".into()),
                ("http_client_user".into(), "u".into()),
                ("http_client_pass".into(), "p&q".into()),
                ("reg.1.address".into(), "401".into()),
            ]
        );
        assert!(SIM
            .parse_settings("<APPLICATION CONFIG_FILES=\"x\"/>")
            .is_empty());
    }
}
