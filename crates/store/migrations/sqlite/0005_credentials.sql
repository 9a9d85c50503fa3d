-- Per-device provisioning credentials, one-time ztprov credentials with a
-- window, and the credentials a pending registration is pushing.

-- Tenants created before this migration keep the tenant-wide credentials their
-- phones already use; new tenants default to per-device credentials (the app
-- sets the column explicitly).
ALTER TABLE tenants ADD COLUMN prov_scope TEXT NOT NULL DEFAULT 'tenant'
    CHECK (prov_scope IN ('device', 'tenant'));

-- What opens this device's /prov files when its tenant's scope is 'device'.
ALTER TABLE devices ADD COLUMN prov_user TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN prov_pass TEXT NOT NULL DEFAULT '';
UPDATE devices SET prov_user = 'pv' || lower(hex(randomblob(7))),
                   prov_pass = lower(hex(randomblob(10)));
CREATE UNIQUE INDEX devices_prov_user ON devices (prov_user);

-- The current ztprov credentials are accepted until ztprov_expires_at, and
-- only for a short grace after their first successful use (ztprov_used_at).
-- Existing devices get a day from the upgrade.
ALTER TABLE devices ADD COLUMN ztprov_expires_at TEXT;
ALTER TABLE devices ADD COLUMN ztprov_used_at TEXT;
UPDATE devices SET ztprov_expires_at = strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now', '+1 day');

-- Credentials a register event is pushing to the provider: accepted beside the
-- current ones until the provider confirms them, then they replace them.
ALTER TABLE devices ADD COLUMN ztprov_next_user TEXT;
ALTER TABLE devices ADD COLUMN ztprov_next_pass TEXT;
ALTER TABLE devices ADD COLUMN ztprov_next_expires_at TEXT;
ALTER TABLE devices ADD COLUMN ztprov_next_used_at TEXT;
CREATE UNIQUE INDEX devices_ztprov_next_user ON devices (ztprov_next_user);

-- Set when the admin deleted a device that is registered at a provider: the
-- row goes once the deregistration has succeeded.
ALTER TABLE devices ADD COLUMN removing INTEGER NOT NULL DEFAULT 0;

-- A provider's own CA bundle (PEM), added to the public roots; a certificate
-- in it is also trusted as is (a self-signed server certificate).
ALTER TABLE providers ADD COLUMN ca_pem TEXT;
