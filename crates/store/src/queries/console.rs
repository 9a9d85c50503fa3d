//! The console's accounts, sessions and audit log, written once; see
//! `queries/mod.rs`.

macro_rules! console_store {
    ($store:ty, $row:ty) => {
        use chrono::{DateTime, Utc};
        use sqlx::Row as _;
        use touchless_domain::{ConsoleRole, TenantId, UserName};

        use crate::{AuditEntry, AuditFilter, NewAudit, NewUser, Result, Session, StoreError, User};

        const USER_COLS: &str =
            "u.name, u.password_hash, u.role, u.tenant_id, u.created_at, u.updated_at";

        fn user_row(r: &$row) -> Result<User> {
            let corrupt = |e: touchless_domain::Error| StoreError::Corrupt(e.to_string());
            let role: String = r.try_get("role")?;
            let tenant: Option<String> = r.try_get("tenant_id")?;
            Ok(User {
                name: UserName::parse(r.try_get("name")?).map_err(corrupt)?,
                role: role.parse::<ConsoleRole>().map_err(corrupt)?,
                tenant: tenant.as_deref().map(TenantId::parse).transpose().map_err(corrupt)?,
                password_hash: r.try_get("password_hash")?,
                created_at: r.try_get("created_at")?,
                updated_at: r.try_get("updated_at")?,
            })
        }

        #[async_trait::async_trait]
        impl crate::ConsoleStore for $store {
            async fn create_user(&self, u: &NewUser) -> Result<User> {
                let at = be::now();
                sqlx::query(
                    "INSERT INTO users (name, password_hash, role, tenant_id, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $5)",
                )
                .bind(u.name.as_str())
                .bind(&u.password_hash)
                .bind(u.role.as_str())
                .bind(u.tenant.as_ref().map(|t| t.as_str()))
                .bind(at)
                .execute(self.writes())
                .await
                .map_err(|e| {
                    be::constraint(
                        e,
                        &format!("user {} already exists", u.name),
                        "tenant does not exist",
                    )
                })?;
                self.get_user(&u.name)
                    .await?
                    .ok_or_else(|| StoreError::not_found("user", &u.name))
            }

            async fn get_user(&self, name: &UserName) -> Result<Option<User>> {
                let row = sqlx::query(&format!("SELECT {USER_COLS} FROM users u WHERE u.name = $1"))
                    .bind(name.as_str())
                    .fetch_optional(self.reads())
                    .await?;
                row.as_ref().map(user_row).transpose()
            }

            async fn list_users(&self) -> Result<Vec<User>> {
                let rows = sqlx::query(&format!("SELECT {USER_COLS} FROM users u ORDER BY u.name"))
                    .fetch_all(self.reads())
                    .await?;
                rows.iter().map(user_row).collect()
            }

            async fn set_password(&self, name: &UserName, password_hash: &str) -> Result<()> {
                let (name, hash) = (name.clone(), password_hash.to_owned());
                self.append(move |c| {
                    Box::pin(async move {
                        let done = sqlx::query(
                            "UPDATE users SET password_hash = $1, updated_at = $2 WHERE name = $3",
                        )
                        .bind(&hash)
                        .bind(be::now())
                        .bind(name.as_str())
                        .execute(&mut *c)
                        .await?;
                        if done.rows_affected() == 0 {
                            return Err(StoreError::not_found("user", &name));
                        }
                        sqlx::query("DELETE FROM sessions WHERE user_name = $1")
                            .bind(name.as_str())
                            .execute(&mut *c)
                            .await?;
                        Ok(())
                    })
                })
                .await
            }

            async fn delete_user(&self, name: &UserName) -> Result<()> {
                let done = sqlx::query("DELETE FROM users WHERE name = $1")
                    .bind(name.as_str())
                    .execute(self.writes())
                    .await?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::not_found("user", name));
                }
                Ok(())
            }

            async fn count_users(&self) -> Result<u64> {
                let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
                    .fetch_one(self.reads())
                    .await?;
                Ok(n.max(0) as u64)
            }

            async fn create_session(&self, id_hash: &str, user: &UserName, csrf: &str) -> Result<()> {
                let at = be::now();
                sqlx::query(
                    "INSERT INTO sessions (id_hash, user_name, csrf, created_at, last_seen_at) \
                     VALUES ($1, $2, $3, $4, $4)",
                )
                .bind(id_hash)
                .bind(user.as_str())
                .bind(csrf)
                .bind(at)
                .execute(self.writes())
                .await
                .map_err(|e| be::constraint(e, "session exists", "user does not exist"))?;
                Ok(())
            }

            async fn get_session(&self, id_hash: &str) -> Result<Option<Session>> {
                let row = sqlx::query(&format!(
                    "SELECT {USER_COLS}, s.csrf, s.created_at AS s_created, s.last_seen_at \
                     FROM sessions s JOIN users u ON u.name = s.user_name WHERE s.id_hash = $1"
                ))
                .bind(id_hash)
                .fetch_optional(self.reads())
                .await?;
                let Some(r) = row else { return Ok(None) };
                Ok(Some(Session {
                    user: user_row(&r)?,
                    csrf: r.try_get("csrf")?,
                    created_at: r.try_get("s_created")?,
                    last_seen_at: r.try_get("last_seen_at")?,
                }))
            }

            async fn touch_session(&self, id_hash: &str) -> Result<()> {
                sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id_hash = $2")
                    .bind(be::now())
                    .bind(id_hash)
                    .execute(self.writes())
                    .await?;
                Ok(())
            }

            async fn delete_session(&self, id_hash: &str) -> Result<()> {
                sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
                    .bind(id_hash)
                    .execute(self.writes())
                    .await?;
                Ok(())
            }

            async fn prune_sessions(
                &self,
                idle_before: DateTime<Utc>,
                begun_before: DateTime<Utc>,
            ) -> Result<u64> {
                let done = sqlx::query(
                    "DELETE FROM sessions WHERE last_seen_at < $1 OR created_at < $2",
                )
                .bind(idle_before)
                .bind(begun_before)
                .execute(self.writes())
                .await?;
                Ok(done.rows_affected())
            }

            async fn audit(&self, e: &NewAudit) -> Result<()> {
                sqlx::query(
                    "INSERT INTO audit (at, actor, tenant_id, action, target, detail) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(be::now())
                .bind(&e.actor)
                .bind(e.tenant.as_ref().map(|t| t.as_str()))
                .bind(&e.action)
                .bind(&e.target)
                .bind(&e.detail)
                .execute(self.writes())
                .await?;
                Ok(())
            }

            async fn audit_log(&self, f: &AuditFilter) -> Result<Vec<AuditEntry>> {
                let has = be::SUBSTR;
                let rows = sqlx::query(&format!(
                    "SELECT * FROM audit WHERE (CAST($1 AS TEXT) IS NULL OR tenant_id = $1) \
                     AND (CAST($2 AS TEXT) IS NULL OR actor = $2) \
                     AND (CAST($3 AS TEXT) IS NULL OR {has}(lower(action), lower($3)) > 0) \
                     ORDER BY id DESC LIMIT $4"
                ))
                .bind(f.tenant.as_ref().map(|t| t.as_str()))
                .bind(f.actor.as_deref())
                .bind(f.action.as_deref())
                .bind(i64::from(f.limit))
                .fetch_all(self.reads())
                .await?;
                rows.iter()
                    .map(|r| {
                        let tenant: Option<String> = r.try_get("tenant_id")?;
                        Ok(AuditEntry {
                            id: r.try_get("id")?,
                            at: r.try_get("at")?,
                            actor: r.try_get("actor")?,
                            tenant: tenant
                                .as_deref()
                                .map(TenantId::parse)
                                .transpose()
                                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                            action: r.try_get("action")?,
                            target: r.try_get("target")?,
                            detail: r.try_get("detail")?,
                        })
                    })
                    .collect()
            }
        }
    };
}

pub(crate) use console_store;
