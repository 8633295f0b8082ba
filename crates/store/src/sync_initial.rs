//! The initial sync of a pair's history: items created before the pair was
//! activated, from a chosen date, brought across by durable jobs. A run
//! has a plan, the list of items to bring fixed when it starts, and each
//! entry of the plan is marked done once its item was carried, so a
//! process killed in the middle resumes at the first entry not done and
//! progress is a count, not an estimate. One run per pair: a new one
//! replaces a finished one.

use async_trait::async_trait;
use cairn_core::sync::Side;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::Result;
use crate::sync::RemoteRef;

/// Where a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InitialSyncState {
    /// Listing both sides for the plan.
    Planning,
    /// Bringing the plan's items across.
    Running,
    /// Stopped by a person (or because the pair was deactivated) until
    /// resumed.
    Paused,
    /// Every item of the plan was carried.
    Done,
}

impl InitialSyncState {
    pub fn as_str(self) -> &'static str {
        match self {
            InitialSyncState::Planning => "planning",
            InitialSyncState::Running => "running",
            InitialSyncState::Paused => "paused",
            InitialSyncState::Done => "done",
        }
    }

    pub fn parse(s: &str) -> Option<InitialSyncState> {
        [
            InitialSyncState::Planning,
            InitialSyncState::Running,
            InitialSyncState::Paused,
            InitialSyncState::Done,
        ]
        .into_iter()
        .find(|state| state.as_str() == s)
    }

    /// Whether its jobs are (or should be) working.
    pub fn is_working(self) -> bool {
        matches!(self, InitialSyncState::Planning | InitialSyncState::Running)
    }
}

/// A run as it is started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInitialSync {
    pub pair_id: i64,
    /// Items created at or after this are brought across...
    pub since: DateTime<Utc>,
    /// ...up to this, where the pair's ordinary scope began.
    pub boundary: DateTime<Utc>,
    /// The email of who started it.
    pub started_by: String,
}

/// A stored run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InitialSync {
    pub pair_id: i64,
    pub since: DateTime<Utc>,
    pub boundary: DateTime<Utc>,
    pub state: InitialSyncState,
    /// Items of the plan on each side; `None` while planning.
    pub left_total: Option<i64>,
    pub right_total: Option<i64>,
    /// Plan entries carried (failing ones included: they retry on their
    /// own schedule, as every item does).
    pub done: i64,
    /// Of those, the ones whose item was failing when carried.
    pub failed: i64,
    /// The last start or resume, and `done` then: the rate is measured
    /// from there.
    pub resumed_at: DateTime<Utc>,
    pub done_at_resume: i64,
    /// Why it is paused, when it is.
    pub paused_reason: Option<String>,
    pub started_by: String,
    pub started_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl InitialSync {
    /// Items in the plan, once planned.
    pub fn total(&self) -> Option<i64> {
        Some(self.left_total? + self.right_total?)
    }
}

/// One item of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitialSyncEntry {
    pub seq: i64,
    pub side: Side,
    pub remote: RemoteRef,
}

/// Reads.
#[async_trait]
pub trait SyncInitialStore: Send + Sync {
    async fn get_initial_sync(&self, pair_id: i64) -> Result<Option<InitialSync>>;
    /// Entries not done yet with `from <= seq < to`, in order.
    async fn pending_initial_sync_entries(
        &self,
        pair_id: i64,
        from: i64,
        to: i64,
    ) -> Result<Vec<InitialSyncEntry>>;
    /// The chunks (`seq / chunk_size`) that have entries not done yet.
    async fn pending_initial_sync_chunks(&self, pair_id: i64, chunk_size: i64) -> Result<Vec<i64>>;
}

