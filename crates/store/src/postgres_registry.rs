//! The PostgreSQL backend's registry helpers: constraint errors in words,
//! child rows (lines, settings) written and loaded in bulk, single-row fetches.

use std::collections::HashMap;

use touchless_domain::{Mac, ProvUser, Setting, TenantId};

use crate::rows::postgres::*;
use crate::validate::check_unique_settings;
use crate::{Device, Line, Result, StoreError, Tenant};

use crate::postgres_pool::Tx;

pub(crate) fn constraint(e: sqlx::Error, unique: &str, fk: &str) -> StoreError {
    if let sqlx::Error::Database(db) = &e {
        match db.code().as_deref() {
            Some("23505") => return StoreError::Conflict(unique.to_owned()),
            Some("23503") => {
                return StoreError::Invalid {
                    field: "tenant",
                    message: fk.to_owned(),
                }
            }
            _ => {}
        }
    }
    StoreError::Database(e)
}

pub(crate) fn constraint_name(e: &sqlx::Error) -> Option<String> {
    match e {
        sqlx::Error::Database(db) => db.constraint().map(str::to_owned),
        _ => None,
    }
}

pub(crate) fn tenant_conflict(e: sqlx::Error, id: &TenantId, user: &ProvUser) -> StoreError {
    if constraint_name(&e).as_deref() == Some("tenants_prov_user") {
        return StoreError::Conflict(format!(
            "provisioning user {user} is already used by another tenant"
        ));
    }
    constraint(e, &format!("tenant {id} already exists"), "")
}

pub(crate) async fn replace_settings(
    c: Tx<'_>,
    table: &str,
    owner_col: &str,
    owner: &str,
    settings: &[Setting],
) -> Result<()> {
    check_unique_settings(settings)?;
    sqlx::query(&format!("DELETE FROM {table} WHERE {owner_col} = $1"))
        .bind(owner)
        .execute(&mut *c)
        .await?;
    for s in settings {
        sqlx::query(&format!(
            "INSERT INTO {table} ({owner_col}, name, idx, value, perm) VALUES ($1, $2, $3, $4, $5)"
        ))
        .bind(owner)
        .bind(s.name.as_str())
        .bind(s.idx.map(i64::from))
        .bind(&s.value)
        .bind(s.perm.as_str())
        .execute(&mut *c)
        .await?;
    }
    Ok(())
}

pub(crate) async fn replace_lines(c: Tx<'_>, mac: Mac, lines: &[Line]) -> Result<()> {
    crate::validate::check_lines(lines)?;
    let key = mac.to_string();
    sqlx::query("DELETE FROM lines WHERE device_mac = $1")
        .bind(&key)
        .execute(&mut *c)
        .await?;
    for l in lines {
        sqlx::query(
            "INSERT INTO lines (device_mac, idx, extension, auth_user, sip_password, display_name) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&key)
        .bind(i64::from(l.idx))
        .bind(l.extension.as_str())
        .bind(l.auth_user.as_str())
        .bind(l.sip_password.as_str())
        .bind(l.display_name.as_str())
        .execute(&mut *c)
        .await?;
    }
    Ok(())
}

pub(crate) const TENANT_COLS: &str =
    "id, name, prov_user, prov_pass, sip_host, sip_port, mode, prov_scope, \
     revision, created_at, updated_at";
pub(crate) const DEVICE_COLS: &str = "mac, model, tenant_id, name, status, registered_at, last_message, \
     ztprov_user, ztprov_pass, ztprov_expires_at, ztprov_used_at, ztprov_next_user, ztprov_next_pass, \
     ztprov_next_expires_at, ztprov_next_used_at, prov_user, prov_pass, removing, revision, created_at, updated_at";

/// Loads settings and lines for the given owners: keyed queries for one, a
/// scan for many.
pub(crate) async fn attach_children(
    c: Tx<'_>,
    tenants: &mut [Tenant],
    devices: &mut [Device],
) -> Result<()> {
    if !tenants.is_empty() {
        let ids: Vec<String> = tenants.iter().map(|t| t.id.to_string()).collect();
        let rows = sqlx::query(
            "SELECT tenant_id AS owner, name, idx, value, perm FROM tenant_settings WHERE tenant_id = ANY($1) ORDER BY tenant_id, name, idx",
        )
        .bind(&ids)
        .fetch_all(&mut *c)
        .await?;
        let mut by: HashMap<String, Vec<Setting>> = HashMap::new();
        for r in &rows {
            let (owner, s) = setting_from_row(r)?;
            by.entry(owner).or_default().push(s);
        }
        for t in tenants.iter_mut() {
            t.settings = by.remove(t.id.as_str()).unwrap_or_default();
        }
    }
    if !devices.is_empty() {
        let macs: Vec<String> = devices.iter().map(|d| d.mac.to_string()).collect();
        let lines =
            sqlx::query("SELECT * FROM lines WHERE device_mac = ANY($1) ORDER BY device_mac, idx")
                .bind(&macs)
                .fetch_all(&mut *c)
                .await?;
        let settings = sqlx::query(
            "SELECT device_mac AS owner, name, idx, value, perm FROM device_settings WHERE device_mac = ANY($1) ORDER BY device_mac, name, idx",
        )
        .bind(&macs)
        .fetch_all(&mut *c)
        .await?;
        let mut lines_by: HashMap<String, Vec<Line>> = HashMap::new();
        for r in &lines {
            let (owner, l) = line_from_row(r)?;
            lines_by.entry(owner).or_default().push(l);
        }
        let mut settings_by: HashMap<String, Vec<Setting>> = HashMap::new();
        for r in &settings {
            let (owner, s) = setting_from_row(r)?;
            settings_by.entry(owner).or_default().push(s);
        }
        for d in devices.iter_mut() {
            let key = d.mac.to_string();
            d.lines = lines_by.remove(&key).unwrap_or_default();
            d.settings = settings_by.remove(&key).unwrap_or_default();
        }
    }
    Ok(())
}

pub(crate) async fn fetch_tenant(c: Tx<'_>, id: &TenantId) -> Result<Option<Tenant>> {
    let row = sqlx::query(&format!("SELECT {TENANT_COLS} FROM tenants WHERE id = $1"))
        .bind(id.as_str())
        .fetch_optional(&mut *c)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let mut t = [tenant_from_row(&row)?];
    attach_children(c, &mut t, &mut []).await?;
    let [t] = t;
    Ok(Some(t))
}

pub(crate) async fn fetch_device(c: Tx<'_>, mac: Mac) -> Result<Option<Device>> {
    let row = sqlx::query(&format!("SELECT {DEVICE_COLS} FROM devices WHERE mac = $1"))
        .bind(mac.to_string())
        .fetch_optional(&mut *c)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let mut d = [device_from_row(&row)?];
    attach_children(c, &mut [], &mut d).await?;
    let [d] = d;
    Ok(Some(d))
}
