//! Devices in and out as CSV over the API (`POST /devices/import`, `GET
//! /devices/export`): the import checked against the registry and written in
//! one transaction, the export. The format itself is `touchless_api::csv`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use http::{header, StatusCode};
use touchless_api::devices as api;
use touchless_domain::{Mac, TenantId};
use touchless_store::DeviceFilter;

use super::extract::{ApiError, ApiQuery, ApiResult};
use super::state::AdminState;

use touchless_api::csv::{parse, COLUMNS, MAX_PROBLEMS};
pub(crate) use touchless_api::csv::{setting_text, settings_of_lines};

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
