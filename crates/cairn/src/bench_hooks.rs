//! `cairn bench hooks`: webhooks in, measured on the real server (`cairn
//! serve`'s [`run_with`]) in this process, on a fresh SQLite data directory,
//! with the simulator as GitLab.
//!
//! 1. Ingest: one real `Issue Hook` (the simulator sends it to a capture
//!    listener when it closes an issue) is posted again and again, each time
//!    with its own `X-Gitlab-Event-UUID` and `Idempotency-Key`, so every
//!    request is verified, stored and gets an apply job. Open loop at a fixed
//!    rate, latency counted from each request's scheduled time (no
//!    coordinated omission); then a closed loop of concurrent senders for the
//!    most the server takes. The job worker applies the deliveries meanwhile,
//!    as in production.
//! 2. Change to API: key results each linked to one simulated issue, the
//!    issues spread over a few projects whose hooks (in the simulator) point
//!    at Cairn; issues are closed and
//!    reopened at a fixed rate and the simulator delivers its webhooks.
//!    Afterwards each key result's history is read through the HTTP API and
//!    every change is matched to the first progress point at or after it
//!    with the percent it should give.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, bail};
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use cairn_core::authz::Role;
use cairn_core::goals::ProgressSource;
use cairn_core::secret::Secret;
use cairn_engine::accounts::Authenticated;
use cairn_engine::connections::ConnectionInput;
use cairn_engine::goals::{GitLabQuery, LinkInput};
use cairn_store::JobState;
use cairn_store::goals::OkrKind;
use cairn_web::AppState;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::config::Settings;
use crate::serve::{Ready, run_with};

/// The simulator's sample project the benchmark works in.
const PROJECT: &str = "northwind/checkout";
const PROJECT_PATH: &str = "northwind%2Fcheckout";

/// What `cairn bench hooks` is asked to do.
#[derive(Debug, Clone)]
pub struct HookBench {
    pub rate: u32,
    pub seconds: u64,
    pub senders: usize,
    pub closed_seconds: u64,
    pub key_results: u32,
    pub change_rate: u32,
    pub change_seconds: u64,
    pub projects: u32,
    pub only: Option<Part>,
}

/// One of the two measurements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Part {
    /// Verified webhooks per second and answer times.
    Ingest,
    /// From a change in the simulator to the progress the API serves.
    Change,
}

pub async fn run(bench: HookBench) -> anyhow::Result<()> {
    println!(
        "cairn bench hooks: release build: {}, {} CPU(s) shared by the server, its job worker, SQLite, the simulator and the load generator; load average {}",
        !cfg!(debug_assertions),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load_average()
    );
    if bench.only != Some(Part::Change) {
        ingest(&bench).await?;
    }
    if bench.only != Some(Part::Ingest) {
        change_to_api(&bench).await?;
    }
    Ok(())
}

pub(crate) fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_owned())
}

pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The p-th percentile (0..=1) of sorted values.
pub(crate) fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub(crate) fn summary(values: &mut [f64]) -> String {
    values.sort_by(|a, b| a.total_cmp(b));
    format!(
        "p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        percentile(values, 0.5),
        percentile(values, 0.9),
        percentile(values, 0.99),
        values.last().copied().unwrap_or(f64::NAN)
    )
}

/// A server like `cairn serve`'s on a fresh data directory and a free port.
fn settings(dir: &std::path::Path) -> Settings {
    Settings {
        bind: "127.0.0.1:0".to_owned(),
        data_dir: dir.join("data"),
        log_level: "warn".to_owned(),
        ..Settings::default()
    }
}

/// Runs the server with `setup`, then `load` once it serves; the server
/// stops when `load` is done. Returns what `load` returned.
async fn with_server<S, SF, L, LF, T>(setup: S, load: L) -> anyhow::Result<T>
where
    S: FnOnce(AppState) -> SF,
    SF: std::future::Future<Output = anyhow::Result<Value>>,
    L: FnOnce(AppState, SocketAddr, Value) -> LF + Send + 'static,
    LF: std::future::Future<Output = anyhow::Result<T>> + Send + 'static,
    T: Send + 'static,
{
    with_server_settings(|_| {}, setup, load).await
}

