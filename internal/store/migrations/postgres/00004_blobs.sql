-- +goose Up
-- Stored files every node reaches (internal/blobs/pgblobs). A file is a row
-- of blobs naming a generation, whose bytes are blob_chunks of at most
-- 1 MiB: files stream in and out without being held whole, and an
-- overwrite writes a new generation and switches the row in one
-- transaction, so a reader sees the old file or the new one, never a mix.
CREATE SEQUENCE blob_generations;
CREATE TABLE blobs (
    key          TEXT PRIMARY KEY,
    generation   BIGINT NOT NULL UNIQUE,
    size         BIGINT NOT NULL,
    content_type TEXT NOT NULL DEFAULT '',
    modified_at  TIMESTAMPTZ NOT NULL
);
CREATE TABLE blob_chunks (
    generation BIGINT NOT NULL,
    n          INTEGER NOT NULL,
    data       BYTEA NOT NULL,
    PRIMARY KEY (generation, n)
);

-- +goose Down
DROP TABLE blob_chunks;
DROP TABLE blobs;
DROP SEQUENCE blob_generations;
