//! The SQLite backend's registry helpers: constraint errors in words, child
//! rows (lines, settings) written and loaded in bulk, single-row fetches.

use std::collections::HashMap;

use sqlx::SqliteConnection;
use touchless_domain::{Mac, ProvUser, Setting, TenantId};

use crate::rows::sqlite::*;
use crate::validate::{check_lines, check_unique_settings};
use crate::{Contact, Device, Line, Result, StoreError, Tenant};

/// Maps a UNIQUE or FOREIGN KEY violation to an error the user can act on.
pub(crate) fn constraint(e: sqlx::Error, unique: &str, fk: &str) -> StoreError {
    if let sqlx::Error::Database(db) = &e {
        let msg = db.message();
        if msg.contains("UNIQUE") || msg.contains("PRIMARY KEY") {
            return StoreError::Conflict(unique.to_owned());
        }
        if msg.contains("FOREIGN KEY") {
            return StoreError::Invalid {
                field: "tenant",
                message: fk.to_owned(),
            };
        }
    }
    StoreError::Database(e)
}

pub(crate) fn tenant_conflict(e: sqlx::Error, t_id: &TenantId, user: &ProvUser) -> StoreError {
    if let sqlx::Error::Database(db) = &e {
        if db.message().contains("tenants.prov_user") {
            return StoreError::Conflict(format!(
                "provisioning user {user} is already used by another tenant"
            ));
        }
    }
    constraint(e, &format!("tenant {t_id} already exists"), "")
}

