//! The registry's queries (tenants, devices, their lines and settings, the
//! provisioning snapshot, the device contact log), written once.
//!
//! `registry_store!(Store)` expands, in a backend's module, to the helpers
//! (`rows_of.rs`, and `registry_bulk.rs`: many devices written or read at
//! once) and the whole `impl RegistryStore`. The module provides, by these names:
//! `Conn` (its connection type), `be` (its pool module: `now`, `constraint`,
//! `tenant_conflict`, `SUBSTR`, `IN_LIST`, `list_param`, and on the store
//! `write`, `quiet`, `append`, `reads`, `read_tx`, `hints`) and its row
//! mappers (`tenant_from_row`, `device_from_row`, …, from `rows.rs`).

macro_rules! registry_store {
    ($store:ty) => {
        use chrono::{DateTime, Utc};
        use touchless_domain::{Mac, ProvUser, TenantId};

        use crate::{
            Changes, Contact, Device, DeviceFilter, DevicePatch, NewDevice, NewTenant,
            RegistryStore, Result, SnapshotPart, StoreError, Tenant, TenantPatch,
        };

        crate::queries::rows_of::registry_helpers!();

        crate::queries::registry_bulk::registry_bulk!();

        #[async_trait::async_trait]
        impl RegistryStore for $store {
            async fn create_tenant(&self, t: &NewTenant) -> Result<Tenant> {
                let t = t.clone();
                self.write(move |c| {
                    Box::pin(async move {
                        tenant_id_free(c, &t.id).await?;
                        sqlx::query(
                            "INSERT INTO tenants (id, name, prov_user, prov_pass, sip_host, sip_port, mode, \
                             prov_scope, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
                        )
                        .bind(t.id.as_str())
                        .bind(t.name.as_str())
                        .bind(t.prov_user.as_str())
                        .bind(t.prov_pass.as_str())
                        .bind(t.sip_host.as_str())
                        .bind(i64::from(t.sip_port))
                        .bind(t.mode.as_str())
                        .bind(t.prov_scope.as_str())
                        .bind(be::now())
                        .execute(&mut *c)
                        .await
                        .map_err(|e| be::tenant_conflict(e, &t.id, &t.prov_user))?;
                        replace_settings(c, Owner::Tenant(&t.id), &t.settings).await?;
                        must_tenant(c, &t.id).await
                    })
                })
                .await
            }

            async fn get_tenant(&self, id: &TenantId) -> Result<Option<Tenant>> {
                let mut c = self.reads().acquire().await?;
                fetch_tenant(&mut c, id).await
            }

            async fn list_tenants(&self) -> Result<Vec<Tenant>> {
                let mut c = self.reads().acquire().await?;
                let rows = sqlx::query(&format!("SELECT {TENANT_COLS} FROM tenants ORDER BY id"))
                    .fetch_all(&mut *c)
                    .await?;
                let mut ts = rows
                    .iter()
                    .map(tenant_from_row)
                    .collect::<Result<Vec<_>>>()?;
                attach_children(&mut c, &mut ts, &mut [], true).await?;
                Ok(ts)
            }

            async fn update_tenant(&self, id: &TenantId, p: &TenantPatch) -> Result<Tenant> {
                let (id, p) = (id.clone(), p.clone());
                self.write(move |c| {
                    Box::pin(async move {
                        let cur = must_tenant(c, &id).await?;
                        let user = p.prov_user.clone().unwrap_or(cur.prov_user.clone());
                        sqlx::query(
                            "UPDATE tenants SET name = $1, prov_user = $2, prov_pass = $3, sip_host = $4, \
                             sip_port = $5, mode = $6, prov_scope = $7, revision = revision + 1, \
                             updated_at = $8 WHERE id = $9",
                        )
                        .bind(p.name.as_ref().unwrap_or(&cur.name).as_str())
                        .bind(user.as_str())
                        .bind(p.prov_pass.as_ref().unwrap_or(&cur.prov_pass).as_str())
                        .bind(p.sip_host.as_ref().unwrap_or(&cur.sip_host).as_str())
                        .bind(i64::from(p.sip_port.unwrap_or(cur.sip_port)))
                        .bind(p.mode.unwrap_or(cur.mode).as_str())
                        .bind(p.prov_scope.unwrap_or(cur.prov_scope).as_str())
                        .bind(be::now())
                        .bind(id.as_str())
                        .execute(&mut *c)
                        .await
                        .map_err(|e| be::tenant_conflict(e, &id, &user))?;
                        if let Some(settings) = &p.settings {
                            replace_settings(c, Owner::Tenant(&id), settings).await?;
                        }
                        must_tenant(c, &id).await
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
                let created = self
                    .write(move |c| {
                        Box::pin(async move { insert_devices(c, &ds, be::now()).await })
                    })
                    .await?;
                self.after_create_devices(created.len()).await;
                Ok(created)
            }

            async fn get_device(&self, mac: Mac) -> Result<Option<Device>> {
                let mut c = self.reads().acquire().await?;
                fetch_device(&mut c, mac).await
            }

            async fn device_counts(
                &self,
                tenant: Option<&TenantId>,
            ) -> Result<Vec<(touchless_domain::DeviceStatus, u64)>> {
                let mut c = self.reads().acquire().await?;
                status_counts(&mut c, tenant).await
            }

            async fn get_devices(&self, macs: &[Mac]) -> Result<Vec<Device>> {
                let mut c = self.reads().acquire().await?;
                devices_by_mac(&mut c, macs).await
            }

            async fn list_devices(&self, f: &DeviceFilter) -> Result<Vec<Device>> {
                let mut c = self.reads().acquire().await?;
                filtered_devices(&mut c, f).await
            }

            async fn may_be_registered(&self, macs: &[Mac]) -> Result<Vec<(Mac, bool)>> {
                let mut known: HashMap<String, bool> = HashMap::new();
                for chunk in macs.chunks(10_000) {
                    let keys: Vec<String> = chunk.iter().map(Mac::to_string).collect();
                    let rows: Vec<(String, bool)> = sqlx::query_as(&format!(
                        "SELECT mac, (status <> 'unregistered' OR registered_at IS NOT NULL) \
                         FROM devices WHERE mac {}",
                        be::in_list(1)
                    ))
                    .bind(be::list_param(&keys))
                    .fetch_all(self.reads())
                    .await?;
                    known.extend(rows);
                }
                macs.iter()
                    .map(|m| match known.get(&m.to_string()) {
                        Some(r) => Ok((*m, *r)),
                        None => Err(StoreError::not_found("device", m)),
                    })
                    .collect()
            }

            async fn device_macs(&self, tenant: Option<&TenantId>) -> Result<Vec<Mac>> {
                let keys: Vec<String> = sqlx::query_scalar(
                    "SELECT mac FROM devices WHERE (CAST($1 AS TEXT) IS NULL OR tenant_id = $1) \
                     ORDER BY tenant_id, mac",
                )
                .bind(tenant.map(|t| t.as_str().to_owned()))
                .fetch_all(self.reads())
                .await?;
                keys.iter()
                    .map(|k| Mac::parse_stored(k).map_err(StoreError::from))
                    .collect()
            }

            async fn update_device(&self, mac: Mac, p: &DevicePatch) -> Result<Device> {
                let p = p.clone();
                self.write(move |c| {
                    Box::pin(async move {
                        let cur = must_device(c, mac).await?;
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
                            "UPDATE devices SET model = $1, tenant_id = $2, name = $3, status = $4, \
                             registered_at = $5, last_message = $6, ztprov_user = $7, ztprov_pass = $8, \
                             ztprov_expires_at = $9, ztprov_used_at = $10, prov_user = $11, prov_pass = $12, \
                             serial = $13, revision = revision + 1, updated_at = $14 WHERE mac = $15",
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
                        .bind(
                            p.serial
                                .clone()
                                .unwrap_or_else(|| cur.serial.clone())
                                .map(|s| s.to_string()),
                        )
                        .bind(be::now())
                        .bind(mac.to_string())
                        .execute(&mut *c)
                        .await
                        .map_err(|e| {
                            be::constraint(
                                e,
                                "the ztprov or provisioning user is already used by another device",
                                &format!("tenant {tenant} does not exist"),
                            )
                        })?;
                        if let Some(lines) = &p.lines {
                            replace_lines(c, mac, lines).await?;
                        }
                        if let Some(settings) = &p.settings {
                            replace_settings(c, Owner::Device(mac), settings).await?;
                        }
                        must_device(c, mac).await
                    })
                })
                .await
            }

            async fn delete_devices(&self, macs: &[Mac]) -> Result<()> {
                if macs.is_empty() {
                    // No write: an empty one would still move the generation.
                    return Ok(());
                }
                let macs = macs.to_vec();
                self.write(move |c| {
                    Box::pin(async move {
                        each_device(c, &macs, crate::sql::DELETE_DEVICE, None).await
                    })
                })
                .await
            }

            async fn mark_removing(&self, macs: &[Mac]) -> Result<()> {
                let macs = macs.to_vec();
                self.quiet(move |c| {
                    Box::pin(async move {
                        each_device(c, &macs, crate::sql::MARK_REMOVING, Some(be::now())).await
                    })
                })
                .await
            }

            async fn mark_ztprov_used(
                &self,
                uses: &[(Mac, ProvUser, DateTime<Utc>)],
            ) -> Result<()> {
                if uses.is_empty() {
                    return Ok(());
                }
                let uses = uses.to_vec();
                self.write(move |c| {
                    Box::pin(async move {
                        for (mac, user, at) in &uses {
                            for q in [crate::sql::MARK_USED, crate::sql::MARK_NEXT_USED] {
                                sqlx::query(q)
                                    .bind(*at)
                                    .bind(mac.to_string())
                                    .bind(user.as_str())
                                    .execute(&mut *c)
                                    .await?;
                            }
                        }
                        Ok(())
                    })
                })
                .await
            }

            async fn generation(&self) -> Result<i64> {
                Ok(sqlx::query_scalar("SELECT value FROM generation WHERE id = 1")
                    .fetch_one(self.reads())
                    .await?)
            }

            async fn change_hints(&self) -> Option<tokio::sync::mpsc::Receiver<()>> {
                self.hints().await
            }

            async fn snapshot_pages(
                &self,
                page: usize,
                sink: &mut (dyn FnMut(SnapshotPart) + Send),
            ) -> Result<i64> {
                // One read transaction: the generation and the rows belong together.
                let mut tx = self.read_tx().await?;
                let generation = generation_in(&mut tx).await?;
                sink(SnapshotPart::Firmware(all_policies(&mut tx).await?));
                let rows = sqlx::query(&format!("SELECT {TENANT_COLS} FROM tenants"))
                    .fetch_all(&mut *tx)
                    .await?;
                let mut tenants = rows.iter().map(tenant_from_row).collect::<Result<Vec<_>>>()?;
                drop(rows);
                attach_children(&mut tx, &mut tenants, &mut [], true).await?;
                sink(SnapshotPart::Tenants(tenants));
                let mut after = None;
                loop {
                    let devices = device_page(&mut tx, after, page).await?;
                    let Some(last) = devices.last() else { break };
                    after = Some(last.mac);
                    let full = devices.len() >= page;
                    sink(SnapshotPart::Devices(devices));
                    if !full {
                        break;
                    }
                }
                tx.commit().await?;
                Ok(generation)
            }

            async fn changes_since_at_most(&self, since: i64, max_devices: usize) -> Result<Changes> {
                let mut tx = self.read_tx().await?;
                let out = changes_after(&mut tx, since, max_devices).await?;
                tx.commit().await?;
                Ok(out)
            }

            async fn prune_tombstones(&self, keep: u64) -> Result<u64> {
                let keep = i64::try_from(keep).unwrap_or(i64::MAX);
                self.append(move |c| {
                    Box::pin(async move {
                        let cut: Option<i64> = sqlx::query_scalar(
                            "SELECT gen FROM tombstones ORDER BY gen DESC LIMIT 1 OFFSET $1",
                        )
                        .bind(keep)
                        .fetch_optional(&mut *c)
                        .await?;
                        let Some(cut) = cut else { return Ok(0) };
                        // Everything at or below `cut` goes: a reader at a
                        // generation below `cut + 1` must read a snapshot.
                        let done = sqlx::query("DELETE FROM tombstones WHERE gen <= $1")
                            .bind(cut)
                            .execute(&mut *c)
                            .await?;
                        sqlx::query(
                            "INSERT INTO meta (key, value) VALUES ($1, $2) \
                             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                        )
                        .bind(PRUNED_BELOW)
                        .bind((cut + 1).to_string())
                        .execute(&mut *c)
                        .await?;
                        Ok(done.rows_affected())
                    })
                })
                .await
            }

            async fn record_contacts(&self, batch: &[Contact]) -> Result<()> {
                if batch.is_empty() {
                    return Ok(());
                }
                let batch = batch.to_vec();
                // Not through `write`: contacts do not change what is
                // provisioned, so they must not make every node reload.
                self.append(move |c| {
                    Box::pin(async move {
                        // Multi-row INSERTs: one statement per 100 rows.
                        for chunk in batch.chunks(100) {
                            let mut q = sqlx::QueryBuilder::new(
                                "INSERT INTO contacts (at, mac, ip, user_agent, path, status, hits) ",
                            );
                            q.push_values(chunk, |mut b, ct| {
                                b.push_bind(ct.at)
                                    .push_bind(ct.mac.to_string())
                                    .push_bind(ct.ip.clone())
                                    .push_bind(ct.user_agent.clone())
                                    .push_bind(ct.path.clone())
                                    .push_bind(i64::from(ct.status))
                                    .push_bind(i64::from(ct.hits));
                            });
                            q.build().execute(&mut *c).await?;
                        }
                        // The firmware each phone reports, from the
                        // User-Agent of a fetch that passed authentication
                        // (a 2xx): the newest per device, written only when
                        // it changed.
                        let mut reported: HashMap<Mac, (String, DateTime<Utc>)> = HashMap::new();
                        for ct in batch.iter().filter(|c| (200..300).contains(&c.status)) {
                            let Some(ua) = touchless_phones::parse_user_agent(&ct.user_agent) else {
                                continue;
                            };
                            if ua.mac.is_some_and(|m| m != ct.mac) {
                                continue;
                            }
                            if let Ok(v) = touchless_domain::FirmwareVersion::parse(&ua.firmware) {
                                reported.insert(ct.mac, (v.into_string(), ct.at));
                            }
                        }
                        for (mac, (version, at)) in reported {
                            sqlx::query(
                                "UPDATE devices SET firmware = $1, firmware_at = $2 \
                                 WHERE mac = $3 AND (firmware IS NULL OR firmware <> $1)",
                            )
                            .bind(version)
                            .bind(at)
                            .bind(mac.to_string())
                            .execute(&mut *c)
                            .await?;
                        }
                        Ok(())
                    })
                })
                .await
            }

            async fn contacts(&self, mac: Mac, limit: u32) -> Result<Vec<Contact>> {
                let rows = sqlx::query(
                    "SELECT at, mac, ip, user_agent, path, status, hits FROM contacts \
                     WHERE mac = $1 ORDER BY at DESC, id DESC LIMIT $2",
                )
                .bind(mac.to_string())
                .bind(i64::from(limit))
                .fetch_all(self.reads())
                .await?;
                rows.iter().map(contact_from_row).collect()
            }

            async fn recent_contacts(
                &self,
                tenant: Option<&TenantId>,
                limit: u32,
            ) -> Result<Vec<Contact>> {
                let mut c = self.reads().acquire().await?;
                newest_contacts(&mut c, tenant, limit).await
            }

            async fn record_upload(
                &self,
                mac: Mac,
                kind: &str,
                at: DateTime<Utc>,
                content: &[u8],
                keep: u32,
            ) -> Result<()> {
                let (mac, kind, content) = (mac.to_string(), kind.to_owned(), content.to_vec());
                // Not through `write`: an upload changes nothing provisioned.
                self.append(move |c| {
                    Box::pin(async move {
                        sqlx::query(
                            "INSERT INTO uploads (mac, kind, at, size, content) VALUES ($1, $2, $3, $4, $5)",
                        )
                        .bind(&mac)
                        .bind(&kind)
                        .bind(at)
                        .bind(content.len() as i64)
                        .bind(&content)
                        .execute(&mut *c)
                        .await?;
                        sqlx::query(
                            "DELETE FROM uploads WHERE mac = $1 AND kind = $2 AND id NOT IN \
                             (SELECT id FROM uploads WHERE mac = $1 AND kind = $2 ORDER BY id DESC LIMIT $3)",
                        )
                        .bind(&mac)
                        .bind(&kind)
                        .bind(i64::from(keep))
                        .execute(&mut *c)
                        .await?;
                        Ok(())
                    })
                })
                .await
            }

            async fn uploads(&self, mac: Mac) -> Result<Vec<crate::Upload>> {
                let rows = sqlx::query(
                    "SELECT id, mac, kind, at, size FROM uploads WHERE mac = $1 ORDER BY id DESC",
                )
                .bind(mac.to_string())
                .fetch_all(self.reads())
                .await?;
                rows.iter().map(upload_from_row).collect()
            }

            async fn upload_content(
                &self,
                mac: Mac,
                id: i64,
            ) -> Result<Option<(crate::Upload, Vec<u8>)>> {
                let row = sqlx::query(
                    "SELECT id, mac, kind, at, size, content FROM uploads WHERE mac = $1 AND id = $2",
                )
                .bind(mac.to_string())
                .bind(id)
                .fetch_optional(self.reads())
                .await?;
                match row {
                    Some(r) => Ok(Some((upload_from_row(&r)?, sqlx::Row::try_get(&r, "content")?))),
                    None => Ok(None),
                }
            }

            async fn prune_uploads(&self, before: DateTime<Utc>) -> Result<u64> {
                self.append(move |c| {
                    Box::pin(async move {
                        let done = sqlx::query("DELETE FROM uploads WHERE at < $1")
                            .bind(before)
                            .execute(&mut *c)
                            .await?;
                        Ok(done.rows_affected())
                    })
                })
                .await
            }

            async fn prune_contacts(&self, before: DateTime<Utc>, max_rows: u64) -> Result<u64> {
                crate::sql::prune_log(
                    self.log_pool(),
                    crate::sql::ContactTable::Phones,
                    before,
                    max_rows,
                )
                .await
            }
        }
    };
}

pub(crate) use registry_store;
