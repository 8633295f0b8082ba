//! A per-item fuse against loops. Fingerprints stop Cairn's own writes from
//! coming back, but something outside Cairn (an automation rule, another
//! sync tool) can still answer every write with a change back. A field
//! written alternately to one side and then the other too often in a short
//! window trips the fuse: the item pauses and says why, instead of
//! flipping forever. Many quick edits on one side are not flips.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::decide::Plan;
use super::settings::{Side, SyncField};

/// How far back writes are remembered. A loop between two machines
/// flips a field every few seconds; people editing one field on both
/// sides take far longer than this for the same number of turns.
pub const FUSE_WINDOW_MINUTES: i64 = 2;
/// Direction changes of one field within the window that trip the fuse.
pub const FLIP_LIMIT: usize = 6;

/// Recent writes of one item.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fuse {
    #[serde(default)]
    writes: Vec<FuseWrite>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct FuseWrite {
    field: SyncField,
    to: Side,
    at: DateTime<Utc>,
}

/// Why an item was paused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tripped {
    pub field: SyncField,
    /// Direction changes counted in the window, this write included.
    pub flips: usize,
}

impl Tripped {
    /// The reason shown on the item, for people.
    pub fn message(&self) -> String {
        format!(
            "paused: {} was written {} times in {} minutes alternately to one side and then the other; \
             something outside Cairn keeps changing it back (an automation rule or another sync?). \
             Retry the item once that is fixed",
            self.field,
            self.flips + 1,
            FUSE_WINDOW_MINUTES
        )
    }
}

impl Fuse {
    /// Whether making `plan`'s writes at `now` would trip the fuse; the
    /// first field that would, in field order.
    pub fn check(&self, plan: &Plan, now: DateTime<Utc>) -> Option<Tripped> {
        let mut trial = self.clone();
        trial.record(plan, now);
        for field in SyncField::ALL {
            if plan.left.contains_key(field) || plan.right.contains_key(field) {
                let flips = trial.flips(*field);
                if flips >= FLIP_LIMIT {
                    return Some(Tripped {
                        field: *field,
                        flips,
                    });
                }
            }
        }
        None
    }

    /// Remembers `plan`'s writes and forgets those older than the window.
    pub fn record(&mut self, plan: &Plan, now: DateTime<Utc>) {
        let since = now - Duration::minutes(FUSE_WINDOW_MINUTES);
        self.writes.retain(|w| w.at > since);
        for side in [Side::Left, Side::Right] {
            for field in plan.writes(side).keys() {
                self.writes.push(FuseWrite {
                    field: *field,
                    to: side,
                    at: now,
                });
            }
        }
    }

    /// Forgets everything: a person retried the paused item.
    pub fn reset(&mut self) {
        self.writes.clear();
    }

    fn flips(&self, field: SyncField) -> usize {
        let mut sides = self
            .writes
            .iter()
            .filter(|w| w.field == field)
            .map(|w| w.to);
        let Some(mut last) = sides.next() else {
            return 0;
        };
        let mut flips = 0;
        for side in sides {
            if side != last {
                flips += 1;
                last = side;
            }
        }
        flips
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::super::values::FieldValue;
    use super::*;

    fn write(side: Side, field: SyncField) -> Plan {
        let mut plan = Plan::default();
        let value = FieldValue::Text("x".into());
        match side {
            Side::Left => plan.left.insert(field, value),
            Side::Right => plan.right.insert(field, value),
        };
        plan
    }

    fn minute(m: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap() + Duration::minutes(m)
    }

    #[test]
    fn quick_edits_on_one_side_never_trip_it() {
        let mut fuse = Fuse::default();
        for m in 0..20 {
            let plan = write(Side::Right, SyncField::Title);
            assert_eq!(fuse.check(&plan, minute(m)), None);
            fuse.record(&plan, minute(m));
        }
    }

    #[test]
    fn a_field_flipping_back_and_forth_trips_it_at_the_flip_limit() {
        let mut fuse = Fuse::default();
        // A loop between two machines: a write every ten seconds.
        let at = |i: usize| minute(0) + Duration::seconds(i as i64 * 10);
        for i in 0..=FLIP_LIMIT {
            let side = if i % 2 == 0 { Side::Right } else { Side::Left };
            let plan = write(side, SyncField::Description);
            let verdict = fuse.check(&plan, at(i));
            if i < FLIP_LIMIT {
                assert_eq!(verdict, None, "write {i}");
                fuse.record(&plan, at(i));
            } else {
                let tripped = verdict.expect("the seventh alternating write trips");
                assert_eq!(tripped.field, SyncField::Description);
                assert_eq!(tripped.flips, FLIP_LIMIT);
                assert!(
                    tripped
                        .message()
                        .contains("description was written 7 times"),
                    "{}",
                    tripped.message()
                );
            }
        }
        // Other fields are unaffected.
        assert_eq!(
            fuse.check(&write(Side::Left, SyncField::Title), at(7)),
            None
        );
    }

    #[test]
    fn flips_older_than_the_window_are_forgotten() {
        let mut fuse = Fuse::default();
        for i in 0..FLIP_LIMIT {
            let side = if i % 2 == 0 { Side::Right } else { Side::Left };
            fuse.record(&write(side, SyncField::Title), minute(i as i64));
        }
        // The first writes are more than two minutes old by now.
        assert_eq!(
            fuse.check(&write(Side::Right, SyncField::Title), minute(7)),
            None
        );
        fuse.reset();
        assert_eq!(fuse.flips(SyncField::Title), 0);
    }
}
