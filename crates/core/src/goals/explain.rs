//! The "why" behind every computed number: which items count, how much each
//! adds to the numerator and the denominator.

use serde::{Deserialize, Serialize};

stable_names! {
    /// How an [`Explanation`]'s contributions combine into its value.
    pub enum Aggregation {
        /// value = 100 × Σ numerator / Σ denominator, a percent (percent complete).
        Ratio => "ratio",
        /// value = Σ numerator; denominators are 0 (KPI counts and totals).
        Sum => "sum",
        /// value = Σ numerator / Σ denominator, each averaged item adding 1 to
        /// the denominator (Jira's progress KPI).
        Average => "average",
    }
}

stable_names! {
    /// Why a computation's value is a default rather than a measurement.
    pub enum ExplanationNote {
        /// The link matches no items: value 0.
        NoItems => "no_items",
        /// There are items, but nothing to measure (all totals zero, no
        /// ticket with time tracked): value 0.
        NothingToMeasure => "nothing_to_measure",
    }
}

stable_names! {
    /// How one item was counted, for the explain view.
    pub enum ContributionNote {
        /// A GitLab issue counted as its tasks.
        Tasks => "tasks",
        /// A GitLab issue without tasks counted as one unit.
        SingleUnit => "single_unit",
        /// A closed GitLab issue with open tasks, counted complete anyway.
        ClosedCountsComplete => "closed_counts_complete",
        /// Not in the GitLab KPI's chosen state (open, closed), so not counted.
        NotInState => "not_in_state",
        /// Not done while the Jira KPI counts completed tickets only.
        NotCompleted => "not_completed",
        /// The item has no value for the metric (no estimate, no points, no
        /// such custom field), so it adds nothing.
        NoValue => "no_value",
        /// Neither time logged nor remaining, so the ticket has no progress
        /// and is left out of the average.
        NoTimeTracked => "no_time_tracked",
    }
}

/// One item's part in a computed number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contribution {
    /// The item's key (`group/project#12`, `AE-786`).
    pub key: String,
    /// The units or amount the item has for the metric (tasks, 1 ticket,
    /// hours, points), whether or not it counts.
    pub amount: f64,
    /// The part of `amount` that is done (all of it for a done item, its
    /// completed tasks for an open GitLab issue; logged hours for progress).
    pub done_amount: f64,
    /// What the item adds to the explanation's numerator.
    pub numerator: f64,
    /// What the item adds to the explanation's denominator.
    pub denominator: f64,
    /// Whether the item changes the value at all.
    pub counted: bool,
    /// How the item was counted, when that needs saying.
    pub note: Option<ContributionNote>,
}

/// A computed value with the items behind it. Contributions are in the
/// order of the items given; their numerators and denominators add up to the
/// explanation's (up to floating-point rounding when time is converted from
/// seconds to hours: totals are summed in whole seconds and converted once).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    /// How contributions combine.
    pub aggregation: Aggregation,
    /// The unit of amounts, numerator and (for sums) the value: `units`,
    /// `issues`, `tickets`, `hours`, `points`, `%` or a custom field id.
    pub unit: String,
    /// Σ numerator, exact.
    pub numerator: f64,
    /// Σ denominator, exact (0 for sums).
    pub denominator: f64,
    /// The result: a percent for ratios, the KPI value otherwise.
    pub value: f64,
    /// Set when the value is a default (no items, nothing to measure).
    pub note: Option<ExplanationNote>,
    /// Every item, counted or not, in input order.
    pub contributions: Vec<Contribution>,
}

impl Explanation {
    /// The items that change the value.
    pub fn counted(&self) -> impl Iterator<Item = &Contribution> {
        self.contributions.iter().filter(|c| c.counted)
    }
}

/// Collects contributions in base units (seconds, whole units) and converts
/// once at the end so totals stay exact.
pub(crate) struct Builder {
    aggregation: Aggregation,
    unit: String,
    /// Base units per displayed unit of `amount` and `done_amount`.
    amount_scale: f64,
    /// Base units per displayed unit of numerator and denominator.
    ratio_scale: f64,
    numerator: f64,
    denominator: f64,
    contributions: Vec<Contribution>,
}

/// One item's part in base units, before conversion.
pub(crate) struct Part<'a> {
    pub key: &'a str,
    pub amount: f64,
    pub done_amount: f64,
    pub numerator: f64,
    pub denominator: f64,
    pub counted: bool,
    pub note: Option<ContributionNote>,
}

