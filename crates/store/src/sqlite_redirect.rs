//! The redirection service's tables on SQLite.
//!
//! These writes do not bump the registry generation: nothing the provisioning
//! server caches depends on them.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteRow;
use touchless_domain::Mac;

use crate::rows::sqlite::*;
use crate::sqlite_pool::{now, SqliteStore};
use crate::{
    ApiKey, Company, Endpoint, EndpointIn, Profile, ProfileIn, RedirectContact, RedirectStore,
    Result, Role, SettingValues, StoreError,
};

fn to_json(s: &SettingValues) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "{}".into())
}

fn fk_or(e: sqlx::Error, what: &str) -> StoreError {
    if let sqlx::Error::Database(db) = &e {
        if db.message().contains("FOREIGN KEY") {
            return StoreError::Invalid {
                field: "company",
                message: format!("{what} does not exist"),
            };
        }
        if db.message().contains("UNIQUE") || db.message().contains("PRIMARY KEY") {
            return StoreError::Conflict(format!("{what} already exists"));
        }
    }
    StoreError::Database(e)
}

const PROFILE_COLS: &str = "id, company_id, name, product_group, autoprovisioning_enabled, settings, created_at, updated_at";
const ENDPOINT_COLS: &str =
    "mac, company_id, name, autoprovisioning_enabled, profile_id, settings, created_at, updated_at";

#[async_trait]
impl RedirectStore for SqliteStore {
    async fn create_company(&self, id: &str, name: &str) -> Result<Company> {
        let at = now();
        sqlx::query("INSERT INTO companies (id, name, created_at) VALUES (?, ?, ?)")
            .bind(id)
            .bind(name)
            .bind(at)
            .execute(&self.writer)
            .await
            .map_err(|e| fk_or(e, &format!("company {id}")))?;
        Ok(Company {
            id: id.to_owned(),
            name: name.to_owned(),
            created_at: at,
        })
    }

    async fn get_company(&self, id: &str) -> Result<Option<Company>> {
        let row = sqlx::query("SELECT id, name, created_at FROM companies WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(company_row).transpose()
    }

    async fn list_companies(&self) -> Result<Vec<Company>> {
        let rows = sqlx::query("SELECT id, name, created_at FROM companies ORDER BY name, id")
            .fetch_all(&self.reader)
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
        sqlx::query("INSERT INTO api_keys (id, company_id, secret, role, created_at) VALUES (?, ?, ?, ?, ?)")
            .bind(id)
            .bind(company)
            .bind(secret)
            .bind(role.as_str())
            .bind(now())
            .execute(&self.writer)
            .await
            .map_err(|e| fk_or(e, &format!("company {company}")))?;
        self.get_api_key(id)
            .await?
            .ok_or_else(|| StoreError::not_found("API key", id))
    }

    async fn get_api_key(&self, id: &str) -> Result<Option<ApiKey>> {
        let row = sqlx::query("SELECT * FROM api_keys WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(key_row).transpose()
    }

    async fn list_api_keys(&self, company: Option<&str>) -> Result<Vec<ApiKey>> {
        let rows = match company {
            Some(c) => {
                sqlx::query("SELECT * FROM api_keys WHERE company_id = ? ORDER BY created_at, id")
                    .bind(c)
                    .fetch_all(&self.reader)
                    .await?
            }
            None => {
                sqlx::query("SELECT * FROM api_keys ORDER BY company_id, created_at, id")
                    .fetch_all(&self.reader)
                    .await?
            }
        };
        rows.iter().map(key_row).collect()
    }

    async fn set_api_key_enabled(&self, id: &str, enabled: bool) -> Result<ApiKey> {
        let done = sqlx::query("UPDATE api_keys SET enabled = ? WHERE id = ?")
            .bind(enabled)
            .bind(id)
            .execute(&self.writer)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found("API key", id));
        }
        self.get_api_key(id)
            .await?
            .ok_or_else(|| StoreError::not_found("API key", id))
    }

