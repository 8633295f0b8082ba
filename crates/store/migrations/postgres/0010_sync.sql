-- Two-way sync. A pair joins a project on one connection (left) to a
-- project on another (right). Settings that are documents (scopes, field
-- policies, the status mapping, learned workflows) are JSON.
CREATE TABLE sync_pairs (
    id                  BIGSERIAL PRIMARY KEY,
    name                TEXT    NOT NULL,
    owner_id            BIGINT NOT NULL REFERENCES users (id),
    active              BOOLEAN NOT NULL,
    left_connection_id  BIGINT NOT NULL REFERENCES connections (id),
    left_project        TEXT    NOT NULL,
    left_project_id     TEXT    NOT NULL,
    left_scope          JSONB   NOT NULL,
    right_connection_id BIGINT NOT NULL REFERENCES connections (id),
    right_project       TEXT    NOT NULL,
    right_project_id    TEXT    NOT NULL,
    right_scope         JSONB   NOT NULL,
    created_after       TIMESTAMPTZ,
    fields              JSONB   NOT NULL,
    status_mapping      JSONB,
    transition_defaults JSONB   NOT NULL,
    jira_issue_type     TEXT,
    workflows           JSONB   NOT NULL,
    scan_interval_secs  BIGINT  NOT NULL,
    left_scanned_to     TIMESTAMPTZ,
    right_scanned_to    TIMESTAMPTZ,
    next_scan_at        TIMESTAMPTZ,
    activated_at        TIMESTAMPTZ,
    created_at          TIMESTAMPTZ NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL
);
CREATE INDEX sync_pairs_left ON sync_pairs (left_connection_id);
CREATE INDEX sync_pairs_right ON sync_pairs (right_connection_id);

-- One item and its twin: the link table. A side's columns are empty until
-- the item exists there; an item is never linked twice on one side.
CREATE TABLE sync_items (
    id              BIGSERIAL PRIMARY KEY,
    pair_id         BIGINT NOT NULL REFERENCES sync_pairs (id) ON DELETE CASCADE,
    left_id         TEXT,
    left_key        TEXT,
    left_url        TEXT,
    right_id        TEXT,
    right_key       TEXT,
    right_url       TEXT,
    state           TEXT    NOT NULL CHECK (state IN ('pending', 'synced', 'failing', 'paused')),
    shadow          JSONB   NOT NULL,
    fuse            JSONB   NOT NULL,
    hint            JSONB,
    hint_at         TIMESTAMPTZ,
    left_updated_at TIMESTAMPTZ,
    right_updated_at TIMESTAMPTZ,
    last_error      TEXT,
    failures        BIGINT  NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ,
    last_synced_at  TIMESTAMPTZ,
    lease_owner     TEXT,
    lease_until     TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    UNIQUE (pair_id, left_id),
    UNIQUE (pair_id, right_id)
);
CREATE INDEX sync_items_state ON sync_items (pair_id, state, id);
CREATE INDEX sync_items_retry ON sync_items (next_attempt_at) WHERE next_attempt_at IS NOT NULL;

-- Every remote write: its intent before the call, its outcome after.
CREATE TABLE sync_operations (
    id          BIGSERIAL PRIMARY KEY,
    pair_id     BIGINT NOT NULL REFERENCES sync_pairs (id) ON DELETE CASCADE,
    item_id     BIGINT NOT NULL REFERENCES sync_items (id) ON DELETE CASCADE,
    side        TEXT    NOT NULL CHECK (side IN ('left', 'right')),
    kind        TEXT    NOT NULL,
    fields      JSONB   NOT NULL,
    state       TEXT    NOT NULL CHECK (state IN ('intent', 'done', 'failed')),
    remote_id   TEXT,
    error       TEXT,
    created_at  TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ
);
CREATE INDEX sync_operations_item ON sync_operations (item_id, id);
CREATE INDEX sync_operations_pair ON sync_operations (pair_id, id);

CREATE TABLE sync_conflicts (
    id          BIGSERIAL PRIMARY KEY,
    pair_id     BIGINT NOT NULL REFERENCES sync_pairs (id) ON DELETE CASCADE,
    item_id     BIGINT NOT NULL REFERENCES sync_items (id) ON DELETE CASCADE,
    field       TEXT    NOT NULL,
    left_value  TEXT    NOT NULL,
    right_value TEXT    NOT NULL,
    winner      TEXT    NOT NULL CHECK (winner IN ('left', 'right')),
    reason      TEXT    NOT NULL,
    decided_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX sync_conflicts_pair ON sync_conflicts (pair_id, id);

-- What each run did (one item after a webhook, a scan, a retry).
CREATE TABLE sync_runs (
    id          BIGSERIAL PRIMARY KEY,
    pair_id     BIGINT NOT NULL REFERENCES sync_pairs (id) ON DELETE CASCADE,
    triggered_by TEXT   NOT NULL,
    started_at  TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ NOT NULL,
    seen        BIGINT  NOT NULL,
    created     BIGINT  NOT NULL,
    updated     BIGINT  NOT NULL,
    skipped     BIGINT  NOT NULL,
    failed      BIGINT  NOT NULL,
    api_calls   BIGINT NOT NULL
);
CREATE INDEX sync_runs_pair ON sync_runs (pair_id, id);
