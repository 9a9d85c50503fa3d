-- A phone's serial number, which some vendors' clouds register it by
-- (Yealink's when its MAC is refused). Optional: most clouds take the MAC.
ALTER TABLE devices ADD COLUMN serial TEXT;
