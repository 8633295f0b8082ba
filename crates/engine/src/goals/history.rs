//! A linked key result's history before its link was saved, reconstructed
//! from its items' own dates (see `core::goals::history` for what those
//! dates can and cannot tell), so its first chart has a line to read.

use cairn_core::goals::{LinkRule, ProgressSource, Schedule, daily_instants, reconstruct};
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

impl Goals {
    /// Adds to a linked key result's history its progress at the start of
    /// each day from its start date up to its first recorded point (or
    /// `now`), from its stored items as they stood then, keeping a point
    /// only where the number or status changed. The points are marked
    /// [`BACKFILL_SOURCE`]; the current progress is left alone, and so is
    /// a history that already has reconstructed points (returns 0).
    /// Returns how many points were added.
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
        if okr.fields.progress_source != ProgressSource::DataLink {
            return Err(EngineError::Conflict {
                field: Some("progress_source".to_owned()),
                message: "only a key result read from a data link has items to reconstruct its history from".to_owned(),
            });
        }
        let link = self
            .store
            .link_for_okr(okr_id)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("OKR {okr_id} has no data link")))?;
        let history = self.store.progress_points(okr_id, 10_000).await?;
        if history.iter().any(|p| p.source == BACKFILL_SOURCE) {
            return Ok(0);
        }
        let first = history.iter().map(|p| p.at).min().unwrap_or(now).min(now);
        let rule: LinkRule = serde_json::from_value(link.rule.clone())
            .map_err(|e| EngineError::invalid("rule", e.to_string()))?;
        let schedule =
            Schedule::new(okr.fields.starts_on, okr.fields.due_on).map_err(goal_error)?;
        let items = self.store.link_items(link.id).await?;
        let instants = daily_instants(okr.fields.starts_on, first);
        let points: Vec<OkrProgress> =
            reconstruct(&okr.fields.measure, &rule, &schedule, &items, &instants)
                .map_err(goal_error)?
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
        tx.insert_past_progress(okr_id, &points, BACKFILL_SOURCE, BACKFILL_NOTE)
            .await?;
        tx.append_audit(
            &audit(
                by,
                "okr.history_backfilled",
                format!("okr:{okr_id}"),
                json!({"points": points.len(), "items": items.len()}),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(points.len())
    }
}