/// Writes.
#[async_trait]
pub trait SyncInitialTx: Send {
    /// Starts a run in `planning`, replacing the pair's earlier run and
    /// its plan.
    async fn start_initial_sync(&mut self, run: &NewInitialSync, now: DateTime<Utc>) -> Result<()>;
    /// Stores the plan and moves the run from `planning` to `running`;
    /// false (nothing written) when it was not planning.
    async fn plan_initial_sync(
        &mut self,
        pair_id: i64,
        entries: &[InitialSyncEntry],
        now: DateTime<Utc>,
    ) -> Result<bool>;
    /// Moves the run to `to` if it is in one of `from`; false otherwise.
    /// Moving to a working state restarts the rate's measure.
    async fn set_initial_sync_state(
        &mut self,
        pair_id: i64,
        from: &[InitialSyncState],
        to: InitialSyncState,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<bool>;
    /// Marks an entry done and counts it (once, however often an
    /// interrupted job carries it); true when it was not done before.
    async fn mark_initial_sync_entry(
        &mut self,
        pair_id: i64,
        seq: i64,
        failed: bool,
        now: DateTime<Utc>,
    ) -> Result<bool>;
    /// A running run whose plan is all done becomes `done`; true then.
    async fn finish_initial_sync(&mut self, pair_id: i64, now: DateTime<Utc>) -> Result<bool>;
}

/// How many plan entries one insert carries.
pub const PLAN_INSERT_ROWS: usize = 500;

macro_rules! impl_sync_initial {
    ($store:ty, $tx:ty) => {
        fn initial_sync_from_row(row: &DbRow) -> Result<crate::sync_initial::InitialSync> {
            let state: String = row.try_get("state")?;
            Ok(crate::sync_initial::InitialSync {
                pair_id: row.try_get("pair_id")?,
                since: from_db(row.try_get("since")?)?,
                boundary: from_db(row.try_get("boundary")?)?,
                state: crate::sync_initial::InitialSyncState::parse(&state).ok_or_else(|| {
                    crate::StoreError::InvalidData(format!("initial sync state `{state}`"))
                })?,
                left_total: row.try_get("left_total")?,
                right_total: row.try_get("right_total")?,
                done: row.try_get("done")?,
                failed: row.try_get("failed")?,
                resumed_at: from_db(row.try_get("resumed_at")?)?,
                done_at_resume: row.try_get("done_at_resume")?,
                paused_reason: row.try_get("paused_reason")?,
                started_by: row.try_get("started_by")?,
                started_at: from_db(row.try_get("started_at")?)?,
                updated_at: from_db(row.try_get("updated_at")?)?,
                finished_at: opt_from_db(row.try_get("finished_at")?)?,
            })
        }

        #[async_trait::async_trait]
        impl crate::sync_initial::SyncInitialStore for $store {
            async fn get_initial_sync(
                &self,
                pair_id: i64,
            ) -> Result<Option<crate::sync_initial::InitialSync>> {
                let row = sqlx::query("SELECT * FROM sync_initial_runs WHERE pair_id = $1")
                    .bind(pair_id)
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map(initial_sync_from_row).transpose()
            }

            async fn pending_initial_sync_entries(
                &self,
                pair_id: i64,
                from: i64,
                to: i64,
            ) -> Result<Vec<crate::sync_initial::InitialSyncEntry>> {
                let rows = sqlx::query(
                    "SELECT seq, side, remote_id, remote_key, remote_url FROM sync_initial_items \
                     WHERE pair_id = $1 AND seq >= $2 AND seq < $3 AND done_at IS NULL ORDER BY seq",
                )
                .bind(pair_id)
                .bind(from)
                .bind(to)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|row| {
                        let side: String = row.try_get("side")?;
                        Ok(crate::sync_initial::InitialSyncEntry {
                            seq: row.try_get("seq")?,
                            side: crate::sync::side_from(&side)?,
                            remote: crate::sync::RemoteRef {
                                id: row.try_get("remote_id")?,
                                key: row.try_get("remote_key")?,
                                url: row.try_get("remote_url")?,
                            },
                        })
                    })
                    .collect()
            }

            async fn pending_initial_sync_chunks(
                &self,
                pair_id: i64,
                chunk_size: i64,
            ) -> Result<Vec<i64>> {
                let chunks = sqlx::query_scalar(
                    "SELECT DISTINCT seq / $2 AS chunk FROM sync_initial_items \
                     WHERE pair_id = $1 AND done_at IS NULL ORDER BY chunk",
                )
                .bind(pair_id)
                .bind(chunk_size.max(1))
                .fetch_all(&self.pool)
                .await?;
                Ok(chunks)
            }
        }

        #[async_trait::async_trait]
        impl crate::sync_initial::SyncInitialTx for $tx {
            async fn start_initial_sync(
                &mut self,
                run: &crate::sync_initial::NewInitialSync,
                now: DateTime<Utc>,
            ) -> Result<()> {
                sqlx::query("DELETE FROM sync_initial_items WHERE pair_id = $1")
                    .bind(run.pair_id)
                    .execute(&mut *self.tx)
                    .await?;
                sqlx::query("DELETE FROM sync_initial_runs WHERE pair_id = $1")
                    .bind(run.pair_id)
                    .execute(&mut *self.tx)
                    .await?;
                sqlx::query(
                    "INSERT INTO sync_initial_runs (pair_id, since, boundary, state, resumed_at, \
                     started_by, started_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $5, $5)",
                )
                .bind(run.pair_id)
                .bind(to_db(run.since))
                .bind(to_db(run.boundary))
                .bind(crate::sync_initial::InitialSyncState::Planning.as_str())
                .bind(to_db(now))
                .bind(&run.started_by)
                .execute(&mut *self.tx)
                .await
                .map_err(crate::error::conflict_on("since"))?;
                Ok(())
            }

            async fn plan_initial_sync(
                &mut self,
                pair_id: i64,
                entries: &[crate::sync_initial::InitialSyncEntry],
                now: DateTime<Utc>,
            ) -> Result<bool> {
                let count = |side: cairn_core::sync::Side| {
                    entries.iter().filter(|e| e.side == side).count() as i64
                };
                let moved = sqlx::query(
                    "UPDATE sync_initial_runs SET state = $2, left_total = $3, right_total = $4, \
                     updated_at = $5 WHERE pair_id = $1 AND state = $6",
                )
                .bind(pair_id)
                .bind(crate::sync_initial::InitialSyncState::Running.as_str())
                .bind(count(cairn_core::sync::Side::Left))
                .bind(count(cairn_core::sync::Side::Right))
                .bind(to_db(now))
                .bind(crate::sync_initial::InitialSyncState::Planning.as_str())
                .execute(&mut *self.tx)
                .await?
                .rows_affected();
                if moved == 0 {
                    return Ok(false);
                }
                for rows in entries.chunks(crate::sync_initial::PLAN_INSERT_ROWS) {
                    let mut insert = sqlx::QueryBuilder::<Db>::new(
                        "INSERT INTO sync_initial_items (pair_id, seq, side, remote_id, remote_key, remote_url) ",
                    );
                    insert.push_values(rows, |mut row, entry| {
                        row.push_bind(pair_id)
                            .push_bind(entry.seq)
                            .push_bind(entry.side.as_str())
                            .push_bind(entry.remote.id.clone())
                            .push_bind(entry.remote.key.clone())
                            .push_bind(entry.remote.url.clone());
                    });
                    insert.build().execute(&mut *self.tx).await?;
                }
                Ok(true)
            }

            async fn set_initial_sync_state(
                &mut self,
                pair_id: i64,
                from: &[crate::sync_initial::InitialSyncState],
                to: crate::sync_initial::InitialSyncState,
                reason: Option<&str>,
                now: DateTime<Utc>,
            ) -> Result<bool> {
                let Some(current) = sqlx::query_scalar::<_, String>(
                    "SELECT state FROM sync_initial_runs WHERE pair_id = $1",
                )
                .bind(pair_id)
                .fetch_optional(&mut *self.tx)
                .await?
                else {
                    return Ok(false);
                };
                if !from.iter().any(|s| s.as_str() == current) {
                    return Ok(false);
                }
                // Compare-and-set: another instance may move it meanwhile.
                let moved = if to.is_working() {
                    sqlx::query(
                        "UPDATE sync_initial_runs SET state = $2, paused_reason = NULL, \
                         resumed_at = $3, done_at_resume = done, updated_at = $3 \
                         WHERE pair_id = $1 AND state = $4",
                    )
                    .bind(pair_id)
                    .bind(to.as_str())
                    .bind(to_db(now))
                    .bind(&current)
                    .execute(&mut *self.tx)
                    .await?
                } else {
                    sqlx::query(
                        "UPDATE sync_initial_runs SET state = $2, paused_reason = $3, \
                         updated_at = $4 WHERE pair_id = $1 AND state = $5",
                    )
                    .bind(pair_id)
                    .bind(to.as_str())
                    .bind(reason)
                    .bind(to_db(now))
                    .bind(&current)
                    .execute(&mut *self.tx)
                    .await?
                };
                Ok(moved.rows_affected() == 1)
            }

            async fn mark_initial_sync_entry(
                &mut self,
                pair_id: i64,
                seq: i64,
                failed: bool,
                now: DateTime<Utc>,
            ) -> Result<bool> {
                let marked = sqlx::query(
                    "UPDATE sync_initial_items SET done_at = $3 \
                     WHERE pair_id = $1 AND seq = $2 AND done_at IS NULL",
                )
                .bind(pair_id)
                .bind(seq)
                .bind(to_db(now))
                .execute(&mut *self.tx)
                .await?
                .rows_affected();
                if marked == 0 {
                    return Ok(false);
                }
                sqlx::query(
                    "UPDATE sync_initial_runs SET done = done + 1, failed = failed + $2, \
                     updated_at = $3 WHERE pair_id = $1",
                )
                .bind(pair_id)
                .bind(i64::from(failed))
                .bind(to_db(now))
                .execute(&mut *self.tx)
                .await?;
                Ok(true)
            }

            async fn finish_initial_sync(
                &mut self,
                pair_id: i64,
                now: DateTime<Utc>,
            ) -> Result<bool> {
                let finished = sqlx::query(
                    "UPDATE sync_initial_runs SET state = $2, finished_at = $3, updated_at = $3 \
                     WHERE pair_id = $1 AND state = $4 AND NOT EXISTS \
                     (SELECT 1 FROM sync_initial_items WHERE pair_id = $1 AND done_at IS NULL)",
                )
                .bind(pair_id)
                .bind(crate::sync_initial::InitialSyncState::Done.as_str())
                .bind(to_db(now))
                .bind(crate::sync_initial::InitialSyncState::Running.as_str())
                .execute(&mut *self.tx)
                .await?
                .rows_affected();
                Ok(finished == 1)
            }
        }
    };
}

pub(crate) use impl_sync_initial;
