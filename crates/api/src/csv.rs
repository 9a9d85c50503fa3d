//! Devices as CSV, the one definition of the format that the admin API
//! (`POST /devices/import`, `GET /devices/export`), the console's upload
//! and forms, and the CLI share: reading it (every row checked, every
//! problem named) and the `NAME[IDX]=VALUE` and `EXT:PASSWORD[:DISPLAY]`
//! items its cells, the forms and the CLI's flags are written in.
//!
//! Columns: `mac, model, tenant` (required), `name, lines, settings`
//! (optional), in any order. `lines` is `EXT:PASSWORD[:DISPLAY]` items
//! separated by `|`; `settings` is `NAME[IDX]=VALUE` items separated by `|`.

use touchless_domain::{
    DisplayText, Mac, SerialNumber, SettingName, SipPassword, SipUser, TenantId,
};
use touchless_phones::{PhoneModel, Vendor};

use crate::devices as api;
use crate::tenants::SettingIn;
use crate::wire::SettingText;

/// Columns the format knows. `vendor` is optional on import (checked
/// against the model's) and always written on export; `serial` is what some
/// clouds register a phone by.
pub const COLUMNS: [&str; 8] = [
    "mac", "model", "tenant", "name", "lines", "settings", "vendor", "serial",
];
pub const REQUIRED: [&str; 3] = ["mac", "model", "tenant"];
/// Problems reported at most: enough to fix a file, bounded for a bad one.
pub const MAX_PROBLEMS: usize = 1000;

pub fn lines(cell: &str) -> Result<Vec<api::LineIn>, String> {
    cell.split('|')
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|item| {
            let mut parts = item.splitn(3, ':');
            let ext = parts.next().unwrap_or("");
            let pass = parts
                .next()
                .ok_or_else(|| format!("{item:?}: write EXT:PASSWORD or EXT:PASSWORD:DISPLAY"))?;
            Ok(api::LineIn {
                idx: None,
                extension: SipUser::parse(ext).map_err(|e| format!("{item:?}: {e}"))?,
                auth_user: None,
                sip_password: SipPassword::parse(pass).map_err(|e| format!("{item:?}: {e}"))?,
                display_name: parts
                    .next()
                    .map(DisplayText::parse)
                    .transpose()
                    .map_err(|e| format!("{item:?}: {e}"))?,
            })
        })
        .collect()
}

pub fn settings(cell: &str) -> Result<Vec<SettingIn>, String> {
    cell.split('|')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|item| setting(item).map_err(|e| format!("{item:?}: {e}")))
        .collect()
}

/// One setting written `NAME=VALUE` or `NAME[IDX]=VALUE` (as the CSV's
/// `settings` cell, the tenant and device forms write them), or why not.
pub fn setting(item: &str) -> Result<SettingIn, String> {
    let (key, value) = item
        .split_once('=')
        .ok_or("write NAME=VALUE or NAME[IDX]=VALUE")?;
    let (name, idx) = match key.trim().split_once('[') {
        Some((n, rest)) => {
            let idx = rest
                .strip_suffix(']')
                .and_then(|i| i.parse().ok())
                .ok_or("the index in [ ] must be a number")?;
            (n, Some(idx))
        }
        None => (key.trim(), None),
    };
    Ok(SettingIn {
        name: SettingName::parse(name).map_err(|e| e.to_string())?,
        idx,
        value: SettingText(value.to_owned()),
        perm: None,
    })
}

/// A setting as [`setting`] reads it.
pub fn setting_text(s: &touchless_domain::Setting) -> String {
    match s.idx {
        Some(i) => format!("{}[{i}]={}", s.name, s.value),
        None => format!("{}={}", s.name, s.value),
    }
}

/// Settings one per line, as the tenant and device forms show them; a bad
/// one is named by its line.
pub fn settings_of_lines(text: &str) -> Result<Vec<SettingIn>, String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .enumerate()
        .map(|(i, line)| setting(line).map_err(|e| format!("Settings, line {}: {e}", i + 1)))
        .collect()
}

