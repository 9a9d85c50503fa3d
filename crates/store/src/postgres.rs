//! The PostgreSQL backend's `Store`: the registry's queries here, the rest
//! delegated to the files of each concern (`postgres_registry`, `postgres_daemon`,
//! `postgres_redirect`); the pool and its transactions are in `postgres_pool`.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use touchless_domain::{Mac, ProvUser, TenantId};

use crate::postgres_pool::*;
use crate::postgres_registry::*;
use crate::rows::postgres::*;
use crate::{
    Action, Contact, Device, DeviceFilter, DevicePatch, Event, EventState, NewDevice, NewTenant,
    Outcome, Provider, Result, Snapshot, Store, StoreError, Tenant, TenantPatch,
};

#[async_trait]
impl Store for PgStore {
    async fn create_tenant(&self, t: &NewTenant) -> Result<Tenant> {
        let t = t.clone();
        self.write(move |c| {
            Box::pin(async move {
                crate::sql::postgres::tenant_id_free(c, &t.id).await?;
                let ts = now();
                sqlx::query(
                    "INSERT INTO tenants (id, name, prov_user, prov_pass, sip_host, sip_port, mode, created_at, updated_at, prov_scope) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9)",
                )
                .bind(t.id.as_str())
                .bind(t.name.as_str())
                .bind(t.prov_user.as_str())
                .bind(t.prov_pass.as_str())
                .bind(t.sip_host.as_str())
                .bind(i64::from(t.sip_port))
                .bind(t.mode.as_str())
                .bind(ts)
                .bind(t.prov_scope.as_str())
                .execute(&mut *c)
                .await
                .map_err(|e| tenant_conflict(e, &t.id, &t.prov_user))?;
                replace_settings(c, "tenant_settings", "tenant_id", t.id.as_str(), &t.settings).await?;
                fetch_tenant(c, &t.id).await?.ok_or_else(|| StoreError::not_found("tenant", &t.id))
            })
        })
        .await
    }

    async fn get_tenant(&self, id: &TenantId) -> Result<Option<Tenant>> {
        let mut c = self.pool.acquire().await?;
        fetch_tenant(&mut c, id).await
    }

    async fn list_tenants(&self) -> Result<Vec<Tenant>> {
        let mut c = self.pool.acquire().await?;
        let rows = sqlx::query(&format!("SELECT {TENANT_COLS} FROM tenants ORDER BY id"))
            .fetch_all(&mut *c)
            .await?;
        let mut ts = rows
            .iter()
            .map(tenant_from_row)
            .collect::<Result<Vec<_>>>()?;
        attach_children(&mut c, &mut ts, &mut []).await?;
        Ok(ts)
    }

    async fn update_tenant(&self, id: &TenantId, p: &TenantPatch) -> Result<Tenant> {
        let (id, p) = (id.clone(), p.clone());
        self.write(move |c| {
            Box::pin(async move {
                let cur = fetch_tenant(c, &id).await?.ok_or_else(|| StoreError::not_found("tenant", &id))?;
                let user = p.prov_user.clone().unwrap_or(cur.prov_user.clone());
                sqlx::query(
                    "UPDATE tenants SET name = $1, prov_user = $2, prov_pass = $3, sip_host = $4, sip_port = $5, mode = $6, \
                     revision = revision + 1, updated_at = $7, prov_scope = $9 WHERE id = $8",
                )
                .bind(p.name.as_ref().unwrap_or(&cur.name).as_str())
                .bind(user.as_str())
                .bind(p.prov_pass.as_ref().unwrap_or(&cur.prov_pass).as_str())
                .bind(p.sip_host.as_ref().unwrap_or(&cur.sip_host).as_str())
                .bind(i64::from(p.sip_port.unwrap_or(cur.sip_port)))
                .bind(p.mode.unwrap_or(cur.mode).as_str())
                .bind(now())
                .bind(id.as_str())
                .bind(p.prov_scope.unwrap_or(cur.prov_scope).as_str())
                .execute(&mut *c)
                .await
                .map_err(|e| tenant_conflict(e, &id, &user))?;
                if let Some(settings) = &p.settings {
                    replace_settings(c, "tenant_settings", "tenant_id", id.as_str(), settings).await?;
                }
                fetch_tenant(c, &id).await?.ok_or_else(|| StoreError::not_found("tenant", &id))
            })
        })
        .await
    }

