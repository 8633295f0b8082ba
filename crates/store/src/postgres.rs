//! PostgreSQL, for several Cairn instances on one database. Jobs are claimed
//! with `FOR UPDATE SKIP LOCKED`, so instances never take the same job.

use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgRow};
use sqlx::types::Json;
use sqlx::{Connection, Postgres, Row, Transaction};

use crate::error::integration_from;
use crate::feed::{self, Feed, ProgressSignal};
use crate::locks::{KeyLock, KeyedLocks, LockKey, Release};
use crate::{
    AuditEntry, Backend, IntegrationKind, Job, JobCounts, JobState, NewAuditEntry, NewJob,
    OpenOptions, Result, SchemaStatus, Store, StoreError, StoreTx, redact_url,
};

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

/// `writer` is the same pool as `pool`: PostgreSQL has row locks, so the
/// shared store code's writes need no lane of their own (SQLite's does).
pub(crate) struct PgStore {
    pool: PgPool,
    writer: PgPool,
    locks: KeyedLocks,
    locker: Arc<PgLocker>,
    feed: Feed,
    /// Started on the first [`Store::progress_feed`]: one `LISTEN`
    /// connection per process, and only in processes that show pages.
    listening: std::sync::OnceLock<()>,
}

fn job_from_row(row: &PgRow) -> Result<Job> {
    let state: String = row.try_get("state")?;
    let Json(payload) = row.try_get::<Json<serde_json::Value>, _>("payload")?;
    Ok(Job {
        id: row.try_get("id")?,
        kind: row.try_get("kind")?,
        payload,
        state: JobState::parse(&state)
            .ok_or_else(|| StoreError::InvalidData(format!("job state `{state}`")))?,
        attempts: row.try_get::<i32, _>("attempts")?.max(0) as u32,
        max_attempts: row.try_get::<i32, _>("max_attempts")?.max(0) as u32,
        run_after: row.try_get("run_after")?,
        lease_owner: row.try_get("lease_owner")?,
        lease_expires_at: row.try_get("lease_expires_at")?,
        last_error: row.try_get("last_error")?,
        dedupe_key: row.try_get("dedupe_key")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        integration: integration_from(row.try_get("integration")?)?,
        finished_at: row.try_get("finished_at")?,
    })
}

