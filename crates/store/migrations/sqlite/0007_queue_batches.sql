-- The queue claims pending events oldest first: walking this index stops
-- after the batch, instead of passing every finished event on the way.
CREATE INDEX events_state_id ON events (state, id);

-- A row already stamped with the current generation needs no second write:
-- the stamp would not change it (an outcome rewriting a device's status
-- would otherwise write the row twice).
DROP TRIGGER devices_stamp_update;
CREATE TRIGGER devices_stamp_update AFTER UPDATE ON devices
WHEN NEW.gen = OLD.gen AND NEW.gen <> (SELECT value FROM generation WHERE id = 1) BEGIN
    UPDATE devices SET gen = (SELECT value FROM generation WHERE id = 1) WHERE mac = NEW.mac;
END;
DROP TRIGGER tenants_stamp_update;
CREATE TRIGGER tenants_stamp_update AFTER UPDATE ON tenants
WHEN NEW.gen = OLD.gen AND NEW.gen <> (SELECT value FROM generation WHERE id = 1) BEGIN
    UPDATE tenants SET gen = (SELECT value FROM generation WHERE id = 1) WHERE id = NEW.id;
END;
