-- +goose Up
-- Message search of SPEC §8 (issue 11 pt 3). message_fts is a contentless
-- FTS5 index of the messages' text. Its rowids are those of
-- message_search_ids, whose INTEGER PRIMARY KEY, unlike the implicit rowid
-- of messages, survives VACUUM (BackupTo's VACUUM INTO may renumber
-- implicit rowids). The triggers keep the index in step with every insert,
-- edit and delete: a deleted message (deleted_at set, text emptied) is not
-- in it. The tokenizer folds case and strips accents, so "cafe" finds
-- "Café".
CREATE TABLE message_search_ids (
    fts_id     INTEGER PRIMARY KEY,
    message_id TEXT NOT NULL UNIQUE
);

CREATE VIRTUAL TABLE message_fts USING fts5(
    text,
    content = '',
    contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2'
);

INSERT INTO message_search_ids (message_id) SELECT id FROM messages ORDER BY created_at, id;
INSERT INTO message_fts (rowid, text)
    SELECT s.fts_id, m.text FROM message_search_ids s JOIN messages m ON m.id = s.message_id
    WHERE m.deleted_at IS NULL AND m.text <> '';

-- +goose StatementBegin
CREATE TRIGGER messages_search_insert AFTER INSERT ON messages BEGIN
    INSERT INTO message_search_ids (message_id) VALUES (new.id);
    INSERT INTO message_fts (rowid, text)
        SELECT fts_id, new.text FROM message_search_ids
        WHERE message_id = new.id AND new.deleted_at IS NULL AND new.text <> '';
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER messages_search_update AFTER UPDATE OF text, deleted_at ON messages BEGIN
    DELETE FROM message_fts WHERE rowid = (SELECT fts_id FROM message_search_ids WHERE message_id = old.id);
    INSERT INTO message_fts (rowid, text)
        SELECT fts_id, new.text FROM message_search_ids
        WHERE message_id = new.id AND new.deleted_at IS NULL AND new.text <> '';
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER messages_search_delete AFTER DELETE ON messages BEGIN
    DELETE FROM message_fts WHERE rowid = (SELECT fts_id FROM message_search_ids WHERE message_id = old.id);
    DELETE FROM message_search_ids WHERE message_id = old.id;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER messages_search_delete;
DROP TRIGGER messages_search_update;
DROP TRIGGER messages_search_insert;
DROP TABLE message_fts;
DROP TABLE message_search_ids;
