//! `cairn bench sync`: two-way sync between the simulated GitLab and Jira
//! (Cloud), on the real server (`cairn serve`'s [`run_with`]) in this
//! process, on a fresh SQLite data directory.
//!
//! 1. Bring across: `issues` GitLab issues made in the simulator, then the
//!    pair activated with a `created_after` before them; timed until every
//!    one has its Jira twin, with the API calls it took per issue. The
//!    clients' request rate is raised for the run (the default of 10
//!    requests per second per connection would make this a measure of the
//!    limiter).
//! 2. Change to the other side: with webhooks enabled on both connections,
//!    GitLab titles are edited (as a person, through the simulator's control
//!    API) at `rate` changes per second; each change is timed until the
//!    Jira twin's summary shows it (the simulator's state is polled every
//!    few milliseconds). Also counted: Cairn's API calls per carried change
//!    and what the echoes (Jira's webhooks of Cairn's own writes) cost.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{Context, bail};
use cairn_core::secret::Secret;
use cairn_engine::connections::ConnectionInput;
use cairn_engine::sync::{PairInput, SideInput};
use cairn_web::AppState;
use chrono::Utc;
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::bench_hooks::{load_average, org, percentile, sim_call, with_server_settings};

const PROJECT: &str = "northwind/checkout";
const JIRA_PROJECT: &str = "OPS";

/// What `cairn bench sync` is asked to do.
#[derive(Debug, Clone)]
pub struct SyncBench {
    pub issues: usize,
    pub rate: u32,
    pub seconds: u64,
}

pub async fn run(bench: SyncBench) -> anyhow::Result<()> {
    println!(
        "cairn bench sync: release build: {}, {} CPU(s) shared by the server, its job worker, SQLite, the simulator and the load generator; load average {}",
        !cfg!(debug_assertions),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load_average()
    );
    let sim = std::sync::Arc::new(cairn_sim::start(cairn_sim::SimConfig::default()).await?);
    let setup_sim = sim.clone();
    let load_sim = sim.clone();
    let bench_copy = bench.clone();
    with_server_settings(
        |settings| settings.sync_requests_per_second = 1_000.0,
        move |state: AppState| async move { prepare(&state, &setup_sim).await },
        move |state, address, prepared| async move {
            bring_across(&state, &load_sim, &prepared, &bench_copy).await?;
            change_to_other_side(&state, &load_sim, address, &prepared, &bench_copy).await
        },
    )
    .await
}

async fn prepare(state: &AppState, sim: &cairn_sim::SimHandle) -> anyhow::Result<Value> {
    let org = org(state, sim).await?;
    let jira = state
        .connections
        .create(
            &org.admin,
            ConnectionInput {
                kind: "jira".into(),
                name: "simulated Jira".into(),
                base_url: Some(sim.jira_url()),
                auth_kind: "basic".into(),
                username: Some(cairn_sim::DEFAULT_JIRA_EMAIL.into()),
                secret: Secret::new(cairn_sim::DEFAULT_JIRA_API_TOKEN),
                shared: true,
            },
            Utc::now(),
        )
        .await?
        .id;
    let input = PairInput {
        name: "checkout <-> OPS".into(),
        left: SideInput {
            connection_id: org.connection,
            project: PROJECT.into(),
            labels: vec![],
            jql: None,
        },
        right: SideInput {
            connection_id: jira,
            project: JIRA_PROJECT.into(),
            labels: vec![],
            jql: None,
        },
        active: false,
        created_after: Some(Utc::now() - chrono::Duration::minutes(1)),
        fields: Default::default(),
        status_mapping: None,
        transition_defaults: None,
        jira_issue_type: None,
        scan_interval_secs: None,
        delete_comment_copies: false,
        scan_overlap_secs: None,
        auto_map_people: false,
    };
    let pair = state
        .sync
        .create_pair(&org.admin, &input, Utc::now())
        .await?;
    Ok(json!({
        "pair": pair.pair.id,
        "gitlab": org.connection,
        "jira": jira,
        "admin": org.admin.user.id,
        "input": serde_json::to_value(&input)?,
    }))
}

pub(crate) fn number(prepared: &Value, key: &str) -> anyhow::Result<i64> {
    prepared
        .get(key)
        .and_then(Value::as_i64)
        .with_context(|| format!("the setup lost `{key}`"))
}

pub(crate) async fn admin(
    state: &AppState,
    prepared: &Value,
) -> anyhow::Result<cairn_engine::accounts::Authenticated> {
    let id = number(prepared, "admin")?;
    let user = state
        .store
        .get_user(id)
        .await?
        .context("the benchmark's admin is gone")?;
    Ok(cairn_engine::accounts::Authenticated {
        user,
        session: None,
    })
}

