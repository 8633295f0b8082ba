//! A data link's past progress, reconstructed from its items' own dates, so
//! a key result linked today still shows how it got where it is.
//!
//! What an item's dates can tell, and the honest approximation used for
//! what they cannot:
//!
//! - An item did not exist before its `created_at` (one without a creation
//!   date is taken as always there).
//! - A done item became done at its `done_at` (GitLab `closed_at`, Jira's
//!   status category change); one without it at its last update.
//! - Before its last update an item that was not done yet counts as it
//!   was created: no task completed. Neither GitLab nor Jira says when
//!   each task (checklist item) was ticked, so tasks count from the
//!   item's last update, which is when the last of them can have changed.
//! - Numbers other than done and tasks (time logged, estimates, story
//!   points, custom fields) are taken as they are now: the snapshot has no
//!   history of them.
//!
//! An objective's past is its children's: [`roll_up_history`] rolls up
//! each child's recorded points as they stood at each instant.
//!
//! Everything is a pure function of the snapshots, so reconstructing again
//! from the same items gives the same points.

use chrono::{DateTime, Days, NaiveDate, NaiveTime, Utc};

use super::error::GoalError;
use super::item::ItemSnapshot;
use super::link::{LinkRule, evaluate};
use super::measure::{Measure, Progress};
use super::rollup::{RollupChild, RollupNote, roll_up};
use super::schedule::Schedule;
use super::status::{Assessment, assess};

/// `item` as it stood at `at`, or `None` if it did not exist yet (see the
/// module's rules).
pub fn item_at(item: &ItemSnapshot, at: DateTime<Utc>) -> Option<ItemSnapshot> {
    if item.created_at.is_some_and(|created| created > at) {
        return None;
    }
    if at >= item.updated_at {
        return Some(item.clone());
    }
    let done_since = item.done_at.unwrap_or(item.updated_at);
    if item.done && done_since <= at {
        return Some(item.clone());
    }
    Some(ItemSnapshot {
        done: false,
        tasks_done: 0,
        ..item.clone()
    })
}

/// The items that existed at `at`, each as it stood then.
pub fn items_at(items: &[ItemSnapshot], at: DateTime<Utc>) -> Vec<ItemSnapshot> {
    items.iter().filter_map(|item| item_at(item, at)).collect()
}

/// The instants a history is reconstructed at: the start of `first_day`,
/// then the start of each following day, all strictly before `before` (the
/// first real measurement), so the backfill never stands in for it.
pub fn daily_instants(first_day: NaiveDate, before: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    let mut instants = Vec::new();
    let mut day = first_day;
    loop {
        let at = day.and_time(NaiveTime::MIN).and_utc();
        if at >= before {
            break;
        }
        instants.push(at);
        match day.checked_add_days(Days::new(1)) {
            Some(next) => day = next,
            None => break,
        }
    }
    instants
}

/// One reconstructed point.
#[derive(Debug, Clone, PartialEq)]
pub struct PastPoint {
    /// The instant it describes.
    pub at: DateTime<Utc>,
    /// Progress from the items as they stood then.
    pub progress: Progress,
    /// Expected progress and status at that instant.
    pub assessment: Assessment,
}

/// The link's progress at each of `instants` (ascending), from its items as
/// they stood then, keeping a point only when the value, percent or status
/// differs from the one before (as live progress is recorded). Instants
/// before the first item existed give no point: nothing was there to
/// measure.
pub fn reconstruct(
    measure: &Measure,
    rule: &LinkRule,
    schedule: &Schedule,
    items: &[ItemSnapshot],
    instants: &[DateTime<Utc>],
) -> Result<Vec<PastPoint>, GoalError> {
    let mut points: Vec<PastPoint> = Vec::new();
    for &at in instants {
        let then = items_at(items, at);
        if then.is_empty() {
            continue;
        }
        let progress = evaluate(measure, rule, &then)?.progress;
        let assessment = assess(&progress, schedule, at.naive_utc(), None);
        let same = points.last().is_some_and(|last| {
            last.progress.value == progress.value
                && last.progress.percent == progress.percent
                && last.assessment.status == assessment.status
        });
        if !same {
            points.push(PastPoint {
                at,
                progress,
                assessment,
            });
        }
    }
    Ok(points)
}

