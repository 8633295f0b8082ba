-- Jira development links per GitLab connection and Jira connection
-- (issue 17): a row turns them on for that pair; `comment` adds one Jira
-- comment per new link, `transition` moves an issue to done when a closing
-- phrase lands on the default branch. They were a setting of the activity
-- source; any GitLab connection with real-time hooks can now have them.
CREATE TABLE dev_links (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    gitlab_connection_id INTEGER NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    jira_connection_id   INTEGER NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    comment              INTEGER NOT NULL,
    transition           INTEGER NOT NULL,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL,
    UNIQUE (gitlab_connection_id, jira_connection_id)
);

INSERT INTO dev_links (gitlab_connection_id, jira_connection_id, comment, transition, created_at, updated_at)
SELECT connection_id, jira_connection_id,
       COALESCE(json_extract(dev_links, '$.comment'), 0),
       COALESCE(json_extract(dev_links, '$.transition'), 0),
       updated_at, updated_at
FROM time_sources
WHERE jira_connection_id IS NOT NULL AND COALESCE(json_extract(dev_links, '$.enabled'), 0) = 1;

ALTER TABLE time_sources DROP COLUMN dev_links;
