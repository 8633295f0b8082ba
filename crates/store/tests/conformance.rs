//! One suite, both backends: every test here runs against SQLite and against
//! the local PostgreSQL server.

use std::collections::HashSet;
use std::sync::Arc;

use cairn_core::goals::{ItemSnapshot, Measure, ProgressSource, Status};
use cairn_store::goals::{
    CheckInFields, LinkFields, OkrFields, OkrKind, OkrProgress, PendingRecompute, RefreshRecord,
};
use cairn_store::hooks::{DeliveryState, NewDelivery};
use cairn_store::testing::TestDb;
use cairn_store::{
    Backend, ConnectionUpdate, HealthCheck, IntegrationKind, JobState, LockKey, NewAuditEntry,
    NewConnection, NewJob, NewUser, OpenOptions, Role, SealedSecret, Session, Store, StoreError,
    UserUpdate,
};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use serde_json::json;

macro_rules! conformance {
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

conformance!(
    migrations_apply_once_and_report_current,
    claim_takes_due_jobs_oldest_first_and_counts_an_attempt,
    concurrent_claims_never_lease_a_job_twice,
    only_the_lease_holder_completes_a_job,
    failure_requeues_with_backoff_or_kills,
    expired_leases_are_taken_back,
    released_leases_do_not_count_as_attempts,
    heartbeat_extends_leases,
    dedupe_key_allows_one_queued_job,
    a_job_that_goes_back_beside_its_queued_twin_is_superseded,
    transaction_commits_change_and_job_together,
    job_counts_cover_every_state,
    done_jobs_are_pruned_after_retention,
    newer_schema_is_refused_and_left_alone,
    users_are_unique_by_email_and_disabling_ends_sessions,
    sessions_expire,
    api_tokens_record_use_and_revoke,
    disabled_integration_pauses_its_jobs,
    connections_round_trip_with_health_and_reseal,
    connection_ok_is_written_once_a_minute_unless_an_error_came_after,
    okrs_and_check_ins_round_trip,
    links_items_and_progress_history,
    hook_secrets_are_sealed_per_connection_and_resealed,
    deliveries_are_deduplicated_and_stored_with_their_job,
    pending_deliveries_finish_once_and_count_in_stats,
    channels_subscriptions_deliveries_and_notices_round_trip,
    a_key_has_one_holder_across_instances,
    sync_pairs_round_trip_and_find_their_connections,
    sync_items_link_once_per_side_and_keep_the_newest_hint,
    sync_item_claims_exclude_others_until_saved_or_expired,
    sync_operations_conflicts_and_runs_are_logged,
    sync_comment_links_and_backlinks_are_kept_once,
    sync_people_are_mapped_once_per_side_of_a_pair,
    initial_sync_plans_count_each_entry_once,
    sync_releases_are_linked_once_per_side_of_a_pair,
    teams_are_unique_by_name_in_any_case_and_hold_members_once,
    okrs_filter_by_owner_team_status_and_mine,
    a_team_that_owns_okrs_is_deleted_only_after_they_move,
);

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0)
        .single()
        .expect("valid time")
}

fn job(n: u32, at: DateTime<Utc>) -> NewJob {
    NewJob::new("noop", json!({ "n": n }), at)
}

async fn store(backend: Backend) -> (TestDb, Arc<dyn Store>) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    (db, store)
}

async fn migrations_apply_once_and_report_current(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.open().await;
    let before = store.schema_status().await.expect("status");
    assert_eq!(before.applied, 0);
    assert!(!before.is_current());
    let after = store.migrate().await.expect("migrate");
    assert!(after.is_current());
    assert!(after.latest_known >= 1);
    // Running again changes nothing and does not fail.
    assert_eq!(store.migrate().await.expect("migrate again"), after);
    store.ping().await.expect("ping");
}

async fn claim_takes_due_jobs_oldest_first_and_counts_an_attempt(backend: Backend) {
    let (_db, store) = store(backend).await;
    let now = t0();
    store
        .enqueue(job(1, now - Duration::seconds(5)), now)
        .await
        .expect("enqueue");
    store
        .enqueue(job(2, now - Duration::seconds(10)), now)
        .await
        .expect("enqueue");
    store
        .enqueue(job(3, now + Duration::seconds(60)), now)
        .await
        .expect("enqueue");

    let lease = now + Duration::seconds(30);
    let claimed = store.claim_jobs("w1", 10, now, lease).await.expect("claim");
    let ns: Vec<_> = claimed.iter().map(|j| j.payload["n"].as_u64()).collect();
    assert_eq!(
        ns,
        vec![Some(2), Some(1)],
        "due jobs, oldest first; the future one waits"
    );
    for j in &claimed {
        assert_eq!(j.state, JobState::Running);
        assert_eq!(j.attempts, 1);
        assert_eq!(j.lease_owner.as_deref(), Some("w1"));
        assert_eq!(j.lease_expires_at, Some(lease));
    }
    assert!(
        store
            .claim_jobs("w2", 10, now, lease)
            .await
            .expect("claim")
            .is_empty()
    );
    let later = now + Duration::seconds(61);
    let claimed = store
        .claim_jobs("w2", 10, later, later + Duration::seconds(30))
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].payload["n"], 3);
}

async fn concurrent_claims_never_lease_a_job_twice(backend: Backend) {
    let (_db, store) = store(backend).await;
    let now = t0();
    let jobs: Vec<_> = (0..400).map(|n| job(n, now)).collect();
    assert_eq!(store.enqueue_many(&jobs, now).await.expect("enqueue"), 400);

    let mut tasks = Vec::new();
    for w in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let worker = format!("w{w}");
            let mut mine = Vec::new();
            loop {
                let batch = store
                    .claim_jobs(&worker, 7, now, now + Duration::seconds(60))
                    .await
                    .expect("claim");
                if batch.is_empty() {
                    return mine;
                }
                mine.extend(batch.into_iter().map(|j| j.id));
            }
        }));
    }
    let mut seen = HashSet::new();
    let mut total = 0;
    for task in tasks {
        for id in task.await.expect("claimer") {
            total += 1;
            assert!(seen.insert(id), "job {id} was leased twice");
        }
    }
    assert_eq!(total, 400, "every job was claimed");
}

async fn only_the_lease_holder_completes_a_job(backend: Backend) {
    let (_db, store) = store(backend).await;
    let now = t0();
    let id = store
        .enqueue(job(1, now), now)
        .await
        .expect("enqueue")
        .expect("id");
    store
        .claim_jobs("w1", 1, now, now + Duration::seconds(30))
        .await
        .expect("claim");
    assert_eq!(
        store
            .complete_jobs("intruder", &[id], now)
            .await
            .expect("complete"),
        0
    );
    assert_eq!(
        store.get_job(id).await.expect("get").expect("job").state,
        JobState::Running
    );
    assert_eq!(
        store
            .complete_jobs("w1", &[id], now)
            .await
            .expect("complete"),
        1
    );
    let done = store.get_job(id).await.expect("get").expect("job");
    assert_eq!(done.state, JobState::Done);
    assert_eq!(done.finished_at, Some(now));
    assert_eq!(done.lease_owner, None);
    assert_eq!(
        store
            .complete_jobs("w1", &[id], now)
            .await
            .expect("complete"),
        0,
        "done is final"
    );
}

async fn failure_requeues_with_backoff_or_kills(backend: Backend) {
    let (_db, store) = store(backend).await;
    let now = t0();
    let id = store
        .enqueue(job(1, now), now)
        .await
        .expect("enqueue")
        .expect("id");
    store
        .claim_jobs("w1", 1, now, now + Duration::seconds(30))
        .await
        .expect("claim");
    let retry_at = now + Duration::seconds(20);
    assert!(
        store
            .fail_job("w1", id, "remote said 503", Some(retry_at), now)
            .await
            .expect("fail")
    );
    let queued = store.get_job(id).await.expect("get").expect("job");
    assert_eq!(queued.state, JobState::Queued);
    assert_eq!(queued.run_after, retry_at);
    assert_eq!(queued.last_error.as_deref(), Some("remote said 503"));
    assert!(
        store
            .claim_jobs("w1", 1, now, now)
            .await
            .expect("claim")
            .is_empty(),
        "not before retry_at"
    );

    let claimed = store
        .claim_jobs("w2", 1, retry_at, retry_at + Duration::seconds(30))
        .await
        .expect("claim");
    assert_eq!(claimed[0].attempts, 2);
    assert!(
        !store
            .fail_job("w1", id, "stale worker", None, retry_at)
            .await
            .expect("fail"),
        "w1 lost it"
    );
    assert!(
        store
            .fail_job("w2", id, "bad payload", None, retry_at)
            .await
            .expect("fail")
    );
    let dead = store.get_job(id).await.expect("get").expect("job");
    assert_eq!(dead.state, JobState::Dead);
    assert_eq!(dead.last_error.as_deref(), Some("bad payload"));
    assert_eq!(dead.attempts, 2);

    assert!(store.retry_dead_job(id, retry_at).await.expect("retry"));
    let again = store.get_job(id).await.expect("get").expect("job");
    assert_eq!((again.state, again.attempts), (JobState::Queued, 0));
    assert!(
        !store.retry_dead_job(id, retry_at).await.expect("retry"),
        "only dead jobs"
    );
}

async fn expired_leases_are_taken_back(backend: Backend) {
    let (_db, store) = store(backend).await;
    let now = t0();
    let a = store
        .enqueue(job(1, now), now)
        .await
        .expect("enqueue")
        .expect("id");
    let b = store
        .enqueue(job(2, now).with_max_attempts(1), now)
        .await
        .expect("enqueue")
        .expect("id");
    let lease = now + Duration::seconds(30);
    assert_eq!(
        store
            .claim_jobs("crashed", 10, now, lease)
            .await
            .expect("claim")
            .len(),
        2
    );
    assert_eq!(
        store
            .requeue_expired_leases(now + Duration::seconds(29))
            .await
            .expect("requeue"),
        (0, 0)
    );
    let after = lease + Duration::seconds(1);
    assert_eq!(
        store.requeue_expired_leases(after).await.expect("requeue"),
        (1, 1)
    );
    let dead = store.get_job(b).await.expect("get").expect("job");
    assert_eq!(
        dead.state,
        JobState::Dead,
        "its only attempt was lost with the worker"
    );
    let claimed = store
        .claim_jobs("w2", 10, after, after + Duration::seconds(30))
        .await
        .expect("claim");
    assert_eq!(claimed.iter().map(|j| j.id).collect::<Vec<_>>(), vec![a]);
    assert_eq!(claimed[0].attempts, 2);
}

async fn released_leases_do_not_count_as_attempts(backend: Backend) {
    let (_db, store) = store(backend).await;
    let now = t0();
    let id = store
        .enqueue(job(1, now), now)
        .await
        .expect("enqueue")
        .expect("id");
    store.enqueue(job(2, now), now).await.expect("enqueue");
    store
        .claim_jobs("leaving", 1, now, now + Duration::seconds(30))
        .await
        .expect("claim");
    store
        .claim_jobs("staying", 1, now, now + Duration::seconds(30))
        .await
        .expect("claim");
    assert_eq!(
        store.release_leases("leaving", now).await.expect("release"),
        1
    );
    let released = store.get_job(id).await.expect("get").expect("job");
    assert_eq!(
        (released.state, released.attempts, released.lease_owner),
        (JobState::Queued, 0, None)
    );
    assert_eq!(
        store
            .job_counts()
            .await
            .expect("counts")
            .get(JobState::Running),
        1,
        "others keep theirs"
    );
}

async fn heartbeat_extends_leases(backend: Backend) {
    let (_db, store) = store(backend).await;
    let now = t0();
    let id = store
        .enqueue(job(1, now), now)
        .await
        .expect("enqueue")
        .expect("id");
    store
        .claim_jobs("w1", 1, now, now + Duration::seconds(30))
        .await
        .expect("claim");
    let later = now + Duration::seconds(90);
    assert_eq!(store.extend_leases("w1", later).await.expect("extend"), 1);
    assert_eq!(
        store
            .requeue_expired_leases(now + Duration::seconds(60))
            .await
            .expect("requeue"),
        (0, 0)
    );
    assert_eq!(
        store
            .get_job(id)
            .await
            .expect("get")
            .expect("job")
            .lease_expires_at,
        Some(later)
    );
}

async fn dedupe_key_allows_one_queued_job(backend: Backend) {
    let (_db, store) = store(backend).await;
    let now = t0();
    let first = store
        .enqueue(job(1, now).with_dedupe_key("refresh:7"), now)
        .await
        .expect("enqueue");
    assert!(first.is_some());
    let second = store
        .enqueue(job(2, now).with_dedupe_key("refresh:7"), now)
        .await
        .expect("enqueue");
    assert_eq!(second, None, "a queued job with this key exists");
    store
        .claim_jobs("w1", 1, now, now + Duration::seconds(30))
        .await
        .expect("claim");
    let third = store
        .enqueue(job(3, now).with_dedupe_key("refresh:7"), now)
        .await
        .expect("enqueue");
    assert!(
        third.is_some(),
        "once running, a new one may wait behind it"
    );
}

