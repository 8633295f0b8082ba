//! "How is this calculated?": each bar's numbers in words, from the same
//! figures the engine computed them from, so a person can check every one
//! by hand: the value (items, children or the check-in behind it), the
//! expected progress (elapsed time over the duration) and the status rule.

use std::collections::HashMap;

use cairn_core::goals::{
    AT_RISK_GAP_POINTS, Aggregation, Contribution, ContributionNote, Explanation, ExplanationNote,
    Measure, Schedule, Status, status_for,
};
use cairn_engine::goals::Explain;
use cairn_store::goals::{CheckInRecord, Okr};
use chrono::{DateTime, Utc};

use super::common::{number, status_label, when, whole_percent};

/// The panel under a bar.
pub(crate) struct ExplainPanel {
    pub okr_id: i64,
    /// How the value is made, one sentence each.
    pub value: Vec<String>,
    /// A roll-up's children, each with what it adds.
    pub parts: Vec<PartRow>,
    /// Expected progress as elapsed time over the duration.
    pub expected: String,
    /// The status rule and where this OKR stands in it.
    pub status: String,
}

/// One child of a roll-up in the panel.
pub(crate) struct PartRow {
    pub id: i64,
    pub title: String,
    pub weight: String,
    /// The weight's share of the total weight.
    pub share: String,
    pub percent: String,
    /// Percentage points it adds to the parent.
    pub adds: String,
}

/// Words for one linked item's part in the number, beyond its figures.
pub(crate) fn contribution_note(c: &Contribution, item_done: bool) -> String {
    let Some(note) = c.note else {
        return String::new();
    };
    match note {
        ContributionNote::Tasks if !item_done && c.amount > 0.0 && c.done_amount >= c.amount => {
            format!(
                "open, but all {} of its tasks are done: counts as done",
                number(c.amount)
            )
        }
        ContributionNote::Tasks => format!(
            "counted as its tasks: {} of {} done",
            number(c.done_amount),
            number(c.amount)
        ),
        ContributionNote::SingleUnit => "no tasks: counts as one unit".to_owned(),
        ContributionNote::ClosedCountsComplete => {
            "closed with open tasks: counts as complete".to_owned()
        }
        ContributionNote::NotInState => "not in the state this key result counts".to_owned(),
        ContributionNote::NotCompleted => "not done: only completed tickets count".to_owned(),
        ContributionNote::NoValue => "no value for this metric: adds nothing".to_owned(),
        ContributionNote::NoTimeTracked => {
            "no time logged or remaining: left out of the average".to_owned()
        }
    }
}

/// The items table's total line: the explanation's sums.
pub(crate) fn items_total(e: &Explanation) -> String {
    let counted = e.counted().count();
    let all = e.contributions.len();
    let items = if all == 1 { "item" } else { "items" };
    match e.aggregation {
        Aggregation::Ratio => format!(
            "{} of {} {} done = {} ({counted} of {all} {items} counted)",
            number(e.numerator),
            number(e.denominator),
            e.unit,
            whole_percent(e.value)
        ),
        Aggregation::Sum => format!(
            "{} {} ({counted} of {all} {items} counted)",
            number(e.numerator),
            e.unit
        ),
        Aggregation::Average => format!(
            "{} ÷ {} = {} ({counted} of {all} {items} averaged)",
            number(e.numerator),
            number(e.denominator),
            number(e.value)
        ),
    }
}

impl ExplainPanel {
    /// The panel of `okr` from its explanation. `filter` is the data link's
    /// filter in words; `titles` names the children of a roll-up; `author`
    /// names a check-in's author.
    pub fn new(
        okr: &Okr,
        explain: &Explain,
        filter: Option<&str>,
        titles: &HashMap<i64, String>,
        author: &dyn Fn(i64) -> String,
    ) -> ExplainPanel {
        let measure = &okr.fields.measure;
        let mut value = Vec::new();
        let mut parts = Vec::new();
        match explain {
            Explain::DataLink { explanation } => {
                value.extend(data_link_lines(explanation, filter));
            }
            Explain::RollUp {
                children,
                total_weight,
            } => {
                if children.is_empty() || *total_weight <= 0.0 {
                    value.push(
                        "The average of its children's progress, weighted: no child counts yet \
                         (none, none with progress, or every weight 0), so 0 %."
                            .to_owned(),
                    );
                } else {
                    let sum: f64 = children.iter().map(|p| p.weight * p.percent).sum();
                    value.push(format!(
                        "The average of its children's progress, weighted: Σ (weight × progress) ÷ \
                         Σ weight = {} ÷ {} = {}.",
                        number(sum),
                        number(*total_weight),
                        whole_percent(sum / total_weight)
                    ));
                }
                parts = children
                    .iter()
                    .map(|p| PartRow {
                        id: p.id,
                        title: titles
                            .get(&p.id)
                            .cloned()
                            .unwrap_or_else(|| format!("OKR {}", p.id)),
                        weight: number(p.weight),
                        share: whole_percent(p.share * 100.0),
                        percent: whole_percent(p.percent),
                        adds: format!("{} points", number(p.contribution)),
                    })
                    .collect();
            }
            Explain::CheckIn { check_in } => value.push(check_in_line(check_in.as_ref(), author)),
            Explain::Nothing => {
                value.push("No data source is connected yet, so nothing is measured: 0.".to_owned())
            }
        }
        if let (Measure::Kpi(kpi), Some(p)) = (measure, okr.progress.as_ref()) {
            value.push(format!(
                "As a share of the way from the start value to the target: ({} − {}) ÷ ({} − {}) = {}.",
                number(p.value),
                number(kpi.start_value()),
                number(kpi.target_value()),
                number(kpi.start_value()),
                whole_percent(p.percent)
            ));
        }
        let (expected, status) = match okr.progress.as_ref() {
            Some(p) => (
                expected_line(okr, p.computed_at),
                status_line(okr, p.percent, p.expected_percent, p.status, p.computed_at),
            ),
            None => (
                expected_line(okr, Utc::now()),
                "No status yet: nothing is measured.".to_owned(),
            ),
        };
        ExplainPanel {
            okr_id: okr.id,
            value,
            parts,
            expected,
            status,
        }
    }
}

