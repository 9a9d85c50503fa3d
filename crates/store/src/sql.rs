//! Query text both backends run as it is: sqlx binds `$N` on SQLite too, and
//! these statements use no dialect-specific SQL.

/// Binds: at, mac, user. The first use of the current credentials.
pub(crate) const MARK_USED: &str =
    "UPDATE devices SET ztprov_used_at = $1, revision = revision + 1 \
     WHERE mac = $2 AND ztprov_user = $3 AND ztprov_used_at IS NULL";
/// Binds: at, mac, user. The first use of the staged credentials.
pub(crate) const MARK_NEXT_USED: &str = "UPDATE devices SET ztprov_next_used_at = $1, \
     revision = revision + 1 WHERE mac = $2 AND ztprov_next_user = $3 AND ztprov_next_used_at IS NULL";
/// Binds: a time in the past, node.
pub(crate) const RELEASE_LEASES: &str =
    "UPDATE events SET lease_until = $1 WHERE state = 'running' AND leased_by = $2";

/// A register keeps the current ztprov credentials (the provider still hands
/// them out) and stages the new ones; they replace the current ones when the
/// provider confirms. Binds: user, pass, expires, now, mac.
pub(crate) const ENQUEUE_REGISTER: &str =
    "UPDATE devices SET ztprov_next_user = $1, ztprov_next_pass = $2, \
     ztprov_next_expires_at = $3, ztprov_next_used_at = NULL, status = 'pending', \
     revision = revision + 1, updated_at = $4 WHERE mac = $5";
/// A deregister invalidates every ztprov credential at once: the given ones
/// are known to nobody and have no window (expires is bound as NULL).
pub(crate) const ENQUEUE_DEREGISTER: &str =
    "UPDATE devices SET ztprov_user = $1, ztprov_pass = $2, \
     ztprov_expires_at = $3, ztprov_used_at = NULL, ztprov_next_user = NULL, \
     ztprov_next_pass = NULL, ztprov_next_expires_at = NULL, ztprov_next_used_at = NULL, \
     status = 'pending', revision = revision + 1, updated_at = $4 WHERE mac = $5";

/// The provider confirmed the staged credentials: they become the current
/// ones, and the old ones stop working.
pub(crate) const PROMOTE_NEXT: &str = "UPDATE devices SET ztprov_user = ztprov_next_user, \
     ztprov_pass = ztprov_next_pass, ztprov_expires_at = ztprov_next_expires_at, \
     ztprov_used_at = ztprov_next_used_at, ztprov_next_user = NULL, ztprov_next_pass = NULL, \
     ztprov_next_expires_at = NULL, ztprov_next_used_at = NULL, revision = revision + 1 \
     WHERE mac = $1 AND ztprov_next_user IS NOT NULL";

/// A device the admin deleted goes once the provider has let it go.
pub(crate) const REMOVE_IF_ASKED: &str = "DELETE FROM devices WHERE mac = $1 AND removing";
