//! The initial sync of a pair's history: items created before the pair's
//! scope began (its activation, or its `created_after`), from a date a
//! person chooses, brought across with the preview first.
//!
//! Starting one moves the pair's `created_after` back to that date (the
//! pair's scope now reaches back there, for webhooks and scans too) and
//! enqueues a planning job. The planning job lists both sides once and
//! stores the plan: every item in the window not linked yet. Then one job
//! per chunk of the plan carries its items one after another through the
//! ordinary item flow (claims, Cairn's mark on every twin), and marks each
//! entry done. All of it lives in the database: a process killed in the
//! middle loses its job leases, another instance (or the same one,
//! restarted) takes the jobs over and goes on at the first entry not done;
//! an item whose create was interrupted is found by its mark, never made
//! twice. Pausing stops the chunk jobs before their next item; resuming
//! enqueues the chunks that still have work.

use std::sync::Arc;

use async_trait::async_trait;
use cairn_core::sync::{Side, SyncItemState};
use cairn_store::sync::SyncPair;
use cairn_store::sync_initial::{InitialSync, InitialSyncEntry, InitialSyncState, NewInitialSync};
use cairn_store::{Job, NewJob};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;

use super::SyncEngine;
use super::pairs::audit;
use super::side::RemoteItem;
use crate::accounts::Authenticated;
use crate::error::EngineError;
use crate::jobs::{JobError, JobHandler, Registry};

/// The job kind that lists both sides and stores the plan.
pub const PLAN_KIND: &str = "sync_initial_plan";
/// The job kind that carries one chunk of the plan.
pub const CHUNK_KIND: &str = "sync_initial_chunk";
/// Plan entries per chunk job: small enough that a killed job redoes
/// little, large enough that the queue is not flooded.
pub const CHUNK_SIZE: i64 = 25;

/// How many items an initial sync from a date would bring across, per
/// side: the preview shown before it starts.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InitialSyncPreview {
    /// Items created at or after this...
    pub since: DateTime<Utc>,
    /// ...and before this (where the pair's scope begins now).
    pub until: DateTime<Utc>,
    /// Items on the left side without a twin yet.
    pub left: i64,
    /// Items on the right side without a twin yet.
    pub right: i64,
}

/// An initial sync and how it is doing.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InitialSyncProgress {
    pub pair_id: i64,
    /// `planning`, `running`, `paused` or `done`.
    pub state: String,
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    /// Items to bring across, once both sides are listed.
    pub total: Option<i64>,
    pub left_total: Option<i64>,
    pub right_total: Option<i64>,
    /// Items carried so far.
    pub done: i64,
    /// Of those, items failing (retried on their own, listed with the
    /// pair's failing items).
    pub failed: i64,
    /// Whole percent done, once planned.
    pub percent: Option<i64>,
    /// Items per minute since the last start or resume, while running.
    pub rate_per_minute: Option<f64>,
    /// Estimated seconds left at that rate, while running.
    pub seconds_left: Option<i64>,
    /// Why it is paused.
    pub paused_reason: Option<String>,
    pub started_by: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl InitialSyncProgress {
    /// The figures of a stored run at `now`.
    pub fn of(run: &InitialSync, now: DateTime<Utc>) -> InitialSyncProgress {
        let total = run.total();
        let percent = total.map(|t| {
            if t == 0 {
                100
            } else {
                (run.done * 100 / t).clamp(0, 100)
            }
        });
        let running = run.state == InitialSyncState::Running;
        let elapsed_ms = (now - run.resumed_at).num_milliseconds();
        let done_since = run.done - run.done_at_resume;
        let rate_per_minute = (running && elapsed_ms > 0 && done_since > 0)
            .then(|| done_since as f64 * 60_000.0 / elapsed_ms as f64);
        let seconds_left = match (rate_per_minute, total) {
            (Some(rate), Some(total)) if rate > 0.0 => {
                Some(((total - run.done).max(0) as f64 * 60.0 / rate).ceil() as i64)
            }
            _ => None,
        };
        InitialSyncProgress {
            pair_id: run.pair_id,
            state: run.state.as_str().to_owned(),
            since: run.since,
            until: run.boundary,
            total,
            left_total: run.left_total,
            right_total: run.right_total,
            done: run.done,
            failed: run.failed,
            percent,
            rate_per_minute,
            seconds_left,
            paused_reason: run.paused_reason.clone(),
            started_by: run.started_by.clone(),
            started_at: run.started_at,
            finished_at: run.finished_at,
        }
    }
}