/// Every way back to the queue meets the one-queued-job-per-key index: a
/// job taken back while a twin waits is finished (the twin does its work),
/// never an error that would leave it running for good. A lost instance's
/// jobs stayed running behind one such error, and an initial sync stalled.
async fn a_job_that_goes_back_beside_its_queued_twin_is_superseded(backend: Backend) {
    let (_db, store) = store(backend).await;
    let now = t0();
    let lease = now + Duration::seconds(30);
    let keyed = |n: u32, key: &str| job(n, now).with_dedupe_key(key);
    // Running under `worker`, then the same work queued again.
    let running_beside_a_twin = |key: &'static str, worker: &'static str| {
        let store = store.clone();
        async move {
            let id = store
                .enqueue(keyed(1, key), now)
                .await
                .expect("enqueue")
                .expect("id");
            let claimed = store
                .claim_jobs(worker, 1, now, lease)
                .await
                .expect("claim");
            assert_eq!(claimed.iter().map(|j| j.id).collect::<Vec<_>>(), vec![id]);
            let twin = store
                .enqueue(job(2, now + Duration::hours(1)).with_dedupe_key(key), now)
                .await
                .expect("enqueue")
                .expect("a twin may wait behind a running job");
            (id, twin)
        }
    };
    let state_of = |id: i64| {
        let store = store.clone();
        async move { store.get_job(id).await.expect("get").expect("job") }
    };

    // Two running jobs of one key, both lost: one goes back, one is done.
    // (First: the twins below wait an hour, and the claims here must not
    // take them.)
    let mut running = Vec::new();
    for n in 1..=2 {
        let id = store
            .enqueue(keyed(n, "item:0"), now)
            .await
            .expect("enqueue")
            .expect("id");
        let claimed = store
            .claim_jobs("gone", 1, now, lease)
            .await
            .expect("claim");
        assert_eq!(claimed.iter().map(|j| j.id).collect::<Vec<_>>(), vec![id]);
        running.push(id);
    }
    let [first, second] = running[..] else {
        unreachable!("two jobs")
    };
    assert_eq!(
        store
            .requeue_expired_leases(lease + Duration::seconds(1))
            .await
            .expect("requeue two of one key"),
        (2, 0)
    );
    assert_eq!(
        (state_of(first).await.state, state_of(second).await.state),
        (JobState::Queued, JobState::Done)
    );

    // A lost worker's lease runs out.
    let (lost, lost_twin) = running_beside_a_twin("item:1", "crashed").await;
    assert_eq!(
        store
            .requeue_expired_leases(lease + Duration::seconds(1))
            .await
            .expect("requeue beside a queued twin"),
        (1, 0)
    );
    let lost = state_of(lost).await;
    assert_eq!(lost.state, JobState::Done);
    assert!(
        lost.last_error
            .as_deref()
            .is_some_and(|e| e.contains("same dedupe key")),
        "{lost:?}"
    );
    assert_eq!(state_of(lost_twin).await.state, JobState::Queued);

    // A failed attempt to be retried.
    let (failed, failed_twin) = running_beside_a_twin("item:2", "w1").await;
    assert!(
        store
            .fail_job("w1", failed, "boom", Some(now + Duration::seconds(5)), now)
            .await
            .expect("fail beside a queued twin")
    );
    let failed = state_of(failed).await;
    assert_eq!(failed.state, JobState::Done);
    assert!(
        failed
            .last_error
            .as_deref()
            .is_some_and(|e| e.starts_with("boom")),
        "{failed:?}"
    );
    assert_eq!(state_of(failed_twin).await.state, JobState::Queued);

    // A graceful shutdown gives its leases back.
    let (released, released_twin) = running_beside_a_twin("item:3", "leaving").await;
    assert_eq!(
        store
            .release_leases("leaving", now)
            .await
            .expect("release beside a queued twin"),
        1
    );
    assert_eq!(state_of(released).await.state, JobState::Done);
    assert_eq!(state_of(released_twin).await.state, JobState::Queued);

    // A dead job retried by hand while its work is queued again.
    let dead = store
        .enqueue(keyed(1, "item:5").with_max_attempts(1), now)
        .await
        .expect("enqueue")
        .expect("id");
    store.claim_jobs("w2", 10, now, lease).await.expect("claim");
    assert!(
        store
            .fail_job("w2", dead, "boom", None, now)
            .await
            .expect("dead")
    );
    let dead_twin = store
        .enqueue(
            job(2, now + Duration::hours(1)).with_dedupe_key("item:5"),
            now,
        )
        .await
        .expect("enqueue")
        .expect("a twin may wait behind a dead job");
    assert!(store.retry_dead_job(dead, now).await.expect("retry"));
    assert_eq!(state_of(dead).await.state, JobState::Done);
    assert_eq!(state_of(dead_twin).await.state, JobState::Queued);
}

async fn transaction_commits_change_and_job_together(backend: Backend) {
    let (_db, store) = store(backend).await;
    let now = t0();
    let entry = NewAuditEntry {
        actor: "cli".into(),
        action: "job.enqueued".into(),
        subject: "test".into(),
        detail: json!({ "why": "conformance" }),
    };
    {
        let mut tx = store.begin().await.expect("begin");
        tx.append_audit(&entry, now).await.expect("audit");
        tx.enqueue(&job(1, now), now).await.expect("enqueue");
        // Dropped without commit.
    }
    assert!(store.list_audit(10).await.expect("audit").is_empty());
    assert_eq!(
        store
            .job_counts()
            .await
            .expect("counts")
            .get(JobState::Queued),
        0
    );

    let mut tx = store.begin().await.expect("begin");
    tx.append_audit(&entry, now).await.expect("audit");
    tx.enqueue(&job(1, now), now).await.expect("enqueue");
    tx.commit().await.expect("commit");
    let audit = store.list_audit(10).await.expect("audit");
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].detail, json!({ "why": "conformance" }));
    assert_eq!(audit[0].at, now);
    assert_eq!(
        store
            .job_counts()
            .await
            .expect("counts")
            .get(JobState::Queued),
        1
    );
}

async fn job_counts_cover_every_state(backend: Backend) {
    let (_db, store) = store(backend).await;
    let now = t0();
    let counts = store.job_counts().await.expect("counts");
    for state in JobState::ALL {
        assert_eq!(counts.get(state), 0);
    }
    let jobs: Vec<_> = (0..4).map(|n| job(n, now)).collect();
    store.enqueue_many(&jobs, now).await.expect("enqueue");
    let claimed = store
        .claim_jobs("w", 3, now, now + Duration::seconds(9))
        .await
        .expect("claim");
    store
        .complete_jobs("w", &[claimed[0].id], now)
        .await
        .expect("complete");
    store
        .fail_job("w", claimed[1].id, "x", None, now)
        .await
        .expect("fail");
    let counts = store.job_counts().await.expect("counts");
    assert_eq!(
        [
            JobState::Queued,
            JobState::Running,
            JobState::Done,
            JobState::Dead
        ]
        .map(|s| counts.get(s)),
        [1, 1, 1, 1]
    );
    let dead = store
        .list_jobs(Some(JobState::Dead), 10)
        .await
        .expect("list");
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].id, claimed[1].id);
    assert_eq!(store.list_jobs(None, 10).await.expect("list").len(), 4);
}

async fn done_jobs_are_pruned_after_retention(backend: Backend) {
    let (_db, store) = store(backend).await;
    let now = t0();
    store
        .enqueue_many(&[job(1, now), job(2, now)], now)
        .await
        .expect("enqueue");
    let claimed = store
        .claim_jobs("w", 2, now, now + Duration::seconds(9))
        .await
        .expect("claim");
    store
        .complete_jobs("w", &[claimed[0].id], now)
        .await
        .expect("complete");
    assert_eq!(
        store.prune_done_jobs(now).await.expect("prune"),
        0,
        "finished at now, not before"
    );
    assert_eq!(
        store
            .prune_done_jobs(now + Duration::seconds(1))
            .await
            .expect("prune"),
        1
    );
    assert_eq!(
        store
            .job_counts()
            .await
            .expect("counts")
            .get(JobState::Running),
        1,
        "others stay"
    );
}

async fn newer_schema_is_refused_and_left_alone(backend: Backend) {
    let (db, store) = store(backend).await;
    let now = t0();
    store.enqueue(job(1, now), now).await.expect("enqueue");
    let future = 99_990_101_000_000_i64;
    // Pretend a newer Cairn migrated this database.
    record_future_migration(&db, future).await;
    store.close().await;

    let reopened = db.open().await;
    match reopened.migrate().await {
        Err(StoreError::SchemaNewer { found, known }) => {
            assert_eq!(found, future);
            assert!(known < future);
        }
        other => panic!("expected SchemaNewer, got {other:?}"),
    }
    let status = reopened.schema_status().await.expect("status");
    assert_eq!(status.applied, future);
    assert!(!status.is_current());
    assert_eq!(
        reopened
            .job_counts()
            .await
            .expect("counts")
            .get(JobState::Queued),
        1,
        "data intact"
    );
}

async fn record_future_migration(db: &TestDb, version: i64) {
    let sql = format!(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES ({version}, 'from the future', true, x'00', 0)"
    );
    match db.backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&db.url).await.expect("connect");
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&pool)
                .await
                .expect("insert");
            pool.close().await;
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&db.url).await.expect("connect");
            let sql = sql.replace("x'00'", "'\\x00'::bytea");
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&pool)
                .await
                .expect("insert");
            pool.close().await;
        }
    }
}

#[tokio::test]
async fn sqlite_corrupt_file_is_refused_and_not_modified() {
    let db = TestDb::sqlite();
    let path = db.sqlite_path().expect("sqlite path");
    let garbage = b"this is not a database, it is a shopping list: eggs, milk, bread.".repeat(100);
    std::fs::write(&path, &garbage).expect("write garbage");
    match cairn_store::open(&db.url, &OpenOptions::default()).await {
        Err(StoreError::Corrupt { path: p, .. }) => assert!(p.ends_with("cairn.db")),
        Err(other) => panic!("expected Corrupt, got {other}"),
        Ok(_) => panic!("a corrupt file was opened"),
    }
    assert_eq!(
        std::fs::read(&path).expect("read back"),
        garbage,
        "file untouched"
    );
}

#[tokio::test]
async fn unreachable_postgres_fails_after_a_bounded_retry() {
    let options = OpenOptions {
        connect_timeout: std::time::Duration::from_millis(1500),
        ..OpenOptions::default()
    };
    let started = std::time::Instant::now();
    // Port 1 on loopback: nothing listens, connections are refused at once.
    let result = cairn_store::open(
        "postgres://cairn:hunter2-secret@127.0.0.1:1/cairn",
        &options,
    )
    .await;
    let elapsed = started.elapsed();
    match result {
        Err(StoreError::Unreachable { url, attempts, .. }) => {
            assert!(attempts > 1, "it retried");
            assert!(
                !url.contains("hunter2-secret"),
                "password kept out of the message: {url}"
            );
        }
        Err(other) => panic!("expected Unreachable, got {other}"),
        Ok(_) => panic!("nothing listens on port 1"),
    }
    assert!(
        elapsed < std::time::Duration::from_secs(5),
        "bounded: {elapsed:?}"
    );
}

#[test]
fn unsupported_urls_are_named() {
    let err =
        cairn_store::backend_of("mysql://root@localhost/x").expect_err("mysql is not supported");
    assert!(err.to_string().contains("mysql://"), "{err}");
}

fn new_user(email: &str, role: Role) -> NewUser {
    NewUser {
        email: email.into(),
        name: "Ada".into(),
        role,
        password_hash: "$argon2id$fake".into(),
    }
}

async fn create_user(store: &Arc<dyn Store>, email: &str, role: Role) -> i64 {
    let mut tx = store.begin().await.expect("begin");
    let id = tx
        .create_user(&new_user(email, role), t0())
        .await
        .expect("create user");
    tx.commit().await.expect("commit");
    id
}

fn session(id: &str, user_id: i64, expires: DateTime<Utc>) -> Session {
    Session {
        id: id.into(),
        user_id,
        csrf_token: "csrf".into(),
        created_at: t0(),
        expires_at: expires,
        last_seen_at: t0(),
    }
}

async fn users_are_unique_by_email_and_disabling_ends_sessions(backend: Backend) {
    let (_db, store) = store(backend).await;
    let id = create_user(&store, "Ada@Example.com", Role::Admin).await;
    let mut tx = store.begin().await.expect("begin");
    match tx
        .create_user(&new_user("ada@example.COM", Role::Member), t0())
        .await
    {
        Err(StoreError::Conflict { field }) => assert_eq!(field, "email"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    drop(tx);
    let found = store
        .get_user_by_email(" ADA@example.com ")
        .await
        .expect("get")
        .expect("user");
    assert_eq!(
        (found.id, found.email.as_str(), found.role),
        (id, "ada@example.com", Role::Admin)
    );
    assert_eq!(store.count_users().await.expect("count"), 1);

    let mut tx = store.begin().await.expect("begin");
    tx.create_session(&session("s1", id, t0() + Duration::hours(1)))
        .await
        .expect("session");
    tx.commit().await.expect("commit");
    assert!(
        store
            .touch_session("s1", t0(), t0() - Duration::hours(1))
            .await
            .expect("touch")
            .is_some()
    );

    let mut tx = store.begin().await.expect("begin");
    let update = UserUpdate {
        role: Some(Role::Member),
        disabled: Some(true),
        ..UserUpdate::default()
    };
    assert!(tx.update_user(id, &update, t0()).await.expect("update"));
    assert!(
        !tx.update_user(id + 100, &update, t0())
            .await
            .expect("update"),
        "no such user"
    );
    tx.commit().await.expect("commit");
    let user = store.get_user(id).await.expect("get").expect("user");
    assert_eq!(user.role, Role::Member);
    assert_eq!(user.disabled_at, Some(t0()));
    assert!(
        store
            .touch_session("s1", t0(), t0() - Duration::hours(1))
            .await
            .expect("touch")
            .is_none(),
        "sessions ended"
    );
    let mut tx = store.begin().await.expect("begin");
    tx.update_user(
        id,
        &UserUpdate {
            disabled: Some(false),
            ..UserUpdate::default()
        },
        t0(),
    )
    .await
    .expect("update");
    tx.commit().await.expect("commit");
    assert_eq!(
        store
            .get_user(id)
            .await
            .expect("get")
            .expect("user")
            .disabled_at,
        None
    );
}

async fn sessions_expire(backend: Backend) {
    let (_db, store) = store(backend).await;
    let id = create_user(&store, "a@example.com", Role::Member).await;
    let mut tx = store.begin().await.expect("begin");
    tx.create_session(&session("s1", id, t0() + Duration::hours(1)))
        .await
        .expect("session");
    tx.commit().await.expect("commit");
    let later = t0() + Duration::minutes(30);
    let seen = store
        .touch_session("s1", later, later - Duration::hours(1))
        .await
        .expect("touch")
        .expect("live");
    assert_eq!((seen.user_id, seen.last_seen_at), (id, later));
    assert!(
        store
            .touch_session("s1", t0() + Duration::hours(2), t0())
            .await
            .expect("touch")
            .is_none()
    );
    assert!(
        store
            .touch_session("nope", t0(), t0() - Duration::hours(1))
            .await
            .expect("touch")
            .is_none()
    );
    let mut tx = store.begin().await.expect("begin");
    tx.create_session(&session("s2", id, t0() + Duration::hours(1)))
        .await
        .expect("session");
    tx.commit().await.expect("commit");
    let idle = t0() + Duration::minutes(20);
    assert!(
        store
            .touch_session("s2", idle, idle - Duration::minutes(10))
            .await
            .expect("touch")
            .is_none(),
        "unused for 20 minutes with a 10-minute idle limit"
    );
    assert_eq!(
        store
            .delete_expired_sessions(t0() + Duration::hours(2))
            .await
            .expect("purge"),
        2
    );
}

async fn api_tokens_record_use_and_revoke(backend: Backend) {
    let (_db, store) = store(backend).await;
    let alice = create_user(&store, "a@example.com", Role::Member).await;
    let bob = create_user(&store, "b@example.com", Role::Member).await;
    let mut tx = store.begin().await.expect("begin");
    let token = tx
        .create_api_token(alice, "ci", "hash-1", "cairn_abc", t0())
        .await
        .expect("token");
    tx.commit().await.expect("commit");
    assert_eq!(token.last_used_at, None);
    let used = store
        .use_api_token("hash-1", t0() + Duration::minutes(5))
        .await
        .expect("use")
        .expect("live");
    assert_eq!(
        (used.user_id, used.last_used_at),
        (alice, Some(t0() + Duration::minutes(5)))
    );
    assert!(
        store
            .use_api_token("hash-2", t0())
            .await
            .expect("use")
            .is_none()
    );

    let mut tx = store.begin().await.expect("begin");
    assert!(
        !tx.revoke_api_token(bob, token.id, t0())
            .await
            .expect("revoke"),
        "not bob's"
    );
    assert!(
        tx.revoke_api_token(alice, token.id, t0())
            .await
            .expect("revoke")
    );
    tx.commit().await.expect("commit");
    assert!(
        store
            .use_api_token("hash-1", t0())
            .await
            .expect("use")
            .is_none(),
        "revoked"
    );
    let listed = store.list_api_tokens(alice).await.expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].revoked_at, Some(t0()));
}

