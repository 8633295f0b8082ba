//! `cairn bench goals`: the goals engine against the simulator, in process,
//! on a fresh SQLite database.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use cairn_core::authz::Role;
use cairn_core::goals::{ItemSnapshot, JiraMetric, Measure, ProgressSource};
use cairn_core::secret::Secret;
use cairn_engine::accounts::{Accounts, Authenticated};
use cairn_engine::connections::{ConnectionInput, Connections};
use cairn_engine::goals::gitlab_link::{REFRESH_KIND, RefreshHandler};
use cairn_engine::goals::{GitLabQuery, GoalSettings, Goals, JiraLinkInput, LinkInput};
use cairn_engine::jobs::{JobSignal, Registry, Worker, WorkerConfig};
use cairn_engine::keyring::Keyring;
use cairn_store::goals::{LinkFields, OkrKind};
use cairn_store::{JobState, Store};
use chrono::{NaiveDate, Utc};

struct World {
    store: Arc<dyn Store>,
    goals: Arc<Goals>,
    connections: Connections,
    admin: Authenticated,
    period: i64,
    _dir: tempfile::TempDir,
}

async fn world(http: cairn_connect::HttpConfig) -> anyhow::Result<World> {
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}/bench.db", dir.path().display());
    let store = cairn_store::open(&url, &cairn_store::OpenOptions::default()).await?;
    store.migrate().await?;
    let keyring = Arc::new(Keyring::load(None, &dir.path().join("master.key"))?);
    let goals = Arc::new(Goals::new(
        store.clone(),
        keyring.clone(),
        GoalSettings {
            http,
            ..GoalSettings::default()
        },
    ));
    let user = Accounts::new(store.clone())
        .create_user(
            None,
            "bench@example.com",
            "Bench",
            Role::Admin,
            "benchmark password",
            Utc::now(),
        )
        .await?;
    let admin = Authenticated {
        user,
        session: None,
    };
    let today = Utc::now().date_naive();
    let period = goals
        .create_period(
            &admin,
            "Bench",
            today - chrono::Duration::days(30),
            today + chrono::Duration::days(60),
            None,
            Utc::now(),
        )
        .await?
        .id;
    Ok(World {
        connections: Connections::new(store.clone(), keyring),
        store,
        goals,
        admin,
        period,
        _dir: dir,
    })
}

impl World {
    async fn connection(&self, name: &str, base_url: String) -> anyhow::Result<i64> {
        let input = ConnectionInput {
            kind: "gitlab".into(),
            name: name.into(),
            base_url: Some(base_url),
            auth_kind: "private_token".into(),
            username: None,
            secret: Secret::new(cairn_sim::DEFAULT_GITLAB_TOKEN),
            shared: true,
        };
        Ok(self
            .connections
            .create(&self.admin, input, Utc::now())
            .await?
            .id)
    }

    async fn jira_connection(
        &self,
        name: &str,
        base_url: String,
        cloud: bool,
    ) -> anyhow::Result<i64> {
        let (auth_kind, username, secret) = if cloud {
            (
                "basic",
                Some(cairn_sim::DEFAULT_JIRA_EMAIL.to_owned()),
                cairn_sim::DEFAULT_JIRA_API_TOKEN,
            )
        } else {
            ("bearer", None, cairn_sim::DEFAULT_JIRA_PAT)
        };
        let input = ConnectionInput {
            kind: "jira".into(),
            name: name.into(),
            base_url: Some(base_url),
            auth_kind: auth_kind.into(),
            username,
            secret: Secret::new(secret),
            shared: true,
        };
        let id = self
            .connections
            .create(&self.admin, input, Utc::now())
            .await?
            .id;
        // Testing learns the flavour (Cloud or Data Center) from serverInfo.
        self.connections.test(&self.admin, id, Utc::now()).await?;
        Ok(id)
    }

    async fn key_result(&self, title: &str) -> anyhow::Result<i64> {
        let input = crate::instances::percent_okr(
            OkrKind::KeyResult,
            title,
            self.period,
            None,
            ProgressSource::DataLink,
        );
        Ok(self
            .goals
            .create_okr(&self.admin, input, Utc::now())
            .await?
            .id)
    }
}

