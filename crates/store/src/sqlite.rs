//! The SQLite backend's `Store`: the registry's queries here, the rest
//! delegated to the files of each concern (`sqlite_registry`, `sqlite_daemon`,
//! `sqlite_redirect`); the pool and its transactions are in `sqlite_pool`.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use touchless_domain::{Mac, ProvUser, TenantId};

use crate::rows::sqlite::*;
use crate::sqlite_pool::*;
use crate::sqlite_registry::*;
use crate::{
    Contact, Device, DeviceFilter, DevicePatch, NewDevice, NewTenant, Result, Snapshot, Store,
    StoreError, Tenant, TenantPatch,
};

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
        record_contacts(&self.writer, batch).await
    }

    async fn contacts(&self, mac: Mac, limit: u32) -> Result<Vec<Contact>> {
        contacts(&self.reader, mac, limit).await
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
