//! Firmware policies and what phones report, written once; see
//! `queries/mod.rs`.
//!
//! `firmware_store!(Store)` expands, beside `registry_store!` in a backend's
//! registry module, to `all_policies` (which the registry's snapshot and
//! changes read) and the whole `impl FirmwareStore`.

macro_rules! firmware_store {
    ($store:ty) => {
        /// Meta key: the generation of the last policy change.
        const FIRMWARE_GEN: &str = "firmware_gen";

        const POLICY_COLS: &str =
            "id, scope, scope_key, model, version, image, steps, created_at, updated_at";

        async fn all_policies(c: &mut Conn) -> Result<Vec<crate::FirmwarePolicy>> {
            let rows = sqlx::query(&format!(
                "SELECT {POLICY_COLS} FROM firmware_policies ORDER BY model, scope, scope_key"
            ))
            .fetch_all(&mut *c)
            .await?;
            rows.iter().map(firmware_policy_from_row).collect()
        }

        /// Every policy, if any changed after generation `since`.
        async fn policies_after(
            c: &mut Conn,
            since: i64,
        ) -> Result<Option<Vec<crate::FirmwarePolicy>>> {
            let at: Option<String> = sqlx::query_scalar("SELECT value FROM meta WHERE key = $1")
                .bind(FIRMWARE_GEN)
                .fetch_optional(&mut *c)
                .await?;
            match at.and_then(|v| v.parse::<i64>().ok()) {
                Some(g) if g > since => Ok(Some(all_policies(c).await?)),
                _ => Ok(None),
            }
        }

        /// Records that policies changed, in the writing transaction (after
        /// the generation was bumped).
        async fn policies_changed(c: &mut Conn) -> Result<()> {
            sqlx::query(
                "INSERT INTO meta (key, value) \
                 SELECT $1, CAST(value AS TEXT) FROM generation WHERE id = 1 \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )
            .bind(FIRMWARE_GEN)
            .execute(&mut *c)
            .await?;
            Ok(())
        }

        #[async_trait::async_trait]
        impl crate::FirmwareStore for $store {
            async fn firmware_policies(&self) -> Result<Vec<crate::FirmwarePolicy>> {
                let mut c = self.reads().acquire().await?;
                all_policies(&mut c).await
            }

            async fn put_firmware_policy(
                &self,
                p: &crate::NewFirmwarePolicy,
            ) -> Result<crate::FirmwarePolicy> {
                let p = p.clone();
                self.write(move |c| {
                    Box::pin(async move {
                        match &p.applies_to {
                            crate::PolicyTarget::Installation => {}
                            crate::PolicyTarget::Tenant(t) => {
                                must_tenant(c, t).await?;
                            }
                            crate::PolicyTarget::Device(m) => {
                                must_device(c, *m).await?;
                            }
                        }
                        let steps = serde_json::to_string(&p.steps)
                            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                        let now = be::now();
                        let row = sqlx::query(&format!(
                            "INSERT INTO firmware_policies \
                             (scope, scope_key, model, version, image, steps, created_at, updated_at) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
                             ON CONFLICT (scope, scope_key, model) DO UPDATE SET \
                             version = excluded.version, image = excluded.image, \
                             steps = excluded.steps, updated_at = excluded.updated_at \
                             RETURNING {POLICY_COLS}"
                        ))
                        .bind(p.applies_to.scope().as_str())
                        .bind(p.applies_to.key())
                        .bind(p.model.as_str())
                        .bind(p.target.version.as_str())
                        .bind(p.target.image.as_str())
                        .bind(steps)
                        .bind(now)
                        .fetch_one(&mut *c)
                        .await?;
                        policies_changed(c).await?;
                        firmware_policy_from_row(&row)
                    })
                })
                .await
            }

            async fn delete_firmware_policy(&self, id: i64) -> Result<()> {
                self.write(move |c| {
                    Box::pin(async move {
                        let done = sqlx::query("DELETE FROM firmware_policies WHERE id = $1")
                            .bind(id)
                            .execute(&mut *c)
                            .await?;
                        if done.rows_affected() == 0 {
                            return Err(StoreError::not_found("firmware policy", id));
                        }
                        policies_changed(c).await
                    })
                })
                .await
            }
        }
    };
}

pub(crate) use firmware_store;
