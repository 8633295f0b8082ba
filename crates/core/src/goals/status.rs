//! An OKR's status from its progress and its schedule: the progress bar's
//! colour.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use super::measure::Progress;
use super::schedule::Schedule;

stable_names! {
    /// Where an OKR stands against its schedule.
    pub enum Status {
        /// Before the start date.
        NotStarted => "not_started",
        /// Progress at or above the expected progress (green).
        OnTrack => "on_track",
        /// More than 0 and at most 25 percentage points below expected (orange).
        Behind => "behind",
        /// More than 25 percentage points below expected (red).
        AtRisk => "at_risk",
        /// The target is reached.
        Done => "done",
    }
}

/// The largest shortfall, in percentage points below expected progress,
/// that is still [`Status::Behind`]; beyond it the OKR is
/// [`Status::AtRisk`]. Exactly 25 points below is behind (the seeds: "0 to 25
/// … behind", "more than 25 … at risk").
pub const AT_RISK_GAP_POINTS: f64 = 25.0;

/// Tolerance for comparing percentages, so that floating-point noise in a
/// computed percent (e.g. 74.99999999999999 for 3/4) never flips a status at
/// a boundary. Far below anything a person can see (display is whole %).
const TOLERANCE: f64 = 1e-9;

/// The status rule, in order:
/// 1. [`Status::Done`] when the target is reached (even before the start
///    date: the work is done);
/// 2. [`Status::NotStarted`] before the start date;
/// 3. with gap = `expected_percent` − `percent`: [`Status::OnTrack`] when
///    gap ≤ 0, [`Status::Behind`] when 0 < gap ≤ 25, [`Status::AtRisk`] when
///    gap > 25 (each boundary with a 1e-9 tolerance).
///
/// `percent` is the clamped percent (0..=100) of [`Progress::percent`].
pub fn status_for(
    percent: f64,
    target_reached: bool,
    expected_percent: f64,
    started: bool,
) -> Status {
    if target_reached {
        return Status::Done;
    }
    if !started {
        return Status::NotStarted;
    }
    let gap = expected_percent - percent;
    if gap <= TOLERANCE {
        Status::OnTrack
    } else if gap <= AT_RISK_GAP_POINTS + TOLERANCE {
        Status::Behind
    } else {
        Status::AtRisk
    }
}

/// An OKR's status at a moment, with what it was derived from, for the
/// progress history and the UI.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Assessment {
    /// The status shown: the override if any, else the computed one.
    pub status: Status,
    /// The status the rules give, kept even when overridden.
    pub computed_status: Status,
    /// Expected progress at that moment, in percent.
    pub expected_percent: f64,
    /// Expected minus actual percent, in percentage points: positive when
    /// behind, negative when ahead.
    pub gap_points: f64,
    /// Whether a manual override decided the status.
    pub overridden: bool,
}