/// As [`with_server`], with the server's settings adjusted first.
pub(crate) async fn with_server_settings<A, S, SF, L, LF, T>(
    adjust: A,
    setup: S,
    load: L,
) -> anyhow::Result<T>
where
    A: FnOnce(&mut Settings),
    S: FnOnce(AppState) -> SF,
    SF: std::future::Future<Output = anyhow::Result<Value>>,
    L: FnOnce(AppState, SocketAddr, Value) -> LF + Send + 'static,
    LF: std::future::Future<Output = anyhow::Result<T>> + Send + 'static,
    T: Send + 'static,
{
    let dir = tempfile::tempdir()?;
    let outcome: Arc<Mutex<Option<tokio::task::JoinHandle<anyhow::Result<T>>>>> =
        Arc::new(Mutex::new(None));
    let slot = outcome.clone();
    let mut server = settings(dir.path());
    adjust(&mut server);
    run_with(server, |ready: Ready| async move {
        let prepared = setup(ready.state.clone()).await?;
        let Ready {
            state,
            address,
            shutdown,
        } = ready;
        let task = tokio::spawn(async move {
            let result = async {
                crate::instances::wait_ready(address, Duration::from_secs(30)).await?;
                load(state, address, prepared).await
            }
            .await;
            shutdown.cancel();
            result
        });
        *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(task);
        Ok(())
    })
    .await?;
    let task = outcome
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take()
        .context("the benchmark never started")?;
    task.await.context("the benchmark task crashed")?
}

/// An admin, a GitLab connection to the simulator and a period.
pub(crate) struct Org {
    pub(crate) admin: Authenticated,
    pub(crate) connection: i64,
    pub(crate) period: i64,
}

pub(crate) async fn org(state: &AppState, sim: &cairn_sim::SimHandle) -> anyhow::Result<Org> {
    let now = Utc::now();
    let user = state
        .accounts
        .create_user(
            None,
            "bench@example.com",
            "Bench",
            Role::Admin,
            "benchmark password",
            now,
        )
        .await?;
    let admin = Authenticated {
        user,
        session: None,
    };
    let connection = state
        .connections
        .create(
            &admin,
            ConnectionInput {
                kind: "gitlab".into(),
                name: "simulated GitLab".into(),
                base_url: Some(sim.gitlab_url()),
                auth_kind: "private_token".into(),
                username: None,
                secret: Secret::new(cairn_sim::DEFAULT_GITLAB_TOKEN),
                shared: true,
            },
            now,
        )
        .await?
        .id;
    let today = now.date_naive();
    let period = state
        .goals
        .create_period(
            &admin,
            "Bench",
            today - chrono::Duration::days(30),
            today + chrono::Duration::days(60),
            None,
            now,
        )
        .await?
        .id;
    Ok(Org {
        admin,
        connection,
        period,
    })
}

impl Org {
    /// A key result (under `parent`, if given) linked to a GitLab query.
    pub(crate) async fn key_result(
        &self,
        state: &AppState,
        title: &str,
        query: GitLabQuery,
        parent: Option<i64>,
    ) -> anyhow::Result<i64> {
        let input = crate::instances::percent_okr(
            OkrKind::KeyResult,
            title,
            self.period,
            parent,
            ProgressSource::DataLink,
        );
        let kr = state
            .goals
            .create_okr(&self.admin, input, Utc::now())
            .await?
            .id;
        state
            .goals
            .set_gitlab_link(
                &self.admin,
                kr,
                LinkInput {
                    connection_id: self.connection,
                    query,
                    state: None,
                    refresh_interval_secs: None,
                },
                Utc::now(),
            )
            .await?;
        Ok(kr)
    }
}

/// Calls the simulated GitLab: its REST API (`/api/v4/...`) or its control
/// endpoints (`/_sim/...`).
pub(crate) async fn sim_call(
    client: &reqwest::Client,
    sim: &cairn_sim::SimHandle,
    path: &str,
    body: Value,
) -> anyhow::Result<Value> {
    let response = client
        .post(format!("{}{path}", sim.gitlab_url()))
        .header("private-token", cairn_sim::DEFAULT_GITLAB_TOKEN)
        .json(&body)
        .send()
        .await
        .with_context(|| format!("simulator: POST {path}"))?;
    let status = response.status();
    let text = response.text().await?;
    if !status.is_success() {
        bail!("simulator: POST {path}: {status}: {text}");
    }
    serde_json::from_str(&text).with_context(|| format!("simulator: POST {path}: not JSON"))
}

