-- The device registry and the provisioning server's data.

-- Bumped by every write transaction; readers poll it to learn that their
-- in-memory view of the registry is stale.
CREATE TABLE generation (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    value INTEGER NOT NULL
);
INSERT INTO generation (id, value) VALUES (1, 1);

-- Installation-wide values created once (admin token hash, digest nonce secret).
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    prov_user TEXT NOT NULL UNIQUE,
    prov_pass TEXT NOT NULL,
    sip_host TEXT NOT NULL,
    sip_port INTEGER NOT NULL CHECK (sip_port BETWEEN 1 AND 65535),
    mode TEXT NOT NULL CHECK (mode IN ('master', 'per-tenant')),
    revision INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE tenant_settings (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    idx INTEGER,
    value TEXT NOT NULL,
    perm TEXT NOT NULL
);
CREATE UNIQUE INDEX tenant_settings_key ON tenant_settings (tenant_id, name, COALESCE(idx, -1));

CREATE TABLE devices (
    mac TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    name TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'unregistered',
    registered_at TEXT,
    last_message TEXT NOT NULL DEFAULT '-',
    ztprov_user TEXT NOT NULL UNIQUE,
    ztprov_pass TEXT NOT NULL,
    revision INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX devices_tenant ON devices (tenant_id);

CREATE TABLE lines (
    device_mac TEXT NOT NULL REFERENCES devices (mac) ON DELETE CASCADE,
    idx INTEGER NOT NULL CHECK (idx >= 1),
    extension TEXT NOT NULL,
    auth_user TEXT NOT NULL,
    sip_password TEXT NOT NULL,
    display_name TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (device_mac, idx)
);

CREATE TABLE device_settings (
    device_mac TEXT NOT NULL REFERENCES devices (mac) ON DELETE CASCADE,
    name TEXT NOT NULL,
    idx INTEGER,
    value TEXT NOT NULL,
    perm TEXT NOT NULL
);
CREATE UNIQUE INDEX device_settings_key ON device_settings (device_mac, name, COALESCE(idx, -1));

-- One row per distinct (device, source, agent, path, status) per flush window of
-- the provisioning server; `hits` counts the requests it stands for. No foreign
-- key: contacts for a MAC that is not (yet) registered are what support asks for.
CREATE TABLE contacts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    mac TEXT NOT NULL,
    ip TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    path TEXT NOT NULL,
    status INTEGER NOT NULL,
    hits INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX contacts_mac_at ON contacts (mac, at);
