//! The settings and product groups the redirection service can manage.
//!
//! Uuids are derived from the names (SHA-256, 32 hex), so they are the same on
//! every installation and every node, and a client's cached uuid stays valid.
//! Unlike the vendor's own SRAPS, `setting_server` exists once (section `phone-settings`):
//! the duplicate in section `global` is the quirk that made clients pick the
//! wrong setting (reference §1.4, §7).

use std::sync::OnceLock;

use serde::Serialize;
use sha2::{Digest as _, Sha256};

pub fn uuid_for(kind: &str, name: &str) -> String {
    let d = Sha256::digest(format!("touchless:{kind}:{name}").as_bytes());
    d[..16].iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(Clone, Debug, Serialize)]
pub struct ProductGroup {
    pub uuid: String,
    pub name: &'static str,
}

#[derive(Clone, Debug)]
pub struct SettingDef {
    pub uuid: String,
    pub param_name: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub section: &'static str,
    pub field_type: &'static str,
    /// Per-identity settings (`user_name idx="1"`).
    pub indexed: bool,
}

const GROUPS: &[&str] = &["C-Series", "D-Series", "M-Series", "MSC-Series"];

/// `(param_name, label, field_type, indexed, description)`, all in `phone-settings`.
const SETTINGS: &[(&str, &str, &str, bool, &str)] = &[
    (
        "setting_server",
        "Setting Server",
        "text",
        false,
        "URL of the provisioning server the phone is sent to",
    ),
    (
        "http_client_user",
        "HTTP Client User",
        "text",
        false,
        "User name the phone sends to the provisioning server",
    ),
    (
        "http_client_pass",
        "HTTP Client Password",
        "text",
        false,
        "Password the phone sends to the provisioning server",
    ),
    (
        "update_policy",
        "Update Policy",
        "choice",
        false,
        "auto_update, ask_for_update, settings_only or never_update",
    ),
    (
        "firmware_status",
        "Firmware Status URL",
        "url",
        false,
        "URL of the firmware-settings file",
    ),
    (
        "firmware_interval",
        "Firmware Interval",
        "integer",
        false,
        "Minutes between firmware checks",
    ),
    (
        "provisioning_order",
        "Provisioning Order",
        "text",
        false,
        "e.g. redirection:stop pnp:stop dhcp:stop tr69:stop",
    ),
    ("pnp_config", "Plug and Play", "choice", false, "on or off"),
    ("dhcp", "DHCP", "choice", false, "on or off"),
    ("ntp_server", "NTP Server", "text", false, "Time server"),
    ("timezone", "Time Zone", "text", false, "e.g. GER+1"),
    ("language", "Language", "text", false, "Phone UI language"),
    (
        "web_language",
        "Web Language",
        "text",
        false,
        "Web UI language",
    ),
    ("http_user", "Web User", "text", false, "Web interface user"),
    (
        "http_pass",
        "Web Password",
        "text",
        false,
        "Web interface password",
    ),
    (
        "admin_mode_password",
        "Admin Mode Password",
        "text",
        false,
        "Administrator mode password",
    ),
    (
        "user_active",
        "Identity Active",
        "choice",
        true,
        "on or off",
    ),
    (
        "user_realname",
        "Display Name",
        "text",
        true,
        "Name shown for the identity",
    ),
    ("user_name", "Account", "text", true, "SIP user (extension)"),
    (
        "user_pname",
        "Authentication User",
        "text",
        true,
        "SIP authentication user",
    ),
    ("user_pass", "Password", "text", true, "SIP password"),
    (
        "user_host",
        "Registrar",
        "text",
        true,
        "SIP registrar host[:port]",
    ),
    (
        "user_outbound",
        "Outbound Proxy",
        "text",
        true,
        "SIP outbound proxy",
    ),
    ("user_mailbox", "Mailbox", "text", true, "Voicemail number"),
    (
        "user_idle_text",
        "Idle Text",
        "text",
        true,
        "Text shown in idle screen",
    ),
    (
        "auto_reboot_on_setting_change",
        "Reboot on Setting Change",
        "choice",
        false,
        "on or off",
    ),
];

pub struct Catalogue {
    pub groups: Vec<ProductGroup>,
    pub settings: Vec<SettingDef>,
}

impl Catalogue {
    pub fn get() -> &'static Catalogue {
        static C: OnceLock<Catalogue> = OnceLock::new();
        C.get_or_init(|| Catalogue {
            groups: GROUPS
                .iter()
                .map(|g| ProductGroup {
                    uuid: uuid_for("product-group", g),
                    name: g,
                })
                .collect(),
            settings: SETTINGS
                .iter()
                .map(|(p, n, t, i, d)| SettingDef {
                    uuid: uuid_for("setting", &format!("phone-settings/{p}")),
                    param_name: p,
                    name: n,
                    description: d,
                    section: "phone-settings",
                    field_type: t,
                    indexed: *i,
                })
                .collect(),
        })
    }

    pub fn setting(&self, uuid: &str) -> Option<&SettingDef> {
        self.settings.iter().find(|s| s.uuid == uuid)
    }

    pub fn by_param(&self, param: &str) -> Option<&SettingDef> {
        self.settings.iter().find(|s| s.param_name == param)
    }

    pub fn group(&self, uuid: &str) -> Option<&ProductGroup> {
        self.groups.iter().find(|g| g.uuid == uuid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PINNED_SETTING_SERVER: &str = "2324c63cca8b81ea0ac2e2d3a3a986f3";

    #[test]
    fn uuids_are_stable_unique_and_32_hex() {
        let c = Catalogue::get();
        assert!(
            c.settings.len() > 20,
            "more than one page at the default page size"
        );
        let mut seen = std::collections::HashSet::new();
        for s in &c.settings {
            assert_eq!(s.uuid.len(), 32);
            assert!(s
                .uuid
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
            assert!(seen.insert(s.uuid.clone()));
        }
        // Pinned: PBXes store these uuids, so they must never change.
        assert_eq!(
            c.by_param("setting_server").unwrap().uuid,
            PINNED_SETTING_SERVER
        );
        assert_eq!(
            c.settings
                .iter()
                .filter(|s| s.param_name == "setting_server")
                .count(),
            1
        );
    }
}
