-- Initial sync of a pair's history: items created before the pair's
-- activation, from a chosen date, brought across by durable jobs. One run
-- per pair (a later one replaces a finished one). Its plan is the list of
-- items to bring, fixed when the run starts, so progress is done / total
-- and a killed process resumes at the first item not done.
CREATE TABLE sync_initial_runs (
    pair_id        INTEGER PRIMARY KEY REFERENCES sync_pairs (id) ON DELETE CASCADE,
    since          INTEGER NOT NULL,
    -- Items created at or after this are the pair's ordinary scope.
    boundary       INTEGER NOT NULL,
    -- planning, running, paused, done
    state          TEXT    NOT NULL,
    left_total     INTEGER,
    right_total    INTEGER,
    done           INTEGER NOT NULL DEFAULT 0,
    failed         INTEGER NOT NULL DEFAULT 0,
    -- Rate is measured from the last start or resume.
    resumed_at     INTEGER NOT NULL,
    done_at_resume INTEGER NOT NULL DEFAULT 0,
    paused_reason  TEXT,
    started_by     TEXT    NOT NULL,
    started_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    finished_at    INTEGER
);

CREATE TABLE sync_initial_items (
    pair_id   INTEGER NOT NULL REFERENCES sync_pairs (id) ON DELETE CASCADE,
    seq       INTEGER NOT NULL,
    side      TEXT    NOT NULL,
    remote_id TEXT    NOT NULL,
    remote_key TEXT   NOT NULL,
    remote_url TEXT   NOT NULL,
    done_at   INTEGER,
    PRIMARY KEY (pair_id, seq)
);
