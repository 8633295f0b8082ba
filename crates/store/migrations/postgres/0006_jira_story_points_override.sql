-- A Jira connection's story points field, when the detected one is wrong
-- (a site with several "Story Points" fields, or a renamed one). NULL means
-- detect it from the site's fields.
ALTER TABLE connections ADD COLUMN story_points_field TEXT;
