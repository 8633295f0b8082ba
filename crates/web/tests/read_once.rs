//! A link is read once when it is saved or refreshed by hand, even while
//! the scheduler runs: the scheduler takes links whose next refresh has
//! come, and a link being read is not due. Counted in the simulator's
//! request log, with every simulated request slowed so that the scheduler
//! ticks many times during one read.

mod common;

use std::time::Duration;

use axum::http::StatusCode;
use cairn_sim::{FaultKind, FaultSpec, Service};
use chrono::Utc;
use common::{Harness, Running, eventually};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

/// What `cairn serve` does every few seconds, here every 10 ms.
fn scheduler(h: &Harness) -> CancellationToken {
    let stop = CancellationToken::new();
    let goals = h.state.goals.clone();
    let signal = h.state.hooks.signal();
    let stopped = stop.clone();
    tokio::spawn(async move {
        while !stopped.is_cancelled() {
            if goals.enqueue_due_refreshes(Utc::now()).await.unwrap_or(0) > 0 {
                signal.notify();
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
    stop
}

fn slow(service: Service) -> FaultSpec {
    FaultSpec {
        count: Some(10_000),
        latency_ms: Some(300),
        ..FaultSpec::new(service, FaultKind::Latency)
    }
}

/// Requests the simulator answered so far whose path ends so.
fn count(h: &Harness, path_end: &str) -> usize {
    h.sim
        .requests()
        .iter()
        .filter(|r| r.path.ends_with(path_end))
        .count()
}

/// Waits until no job waits or runs.
async fn queue_drained(h: &Harness) {
    eventually("the job queue drains", || async {
        let counts = h.state.store.job_counts().await.expect("counts");
        counts.0.get("pending").copied().unwrap_or(0) == 0
            && counts.0.get("running").copied().unwrap_or(0) == 0
    })
    .await;
}

/// Refresh jobs ever queued for links.
async fn refresh_jobs(h: &Harness) -> usize {
    h.state
        .store
        .list_jobs(None, 1000)
        .await
        .expect("jobs")
        .iter()
        .filter(|j| j.kind == cairn_engine::goals::gitlab_link::REFRESH_KIND)
        .count()
}

async fn key_result(h: &Harness) -> i64 {
    let period = common::period(h).await;
    common::linked_key_result(h, period).await
}

async fn put_link(h: &Harness, okr: i64, path: &str, body: Value) {
    let reply = h
        .call(
            "PUT",
            &format!("/api/v1/okrs/{okr}/{path}"),
            Some(&h.owner.token),
            Some(body),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saving_a_jira_link_reads_its_tickets_once() {
    let h = Harness::new(cairn_store::Backend::Sqlite).await;
    let reply = h
        .call(
            "POST",
            "/api/v1/connections",
            Some(&h.owner.token),
            Some(json!({"kind": "jira", "name": "jira", "base_url": h.sim.jira_url(), "auth_kind": "basic",
                        "username": cairn_sim::DEFAULT_JIRA_EMAIL, "secret": cairn_sim::DEFAULT_JIRA_API_TOKEN})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let jira = reply.body["id"].as_i64().expect("connection");
    let okr = key_result(&h).await;
    let worker = Running::worker(&h).await;
    let stop = scheduler(&h);
    h.sim.clear_requests();
    h.sim.inject(&slow(Service::Jira));

    put_link(
        &h,
        okr,
        "link",
        json!({"tracker": "jira", "connection_id": jira, "jql": "project = OPS", "metric": "count"}),
    )
    .await;
    queue_drained(&h).await;
    stop.cancel();
    worker.stop().await;

    // One search checks the JQL, one reads the tickets (a single page).
    assert_eq!(
        count(&h, "/rest/api/3/search/jql"),
        2,
        "{:?}",
        h.sim.requests()
    );
    assert_eq!(
        refresh_jobs(&h).await,
        0,
        "the scheduler queued a second read"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saving_a_gitlab_link_and_refreshing_it_by_hand_read_its_issues_once_each() {
    let h = Harness::new(cairn_store::Backend::Sqlite).await;
    let gitlab = h.gitlab_connection(&h.owner, "gitlab", false).await;
    let okr = key_result(&h).await;
    let worker = Running::worker(&h).await;
    let stop = scheduler(&h);
    h.sim.clear_requests();
    h.sim.inject(&slow(Service::Gitlab));
    let issues = "/issues";

    put_link(
        &h,
        okr,
        "link",
        json!({"tracker": "gitlab", "connection_id": gitlab, "project": "northwind/checkout"}),
    )
    .await;
    queue_drained(&h).await;
    assert_eq!(count(&h, issues), 1, "{:?}", h.sim.requests());
    assert_eq!(
        refresh_jobs(&h).await,
        0,
        "the scheduler queued a second read"
    );

    // A manual refresh of a link that falls due while it reads.
    let link = h
        .state
        .store
        .link_for_okr(okr)
        .await
        .expect("link")
        .expect("link");
    let mut tx = h.state.store.begin().await.expect("tx");
    tx.defer_link(link.id, Utc::now() + chrono::Duration::milliseconds(100))
        .await
        .expect("defer");
    tx.commit().await.expect("commit");
    let reply = h
        .call(
            "POST",
            &format!("/api/v1/okrs/{okr}/refresh"),
            Some(&h.owner.token),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    queue_drained(&h).await;
    stop.cancel();
    worker.stop().await;
    assert_eq!(count(&h, issues), 2, "{:?}", h.sim.requests());
}
