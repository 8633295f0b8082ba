-- People across a sync pair. A pair may map people automatically (by
-- email, then by a full name that occurs once on each side); a manual
-- mapping, one row here, overrides that. A person is mapped at most once
-- on each side of a pair. The names are as the trackers showed them when
-- the mapping was made, for pages when a person is no longer listed.
ALTER TABLE sync_pairs ADD COLUMN auto_map_people BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE sync_people (
    id         BIGSERIAL PRIMARY KEY,
    pair_id    BIGINT  NOT NULL REFERENCES sync_pairs (id) ON DELETE CASCADE,
    left_id    TEXT    NOT NULL,
    left_name  TEXT    NOT NULL,
    right_id   TEXT    NOT NULL,
    right_name TEXT    NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    UNIQUE (pair_id, left_id),
    UNIQUE (pair_id, right_id)
);