/// Assesses `progress` against `schedule` at `at` (a wall-clock time in the
/// organisation's time zone, see [`Schedule::expected_percent`]). A manual
/// `status_override` (from the latest check-in) wins over the computed
/// status, which is still reported.
pub fn assess(
    progress: &Progress,
    schedule: &Schedule,
    at: NaiveDateTime,
    status_override: Option<Status>,
) -> Assessment {
    let expected_percent = schedule.expected_percent(at);
    let computed_status = status_for(
        progress.percent,
        progress.target_reached,
        expected_percent,
        schedule.has_started(at),
    );
    Assessment {
        status: status_override.unwrap_or(computed_status),
        computed_status,
        expected_percent,
        gap_points: expected_percent - progress.percent,
        overridden: status_override.is_some(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::goals::measure::{Kpi, Measure};
    use crate::goals::schedule::fixtures::*;

    fn pc(percent: f64) -> Progress {
        Measure::PercentComplete.progress(percent).unwrap()
    }

    #[test]
    fn names() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(*s));
            assert_eq!(s.to_string().parse::<Status>(), Ok(*s));
        }
        let names: Vec<_> = Status::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(
            names,
            ["not_started", "on_track", "behind", "at_risk", "done"]
        );
    }

    #[test]
    fn boundaries() {
        assert_eq!(status_for(50.0, false, 50.0, true), Status::OnTrack);
        assert_eq!(status_for(60.0, false, 50.0, true), Status::OnTrack);
        assert_eq!(status_for(49.9, false, 50.0, true), Status::Behind);
        assert_eq!(status_for(25.0, false, 50.0, true), Status::Behind);
        assert_eq!(status_for(24.9, false, 50.0, true), Status::AtRisk);
        assert_eq!(status_for(0.0, false, 100.0, true), Status::AtRisk);
        assert_eq!(status_for(0.0, false, 0.0, true), Status::OnTrack);
    }

    #[test]
    fn boundaries_tolerate_float_noise() {
        let three_quarters = 3.0 / 4.0 * 100.0 - 1e-13;
        assert_eq!(
            status_for(three_quarters, false, 75.0, true),
            Status::OnTrack
        );
        assert_eq!(status_for(25.0 - 1e-12, false, 50.0, true), Status::Behind);
    }

    #[test]
    fn done_and_not_started() {
        assert_eq!(status_for(100.0, true, 30.0, true), Status::Done);
        assert_eq!(status_for(100.0, true, 0.0, false), Status::Done);
        assert_eq!(status_for(0.0, false, 0.0, false), Status::NotStarted);
        assert_eq!(status_for(40.0, false, 0.0, false), Status::NotStarted);
        // 100 % displayed but not reached (99.6) is not done.
        assert_eq!(status_for(99.6, false, 50.0, true), Status::OnTrack);
    }

    #[test]
    fn colours_on_a_fixed_clock() {
        // 100-day OKR at 40 % progress.
        let s = hundred_days();
        let p = pc(40.0);
        let at = |m, day| assess(&p, &s, midnight(2025, m, day), None).status;
        assert_eq!(
            assess(&p, &s, midnight(2024, 12, 31), None).status,
            Status::NotStarted
        );
        assert_eq!(at(1, 1), Status::OnTrack); // expected 0
        assert_eq!(at(2, 10), Status::OnTrack); // expected 40
        assert_eq!(at(2, 11), Status::Behind); // expected 41
        assert_eq!(at(3, 7), Status::Behind); // expected 65: exactly 25 below
        assert_eq!(at(3, 8), Status::AtRisk); // expected 66
        assert_eq!(at(4, 11), Status::AtRisk); // after due date, expected 100
        let a = assess(&p, &s, midnight(2025, 3, 7), None);
        assert_eq!((a.expected_percent, a.gap_points), (65.0, 25.0));
    }

    #[test]
    fn done_when_target_reached() {
        let s = hundred_days();
        let kpi = Kpi::new("bugs", 0.0, 20.0).unwrap();
        let p = kpi.progress(20.0).unwrap();
        let a = assess(&p, &s, midnight(2025, 1, 15), None);
        assert_eq!(a.status, Status::Done);
        assert!(a.gap_points < 0.0);
    }

    #[test]
    fn override_wins_but_computed_is_kept() {
        let s = hundred_days();
        let a = assess(&pc(10.0), &s, midnight(2025, 3, 1), Some(Status::OnTrack));
        assert_eq!(a.status, Status::OnTrack);
        assert_eq!(a.computed_status, Status::AtRisk);
        assert!(a.overridden);
        let b = assess(&pc(10.0), &s, midnight(2025, 3, 1), None);
        assert_eq!(b.status, Status::AtRisk);
        assert!(!b.overridden);
    }

    #[test]
    fn kpi_uses_clamped_percent() {
        // A KPI that moved away from target (raw -50 %) is 0 % for status.
        let s = hundred_days();
        let p = Kpi::new("x", 10.0, 20.0).unwrap().progress(5.0).unwrap();
        let a = assess(&p, &s, midnight(2025, 1, 11), None);
        assert_eq!(a.gap_points, 10.0);
        assert_eq!(a.status, Status::Behind);
    }
}