/// A first import of `tickets` Jira tickets through one JQL link, then a
/// refresh with nothing changed.
async fn jira_import(w: &World, tickets: u64, cloud: bool) -> anyhow::Result<()> {
    let spec =
        format!("projects=0,issues=0,users=20,jira_projects=1,jira_issues={tickets},seed=42");
    let sim = cairn_sim::start(cairn_sim::SimConfig {
        data: cairn_sim::DataSource::Generate(spec.parse().context("generator spec")?),
        jira_flavour: if cloud {
            cairn_sim::JiraFlavour::Cloud
        } else {
            cairn_sim::JiraFlavour::Datacenter
        },
        ..cairn_sim::SimConfig::default()
    })
    .await?;
    let flavour = if cloud { "Cloud" } else { "Data Center" };
    let connection = w.jira_connection(flavour, sim.jira_url(), cloud).await?;
    let kr = w.key_result(&format!("Jira import ({flavour})")).await?;
    sim.clear_requests();
    let started = Instant::now();
    let link = w
        .goals
        .set_jira_link(
            &w.admin,
            kr,
            JiraLinkInput {
                connection_id: connection,
                jql: "project = OPS ORDER BY key".into(),
                metric: JiraMetric::StoryPoints,
                scope: None,
                refresh_interval_secs: None,
            },
            Utc::now(),
        )
        .await?;
    report_import(
        w,
        &sim,
        link.id,
        started,
        &format!("Jira {flavour}"),
        "tickets",
        "fields, JQL check, 100 per page",
    )
    .await?;
    sim.shutdown().await;
    Ok(())
}

