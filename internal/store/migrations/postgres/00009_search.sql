-- +goose Up
-- Message search of SPEC §8 (issue 11 pt 3). search is the message's
-- words as the store writes them with every insert and edit: lower case,
-- accents stripped (in Go, so no extension such as unaccent is needed),
-- letters and digits only; NULL for a deleted message, which is then
-- never found. The GIN index answers a query's words.
--
-- Messages sent before this migration start with search NULL: Store.Open
-- indexes them in Go (indexPendingMessages), found by the small partial
-- index messages_search_pending, which is empty once they all are.
ALTER TABLE messages ADD COLUMN search tsvector;
CREATE INDEX messages_search ON messages USING GIN (search);
CREATE INDEX messages_search_pending ON messages (id) WHERE search IS NULL AND deleted_at IS NULL;

-- +goose Down
DROP INDEX messages_search_pending;
DROP INDEX messages_search;
ALTER TABLE messages DROP COLUMN search;
