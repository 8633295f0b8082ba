//! Jira progress rules (seed 001): the metric table, percent complete or
//! KPI, over the tickets a JQL query matches.
//!
//! | metric | percent complete | KPI |
//! |---|---|---|
//! | `count` | done tickets / tickets | tickets counted |
//! | `time_spent` | hours logged on done tickets / hours logged | hours logged |
//! | `original_estimate` | estimate of done tickets / estimate | hours estimated |
//! | `remaining_estimate` | refused | hours remaining |
//! | `progress` | refused | average of per-ticket progress, in % |
//! | `story_points` | points of done tickets / points | points |
//! | `custom_field:<id>` | field total of done tickets / field total | field total |
//!
//! Done means the status category `done` ([`ItemSnapshot::done`]), whatever
//! the resolution. A KPI counts either completed tickets only or all tickets
//! ([`KpiScope`], per link); percent complete always divides done by all.
//!
//! **Subtasks and time, counted once.** Every ticket contributes only its
//! *own* fields (`timespent`, `timeoriginalestimate`, `timeestimate`, story
//! points, custom fields), never Jira's `aggregate*` fields, which add the
//! subtasks' time to the parent. A subtask's hours therefore count exactly
//! when the subtask itself matches the JQL, as a ticket of its own, with its
//! own done state; they are never added to the parent as well. A query that
//! matches only parents ("Epic Link" = AE-786) counts the parents' own hours;
//! to include the subtasks' hours, the query must match the subtasks too.
//! This rule needs no parent/child data, cannot count an hour twice however
//! the query overlaps, and keeps the explanation one line per matching
//! ticket. The same holds for `count`: a matching subtask is one ticket.
//!
//! **Progress**: a ticket's progress is Jira's own: time logged / (time
//! logged + remaining estimate), from its own fields. A ticket with neither
//! (total 0) has no progress and is left out of the average (noted as
//! [`ContributionNote::NoTimeTracked`]); if no ticket has progress the value is
//! 0 with [`super::ExplanationNote::NothingToMeasure`].
//!
//! Missing values (no time logged, no estimate, no points, no such custom
//! field) add nothing; a percent complete whose total is 0 is 0 % with
//! [`super::ExplanationNote::NothingToMeasure`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::error::GoalError;
use super::explain::{Aggregation, Builder, ContributionNote, Explanation, Part};
use super::item::ItemSnapshot;
use super::measure::MeasureMode;

/// Seconds per hour: time is stored in seconds and shown in hours.
const SECONDS_PER_HOUR: f64 = 3600.0;

/// The prefix of a custom field metric's name.
const CUSTOM_FIELD_PREFIX: &str = "custom_field:";

/// What a Jira link measures. Spelled as one string in the API and the
/// database: `count`, `time_spent`, `original_estimate`,
/// `remaining_estimate`, `progress`, `story_points`, or
/// `custom_field:<field id>` (e.g. `custom_field:customfield_10016`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum JiraMetric {
    /// Count of tickets.
    Count,
    /// Time logged.
    TimeSpent,
    /// Original estimate.
    OriginalEstimate,
    /// Remaining estimate (KPI only).
    RemainingEstimate,
    /// Average per-ticket progress (KPI only).
    Progress,
    /// Story points.
    StoryPoints,
    /// A numeric custom field, by field id.
    CustomField(String),
}

impl JiraMetric {
    /// The metrics without a field id, for pickers (custom fields come from
    /// the Jira instance).
    pub const BUILT_IN: [JiraMetric; 6] = [
        JiraMetric::Count,
        JiraMetric::TimeSpent,
        JiraMetric::OriginalEstimate,
        JiraMetric::RemainingEstimate,
        JiraMetric::Progress,
        JiraMetric::StoryPoints,
    ];

