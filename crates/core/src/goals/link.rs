//! A data link's rule (what it measures over its items) and the one call
//! that turns items into progress with its explanation.

use serde::{Deserialize, Serialize};

use super::error::GoalError;
use super::explain::Explanation;
use super::gitlab::{self, IssueState};
use super::item::ItemSnapshot;
use super::jira::{self, JiraMetric, KpiScope};
use super::measure::{Measure, MeasureMode, Progress};
use crate::integrations::IntegrationKind;

/// What a data link measures over the items its query selects. The query
/// itself (GitLab filter, JQL) is the connect crate's business; this is the
/// part the progress rules need. Serialised with a `tracker` tag:
/// `{"tracker":"gitlab","state":"closed"}`,
/// `{"tracker":"jira","metric":"story_points","scope":"completed_only"}`.
///
/// KPI-only settings (`state`, `scope`) are required with a KPI measure and
/// refused with percent complete, so a stored link never carries a setting
/// that silently does nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "tracker", rename_all = "snake_case")]
pub enum LinkRule {
    /// GitLab issues: percent complete by units, or a KPI counting issues.
    Gitlab {
        /// Which issues a KPI counts; KPI only.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        state: Option<IssueState>,
    },
    /// Jira tickets matched by JQL, measured by a metric.
    Jira {
        /// What is measured.
        metric: JiraMetric,
        /// Whether a KPI counts completed tickets only or all; KPI only.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        scope: Option<KpiScope>,
    },
}

impl LinkRule {
    /// The tracker the link reads from.
    pub fn tracker(&self) -> IntegrationKind {
        match self {
            LinkRule::Gitlab { .. } => IntegrationKind::Gitlab,
            LinkRule::Jira { .. } => IntegrationKind::Jira,
        }
    }

    /// Checks the rule against the OKR's measure mode: a KPI-only metric
    /// with percent complete, a missing KPI setting or a superfluous one are
    /// refused, each error naming its field.
    pub fn validate(&self, mode: MeasureMode) -> Result<(), GoalError> {
        let (field, present) = match self {
            LinkRule::Gitlab { state } => ("state", state.is_some()),
            LinkRule::Jira { metric, scope } => {
                metric.check_mode(mode)?;
                ("scope", scope.is_some())
            }
        };
        match (mode, present) {
            (MeasureMode::Kpi, false) => Err(GoalError::SettingRequired {
                field,
                mode: mode.as_str(),
            }),
            (MeasureMode::PercentComplete, true) => Err(GoalError::SettingNotAllowed {
                field,
                mode: mode.as_str(),
            }),
            _ => Ok(()),
        }
    }

    /// The explanation for `items` under `mode`: for percent complete its
    /// value is the percent; for a KPI, the KPI's value.
    pub fn explain(
        &self,
        mode: MeasureMode,
        items: &[ItemSnapshot],
    ) -> Result<Explanation, GoalError> {
        self.validate(mode)?;
        Ok(match (self, mode) {
            (LinkRule::Gitlab { .. }, MeasureMode::PercentComplete) => {
                gitlab::percent_complete(items)
            }
            (LinkRule::Gitlab { state }, MeasureMode::Kpi) => {
                gitlab::kpi_value(items, state.unwrap_or(IssueState::All))
            }
            (LinkRule::Jira { metric, .. }, MeasureMode::PercentComplete) => {
                jira::percent_complete(items, metric)?
            }
            (LinkRule::Jira { metric, scope }, MeasureMode::Kpi) => {
                jira::kpi_value(items, metric, scope.unwrap_or(KpiScope::All))
            }
        })
    }
}

/// Progress computed from a data link, with the items behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Where the OKR stands.
    pub progress: Progress,
    /// Which items make up the number, and how.
    pub explanation: Explanation,
}

