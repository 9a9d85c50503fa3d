//! Records of the web console: accounts, sessions and the audit log.

use chrono::{DateTime, Utc};
use serde::Serialize;
use touchless_domain::{ConsoleRole, TenantId, UserName};

/// A console account. The password is kept only as its argon2id hash.
#[derive(Clone, PartialEq, Serialize)]
pub struct User {
    pub name: UserName,
    pub role: ConsoleRole,
    /// The tenant of a tenant admin; `None` for an admin.
    pub tenant: Option<TenantId>,
    #[serde(skip)]
    pub password_hash: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "User({}, {}, hash ***)", self.name, self.role)
    }
}

pub struct NewUser {
    pub name: UserName,
    pub role: ConsoleRole,
    pub tenant: Option<TenantId>,
    pub password_hash: String,
}

/// A signed-in session: its account and the CSRF token its forms carry.
#[derive(Clone, Debug)]
pub struct Session {
    pub user: User,
    pub csrf: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
}

/// One line of the audit log: who did what, to what, and when.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    /// The account name, or `api` for the bearer token.
    pub actor: String,
    /// The tenant the action concerned, if one: a tenant admin's own entries.
    pub tenant: Option<TenantId>,
    pub action: String,
    pub target: String,
    pub detail: String,
}

/// What [`crate::ConsoleStore::audit`] appends.
#[derive(Clone, Debug)]
pub struct NewAudit {
    pub actor: String,
    pub tenant: Option<TenantId>,
    pub action: String,
    pub target: String,
    pub detail: String,
}

/// Which audit lines to read, newest first.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    /// Only this tenant's lines.
    pub tenant: Option<TenantId>,
    /// Only this actor's (an account name, or `api`).
    pub actor: Option<String>,
    /// Only actions containing this text.
    pub action: Option<String>,
    pub limit: u32,
}