    /// The metric's kind name, without the custom field id.
    pub fn kind(&self) -> &'static str {
        match self {
            JiraMetric::Count => "count",
            JiraMetric::TimeSpent => "time_spent",
            JiraMetric::OriginalEstimate => "original_estimate",
            JiraMetric::RemainingEstimate => "remaining_estimate",
            JiraMetric::Progress => "progress",
            JiraMetric::StoryPoints => "story_points",
            JiraMetric::CustomField(_) => "custom_field",
        }
    }

    /// Whether the metric can be used with `mode`: remaining estimate and
    /// progress are KPI only (the seed's table marks them N/A for percent
    /// complete: there is no "done share" of time left or of an average).
    pub fn allowed_with(&self, mode: MeasureMode) -> bool {
        match mode {
            MeasureMode::Kpi => true,
            MeasureMode::PercentComplete => {
                !matches!(self, JiraMetric::RemainingEstimate | JiraMetric::Progress)
            }
        }
    }

    /// `Ok` when the metric fits `mode`, else an error naming the metric.
    pub fn check_mode(&self, mode: MeasureMode) -> Result<(), GoalError> {
        if self.allowed_with(mode) {
            Ok(())
        } else {
            Err(GoalError::MetricRequiresKpi {
                metric: self.to_string(),
            })
        }
    }

    /// The unit the metric's amounts and KPI values are in, a sensible
    /// default for the KPI's own unit.
    pub fn unit(&self) -> &str {
        match self {
            JiraMetric::Count => "tickets",
            JiraMetric::TimeSpent
            | JiraMetric::OriginalEstimate
            | JiraMetric::RemainingEstimate => "hours",
            JiraMetric::Progress => "%",
            JiraMetric::StoryPoints => "points",
            JiraMetric::CustomField(field) => field,
        }
    }

    /// Base units per displayed unit (seconds per hour for time).
    fn scale(&self) -> f64 {
        match self {
            JiraMetric::TimeSpent
            | JiraMetric::OriginalEstimate
            | JiraMetric::RemainingEstimate => SECONDS_PER_HOUR,
            _ => 1.0,
        }
    }

    /// The item's amount in base units, `None` when it has no value.
    /// Progress has no per-item amount of this kind.
    fn amount(&self, item: &ItemSnapshot) -> Option<f64> {
        let seconds = |s: Option<i64>| s.map(|s| s as f64);
        match self {
            JiraMetric::Count => Some(1.0),
            JiraMetric::TimeSpent => seconds(item.time_spent_seconds),
            JiraMetric::OriginalEstimate => seconds(item.original_estimate_seconds),
            JiraMetric::RemainingEstimate => seconds(item.remaining_estimate_seconds),
            JiraMetric::StoryPoints => item.story_points.filter(|v| v.is_finite()),
            JiraMetric::CustomField(field) => item.custom_field(field),
            JiraMetric::Progress => None,
        }
    }
}

impl fmt::Display for JiraMetric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JiraMetric::CustomField(field) => write!(f, "{CUSTOM_FIELD_PREFIX}{field}"),
            other => f.write_str(other.kind()),
        }
    }
}

/// The metric names, for messages.
const METRIC_NAMES: &str = "count, time_spent, original_estimate, remaining_estimate, progress, story_points, custom_field:<field id>";

impl FromStr for JiraMetric {
    type Err = GoalError;

    fn from_str(name: &str) -> Result<JiraMetric, GoalError> {
        if let Some(field) = name.strip_prefix(CUSTOM_FIELD_PREFIX) {
            let field = field.trim();
            return if field.is_empty() {
                Err(GoalError::MissingCustomField)
            } else {
                Ok(JiraMetric::CustomField(field.to_owned()))
            };
        }
        if name == "custom_field" {
            return Err(GoalError::MissingCustomField);
        }
        JiraMetric::BUILT_IN
            .into_iter()
            .find(|m| m.kind() == name)
            .ok_or_else(|| GoalError::UnknownName {
                what: METRIC_NAMES,
                name: name.to_owned(),
            })
    }
}

impl TryFrom<String> for JiraMetric {
    type Error = GoalError;

    fn try_from(name: String) -> Result<JiraMetric, GoalError> {
        name.parse()
    }
}

