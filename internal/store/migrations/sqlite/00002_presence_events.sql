-- +goose Up
CREATE TABLE presence (
    user_id            TEXT PRIMARY KEY REFERENCES users(id),
    org_id             TEXT NOT NULL REFERENCES orgs(id),
    status             TEXT NOT NULL DEFAULT 'available',
    status_until       INTEGER,
    message            TEXT NOT NULL DEFAULT '',
    message_expires_at INTEGER,
    activity           TEXT NOT NULL DEFAULT '',
    last_active_at     INTEGER NOT NULL DEFAULT 0,
    shown              TEXT NOT NULL DEFAULT 'offline',
    version            INTEGER NOT NULL DEFAULT 1,
    next_change_at     INTEGER
);
CREATE INDEX presence_org ON presence(org_id);
-- People who existed before presence start available, offline, version 1.
INSERT INTO presence (user_id, org_id) SELECT id, org_id FROM users WHERE active = 1;
CREATE INDEX presence_next_change ON presence(next_change_at) WHERE next_change_at IS NOT NULL;

-- The org's event log: seq comes from orgs.event_seq, bumped in the same
-- transaction, so events of an org commit in seq order on every engine.
CREATE TABLE events (
    org_id     TEXT NOT NULL REFERENCES orgs(id),
    seq        INTEGER NOT NULL,
    type       TEXT NOT NULL,
    user_id    TEXT,
    session_id TEXT,
    data       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (org_id, seq)
);
CREATE INDEX events_created ON events(created_at);

-- +goose Down
DROP TABLE events;
DROP TABLE presence;
