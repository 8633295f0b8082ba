-- Notifications out. A channel is a Slack or Teams incoming webhook, or a
-- generic webhook signed per Standard Webhooks. The URL (its path is a
-- credential) and the signing secret are sealed under the master key like
-- connection secrets; only scheme://host is kept in clear, for display.
CREATE TABLE notify_channels (
    id                   BIGSERIAL   PRIMARY KEY,
    name                 TEXT    NOT NULL UNIQUE,
    kind                 TEXT    NOT NULL CHECK (kind IN ('slack', 'teams', 'webhook')),
    url                  BYTEA    NOT NULL,
    url_key_id           TEXT    NOT NULL,
    target               TEXT    NOT NULL,
    secret               BYTEA,
    secret_key_id        TEXT,
    enabled              BOOLEAN NOT NULL,
    disabled_reason      TEXT,
    created_by           BIGINT REFERENCES users (id) ON DELETE SET NULL,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    failing_since        TIMESTAMPTZ,
    last_success_at      TIMESTAMPTZ,
    created_at           TIMESTAMPTZ NOT NULL,
    updated_at           TIMESTAMPTZ NOT NULL
);
CREATE INDEX notify_channels_url_key ON notify_channels (url_key_id);

-- What a channel hears about: one OKR (with its subtree, if asked) or,
-- with okr_id NULL, everything; events is a comma-separated list of kinds.
CREATE TABLE notify_subscriptions (
    id              BIGSERIAL   PRIMARY KEY,
    channel_id      BIGINT NOT NULL REFERENCES notify_channels (id) ON DELETE CASCADE,
    okr_id          BIGINT REFERENCES okrs (id) ON DELETE CASCADE,
    include_subtree BOOLEAN NOT NULL,
    events          TEXT    NOT NULL,
    created_by      BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX notify_subscriptions_channel ON notify_subscriptions (channel_id);

-- One event to one channel; webhook_id stays the same on every attempt.
CREATE TABLE notify_deliveries (
    id              BIGSERIAL   PRIMARY KEY,
    channel_id      BIGINT NOT NULL REFERENCES notify_channels (id) ON DELETE CASCADE,
    event_kind      TEXT    NOT NULL,
    payload         TEXT    NOT NULL,
    webhook_id      TEXT    NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN ('pending', 'delivered', 'failed', 'gave_up')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX notify_deliveries_channel ON notify_deliveries (channel_id, id);

CREATE TABLE notify_attempts (
    id               BIGSERIAL   PRIMARY KEY,
    delivery_id      BIGINT NOT NULL REFERENCES notify_deliveries (id) ON DELETE CASCADE,
    attempt          INTEGER NOT NULL,
    at               TIMESTAMPTZ NOT NULL,
    status_code      INTEGER,
    error            TEXT,
    duration_ms      BIGINT NOT NULL,
    response_excerpt TEXT    NOT NULL
);
CREATE INDEX notify_attempts_delivery ON notify_attempts (delivery_id, attempt);

-- Things admins should know (a channel disabled, ...), until dismissed.
CREATE TABLE notices (
    id           BIGSERIAL   PRIMARY KEY,
    text         TEXT    NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    dismissed_at TIMESTAMPTZ,
    dismissed_by BIGINT REFERENCES users (id) ON DELETE SET NULL
);
