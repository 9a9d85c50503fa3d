-- What changed since a generation: every tenant and device row carries the
-- generation of its last change (stamped by triggers, so no write can forget
-- it), and a deleted one leaves a tombstone. A write that changes what phones
-- are served bumps the generation first, so its rows carry the new value.

ALTER TABLE tenants ADD COLUMN gen INTEGER NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN gen INTEGER NOT NULL DEFAULT 0;
CREATE INDEX tenants_gen ON tenants (gen);
CREATE INDEX devices_gen ON devices (gen);

CREATE TABLE tombstones (
    gen INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('tenant', 'device')),
    key TEXT NOT NULL
);
CREATE INDEX tombstones_gen ON tombstones (gen);

-- recursive_triggers is off: the stamping UPDATE does not fire these again.
CREATE TRIGGER tenants_stamp_insert AFTER INSERT ON tenants BEGIN
    UPDATE tenants SET gen = (SELECT value FROM generation WHERE id = 1) WHERE id = NEW.id;
END;
CREATE TRIGGER tenants_stamp_update AFTER UPDATE ON tenants WHEN NEW.gen = OLD.gen BEGIN
    UPDATE tenants SET gen = (SELECT value FROM generation WHERE id = 1) WHERE id = NEW.id;
END;
CREATE TRIGGER tenants_tombstone AFTER DELETE ON tenants BEGIN
    INSERT INTO tombstones (gen, kind, key)
    VALUES ((SELECT value FROM generation WHERE id = 1), 'tenant', OLD.id);
END;
CREATE TRIGGER devices_stamp_insert AFTER INSERT ON devices BEGIN
    UPDATE devices SET gen = (SELECT value FROM generation WHERE id = 1) WHERE mac = NEW.mac;
END;
CREATE TRIGGER devices_stamp_update AFTER UPDATE ON devices WHEN NEW.gen = OLD.gen BEGIN
    UPDATE devices SET gen = (SELECT value FROM generation WHERE id = 1) WHERE mac = NEW.mac;
END;
CREATE TRIGGER devices_tombstone AFTER DELETE ON devices BEGIN
    INSERT INTO tombstones (gen, kind, key)
    VALUES ((SELECT value FROM generation WHERE id = 1), 'device', OLD.mac);
END;
