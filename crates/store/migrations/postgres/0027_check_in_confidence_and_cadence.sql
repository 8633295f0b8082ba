-- Check-ins on every key result, also one whose number comes from a data
-- link: the owner's confidence (on_track, behind or at_risk as they see
-- it) beside the note, without overriding the number or the status. And a
-- check-in cadence per period: a key result whose latest check-in is older
-- than this many days is marked "check-in due".
ALTER TABLE check_ins ADD COLUMN confidence TEXT
    CHECK (confidence IS NULL OR confidence IN ('on_track', 'behind', 'at_risk'));
ALTER TABLE periods ADD COLUMN check_in_every_days INTEGER NOT NULL DEFAULT 7
    CHECK (check_in_every_days BETWEEN 1 AND 90);
-- The missed check-in a key result was last reminded of (its due time), so
-- the "check-in due" notification goes out once per missed check-in, from
-- whichever instance gets there first.
ALTER TABLE okrs ADD COLUMN check_in_reminded_for TIMESTAMPTZ;
