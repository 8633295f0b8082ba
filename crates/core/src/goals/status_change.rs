//! Whether an OKR's status moved over a recent window, from its history.
//!
//! The rule, as the dashboard states it:
//!
//! - The status a window starts from is the one of the last point before
//!   the window, or of its first point when the OKR has no earlier history.
//! - The OKR changed status when its latest status differs from that one: a
//!   key result that went behind and back on track within the window ends
//!   where it started and is not listed (its changes are still counted for
//!   the ones that are).
//! - It changed at the first point of its latest run of that status.

use chrono::{DateTime, Utc};

use super::status::Status;

/// How far back the dashboard looks for status changes.
pub const STATUS_CHANGE_WINDOW_DAYS: i64 = 7;

/// One recorded status of an OKR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusPoint {
    pub at: DateTime<Utc>,
    pub status: Status,
}

/// A status that differs from the one the window started from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusChange {
    pub from: Status,
    pub to: Status,
    /// The first point of the latest run of `to`.
    pub at: DateTime<Utc>,
    /// Status changes from point to point within the window.
    pub changes: u32,
}

/// The change of `points` (any order) over the window from `since`, if
/// the latest status differs from the one the window started from.
pub fn status_change(points: &[StatusPoint], since: DateTime<Utc>) -> Option<StatusChange> {
    let mut sorted = points.to_vec();
    sorted.sort_by_key(|p| p.at);
    let within = sorted.partition_point(|p| p.at < since);
    let start = match within {
        0 => *sorted.first()?,
        n => sorted[n - 1],
    };
    let window = &sorted[within..];
    let latest = *window.last()?;
    if latest.status == start.status {
        return None;
    }
    let mut changes = 0;
    let mut previous = start.status;
    let mut changed_at = latest.at;
    for point in window {
        if point.status != previous {
            changes += 1;
            changed_at = point.at;
        }
        previous = point.status;
    }
    Some(StatusChange {
        from: start.status,
        to: latest.status,
        at: changed_at,
        changes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn day(d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, d, 12, 0, 0).unwrap()
    }

    fn at(d: u32, status: Status) -> StatusPoint {
        StatusPoint { at: day(d), status }
    }

    #[test]
    fn a_status_reached_within_the_window_is_a_change_from_the_one_before_it() {
        let points = [
            at(1, Status::OnTrack),
            at(9, Status::Behind),
            at(10, Status::AtRisk),
        ];
        let change = status_change(&points, day(8)).expect("changed");
        assert_eq!(change.from, Status::OnTrack);
        assert_eq!(change.to, Status::AtRisk);
        assert_eq!(change.at, day(10));
        assert_eq!(change.changes, 2);
    }

    #[test]
    fn going_and_coming_back_within_the_window_is_no_change() {
        let points = [
            at(10, Status::Behind),
            at(1, Status::OnTrack),
            at(9, Status::Behind),
            at(11, Status::OnTrack),
        ];
        assert_eq!(status_change(&points, day(8)), None);
    }

    #[test]
    fn a_change_before_the_window_is_not_listed() {
        let points = [at(1, Status::OnTrack), at(3, Status::Done)];
        assert_eq!(status_change(&points, day(8)), None);
    }

    #[test]
    fn without_earlier_history_the_window_starts_from_its_first_point() {
        let points = [
            at(9, Status::NotStarted),
            at(10, Status::OnTrack),
            at(11, Status::OnTrack),
        ];
        let change = status_change(&points, day(8)).expect("changed");
        assert_eq!(change.from, Status::NotStarted);
        assert_eq!(change.to, Status::OnTrack);
        assert_eq!(change.at, day(10));
        assert_eq!(change.changes, 1);
        assert_eq!(status_change(&[at(9, Status::OnTrack)], day(8)), None);
        assert_eq!(status_change(&[], day(8)), None);
    }

    #[test]
    fn the_time_is_the_start_of_the_latest_run() {
        let points = [
            at(1, Status::OnTrack),
            at(9, Status::Done),
            at(10, Status::Behind),
            at(11, Status::Done),
            at(12, Status::Done),
        ];
        let change = status_change(&points, day(8)).expect("changed");
        assert_eq!((change.from, change.to), (Status::OnTrack, Status::Done));
        assert_eq!(change.at, day(11));
        assert_eq!(change.changes, 3);
    }
}
