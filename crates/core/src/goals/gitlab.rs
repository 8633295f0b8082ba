//! GitLab progress rules (seed 000): percent complete by issues and their
//! tasks, and a KPI counting issues in a chosen state.

use super::explain::{Aggregation, Builder, ContributionNote, Explanation, Part};
use super::item::ItemSnapshot;

stable_names! {
    /// Which linked issues a GitLab KPI counts. Only meaningful for KPI
    /// measures (the seed: "applicable only to KPI-type OKRs").
    pub enum IssueState {
        /// Open issues, in GitLab's word. Links saved before this spelling
        /// stored `open`, still read.
        #[serde(alias = "open")]
        Opened => "opened",
        /// Closed issues.
        Closed => "closed",
        /// Every linked issue.
        All => "all",
    }
}

impl IssueState {
    /// Whether `item` is in this state; closed means [`ItemSnapshot::done`].
    pub fn matches(self, item: &ItemSnapshot) -> bool {
        match self {
            IssueState::Opened => !item.done,
            IssueState::Closed => item.done,
            IssueState::All => true,
        }
    }
}

/// The units an issue counts as and how many of them are done: its tasks if
/// it has any, else 1; all of them if the issue is closed (whatever its
/// tasks), else its completed tasks (0 for an open issue without tasks).
pub fn units(item: &ItemSnapshot) -> (u32, u32) {
    let total = item.tasks_total.max(1);
    let done = if item.done {
        total
    } else {
        item.tasks_done_clamped()
    };
    (total, done)
}

/// GitLab percent complete: Σ done units / Σ units over the linked issues
/// (see [`units`]). Two issues with two tasks each: one task closed gives
/// 25 %, two 50 %. No issues: value 0 with [`super::ExplanationNote::NoItems`].
/// The explanation's value is the percent; unit `units`.
pub fn percent_complete(items: &[ItemSnapshot]) -> Explanation {
    let mut b = Builder::new(Aggregation::Ratio, "units", 1.0, 1.0, items.len());
    for item in items {
        let (total, done) = units(item);
        let note = if item.done && item.tasks_done_clamped() < item.tasks_total {
            ContributionNote::ClosedCountsComplete
        } else if item.tasks_total > 0 {
            ContributionNote::Tasks
        } else {
            ContributionNote::SingleUnit
        };
        b.push(Part {
            key: &item.key,
            amount: f64::from(total),
            done_amount: f64::from(done),
            numerator: f64::from(done),
            denominator: f64::from(total),
            counted: true,
            note: Some(note),
        });
    }
    b.finish()
}

