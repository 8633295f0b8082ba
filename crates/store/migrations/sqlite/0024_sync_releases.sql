-- Releases across a sync pair: a GitLab milestone (its instance-wide id)
-- or a Jira version (its id) on the left that is one on the right. Linked
-- by equal names before anything is created, by hand, or because Cairn
-- created one as the twin of the other (`how`). A release is linked at
-- most once on each side of a pair. The names are as the trackers showed
-- them when the link was made, for pages when a release is gone.
CREATE TABLE sync_release_links (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    pair_id    INTEGER NOT NULL REFERENCES sync_pairs (id) ON DELETE CASCADE,
    left_id    TEXT    NOT NULL,
    left_name  TEXT    NOT NULL,
    right_id   TEXT    NOT NULL,
    right_name TEXT    NOT NULL,
    how        TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (pair_id, left_id),
    UNIQUE (pair_id, right_id)
);
