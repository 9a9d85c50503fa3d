//! The CLI subcommands that mirror the admin API, one file per command group;
//! here the flag parsing and table printing they share.

mod device;
mod firmware;
mod provider;
mod redirect;
mod tenant;
mod user;

pub use device::{device, DeviceCmd};
pub use firmware::{firmware, FirmwareCmd};
pub use provider::{events, provider, EventsCmd, ProviderCmd};
pub use redirect::{redirect, RedirectCmd};
pub use tenant::{tenant, TenantCmd};
pub use user::{user, UserCmd};

use chrono::{DateTime, SecondsFormat, Utc};
use touchless_api::devices::LineIn;
use touchless_api::tenants::SettingIn;
use touchless_domain::{DisplayText, Setting, SipPassword, SipUser};

/// A repeatable flag, each parsed; absent when the flag was not given.
pub(crate) fn list_flag<T>(
    items: &[String],
    parse: fn(&str) -> anyhow::Result<T>,
) -> anyhow::Result<Option<Vec<T>>> {
    if items.is_empty() {
        return Ok(None);
    }
    items
        .iter()
        .map(|i| parse(i))
        .collect::<anyhow::Result<_>>()
        .map(Some)
}

/// `--setting` (replace with these) or `--clear-settings` (replace with none).
pub(crate) fn settings_flag(
    items: &[String],
    clear: bool,
) -> anyhow::Result<Option<Vec<SettingIn>>> {
    if clear {
        return Ok(Some(Vec::new()));
    }
    list_flag(items, parse_setting)
}

/// `language=Deutsch`, `user_idle_text[1]=Hi`, `fkey[0]=blf sip:402@pbx`:
/// as the CSV's `settings` cell and the console's forms read it.
pub(crate) fn parse_setting(s: &str) -> anyhow::Result<SettingIn> {
    touchless_api::csv::setting(s).map_err(|e| anyhow::anyhow!("setting {s:?}: {e}"))
}

/// `EXTENSION:PASSWORD[:DISPLAY NAME]`.
pub(crate) fn parse_line(s: &str) -> anyhow::Result<LineIn> {
    let mut parts = s.splitn(3, ':');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(ext), Some(pass), name) if !ext.is_empty() && !pass.is_empty() => {
            let line = || -> Result<LineIn, touchless_domain::Error> {
                Ok(LineIn {
                    idx: None,
                    extension: SipUser::parse(ext)?,
                    auth_user: None,
                    sip_password: SipPassword::parse(pass)?,
                    display_name: Some(DisplayText::parse(name.unwrap_or(""))?),
                })
            };
            line().map_err(|e| anyhow::anyhow!("line {s:?}: {e}"))
        }
        _ => anyhow::bail!("line {s:?} must look like EXTENSION:PASSWORD[:DISPLAY NAME]"),
    }
}

/// A value for a table cell; `-` when there is none.
pub(crate) fn dash(v: Option<impl std::fmt::Display>) -> String {
    v.map_or_else(|| "-".into(), |v| v.to_string())
}

/// A time as people read it in a table: to the second, in UTC.
pub(crate) fn when(t: Option<DateTime<Utc>>) -> String {
    dash(t.map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true)))
}

/// Prints rows as aligned columns.
pub(crate) fn table(headers: &[&str], rows: Vec<Vec<String>>) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let mut out = String::new();
        for (i, (c, w)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == cells.len() {
                out.push_str(c);
            } else {
                out.push_str(&format!("{c:<w$}  "));
            }
        }
        println!("{}", out.trim_end());
    };
    line(headers.iter().map(|h| h.to_string()).collect());
    for r in rows {
        line(r);
    }
}

pub(crate) fn print_json(v: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

pub(crate) fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub(crate) fn print_settings(settings: &[Setting]) {
    if settings.is_empty() {
        return;
    }
    println!("settings:");
    for st in settings {
        let idx = st.idx.map(|i| format!("[{i}]")).unwrap_or_default();
        println!("  {}{idx} = {} (perm {})", st.name, st.value, st.perm);
    }
}
