//! Console accounts in the admin API: list, add, remove, set a password.
//! The console's account pages call the same functions.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::Json;
use http::StatusCode;
use touchless_api::users as api;
use touchless_domain::{ConsoleRole, UserName};
use touchless_store::StoreError;

use super::extract::{ApiError, ApiJson, ApiResult};
use super::state::AdminState;
use touchless_runtime::secret::{hash_password, random_token};

pub(crate) fn view(u: &touchless_store::User) -> api::User {
    api::User {
        name: u.name.clone(),
        role: u.role,
        tenant: u.tenant.clone(),
        created_at: u.created_at,
        updated_at: u.updated_at,
    }
}

/// A password someone chose must be long enough to resist guessing; a
/// generated one is 20 random characters.
fn password_or_generated(given: Option<String>) -> ApiResult<(String, Option<String>)> {
    match given {
        Some(p) if p.chars().count() < 10 || p.len() > 200 => Err(ApiError::field(
            "password",
            touchless_api::Echo::Null,
            "use 10 to 200 characters",
        )),
        Some(p) => Ok((p, None)),
        None => {
            let p = random_token(20);
            Ok((p.clone(), Some(p)))
        }
    }
}

/// argon2id takes tens of milliseconds of CPU: not on the async threads.
async fn hashed(password: String) -> ApiResult<String> {
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| ApiError::internal(format!("hashing a password: {e}")))?
        .map_err(|e| ApiError::internal(format!("hashing a password: {e}")))
}

#[utoipa::path(get, path = "/users", tag = "users", responses((status = 200, description = "console accounts", body = Vec<api::User>)))]
pub(super) async fn list_users(
    State(st): State<Arc<AdminState>>,
) -> ApiResult<Json<Vec<api::User>>> {
    Ok(Json(
        st.store.list_users().await?.iter().map(view).collect(),
    ))
}

#[utoipa::path(post, path = "/users", tag = "users", request_body = api::NewUser, responses((status = 201, description = "created; the password is shown once when it was generated", body = api::UserWithPassword)))]
pub(super) async fn create_user(
    State(st): State<Arc<AdminState>>,
    ApiJson(req): ApiJson<api::NewUser>,
) -> ApiResult<(StatusCode, Json<api::UserWithPassword>)> {
    Ok((StatusCode::CREATED, Json(create(&st, req).await?)))
}

pub(crate) async fn create(st: &AdminState, req: api::NewUser) -> ApiResult<api::UserWithPassword> {
    match (req.role, &req.tenant) {
        (ConsoleRole::Admin, Some(t)) => {
            return Err(ApiError::field(
                "tenant",
                t.as_str(),
                "an admin sees every tenant; give a tenant to a tenant-admin only",
            ))
        }
        (ConsoleRole::TenantAdmin, None) => {
            return Err(ApiError::field(
                "tenant",
                touchless_api::Echo::Null,
                "a tenant-admin needs the tenant they administer",
            ))
        }
        _ => {}
    }
    let (password, generated) = password_or_generated(req.password)?;
    let user = st
        .store
        .create_user(&touchless_store::NewUser {
            name: req.name,
            role: req.role,
            tenant: req.tenant,
            password_hash: hashed(password).await?,
        })
        .await?;
    tracing::info!(user = %user.name, role = %user.role, "console account added");
    Ok(api::UserWithPassword {
        user: view(&user),
        password: generated,
    })
}

fn path_user(name: &str) -> ApiResult<UserName> {
    UserName::parse(name).map_err(|e| ApiError::field("name", name, e.to_string()))
}

#[utoipa::path(delete, path = "/users/{name}", tag = "users", params(("name" = String, Path, description = "user name")), responses((status = 204, description = "deleted; its sessions end")))]
pub(super) async fn delete_user(
    State(st): State<Arc<AdminState>>,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    st.store.delete_user(&path_user(&name)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/users/{name}/password", tag = "users", params(("name" = String, Path, description = "user name")), request_body = api::PasswordChange, responses((status = 200, description = "changed; its other sessions end", body = api::UserWithPassword)))]
pub(super) async fn set_password_handler(
    State(st): State<Arc<AdminState>>,
    Path(name): Path<String>,
    ApiJson(req): ApiJson<api::PasswordChange>,
) -> ApiResult<Json<api::UserWithPassword>> {
    Ok(Json(
        set_password(&st, &path_user(&name)?, req.password).await?,
    ))
}

/// A new password (given, or generated and answered once); every session
/// of the account ends.
pub(crate) async fn set_password(
    st: &AdminState,
    name: &UserName,
    given: Option<String>,
) -> ApiResult<api::UserWithPassword> {
    let (password, generated) = password_or_generated(given)?;
    st.store
        .set_password(name, &hashed(password).await?)
        .await?;
    let user = st
        .store
        .get_user(name)
        .await?
        .ok_or_else(|| StoreError::not_found("user", name))?;
    tracing::info!(user = %name, "console password changed");
    Ok(api::UserWithPassword {
        user: view(&user),
        password: generated,
    })
}