/// Items to progress in one call: validates `rule` against `measure`,
/// computes the explanation and applies the measure's rules (percent complete
/// from the exact ratio; a KPI's value through start and target).
pub fn evaluate(
    measure: &Measure,
    rule: &LinkRule,
    items: &[ItemSnapshot],
) -> Result<Evaluation, GoalError> {
    let explanation = rule.explain(measure.mode(), items)?;
    let progress = match measure {
        Measure::PercentComplete => {
            Progress::from_ratio(explanation.numerator, explanation.denominator)
        }
        Measure::Kpi(kpi) => kpi.progress(explanation.value)?,
    };
    Ok(Evaluation {
        progress,
        explanation,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::goals::item::fixtures::*;
    use crate::goals::measure::Kpi;

    fn gitlab_kpi(state: IssueState) -> LinkRule {
        LinkRule::Gitlab { state: Some(state) }
    }

    fn jira_pc(metric: JiraMetric) -> LinkRule {
        LinkRule::Jira {
            metric,
            scope: None,
        }
    }

    fn jira_kpi(metric: JiraMetric, scope: KpiScope) -> LinkRule {
        LinkRule::Jira {
            metric,
            scope: Some(scope),
        }
    }

    #[test]
    fn tracker_of_rules() {
        assert_eq!(
            LinkRule::Gitlab { state: None }.tracker(),
            IntegrationKind::Gitlab
        );
        assert_eq!(jira_pc(JiraMetric::Count).tracker(), IntegrationKind::Jira);
    }

    #[test]
    fn validation_of_kpi_only_settings() {
        let pc = MeasureMode::PercentComplete;
        let kpi = MeasureMode::Kpi;
        assert_eq!(LinkRule::Gitlab { state: None }.validate(pc), Ok(()));
        assert_eq!(gitlab_kpi(IssueState::Closed).validate(kpi), Ok(()));
        assert_eq!(
            LinkRule::Gitlab { state: None }.validate(kpi),
            Err(GoalError::SettingRequired {
                field: "state",
                mode: "kpi"
            })
        );
        assert_eq!(
            gitlab_kpi(IssueState::Opened).validate(pc),
            Err(GoalError::SettingNotAllowed {
                field: "state",
                mode: "percent_complete"
            })
        );
        assert_eq!(jira_pc(JiraMetric::Count).validate(pc), Ok(()));
        assert_eq!(
            jira_pc(JiraMetric::Count)
                .validate(kpi)
                .unwrap_err()
                .field(),
            "scope"
        );
        assert_eq!(
            jira_kpi(JiraMetric::Count, KpiScope::All)
                .validate(pc)
                .unwrap_err()
                .field(),
            "scope"
        );
    }

    #[test]
    fn kpi_only_metric_with_percent_complete_is_refused_naming_it() {
        for metric in [JiraMetric::RemainingEstimate, JiraMetric::Progress] {
            let err =
                evaluate(&Measure::PercentComplete, &jira_pc(metric.clone()), &[]).unwrap_err();
            assert_eq!(
                err,
                GoalError::MetricRequiresKpi {
                    metric: metric.to_string()
                }
            );
            assert_eq!(err.field(), "metric");
        }
        // The same metrics are fine as KPIs.
        let kpi = Measure::Kpi(Kpi::new("hours", 100.0, 0.0).unwrap());
        let rule = jira_kpi(JiraMetric::RemainingEstimate, KpiScope::All);
        assert!(evaluate(&kpi, &rule, &[]).is_ok());
    }

    #[test]
    fn evaluate_gitlab_percent_complete() {
        let items = [with_tasks(open("#1"), 2, 1), with_tasks(open("#2"), 2, 0)];
        let ev = evaluate(
            &Measure::PercentComplete,
            &LinkRule::Gitlab { state: None },
            &items,
        )
        .unwrap();
        assert_eq!(ev.progress.percent, 25.0);
        assert_eq!(ev.progress.value, 25.0);
        assert_eq!(ev.explanation.contributions.len(), 2);
    }

    #[test]
    fn evaluate_gitlab_kpi() {
        let kpi = Measure::Kpi(Kpi::new("issues", 0.0, 4.0).unwrap());
        let items = [done("#1"), open("#2"), done("#3")];
        let ev = evaluate(&kpi, &gitlab_kpi(IssueState::Closed), &items).unwrap();
        assert_eq!((ev.progress.value, ev.progress.percent), (2.0, 50.0));
        let ev = evaluate(&kpi, &gitlab_kpi(IssueState::All), &items).unwrap();
        assert_eq!(ev.progress.value, 3.0);
    }

    #[test]
    fn evaluate_jira_27_percent() {
        let mut items: Vec<_> = (0..11).map(|i| open(&format!("AE-{i}"))).collect();
        for item in items.iter_mut().take(3) {
            item.done = true;
        }
        let ev = evaluate(
            &Measure::PercentComplete,
            &jira_pc(JiraMetric::Count),
            &items,
        )
        .unwrap();
        assert_eq!(ev.progress.display_percent(), 27);
        assert!(!ev.progress.target_reached);
        let done_keys: Vec<_> = ev
            .explanation
            .contributions
            .iter()
            .filter(|c| c.numerator > 0.0)
            .map(|c| c.key.as_str())
            .collect();
        assert_eq!(done_keys, ["AE-0", "AE-1", "AE-2"]);
    }

    #[test]
    fn evaluate_jira_time_percent_reaches_target_when_all_done() {
        let mut a = done("T-1");
        a.time_spent_seconds = Some(1000);
        let mut b = done("T-2");
        b.time_spent_seconds = Some(2000);
        let ev = evaluate(
            &Measure::PercentComplete,
            &jira_pc(JiraMetric::TimeSpent),
            &[a, b],
        )
        .unwrap();
        assert!(ev.progress.target_reached);
        assert_eq!(ev.progress.percent, 100.0);
    }

    #[test]
    fn evaluate_jira_bugs_kpi() {
        let kpi = Measure::Kpi(Kpi::new("bugs", 0.0, 20.0).unwrap());
        let rule = jira_kpi(JiraMetric::Count, KpiScope::CompletedOnly);
        let mut bugs: Vec<_> = (0..60).map(|i| open(&format!("BUG-{i}"))).collect();
        for bug in bugs.iter_mut().take(20) {
            bug.done = true;
        }
        let ev = evaluate(&kpi, &rule, &bugs).unwrap();
        assert!(ev.progress.target_reached);
        assert_eq!(ev.progress.value, 20.0);
    }

    #[test]
    fn evaluate_with_no_items() {
        let ev = evaluate(
            &Measure::PercentComplete,
            &LinkRule::Gitlab { state: None },
            &[],
        )
        .unwrap();
        assert_eq!(ev.progress.percent, 0.0);
        assert!(!ev.progress.target_reached);
        assert_eq!(
            ev.explanation.note,
            Some(crate::goals::ExplanationNote::NoItems)
        );
    }
}
