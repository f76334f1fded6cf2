-- +goose Up
-- An event for several recipients (a message to a group) is stored once
-- here; each recipient's user_events row points at it (body_id) and keeps
-- an empty data. A row without body_id holds its own data, as before.
CREATE TABLE event_bodies (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    data       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX event_bodies_created ON event_bodies(created_at);
ALTER TABLE user_events ADD COLUMN body_id INTEGER;

-- +goose Down
ALTER TABLE user_events DROP COLUMN body_id;
DROP TABLE event_bodies;