pub(crate) async fn new_issue(
    client: &reqwest::Client,
    sim: &cairn_sim::SimHandle,
    project: &str,
    title: &str,
    milestone: Option<&str>,
) -> anyhow::Result<u64> {
    let mut body = json!({"project": project, "title": title});
    if let Some(milestone) = milestone {
        body["milestone"] = json!(milestone);
    }
    sim_call(client, sim, "/_sim/gitlab/issues", body)
        .await?
        .get("iid")
        .and_then(Value::as_u64)
        .context("the simulator created an issue without an iid")
}

/// A real `Issue Hook` from the simulator: a project hook pointing at a
/// listener of ours, and an issue closed.
async fn capture_issue_hook(
    client: &reqwest::Client,
    sim: &cairn_sim::SimHandle,
    iid: u64,
    token: &str,
) -> anyhow::Result<(HeaderMap, Bytes)> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(HeaderMap, Bytes)>();
    let app = axum::Router::new().fallback(move |headers: HeaderMap, body: Bytes| {
        let tx = tx.clone();
        async move {
            let _ = tx.send((headers, body));
            "ok"
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let stop = CancellationToken::new();
    let stopped = stop.clone();
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(stopped.cancelled_owned())
            .await;
    });
    let hook = sim_call(
        client,
        sim,
        &format!("/api/v4/projects/{PROJECT_PATH}/hooks"),
        json!({"url": format!("http://{address}/capture"), "token": token, "issues_events": true,
            "push_events": false}),
    )
    .await?;
    sim_call(
        client,
        sim,
        "/_sim/gitlab/issues/close",
        json!({"project": PROJECT, "iid": iid}),
    )
    .await?;
    let captured = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .context("the simulator sent no webhook within 10 s")?
        .context("the capture listener stopped")?;
    if let Some(id) = hook.get("id").and_then(Value::as_u64) {
        client
            .delete(format!(
                "{}/api/v4/projects/{PROJECT_PATH}/hooks/{id}",
                sim.gitlab_url()
            ))
            .header("private-token", cairn_sim::DEFAULT_GITLAB_TOKEN)
            .send()
            .await?;
    }
    stop.cancel();
    let _ = server.await;
    Ok(captured)
}

/// A UUID-shaped id, unique within this run.
fn event_uuid(phase: u32, n: u64) -> String {
    format!("b3c4{phase:04x}-0000-4000-8000-{n:012x}")
}

/// One request's outcome.
struct Sent {
    latency_ms: f64,
    /// HTTP status, or `None` on a transport error.
    status: Option<u16>,
}

async fn post_hook(
    client: &reqwest::Client,
    url: &str,
    headers: &HeaderMap,
    body: &Bytes,
    uuid: &str,
) -> Option<u16> {
    let mut headers = headers.clone();
    if let Ok(value) = HeaderValue::from_str(uuid) {
        headers.insert(
            HeaderName::from_static("x-gitlab-event-uuid"),
            value.clone(),
        );
        headers.insert(HeaderName::from_static("idempotency-key"), value);
    }
    let response = client
        .post(url)
        .headers(headers)
        .body(body.clone())
        .send()
        .await
        .ok()?;
    let status = response.status().as_u16();
    // Read the answer to its end: the request is done when its body is.
    response.bytes().await.ok()?;
    Some(status)
}

fn count_failures(sent: &[Sent]) -> (usize, usize) {
    let non_2xx = sent
        .iter()
        .filter(|s| s.status.is_some_and(|c| !(200..300).contains(&c)))
        .count();
    let transport = sent.iter().filter(|s| s.status.is_none()).count();
    (non_2xx, transport)
}

/// Jobs not done yet (queued or running).
async fn pending_jobs(state: &AppState) -> anyhow::Result<u64> {
    let counts = state.store.job_counts().await?;
    Ok(counts.get(JobState::Queued) + counts.get(JobState::Running))
}

