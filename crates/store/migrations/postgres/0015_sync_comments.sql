-- Comments both ways and back links. A pair may delete a comment's copy
-- when its original is deleted (off by default).
ALTER TABLE sync_pairs ADD COLUMN delete_comment_copies BOOLEAN NOT NULL DEFAULT FALSE;

-- The link between an original comment and its copy on the other side:
-- the copy id is empty until the copy is known to exist (an interrupted
-- create is looked for before it is written again); origin_hash is the
-- fingerprint of the original's text last carried, so an edit updates
-- the copy.
CREATE TABLE sync_comments (
    id          BIGSERIAL PRIMARY KEY,
    pair_id     BIGINT NOT NULL REFERENCES sync_pairs (id) ON DELETE CASCADE,
    item_id     BIGINT NOT NULL REFERENCES sync_items (id) ON DELETE CASCADE,
    origin_side TEXT    NOT NULL CHECK (origin_side IN ('left', 'right')),
    origin_id   TEXT    NOT NULL,
    copy_id     TEXT,
    origin_hash TEXT    NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    UNIQUE (item_id, origin_side, origin_id),
    UNIQUE (item_id, origin_side, copy_id)
);
CREATE INDEX sync_comments_copy ON sync_comments (pair_id, origin_side, copy_id);

-- The link each side of an item carries to its twin (a Jira remote link,
-- a GitLab note), written once.
CREATE TABLE sync_backlinks (
    item_id    BIGINT NOT NULL REFERENCES sync_items (id) ON DELETE CASCADE,
    side       TEXT    NOT NULL CHECK (side IN ('left', 'right')),
    remote_id  TEXT    NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (item_id, side)
);