async fn disabled_integration_pauses_its_jobs(backend: Backend) {
    let (_db, store) = store(backend).await;
    let now = t0();
    let gitlab = store
        .enqueue(job(1, now).for_integration(IntegrationKind::Gitlab), now)
        .await
        .expect("enqueue")
        .expect("id");
    let jira = store
        .enqueue(job(2, now).for_integration(IntegrationKind::Jira), now)
        .await
        .expect("enqueue")
        .expect("id");
    let mut tx = store.begin().await.expect("begin");
    tx.set_integration_enabled(IntegrationKind::Gitlab, false, now)
        .await
        .expect("disable");
    tx.commit().await.expect("commit");
    assert!(
        !store
            .integration_enabled(IntegrationKind::Gitlab)
            .await
            .expect("enabled")
    );
    let claimed = store
        .claim_jobs("w", 10, now, now + Duration::seconds(9))
        .await
        .expect("claim");
    assert_eq!(claimed.iter().map(|j| j.id).collect::<Vec<_>>(), vec![jira]);
    assert_eq!(claimed[0].integration, Some(IntegrationKind::Jira));
    let mut tx = store.begin().await.expect("begin");
    tx.set_integration_enabled(IntegrationKind::Gitlab, true, now)
        .await
        .expect("enable");
    tx.commit().await.expect("commit");
    let claimed = store
        .claim_jobs("w", 10, now, now + Duration::seconds(9))
        .await
        .expect("claim");
    assert_eq!(
        claimed.iter().map(|j| j.id).collect::<Vec<_>>(),
        vec![gitlab],
        "resumed, nothing lost"
    );
}

fn sealed(key: &str, bytes: &[u8]) -> SealedSecret {
    SealedSecret {
        key_id: key.into(),
        bytes: bytes.to_vec(),
    }
}

