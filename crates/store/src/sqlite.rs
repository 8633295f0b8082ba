//! The embedded default: one SQLite file in WAL mode. Times are stored as
//! Unix milliseconds so that comparisons in SQL are exact and index-friendly.

use std::str::FromStr;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row, Sqlite, Transaction};

use crate::error::integration_from;
use crate::feed::{Feed, ProgressSignal};
use crate::locks::{KeyLock, KeyedLocks, LockKey};
use crate::{
    AuditEntry, Backend, IntegrationKind, Job, JobCounts, JobState, NewAuditEntry, NewJob,
    OpenOptions, Result, SchemaStatus, Store, StoreError, StoreTx,
};

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

/// Reads go through `pool`; every write (transactions and single
/// statements) through `writer`, one connection. SQLite has one write lock
/// per database: writers of this process queue for the connection (an async
/// wait, in order) instead of each taking a connection and sleeping in
/// SQLite's busy handler (1, 2, 5 ... 100 ms naps) until the lock is free,
/// which under load made writes wait far longer than they took. Other
/// processes sharing the file still meet the busy timeout.
pub(crate) struct SqliteStore {
    pool: SqlitePool,
    writer: SqlitePool,
    locks: KeyedLocks,
    feed: Feed,
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn from_ms(ms: i64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| StoreError::InvalidData(format!("timestamp {ms} out of range")))
}

fn opt_from_ms(ms: Option<i64>) -> Result<Option<DateTime<Utc>>> {
    ms.map(from_ms).transpose()
}

fn job_from_row(row: &SqliteRow) -> Result<Job> {
    let payload: String = row.try_get("payload")?;
    let state: String = row.try_get("state")?;
    Ok(Job {
        id: row.try_get("id")?,
        kind: row.try_get("kind")?,
        payload: serde_json::from_str(&payload)
            .map_err(|e| StoreError::InvalidData(format!("job payload: {e}")))?,
        state: JobState::parse(&state)
            .ok_or_else(|| StoreError::InvalidData(format!("job state `{state}`")))?,
        attempts: row.try_get::<i64, _>("attempts")?.max(0) as u32,
        max_attempts: row.try_get::<i64, _>("max_attempts")?.max(0) as u32,
        run_after: from_ms(row.try_get("run_after")?)?,
        lease_owner: row.try_get("lease_owner")?,
        lease_expires_at: opt_from_ms(row.try_get("lease_expires_at")?)?,
        last_error: row.try_get("last_error")?,
        dedupe_key: row.try_get("dedupe_key")?,
        created_at: from_ms(row.try_get("created_at")?)?,
        updated_at: from_ms(row.try_get("updated_at")?)?,
        integration: integration_from(row.try_get("integration")?)?,
        finished_at: opt_from_ms(row.try_get("finished_at")?)?,
    })
}

fn sqlite_path(url: &str) -> String {
    url.trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:")
        .split('?')
        .next()
        .unwrap_or_default()
        .to_owned()
}

impl SqliteStore {
    pub(crate) async fn open(url: &str, options: &OpenOptions) -> Result<Self> {
        let path = sqlite_path(url);
        let connect = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(std::time::Duration::from_secs(10))
            .foreign_keys(true);
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(options.connect_timeout)
            .connect_with(connect.clone())
            .await
            .map_err(|e| classify_open_error(&path, e))?;
        let pool = SqlitePoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(options.connect_timeout)
            .connect_with(connect)
            .await
            .map_err(|e| classify_open_error(&path, e))?;
        // Reading the schema proves the file is a database; a corrupt file
        // fails here, before anything is written to it.
        sqlx::query("SELECT count(*) FROM sqlite_master")
            .fetch_one(&pool)
            .await
            .map_err(|e| classify_open_error(&path, e))?;
        Ok(SqliteStore {
            pool,
            writer,
            locks: KeyedLocks::default(),
            feed: Feed::default(),
        })
    }
}