/// Prints a first import's time and calls, then refreshes the link with
/// nothing changed and prints how many calls that cost.
async fn report_import(
    w: &World,
    sim: &cairn_sim::SimHandle,
    link: i64,
    started: Instant,
    what: &str,
    unit: &str,
    calls: &str,
) -> anyhow::Result<()> {
    let import = started.elapsed();
    let import_calls = sim.requests().len();
    let items = w.store.link_items(link).await?.len();
    println!(
        "{what} first import: {items} {unit} in {:.0} ms ({import_calls} API calls: {calls}) — target < 3000 ms",
        ms(import)
    );
    sim.clear_requests();
    let outcome = w.goals.refresh_link(link, false, Utc::now()).await?;
    println!(
        "{what} unchanged refresh: {} API call(s) to the simulator (client counted {}), error: {} — target exactly 1",
        sim.requests().len(),
        outcome.api_calls,
        outcome
            .error
            .map(|d| d.code.to_string())
            .unwrap_or_else(|| "none".into())
    );
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

pub async fn run(
    import_issues: u64,
    recompute_items: u32,
    links: u32,
    connections: u32,
) -> anyhow::Result<()> {
    // 1. First import of a large project, and an unchanged refresh.
    let spec =
        format!("projects=1,issues={import_issues},users=20,jira_projects=0,jira_issues=0,seed=42");
    let sim = cairn_sim::start(cairn_sim::SimConfig {
        data: cairn_sim::DataSource::Generate(spec.parse().context("generator spec")?),
        ..cairn_sim::SimConfig::default()
    })
    .await?;
    let w = world(GoalSettings::default().http).await?;
    let connection = w.connection("bench", sim.gitlab_url()).await?;
    let kr = w.key_result("Import").await?;
    sim.clear_requests();
    let started = Instant::now();
    let link = w
        .goals
        .set_gitlab_link(
            &w.admin,
            kr,
            LinkInput {
                connection_id: connection,
                query: GitLabQuery {
                    project: "acme/project-1".into(),
                    milestone: None,
                    assignee: None,
                    labels: vec![],
                    iids: vec![],
                },
                state: None,
                refresh_interval_secs: None,
            },
            Utc::now(),
        )
        .await?;
    report_import(
        &w,
        &sim,
        link.id,
        started,
        "GitLab",
        "issues",
        "project, 100 per page",
    )
    .await?;
    sim.shutdown().await;

    // 1b. The same for Jira, on both flavours.
    for cloud in [true, false] {
        jira_import(&w, import_issues, cloud).await?;
    }

    // 2. Recomputing a key result over many stored items.
    let kr = w.key_result("Recompute").await?;
    let mut tx = w.store.begin().await?;
    let link_id = tx
        .put_link(
            kr,
            &LinkFields {
                connection_id: connection,
                rule: serde_json::json!({"tracker": "gitlab"}),
                query: serde_json::json!({"project": "acme/big"}),
                refresh_interval_secs: None,
            },
            Utc::now(),
        )
        .await?;
    let snapshots: Vec<ItemSnapshot> = (0..recompute_items)
        .map(|n| {
            let mut item = ItemSnapshot::new(
                format!("acme/big#{n}"),
                format!("Issue {n}"),
                String::new(),
                Utc::now(),
            );
            item.tasks_total = n % 5;
            item.tasks_done = n % 3;
            item.done = n % 7 == 0;
            item
        })
        .collect();
    let ids = tx.upsert_items(connection, &snapshots, Utc::now()).await?;
    tx.replace_link_items(link_id, &ids).await?;
    tx.commit().await?;
    let mut runs = Vec::new();
    for run in 0..5 {
        let started = Instant::now();
        w.goals
            .recompute(
                kr,
                Utc::now() + chrono::Duration::seconds(run),
                "data_link",
                "bench",
            )
            .await?;
        runs.push(ms(started.elapsed()));
    }
    runs.sort_by(|a, b| a.total_cmp(b));
    let loaded = {
        let started = Instant::now();
        let items = w.store.link_item_numbers(link_id).await?;
        (items.len(), ms(started.elapsed()))
    };
    let pure = {
        let items = w.store.link_items(link_id).await?;
        let started = Instant::now();
        let evaluation = cairn_core::goals::evaluate(
            &Measure::PercentComplete,
            &cairn_core::goals::LinkRule::Gitlab { state: None },
            &items,
        )?;
        (evaluation.progress.percent, ms(started.elapsed()))
    };
    println!(
        "recompute over {} items: median {:.0} ms, best {:.0} ms (of which reading the items' numbers from SQLite {:.0} ms, core's rules {:.1} ms, {:.1} %) — target < 100 ms",
        loaded.0, runs[2], runs[0], loaded.1, pure.1, pure.0
    );

    // 3. Many links refreshed on schedule through the job queue.
    let sim = cairn_sim::start(cairn_sim::SimConfig {
        data: cairn_sim::DataSource::Generate(
            format!(
                "projects={connections},issues=20,users=10,jira_projects=0,jira_issues=0,seed=7"
            )
            .parse()
            .context("spec")?,
        ),
        ..cairn_sim::SimConfig::default()
    })
    .await?;
    let rate = GoalSettings::default().http.requests_per_second;
    let burst = f64::from(GoalSettings::default().http.burst);
    let w = world(GoalSettings::default().http).await?;
    let mut connection_ids = Vec::new();
    for c in 0..connections {
        connection_ids.push(
            w.connection(&format!("gitlab {c}"), sim.gitlab_url())
                .await?,
        );
    }
    let mut tx = w.store.begin().await?;
    let now = Utc::now();
    for l in 0..links {
        let c = (l % connections) as usize;
        let fields = cairn_store::goals::OkrFields {
            kind: OkrKind::KeyResult,
            title: format!("Link {l}"),
            description: String::new(),
            owner_id: w.admin.user.id,
            owner_team_id: None,
            period_id: w.period,
            parent_id: None,
            starts_on: NaiveDate::from_ymd_opt(2026, 1, 1).context("date")?,
            due_on: NaiveDate::from_ymd_opt(2026, 12, 31).context("date")?,
            measure: Measure::PercentComplete,
            weight: 1.0,
            contributes: true,
            progress_source: ProgressSource::DataLink,
        };
        let okr = tx.create_okr(&fields, now).await?;
        let query = serde_json::json!({"project": format!("acme/project-{}", c + 1)});
        tx.put_link(
            okr,
            &LinkFields {
                connection_id: connection_ids[c],
                rule: serde_json::json!({"tracker": "gitlab"}),
                query,
                refresh_interval_secs: None,
            },
            now,
        )
        .await?;
    }
    tx.commit().await?;
    sim.clear_requests();
    let started = Instant::now();
    let mut registry = Registry::with_builtins();
    registry.register(REFRESH_KIND, RefreshHandler(w.goals.clone()));
    let shutdown = tokio_util::sync::CancellationToken::new();
    let worker = Worker::new(
        w.store.clone(),
        registry,
        WorkerConfig {
            concurrency: 64,
            ..WorkerConfig::default()
        },
        "bench".into(),
        JobSignal::default(),
    );
    let task = tokio::spawn(worker.run(shutdown.clone()));
    // As `cairn serve` does: enqueue what is due, again and again.
    let mut enqueued = 0;
    loop {
        enqueued += w.goals.enqueue_due_refreshes(Utc::now()).await?;
        let counts = w.store.job_counts().await?;
        if counts.get(JobState::Done) >= u64::from(links)
            || started.elapsed() > Duration::from_secs(900)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let elapsed = started.elapsed();
    shutdown.cancel();
    let _ = task.await;
    let calls = sim.requests().len();
    let fresh = w.store.due_links(Utc::now(), 10_000).await?.len();
    let max_rate = f64::from(connections) * rate;
    let floor = (calls as f64 - f64::from(connections) * burst).max(0.0) / max_rate;
    let beyond_burst = (calls as f64 - f64::from(connections) * burst).max(0.0);
    println!(
        "{links} links on {connections} connections: {enqueued} refreshes in {:.1} s, {calls} API calls; beyond the initial bursts {:.1} requests/s (limit {max_rate:.0}/s: {rate:.0}/s per connection, burst {burst:.0}), so the limit alone needs at least {floor:.1} s; links still due afterwards: {fresh}",
        elapsed.as_secs_f64(),
        beyond_burst / elapsed.as_secs_f64()
    );
    sim.shutdown().await;
    Ok(())
}
