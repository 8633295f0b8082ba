-- Two-way sync. A pair joins a project on one connection (left) to a
-- project on another (right). Settings that are documents (scopes, field
-- policies, the status mapping, learned workflows) are JSON.
CREATE TABLE sync_pairs (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    name                TEXT    NOT NULL,
    owner_id            INTEGER NOT NULL REFERENCES users (id),
    active              INTEGER NOT NULL,
    left_connection_id  INTEGER NOT NULL REFERENCES connections (id),
    left_project        TEXT    NOT NULL,
    left_project_id     TEXT    NOT NULL,
    left_scope          TEXT    NOT NULL,
    right_connection_id INTEGER NOT NULL REFERENCES connections (id),
    right_project       TEXT    NOT NULL,
    right_project_id    TEXT    NOT NULL,
    right_scope         TEXT    NOT NULL,
    created_after       INTEGER,
    fields              TEXT    NOT NULL,
    status_mapping      TEXT,
    transition_defaults TEXT    NOT NULL,
    jira_issue_type     TEXT,
    workflows           TEXT    NOT NULL,
    scan_interval_secs  INTEGER NOT NULL,
    left_scanned_to     INTEGER,
    right_scanned_to    INTEGER,
    next_scan_at        INTEGER,
    activated_at        INTEGER,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
);
CREATE INDEX sync_pairs_left ON sync_pairs (left_connection_id);
CREATE INDEX sync_pairs_right ON sync_pairs (right_connection_id);

-- One item and its twin: the link table. A side's columns are empty until
-- the item exists there; an item is never linked twice on one side.
CREATE TABLE sync_items (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    pair_id         INTEGER NOT NULL REFERENCES sync_pairs (id) ON DELETE CASCADE,
    left_id         TEXT,
    left_key        TEXT,
    left_url        TEXT,
    right_id        TEXT,
    right_key       TEXT,
    right_url       TEXT,
    state           TEXT    NOT NULL CHECK (state IN ('pending', 'synced', 'failing', 'paused')),
    shadow          TEXT    NOT NULL,
    fuse            TEXT    NOT NULL,
    hint            TEXT,
    hint_at         INTEGER,
    left_updated_at INTEGER,
    right_updated_at INTEGER,
    last_error      TEXT,
    failures        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    last_synced_at  INTEGER,
    lease_owner     TEXT,
    lease_until     INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    UNIQUE (pair_id, left_id),
    UNIQUE (pair_id, right_id)
);
CREATE INDEX sync_items_state ON sync_items (pair_id, state, id);
CREATE INDEX sync_items_retry ON sync_items (next_attempt_at) WHERE next_attempt_at IS NOT NULL;

-- Every remote write: its intent before the call, its outcome after.
CREATE TABLE sync_operations (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    pair_id     INTEGER NOT NULL REFERENCES sync_pairs (id) ON DELETE CASCADE,
    item_id     INTEGER NOT NULL REFERENCES sync_items (id) ON DELETE CASCADE,
    side        TEXT    NOT NULL CHECK (side IN ('left', 'right')),
    kind        TEXT    NOT NULL,
    fields      TEXT    NOT NULL,
    state       TEXT    NOT NULL CHECK (state IN ('intent', 'done', 'failed')),
    remote_id   TEXT,
    error       TEXT,
    created_at  INTEGER NOT NULL,
    finished_at INTEGER
);
CREATE INDEX sync_operations_item ON sync_operations (item_id, id);
CREATE INDEX sync_operations_pair ON sync_operations (pair_id, id);

CREATE TABLE sync_conflicts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    pair_id     INTEGER NOT NULL REFERENCES sync_pairs (id) ON DELETE CASCADE,
    item_id     INTEGER NOT NULL REFERENCES sync_items (id) ON DELETE CASCADE,
    field       TEXT    NOT NULL,
    left_value  TEXT    NOT NULL,
    right_value TEXT    NOT NULL,
    winner      TEXT    NOT NULL CHECK (winner IN ('left', 'right')),
    reason      TEXT    NOT NULL,
    decided_at  INTEGER NOT NULL
);
CREATE INDEX sync_conflicts_pair ON sync_conflicts (pair_id, id);

-- What each run did (one item after a webhook, a scan, a retry).
CREATE TABLE sync_runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    pair_id     INTEGER NOT NULL REFERENCES sync_pairs (id) ON DELETE CASCADE,
    triggered_by TEXT   NOT NULL,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER NOT NULL,
    seen        INTEGER NOT NULL,
    created     INTEGER NOT NULL,
    updated     INTEGER NOT NULL,
    skipped     INTEGER NOT NULL,
    failed      INTEGER NOT NULL,
    api_calls   INTEGER NOT NULL
);
CREATE INDEX sync_runs_pair ON sync_runs (pair_id, id);
