-- When an item was created and when it became done, as its tracker said:
-- what a key result's history before its link was saved is reconstructed
-- from (core::goals::history). Unknown for items read before this.
ALTER TABLE items ADD COLUMN created_at TIMESTAMPTZ;
ALTER TABLE items ADD COLUMN done_at TIMESTAMPTZ;
