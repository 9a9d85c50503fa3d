-- What changed since a generation: every tenant and device row carries the
-- generation of its last change (stamped by triggers, so no write can forget
-- it), and a deleted one leaves a tombstone. A write that changes what phones
-- are served bumps the generation first (holding its row lock until commit),
-- so its rows carry the new value and generations commit in order.

ALTER TABLE tenants ADD COLUMN gen BIGINT NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN gen BIGINT NOT NULL DEFAULT 0;
CREATE INDEX tenants_gen ON tenants (gen);
CREATE INDEX devices_gen ON devices (gen);

CREATE TABLE tombstones (
    gen BIGINT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('tenant', 'device')),
    key TEXT NOT NULL
);
CREATE INDEX tombstones_gen ON tombstones (gen);

CREATE FUNCTION touchless_stamp() RETURNS trigger AS $$
BEGIN
    NEW.gen := (SELECT value FROM generation WHERE id = 1);
    RETURN NEW;
END
$$ LANGUAGE plpgsql;

CREATE FUNCTION touchless_tenant_gone() RETURNS trigger AS $$
BEGIN
    INSERT INTO tombstones (gen, kind, key)
    VALUES ((SELECT value FROM generation WHERE id = 1), 'tenant', OLD.id);
    RETURN OLD;
END
$$ LANGUAGE plpgsql;

CREATE FUNCTION touchless_device_gone() RETURNS trigger AS $$
BEGIN
    INSERT INTO tombstones (gen, kind, key)
    VALUES ((SELECT value FROM generation WHERE id = 1), 'device', OLD.mac);
    RETURN OLD;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER tenants_stamp BEFORE INSERT OR UPDATE ON tenants
    FOR EACH ROW EXECUTE FUNCTION touchless_stamp();
CREATE TRIGGER devices_stamp BEFORE INSERT OR UPDATE ON devices
    FOR EACH ROW EXECUTE FUNCTION touchless_stamp();
CREATE TRIGGER tenants_tombstone AFTER DELETE ON tenants
    FOR EACH ROW EXECUTE FUNCTION touchless_tenant_gone();
CREATE TRIGGER devices_tombstone AFTER DELETE ON devices
    FOR EACH ROW EXECUTE FUNCTION touchless_device_gone();
