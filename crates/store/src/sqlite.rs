//! The SQLite backend: the zero-setup default, one file under the data directory.
//!
//! SQLite allows one writer at a time. Rather than let several pooled connections
//! race for the write lock (and fail with SQLITE_BUSY on lock upgrades), all writes
//! go through a one-connection pool and start with `BEGIN IMMEDIATE`; reads use a
//! separate pool and, thanks to WAL, never wait for the writer.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{SqliteConnection, SqlitePool};
use touchless_domain::{Mac, ProvUser, Setting, TenantId};

use crate::rows::sqlite::*;
use crate::{
    check_unique_settings, Contact, Device, DeviceFilter, DevicePatch, Line, NewDevice, NewTenant,
    Result, Snapshot, Store, StoreError, Tenant, TenantPatch,
};

pub struct SqliteStore {
    pub(crate) writer: SqlitePool,
    pub(crate) reader: SqlitePool,
    /// Readers of [`Store::change_hints`] in this process: SQLite has one
    /// process per database, so its own writes are all there is to hear of.
    hints: std::sync::Mutex<Vec<tokio::sync::mpsc::Sender<()>>>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and applies migrations.
    pub async fn open(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            crate::private::create_dir(dir).map_err(|e| {
                StoreError::Unsupported(format!("cannot create {}: {e}", dir.display()))
            })?;
        }
        // SQLite gives the -wal and -shm files the mode of the database file, so
        // creating that one 0600 keeps all three private whatever the umask.
        if !path.exists() && path.as_os_str() != ":memory:" {
            crate::private::append(path).map_err(|e| {
                StoreError::Unsupported(format!("cannot create {}: {e}", path.display()))
            })?;
        }
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(opts.clone())
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&writer).await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(opts.read_only(true))
            .await?;
        Ok(SqliteStore {
            writer,
            reader,
            hints: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// Runs `f` in a write transaction that also bumps the generation.
    pub(crate) async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send,
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> WriteFuture<'c, T> + Send,
    {
        self.transaction(true, f).await
    }

    /// A write transaction that does not bump the generation: for changes the
    /// provisioning view does not show (an event's outcome, a device's status).
    pub(crate) async fn quiet<T, F>(&self, f: F) -> Result<T>
    where
        T: Send,
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> WriteFuture<'c, T> + Send,
    {
        self.transaction(false, f).await
    }

    async fn transaction<T, F>(&self, bump: bool, f: F) -> Result<T>
    where
        T: Send,
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> WriteFuture<'c, T> + Send,
    {
        let mut conn = self.writer.acquire().await?;
        sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await?;
        let out = async {
            let v = f(&mut conn).await?;
            if bump {
                sqlx::query("UPDATE generation SET value = value + 1 WHERE id = 1")
                    .execute(&mut *conn)
                    .await?;
            }
            Ok(v)
        }
        .await;
        match out {
            Ok(v) => {
                sqlx::query("COMMIT").execute(&mut *conn).await?;
                // Any committed write may have moved the generation (event
                // outcomes do so only sometimes); readers check it.
                self.hints
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .retain(|tx| {
                        !matches!(
                            tx.try_send(()),
                            Err(tokio::sync::mpsc::error::TrySendError::Closed(_))
                        )
                    });
                Ok(v)
            }
            Err(e) => {
                // The connection goes back to the pool; it must not stay in a transaction.
                if let Err(rb) = sqlx::query("ROLLBACK").execute(&mut *conn).await {
                    tracing::error!(error = %rb, "rollback failed; dropping connection");
                    conn.detach();
                }
                Err(e)
            }
        }
    }
}

pub(crate) type WriteFuture<'c, T> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<T>> + Send + 'c>>;

pub(crate) fn now() -> DateTime<Utc> {
    // Millisecond precision: what both SQLite text and PostgreSQL round-trip exactly.
    let n = Utc::now();
    DateTime::from_timestamp_millis(n.timestamp_millis()).unwrap_or(n)
}

/// Maps a UNIQUE or FOREIGN KEY violation to an error the user can act on.
fn constraint(e: sqlx::Error, unique: &str, fk: &str) -> StoreError {
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

fn tenant_conflict(e: sqlx::Error, t_id: &TenantId, user: &ProvUser) -> StoreError {
    if let sqlx::Error::Database(db) = &e {
        if db.message().contains("tenants.prov_user") {
            return StoreError::Conflict(format!(
                "provisioning user {user} is already used by another tenant"
            ));
        }
    }
    constraint(e, &format!("tenant {t_id} already exists"), "")
}

async fn replace_tenant_settings(
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

async fn replace_device_children(
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

pub(crate) fn check_lines(lines: &[Line]) -> Result<()> {
    let mut seen = std::collections::HashSet::new();
    for l in lines {
        if l.idx == 0 || l.idx > 64 {
            return Err(StoreError::Invalid {
                field: "lines",
                message: format!("line index {} is out of range 1..=64", l.idx),
            });
        }
        if !seen.insert(l.idx) {
            return Err(StoreError::Invalid {
                field: "lines",
                message: format!("line {} is given twice", l.idx),
            });
        }
    }
    Ok(())
}

const TENANT_COLS: &str = "id, name, prov_user, prov_pass, sip_host, sip_port, mode, prov_scope, \
     revision, created_at, updated_at";
const DEVICE_COLS: &str = "mac, model, tenant_id, name, status, registered_at, last_message, \
     ztprov_user, ztprov_pass, ztprov_expires_at, ztprov_used_at, ztprov_next_user, ztprov_next_pass, \
     ztprov_next_expires_at, ztprov_next_used_at, prov_user, prov_pass, removing, revision, created_at, updated_at";

/// Loads settings (and for devices, lines) of the given owners in two queries.
async fn attach_children(
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

async fn fetch_tenant(c: &mut SqliteConnection, id: &TenantId) -> Result<Option<Tenant>> {
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

async fn fetch_device(c: &mut SqliteConnection, mac: Mac) -> Result<Option<Device>> {
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

#[async_trait]
impl Store for SqliteStore {
    async fn create_tenant(&self, t: &NewTenant) -> Result<Tenant> {
        let t = t.clone();
        self.write(move |c| {
            Box::pin(async move {
                crate::sql::sqlite::tenant_id_free(c, &t.id).await?;
                let ts = now();
                sqlx::query(
                    "INSERT INTO tenants (id, name, prov_user, prov_pass, sip_host, sip_port, mode, prov_scope, created_at, updated_at) \
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                )
                .bind(t.id.as_str())
                .bind(t.name.as_str())
                .bind(t.prov_user.as_str())
                .bind(t.prov_pass.as_str())
                .bind(t.sip_host.as_str())
                .bind(i64::from(t.sip_port))
                .bind(t.mode.as_str())
                .bind(t.prov_scope.as_str())
                .bind(ts)
                .bind(ts)
                .execute(&mut *c)
                .await
                .map_err(|e| tenant_conflict(e, &t.id, &t.prov_user))?;
                replace_tenant_settings(c, &t.id, &t.settings).await?;
                fetch_tenant(c, &t.id)
                    .await?
                    .ok_or_else(|| StoreError::not_found("tenant", &t.id))
            })
        })
        .await
    }

    async fn get_tenant(&self, id: &TenantId) -> Result<Option<Tenant>> {
        let mut c = self.reader.acquire().await?;
        fetch_tenant(&mut c, id).await
    }

    async fn list_tenants(&self) -> Result<Vec<Tenant>> {
        let mut c = self.reader.acquire().await?;
        let rows = sqlx::query(&format!("SELECT {TENANT_COLS} FROM tenants ORDER BY id"))
            .fetch_all(&mut *c)
            .await?;
        let mut tenants = rows
            .iter()
            .map(tenant_from_row)
            .collect::<Result<Vec<_>>>()?;
        attach_children(&mut c, &mut tenants, &mut [], true).await?;
        Ok(tenants)
    }

    async fn update_tenant(&self, id: &TenantId, p: &TenantPatch) -> Result<Tenant> {
        let (id, p) = (id.clone(), p.clone());
        self.write(move |c| {
            Box::pin(async move {
                let cur = fetch_tenant(c, &id)
                    .await?
                    .ok_or_else(|| StoreError::not_found("tenant", &id))?;
                let user = p.prov_user.clone().unwrap_or(cur.prov_user.clone());
                sqlx::query(
                    "UPDATE tenants SET name = ?, prov_user = ?, prov_pass = ?, sip_host = ?, sip_port = ?, mode = ?, \
                     prov_scope = ?, revision = revision + 1, updated_at = ? WHERE id = ?",
                )
                .bind(p.name.as_ref().unwrap_or(&cur.name).as_str())
                .bind(user.as_str())
                .bind(p.prov_pass.as_ref().unwrap_or(&cur.prov_pass).as_str())
                .bind(p.sip_host.as_ref().unwrap_or(&cur.sip_host).as_str())
                .bind(i64::from(p.sip_port.unwrap_or(cur.sip_port)))
                .bind(p.mode.unwrap_or(cur.mode).as_str())
                .bind(p.prov_scope.unwrap_or(cur.prov_scope).as_str())
                .bind(now())
                .bind(id.as_str())
                .execute(&mut *c)
                .await
                .map_err(|e| tenant_conflict(e, &id, &user))?;
                if let Some(settings) = &p.settings {
                    replace_tenant_settings(c, &id, settings).await?;
                }
                fetch_tenant(c, &id)
                    .await?
                    .ok_or_else(|| StoreError::not_found("tenant", &id))
            })
        })
        .await
    }

    async fn delete_tenant(&self, id: &TenantId) -> Result<()> {
        let id = id.clone();
        self.write(move |c| {
            Box::pin(async move {
                let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM devices WHERE tenant_id = ?")
                    .bind(id.as_str())
                    .fetch_one(&mut *c)
                    .await?;
                if n > 0 {
                    return Err(StoreError::Conflict(format!(
                        "tenant {id} still has {n} device(s); remove them first"
                    )));
                }
                let done = sqlx::query("DELETE FROM tenants WHERE id = ?")
                    .bind(id.as_str())
                    .execute(&mut *c)
                    .await?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::not_found("tenant", &id));
                }
                Ok(())
            })
        })
        .await
    }

    async fn create_devices(&self, ds: &[NewDevice]) -> Result<Vec<Device>> {
        let ds = ds.to_vec();
        self.write(move |c| {
            Box::pin(async move {
                let ts = now();
                let mut out = Vec::with_capacity(ds.len());
                for d in &ds {
                    sqlx::query(
                        "INSERT INTO devices (mac, model, tenant_id, name, ztprov_user, ztprov_pass, ztprov_expires_at, \
                         prov_user, prov_pass, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    )
                    .bind(d.mac.to_string())
                    .bind(d.model.as_str())
                    .bind(d.tenant.as_str())
                    .bind(d.name.as_str())
                    .bind(d.ztprov_user.as_str())
                    .bind(d.ztprov_pass.as_str())
                    .bind(d.ztprov_expires_at)
                    .bind(d.prov_user.as_str())
                    .bind(d.prov_pass.as_str())
                    .bind(ts)
                    .bind(ts)
                    .execute(&mut *c)
                    .await
                    .map_err(|e| {
                        constraint(
                            e,
                            &format!("device {} already exists", d.mac),
                            &format!("tenant {} does not exist", d.tenant),
                        )
                    })?;
                    replace_device_children(c, d.mac, Some(&d.lines), Some(&d.settings)).await?;
                    out.push(
                        fetch_device(c, d.mac)
                            .await?
                            .ok_or_else(|| StoreError::not_found("device", d.mac))?,
                    );
                }
                Ok(out)
            })
        })
        .await
    }

    async fn get_device(&self, mac: Mac) -> Result<Option<Device>> {
        let mut c = self.reader.acquire().await?;
        fetch_device(&mut c, mac).await
    }

    async fn list_devices(&self, f: &DeviceFilter) -> Result<Vec<Device>> {
        let mut c = self.reader.acquire().await?;
        let mut sql = format!("SELECT {DEVICE_COLS} FROM devices d WHERE 1 = 1");
        if f.tenant.is_some() {
            sql.push_str(" AND tenant_id = ?");
        }
        if f.status.is_some() {
            sql.push_str(" AND status = ?");
        }
        if f.model.is_some() {
            sql.push_str(" AND model = ?");
        }
        if f.search.is_some() {
            sql.push_str(
                " AND (instr(lower(name), ?1s) > 0 OR instr(lower(mac), ?1s) > 0 \
                 OR EXISTS (SELECT 1 FROM lines l WHERE l.device_mac = d.mac AND instr(lower(l.extension), ?1s) > 0))",
            );
        }
        sql.push_str(" ORDER BY tenant_id, mac LIMIT ? OFFSET ?");
        // Positional binds: the search term is bound three times below.
        let sql = sql.replace("?1s", "?");
        let mut q = sqlx::query(&sql);
        if let Some(t) = &f.tenant {
            q = q.bind(t.as_str());
        }
        if let Some(s) = f.status {
            q = q.bind(s.as_str());
        }
        if let Some(m) = f.model {
            q = q.bind(m.as_str());
        }
        if let Some(s) = &f.search {
            let s = s.to_lowercase();
            q = q.bind(s.clone()).bind(s.clone()).bind(s);
        }
        // SQLite reads LIMIT -1 as "no limit".
        q = q
            .bind(f.limit.map_or(-1, i64::from))
            .bind(i64::from(f.offset));
        let rows = q.fetch_all(&mut *c).await?;
        let mut devices = rows
            .iter()
            .map(device_from_row)
            .collect::<Result<Vec<_>>>()?;
        // A page is a few devices among many: look up its children only.
        attach_children(&mut c, &mut [], &mut devices, f.limit.is_none()).await?;
        Ok(devices)
    }

    async fn update_device(&self, mac: Mac, p: &DevicePatch) -> Result<Device> {
        let p = p.clone();
        self.write(move |c| {
            Box::pin(async move {
                let cur = fetch_device(c, mac)
                    .await?
                    .ok_or_else(|| StoreError::not_found("device", mac))?;
                let tenant = p.tenant.clone().unwrap_or(cur.tenant.clone());
                let (zu, zp, ze, zused) = match p.ztprov.clone() {
                    Some((u, p, e)) => (u, p, Some(e), None),
                    None => (
                        cur.ztprov_user.clone(),
                        cur.ztprov_pass.clone(),
                        cur.ztprov_expires_at,
                        cur.ztprov_used_at,
                    ),
                };
                let (pu, pp) = p
                    .prov
                    .clone()
                    .unwrap_or((cur.prov_user.clone(), cur.prov_pass.clone()));
                sqlx::query(
                    "UPDATE devices SET model = ?, tenant_id = ?, name = ?, status = ?, registered_at = ?, \
                     last_message = ?, ztprov_user = ?, ztprov_pass = ?, ztprov_expires_at = ?, ztprov_used_at = ?, \
                     prov_user = ?, prov_pass = ?, revision = revision + 1, updated_at = ? \
                     WHERE mac = ?",
                )
                .bind(p.model.unwrap_or(cur.model).as_str())
                .bind(tenant.as_str())
                .bind(p.name.as_ref().unwrap_or(&cur.name).as_str())
                .bind(p.status.unwrap_or(cur.status).as_str())
                .bind(p.registered_at.unwrap_or(cur.registered_at))
                .bind(p.last_message.as_ref().unwrap_or(&cur.last_message))
                .bind(zu.as_str())
                .bind(zp.as_str())
                .bind(ze)
                .bind(zused)
                .bind(pu.as_str())
                .bind(pp.as_str())
                .bind(now())
                .bind(mac.to_string())
                .execute(&mut *c)
                .await
                .map_err(|e| {
                    constraint(
                        e,
                        "the ztprov or provisioning user is already used by another device",
                        &format!("tenant {tenant} does not exist"),
                    )
                })?;
                replace_device_children(c, mac, p.lines.as_deref(), p.settings.as_deref()).await?;
                fetch_device(c, mac)
                    .await?
                    .ok_or_else(|| StoreError::not_found("device", mac))
            })
        })
        .await
    }

    async fn delete_devices(&self, macs: &[Mac]) -> Result<()> {
        let macs = macs.to_vec();
        self.write(move |c| {
            Box::pin(async move { crate::sql::sqlite::delete_devices(c, &macs).await })
        })
        .await
    }

    async fn mark_removing(&self, macs: &[Mac]) -> Result<()> {
        let macs = macs.to_vec();
        self.quiet(move |c| {
            Box::pin(async move { crate::sql::sqlite::mark_removing(c, &macs, now()).await })
        })
        .await
    }

    async fn mark_ztprov_used(&self, uses: &[(Mac, ProvUser, DateTime<Utc>)]) -> Result<()> {
        if uses.is_empty() {
            return Ok(());
        }
        let uses = uses.to_vec();
        self.write(move |c| Box::pin(async move { crate::sql::sqlite::mark_used(c, &uses).await }))
            .await
    }

    async fn change_hints(&self) -> Option<tokio::sync::mpsc::Receiver<()>> {
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        self.hints
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(tx);
        Some(rx)
    }

    async fn generation(&self) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT value FROM generation WHERE id = 1")
                .fetch_one(&self.reader)
                .await?,
        )
    }

    async fn snapshot(&self) -> Result<Snapshot> {
        let mut c = self.reader.acquire().await?;
        // One read transaction: the generation and the rows belong together.
        sqlx::query("BEGIN").execute(&mut *c).await?;
        let out = async {
            let generation: i64 = sqlx::query_scalar("SELECT value FROM generation WHERE id = 1")
                .fetch_one(&mut *c)
                .await?;
            let rows = sqlx::query(&format!("SELECT {TENANT_COLS} FROM tenants"))
                .fetch_all(&mut *c)
                .await?;
            let mut tenants = rows
                .iter()
                .map(tenant_from_row)
                .collect::<Result<Vec<_>>>()?;
            let rows = sqlx::query(&format!("SELECT {DEVICE_COLS} FROM devices"))
                .fetch_all(&mut *c)
                .await?;
            let mut devices = rows
                .iter()
                .map(device_from_row)
                .collect::<Result<Vec<_>>>()?;
            attach_children(&mut c, &mut tenants, &mut devices, true).await?;
            Ok(Snapshot {
                generation,
                tenants,
                devices,
            })
        }
        .await;
        sqlx::query("COMMIT").execute(&mut *c).await?;
        out
    }

    async fn record_contacts(&self, batch: &[Contact]) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        // Not through `write`: contacts do not change what is provisioned, so they
        // must not bump the generation and make every node reload.
        let mut tx = self.writer.begin().await?;
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

    async fn contacts(&self, mac: Mac, limit: u32) -> Result<Vec<Contact>> {
        let rows = sqlx::query(
            "SELECT at, mac, ip, user_agent, path, status, hits FROM contacts WHERE mac = ? \
             ORDER BY at DESC, id DESC LIMIT ?",
        )
        .bind(mac.to_string())
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(contact_from_row).collect()
    }

    async fn prune_contacts(&self, before: DateTime<Utc>, max_rows: u64) -> Result<u64> {
        crate::sql::prune_log(
            &self.writer,
            crate::sql::ContactTable::Phones,
            before,
            max_rows,
        )
        .await
    }

    async fn create_provider(&self, p: &crate::Provider) -> Result<crate::Provider> {
        crate::sqlite_daemon::create_provider(self, p).await
    }
    async fn list_providers(&self) -> Result<Vec<crate::Provider>> {
        crate::sqlite_daemon::list_providers(self).await
    }
    async fn get_provider(&self, name: &str) -> Result<Option<crate::Provider>> {
        crate::sqlite_daemon::get_provider(self, name).await
    }
    async fn delete_provider(&self, name: &str) -> Result<()> {
        crate::sqlite_daemon::delete_provider(self, name).await
    }
    async fn enqueue(&self, action: crate::Action, items: &[crate::Issued]) -> Result<Vec<i64>> {
        crate::sqlite_daemon::enqueue(self, action, items).await
    }
    async fn claim_events(
        &self,
        node: &str,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<crate::Event>> {
        crate::sqlite_daemon::claim_events(self, node, limit, lease).await
    }
    async fn release_leases(&self, node: &str) -> Result<u64> {
        let done = sqlx::query(crate::sql::RELEASE_LEASES)
            .bind(now() - chrono::Duration::seconds(1))
            .bind(node)
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected())
    }
    async fn renew_lease(&self, id: i64, node: &str, lease: Duration) -> Result<bool> {
        crate::sqlite_daemon::renew_lease(self, id, node, lease).await
    }
    async fn finish_event(&self, id: i64, node: &str, outcome: &crate::Outcome) -> Result<bool> {
        crate::sqlite_daemon::finish_event(self, id, node, outcome).await
    }
    async fn list_events(
        &self,
        state: Option<crate::EventState>,
        limit: u32,
    ) -> Result<Vec<crate::Event>> {
        crate::sqlite_daemon::list_events(self, state, limit).await
    }
    async fn event_counts(&self) -> Result<Vec<(crate::EventState, u64)>> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT state, COUNT(*) FROM events GROUP BY state")
                .fetch_all(&self.reader)
                .await?;
        crate::daemon::counts(rows)
    }
    async fn get_event(&self, id: i64) -> Result<Option<crate::Event>> {
        crate::sqlite_daemon::get_event(self, id).await
    }
    async fn retry_event(&self, id: i64) -> Result<crate::Event> {
        crate::sqlite_daemon::retry_event(self, id).await
    }

    async fn meta_get_or_insert(&self, key: &str, value: &str) -> Result<String> {
        let mut c = self.writer.acquire().await?;
        sqlx::query("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING")
            .bind(key)
            .bind(value)
            .execute(&mut *c)
            .await?;
        Ok(sqlx::query_scalar("SELECT value FROM meta WHERE key = ?")
            .bind(key)
            .fetch_one(&mut *c)
            .await?)
    }

    async fn meta_set(&self, key: &str, value: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(value)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }
}