/// One child's recorded history, for its parent's.
#[derive(Debug, Clone, PartialEq)]
pub struct ChildHistory<Id> {
    /// The child's id.
    pub id: Id,
    /// Its weight in the parent.
    pub weight: f64,
    /// Whether it counts towards the parent.
    pub contributes: bool,
    /// Its recorded (instant, percent) points, in any order.
    pub points: Vec<(DateTime<Utc>, f64)>,
}

/// A parent's progress at each of `instants` (ascending): the roll-up of
/// each child's latest point at or before it (children with none yet are
/// left out, as a child without progress is today), keeping a point only
/// when the percent or status changes. No point where no child had one.
pub fn roll_up_history<Id: Clone>(
    children: &[ChildHistory<Id>],
    schedule: &Schedule,
    instants: &[DateTime<Utc>],
) -> Result<Vec<PastPoint>, GoalError> {
    let mut points: Vec<PastPoint> = Vec::new();
    for &at in instants {
        let then: Vec<RollupChild<Id>> = children
            .iter()
            .filter_map(|child| {
                let (_, percent) = child
                    .points
                    .iter()
                    .filter(|(when, _)| *when <= at)
                    .max_by_key(|(when, _)| *when)?;
                Some(RollupChild {
                    id: child.id.clone(),
                    percent: *percent,
                    weight: child.weight,
                    contributes: child.contributes,
                })
            })
            .collect();
        let rollup = roll_up(&then)?;
        if rollup.note == Some(RollupNote::NoChildren) {
            continue;
        }
        let progress = rollup.progress;
        let assessment = assess(&progress, schedule, at.naive_utc(), None);
        let same = points.last().is_some_and(|last| {
            last.progress.percent == progress.percent && last.assessment.status == assessment.status
        });
        if !same {
            points.push(PastPoint {
                at,
                progress,
                assessment,
            });
        }
    }
    Ok(points)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::goals::IssueState;
    use crate::goals::item::fixtures::*;
    use crate::goals::measure::Kpi;
    use crate::goals::status::Status;
    use chrono::{Duration, TimeZone};

    fn t(day: u32, hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 1, day, hour, 0, 0).unwrap()
    }

    /// Created on `created`, done on `done` (and last changed then).
    fn dated(key: &str, created: u32, done: Option<u32>) -> ItemSnapshot {
        let mut item = match done {
            Some(_) => done_item(key),
            None => open(key),
        };
        item.created_at = Some(t(created, 9));
        item.done_at = done.map(|d| t(d, 15));
        item.updated_at = done.map_or(t(created, 9), |d| t(d, 15));
        item
    }

    fn done_item(key: &str) -> ItemSnapshot {
        done(key)
    }

    fn schedule() -> Schedule {
        Schedule::new(
            NaiveDate::from_ymd_opt(2025, 1, 1).unwrap(),
            NaiveDate::from_ymd_opt(2025, 1, 31).unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn an_item_before_its_creation_is_absent_and_done_only_from_its_done_time() {
        let item = dated("#1", 3, Some(10));
        assert_eq!(item_at(&item, t(3, 8)), None, "not created yet");
        let open_then = item_at(&item, t(5, 0)).unwrap();
        assert!(!open_then.done);
        assert!(item_at(&item, t(10, 15)).unwrap().done, "done at its close");
        assert_eq!(item_at(&item, t(20, 0)).unwrap(), item, "as it is now");
    }

    #[test]
    fn without_dates_an_item_is_always_there_and_done_from_its_last_update() {
        let mut item = done("#1");
        item.updated_at = t(10, 0);
        assert!(!item_at(&item, t(9, 0)).unwrap().done);
        assert!(item_at(&item, t(10, 0)).unwrap().done);
    }

    #[test]
    fn tasks_count_from_the_last_update_of_an_open_item() {
        let mut item = with_tasks(dated("#1", 2, None), 4, 3);
        item.updated_at = t(12, 0);
        assert_eq!(item_at(&item, t(11, 0)).unwrap().tasks_done, 0);
        assert_eq!(item_at(&item, t(12, 0)).unwrap().tasks_done, 3);
    }

    #[test]
    fn daily_instants_stop_before_the_first_measurement() {
        let days = daily_instants(
            NaiveDate::from_ymd_opt(2025, 1, 1).unwrap(),
            t(4, 0) + Duration::seconds(1),
        );
        assert_eq!(days, vec![t(1, 0), t(2, 0), t(3, 0), t(4, 0)]);
        assert!(daily_instants(NaiveDate::from_ymd_opt(2025, 1, 5).unwrap(), t(5, 0)).is_empty());
    }

    #[test]
    fn percent_complete_rises_with_each_close_and_ends_at_today() {
        let items = [
            dated("#1", 1, Some(3)),
            dated("#2", 1, Some(6)),
            dated("#3", 2, None),
            dated("#4", 2, Some(8)),
        ];
        let rule = LinkRule::Gitlab { state: None };
        let instants = daily_instants(NaiveDate::from_ymd_opt(2025, 1, 1).unwrap(), t(10, 12));
        let points = reconstruct(
            &Measure::PercentComplete,
            &rule,
            &schedule(),
            &items,
            &instants,
        )
        .unwrap();
        let percents: Vec<(u32, f64)> = points
            .iter()
            .map(|p| {
                (
                    p.at.format("%d").to_string().parse().unwrap(),
                    p.progress.percent,
                )
            })
            .collect();
        // None before the first creation (day 1, 09:00); closes on 3, 6
        // and 8 are seen the next midnight.
        assert_eq!(
            percents,
            vec![(2, 0.0), (4, 25.0), (7, 50.0), (9, 75.0)],
            "a point only when the number or status changes"
        );
        // The last reconstructed point equals what the items give now.
        let now = evaluate(&Measure::PercentComplete, &rule, &items).unwrap();
        assert_eq!(points.last().unwrap().progress, now.progress);
        // Consistent: each point is what the items as they stood give.
        for p in &points {
            let again =
                evaluate(&Measure::PercentComplete, &rule, &items_at(&items, p.at)).unwrap();
            assert_eq!(again.progress, p.progress);
        }
    }

    #[test]
    fn a_kpi_history_counts_closed_issues_and_carries_the_status_of_its_day() {
        let items = [dated("#1", 1, Some(2)), dated("#2", 1, Some(20))];
        let kpi = Measure::Kpi(Kpi::new("issues", 0.0, 2.0).unwrap());
        let rule = LinkRule::Gitlab {
            state: Some(IssueState::Closed),
        };
        let points = reconstruct(
            &kpi,
            &rule,
            &schedule(),
            &items,
            &daily_instants(NaiveDate::from_ymd_opt(2025, 1, 1).unwrap(), t(25, 0)),
        )
        .unwrap();
        let first = &points[0];
        assert_eq!((first.at, first.progress.value), (t(2, 0), 0.0));
        assert_eq!(
            first.assessment.status,
            Status::Behind,
            "a day in, 3 % was expected"
        );
        let last = points.last().unwrap();
        assert_eq!((last.at, last.progress.value), (t(21, 0), 2.0));
        assert_eq!(last.assessment.status, Status::Done);
        // In between, one issue closed while expected progress rose past
        // 50 %: the status changed with no change in value.
        assert!(
            points
                .iter()
                .any(|p| p.progress.value == 1.0 && p.assessment.status == Status::Behind)
        );
    }

    #[test]
    fn a_parent_rolls_up_each_childs_point_of_the_time() {
        let children = [
            ChildHistory {
                id: 1,
                weight: 1.0,
                contributes: true,
                points: vec![(t(2, 0), 0.0), (t(5, 0), 50.0), (t(9, 0), 100.0)],
            },
            ChildHistory {
                id: 2,
                weight: 3.0,
                contributes: true,
                points: vec![(t(4, 0), 20.0)],
            },
        ];
        let instants = [t(1, 0), t(2, 0), t(4, 0), t(5, 0), t(9, 0)];
        let points = roll_up_history(&children, &schedule(), &instants).unwrap();
        let percents: Vec<(DateTime<Utc>, f64)> = points
            .iter()
            .map(|p| (p.at, (p.progress.percent * 1000.0).round() / 1000.0))
            .collect();
        // Only child 1; then (0 + 3 × 20) / 4, (50 + 60) / 4, (100 + 60) / 4.
        assert_eq!(
            percents,
            vec![
                (t(2, 0), 0.0),
                (t(4, 0), 15.0),
                (t(5, 0), 27.5),
                (t(9, 0), 40.0)
            ]
        );
    }

    #[test]
    fn no_point_before_any_item_existed() {
        let items = [dated("#1", 5, None)];
        let points = reconstruct(
            &Measure::PercentComplete,
            &LinkRule::Gitlab { state: None },
            &schedule(),
            &items,
            &daily_instants(NaiveDate::from_ymd_opt(2025, 1, 1).unwrap(), t(8, 0)),
        )
        .unwrap();
        assert_eq!(points.len(), 1);
        assert_eq!(points[0].at, t(6, 0));
    }
}
