//! Manual check-ins: a value recorded by a person, turned into progress by
//! the same measure rules as computed values.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::error::GoalError;
use super::measure::{Measure, Progress};
use super::status::Status;

/// One check-in as the rules see it (the store adds its id and author).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckIn {
    /// The value: a percent (0..=100) for percent complete, the KPI's own
    /// value for a KPI.
    pub value: f64,
    /// A status chosen by hand, shown instead of the computed one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_override: Option<Status>,
    /// What the person said about it.
    #[serde(default)]
    pub note: String,
    /// When it was recorded; the latest check-in is the current one.
    pub recorded_at: DateTime<Utc>,
}

impl CheckIn {
    /// The progress this check-in amounts to under `measure`; refuses a
    /// non-finite value and a percent outside 0..=100, naming `value`.
    pub fn progress(&self, measure: &Measure) -> Result<Progress, GoalError> {
        measure.progress(self.value)
    }

    /// Validates the check-in against `measure` before it is saved.
    pub fn validate(&self, measure: &Measure) -> Result<(), GoalError> {
        self.progress(measure).map(|_| ())
    }
}

/// The current check-in: the latest by `recorded_at`, the later one in the
/// slice on a tie. After the latest is deleted the one before takes over, so
/// progress falls back rather than vanishing. `None` without check-ins.
pub fn latest_check_in(check_ins: &[CheckIn]) -> Option<&CheckIn> {
    check_ins.iter().max_by_key(|c| c.recorded_at)
}

/// Cadences a period may set, in days: daily to quarterly.
pub const CHECK_IN_EVERY_DAYS: std::ops::RangeInclusive<i64> = 1..=90;

/// Since when a key result's check-in is due at `now`, if it is: `every_days`
/// after its latest check-in, or after its schedule began when it has none
/// (a key result that has just started is not due at once). Nothing is due
/// before the schedule begins or once it has ended (`ends_at`), nor for a
/// key result that is done (the caller says so with `done`).
pub fn check_in_due_since(
    latest: Option<DateTime<Utc>>,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    every_days: i64,
    done: bool,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    if done || now < starts_at || now >= ends_at {
        return None;
    }
    let from = latest.map_or(starts_at, |l| l.max(starts_at));
    let due = from + chrono::Duration::days(every_days.max(1));
    (due <= now).then_some(due)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::goals::measure::Kpi;
    use chrono::TimeZone;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + secs, 0).unwrap()
    }

    fn check_in(value: f64, secs: i64) -> CheckIn {
        CheckIn {
            value,
            status_override: None,
            note: String::new(),
            recorded_at: at(secs),
        }
    }

    #[test]
    fn percent_check_in() {
        let p = check_in(35.0, 0)
            .progress(&Measure::PercentComplete)
            .unwrap();
        assert_eq!((p.value, p.percent, p.target_reached), (35.0, 35.0, false));
        assert!(
            check_in(100.0, 0)
                .progress(&Measure::PercentComplete)
                .unwrap()
                .target_reached
        );
    }

    #[test]
    fn percent_check_in_out_of_range_is_refused() {
        let err = check_in(120.0, 0)
            .validate(&Measure::PercentComplete)
            .unwrap_err();
        assert_eq!(err, GoalError::PercentOutOfRange { value: 120.0 });
        assert_eq!(err.field(), "value");
        assert!(
            check_in(f64::NAN, 0)
                .validate(&Measure::PercentComplete)
                .is_err()
        );
    }

    #[test]
    fn kpi_check_in_goes_through_start_and_target() {
        let m = Measure::Kpi(Kpi::new("hours", 0.0, 200.0).unwrap());
        let p = check_in(50.0, 0).progress(&m).unwrap();
        assert_eq!((p.value, p.percent), (50.0, 25.0));
        // KPI values are not limited to 0..=100.
        let p = check_in(260.0, 0).progress(&m).unwrap();
        assert_eq!(
            (p.percent_raw, p.percent, p.target_reached),
            (130.0, 100.0, true)
        );
        let dec = Measure::Kpi(Kpi::new("bugs", 40.0, 10.0).unwrap());
        assert_eq!(check_in(25.0, 0).progress(&dec).unwrap().percent, 50.0);
    }

    #[test]
    fn latest_wins_and_ties_go_to_the_later_entry() {
        assert_eq!(latest_check_in(&[]), None);
        let list = [check_in(10.0, 5), check_in(20.0, 9), check_in(30.0, 7)];
        assert_eq!(latest_check_in(&list).map(|c| c.value), Some(20.0));
        let tie = [check_in(1.0, 5), check_in(2.0, 5)];
        assert_eq!(latest_check_in(&tie).map(|c| c.value), Some(2.0));
    }
    #[test]
    fn a_check_in_is_due_a_cadence_after_the_latest_or_the_start() {
        let t = |day: u32| Utc.with_ymd_and_hms(2026, 1, day, 12, 0, 0).unwrap();
        let (start, end) = (t(1), t(31));
        // None yet: due a week after the start, not at once.
        assert_eq!(check_in_due_since(None, start, end, 7, false, t(7)), None);
        assert_eq!(
            check_in_due_since(None, start, end, 7, false, t(8)),
            Some(t(8))
        );
        // The latest one counts from its own date.
        assert_eq!(
            check_in_due_since(Some(t(10)), start, end, 7, false, t(16)),
            None
        );
        assert_eq!(
            check_in_due_since(Some(t(10)), start, end, 7, false, t(20)),
            Some(t(17))
        );
        // Daily.
        assert_eq!(
            check_in_due_since(Some(t(10)), start, end, 1, false, t(11)),
            Some(t(11))
        );
        // Done, not started yet, or over: never due.
        assert_eq!(check_in_due_since(None, start, end, 7, true, t(20)), None);
        assert_eq!(check_in_due_since(None, t(10), end, 7, false, t(9)), None);
        assert_eq!(check_in_due_since(None, start, end, 7, false, t(31)), None);
        // A check-in dated before the start counts from the start.
        assert_eq!(
            check_in_due_since(
                Some(t(1) - chrono::Duration::days(30)),
                start,
                end,
                7,
                false,
                t(8)
            ),
            Some(t(8))
        );
    }
}
