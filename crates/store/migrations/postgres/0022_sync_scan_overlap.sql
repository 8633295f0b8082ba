-- The seed's "time offset", per pair: how far back each scan reads beyond
-- where the last one stopped. Pairs saved before keep the old global 120 s.
ALTER TABLE sync_pairs ADD COLUMN scan_overlap_secs BIGINT NOT NULL DEFAULT 120;