/// Requests the simulator answered, by service.
fn calls(sim: &cairn_sim::SimHandle) -> (usize, usize) {
    let requests = sim.requests();
    let gitlab = requests
        .iter()
        .filter(|r| r.service == cairn_sim::Service::Gitlab && !r.path.starts_with("/_sim"))
        .count();
    (gitlab, requests.len() - gitlab)
}

/// The simulator's requests since it was last cleared, by service, method
/// and path shape (ids and keys folded), most frequent first: where the
/// calls per change go.
fn call_shapes(sim: &cairn_sim::SimHandle) -> Vec<(String, usize)> {
    let mut shapes: HashMap<String, usize> = HashMap::new();
    for r in sim.requests() {
        if r.path.starts_with("/_sim") {
            continue;
        }
        let path: Vec<&str> = r
            .path
            .split('/')
            .map(|part| {
                let id = !part.is_empty() && part.chars().all(|c| c.is_ascii_digit());
                let key = part.split_once('-').is_some_and(|(p, n)| {
                    !p.is_empty()
                        && p.chars().all(|c| c.is_ascii_uppercase())
                        && n.chars().all(|c| c.is_ascii_digit())
                });
                if id || key { "{id}" } else { part }
            })
            .collect();
        *shapes
            .entry(format!("{:?} {} {}", r.service, r.method, path.join("/")))
            .or_default() += 1;
    }
    let mut shapes: Vec<_> = shapes.into_iter().collect();
    shapes.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    shapes
}

fn print_call_shapes(sim: &cairn_sim::SimHandle, per: usize) {
    for (shape, n) in call_shapes(sim).into_iter().take(8) {
        println!("    {:>8.2} each  {shape}", n as f64 / per.max(1) as f64);
    }
}

