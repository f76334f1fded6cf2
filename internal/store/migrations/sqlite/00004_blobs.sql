-- +goose Up
-- PostgreSQL's 00004 adds the store of files shared by every node. A SQLite
-- deployment is one node and keeps its files in the data folder
-- (internal/blobs.Dir), so here the version only keeps both engines'
-- numbering in step.
SELECT 1;

-- +goose Down
SELECT 1;
