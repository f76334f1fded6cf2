-- +goose Up
-- The contact each registered phone's session stands for (a hash of its
-- +sip.instance or contact URI), so that ending the session from the app
-- can revoke that phone.
CREATE TABLE sip_contacts (
    session_id  TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL,
    contact_key TEXT NOT NULL
);
-- Phones signed out from the app: refused until the user's SIP password
-- moves past the generation they were revoked under.
CREATE TABLE sip_revocations (
    user_id     TEXT NOT NULL,
    contact_key TEXT NOT NULL,
    generation  INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (user_id, contact_key)
);

-- +goose Down
DROP TABLE sip_revocations;
DROP TABLE sip_contacts;