async fn bring_across(
    state: &AppState,
    sim: &cairn_sim::SimHandle,
    prepared: &Value,
    bench: &SyncBench,
) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let made = Instant::now();
    for i in 0..bench.issues {
        sim_call(
            &client,
            sim,
            "/_sim/gitlab/issues",
            json!({"project": PROJECT, "title": format!("bring across {i}"), "description": "A **bold** claim\n\n- one\n- two"}),
        )
        .await?;
    }
    println!(
        "bring across: {} GitLab issues made in the simulator in {:.1} s",
        bench.issues,
        made.elapsed().as_secs_f64()
    );
    let pair = number(prepared, "pair")?;
    let by = admin(state, prepared).await?;
    let mut input: PairInput = serde_json::from_value(prepared["input"].clone())?;
    input.active = true;
    sim.clear_requests();
    let started = Instant::now();
    state
        .sync
        .update_pair(&by, pair, &input, Utc::now())
        .await?;
    let deadline = started + Duration::from_secs(3_600);
    loop {
        let counts = state.store.sync_item_counts(pair).await?;
        if counts.synced as usize >= bench.issues {
            break;
        }
        if Instant::now() > deadline {
            bail!(
                "only {} of {} brought across in an hour",
                counts.synced,
                bench.issues
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let took = started.elapsed().as_secs_f64();
    let (gitlab, jira) = calls(sim);
    println!(
        "bring across: {} issues to Jira in {:.1} s ({:.0} issues/s); API calls per issue: GitLab {:.2}, Jira {:.2}",
        bench.issues,
        took,
        bench.issues as f64 / took,
        gitlab as f64 / bench.issues as f64,
        jira as f64 / bench.issues as f64
    );
    // What is still queued once every twin exists (the activation's scan
    // and anything it noted), waited out so the next part starts settled.
    loop {
        let counts = state.store.job_counts().await?;
        let busy = |s: &str| counts.0.get(s).copied().unwrap_or(0);
        if busy("queued") == 0 && busy("running") == 0 {
            break;
        }
        if Instant::now() > deadline {
            bail!("jobs still busy after an hour: {counts:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (gitlab_after, jira_after) = calls(sim);
    println!(
        "bring across: settled {:.1} s after the start; API calls per issue in all: GitLab {:.2}, Jira {:.2}",
        started.elapsed().as_secs_f64(),
        gitlab_after as f64 / bench.issues as f64,
        jira_after as f64 / bench.issues as f64
    );
    print_call_shapes(sim, bench.issues);
    Ok(())
}

async fn change_to_other_side(
    state: &AppState,
    sim: &cairn_sim::SimHandle,
    address: std::net::SocketAddr,
    prepared: &Value,
    bench: &SyncBench,
) -> anyhow::Result<()> {
    let pair = number(prepared, "pair")?;
    let by = admin(state, prepared).await?;
    let base = format!("http://{address}");
    for connection in [number(prepared, "gitlab")?, number(prepared, "jira")?] {
        state
            .hooks
            .enable_real_time(
                &by,
                connection,
                Some(&base),
                vec![PROJECT.to_owned()],
                Utc::now(),
            )
            .await?;
    }
    // Linked items: GitLab iid -> Jira key.
    let mut linked = Vec::new();
    let mut after = 0;
    loop {
        let items = state.store.list_sync_items(pair, None, after, 500).await?;
        let Some(last) = items.last() else { break };
        after = last.id;
        for item in items {
            if let (Some(l), Some(r)) = (item.left, item.right) {
                linked.push((l.id.parse::<u64>()?, r.key));
            }
        }
    }
    let total = (bench.rate as u64 * bench.seconds) as usize;
    if linked.len() < total {
        bail!("{} linked items for {total} changes", linked.len());
    }
    sim.clear_requests();
    let runs_before = state
        .store
        .list_sync_runs(pair, 1)
        .await?
        .first()
        .map_or(0, |r| r.id);
    let client = reqwest::Client::new();
    let interval = Duration::from_secs_f64(1.0 / f64::from(bench.rate.max(1)));
    let start = Instant::now();
    let started_at = Utc::now();
    let mut pending: HashMap<String, (String, Instant)> = HashMap::new();
    let mut latencies = Vec::new();
    let mut sent = 0;
    let deadline = start + Duration::from_secs(bench.seconds + 120);
    while (sent < total || !pending.is_empty()) && Instant::now() < deadline {
        let now = Instant::now();
        while sent < total && start + interval * sent as u32 <= now {
            let (iid, key) = &linked[sent];
            let title = format!("changed {sent}");
            let due = start + interval * sent as u32;
            sim_call(
                &client,
                sim,
                "/_sim/gitlab/issues/edit",
                json!({"project": PROJECT, "iid": iid, "as": "amartin", "title": title}),
            )
            .await?;
            pending.insert(key.clone(), (title, due));
            sent += 1;
        }
        let arrived: Vec<String> = sim.with_world(|w| {
            pending
                .iter()
                .filter(|(key, (title, _))| {
                    w.jira
                        .issues
                        .iter()
                        .any(|i| &i.key == *key && i.summary == *title)
                })
                .map(|(key, _)| key.clone())
                .collect()
        });
        let seen = Instant::now();
        for key in arrived {
            if let Some((_, due)) = pending.remove(&key) {
                latencies.push((seen - due).as_secs_f64() * 1000.0);
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    if !pending.is_empty() {
        bail!("{} of {total} changes never reached Jira", pending.len());
    }
    // Let the echoes (Jira's webhooks of Cairn's writes) arrive.
    tokio::time::sleep(Duration::from_secs(3)).await;
    latencies.sort_by(|a, b| a.total_cmp(b));
    println!(
        "change to other side: {total} GitLab title edits at {}/s; until the Jira twin shows them: p50 {:.0} ms, p90 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        bench.rate,
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.9),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or(f64::NAN)
    );
    let (gitlab, jira) = calls(sim);
    let writes = sim
        .requests()
        .iter()
        .filter(|r| r.service == cairn_sim::Service::Jira && r.method == "PUT")
        .count();
    let runs = state.store.list_sync_runs(pair, 10_000).await?;
    let item_runs: Vec<_> = runs
        .iter()
        .filter(|r| r.id > runs_before && r.triggered_by == "item")
        .collect();
    let zero_call_runs = item_runs.iter().filter(|r| r.counts.api_calls == 0).count();
    println!(
        "API calls per carried change: GitLab {:.2}, Jira {:.2} (of which writes {:.2}); item jobs run: {} ({} of them without any API call); echoes dropped at the webhook without a job: see cairn_sync_echoes_total",
        gitlab as f64 / total as f64,
        jira as f64 / total as f64,
        writes as f64 / total as f64,
        item_runs.len(),
        zero_call_runs
    );
    print_call_shapes(sim, total);
    // Cairn's own account of its writes in this part, by side and fields.
    let mut writes_by: HashMap<String, usize> = HashMap::new();
    for op in state
        .store
        .list_sync_operations(pair, None, 1_000_000)
        .await?
        .iter()
        .filter(|o| o.created_at >= started_at && o.kind != cairn_core::sync::OperationKind::Create)
    {
        let fields: Vec<&str> = op.fields.keys().map(String::as_str).collect();
        *writes_by
            .entry(format!(
                "{} {} [{}]",
                op.side,
                op.kind.as_str(),
                fields.join(", ")
            ))
            .or_default() += 1;
    }
    for (what, n) in writes_by {
        println!("    {n:>8} writes  {what}");
    }
    Ok(())
}
