//! The simulated Gigaset phone's side: a base's `<param name= value=/>`
//! XML, whose `Provisioning.global.ProvisioningServer` names its folder, pair
//! included; a P-series desk phone's files are its platform's
//! (docs/vendors/gigaset.md).

use std::collections::HashMap;

use super::snom::firmware_hint as platform_firmware;
use super::snom::parse_settings as platform_settings;

pub(super) struct Gigaset;

pub(super) static SIM: Gigaset = Gigaset;

impl super::Simulated for Gigaset {
    fn vendor(&self) -> &'static str {
        "gigaset"
    }

    /// A base's file carries `<firmware><file version url/>`; a desk
    /// phone's are its platform's.
    fn firmware_hint(
        &self,
        body: &str,
        settings: &[(String, String)],
    ) -> Option<super::firmware::Hint> {
        let doc = roxmltree::Document::parse(body).ok();
        match doc {
            Some(d) if d.root_element().has_tag_name("provisioning") => {
                let f = d.descendants().find(|n| n.has_tag_name("file"))?;
                Some(super::firmware::Hint::Image {
                    url: f.attribute("url")?.to_owned(),
                    version: f.attribute("version").map(str::to_owned),
                })
            }
            _ => platform_firmware(body, settings),
        }
    }

    fn parse_settings(&self, body: &str) -> Vec<(String, String)> {
        let Ok(doc) = roxmltree::Document::parse(body) else {
            return platform_settings(body);
        };
        if doc.root_element().tag_name().name() != "provisioning" {
            return platform_settings(body);
        }
        doc.descendants()
            .filter(|n| n.has_tag_name("param"))
            .filter_map(|n| {
                let name = match n.attribute("name")? {
                    "Provisioning.global.ProvisioningServer" => "setting_server",
                    other => other,
                };
                Some((name.to_owned(), n.attribute("value")?.to_owned()))
            })
            .collect()
    }

    fn identity(&self, s: &HashMap<String, String>) -> Option<String> {
        let base = s
            .get("SipAccount.00001.UserName")
            .zip(s.get("SipProvider.0.RegServerAddress"));
        let desk = || s.get("user_name[1]").zip(s.get("user_host[1]"));
        base.or_else(desk).map(|(u, h)| format!("{u}@{h}"))
    }
}

#[cfg(test)]
mod tests {
    use super::super::Simulated as _;
    use super::*;

    #[test]
    fn reads_the_folder_and_the_accounts() {
        let body = r#"<?xml version="1.0"?><provisioning><nvm><param name="Provisioning.global.ProvisioningServer" value="http://pbx/prov/u/p/"/><param name="SipAccount.00001.UserName" value="401"/></nvm></provisioning>"#;
        assert_eq!(
            SIM.parse_settings(body),
            vec![
                ("setting_server".into(), "http://pbx/prov/u/p/".into()),
                ("SipAccount.00001.UserName".into(), "401".into()),
            ]
        );
    }
}
