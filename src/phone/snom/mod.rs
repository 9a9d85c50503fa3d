//! The simulated Snom phone's side: Snom's XML settings and the legacy text
//! format (reference §4.2), which already name the server and the pair
//! `setting_server`, `http_client_user` and `http_client_pass`.

use std::collections::HashMap;

use super::firmware::Hint;

pub(super) struct Snom;

pub(super) static SIM: Snom = Snom;

impl super::Simulated for Snom {
    fn vendor(&self) -> &'static str {
        "snom"
    }

    fn parse_settings(&self, body: &str) -> Vec<(String, String)> {
        parse_settings(body)
    }

    fn identity(&self, s: &HashMap<String, String>) -> Option<String> {
        Some(format!(
            "{}@{}",
            s.get("user_name[1]")?,
            s.get("user_host[1]")?
        ))
    }

    fn firmware_hint(&self, body: &str, settings: &[(String, String)]) -> Option<Hint> {
        firmware_hint(body, settings)
    }
}

/// `firmware_status` names the file that names the image (reference §4.1):
/// `<firmware-settings><firmware>URL</firmware>`; no `<firmware>` in it,
/// nothing to install.
pub(super) fn firmware_hint(body: &str, settings: &[(String, String)]) -> Option<Hint> {
    if let Ok(doc) = roxmltree::Document::parse(body.trim_start()) {
        if doc.root_element().has_tag_name("firmware-settings") {
            let url = doc
                .descendants()
                .find(|n| n.has_tag_name("firmware"))?
                .text()?
                .trim()
                .to_owned();
            return Some(Hint::Image { url, version: None });
        }
    }
    settings
        .iter()
        .find(|(k, v)| k == "firmware_status" && !v.is_empty())
        .map(|(_, v)| Hint::Pointer(v.clone()))
}

/// Settings from a Snom XML document or the legacy text format, as
/// `name` or `name[idx]` → value.
pub(super) fn parse_settings(body: &str) -> Vec<(String, String)> {
    let t = body.trim_start();
    if t.starts_with("<?xml") || t.starts_with("<settings") {
        let Ok(doc) = roxmltree::Document::parse(t) else {
            return Vec::new();
        };
        return doc
            .descendants()
            .filter(|n| {
                n.is_element() && n.parent().is_some_and(|p| p.has_tag_name("phone-settings"))
            })
            .map(|n| {
                let name = n.tag_name().name();
                let key = match n.attribute("idx") {
                    Some(i) => format!("{name}[{i}]"),
                    None => name.to_owned(),
                };
                (key, n.text().unwrap_or("").to_owned())
            })
            .collect();
    }
    // Legacy: `name[flag]: value`, lines starting with `#` or `<` are comments,
    // an index is a numeric suffix (`user_host1`).
    body.lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with('<'))
        .filter_map(|l| {
            let (k, v) = l.split_once(':')?;
            let k = k.trim().trim_end_matches(['$', '!', '&']);
            if k.is_empty() || !k.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_') {
                return None;
            }
            let digits = k.len() - k.trim_end_matches(|c: char| c.is_ascii_digit()).len();
            let key = if digits > 0 && k.starts_with("user_") {
                format!("{}[{}]", &k[..k.len() - digits], &k[k.len() - digits..])
            } else {
                k.to_owned()
            };
            Some((key, v.trim().to_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests;