async fn connections_round_trip_with_health_and_reseal(backend: Backend) {
    let (_db, store) = store(backend).await;
    let owner = create_user(&store, "a@example.com", Role::Member).await;
    let new = NewConnection {
        kind: IntegrationKind::Gitlab,
        name: "gitlab.com".into(),
        base_url: "https://gitlab.com".into(),
        auth_kind: "private_token".into(),
        username: None,
        secret: sealed("k1", b"\x00\x01ciphertext"),
        owner_id: owner,
        shared: true,
    };
    let mut tx = store.begin().await.expect("begin");
    tx.create_connection(&new, t0()).await.expect("create");
    match tx.create_connection(&new, t0()).await {
        Err(StoreError::Conflict { field }) => assert_eq!(field, "name"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    drop(tx);
    let mut tx = store.begin().await.expect("begin");
    tx.create_connection(&new, t0())
        .await
        .expect("create again after rollback");
    tx.commit().await.expect("commit");
    let stored = store.list_connections().await.expect("list");
    assert_eq!(stored.len(), 1);
    let id = stored[0].id;
    assert_eq!(stored[0].secret, new.secret);
    assert!(stored[0].shared);

    let now = t0();
    let ok = HealthCheck::Ok {
        account_name: "ada".into(),
        server_version: "17.5.0".into(),
        flavour: None,
    };
    store
        .record_connection_health(id, &ok, now)
        .await
        .expect("health");
    let gitlab = |list: Vec<cairn_store::Integration>| {
        list.into_iter()
            .find(|i| i.kind == IntegrationKind::Gitlab)
            .expect("gitlab")
    };
    let summary = gitlab(store.list_integrations().await.expect("list"));
    assert_eq!(
        (summary.connections, summary.healthy, summary.failing),
        (1, 1, 0)
    );
    let failed = HealthCheck::Failed {
        code: "unauthorized".into(),
        message: "401: token rejected".into(),
    };
    store
        .record_connection_health(id, &failed, now + Duration::seconds(1))
        .await
        .expect("health");
    let summary = gitlab(store.list_integrations().await.expect("list"));
    assert_eq!(
        (summary.connections, summary.healthy, summary.failing),
        (1, 0, 1)
    );
    let c = store
        .get_connection(id)
        .await
        .expect("get")
        .expect("connection");
    assert_eq!(c.account_name.as_deref(), Some("ada"));
    assert_eq!(c.last_error_code.as_deref(), Some("unauthorized"));

    assert!(
        !store
            .reseal_connection_secret(id, &sealed("k0", b"other"), &sealed("k2", b"new"))
            .await
            .expect("reseal")
    );
    assert!(
        store
            .reseal_connection_secret(id, &new.secret, &sealed("k2", b"new"))
            .await
            .expect("reseal")
    );
    assert!(
        store
            .connections_not_under_key("k2", 10)
            .await
            .expect("list")
            .is_empty()
    );
    assert_eq!(
        store
            .connections_not_under_key("k3", 10)
            .await
            .expect("list")
            .len(),
        1
    );

    let mut tx = store.begin().await.expect("begin");
    let update = ConnectionUpdate {
        name: Some("GitLab".into()),
        shared: Some(false),
        ..ConnectionUpdate::default()
    };
    assert!(
        tx.update_connection(id, &update, now)
            .await
            .expect("update")
    );
    tx.commit().await.expect("commit");
    let c = store
        .get_connection(id)
        .await
        .expect("get")
        .expect("connection");
    assert_eq!((c.name.as_str(), c.shared), ("GitLab", false));
    assert_eq!(
        c.last_error_code.as_deref(),
        Some("unauthorized"),
        "renaming keeps health"
    );
    let mut tx = store.begin().await.expect("begin");
    let update = ConnectionUpdate {
        secret: Some(sealed("k2", b"rotated-by-user")),
        ..ConnectionUpdate::default()
    };
    tx.update_connection(id, &update, now)
        .await
        .expect("update");
    tx.commit().await.expect("commit");
    let c = store
        .get_connection(id)
        .await
        .expect("get")
        .expect("connection");
    assert_eq!(c.secret.bytes, b"rotated-by-user");
    assert_eq!(c.last_error_code, None, "a new secret clears old health");
    let mut tx = store.begin().await.expect("begin");
    assert!(tx.delete_connection(id).await.expect("delete"));
    tx.commit().await.expect("commit");
    assert!(store.get_connection(id).await.expect("get").is_none());
}

async fn connection_ok_is_written_once_a_minute_unless_an_error_came_after(backend: Backend) {
    let (_db, store) = store(backend).await;
    let owner = create_user(&store, "ada@example.com", Role::Admin).await;
    let new = NewConnection {
        kind: IntegrationKind::Jira,
        name: "Jira".into(),
        base_url: "https://jira.example.com".into(),
        auth_kind: "bearer".into(),
        username: None,
        secret: sealed("k1", b"pat"),
        owner_id: owner,
        shared: false,
    };
    let mut tx = store.begin().await.expect("begin");
    let id = tx.create_connection(&new, t0()).await.expect("create");
    tx.commit().await.expect("commit");
    let jira = |list: Vec<cairn_store::Integration>| {
        let i = list
            .into_iter()
            .find(|i| i.kind == IntegrationKind::Jira)
            .expect("jira");
        (i.connections, i.healthy, i.failing)
    };
    assert_eq!(
        jira(store.list_integrations().await.expect("list")),
        (1, 0, 0)
    );

    assert!(
        store.record_connection_ok(id, t0()).await.expect("ok"),
        "never ok: written"
    );
    assert_eq!(
        jira(store.list_integrations().await.expect("list")),
        (1, 1, 0)
    );
    assert!(
        !store
            .record_connection_ok(id, t0() + Duration::seconds(30))
            .await
            .expect("ok"),
        "ok 30 s ago: not written again"
    );
    let c = store
        .get_connection(id)
        .await
        .expect("get")
        .expect("connection");
    assert_eq!(c.last_ok_at, Some(t0()));
    assert!(
        store
            .record_connection_ok(id, t0() + Duration::seconds(61))
            .await
            .expect("ok"),
        "ok over a minute ago: written"
    );

    let failed = HealthCheck::Failed {
        code: "unauthorized".into(),
        message: "401: token rejected".into(),
    };
    store
        .record_connection_health(id, &failed, t0() + Duration::seconds(70))
        .await
        .expect("failed");
    assert_eq!(
        jira(store.list_integrations().await.expect("list")),
        (1, 0, 1)
    );
    assert!(
        store
            .record_connection_ok(id, t0() + Duration::seconds(75))
            .await
            .expect("ok"),
        "an error after the last ok: written at once"
    );
    assert_eq!(
        jira(store.list_integrations().await.expect("list")),
        (1, 1, 0)
    );
    let c = store
        .get_connection(id)
        .await
        .expect("get")
        .expect("connection");
    assert_eq!(c.last_ok_at, Some(t0() + Duration::seconds(75)));
    assert!(
        !store
            .record_connection_ok(id + 1000, t0())
            .await
            .expect("no such connection"),
    );
}

fn okr_fields(owner: i64, period: i64, parent: Option<i64>, kind: OkrKind) -> OkrFields {
    OkrFields {
        kind,
        title: "Ship the new onboarding".into(),
        description: "".into(),
        owner_id: owner,
        owner_team_id: None,
        period_id: period,
        parent_id: parent,
        starts_on: NaiveDate::from_ymd_opt(2026, 1, 1).expect("date"),
        due_on: NaiveDate::from_ymd_opt(2026, 3, 31).expect("date"),
        measure: Measure::PercentComplete,
        weight: 1.0,
        contributes: true,
        progress_source: ProgressSource::CheckIn,
    }
}

async fn period_and_owner(store: &Arc<dyn Store>) -> (i64, i64) {
    let owner = create_user(store, "okr@example.com", Role::Member).await;
    let mut tx = store.begin().await.expect("begin");
    let q1 = tx
        .create_period(
            "Q1 2026",
            NaiveDate::from_ymd_opt(2026, 1, 1).expect("d"),
            NaiveDate::from_ymd_opt(2026, 3, 31).expect("d"),
            t0(),
        )
        .await
        .expect("period");
    tx.commit().await.expect("commit");
    (owner, q1)
}

async fn okrs_and_check_ins_round_trip(backend: Backend) {
    let (_db, store) = store(backend).await;
    let (owner, q1) = period_and_owner(&store).await;
    let mut tx = store.begin().await.expect("begin");
    match tx
        .create_period("Q1 2026", NaiveDate::MIN, NaiveDate::MAX, t0())
        .await
    {
        Err(StoreError::Conflict { field }) => assert_eq!(field, "name"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    drop(tx);
    let periods = store.list_periods().await.expect("periods");
    assert_eq!((periods.len(), periods[0].name.as_str()), (1, "Q1 2026"));

    let mut tx = store.begin().await.expect("begin");
    let objective = tx
        .create_okr(&okr_fields(owner, q1, None, OkrKind::Objective), t0())
        .await
        .expect("objective");
    let mut kr = okr_fields(owner, q1, Some(objective), OkrKind::KeyResult);
    kr.measure = Measure::Kpi(cairn_core::goals::Kpi::new("bugs", 0.0, 20.0).expect("kpi"));
    kr.weight = 2.5;
    let key_result = tx.create_okr(&kr, t0()).await.expect("key result");
    tx.commit().await.expect("commit");
    let stored = store.get_okr(key_result).await.expect("get").expect("okr");
    assert_eq!(stored.fields, kr);
    assert_eq!(stored.progress, None);
    assert_eq!(
        store.child_okrs(objective).await.expect("children").len(),
        1
    );
    assert_eq!(store.list_okrs(Some(q1)).await.expect("list").len(), 2);
    assert_eq!(
        store.list_okrs(Some(q1 + 100)).await.expect("list").len(),
        0
    );

    let mut tx = store.begin().await.expect("begin");
    let first = tx
        .create_check_in(
            key_result,
            owner,
            &CheckInFields {
                value: 4.0,
                status_override: None,
                confidence: None,
                note: "first",
            },
            t0(),
        )
        .await
        .expect("check-in");
    let second = tx
        .create_check_in(
            key_result,
            owner,
            &CheckInFields {
                value: 9.0,
                status_override: Some(Status::AtRisk),
                confidence: Some(Status::Behind),
                note: "blocked",
            },
            t0() + Duration::hours(1),
        )
        .await
        .expect("check-in");
    assert!(
        tx.update_check_in(
            first,
            &CheckInFields {
                value: 5.0,
                status_override: None,
                confidence: Some(Status::OnTrack),
                note: "fixed",
            },
            t0() + Duration::hours(2)
        )
        .await
        .expect("update")
    );
    tx.commit().await.expect("commit");
    let check_ins = store.list_check_ins(key_result).await.expect("list");
    assert_eq!(
        check_ins.iter().map(|c| c.value).collect::<Vec<_>>(),
        vec![5.0, 9.0]
    );
    assert_eq!(check_ins[1].status_override, Some(Status::AtRisk));
    assert_eq!(
        check_ins.iter().map(|c| c.confidence).collect::<Vec<_>>(),
        vec![Some(Status::OnTrack), Some(Status::Behind)]
    );
    // The latest check-in of each OKR of a period; none for other periods.
    assert_eq!(
        store.latest_check_ins(q1).await.expect("latest"),
        vec![(key_result, t0() + Duration::hours(1))]
    );
    assert!(
        store
            .latest_check_ins(q1 + 100)
            .await
            .expect("latest")
            .is_empty()
    );
    // A period's check-in cadence: weekly until set.
    assert_eq!(periods[0].check_in_every_days, 7);
    let mut tx = store.begin().await.expect("begin");
    assert!(tx.set_check_in_cadence(q1, 14).await.expect("cadence"));
    assert!(
        !tx.set_check_in_cadence(q1 + 100, 14)
            .await
            .expect("cadence")
    );
    tx.commit().await.expect("commit");
    assert_eq!(
        store
            .get_period(q1)
            .await
            .expect("get")
            .expect("period")
            .check_in_every_days,
        14
    );
    let mut tx = store.begin().await.expect("begin");
    assert!(tx.delete_check_in(second).await.expect("delete"));
    kr.title = "Fix 20 bugs".into();
    assert!(tx.update_okr(key_result, &kr, t0()).await.expect("update"));
    assert!(tx.delete_okr(objective).await.expect("delete"));
    tx.commit().await.expect("commit");
    assert!(store.get_check_in(second).await.expect("get").is_none());
    let detached = store.get_okr(key_result).await.expect("get").expect("okr");
    assert_eq!(
        (detached.fields.parent_id, detached.fields.title.as_str()),
        (None, "Fix 20 bugs")
    );
}

async fn links_items_and_progress_history(backend: Backend) {
    let (_db, store) = store(backend).await;
    let (owner, q1) = period_and_owner(&store).await;
    let mut tx = store.begin().await.expect("begin");
    let connection = tx
        .create_connection(
            &NewConnection {
                kind: IntegrationKind::Gitlab,
                name: "gl".into(),
                base_url: "https://gitlab.example.com".into(),
                auth_kind: "private_token".into(),
                username: None,
                secret: sealed("k", b"x"),
                owner_id: owner,
                shared: false,
            },
            t0(),
        )
        .await
        .expect("connection");
    let kr = tx
        .create_okr(&okr_fields(owner, q1, None, OkrKind::KeyResult), t0())
        .await
        .expect("okr");
    let fields = LinkFields {
        connection_id: connection,
        rule: json!({"tracker": "gitlab"}),
        query: json!({"project": "g/p", "milestone": "M1"}),
        refresh_interval_secs: Some(300),
    };
    let link = tx.put_link(kr, &fields, t0()).await.expect("link");
    let again = tx
        .put_link(
            kr,
            &LinkFields {
                refresh_interval_secs: None,
                ..fields.clone()
            },
            t0(),
        )
        .await
        .expect("relink");
    assert_eq!(link, again, "one link per key result, replaced in place");
    let items: Vec<ItemSnapshot> = (1..=3)
        .map(|n| {
            let mut item = ItemSnapshot::new(
                format!("g/p#{n}"),
                format!("Issue {n}"),
                format!("https://x/{n}"),
                t0(),
            );
            item.state = "opened".into();
            item.tasks_total = 2;
            item.tasks_done = n - 1;
            item.custom_fields
                .insert("customfield_1".into(), f64::from(n));
            // The tracker's own creation date, when it gave one.
            item.created_at = (n != 3).then(|| t0() - Duration::days(i64::from(n)));
            item
        })
        .collect();
    let ids = tx
        .upsert_items(connection, &items, t0())
        .await
        .expect("items");
    tx.replace_link_items(link, &ids).await.expect("membership");
    tx.commit().await.expect("commit");
    assert_eq!(store.link_items(link).await.expect("items"), items);
    let numbers = store.link_item_numbers(link).await.expect("numbers");
    let lean: Vec<ItemSnapshot> = items
        .iter()
        .map(|i| ItemSnapshot {
            title: String::new(),
            url: String::new(),
            state: String::new(),
            created_at: None,
            done_at: None,
            ..i.clone()
        })
        .collect();
    assert_eq!(numbers, lean, "the same numbers without the texts or dates");
    let due = store.due_links(t0(), 10).await.expect("due");
    assert_eq!(
        due.iter().map(|l| l.id).collect::<Vec<_>>(),
        vec![link],
        "a new link is due at once"
    );
    assert_eq!(due[0].refresh_interval_secs, None);

    // An item changes and another leaves the selection.
    let mut tx = store.begin().await.expect("begin");
    let mut closed = items[0].clone();
    closed.done = true;
    closed.state = "closed".into();
    closed.done_at = Some(t0() - Duration::hours(1));
    // A snapshot without a creation date (a payload that lacks it) keeps
    // the one known.
    let mut undated = closed.clone();
    undated.created_at = None;
    let same = tx
        .upsert_items(connection, &[closed.clone()], t0())
        .await
        .expect("upsert");
    assert_eq!(same, vec![ids[0]], "same row for the same key");
    let same = tx
        .upsert_items(connection, &[undated], t0())
        .await
        .expect("upsert");
    assert_eq!(same, vec![ids[0]], "same row for the same key");
    tx.change_link_items(link, &[], &[ids[2]])
        .await
        .expect("change");
    assert_eq!(
        tx.remove_link_items_by_key(link, &["g/p#2".into(), "g/p#404".into()])
            .await
            .expect("remove"),
        1
    );
    let next = t0() + Duration::minutes(60);
    tx.record_refresh(
        link,
        &RefreshRecord::Failed {
            code: "server_error".into(),
            message: "500".into(),
            next_refresh_at: next,
        },
        t0(),
    )
    .await
    .expect("failed");
    tx.commit().await.expect("commit");
    assert_eq!(store.link_items(link).await.expect("items"), vec![closed]);
    assert_eq!(
        store
            .links_with_item(connection, "g/p#1")
            .await
            .expect("holding"),
        vec![link]
    );
    for gone in ["g/p#2", "g/p#3", "g/p#404"] {
        assert!(
            store
                .links_with_item(connection, gone)
                .await
                .expect("holding")
                .is_empty(),
            "{gone} is in no selection"
        );
    }
    let failed = store.get_link(link).await.expect("get").expect("link");
    assert_eq!(
        (
            failed.failures,
            failed.last_error_code.as_deref(),
            failed.last_success_at
        ),
        (1, Some("server_error"), None)
    );
    assert!(store.due_links(t0(), 10).await.expect("due").is_empty());

    let mut tx = store.begin().await.expect("begin");
    tx.record_refresh(
        link,
        &RefreshRecord::Succeeded {
            full: true,
            next_refresh_at: next,
        },
        t0(),
    )
    .await
    .expect("ok");
    let progress = OkrProgress {
        value: 50.0,
        percent: 50.0,
        expected_percent: 40.0,
        status: Status::OnTrack,
        computed_at: t0(),
    };
    tx.record_progress(kr, &progress, "data_link", "", false)
        .await
        .expect("progress");
    let later = OkrProgress {
        computed_at: t0() + Duration::hours(1),
        percent: 75.0,
        value: 75.0,
        ..progress.clone()
    };
    tx.record_progress(kr, &later, "data_link", "issue closed", false)
        .await
        .expect("progress");
    tx.commit().await.expect("commit");
    let ok = store.get_link(link).await.expect("get").expect("link");
    assert_eq!(
        (
            ok.failures,
            ok.last_error_code,
            ok.last_success_at,
            ok.last_full_at
        ),
        (0, None, Some(t0()), Some(t0()))
    );
    assert_eq!(
        store.get_okr(kr).await.expect("get").expect("okr").progress,
        Some(later.clone())
    );
    let history = store.progress_points(kr, 10).await.expect("history");
    assert_eq!(
        history.iter().map(|p| p.percent).collect::<Vec<_>>(),
        vec![75.0, 50.0],
        "newest first"
    );
    assert_eq!(history[0].note, "issue closed");

    // A history reconstructed before the first point goes in before it,
    // and the current progress stays the latest.
    let past: Vec<OkrProgress> = (1..=2)
        .map(|d| OkrProgress {
            computed_at: t0() - Duration::days(3 - d),
            percent: 10.0 * d as f64,
            value: 10.0 * d as f64,
            ..progress.clone()
        })
        .collect();
    let mut tx = store.begin().await.expect("begin");
    tx.insert_past_progress(kr, &past, "backfill", "from item dates")
        .await
        .expect("past");
    tx.commit().await.expect("commit");
    let history = store.progress_points(kr, 10).await.expect("history");
    assert_eq!(
        history
            .iter()
            .map(|p| (p.percent, p.source.as_str()))
            .collect::<Vec<_>>(),
        vec![
            (75.0, "data_link"),
            (50.0, "data_link"),
            (20.0, "backfill"),
            (10.0, "backfill")
        ]
    );
    assert_eq!(history[3].at, t0() - Duration::days(2));
    assert_eq!(history[3].note, "from item dates");
    assert_eq!(
        store.get_okr(kr).await.expect("get").expect("okr").progress,
        Some(later.clone()),
        "the current progress is untouched"
    );
    // A period's statuses since a moment: each OKR's last point before it
    // (where its window starts), then every point from it, oldest first.
    let since = store
        .status_points_since(q1, t0() - Duration::hours(12))
        .await
        .expect("statuses");
    assert_eq!(
        since
            .iter()
            .map(|(okr, p)| (*okr, p.at, p.status))
            .collect::<Vec<_>>(),
        vec![
            (kr, t0() - Duration::days(1), Status::OnTrack),
            (kr, t0(), Status::OnTrack),
            (kr, t0() + Duration::hours(1), Status::OnTrack),
        ]
    );
    assert_eq!(
        store
            .status_points_since(q1, t0() + Duration::days(1))
            .await
            .expect("statuses")
            .iter()
            .map(|(_, p)| p.at)
            .collect::<Vec<_>>(),
        vec![t0() + Duration::hours(1)],
        "only the last point when none is newer"
    );
    assert!(
        store
            .status_points_since(q1 + 100, t0())
            .await
            .expect("statuses")
            .is_empty()
    );
    // A period's links in one read.
    assert_eq!(
        store
            .links_in_period(q1)
            .await
            .expect("links")
            .iter()
            .map(|l| l.id)
            .collect::<Vec<_>>(),
        vec![link]
    );
    assert!(
        store
            .links_in_period(q1 + 100)
            .await
            .expect("links")
            .is_empty()
    );
    assert_eq!(
        store
            .links_for_connection(connection)
            .await
            .expect("links")
            .len(),
        1
    );

    // "Recompute pending": the first mark stays until a settling point or a
    // clear; a later change is told of it (and writes nothing) unless it
    // replaces it.
    let pending = |minutes: i64, note: &str| PendingRecompute {
        at: t0() + Duration::minutes(minutes),
        note: note.to_owned(),
    };
    let mut tx = store.begin().await.expect("begin");
    assert_eq!(
        tx.mark_recompute_pending(kr, &pending(61, "first"), false)
            .await
            .expect("mark"),
        None
    );
    tx.commit().await.expect("commit");
    let mut tx = store.begin().await.expect("begin");
    assert_eq!(
        tx.mark_recompute_pending(kr, &pending(62, "second"), false)
            .await
            .expect("mark"),
        Some(pending(61, "first")),
        "the committed mark is kept and returned"
    );
    // Not settling: the mark stays.
    tx.record_progress(kr, &later, "schedule", "reassessed", false)
        .await
        .expect("progress");
    assert_eq!(
        tx.mark_recompute_pending(kr, &pending(63, "third"), false)
            .await
            .expect("mark"),
        Some(pending(61, "first"))
    );
    tx.record_progress(kr, &later, "data_link", "first", true)
        .await
        .expect("progress");
    assert_eq!(
        tx.mark_recompute_pending(kr, &pending(64, "fourth"), false)
            .await
            .expect("mark"),
        None,
        "a settling point cleared it"
    );
    assert_eq!(
        tx.mark_recompute_pending(kr, &pending(65, "fifth"), true)
            .await
            .expect("replace"),
        None
    );
    tx.commit().await.expect("commit");
    let mut tx = store.begin().await.expect("begin");
    assert_eq!(
        tx.mark_recompute_pending(kr, &pending(66, "sixth"), false)
            .await
            .expect("mark"),
        Some(pending(65, "fifth")),
        "replaced"
    );
    tx.clear_recompute_pending(kr).await.expect("clear");
    assert_eq!(
        tx.mark_recompute_pending(kr, &pending(67, "seventh"), false)
            .await
            .expect("mark"),
        None,
        "cleared"
    );
    drop(tx);
    let mut tx = store.begin().await.expect("begin");
    assert_eq!(
        tx.mark_recompute_pending(kr, &pending(68, "eighth"), false)
            .await
            .expect("mark"),
        Some(pending(65, "fifth")),
        "a rolled-back clear left the mark"
    );
    drop(tx);

    let mut tx = store.begin().await.expect("begin");
    assert!(tx.delete_link_of_okr(kr).await.expect("unlink"));
    tx.commit().await.expect("commit");
    assert!(store.link_for_okr(kr).await.expect("get").is_none());
}

async fn connection_of(store: &Arc<dyn Store>, kind: IntegrationKind, name: &str) -> i64 {
    let owner = match store
        .get_user_by_email("hooks@example.com")
        .await
        .expect("user")
    {
        Some(user) => user.id,
        None => create_user(store, "hooks@example.com", Role::Member).await,
    };
    let mut tx = store.begin().await.expect("begin");
    let id = tx
        .create_connection(
            &NewConnection {
                kind,
                name: name.into(),
                base_url: "https://tracker.example.com".into(),
                auth_kind: "private_token".into(),
                username: None,
                secret: sealed("k1", b"token"),
                owner_id: owner,
                shared: false,
            },
            t0(),
        )
        .await
        .expect("connection");
    tx.commit().await.expect("commit");
    id
}

fn delivery(connection_id: i64, delivery_id: Option<&str>, state: DeliveryState) -> NewDelivery {
    NewDelivery {
        connection_id,
        tracker: IntegrationKind::Gitlab,
        event: "Issue Hook".into(),
        delivery_id: delivery_id.map(str::to_owned),
        body: r#"{"object_kind":"issue","ünïcode":"✓"}"#.into(),
        state,
        error: None,
    }
}

async fn hook_secrets_are_sealed_per_connection_and_resealed(backend: Backend) {
    let (_db, store) = store(backend).await;
    let gitlab = connection_of(&store, IntegrationKind::Gitlab, "gl").await;
    let jira = connection_of(&store, IntegrationKind::Jira, "jira").await;

    let target = store
        .hook_target(gitlab)
        .await
        .expect("target")
        .expect("exists");
    assert_eq!(target.kind, IntegrationKind::Gitlab);
    assert!(target.enabled);
    assert_eq!(target.secret, None, "no hook secret until one is generated");
    assert!(store.hook_target(424242).await.expect("target").is_none());
    assert!(store.hook_secret(gitlab).await.expect("secret").is_none());

    let mut tx = store.begin().await.expect("begin");
    tx.put_hook_secret(gitlab, &sealed("k1", b"\x00first"), t0())
        .await
        .expect("put");
    tx.put_hook_secret(jira, &sealed("k2", b"jira"), t0())
        .await
        .expect("put");
    tx.commit().await.expect("commit");
    let later = t0() + Duration::minutes(5);
    let mut tx = store.begin().await.expect("begin");
    tx.put_hook_secret(gitlab, &sealed("k1", b"\x00second"), later)
        .await
        .expect("rotate");
    tx.commit().await.expect("commit");
    let secret = store
        .hook_secret(gitlab)
        .await
        .expect("secret")
        .expect("set");
    assert_eq!(secret.secret, sealed("k1", b"\x00second"));
    assert_eq!(secret.created_at, t0());
    assert_eq!(secret.updated_at, later);
    let target = store
        .hook_target(gitlab)
        .await
        .expect("target")
        .expect("exists");
    assert_eq!(target.secret, Some(sealed("k1", b"\x00second")));

    // A disabled integration shows in the target.
    let mut tx = store.begin().await.expect("begin");
    tx.set_integration_enabled(IntegrationKind::Jira, false, t0())
        .await
        .expect("disable");
    tx.commit().await.expect("commit");
    let target = store
        .hook_target(jira)
        .await
        .expect("target")
        .expect("exists");
    assert_eq!(target.kind, IntegrationKind::Jira);
    assert!(!target.enabled);

    // Key rotation: secrets under other keys are listed and swapped only
    // if unchanged meanwhile.
    let old = store
        .hook_secrets_not_under_key("k2", 10)
        .await
        .expect("list");
    assert_eq!(old.len(), 1);
    assert_eq!(old[0].connection_id, gitlab);
    assert!(
        !store
            .reseal_hook_secret(gitlab, &sealed("k1", b"stale"), &sealed("k2", b"new"))
            .await
            .expect("reseal")
    );
    assert!(
        store
            .reseal_hook_secret(gitlab, &old[0].secret, &sealed("k2", b"new"))
            .await
            .expect("reseal")
    );
    assert!(
        store
            .hook_secrets_not_under_key("k2", 10)
            .await
            .expect("list")
            .is_empty()
    );

    // Deleting the connection deletes its hook secret.
    let mut tx = store.begin().await.expect("begin");
    assert!(tx.delete_connection(gitlab).await.expect("delete"));
    tx.commit().await.expect("commit");
    assert!(store.hook_secret(gitlab).await.expect("secret").is_none());
}

async fn deliveries_are_deduplicated_and_stored_with_their_job(backend: Backend) {
    let (_db, store) = store(backend).await;
    let a = connection_of(&store, IntegrationKind::Gitlab, "a").await;
    let b = connection_of(&store, IntegrationKind::Gitlab, "b").await;

    let mut tx = store.begin().await.expect("begin");
    let first = tx
        .insert_delivery(&delivery(a, Some("uuid-1"), DeliveryState::Pending), t0())
        .await
        .expect("insert")
        .expect("new");
    let job = tx
        .enqueue(&NewJob::new("hook", json!({"delivery": first}), t0()), t0())
        .await
        .expect("enqueue");
    assert!(job.is_some());
    tx.commit().await.expect("commit");

    // The same delivery id again: not stored, for that connection only.
    let mut tx = store.begin().await.expect("begin");
    assert_eq!(
        tx.insert_delivery(&delivery(a, Some("uuid-1"), DeliveryState::Pending), t0())
            .await
            .expect("insert"),
        None
    );
    assert!(
        tx.insert_delivery(&delivery(b, Some("uuid-1"), DeliveryState::Pending), t0())
            .await
            .expect("insert")
            .is_some(),
        "delivery ids are unique per connection"
    );
    // Without an id nothing is deduplicated.
    for _ in 0..2 {
        assert!(
            tx.insert_delivery(&delivery(a, None, DeliveryState::Ignored), t0())
                .await
                .expect("insert")
                .is_some()
        );
    }
    tx.commit().await.expect("commit");

    let stored = store
        .get_delivery(first)
        .await
        .expect("get")
        .expect("stored");
    assert_eq!(stored.connection_id, a);
    assert_eq!(stored.tracker, IntegrationKind::Gitlab);
    assert_eq!(stored.event, "Issue Hook");
    assert_eq!(stored.delivery_id.as_deref(), Some("uuid-1"));
    assert_eq!(stored.body, r#"{"object_kind":"issue","ünïcode":"✓"}"#);
    assert_eq!(stored.state, DeliveryState::Pending);
    assert_eq!(stored.received_at, t0());
    assert_eq!(stored.applied_at, None);

    // A rolled-back delivery leaves neither the delivery nor its job.
    let jobs_before = store
        .job_counts()
        .await
        .expect("counts")
        .get(JobState::Queued);
    let mut tx = store.begin().await.expect("begin");
    let gone = tx
        .insert_delivery(&delivery(a, Some("uuid-2"), DeliveryState::Pending), t0())
        .await
        .expect("insert")
        .expect("new");
    tx.enqueue(&NewJob::new("hook", json!({"delivery": gone}), t0()), t0())
        .await
        .expect("enqueue");
    drop(tx);
    assert!(store.get_delivery(gone).await.expect("get").is_none());
    assert_eq!(
        store
            .job_counts()
            .await
            .expect("counts")
            .get(JobState::Queued),
        jobs_before
    );
    // ... and its id may come again.
    let mut tx = store.begin().await.expect("begin");
    assert!(
        tx.insert_delivery(&delivery(a, Some("uuid-2"), DeliveryState::Pending), t0())
            .await
            .expect("insert")
            .is_some()
    );
    tx.commit().await.expect("commit");
}

async fn pending_deliveries_finish_once_and_count_in_stats(backend: Backend) {
    let (_db, store) = store(backend).await;
    let a = connection_of(&store, IntegrationKind::Gitlab, "a").await;
    let jira = connection_of(&store, IntegrationKind::Jira, "j").await;
    let yesterday = t0() - Duration::days(1);
    let mut ids = Vec::new();
    let mut tx = store.begin().await.expect("begin");
    tx.insert_delivery(&delivery(a, Some("old"), DeliveryState::Pending), yesterday)
        .await
        .expect("insert");
    for n in 0..3 {
        ids.push(
            tx.insert_delivery(
                &delivery(a, Some(&format!("d{n}")), DeliveryState::Pending),
                t0() + Duration::seconds(n),
            )
            .await
            .expect("insert")
            .expect("new"),
        );
    }
    tx.insert_delivery(&delivery(a, None, DeliveryState::Unreadable), t0())
        .await
        .expect("insert");
    tx.insert_delivery(
        &NewDelivery {
            tracker: IntegrationKind::Jira,
            event: "jira:issue_updated".into(),
            ..delivery(jira, Some("j1"), DeliveryState::Pending)
        },
        t0(),
    )
    .await
    .expect("insert");
    tx.commit().await.expect("commit");

    let pending = store
        .pending_deliveries(a, IntegrationKind::Gitlab, 10)
        .await
        .expect("pending");
    assert_eq!(pending.len(), 4, "oldest first, this connection's only");
    assert_eq!(pending[0].delivery_id.as_deref(), Some("old"));
    assert_eq!(pending[1..].iter().map(|d| d.id).collect::<Vec<_>>(), ids);
    assert!(
        store
            .pending_deliveries(a, IntegrationKind::Jira, 10)
            .await
            .expect("pending")
            .is_empty()
    );
    assert_eq!(
        store
            .pending_deliveries(jira, IntegrationKind::Jira, 10)
            .await
            .expect("pending")
            .len(),
        1
    );
    assert_eq!(
        store
            .pending_deliveries(a, IntegrationKind::Gitlab, 2)
            .await
            .expect("pending")
            .len(),
        2
    );

    let done_at = t0() + Duration::minutes(1);
    let mut tx = store.begin().await.expect("begin");
    assert_eq!(
        tx.finish_deliveries(&ids[..2], DeliveryState::Applied, None, done_at)
            .await
            .expect("finish"),
        2
    );
    assert_eq!(
        tx.finish_deliveries(
            &ids[1..],
            DeliveryState::Failed,
            Some("GitLab was down"),
            done_at
        )
        .await
        .expect("finish"),
        1,
        "only pending deliveries change"
    );
    tx.commit().await.expect("commit");
    let applied = store
        .get_delivery(ids[0])
        .await
        .expect("get")
        .expect("stored");
    assert_eq!(applied.state, DeliveryState::Applied);
    assert_eq!(applied.applied_at, Some(done_at));
    let failed = store
        .get_delivery(ids[2])
        .await
        .expect("get")
        .expect("stored");
    assert_eq!(failed.state, DeliveryState::Failed);
    assert_eq!(failed.error.as_deref(), Some("GitLab was down"));

    let stats = store.hook_stats(a, t0()).await.expect("stats");
    assert_eq!(stats.last_delivery_at, Some(t0() + Duration::seconds(2)));
    assert_eq!(stats.deliveries, 4, "yesterday's is not today's");
    assert_eq!(stats.failures, 2, "the failed and the unreadable one");
    let none = store.hook_stats(424242, t0()).await.expect("stats");
    assert_eq!(none, Default::default());

    // Pruning keeps pending deliveries whatever their age.
    let pruned = store
        .prune_deliveries(t0() + Duration::hours(1))
        .await
        .expect("prune");
    assert_eq!(pruned, 4);
    let left = store
        .pending_deliveries(a, IntegrationKind::Gitlab, 10)
        .await
        .expect("pending");
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].delivery_id.as_deref(), Some("old"));

    // Late deliveries never overwrite a newer snapshot.
    let mut item = ItemSnapshot::new("g/p#1", "One", "https://x/1", t0());
    item.done = true;
    let mut tx = store.begin().await.expect("begin");
    let first = tx
        .upsert_items_if_newer(a, std::slice::from_ref(&item), t0())
        .await
        .expect("upsert");
    assert!(first[0].is_some(), "a new item is written");
    let older = ItemSnapshot {
        done: false,
        updated_at: t0() - Duration::minutes(1),
        ..item.clone()
    };
    let newer = ItemSnapshot {
        title: "One, renamed".into(),
        updated_at: t0() + Duration::minutes(1),
        ..item.clone()
    };
    let ids = tx
        .upsert_items_if_newer(a, &[older, item.clone(), newer.clone()], t0())
        .await
        .expect("upsert");
    assert_eq!(
        ids,
        vec![None, first[0], first[0]],
        "older kept out; equal and newer written"
    );
    tx.commit().await.expect("commit");
    let mut tx = store.begin().await.expect("begin");
    let again = ItemSnapshot {
        title: "Stale".into(),
        ..item.clone()
    };
    assert_eq!(
        tx.upsert_items_if_newer(a, &[again], t0())
            .await
            .expect("upsert"),
        vec![None]
    );
    // A poll writes whatever it read.
    assert_eq!(
        tx.upsert_items(a, std::slice::from_ref(&item), t0())
            .await
            .expect("upsert"),
        vec![first[0].expect("id")]
    );
    tx.commit().await.expect("commit");
}

async fn channels_subscriptions_deliveries_and_notices_round_trip(backend: Backend) {
    use cairn_core::notify::EventKind;
    use cairn_store::notify::{
        ChannelKind, ChannelUpdate, NewChannel, NewNotifyDelivery, NewSubscription, NotifyAttempt,
        NotifyState,
    };
    let (_db, store) = store(backend).await;
    let admin = create_user(&store, "admin@example.com", Role::Admin).await;
    let new = NewChannel {
        name: "alerts".into(),
        kind: ChannelKind::Webhook,
        url: sealed("k1", b"url-ciphertext"),
        target: "https://hooks.example.com".into(),
        secret: Some(sealed("k1", b"secret-ciphertext")),
        created_by: Some(admin),
    };
    let mut tx = store.begin().await.expect("begin");
    let id = tx.insert_channel(&new, t0()).await.expect("channel");
    match tx.insert_channel(&new, t0()).await {
        Err(StoreError::Conflict { field }) => assert_eq!(field, "name"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    drop(tx);
    let mut tx = store.begin().await.expect("begin");
    let id2 = tx.insert_channel(&new, t0()).await.expect("after rollback");
    let sub = tx
        .insert_subscription(
            &NewSubscription {
                channel_id: id2,
                okr_id: None,
                include_subtree: true,
                events: vec![EventKind::StatusChanged, EventKind::LinkFailing],
                created_by: Some(admin),
            },
            t0(),
        )
        .await
        .expect("subscription");
    let delivery = tx
        .insert_notify_delivery(
            &NewNotifyDelivery {
                channel_id: id2,
                event_kind: EventKind::StatusChanged,
                payload: json!({"okr_id": 7}),
                webhook_id: "msg_1".into(),
            },
            t0(),
        )
        .await
        .expect("delivery");
    tx.commit().await.expect("commit");
    let _ = id;
    let channel = store.get_channel(id2).await.expect("get").expect("channel");
    assert_eq!(channel.url, new.url);
    assert_eq!(channel.secret, new.secret);
    assert!(channel.enabled && channel.failing_since.is_none());
    let subs = store.list_subscriptions(Some(id2)).await.expect("subs");
    assert_eq!(subs.len(), 1);
    assert_eq!(subs[0].id, sub);
    assert_eq!(subs[0].okr_id, None);
    assert_eq!(
        subs[0].events,
        [EventKind::StatusChanged, EventKind::LinkFailing]
    );

    // A failed attempt, then a success; the channel counts both.
    let later = t0() + Duration::minutes(1);
    let mut tx = store.begin().await.expect("begin");
    tx.record_notify_attempt(
        &NotifyAttempt {
            delivery_id: delivery,
            attempt: 1,
            at: t0(),
            status_code: Some(503),
            error: Some("the endpoint answered 503".into()),
            duration_ms: 12,
            response_excerpt: "busy".into(),
        },
        NotifyState::Pending,
        Some(later),
    )
    .await
    .expect("attempt");
    let failing = tx
        .record_channel_outcome(id2, false, t0())
        .await
        .expect("outcome")
        .expect("channel");
    assert_eq!(failing.consecutive_failures, 1);
    assert_eq!(failing.failing_since, Some(t0()));
    tx.commit().await.expect("commit");
    let pending = store
        .get_notify_delivery(delivery)
        .await
        .expect("get")
        .expect("delivery");
    assert_eq!(pending.state, NotifyState::Pending);
    assert_eq!(pending.attempts, 1);
    assert_eq!(pending.next_attempt_at, Some(later));
    assert_eq!(pending.payload, json!({"okr_id": 7}));
    let mut tx = store.begin().await.expect("begin");
    tx.record_notify_attempt(
        &NotifyAttempt {
            delivery_id: delivery,
            attempt: 2,
            at: later,
            status_code: Some(200),
            error: None,
            duration_ms: 3,
            response_excerpt: "ok".into(),
        },
        NotifyState::Delivered,
        None,
    )
    .await
    .expect("attempt");
    let ok = tx
        .record_channel_outcome(id2, true, later)
        .await
        .expect("outcome")
        .expect("channel");
    assert_eq!((ok.consecutive_failures, ok.failing_since), (0, None));
    assert_eq!(ok.last_success_at, Some(later));
    tx.commit().await.expect("commit");
    let attempts = store.notify_attempts(delivery).await.expect("attempts");
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0].status_code, Some(503));
    assert_eq!(attempts[1].response_excerpt, "ok");
    let listed = store.list_notify_deliveries(id2, 10).await.expect("list");
    assert_eq!(listed[0].state, NotifyState::Delivered);

    // Disabled once, with a notice; enabling clears the reason.
    let mut tx = store.begin().await.expect("begin");
    assert!(
        tx.disable_channel(id2, "410 Gone", later)
            .await
            .expect("disable")
    );
    assert!(
        !tx.disable_channel(id2, "again", later)
            .await
            .expect("disable")
    );
    let notice = tx.insert_notice("disabled", later).await.expect("notice");
    tx.commit().await.expect("commit");
    let disabled = store.get_channel(id2).await.expect("get").expect("channel");
    assert!(!disabled.enabled);
    assert_eq!(disabled.disabled_reason.as_deref(), Some("410 Gone"));
    let mut tx = store.begin().await.expect("begin");
    tx.update_channel(
        id2,
        &ChannelUpdate {
            enabled: Some(true),
            ..ChannelUpdate::default()
        },
        later,
    )
    .await
    .expect("enable");
    assert!(
        tx.dismiss_notice(notice, admin, later)
            .await
            .expect("dismiss")
    );
    assert!(
        !tx.dismiss_notice(notice, admin, later)
            .await
            .expect("dismiss")
    );
    tx.commit().await.expect("commit");
    let enabled = store.get_channel(id2).await.expect("get").expect("channel");
    assert!(enabled.enabled && enabled.disabled_reason.is_none());
    assert!(store.list_notices(false).await.expect("notices").is_empty());
    assert_eq!(store.list_notices(true).await.expect("notices").len(), 1);

    // Resealed only while unchanged; found by its old key until then.
    assert_eq!(
        store
            .channels_not_under_key("k2", 10)
            .await
            .expect("old")
            .len(),
        1
    );
    let (url2, secret2) = (sealed("k2", b"url-2"), sealed("k2", b"secret-2"));
    assert!(
        store
            .reseal_channel(&enabled, &url2, Some(&secret2))
            .await
            .expect("reseal")
    );
    assert!(
        !store
            .reseal_channel(&enabled, &url2, Some(&secret2))
            .await
            .expect("stale reseal")
    );
    assert!(
        store
            .channels_not_under_key("k2", 10)
            .await
            .expect("old")
            .is_empty()
    );

    // Deleting a channel takes its subscriptions and deliveries.
    let mut tx = store.begin().await.expect("begin");
    assert!(tx.delete_channel(id2).await.expect("delete"));
    tx.commit().await.expect("commit");
    assert!(
        store
            .list_subscriptions(None)
            .await
            .expect("subs")
            .is_empty()
    );
    assert!(
        store
            .get_notify_delivery(delivery)
            .await
            .expect("get")
            .is_none()
    );
}

/// Two "instances": on PostgreSQL two stores (two pools, two lock
/// connections) on one database; SQLite is one process's, so one store.
async fn instances(backend: Backend) -> (TestDb, Arc<dyn Store>, Arc<dyn Store>) {
    let db = TestDb::new(backend).await;
    let a = db.store().await;
    let b = match backend {
        Backend::Postgres => db.store().await,
        Backend::Sqlite => a.clone(),
    };
    (db, a, b)
}

async fn a_key_has_one_holder_across_instances(backend: Backend) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let (_db, a, b) = instances(backend).await;
    let inside = Arc::new(AtomicUsize::new(0));
    let entered = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for n in 0..24 {
        let store = if n % 2 == 0 { a.clone() } else { b.clone() };
        let (inside, entered) = (inside.clone(), entered.clone());
        tasks.push(tokio::spawn(async move {
            for _ in 0..5 {
                let held = store.lock(LockKey::Okr(1)).await.expect("lock");
                assert_eq!(held.key(), LockKey::Okr(1));
                assert_eq!(
                    inside.fetch_add(1, Ordering::SeqCst),
                    0,
                    "two holders at once"
                );
                // Give the other instance every chance to come in.
                for _ in 0..3 {
                    tokio::task::yield_now().await;
                }
                store.ping().await.expect("ping");
                inside.fetch_sub(1, Ordering::SeqCst);
                entered.fetch_add(1, Ordering::SeqCst);
            }
        }));
    }
    for task in tasks {
        task.await.expect("no task saw two holders");
    }
    assert_eq!(entered.load(Ordering::SeqCst), 24 * 5);

    // Other keys are not held up by a held one, nor are the same ids of
    // other kinds.
    let held = a.lock(LockKey::Okr(2)).await.expect("lock");
    for other in [LockKey::Okr(3), LockKey::Link(2), LockKey::SyncItem(2, 2)] {
        let got = tokio::time::timeout(std::time::Duration::from_secs(5), b.lock(other))
            .await
            .expect("another key is free")
            .expect("lock");
        drop(got);
    }
    // The key is free again once dropped, for either instance.
    let waiting = {
        let b = b.clone();
        tokio::spawn(async move { b.lock(LockKey::Okr(2)).await.map(|_| ()) })
    };
    drop(held);
    tokio::time::timeout(std::time::Duration::from_secs(5), waiting)
        .await
        .expect("taken after the holder let go")
        .expect("task")
        .expect("lock");
}

/// An instance that dies (its connections close) lets go of what it held.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_locks_die_with_their_instance() {
    let (db, a, b) = instances(Backend::Postgres).await;
    let held = b.lock(LockKey::Link(9)).await.expect("lock");
    let waiting = {
        let a = a.clone();
        tokio::spawn(async move { a.lock(LockKey::Link(9)).await.map(|_| ()) })
    };
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert!(!waiting.is_finished(), "held by the other instance");
    // Closing the store closes its lock connection, as a killed process's
    // would be; the guard is not dropped first.
    b.close().await;
    tokio::time::timeout(std::time::Duration::from_secs(5), waiting)
        .await
        .expect("free once its holder's connection closed")
        .expect("task")
        .expect("lock");
    std::mem::forget(held);
    drop(db);
}

/// A transaction that finds a waiting job under its dedupe key keeps that
/// job from being claimed until it commits, so what it writes for the job
/// (a webhook delivery) is visible when the job runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_dedupe_holds_the_waiting_job_until_commit() {
    let (_db, store) = store(Backend::Postgres).await;
    let now = t0();
    let first = store
        .enqueue(job(1, now).with_dedupe_key("hooks:jira:1"), now)
        .await
        .expect("enqueue");
    assert!(first.is_some());
    let mut tx = store.begin().await.expect("begin");
    let again = tx
        .enqueue(&job(2, now).with_dedupe_key("hooks:jira:1"), now)
        .await
        .expect("enqueue");
    assert_eq!(again, None, "deduplicated");
    let claimed = store
        .claim_jobs("w1", 10, now, now + Duration::seconds(30))
        .await
        .expect("claim");
    assert!(
        claimed.is_empty(),
        "claimed while the enqueuer is open: {claimed:?}"
    );
    tx.commit().await.expect("commit");
    let claimed = store
        .claim_jobs("w1", 10, now, now + Duration::seconds(30))
        .await
        .expect("claim");
    assert_eq!(
        claimed.iter().map(|j| Some(j.id)).collect::<Vec<_>>(),
        vec![first]
    );
}

