-- A person may overturn a conflict the pair's rule decided ("keep left" /
-- "keep right"): the full values (JSON; the *_value columns are cut for
-- reading) and who chose which side, when.
ALTER TABLE sync_conflicts ADD COLUMN left_full TEXT;
ALTER TABLE sync_conflicts ADD COLUMN right_full TEXT;
ALTER TABLE sync_conflicts ADD COLUMN chosen TEXT CHECK (chosen IN ('left', 'right'));
ALTER TABLE sync_conflicts ADD COLUMN chosen_by TEXT;
ALTER TABLE sync_conflicts ADD COLUMN chosen_at TIMESTAMPTZ;
