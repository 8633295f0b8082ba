//! The job runner: claims due jobs from the store in batches, runs each with
//! the handler registered for its kind, and records the outcome.
//!
//! Guarantees, on both backends: a job runs on one worker at a time (leases,
//! `SKIP LOCKED` on PostgreSQL); a worker that dies loses its leases when they
//! expire and the jobs run again elsewhere; a failed job is retried with
//! exponential backoff and jitter until its attempts are used up, then kept as
//! dead with its last error; a graceful shutdown gives its leases back.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use cairn_core::jobs::{FailureOutcome, RetryPolicy};
use cairn_store::{Job, Store, StoreError};
use chrono::Utc;
use tokio::sync::{Notify, Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

/// Why a job attempt failed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Worth another attempt (a remote service was down, a rate limit).
    #[error("{0}")]
    Retry(String),
    /// Will never succeed (bad payload): the job is dead at once.
    #[error("{0}")]
    Permanent(String),
}

/// Runs jobs of one kind.
#[async_trait]
pub trait JobHandler: Send + Sync + 'static {
    async fn run(&self, job: &Job) -> Result<(), JobError>;
}

/// The kind of the job that does nothing: it measures the queue itself
/// (benchmarks, `cairn admin jobs noop`) and proves workers are alive.
pub const NOOP_KIND: &str = "noop";

struct Noop;

#[async_trait]
impl JobHandler for Noop {
    async fn run(&self, _job: &Job) -> Result<(), JobError> {
        Ok(())
    }
}

/// Handlers by job kind.
#[derive(Clone, Default)]
pub struct Registry {
    handlers: HashMap<String, Arc<dyn JobHandler>>,
}

impl Registry {
    /// A registry with the built-in kinds.
    pub fn with_builtins() -> Self {
        let mut registry = Registry::default();
        registry.register(NOOP_KIND, Noop);
        registry
    }

    pub fn register(&mut self, kind: &str, handler: impl JobHandler) {
        self.handlers.insert(kind.to_owned(), Arc::new(handler));
    }

    fn get(&self, kind: &str) -> Option<Arc<dyn JobHandler>> {
        self.handlers.get(kind).cloned()
    }
}

/// How a worker behaves.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Jobs run at once by this worker.
    pub concurrency: usize,
    /// Most jobs claimed in one round trip.
    pub batch_size: u32,
    /// How long a claimed job stays ours without a heartbeat.
    pub lease: Duration,
    /// How long to wait before looking again when the queue was empty.
    pub poll_interval: Duration,
    /// How often expired leases are requeued and old done jobs pruned.
    pub maintenance_interval: Duration,
    /// How long done jobs are kept.
    pub done_retention: Duration,
    /// At shutdown, how long in-flight jobs may take before their leases are
    /// given back anyway.
    pub shutdown_grace: Duration,
    pub retry: RetryPolicy,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            concurrency: 16,
            batch_size: 100,
            lease: Duration::from_secs(60),
            poll_interval: Duration::from_millis(200),
            maintenance_interval: Duration::from_secs(15),
            done_retention: Duration::from_secs(24 * 3600),
            shutdown_grace: Duration::from_secs(10),
            retry: RetryPolicy::default(),
        }
    }
}

/// What a worker did before it stopped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkerReport {
    pub completed: u64,
    pub failed: u64,
    pub released: u64,
}

/// Wakes a worker in this process as soon as a job is enqueued, instead of
/// at its next poll.
#[derive(Clone, Default)]
pub struct JobSignal(Arc<Notify>);

impl JobSignal {
    pub fn notify(&self) {
        self.0.notify_one();
    }
}

enum Outcome {
    Done(Job),
    Failed(Job, JobError),
}

/// One worker: a claim loop, a completer that records outcomes in batches,
/// a heartbeat that keeps leases alive, and periodic maintenance.
pub struct Worker {
    store: Arc<dyn Store>,
    registry: Registry,
    config: WorkerConfig,
    id: String,
    signal: JobSignal,
}

impl Worker {
    pub fn new(
        store: Arc<dyn Store>,
        registry: Registry,
        config: WorkerConfig,
        id: String,
        signal: JobSignal,
    ) -> Self {
        Worker {
            store,
            registry,
            config,
            id,
            signal,
        }
    }

