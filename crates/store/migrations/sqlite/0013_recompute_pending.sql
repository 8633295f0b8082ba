-- A change to a key result's items marks it "recompute pending" in the
-- transaction that writes the items; recording its progress point clears
-- the mark. A mark still set when the next change arrives (the process
-- applying the change died in between) is recorded first, as that change,
-- so no step of the history is folded into the next.
ALTER TABLE okrs ADD COLUMN recompute_pending_at INTEGER;
ALTER TABLE okrs ADD COLUMN recompute_pending_note TEXT;
