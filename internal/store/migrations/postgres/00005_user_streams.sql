-- +goose Up
-- Each user has a stream of their own beside the org's (orgs.event_seq):
-- events addressed to users or to a session take a position in each
-- recipient's stream, not the org's, so two unrelated private events never
-- lock the same row. pos is the stream's newest position; the row is made
-- by the user's first such event.
CREATE TABLE user_streams (
    user_id TEXT PRIMARY KEY,
    org_id  TEXT NOT NULL,
    pos     BIGINT NOT NULL
);
-- One row per recipient: the event as that user's stream holds it.
-- session_id, when set, limits it to that session of the user. after_org
-- is the org stream's position it came after (the org event before it in
-- its transaction, or the org's head when it was logged), by which a
-- catch-up interleaves the two streams.
CREATE TABLE user_events (
    user_id    TEXT NOT NULL,
    pos        BIGINT NOT NULL,
    org_id     TEXT NOT NULL,
    type       TEXT NOT NULL,
    session_id TEXT,
    data       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    after_org  BIGINT NOT NULL,
    PRIMARY KEY (user_id, pos)
);
CREATE INDEX user_events_created ON user_events(created_at);
-- Private events logged before this stay in the org's stream (events,
-- event_audience) with their org seq, and are read from there until pruned.

-- +goose Down
DROP TABLE user_events;
DROP TABLE user_streams;