fn attempts_i32(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

impl PgStore {
    /// Connects, retrying with backoff until `connect_timeout`: a database
    /// that is still starting is waited for, one that never answers is
    /// reported with the last cause.
    pub(crate) async fn open(url: &str, options: &OpenOptions) -> Result<Self> {
        let connect = PgConnectOptions::from_str(url)?;
        if let Some(password) = url::Url::parse(url)
            .ok()
            .and_then(|u| u.password().map(str::to_owned))
        {
            cairn_core::secret::register(&password);
        }
        let started = Instant::now();
        let mut attempts = 0;
        let mut delay = Duration::from_millis(200);
        loop {
            attempts += 1;
            let remaining = options.connect_timeout.saturating_sub(started.elapsed());
            let result = PgPoolOptions::new()
                .max_connections(options.max_connections.max(1))
                .acquire_timeout(
                    remaining.clamp(Duration::from_millis(100), Duration::from_secs(1)),
                )
                .connect_with(connect.clone())
                .await;
            match result {
                Ok(pool) => {
                    return Ok(PgStore {
                        writer: pool.clone(),
                        pool,
                        locks: KeyedLocks::default(),
                        locker: Arc::new(PgLocker::new(connect)),
                        feed: Feed::default(),
                        listening: std::sync::OnceLock::new(),
                    });
                }
                Err(error) => {
                    let retryable = matches!(
                        error,
                        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::Tls(_)
                    ) || error
                        .as_database_error()
                        .and_then(|e| e.code())
                        .is_some_and(|code| code == "57P03"); // the database system is starting up
                    if !retryable || started.elapsed() + delay >= options.connect_timeout {
                        return Err(StoreError::Unreachable {
                            url: redact_url(url),
                            attempts,
                            seconds: started.elapsed().as_secs(),
                            cause: error.to_string(),
                        });
                    }
                    tracing::warn!(attempt = attempts, error = %error, "database not reachable yet; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(2));
                }
            }
        }
    }
}

fn latest_known() -> i64 {
    MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0)
}

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    async fn migrate(&self) -> Result<SchemaStatus> {
        // sqlx holds an advisory lock while migrating, so instances starting
        // together take turns.
        MIGRATOR
            .run(&self.pool)
            .await
            .map_err(|e| StoreError::from_migrate(e, latest_known()))?;
        self.schema_status().await
    }

    async fn schema_status(&self) -> Result<SchemaStatus> {
        let has_table: bool =
            sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
                .fetch_one(&self.pool)
                .await?;
        let applied = if has_table {
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
        if let Some(conn) = self.locker.conn.lock().await.0.take() {
            let _ = conn.close().await;
        }
    }

    fn progress_feed(&self) -> tokio::sync::broadcast::Receiver<ProgressSignal> {
        let receiver = self.feed.subscribe();
        self.listening.get_or_init(|| {
            tokio::spawn(listen(self.pool.clone(), self.feed.clone()));
        });
        receiver
    }

    async fn lock(&self, key: LockKey) -> Result<KeyLock> {
        let local = self.locks.lock(key).await;
        let generation = self.locker.acquire(key).await?;
        let release: Arc<dyn Release> = Arc::new(PgRelease {
            locker: self.locker.clone(),
            generation,
        });
        Ok(KeyLock::new(key, local, Some(release)))
    }

    async fn begin(&self) -> Result<Box<dyn StoreTx>> {
        let tx = self.pool.begin().await?;
        Ok(Box::new(PgTx {
            tx,
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
        let sql = concat!(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = $1, \
             lease_expires_at = $2, updated_at = $3 \
             WHERE id IN (SELECT id FROM jobs WHERE state = 'queued' AND (integration IS NULL OR integration IN \
                          (SELECT kind FROM integrations WHERE enabled)) AND run_after <= $3 \
                          ORDER BY run_after, id LIMIT $4 FOR UPDATE SKIP LOCKED) \
             RETURNING ",
            job_columns!(),
            ""
        );
        let rows = sqlx::query(sql)
            .bind(worker)
            .bind(lease_until)
            .bind(now)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        let mut jobs = rows.iter().map(job_from_row).collect::<Result<Vec<_>>>()?;
        jobs.sort_by_key(|j| (j.run_after, j.id));
        Ok(jobs)
    }

    async fn complete_jobs(&self, worker: &str, ids: &[i64], now: DateTime<Utc>) -> Result<u64> {
        if ids.is_empty() {
            return Ok(0);
        }
        let result = sqlx::query(
            "UPDATE jobs SET state = 'done', finished_at = $1, updated_at = $1, lease_owner = NULL, \
             lease_expires_at = NULL WHERE state = 'running' AND lease_owner = $2 AND id = ANY($3)",
        )
        .bind(now)
        .bind(worker)
        .bind(ids)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected())
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
                "UPDATE jobs SET state = 'done', finished_at = $1, updated_at = $1, \
                 last_error = $2 || ' (a queued job with the same dedupe key does its work)', \
                 lease_owner = NULL, lease_expires_at = NULL \
                 WHERE id = $3 AND state = 'running' AND lease_owner = $4 AND ",
                has_queued_twin!()
            ))
            .bind(now)
            .bind(error)
            .bind(id)
            .bind(worker)
            .execute(&self.pool)
            .await?;
            if superseded.rows_affected() == 1 {
                return Ok(true);
            }
        }
        let result = match retry_at {
            Some(at) => sqlx::query(
                "UPDATE jobs SET state = 'queued', run_after = $1, last_error = $2, updated_at = $3, \
                 lease_owner = NULL, lease_expires_at = NULL \
                 WHERE id = $4 AND state = 'running' AND lease_owner = $5",
            )
            .bind(at),
            None => sqlx::query(
                "UPDATE jobs SET state = 'dead', finished_at = $1, last_error = $2, updated_at = $3, \
                 lease_owner = NULL, lease_expires_at = NULL \
                 WHERE id = $4 AND state = 'running' AND lease_owner = $5",
            )
            .bind(now),
        }
        .bind(error)
        .bind(now)
        .bind(id)
        .bind(worker)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    async fn extend_leases(&self, worker: &str, lease_until: DateTime<Utc>) -> Result<u64> {
        let result = sqlx::query(
            "UPDATE jobs SET lease_expires_at = $1 WHERE state = 'running' AND lease_owner = $2",
        )
        .bind(lease_until)
        .bind(worker)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected())
    }

    async fn release_leases(&self, worker: &str, now: DateTime<Utc>) -> Result<u64> {
        let mut tx = self.pool.begin().await?;
        let superseded = sqlx::query(concat!(
            "UPDATE jobs SET state = 'done', finished_at = $1, updated_at = $1, \
             last_error = 'released at shutdown; a queued job with the same dedupe key does its work', \
             lease_owner = NULL, lease_expires_at = NULL \
             WHERE state = 'running' AND lease_owner = $2 AND (",
            has_queued_twin!(),
            " OR (jobs.dedupe_key IS NOT NULL AND EXISTS (SELECT 1 FROM jobs t \
             WHERE t.state = 'running' AND t.lease_owner = $2 \
             AND t.dedupe_key = jobs.dedupe_key AND t.id < jobs.id)))"
        ))
        .bind(now)
        .bind(worker)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let result = sqlx::query(
            "UPDATE jobs SET state = 'queued', attempts = GREATEST(attempts - 1, 0), lease_owner = NULL, \
             lease_expires_at = NULL, updated_at = $1 WHERE state = 'running' AND lease_owner = $2",
        )
        .bind(now)
        .bind(worker)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(superseded + result.rows_affected())
    }

    async fn requeue_expired_leases(&self, now: DateTime<Utc>) -> Result<(u64, u64)> {
        let mut tx = self.pool.begin().await?;
        let dead = sqlx::query(
            "UPDATE jobs SET state = 'dead', finished_at = $1, updated_at = $1, \
             last_error = 'worker lost (lease expired) on the last attempt', \
             lease_owner = NULL, lease_expires_at = NULL \
             WHERE state = 'running' AND lease_expires_at <= $1 AND attempts >= max_attempts",
        )
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let superseded = sqlx::query(concat!(
            "UPDATE jobs SET state = 'done', finished_at = $1, updated_at = $1, \
             last_error = 'worker lost (lease expired); a queued job with the same dedupe key does its work', \
             lease_owner = NULL, lease_expires_at = NULL \
             WHERE state = 'running' AND lease_expires_at <= $1 AND (",
            has_queued_twin!(),
            " OR (jobs.dedupe_key IS NOT NULL AND EXISTS (SELECT 1 FROM jobs t \
             WHERE t.state = 'running' AND t.lease_expires_at <= $1 \
             AND t.dedupe_key = jobs.dedupe_key AND t.id < jobs.id)))"
        ))
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let requeued = sqlx::query(
            "UPDATE jobs SET state = 'queued', run_after = $1, updated_at = $1, \
             last_error = 'worker lost (lease expired)', lease_owner = NULL, lease_expires_at = NULL \
             WHERE state = 'running' AND lease_expires_at <= $1",
        )
        .bind(now)
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
        let sql = concat!("SELECT ", job_columns!(), " FROM jobs WHERE id = $1");
        let row = sqlx::query(sql).bind(id).fetch_optional(&self.pool).await?;
        row.as_ref().map(job_from_row).transpose()
    }

    async fn list_jobs(&self, state: Option<JobState>, limit: u32) -> Result<Vec<Job>> {
        let sql = concat!(
            "SELECT ",
            job_columns!(),
            " FROM jobs WHERE ($1::text IS NULL OR state = $1) ORDER BY id DESC LIMIT $2"
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
            "UPDATE jobs SET state = 'done', updated_at = $1, last_error = COALESCE(last_error, '') \
             || ' (retried: a queued job with the same dedupe key does its work)' \
             WHERE id = $2 AND state = 'dead' AND ",
            has_queued_twin!()
        ))
        .bind(now)
        .bind(id)
        .execute(&self.pool)
        .await?;
        if superseded.rows_affected() == 1 {
            return Ok(true);
        }
        let result = sqlx::query(
            "UPDATE jobs SET state = 'queued', attempts = 0, run_after = $1, updated_at = $1, \
             finished_at = NULL WHERE id = $2 AND state = 'dead'",
        )
        .bind(now)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    async fn prune_done_jobs(&self, before: DateTime<Utc>) -> Result<u64> {
        let result = sqlx::query("DELETE FROM jobs WHERE state = 'done' AND finished_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await?;
        Ok(result.rows_affected())
    }

    async fn list_audit(&self, limit: u32) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT id, at, actor, action, subject, detail FROM audit_log ORDER BY id DESC LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let Json(detail) = row.try_get::<Json<serde_json::Value>, _>("detail")?;
                Ok(AuditEntry {
                    id: row.try_get("id")?,
                    at: row.try_get("at")?,
                    actor: row.try_get("actor")?,
                    action: row.try_get("action")?,
                    subject: row.try_get("subject")?,
                    detail,
                })
            })
            .collect()
    }
}

