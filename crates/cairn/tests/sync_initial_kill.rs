//! Issue 16's acceptance test for the initial sync: 2,000 items created
//! before a pair (1,000 in GitLab, 1,000 in Jira) are brought across by an
//! initial sync while `cairn serve` is SIGKILLed in the middle of it and
//! started again. It resumes where it was and finishes; every item exists
//! once on each side; the progress read through the API moved before the
//! kill, survived it, and reached the total.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use cairn::instances::{Cluster, admin_with_token};
use cairn_connect::gitlab::{IssueChanges, IssueFilter, IssueState, ProjectRef};
use cairn_store::JobState;
use cairn_store::testing::TestDb;
use chrono::Utc;
use serde_json::{Value, json};

use common::LEFT;
/// Items on each side.
const N: usize = 1_000;

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_cairn"))
}

/// The pair's initial sync as the API of the running instance tells it.
/// A 503 ("try again shortly": no database connection free within a second,
/// as on a busy machine just after a restart) is asked again, a few times.
async fn progress(cluster: &Cluster, token: &str, pair: i64) -> Value {
    let address = cluster.address(0).expect("running");
    let mut busy = 0;
    loop {
        let response = reqwest::Client::new()
            .get(format!(
                "http://{address}/api/v1/sync-pairs/{pair}/initial-sync"
            ))
            .bearer_auth(token)
            .send()
            .await
            .expect("the API answers");
        let status = response.status();
        if status == reqwest::StatusCode::SERVICE_UNAVAILABLE && busy < 5 {
            busy += 1;
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        }
        assert!(status.is_success(), "{status}");
        return response.json().await.expect("JSON");
    }
}

