-- The generation stamp of 0006, per row only where a write left `gen` as it
-- was: the queue's bulk writes stamp their rows once per statement
-- (`sql::STAMP`), and a PL/pgSQL call for each of their rows cost about a
-- tenth of the recorder's time. Any other write is still stamped, so none
-- can forget it (as on SQLite since its 0007).
DROP TRIGGER devices_stamp ON devices;
CREATE TRIGGER devices_stamp_insert BEFORE INSERT ON devices
    FOR EACH ROW EXECUTE FUNCTION touchless_stamp();
CREATE TRIGGER devices_stamp_update BEFORE UPDATE ON devices
    FOR EACH ROW WHEN (NEW.gen = OLD.gen) EXECUTE FUNCTION touchless_stamp();

DROP TRIGGER tenants_stamp ON tenants;
CREATE TRIGGER tenants_stamp_insert BEFORE INSERT ON tenants
    FOR EACH ROW EXECUTE FUNCTION touchless_stamp();
CREATE TRIGGER tenants_stamp_update BEFORE UPDATE ON tenants
    FOR EACH ROW WHEN (NEW.gen = OLD.gen) EXECUTE FUNCTION touchless_stamp();
