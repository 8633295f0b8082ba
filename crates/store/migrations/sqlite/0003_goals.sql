-- Goals: periods, objectives and key results, check-ins, data links, the
-- item snapshots behind linked numbers, and the history of progress.
CREATE TABLE periods (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL UNIQUE,
    starts_on  TEXT    NOT NULL,
    ends_on    TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);

-- An objective or key result. measure is core's Measure as JSON; the last
-- computed progress is kept here for lists, its history in progress_points.
CREATE TABLE okrs (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    kind             TEXT    NOT NULL CHECK (kind IN ('objective', 'key_result')),
    title            TEXT    NOT NULL,
    description      TEXT    NOT NULL,
    owner_id         INTEGER    NOT NULL REFERENCES users (id),
    period_id        INTEGER    NOT NULL REFERENCES periods (id),
    parent_id        INTEGER    REFERENCES okrs (id),
    starts_on        TEXT    NOT NULL,
    due_on           TEXT    NOT NULL,
    measure          TEXT      NOT NULL,
    weight           REAL      NOT NULL,
    contributes      INTEGER      NOT NULL,
    progress_source  TEXT    NOT NULL CHECK (progress_source IN ('check_in', 'roll_up', 'data_link')),
    value            REAL,
    percent          REAL,
    expected_percent REAL,
    status           TEXT,
    computed_at      INTEGER,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
CREATE INDEX okrs_period ON okrs (period_id);
CREATE INDEX okrs_parent ON okrs (parent_id);

CREATE TABLE check_ins (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    okr_id          INTEGER    NOT NULL REFERENCES okrs (id) ON DELETE CASCADE,
    author_id       INTEGER    NOT NULL REFERENCES users (id),
    value           REAL      NOT NULL,
    status_override TEXT,
    note            TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX check_ins_okr ON check_ins (okr_id, created_at);

-- How a key result reads its number from a tracker. rule is core's LinkRule,
-- query the tracker's selection (GitLab filter or Jira JQL), both as JSON.
CREATE TABLE data_links (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    okr_id                INTEGER    NOT NULL UNIQUE REFERENCES okrs (id) ON DELETE CASCADE,
    connection_id         INTEGER    NOT NULL REFERENCES connections (id),
    rule                  TEXT      NOT NULL,
    query                 TEXT      NOT NULL,
    refresh_interval_secs INTEGER,
    next_refresh_at       INTEGER NOT NULL,
    last_attempt_at       INTEGER,
    last_success_at       INTEGER,
    last_full_at          INTEGER,
    last_error            TEXT,
    last_error_code       TEXT,
    failures              INTEGER NOT NULL DEFAULT 0,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL
);
CREATE INDEX data_links_due ON data_links (next_refresh_at);
CREATE INDEX data_links_connection ON data_links (connection_id);

-- The last known state of a GitLab issue or Jira ticket, per connection.
CREATE TABLE items (
    id                        INTEGER PRIMARY KEY AUTOINCREMENT,
    connection_id             INTEGER    NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    key                       TEXT    NOT NULL,
    title                     TEXT    NOT NULL,
    url                       TEXT    NOT NULL,
    state                     TEXT    NOT NULL,
    done                      INTEGER      NOT NULL,
    tasks_total               INTEGER NOT NULL,
    tasks_done                INTEGER NOT NULL,
    time_spent_seconds        INTEGER,
    original_estimate_seconds INTEGER,
    remaining_estimate_seconds INTEGER,
    story_points              REAL,
    custom_fields             TEXT      NOT NULL,
    remote_updated_at         INTEGER NOT NULL,
    fetched_at                INTEGER NOT NULL,
    UNIQUE (connection_id, key)
);

-- Which items make up a link's number.
CREATE TABLE link_items (
    link_id INTEGER NOT NULL REFERENCES data_links (id) ON DELETE CASCADE,
    item_id INTEGER NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    PRIMARY KEY (link_id, item_id)
);
CREATE INDEX link_items_item ON link_items (item_id);

-- Every change of an OKR's progress.
CREATE TABLE progress_points (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    okr_id           INTEGER    NOT NULL REFERENCES okrs (id) ON DELETE CASCADE,
    at               INTEGER NOT NULL,
    value            REAL      NOT NULL,
    percent          REAL      NOT NULL,
    expected_percent REAL      NOT NULL,
    status           TEXT    NOT NULL,
    source           TEXT    NOT NULL,
    note             TEXT    NOT NULL
);
CREATE INDEX progress_points_okr ON progress_points (okr_id, at);
