//! `cairn bench time`: GitLab activity in, on the real server (`cairn
//! serve`'s [`run_with`]) in this process, on a fresh SQLite data
//! directory, against the simulated GitLab.
//!
//! The simulated GitLab is made the organisation's activity source for one
//! project with its hooks registered, and one person is connected. Then
//! `pushes` pushes of `commits` commits each are made as that person
//! (through the simulator's control API, `senders` at a time, over a few
//! branches, each message mentioning a Jira key); the simulator sends a Push
//! Hook for each, and the engine reads each push's commits back from the
//! Commits API (a hook lists at most 20). Measured: the time from the first
//! push until every commit is stored as the person's activity, the
//! resulting pushes and commits per second, and the GitLab API calls per
//! push.

use std::time::Duration;

use anyhow::Context;
use cairn_engine::time::{PersonInput, SourceInput};
use cairn_store::time::MatchedBy;
use cairn_web::AppState;
use chrono::Utc;
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::bench_hooks::{load_average, org, with_server_settings};

const PROJECT: &str = "northwind/checkout";
const PERSON: &str = "amartin";
/// Branches the pushes go to, one after another.
const BRANCHES: u64 = 20;

/// What `cairn bench time` is asked to do.
#[derive(Debug, Clone)]
pub struct TimeBench {
    pub pushes: u64,
    pub commits: u64,
    pub senders: usize,
}

pub async fn run(bench: TimeBench) -> anyhow::Result<()> {
    println!(
        "cairn bench time: release build: {}, {} CPU(s) shared by the server, its job worker, SQLite, the simulator and the load generator; load average {}",
        !cfg!(debug_assertions),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load_average()
    );
    let sim = std::sync::Arc::new(cairn_sim::start(cairn_sim::SimConfig::default()).await?);
    let setup_sim = sim.clone();
    let load_sim = sim.clone();
    with_server_settings(
        |_| {},
        move |state: AppState| async move { prepare(&state, &setup_sim).await },
        move |state, address, prepared| async move {
            ingest(&state, &load_sim, address, &prepared, &bench).await
        },
    )
    .await
}

/// The source (not yet enabled: its hooks need the server's address) and
/// the connected person.
async fn prepare(state: &AppState, sim: &cairn_sim::SimHandle) -> anyhow::Result<Value> {
    let org = org(state, sim).await?;
    let now = Utc::now();
    let (gitlab_user_id, email) = sim
        .with_world(|w| {
            w.gitlab
                .user_by_name(PERSON)
                .map(|u| (u.id, u.email.clone()))
        })
        .context("the simulator's sample has no user amartin")?;
    state
        .time
        .connect_person(
            &org.admin,
            PersonInput {
                user_id: org.admin.user.id,
                gitlab_user_id: i64::try_from(gitlab_user_id)?,
                gitlab_username: PERSON.to_owned(),
                gitlab_email: Some(email),
                time_zone: "UTC".to_owned(),
                own_connection_id: None,
                matched_by: MatchedBy::Manual,
            },
            now,
        )
        .await?;
    Ok(json!({"connection": org.connection, "admin": org.admin.user.id}))
}

async fn ingest(
    state: &AppState,
    sim: &cairn_sim::SimHandle,
    address: std::net::SocketAddr,
    prepared: &Value,
    bench: &TimeBench,
) -> anyhow::Result<()> {
    let admin = crate::bench_sync::admin(state, prepared).await?;
    let admin_id = admin.user.id;
    let connection = crate::bench_sync::number(prepared, "connection")?;
    let now = Utc::now();
    let source = state
        .time
        .set_source(
            &admin,
            SourceInput {
                connection_id: connection,
                jira_connection_id: None,
                enabled: true,
                projects: vec![PROJECT.to_owned()],
                settings: None,
            },
            now,
        )
        .await?;
    let base = format!("http://{address}");
    let real_time = state
        .time
        .register_source_hooks(&state.hooks, &admin, &source, Some(&base), now)
        .await?;
    let registered = real_time.map_or(0, |r| r.registered.len());
    anyhow::ensure!(registered == 1, "the project hook was not registered");
    // The 30-day backfill runs first, so it is not counted.
    let waited = Instant::now();
    loop {
        let backfilled = state
            .time
            .source(&admin)
            .await?
            .is_some_and(|s| s.backfilled_at.is_some());
        if backfilled {
            break;
        }
        anyhow::ensure!(
            waited.elapsed() < Duration::from_secs(120),
            "the backfill did not finish in two minutes"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let before = state.store.count_activities(admin_id).await?;
    sim.clear_requests();

    let client = reqwest::Client::new();
    let expected = bench.pushes * bench.commits;
    let started = Instant::now();
    let next = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut senders = Vec::new();
    for _ in 0..bench.senders.max(1) {
        let next = next.clone();
        let client = client.clone();
        let sim_url = sim.gitlab_url();
        let (pushes, commits) = (bench.pushes, bench.commits);
        senders.push(tokio::spawn(async move {
            loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if n >= pushes {
                    return anyhow::Ok(());
                }
                let branch = n % BRANCHES;
                let messages: Vec<String> = (0..commits)
                    .map(|c| format!("OPS-{} push {n} commit {c}", branch + 1))
                    .collect();
                sim_call_at(
                    &client,
                    &sim_url,
                    json!({"project": PROJECT, "as": PERSON,
                           "branch": format!("feature/OPS-{}-work", branch + 1),
                           "messages": messages}),
                )
                .await?;
            }
        }));
    }
    for sender in senders {
        sender.await??;
    }
    let pushed = started.elapsed();
    println!(
        "pushed {} pushes x {} commits in {:.1} s ({:.0} pushes/s offered)",
        bench.pushes,
        bench.commits,
        pushed.as_secs_f64(),
        bench.pushes as f64 / pushed.as_secs_f64()
    );
    let stored = loop {
        let stored = state.store.count_activities(admin_id).await? - before;
        if stored >= i64::try_from(expected)? {
            break stored;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(1_800),
            "only {stored} of {expected} commits stored after 30 minutes"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let all = started.elapsed();
    let commit_reads = sim
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path.contains("/repository/commits"))
        .count();
    let gitlab_reads = sim
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/api/v4/"))
        .count();
    println!(
        "ingested: {stored} commits as activity in {:.1} s from the first push: {:.0} pushes/s, {:.0} commits/s",
        all.as_secs_f64(),
        bench.pushes as f64 / all.as_secs_f64(),
        stored as f64 / all.as_secs_f64()
    );
    println!(
        "GitLab API calls per push: {:.2} (Commits API reads {:.2})",
        gitlab_reads as f64 / bench.pushes as f64,
        commit_reads as f64 / bench.pushes as f64
    );
    println!("load average after: {}", load_average());
    Ok(())
}

/// One push through the simulator's control API.
async fn sim_call_at(client: &reqwest::Client, sim_url: &str, body: Value) -> anyhow::Result<()> {
    let response = client
        .post(format!("{sim_url}/_sim/gitlab/push"))
        .header("private-token", cairn_sim::DEFAULT_GITLAB_TOKEN)
        .json(&body)
        .send()
        .await
        .context("simulator: push")?;
    anyhow::ensure!(
        response.status().is_success(),
        "simulator: push answered {}",
        response.status()
    );
    Ok(())
}