fn sync_pair(owner_id: i64, left: i64, right: i64) -> cairn_store::sync::SyncPairSettings {
    use cairn_core::sync::{FieldPolicies, ItemState, SideScope, StatusMapEntry, StatusMapping};
    cairn_store::sync::SyncPairSettings {
        name: "checkout <-> AE".into(),
        owner_id,
        active: false,
        left: cairn_store::sync::SyncSide {
            connection_id: left,
            project: "northwind/checkout".into(),
            project_id: "7".into(),
            scope: SideScope {
                labels: vec!["sync".into()],
                jql: None,
            },
        },
        right: cairn_store::sync::SyncSide {
            connection_id: right,
            project: "AE".into(),
            project_id: "AE".into(),
            scope: SideScope {
                labels: vec![],
                jql: Some("type = Bug".into()),
            },
        },
        created_after: None,
        fields: FieldPolicies::default(),
        status_mapping: Some(StatusMapping(vec![
            StatusMapEntry {
                status_id: "1".into(),
                name: "To Do".into(),
                state: ItemState::Opened,
                primary: true,
            },
            StatusMapEntry {
                status_id: "10".into(),
                name: "Done".into(),
                state: ItemState::Closed,
                primary: true,
            },
        ])),
        transition_defaults: [("resolution".to_owned(), "Done".to_owned())].into(),
        jira_issue_type: Some("10001".into()),
        scan_interval_secs: 300,
        delete_comment_copies: true,
        scan_overlap_secs: 120,
        auto_map_people: true,
    }
}

