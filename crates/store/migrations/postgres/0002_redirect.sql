-- The redirection service (PostgreSQL).

CREATE TABLE companies (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    company_id TEXT NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    secret TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('none', 'read', 'write', 'admin')),
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    last_used_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE profiles (
    id TEXT PRIMARY KEY,
    company_id TEXT NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    product_group TEXT,
    autoprovisioning_enabled BOOLEAN NOT NULL DEFAULT TRUE,
    settings TEXT NOT NULL DEFAULT '{}',
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX profiles_company ON profiles (company_id);

CREATE TABLE endpoints (
    mac TEXT PRIMARY KEY,
    company_id TEXT NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    name TEXT NOT NULL DEFAULT '',
    autoprovisioning_enabled BOOLEAN NOT NULL,
    profile_id TEXT REFERENCES profiles (id) ON DELETE SET NULL,
    settings TEXT NOT NULL DEFAULT '{}',
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX endpoints_company ON endpoints (company_id, mac);

CREATE TABLE redirect_contacts (
    id BIGSERIAL PRIMARY KEY,
    at TIMESTAMPTZ NOT NULL,
    mac TEXT,
    ip TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    firmware TEXT,
    path TEXT NOT NULL,
    outcome TEXT NOT NULL
);
CREATE INDEX redirect_contacts_mac_at ON redirect_contacts (mac, at);
CREATE INDEX redirect_contacts_at ON redirect_contacts (at);
