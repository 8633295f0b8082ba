-- Teams: a name (unique whatever its case), an optional lead and members.
-- An OKR is owned by a person (owner_id) and, when owner_team_id is set,
-- by that team too.
CREATE TABLE teams (
    id         BIGSERIAL PRIMARY KEY,
    name       TEXT   NOT NULL,
    lead_id    BIGINT REFERENCES users (id),
    created_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX teams_name ON teams (lower(name));

CREATE TABLE team_members (
    team_id  BIGINT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id  BIGINT NOT NULL REFERENCES users (id),
    added_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user ON team_members (user_id);

ALTER TABLE okrs ADD COLUMN owner_team_id BIGINT REFERENCES teams (id);
CREATE INDEX okrs_owner_team ON okrs (owner_team_id);
CREATE INDEX okrs_owner ON okrs (owner_id);
