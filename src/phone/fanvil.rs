//! The simulated Fanvil phone's side: `<sysConf>` XML, whose
//! `ap.FlashServerIP` and `ap.FlashFileName` name its next file and
//! `ap.DefaultUsername`/`ap.DefaultPassword` its pair (docs/vendors/fanvil.md).

use std::collections::HashMap;

pub(super) struct Fanvil;

pub(super) static SIM: Fanvil = Fanvil;

impl super::Simulated for Fanvil {
    fn vendor(&self) -> &'static str {
        "fanvil"
    }

    fn firmware_hint(
        &self,
        _body: &str,
        settings: &[(String, String)],
    ) -> Option<super::firmware::Hint> {
        let (_, url) = settings
            .iter()
            .find(|(k, _)| k == "AUTOUPDATE_CONFIG_MODULE.Auto_Image_URL")?;
        Some(super::firmware::Hint::Image {
            url: url.clone(),
            version: None,
        })
    }

    fn parse_settings(&self, body: &str) -> Vec<(String, String)> {
        let Ok(doc) = roxmltree::Document::parse(body) else {
            return Vec::new();
        };
        let root = doc.root_element();
        let mut out = Vec::new();
        let (mut server, mut file) = (None, None);
        for n in root.descendants().filter(|n| n.is_element() && *n != root) {
            if n.children().any(|c| c.is_element()) {
                continue;
            }
            // The leaf's path is its name; an `index` on the way is its index.
            let mut path = vec![n.tag_name().name()];
            let mut idx = n.attribute("index");
            let mut up = n.parent_element();
            while let Some(p) = up.filter(|p| *p != root) {
                idx = idx.or(p.attribute("index"));
                path.push(p.tag_name().name());
                up = p.parent_element();
            }
            path.reverse();
            let name = path.join(".");
            let value = n.text().unwrap_or("").to_owned();
            let key = match (name.as_str(), idx) {
                ("ap.FlashServerIP", _) => {
                    server = Some(value.clone());
                    continue;
                }
                ("ap.FlashFileName", _) => {
                    file = Some(value.clone());
                    continue;
                }
                ("ap.DefaultUsername", _) => "http_client_user".to_owned(),
                ("ap.DefaultPassword", _) => "http_client_pass".to_owned(),
                (_, Some(i)) => format!("{name}[{i}]"),
                (_, None) => name,
            };
            out.push((key, value));
        }
        if let (Some(s), Some(f)) = (server, file) {
            out.insert(
                0,
                (
                    "setting_server".into(),
                    format!("{}/{}", s.trim_end_matches('/'), f),
                ),
            );
        }
        out
    }

    fn identity(&self, s: &HashMap<String, String>) -> Option<String> {
        Some(format!(
            "{}@{}",
            s.get("sip.line.PhoneNumber[1]")?,
            s.get("sip.line.RegisterAddr[1]")?
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::super::Simulated as _;
    use super::*;

    #[test]
    fn reads_the_server_the_pair_and_the_lines() {
        let body = r#"<?xml version="1.0"?><sysConf><Version>2</Version><ap><FlashServerIP>http://pbx:8080</FlashServerIP><FlashFileName>prov/0c383e000001.cfg</FlashFileName><DefaultUsername>u</DefaultUsername><DefaultPassword>p&amp;q</DefaultPassword></ap><sip><line index="1"><PhoneNumber>401</PhoneNumber></line></sip></sysConf>"#;
        assert_eq!(
            SIM.parse_settings(body),
            vec![
                (
                    "setting_server".into(),
                    "http://pbx:8080/prov/0c383e000001.cfg".into()
                ),
                ("Version".into(), "2".into()),
                ("http_client_user".into(), "u".into()),
                ("http_client_pass".into(), "p&q".into()),
                ("sip.line.PhoneNumber[1]".into(), "401".into()),
            ]
        );
    }
}
