//! A linked key result's history before its link was saved, reconstructed
//! from its items' own dates (see `core::goals::history` for what those
//! dates can and cannot tell), so its first chart has a line to read; and
//! a rolled-up objective's, from its children's recorded points.

use cairn_core::goals::{
    ChildHistory, LinkRule, PastPoint, ProgressSource, Schedule, daily_instants, reconstruct,
    roll_up_history,
};
use cairn_store::LockKey;
use cairn_store::goals::OkrProgress;
use chrono::{DateTime, Utc};
use serde_json::json;

use super::{Goals, audit, goal_error};
use crate::accounts::Authenticated;
use crate::error::EngineError;

/// The `source` of reconstructed points in the history.
pub const BACKFILL_SOURCE: &str = "backfill";

/// The note of reconstructed points.
pub const BACKFILL_NOTE: &str = "reconstructed from the items' dates";

/// The note of an objective's reconstructed points.
pub const BACKFILL_ROLL_UP_NOTE: &str = "rolled up from the children's history";

impl Goals {
    /// Adds to an OKR's history the points it would have had before its
    /// first recorded one (or `now`), marked [`BACKFILL_SOURCE`]:
    ///
    /// - a key result read from a data link: its progress at the start of
    ///   each day from its start date, from its stored items as they stood
    ///   then;
    /// - an objective rolled up from its children: the roll-up of their
    ///   recorded points at each instant one of them has a point (so
    ///   backfill its children first).
    ///
    /// A point is kept only where the number or status changed. The
    /// current progress is left alone, and so is a history that already
    /// has reconstructed points (returns 0). Returns how many points were
    /// added; a key result taking check-ins is refused (nothing to go by).
    pub async fn backfill_history(
        &self,
        by: &Authenticated,
        okr_id: i64,
        now: DateTime<Utc>,
    ) -> Result<usize, EngineError> {
        self.load_to_change(by, okr_id).await?;
        // Under the OKR's lock, so a recompute does not record between the
        // read of the first point and the insert.
        let _recomputing = self.store.lock(LockKey::Okr(okr_id)).await?;
        let okr = self.load(okr_id).await?;
        let history = self.store.progress_points(okr_id, 10_000).await?;
        if history.iter().any(|p| p.source == BACKFILL_SOURCE) {
            return Ok(0);
        }
        let first = history.iter().map(|p| p.at).min().unwrap_or(now).min(now);
        let schedule =
            Schedule::new(okr.fields.starts_on, okr.fields.due_on).map_err(goal_error)?;
        let (past, note, detail): (Vec<PastPoint>, &str, serde_json::Value) = match okr
            .fields
            .progress_source
        {
            ProgressSource::DataLink => {
                let link = self.store.link_for_okr(okr_id).await?.ok_or_else(|| {
                    EngineError::NotFound(format!("OKR {okr_id} has no data link"))
                })?;
                let rule: LinkRule = serde_json::from_value(link.rule.clone())
                    .map_err(|e| EngineError::invalid("rule", e.to_string()))?;
                let items = self.store.link_items(link.id).await?;
                let instants = daily_instants(okr.fields.starts_on, first);
                let past = reconstruct(&okr.fields.measure, &rule, &schedule, &items, &instants)
                    .map_err(goal_error)?;
                (past, BACKFILL_NOTE, json!({"items": items.len()}))
            }
            ProgressSource::RollUp => {
                let mut children = Vec::new();
                let mut instants = Vec::new();
                for child in self.store.child_okrs(okr_id).await? {
                    let points: Vec<(DateTime<Utc>, f64)> = self
                        .store
                        .progress_points(child.id, 10_000)
                        .await?
                        .into_iter()
                        .map(|p| (p.at, p.percent))
                        .collect();
                    instants.extend(points.iter().map(|(at, _)| *at).filter(|at| *at < first));
                    children.push(ChildHistory {
                        id: child.id,
                        weight: child.fields.weight,
                        contributes: child.fields.contributes,
                        points,
                    });
                }
                instants.sort_unstable();
                instants.dedup();
                let past = roll_up_history(&children, &schedule, &instants).map_err(goal_error)?;
                (
                    past,
                    BACKFILL_ROLL_UP_NOTE,
                    json!({"children": children.len()}),
                )
            }
            ProgressSource::CheckIn => {
                return Err(EngineError::Conflict {
                        field: Some("progress_source".to_owned()),
                        message: "a key result taking check-ins has no items or children to reconstruct its history from".to_owned(),
                    });
            }
        };
        let points: Vec<OkrProgress> = past
            .into_iter()
            .map(|p| OkrProgress {
                value: p.progress.value,
                percent: p.progress.percent,
                expected_percent: p.assessment.expected_percent,
                status: p.assessment.status,
                computed_at: p.at,
            })
            .collect();
        if points.is_empty() {
            return Ok(0);
        }
        let mut tx = self.store.begin().await?;
        tx.insert_past_progress(okr_id, &points, BACKFILL_SOURCE, note)
            .await?;
        let mut detail = detail;
        detail["points"] = json!(points.len());
        tx.append_audit(
            &audit(
                by,
                "okr.history_backfilled",
                format!("okr:{okr_id}"),
                detail,
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(points.len())
    }
}
