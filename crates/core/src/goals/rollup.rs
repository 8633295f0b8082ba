//! An objective's progress from its children: a weighted average.

use serde::{Deserialize, Serialize};

use super::error::{GoalError, finite};
use super::measure::Progress;

/// A child's weight unless set otherwise: equal weights by default.
pub const DEFAULT_WEIGHT: f64 = 1.0;

/// One child (key result or aligned objective) as the roll-up sees it.
/// `Id` is whatever the caller identifies OKRs by.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RollupChild<Id> {
    /// The child's id, echoed in the parts.
    pub id: Id,
    /// The child's clamped percent ([`Progress::percent`]); values outside
    /// 0..=100 are clamped, so an overshooting KPI cannot hide a lagging
    /// sibling.
    pub percent: f64,
    /// The child's weight, zero or more.
    pub weight: f64,
    /// Whether the child counts towards its parent at all.
    pub contributes: bool,
}

impl<Id> RollupChild<Id> {
    /// A contributing child with the default weight.
    pub fn new(id: Id, percent: f64) -> RollupChild<Id> {
        RollupChild {
            id,
            percent,
            weight: DEFAULT_WEIGHT,
            contributes: true,
        }
    }

    /// A contributing child with the default weight at `progress`'s clamped
    /// percent.
    pub fn from_progress(id: Id, progress: &Progress) -> RollupChild<Id> {
        RollupChild::new(id, progress.percent)
    }
}

/// One child's part in a roll-up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RollupPart<Id> {
    /// The child's id.
    pub id: Id,
    /// The child's percent, clamped to 0..=100.
    pub percent: f64,
    /// The weight used: the child's weight, or 0 when it does not contribute.
    pub weight: f64,
    /// The weight's share of the total weight, 0..=1 (0 when the total is 0).
    pub share: f64,
    /// Percentage points the child adds to the parent (share × percent).
    pub contribution: f64,
}

stable_names! {
    /// Why a roll-up's progress is a default rather than an average.
    pub enum RollupNote {
        /// The objective has no children: 0 %.
        NoChildren => "no_children",
        /// No child contributes, or all contributing weights are 0: 0 %.
        NoContributingChildren => "no_contributing_children",
    }
}

/// An objective's rolled-up progress and the children behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rollup<Id> {
    /// The weighted average as percent-complete progress; the target is
    /// reached when every child with weight above 0 is at 100 %.
    pub progress: Progress,
    /// Σ weight over contributing children.
    pub total_weight: f64,
    /// Every child, in input order.
    pub parts: Vec<RollupPart<Id>>,
    /// Set when the progress is a default.
    pub note: Option<RollupNote>,
}

