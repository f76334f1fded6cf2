-- +goose Up
-- Conversations of SPEC §8. A direct (1:1) chat has direct_key, the two
-- member ids sorted and joined, unique in its org: one per pair. last_seq
-- numbers the conversation's messages; version grows with every change any
-- member's view of it shows (a message, a read, a rename, a member, a mute),
-- so that a client keeps the newest view. Every write locks this row
-- first: a conversation's changes are serial, and reach each member's
-- stream in that order.
CREATE TABLE conversations (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES orgs(id),
    kind            TEXT NOT NULL CHECK (kind IN ('direct', 'group')),
    name            TEXT NOT NULL DEFAULT '',
    direct_key      TEXT,
    last_seq        INTEGER NOT NULL DEFAULT 0,
    version         INTEGER NOT NULL DEFAULT 1,
    created_at      INTEGER NOT NULL,
    last_activity_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX conversations_direct ON conversations(org_id, direct_key) WHERE direct_key IS NOT NULL;

-- last_read_seq only grows (a read marker never moves backwards);
-- last_read_message_id is the message at that seq.
CREATE TABLE conversation_members (
    conversation_id      TEXT NOT NULL REFERENCES conversations(id),
    user_id              TEXT NOT NULL REFERENCES users(id),
    muted                INTEGER NOT NULL DEFAULT 0,
    last_read_seq        INTEGER NOT NULL DEFAULT 0,
    last_read_message_id TEXT,
    joined_at            INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, user_id)
);
CREATE INDEX conversation_members_user ON conversation_members(user_id, conversation_id);

-- A message's client_id is unique per sender: a retry finds the first.
CREATE TABLE messages (
    id              TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    seq             INTEGER NOT NULL,
    sender_id       TEXT NOT NULL REFERENCES users(id),
    client_id       TEXT NOT NULL,
    text            TEXT NOT NULL,
    reply_to        TEXT,
    created_at      INTEGER NOT NULL,
    edited_at       INTEGER,
    deleted_at      INTEGER,
    UNIQUE (conversation_id, seq),
    UNIQUE (sender_id, client_id)
);

CREATE TABLE message_mentions (
    message_id TEXT NOT NULL REFERENCES messages(id),
    user_id    TEXT NOT NULL,
    PRIMARY KEY (message_id, user_id)
);

CREATE TABLE message_reactions (
    message_id TEXT NOT NULL REFERENCES messages(id),
    user_id    TEXT NOT NULL,
    emoji      TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (message_id, user_id, emoji)
);

-- +goose Down
DROP TABLE message_reactions;
DROP TABLE message_mentions;
DROP TABLE messages;
DROP TABLE conversation_members;
DROP TABLE conversations;