    async fn touch_api_key(&self, id: &str, at: DateTime<Utc>) -> Result<()> {
        sqlx::query("UPDATE api_keys SET last_used_at = ? WHERE id = ?")
            .bind(at)
            .bind(id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn create_profile(&self, id: &str, company: &str, p: &ProfileIn) -> Result<Profile> {
        let at = now();
        sqlx::query(
            "INSERT INTO profiles (id, company_id, name, product_group, autoprovisioning_enabled, settings, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id)
        .bind(company)
        .bind(&p.name)
        .bind(&p.product_group)
        .bind(p.autoprovisioning_enabled)
        .bind(to_json(&p.settings))
        .bind(at)
        .bind(at)
        .execute(&self.writer)
        .await
        .map_err(|e| fk_or(e, &format!("company {company}")))?;
        self.get_profile(company, id)
            .await?
            .ok_or_else(|| StoreError::not_found("profile", id))
    }

    async fn get_profile(&self, company: &str, id: &str) -> Result<Option<Profile>> {
        let row = sqlx::query(&format!(
            "SELECT {PROFILE_COLS} FROM profiles WHERE id = ? AND company_id = ?"
        ))
        .bind(id)
        .bind(company)
        .fetch_optional(&self.reader)
        .await?;
        row.as_ref().map(profile_row).transpose()
    }

    async fn list_profiles(&self, company: &str) -> Result<Vec<Profile>> {
        let rows = sqlx::query(&format!(
            "SELECT {PROFILE_COLS} FROM profiles WHERE company_id = ? ORDER BY name, id"
        ))
        .bind(company)
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(profile_row).collect()
    }

    async fn replace_profile(&self, company: &str, id: &str, p: &ProfileIn) -> Result<Profile> {
        let done = sqlx::query(
            "UPDATE profiles SET name = ?, product_group = ?, autoprovisioning_enabled = ?, settings = ?, updated_at = ? \
             WHERE id = ? AND company_id = ?",
        )
        .bind(&p.name)
        .bind(&p.product_group)
        .bind(p.autoprovisioning_enabled)
        .bind(to_json(&p.settings))
        .bind(now())
        .bind(id)
        .bind(company)
        .execute(&self.writer)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found("profile", id));
        }
        self.get_profile(company, id)
            .await?
            .ok_or_else(|| StoreError::not_found("profile", id))
    }

    async fn delete_profile(&self, company: &str, id: &str) -> Result<()> {
        let done = sqlx::query("DELETE FROM profiles WHERE id = ? AND company_id = ?")
            .bind(id)
            .bind(company)
            .execute(&self.writer)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found("profile", id));
        }
        Ok(())
    }

    async fn put_endpoint(&self, company: &str, e: &EndpointIn) -> Result<(Endpoint, bool)> {
        let mut tx = self.writer.begin().await?;
        let owner: Option<String> =
            sqlx::query_scalar("SELECT company_id FROM endpoints WHERE mac = ?")
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
            let ok: Option<i64> =
                sqlx::query_scalar("SELECT 1 FROM profiles WHERE id = ? AND company_id = ?")
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
        let at = now();
        let created = owner.is_none();
        sqlx::query(
            "INSERT INTO endpoints (mac, company_id, name, autoprovisioning_enabled, profile_id, settings, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?) \
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
        .bind(at)
        .execute(&mut *tx)
        .await
        .map_err(|err| fk_or(err, &format!("company {company}")))?;
        let row = sqlx::query(&format!(
            "SELECT {ENDPOINT_COLS} FROM endpoints WHERE mac = ?"
        ))
        .bind(e.mac.to_string())
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok((endpoint_row(&row)?, created))
    }

    async fn get_endpoint(&self, mac: Mac) -> Result<Option<Endpoint>> {
        let row = sqlx::query(&format!(
            "SELECT {ENDPOINT_COLS} FROM endpoints WHERE mac = ?"
        ))
        .bind(mac.to_string())
        .fetch_optional(&self.reader)
        .await?;
        row.as_ref().map(endpoint_row).transpose()
    }

    async fn get_enabled_endpoint(&self, mac: Mac) -> Result<Option<Endpoint>> {
        let row = sqlx::query(&format!(
            "SELECT {ENDPOINT_COLS} FROM endpoints WHERE mac = $1 AND autoprovisioning_enabled"
        ))
        .bind(mac.to_string())
        .fetch_optional(&self.reader)
        .await?;
        row.as_ref().map(endpoint_row).transpose()
    }

    async fn list_endpoints(
        &self,
        company: Option<&str>,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<Endpoint>, u64)> {
        let (rows, total): (Vec<SqliteRow>, i64) = match company {
            Some(c) => (
                sqlx::query(&format!(
                    "SELECT {ENDPOINT_COLS} FROM endpoints WHERE company_id = ? ORDER BY mac LIMIT ? OFFSET ?"
                ))
                .bind(c)
                .bind(limit as i64)
                .bind(offset as i64)
                .fetch_all(&self.reader)
                .await?,
                sqlx::query_scalar("SELECT COUNT(*) FROM endpoints WHERE company_id = ?")
                    .bind(c)
                    .fetch_one(&self.reader)
                    .await?,
            ),
            None => (
                sqlx::query(&format!("SELECT {ENDPOINT_COLS} FROM endpoints ORDER BY mac LIMIT ? OFFSET ?"))
                    .bind(limit as i64)
                    .bind(offset as i64)
                    .fetch_all(&self.reader)
                    .await?,
                sqlx::query_scalar("SELECT COUNT(*) FROM endpoints")
                    .fetch_one(&self.reader)
                    .await?,
            ),
        };
        Ok((
            rows.iter().map(endpoint_row).collect::<Result<_>>()?,
            total as u64,
        ))
    }

    async fn delete_endpoint(&self, company: &str, mac: Mac) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        let owner: Option<String> =
            sqlx::query_scalar("SELECT company_id FROM endpoints WHERE mac = ?")
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
        sqlx::query("DELETE FROM endpoints WHERE mac = ?")
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
        // Insert, or take over an expired row; a live row means a replay.
        let done = sqlx::query(
            "INSERT INTO hawk_nonces (key_id, nonce, expires_at) VALUES (?, ?, ?) \
             ON CONFLICT (key_id, nonce) DO UPDATE SET expires_at = excluded.expires_at \
             WHERE hawk_nonces.expires_at < ?",
        )
        .bind(key_id)
        .bind(nonce)
        .bind(expires_at)
        .bind(now())
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn prune_nonces(&self, before: DateTime<Utc>) -> Result<u64> {
        let done = sqlx::query("DELETE FROM hawk_nonces WHERE expires_at < ?")
            .bind(before)
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected())
    }

    async fn prune_redirect_contacts(&self, before: DateTime<Utc>, max_rows: u64) -> Result<u64> {
        crate::sql::prune_log(
            &self.writer,
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
        let mut tx = self.writer.begin().await?;
        for chunk in batch.chunks(100) {
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
        let rows = match mac {
            Some(m) => sqlx::query(
                "SELECT * FROM redirect_contacts WHERE mac = ? ORDER BY at DESC, id DESC LIMIT ?",
            )
            .bind(m.to_string())
            .bind(i64::from(limit))
            .fetch_all(&self.reader)
            .await?,
            None => {
                sqlx::query("SELECT * FROM redirect_contacts ORDER BY at DESC, id DESC LIMIT ?")
                    .bind(i64::from(limit))
                    .fetch_all(&self.reader)
                    .await?
            }
        };
        rows.iter().map(redirect_contact_row).collect()
    }
}
