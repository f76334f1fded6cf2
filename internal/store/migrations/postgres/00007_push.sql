-- +goose Up
-- The server's VAPID key pair (RFC 8292), made once: a node that starts
-- first inserts its candidate, every other keeps the row it finds (id is
-- always 1, so two concurrent first starts end with one key).
CREATE TABLE push_keys (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    private_key TEXT NOT NULL, -- base64url of the P-256 scalar
    public_key  TEXT NOT NULL, -- base64url of the uncompressed point
    created_at  BIGINT NOT NULL
);
-- One browser subscription per session (SPEC §9); it goes with the
-- session, in the same transaction.
CREATE TABLE push_subscriptions (
    session_id TEXT PRIMARY KEY REFERENCES sessions(id),
    user_id    TEXT NOT NULL,
    org_id     TEXT NOT NULL,
    endpoint   TEXT NOT NULL,
    p256dh     TEXT NOT NULL,
    auth       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX push_subscriptions_user ON push_subscriptions(user_id);
-- Pushes waiting to be sent. A worker claims due rows by setting
-- claimed_until, so that no other worker takes them meanwhile.
CREATE TABLE push_outbox (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session_id      TEXT NOT NULL,
    payload         BYTEA NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    -- past it the push is worthless (a call that stopped ringing): the
    -- push service is told the rest as TTL, and it is not retried after.
    expires_at      BIGINT NOT NULL,
    claimed_until   BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX push_outbox_due ON push_outbox(next_attempt_at);
CREATE INDEX push_outbox_session ON push_outbox(session_id);
-- Which sessions have a live event stream on which node, until when: each
-- node writes its own rows as streams open and close and renews them
-- while they live, so a node that dies stops counting within a lease.
CREATE TABLE push_live (
    session_id TEXT NOT NULL,
    node_id    TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (session_id, node_id)
);
CREATE INDEX push_live_node ON push_live(node_id);

-- +goose Down
DROP TABLE push_live;
DROP TABLE push_outbox;
DROP TABLE push_subscriptions;
DROP TABLE push_keys;
