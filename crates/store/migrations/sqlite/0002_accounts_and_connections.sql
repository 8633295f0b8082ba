-- People who sign in. Emails are stored lower-cased.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    email         TEXT    NOT NULL UNIQUE,
    name          TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('admin', 'member')),
    password_hash TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    disabled_at   INTEGER
);

-- UI sign-ins. The id is the SHA-256 of the cookie value, never the value.
CREATE TABLE sessions (
    id           TEXT    PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token   TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Personal API tokens, stored as SHA-256 hashes; `prefix` identifies one in lists.
CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    token_hash   TEXT    NOT NULL UNIQUE,
    prefix       TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

-- The integration catalog: one row per kind, enabled or paused by an admin.
CREATE TABLE integrations (
    kind       TEXT    PRIMARY KEY CHECK (kind IN ('gitlab', 'jira', 'slack', 'teams', 'webhook')),
    enabled    INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
INSERT INTO integrations (kind, enabled, updated_at) VALUES
    ('gitlab', 1, 0), ('jira', 1, 0), ('slack', 1, 0), ('teams', 1, 0), ('webhook', 1, 0);

-- Named connections to a GitLab or Jira. The secret is AEAD ciphertext
-- (nonce followed by ciphertext) under the master key named by secret_key_id.
CREATE TABLE connections (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    kind              TEXT    NOT NULL REFERENCES integrations (kind),
    name              TEXT    NOT NULL UNIQUE,
    base_url          TEXT    NOT NULL,
    auth_kind         TEXT    NOT NULL,
    username          TEXT,
    secret            BLOB    NOT NULL,
    secret_key_id     TEXT    NOT NULL,
    owner_id          INTEGER NOT NULL REFERENCES users (id),
    shared            INTEGER NOT NULL,
    flavour           TEXT,
    account_name      TEXT,
    server_version    TEXT,
    last_ok_at        INTEGER,
    last_error        TEXT,
    last_error_code   TEXT,
    last_error_at     INTEGER,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
CREATE INDEX connections_owner ON connections (owner_id);
CREATE INDEX connections_key ON connections (secret_key_id);

-- Jobs that belong to an integration wait while it is disabled.
ALTER TABLE jobs ADD COLUMN integration TEXT;
