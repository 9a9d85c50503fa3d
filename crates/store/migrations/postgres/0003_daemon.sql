-- The touchless-provisioning daemon (PostgreSQL).

CREATE TABLE providers (
    name TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('snom')),
    base_url TEXT NOT NULL,
    access_key_id TEXT NOT NULL,
    secret TEXT NOT NULL,
    tenant_id TEXT REFERENCES tenants (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX providers_scope ON providers (COALESCE(tenant_id, ''));

CREATE TABLE events (
    id BIGSERIAL PRIMARY KEY,
    action TEXT NOT NULL CHECK (action IN ('register', 'deregister')),
    mac TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'running', 'done', 'failed')),
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    lease_until TIMESTAMPTZ,
    leased_by TEXT,
    last_error TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX events_claim ON events (state, next_attempt_at);
CREATE INDEX events_mac ON events (mac, id);
