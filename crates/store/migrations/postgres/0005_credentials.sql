-- Per-device provisioning credentials, one-time ztprov credentials with a
-- window, and the credentials a pending registration is pushing (see the
-- SQLite twin for the reasoning).

ALTER TABLE tenants ADD COLUMN prov_scope TEXT NOT NULL DEFAULT 'tenant'
    CHECK (prov_scope IN ('device', 'tenant'));

ALTER TABLE devices ADD COLUMN prov_user TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN prov_pass TEXT NOT NULL DEFAULT '';
-- gen_random_uuid() draws from the server's strong random source.
UPDATE devices SET prov_user = 'pv' || substr(replace(gen_random_uuid()::text, '-', ''), 1, 14),
                   prov_pass = substr(replace(gen_random_uuid()::text, '-', ''), 1, 20);
ALTER TABLE devices ADD CONSTRAINT devices_prov_user UNIQUE (prov_user);

ALTER TABLE devices ADD COLUMN ztprov_expires_at TIMESTAMPTZ;
ALTER TABLE devices ADD COLUMN ztprov_used_at TIMESTAMPTZ;
UPDATE devices SET ztprov_expires_at = now() + interval '1 day';

ALTER TABLE devices ADD COLUMN ztprov_next_user TEXT;
ALTER TABLE devices ADD COLUMN ztprov_next_pass TEXT;
ALTER TABLE devices ADD COLUMN ztprov_next_expires_at TIMESTAMPTZ;
ALTER TABLE devices ADD COLUMN ztprov_next_used_at TIMESTAMPTZ;
ALTER TABLE devices ADD CONSTRAINT devices_ztprov_next_user UNIQUE (ztprov_next_user);

ALTER TABLE devices ADD COLUMN removing BOOLEAN NOT NULL DEFAULT false;

-- A provider's own CA bundle (PEM), added to the public roots; a certificate
-- in it is also trusted as is (a self-signed server certificate).
ALTER TABLE providers ADD COLUMN ca_pem TEXT;
