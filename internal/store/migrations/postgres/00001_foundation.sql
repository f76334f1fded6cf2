-- +goose Up
CREATE TABLE orgs (
    id                TEXT PRIMARY KEY,
    slug              TEXT NOT NULL UNIQUE,
    name              TEXT NOT NULL,
    auto_away_seconds INTEGER NOT NULL DEFAULT 600,
    event_seq         BIGINT NOT NULL DEFAULT 0,
    created_at        BIGINT NOT NULL
);

CREATE TABLE users (
    id             TEXT PRIMARY KEY,
    org_id         TEXT NOT NULL REFERENCES orgs(id),
    name           TEXT NOT NULL,
    name_key       TEXT COLLATE "C" NOT NULL,
    email          TEXT NOT NULL,
    email_key      TEXT NOT NULL,
    role           TEXT NOT NULL CHECK (role IN ('admin', 'member')),
    extension      TEXT NOT NULL,
    phone_number   TEXT,
    password_hash  TEXT NOT NULL,
    photo_hash     TEXT,
    active         INTEGER NOT NULL DEFAULT 1,
    created_at     BIGINT NOT NULL,
    deactivated_at BIGINT
);
-- Uniqueness holds among active users, so a deactivated person's email,
-- extension or number can be given to someone new.
CREATE UNIQUE INDEX users_email_active ON users(email_key) WHERE active = 1;
CREATE UNIQUE INDEX users_org_extension_active ON users(org_id, extension) WHERE active = 1;
CREATE UNIQUE INDEX users_phone_active ON users(phone_number) WHERE active = 1 AND phone_number IS NOT NULL;
CREATE INDEX users_org_name ON users(org_id, active, name_key, id);

-- Search terms: every prefix search of the directory is a range scan here.
CREATE TABLE user_terms (
    org_id  TEXT NOT NULL,
    term    TEXT COLLATE "C" NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id),
    PRIMARY KEY (org_id, term, user_id)
);
CREATE INDEX user_terms_user ON user_terms(user_id);

CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id),
    org_id       TEXT NOT NULL REFERENCES orgs(id),
    token_hash   TEXT NOT NULL UNIQUE,
    csrf_hash    TEXT NOT NULL,
    device_name  TEXT NOT NULL,
    platform     TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);
CREATE INDEX sessions_last_seen ON sessions(last_seen_at);

-- +goose Down
DROP TABLE sessions;
DROP TABLE user_terms;
DROP TABLE users;
DROP TABLE orgs;