async fn sync_setup(store: &Arc<dyn Store>) -> (i64, i64, i64) {
    let left = connection_of(store, IntegrationKind::Gitlab, "gitlab").await;
    let right = connection_of(store, IntegrationKind::Jira, "jira").await;
    let owner = store
        .get_user_by_email("hooks@example.com")
        .await
        .expect("user")
        .expect("created with the connections")
        .id;
    let mut tx = store.begin().await.expect("begin");
    let pair = tx
        .insert_sync_pair(&sync_pair(owner, left, right), t0())
        .await
        .expect("pair");
    tx.commit().await.expect("commit");
    (pair, left, right)
}

fn remote(id: &str) -> cairn_store::sync::RemoteRef {
    cairn_store::sync::RemoteRef {
        id: id.into(),
        key: format!("#{id}"),
        url: format!("https://tracker.example.com/{id}"),
    }
}

async fn sync_pairs_round_trip_and_find_their_connections(backend: Backend) {
    use cairn_core::sync::{FieldDirection, FieldPolicy, SyncField, Transition, Workflow};
    let (_db, store) = store(backend).await;
    let (id, left, right) = sync_setup(&store).await;
    let pair = store.get_sync_pair(id).await.expect("get").expect("pair");
    assert_eq!(
        pair.settings,
        sync_pair(pair.settings.owner_id, left, right)
    );
    assert_eq!(pair.activated_at, None);
    assert!(pair.workflows.is_empty());
    assert_eq!(
        store
            .sync_pairs_on_connection(right)
            .await
            .expect("on right")
            .len(),
        1
    );
    assert_eq!(
        store.sync_pairs_on_connection(left).await.expect("on left")[0].id,
        id
    );
    assert!(
        store.due_sync_scans(t0()).await.expect("due").is_empty(),
        "inactive pairs are never scanned"
    );

    // Activation sets activated_at once; later saves keep it.
    let mut settings = pair.settings.clone();
    settings.active = true;
    settings.created_after = Some(t0());
    settings.fields.set(
        SyncField::Labels,
        FieldPolicy {
            direction: FieldDirection::RightToLeft,
            conflict: cairn_core::sync::ConflictRule::RightWins,
        },
    );
    let mut tx = store.begin().await.expect("begin");
    assert!(
        tx.update_sync_pair(id, &settings, Some(t0()), t0())
            .await
            .expect("update")
    );
    assert!(
        tx.update_sync_pair(id, &settings, Some(t0() + Duration::days(1)), t0())
            .await
            .expect("update")
    );
    let mut workflow = Workflow::default();
    workflow.learn(
        "1",
        &[Transition {
            id: "11".into(),
            name: "Start".into(),
            to: "3".into(),
            required_fields: vec![],
        }],
    );
    tx.save_sync_workflows(id, &[("10001".to_owned(), workflow.clone())].into())
        .await
        .expect("workflows");
    tx.commit().await.expect("commit");
    let pair = store.get_sync_pair(id).await.expect("get").expect("pair");
    assert_eq!(pair.settings, settings);
    assert_eq!(pair.activated_at, Some(t0()));
    assert_eq!(pair.workflows.get("10001"), Some(&workflow));
    assert_eq!(store.due_sync_scans(t0()).await.expect("due"), vec![id]);

    let mut tx = store.begin().await.expect("begin");
    tx.save_sync_scan(id, Some(t0()), None, t0() + Duration::minutes(5))
        .await
        .expect("scan");
    tx.commit().await.expect("commit");
    assert!(store.due_sync_scans(t0()).await.expect("due").is_empty());
    let pair = store.get_sync_pair(id).await.expect("get").expect("pair");
    assert_eq!(
        (pair.left_scanned_to, pair.right_scanned_to),
        (Some(t0()), None)
    );

    let mut tx = store.begin().await.expect("begin");
    assert!(tx.delete_sync_pair(id).await.expect("delete"));
    tx.commit().await.expect("commit");
    assert!(store.list_sync_pairs().await.expect("list").is_empty());
}

async fn sync_items_link_once_per_side_and_keep_the_newest_hint(backend: Backend) {
    use cairn_core::sync::{ItemState, ItemValues, Observed, Side, SyncItemState};
    use cairn_store::sync::SyncHint;
    let (_db, store) = store(backend).await;
    let (pair, _, _) = sync_setup(&store).await;
    let hint = |title: &str, minute: i64| SyncHint {
        side: Side::Left,
        observed: Observed {
            values: ItemValues {
                title: title.into(),
                description: String::new(),
                state: ItemState::Opened,
                labels: Default::default(),
                due_date: None,
                assignee: Default::default(),
                milestone: Default::default(),
            },
            updated_at: t0() + Duration::minutes(minute),
        },
        marker: None,
        created_at: None,
        status_id: None,
        issue_type_id: None,
    };
    let mut tx = store.begin().await.expect("begin");
    let (id, added) = tx
        .note_sync_item(pair, Side::Left, &remote("501"), Some(&hint("v2", 2)), t0())
        .await
        .expect("note");
    assert!(added);
    let (again, added) = tx
        .note_sync_item(pair, Side::Left, &remote("501"), Some(&hint("v1", 1)), t0())
        .await
        .expect("note again");
    assert_eq!((again, added), (id, false));
    tx.commit().await.expect("commit");
    let item = store.get_sync_item(id).await.expect("get").expect("item");
    assert_eq!(item.state, SyncItemState::Pending);
    assert_eq!(item.left, Some(remote("501")));
    assert_eq!(item.right, None);
    assert_eq!(
        item.hint,
        Some(hint("v2", 2)),
        "an older hint never replaces a newer one"
    );

    // Linking the twin: the right side is unique per pair too.
    let mut linked = item.clone();
    linked.right = Some(remote("AE-9"));
    linked.state = SyncItemState::Synced;
    linked.left_updated_at = Some(t0());
    linked.last_synced_at = Some(t0());
    let mut tx = store.begin().await.expect("begin");
    let (newer, _) = tx
        .note_sync_item(pair, Side::Left, &remote("501"), Some(&hint("v3", 3)), t0())
        .await
        .expect("a newer hint while the job runs");
    assert_eq!(newer, id);
    tx.save_sync_item(&linked, "worker-1", Some(t0() + Duration::minutes(2)), t0())
        .await
        .expect("save");
    tx.commit().await.expect("commit");
    let item = store.get_sync_item(id).await.expect("get").expect("item");
    assert_eq!(item.right, Some(remote("AE-9")));
    assert_eq!(
        item.hint,
        Some(hint("v3", 3)),
        "the hint that arrived meanwhile stays"
    );
    assert_eq!(
        store
            .find_sync_item(pair, Side::Right, "AE-9")
            .await
            .expect("find")
            .map(|i| i.id),
        Some(id)
    );
    let mut tx = store.begin().await.expect("begin");
    tx.save_sync_item(&linked, "worker-1", Some(t0() + Duration::minutes(3)), t0())
        .await
        .expect("save");
    let (twin_seen, added) = tx
        .note_sync_item(pair, Side::Right, &remote("AE-9"), None, t0())
        .await
        .expect("the twin's own webhook");
    assert_eq!((twin_seen, added), (id, false));
    tx.commit().await.expect("commit");
    assert_eq!(
        store
            .get_sync_item(id)
            .await
            .expect("get")
            .expect("item")
            .hint,
        None
    );

    // A second item may not link the same twin.
    let mut tx = store.begin().await.expect("begin");
    let (other, _) = tx
        .note_sync_item(pair, Side::Left, &remote("502"), None, t0())
        .await
        .expect("note");
    let mut stealing = store.get_sync_item(id).await.expect("get").expect("item");
    stealing.id = other;
    stealing.left = Some(remote("502"));
    let refused = tx.save_sync_item(&stealing, "w", None, t0()).await;
    assert!(
        matches!(refused, Err(StoreError::Conflict { field: "twin" })),
        "{refused:?}"
    );
    drop(tx);

    let counts = store.sync_item_counts(pair).await.expect("counts");
    assert_eq!((counts.synced, counts.pending), (1, 0));
    let listed = store
        .list_sync_items(pair, Some(SyncItemState::Synced), 0, 10)
        .await
        .expect("list");
    assert_eq!(listed.iter().map(|i| i.id).collect::<Vec<_>>(), vec![id]);
    assert!(
        store
            .list_sync_items(pair, None, id, 10)
            .await
            .expect("after")
            .is_empty()
    );

    // Failing items come back when due, only while the pair is active.
    let mut failing = store.get_sync_item(id).await.expect("get").expect("item");
    failing.state = SyncItemState::Failing;
    failing.failures = 2;
    failing.last_error = Some("Jira answered 503".into());
    failing.next_attempt_at = Some(t0() + Duration::minutes(1));
    let mut tx = store.begin().await.expect("begin");
    tx.save_sync_item(&failing, "w", None, t0())
        .await
        .expect("save");
    tx.commit().await.expect("commit");
    let later = t0() + Duration::minutes(2);
    assert!(
        store
            .due_sync_items(later, 10)
            .await
            .expect("due")
            .is_empty()
    );
    let mut settings = store
        .get_sync_pair(pair)
        .await
        .expect("get")
        .expect("pair")
        .settings;
    settings.active = true;
    let mut tx = store.begin().await.expect("begin");
    tx.update_sync_pair(pair, &settings, Some(t0()), t0())
        .await
        .expect("activate");
    tx.commit().await.expect("commit");
    assert!(
        store
            .due_sync_items(t0(), 10)
            .await
            .expect("due")
            .is_empty()
    );
    let due = store.due_sync_items(later, 10).await.expect("due");
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].last_error.as_deref(), Some("Jira answered 503"));
}

