-- When the sync scan last listed each side's whole scope, to notice items
-- deleted without a webhook (GitLab sends none for a deleted issue).
ALTER TABLE sync_pairs ADD COLUMN full_scanned_at TIMESTAMPTZ;
