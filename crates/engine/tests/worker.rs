//! The job runner against real stores: retries, dead jobs, crashed workers'
//! leases, graceful shutdown.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use cairn_core::jobs::RetryPolicy;
use cairn_engine::jobs::{JobError, JobHandler, JobSignal, Registry, Worker, WorkerConfig};
use cairn_store::testing::TestDb;
use cairn_store::{Backend, Job, JobState, NewJob, Store};
use chrono::Utc;
use serde_json::json;
use tokio_util::sync::CancellationToken;

/// Fails with a retryable error until its `attempt`-th run.
struct FlakyUntil(u32);

#[async_trait]
impl JobHandler for FlakyUntil {
    async fn run(&self, job: &Job) -> Result<(), JobError> {
        if job.attempts < self.0 {
            Err(JobError::Retry(format!(
                "remote unavailable on attempt {}",
                job.attempts
            )))
        } else {
            Ok(())
        }
    }
}

struct Rejects;

#[async_trait]
impl JobHandler for Rejects {
    async fn run(&self, _job: &Job) -> Result<(), JobError> {
        Err(JobError::Permanent("payload names no link".into()))
    }
}

/// Takes `0` long, counting its runs.
struct Slow(Duration, Arc<AtomicU32>);

#[async_trait]
impl JobHandler for Slow {
    async fn run(&self, _job: &Job) -> Result<(), JobError> {
        self.1.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(self.0).await;
        Ok(())
    }
}

fn quick_config() -> WorkerConfig {
    WorkerConfig {
        concurrency: 4,
        poll_interval: Duration::from_millis(20),
        maintenance_interval: Duration::from_millis(50),
        lease: Duration::from_secs(30),
        shutdown_grace: Duration::from_secs(5),
        retry: RetryPolicy {
            max_attempts: 3,
            base_delay: chrono::Duration::milliseconds(10),
            max_delay: chrono::Duration::milliseconds(50),
            jitter: 0.2,
        },
        ..WorkerConfig::default()
    }
}

struct Running {
    shutdown: CancellationToken,
    task:
        tokio::task::JoinHandle<Result<cairn_engine::jobs::WorkerReport, cairn_store::StoreError>>,
}

fn start(store: &Arc<dyn Store>, registry: Registry, config: WorkerConfig, id: &str) -> Running {
    let shutdown = CancellationToken::new();
    let worker = Worker::new(
        store.clone(),
        registry,
        config,
        id.to_owned(),
        JobSignal::default(),
    );
    let task = tokio::spawn(worker.run(shutdown.clone()));
    Running { shutdown, task }
}

impl Running {
    async fn stop(self) -> cairn_engine::jobs::WorkerReport {
        self.shutdown.cancel();
        self.task.await.expect("worker task").expect("worker")
    }
}

