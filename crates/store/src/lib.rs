//! Cairn's storage. One [`Store`] trait, two implementations: SQLite (the
//! embedded default) and PostgreSQL (for several instances on one database).
//! Each backend keeps its own migrations under `migrations/`.
//!
//! Every change that causes background work goes through a [`StoreTx`], so the
//! job is enqueued in the same transaction as the change: both happen or
//! neither does.

/// The columns of `jobs` in the order both backends read them; a macro so
/// that queries stay string literals.
macro_rules! job_columns {
    () => {
        "id, kind, payload, state, attempts, max_attempts, run_after, lease_owner, \
         lease_expires_at, last_error, dedupe_key, created_at, updated_at, finished_at, integration"
    };
}

/// The condition on a `jobs` row that a queued job with the same dedupe key
/// exists: that job will do this one's work, and the unique index allows
/// one queued job per key, so this one is finished as superseded instead of
/// queued again. Both backends; a macro so that queries stay literals.
macro_rules! has_queued_twin {
    () => {
        "(jobs.dedupe_key IS NOT NULL AND EXISTS (SELECT 1 FROM jobs q \
         WHERE q.state = 'queued' AND q.dedupe_key = jobs.dedupe_key))"
    };
}

mod accounts;
mod error;
mod feed;
pub mod goals;
pub mod hooks;
pub mod locks;
pub mod notify;
mod postgres;
mod sqlite;
pub mod sync;
pub mod sync_initial;
pub mod sync_people;
pub mod sync_releases;
pub mod teams;
pub mod time;
mod types;

#[cfg(feature = "test-support")]
pub mod testing;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

pub use accounts::{AccountStore, AccountTx};
pub use cairn_core::jobs::JobState;
pub use error::StoreError;
pub use feed::ProgressSignal;
pub use hooks::{HookStore, HookTx};
pub use locks::{KeyLock, LockKey};
pub use notify::{NotifyStore, NotifyTx};
pub use sync::{SyncStore, SyncTx};
pub use sync_initial::{SyncInitialStore, SyncInitialTx};
pub use sync_people::{SyncPeopleStore, SyncPeopleTx};
pub use sync_releases::{SyncReleaseStore, SyncReleaseTx};
pub use teams::{Team, TeamStore, TeamTx};
pub use time::{TimeStore, TimeTx};
pub use types::*;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Which database a store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// How to open a store.
#[derive(Debug, Clone)]
pub struct OpenOptions {
    /// Keep retrying an unreachable database for this long before giving up.
    pub connect_timeout: Duration,
    /// Most connections in the pool.
    pub max_connections: u32,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            connect_timeout: Duration::from_secs(10),
            max_connections: 10,
        }
    }
}

/// Opens the store a database URL names: `sqlite://PATH` (or `sqlite:PATH`)
/// or `postgres://...` (`postgresql://` too). Does not migrate.
pub async fn open(url: &str, options: &OpenOptions) -> Result<Arc<dyn Store>> {
    match backend_of(url)? {
        Backend::Sqlite => Ok(Arc::new(sqlite::SqliteStore::open(url, options).await?)),
        Backend::Postgres => Ok(Arc::new(postgres::PgStore::open(url, options).await?)),
    }
}

/// Tells which backend a database URL is for, or why it is not usable.
pub fn backend_of(url: &str) -> Result<Backend> {
    if url.starts_with("sqlite:") {
        Ok(Backend::Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Backend::Postgres)
    } else {
        Err(StoreError::UnsupportedUrl(redact_url(url)))
    }
}

/// A database URL fit for messages and logs: the password is replaced.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("*****"));
            parsed.to_string()
        }
        Ok(_) => url.to_owned(),
        Err(_) => "<unparseable database URL>".to_owned(),
    }
}

/// Where the database's schema stands against what this build knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchemaStatus {
    /// Highest migration applied to the database (0 when none).
    pub applied: i64,
    /// Highest migration this build carries.
    pub latest_known: i64,
}

impl SchemaStatus {
    pub fn is_current(&self) -> bool {
        self.applied == self.latest_known
    }
}

