//! Worklogs: the pure rules that turn a person's activity into suggested
//! worklogs in their time zone, decide what an accepted suggestion becomes
//! on Jira or GitLab (exactly once, through a marker), and total days
//! against a target. Accepting, dismissing and writing are the engine's;
//! no I/O here, so every suggestion can be recomputed and explained.
//!
//! - [`settings`]: session gap, lead-in, rounding, daily target; time zones.
//! - [`day`]: local days (DST-aware).
//! - [`suggest`]: sessions, split by target, rounding, explanations.
//! - [`write`]: Jira worklog and GitLab spent time, the marker.
//! - [`totals`]: per-day totals for the week view.

pub mod day;
pub mod error;
pub mod settings;
pub mod suggest;
pub mod totals;
pub mod write;

pub use chrono_tz::Tz;
pub use day::{day_start, local_day};
pub use error::WorklogError;
pub use settings::{WorklogSettings, parse_time_zone};
pub use suggest::{Suggestion, SuggestionRule, TimedActivity, suggest};
pub use totals::{DayTotal, LoggedWork, day_totals, week_start};
pub use write::{
    AcceptedWorklog, GitLabSpentTime, JiraWorklog, MAX_WORKLOG_MINUTES, find_marker,
    gitlab_duration, gitlab_spent_time, has_marker, jira_worklog, marker,
};

#[cfg(test)]
mod tests;
