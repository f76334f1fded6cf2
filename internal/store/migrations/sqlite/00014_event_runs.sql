-- +goose Up
-- A run is consecutive events of one transaction for the same recipients
-- (the sends of a batch into one group). Its events are stored once here,
-- idx 0 to n-1 in order, and each recipient's stream holds one user_events
-- row for the whole run: pos is the run's last position in that stream,
-- span its length (the run takes positions pos - span + 1 to pos), run_id
-- the run. A batch of 64 messages into a group of 50 is 64 rows here and 50
-- there, not 3,200. A row of span 1 without run_id is one event, as before.
CREATE TABLE event_runs (
    run_id     INTEGER NOT NULL,
    idx        INTEGER NOT NULL,
    type       TEXT NOT NULL,
    data       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (run_id, idx)
);
CREATE INDEX event_runs_created ON event_runs(created_at);
ALTER TABLE user_events ADD COLUMN span INTEGER NOT NULL DEFAULT 1;
ALTER TABLE user_events ADD COLUMN run_id INTEGER;

-- +goose Down
ALTER TABLE user_events DROP COLUMN run_id;
ALTER TABLE user_events DROP COLUMN span;
DROP TABLE event_runs;