/// The initial sync's chunk jobs not done, with their state, attempts and
/// last error: what a stalled run is waiting for.
async fn unfinished_chunks(state: &cairn_web::AppState) -> Vec<String> {
    let mut found = Vec::new();
    for job_state in [JobState::Queued, JobState::Running, JobState::Dead] {
        for job in state
            .store
            .list_jobs(Some(job_state), 500)
            .await
            .expect("jobs")
            .into_iter()
            .filter(|j| j.kind == cairn_engine::sync::initial::CHUNK_KIND)
        {
            found.push(format!(
                "{} {:?} attempts {} run_after {} lease {:?} error {:?}",
                job.payload,
                job.state,
                job.attempts,
                job.run_after,
                job.lease_expires_at,
                job.last_error
            ));
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_the_initial_sync_resumes_and_never_duplicates() {
    let db = TestDb::postgres().await;
    let sim = cairn_sim::start(cairn_sim::SimConfig::default())
        .await
        .expect("simulator");
    // Started without instances, to set the sync's rate first: the
    // simulator may be asked fast.
    let mut cluster = Cluster::start(binary(), &db.url, 0, 2)
        .await
        .expect("a cluster");
    cluster.sync_requests_per_second = Some(1_000.0);
    cluster
        .processes
        .push(Some(cluster.spawn().await.expect("an instance")));
    let state = cluster.state().await.expect("state");
    let (admin, token, _) = admin_with_token(&state, "initial-sync@example.com")
        .await
        .expect("admin");
    let token = token.expose().to_owned();
    let (gitlab, jira) = common::sim_connections(&state, &admin, &sim).await;
    let (gl, jc) = common::sim_clients(
        &sim,
        cairn_connect::HttpConfig {
            requests_per_second: 1_000.0,
            burst: 1_000,
            ..cairn_connect::HttpConfig::default()
        },
    );

    // The pair, inactive until the items exist: its scope begins at its
    // activation, after them.
    let mut input = common::pair_input("history", gitlab, jira, false, None);
    let view = state
        .sync
        .create_pair(&admin, &input, Utc::now())
        .await
        .expect("pair");
    let pair = view.pair.id;
    let issue_type = view.pair.settings.jira_issue_type.clone().expect("type");

    // History: the items exist before the pair does.
    let since = Utc::now() - chrono::Duration::seconds(5);
    for i in 0..N {
        gl.create_issue(
            &ProjectRef::from(LEFT),
            &IssueChanges {
                title: Some(format!("gitlab {i}")),
                description: Some(format!("made in **GitLab** ({i})")),
                ..IssueChanges::default()
            },
        )
        .await
        .expect("gitlab issue");
        let mut fields = serde_json::Map::new();
        fields.insert("project".into(), json!({"key": "OPS"}));
        fields.insert("issuetype".into(), json!({"id": issue_type}));
        fields.insert("summary".into(), json!(format!("jira {i}")));
        jc.create_issue(fields, &[]).await.expect("jira issue");
    }
    input.active = true;
    state
        .sync
        .update_pair(&admin, pair, &input, Utc::now())
        .await
        .expect("activated");

    let address = cluster.address(0).expect("running");
    let started = reqwest::Client::new()
        .post(format!(
            "http://{address}/api/v1/sync-pairs/{pair}/initial-sync"
        ))
        .bearer_auth(&token)
        .json(&json!({"since": since}))
        .send()
        .await
        .expect("start");
    assert_eq!(started.status().as_u16(), 202, "{:?}", started.text().await);

    // Kill the instance once a tenth is across, in the middle of chunks.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    let before = loop {
        let p = progress(&cluster, &token, pair).await;
        if p["done"].as_i64().unwrap_or(0) >= (2 * N / 10) as i64 {
            break p;
        }
        assert!(tokio::time::Instant::now() < deadline, "no progress: {p}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(before["total"], 2 * N, "{before}");
    assert!(before["rate_per_minute"].as_f64().is_some(), "{before}");
    assert_ne!(before["state"], "done", "killed in the middle: {before}");
    let process = cluster.processes[0].take().expect("running");
    process.kill().await.expect("SIGKILL");
    cluster.processes[0] = Some(cluster.spawn().await.expect("restart"));
    let after_restart = progress(&cluster, &token, pair).await;
    assert!(
        after_restart["done"].as_i64() >= before["done"].as_i64(),
        "progress kept: {before} then {after_restart}"
    );

    // It resumes on its own (the dead instance's leases run out) and
    // finishes. About two minutes on an idle machine; generous for a busy
    // one.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(480);
    let finished = loop {
        let p = progress(&cluster, &token, pair).await;
        if p["state"] == "done" {
            break p;
        }
        if tokio::time::Instant::now() >= deadline {
            panic!(
                "not finished: {p}\nchunk jobs not done:\n{}",
                unfinished_chunks(&state).await.join("\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(finished["done"], 2 * N, "{finished}");
    assert_eq!(finished["percent"], 100, "{finished}");
    // Items an attempt of the dead instance held are finished once its
    // claims run out.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let counts = state.store.sync_item_counts(pair).await.expect("counts");
        if counts.synced as usize == 2 * N && counts.pending == 0 && counts.failing == 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not all linked: {counts:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    let mut on_gitlab = BTreeMap::<String, usize>::new();
    for issue in gl
        .issues(
            &ProjectRef::from(LEFT),
            &IssueFilter {
                state: Some(IssueState::All),
                created_after: Some(since),
                ..IssueFilter::default()
            },
        )
        .collect_all()
        .await
        .expect("gitlab issues")
    {
        *on_gitlab.entry(issue.title).or_default() += 1;
    }
    let mut on_jira = BTreeMap::<String, usize>::new();
    for issue in jc
        .search(
            &format!("project = OPS AND created >= {}", since.timestamp_millis()),
            &["summary"],
        )
        .collect_all()
        .await
        .expect("jira issues")
    {
        *on_jira
            .entry(issue.fields.summary.unwrap_or_default())
            .or_default() += 1;
    }
    for (side, titles) in [("GitLab", &on_gitlab), ("Jira", &on_jira)] {
        assert_eq!(titles.len(), 2 * N, "{side}: every item once");
        let doubled: Vec<_> = titles.iter().filter(|(_, n)| **n > 1).collect();
        assert!(doubled.is_empty(), "{side}: duplicated {doubled:?}");
    }

    let errors = cluster.stop().await.expect("stop");
    assert!(errors.is_empty(), "{errors:?}");
}
