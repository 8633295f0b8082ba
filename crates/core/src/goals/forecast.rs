//! When an OKR reaches its target at its recent pace, and the pace its due
//! date needs, from its progress history alone.
//!
//! The rule, meant to be read back to a person:
//!
//! - Progress is a step: it holds its value from one recorded point to the
//!   next (Cairn records a point only when the number changes).
//! - The recent pace is the change over the last [`PACE_WINDOW_DAYS`] days,
//!   or since the first point when the history is shorter, divided by
//!   those days: two numbers anyone can check on the chart.
//! - Below [`MIN_HISTORY_HOURS`] of history there is not enough data: one
//!   busy morning says nothing about a quarter.
//! - At that pace the target (100 %) is reached on the forecast date; with
//!   no progress (or a fall) over the window it is not reached at all.
//! - The pace needed is what is left over the time until the end of the
//!   due date; once the due date has passed there is none.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::schedule::Schedule;

/// How far back the recent pace looks.
pub const PACE_WINDOW_DAYS: i64 = 14;

/// The shortest history a forecast is made from.
pub const MIN_HISTORY_HOURS: i64 = 48;

/// One point of an OKR's progress history.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HistoryPoint {
    pub at: DateTime<Utc>,
    /// 0 to 100.
    pub percent: f64,
}

/// The forecast, each case with the numbers that explain it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Forecast {
    /// The history is shorter than [`MIN_HISTORY_HOURS`] (or empty).
    NotEnoughData {
        /// Hours from the first point to now (0 without points).
        history_hours: f64,
        /// The minimum, [`MIN_HISTORY_HOURS`].
        needed_hours: i64,
    },
    /// The target is reached.
    Reached {
        /// The first point of the latest run at 100 %.
        reached_at: DateTime<Utc>,
    },
    /// The pace is measured: when it gets there, if it does.
    Paced(Pace),
}

/// The recent pace and where it leads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pace {
    /// Where the pace is measured from (now less the window, or the first
    /// point) and the percent then.
    pub since: DateTime<Utc>,
    pub percent_then: f64,
    /// The latest percent.
    pub percent_now: f64,
    /// Percentage points a day over the window.
    pub points_per_day: f64,
    /// When 100 % is reached at that pace; `None` when the pace is not
    /// positive (stalled or falling).
    pub reaches_target_at: Option<DateTime<Utc>>,
    /// Whether that is by the end of the due date.
    pub on_time: bool,
    /// Percentage points a day that reach 100 % at the end of the due
    /// date; `None` once it has passed.
    pub needed_points_per_day: Option<f64>,
    /// The end of the due date (the first instant after it).
    pub due_at: DateTime<Utc>,
}

/// The forecast of a history (any order) for an OKR on `schedule`, at `now`.
/// Points after `now` are ignored.
pub fn forecast(points: &[HistoryPoint], schedule: &Schedule, now: DateTime<Utc>) -> Forecast {
    let mut points: Vec<HistoryPoint> = points
        .iter()
        .copied()
        .filter(|p| p.at <= now && p.percent.is_finite())
        .collect();
    points.sort_by_key(|p| p.at);
    let Some(first) = points.first().copied() else {
        return Forecast::NotEnoughData {
            history_hours: 0.0,
            needed_hours: MIN_HISTORY_HOURS,
        };
    };
    let Some(latest) = points.last().copied() else {
        return Forecast::NotEnoughData {
            history_hours: 0.0,
            needed_hours: MIN_HISTORY_HOURS,
        };
    };
    if latest.percent >= 100.0 {
        let reached_at = points
            .iter()
            .rev()
            .take_while(|p| p.percent >= 100.0)
            .last()
            .map_or(latest.at, |p| p.at);
        return Forecast::Reached { reached_at };
    }
    let history = now - first.at;
    if history < TimeDelta::hours(MIN_HISTORY_HOURS) {
        return Forecast::NotEnoughData {
            history_hours: hours(history),
            needed_hours: MIN_HISTORY_HOURS,
        };
    }
    let since = (now - TimeDelta::days(PACE_WINDOW_DAYS)).max(first.at);
    let percent_then = points
        .iter()
        .take_while(|p| p.at <= since)
        .last()
        .map_or(first.percent, |p| p.percent);
    let points_per_day = (latest.percent - percent_then) / days(now - since);
    let due_at = schedule.ends_at().and_utc();
    let reaches_target_at = (points_per_day > 0.0)
        .then(|| from_days((100.0 - latest.percent) / points_per_day))
        .flatten()
        .map(|left| now + left);
    let days_left = days(due_at - now);
    Forecast::Paced(Pace {
        since,
        percent_then,
        percent_now: latest.percent,
        points_per_day,
        on_time: reaches_target_at.is_some_and(|at| at <= due_at),
        reaches_target_at,
        needed_points_per_day: (days_left > 0.0).then(|| (100.0 - latest.percent) / days_left),
        due_at,
    })
}

fn hours(span: TimeDelta) -> f64 {
    span.num_milliseconds() as f64 / 3_600_000.0
}

fn days(span: TimeDelta) -> f64 {
    span.num_milliseconds() as f64 / 86_400_000.0
}