fn plan_job(pair_id: i64, now: DateTime<Utc>) -> NewJob {
    NewJob::new(PLAN_KIND, json!({ "pair": pair_id }), now)
        .with_dedupe_key(format!("{PLAN_KIND}:{pair_id}"))
}

fn chunk_job(pair_id: i64, chunk: i64, now: DateTime<Utc>) -> NewJob {
    NewJob::new(CHUNK_KIND, json!({ "pair": pair_id, "chunk": chunk }), now)
        .with_dedupe_key(format!("{CHUNK_KIND}:{pair_id}:{chunk}"))
}

/// Where the pair's ordinary scope begins: nothing older crosses over
/// without an initial sync.
fn scope_start(pair: &SyncPair, now: DateTime<Utc>) -> DateTime<Utc> {
    pair.settings
        .created_after
        .or(pair.activated_at)
        .unwrap_or(now)
}

impl SyncEngine {
    /// Registers the initial sync's job handlers.
    pub(super) fn register_initial(self: &Arc<Self>, registry: &mut Registry) {
        registry.register(PLAN_KIND, PlanHandler(self.clone()));
        registry.register(CHUNK_KIND, ChunkHandler(self.clone()));
    }

    /// The pair's initial sync, if one was ever started.
    pub async fn initial_sync(
        &self,
        by: &Authenticated,
        pair_id: i64,
        now: DateTime<Utc>,
    ) -> Result<Option<InitialSyncProgress>, EngineError> {
        self.pair_for(by, pair_id).await?;
        Ok(self
            .store
            .get_initial_sync(pair_id)
            .await?
            .map(|run| InitialSyncProgress::of(&run, now)))
    }