async fn sync_item_claims_exclude_others_until_saved_or_expired(backend: Backend) {
    use cairn_core::sync::Side;
    let (_db, store) = store(backend).await;
    let (pair, _, _) = sync_setup(&store).await;
    let mut tx = store.begin().await.expect("begin");
    let (id, _) = tx
        .note_sync_item(pair, Side::Right, &remote("10042"), None, t0())
        .await
        .expect("note");
    tx.commit().await.expect("commit");
    let until = t0() + Duration::seconds(60);
    assert!(
        store
            .claim_sync_item(id, "a", t0(), until)
            .await
            .expect("claim")
    );
    assert!(
        !store
            .claim_sync_item(id, "b", t0(), until)
            .await
            .expect("claim")
    );
    assert!(
        store
            .claim_sync_item(id, "a", t0(), until)
            .await
            .expect("re-claim by its holder")
    );
    // An expired claim (its worker died) is taken over.
    assert!(
        store
            .claim_sync_item(
                id,
                "b",
                until + Duration::seconds(1),
                until + Duration::seconds(61)
            )
            .await
            .expect("claim")
    );
    // Saving releases only the saver's own claim.
    let item = store.get_sync_item(id).await.expect("get").expect("item");
    let mut tx = store.begin().await.expect("begin");
    tx.save_sync_item(&item, "a", None, t0())
        .await
        .expect("save");
    tx.commit().await.expect("commit");
    assert!(
        !store
            .claim_sync_item(id, "c", until, until)
            .await
            .expect("still b's")
    );
    store.release_sync_item(id, "b").await.expect("release");
    assert!(
        store
            .claim_sync_item(id, "c", until, until)
            .await
            .expect("free")
    );
}

async fn sync_operations_conflicts_and_runs_are_logged(backend: Backend) {
    use cairn_core::sync::{Conflict, FieldValue, OperationKind, OperationState, Side, SyncField};
    use cairn_store::sync::{NewSyncOperation, SyncCounts};
    let (_db, store) = store(backend).await;
    let (pair, _, _) = sync_setup(&store).await;
    let mut tx = store.begin().await.expect("begin");
    let (item, _) = tx
        .note_sync_item(pair, Side::Left, &remote("7"), None, t0())
        .await
        .expect("note");
    let create = tx
        .insert_sync_operation(
            &NewSyncOperation {
                pair_id: pair,
                item_id: item,
                side: Side::Right,
                kind: OperationKind::Create,
                fields: [("title".to_owned(), "Crash".to_owned())].into(),
            },
            t0(),
        )
        .await
        .expect("intent");
    tx.commit().await.expect("commit");
    // Until it is finished, the intent is what a retry must look for.
    let open = store.open_sync_operations(item).await.expect("open");
    assert_eq!(open.len(), 1);
    assert_eq!(
        (open[0].id, open[0].state),
        (create, OperationState::Intent)
    );
    let mut tx = store.begin().await.expect("begin");
    tx.finish_sync_operation(create, OperationState::Done, Some("10042"), None, t0())
        .await
        .expect("done");
    let long = "x".repeat(20_000);
    tx.insert_sync_conflict(
        pair,
        item,
        &Conflict {
            field: SyncField::Description,
            left: FieldValue::Text(long.clone()),
            right: FieldValue::Text("jira".into()),
            winner: Side::Right,
            reason: "newer_wins",
        },
        t0(),
    )
    .await
    .expect("conflict");
    let counts = SyncCounts {
        seen: 3,
        created: 1,
        updated: 1,
        skipped: 1,
        failed: 0,
        api_calls: 5,
    };
    tx.insert_sync_run(pair, "hook", t0(), &counts, t0() + Duration::seconds(1))
        .await
        .expect("run");
    tx.commit().await.expect("commit");
    assert!(
        store
            .open_sync_operations(item)
            .await
            .expect("open")
            .is_empty()
    );
    let ops = store
        .list_sync_operations(pair, Some(item), 10)
        .await
        .expect("ops");
    assert_eq!(ops[0].remote_id.as_deref(), Some("10042"));
    assert_eq!(
        ops[0].fields.get("title").map(String::as_str),
        Some("Crash")
    );
    assert_eq!(ops[0].finished_at, Some(t0()));
    let conflicts = store
        .list_sync_conflicts(pair, 10)
        .await
        .expect("conflicts");
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].winner, Side::Right);
    assert_eq!(conflicts[0].field, "description");
    assert_eq!(
        conflicts[0].left_value.chars().count(),
        10_001,
        "cut at 10,000 characters plus an ellipsis"
    );
    // Whole values are kept beside, for a person overturning the rule.
    let id = conflicts[0].id;
    let whole = store
        .get_sync_conflict(id)
        .await
        .expect("get")
        .expect("the conflict");
    assert_eq!(
        whole.left_full.as_deref(),
        Some(serde_json::to_string(&long).expect("json").as_str())
    );
    assert_eq!(whole.right_full.as_deref(), Some("\"jira\""));
    assert_eq!(whole.chosen, None);
    let mut tx = store.begin().await.expect("begin");
    tx.choose_sync_conflict(
        id,
        Side::Left,
        "owner@example.com",
        t0() + Duration::seconds(9),
    )
    .await
    .expect("choose");
    tx.commit().await.expect("commit");
    let chosen = store
        .list_sync_conflicts(pair, 10)
        .await
        .expect("conflicts")
        .remove(0)
        .chosen
        .expect("the choice");
    assert_eq!(
        (chosen.side, chosen.by.as_str(), chosen.at),
        (Side::Left, "owner@example.com", t0() + Duration::seconds(9))
    );
    assert!(
        store
            .get_sync_conflict(id + 1000)
            .await
            .expect("get")
            .is_none()
    );
    let runs = store.list_sync_runs(pair, 10).await.expect("runs");
    assert_eq!(runs[0].counts, counts);
    assert_eq!(runs[0].triggered_by, "hook");
    // Deleting the pair deletes everything it logged.
    let mut tx = store.begin().await.expect("begin");
    tx.delete_sync_pair(pair).await.expect("delete");
    tx.commit().await.expect("commit");
    assert!(store.get_sync_item(item).await.expect("get").is_none());
    assert!(
        store
            .list_sync_runs(pair, 10)
            .await
            .expect("runs")
            .is_empty()
    );
}

async fn sync_comment_links_and_backlinks_are_kept_once(backend: Backend) {
    use cairn_core::sync::Side;
    let (_db, store) = store(backend).await;
    let (pair, _, _) = sync_setup(&store).await;
    let mut tx = store.begin().await.expect("begin");
    let (item, _) = tx
        .note_sync_item(pair, Side::Left, &remote("7"), None, t0())
        .await
        .expect("item");
    let link = tx
        .insert_sync_comment(pair, item, Side::Left, "501", "h1", t0())
        .await
        .expect("comment");
    tx.commit().await.expect("commit");
    // The intent has no copy yet.
    let links = store.list_sync_comments(item).await.expect("links");
    assert_eq!(links.len(), 1);
    assert_eq!(links[0].copy_id, None);
    assert!(
        !store
            .is_sync_comment_copy(pair, Side::Right, "9001")
            .await
            .expect("copy")
    );

    // One original, one link: a second intent for it is refused.
    let mut tx = store.begin().await.expect("begin");
    let again = tx
        .insert_sync_comment(pair, item, Side::Left, "501", "h1", t0())
        .await;
    assert!(
        matches!(
            again,
            Err(cairn_store::StoreError::Conflict { field: "comment" })
        ),
        "{again:?}"
    );
    drop(tx);

    let mut tx = store.begin().await.expect("begin");
    tx.save_sync_comment(link, "9001", "h2", t0())
        .await
        .expect("save");
    tx.insert_sync_backlink(item, Side::Right, "rl-1", t0())
        .await
        .expect("backlink");
    // Written once: a second record keeps the first.
    tx.insert_sync_backlink(item, Side::Right, "rl-2", t0())
        .await
        .expect("backlink again");
    tx.commit().await.expect("commit");
    let links = store.list_sync_comments(item).await.expect("links");
    assert_eq!(links[0].copy_id.as_deref(), Some("9001"));
    assert_eq!(links[0].origin_hash, "h2");
    assert!(
        store
            .is_sync_comment_copy(pair, Side::Right, "9001")
            .await
            .expect("copy")
    );
    assert!(
        !store
            .is_sync_comment_copy(pair, Side::Left, "9001")
            .await
            .expect("copy"),
        "a copy is on the other side of its original"
    );
    assert_eq!(
        store
            .get_sync_backlink(item, Side::Right)
            .await
            .expect("get")
            .as_deref(),
        Some("rl-1")
    );
    assert!(
        store
            .is_sync_backlink(pair, Side::Right, "rl-1")
            .await
            .expect("is")
    );
    assert!(
        !store
            .is_sync_backlink(pair + 1, Side::Right, "rl-1")
            .await
            .expect("is"),
        "another pair's"
    );
    assert_eq!(
        store
            .get_sync_backlink(item, Side::Left)
            .await
            .expect("get"),
        None
    );

    let mut tx = store.begin().await.expect("begin");
    assert!(tx.delete_sync_comment(link).await.expect("delete"));
    tx.commit().await.expect("commit");
    assert!(
        store
            .list_sync_comments(item)
            .await
            .expect("links")
            .is_empty()
    );
}

async fn sync_people_are_mapped_once_per_side_of_a_pair(backend: Backend) {
    use cairn_store::sync_people::NewSyncPersonMapping;
    let (_db, store) = store(backend).await;
    let (pair, _, _) = sync_setup(&store).await;
    let mapping = |left: &str, right: &str| NewSyncPersonMapping {
        pair_id: pair,
        left_id: left.into(),
        left_name: format!("GitLab {left}"),
        right_id: right.into(),
        right_name: format!("Jira {right}"),
    };
    let mut tx = store.begin().await.expect("begin");
    let first = tx
        .insert_sync_person_mapping(&mapping("7", "acc-1"), t0())
        .await
        .expect("mapping");
    tx.insert_sync_person_mapping(&mapping("8", "acc-2"), t0())
        .await
        .expect("second mapping");
    tx.commit().await.expect("commit");
    let stored = store.list_sync_person_mappings(pair).await.expect("list");
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[0].id, first);
    assert_eq!(
        (stored[0].left_id.as_str(), stored[0].right_name.as_str()),
        ("7", "Jira acc-1")
    );
    assert_eq!(stored[0].created_at, t0());

    // A person already mapped on either side is refused, and nothing of
    // that transaction is kept.
    for (left, right) in [("7", "acc-9"), ("9", "acc-2")] {
        let mut tx = store.begin().await.expect("begin");
        let again = tx
            .insert_sync_person_mapping(&mapping(left, right), t0())
            .await;
        assert!(
            matches!(again, Err(StoreError::Conflict { field: "person" })),
            "{left} <-> {right}: {again:?}"
        );
    }
    assert_eq!(
        store
            .list_sync_person_mappings(pair)
            .await
            .expect("list")
            .len(),
        2
    );

    // Deleting is per pair; deleting the pair deletes its mappings.
    let mut tx = store.begin().await.expect("begin");
    assert!(
        !tx.delete_sync_person_mapping(pair + 1, first)
            .await
            .expect("other pair")
    );
    assert!(
        tx.delete_sync_person_mapping(pair, first)
            .await
            .expect("delete")
    );
    assert!(
        !tx.delete_sync_person_mapping(pair, first)
            .await
            .expect("gone")
    );
    tx.commit().await.expect("commit");
    let left = store.list_sync_person_mappings(pair).await.expect("list");
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].left_id, "8");
    let mut tx = store.begin().await.expect("begin");
    tx.delete_sync_pair(pair).await.expect("delete pair");
    tx.commit().await.expect("commit");
    assert!(
        store
            .list_sync_person_mappings(pair)
            .await
            .expect("list")
            .is_empty()
    );
}

