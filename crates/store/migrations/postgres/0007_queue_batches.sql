-- The queue claims pending events oldest first: walking this index stops
-- after the batch, instead of passing every finished event on the way.
CREATE INDEX events_state_id ON events (state, id);