    /// Checks `since` for a pair: in the past, before where its scope
    /// begins. Returns that beginning.
    fn check_since(
        pair: &SyncPair,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, EngineError> {
        if since > now {
            return Err(EngineError::invalid(
                "since",
                "is in the future: an initial sync brings across items created before now",
            ));
        }
        let until = scope_start(pair, now);
        if since >= until {
            return Err(EngineError::invalid(
                "since",
                format!(
                    "the pair brings across items created since {} already: choose an earlier date",
                    until.format("%Y-%m-%d %H:%M UTC")
                ),
            ));
        }
        Ok(until)
    }

    /// How many items an initial sync from `since` would bring across,
    /// writing nothing.
    pub async fn preview_initial_sync(
        &self,
        by: &Authenticated,
        pair_id: i64,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<InitialSyncPreview, EngineError> {
        let pair = self.pair_for(by, pair_id).await?;
        let until = Self::check_since(&pair, since, now)?;
        let [left, right] = self
            .initial_candidates(&pair, since, until)
            .await
            .map_err(|(side, message)| EngineError::invalid(&format!("{side}.project"), message))?;
        Ok(InitialSyncPreview {
            since,
            until,
            left: left.len() as i64,
            right: right.len() as i64,
        })
    }

    /// Starts an initial sync from `since`. Refused (422, nothing saved)
    /// for a date in the future or not before the pair's scope, an
    /// inactive pair, or one whose initial sync is not finished.
    pub async fn start_initial_sync(
        &self,
        by: &Authenticated,
        pair_id: i64,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<InitialSyncProgress, EngineError> {
        let pair = self.pair_for(by, pair_id).await?;
        if let Some(run) = self.store.get_initial_sync(pair_id).await?
            && run.state != InitialSyncState::Done
        {
            return Err(EngineError::invalid(
                "since",
                format!(
                    "an initial sync of this pair is {} already: wait for it to finish{}",
                    run.state.as_str(),
                    if run.state == InitialSyncState::Paused {
                        " (resume it)"
                    } else {
                        ""
                    }
                ),
            ));
        }
        if !pair.settings.active {
            return Err(EngineError::invalid(
                "active",
                "the pair is inactive: activate it before its initial sync",
            ));
        }
        let until = Self::check_since(&pair, since, now)?;
        let mut settings = pair.settings.clone();
        settings.created_after = Some(since);
        let mut tx = self.store.begin().await?;
        tx.update_sync_pair(pair_id, &settings, None, now).await?;
        tx.start_initial_sync(
            &NewInitialSync {
                pair_id,
                since,
                boundary: until,
                started_by: by.user.email.clone(),
            },
            now,
        )
        .await?;
        tx.enqueue(&plan_job(pair_id, now), now).await?;
        tx.append_audit(
            &audit(
                by,
                "sync_pair.initial_sync.start",
                pair_id,
                json!({ "since": since, "until": until }),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        self.progress_now(pair_id, now).await
    }

    /// Pauses a planning or running initial sync: its jobs stop before
    /// their next item.
    pub async fn pause_initial_sync(
        &self,
        by: &Authenticated,
        pair_id: i64,
        now: DateTime<Utc>,
    ) -> Result<InitialSyncProgress, EngineError> {
        self.pair_for(by, pair_id).await?;
        let mut tx = self.store.begin().await?;
        let paused = tx
            .set_initial_sync_state(
                pair_id,
                &[InitialSyncState::Planning, InitialSyncState::Running],
                InitialSyncState::Paused,
                Some(&format!("paused by {}", by.user.email)),
                now,
            )
            .await?;
        if !paused {
            return Err(self.not_in_state(pair_id, "running").await?);
        }
        tx.append_audit(
            &audit(by, "sync_pair.initial_sync.pause", pair_id, json!({})),
            now,
        )
        .await?;
        tx.commit().await?;
        self.progress_now(pair_id, now).await
    }

    /// Resumes a paused initial sync where it stopped.
    pub async fn resume_initial_sync(
        &self,
        by: &Authenticated,
        pair_id: i64,
        now: DateTime<Utc>,
    ) -> Result<InitialSyncProgress, EngineError> {
        let pair = self.pair_for(by, pair_id).await?;
        let Some(run) = self.store.get_initial_sync(pair_id).await? else {
            return Err(self.not_in_state(pair_id, "paused").await?);
        };
        if run.state != InitialSyncState::Paused {
            return Err(self.not_in_state(pair_id, "paused").await?);
        }
        if !pair.settings.active {
            return Err(EngineError::invalid(
                "active",
                "the pair is inactive: activate it before resuming its initial sync",
            ));
        }
        let planned = run.total().is_some();
        let to = if planned {
            InitialSyncState::Running
        } else {
            InitialSyncState::Planning
        };
        let mut jobs = Vec::new();
        if planned {
            for chunk in self
                .store
                .pending_initial_sync_chunks(pair_id, CHUNK_SIZE)
                .await?
            {
                jobs.push(chunk_job(pair_id, chunk, now));
            }
        } else {
            jobs.push(plan_job(pair_id, now));
        }
        let mut tx = self.store.begin().await?;
        if !tx
            .set_initial_sync_state(pair_id, &[InitialSyncState::Paused], to, None, now)
            .await?
        {
            return Err(self.not_in_state(pair_id, "paused").await?);
        }
        for job in &jobs {
            tx.enqueue(job, now).await?;
        }
        // Paused after its last item: nothing left but to say so.
        if planned && jobs.is_empty() {
            tx.finish_initial_sync(pair_id, now).await?;
        }
        tx.append_audit(
            &audit(by, "sync_pair.initial_sync.resume", pair_id, json!({})),
            now,
        )
        .await?;
        tx.commit().await?;
        self.progress_now(pair_id, now).await
    }

    /// The refusal of a pause or resume the run's state forbids.
    async fn not_in_state(&self, pair_id: i64, wanted: &str) -> Result<EngineError, EngineError> {
        let message = match self.store.get_initial_sync(pair_id).await? {
            Some(run) => format!("the initial sync is {}, not {wanted}", run.state.as_str()),
            None => "the pair has no initial sync: start one first".to_owned(),
        };
        Ok(EngineError::invalid("state", message))
    }

    async fn progress_now(
        &self,
        pair_id: i64,
        now: DateTime<Utc>,
    ) -> Result<InitialSyncProgress, EngineError> {
        self.store
            .get_initial_sync(pair_id)
            .await?
            .map(|run| InitialSyncProgress::of(&run, now))
            .ok_or_else(|| EngineError::NotFound(format!("no initial sync of pair {pair_id}")))
    }

    /// Both sides' items created in `[since, until)` that the pair does
    /// not link yet and did not make itself, in its scope's labels (a JQL
    /// scope is applied by Jira when listing). On failure, the side and
    /// why.
    async fn initial_candidates(
        &self,
        pair: &SyncPair,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<[Vec<RemoteItem>; 2], (Side, String)> {
        let mut found = [Vec::new(), Vec::new()];
        for (i, side) in [Side::Left, Side::Right].into_iter().enumerate() {
            let client = self
                .side_client(pair, side)
                .await
                .map_err(|e| (side, e.to_string()))?;
            let items = client
                .updated_since(since, since)
                .await
                .map_err(|f| (side, f.message().to_owned()))?;
            for read in items {
                let in_window = read.created_at.is_none_or(|c| c >= since && c < until);
                let twin_of_ours = read.marker.as_ref().is_some_and(|m| m.pair_id == pair.id);
                let labels_ok = pair
                    .side(side)
                    .scope
                    .admits_labels(read.labels.iter().map(String::as_str));
                if !in_window || twin_of_ours || !labels_ok {
                    continue;
                }
                let linked = self
                    .store
                    .find_sync_item(pair.id, side, &read.reference.id)
                    .await
                    .map_err(|e| (side, e.to_string()))?
                    .is_some_and(|item| item.left.is_some() && item.right.is_some());
                if !linked {
                    found[i].push(read);
                }
            }
        }
        Ok(found)
    }

    /// The planning job: lists both sides and stores the plan, oldest item
    /// first, then enqueues its chunks.
    async fn plan_initial_sync(&self, pair_id: i64) -> Result<(), JobError> {
        let retry = |e: EngineError| JobError::Retry(e.to_string());
        let now = Utc::now();
        let Some(run) = self
            .store
            .get_initial_sync(pair_id)
            .await
            .map_err(|e| retry(e.into()))?
        else {
            return Ok(());
        };
        if run.state != InitialSyncState::Planning {
            return Ok(());
        }
        let Some(pair) = self
            .store
            .get_sync_pair(pair_id)
            .await
            .map_err(|e| retry(e.into()))?
        else {
            return Ok(());
        };
        if !pair.settings.active {
            return self.pause_inactive(pair_id, now).await.map_err(retry);
        }
        let [left, right] = self
            .initial_candidates(&pair, run.since, run.boundary)
            .await
            .map_err(|(side, message)| JobError::Retry(format!("{side}: {message}")))?;
        let mut items: Vec<(Side, RemoteItem)> = left
            .into_iter()
            .map(|r| (Side::Left, r))
            .chain(right.into_iter().map(|r| (Side::Right, r)))
            .collect();
        items.sort_by_key(|(_, r)| r.created_at);
        let entries: Vec<InitialSyncEntry> = items
            .into_iter()
            .enumerate()
            .map(|(seq, (side, read))| InitialSyncEntry {
                seq: seq as i64,
                side,
                remote: read.reference,
            })
            .collect();
        let chunks = (entries.len() as i64 + CHUNK_SIZE - 1) / CHUNK_SIZE;
        let planned: Result<(), EngineError> = async {
            let mut tx = self.store.begin().await?;
            if tx.plan_initial_sync(pair_id, &entries, now).await? {
                for chunk in 0..chunks {
                    tx.enqueue(&chunk_job(pair_id, chunk, now), now).await?;
                }
                tx.finish_initial_sync(pair_id, now).await?;
            }
            tx.commit().await?;
            Ok(())
        }
        .await;
        planned.map_err(retry)
    }

    async fn pause_inactive(&self, pair_id: i64, now: DateTime<Utc>) -> Result<(), EngineError> {
        let mut tx = self.store.begin().await?;
        tx.set_initial_sync_state(
            pair_id,
            &[InitialSyncState::Planning, InitialSyncState::Running],
            InitialSyncState::Paused,
            Some("the pair was deactivated: resume once it is active again"),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A chunk job: carries its entries not done yet, one after another,
    /// while the run is running, each through the ordinary item flow.
    async fn carry_initial_chunk(&self, pair_id: i64, chunk: i64) -> Result<(), EngineError> {
        let entries = self
            .store
            .pending_initial_sync_entries(pair_id, chunk * CHUNK_SIZE, (chunk + 1) * CHUNK_SIZE)
            .await?;
        for entry in entries {
            let now = Utc::now();
            let Some(run) = self.store.get_initial_sync(pair_id).await? else {
                return Ok(());
            };
            if run.state != InitialSyncState::Running {
                return Ok(());
            }
            let Some(pair) = self.store.get_sync_pair(pair_id).await? else {
                return Ok(());
            };
            if !pair.settings.active {
                return self.pause_inactive(pair_id, now).await;
            }
            let mut tx = self.store.begin().await?;
            let (item_id, _) = tx
                .note_sync_item(pair_id, entry.side, &entry.remote, None, now)
                .await?;
            tx.commit().await?;
            self.carry(item_id).await?;
            let failed = self
                .store
                .get_sync_item(item_id)
                .await?
                .is_some_and(|item| item.state == SyncItemState::Failing);
            let now = Utc::now();
            let mut tx = self.store.begin().await?;
            tx.mark_initial_sync_entry(pair_id, entry.seq, failed, now)
                .await?;
            tx.finish_initial_sync(pair_id, now).await?;
            tx.commit().await?;
        }
        Ok(())
    }
}

fn pair_of(job: &Job) -> Result<i64, JobError> {
    job.payload
        .get("pair")
        .and_then(serde_json::Value::as_i64)
        .ok_or_else(|| JobError::Permanent(format!("{} job without a pair id", job.kind)))
}

struct PlanHandler(Arc<SyncEngine>);

#[async_trait]
impl JobHandler for PlanHandler {
    async fn run(&self, job: &Job) -> Result<(), JobError> {
        self.0.plan_initial_sync(pair_of(job)?).await
    }
}

struct ChunkHandler(Arc<SyncEngine>);

#[async_trait]
impl JobHandler for ChunkHandler {
    async fn run(&self, job: &Job) -> Result<(), JobError> {
        let chunk = job
            .payload
            .get("chunk")
            .and_then(serde_json::Value::as_i64)
            .ok_or_else(|| JobError::Permanent("sync_initial_chunk job without a chunk".into()))?;
        self.0
            .carry_initial_chunk(pair_of(job)?, chunk)
            .await
            .map_err(|e| JobError::Retry(e.to_string()))
    }
}
