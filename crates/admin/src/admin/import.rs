//! Devices in and out as CSV, the one definition of the format that the
//! API (`POST /devices/import`, `GET /devices/export`), the console's upload
//! and the CLI share.
//!
//! Columns: `mac, model, tenant` (required), `name, lines, settings`
//! (optional), in any order. `lines` is `EXT:PASSWORD[:DISPLAY]` items
//! separated by `|`; `settings` is `NAME[IDX]=VALUE` items separated by `|`.
//! Every row is checked before anything is written; with one bad row,
//! nothing is.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use http::{header, StatusCode};
use touchless_api::devices as api;
use touchless_api::tenants::SettingIn;
use touchless_api::wire::SettingText;
use touchless_domain::{
    DisplayText, Mac, SerialNumber, SettingName, SipPassword, SipUser, TenantId,
};
use touchless_phones::{PhoneModel, Vendor};
use touchless_store::DeviceFilter;

use super::extract::{ApiError, ApiQuery, ApiResult};
use super::state::AdminState;

/// Columns the format knows. `vendor` is optional on import (checked
/// against the model's) and always written on export; `serial` is what some
/// clouds register a phone by.
const COLUMNS: [&str; 8] = [
    "mac", "model", "tenant", "name", "lines", "settings", "vendor", "serial",
];
const REQUIRED: [&str; 3] = ["mac", "model", "tenant"];
/// Problems reported at most: enough to fix a file, bounded for a bad one.
const MAX_PROBLEMS: usize = 1000;

pub(crate) fn lines(cell: &str) -> Result<Vec<api::LineIn>, String> {
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

pub(crate) fn settings(cell: &str) -> Result<Vec<SettingIn>, String> {
    cell.split('|')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|item| setting(item).map_err(|e| format!("{item:?}: {e}")))
        .collect()
}

/// One setting written `NAME=VALUE` or `NAME[IDX]=VALUE` (as the CSV's
/// `settings` cell, the tenant and device forms write them), or why not.
pub(crate) fn setting(item: &str) -> Result<SettingIn, String> {
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
pub(crate) fn setting_text(s: &touchless_domain::Setting) -> String {
    match s.idx {
        Some(i) => format!("{}[{i}]={}", s.name, s.value),
        None => format!("{}={}", s.name, s.value),
    }
}

/// Settings one per line, as the tenant and device forms show them; a bad
/// one is named by its line.
pub(crate) fn settings_of_lines(text: &str) -> Result<Vec<SettingIn>, String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .enumerate()
        .map(|(i, line)| setting(line).map_err(|e| format!("Settings, line {}: {e}", i + 1)))
        .collect()
}

