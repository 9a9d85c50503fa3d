-- Staged ztprov users need not be unique. They are only ever looked up with
-- their device's MAC; uniqueness guarded against two devices drawing the same
-- 12 random characters (one chance in 10^21), which the check per MAC makes
-- harmless anyway. Keeping an index of random keys cost an insert at a random
-- place per device: about 1.5 s of `register --all` at 100,000 devices.
ALTER TABLE devices DROP CONSTRAINT devices_ztprov_next_user;
