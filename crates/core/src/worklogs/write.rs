//! What an accepted suggestion becomes on Jira or GitLab, and the marker
//! that makes writing it exactly-once: the comment of every worklog Cairn
//! writes ends with `[cairn:suggestion:<id>]`, and a retry (after a timeout
//! that may have stored the worklog anyway) first looks for a worklog of
//! the issue carrying it.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::error::WorklogError;

const MARKER_START: &str = "[cairn:suggestion:";
const MARKER_END: char = ']';

/// The longest worklog accepted: a day.
pub const MAX_WORKLOG_MINUTES: u32 = 1440;

/// A suggestion as the person accepted it (as suggested or edited).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcceptedWorklog {
    pub suggestion_id: i64,
    pub start: DateTime<Utc>,
    pub minutes: u32,
    /// What the person did, in their words (may be empty).
    pub summary: String,
    /// The person's name when written with the connection's credentials
    /// rather than their own (the comment then says "for Name").
    pub written_for: Option<String>,
}

impl AcceptedWorklog {
    /// Refuses a length of 0 or over a day, naming `minutes`.
    pub fn validate(&self) -> Result<(), WorklogError> {
        if (1..=MAX_WORKLOG_MINUTES).contains(&self.minutes) {
            Ok(())
        } else {
            Err(WorklogError::OutOfRange {
                field: "minutes",
                expected: "1 to 1440",
                given: i64::from(self.minutes),
            })
        }
    }

    /// The text written with the worklog: the summary, "for Name" when
    /// written for someone, and the marker as the last line.
    pub fn comment(&self) -> String {
        let mut lines: Vec<String> = Vec::new();
        let summary = self.summary.trim();
        if !summary.is_empty() {
            lines.push(summary.to_owned());
        }
        if let Some(name) = &self.written_for {
            lines.push(format!("for {}", name.trim()));
        }
        lines.push(marker(self.suggestion_id));
        lines.join("\n")
    }
}

/// The marker for a suggestion, e.g. `[cairn:suggestion:42]`.
pub fn marker(suggestion_id: i64) -> String {
    format!("{MARKER_START}{suggestion_id}{MARKER_END}")
}

/// The suggestion id of the first well-formed marker in `text`, if any.
pub fn find_marker(text: &str) -> Option<i64> {
    text.match_indices(MARKER_START).find_map(|(at, _)| {
        let rest = &text[at + MARKER_START.len()..];
        let (id, _) = rest.split_once(MARKER_END)?;
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        id.parse().ok()
    })
}

/// Whether `text` (a worklog's comment) was written for this suggestion.
pub fn has_marker(text: &str, suggestion_id: i64) -> bool {
    text.contains(&marker(suggestion_id))
}

/// A Jira worklog to add (`POST /rest/api/*/issue/{key}/worklog`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JiraWorklog {
    /// `2026-12-01T09:10:00.000-0800`: in the person's zone, so Jira puts
    /// it on their day whatever the server's zone.
    pub started: String,
    pub time_spent_seconds: u32,
    /// Plain text; the engine wraps it in ADF for API v3.
    pub comment: String,
}

/// The Jira worklog an accepted suggestion becomes.
pub fn jira_worklog(accepted: &AcceptedWorklog, zone: Tz) -> Result<JiraWorklog, WorklogError> {
    accepted.validate()?;
    Ok(JiraWorklog {
        started: accepted
            .start
            .with_timezone(&zone)
            .format("%Y-%m-%dT%H:%M:%S%.3f%z")
            .to_string(),
        time_spent_seconds: accepted.minutes * 60,
        comment: accepted.comment(),
    })
}

/// GitLab spent time to add (`POST /projects/:id/issues/:iid/add_spent_time`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitLabSpentTime {
    /// E.g. `1h30m` ([`gitlab_duration`]).
    pub duration: String,
    /// The comment, marker included.
    pub summary: String,
}

