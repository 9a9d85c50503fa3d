-- The device registry and the provisioning server's data (PostgreSQL).

CREATE TABLE generation (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    value BIGINT NOT NULL
);
INSERT INTO generation (id, value) VALUES (1, 1);

CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    prov_user TEXT NOT NULL,
    prov_pass TEXT NOT NULL,
    sip_host TEXT NOT NULL,
    sip_port BIGINT NOT NULL CHECK (sip_port BETWEEN 1 AND 65535),
    mode TEXT NOT NULL CHECK (mode IN ('master', 'per-tenant')),
    revision BIGINT NOT NULL DEFAULT 1,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT tenants_prov_user UNIQUE (prov_user)
);

CREATE TABLE tenant_settings (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    idx BIGINT,
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
    registered_at TIMESTAMPTZ,
    last_message TEXT NOT NULL DEFAULT '-',
    ztprov_user TEXT NOT NULL,
    ztprov_pass TEXT NOT NULL,
    revision BIGINT NOT NULL DEFAULT 1,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT devices_ztprov_user UNIQUE (ztprov_user)
);
CREATE INDEX devices_tenant ON devices (tenant_id);

CREATE TABLE lines (
    device_mac TEXT NOT NULL REFERENCES devices (mac) ON DELETE CASCADE,
    idx BIGINT NOT NULL CHECK (idx >= 1),
    extension TEXT NOT NULL,
    auth_user TEXT NOT NULL,
    sip_password TEXT NOT NULL,
    display_name TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (device_mac, idx)
);

CREATE TABLE device_settings (
    device_mac TEXT NOT NULL REFERENCES devices (mac) ON DELETE CASCADE,
    name TEXT NOT NULL,
    idx BIGINT,
    value TEXT NOT NULL,
    perm TEXT NOT NULL
);
CREATE UNIQUE INDEX device_settings_key ON device_settings (device_mac, name, COALESCE(idx, -1));

CREATE TABLE contacts (
    id BIGSERIAL PRIMARY KEY,
    at TIMESTAMPTZ NOT NULL,
    mac TEXT NOT NULL,
    ip TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    path TEXT NOT NULL,
    status BIGINT NOT NULL,
    hits BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX contacts_mac_at ON contacts (mac, at);