/// Waits (bounded) until the job reaches `state`.
async fn wait_for_state(store: &Arc<dyn Store>, id: i64, state: JobState) -> Job {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let job = store.get_job(id).await.expect("get").expect("job exists");
        if job.state == state {
            return job;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "job {id} stuck in {:?}",
            job.state
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn retried_with_backoff_until_success(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let mut registry = Registry::default();
    registry.register("flaky", FlakyUntil(3));
    let now = Utc::now();
    let id = store
        .enqueue(
            NewJob::new("flaky", json!({}), now).with_max_attempts(3),
            now,
        )
        .await
        .expect("enqueue")
        .expect("id");
    let worker = start(&store, registry, quick_config(), "w1");
    let job = wait_for_state(&store, id, JobState::Done).await;
    worker.stop().await;
    assert_eq!(job.attempts, 3, "succeeded on the third attempt");
    assert_eq!(
        job.last_error.as_deref(),
        Some("remote unavailable on attempt 2")
    );
}

async fn dead_after_attempts_or_permanent_error(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let mut registry = Registry::default();
    registry.register("flaky", FlakyUntil(99));
    registry.register("rejects", Rejects);
    let now = Utc::now();
    let flaky = store
        .enqueue(
            NewJob::new("flaky", json!({}), now).with_max_attempts(3),
            now,
        )
        .await
        .expect("enqueue")
        .expect("id");
    let rejected = store
        .enqueue(NewJob::new("rejects", json!({}), now), now)
        .await
        .expect("enqueue")
        .expect("id");
    let unknown = store
        .enqueue(NewJob::new("no-such-kind", json!({}), now), now)
        .await
        .expect("enqueue")
        .expect("id");
    let worker = start(&store, registry, quick_config(), "w1");
    let flaky = wait_for_state(&store, flaky, JobState::Dead).await;
    let rejected = wait_for_state(&store, rejected, JobState::Dead).await;
    let unknown = wait_for_state(&store, unknown, JobState::Dead).await;
    worker.stop().await;
    assert_eq!(flaky.attempts, 3);
    assert_eq!(
        flaky.last_error.as_deref(),
        Some("remote unavailable on attempt 3")
    );
    assert_eq!(rejected.attempts, 1, "a permanent error is not retried");
    assert_eq!(
        rejected.last_error.as_deref(),
        Some("payload names no link")
    );
    assert!(
        unknown
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("no-such-kind"))
    );
}

async fn crashed_workers_jobs_are_taken_over(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let now = Utc::now();
    let jobs: Vec<_> = (0..5)
        .map(|_| NewJob::new("noop", json!({}), now))
        .collect();
    store.enqueue_many(&jobs, now).await.expect("enqueue");
    // A worker that claimed them and died: its lease runs out in 300 ms.
    let lease = now + chrono::Duration::milliseconds(300);
    let claimed = store
        .claim_jobs("crashed", 10, now, lease)
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 5);
    let worker = start(
        &store,
        Registry::with_builtins(),
        quick_config(),
        "survivor",
    );
    for job in &claimed {
        let done = wait_for_state(&store, job.id, JobState::Done).await;
        assert_eq!(done.attempts, 2, "the lost attempt counts");
    }
    let report = worker.stop().await;
    assert_eq!(report.completed, 5);
}

async fn shutdown_finishes_in_flight_jobs_within_grace(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let runs = Arc::new(AtomicU32::new(0));
    let mut registry = Registry::default();
    registry.register("slow", Slow(Duration::from_millis(300), runs.clone()));
    let now = Utc::now();
    let id = store
        .enqueue(NewJob::new("slow", json!({}), now), now)
        .await
        .expect("enqueue")
        .expect("id");
    let worker = start(&store, registry, quick_config(), "w1");
    wait_for_state(&store, id, JobState::Running).await;
    let report = worker.stop().await;
    assert_eq!((report.completed, report.released), (1, 0));
    assert_eq!(
        store.get_job(id).await.expect("get").expect("job").state,
        JobState::Done
    );
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

async fn shutdown_releases_leases_of_jobs_past_grace(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let runs = Arc::new(AtomicU32::new(0));
    let mut registry = Registry::default();
    registry.register("slow", Slow(Duration::from_secs(600), runs.clone()));
    let now = Utc::now();
    let id = store
        .enqueue(NewJob::new("slow", json!({}), now), now)
        .await
        .expect("enqueue")
        .expect("id");
    let config = WorkerConfig {
        shutdown_grace: Duration::from_millis(100),
        ..quick_config()
    };
    let worker = start(&store, registry, config, "w1");
    wait_for_state(&store, id, JobState::Running).await;
    let report = worker.stop().await;
    assert_eq!(report.released, 1);
    let job = store.get_job(id).await.expect("get").expect("job");
    assert_eq!(
        (job.state, job.attempts, job.lease_owner),
        (JobState::Queued, 0, None)
    );
}

macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(cairn_store::Backend::Sqlite).await })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(cairn_store::Backend::Postgres).await })*
        }
    };
}

both_backends!(
    retried_with_backoff_until_success,
    dead_after_attempts_or_permanent_error,
    crashed_workers_jobs_are_taken_over,
    shutdown_finishes_in_flight_jobs_within_grace,
    shutdown_releases_leases_of_jobs_past_grace,
);
