//! The redirection service's queries (companies, API keys, profiles,
//! endpoints with one owner per MAC, Hawk nonces, phone contacts), written
//! once; see `queries/mod.rs`. The instantiating module provides `Row`,
//! `lock_mac` (PostgreSQL serialises a MAC's claim with an advisory lock;
//! SQLite's single writer already does) and `fk_or` (its error codes).
//!
//! These writes do not bump the registry generation: nothing the
//! provisioning server caches depends on them.

macro_rules! redirect_store {
    ($store:ty) => {
        use chrono::{DateTime, Utc};
        use touchless_domain::Mac;

        use crate::{
            ApiKey, Company, Endpoint, EndpointIn, Profile, ProfileIn, RedirectContact,
            RedirectStore, Result, Role, SettingValues, StoreError,
        };

        fn to_json(s: &SettingValues) -> String {
            serde_json::to_string(s).unwrap_or_else(|_| "{}".into())
        }

        const PROFILE_COLS: &str = "id, company_id, name, product_group, autoprovisioning_enabled, settings, created_at, updated_at";
        const ENDPOINT_COLS: &str =
            "mac, company_id, name, autoprovisioning_enabled, profile_id, settings, created_at, updated_at";

        #[async_trait::async_trait]
        impl RedirectStore for $store {
            async fn create_company(&self, id: &str, name: &str) -> Result<Company> {
                let at = be::now();
                sqlx::query("INSERT INTO companies (id, name, created_at) VALUES ($1, $2, $3)")
                    .bind(id)
                    .bind(name)
                    .bind(at)
                    .execute(self.writes())
                    .await
                    .map_err(|e| fk_or(e, &format!("company {id}")))?;
                Ok(Company {
                    id: id.to_owned(),
                    name: name.to_owned(),
                    created_at: at,
                })
            }

            async fn get_company(&self, id: &str) -> Result<Option<Company>> {
                let row = sqlx::query("SELECT id, name, created_at FROM companies WHERE id = $1")
                    .bind(id)
                    .fetch_optional(self.reads())
                    .await?;
                row.as_ref().map(company_row).transpose()
            }

            async fn list_companies(&self) -> Result<Vec<Company>> {
                let rows = sqlx::query("SELECT id, name, created_at FROM companies ORDER BY name, id")
                    .fetch_all(self.reads())
                    .await?;
                rows.iter().map(company_row).collect()
            }

            async fn create_api_key(
                &self,
                id: &str,
                company: &str,
                secret: &str,
                role: Role,
            ) -> Result<ApiKey> {
                sqlx::query("INSERT INTO api_keys (id, company_id, secret, role, created_at) VALUES ($1, $2, $3, $4, $5)")
                    .bind(id)
                    .bind(company)
                    .bind(secret)
                    .bind(role.as_str())
                    .bind(be::now())
                    .execute(self.writes())
                    .await
                    .map_err(|e| fk_or(e, &format!("company {company}")))?;
                self.get_api_key(id)
                    .await?
                    .ok_or_else(|| StoreError::not_found("API key", id))
            }

            async fn get_api_key(&self, id: &str) -> Result<Option<ApiKey>> {
                let row = sqlx::query("SELECT * FROM api_keys WHERE id = $1")
                    .bind(id)
                    .fetch_optional(self.reads())
                    .await?;
                row.as_ref().map(key_row).transpose()
            }

            async fn list_api_keys(&self, company: Option<&str>) -> Result<Vec<ApiKey>> {
                let rows = sqlx::query("SELECT * FROM api_keys WHERE (CAST($1 AS TEXT) IS NULL OR company_id = $1) ORDER BY company_id, created_at, id")
                    .bind(company)
                    .fetch_all(self.reads())
                    .await?;
                rows.iter().map(key_row).collect()
            }

            async fn set_api_key_enabled(&self, id: &str, enabled: bool) -> Result<ApiKey> {
                let done = sqlx::query("UPDATE api_keys SET enabled = $1 WHERE id = $2")
                    .bind(enabled)
                    .bind(id)
                    .execute(self.writes())
                    .await?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::not_found("API key", id));
                }
                self.get_api_key(id)
                    .await?
                    .ok_or_else(|| StoreError::not_found("API key", id))
            }

            async fn touch_api_key(&self, id: &str, at: DateTime<Utc>) -> Result<()> {
                sqlx::query("UPDATE api_keys SET last_used_at = $1 WHERE id = $2")
                    .bind(at)
                    .bind(id)
                    .execute(self.writes())
                    .await?;
                Ok(())
            }

            async fn create_profile(&self, id: &str, company: &str, p: &ProfileIn) -> Result<Profile> {
                sqlx::query(
                    "INSERT INTO profiles (id, company_id, name, product_group, autoprovisioning_enabled, settings, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
                )
                .bind(id)
                .bind(company)
                .bind(&p.name)
                .bind(&p.product_group)
                .bind(p.autoprovisioning_enabled)
                .bind(to_json(&p.settings))
                .bind(be::now())
                .execute(self.writes())
                .await
                .map_err(|e| fk_or(e, &format!("company {company}")))?;
                self.get_profile(company, id)
                    .await?
                    .ok_or_else(|| StoreError::not_found("profile", id))
            }

            async fn get_profile(&self, company: &str, id: &str) -> Result<Option<Profile>> {
                let row = sqlx::query(&format!(
                    "SELECT {PROFILE_COLS} FROM profiles WHERE id = $1 AND company_id = $2"
                ))
                .bind(id)
                .bind(company)
                .fetch_optional(self.reads())
                .await?;
                row.as_ref().map(profile_row).transpose()
            }

            async fn list_profiles(&self, company: &str) -> Result<Vec<Profile>> {
                let rows = sqlx::query(&format!(
                    "SELECT {PROFILE_COLS} FROM profiles WHERE company_id = $1 ORDER BY name, id"
                ))
                .bind(company)
                .fetch_all(self.reads())
                .await?;
                rows.iter().map(profile_row).collect()
            }

            async fn replace_profile(&self, company: &str, id: &str, p: &ProfileIn) -> Result<Profile> {
                let done = sqlx::query(
                    "UPDATE profiles SET name = $1, product_group = $2, autoprovisioning_enabled = $3, settings = $4, updated_at = $5 \
                     WHERE id = $6 AND company_id = $7",
                )
                .bind(&p.name)
                .bind(&p.product_group)
                .bind(p.autoprovisioning_enabled)
                .bind(to_json(&p.settings))
                .bind(be::now())
                .bind(id)
                .bind(company)
                .execute(self.writes())
                .await?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::not_found("profile", id));
                }
                self.get_profile(company, id)
                    .await?
                    .ok_or_else(|| StoreError::not_found("profile", id))
            }

            async fn delete_profile(&self, company: &str, id: &str) -> Result<()> {
                let done = sqlx::query("DELETE FROM profiles WHERE id = $1 AND company_id = $2")
                    .bind(id)
                    .bind(company)
                    .execute(self.writes())
                    .await?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::not_found("profile", id));
                }
                Ok(())
            }

            async fn put_endpoint(&self, company: &str, e: &EndpointIn) -> Result<(Endpoint, bool)> {
                let mut tx = self.begin_write().await?;
                // Two companies cannot claim the same MAC at once.
                lock_mac(&mut tx, e.mac).await?;
                let owner: Option<String> =
                    sqlx::query_scalar("SELECT company_id FROM endpoints WHERE mac = $1")
                        .bind(e.mac.to_string())
                        .fetch_optional(&mut *tx)
                        .await?;
                if owner.as_deref().is_some_and(|o| o != company) {
                    return Err(StoreError::Forbidden(format!(
                        "taken_mac_or_forbidden: MAC {} is owned by another account",
                        e.mac
                    )));
                }
                if let Some(p) = &e.profile {
                    let ok: Option<i32> =
                        sqlx::query_scalar("SELECT 1 FROM profiles WHERE id = $1 AND company_id = $2")
                            .bind(p)
                            .bind(company)
                            .fetch_optional(&mut *tx)
                            .await?;
                    if ok.is_none() {
                        return Err(StoreError::Invalid {
                            field: "provisioning_profile",
                            message: format!("provisioning profile {p} does not exist"),
                        });
                    }
                }
                let at = be::now();
                sqlx::query(
                    "INSERT INTO endpoints (mac, company_id, name, autoprovisioning_enabled, profile_id, settings, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
                     ON CONFLICT (mac) DO UPDATE SET name = excluded.name, autoprovisioning_enabled = excluded.autoprovisioning_enabled, \
                     profile_id = excluded.profile_id, settings = excluded.settings, updated_at = excluded.updated_at",
                )
                .bind(e.mac.to_string())
                .bind(company)
                .bind(&e.name)
                .bind(e.autoprovisioning_enabled)
                .bind(&e.profile)
                .bind(to_json(&e.settings))
                .bind(at)
                .execute(&mut *tx)
                .await
                .map_err(|err| fk_or(err, &format!("company {company}")))?;
                let row = sqlx::query(&format!(
                    "SELECT {ENDPOINT_COLS} FROM endpoints WHERE mac = $1"
                ))
                .bind(e.mac.to_string())
                .fetch_one(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok((endpoint_row(&row)?, owner.is_none()))
            }

            async fn get_endpoint(&self, mac: Mac) -> Result<Option<Endpoint>> {
                let row = sqlx::query(&format!(
                    "SELECT {ENDPOINT_COLS} FROM endpoints WHERE mac = $1"
                ))
                .bind(mac.to_string())
                .fetch_optional(self.reads())
                .await?;
                row.as_ref().map(endpoint_row).transpose()
            }

            async fn get_enabled_endpoint(&self, mac: Mac) -> Result<Option<Endpoint>> {
                let row = sqlx::query(&format!(
                    "SELECT {ENDPOINT_COLS} FROM endpoints WHERE mac = $1 AND autoprovisioning_enabled"
                ))
                .bind(mac.to_string())
                .fetch_optional(self.reads())
                .await?;
                row.as_ref().map(endpoint_row).transpose()
            }

            async fn list_endpoints(
                &self,
                company: Option<&str>,
                offset: u64,
                limit: u64,
            ) -> Result<(Vec<Endpoint>, u64)> {
                let rows: Vec<Row> = sqlx::query(&format!(
                    "SELECT {ENDPOINT_COLS} FROM endpoints WHERE (CAST($1 AS TEXT) IS NULL OR company_id = $1) ORDER BY mac LIMIT $2 OFFSET $3"
                ))
                .bind(company)
                .bind(limit as i64)
                .bind(offset as i64)
                .fetch_all(self.reads())
                .await?;
                let total: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM endpoints WHERE (CAST($1 AS TEXT) IS NULL OR company_id = $1)",
                )
                .bind(company)
                .fetch_one(self.reads())
                .await?;
                Ok((
                    rows.iter().map(endpoint_row).collect::<Result<_>>()?,
                    total as u64,
                ))
            }

            async fn delete_endpoint(&self, company: &str, mac: Mac) -> Result<()> {
                let mut tx = self.begin_write().await?;
                let owner: Option<String> =
                    sqlx::query_scalar(&format!("SELECT company_id FROM endpoints WHERE mac = $1{}", be::LOCK_ROW))
                        .bind(mac.to_string())
                        .fetch_optional(&mut *tx)
                        .await?;
                match owner {
                    None => return Err(StoreError::not_found("endpoint", mac)),
                    Some(o) if o != company => {
                        return Err(StoreError::Forbidden(format!(
                            "taken_mac_or_forbidden: MAC {mac} is owned by another account"
                        )))
                    }
                    Some(_) => {}
                }
                sqlx::query("DELETE FROM endpoints WHERE mac = $1")
                    .bind(mac.to_string())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn remember_nonce(
                &self,
                key_id: &str,
                nonce: &str,
                expires_at: DateTime<Utc>,
            ) -> Result<bool> {
                be::remember_nonce(self, key_id, nonce, expires_at).await
            }

            async fn prune_nonces(&self, before: DateTime<Utc>) -> Result<u64> {
                Ok(sqlx::query("DELETE FROM hawk_nonces WHERE expires_at < $1")
                    .bind(before)
                    .execute(self.writes())
                    .await?
                    .rows_affected())
            }

            async fn prune_redirect_contacts(&self, before: DateTime<Utc>, max_rows: u64) -> Result<u64> {
                crate::sql::prune_log(
                    self.log_pool(),
                    crate::sql::ContactTable::Redirect,
                    before,
                    max_rows,
                )
                .await
            }

            async fn record_redirect_contacts(&self, batch: &[RedirectContact]) -> Result<()> {
                if batch.is_empty() {
                    return Ok(());
                }
                let mut tx = self.begin_write().await?;
                for chunk in batch.chunks(500) {
                    let mut q = sqlx::QueryBuilder::new(
                        "INSERT INTO redirect_contacts (at, mac, ip, user_agent, firmware, path, outcome) ",
                    );
                    q.push_values(chunk, |mut b, c| {
                        b.push_bind(c.at)
                            .push_bind(c.mac.map(|m| m.to_string()))
                            .push_bind(&c.ip)
                            .push_bind(&c.user_agent)
                            .push_bind(&c.firmware)
                            .push_bind(&c.path)
                            .push_bind(&c.outcome);
                    });
                    q.build().execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn redirect_contacts(
                &self,
                mac: Option<Mac>,
                limit: u32,
            ) -> Result<Vec<RedirectContact>> {
                let rows = sqlx::query("SELECT * FROM redirect_contacts WHERE (CAST($1 AS TEXT) IS NULL OR mac = $1) ORDER BY at DESC, id DESC LIMIT $2")
                    .bind(mac.map(|m| m.to_string()))
                    .bind(i64::from(limit))
                    .fetch_all(self.reads())
                    .await?;
                rows.iter().map(redirect_contact_row).collect()
            }
        }
    };
}

pub(crate) use redirect_store;
