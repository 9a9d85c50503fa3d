-- One partial index per state the queue walks, in place of (state, id):
-- the claim walks the pending events (`events_pending`) and the running ones
-- whose lease ran out (`events_running`) in id order, the console lists the
-- failed ones (`events_failed`). A finished event leaves all three, so
-- recording an outcome writes one index entry fewer; and the pending walk
-- has no other state's entries to step over, so the planner takes it even
-- with statistics from when the queue was all pending (it walked the primary
-- key through every finished event instead).
CREATE INDEX events_pending ON events (id) WHERE state = 'pending';
CREATE INDEX events_running ON events (id) WHERE state = 'running';
CREATE INDEX events_failed ON events (id) WHERE state = 'failed';
DROP INDEX events_state_id;
