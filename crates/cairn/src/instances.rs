//! Several `cairn serve` processes on one PostgreSQL database, behind a
//! round-robin proxy as a load balancer would put them: the acceptance run
//! of "several instances behave as one" and `cairn bench instances`.
//!
//! The run: key results under one objective, each linked to its own
//! simulated GitLab issues (`iids`), spread over a few projects whose hooks
//! (in the simulator) point at the proxy, which hands each delivery to the
//! next instance in turn (and to the one after if an instance does not
//! answer, as nginx's `proxy_next_upstream` does). Each key result's issues
//! are closed one after another at a fixed pace; optionally one instance is
//! SIGKILLed half-way and started again. Afterwards every key result's
//! history is read from the store.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, bail};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use cairn_core::authz::Role;
use cairn_core::goals::{Measure, ProgressSource};
use cairn_core::secret::Secret;
use cairn_engine::accounts::Authenticated;
use cairn_engine::goals::{GitLabQuery, OkrInput};
use cairn_store::JobState;
use cairn_store::goals::OkrKind;
use cairn_web::AppState;
use chrono::{DateTime, Utc};
use serde_json::json;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::bench_hooks::{Org, ms, new_issue, org, project_name, sim_call};
use crate::config::Settings;
use crate::process::ServeProcess;

/// What to run.
#[derive(Debug, Clone)]
pub struct Plan {
    pub instances: usize,
    pub key_results: u32,
    /// Issues behind each key result, closed one after another.
    pub issues_per_kr: u32,
    /// Simulated projects the issues are spread over.
    pub projects: u32,
    /// Time between two closes of one key result's issues (key results
    /// are staggered evenly over it).
    pub change_interval: Duration,
    /// SIGKILL the second instance when half the changes are made, and
    /// start it again a second later.
    pub kill_one: bool,
    /// `job_lease_secs` of every instance: how soon a killed instance's
    /// jobs are taken over.
    pub lease_secs: u64,
}

/// What happened.
#[derive(Debug)]
pub struct Report {
    /// Each key result's progress points (percent), oldest first.
    pub histories: Vec<Vec<f64>>,
    /// The objective's progress at the end.
    pub objective_percent: Option<f64>,
    /// Webhook deliveries answered 2xx through the proxy: request → answer, ms.
    pub ingest_ms: Vec<f64>,
    /// Each issue closed → the key result's point that counts it, ms.
    pub change_to_point_ms: Vec<f64>,
    /// Deliveries each instance answered.
    pub per_instance: Vec<usize>,
    /// Deliveries the proxy could not hand to any instance.
    pub unanswered: usize,
    /// Log lines of every instance that are errors or panics.
    pub errors: Vec<String>,
    /// Points of changes whose applier a fault stopped between their items
    /// and their point, recorded before the next change (or by a retry).
    pub mended: usize,
    /// From the first change until every change was applied.
    pub elapsed: Duration,
}

/// The instances' shared configuration and their processes.
pub struct Cluster {
    binary: PathBuf,
    database_url: String,
    data: tempfile::TempDir,
    lease_secs: u64,
    /// Requests per second each instance's sync may send to a connection
    /// (`--sync-requests-per-second`); `None`: the default.
    pub sync_requests_per_second: Option<f64>,
    /// `None` while an instance is down.
    pub processes: Vec<Option<ServeProcess>>,
}

impl Cluster {
    /// Migrates the database and starts `instances` processes on it, each
    /// ready (`/readyz` 200) before this returns.
    pub async fn start(
        binary: &Path,
        database_url: &str,
        instances: usize,
        lease_secs: u64,
    ) -> anyhow::Result<Cluster> {
        let mut cluster = Cluster {
            binary: binary.to_owned(),
            database_url: database_url.to_owned(),
            data: tempfile::tempdir()?,
            lease_secs,
            sync_requests_per_second: None,
            processes: Vec::new(),
        };
        for _ in 0..instances {
            let process = cluster.spawn().await?;
            cluster.processes.push(Some(process));
        }
        Ok(cluster)
    }

