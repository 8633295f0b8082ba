//! Goals: objectives and key results (OKRs) whose progress moves with the
//! work in GitLab and Jira.
//!
//! Everything here is pure: the engine loads item snapshots and OKR settings
//! from the store and calls these functions, so every number Cairn shows can
//! be recomputed and explained from stored data (the UI and API list exactly
//! which items make up "27%").
//!
//! - [`measure`]: how an OKR is measured (percent complete or a KPI) and the
//!   resulting [`Progress`].
//! - [`item`]: the tracker-neutral [`ItemSnapshot`].
//! - [`gitlab`] and [`jira`]: the seeds' progress rules per tracker, each
//!   returning an [`Explanation`] with per-item contributions.
//! - [`link`]: a data link's rule, validated against the measure, and
//!   [`evaluate`] to go from items to progress in one call.
//! - [`schedule`] and [`status`]: linear expected progress and the status
//!   colours.
//! - [`rollup`]: an objective's progress from its children.
//! - [`checkin`]: manual values through the same measure rules.
//!
//! Names: every enum has stable `snake_case` names (`as_str`, `parse`,
//! serde) meant to be used unchanged in the API, the database and the UI.
//!
//! Numbers: sums are kept as exact numerator and denominator (whole seconds,
//! whole units) and only divided at the end; rounding happens for display
//! only, see [`display_percent`].

#[macro_use]
mod names;

pub mod checkin;
pub mod error;
pub mod explain;
pub mod gitlab;
pub mod item;
pub mod jira;
pub mod link;
pub mod measure;
pub mod rollup;
pub mod schedule;
pub mod status;

pub use checkin::{CheckIn, latest_check_in};
pub use error::GoalError;
pub use explain::{Aggregation, Contribution, ContributionNote, Explanation, ExplanationNote};
pub use gitlab::IssueState;
pub use item::ItemSnapshot;
pub use jira::{JiraMetric, KpiScope};
pub use link::{Evaluation, LinkRule, evaluate};
pub use measure::{
    Direction, Kpi, KpiSpec, Measure, MeasureMode, Progress, ProgressSource, display_percent,
};
pub use rollup::{DEFAULT_WEIGHT, Rollup, RollupChild, RollupNote, RollupPart, roll_up};
pub use schedule::{Schedule, ScheduleSpec};
pub use status::{AT_RISK_GAP_POINTS, Assessment, Status, assess, status_for};