fn data_link_lines(e: &Explanation, filter: Option<&str>) -> Vec<String> {
    let mut lines = Vec::new();
    let read = e.contributions.len();
    let counted = e.counted().count();
    let items = if read == 1 { "item" } else { "items" };
    let filter = filter.map(|f| format!(" ({f})")).unwrap_or_default();
    lines.push(format!(
        "From the {read} {items} its data link reads{filter}; {counted} of them count."
    ));
    match e.note {
        Some(ExplanationNote::NoItems) => {
            lines.push("The link matches no items, so the value is 0.".to_owned())
        }
        Some(ExplanationNote::NothingToMeasure) => lines.push(
            "None of the items has anything to measure for this metric, so the value is 0."
                .to_owned(),
        ),
        None => lines.push(match e.aggregation {
            Aggregation::Ratio => format!(
                "Done {unit} over all {unit}: {} of {} = {}.",
                number(e.numerator),
                number(e.denominator),
                whole_percent(e.value),
                unit = e.unit
            ),
            Aggregation::Sum => format!(
                "The sum of the counted items: {} {}.",
                number(e.numerator),
                e.unit
            ),
            Aggregation::Average => format!(
                "The average of the counted items: {} ÷ {} = {}.",
                number(e.numerator),
                number(e.denominator),
                number(e.value)
            ),
        }),
    }
    lines
}

fn check_in_line(check_in: Option<&CheckInRecord>, author: &dyn Fn(i64) -> String) -> String {
    match check_in {
        Some(c) => format!(
            "The latest check-in: {} by {} on {}.",
            number(c.value),
            author(c.author_id),
            when(c.created_at)
        ),
        None => "No check-in yet, so nothing is measured: 0.".to_owned(),
    }
}

fn days(hours: i64) -> String {
    let d = hours as f64 / 24.0;
    let text = format!("{d:.1}");
    let text = text.trim_end_matches(".0");
    if text == "1" {
        "1 day".to_owned()
    } else {
        format!("{text} days")
    }
}

/// Expected progress at `at` as elapsed time over the duration, with the
/// dates (the schedule runs from the start of the start date to the end of
/// the due date).
fn expected_line(okr: &Okr, at: DateTime<Utc>) -> String {
    let f = &okr.fields;
    let Ok(schedule) = Schedule::new(f.starts_on, f.due_on) else {
        return format!(
            "No expected progress: the due date {} is before the start date {}.",
            f.due_on, f.starts_on
        );
    };
    let now = at.naive_utc();
    let total = (schedule.ends_at() - schedule.starts_at()).num_hours();
    if now <= schedule.starts_at() {
        return format!("Expected 0 %: it starts on {}.", f.starts_on);
    }
    if now >= schedule.ends_at() {
        return format!(
            "Expected 100 %: its {} from {} to {} are over.",
            days(total),
            f.starts_on,
            f.due_on
        );
    }
    let elapsed = (now - schedule.starts_at()).num_hours();
    format!(
        "Expected {}: {} of the {} from {} to {} have passed (at {}).",
        whole_percent(schedule.expected_percent(now)),
        days(elapsed),
        days(total),
        f.starts_on,
        f.due_on,
        when(at)
    )
}

/// The status rule, where this OKR stands in it, and an override if a
/// check-in set the status by hand.
fn status_line(okr: &Okr, percent: f64, expected: f64, shown: Status, at: DateTime<Utc>) -> String {
    let started = at.date_naive() >= okr.fields.starts_on;
    let computed = status_for(percent, percent >= 100.0, expected, started);
    let rule = format!(
        "On track at or above the expected progress, behind up to {} points below it, at risk \
         further below.",
        number(AT_RISK_GAP_POINTS)
    );
    let here = match computed {
        Status::Done => "The target is reached: done.".to_owned(),
        Status::NotStarted => "Before its start date: not started.".to_owned(),
        _ => {
            let gap = expected - percent;
            if gap <= 0.0 {
                format!(
                    "{} is at or above the expected {}: on track.",
                    whole_percent(percent),
                    whole_percent(expected)
                )
            } else {
                format!(
                    "{} is {} points below the expected {}: {}.",
                    whole_percent(percent),
                    number((gap * 10.0).round() / 10.0),
                    whole_percent(expected),
                    status_label(computed).to_lowercase()
                )
            }
        }
    };
    let overridden = if computed != shown {
        format!(
            " A check-in set the status to {} by hand.",
            status_label(shown).to_lowercase()
        )
    } else {
        String::new()
    };
    format!("{rule} {here}{overridden}")
}