    /// The settings every instance runs with (one data directory: one
    /// master key).
    pub fn settings(&self) -> Settings {
        Settings {
            database_url: self.database_url.clone(),
            data_dir: self.data.path().join("data"),
            job_lease_secs: self.lease_secs,
            log_level: "warn".to_owned(),
            ..Settings::default()
        }
    }

    /// Engine use cases on the same database and keys, for setting up and
    /// reading back without going through an instance.
    pub async fn state(&self) -> anyhow::Result<AppState> {
        let settings = self.settings();
        let store = crate::serve::open_store(&settings, true).await?;
        let keyring = Arc::new(crate::serve::load_keyring(&settings)?);
        Ok(AppState::new(store, keyring, cairn_web::metrics_handle()))
    }

    /// Starts one more `cairn serve` and waits until it is ready.
    pub async fn spawn(&self) -> anyhow::Result<ServeProcess> {
        let settings = self.settings();
        let data_dir = settings.data_dir.to_string_lossy().into_owned();
        let lease = self.lease_secs.to_string();
        let rate = self.sync_requests_per_second.map(|r| r.to_string());
        let mut args = vec![
            "--database-url",
            self.database_url.as_str(),
            "--data-dir",
            data_dir.as_str(),
            "--job-lease-secs",
            lease.as_str(),
        ];
        if let Some(rate) = &rate {
            args.extend(["--sync-requests-per-second", rate.as_str()]);
        }
        let process = ServeProcess::start(&self.binary, &args, "warn", &[]).await?;
        wait_ready(process.address, Duration::from_secs(30)).await?;
        Ok(process)
    }

    pub fn address(&self, n: usize) -> Option<SocketAddr> {
        self.processes.get(n)?.as_ref().map(|p| p.address)
    }

    /// Stops every instance with SIGTERM; returns their error and panic
    /// log lines. Fails if one had exited already (crashed) or does not
    /// stop cleanly.
    pub async fn stop(self) -> anyhow::Result<Vec<String>> {
        Ok(error_lines(&self.stop_with_lines().await?))
    }

    /// [`Cluster::stop`], returning every log line of the instances.
    async fn stop_with_lines(self) -> anyhow::Result<Vec<String>> {
        let mut all = Vec::new();
        for process in self.processes.into_iter().flatten() {
            if process.has_exited() {
                bail!(
                    "an instance exited by itself:\n{}",
                    process.lines().join("\n")
                );
            }
            let (status, lines) = process.terminate().await?;
            if !status.success() {
                bail!("an instance stopped with {status}:\n{}", lines.join("\n"));
            }
            all.extend(lines);
        }
        Ok(all)
    }
}

/// Log lines saying a change's point lost by a fault was recorded later
/// (by `Goals::apply_item_changes`).
fn mended_lines(lines: &[String]) -> usize {
    lines
        .iter()
        .filter(|l| l.contains("applied before a fault is recorded now"))
        .count()
}

fn error_lines(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .filter(|l| l.contains("\"ERROR\"") || l.contains("panicked"))
        .cloned()
        .collect()
}