/// Everything Cairn keeps. Implemented once per backend; the conformance
/// suite in `tests/` runs the same assertions against both.
#[async_trait]
pub trait Store:
    AccountStore
    + goals::GoalStore
    + HookStore
    + NotifyStore
    + SyncStore
    + SyncPeopleStore
    + SyncInitialStore
    + SyncReleaseStore
    + TeamStore
    + TimeStore
    + Send
    + Sync
    + 'static
{
    fn backend(&self) -> Backend;

    /// Applies pending migrations. Refuses, without touching the database, a
    /// schema that is newer than this build, altered, or left half-applied.
    async fn migrate(&self) -> Result<SchemaStatus>;

    /// Where the schema stands, without changing anything.
    async fn schema_status(&self) -> Result<SchemaStatus>;

    /// A round trip to the database.
    async fn ping(&self) -> Result<()>;

    /// Closes the pool, waiting for connections in use to be returned.
    async fn close(&self);

    /// Starts a transaction for changes that must happen together. Dropping
    /// it without [`StoreTx::commit`] rolls everything back.
    async fn begin(&self) -> Result<Box<dyn StoreTx>>;

    /// Waits until this task alone, in every instance on this database,
    /// holds `key` (see [`locks`]); held until the guard is dropped. Commit
    /// what is written under it first. It is no transaction: it may be
    /// held across a remote call, and dies with the process.
    async fn lock(&self, key: LockKey) -> Result<KeyLock>;

    /// Progress changes as they commit, from every instance on this
    /// database (see [`feed`]'s module documentation); a receiver that
    /// lags behind is told so by `recv`.
    fn progress_feed(&self) -> tokio::sync::broadcast::Receiver<ProgressSignal>;

    /// Enqueues one job in a transaction of its own. Returns `None` when a
    /// queued job with the same dedupe key already exists.
    async fn enqueue(&self, job: NewJob, now: DateTime<Utc>) -> Result<Option<i64>> {
        let mut tx = self.begin().await?;
        let id = tx.enqueue(&job, now).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Enqueues many jobs in one transaction.
    async fn enqueue_many(&self, jobs: &[NewJob], now: DateTime<Utc>) -> Result<usize> {
        let mut tx = self.begin().await?;
        let mut inserted = 0;
        for job in jobs {
            if tx.enqueue(job, now).await?.is_some() {
                inserted += 1;
            }
        }
        tx.commit().await?;
        Ok(inserted)
    }

    /// Leases up to `limit` due jobs to `worker` until `lease_until`, oldest
    /// first. Each claim counts as an attempt. No job is leased to two
    /// workers at once, on either backend.
    async fn claim_jobs(
        &self,
        worker: &str,
        limit: u32,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Vec<Job>>;

    /// Marks jobs this worker still holds as done; returns how many it held.
    async fn complete_jobs(&self, worker: &str, ids: &[i64], now: DateTime<Utc>) -> Result<u64>;

    /// Records a failed attempt: queued again at `retry_at`, or dead when
    /// `retry_at` is `None`. Returns false when the worker no longer held it.
    ///
    /// Every call that puts a job back in the queue (this one, the lease
    /// calls below, [`Store::retry_dead_job`]) finishes it as done instead
    /// when a queued job with the same dedupe key exists (that one does the
    /// work; at most one may wait per key), its last error saying so.
    async fn fail_job(
        &self,
        worker: &str,
        id: i64,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<bool>;

    /// Extends every lease `worker` holds; the heartbeat of a live worker.
    async fn extend_leases(&self, worker: &str, lease_until: DateTime<Utc>) -> Result<u64>;

    /// Gives back every job `worker` holds, as if never attempted: used at a
    /// graceful shutdown so other instances pick them up at once.
    async fn release_leases(&self, worker: &str, now: DateTime<Utc>) -> Result<u64>;

    /// Requeues jobs whose lease expired (their worker died); a job that has
    /// used all its attempts this way becomes dead. Returns (requeued, dead).
    async fn requeue_expired_leases(&self, now: DateTime<Utc>) -> Result<(u64, u64)>;

    /// Number of jobs in each state.
    async fn job_counts(&self) -> Result<JobCounts>;

    async fn get_job(&self, id: i64) -> Result<Option<Job>>;

    /// Newest first, optionally only one state.
    async fn list_jobs(&self, state: Option<JobState>, limit: u32) -> Result<Vec<Job>>;

    /// Puts a dead job back in the queue with fresh attempts.
    async fn retry_dead_job(&self, id: i64, now: DateTime<Utc>) -> Result<bool>;

    /// Deletes done jobs finished before `before`; returns how many.
    async fn prune_done_jobs(&self, before: DateTime<Utc>) -> Result<u64>;

    /// Newest first.
    async fn list_audit(&self, limit: u32) -> Result<Vec<AuditEntry>>;
}

/// A transaction: domain changes and the jobs they cause, committed together.
#[async_trait]
pub trait StoreTx:
    AccountTx
    + goals::GoalTx
    + HookTx
    + NotifyTx
    + SyncTx
    + SyncPeopleTx
    + SyncInitialTx
    + SyncReleaseTx
    + TeamTx
    + TimeTx
    + Send
{
    async fn enqueue(&mut self, job: &NewJob, now: DateTime<Utc>) -> Result<Option<i64>>;
    async fn append_audit(&mut self, entry: &NewAuditEntry, now: DateTime<Utc>) -> Result<i64>;
    async fn commit(self: Box<Self>) -> Result<()>;
}
