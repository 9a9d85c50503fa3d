//! Console accounts in the admin API (`/api/v1/users`): who may sign in to
//! the web console, and as what. Passwords go in; only a generated one ever
//! comes out, once.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use touchless_domain::{ConsoleRole, TenantId, UserName};
use utoipa::ToSchema;

/// A console account (never its password).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct User {
    pub name: UserName,
    pub role: ConsoleRole,
    /// The tenant of a tenant admin; absent for an admin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<TenantId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `POST /users`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    pub name: UserName,
    pub role: ConsoleRole,
    /// Required for a tenant admin, refused for an admin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<TenantId>,
    /// At least 10 characters; absent: one is generated and answered once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

/// `POST /users/{name}/password`: a new password, or absent to generate one.
/// Every session of the account ends.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

/// The answer to creating an account or setting its password.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct UserWithPassword {
    pub user: User,
    /// The generated password, shown once; absent when one was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}
