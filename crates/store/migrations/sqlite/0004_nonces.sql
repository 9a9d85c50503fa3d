-- Hawk nonces, shared by every process on this database (see the PostgreSQL twin).
CREATE TABLE hawk_nonces (
    key_id TEXT NOT NULL,
    nonce TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    PRIMARY KEY (key_id, nonce)
);
CREATE INDEX hawk_nonces_expiry ON hawk_nonces (expires_at);
