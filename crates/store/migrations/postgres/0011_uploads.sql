-- What phones upload with PUT (Poly: their logs and local settings), kept
-- per device and kind, newest few only, and pruned by age with the contact
-- log. No foreign key: support material, not registry state.
CREATE TABLE uploads (
    id BIGSERIAL PRIMARY KEY,
    mac TEXT NOT NULL,
    kind TEXT NOT NULL,
    at TIMESTAMPTZ NOT NULL,
    size BIGINT NOT NULL,
    content BYTEA NOT NULL
);
CREATE INDEX uploads_mac_kind ON uploads (mac, kind, id);
CREATE INDEX uploads_at ON uploads (at);
