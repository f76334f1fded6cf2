-- +goose Up
-- Message search of SPEC §8 (issue 11 pt 3). message_fts is a contentless
-- FTS5 index of the messages' words. Its rowids are those of
-- message_search_ids, whose INTEGER PRIMARY KEY, unlike the implicit rowid
-- of messages, survives VACUUM (BackupTo's VACUUM INTO may renumber
-- implicit rowids). The triggers keep the index in step with every insert,
-- edit and delete: a deleted message (deleted_at set, text emptied) is not
-- in it.
--
-- What is indexed is vo_search_doc(text), a Go function the store
-- registers with the driver (chat.SearchWords: lower case, accents of
-- every script stripped, words of letters, digits and marks), the words a
-- query is split into: "cafe" finds "Café", "ελληνικα" "Ελληνικά".
-- unicode61 alone folds only Latin accents. A tool other than vo that
-- writes messages fails on the triggers ("no such function").
CREATE TABLE message_search_ids (
    fts_id     INTEGER PRIMARY KEY,
    message_id TEXT NOT NULL UNIQUE
);

CREATE VIRTUAL TABLE message_fts USING fts5(
    text,
    content = '',
    contentless_delete = 1,
    tokenize = "unicode61 remove_diacritics 2 categories 'L* N* M* Co'"
);

INSERT INTO message_search_ids (message_id) SELECT id FROM messages ORDER BY created_at, id;
INSERT INTO message_fts (rowid, text)
    SELECT s.fts_id, vo_search_doc(m.text) FROM message_search_ids s JOIN messages m ON m.id = s.message_id
    WHERE m.deleted_at IS NULL AND m.text <> '';

-- +goose StatementBegin
CREATE TRIGGER messages_search_insert AFTER INSERT ON messages BEGIN
    INSERT INTO message_search_ids (message_id) VALUES (new.id);
    INSERT INTO message_fts (rowid, text)
        SELECT fts_id, vo_search_doc(new.text) FROM message_search_ids
        WHERE message_id = new.id AND new.deleted_at IS NULL AND new.text <> '';
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER messages_search_update AFTER UPDATE OF text, deleted_at ON messages BEGIN
    DELETE FROM message_fts WHERE rowid = (SELECT fts_id FROM message_search_ids WHERE message_id = old.id);
    INSERT INTO message_fts (rowid, text)
        SELECT fts_id, vo_search_doc(new.text) FROM message_search_ids
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
