-- Provider kinds are the daemon's to know (`daemon::kinds`): the database
-- no longer limits them to 'snom'. SQLite cannot drop a CHECK, so the
-- table is rebuilt as it was, without it (nothing references providers).
CREATE TABLE providers_new (
    name TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    base_url TEXT NOT NULL,
    access_key_id TEXT NOT NULL,
    secret TEXT NOT NULL,
    tenant_id TEXT REFERENCES tenants (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    ca_pem TEXT
);
INSERT INTO providers_new (name, kind, base_url, access_key_id, secret, tenant_id, created_at, ca_pem)
    SELECT name, kind, base_url, access_key_id, secret, tenant_id, created_at, ca_pem FROM providers;
DROP TABLE providers;
ALTER TABLE providers_new RENAME TO providers;
CREATE UNIQUE INDEX providers_scope ON providers (COALESCE(tenant_id, ''));
