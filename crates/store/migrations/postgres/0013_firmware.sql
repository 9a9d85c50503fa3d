-- Firmware policies: per (scope, model) the target version and its image,
-- and the intermediate versions a phone must pass through (`steps`, a JSON
-- array of {"version", "image"} in order). scope_key is '' for the
-- installation, the tenant id or the device MAC. A change bumps the
-- generation and records it in meta 'firmware_gen', so every node's view
-- re-reads the (small) table.
CREATE TABLE firmware_policies (
    id BIGSERIAL PRIMARY KEY,
    scope TEXT NOT NULL CHECK (scope IN ('installation', 'tenant', 'device')),
    scope_key TEXT NOT NULL,
    model TEXT NOT NULL,
    version TEXT NOT NULL,
    image TEXT NOT NULL,
    steps TEXT NOT NULL DEFAULT '[]',
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    UNIQUE (scope, scope_key, model)
);

-- The version a phone last reported in its User-Agent on a successful
-- fetch, written by the contact writer (off the phones' path).
ALTER TABLE devices ADD COLUMN firmware TEXT;
ALTER TABLE devices ADD COLUMN firmware_at TIMESTAMPTZ;