fn classify_open_error(path: &str, error: sqlx::Error) -> StoreError {
    let message = error.to_string();
    if message.contains("not a database") || message.contains("malformed") {
        StoreError::Corrupt {
            path: path.to_owned(),
            cause: message,
        }
    } else {
        StoreError::Unreachable {
            url: format!("sqlite://{path}"),
            attempts: 1,
            seconds: 0,
            cause: message,
        }
    }
}

fn latest_known() -> i64 {
    MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0)
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    async fn migrate(&self) -> Result<SchemaStatus> {
        MIGRATOR
            .run(&self.writer)
            .await
            .map_err(|e| StoreError::from_migrate(e, latest_known()))?;
        self.schema_status().await
    }

    async fn schema_status(&self) -> Result<SchemaStatus> {
        let has_table: Option<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
        )
        .fetch_optional(&self.pool)
        .await?;
        let applied = if has_table.is_some() {
            sqlx::query_scalar::<_, Option<i64>>(
                "SELECT MAX(version) FROM _sqlx_migrations WHERE success",
            )
            .fetch_one(&self.pool)
            .await?
            .unwrap_or(0)
        } else {
            0
        };
        Ok(SchemaStatus {
            applied,
            latest_known: latest_known(),
        })
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn close(&self) {
        self.pool.close().await;
        self.writer.close().await;
    }

    fn progress_feed(&self) -> tokio::sync::broadcast::Receiver<ProgressSignal> {
        // One process owns the file: its own commits are all there is.
        self.feed.subscribe()
    }

    async fn lock(&self, key: LockKey) -> Result<KeyLock> {
        // One process owns the file: its own lock is everyone's.
        Ok(KeyLock::new(key, self.locks.lock(key).await, None))
    }

    async fn begin(&self) -> Result<Box<dyn StoreTx>> {
        // IMMEDIATE takes the write lock up front, so two writers queue on
        // the busy timeout instead of failing with SQLITE_BUSY mid-way.
        let tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        Ok(Box::new(SqliteTx {
            tx,
            feed: self.feed.clone(),
            changed: Vec::new(),
        }))
    }

    async fn claim_jobs(
        &self,
        worker: &str,
        limit: u32,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Vec<Job>> {
        // INDEXED BY: left to itself, SQLite (without statistics) reads every
        // queued job through the (state, finished_at) index and sorts them
        // all for each claim; with a long queue (a burst of webhooks) that
        // was most of the work of claiming, on the one write connection.
        let sql = concat!(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = ?1, \
             lease_expires_at = ?2, updated_at = ?3 \
             WHERE id IN (SELECT id FROM jobs INDEXED BY jobs_queued_due WHERE state = 'queued' AND (integration IS NULL OR integration IN \
                          (SELECT kind FROM integrations WHERE enabled)) AND run_after <= ?3 \
                          ORDER BY run_after, id LIMIT ?4) \
             RETURNING ",
            job_columns!(),
            ""
        );
        let rows = sqlx::query(sql)
            .bind(worker)
            .bind(ms(lease_until))
            .bind(ms(now))
            .bind(i64::from(limit))
            .fetch_all(&self.writer)
            .await?;
        let mut jobs = rows.iter().map(job_from_row).collect::<Result<Vec<_>>>()?;
        jobs.sort_by_key(|j| (j.run_after, j.id));
        Ok(jobs)
    }

    async fn complete_jobs(&self, worker: &str, ids: &[i64], now: DateTime<Utc>) -> Result<u64> {
        if ids.is_empty() {
            return Ok(0);
        }
        let mut done = 0;
        // SQLite caps bound parameters; stay far below the limit.
        for chunk in ids.chunks(500) {
            let mut q =
                QueryBuilder::<Sqlite>::new("UPDATE jobs SET state = 'done', finished_at = ");
            q.push_bind(ms(now))
                .push(", updated_at = ")
                .push_bind(ms(now))
                .push(", lease_owner = NULL, lease_expires_at = NULL WHERE state = 'running' AND lease_owner = ")
                .push_bind(worker)
                .push(" AND id IN (");
            let mut sep = q.separated(", ");
            for id in chunk {
                sep.push_bind(*id);
            }
            q.push(")");
            done += q.build().execute(&self.writer).await?.rows_affected();
        }
        Ok(done)
    }

    async fn fail_job(
        &self,
        worker: &str,
        id: i64,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        if retry_at.is_some() {
            let superseded = sqlx::query(concat!(
                "UPDATE jobs SET state = 'done', finished_at = ?1, updated_at = ?1, \
                 last_error = ?2 || ' (a queued job with the same dedupe key does its work)', \
                 lease_owner = NULL, lease_expires_at = NULL \
                 WHERE id = ?3 AND state = 'running' AND lease_owner = ?4 AND ",
                has_queued_twin!()
            ))
            .bind(ms(now))
            .bind(error)
            .bind(id)
            .bind(worker)
            .execute(&self.writer)
            .await?;
            if superseded.rows_affected() == 1 {
                return Ok(true);
            }
        }
        let result = match retry_at {
            Some(at) => sqlx::query(
                "UPDATE jobs SET state = 'queued', run_after = ?1, last_error = ?2, updated_at = ?3, \
                 lease_owner = NULL, lease_expires_at = NULL \
                 WHERE id = ?4 AND state = 'running' AND lease_owner = ?5",
            )
            .bind(ms(at)),
            None => sqlx::query(
                "UPDATE jobs SET state = 'dead', finished_at = ?1, last_error = ?2, updated_at = ?3, \
                 lease_owner = NULL, lease_expires_at = NULL \
                 WHERE id = ?4 AND state = 'running' AND lease_owner = ?5",
            )
            .bind(ms(now)),
        }
        .bind(error)
        .bind(ms(now))
        .bind(id)
        .bind(worker)
        .execute(&self.writer)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    async fn extend_leases(&self, worker: &str, lease_until: DateTime<Utc>) -> Result<u64> {
        let result = sqlx::query(
            "UPDATE jobs SET lease_expires_at = ?1 WHERE state = 'running' AND lease_owner = ?2",
        )
        .bind(ms(lease_until))
        .bind(worker)
        .execute(&self.writer)
        .await?;
        Ok(result.rows_affected())
    }

    async fn release_leases(&self, worker: &str, now: DateTime<Utc>) -> Result<u64> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let superseded = sqlx::query(concat!(
            "UPDATE jobs SET state = 'done', finished_at = ?1, updated_at = ?1, \
             last_error = 'released at shutdown; a queued job with the same dedupe key does its work', \
             lease_owner = NULL, lease_expires_at = NULL \
             WHERE state = 'running' AND lease_owner = ?2 AND (",
            has_queued_twin!(),
            " OR (jobs.dedupe_key IS NOT NULL AND EXISTS (SELECT 1 FROM jobs t \
             WHERE t.state = 'running' AND t.lease_owner = ?2 \
             AND t.dedupe_key = jobs.dedupe_key AND t.id < jobs.id)))"
        ))
        .bind(ms(now))
        .bind(worker)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let result = sqlx::query(
            "UPDATE jobs SET state = 'queued', attempts = MAX(attempts - 1, 0), lease_owner = NULL, \
             lease_expires_at = NULL, updated_at = ?1 WHERE state = 'running' AND lease_owner = ?2",
        )
        .bind(ms(now))
        .bind(worker)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(superseded + result.rows_affected())
    }

    async fn requeue_expired_leases(&self, now: DateTime<Utc>) -> Result<(u64, u64)> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let dead = sqlx::query(
            "UPDATE jobs SET state = 'dead', finished_at = ?1, updated_at = ?1, \
             last_error = 'worker lost (lease expired) on the last attempt', \
             lease_owner = NULL, lease_expires_at = NULL \
             WHERE state = 'running' AND lease_expires_at <= ?1 AND attempts >= max_attempts",
        )
        .bind(ms(now))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let superseded = sqlx::query(concat!(
            "UPDATE jobs SET state = 'done', finished_at = ?1, updated_at = ?1, \
             last_error = 'worker lost (lease expired); a queued job with the same dedupe key does its work', \
             lease_owner = NULL, lease_expires_at = NULL \
             WHERE state = 'running' AND lease_expires_at <= ?1 AND (",
            has_queued_twin!(),
            " OR (jobs.dedupe_key IS NOT NULL AND EXISTS (SELECT 1 FROM jobs t \
             WHERE t.state = 'running' AND t.lease_expires_at <= ?1 \
             AND t.dedupe_key = jobs.dedupe_key AND t.id < jobs.id)))"
        ))
        .bind(ms(now))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let requeued = sqlx::query(
            "UPDATE jobs SET state = 'queued', run_after = ?1, updated_at = ?1, \
             last_error = 'worker lost (lease expired)', lease_owner = NULL, lease_expires_at = NULL \
             WHERE state = 'running' AND lease_expires_at <= ?1",
        )
        .bind(ms(now))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok((superseded + requeued, dead))
    }

    async fn job_counts(&self) -> Result<JobCounts> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT state, COUNT(*) FROM jobs GROUP BY state")
                .fetch_all(&self.pool)
                .await?;
        Ok(JobCounts::from_rows(rows))
    }

    async fn get_job(&self, id: i64) -> Result<Option<Job>> {
        let sql = concat!("SELECT ", job_columns!(), " FROM jobs WHERE id = ?1");
        let row = sqlx::query(sql).bind(id).fetch_optional(&self.pool).await?;
        row.as_ref().map(job_from_row).transpose()
    }

    async fn list_jobs(&self, state: Option<JobState>, limit: u32) -> Result<Vec<Job>> {
        let sql = concat!(
            "SELECT ",
            job_columns!(),
            " FROM jobs WHERE (?1 IS NULL OR state = ?1) ORDER BY id DESC LIMIT ?2"
        );
        let rows = sqlx::query(sql)
            .bind(state.map(JobState::as_str))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(job_from_row).collect()
    }

    async fn retry_dead_job(&self, id: i64, now: DateTime<Utc>) -> Result<bool> {
        let superseded = sqlx::query(concat!(
            "UPDATE jobs SET state = 'done', updated_at = ?1, last_error = COALESCE(last_error, '') \
             || ' (retried: a queued job with the same dedupe key does its work)' \
             WHERE id = ?2 AND state = 'dead' AND ",
            has_queued_twin!()
        ))
        .bind(ms(now))
        .bind(id)
        .execute(&self.writer)
        .await?;
        if superseded.rows_affected() == 1 {
            return Ok(true);
        }
        let result = sqlx::query(
            "UPDATE jobs SET state = 'queued', attempts = 0, run_after = ?1, updated_at = ?1, \
             finished_at = NULL WHERE id = ?2 AND state = 'dead'",
        )
        .bind(ms(now))
        .bind(id)
        .execute(&self.writer)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    async fn prune_done_jobs(&self, before: DateTime<Utc>) -> Result<u64> {
        let result = sqlx::query("DELETE FROM jobs WHERE state = 'done' AND finished_at < ?1")
            .bind(ms(before))
            .execute(&self.writer)
            .await?;
        Ok(result.rows_affected())
    }

    async fn list_audit(&self, limit: u32) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT id, at, actor, action, subject, detail FROM audit_log ORDER BY id DESC LIMIT ?1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let detail: String = row.try_get("detail")?;
                Ok(AuditEntry {
                    id: row.try_get("id")?,
                    at: from_ms(row.try_get("at")?)?,
                    actor: row.try_get("actor")?,
                    action: row.try_get("action")?,
                    subject: row.try_get("subject")?,
                    detail: serde_json::from_str(&detail)
                        .map_err(|e| StoreError::InvalidData(format!("audit detail: {e}")))?,
                })
            })
            .collect()
    }
}