    async fn delete_tenant(&self, id: &TenantId) -> Result<()> {
        let id = id.clone();
        self.write(move |c| {
            Box::pin(async move {
                let n: i64 =
                    sqlx::query_scalar("SELECT COUNT(*) FROM devices WHERE tenant_id = $1")
                        .bind(id.as_str())
                        .fetch_one(&mut *c)
                        .await?;
                if n > 0 {
                    return Err(StoreError::Conflict(format!(
                        "tenant {id} still has {n} device(s); remove them first"
                    )));
                }
                let done = sqlx::query("DELETE FROM tenants WHERE id = $1")
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
                        "INSERT INTO devices (mac, model, tenant_id, name, ztprov_user, ztprov_pass, created_at, updated_at, \
                         ztprov_expires_at, prov_user, prov_pass) VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9, $10)",
                    )
                    .bind(d.mac.to_string())
                    .bind(d.model.as_str())
                    .bind(d.tenant.as_str())
                    .bind(d.name.as_str())
                    .bind(d.ztprov_user.as_str())
                    .bind(d.ztprov_pass.as_str())
                    .bind(ts)
                    .bind(d.ztprov_expires_at)
                    .bind(d.prov_user.as_str())
                    .bind(d.prov_pass.as_str())
                    .execute(&mut *c)
                    .await
                    .map_err(|e| {
                        constraint(e, &format!("device {} already exists", d.mac), &format!("tenant {} does not exist", d.tenant))
                    })?;
                    replace_lines(c, d.mac, &d.lines).await?;
                    replace_settings(c, "device_settings", "device_mac", &d.mac.to_string(), &d.settings).await?;
                    out.push(fetch_device(c, d.mac).await?.ok_or_else(|| StoreError::not_found("device", d.mac))?);
                }
                Ok(out)
            })
        })
        .await
    }
    async fn get_device(&self, mac: Mac) -> Result<Option<Device>> {
        let mut c = self.pool.acquire().await?;
        fetch_device(&mut c, mac).await
    }

    async fn list_devices(&self, f: &DeviceFilter) -> Result<Vec<Device>> {
        let mut c = self.pool.acquire().await?;
        let rows = sqlx::query(&format!(
            "SELECT {DEVICE_COLS} FROM devices d WHERE ($1::text IS NULL OR tenant_id = $1) AND ($2::text IS NULL OR status = $2) \
             AND ($3::text IS NULL OR model = $3) AND ($4::text IS NULL OR strpos(lower(name), $4) > 0 OR strpos(lower(mac), $4) > 0 \
             OR EXISTS (SELECT 1 FROM lines l WHERE l.device_mac = d.mac AND strpos(lower(l.extension), $4) > 0)) \
             ORDER BY tenant_id, mac LIMIT $5 OFFSET $6"
        ))
        .bind(f.tenant.as_ref().map(|t| t.as_str().to_owned()))
        .bind(f.status.map(|s| s.as_str()))
        .bind(f.model.map(|m| m.as_str()))
        .bind(f.search.as_ref().map(|s| s.to_lowercase()))
        .bind(f.limit.map(i64::from))
        .bind(i64::from(f.offset))
        .fetch_all(&mut *c)
        .await?;
        let mut ds = rows
            .iter()
            .map(device_from_row)
            .collect::<Result<Vec<_>>>()?;
        attach_children(&mut c, &mut [], &mut ds).await?;
        Ok(ds)
    }

    async fn update_device(&self, mac: Mac, p: &DevicePatch) -> Result<Device> {
        let p = p.clone();
        self.write(move |c| {
            Box::pin(async move {
                let cur = fetch_device(c, mac).await?.ok_or_else(|| StoreError::not_found("device", mac))?;
                let tenant = p.tenant.clone().unwrap_or(cur.tenant.clone());
                let (zu, zp, ze, zused) = match p.ztprov.clone() {
                    Some((u, p, e)) => (u, p, Some(e), None),
                    None => (cur.ztprov_user.clone(), cur.ztprov_pass.clone(), cur.ztprov_expires_at, cur.ztprov_used_at),
                };
                let (pu, pp) = p.prov.clone().unwrap_or((cur.prov_user.clone(), cur.prov_pass.clone()));
                sqlx::query(
                    "UPDATE devices SET model = $1, tenant_id = $2, name = $3, status = $4, registered_at = $5, last_message = $6, \
                     ztprov_user = $7, ztprov_pass = $8, revision = revision + 1, updated_at = $9, ztprov_expires_at = $11, \
                     ztprov_used_at = $12, prov_user = $13, prov_pass = $14 WHERE mac = $10",
                )
                .bind(p.model.unwrap_or(cur.model).as_str())
                .bind(tenant.as_str())
                .bind(p.name.as_ref().unwrap_or(&cur.name).as_str())
                .bind(p.status.unwrap_or(cur.status).as_str())
                .bind(p.registered_at.unwrap_or(cur.registered_at))
                .bind(p.last_message.as_ref().unwrap_or(&cur.last_message))
                .bind(zu.as_str())
                .bind(zp.as_str())
                .bind(now())
                .bind(mac.to_string())
                .bind(ze)
                .bind(zused)
                .bind(pu.as_str())
                .bind(pp.as_str())
                .execute(&mut *c)
                .await
                .map_err(|e| constraint(e, "the ztprov or provisioning user is already used by another device", &format!("tenant {tenant} does not exist")))?;
                if let Some(lines) = &p.lines {
                    replace_lines(c, mac, lines).await?;
                }
                if let Some(settings) = &p.settings {
                    replace_settings(c, "device_settings", "device_mac", &mac.to_string(), settings).await?;
                }
                fetch_device(c, mac).await?.ok_or_else(|| StoreError::not_found("device", mac))
            })
        })
        .await
    }

    async fn delete_devices(&self, macs: &[Mac]) -> Result<()> {
        let macs = macs.to_vec();
        self.write(move |c| {
            Box::pin(async move { crate::sql::postgres::delete_devices(c, &macs).await })
        })
        .await
    }

    async fn mark_removing(&self, macs: &[Mac]) -> Result<()> {
        let macs = macs.to_vec();
        self.quiet(move |c| {
            Box::pin(async move { crate::sql::postgres::mark_removing(c, &macs, now()).await })
        })
        .await
    }

    async fn mark_ztprov_used(&self, uses: &[(Mac, ProvUser, DateTime<Utc>)]) -> Result<()> {
        if uses.is_empty() {
            return Ok(());
        }
        let uses = uses.to_vec();
        self.write(move |c| {
            Box::pin(async move { crate::sql::postgres::mark_used(c, &uses).await })
        })
        .await
    }

    async fn generation(&self) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT value FROM generation WHERE id = 1")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    async fn change_hints(&self) -> Option<tokio::sync::mpsc::Receiver<()>> {
        let mut listener = match sqlx::postgres::PgListener::connect_with(&self.pool).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "LISTEN unavailable; relying on polling");
                return None;
            }
        };
        if let Err(e) = listener.listen("touchless_generation").await {
            tracing::warn!(error = %e, "LISTEN failed; relying on polling");
            return None;
        }
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        tokio::spawn(async move {
            loop {
                match listener.recv().await {
                    Ok(_) => {
                        if tx.is_closed() {
                            return;
                        }
                        // A full channel already holds a hint; one is enough.
                        let _ = tx.try_send(());
                    }
                    Err(e) => {
                        // PgListener reconnects on the next recv; do not spin.
                        tracing::warn!(error = %e, "LISTEN connection lost; reconnecting");
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                }
            }
        });
        Some(rx)
    }

    async fn snapshot(&self) -> Result<Snapshot> {
        // REPEATABLE READ: the generation and the rows are one consistent view.
        let mut tx = self.pool.begin().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .execute(&mut *tx)
            .await?;
        let generation: i64 = sqlx::query_scalar("SELECT value FROM generation WHERE id = 1")
            .fetch_one(&mut *tx)
            .await?;
        let rows = sqlx::query(&format!("SELECT {TENANT_COLS} FROM tenants"))
            .fetch_all(&mut *tx)
            .await?;
        let mut tenants = rows
            .iter()
            .map(tenant_from_row)
            .collect::<Result<Vec<_>>>()?;
        let rows = sqlx::query(&format!("SELECT {DEVICE_COLS} FROM devices"))
            .fetch_all(&mut *tx)
            .await?;
        let mut devices = rows
            .iter()
            .map(device_from_row)
            .collect::<Result<Vec<_>>>()?;
        attach_children(&mut tx, &mut tenants, &mut devices).await?;
        tx.commit().await?;
        Ok(Snapshot {
            generation,
            tenants,
            devices,
        })
    }

    async fn record_contacts(&self, batch: &[Contact]) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        for chunk in batch.chunks(500) {
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
            "SELECT at, mac, ip, user_agent, path, status, hits FROM contacts WHERE mac = $1 ORDER BY at DESC, id DESC LIMIT $2",
        )
        .bind(mac.to_string())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(contact_from_row).collect()
    }

    async fn prune_contacts(&self, before: DateTime<Utc>, max_rows: u64) -> Result<u64> {
        crate::sql::prune_log(
            &self.pool,
            crate::sql::ContactTable::Phones,
            before,
            max_rows,
        )
        .await
    }

    async fn create_provider(&self, p: &Provider) -> Result<Provider> {
        crate::postgres_daemon::create_provider(self, p).await
    }

    async fn list_providers(&self) -> Result<Vec<Provider>> {
        crate::postgres_daemon::list_providers(self).await
    }

    async fn get_provider(&self, name: &str) -> Result<Option<Provider>> {
        crate::postgres_daemon::get_provider(self, name).await
    }

    async fn delete_provider(&self, name: &str) -> Result<()> {
        crate::postgres_daemon::delete_provider(self, name).await
    }

    async fn enqueue(&self, action: Action, items: &[crate::Issued]) -> Result<Vec<i64>> {
        crate::postgres_daemon::enqueue(self, action, items).await
    }

    async fn claim_events(&self, node: &str, limit: u32, lease: Duration) -> Result<Vec<Event>> {
        crate::postgres_daemon::claim_events(self, node, limit, lease).await
    }

    async fn release_leases(&self, node: &str) -> Result<u64> {
        crate::postgres_daemon::release_leases(self, node).await
    }

    async fn renew_lease(&self, id: i64, node: &str, lease: Duration) -> Result<bool> {
        crate::postgres_daemon::renew_lease(self, id, node, lease).await
    }

    async fn finish_event(&self, id: i64, node: &str, outcome: &Outcome) -> Result<bool> {
        crate::postgres_daemon::finish_event(self, id, node, outcome).await
    }

    async fn list_events(&self, state: Option<EventState>, limit: u32) -> Result<Vec<Event>> {
        crate::postgres_daemon::list_events(self, state, limit).await
    }

    async fn event_counts(&self) -> Result<Vec<(EventState, u64)>> {
        crate::postgres_daemon::event_counts(self).await
    }

    async fn get_event(&self, id: i64) -> Result<Option<Event>> {
        crate::postgres_daemon::get_event(self, id).await
    }

    async fn retry_event(&self, id: i64) -> Result<Event> {
        crate::postgres_daemon::retry_event(self, id).await
    }

    async fn meta_get_or_insert(&self, key: &str, value: &str) -> Result<String> {
        sqlx::query("INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
            .bind(key)
            .bind(value)
            .execute(&self.pool)
            .await?;
        Ok(sqlx::query_scalar("SELECT value FROM meta WHERE key = $1")
            .bind(key)
            .fetch_one(&self.pool)
            .await?)
    }

    async fn meta_set(&self, key: &str, value: &str) -> Result<()> {
        sqlx::query("INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
            .bind(key)
            .bind(value)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}
