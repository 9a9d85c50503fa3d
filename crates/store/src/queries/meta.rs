//! Installation-wide values (`meta`), written once; see `queries/mod.rs`.

macro_rules! meta_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl crate::MetaStore for $store {
            async fn meta_get_or_insert(&self, key: &str, value: &str) -> crate::Result<String> {
                // Read back on the writing side: the value another node (or
                // an earlier start) stored wins.
                let mut c = self.writes().acquire().await?;
                sqlx::query(
                    "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
                )
                .bind(key)
                .bind(value)
                .execute(&mut *c)
                .await?;
                Ok(sqlx::query_scalar("SELECT value FROM meta WHERE key = $1")
                    .bind(key)
                    .fetch_one(&mut *c)
                    .await?)
            }

            async fn meta_set(&self, key: &str, value: &str) -> crate::Result<()> {
                sqlx::query(
                    "INSERT INTO meta (key, value) VALUES ($1, $2) \
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                )
                .bind(key)
                .bind(value)
                .execute(self.writes())
                .await?;
                Ok(())
            }

            async fn backup_into(&self, into: &std::path::Path) -> crate::Result<()> {
                self.copy_into(into).await
            }

            async fn close(&self) {
                self.close_pools().await;
            }
        }
    };
}

pub(crate) use meta_store;
