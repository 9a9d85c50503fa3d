-- The redirection service (SRAPS-compatible): companies, API keys, profiles,
-- endpoints, and the log of phones that asked to be redirected.

CREATE TABLE companies (
    id TEXT PRIMARY KEY,              -- 32 lowercase hex
    name TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,              -- the access key id
    company_id TEXT NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    -- Hawk needs the secret itself to compute the MAC; it is never returned
    -- after creation.
    secret TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('none', 'read', 'write', 'admin')),
    enabled INTEGER NOT NULL DEFAULT 1,
    last_used_at TEXT,
    created_at TEXT NOT NULL
);

CREATE TABLE profiles (
    id TEXT PRIMARY KEY,              -- 32 lowercase hex
    company_id TEXT NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    product_group TEXT,
    autoprovisioning_enabled INTEGER NOT NULL DEFAULT 1,
    settings TEXT NOT NULL DEFAULT '{}',   -- JSON: uuid -> {value, perm, idx}
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX profiles_company ON profiles (company_id);

CREATE TABLE endpoints (
    mac TEXT PRIMARY KEY,             -- one owner per MAC, across companies
    company_id TEXT NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    name TEXT NOT NULL DEFAULT '',
    autoprovisioning_enabled INTEGER NOT NULL,
    profile_id TEXT REFERENCES profiles (id) ON DELETE SET NULL,
    settings TEXT NOT NULL DEFAULT '{}',   -- JSON: uuid -> {value, perm, idx}
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX endpoints_company ON endpoints (company_id, mac);

CREATE TABLE redirect_contacts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    mac TEXT,
    ip TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    firmware TEXT,
    path TEXT NOT NULL,
    outcome TEXT NOT NULL
);
CREATE INDEX redirect_contacts_mac_at ON redirect_contacts (mac, at);
CREATE INDEX redirect_contacts_at ON redirect_contacts (at);
