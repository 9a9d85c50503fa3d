-- Hawk nonces seen by any node, so a request replayed to another node is refused.
CREATE TABLE hawk_nonces (
    key_id TEXT NOT NULL,
    nonce TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (key_id, nonce)
);
CREATE INDEX hawk_nonces_expiry ON hawk_nonces (expires_at);
