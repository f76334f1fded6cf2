-- +goose Up
-- Chat attachments (SPEC §8). The file is in the blob store under
-- "attachments/<id>" (and an image's preview under
-- "attachments/<id>-256.jpg"). Until it is posted (message_id null) only
-- its uploader sees it; once posted, every member of the message's
-- conversation. A deleted message's attachments are deleted with it, and
-- the housekeeping sweep removes the files no row names.
CREATE TABLE attachments (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES orgs(id),
    uploader_id  TEXT NOT NULL REFERENCES users(id),
    name         TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         INTEGER NOT NULL,
    width        INTEGER, -- images only, with height
    height       INTEGER,
    message_id   TEXT REFERENCES messages(id),
    position     INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL
);
CREATE INDEX attachments_message ON attachments(message_id, position);
CREATE INDEX attachments_unposted ON attachments(created_at) WHERE message_id IS NULL;

-- +goose Down
DROP TABLE attachments;
