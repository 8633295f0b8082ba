//! A person's local days: which day an instant falls on, and when a day
//! starts, in their time zone (days are 23 or 25 hours on DST changes).

use chrono::{DateTime, Duration, LocalResult, NaiveDate, Offset, TimeZone, Utc};
use chrono_tz::Tz;

/// The local date of `at` in `zone`.
pub fn local_day(zone: Tz, at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&zone).date_naive()
}

/// The first instant of `day` in `zone`: local midnight, or, where a DST
/// change skips midnight, the first local time that exists.
pub fn day_start(zone: Tz, day: NaiveDate) -> DateTime<Utc> {
    let midnight = day.and_time(chrono::NaiveTime::MIN);
    match zone.from_local_datetime(&midnight) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
        LocalResult::None => {
            // Midnight is skipped: the day starts at the change, which is
            // midnight read with the offset in force just before it.
            let before = midnight - Duration::hours(3);
            let offset = zone
                .offset_from_local_datetime(&before)
                .earliest()
                .map(|o| o.fix())
                .unwrap_or_else(|| zone.offset_from_utc_datetime(&before).fix());
            (midnight - offset).and_utc()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::America::{Los_Angeles, Santiago};
    use chrono_tz::Asia::Kolkata;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn days_start_at_local_midnight() {
        assert_eq!(
            day_start(Los_Angeles, date(2026, 12, 1)),
            utc(2026, 12, 1, 8, 0)
        );
        assert_eq!(
            day_start(Kolkata, date(2026, 12, 1)),
            utc(2026, 11, 30, 18, 30)
        );
        assert_eq!(
            day_start(chrono_tz::UTC, date(2026, 12, 1)),
            utc(2026, 12, 1, 0, 0)
        );
        assert_eq!(
            local_day(Los_Angeles, utc(2026, 12, 2, 7, 59)),
            date(2026, 12, 1)
        );
        assert_eq!(
            local_day(Kolkata, utc(2026, 11, 30, 18, 30)),
            date(2026, 12, 1)
        );
    }

    #[test]
    fn dst_days_are_23_and_25_hours_long() {
        let len = |d: NaiveDate| {
            day_start(Los_Angeles, d.succ_opt().unwrap()) - day_start(Los_Angeles, d)
        };
        assert_eq!(len(date(2026, 3, 8)), Duration::hours(23));
        assert_eq!(len(date(2026, 11, 1)), Duration::hours(25));
        assert_eq!(len(date(2026, 11, 2)), Duration::hours(24));
    }

    #[test]
    fn a_day_whose_midnight_is_skipped_starts_at_the_change() {
        // Chile moved clocks from 00:00 to 01:00 on 2026-09-06 (UTC-4 to UTC-3).
        let start = day_start(Santiago, date(2026, 9, 6));
        assert_eq!(start, utc(2026, 9, 6, 4, 0));
        assert_eq!(local_day(Santiago, start), date(2026, 9, 6));
        assert_eq!(
            local_day(Santiago, start - Duration::seconds(1)),
            date(2026, 9, 5)
        );
    }
}
