//! The registry's row-level helpers, written once (see `queries/mod.rs`):
//! child rows (lines, settings) replaced and loaded in bulk, single tenants
//! and devices fetched with their children (one, many by MAC, a filtered
//! page), counts and the newest contacts, and the checks every write of a
//! device or tenant makes. Expanded inside `registry_store!`.

macro_rules! registry_helpers {
    () => {
        use std::collections::HashMap;

        use touchless_domain::Setting;

        use crate::validate::{check_lines, check_unique_settings};
        use crate::Line;

        const TENANT_COLS: &str = "id, name, prov_user, prov_pass, sip_host, sip_port, mode, \
             prov_scope, revision, created_at, updated_at";
        const DEVICE_COLS: &str = "mac, model, tenant_id, name, serial, status, registered_at, \
             last_message, ztprov_user, ztprov_pass, ztprov_expires_at, ztprov_used_at, \
             ztprov_next_user, ztprov_next_pass, ztprov_next_expires_at, ztprov_next_used_at, \
             prov_user, prov_pass, removing, firmware, firmware_at, revision, created_at, updated_at";

        /// The settings of one owner become exactly `settings`.
        async fn replace_settings(
            c: &mut Conn,
            owner: Owner<'_>,
            settings: &[Setting],
        ) -> Result<()> {
            check_unique_settings(settings)?;
            let (table, col, key) = owner.settings();
            sqlx::query(&format!("DELETE FROM {table} WHERE {col} = $1"))
                .bind(&key)
                .execute(&mut *c)
                .await?;
            let rows: Vec<(String, &Setting)> = settings.iter().map(|s| (key.clone(), s)).collect();
            insert_settings(c, table, col, &rows).await
        }

        /// Settings rows of any owners, in multi-row statements.
        async fn insert_settings(
            c: &mut Conn,
            table: &str,
            col: &str,
            rows: &[(String, &Setting)],
        ) -> Result<()> {
            for part in rows.chunks(1000) {
                let mut q = sqlx::QueryBuilder::new(format!(
                    "INSERT INTO {table} ({col}, name, idx, value, perm) "
                ));
                q.push_values(part, |mut b, (owner, st)| {
                    b.push_bind(owner.clone())
                        .push_bind(st.name.as_str().to_owned())
                        .push_bind(st.idx.map(i64::from))
                        .push_bind(st.value.clone())
                        .push_bind(st.perm.as_str());
                });
                q.build().execute(&mut *c).await?;
            }
            Ok(())
        }

        /// Whose settings: a closed set, so table names never come from input.
        #[derive(Clone, Copy)]
        enum Owner<'a> {
            Tenant(&'a TenantId),
            Device(Mac),
        }

        impl Owner<'_> {
            fn settings(self) -> (&'static str, &'static str, String) {
                match self {
                    Owner::Tenant(id) => ("tenant_settings", "tenant_id", id.to_string()),
                    Owner::Device(mac) => ("device_settings", "device_mac", mac.to_string()),
                }
            }
        }

        async fn replace_lines(c: &mut Conn, mac: Mac, lines: &[Line]) -> Result<()> {
            check_lines(lines)?;
            let key = mac.to_string();
            sqlx::query("DELETE FROM lines WHERE device_mac = $1")
                .bind(&key)
                .execute(&mut *c)
                .await?;
            let rows: Vec<(String, &Line)> = lines.iter().map(|l| (key.clone(), l)).collect();
            insert_lines(c, &rows).await
        }

        /// Lines of any devices, in multi-row statements.
        async fn insert_lines(c: &mut Conn, rows: &[(String, &Line)]) -> Result<()> {
            for part in rows.chunks(1000) {
                let mut q = sqlx::QueryBuilder::new(
                    "INSERT INTO lines (device_mac, idx, extension, auth_user, sip_password, display_name) ",
                );
                q.push_values(part, |mut b, (mac, l)| {
                    b.push_bind(mac.clone())
                        .push_bind(i64::from(l.idx))
                        .push_bind(l.extension.to_string())
                        .push_bind(l.auth_user.to_string())
                        .push_bind(l.sip_password.as_str().to_owned())
                        .push_bind(l.display_name.to_string());
                });
                q.build().execute(&mut *c).await?;
            }
            Ok(())
        }

        /// Loads the settings (and for devices, the lines) of the given
        /// owners. `all`: they are every row of their table, so one scan of
        /// each child table beats keyed lookups; otherwise keyed by the list.
        async fn attach_children(
            c: &mut Conn,
            tenants: &mut [Tenant],
            devices: &mut [Device],
            all: bool,
        ) -> Result<()> {
            let filter = |col: &str| {
                if all {
                    String::new()
                } else {
                    format!("WHERE {col} {}", be::in_list(1))
                }
            };
            if !tenants.is_empty() {
                let keys: Vec<String> = tenants.iter().map(|t| t.id.to_string()).collect();
                let sql = format!(
                    "SELECT tenant_id AS owner, name, idx, value, perm FROM tenant_settings {} \
                     ORDER BY tenant_id, name, idx",
                    filter("tenant_id")
                );
                let rows = keyed(sqlx::query(&sql), all, &keys)
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
                let keys: Vec<String> = devices.iter().map(|d| d.mac.to_string()).collect();
                let sql = format!(
                    "SELECT * FROM lines {} ORDER BY device_mac, idx",
                    filter("device_mac")
                );
                let lines = keyed(sqlx::query(&sql), all, &keys)
                    .fetch_all(&mut *c)
                    .await?;
                let sql = format!(
                    "SELECT device_mac AS owner, name, idx, value, perm FROM device_settings {} \
                     ORDER BY device_mac, name, idx",
                    filter("device_mac")
                );
                let settings = keyed(sqlx::query(&sql), all, &keys)
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

        /// Up to `page` devices after `after` in MAC order, with their
        /// children looked up by key: a keyset page, so a paged snapshot
        /// holds one page's rows at a time.
        async fn device_page(c: &mut Conn, after: Option<Mac>, page: usize) -> Result<Vec<Device>> {
            let rows = sqlx::query(&format!(
                "SELECT {DEVICE_COLS} FROM devices WHERE mac > $1 ORDER BY mac LIMIT $2"
            ))
            .bind(after.map(|m| m.to_string()).unwrap_or_default())
            .bind(i64::try_from(page.max(1)).unwrap_or(i64::MAX))
            .fetch_all(&mut *c)
            .await?;
            let mut devices = rows.iter().map(device_from_row).collect::<Result<Vec<_>>>()?;
            drop(rows);
            attach_children(c, &mut [], &mut devices, false).await?;
            Ok(devices)
        }

        /// The devices among `macs` that exist, with their children, in MAC
        /// order: a few statements per 5,000, whatever their number.
        async fn devices_by_mac(c: &mut Conn, macs: &[Mac]) -> Result<Vec<Device>> {
            let mut out = Vec::with_capacity(macs.len());
            for chunk in macs.chunks(5_000) {
                let keys: Vec<String> = chunk.iter().map(|m| m.to_string()).collect();
                let rows = sqlx::query(&format!(
                    "SELECT {DEVICE_COLS} FROM devices WHERE mac {} ORDER BY mac",
                    be::in_list(1)
                ))
                .bind(be::list_param(&keys))
                .fetch_all(&mut *c)
                .await?;
                let mut devices = rows.iter().map(device_from_row).collect::<Result<Vec<_>>>()?;
                attach_children(c, &mut [], &mut devices, false).await?;
                out.extend(devices);
            }
            out.sort_by_key(|d| d.mac);
            Ok(out)
        }

        /// A filtered, paged device list, with its children.
        async fn filtered_devices(c: &mut Conn, f: &DeviceFilter) -> Result<Vec<Device>> {
            let has = be::SUBSTR;
            // The version of the most specific policy for the device's model.
            let target = "COALESCE(\
                 (SELECT p.version FROM firmware_policies p WHERE p.scope = 'device' \
                  AND p.scope_key = d.mac AND p.model = d.model), \
                 (SELECT p.version FROM firmware_policies p WHERE p.scope = 'tenant' \
                  AND p.scope_key = d.tenant_id AND p.model = d.model), \
                 (SELECT p.version FROM firmware_policies p WHERE p.scope = 'installation' \
                  AND p.model = d.model))";
            let rows = sqlx::query(&format!(
                "SELECT {DEVICE_COLS} FROM devices d \
                 WHERE (CAST($1 AS TEXT) IS NULL OR tenant_id = $1) \
                 AND (CAST($2 AS TEXT) IS NULL OR status = $2) \
                 AND (CAST($3 AS TEXT) IS NULL OR model = $3) \
                 AND (CAST($4 AS TEXT) IS NULL OR {has}(lower(name), $4) > 0 OR {has}(lower(mac), $4) > 0 \
                      OR EXISTS (SELECT 1 FROM lines l WHERE l.device_mac = d.mac \
                                 AND {has}(lower(l.extension), $4) > 0)) \
                 AND (CAST($7 AS TEXT) IS NULL \
                      OR ($7 = 'behind' AND {target} IS NOT NULL \
                          AND (d.firmware IS NULL OR d.firmware <> {target})) \
                      OR ($7 = 'current' AND d.firmware = {target})) \
                 ORDER BY tenant_id, mac LIMIT $5 OFFSET $6"
            ))
            .bind(f.tenant.as_ref().map(|t| t.as_str().to_owned()))
            .bind(f.status.map(|s| s.as_str()))
            .bind(f.model.map(|m| m.as_str()))
            .bind(f.search.as_ref().map(|s| s.to_lowercase()))
            .bind(f.limit.map_or(i64::MAX, i64::from))
            .bind(i64::from(f.offset))
            .bind(f.firmware.map(|w| w.as_str()))
            .fetch_all(&mut *c)
            .await?;
            let mut ds = rows
                .iter()
                .map(device_from_row)
                .collect::<Result<Vec<_>>>()?;
            // A page is a few devices among many: look up its children only.
            let whole = f.limit.is_none()
                && f.tenant.is_none()
                && f.status.is_none()
                && f.model.is_none()
                && f.search.is_none()
                && f.firmware.is_none();
            attach_children(c, &mut [], &mut ds, whole).await?;
            Ok(ds)
        }

        /// How many devices are in each status, of one tenant or of all.
        async fn status_counts(
            c: &mut Conn,
            tenant: Option<&TenantId>,
        ) -> Result<Vec<(touchless_domain::DeviceStatus, u64)>> {
            let rows: Vec<(String, i64)> = sqlx::query_as(
                "SELECT status, COUNT(*) FROM devices \
                 WHERE (CAST($1 AS TEXT) IS NULL OR tenant_id = $1) GROUP BY status",
            )
            .bind(tenant.map(|t| t.as_str().to_owned()))
            .fetch_all(&mut *c)
            .await?;
            rows.into_iter()
                .map(|(s, n)| {
                    let st = s
                        .parse::<touchless_domain::DeviceStatus>()
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                    Ok((st, n.max(0) as u64))
                })
                .collect()
        }

        /// The newest contacts of any device (of one tenant's), newest
        /// first by id: rows are appended in time order.
        async fn newest_contacts(
            c: &mut Conn,
            tenant: Option<&TenantId>,
            limit: u32,
        ) -> Result<Vec<Contact>> {
            let rows = sqlx::query(
                "SELECT at, mac, ip, user_agent, path, status, hits FROM contacts \
                 WHERE (CAST($1 AS TEXT) IS NULL OR mac IN (SELECT mac FROM devices WHERE tenant_id = $1)) \
                 ORDER BY id DESC LIMIT $2",
            )
            .bind(tenant.map(|t| t.as_str().to_owned()))
            .bind(i64::from(limit))
            .fetch_all(&mut *c)
            .await?;
            rows.iter().map(contact_from_row).collect()
        }

        /// The list of owners bound as `$1`, unless the query reads them all.
        fn keyed<'q>(q: Query<'q>, all: bool, keys: &[String]) -> Query<'q> {
            if all {
                q
            } else {
                q.bind(be::list_param(keys))
            }
        }

        async fn fetch_tenant(c: &mut Conn, id: &TenantId) -> Result<Option<Tenant>> {
            let row = sqlx::query(&format!("SELECT {TENANT_COLS} FROM tenants WHERE id = $1"))
                .bind(id.as_str())
                .fetch_optional(&mut *c)
                .await?;
            let Some(row) = row else { return Ok(None) };
            let mut t = [tenant_from_row(&row)?];
            attach_children(c, &mut t, &mut [], false).await?;
            let [t] = t;
            Ok(Some(t))
        }

        async fn fetch_device(c: &mut Conn, mac: Mac) -> Result<Option<Device>> {
            let row = sqlx::query(&format!("SELECT {DEVICE_COLS} FROM devices WHERE mac = $1"))
                .bind(mac.to_string())
                .fetch_optional(&mut *c)
                .await?;
            let Some(row) = row else { return Ok(None) };
            let mut d = [device_from_row(&row)?];
            attach_children(c, &mut [], &mut d, false).await?;
            let [d] = d;
            Ok(Some(d))
        }

        async fn must_tenant(c: &mut Conn, id: &TenantId) -> Result<Tenant> {
            fetch_tenant(c, id)
                .await?
                .ok_or_else(|| StoreError::not_found("tenant", id))
        }

        async fn must_device(c: &mut Conn, mac: Mac) -> Result<Device> {
            fetch_device(c, mac)
                .await?
                .ok_or_else(|| StoreError::not_found("device", mac))
        }

        /// A taken id is the conflict to report, whatever else also clashes
        /// (the backends would otherwise name whichever unique index they
        /// check first).
        async fn tenant_id_free(c: &mut Conn, id: &TenantId) -> Result<()> {
            // COUNT(*) is a 64-bit integer on both backends.
            let taken: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tenants WHERE id = $1")
                .bind(id.as_str())
                .fetch_one(&mut *c)
                .await?;
            if taken > 0 {
                return Err(StoreError::Conflict(format!("tenant {id} already exists")));
            }
            Ok(())
        }

        /// `sql` (`{list}` where the MACs go, bound last; `at` bound as `$1`
        /// if given) must change one row per MAC, 10,000 MACs a statement:
        /// an unknown MAC fails the whole call.
        async fn each_device(
            c: &mut Conn,
            macs: &[Mac],
            sql: &str,
            at: Option<DateTime<Utc>>,
        ) -> Result<()> {
            let mut seen = std::collections::HashSet::new();
            let macs: Vec<Mac> = macs.iter().copied().filter(|m| seen.insert(*m)).collect();
            let n = if at.is_some() { 2 } else { 1 };
            let sql = sql.replace("{list}", &be::in_list(n));
            for chunk in macs.chunks(10_000) {
                let keys: Vec<String> = chunk.iter().map(Mac::to_string).collect();
                // Which MAC is unknown is asked first: after a DELETE it
                // could no longer be told apart from the ones it removed.
                let known: Vec<String> = sqlx::query_scalar(&format!(
                    "SELECT mac FROM devices WHERE mac {}",
                    be::in_list(1)
                ))
                .bind(be::list_param(&keys))
                .fetch_all(&mut *c)
                .await?;
                if known.len() < keys.len() {
                    let known: std::collections::HashSet<String> = known.into_iter().collect();
                    if let Some(m) = chunk.iter().find(|m| !known.contains(&m.to_string())) {
                        return Err(StoreError::not_found("device", m));
                    }
                }
                let mut q = sqlx::query(&sql);
                if let Some(at) = at {
                    q = q.bind(at);
                }
                q.bind(be::list_param(&keys)).execute(&mut *c).await?;
            }
            Ok(())
        }
    };
}

pub(crate) use registry_helpers;
