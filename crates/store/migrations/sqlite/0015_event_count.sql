-- How many events were ever queued, moved by the transaction that queues
-- them (last, so it holds this row only while it commits). With the
-- finished events' totals and the running events (at most a lease per
-- worker, counted by index), it gives the pending ones: the queue's summary
-- no longer counts a backlog of 100,000 on every call.
CREATE TABLE event_count (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n BIGINT NOT NULL
);
INSERT INTO event_count (id, n) SELECT 1, COUNT(*) FROM events;
