-- +goose Up
-- An event is for the whole org, a set of users, or one session (with its
-- owner as the set). Each recipient of a private event has a row here, so
-- catch-up finds a user's own events by index and nobody else's, however
-- large the audience. Rows go with their event.
ALTER TABLE events ADD COLUMN scope TEXT NOT NULL DEFAULT 'org' CHECK (scope IN ('org', 'users', 'session'));
CREATE TABLE event_audience (
    org_id  TEXT NOT NULL,
    seq     INTEGER NOT NULL,
    user_id TEXT NOT NULL,
    PRIMARY KEY (org_id, user_id, seq),
    FOREIGN KEY (org_id, seq) REFERENCES events(org_id, seq) ON DELETE CASCADE
);
-- The gap fill reads an org's events with their audiences in seq order.
CREATE INDEX event_audience_seq ON event_audience(org_id, seq);
INSERT INTO event_audience (org_id, seq, user_id) SELECT org_id, seq, user_id FROM events WHERE user_id IS NOT NULL;
UPDATE events SET scope = 'users' WHERE user_id IS NOT NULL;
-- A session's events name no owner before this migration; that session is
-- gone, so nobody's catch-up may read them.
UPDATE events SET scope = 'session' WHERE session_id IS NOT NULL;
ALTER TABLE events DROP COLUMN user_id;

-- +goose Down
ALTER TABLE events ADD COLUMN user_id TEXT;
UPDATE events SET user_id = (SELECT MIN(a.user_id) FROM event_audience a WHERE a.org_id = events.org_id AND a.seq = events.seq) WHERE scope = 'users';
DROP TABLE event_audience;
ALTER TABLE events DROP COLUMN scope;
