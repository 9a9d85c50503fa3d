-- Finished events are never deleted and, in bulk, only ever counted: the
-- queue's summary (the console, /metrics, `phone storm`) counted every row of
-- the history on each call. Their totals are kept here instead, moved by the
-- transaction that finishes an event (and by a retry of a failed one), so a
-- summary reads the open events and these two rows.
CREATE TABLE event_totals (
    state TEXT PRIMARY KEY CHECK (state IN ('done', 'failed')),
    n BIGINT NOT NULL
);
INSERT INTO event_totals (state, n) SELECT 'done', COUNT(*) FROM events WHERE state = 'done';
INSERT INTO event_totals (state, n) SELECT 'failed', COUNT(*) FROM events WHERE state = 'failed';