/// A span of `days`, `None` beyond what a date can hold (a pace so slow
/// the target is centuries away is as good as never).
fn from_days(days: f64) -> Option<TimeDelta> {
    const LIMIT_DAYS: f64 = 365.0 * 1000.0;
    (days.is_finite() && days <= LIMIT_DAYS)
        .then(|| TimeDelta::milliseconds((days * 86_400_000.0).round() as i64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, TimeZone};

    fn day(d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 10, d, 0, 0, 0)
            .single()
            .expect("a date")
    }

    fn quarter() -> Schedule {
        let start = NaiveDate::from_ymd_opt(2026, 10, 1).expect("start");
        let due = NaiveDate::from_ymd_opt(2026, 12, 31).expect("due");
        Schedule::new(start, due).expect("schedule")
    }

    fn at(d: u32, percent: f64) -> HistoryPoint {
        HistoryPoint {
            at: day(d),
            percent,
        }
    }

    fn paced(f: Forecast) -> Pace {
        match f {
            Forecast::Paced(p) => p,
            other => panic!("expected a pace, got {other:?}"),
        }
    }

    #[test]
    fn steady_progress_reaches_the_target_at_its_pace() {
        // 2 points a day from Oct 1: 40 % on Oct 21.
        let history: Vec<_> = (1..=21).map(|d| at(d, f64::from(d - 1) * 2.0)).collect();
        let pace = paced(forecast(&history, &quarter(), day(21)));
        assert_eq!(pace.since, day(7), "the last 14 days");
        assert_eq!(pace.percent_then, 12.0);
        assert_eq!(pace.percent_now, 40.0);
        assert!((pace.points_per_day - 2.0).abs() < 1e-9);
        // 60 points left at 2 a day: 30 days after Oct 21.
        assert_eq!(pace.reaches_target_at, Some(day(21) + TimeDelta::days(30)));
        assert!(pace.on_time);
        // 60 points over the 72 days left (Oct 21 to the end of Dec 31).
        let needed = pace.needed_points_per_day.expect("due date ahead");
        assert!((needed - 60.0 / 72.0).abs() < 1e-9, "{needed}");
    }

    #[test]
    fn a_stalled_history_never_reaches_it() {
        // Moved once on Oct 2, nothing since: the step holds at 30 %.
        let history = [at(1, 0.0), at(2, 30.0)];
        let pace = paced(forecast(&history, &quarter(), day(25)));
        assert_eq!(
            pace.percent_then, 30.0,
            "the value held at the window's start"
        );
        assert_eq!(pace.points_per_day, 0.0);
        assert_eq!(pace.reaches_target_at, None);
        assert!(!pace.on_time);
        assert!(pace.needed_points_per_day.is_some_and(|n| n > 0.0));
    }

    #[test]
    fn a_history_ahead_of_the_schedule_is_on_time_with_room() {
        let history = [at(1, 0.0), at(5, 50.0), at(10, 90.0)];
        let pace = paced(forecast(&history, &quarter(), day(10)));
        assert_eq!(
            pace.since,
            day(1),
            "shorter than the window: from the first point"
        );
        assert!((pace.points_per_day - 10.0).abs() < 1e-9);
        assert_eq!(pace.reaches_target_at, Some(day(11)));
        assert!(pace.on_time);
        let needed = pace.needed_points_per_day.expect("due date ahead");
        assert!(needed < pace.points_per_day / 10.0, "{needed}");
    }

    #[test]
    fn too_slow_misses_the_due_date() {
        let history = [at(1, 0.0), at(20, 5.0)];
        let pace = paced(forecast(&history, &quarter(), day(20)));
        let reaches = pace.reaches_target_at.expect("positive pace");
        assert!(reaches > pace.due_at);
        assert!(!pace.on_time);
    }

    #[test]
    fn a_reached_target_says_since_when() {
        let history = [
            at(1, 0.0),
            at(3, 100.0),
            at(4, 80.0),
            at(6, 100.0),
            at(8, 100.0),
        ];
        assert_eq!(
            forecast(&history, &quarter(), day(9)),
            Forecast::Reached { reached_at: day(6) }
        );
    }

    #[test]
    fn too_little_history_is_not_enough_data() {
        assert_eq!(
            forecast(&[], &quarter(), day(9)),
            Forecast::NotEnoughData {
                history_hours: 0.0,
                needed_hours: MIN_HISTORY_HOURS
            }
        );
        let history = [at(8, 10.0), at(9, 30.0)];
        assert_eq!(
            forecast(&history, &quarter(), day(9) + TimeDelta::hours(12)),
            Forecast::NotEnoughData {
                history_hours: 36.0,
                needed_hours: MIN_HISTORY_HOURS
            }
        );
    }

    #[test]
    fn after_the_due_date_no_pace_is_needed_and_points_ahead_of_now_are_ignored() {
        let schedule = Schedule::new(
            NaiveDate::from_ymd_opt(2026, 10, 1).expect("start"),
            NaiveDate::from_ymd_opt(2026, 10, 10).expect("due"),
        )
        .expect("schedule");
        let history = [at(1, 0.0), at(11, 50.0), at(20, 100.0)];
        let pace = paced(forecast(&history, &schedule, day(15)));
        assert_eq!(pace.percent_now, 50.0);
        assert_eq!(pace.needed_points_per_day, None);
        assert!(!pace.on_time);
    }
}