/// The rows of a file as devices to create, or every problem found.
pub fn parse(csv_text: &[u8]) -> Result<Vec<(usize, api::NewDevice)>, Vec<api::ImportProblem>> {
    let problem = |row: usize, column: &str, reason: String| api::ImportProblem {
        row,
        column: column.to_owned(),
        reason,
    };
    let mut rd = ::csv::ReaderBuilder::new()
        .trim(::csv::Trim::All)
        .flexible(false)
        .from_reader(csv_text);
    let headers: Vec<String> = match rd.headers() {
        Ok(h) => h.iter().map(|c| c.to_ascii_lowercase()).collect(),
        Err(e) => return Err(vec![problem(1, "", format!("not a CSV file: {e}"))]),
    };
    let mut problems = Vec::new();
    for h in &headers {
        if !COLUMNS.contains(&h.as_str()) {
            problems.push(problem(
                1,
                h,
                format!("unknown column; the columns are {}", COLUMNS.join(", ")),
            ));
        }
    }
    for r in REQUIRED {
        if !headers.iter().any(|h| h == r) {
            problems.push(problem(1, r, "this column is required".into()));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let col = |name: &str| headers.iter().position(|h| h == name);
    let mut out = Vec::new();
    for (i, record) in rd.records().enumerate() {
        let row = i + 2;
        if problems.len() >= MAX_PROBLEMS {
            break;
        }
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                problems.push(problem(row, "", format!("unreadable row: {e}")));
                continue;
            }
        };
        let cell = |name: &str| col(name).and_then(|i| record.get(i)).unwrap_or("");
        let before = problems.len();
        let mut check = |column: &str, r: Result<(), String>| {
            if let Err(reason) = r {
                problems.push(problem(row, column, reason));
            }
        };
        let mac = Mac::parse(cell("mac")).map_err(|e| e.to_string());
        let model = PhoneModel::parse(cell("model")).map_err(|e| e.to_string());
        let tenant = TenantId::parse(cell("tenant")).map_err(|e| e.to_string());
        let name = match cell("name") {
            "" => Ok(None),
            n => DisplayText::parse(n).map(Some).map_err(|e| e.to_string()),
        };
        let ls = lines(cell("lines"));
        let ss = settings(cell("settings"));
        let serial = match cell("serial") {
            "" => Ok(None),
            s => SerialNumber::parse(s).map(Some).map_err(|e| e.to_string()),
        };
        let vendor = match (cell("vendor"), &model) {
            ("", _) => Ok(None),
            (v, model) => Vendor::parse(v)
                .and_then(|v| match model {
                    Ok(m) => v.check(*m).map(|_| Some(v)),
                    // The model's own problem is reported in its column.
                    Err(_) => Ok(Some(v)),
                })
                .map_err(|e| e.to_string()),
        };
        check("vendor", vendor.as_ref().map(|_| ()).map_err(Clone::clone));
        check("mac", mac.as_ref().map(|_| ()).map_err(Clone::clone));
        check("model", model.as_ref().map(|_| ()).map_err(Clone::clone));
        check("tenant", tenant.as_ref().map(|_| ()).map_err(Clone::clone));
        check("name", name.as_ref().map(|_| ()).map_err(Clone::clone));
        check("lines", ls.as_ref().map(|_| ()).map_err(Clone::clone));
        check("settings", ss.as_ref().map(|_| ()).map_err(Clone::clone));
        check("serial", serial.as_ref().map(|_| ()).map_err(Clone::clone));
        if problems.len() > before {
            continue;
        }
        if let (Ok(mac), Ok(model), Ok(tenant), Ok(name), Ok(ls), Ok(ss), Ok(vendor), Ok(serial)) =
            (mac, model, tenant, name, ls, ss, vendor, serial)
        {
            out.push((
                row,
                api::NewDevice {
                    mac,
                    model,
                    vendor,
                    tenant,
                    name,
                    serial,
                    lines: Some(ls),
                    settings: Some(ss),
                },
            ));
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}