impl From<JiraMetric> for String {
    fn from(metric: JiraMetric) -> String {
        metric.to_string()
    }
}

stable_names! {
    /// Which tickets a Jira KPI counts (the seed's checkbox).
    pub enum KpiScope {
        /// Only tickets whose status category is `done`.
        CompletedOnly => "completed_only",
        /// Every matching ticket.
        All => "all",
    }
}

impl KpiScope {
    /// Whether `item` counts under this scope.
    pub fn includes(self, item: &ItemSnapshot) -> bool {
        match self {
            KpiScope::CompletedOnly => item.done,
            KpiScope::All => true,
        }
    }
}

/// Jira percent complete: the done tickets' share of the metric's total, as
/// a percent (the explanation's value). Refuses remaining estimate and
/// progress with [`GoalError::MetricRequiresKpi`]. Ten stories, three done:
/// 30 %; an eleventh story: 3/11 (27.27…, displayed 27).
pub fn percent_complete(
    items: &[ItemSnapshot],
    metric: &JiraMetric,
) -> Result<Explanation, GoalError> {
    metric.check_mode(MeasureMode::PercentComplete)?;
    let scale = metric.scale();
    let mut b = Builder::new(Aggregation::Ratio, metric.unit(), scale, scale, items.len());
    for item in items {
        let amount = metric.amount(item);
        let total = amount.unwrap_or(0.0);
        let done = if item.done { total } else { 0.0 };
        b.push(Part {
            key: &item.key,
            amount: total,
            done_amount: done,
            numerator: done,
            denominator: total,
            counted: amount.is_some_and(|a| a != 0.0),
            note: amount.is_none().then_some(ContributionNote::NoValue),
        });
    }
    Ok(b.finish())
}

/// Jira KPI value: the metric summed over the tickets `scope` includes
/// (count: the number of them), or for [`JiraMetric::Progress`] the average
/// per-ticket progress in percent. "Fix 20 bugs" with completed only counts
/// done bugs, so it reaches 20 however many more bugs are filed.
pub fn kpi_value(items: &[ItemSnapshot], metric: &JiraMetric, scope: KpiScope) -> Explanation {
    if *metric == JiraMetric::Progress {
        return average_progress(items, scope);
    }
    let scale = metric.scale();
    let mut b = Builder::new(Aggregation::Sum, metric.unit(), scale, scale, items.len());
    for item in items {
        let amount = metric.amount(item);
        let total = amount.unwrap_or(0.0);
        let included = scope.includes(item);
        let note = if amount.is_none() {
            Some(ContributionNote::NoValue)
        } else if !included {
            Some(ContributionNote::NotCompleted)
        } else {
            None
        };
        b.push(Part {
            key: &item.key,
            amount: total,
            done_amount: if item.done { total } else { 0.0 },
            numerator: if included { total } else { 0.0 },
            denominator: 0.0,
            counted: included && amount.is_some_and(|a| a != 0.0),
            note,
        });
    }
    b.finish()
}

