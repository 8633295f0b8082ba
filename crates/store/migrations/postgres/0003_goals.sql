-- Goals: periods, objectives and key results, check-ins, data links, the
-- item snapshots behind linked numbers, and the history of progress.
CREATE TABLE periods (
    id         BIGSERIAL PRIMARY KEY,
    name       TEXT    NOT NULL UNIQUE,
    starts_on  TEXT    NOT NULL,
    ends_on    TEXT    NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

-- An objective or key result. measure is core's Measure as JSON; the last
-- computed progress is kept here for lists, its history in progress_points.
CREATE TABLE okrs (
    id               BIGSERIAL PRIMARY KEY,
    kind             TEXT    NOT NULL CHECK (kind IN ('objective', 'key_result')),
    title            TEXT    NOT NULL,
    description      TEXT    NOT NULL,
    owner_id         BIGINT    NOT NULL REFERENCES users (id),
    period_id        BIGINT    NOT NULL REFERENCES periods (id),
    parent_id        BIGINT    REFERENCES okrs (id),
    starts_on        TEXT    NOT NULL,
    due_on           TEXT    NOT NULL,
    measure          JSONB      NOT NULL,
    weight           DOUBLE PRECISION      NOT NULL,
    contributes      BOOLEAN      NOT NULL,
    progress_source  TEXT    NOT NULL CHECK (progress_source IN ('check_in', 'roll_up', 'data_link')),
    value            DOUBLE PRECISION,
    percent          DOUBLE PRECISION,
    expected_percent DOUBLE PRECISION,
    status           TEXT,
    computed_at      TIMESTAMPTZ,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX okrs_period ON okrs (period_id);
CREATE INDEX okrs_parent ON okrs (parent_id);

CREATE TABLE check_ins (
    id              BIGSERIAL PRIMARY KEY,
    okr_id          BIGINT    NOT NULL REFERENCES okrs (id) ON DELETE CASCADE,
    author_id       BIGINT    NOT NULL REFERENCES users (id),
    value           DOUBLE PRECISION      NOT NULL,
    status_override TEXT,
    note            TEXT    NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX check_ins_okr ON check_ins (okr_id, created_at);

-- How a key result reads its number from a tracker. rule is core's LinkRule,
-- query the tracker's selection (GitLab filter or Jira JQL), both as JSON.
CREATE TABLE data_links (
    id                    BIGSERIAL PRIMARY KEY,
    okr_id                BIGINT    NOT NULL UNIQUE REFERENCES okrs (id) ON DELETE CASCADE,
    connection_id         BIGINT    NOT NULL REFERENCES connections (id),
    rule                  JSONB      NOT NULL,
    query                 JSONB      NOT NULL,
    refresh_interval_secs BIGINT,
    next_refresh_at       TIMESTAMPTZ NOT NULL,
    last_attempt_at       TIMESTAMPTZ,
    last_success_at       TIMESTAMPTZ,
    last_full_at          TIMESTAMPTZ,
    last_error            TEXT,
    last_error_code       TEXT,
    failures              INTEGER NOT NULL DEFAULT 0,
    created_at            TIMESTAMPTZ NOT NULL,
    updated_at            TIMESTAMPTZ NOT NULL
);
CREATE INDEX data_links_due ON data_links (next_refresh_at);
CREATE INDEX data_links_connection ON data_links (connection_id);

-- The last known state of a GitLab issue or Jira ticket, per connection.
CREATE TABLE items (
    id                        BIGSERIAL PRIMARY KEY,
    connection_id             BIGINT    NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    key                       TEXT    NOT NULL,
    title                     TEXT    NOT NULL,
    url                       TEXT    NOT NULL,
    state                     TEXT    NOT NULL,
    done                      BOOLEAN      NOT NULL,
    tasks_total               INTEGER NOT NULL,
    tasks_done                INTEGER NOT NULL,
    time_spent_seconds        BIGINT,
    original_estimate_seconds BIGINT,
    remaining_estimate_seconds BIGINT,
    story_points              DOUBLE PRECISION,
    custom_fields             JSONB      NOT NULL,
    remote_updated_at         TIMESTAMPTZ NOT NULL,
    fetched_at                TIMESTAMPTZ NOT NULL,
    UNIQUE (connection_id, key)
);

-- Which items make up a link's number.
CREATE TABLE link_items (
    link_id BIGINT NOT NULL REFERENCES data_links (id) ON DELETE CASCADE,
    item_id BIGINT NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    PRIMARY KEY (link_id, item_id)
);
CREATE INDEX link_items_item ON link_items (item_id);

-- Every change of an OKR's progress.
CREATE TABLE progress_points (
    id               BIGSERIAL PRIMARY KEY,
    okr_id           BIGINT    NOT NULL REFERENCES okrs (id) ON DELETE CASCADE,
    at               TIMESTAMPTZ NOT NULL,
    value            DOUBLE PRECISION      NOT NULL,
    percent          DOUBLE PRECISION      NOT NULL,
    expected_percent DOUBLE PRECISION      NOT NULL,
    status           TEXT    NOT NULL,
    source           TEXT    NOT NULL,
    note             TEXT    NOT NULL
);
CREATE INDEX progress_points_okr ON progress_points (okr_id, at);