/// Waits until the job queue is empty; returns how long that took.
async fn drain(state: &AppState, limit: Duration) -> anyhow::Result<Option<Duration>> {
    let started = Instant::now();
    loop {
        if pending_jobs(state).await? == 0 {
            return Ok(Some(started.elapsed()));
        }
        if started.elapsed() > limit {
            return Ok(None);
        }
        // Counting reads the whole job table: not too often.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn drained(d: Option<Duration>) -> String {
    match d {
        Some(d) => format!("{:.2} s", d.as_secs_f64()),
        None => "not drained within the limit".to_owned(),
    }
}

async fn ingest(bench: &HookBench) -> anyhow::Result<()> {
    let sim = Arc::new(cairn_sim::start(cairn_sim::SimConfig::default()).await?);
    let client = reqwest::Client::new();
    let setup_sim = sim.clone();
    let setup = move |state: AppState| async move {
        let sim = setup_sim;
        let org = org(&state, &sim).await?;
        let milestone = "Hook bench";
        sim_call(
            &client,
            &sim,
            &format!("/api/v4/projects/{PROJECT_PATH}/milestones"),
            json!({"title": milestone}),
        )
        .await?;
        let iid = new_issue(&client, &sim, PROJECT, "Hooked", Some(milestone)).await?;
        let kr = org
            .key_result(
                &state,
                "Ingest",
                GitLabQuery {
                    project: PROJECT.into(),
                    milestone: Some(milestone.into()),
                    assignee: None,
                    labels: vec![],
                    iids: vec![],
                },
                None,
            )
            .await?;
        let secret = state
            .hooks
            .rotate_secret(&org.admin, org.connection, Utc::now())
            .await?
            .secret;
        let (headers, body) = capture_issue_hook(&client, &sim, iid, secret.expose()).await?;
        let mut kept = serde_json::Map::new();
        for (name, value) in &headers {
            if matches!(
                name.as_str(),
                "host" | "content-length" | "accept" | "accept-encoding"
            ) {
                continue;
            }
            kept.insert(
                name.as_str().to_owned(),
                json!(value.to_str().unwrap_or_default()),
            );
        }
        println!(
            "ingest: one real `{}` from the simulator ({} bytes, closes {PROJECT}#{iid}), replayed to /hooks/gitlab/{} (key result {kr}, linked to milestone `{milestone}`)",
            headers
                .get("x-gitlab-event")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("?"),
            body.len(),
            org.connection
        );
        Ok(
            json!({"connection": org.connection, "headers": kept, "body": String::from_utf8_lossy(&body)}),
        )
    };
    let bench = bench.clone();
    let load = move |state: AppState, address: SocketAddr, prepared: Value| async move {
        let connection = prepared["connection"].as_i64().context("connection")?;
        let mut headers = HeaderMap::new();
        if let Some(kept) = prepared["headers"].as_object() {
            for (name, value) in kept {
                headers.insert(
                    HeaderName::from_bytes(name.as_bytes())?,
                    HeaderValue::from_str(value.as_str().unwrap_or_default())?,
                );
            }
        }
        let body = Bytes::from(
            prepared["body"]
                .as_str()
                .context("body")?
                .as_bytes()
                .to_vec(),
        );
        let url = format!("http://{address}/hooks/gitlab/{connection}");
        let target = HookTarget { url, headers, body };
        open_loop(&state, &target, bench.rate, bench.seconds).await?;
        closed_loop(&state, &target, bench.senders, bench.closed_seconds).await?;
        Ok(())
    };
    let result = with_server(setup, load).await;
    if let Ok(sim) = Arc::try_unwrap(sim) {
        sim.shutdown().await;
    }
    result
}

/// Where and what the load generator posts.
struct HookTarget {
    url: String,
    headers: HeaderMap,
    body: Bytes,
}

fn load_client(connections: usize) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .timeout(Duration::from_secs(30))
        .build()?)
}

