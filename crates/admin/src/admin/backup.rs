//! `POST /api/v1/backup`: a consistent online copy of the SQLite database,
//! streamed to the caller (`touchless backup FILE`).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{header, StatusCode};
use touchless_store::StoreError;

use super::extract::{ApiError, ApiResult};
use super::AdminState;
use touchless_runtime::secret::random_token;

#[utoipa::path(post, path = "/backup", tag = "meta",
    responses((status = 200, description = "a consistent copy of the SQLite database", body = Vec<u8>, content_type = "application/vnd.sqlite3"),
              (status = 409, description = "a PostgreSQL installation: use pg_dump", body = touchless_api::ErrorBody)))]
/// Copies the database into a file of the data directory, created empty and
/// 0600 (`VACUUM INTO` fills it and keeps its mode), opens it, unlinks it
/// and streams the open file: nothing is left behind, even if the caller
/// hangs up half way.
pub(super) async fn backup(State(st): State<Arc<AdminState>>) -> ApiResult<Response> {
    let path = st.data_dir.join(format!(".backup-{}.db", random_token(12)));
    let internal = |what: &str, e: &dyn std::fmt::Display| {
        tracing::error!(error = %e, path = %path.display(), "backup: {what}");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error; see the server log",
        )
    };
    touchless_store::private::write(&path, b"").map_err(|e| internal("creating", &e))?;
    let copied = st.store.backup_into(&path).await;
    let opened = match copied {
        Ok(()) => tokio::fs::File::open(&path).await,
        Err(e) => {
            let _ = std::fs::remove_file(&path);
            return Err(match e {
                StoreError::Unsupported(m) => ApiError::new(StatusCode::CONFLICT, m),
                other => other.into(),
            });
        }
    };
    let _ = std::fs::remove_file(&path);
    let file = opened.map_err(|e| internal("opening the copy", &e))?;
    let len = file
        .metadata()
        .await
        .map_err(|e| internal("reading the copy's size", &e))?
        .len();
    tracing::info!(bytes = len, "database backup taken");
    let chunks = futures_util::stream::unfold(file, |mut f| async move {
        use tokio::io::AsyncReadExt as _;
        let mut buf = vec![0u8; 256 * 1024];
        match f.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok::<_, std::io::Error>(bytes::Bytes::from(buf)), f))
            }
            Err(e) => Some((Err(e), f)),
        }
    });
    Ok((
        [
            (header::CONTENT_TYPE, "application/vnd.sqlite3".to_owned()),
            (header::CONTENT_LENGTH, len.to_string()),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        Body::from_stream(chunks),
    )
        .into_response())
}