    /// A worker id unique across hosts and restarts.
    pub fn new_id() -> String {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "host".to_owned());
        format!(
            "{host}-{}-{:08x}",
            std::process::id(),
            rand::random::<u32>()
        )
    }

    /// Runs until `shutdown` is cancelled, then finishes or gives back what
    /// it holds.
    pub async fn run(self, shutdown: CancellationToken) -> Result<WorkerReport, StoreError> {
        let concurrency = self.config.concurrency.max(1);
        let permits = Arc::new(Semaphore::new(concurrency));
        let (outcomes_tx, outcomes_rx) = mpsc::unbounded_channel::<Outcome>();
        let completer = tokio::spawn(complete_outcomes(
            self.store.clone(),
            self.id.clone(),
            self.config.retry,
            outcomes_rx,
        ));
        let background = CancellationToken::new();
        let heartbeat = tokio::spawn(heartbeat(
            self.store.clone(),
            self.id.clone(),
            self.config.lease,
            background.clone(),
        ));
        let maintenance = tokio::spawn(maintain(
            self.store.clone(),
            self.config.clone(),
            background.clone(),
        ));

        while !shutdown.is_cancelled() {
            // Wait for a free slot before claiming, so nothing claimed waits.
            let first = tokio::select! {
                p = permits.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
                _ = shutdown.cancelled() => break,
            };
            let free = 1 + permits.available_permits();
            let limit = (free as u32).min(self.config.batch_size.max(1));
            let now = Utc::now();
            let lease_until = now + chrono_duration(self.config.lease);
            let jobs = match self
                .store
                .claim_jobs(&self.id, limit, now, lease_until)
                .await
            {
                Ok(jobs) => jobs,
                Err(error) => {
                    tracing::warn!(error = %error, "claiming jobs failed; will retry");
                    drop(first);
                    wait(&shutdown, &self.signal, self.config.poll_interval).await;
                    continue;
                }
            };
            if jobs.is_empty() {
                drop(first);
                wait(&shutdown, &self.signal, self.config.poll_interval).await;
                continue;
            }
            let mut first = Some(first);
            for job in jobs {
                let permit = match first.take() {
                    Some(p) => p,
                    None => match permits.clone().acquire_owned().await {
                        Ok(p) => p,
                        Err(_) => break,
                    },
                };
                let handler = self.registry.get(&job.kind);
                let outcomes = outcomes_tx.clone();
                tokio::spawn(async move {
                    let outcome = execute(handler, job).await;
                    let _ = outcomes.send(outcome);
                    drop(permit);
                });
            }
        }

        // Shutdown: stop claiming (done above), let in-flight jobs finish
        // within the grace period, record their outcomes, give back the rest.
        let all = u32::try_from(concurrency).unwrap_or(u32::MAX);
        let finished =
            tokio::time::timeout(self.config.shutdown_grace, permits.acquire_many(all)).await;
        if finished.is_err() {
            tracing::warn!(
                "jobs still running after the shutdown grace period; releasing their leases"
            );
        }
        drop(outcomes_tx);
        let (completed, failed) = match finished {
            // Every job task has sent its outcome: the completer drains them all.
            Ok(_) => completer.await.unwrap_or_default(),
            // Tasks still hold senders; record what has arrived, then stop.
            Err(_) => {
                completer.abort();
                (0, 0)
            }
        };
        background.cancel();
        let _ = heartbeat.await;
        let _ = maintenance.await;
        let released = self.store.release_leases(&self.id, Utc::now()).await?;
        if released > 0 {
            tracing::info!(released, "released job leases for other workers");
        }
        Ok(WorkerReport {
            completed,
            failed,
            released,
        })
    }
}