async fn open_loop(
    state: &AppState,
    target: &HookTarget,
    rate: u32,
    seconds: u64,
) -> anyhow::Result<()> {
    let rate = rate.max(1);
    let total = u64::from(rate) * seconds;
    let client = load_client(1024)?;
    let interval = Duration::from_secs_f64(1.0 / f64::from(rate));
    let done_before = state.store.job_counts().await?.get(JobState::Done);
    let load_before = load_average();
    let start = Instant::now() + Duration::from_millis(20);
    let mut tasks = Vec::with_capacity(total as usize);
    let mut last_sent = start;
    for n in 0..total {
        let at = start + interval.mul_f64(n as f64);
        tokio::time::sleep_until(at).await;
        last_sent = Instant::now();
        let client = client.clone();
        let url = target.url.clone();
        let headers = target.headers.clone();
        let body = target.body.clone();
        tasks.push(tokio::spawn(async move {
            let status = post_hook(&client, &url, &headers, &body, &event_uuid(1, n)).await;
            Sent {
                // From the scheduled time: a late send counts against us.
                latency_ms: ms(at.elapsed()),
                status,
            }
        }));
    }
    let send_span = last_sent.duration_since(start);
    let mut sent = Vec::with_capacity(tasks.len());
    for task in tasks {
        sent.push(task.await?);
    }
    let answered = start.elapsed();
    let pending = pending_jobs(state).await?;
    let applied = state.store.job_counts().await?.get(JobState::Done) - done_before;
    let drain_time = drain(state, Duration::from_secs(600)).await?;
    let (non_2xx, transport) = count_failures(&sent);
    let mut latencies: Vec<f64> = sent.iter().map(|s| s.latency_ms).collect();
    println!(
        "ingest, open loop: {total} webhooks scheduled at {rate}/s for {seconds} s; sent in {:.2} s ({:.0}/s), all answered after {:.2} s; answer time from the scheduled send: {}; non-2xx: {non_2xx}, transport errors: {transport} — target ≥ 2000/s sustained, p99 < 50 ms",
        send_span.as_secs_f64(),
        total as f64 / send_span.as_secs_f64().max(1e-9),
        answered.as_secs_f64(),
        summary(&mut latencies)
    );
    println!(
        "ingest, open loop: apply jobs done while sending: {applied}; pending when the last answer came: {pending}; queue drained {} later; load average before {load_before}, after {}",
        drained(drain_time),
        load_average()
    );
    Ok(())
}

async fn closed_loop(
    state: &AppState,
    target: &HookTarget,
    senders: usize,
    seconds: u64,
) -> anyhow::Result<()> {
    let senders = senders.max(1);
    let client = load_client(senders)?;
    let load_before = load_average();
    let done_before = state.store.job_counts().await?.get(JobState::Done);
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for s in 0..senders {
        let client = client.clone();
        let url = target.url.clone();
        let headers = target.headers.clone();
        let body = target.body.clone();
        tasks.push(tokio::spawn(async move {
            let mut sent = Vec::new();
            let mut n: u64 = 0;
            while Instant::now() < deadline {
                let begun = Instant::now();
                let status = post_hook(
                    &client,
                    &url,
                    &headers,
                    &body,
                    &event_uuid(2, ((s as u64) << 32) | n),
                )
                .await;
                sent.push(Sent {
                    latency_ms: ms(begun.elapsed()),
                    status,
                });
                n += 1;
            }
            sent
        }));
    }
    let mut sent = Vec::new();
    for task in tasks {
        sent.extend(task.await?);
    }
    let elapsed = started.elapsed();
    let pending = pending_jobs(state).await?;
    let applied = state.store.job_counts().await?.get(JobState::Done) - done_before;
    let drain_time = drain(state, Duration::from_secs(600)).await?;
    let (non_2xx, transport) = count_failures(&sent);
    let mut latencies: Vec<f64> = sent.iter().map(|s| s.latency_ms).collect();
    println!(
        "ingest, closed loop: {senders} concurrent senders for {seconds} s: {} webhooks in {:.2} s = {:.0}/s; answer time {}; non-2xx: {non_2xx}, transport errors: {transport}",
        sent.len(),
        elapsed.as_secs_f64(),
        sent.len() as f64 / elapsed.as_secs_f64(),
        summary(&mut latencies)
    );
    println!(
        "ingest, closed loop: apply jobs done meanwhile: {applied}; pending at the end: {pending}; queue drained {} later; load average before {load_before}, after {}",
        drained(drain_time),
        load_average()
    );
    Ok(())
}

/// One change the simulator made: which key result, when, and the percent
/// it should show afterwards.
#[derive(Debug, Clone, Copy)]
struct Change {
    kr: usize,
    at: DateTime<Utc>,
    percent: f64,
}

pub(crate) fn project_name(n: u32) -> String {
    format!("acme/project-{n}")
}

