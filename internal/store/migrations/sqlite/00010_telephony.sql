-- +goose Up
-- Secrets the server makes once and every node shares (the SIP password
-- key, the TURN shared secret): the first insert of a name wins.
CREATE TABLE server_secrets (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL, -- hex
    created_at INTEGER NOT NULL
);
-- A user's SIP login. The password is derived from a server secret, the
-- user id and generation, so it is never stored: only its digests are
-- (RFC 2617 MD5 and RFC 8760 SHA-256 HA1 of username:realm:password).
CREATE TABLE sip_credentials (
    user_id    TEXT PRIMARY KEY REFERENCES users(id),
    org_id     TEXT NOT NULL,
    realm      TEXT NOT NULL,
    username   TEXT NOT NULL,
    generation INTEGER NOT NULL,
    ha1_md5    TEXT NOT NULL,
    ha1_sha256 TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX sip_credentials_login ON sip_credentials(realm, username);
-- One row per call per party who sees it (SPEC §10 Call).
CREATE TABLE calls (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    direction   TEXT NOT NULL,
    peer_user_id TEXT NOT NULL DEFAULT '',
    peer_number TEXT NOT NULL DEFAULT '',
    peer_name   TEXT NOT NULL DEFAULT '',
    started_at  INTEGER NOT NULL,
    answered_at INTEGER NOT NULL DEFAULT 0,
    ended_at    INTEGER NOT NULL DEFAULT 0,
    result      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX calls_user_newest ON calls(user_id, started_at DESC, id DESC);
CREATE TABLE voicemails (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL,
    user_id       TEXT NOT NULL,
    from_user_id  TEXT NOT NULL DEFAULT '',
    from_number   TEXT NOT NULL DEFAULT '',
    from_name     TEXT NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL,
    duration_ms   INTEGER NOT NULL,
    heard         INTEGER NOT NULL DEFAULT 0,
    blob_key      TEXT NOT NULL,
    media_type    TEXT NOT NULL
);
CREATE INDEX voicemails_user_newest ON voicemails(user_id, created_at DESC, id DESC);
CREATE TABLE call_forwarding (
    user_id    TEXT PRIMARY KEY REFERENCES users(id),
    org_id     TEXT NOT NULL,
    mode       TEXT NOT NULL,
    target     TEXT NOT NULL DEFAULT '',
    updated_at INTEGER NOT NULL
);

-- +goose Down
DROP TABLE call_forwarding;
DROP TABLE voicemails;
DROP TABLE calls;
DROP TABLE sip_credentials;
DROP TABLE server_secrets;