/// Rolls children up: Σ(weight × percent) / Σ weight over contributing
/// children. Refuses a negative or non-finite weight and a non-finite
/// percent (naming the field). A zero total weight (no children, none
/// contributing, or all weights 0) gives 0 %, not reached, with a note.
pub fn roll_up<Id: Clone>(children: &[RollupChild<Id>]) -> Result<Rollup<Id>, GoalError> {
    let mut weighted = 0.0;
    let mut total_weight = 0.0;
    let mut used = Vec::with_capacity(children.len());
    for child in children {
        let weight = finite("weight", child.weight)?;
        if weight < 0.0 {
            return Err(GoalError::NegativeWeight { weight });
        }
        let percent = finite("percent", child.percent)?.clamp(0.0, 100.0);
        let weight = if child.contributes { weight } else { 0.0 };
        weighted += weight * percent;
        total_weight += weight;
        used.push((percent, weight));
    }
    let parts = children
        .iter()
        .zip(used)
        .map(|(child, (percent, weight))| {
            let share = if total_weight > 0.0 {
                weight / total_weight
            } else {
                0.0
            };
            RollupPart {
                id: child.id.clone(),
                percent,
                weight,
                share,
                contribution: share * percent,
            }
        })
        .collect();
    let note = if children.is_empty() {
        Some(RollupNote::NoChildren)
    } else if total_weight <= 0.0 {
        Some(RollupNote::NoContributingChildren)
    } else {
        None
    };
    Ok(Rollup {
        progress: Progress::from_ratio(weighted, total_weight * 100.0),
        total_weight,
        parts,
        note,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn child(id: u32, percent: f64, weight: f64) -> RollupChild<u32> {
        RollupChild {
            weight,
            ..RollupChild::new(id, percent)
        }
    }

    #[test]
    fn equal_weights_by_default() {
        let r = roll_up(&[RollupChild::new(1, 20.0), RollupChild::new(2, 60.0)]).unwrap();
        assert_eq!(r.progress.percent, 40.0);
        assert_eq!(r.total_weight, 2.0);
        assert_eq!(r.parts[0].share, 0.5);
        assert_eq!(r.parts[1].contribution, 30.0);
        assert_eq!(r.note, None);
        assert!(!r.progress.target_reached);
    }

    #[test]
    fn weighted_average() {
        let r = roll_up(&[child(1, 100.0, 3.0), child(2, 0.0, 1.0)]).unwrap();
        assert_eq!(r.progress.percent, 75.0);
        assert_eq!(r.parts[0].share, 0.75);
        let sum: f64 = r.parts.iter().map(|p| p.contribution).sum();
        assert_eq!(sum, r.progress.percent);
    }

    #[test]
    fn non_contributing_child_is_listed_with_zero_weight() {
        let mut c = RollupChild::new(2, 0.0);
        c.contributes = false;
        let r = roll_up(&[RollupChild::new(1, 80.0), c]).unwrap();
        assert_eq!(r.progress.percent, 80.0);
        assert_eq!(r.parts.len(), 2);
        assert_eq!((r.parts[1].weight, r.parts[1].share), (0.0, 0.0));
    }

    #[test]
    fn zero_weight_child_does_not_count() {
        let r = roll_up(&[child(1, 50.0, 1.0), child(2, 0.0, 0.0)]).unwrap();
        assert_eq!(r.progress.percent, 50.0);
    }

    #[test]
    fn zero_total_weight_is_zero_with_note() {
        let r = roll_up::<u32>(&[]).unwrap();
        assert_eq!(r.progress.percent, 0.0);
        assert_eq!(r.note, Some(RollupNote::NoChildren));
        let r = roll_up(&[child(1, 90.0, 0.0)]).unwrap();
        assert_eq!((r.progress.percent, r.total_weight), (0.0, 0.0));
        assert!(!r.progress.target_reached);
        assert_eq!(r.note, Some(RollupNote::NoContributingChildren));
        assert_eq!(r.parts[0].share, 0.0);
    }

    #[test]
    fn done_when_every_weighted_child_is_complete() {
        let r = roll_up(&[
            child(1, 100.0, 2.0),
            child(2, 100.0, 0.5),
            child(3, 10.0, 0.0),
        ])
        .unwrap();
        assert!(r.progress.target_reached);
        assert_eq!(r.progress.percent, 100.0);
    }

    #[test]
    fn child_percents_are_clamped() {
        let r = roll_up(&[RollupChild::new(1, 150.0), RollupChild::new(2, -20.0)]).unwrap();
        assert_eq!(r.progress.percent, 50.0);
        assert_eq!((r.parts[0].percent, r.parts[1].percent), (100.0, 0.0));
    }

    #[test]
    fn bad_weights_and_percents_are_refused() {
        assert_eq!(
            roll_up(&[child(1, 10.0, -1.0)]),
            Err(GoalError::NegativeWeight { weight: -1.0 })
        );
        assert_eq!(
            roll_up(&[child(1, 10.0, f64::NAN)]),
            Err(GoalError::NotFinite { field: "weight" })
        );
        assert_eq!(
            roll_up(&[child(1, f64::INFINITY, 1.0)]),
            Err(GoalError::NotFinite { field: "percent" })
        );
    }

    #[test]
    fn from_progress_uses_clamped_percent() {
        let p = crate::goals::Kpi::new("x", 0.0, 10.0)
            .unwrap()
            .progress(15.0)
            .unwrap();
        let c = RollupChild::from_progress("kr", &p);
        assert_eq!((c.percent, c.weight, c.contributes), (100.0, 1.0, true));
    }

    #[test]
    fn nested_roll_ups_compose() {
        // Objective A has key results at 20 and 40 (-> 30); objective B
        // aligns A and a key result at 90, A weighted twice.
        let a = roll_up(&[RollupChild::new("kr1", 20.0), RollupChild::new("kr2", 40.0)]).unwrap();
        let b = roll_up(&[
            RollupChild {
                weight: 2.0,
                ..RollupChild::from_progress("a", &a.progress)
            },
            RollupChild::new("kr3", 90.0),
        ])
        .unwrap();
        assert_eq!(a.progress.percent, 30.0);
        assert_eq!(b.progress.percent, 50.0);
    }

    #[test]
    fn note_names() {
        for n in RollupNote::ALL {
            assert_eq!(RollupNote::parse(n.as_str()), Some(*n));
        }
    }
}