async fn change_to_api(bench: &HookBench) -> anyhow::Result<()> {
    let projects = bench.projects.max(1);
    let spec = format!("projects={projects},issues=0,users=5,jira_projects=0,jira_issues=0,seed=7");
    let sim = Arc::new(
        cairn_sim::start(cairn_sim::SimConfig {
            data: cairn_sim::DataSource::Generate(spec.parse().context("generator spec")?),
            ..cairn_sim::SimConfig::default()
        })
        .await?,
    );
    let client = reqwest::Client::new();
    let setup_sim = sim.clone();
    let count = bench.key_results.max(1);
    let setup = move |state: AppState| async move {
        let sim = setup_sim;
        let org = org(&state, &sim).await?;
        let mut krs = Vec::new();
        for n in 0..count {
            // Spread over the projects, one issue each.
            let project = project_name(n % projects + 1);
            let iid = new_issue(&client, &sim, &project, &format!("Toggled {n}"), None).await?;
            let kr = org
                .key_result(
                    &state,
                    &format!("{project}#{iid} closed"),
                    GitLabQuery {
                        project: project.clone(),
                        milestone: None,
                        assignee: None,
                        labels: vec![],
                        iids: vec![iid],
                    },
                    None,
                )
                .await?;
            krs.push(json!({"kr": kr, "iid": iid, "project": project}));
        }
        let secret = state
            .hooks
            .rotate_secret(&org.admin, org.connection, Utc::now())
            .await?
            .secret;
        let (_, token) = state
            .accounts
            .create_api_token(&org.admin, "bench", Utc::now())
            .await?;
        Ok(
            json!({"connection": org.connection, "secret": secret.expose(),
            "token": token.expose(), "krs": krs, "projects": projects}),
        )
    };
    let bench = bench.clone();
    let load_sim = sim.clone();
    let load = move |state: AppState, address: SocketAddr, prepared: Value| async move {
        toggle(&state, &load_sim, address, &prepared, &bench).await
    };
    let result = with_server(setup, load).await;
    if let Ok(sim) = Arc::try_unwrap(sim) {
        sim.shutdown().await;
    }
    result
}