/// GitLab KPI value: the number of linked issues in `state`. Tasks do not
/// matter here; each issue counts once. Unit `issues`.
pub fn kpi_value(items: &[ItemSnapshot], state: IssueState) -> Explanation {
    let mut b = Builder::new(Aggregation::Sum, "issues", 1.0, 1.0, items.len());
    for item in items {
        let counted = state.matches(item);
        b.push(Part {
            key: &item.key,
            amount: 1.0,
            done_amount: if item.done { 1.0 } else { 0.0 },
            numerator: if counted { 1.0 } else { 0.0 },
            denominator: 0.0,
            counted,
            note: (!counted).then_some(ContributionNote::NotInState),
        });
    }
    b.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::goals::ExplanationNote;
    use crate::goals::item::fixtures::*;
    use crate::goals::measure::{Kpi, Progress};

    fn percent(items: &[ItemSnapshot]) -> f64 {
        percent_complete(items).value
    }

    #[test]
    fn state_names() {
        for s in IssueState::ALL {
            assert_eq!(IssueState::parse(s.as_str()), Some(*s));
        }
        assert_eq!(IssueState::Opened.as_str(), "opened");
        assert_eq!(IssueState::parse("opened"), Some(IssueState::Opened));
        assert_eq!(IssueState::parse("open"), None, "one spelling: GitLab's");
    }

    #[test]
    fn state_matching() {
        let o = open("#1");
        let c = done("#2");
        assert!(IssueState::Opened.matches(&o) && !IssueState::Opened.matches(&c));
        assert!(!IssueState::Closed.matches(&o) && IssueState::Closed.matches(&c));
        assert!(IssueState::All.matches(&o) && IssueState::All.matches(&c));
    }

    #[test]
    fn units_per_issue() {
        assert_eq!(units(&open("#1")), (1, 0));
        assert_eq!(units(&done("#1")), (1, 1));
        assert_eq!(units(&with_tasks(open("#1"), 4, 1)), (4, 1));
        assert_eq!(units(&with_tasks(done("#1"), 4, 1)), (4, 4));
        assert_eq!(units(&with_tasks(open("#1"), 2, 9)), (2, 2));
        // Completed-task counts without tasks are ignored.
        assert_eq!(units(&with_tasks(open("#1"), 0, 3)), (1, 0));
    }

    #[test]
    fn seed_two_issues_two_tasks_each() {
        // Seed 000: close subtask 1 in issue 1 -> 25 %, subtask 2 -> 50 %.
        let none = [with_tasks(open("#1"), 2, 0), with_tasks(open("#2"), 2, 0)];
        assert_eq!(percent(&none), 0.0);
        let one = [with_tasks(open("#1"), 2, 1), with_tasks(open("#2"), 2, 0)];
        assert_eq!(percent(&one), 25.0);
        let two = [with_tasks(open("#1"), 2, 2), with_tasks(open("#2"), 2, 0)];
        assert_eq!(percent(&two), 50.0);
    }

    #[test]
    fn seed_closed_issue_counts_complete_whatever_its_tasks() {
        let items = [with_tasks(done("#1"), 2, 0), with_tasks(open("#2"), 2, 0)];
        let e = percent_complete(&items);
        assert_eq!(e.value, 50.0);
        assert_eq!(
            e.contributions[0].note,
            Some(ContributionNote::ClosedCountsComplete)
        );
        assert_eq!(e.contributions[0].numerator, 2.0);
        let all_closed = [with_tasks(done("#1"), 3, 1)];
        let e = percent_complete(&all_closed);
        assert_eq!(e.value, 100.0);
        assert!(Progress::from_ratio(e.numerator, e.denominator).target_reached);
    }

    #[test]
    fn issues_without_tasks_count_as_one() {
        let items = [open("#1"), done("#2"), done("#3"), open("#4")];
        assert_eq!(percent(&items), 50.0);
    }

    #[test]
    fn mixed_issues_weigh_by_units() {
        // 4 tasks (1 done) + 1 plain closed issue = 2 of 5.
        let items = [with_tasks(open("#1"), 4, 1), done("#2")];
        let e = percent_complete(&items);
        assert_eq!((e.numerator, e.denominator), (2.0, 5.0));
        assert_eq!(e.value, 40.0);
        assert_eq!(e.contributions[0].note, Some(ContributionNote::Tasks));
        assert_eq!(e.contributions[1].note, Some(ContributionNote::SingleUnit));
        assert_eq!(e.unit, "units");
    }

    #[test]
    fn explanation_lists_every_issue() {
        let items = [with_tasks(open("#1"), 2, 1), open("#2")];
        let e = percent_complete(&items);
        assert_eq!(e.aggregation, Aggregation::Ratio);
        let keys: Vec<_> = e.contributions.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(keys, ["#1", "#2"]);
        let c = &e.contributions[0];
        assert_eq!(
            (c.amount, c.done_amount, c.numerator, c.denominator),
            (2.0, 1.0, 1.0, 2.0)
        );
        let sum_num: f64 = e.contributions.iter().map(|c| c.numerator).sum();
        let sum_den: f64 = e.contributions.iter().map(|c| c.denominator).sum();
        assert_eq!((sum_num, sum_den), (e.numerator, e.denominator));
    }

    #[test]
    fn no_issues_is_zero_percent_with_note() {
        let e = percent_complete(&[]);
        assert_eq!(e.value, 0.0);
        assert_eq!(e.note, Some(ExplanationNote::NoItems));
        assert!(e.contributions.is_empty());
    }

    #[test]
    fn kpi_counts_issues_in_state() {
        let items = [
            with_tasks(open("#1"), 5, 4),
            done("#2"),
            done("#3"),
            open("#4"),
            done("#5"),
        ];
        assert_eq!(kpi_value(&items, IssueState::Closed).value, 3.0);
        assert_eq!(kpi_value(&items, IssueState::Opened).value, 2.0);
        assert_eq!(kpi_value(&items, IssueState::All).value, 5.0);
        let e = kpi_value(&items, IssueState::Closed);
        assert_eq!(e.aggregation, Aggregation::Sum);
        assert_eq!(e.unit, "issues");
        assert!(!e.contributions[0].counted);
        assert_eq!(e.contributions[0].note, Some(ContributionNote::NotInState));
        assert_eq!(e.counted().count(), 3);
    }

    #[test]
    fn kpi_resolve_30_issues() {
        // Seed 000: "resolve 30 issues every quarter": closed, start 0, target 30.
        let kpi = Kpi::new("issues", 0.0, 30.0).unwrap();
        let mut items: Vec<_> = (0..40).map(|i| open(&format!("#{i}"))).collect();
        for item in items.iter_mut().take(12) {
            item.done = true;
        }
        let value = kpi_value(&items, IssueState::Closed).value;
        let p = kpi.progress(value).unwrap();
        assert_eq!((p.value, p.percent, p.target_reached), (12.0, 40.0, false));
        for item in items.iter_mut().take(30) {
            item.done = true;
        }
        let p = kpi
            .progress(kpi_value(&items, IssueState::Closed).value)
            .unwrap();
        assert!(p.target_reached);
        assert_eq!(p.percent, 100.0);
    }

    #[test]
    fn kpi_decreasing_open_issues() {
        // Bring open issues down from 10 to 2.
        let kpi = Kpi::new("issues", 10.0, 2.0).unwrap();
        let items: Vec<_> = (0..6).map(|i| open(&format!("#{i}"))).collect();
        let p = kpi
            .progress(kpi_value(&items, IssueState::Opened).value)
            .unwrap();
        assert_eq!(p.percent, 50.0);
        let p = kpi
            .progress(kpi_value(&[], IssueState::Opened).value)
            .unwrap();
        assert_eq!(
            (p.percent_raw, p.percent, p.target_reached),
            (125.0, 100.0, true)
        );
    }

    #[test]
    fn kpi_with_no_issues_is_zero_with_note() {
        let e = kpi_value(&[], IssueState::All);
        assert_eq!((e.value, e.note), (0.0, Some(ExplanationNote::NoItems)));
    }
}