/// The GitLab spent time an accepted suggestion becomes.
pub fn gitlab_spent_time(accepted: &AcceptedWorklog) -> Result<GitLabSpentTime, WorklogError> {
    accepted.validate()?;
    Ok(GitLabSpentTime {
        duration: gitlab_duration(accepted.minutes),
        summary: accepted.comment(),
    })
}

/// A length in GitLab's notation using hours and minutes only (`1h30m`,
/// `45m`, `10h`): GitLab reads `1d` as 8 hours and `1w` as 5 days, so
/// larger units would not mean clock time.
pub fn gitlab_duration(minutes: u32) -> String {
    match (minutes / 60, minutes % 60) {
        (0, m) => format!("{m}m"),
        (h, 0) => format!("{h}h"),
        (h, m) => format!("{h}h{m}m"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use chrono_tz::America::Los_Angeles;
    use chrono_tz::Asia::Kolkata;

    fn accepted(start: DateTime<Utc>, minutes: u32) -> AcceptedWorklog {
        AcceptedWorklog {
            suggestion_id: 42,
            start,
            minutes,
            summary: " Login form ".into(),
            written_for: None,
        }
    }

    #[test]
    fn jira_started_is_in_the_persons_zone_so_it_lands_on_their_day() {
        // 2026-12-02 07:30 UTC is still December 1st in Los Angeles.
        let start = Utc.with_ymd_and_hms(2026, 12, 2, 7, 30, 0).unwrap();
        let w = jira_worklog(&accepted(start, 90), Los_Angeles).unwrap();
        assert_eq!(w.started, "2026-12-01T23:30:00.000-0800");
        assert_eq!(w.time_spent_seconds, 5400);
        assert_eq!(w.comment, "Login form\n[cairn:suggestion:42]");
        // 2026-12-01 19:00 UTC is already December 2nd in Kolkata.
        let start = Utc.with_ymd_and_hms(2026, 12, 1, 19, 0, 0).unwrap();
        let w = jira_worklog(&accepted(start, 15), Kolkata).unwrap();
        assert_eq!(w.started, "2026-12-02T00:30:00.000+0530");
    }

    #[test]
    fn gitlab_durations_use_hours_and_minutes_only() {
        let cases = [
            (15, "15m"),
            (60, "1h"),
            (90, "1h30m"),
            (600, "10h"),
            (1440, "24h"),
            (0, "0m"),
        ];
        for (minutes, text) in cases {
            assert_eq!(gitlab_duration(minutes), text);
        }
        let start = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
        let mut for_ana = accepted(start, 75);
        for_ana.written_for = Some("Ana Lima".into());
        let spent = gitlab_spent_time(&for_ana).unwrap();
        assert_eq!(spent.duration, "1h15m");
        assert_eq!(
            spent.summary,
            "Login form\nfor Ana Lima\n[cairn:suggestion:42]"
        );
    }

    #[test]
    fn lengths_of_zero_or_over_a_day_are_refused() {
        let start = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
        for minutes in [0, 1441] {
            let err = jira_worklog(&accepted(start, minutes), Los_Angeles).unwrap_err();
            assert_eq!(err.field(), "minutes");
            assert!(gitlab_spent_time(&accepted(start, minutes)).is_err());
        }
    }

    #[test]
    fn the_marker_is_found_again_and_only_when_well_formed() {
        let start = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
        let mut empty = accepted(start, 30);
        empty.summary = String::new();
        assert_eq!(empty.comment(), "[cairn:suggestion:42]");
        let comment = accepted(start, 30).comment();
        assert_eq!(find_marker(&comment), Some(42));
        assert!(has_marker(&comment, 42));
        assert!(!has_marker(&comment, 4));
        assert!(!has_marker("[cairn:suggestion:420]", 42));
        for text in [
            "",
            "no marker",
            "[cairn:suggestion:]",
            "[cairn:suggestion:x1]",
            "[cairn:suggestion:12",
        ] {
            assert_eq!(find_marker(text), None, "{text}");
        }
        assert_eq!(
            find_marker("[cairn:suggestion:x] then [cairn:suggestion:7]"),
            Some(7)
        );
    }
}