async fn initial_sync_plans_count_each_entry_once(backend: Backend) {
    use cairn_core::sync::Side;
    use cairn_store::sync::RemoteRef;
    use cairn_store::sync_initial::{InitialSyncEntry, InitialSyncState, NewInitialSync};
    let (_db, store) = store(backend).await;
    let (pair, _, _) = sync_setup(&store).await;
    let run = NewInitialSync {
        pair_id: pair,
        since: t0() - chrono::Duration::days(30),
        boundary: t0(),
        started_by: "owner@example.com".into(),
    };
    let mut tx = store.begin().await.expect("begin");
    tx.start_initial_sync(&run, t0()).await.expect("start");
    tx.commit().await.expect("commit");
    let stored = store
        .get_initial_sync(pair)
        .await
        .expect("read")
        .expect("run");
    assert_eq!(stored.state, InitialSyncState::Planning);
    assert_eq!((stored.since, stored.boundary), (run.since, run.boundary));
    assert_eq!(stored.total(), None);

    let entries: Vec<InitialSyncEntry> = (0..7)
        .map(|seq| InitialSyncEntry {
            seq,
            side: if seq % 2 == 0 {
                Side::Left
            } else {
                Side::Right
            },
            remote: RemoteRef {
                id: format!("{seq}"),
                key: format!("K-{seq}"),
                url: format!("https://example.com/{seq}"),
            },
        })
        .collect();
    let mut tx = store.begin().await.expect("begin");
    assert!(
        tx.plan_initial_sync(pair, &entries, t0())
            .await
            .expect("plan")
    );
    tx.commit().await.expect("commit");
    // Planned once: a second planning job writes nothing.
    let mut tx = store.begin().await.expect("begin");
    assert!(
        !tx.plan_initial_sync(pair, &entries, t0())
            .await
            .expect("plan")
    );
    tx.commit().await.expect("commit");
    let stored = store
        .get_initial_sync(pair)
        .await
        .expect("read")
        .expect("run");
    assert_eq!(stored.state, InitialSyncState::Running);
    assert_eq!((stored.left_total, stored.right_total), (Some(4), Some(3)));
    assert_eq!(
        store
            .pending_initial_sync_chunks(pair, 3)
            .await
            .expect("chunks"),
        vec![0, 1, 2]
    );
    let chunk = store
        .pending_initial_sync_entries(pair, 3, 6)
        .await
        .expect("entries");
    assert_eq!(chunk, entries[3..6].to_vec());

    // Each entry counts once, however often it is marked.
    let mut tx = store.begin().await.expect("begin");
    assert!(
        tx.mark_initial_sync_entry(pair, 3, false, t0())
            .await
            .expect("mark")
    );
    assert!(
        !tx.mark_initial_sync_entry(pair, 3, false, t0())
            .await
            .expect("again")
    );
    assert!(
        tx.mark_initial_sync_entry(pair, 4, true, t0())
            .await
            .expect("mark")
    );
    assert!(!tx.finish_initial_sync(pair, t0()).await.expect("not yet"));
    tx.commit().await.expect("commit");
    let stored = store
        .get_initial_sync(pair)
        .await
        .expect("read")
        .expect("run");
    assert_eq!((stored.done, stored.failed), (2, 1));
    assert_eq!(
        store
            .pending_initial_sync_entries(pair, 3, 6)
            .await
            .expect("entries")
            .len(),
        1
    );

    // Paused: only from a working state; resuming restarts the rate.
    let later = t0() + chrono::Duration::minutes(5);
    let mut tx = store.begin().await.expect("begin");
    assert!(
        tx.set_initial_sync_state(
            pair,
            &[InitialSyncState::Running],
            InitialSyncState::Paused,
            Some("paused by owner"),
            later
        )
        .await
        .expect("pause")
    );
    assert!(
        !tx.set_initial_sync_state(
            pair,
            &[InitialSyncState::Running],
            InitialSyncState::Paused,
            None,
            later
        )
        .await
        .expect("pause again")
    );
    tx.commit().await.expect("commit");
    let paused = store
        .get_initial_sync(pair)
        .await
        .expect("read")
        .expect("run");
    assert_eq!(paused.paused_reason.as_deref(), Some("paused by owner"));
    let mut tx = store.begin().await.expect("begin");
    assert!(
        tx.set_initial_sync_state(
            pair,
            &[InitialSyncState::Paused],
            InitialSyncState::Running,
            None,
            later
        )
        .await
        .expect("resume")
    );
    tx.commit().await.expect("commit");
    let resumed = store
        .get_initial_sync(pair)
        .await
        .expect("read")
        .expect("run");
    assert_eq!((resumed.resumed_at, resumed.done_at_resume), (later, 2));
    assert_eq!(resumed.paused_reason, None);

    // Done once every entry is.
    let mut tx = store.begin().await.expect("begin");
    for seq in [0, 1, 2, 5, 6] {
        tx.mark_initial_sync_entry(pair, seq, false, later)
            .await
            .expect("mark");
    }
    assert!(tx.finish_initial_sync(pair, later).await.expect("finish"));
    tx.commit().await.expect("commit");
    let done = store
        .get_initial_sync(pair)
        .await
        .expect("read")
        .expect("run");
    assert_eq!(done.state, InitialSyncState::Done);
    assert_eq!((done.done, done.finished_at), (7, Some(later)));
    assert!(
        store
            .pending_initial_sync_chunks(pair, 3)
            .await
            .expect("chunks")
            .is_empty()
    );

    // A new run replaces the finished one and its plan.
    let mut tx = store.begin().await.expect("begin");
    tx.start_initial_sync(&run, later).await.expect("again");
    tx.commit().await.expect("commit");
    let fresh = store
        .get_initial_sync(pair)
        .await
        .expect("read")
        .expect("run");
    assert_eq!((fresh.state, fresh.done), (InitialSyncState::Planning, 0));
}

async fn sync_releases_are_linked_once_per_side_of_a_pair(backend: Backend) {
    use cairn_core::sync::ReleaseLinkHow;
    use cairn_store::sync_releases::NewSyncReleaseLink;
    let (_db, store) = store(backend).await;
    let (pair, _, _) = sync_setup(&store).await;
    let link = |left: &str, right: &str, how| NewSyncReleaseLink {
        pair_id: pair,
        left_id: left.into(),
        left_name: format!("milestone {left}"),
        right_id: right.into(),
        right_name: format!("version {right}"),
        how,
    };
    let mut tx = store.begin().await.expect("begin");
    let first = tx
        .insert_sync_release_link(&link("7", "10001", ReleaseLinkHow::ByName), t0())
        .await
        .expect("link")
        .expect("new");
    tx.insert_sync_release_link(&link("8", "10002", ReleaseLinkHow::Created), t0())
        .await
        .expect("second link")
        .expect("new");
    // A release linked already on either side: nothing written, and the
    // transaction goes on.
    for (left, right) in [("7", "10009"), ("9", "10002")] {
        assert_eq!(
            tx.insert_sync_release_link(&link(left, right, ReleaseLinkHow::Manual), t0())
                .await
                .expect("no error"),
            None,
            "{left} <-> {right}"
        );
    }
    tx.commit().await.expect("commit");
    let stored = store.list_sync_release_links(pair).await.expect("list");
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[0].id, first);
    assert_eq!(
        (
            stored[0].left_id.as_str(),
            stored[0].right_name.as_str(),
            stored[0].how
        ),
        ("7", "version 10001", ReleaseLinkHow::ByName)
    );
    assert_eq!(stored[1].how, ReleaseLinkHow::Created);
    assert_eq!(stored[0].created_at, t0());

    // The names a link saw last, per pair.
    let mut tx = store.begin().await.expect("begin");
    assert!(
        !tx.rename_sync_release_link(pair + 1, first, "x", "y")
            .await
            .expect("other pair")
    );
    assert!(
        tx.rename_sync_release_link(pair, first, "Q1 2026", "Q1 2026")
            .await
            .expect("rename")
    );
    tx.commit().await.expect("commit");
    let stored = store.list_sync_release_links(pair).await.expect("list");
    assert_eq!(
        (stored[0].left_name.as_str(), stored[0].right_name.as_str()),
        ("Q1 2026", "Q1 2026")
    );
    assert_eq!(
        stored[1].right_name, "version 10002",
        "the other link is untouched"
    );

    // Deleting is per pair; deleting the pair deletes its links.
    let mut tx = store.begin().await.expect("begin");
    assert!(
        !tx.delete_sync_release_link(pair + 1, first)
            .await
            .expect("other pair")
    );
    assert!(
        tx.delete_sync_release_link(pair, first)
            .await
            .expect("delete")
    );
    tx.commit().await.expect("commit");
    assert_eq!(
        store
            .list_sync_release_links(pair)
            .await
            .expect("list")
            .len(),
        1
    );
    let mut tx = store.begin().await.expect("begin");
    tx.delete_sync_pair(pair).await.expect("delete pair");
    tx.commit().await.expect("commit");
    assert!(
        store
            .list_sync_release_links(pair)
            .await
            .expect("list")
            .is_empty()
    );
}

async fn teams_are_unique_by_name_in_any_case_and_hold_members_once(backend: Backend) {
    let (_db, store) = store(backend).await;
    let ada = create_user(&store, "ada@example.com", Role::Member).await;
    let bob = create_user(&store, "bob@example.com", Role::Member).await;
    let mut tx = store.begin().await.expect("begin");
    let platform = tx
        .create_team("Platform", Some(ada), t0())
        .await
        .expect("team");
    let web = tx.create_team("Web", None, t0()).await.expect("team");
    tx.commit().await.expect("commit");

    let mut tx = store.begin().await.expect("begin");
    match tx.create_team("PLATFORM", None, t0()).await {
        Err(StoreError::Conflict { field }) => assert_eq!(field, "name"),
        other => panic!("expected a conflict on name, got {other:?}"),
    }
    drop(tx);
    let mut tx = store.begin().await.expect("begin");
    match tx.rename_team(web, "platform").await {
        Err(StoreError::Conflict { field }) => assert_eq!(field, "name"),
        other => panic!("expected a conflict on name, got {other:?}"),
    }
    drop(tx);

    let mut tx = store.begin().await.expect("begin");
    assert!(tx.add_team_member(platform, ada, t0()).await.expect("add"));
    assert!(tx.add_team_member(platform, bob, t0()).await.expect("add"));
    assert!(
        !tx.add_team_member(platform, bob, t0()).await.expect("add"),
        "a member added twice is one membership"
    );
    assert!(tx.add_team_member(web, bob, t0()).await.expect("add"));
    assert!(tx.rename_team(web, "Web apps").await.expect("rename"));
    assert!(!tx.rename_team(web + 100, "Nobody").await.expect("rename"));
    tx.commit().await.expect("commit");

    let teams = store.list_teams().await.expect("teams");
    assert_eq!(
        teams
            .iter()
            .map(|t| (t.name.as_str(), t.lead_id, t.member_ids.clone()))
            .collect::<Vec<_>>(),
        vec![
            ("Platform", Some(ada), vec![ada, bob]),
            ("Web apps", None, vec![bob]),
        ]
    );
    assert_eq!(
        store.teams_of_user(bob).await.expect("teams"),
        vec![platform, web]
    );

    // The lead who leaves is no longer the lead.
    let mut tx = store.begin().await.expect("begin");
    assert!(tx.remove_team_member(platform, ada).await.expect("remove"));
    assert!(!tx.remove_team_member(platform, ada).await.expect("remove"));
    assert!(tx.set_team_lead(web, Some(bob)).await.expect("lead"));
    tx.commit().await.expect("commit");
    let platform_now = store.get_team(platform).await.expect("get").expect("team");
    assert_eq!(
        (platform_now.lead_id, platform_now.member_ids),
        (None, vec![bob])
    );
    assert_eq!(
        store
            .get_team(web)
            .await
            .expect("get")
            .expect("team")
            .lead_id,
        Some(bob)
    );
    assert!(store.get_team(web + 100).await.expect("get").is_none());
}

async fn okrs_filter_by_owner_team_status_and_mine(backend: Backend) {
    use cairn_store::goals::OkrFilter;
    let (_db, store) = store(backend).await;
    let (owner, q1) = period_and_owner(&store).await;
    let other = create_user(&store, "other@example.com", Role::Member).await;
    let mut tx = store.begin().await.expect("begin");
    let q2 = tx
        .create_period(
            "Q2 2026",
            NaiveDate::from_ymd_opt(2026, 4, 1).expect("d"),
            NaiveDate::from_ymd_opt(2026, 6, 30).expect("d"),
            t0(),
        )
        .await
        .expect("period");
    let team = tx.create_team("Platform", None, t0()).await.expect("team");
    tx.add_team_member(team, owner, t0()).await.expect("member");
    // 1: owner's, no team; 2: other's, team; 3: other's, no team; 4: other's, team, Q2.
    let mine = tx
        .create_okr(&okr_fields(owner, q1, None, OkrKind::Objective), t0())
        .await
        .expect("okr");
    let mut team_okr = okr_fields(other, q1, None, OkrKind::Objective);
    team_okr.owner_team_id = Some(team);
    let team_owned = tx.create_okr(&team_okr, t0()).await.expect("okr");
    let others = tx
        .create_okr(&okr_fields(other, q1, None, OkrKind::Objective), t0())
        .await
        .expect("okr");
    let mut later = okr_fields(other, q2, None, OkrKind::Objective);
    later.owner_team_id = Some(team);
    let later = tx.create_okr(&later, t0()).await.expect("okr");
    let progress = |status| OkrProgress {
        value: 10.0,
        percent: 10.0,
        expected_percent: 10.0,
        status,
        computed_at: t0(),
    };
    tx.record_progress(mine, &progress(Status::AtRisk), "check_in", "", false)
        .await
        .expect("progress");
    tx.record_progress(
        team_owned,
        &progress(Status::OnTrack),
        "check_in",
        "",
        false,
    )
    .await
    .expect("progress");
    tx.record_progress(others, &progress(Status::AtRisk), "check_in", "", false)
        .await
        .expect("progress");
    tx.commit().await.expect("commit");

    let stored = store.get_okr(team_owned).await.expect("get").expect("okr");
    assert_eq!(stored.fields, team_okr, "the owning team round-trips");
    let ids = |okrs: Vec<cairn_store::goals::Okr>| okrs.iter().map(|o| o.id).collect::<Vec<_>>();
    let find = |filter: OkrFilter| {
        let store = store.clone();
        async move { ids(store.filter_okrs(&filter).await.expect("filter")) }
    };
    assert_eq!(
        find(OkrFilter::default()).await,
        vec![mine, team_owned, others, later]
    );
    assert_eq!(
        find(OkrFilter {
            period_id: Some(q1),
            ..OkrFilter::default()
        })
        .await,
        vec![mine, team_owned, others]
    );
    assert_eq!(
        find(OkrFilter {
            owner_id: Some(other),
            ..OkrFilter::default()
        })
        .await,
        vec![team_owned, others, later]
    );
    assert_eq!(
        find(OkrFilter {
            team_id: Some(team),
            period_id: Some(q1),
            ..OkrFilter::default()
        })
        .await,
        vec![team_owned]
    );
    assert_eq!(
        find(OkrFilter {
            status: Some(Status::AtRisk),
            ..OkrFilter::default()
        })
        .await,
        vec![mine, others]
    );
    assert_eq!(
        find(OkrFilter {
            mine_of: Some(owner),
            ..OkrFilter::default()
        })
        .await,
        vec![mine, team_owned, later],
        "my OKRs are those I own and those of my teams"
    );
    assert_eq!(
        find(OkrFilter {
            mine_of: Some(other),
            status: Some(Status::AtRisk),
            ..OkrFilter::default()
        })
        .await,
        vec![others]
    );
    assert_eq!(
        find(OkrFilter {
            status: Some(Status::Done),
            ..OkrFilter::default()
        })
        .await,
        Vec::<i64>::new()
    );
}

async fn a_team_that_owns_okrs_is_deleted_only_after_they_move(backend: Backend) {
    let (_db, store) = store(backend).await;
    let (owner, q1) = period_and_owner(&store).await;
    let mut tx = store.begin().await.expect("begin");
    let old = tx.create_team("Old", None, t0()).await.expect("team");
    let new = tx.create_team("New", None, t0()).await.expect("team");
    tx.add_team_member(old, owner, t0()).await.expect("member");
    let mut fields = okr_fields(owner, q1, None, OkrKind::Objective);
    fields.owner_team_id = Some(old);
    let a = tx.create_okr(&fields, t0()).await.expect("okr");
    let b = tx.create_okr(&fields, t0()).await.expect("okr");
    tx.commit().await.expect("commit");
    assert_eq!(store.count_team_okrs(old).await.expect("count"), 2);

    // The database refuses to delete a team that still owns OKRs.
    let mut tx = store.begin().await.expect("begin");
    assert!(tx.delete_team(old).await.is_err());
    drop(tx);
    assert!(store.get_team(old).await.expect("get").is_some());

    let mut tx = store.begin().await.expect("begin");
    assert_eq!(
        tx.reassign_team_okrs(old, Some(new)).await.expect("move"),
        2
    );
    assert!(tx.delete_team(old).await.expect("delete"));
    tx.commit().await.expect("commit");
    assert!(store.get_team(old).await.expect("get").is_none());
    assert_eq!(
        store.teams_of_user(owner).await.expect("teams"),
        Vec::<i64>::new()
    );
    for id in [a, b] {
        let okr = store.get_okr(id).await.expect("get").expect("okr");
        assert_eq!(
            (okr.fields.owner_team_id, okr.fields.owner_id),
            (Some(new), owner)
        );
    }
    let mut tx = store.begin().await.expect("begin");
    assert_eq!(tx.reassign_team_okrs(new, None).await.expect("move"), 2);
    assert!(tx.delete_team(new).await.expect("delete"));
    tx.commit().await.expect("commit");
    assert_eq!(
        store
            .get_okr(a)
            .await
            .expect("get")
            .expect("okr")
            .fields
            .owner_team_id,
        None
    );
}
