-- Time: GitLab activity turned into suggested worklogs (issue 17).

-- The organisation's activity source: one GitLab connection (one row at
-- most), the projects it watches and the hooks Cairn registered on them,
-- so disconnecting removes exactly those. Settings are the worklog rules
-- (session gap, lead-in, rounding, daily target) as JSON. Worklogs on
-- Jira keys are written through the Jira connection, as the person when
-- they linked their own token. `dev_links`: Jira development links for
-- this GitLab/Jira pair (off by default).
CREATE TABLE time_sources (
    id               INTEGER PRIMARY KEY CHECK (id = 1),
    connection_id    INTEGER NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    jira_connection_id INTEGER REFERENCES connections (id) ON DELETE SET NULL,
    enabled          INTEGER NOT NULL,
    watch_all        INTEGER NOT NULL,
    projects         TEXT    NOT NULL,
    settings         TEXT    NOT NULL,
    dev_links        TEXT    NOT NULL DEFAULT '{}',
    registered_hooks TEXT    NOT NULL,
    backfilled_at    INTEGER,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);

-- A Cairn user linked to a GitLab account: activity by that account is
-- theirs. A GitLab account belongs to one person at most.
CREATE TABLE time_people (
    user_id         INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    gitlab_user_id  INTEGER NOT NULL UNIQUE,
    gitlab_username TEXT    NOT NULL,
    gitlab_email    TEXT,
    own_token       INTEGER NOT NULL,
    own_connection_id INTEGER REFERENCES connections (id) ON DELETE SET NULL,
    time_zone       TEXT    NOT NULL,
    matched_by      TEXT    NOT NULL CHECK (matched_by IN ('email', 'username', 'manual', 'self')),
    connected_at    INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX time_people_email ON time_people (gitlab_email);
CREATE INDEX time_people_username ON time_people (gitlab_username);

-- What a person did. The fingerprint (core::activity) is unique per
-- person, so a hook and the Events API backstop, or a rebased copy of a
-- commit, are stored once. `detail` is the whole core Activity (JSON), so
-- targets can be worked out again; `refs` the references found.
CREATE TABLE time_activities (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    project_id   INTEGER NOT NULL,
    project_path TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    occurred_at  INTEGER NOT NULL,
    fingerprint  TEXT    NOT NULL,
    target       TEXT,
    refs         TEXT    NOT NULL,
    source_url   TEXT,
    title        TEXT    NOT NULL,
    source       TEXT    NOT NULL CHECK (source IN ('hook', 'events', 'commits')),
    detail       TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    UNIQUE (user_id, fingerprint)
);
CREATE INDEX time_activities_when ON time_activities (user_id, occurred_at);
CREATE INDEX time_activities_project ON time_activities (project_id);

-- What a person decided about a suggestion, by its key (day/target/first
-- activity), so decisions survive recomputation. An accepted or edited
-- decision's id is the suggestion id in the worklog marker.
CREATE TABLE time_decisions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    suggestion_key TEXT NOT NULL,
    day         TEXT    NOT NULL,
    target      TEXT,
    decision    TEXT    NOT NULL CHECK (decision IN ('accepted', 'edited', 'dismissed')),
    started_at  INTEGER NOT NULL,
    minutes     INTEGER NOT NULL,
    description TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    UNIQUE (user_id, suggestion_key)
);
CREATE INDEX time_decisions_day ON time_decisions (user_id, day);

-- Worklogs written for accepted suggestions. The intent row is committed
-- before the remote write; the outcome after. An intent left open is
-- finished by looking for the marker on the target before writing again.
-- Kept when a person disconnects (the worklog exists remotely).
CREATE TABLE time_worklog_writes (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    decision_id   INTEGER NOT NULL UNIQUE REFERENCES time_decisions (id),
    tracker       TEXT    NOT NULL CHECK (tracker IN ('jira', 'gitlab')),
    connection_id INTEGER NOT NULL REFERENCES connections (id),
    target        TEXT    NOT NULL,
    started_at    INTEGER NOT NULL,
    minutes       INTEGER NOT NULL,
    comment       TEXT    NOT NULL,
    state         TEXT    NOT NULL CHECK (state IN ('intent', 'written', 'failed')),
    remote_id     TEXT,
    error         TEXT,
    created_at    INTEGER NOT NULL,
    finished_at   INTEGER
);
CREATE INDEX time_worklog_writes_when ON time_worklog_writes (user_id, started_at);
CREATE INDEX time_worklog_writes_open ON time_worklog_writes (state) WHERE state = 'intent';
