//! A person's or organisation's worklog settings, and their time zone.

use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::error::WorklogError;

/// How activity becomes suggested worklogs. Every field has a default, so a
/// saved setting from before a field existed reads as a new one would.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct WorklogSettings {
    /// A gap between two activities longer than this starts a new session
    /// (a gap exactly this long does not). 5 to 720.
    pub session_gap_minutes: u32,
    /// Time counted before the first activity of a session (the work that
    /// led to it), never before the local midnight of its day. 0 to 240.
    pub lead_in_minutes: u32,
    /// Suggestions are rounded to the nearest multiple of this (halves
    /// up), at least one multiple. One of 1, 5, 6, 10, 15, 20, 30, 60.
    pub rounding_minutes: u32,
    /// The day's target for the "My work" totals. 0 to 1440.
    pub daily_target_minutes: u32,
}

impl Default for WorklogSettings {
    fn default() -> Self {
        WorklogSettings {
            session_gap_minutes: 90,
            lead_in_minutes: 30,
            rounding_minutes: 15,
            daily_target_minutes: 480,
        }
    }
}

impl WorklogSettings {
    /// Refuses a setting out of range, naming its field. The session gap is
    /// at most 12 hours so a session never spans a whole day without
    /// activity.
    pub fn validate(&self) -> Result<(), WorklogError> {
        check(
            "session_gap_minutes",
            self.session_gap_minutes,
            (5..=720).contains(&self.session_gap_minutes),
            "5 to 720",
        )?;
        check(
            "lead_in_minutes",
            self.lead_in_minutes,
            self.lead_in_minutes <= 240,
            "0 to 240",
        )?;
        check(
            "rounding_minutes",
            self.rounding_minutes,
            [1, 5, 6, 10, 15, 20, 30, 60].contains(&self.rounding_minutes),
            "one of 1, 5, 6, 10, 15, 20, 30, 60",
        )?;
        check(
            "daily_target_minutes",
            self.daily_target_minutes,
            self.daily_target_minutes <= 1440,
            "0 to 1440",
        )
    }
}

fn check(
    field: &'static str,
    value: u32,
    ok: bool,
    expected: &'static str,
) -> Result<(), WorklogError> {
    if ok {
        Ok(())
    } else {
        Err(WorklogError::OutOfRange {
            field,
            expected,
            given: i64::from(value),
        })
    }
}

/// A person's time zone from its IANA name (`America/Los_Angeles`), which
/// decides their days. Names are matched exactly, as the tz database spells
/// them.
pub fn parse_time_zone(name: &str) -> Result<Tz, WorklogError> {
    name.parse::<Tz>()
        .map_err(|_| WorklogError::UnknownTimeZone {
            name: name.to_owned(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_ones_and_valid() {
        let s = WorklogSettings::default();
        assert_eq!(
            (
                s.session_gap_minutes,
                s.lead_in_minutes,
                s.rounding_minutes,
                s.daily_target_minutes
            ),
            (90, 30, 15, 480)
        );
        assert_eq!(s.validate(), Ok(()));
        let partial: WorklogSettings = serde_json::from_str(r#"{"lead_in_minutes": 10}"#).unwrap();
        assert_eq!(partial.lead_in_minutes, 10);
        assert_eq!(partial.session_gap_minutes, 90);
    }

    #[test]
    fn settings_out_of_range_are_refused_naming_the_field() {
        let base = WorklogSettings::default();
        let cases = [
            (
                WorklogSettings {
                    session_gap_minutes: 4,
                    ..base
                },
                "session_gap_minutes",
            ),
            (
                WorklogSettings {
                    session_gap_minutes: 721,
                    ..base
                },
                "session_gap_minutes",
            ),
            (
                WorklogSettings {
                    lead_in_minutes: 241,
                    ..base
                },
                "lead_in_minutes",
            ),
            (
                WorklogSettings {
                    rounding_minutes: 0,
                    ..base
                },
                "rounding_minutes",
            ),
            (
                WorklogSettings {
                    rounding_minutes: 7,
                    ..base
                },
                "rounding_minutes",
            ),
            (
                WorklogSettings {
                    daily_target_minutes: 1441,
                    ..base
                },
                "daily_target_minutes",
            ),
        ];
        for (settings, field) in cases {
            let err = settings.validate().unwrap_err();
            assert_eq!(err.field(), field);
            assert!(err.to_string().starts_with(field), "{err}");
        }
        for ok in [
            WorklogSettings {
                session_gap_minutes: 5,
                lead_in_minutes: 0,
                rounding_minutes: 1,
                daily_target_minutes: 0,
            },
            WorklogSettings {
                session_gap_minutes: 720,
                lead_in_minutes: 240,
                rounding_minutes: 60,
                daily_target_minutes: 1440,
            },
        ] {
            assert_eq!(ok.validate(), Ok(()));
        }
    }

    #[test]
    fn time_zones_are_iana_names() {
        assert_eq!(
            parse_time_zone("Asia/Kolkata"),
            Ok(chrono_tz::Asia::Kolkata)
        );
        for bad in ["", "PST8", "Mars/Olympus", "asia/kolkata "] {
            let err = parse_time_zone(bad).unwrap_err();
            assert_eq!(err.field(), "time_zone");
        }
    }
}