pub(crate) async fn replace_tenant_settings(
    c: &mut SqliteConnection,
    id: &TenantId,
    settings: &[Setting],
) -> Result<()> {
    check_unique_settings(settings)?;
    sqlx::query("DELETE FROM tenant_settings WHERE tenant_id = ?")
        .bind(id.as_str())
        .execute(&mut *c)
        .await?;
    for s in settings {
        sqlx::query(
            "INSERT INTO tenant_settings (tenant_id, name, idx, value, perm) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(id.as_str())
        .bind(s.name.as_str())
        .bind(s.idx.map(i64::from))
        .bind(&s.value)
        .bind(s.perm.as_str())
        .execute(&mut *c)
        .await?;
    }
    Ok(())
}

pub(crate) async fn replace_device_children(
    c: &mut SqliteConnection,
    mac: Mac,
    lines: Option<&[Line]>,
    settings: Option<&[Setting]>,
) -> Result<()> {
    let key = mac.to_string();
    if let Some(lines) = lines {
        check_lines(lines)?;
        sqlx::query("DELETE FROM lines WHERE device_mac = ?")
            .bind(&key)
            .execute(&mut *c)
            .await?;
        for l in lines {
            sqlx::query(
                "INSERT INTO lines (device_mac, idx, extension, auth_user, sip_password, display_name) \
                 VALUES (?, ?, ?, ?, ?, ?)",
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
    }
    if let Some(settings) = settings {
        check_unique_settings(settings)?;
        sqlx::query("DELETE FROM device_settings WHERE device_mac = ?")
            .bind(&key)
            .execute(&mut *c)
            .await?;
        for s in settings {
            sqlx::query(
                "INSERT INTO device_settings (device_mac, name, idx, value, perm) VALUES (?, ?, ?, ?, ?)",
            )
            .bind(&key)
            .bind(s.name.as_str())
            .bind(s.idx.map(i64::from))
            .bind(&s.value)
            .bind(s.perm.as_str())
            .execute(&mut *c)
            .await?;
        }
    }
    Ok(())
}

pub(crate) const TENANT_COLS: &str =
    "id, name, prov_user, prov_pass, sip_host, sip_port, mode, prov_scope, \
     revision, created_at, updated_at";
pub(crate) const DEVICE_COLS: &str = "mac, model, tenant_id, name, status, registered_at, last_message, \
     ztprov_user, ztprov_pass, ztprov_expires_at, ztprov_used_at, ztprov_next_user, ztprov_next_pass, \
     ztprov_next_expires_at, ztprov_next_used_at, prov_user, prov_pass, removing, revision, created_at, updated_at";

/// Loads settings (and for devices, lines) of the given owners in two queries.
pub(crate) async fn attach_children(
    c: &mut SqliteConnection,
    tenants: &mut [Tenant],
    devices: &mut [Device],
    all: bool,
) -> Result<()> {
    // For one or a few owners a keyed query; for many, one scan beats N lookups.
    if !tenants.is_empty() {
        let rows = if all || tenants.len() > 1 {
            sqlx::query("SELECT tenant_id AS owner, name, idx, value, perm FROM tenant_settings ORDER BY tenant_id, name, idx")
                .fetch_all(&mut *c)
                .await?
        } else {
            sqlx::query("SELECT tenant_id AS owner, name, idx, value, perm FROM tenant_settings WHERE tenant_id = ? ORDER BY name, idx")
                .bind(tenants[0].id.as_str())
                .fetch_all(&mut *c)
                .await?
        };
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
        // A few devices: keyed lookups, the MACs passed as one JSON array.
        let some = (!all).then(|| {
            serde_json::to_string(
                &devices
                    .iter()
                    .map(|d| d.mac.to_string())
                    .collect::<Vec<_>>(),
            )
            .unwrap_or_default()
        });
        let (lines, settings) = match &some {
            Some(macs) => (
                sqlx::query("SELECT * FROM lines WHERE device_mac IN (SELECT value FROM json_each(?)) ORDER BY device_mac, idx")
                    .bind(macs)
                    .fetch_all(&mut *c)
                    .await?,
                sqlx::query("SELECT device_mac AS owner, name, idx, value, perm FROM device_settings \
                             WHERE device_mac IN (SELECT value FROM json_each(?)) ORDER BY device_mac, name, idx")
                    .bind(macs)
                    .fetch_all(&mut *c)
                    .await?,
            ),
            None => (
                sqlx::query("SELECT * FROM lines ORDER BY device_mac, idx")
                    .fetch_all(&mut *c)
                    .await?,
                sqlx::query("SELECT device_mac AS owner, name, idx, value, perm FROM device_settings ORDER BY device_mac, name, idx")
                    .fetch_all(&mut *c)
                    .await?,
            ),
        };
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

pub(crate) async fn fetch_tenant(
    c: &mut SqliteConnection,
    id: &TenantId,
) -> Result<Option<Tenant>> {
    let row = sqlx::query(&format!("SELECT {TENANT_COLS} FROM tenants WHERE id = ?"))
        .bind(id.as_str())
        .fetch_optional(&mut *c)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let mut t = [tenant_from_row(&row)?];
    attach_children(c, &mut t, &mut [], false).await?;
    let [t] = t;
    Ok(Some(t))
}

pub(crate) async fn fetch_device(c: &mut SqliteConnection, mac: Mac) -> Result<Option<Device>> {
    let row = sqlx::query(&format!("SELECT {DEVICE_COLS} FROM devices WHERE mac = ?"))
        .bind(mac.to_string())
        .fetch_optional(&mut *c)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let mut d = [device_from_row(&row)?];
    attach_children(c, &mut [], &mut d, false).await?;
    let [d] = d;
    Ok(Some(d))
}

/// Contacts in multi-row INSERTs: one statement per 100 rows instead of one per row.
pub(crate) async fn record_contacts(writer: &sqlx::SqlitePool, batch: &[Contact]) -> Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    // Not through `write`: contacts do not change what is provisioned, so they
    // must not bump the generation and make every node reload.
    let mut tx = writer.begin().await?;
    // Multi-row INSERTs: one statement per 100 rows instead of one per row.
    for chunk in batch.chunks(100) {
        let mut q = sqlx::QueryBuilder::new(
            "INSERT INTO contacts (at, mac, ip, user_agent, path, status, hits) ",
        );
        q.push_values(chunk, |mut b, ct| {
            b.push_bind(ct.at)
                .push_bind(ct.mac.to_string())
                .push_bind(&ct.ip)
                .push_bind(&ct.user_agent)
                .push_bind(&ct.path)
                .push_bind(i64::from(ct.status))
                .push_bind(i64::from(ct.hits));
        });
        q.build().execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn contacts(
    reader: &sqlx::SqlitePool,
    mac: Mac,
    limit: u32,
) -> Result<Vec<Contact>> {
    let rows = sqlx::query(
        "SELECT at, mac, ip, user_agent, path, status, hits FROM contacts WHERE mac = ? \
             ORDER BY at DESC, id DESC LIMIT ?",
    )
    .bind(mac.to_string())
    .bind(i64::from(limit))
    .fetch_all(reader)
    .await?;
    rows.iter().map(contact_from_row).collect()
}
