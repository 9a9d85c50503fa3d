-- A claim asks, for each due event, whether an older event of its MAC is
-- still open. This index holds only open events, so that probe reads none of
-- a device's history, and the planner has no reason to hash every open event
-- instead of probing.
CREATE INDEX events_open ON events (mac, id) WHERE state IN ('pending', 'running');
-- The claim walks events_state_id in id order; an index on
-- (state, next_attempt_at) only tempted the planner to sort every pending
-- event, and cost an index entry on each of an event's writes.
DROP INDEX events_claim;