/// Waits until `/readyz` answers 200, for at most `limit`.
pub async fn wait_ready(address: SocketAddr, limit: Duration) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let started = Instant::now();
    loop {
        if let Ok(r) = client.get(format!("http://{address}/readyz")).send().await
            && r.status().is_success()
        {
            return Ok(());
        }
        if started.elapsed() > limit {
            bail!("{address} is not ready after {limit:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The round-robin load balancer in front of the instances.
struct Proxy {
    upstreams: Mutex<Vec<Option<SocketAddr>>>,
    next: AtomicUsize,
    client: reqwest::Client,
    ingest_ms: Mutex<Vec<f64>>,
    per_instance: Mutex<Vec<usize>>,
    unanswered: AtomicUsize,
}

impl Proxy {
    fn set(&self, n: usize, address: Option<SocketAddr>) {
        if let Some(slot) = self
            .upstreams
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(n)
        {
            *slot = address;
        }
    }
}

async fn forward(
    State(proxy): State<Arc<Proxy>>,
    uri: Uri,
    mut headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    headers.remove("host");
    headers.remove("content-length");
    let count = proxy
        .upstreams
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .len();
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    // A sender that retries (GitLab does not; polling is the backstop
    // there): up to 60 s, so a database restart loses no delivery here.
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let n = proxy.next.fetch_add(1, Ordering::Relaxed) % count.max(1);
        let upstream = proxy
            .upstreams
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(n)
            .copied()
            .flatten();
        let Some(address) = upstream else {
            tokio::time::sleep(Duration::from_millis(5)).await;
            continue;
        };
        let started = Instant::now();
        let sent = proxy
            .client
            .post(format!("http://{address}{path}"))
            .headers(headers.clone())
            .body(body.clone())
            .send()
            .await;
        match sent {
            Ok(response) if !response.status().is_server_error() => {
                let status = response.status();
                let _ = response.bytes().await;
                if status.is_success() {
                    proxy
                        .ingest_ms
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(ms(started.elapsed()));
                }
                if let Some(c) = proxy
                    .per_instance
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get_mut(n)
                {
                    *c += 1;
                }
                return StatusCode::from_u16(status.as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
            }
            // Down, or answering 5xx (its database went away): the next one.
            _ => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
    proxy.unanswered.fetch_add(1, Ordering::Relaxed);
    StatusCode::BAD_GATEWAY
}

/// Starts the proxy; returns its address and the handle to stop it.
async fn start_proxy(
    upstreams: Vec<Option<SocketAddr>>,
) -> anyhow::Result<(Arc<Proxy>, SocketAddr, CancellationToken)> {
    let count = upstreams.len();
    let proxy = Arc::new(Proxy {
        upstreams: Mutex::new(upstreams),
        next: AtomicUsize::new(0),
        client: reqwest::Client::builder()
            .pool_max_idle_per_host(64)
            .timeout(Duration::from_secs(10))
            .build()?,
        ingest_ms: Mutex::new(Vec::new()),
        per_instance: Mutex::new(vec![0; count]),
        unanswered: AtomicUsize::new(0),
    });
    let app = axum::Router::new()
        .fallback(forward)
        .with_state(proxy.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let stop = CancellationToken::new();
    let stopped = stop.clone();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(stopped.cancelled_owned())
            .await;
    });
    Ok((proxy, address, stop))
}

/// An OKR measured in percent over its period: what the harnesses create.
pub fn percent_okr(
    kind: OkrKind,
    title: &str,
    period_id: i64,
    parent_id: Option<i64>,
    progress_source: ProgressSource,
) -> OkrInput {
    OkrInput {
        kind,
        title: title.into(),
        description: String::new(),
        owner_id: None,
        owner_team_id: None,
        period_id,
        parent_id,
        starts_on: None,
        due_on: None,
        measure: Measure::PercentComplete,
        weight: None,
        contributes: None,
        progress_source,
    }
}

/// An admin (`email`) with an API token, and a period around today.
pub async fn admin_with_token(
    state: &AppState,
    email: &str,
) -> anyhow::Result<(Authenticated, Secret, i64)> {
    let now = Utc::now();
    let user = state
        .accounts
        .create_user(None, email, "Harness", Role::Admin, "harness password", now)
        .await?;
    let admin = Authenticated {
        user,
        session: None,
    };
    let (_, token) = state
        .accounts
        .create_api_token(&admin, "harness", now)
        .await?;
    let today = now.date_naive();
    let period = state
        .goals
        .create_period(
            &admin,
            "Harness",
            today - chrono::Duration::days(10),
            today + chrono::Duration::days(80),
            None,
            now,
        )
        .await?
        .id;
    Ok((admin, token, period))
}

/// One key result and the issues behind it.
struct Target {
    kr: i64,
    project: String,
    iids: Vec<u64>,
}

/// The organisation of the run: an objective rolling up the key results.
async fn set_up(
    state: &AppState,
    sim: &cairn_sim::SimHandle,
    plan: &Plan,
) -> anyhow::Result<(Org, i64, Vec<Target>)> {
    let client = reqwest::Client::new();
    let org = org(state, sim).await?;
    let objective = state
        .goals
        .create_okr(
            &org.admin,
            percent_okr(
                OkrKind::Objective,
                "Several instances behave as one",
                org.period,
                None,
                ProgressSource::RollUp,
            ),
            Utc::now(),
        )
        .await?
        .id;
    let mut targets = Vec::new();
    for n in 0..plan.key_results {
        let project = project_name(n % plan.projects.max(1) + 1);
        let mut iids = Vec::new();
        for i in 0..plan.issues_per_kr.max(1) {
            iids.push(new_issue(&client, sim, &project, &format!("KR {n} issue {i}"), None).await?);
        }
        let kr = org
            .key_result(
                state,
                &format!("KR {n}"),
                GitLabQuery {
                    project: project.clone(),
                    milestone: None,
                    assignee: None,
                    labels: vec![],
                    iids: iids.clone(),
                },
                Some(objective),
            )
            .await?;
        targets.push(Target { kr, project, iids });
    }
    Ok((org, objective, targets))
}

/// Runs the plan against a fresh, empty PostgreSQL database.
pub async fn run(binary: &Path, database_url: &str, plan: &Plan) -> anyhow::Result<Report> {
    run_with(binary, database_url, plan, |_| async { Ok(()) }).await
}

/// [`run`], calling `at_half` with the instances' addresses once half the
/// changes are made (after the SIGKILL of the plan, if any): a fault of the
/// caller's, under load. The changes go on meanwhile.
pub async fn run_with<F, Fut>(
    binary: &Path,
    database_url: &str,
    plan: &Plan,
    at_half: F,
) -> anyhow::Result<Report>
where
    F: FnOnce(Vec<SocketAddr>) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let spec = format!(
        "projects={},issues=0,users=5,jira_projects=0,jira_issues=0,seed=7",
        plan.projects.max(1)
    );
    let sim = Arc::new(
        cairn_sim::start(cairn_sim::SimConfig {
            data: cairn_sim::DataSource::Generate(spec.parse().context("generator spec")?),
            ..cairn_sim::SimConfig::default()
        })
        .await?,
    );
    let mut cluster = Cluster::start(binary, database_url, 0, plan.lease_secs).await?;
    let state = cluster.state().await?;
    let (org, objective, targets) = set_up(&state, &sim, plan).await?;
    let secret = state
        .hooks
        .rotate_secret(&org.admin, org.connection, Utc::now())
        .await?
        .secret;
    for _ in 0..plan.instances.max(1) {
        let process = cluster.spawn().await?;
        cluster.processes.push(Some(process));
    }
    let upstreams = (0..cluster.processes.len())
        .map(|n| cluster.address(n))
        .collect();
    let (proxy, proxy_address, stop_proxy) = start_proxy(upstreams).await?;
    let client = reqwest::Client::new();
    for n in 1..=plan.projects.max(1) {
        sim_call(
            &client,
            &sim,
            &format!(
                "/api/v4/projects/{}/hooks",
                project_name(n).replace('/', "%2F")
            ),
            json!({"url": format!("http://{proxy_address}/hooks/gitlab/{}", org.connection),
                "token": secret.expose(), "issues_events": true, "push_events": false}),
        )
        .await?;
    }
    let deliveries_before = sim.deliveries().len();

    // Every key result's issues closed in turn, key results staggered.
    let total = targets.len() * plan.issues_per_kr.max(1) as usize;
    let made = Arc::new(AtomicUsize::new(0));
    let half_made = Arc::new(tokio::sync::Notify::new());
    let start = Instant::now() + Duration::from_millis(50);
    let started_at = Utc::now();
    let mut tasks = Vec::new();
    for (k, target) in targets.iter().enumerate() {
        let (client, sim) = (client.clone(), sim.clone());
        let (project, iids) = (target.project.clone(), target.iids.clone());
        let (made, half_made) = (made.clone(), half_made.clone());
        let interval = plan.change_interval;
        let offset = interval.mul_f64(k as f64 / targets.len().max(1) as f64);
        tasks.push(tokio::spawn(async move {
            let mut closed_at = Vec::new();
            for (i, iid) in iids.iter().enumerate() {
                tokio::time::sleep_until(start + offset + interval * i as u32).await;
                closed_at.push(Utc::now());
                sim_call(
                    &client,
                    &sim,
                    "/_sim/gitlab/issues/close",
                    json!({"project": project, "iid": iid}),
                )
                .await?;
                if made.fetch_add(1, Ordering::SeqCst) + 1 == (total / 2).max(1) {
                    half_made.notify_one();
                }
            }
            anyhow::Ok(closed_at)
        }));
    }
    let mut errors = Vec::new();
    let mut mended = 0;
    half_made.notified().await;
    if plan.kill_one && cluster.processes.len() > 1 {
        proxy.set(1, None);
        if let Some(process) = cluster.processes[1].take() {
            let lines = process.kill().await?;
            errors.extend(error_lines(&lines));
            mended += mended_lines(&lines);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        let process = cluster.spawn().await?;
        proxy.set(1, Some(process.address));
        cluster.processes[1] = Some(process);
    }
    let addresses = (0..cluster.processes.len())
        .filter_map(|n| cluster.address(n))
        .collect();
    at_half(addresses).await?;
    let mut closed_at: Vec<Vec<DateTime<Utc>>> = Vec::new();
    for task in tasks {
        closed_at.push(task.await??);
    }

    // Done when the simulator delivered every change, nothing is left in
    // the queue, and every key result counts all its issues.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let delivered = sim.deliveries().len() - deliveries_before;
        let counts = state.store.job_counts().await?;
        let pending = counts.get(JobState::Queued) + counts.get(JobState::Running);
        let mut complete = delivered >= total && pending == 0;
        if complete {
            for target in &targets {
                let okr = state.store.get_okr(target.kr).await?;
                if okr.and_then(|o| o.progress).map(|p| p.percent) != Some(100.0) {
                    complete = false;
                    break;
                }
            }
        }
        if complete {
            break;
        }
        if Instant::now() > deadline {
            bail!(
                "not done after 120 s: {delivered} of {total} delivered, {pending} jobs pending ({counts:?})"
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let elapsed = (Utc::now() - started_at).to_std().unwrap_or_default();

    let mut histories = Vec::new();
    let mut change_to_point_ms = Vec::new();
    for (target, closed) in targets.iter().zip(&closed_at) {
        let points = history(&state, &org, target.kr).await?;
        // The n-th point after the first (0 %) counts the n-th close.
        for (point, at) in points.iter().skip(1).zip(closed) {
            change_to_point_ms.push((point.0 - *at).num_microseconds().unwrap_or(0) as f64 / 1e3);
        }
        histories.push(points.into_iter().map(|p| p.1).collect());
    }
    let objective_percent = state
        .store
        .get_okr(objective)
        .await?
        .and_then(|o| o.progress)
        .map(|p| p.percent);
    stop_proxy.cancel();
    let lines = cluster.stop_with_lines().await?;
    errors.extend(error_lines(&lines));
    mended += mended_lines(&lines);
    state.store.close().await;
    if let Ok(sim) = Arc::try_unwrap(sim) {
        sim.shutdown().await;
    }
    let ingest_ms = proxy
        .ingest_ms
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let per_instance = proxy
        .per_instance
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    Ok(Report {
        histories,
        objective_percent,
        ingest_ms,
        change_to_point_ms,
        per_instance,
        unanswered: proxy.unanswered.load(Ordering::Relaxed),
        errors,
        mended,
        elapsed,
    })
}

/// A key result's points as (when, percent), oldest first.
async fn history(
    state: &AppState,
    org: &Org,
    kr: i64,
) -> anyhow::Result<Vec<(DateTime<Utc>, f64)>> {
    let mut points = state.goals.history(&org.admin, kr, 10_000).await?;
    points.sort_by_key(|p| (p.at, p.id));
    Ok(points.into_iter().map(|p| (p.at, p.percent)).collect())
}

/// Per key result, what differs from `reference` (empty: the same).
pub fn differences(reference: &Report, run: &Report) -> BTreeMap<usize, String> {
    let mut out = BTreeMap::new();
    for (n, expected) in reference.histories.iter().enumerate() {
        let got = run.histories.get(n);
        if got != Some(expected) {
            out.insert(n, format!("expected {expected:?}, got {got:?}"));
        }
    }
    out
}