struct SqliteTx {
    tx: Transaction<'static, Sqlite>,
    feed: Feed,
    /// OKRs whose progress this transaction records, announced on commit.
    changed: Vec<i64>,
}

#[async_trait]
impl StoreTx for SqliteTx {
    async fn enqueue(&mut self, job: &NewJob, now: DateTime<Utc>) -> Result<Option<i64>> {
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO jobs (kind, payload, state, attempts, max_attempts, run_after, dedupe_key, \
             created_at, updated_at, integration) VALUES (?1, ?2, 'queued', 0, ?3, ?4, ?5, ?7, ?7, ?6) \
             ON CONFLICT DO NOTHING RETURNING id",
        )
        .bind(&job.kind)
        .bind(job.payload.to_string())
        .bind(i64::from(job.max_attempts))
        .bind(ms(job.run_after))
        .bind(&job.dedupe_key)
        .bind(job.integration.map(IntegrationKind::as_str))
        .bind(ms(now))
        .fetch_optional(&mut *self.tx)
        .await?;
        Ok(id)
    }

    async fn append_audit(&mut self, entry: &NewAuditEntry, now: DateTime<Utc>) -> Result<i64> {
        let id = sqlx::query_scalar(
            "INSERT INTO audit_log (at, actor, action, subject, detail) VALUES (?1, ?2, ?3, ?4, ?5) \
             RETURNING id",
        )
        .bind(ms(now))
        .bind(&entry.actor)
        .bind(&entry.action)
        .bind(&entry.subject)
        .bind(entry.detail.to_string())
        .fetch_one(&mut *self.tx)
        .await?;
        Ok(id)
    }

    async fn commit(self: Box<Self>) -> Result<()> {
        self.tx.commit().await?;
        for id in self.changed {
            self.feed.send(ProgressSignal::Changed(id));
        }
        Ok(())
    }
}