impl Builder {
    pub(crate) fn new(
        aggregation: Aggregation,
        unit: impl Into<String>,
        amount_scale: f64,
        ratio_scale: f64,
        capacity: usize,
    ) -> Builder {
        Builder {
            aggregation,
            unit: unit.into(),
            amount_scale,
            ratio_scale,
            numerator: 0.0,
            denominator: 0.0,
            contributions: Vec::with_capacity(capacity),
        }
    }

    pub(crate) fn push(&mut self, part: Part<'_>) {
        self.numerator += part.numerator;
        self.denominator += part.denominator;
        self.contributions.push(Contribution {
            key: part.key.to_owned(),
            amount: part.amount / self.amount_scale,
            done_amount: part.done_amount / self.amount_scale,
            numerator: part.numerator / self.ratio_scale,
            denominator: part.denominator / self.ratio_scale,
            counted: part.counted,
            note: part.note,
        });
    }

    pub(crate) fn finish(self) -> Explanation {
        let empty = self.contributions.is_empty();
        let (value, nothing) = match self.aggregation {
            Aggregation::Ratio if self.denominator > 0.0 => {
                (self.numerator / self.denominator * 100.0, false)
            }
            Aggregation::Average if self.denominator > 0.0 => {
                (self.numerator / self.denominator, false)
            }
            Aggregation::Ratio | Aggregation::Average => (0.0, true),
            Aggregation::Sum => (self.numerator / self.ratio_scale, false),
        };
        let note = if empty {
            Some(ExplanationNote::NoItems)
        } else if nothing {
            Some(ExplanationNote::NothingToMeasure)
        } else {
            None
        };
        Explanation {
            aggregation: self.aggregation,
            unit: self.unit,
            numerator: self.numerator / self.ratio_scale,
            denominator: self.denominator / self.ratio_scale,
            value,
            note,
            contributions: self.contributions,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(key: &str, num: f64, den: f64) -> Part<'_> {
        Part {
            key,
            amount: den,
            done_amount: num,
            numerator: num,
            denominator: den,
            counted: true,
            note: None,
        }
    }

    #[test]
    fn names_round_trip() {
        for a in Aggregation::ALL {
            assert_eq!(Aggregation::parse(a.as_str()), Some(*a));
        }
        for n in ExplanationNote::ALL {
            assert_eq!(ExplanationNote::parse(n.as_str()), Some(*n));
        }
        for n in ContributionNote::ALL {
            assert_eq!(ContributionNote::parse(n.as_str()), Some(*n));
        }
        assert_eq!(ExplanationNote::NoItems.as_str(), "no_items");
    }

    #[test]
    fn ratio_of_nothing_is_zero_with_note() {
        let e = Builder::new(Aggregation::Ratio, "units", 1.0, 1.0, 0).finish();
        assert_eq!(e.value, 0.0);
        assert_eq!(e.note, Some(ExplanationNote::NoItems));
        let mut b = Builder::new(Aggregation::Ratio, "hours", 3600.0, 3600.0, 1);
        b.push(part("a", 0.0, 0.0));
        let e = b.finish();
        assert_eq!(e.value, 0.0);
        assert_eq!(e.note, Some(ExplanationNote::NothingToMeasure));
    }

    #[test]
    fn scales_convert_once() {
        let mut b = Builder::new(Aggregation::Ratio, "hours", 3600.0, 3600.0, 2);
        b.push(part("a", 1200.0, 1200.0));
        b.push(part("b", 0.0, 2400.0));
        let e = b.finish();
        assert_eq!(e.numerator, 1200.0 / 3600.0);
        assert_eq!(e.denominator, 1.0);
        assert_eq!(e.value, 1200.0 / 3600.0 * 100.0);
        assert_eq!(e.contributions[1].amount, 2400.0 / 3600.0);
        assert_eq!(e.counted().count(), 2);
    }

    #[test]
    fn sum_and_average() {
        let mut b = Builder::new(Aggregation::Sum, "hours", 3600.0, 3600.0, 1);
        b.push(Part {
            denominator: 0.0,
            ..part("a", 7200.0, 7200.0)
        });
        let e = b.finish();
        assert_eq!((e.value, e.denominator, e.note), (2.0, 0.0, None));

        let mut b = Builder::new(Aggregation::Average, "%", 3600.0, 1.0, 2);
        b.push(part("a", 50.0, 1.0));
        b.push(part("b", 100.0, 1.0));
        assert_eq!(b.finish().value, 75.0);
        let e = Builder::new(Aggregation::Sum, "tickets", 1.0, 1.0, 0).finish();
        assert_eq!((e.value, e.note), (0.0, Some(ExplanationNote::NoItems)));
    }
}
