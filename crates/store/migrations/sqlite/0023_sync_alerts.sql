-- sync_failing notifications: since when an item has failed without a
-- success in between, since when a scan has not reached a pair's side, and
-- when people were last told, so each episode is told once.
ALTER TABLE sync_items ADD COLUMN failing_since INTEGER;
ALTER TABLE sync_pairs ADD COLUMN unreachable_since INTEGER;
ALTER TABLE sync_pairs ADD COLUMN failing_notified_at INTEGER;