type Db = sqlx::Sqlite;
type DbRow = SqliteRow;

fn to_db(t: DateTime<Utc>) -> i64 {
    ms(t)
}

fn from_db(ms: i64) -> Result<DateTime<Utc>> {
    from_ms(ms)
}

fn opt_from_db(ms: Option<i64>) -> Result<Option<DateTime<Utc>>> {
    opt_from_ms(ms)
}

crate::accounts::impl_accounts!(SqliteStore, SqliteTx);

fn json_to_db(value: &serde_json::Value) -> String {
    value.to_string()
}

fn json_from_db(text: String) -> Result<serde_json::Value> {
    serde_json::from_str(&text).map_err(|e| StoreError::InvalidData(format!("JSON column: {e}")))
}

/// A link's items as one JSON array (see `goals::items_from_json`).
const LINK_ITEMS_AS_JSON: &str = "SELECT json_group_array(json_array(i.key, i.title, i.url, i.state, i.done, \
    i.tasks_total, i.tasks_done, i.time_spent_seconds, i.original_estimate_seconds, \
    i.remaining_estimate_seconds, i.story_points, i.custom_fields, i.remote_updated_at, \
    i.created_at, i.done_at)) \
    FROM (SELECT item_id FROM link_items WHERE link_id = $1 ORDER BY item_id) l JOIN items i ON i.id = l.item_id";

/// A link's items' numbers as one JSON array, concatenated from the stored
/// per-item tuples.
const LINK_ITEM_NUMBERS_AS_JSON: &str = "SELECT '[' || COALESCE(group_concat(i.numbers, ','), '') || ']' \
    FROM (SELECT item_id FROM link_items WHERE link_id = $1 ORDER BY item_id) l JOIN items i ON i.id = l.item_id";

crate::goals::impl_goals!(SqliteStore, SqliteTx);

crate::hooks::impl_hooks!(SqliteStore, SqliteTx);

crate::notify::impl_notify!(SqliteStore, SqliteTx);

crate::sync::impl_sync!(SqliteStore, SqliteTx);

crate::sync_people::impl_sync_people!(SqliteStore, SqliteTx);

crate::sync_initial::impl_sync_initial!(SqliteStore, SqliteTx);
crate::sync_releases::impl_sync_releases!(SqliteStore, SqliteTx);
crate::teams::impl_teams!(SqliteStore, SqliteTx);

crate::time::impl_time!(SqliteStore, SqliteTx);
