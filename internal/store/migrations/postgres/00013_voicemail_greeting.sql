-- +goose Up
-- The blob key of the user's own voicemail greeting; '' while they use
-- the default one.
ALTER TABLE users ADD COLUMN greeting_key TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE users DROP COLUMN greeting_key;