async fn toggle(
    state: &AppState,
    sim: &Arc<cairn_sim::SimHandle>,
    address: SocketAddr,
    prepared: &Value,
    bench: &HookBench,
) -> anyhow::Result<()> {
    let connection = prepared["connection"].as_i64().context("connection")?;
    let secret = prepared["secret"].as_str().context("secret")?;
    let token = prepared["token"].as_str().context("token")?.to_owned();
    let krs: Vec<(i64, u64, String)> = prepared["krs"]
        .as_array()
        .context("krs")?
        .iter()
        .filter_map(|k| {
            Some((
                k["kr"].as_i64()?,
                k["iid"].as_u64()?,
                k["project"].as_str()?.to_owned(),
            ))
        })
        .collect();
    let projects = prepared["projects"].as_u64().context("projects")? as u32;
    let client = load_client(256)?;
    // The simulator's own project hooks now point at Cairn.
    for n in 1..=projects {
        sim_call(
            &client,
            sim,
            &format!(
                "/api/v4/projects/{}/hooks",
                project_name(n).replace('/', "%2F")
            ),
            json!({"url": format!("http://{address}/hooks/gitlab/{connection}"), "token": secret,
                "issues_events": true, "push_events": false}),
        )
        .await?;
    }
    let deliveries_before = sim.deliveries().len();
    let rate = f64::from(bench.change_rate.max(1));
    let per_kr = krs.len() as f64 / rate;
    let rounds = (bench.change_seconds as f64 / per_kr).floor().max(1.0) as u64;
    let load_before = load_average();

    // A reader polls the first key result the whole time: when a client
    // first sees each of its changes.
    let stop_watch = CancellationToken::new();
    let watcher = tokio::spawn(watch_okr(
        client.clone(),
        format!("http://{address}/api/v1/okrs/{}", krs[0].0),
        token.clone(),
        stop_watch.clone(),
    ));

    // One task per issue keeps its changes in order: close, reopen, close,
    // ... every `per_kr` seconds, the issues evenly staggered.
    let start = Instant::now() + Duration::from_millis(50);
    let mut tasks = Vec::new();
    for (k, (_, iid, project)) in krs.iter().enumerate() {
        let client = client.clone();
        let sim = sim.clone();
        let iid = *iid;
        let project = project.clone();
        let offset = Duration::from_secs_f64(k as f64 / rate);
        tasks.push(tokio::spawn(async move {
            let mut changes = Vec::new();
            let mut late = Vec::new();
            for round in 0..rounds {
                let at = start + offset + Duration::from_secs_f64(per_kr * round as f64);
                tokio::time::sleep_until(at).await;
                late.push(ms(at.elapsed()));
                let close = round % 2 == 0;
                let t0 = Utc::now();
                let path = if close {
                    "/_sim/gitlab/issues/close"
                } else {
                    "/_sim/gitlab/issues/reopen"
                };
                sim_call(&client, &sim, path, json!({"project": project, "iid": iid})).await?;
                changes.push(Change {
                    kr: k,
                    at: t0,
                    percent: if close { 100.0 } else { 0.0 },
                });
            }
            anyhow::Ok((changes, late))
        }));
    }
    let mut changes = Vec::new();
    let mut late = Vec::new();
    for task in tasks {
        let (c, l) = task.await??;
        changes.extend(c);
        late.extend(l);
    }
    let span = start.elapsed();
    let expected = changes.len();

    // The simulator delivers every webhook, then Cairn applies them.
    let delivering = Instant::now();
    loop {
        let deliveries = sim.deliveries();
        if deliveries.len() - deliveries_before >= expected {
            break;
        }
        if delivering.elapsed() > Duration::from_secs(600) {
            bail!(
                "the simulator delivered {} of {expected} webhooks in 600 s",
                deliveries.len() - deliveries_before
            );
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let delivered_after = start.elapsed();
    let drain_time = drain(state, Duration::from_secs(600)).await?;
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop_watch.cancel();
    let seen_by_poll = watcher.await??;
    let failed: Vec<_> = sim.deliveries()[deliveries_before..]
        .iter()
        .filter(|d| d.status.is_none_or(|s| !(200..300).contains(&s)))
        .cloned()
        .collect();

    // Every key result's history through the API.
    let mut histories: Vec<Vec<(DateTime<Utc>, f64)>> = Vec::new();
    for (kr, _, _) in &krs {
        let response = client
            .get(format!(
                "http://{address}/api/v1/okrs/{kr}/history?limit=10000"
            ))
            .bearer_auth(&token)
            .send()
            .await?;
        let status = response.status();
        let points: Value = response.json().await?;
        if !status.is_success() {
            bail!("history of {kr}: {status}: {points}");
        }
        let mut points: Vec<(DateTime<Utc>, f64)> = points
            .as_array()
            .context("history is a list")?
            .iter()
            .filter_map(|p| {
                Some((
                    p["at"].as_str()?.parse::<DateTime<Utc>>().ok()?,
                    p["percent"].as_f64()?,
                ))
            })
            .collect();
        points.sort_by_key(|p| p.0);
        histories.push(points);
    }
    let (mut latencies, unseen) = match_changes(&changes, &histories);
    let (mut received, mut applied) = stages(state, &krs, &changes).await?;
    let polled = match_polled(&changes, &seen_by_poll);
    late.sort_by(|a, b| a.total_cmp(b));

    println!(
        "change to API: {} key results, each linked to its own issue (`iids: [i]`) in one of {projects} simulated projects, whose project hooks point at Cairn",
        krs.len()
    );
    println!(
        "change to API: {expected} changes (close/reopen through /_sim) at {:.0}/s for {:.2} s (driver late by p99 {:.1} ms); the simulator delivered them all {:.2} s after the start ({} not 2xx); Cairn's queue drained {} after that",
        expected as f64 / span.as_secs_f64(),
        span.as_secs_f64(),
        percentile(&late, 0.99),
        delivered_after.as_secs_f64(),
        failed.len(),
        drained(drain_time)
    );
    println!(
        "change to API: change → progress point (history via GET /api/v1/okrs/{{id}}/history): {}; never seen (coalesced): {unseen} of {expected} — target p99 < 1000 ms at 500/s; load average before {load_before}, after {}",
        summary(&mut latencies),
        load_average()
    );
    println!(
        "change to API: where the time goes: change → delivery received by Cairn (simulator queue and HTTP): {}; received → applied (commit, job, apply): {}",
        summary(&mut received),
        summary(&mut applied)
    );
    if let Some(mut polled) = polled {
        let n = polled.len();
        println!(
            "change to API: a client polling GET /api/v1/okrs/{} every 10 ms saw {n} of its changes: {}",
            krs[0].0,
            summary(&mut polled)
        );
    }
    if let Some(first) = failed.first() {
        println!("change to API: first failed delivery: {first:?}");
    }
    Ok(())
}

/// Each delivery's received and applied times from the inbox, matched to
/// the changes of its issue in order (the simulator sends a project's
/// webhooks in order): (received − change, applied − received) in ms.
async fn stages(
    state: &AppState,
    krs: &[(i64, u64, String)],
    changes: &[Change],
) -> anyhow::Result<(Vec<f64>, Vec<f64>)> {
    let index: HashMap<(String, u64), usize> = krs
        .iter()
        .enumerate()
        .map(|(k, (_, iid, project))| ((project.clone(), *iid), k))
        .collect();
    let mut by_kr: HashMap<usize, Vec<DateTime<Utc>>> = HashMap::new();
    for c in changes {
        by_kr.entry(c.kr).or_default().push(c.at);
    }
    for list in by_kr.values_mut() {
        list.sort();
    }
    let mut seen: HashMap<usize, usize> = HashMap::new();
    let (mut received, mut applied) = (Vec::new(), Vec::new());
    let mut id = 1;
    while let Some(delivery) = state.store.get_delivery(id).await? {
        id += 1;
        let Ok(body) = serde_json::from_str::<Value>(&delivery.body) else {
            continue;
        };
        let (Some(project), Some(iid)) = (
            body["project"]["path_with_namespace"].as_str(),
            body["object_attributes"]["iid"].as_u64(),
        ) else {
            continue;
        };
        let Some(kr) = index.get(&(project.to_owned(), iid)) else {
            continue;
        };
        let n = seen.entry(*kr).or_insert(0);
        let Some(at) = by_kr.get(kr).and_then(|l| l.get(*n)) else {
            continue;
        };
        *n += 1;
        let span = |a: DateTime<Utc>, b: DateTime<Utc>| {
            (b - a).num_microseconds().unwrap_or(0) as f64 / 1000.0
        };
        received.push(span(*at, delivery.received_at));
        if let Some(done) = delivery.applied_at {
            applied.push(span(delivery.received_at, done));
        }
    }
    Ok((received, applied))
}

/// Matches each change to the first progress point at or after it with the
/// percent it should give, each point used once and in order per key
/// result. Returns the latencies (ms) and how many changes had no point.
fn match_changes(changes: &[Change], histories: &[Vec<(DateTime<Utc>, f64)>]) -> (Vec<f64>, usize) {
    let mut by_kr: HashMap<usize, Vec<Change>> = HashMap::new();
    for c in changes {
        by_kr.entry(c.kr).or_default().push(*c);
    }
    let mut latencies = Vec::new();
    let mut unseen = 0;
    for (kr, mut list) in by_kr {
        list.sort_by_key(|c| c.at);
        let points = histories.get(kr).map(Vec::as_slice).unwrap_or(&[]);
        let mut next = 0;
        for change in list {
            let found = points[next.min(points.len())..]
                .iter()
                .position(|(at, percent)| *at >= change.at && *percent == change.percent);
            match found {
                Some(i) => {
                    let (at, _) = points[next + i];
                    latencies
                        .push((at - change.at).num_microseconds().unwrap_or(0) as f64 / 1000.0);
                    next += i + 1;
                }
                None => unseen += 1,
            }
        }
    }
    (latencies, unseen)
}

/// The same for what the polling client saw of the first key result.
fn match_polled(changes: &[Change], seen: &[(DateTime<Utc>, f64)]) -> Option<Vec<f64>> {
    if seen.is_empty() {
        return None;
    }
    let histories = vec![seen.to_vec()];
    let first: Vec<Change> = changes.iter().filter(|c| c.kr == 0).copied().collect();
    Some(match_changes(&first, &histories).0)
}

/// Polls an OKR every 10 ms; returns each time its percent changed.
async fn watch_okr(
    client: reqwest::Client,
    url: String,
    token: String,
    stop: CancellationToken,
) -> anyhow::Result<Vec<(DateTime<Utc>, f64)>> {
    let mut seen: Vec<(DateTime<Utc>, f64)> = Vec::new();
    let mut ticks = tokio::time::interval(Duration::from_millis(10));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return Ok(seen),
            _ = ticks.tick() => {}
        }
        let Ok(response) = client.get(&url).bearer_auth(&token).send().await else {
            continue;
        };
        let Ok(okr) = response.json::<Value>().await else {
            continue;
        };
        let at = Utc::now();
        let Some(percent) = okr["progress"]["percent"].as_f64() else {
            continue;
        };
        if seen.last().is_none_or(|(_, p)| *p != percent) {
            seen.push((at, percent));
        }
    }
}
