//! Totals per local day against the day's target, for the "My work" week
//! view: what is logged, what is still suggested, what is left.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::day::local_day;
use super::suggest::Suggestion;

/// A worklog already written (by Cairn or by hand).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoggedWork {
    pub started: DateTime<Utc>,
    pub seconds: u32,
}

/// One day's totals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayTotal {
    pub day: NaiveDate,
    /// Logged that day (summed in seconds, then rounded to the minute).
    pub logged_minutes: u32,
    /// Pending suggestions of that day.
    pub suggested_minutes: u32,
    pub target_minutes: u32,
}

impl DayTotal {
    /// What is left to reach the target (0 once reached).
    pub fn remaining_minutes(&self) -> u32 {
        self.target_minutes.saturating_sub(self.logged_minutes)
    }

    /// Whether the logged time reaches the target.
    pub fn reached(&self) -> bool {
        self.logged_minutes >= self.target_minutes
    }
}

/// The Monday of the week `day` is in (weeks run Monday to Sunday, ISO 8601).
pub fn week_start(day: NaiveDate) -> NaiveDate {
    day - Duration::days(i64::from(day.weekday().num_days_from_monday()))
}

/// Totals for `days` consecutive local days from `first`, each against
/// `target_minutes`. Worklogs count on the local day of their start;
/// `pending` are the suggestions not yet accepted or dismissed. Linear in
/// the inputs.
pub fn day_totals(
    zone: Tz,
    first: NaiveDate,
    days: usize,
    target_minutes: u32,
    logged: &[LoggedWork],
    pending: &[Suggestion],
) -> Vec<DayTotal> {
    let mut seconds = vec![0u64; days];
    let mut suggested = vec![0u32; days];
    let index = |day: NaiveDate| -> Option<usize> {
        let offset = (day - first).num_days();
        usize::try_from(offset).ok().filter(|i| *i < days)
    };
    for work in logged {
        if let Some(i) = index(local_day(zone, work.started)) {
            seconds[i] += u64::from(work.seconds);
        }
    }
    for suggestion in pending {
        if let Some(i) = index(suggestion.day) {
            suggested[i] = suggested[i].saturating_add(suggestion.minutes);
        }
    }
    (0..days)
        .map(|i| DayTotal {
            day: first + Duration::days(i as i64),
            logged_minutes: u32::try_from((seconds[i] + 30) / 60).unwrap_or(u32::MAX),
            suggested_minutes: suggested[i],
            target_minutes,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use chrono_tz::America::Los_Angeles;

    fn date(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, d).unwrap()
    }

    #[test]
    fn weeks_start_on_monday() {
        // 2026-12-07 is a Monday.
        assert_eq!(week_start(date(7)), date(7));
        assert_eq!(week_start(date(13)), date(7));
        assert_eq!(
            week_start(date(6)),
            NaiveDate::from_ymd_opt(2026, 11, 30).unwrap()
        );
    }

    #[test]
    fn worklogs_count_on_their_local_day_against_the_target() {
        let logged = [
            // Monday 17:00 in Los Angeles.
            LoggedWork {
                started: Utc.with_ymd_and_hms(2026, 12, 8, 1, 0, 0).unwrap(),
                seconds: 3600 * 7,
            },
            // Monday 23:30 local: still Monday.
            LoggedWork {
                started: Utc.with_ymd_and_hms(2026, 12, 8, 7, 30, 0).unwrap(),
                seconds: 3600 + 29,
            },
            // Tuesday 00:10 local.
            LoggedWork {
                started: Utc.with_ymd_and_hms(2026, 12, 8, 8, 10, 0).unwrap(),
                seconds: 90,
            },
            // The Sunday before: outside the week.
            LoggedWork {
                started: Utc.with_ymd_and_hms(2026, 12, 7, 7, 0, 0).unwrap(),
                seconds: 600,
            },
        ];
        let totals = day_totals(Los_Angeles, date(7), 7, 480, &logged, &[]);
        assert_eq!(totals.len(), 7);
        assert_eq!(totals[0].day, date(7));
        assert_eq!(totals[0].logged_minutes, 480);
        assert!(totals[0].reached());
        assert_eq!(totals[0].remaining_minutes(), 0);
        assert_eq!(totals[1].logged_minutes, 2);
        assert_eq!(totals[1].remaining_minutes(), 478);
        assert!(!totals[1].reached());
        assert_eq!(totals[6].day, date(13));
        assert!(totals[2..].iter().all(|t| t.logged_minutes == 0));
    }
}
