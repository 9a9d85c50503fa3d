-- The touchless-provisioning daemon: redirection providers and the event queue.

-- One provider per scope: the installation's master account (tenant_id NULL)
-- or one tenant's own account.
CREATE TABLE providers (
    name TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('snom')),
    base_url TEXT NOT NULL,
    access_key_id TEXT NOT NULL,
    secret TEXT NOT NULL,
    tenant_id TEXT REFERENCES tenants (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX providers_scope ON providers (COALESCE(tenant_id, ''));

-- Every admin action is an event, committed before the API answers.
CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    action TEXT NOT NULL CHECK (action IN ('register', 'deregister')),
    mac TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'running', 'done', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    lease_until TEXT,
    leased_by TEXT,
    last_error TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX events_claim ON events (state, next_attempt_at);
CREATE INDEX events_mac ON events (mac, id);
