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
//! - [`history`]: a link's past progress from its items' own dates.
//! - [`forecast`]: when an OKR reaches its target at its recent pace.
//!
//! Names: every enum has stable `snake_case` names (`as_str`, `parse`,
//! serde) meant to be used unchanged in the API, the database and the UI.
//!
//! Numbers: sums are kept as exact numerator and denominator (whole seconds,
//! whole units) and only divided at the end; rounding happens for display
//! only, see [`display_percent`].

pub mod checkin;
pub mod error;
pub mod explain;
pub mod forecast;
pub mod gitlab;
pub mod history;
pub mod item;
pub mod jira;
pub mod link;
pub mod measure;
pub mod rollup;
pub mod schedule;
pub mod status;
pub mod status_change;

pub use checkin::{CHECK_IN_EVERY_DAYS, CheckIn, check_in_due_since, latest_check_in};
pub use error::GoalError;
pub use explain::{Aggregation, Contribution, ContributionNote, Explanation, ExplanationNote};
pub use gitlab::IssueState;
pub use history::{
    ChildHistory, PastPoint, daily_instants, items_at, reconstruct, roll_up_history,
};
pub use item::ItemSnapshot;
pub use jira::{JiraMetric, KpiScope};
pub use link::{Evaluation, LinkRule, evaluate};
pub use measure::{
    Direction, Kpi, KpiSpec, Measure, MeasureMode, Progress, ProgressSource, display_percent,
};
pub use rollup::{DEFAULT_WEIGHT, Rollup, RollupChild, RollupNote, RollupPart, roll_up};
pub use schedule::{Schedule, ScheduleSpec};
pub use status::{AT_RISK_GAP_POINTS, Assessment, Status, assess, status_for};
pub use status_change::{STATUS_CHANGE_WINDOW_DAYS, StatusChange, StatusPoint, status_change};

#[cfg(test)]
mod tests {
    //! The whole path the engine takes: items -> progress -> status -> roll-up.
    use super::item::fixtures::*;
    use super::schedule::fixtures::*;
    use super::*;

    #[test]
    fn items_to_objective_status() {
        let schedule = hundred_days();
        let now = midnight(2025, 2, 20); // expected 50 %

        // KR 1, GitLab percent complete: two issues, two tasks each, one done.
        let gitlab_items = [
            with_tasks(open("g/p#1"), 2, 1),
            with_tasks(open("g/p#2"), 2, 0),
        ];
        let kr1 = evaluate(
            &Measure::PercentComplete,
            &LinkRule::Gitlab { state: None },
            &gitlab_items,
        )
        .unwrap();
        assert_eq!(kr1.progress.percent, 25.0);
        assert_eq!(
            assess(&kr1.progress, &schedule, now, None).status,
            Status::Behind
        );

        // KR 2, Jira KPI: fix 20 bugs, completed only; 9 of 12 filed are done.
        let mut bugs: Vec<_> = (0..12).map(|i| open(&format!("BUG-{i}"))).collect();
        for bug in bugs.iter_mut().take(9) {
            bug.done = true;
        }
        let kr2 = evaluate(
            &Measure::Kpi(Kpi::new("bugs", 0.0, 20.0).unwrap()),
            &LinkRule::Jira {
                metric: JiraMetric::Count,
                scope: Some(KpiScope::CompletedOnly),
            },
            &bugs,
        )
        .unwrap();
        assert_eq!((kr2.progress.value, kr2.progress.percent), (9.0, 45.0));
        assert_eq!(
            assess(&kr2.progress, &schedule, now, None).status,
            Status::Behind
        );

        // KR 3, manual check-in at 80 %.
        let kr3 = CheckIn {
            value: 80.0,
            status_override: None,
            note: String::new(),
            recorded_at: at(),
        }
        .progress(&Measure::PercentComplete)
        .unwrap();

        let objective = roll_up(&[
            RollupChild::from_progress(1, &kr1.progress),
            RollupChild::from_progress(2, &kr2.progress),
            RollupChild::from_progress(3, &kr3),
        ])
        .unwrap();
        assert_eq!(objective.progress.percent, 50.0);
        let assessment = assess(&objective.progress, &schedule, now, None);
        assert_eq!(assessment.status, Status::OnTrack);
        assert_eq!(objective.progress.display_percent(), 50);
    }
}