/// PostgreSQL's side of [`Store::lock`]: one connection per process, kept
/// for advisory locks only (see [`crate::locks`]).
pub(crate) struct PgLocker {
    connect: PgConnectOptions,
    /// The lock connection (opened on first use, again after it broke) and
    /// how many times it was opened: locks taken on an older connection
    /// died with it and are not given back on the new one.
    conn: tokio::sync::Mutex<(Option<PgConnection>, u64)>,
}

/// Longest pause between two tries of a lock another instance holds.
const LOCK_RETRY_MAX: Duration = Duration::from_millis(20);

impl PgLocker {
    fn new(connect: PgConnectOptions) -> Self {
        PgLocker {
            connect,
            conn: tokio::sync::Mutex::new((None, 0)),
        }
    }

    /// Takes `key` for this session, asking again after growing pauses
    /// while another session holds it. Returns the connection's generation.
    async fn acquire(&self, key: LockKey) -> Result<u64> {
        let mut pause = Duration::from_millis(1);
        loop {
            let (taken, generation) = self.try_acquire(key).await?;
            if taken {
                return Ok(generation);
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(LOCK_RETRY_MAX);
        }
    }

    async fn try_acquire(&self, key: LockKey) -> Result<(bool, u64)> {
        let mut guard = self.conn.lock().await;
        if guard.0.is_none() {
            let conn = PgConnection::connect_with(&self.connect).await?;
            guard.0 = Some(conn);
            guard.1 += 1;
        }
        let generation = guard.1;
        let Some(conn) = guard.0.as_mut() else {
            return Err(StoreError::InvalidData(
                "lock connection missing".to_owned(),
            ));
        };
        match sqlx::query_scalar::<_, bool>("SELECT pg_try_advisory_lock($1)")
            .bind(key.advisory_key())
            .fetch_one(conn)
            .await
        {
            Ok(taken) => Ok((taken, generation)),
            Err(error) => {
                // Broken (the server restarted, say): every lock of this
                // session is gone; open a new one next time.
                tracing::warn!(error = %error, "the advisory lock connection failed; reconnecting on next use");
                guard.0 = None;
                Err(error.into())
            }
        }
    }

    async fn release(&self, key: LockKey, generation: u64) {
        let mut guard = self.conn.lock().await;
        if guard.1 != generation {
            return;
        }
        let Some(conn) = guard.0.as_mut() else {
            return;
        };
        if let Err(error) = sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(key.advisory_key())
            .execute(conn)
            .await
        {
            tracing::warn!(error = %error, "giving back an advisory lock failed; reconnecting on next use");
            guard.0 = None;
        }
    }
}

/// Gives one key back on the connection generation that took it.
struct PgRelease {
    locker: Arc<PgLocker>,
    generation: u64,
}

impl Release for PgRelease {
    fn release(&self, key: LockKey) {
        let locker = self.locker.clone();
        let generation = self.generation;
        // Without a runtime the process is ending: the connection closes
        // and PostgreSQL lets go of every lock it held.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move { locker.release(key, generation).await });
        }
    }
}

