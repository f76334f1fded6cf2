-- +goose Up
-- Message search of SPEC §8 (issue 11 pt 3). search is the message's
-- words as the store writes them with every insert and edit: lower case,
-- accents stripped (in Go, so no extension such as unaccent is needed),
-- letters and digits only; NULL for a deleted message, which is then
-- never found. The GIN index answers a query's words.
--
-- Messages sent before this migration are indexed here by PostgreSQL's
-- 'simple' configuration, which folds case but not accents: until edited,
-- such a message with "Café" is found by "café", not by "cafe".
ALTER TABLE messages ADD COLUMN search tsvector;
UPDATE messages SET search = to_tsvector('simple', text) WHERE deleted_at IS NULL;
CREATE INDEX messages_search ON messages USING GIN (search);

-- +goose Down
DROP INDEX messages_search;
ALTER TABLE messages DROP COLUMN search;
