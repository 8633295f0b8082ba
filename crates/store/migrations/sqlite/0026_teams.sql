-- Teams: a name (unique whatever its case), an optional lead and members.
-- An OKR is owned by a person (owner_id) and, when owner_team_id is set,
-- by that team too.
CREATE TABLE teams (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL,
    lead_id    INTEGER REFERENCES users (id),
    created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX teams_name ON teams (lower(name));

CREATE TABLE team_members (
    team_id  INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id  INTEGER NOT NULL REFERENCES users (id),
    added_at INTEGER NOT NULL,
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user ON team_members (user_id);

ALTER TABLE okrs ADD COLUMN owner_team_id INTEGER REFERENCES teams (id);
CREATE INDEX okrs_owner_team ON okrs (owner_team_id);
CREATE INDEX okrs_owner ON okrs (owner_id);