/// Relays `NOTIFY cairn_progress` from every instance to this process's
/// feed until the pool closes. A lost connection is opened again and
/// announced as [`ProgressSignal::Resync`], since what was sent meanwhile
/// is gone.
async fn listen(pool: PgPool, feed: Feed) {
    let mut pause = Duration::from_millis(200);
    while !pool.is_closed() {
        let mut listener = match sqlx::postgres::PgListener::connect_with(&pool).await {
            Ok(listener) => listener,
            Err(error) => {
                tracing::debug!(error = %error, "cannot listen for progress changes yet");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        if let Err(error) = listener.listen(feed::CHANNEL).await {
            tracing::debug!(error = %error, "LISTEN failed");
            tokio::time::sleep(pause).await;
            continue;
        }
        pause = Duration::from_millis(200);
        // Anything committed before LISTEN took effect is unknown.
        feed.send(ProgressSignal::Resync);
        loop {
            match listener.try_recv().await {
                Ok(Some(notification)) => {
                    for id in feed::parse(notification.payload()) {
                        feed.send(ProgressSignal::Changed(id));
                    }
                }
                Ok(None) => feed.send(ProgressSignal::Resync),
                Err(error) => {
                    if !pool.is_closed() {
                        tracing::warn!(error = %error, "listening for progress changes failed; listening again");
                    }
                    break;
                }
            }
        }
    }
}

struct PgTx {
    tx: Transaction<'static, Postgres>,
    /// OKRs whose progress this transaction records, announced with it.
    changed: Vec<i64>,
}

#[async_trait]
impl StoreTx for PgTx {
    async fn enqueue(&mut self, job: &NewJob, now: DateTime<Utc>) -> Result<Option<i64>> {
        // A job waiting under the same key is locked (a no-op update), not
        // skipped: until this transaction commits no worker can claim it
        // (claims skip locked rows), so whatever this transaction writes
        // for that job (a webhook delivery) is there when it runs. Had a
        // worker claimed it first, the key is free and this inserts.
        let row: Option<(i64, bool)> = sqlx::query_as(
            "INSERT INTO jobs (kind, payload, state, attempts, max_attempts, run_after, dedupe_key, \
             created_at, updated_at, integration) VALUES ($1, $2, 'queued', 0, $3, $4, $5, $7, $7, $6) \
             ON CONFLICT (dedupe_key) WHERE state = 'queued' AND dedupe_key IS NOT NULL \
             DO UPDATE SET dedupe_key = EXCLUDED.dedupe_key RETURNING id, xmax = 0",
        )
        .bind(&job.kind)
        .bind(Json(&job.payload))
        .bind(attempts_i32(job.max_attempts))
        .bind(job.run_after)
        .bind(&job.dedupe_key)
        .bind(job.integration.map(IntegrationKind::as_str))
        .bind(now)
        .fetch_optional(&mut *self.tx)
        .await?;
        Ok(row.and_then(|(id, inserted)| inserted.then_some(id)))
    }

    async fn append_audit(&mut self, entry: &NewAuditEntry, now: DateTime<Utc>) -> Result<i64> {
        let id = sqlx::query_scalar(
            "INSERT INTO audit_log (at, actor, action, subject, detail) VALUES ($1, $2, $3, $4, $5) \
             RETURNING id",
        )
        .bind(now)
        .bind(&entry.actor)
        .bind(&entry.action)
        .bind(&entry.subject)
        .bind(Json(&entry.detail))
        .fetch_one(&mut *self.tx)
        .await?;
        Ok(id)
    }

    async fn commit(mut self: Box<Self>) -> Result<()> {
        // Delivered to every listener when, and only if, this commits.
        self.changed.sort_unstable();
        self.changed.dedup();
        for payload in feed::payloads(&self.changed) {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(feed::CHANNEL)
                .bind(payload)
                .execute(&mut *self.tx)
                .await?;
        }
        self.tx.commit().await?;
        Ok(())
    }
}

type Db = sqlx::Postgres;
type DbRow = PgRow;

fn to_db(t: DateTime<Utc>) -> DateTime<Utc> {
    t
}

fn from_db(t: DateTime<Utc>) -> Result<DateTime<Utc>> {
    Ok(t)
}

fn opt_from_db(t: Option<DateTime<Utc>>) -> Result<Option<DateTime<Utc>>> {
    Ok(t)
}

crate::accounts::impl_accounts!(PgStore, PgTx);

fn json_to_db(value: &serde_json::Value) -> Json<&serde_json::Value> {
    Json(value)
}

fn json_from_db(value: Json<serde_json::Value>) -> Result<serde_json::Value> {
    Ok(value.0)
}

/// A link's items as one JSON array (see `goals::items_from_json`).
const LINK_ITEMS_AS_JSON: &str = "SELECT COALESCE(json_agg(json_build_array(i.key, i.title, i.url, i.state, i.done, \
    i.tasks_total, i.tasks_done, i.time_spent_seconds, i.original_estimate_seconds, \
    i.remaining_estimate_seconds, i.story_points, i.custom_fields, i.remote_updated_at, \
    i.created_at, i.done_at)), '[]')::text \
    FROM (SELECT item_id FROM link_items WHERE link_id = $1 ORDER BY item_id) l JOIN items i ON i.id = l.item_id";

/// A link's items' numbers as one JSON array, concatenated from the stored
/// per-item tuples.
const LINK_ITEM_NUMBERS_AS_JSON: &str = "SELECT '[' || COALESCE(string_agg(i.numbers, ',' ORDER BY l.item_id), '') || ']' \
    FROM link_items l JOIN items i ON i.id = l.item_id WHERE l.link_id = $1";

crate::goals::impl_goals!(PgStore, PgTx);

crate::hooks::impl_hooks!(PgStore, PgTx);

crate::notify::impl_notify!(PgStore, PgTx);

crate::sync::impl_sync!(PgStore, PgTx);

crate::sync_people::impl_sync_people!(PgStore, PgTx);

crate::sync_initial::impl_sync_initial!(PgStore, PgTx);
crate::sync_releases::impl_sync_releases!(PgStore, PgTx);
crate::teams::impl_teams!(PgStore, PgTx);

crate::time::impl_time!(PgStore, PgTx);
