//! The CLI subcommands that mirror the admin API, one file per command group;
//! here the flag parsing and table printing they share.

mod device;
mod provider;
mod redirect;
mod tenant;

pub use device::{device, DeviceCmd};
pub use provider::{events, provider, EventsCmd, ProviderCmd};
pub use redirect::{redirect, RedirectCmd};
pub use tenant::{tenant, TenantCmd};

use serde_json::{json, Value};

/// A repeatable flag as a JSON list; absent when the flag was not given.
pub(crate) fn list_flag(
    items: &[String],
    parse: fn(&str) -> anyhow::Result<Value>,
) -> anyhow::Result<Option<Value>> {
    if items.is_empty() {
        return Ok(None);
    }
    Ok(Some(Value::Array(
        items
            .iter()
            .map(|i| parse(i))
            .collect::<anyhow::Result<_>>()?,
    )))
}

/// `--setting` (replace with these) or `--clear-settings` (replace with none).
pub(crate) fn settings_flag(items: &[String], clear: bool) -> anyhow::Result<Option<Value>> {
    if clear {
        return Ok(Some(Value::Array(Vec::new())));
    }
    list_flag(items, parse_setting)
}

/// `language=Deutsch`, `user_idle_text[1]=Hi`, `fkey[0]=blf sip:402@pbx`.
pub(crate) fn parse_setting(s: &str) -> anyhow::Result<Value> {
    let (key, value) = s.split_once('=').ok_or_else(|| {
        anyhow::anyhow!("setting {s:?} must look like NAME=VALUE or NAME[IDX]=VALUE")
    })?;
    let (name, idx) = match key.split_once('[') {
        Some((n, rest)) => {
            let idx: u32 = rest
                .strip_suffix(']')
                .and_then(|i| i.parse().ok())
                .ok_or_else(|| {
                    anyhow::anyhow!("setting {s:?}: the index must be a number in [ ]")
                })?;
            (n, Some(idx))
        }
        None => (key, None),
    };
    Ok(json!({ "name": name, "idx": idx, "value": value }))
}

pub(crate) fn parse_line(s: &str) -> anyhow::Result<Value> {
    let mut parts = s.splitn(3, ':');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(ext), Some(pass), name) if !ext.is_empty() && !pass.is_empty() => Ok(json!({
            "extension": ext, "sip_password": pass, "display_name": name.unwrap_or(""),
        })),
        _ => anyhow::bail!("line {s:?} must look like EXTENSION:PASSWORD[:DISPLAY NAME]"),
    }
}

pub(crate) fn s(v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => "-".into(),
        Some(other) => other.to_string(),
    }
}

/// Prints a JSON array as a table, one row per element.
pub(crate) fn table_of(list: &Value, headers: &[&str], row: impl Fn(&Value) -> Vec<String>) {
    table(
        headers,
        list.as_array().into_iter().flatten().map(row).collect(),
    );
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

pub(crate) fn print_json(v: &Value) -> anyhow::Result<()> {
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

pub(crate) fn print_settings(v: &Value) {
    let settings = v["settings"].as_array().cloned().unwrap_or_default();
    if settings.is_empty() {
        return;
    }
    println!("settings:");
    for st in settings {
        let idx = st
            .get("idx")
            .and_then(Value::as_u64)
            .map(|i| format!("[{i}]"))
            .unwrap_or_default();
        println!(
            "  {}{idx} = {} (perm {})",
            s(&st, "name"),
            s(&st, "value"),
            s(&st, "perm")
        );
    }
}

pub(crate) fn extension(d: &Value) -> String {
    d["lines"]
        .as_array()
        .and_then(|l| l.first())
        .map(|l| s(l, "extension"))
        .unwrap_or_else(|| "-".into())
}