/// The rows of a file as devices to create, or every problem found.
pub(crate) fn parse(
    csv_text: &[u8],
) -> Result<Vec<(usize, api::NewDevice)>, Vec<api::ImportProblem>> {
    let problem = |row: usize, column: &str, reason: String| api::ImportProblem {
        row,
        column: column.to_owned(),
        reason,
    };
    let mut rd = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
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

/// Checks a file against the registry (tenants exist, and are `only` when
/// given; MACs are new and named once) and, unless `dry_run`, creates every
/// device in one transaction.
pub(crate) async fn import(
    st: &AdminState,
    csv_text: &[u8],
    dry_run: bool,
    only: Option<&TenantId>,
) -> ApiResult<api::ImportReport> {
    let report =
        |rows: usize, created: usize, problems: Vec<api::ImportProblem>| api::ImportReport {
            rows,
            created,
            dry_run,
            problems,
        };
    let rows = match parse(csv_text) {
        Ok(r) => r,
        Err(problems) => {
            let n = csv_rows(csv_text);
            return Ok(report(n, 0, problems));
        }
    };
    let tenants: HashSet<TenantId> = st
        .store
        .list_tenants()
        .await?
        .into_iter()
        .map(|t| t.id)
        .collect();
    let macs: Vec<Mac> = rows.iter().map(|(_, d)| d.mac).collect();
    let existing: HashSet<Mac> = st
        .store
        .get_devices(&macs)
        .await?
        .into_iter()
        .map(|d| d.mac)
        .collect();
    let mut first_row: HashMap<Mac, usize> = HashMap::new();
    let mut problems = Vec::new();
    for (row, d) in &rows {
        if only.is_some_and(|t| *t != d.tenant) {
            problems.push(api::ImportProblem {
                row: *row,
                column: "tenant".into(),
                reason: format!(
                    "you may import into tenant {} only",
                    only.map(|t| t.as_str()).unwrap_or("")
                ),
            });
        } else if !tenants.contains(&d.tenant) {
            problems.push(api::ImportProblem {
                row: *row,
                column: "tenant".into(),
                reason: format!("tenant {} does not exist", d.tenant),
            });
        }
        if existing.contains(&d.mac) {
            problems.push(api::ImportProblem {
                row: *row,
                column: "mac".into(),
                reason: format!("device {} already exists", d.mac),
            });
        } else if let Some(first) = first_row.insert(d.mac, *row) {
            problems.push(api::ImportProblem {
                row: *row,
                column: "mac".into(),
                reason: format!("{} is already on row {first}", d.mac),
            });
        }
    }
    problems.truncate(MAX_PROBLEMS);
    if !problems.is_empty() || dry_run {
        return Ok(report(rows.len(), 0, problems));
    }
    let news = rows
        .into_iter()
        .map(|(_, d)| super::devices::new_device(st, d))
        .collect::<ApiResult<Vec<_>>>()?;
    let made = st.store.create_devices(&news).await?;
    st.written(false).await;
    tracing::info!(count = made.len(), "devices imported");
    Ok(report(made.len(), made.len(), Vec::new()))
}

/// Data rows in a file, for a report on a file that did not parse.
fn csv_rows(csv_text: &[u8]) -> usize {
    csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(csv_text)
        .records()
        .count()
}

/// `POST /devices/import`: a CSV body (`text/csv`). 200 with the report
/// when every row is good, 400 with every problem otherwise.
#[utoipa::path(post, path = "/devices/import", tag = "devices", params(api::ImportQuery), request_body(content = String, content_type = "text/csv", description = "the CSV format of GET /devices/export"), responses((status = 200, description = "every row was good (and, unless dry_run, written)", body = api::ImportReport), (status = 400, description = "the problems of every bad row; nothing was written", body = api::ImportReport)))]
pub(super) async fn import_devices(
    State(st): State<Arc<AdminState>>,
    ApiQuery(q): ApiQuery<api::ImportQuery>,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let r = import(&st, &body, q.dry_run, None).await?;
    let status = if r.problems.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    Ok((status, Json(r)).into_response())
}

/// A line cell back: `EXT:PASSWORD:DISPLAY`, the password left empty
/// unless asked for.
fn line_cell(l: &touchless_store::Line, secrets: bool) -> String {
    let pass = if secrets { l.sip_password.as_str() } else { "" };
    match l.display_name.as_str() {
        "" => format!("{}:{pass}", l.extension),
        d => format!("{}:{pass}:{d}", l.extension),
    }
}

/// The devices (of one tenant, or all) in the import format.
pub(crate) async fn export(
    st: &AdminState,
    tenant: Option<TenantId>,
    secrets: bool,
) -> ApiResult<String> {
    let devices = st
        .store
        .list_devices(&DeviceFilter {
            tenant,
            ..DeviceFilter::default()
        })
        .await?;
    let mut w = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| ApiError::internal(format!("writing CSV: {e}"));
    w.write_record(COLUMNS).map_err(fail)?;
    for d in &devices {
        let ls: Vec<String> = d.lines.iter().map(|l| line_cell(l, secrets)).collect();
        let ss: Vec<String> = d.settings.iter().map(setting_text).collect();
        w.write_record([
            d.mac.to_string(),
            d.model.to_string(),
            d.tenant.to_string(),
            d.name.to_string(),
            ls.join("|"),
            ss.join("|"),
            d.model.vendor().to_string(),
            d.serial.as_ref().map(|s| s.to_string()).unwrap_or_default(),
        ])
        .map_err(fail)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| ApiError::internal(format!("writing CSV: {e}")))?;
    String::from_utf8(bytes).map_err(ApiError::internal)
}

#[utoipa::path(get, path = "/devices/export", tag = "devices", params(api::ExportQuery), responses((status = 200, description = "the devices as CSV", body = String, content_type = "text/csv")))]
pub(super) async fn export_devices(
    State(st): State<Arc<AdminState>>,
    ApiQuery(q): ApiQuery<api::ExportQuery>,
) -> ApiResult<Response> {
    let text = export(&st, q.tenant, q.secrets).await?;
    Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], text).into_response())
}
