//! When an OKR runs, and how far along it is expected to be.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, TimeDelta};
use serde::{Deserialize, Serialize};

use super::error::GoalError;

/// An OKR's start and due date. Both days are included: the OKR runs from
/// the first instant of `start_date` to the end of `due_date`, so a quarter
/// given as Jan 1 to Mar 31 expects 100 % at midnight after Mar 31, and an
/// OKR may start and end on the same day. Always valid: the due date is not
/// before the start date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ScheduleSpec", into = "ScheduleSpec")]
pub struct Schedule {
    start_date: NaiveDate,
    due_date: NaiveDate,
}

/// A schedule as the API and the database spell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleSpec {
    /// The first day.
    pub start_date: NaiveDate,
    /// The last day.
    pub due_date: NaiveDate,
}

impl Schedule {
    /// A schedule, refused when the due date is before the start date.
    pub fn new(start_date: NaiveDate, due_date: NaiveDate) -> Result<Schedule, GoalError> {
        if due_date < start_date {
            return Err(GoalError::DueBeforeStart {
                start_date,
                due_date,
            });
        }
        Ok(Schedule {
            start_date,
            due_date,
        })
    }

    /// The first day.
    pub fn start_date(&self) -> NaiveDate {
        self.start_date
    }

    /// The last day.
    pub fn due_date(&self) -> NaiveDate {
        self.due_date
    }

    /// The first instant of the start date.
    pub fn starts_at(&self) -> NaiveDateTime {
        self.start_date.and_time(NaiveTime::MIN)
    }

    /// The first instant after the due date (the end of the due date).
    pub fn ends_at(&self) -> NaiveDateTime {
        self.due_date
            .and_time(NaiveTime::MIN)
            .checked_add_signed(TimeDelta::days(1))
            .unwrap_or(NaiveDateTime::MAX)
    }

    /// Whether the OKR has started at `at` (on or after its start date).
    pub fn has_started(&self, at: NaiveDateTime) -> bool {
        at >= self.starts_at()
    }

    /// Expected progress at `at`, in percent: linear from 0 at the start of
    /// the start date to 100 at the end of the due date, clamped to 0..=100
    /// outside. `at` is a wall-clock time in the organisation's time zone
    /// (the engine converts; UTC when none is configured), so a date means
    /// the same day people see.
    pub fn expected_percent(&self, at: NaiveDateTime) -> f64 {
        let start = self.starts_at();
        let end = self.ends_at();
        if at <= start {
            return 0.0;
        }
        if at >= end {
            return 100.0;
        }
        let elapsed = (at - start).num_milliseconds() as f64;
        let total = (end - start).num_milliseconds() as f64;
        (elapsed / total * 100.0).clamp(0.0, 100.0)
    }
}

impl TryFrom<ScheduleSpec> for Schedule {
    type Error = GoalError;

    fn try_from(spec: ScheduleSpec) -> Result<Schedule, GoalError> {
        Schedule::new(spec.start_date, spec.due_date)
    }
}

impl From<Schedule> for ScheduleSpec {
    fn from(s: Schedule) -> ScheduleSpec {
        ScheduleSpec {
            start_date: s.start_date,
            due_date: s.due_date,
        }
    }
}

#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;

    /// A date.
    pub fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    /// Midnight at the start of a date.
    pub fn midnight(y: i32, m: u32, day: u32) -> NaiveDateTime {
        d(y, m, day).and_time(NaiveTime::MIN)
    }

    /// A 100-day schedule: 2025-01-01 through 2025-04-10.
    pub fn hundred_days() -> Schedule {
        Schedule::new(d(2025, 1, 1), d(2025, 4, 10)).unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::*;

    #[test]
    fn due_before_start_is_refused() {
        let err = Schedule::new(d(2025, 3, 1), d(2025, 2, 28)).unwrap_err();
        assert_eq!(err.field(), "due_date");
        assert!(Schedule::new(d(2025, 3, 1), d(2025, 3, 1)).is_ok());
        assert!(
            Schedule::try_from(ScheduleSpec {
                start_date: d(2025, 3, 1),
                due_date: d(2025, 1, 1)
            })
            .is_err()
        );
    }

    #[test]
    fn spec_round_trip() {
        let s = hundred_days();
        assert_eq!(Schedule::try_from(ScheduleSpec::from(s)), Ok(s));
        assert_eq!(
            (s.start_date(), s.due_date()),
            (d(2025, 1, 1), d(2025, 4, 10))
        );
    }

    #[test]
    fn expected_is_linear_over_inclusive_days() {
        let s = hundred_days();
        assert_eq!(s.expected_percent(midnight(2025, 1, 1)), 0.0);
        assert_eq!(s.expected_percent(midnight(2025, 1, 2)), 1.0);
        assert_eq!(s.expected_percent(midnight(2025, 2, 20)), 50.0);
        assert_eq!(s.expected_percent(midnight(2025, 4, 10)), 99.0);
        assert_eq!(s.expected_percent(midnight(2025, 4, 11)), 100.0);
        let noon = d(2025, 1, 1).and_hms_opt(12, 0, 0).unwrap();
        assert_eq!(s.expected_percent(noon), 0.5);
    }

    #[test]
    fn expected_is_clamped() {
        let s = hundred_days();
        assert_eq!(s.expected_percent(midnight(2024, 6, 1)), 0.0);
        assert_eq!(s.expected_percent(midnight(2026, 6, 1)), 100.0);
    }

    #[test]
    fn one_day_okr() {
        let s = Schedule::new(d(2025, 5, 5), d(2025, 5, 5)).unwrap();
        let six = d(2025, 5, 5).and_hms_opt(6, 0, 0).unwrap();
        assert_eq!(s.expected_percent(six), 25.0);
        assert_eq!(s.ends_at(), midnight(2025, 5, 6));
    }

    #[test]
    fn started() {
        let s = hundred_days();
        assert!(!s.has_started(d(2024, 12, 31).and_hms_opt(23, 59, 59).unwrap()));
        assert!(s.has_started(midnight(2025, 1, 1)));
    }

    #[test]
    fn end_of_time_does_not_overflow() {
        let s = Schedule::new(NaiveDate::MAX, NaiveDate::MAX).unwrap();
        assert_eq!(s.ends_at(), NaiveDateTime::MAX);
        assert_eq!(s.expected_percent(midnight(2025, 1, 1)), 0.0);
    }
}