/// The progress KPI: the average of time logged / (logged + remaining) over
/// the included tickets that track time, in percent. Each averaged ticket
/// adds its progress to the numerator and 1 to the denominator; amounts are
/// total and logged hours.
fn average_progress(items: &[ItemSnapshot], scope: KpiScope) -> Explanation {
    let mut b = Builder::new(
        Aggregation::Average,
        JiraMetric::Progress.unit(),
        SECONDS_PER_HOUR,
        1.0,
        items.len(),
    );
    for item in items {
        let logged = item.time_spent_seconds.unwrap_or(0).max(0) as f64;
        let remaining = item.remaining_estimate_seconds.unwrap_or(0).max(0) as f64;
        let total = logged + remaining;
        let included = scope.includes(item);
        let tracked = total > 0.0;
        let counted = included && tracked;
        let note = if !tracked {
            Some(ContributionNote::NoTimeTracked)
        } else if !included {
            Some(ContributionNote::NotCompleted)
        } else {
            None
        };
        b.push(Part {
            key: &item.key,
            amount: total,
            done_amount: logged,
            numerator: if counted { logged / total * 100.0 } else { 0.0 },
            denominator: if counted { 1.0 } else { 0.0 },
            counted,
            note,
        });
    }
    b.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::goals::ExplanationNote;
    use crate::goals::item::fixtures::*;
    use crate::goals::measure::{Kpi, Progress, display_percent};

    fn stories(total: usize, done_count: usize) -> Vec<ItemSnapshot> {
        (0..total)
            .map(|i| {
                let key = format!("AE-{}", 800 + i);
                if i < done_count {
                    done(&key)
                } else {
                    open(&key)
                }
            })
            .collect()
    }

    fn custom() -> JiraMetric {
        JiraMetric::CustomField("customfield_10050".into())
    }

    /// A hand-worked dataset: three tickets, one done.
    fn dataset() -> Vec<ItemSnapshot> {
        let mut a = done("D-1");
        a.time_spent_seconds = h(6);
        a.original_estimate_seconds = h(8);
        a.remaining_estimate_seconds = h(0);
        a.story_points = Some(5.0);
        a.custom_fields.insert("customfield_10050".into(), 100.0);
        let mut b = open("D-2");
        b.time_spent_seconds = h(2);
        b.original_estimate_seconds = h(10);
        b.remaining_estimate_seconds = h(6);
        b.story_points = Some(3.0);
        b.custom_fields.insert("customfield_10050".into(), 300.0);
        let mut c = open("D-3");
        c.original_estimate_seconds = h(2);
        c.remaining_estimate_seconds = h(2);
        vec![a, b, c]
    }

    #[test]
    fn metric_names_round_trip() {
        for m in JiraMetric::BUILT_IN {
            assert_eq!(m.to_string().parse::<JiraMetric>(), Ok(m.clone()));
            assert_eq!(String::from(m.clone()), m.kind());
        }
        let c = custom();
        assert_eq!(c.to_string(), "custom_field:customfield_10050");
        assert_eq!("custom_field:customfield_10050".parse(), Ok(c.clone()));
        assert_eq!(JiraMetric::try_from(String::from(c.clone())), Ok(c));
        assert_eq!(
            "custom_field:".parse::<JiraMetric>(),
            Err(GoalError::MissingCustomField)
        );
        assert_eq!(
            "custom_field".parse::<JiraMetric>(),
            Err(GoalError::MissingCustomField)
        );
        assert_eq!(
            "velocity".parse::<JiraMetric>(),
            Err(GoalError::UnknownName {
                what: METRIC_NAMES,
                name: "velocity".into()
            })
        );
    }

    #[test]
    fn scope_names() {
        for s in KpiScope::ALL {
            assert_eq!(KpiScope::parse(s.as_str()), Some(*s));
        }
        assert_eq!(KpiScope::CompletedOnly.as_str(), "completed_only");
    }

    #[test]
    fn remaining_estimate_and_progress_are_kpi_only() {
        for m in [JiraMetric::RemainingEstimate, JiraMetric::Progress] {
            assert!(!m.allowed_with(MeasureMode::PercentComplete));
            assert!(m.allowed_with(MeasureMode::Kpi));
            let err = percent_complete(&dataset(), &m).unwrap_err();
            assert_eq!(
                err,
                GoalError::MetricRequiresKpi {
                    metric: m.to_string()
                }
            );
            assert_eq!(err.field(), "metric");
            assert!(err.to_string().contains(m.kind()));
        }
        for m in [
            JiraMetric::Count,
            JiraMetric::TimeSpent,
            JiraMetric::OriginalEstimate,
            JiraMetric::StoryPoints,
            custom(),
        ] {
            assert_eq!(m.check_mode(MeasureMode::PercentComplete), Ok(()));
            assert_eq!(m.check_mode(MeasureMode::Kpi), Ok(()));
        }
    }

    #[test]
    fn units() {
        assert_eq!(JiraMetric::Count.unit(), "tickets");
        assert_eq!(JiraMetric::TimeSpent.unit(), "hours");
        assert_eq!(JiraMetric::Progress.unit(), "%");
        assert_eq!(JiraMetric::StoryPoints.unit(), "points");
        assert_eq!(custom().unit(), "customfield_10050");
    }

    #[test]
    fn seed_epic_ten_stories_three_done_is_30_percent() {
        let e = percent_complete(&stories(10, 3), &JiraMetric::Count).unwrap();
        assert_eq!((e.numerator, e.denominator), (3.0, 10.0));
        let p = Progress::from_ratio(e.numerator, e.denominator);
        assert_eq!(p.display_percent(), 30);
        assert!((e.value - 30.0).abs() < 1e-12);
    }

    #[test]
    fn seed_eleventh_story_gives_27_percent() {
        let e = percent_complete(&stories(11, 3), &JiraMetric::Count).unwrap();
        // Exact fraction kept; rounded only for display.
        assert_eq!((e.numerator, e.denominator), (3.0, 11.0));
        assert_eq!(e.value, 3.0 / 11.0 * 100.0);
        assert_eq!(display_percent(e.value), 27);
        assert_eq!(e.contributions.len(), 11);
        assert_eq!(
            e.contributions.iter().filter(|c| c.numerator > 0.0).count(),
            3
        );
    }

    #[test]
    fn seed_fix_20_bugs_completed_only() {
        let kpi = Kpi::new("bugs", 0.0, 20.0).unwrap();
        let mut bugs = stories(25, 19);
        let v = kpi_value(&bugs, &JiraMetric::Count, KpiScope::CompletedOnly).value;
        let p = kpi.progress(v).unwrap();
        assert_eq!((p.value, p.percent, p.target_reached), (19.0, 95.0, false));
        bugs[19].done = true;
        let p = kpi
            .progress(kpi_value(&bugs, &JiraMetric::Count, KpiScope::CompletedOnly).value)
            .unwrap();
        assert_eq!((p.value, p.percent, p.target_reached), (20.0, 100.0, true));
        // More bugs keep being filed: still reached.
        bugs.extend((0..30).map(|i| open(&format!("BUG-{i}"))));
        let p = kpi
            .progress(kpi_value(&bugs, &JiraMetric::Count, KpiScope::CompletedOnly).value)
            .unwrap();
        assert!(p.target_reached);
        assert_eq!(p.percent, 100.0);
    }

    #[test]
    fn count_kpi_all_tallies_every_ticket() {
        // Seed example 2: tally all bugs generated.
        let e = kpi_value(&stories(7, 2), &JiraMetric::Count, KpiScope::All);
        assert_eq!(e.value, 7.0);
        assert_eq!(e.unit, "tickets");
        assert_eq!(e.counted().count(), 7);
    }

    #[test]
    fn count_kpi_completed_only_notes_open_tickets() {
        let e = kpi_value(&stories(4, 1), &JiraMetric::Count, KpiScope::CompletedOnly);
        assert_eq!(e.value, 1.0);
        assert_eq!(
            e.contributions[1].note,
            Some(ContributionNote::NotCompleted)
        );
        assert!(!e.contributions[1].counted);
        assert_eq!(e.contributions[1].amount, 1.0);
    }

    #[test]
    fn percent_complete_every_metric_by_hand() {
        let d = dataset();
        // count: 1 of 3.
        let e = percent_complete(&d, &JiraMetric::Count).unwrap();
        assert_eq!((e.numerator, e.denominator), (1.0, 3.0));
        // time spent: 6 of 8 hours.
        let e = percent_complete(&d, &JiraMetric::TimeSpent).unwrap();
        assert_eq!((e.numerator, e.denominator, e.value), (6.0, 8.0, 75.0));
        assert_eq!(e.unit, "hours");
        assert_eq!(e.contributions[2].note, Some(ContributionNote::NoValue));
        assert!(!e.contributions[2].counted);
        // original estimate: 8 of 20 hours.
        let e = percent_complete(&d, &JiraMetric::OriginalEstimate).unwrap();
        assert_eq!((e.numerator, e.denominator, e.value), (8.0, 20.0, 40.0));
        // story points: 5 of 8.
        let e = percent_complete(&d, &JiraMetric::StoryPoints).unwrap();
        assert_eq!((e.numerator, e.denominator, e.value), (5.0, 8.0, 62.5));
        // custom field: 100 of 400.
        let e = percent_complete(&d, &custom()).unwrap();
        assert_eq!((e.numerator, e.denominator, e.value), (100.0, 400.0, 25.0));
    }

    #[test]
    fn kpi_every_metric_by_hand() {
        let d = dataset();
        let all = |m: &JiraMetric| kpi_value(&d, m, KpiScope::All).value;
        let done_only = |m: &JiraMetric| kpi_value(&d, m, KpiScope::CompletedOnly).value;
        assert_eq!(
            (all(&JiraMetric::Count), done_only(&JiraMetric::Count)),
            (3.0, 1.0)
        );
        assert_eq!(
            (
                all(&JiraMetric::TimeSpent),
                done_only(&JiraMetric::TimeSpent)
            ),
            (8.0, 6.0)
        );
        assert_eq!(
            (
                all(&JiraMetric::OriginalEstimate),
                done_only(&JiraMetric::OriginalEstimate)
            ),
            (20.0, 8.0)
        );
        assert_eq!(
            (
                all(&JiraMetric::RemainingEstimate),
                done_only(&JiraMetric::RemainingEstimate)
            ),
            (8.0, 0.0)
        );
        assert_eq!(
            (
                all(&JiraMetric::StoryPoints),
                done_only(&JiraMetric::StoryPoints)
            ),
            (8.0, 5.0)
        );
        assert_eq!((all(&custom()), done_only(&custom())), (400.0, 100.0));
        // progress: D-1 6/(6+0) = 100 %, D-2 2/(2+6) = 25 %, D-3 0/(0+2) = 0 %.
        let e = kpi_value(&d, &JiraMetric::Progress, KpiScope::All);
        assert_eq!(e.aggregation, Aggregation::Average);
        assert_eq!((e.numerator, e.denominator), (125.0, 3.0));
        assert_eq!(e.value, 125.0 / 3.0);
        assert_eq!(done_only(&JiraMetric::Progress), 100.0);
    }

    #[test]
    fn progress_explanation_lists_hours() {
        let e = kpi_value(&dataset(), &JiraMetric::Progress, KpiScope::All);
        let c = &e.contributions[1];
        assert_eq!(
            (c.amount, c.done_amount, c.numerator, c.denominator),
            (8.0, 2.0, 25.0, 1.0)
        );
        assert_eq!(e.unit, "%");
    }

    #[test]
    fn progress_skips_tickets_without_time_tracking() {
        let mut items = dataset();
        items.push(open("D-4"));
        let e = kpi_value(&items, &JiraMetric::Progress, KpiScope::All);
        assert_eq!(e.value, 125.0 / 3.0);
        assert_eq!(
            e.contributions[3].note,
            Some(ContributionNote::NoTimeTracked)
        );
        assert!(!e.contributions[3].counted);

        let none = kpi_value(&[open("X-1")], &JiraMetric::Progress, KpiScope::All);
        assert_eq!(
            (none.value, none.note),
            (0.0, Some(ExplanationNote::NothingToMeasure))
        );
        let empty = kpi_value(&[], &JiraMetric::Progress, KpiScope::All);
        assert_eq!(empty.note, Some(ExplanationNote::NoItems));
    }

    #[test]
    fn progress_of_completed_only_notes_open_tickets() {
        let e = kpi_value(&dataset(), &JiraMetric::Progress, KpiScope::CompletedOnly);
        assert_eq!(
            e.contributions[1].note,
            Some(ContributionNote::NotCompleted)
        );
        assert_eq!(e.denominator, 1.0);
    }

    #[test]
    fn subtasks_in_the_result_count_once_from_their_own_fields() {
        // Parent P-1 (own 2 h) with subtasks S-1 (3 h, done) and S-2 (5 h);
        // Jira's aggregate for P-1 would be 10 h, but only own fields are read.
        let mut parent = open("P-1");
        parent.time_spent_seconds = h(2);
        let mut s1 = done("S-1");
        s1.time_spent_seconds = h(3);
        let mut s2 = open("S-2");
        s2.time_spent_seconds = h(5);
        let items = [parent, s1, s2];
        let kpi = kpi_value(&items, &JiraMetric::TimeSpent, KpiScope::All);
        assert_eq!(kpi.value, 10.0);
        let pc = percent_complete(&items, &JiraMetric::TimeSpent).unwrap();
        assert_eq!((pc.numerator, pc.denominator), (3.0, 10.0));
        let count = percent_complete(&items, &JiraMetric::Count).unwrap();
        assert_eq!((count.numerator, count.denominator), (1.0, 3.0));
    }

    #[test]
    fn jira_ignores_tasks_counts() {
        let items = [with_tasks(open("A-1"), 4, 3), done("A-2")];
        let e = percent_complete(&items, &JiraMetric::Count).unwrap();
        assert_eq!((e.numerator, e.denominator), (1.0, 2.0));
    }

    #[test]
    fn time_totals_are_exact_in_seconds() {
        // 20 min + 40 min = exactly 1 hour.
        let mut a = done("T-1");
        a.time_spent_seconds = Some(1200);
        let mut b = open("T-2");
        b.time_spent_seconds = Some(2400);
        let items = [a, b];
        let e = kpi_value(&items, &JiraMetric::TimeSpent, KpiScope::All);
        assert_eq!(e.value, 1.0);
        let e = percent_complete(&items, &JiraMetric::TimeSpent).unwrap();
        assert_eq!(e.value, 1200.0 / 3600.0 * 100.0);
        assert_eq!(display_percent(e.value), 33);
    }

    #[test]
    fn nothing_to_measure_is_zero_with_note() {
        let items = [done("N-1"), open("N-2")];
        let e = percent_complete(&items, &JiraMetric::StoryPoints).unwrap();
        assert_eq!(
            (e.value, e.note),
            (0.0, Some(ExplanationNote::NothingToMeasure))
        );
        let e = percent_complete(&[], &JiraMetric::Count).unwrap();
        assert_eq!((e.value, e.note), (0.0, Some(ExplanationNote::NoItems)));
        let e = kpi_value(&items, &JiraMetric::StoryPoints, KpiScope::All);
        assert_eq!((e.value, e.note), (0.0, None));
    }

    #[test]
    fn fractional_story_points() {
        let mut a = done("SP-1");
        a.story_points = Some(0.5);
        let mut b = open("SP-2");
        b.story_points = Some(1.5);
        let mut c = done("SP-3");
        c.story_points = Some(f64::NAN);
        let items = [a, b, c];
        let e = percent_complete(&items, &JiraMetric::StoryPoints).unwrap();
        assert_eq!((e.numerator, e.denominator, e.value), (0.5, 2.0, 25.0));
        assert_eq!(e.contributions[2].note, Some(ContributionNote::NoValue));
        let e = kpi_value(&items, &JiraMetric::StoryPoints, KpiScope::CompletedOnly);
        assert_eq!(e.value, 0.5);
    }

    #[test]
    fn all_done_is_exactly_100() {
        let mut items = dataset();
        for item in &mut items {
            item.done = true;
        }
        for m in [
            JiraMetric::Count,
            JiraMetric::TimeSpent,
            JiraMetric::OriginalEstimate,
            JiraMetric::StoryPoints,
            custom(),
        ] {
            let e = percent_complete(&items, &m).unwrap();
            assert_eq!(e.value, 100.0, "{m}");
            assert!(Progress::from_ratio(e.numerator, e.denominator).target_reached);
        }
    }
}
