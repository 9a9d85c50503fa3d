//! The registry's statements over many rows at once, for `registry_store!`:
//! a bulk of new devices inserted in a few multi-row statements, and the
//! changes after a generation (what a view's reload reads: the rows written
//! since, the tombstones, or only that too many devices changed). Expanded
//! in the same module, with the same names in scope.

macro_rules! registry_bulk {
    () => {
        /// A bulk of new devices in a few multi-row statements (what is
        /// wrong is found first, so the error names the device or tenant).
        async fn insert_devices(
            c: &mut Conn,
            ds: &[NewDevice],
            ts: DateTime<Utc>,
        ) -> Result<Vec<Device>> {
            let mut seen = std::collections::HashSet::new();
            for d in ds {
                if !seen.insert(d.mac) {
                    return Err(StoreError::Conflict(format!("device {} is given twice", d.mac)));
                }
                check_lines(&d.lines)?;
                check_unique_settings(&d.settings)?;
            }
            let keys: Vec<String> = ds.iter().map(|d| d.mac.to_string()).collect();
            let taken: Option<String> =
                sqlx::query_scalar(&format!("SELECT mac FROM devices WHERE mac {}", be::in_list(1)))
                    .bind(be::list_param(&keys))
                    .fetch_optional(&mut *c)
            .await?;
            if let Some(mac) = taken {
                return Err(StoreError::Conflict(format!("device {mac} already exists")));
            }
            let mut tenants: Vec<String> = ds.iter().map(|d| d.tenant.to_string()).collect();
            tenants.sort();
            tenants.dedup();
            let known: Vec<String> =
                sqlx::query_scalar(&format!("SELECT id FROM tenants WHERE id {}", be::in_list(1)))
                    .bind(be::list_param(&tenants))
                    .fetch_all(&mut *c)
            .await?;
            if let Some(t) = tenants.iter().find(|t| !known.contains(t)) {
                return Err(StoreError::Invalid {
                    field: "tenant",
                    message: format!("tenant {t} does not exist"),
                });
            }
            // Well under both databases' limit on bound values per statement.
            for chunk in ds.chunks(500) {
                let mut q = sqlx::QueryBuilder::new(
                    "INSERT INTO devices (mac, model, tenant_id, name, serial, ztprov_user, ztprov_pass, \
                     ztprov_expires_at, prov_user, prov_pass, created_at, updated_at) ",
                );
                q.push_values(chunk, |mut b, d| {
                    b.push_bind(d.mac.to_string())
                        .push_bind(d.model.as_str())
                        .push_bind(d.tenant.to_string())
                        .push_bind(d.name.to_string())
                        .push_bind(d.serial.as_ref().map(|s| s.to_string()))
                        .push_bind(d.ztprov_user.to_string())
                        .push_bind(d.ztprov_pass.as_str().to_owned())
                        .push_bind(d.ztprov_expires_at)
                        .push_bind(d.prov_user.to_string())
                        .push_bind(d.prov_pass.as_str().to_owned())
                        .push_bind(ts)
                        .push_bind(ts);
                });
                q.build().execute(&mut *c).await.map_err(|e| {
                    be::constraint(
                        e,
                        "the ztprov or provisioning user is already used by another device",
                        "a tenant does not exist",
                    )
                })?;
                let lines: Vec<(String, &Line)> = chunk
                    .iter()
                    .flat_map(|d| d.lines.iter().map(move |l| (d.mac.to_string(), l)))
                    .collect();
                insert_lines(c, &lines).await?;
                let settings: Vec<(String, &Setting)> = chunk
                    .iter()
                    .flat_map(|d| d.settings.iter().map(move |s| (d.mac.to_string(), s)))
                    .collect();
                insert_settings(c, "device_settings", "device_mac", &settings).await?;
            }
            let rows = keyed(
                sqlx::query(&format!("SELECT {DEVICE_COLS} FROM devices WHERE mac {}", be::in_list(1))),
                false,
                &keys,
            )
            .fetch_all(&mut *c)
            .await?;
            let mut made = rows
                .iter()
                .map(device_from_row)
                .collect::<Result<Vec<_>>>()?;
            attach_children(c, &mut [], &mut made, false).await?;
            let mut by: HashMap<Mac, Device> = made.into_iter().map(|d| (d.mac, d)).collect();
            ds.iter()
                .map(|d| by.remove(&d.mac).ok_or_else(|| StoreError::not_found("device", d.mac)))
                .collect()
        }

        /// `meta` key: tombstones of generations below this value are gone.
        const PRUNED_BELOW: &str = "tombstones_pruned_below";

        /// The generation, as of the caller's transaction.
        async fn generation_in(c: &mut Conn) -> Result<i64> {
            Ok(sqlx::query_scalar("SELECT value FROM generation WHERE id = 1")
                .fetch_one(&mut *c)
                .await?)
        }

        /// What changed after `since` (`RegistryStore::changes_since_at_most`),
        /// in the caller's read transaction, so that it all belongs together.
        async fn changes_after(c: &mut Conn, since: i64, max_devices: usize) -> Result<Changes> {
            let generation = generation_in(c).await?;
            if max_devices < usize::MAX {
                // Counted through the index on `gen`.
                let changed: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM devices WHERE gen > $1")
                    .bind(since)
                    .fetch_one(&mut *c)
                    .await?;
                if usize::try_from(changed).unwrap_or(usize::MAX) > max_devices {
                    return Ok(Changes {
                        generation,
                        too_many: true,
                        ..Changes::default()
                    });
                }
            }
            let rows = sqlx::query(&format!("SELECT {TENANT_COLS} FROM tenants WHERE gen > $1"))
                .bind(since)
                .fetch_all(&mut *c)
                .await?;
            let mut tenants = rows.iter().map(tenant_from_row).collect::<Result<Vec<_>>>()?;
            let rows = sqlx::query(&format!("SELECT {DEVICE_COLS} FROM devices WHERE gen > $1"))
                .bind(since)
                .fetch_all(&mut *c)
                .await?;
            let mut devices = rows.iter().map(device_from_row).collect::<Result<Vec<_>>>()?;
            drop(rows);
            attach_children(c, &mut tenants, &mut devices, false).await?;
            let pruned_below: Option<String> =
                sqlx::query_scalar("SELECT value FROM meta WHERE key = $1")
                    .bind(PRUNED_BELOW)
                    .fetch_optional(&mut *c)
                    .await?;
            let stale = pruned_below
                .and_then(|v| v.parse::<i64>().ok())
                .is_some_and(|g| since < g);
            let gone: Vec<(String, String)> =
                sqlx::query_as("SELECT kind, key FROM tombstones WHERE gen > $1")
                    .bind(since)
                    .fetch_all(&mut *c)
                    .await?;
            let mut out = Changes {
                generation,
                tenants,
                devices,
                stale,
                firmware: policies_after(c, since).await?,
                ..Changes::default()
            };
            for (kind, key) in gone {
                match kind.as_str() {
                    "tenant" => out.gone_tenants.push(TenantId::parse(&key)?),
                    _ => out.gone_devices.push(Mac::parse_stored(&key)?),
                }
            }
            Ok(out)
        }
    };
}

pub(crate) use registry_bulk;