fn chrono_duration(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

async fn wait(shutdown: &CancellationToken, signal: &JobSignal, poll: Duration) {
    tokio::select! {
        _ = shutdown.cancelled() => {}
        _ = signal.0.notified() => {}
        _ = tokio::time::sleep(poll) => {}
    }
}

async fn execute(handler: Option<Arc<dyn JobHandler>>, job: Job) -> Outcome {
    if job.attempts > job.max_attempts {
        let error = JobError::Permanent(format!(
            "attempts used up ({} of {})",
            job.max_attempts, job.max_attempts
        ));
        return Outcome::Failed(job, error);
    }
    let Some(handler) = handler else {
        let error = JobError::Permanent(format!("no handler for job kind `{}`", job.kind));
        return Outcome::Failed(job, error);
    };
    // A panicking handler must not take the worker down: run it as a task.
    let shared = Arc::new(job);
    let task_job = shared.clone();
    let result = tokio::spawn(async move { handler.run(&task_job).await }).await;
    let job = Arc::try_unwrap(shared).unwrap_or_else(|arc| (*arc).clone());
    tracing::debug!(target: "cairn::jobs", job_id = job.id, kind = %job.kind, attempt = job.attempts, ok = matches!(result, Ok(Ok(()))), "job ran");
    match result {
        Ok(Ok(())) => Outcome::Done(job),
        Ok(Err(error)) => Outcome::Failed(job, error),
        Err(join_error) => Outcome::Failed(
            job,
            JobError::Retry(format!("handler panicked: {join_error}")),
        ),
    }
}

/// Records outcomes; successes are batched into one statement.
async fn complete_outcomes(
    store: Arc<dyn Store>,
    worker: String,
    retry: RetryPolicy,
    mut outcomes: mpsc::UnboundedReceiver<Outcome>,
) -> (u64, u64) {
    let (mut completed, mut failed) = (0u64, 0u64);
    let mut buffer = Vec::with_capacity(256);
    while outcomes.recv_many(&mut buffer, 500).await > 0 {
        let mut done = Vec::with_capacity(buffer.len());
        for outcome in buffer.drain(..) {
            match outcome {
                Outcome::Done(job) => done.push(job),
                Outcome::Failed(job, error) => {
                    failed += 1;
                    record_failure(&*store, &worker, &retry, &job, &error).await;
                }
            }
        }
        if done.is_empty() {
            continue;
        }
        let ids: Vec<i64> = done.iter().map(|j| j.id).collect();
        match persistently(|| store.complete_jobs(&worker, &ids, Utc::now())).await {
            Ok(n) => {
                completed += n;
                if n < ids.len() as u64 {
                    tracing::warn!(
                        lost = ids.len() as u64 - n,
                        "some jobs finished after their lease was lost; another worker took them"
                    );
                }
                for job in &done {
                    metrics::counter!("cairn_jobs_finished_total", "kind" => job.kind.clone(), "outcome" => "done").increment(1);
                }
            }
            Err(error) => {
                // The heartbeat keeps the leases while this process lives;
                // they expire once it stops, and the jobs run again.
                tracing::error!(error = %error, count = ids.len(), "recording completed jobs failed");
            }
        }
    }
    (completed, failed)
}

async fn record_failure(
    store: &dyn Store,
    worker: &str,
    retry: &RetryPolicy,
    job: &Job,
    error: &JobError,
) {
    let now = Utc::now();
    let outcome = match error {
        JobError::Permanent(_) => FailureOutcome::Dead,
        JobError::Retry(_) => retry.after_failure(job.attempts, now, rand::random::<f64>()),
    };
    let retry_at = match outcome {
        FailureOutcome::RetryAt(at) => Some(at),
        FailureOutcome::Dead => None,
    };
    let message = error.to_string();
    match persistently(|| store.fail_job(worker, job.id, &message, retry_at, now)).await {
        Ok(_) => {
            let label = if retry_at.is_some() { "retry" } else { "dead" };
            metrics::counter!("cairn_jobs_finished_total", "kind" => job.kind.clone(), "outcome" => label).increment(1);
            match retry_at {
                Some(at) => {
                    tracing::warn!(job_id = job.id, kind = %job.kind, attempt = job.attempts, error = %message, retry_at = %at, "job failed; will retry")
                }
                None => {
                    tracing::error!(job_id = job.id, kind = %job.kind, attempt = job.attempts, error = %message, "job failed for good; kept as dead")
                }
            }
        }
        Err(store_error) => {
            tracing::error!(job_id = job.id, error = %store_error, "recording a failed job failed")
        }
    }
}

/// Runs a store call until it succeeds, for up to [`PERSIST_FOR`]: an
/// outcome not recorded leaves its job running under this worker's lease,
/// which the heartbeat keeps extending, so a database restart must not
/// lose it.
async fn persistently<T, F, Fut>(mut call: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, StoreError>>,
{
    let started = tokio::time::Instant::now();
    let mut pause = Duration::from_millis(100);
    loop {
        match call().await {
            Ok(value) => return Ok(value),
            Err(error) if started.elapsed() + pause > PERSIST_FOR => return Err(error),
            Err(error) => {
                tracing::warn!(error = %error, "recording a job's outcome failed; trying again");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// How long [`persistently`] keeps trying.
const PERSIST_FOR: Duration = Duration::from_secs(300);

async fn heartbeat(
    store: Arc<dyn Store>,
    worker: String,
    lease: Duration,
    stop: CancellationToken,
) {
    let every = (lease / 3).max(Duration::from_millis(100));
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
        let until = Utc::now() + chrono_duration(lease);
        if let Err(error) = store.extend_leases(&worker, until).await {
            tracing::warn!(error = %error, "extending job leases failed");
        }
    }
}

async fn maintain(store: Arc<dyn Store>, config: WorkerConfig, stop: CancellationToken) {
    loop {
        let now = Utc::now();
        match store.requeue_expired_leases(now).await {
            Ok((0, 0)) => {}
            Ok((requeued, dead)) => {
                tracing::warn!(
                    requeued,
                    dead,
                    "took back jobs from workers whose lease expired"
                )
            }
            Err(error) => tracing::warn!(error = %error, "requeueing expired leases failed"),
        }
        if let Err(error) = store
            .prune_done_jobs(now - chrono_duration(config.done_retention))
            .await
        {
            tracing::warn!(error = %error, "pruning done jobs failed");
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(config.maintenance_interval) => {}
        }
    }
}
