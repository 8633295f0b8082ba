//! `cairn bench ...`: the harness behind the numbers in BENCHMARKS.md. Each
//! benchmark runs real `cairn serve` processes, as an operator would.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use cairn_engine::jobs::NOOP_KIND;
use cairn_store::{JobState, NewJob, OpenOptions};
use chrono::Utc;
use clap::Subcommand;
use serde_json::json;

use crate::process::ServeProcess;

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Start-to-ready time and idle resident memory of `cairn serve` on a
    /// fresh SQLite data directory.
    Startup {
        #[arg(long, default_value_t = 5)]
        runs: u32,
        /// Seconds to idle before reading resident memory.
        #[arg(long, default_value_t = 3)]
        idle_secs: u64,
    },
    /// Enqueue-to-completed throughput of no-op jobs through `cairn serve`
    /// worker processes.
    Jobs {
        #[arg(long, default_value_t = 20_000)]
        count: u32,
        /// Worker processes (`cairn serve`) sharing the database.
        #[arg(long, default_value_t = 1)]
        processes: u32,
        /// Default: a fresh SQLite database in a temporary directory. For
        /// PostgreSQL, give an empty database.
        #[arg(long)]
        database_url: Option<String>,
    },
    /// The goals engine against the simulator: first import, an unchanged
    /// refresh, recomputing over many items, and many links on schedule.
    Goals {
        /// Issues in the imported project.
        #[arg(long, default_value_t = 10_000)]
        import_issues: u64,
        /// Items behind the recomputed key result.
        #[arg(long, default_value_t = 100_000)]
        recompute_items: u32,
        /// Links refreshed on schedule.
        #[arg(long, default_value_t = 1_000)]
        links: u32,
        /// Connections those links are spread over (each has its own rate limit).
        #[arg(long, default_value_t = 10)]
        connections: u32,
    },
    /// Webhooks in on the real server: verified GitLab issue hooks per
    /// second (open loop at a fixed rate, then a closed loop), and the time
    /// from a change in the simulator to the progress the API serves.
    Hooks {
        /// Open loop: webhooks per second.
        #[arg(long, default_value_t = 2_000)]
        rate: u32,
        /// Open loop: seconds.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Closed loop: concurrent senders.
        #[arg(long, default_value_t = 32)]
        senders: usize,
        /// Closed loop: seconds.
        #[arg(long, default_value_t = 5)]
        closed_seconds: u64,
        /// Change to API: key results, each linked to its own issue.
        #[arg(long, default_value_t = 50)]
        key_results: u32,
        /// Change to API: issue changes per second, over all issues.
        #[arg(long, default_value_t = 500)]
        change_rate: u32,
        /// Change to API: seconds.
        #[arg(long, default_value_t = 10)]
        change_seconds: u64,
        /// Change to API: simulated projects the issues are spread over
        /// (the simulator sends a project's webhooks in order, one at a
        /// time, and different projects' at once).
        #[arg(long, default_value_t = 5)]
        projects: u32,
        /// Only one of the two measurements.
        #[arg(long, value_enum)]
        only: Option<crate::bench_hooks::Part>,
    },
    /// Several `cairn serve` processes on one PostgreSQL database behind a
    /// round-robin proxy: webhook ingest (proxy to answer) and change to
    /// progress point, for each number of instances.
    Instances {
        /// A PostgreSQL server; each run gets a database of its own on it,
        /// dropped afterwards.
        #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
        server_url: String,
        /// Numbers of instances to run, one run each.
        #[arg(long, value_delimiter = ',', default_value = "1,2,3")]
        instances: Vec<usize>,
        #[arg(long, default_value_t = 50)]
        key_results: u32,
        /// Issues closed one after another per key result.
        #[arg(long, default_value_t = 20)]
        issues_per_kr: u32,
        #[arg(long, default_value_t = 5)]
        projects: u32,
        /// Between two closes of one key result's issues (50 key results
        /// every 100 ms: 500 changes/s).
        #[arg(long, default_value_t = 100)]
        change_interval_ms: u64,
    },
    /// Two-way sync with the simulated GitLab and Jira: issues brought
    /// across on activation, and a change on GitLab to its Jira twin
    /// through webhooks (latency, API calls per change).
    Sync {
        /// GitLab issues brought across when the pair is activated.
        #[arg(long, default_value_t = 10_000)]
        issues: usize,
        /// GitLab title edits per second in the second part.
        #[arg(long, default_value_t = 50)]
        rate: u32,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
    /// GitLab activity in: pushes delivered by webhook to the
    /// organisation's activity source, until every commit is stored as a
    /// person's activity (pushes and commits per second, API calls per push).
    Time {
        #[arg(long, default_value_t = 10_000)]
        pushes: u64,
        /// Commits in each push.
        #[arg(long, default_value_t = 5)]
        commits: u64,
        /// Pushes made at once through the simulator.
        #[arg(long, default_value_t = 8)]
        senders: usize,
    },
    /// What open live pages cost PostgreSQL: transactions per second with
    /// many `/live` streams open, quiet and with one change a second.
    Live {
        /// A PostgreSQL server; the run gets a database of its own on it,
        /// dropped afterwards.
        #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
        server_url: String,
        #[arg(long, default_value_t = 1000)]
        pages: usize,
        #[arg(long, default_value_t = 5)]
        okrs_per_page: usize,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// The `cairn` to serve with (default: this one), e.g. an older
        /// build for the figure before a change.
        #[arg(long)]
        binary: Option<PathBuf>,
    },
}

fn binary() -> anyhow::Result<PathBuf> {
    std::env::current_exe().context("cannot find the cairn binary")
}

pub async fn run(command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Startup { runs, idle_secs } => startup(runs, idle_secs).await,
        BenchCommand::Jobs {
            count,
            processes,
            database_url,
        } => jobs(count, processes, database_url).await,
        BenchCommand::Goals {
            import_issues,
            recompute_items,
            links,
            connections,
        } => crate::bench_goals::run(import_issues, recompute_items, links, connections).await,
        BenchCommand::Hooks {
            rate,
            seconds,
            senders,
            closed_seconds,
            key_results,
            change_rate,
            change_seconds,
            projects,
            only,
        } => {
            crate::bench_hooks::run(crate::bench_hooks::HookBench {
                rate,
                seconds,
                senders,
                closed_seconds,
                key_results,
                change_rate,
                change_seconds,
                projects,
                only,
            })
            .await
        }
        BenchCommand::Instances {
            server_url,
            instances,
            key_results,
            issues_per_kr,
            projects,
            change_interval_ms,
        } => {
            let plan = crate::instances::Plan {
                instances: 1,
                key_results,
                issues_per_kr,
                projects,
                change_interval: Duration::from_millis(change_interval_ms),
                kill_one: false,
                lease_secs: 60,
            };
            instances_bench(&server_url, &instances, plan).await
        }
        BenchCommand::Sync {
            issues,
            rate,
            seconds,
        } => {
            crate::bench_sync::run(crate::bench_sync::SyncBench {
                issues,
                rate,
                seconds,
            })
            .await
        }
        BenchCommand::Time {
            pushes,
            commits,
            senders,
        } => {
            crate::bench_time::run(crate::bench_time::TimeBench {
                pushes,
                commits,
                senders,
            })
            .await
        }
        BenchCommand::Live {
            server_url,
            pages,
            okrs_per_page,
            seconds,
            binary: chosen,
        } => {
            let binary = match chosen {
                Some(path) => path,
                None => binary()?,
            };
            let bench = crate::bench_live::LiveBench {
                pages,
                okrs_per_page,
                seconds,
            };
            let (admin, base) = postgres_server(&server_url).await?;
            let (name, url) = fresh_database(&admin, &base, "live").await?;
            let result = crate::bench_live::run(&binary, &admin, &url, &name, &bench).await;
            drop_database(&admin, &name).await;
            admin.close().await;
            result
        }
    }
}

/// The PostgreSQL server benchmarks make their databases on, and its URL.
async fn postgres_server(server_url: &str) -> anyhow::Result<(sqlx::PgPool, reqwest::Url)> {
    let admin = sqlx::PgPool::connect(server_url)
        .await
        .with_context(|| format!("cannot reach {}", cairn_store::redact_url(server_url)))?;
    Ok((
        admin,
        reqwest::Url::parse(server_url).context("server URL")?,
    ))
}

/// A new, empty database for one run: its name and URL.
async fn fresh_database(
    admin: &sqlx::PgPool,
    server: &reqwest::Url,
    what: &str,
) -> anyhow::Result<(String, String)> {
    let name = format!("cairn_bench_{what}_{}", std::process::id());
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(admin)
        .await?;
    let mut url = server.clone();
    url.set_path(&name);
    Ok((name, url.to_string()))
}

async fn drop_database(admin: &sqlx::PgPool, name: &str) {
    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(admin)
    .await;
}

/// `cairn bench instances`: one run per number of instances, each on a
/// database of its own.
async fn instances_bench(
    server_url: &str,
    counts: &[usize],
    plan: crate::instances::Plan,
) -> anyhow::Result<()> {
    let (admin, server) = postgres_server(server_url).await?;
    for &count in counts {
        let (name, url) = fresh_database(&admin, &server, &format!("instances_{count}")).await?;
        let plan = crate::instances::Plan {
            instances: count,
            ..plan.clone()
        };
        let result = crate::instances::run(&binary()?, &url, &plan).await;
        drop_database(&admin, &name).await;
        let mut report = result?;
        let changes = report.change_to_point_ms.len();
        println!(
            "instances {count}: {} key results x {} issues closed at {:.0} changes/s over {} projects; all applied {:.2} s after the first change; deliveries per instance {:?}, unanswered {}",
            plan.key_results,
            plan.issues_per_kr,
            f64::from(plan.key_results) * 1000.0 / plan.change_interval.as_millis().max(1) as f64,
            plan.projects,
            report.elapsed.as_secs_f64(),
            report.per_instance,
            report.unanswered
        );
        println!(
            "instances {count}: webhook ingest (proxy -> instance -> 2xx): {}",
            crate::bench_hooks::summary(&mut report.ingest_ms)
        );
        println!(
            "instances {count}: change -> progress point ({changes} changes): {}; load average {}",
            crate::bench_hooks::summary(&mut report.change_to_point_ms),
            crate::bench_hooks::load_average()
        );
        if !report.errors.is_empty() {
            println!(
                "instances {count}: {} error log lines, first: {}",
                report.errors.len(),
                report.errors[0]
            );
        }
    }
    admin.close().await;
    Ok(())
}

async fn startup(runs: u32, idle_secs: u64) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let mut ready_ms = Vec::new();
    let mut rss_mb = Vec::new();
    for run in 1..=runs {
        let dir = tempfile::tempdir()?;
        let data_dir = dir.path().join("data");
        let started = Instant::now();
        let process = ServeProcess::start(
            &binary()?,
            &["--data-dir", data_dir.to_str().context("temp path")?],
            "warn",
            &[],
        )
        .await?;
        let url = format!("http://{}/readyz", process.address);
        loop {
            if let Ok(response) = client.get(&url).send().await
                && response.status().is_success()
            {
                break;
            }
            if started.elapsed() > Duration::from_secs(30) {
                bail!("not ready after 30 s");
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let ready = started.elapsed();
        tokio::time::sleep(Duration::from_secs(idle_secs)).await;
        let rss = process.pid().map(resident_kib).transpose()?.unwrap_or(0);
        process.terminate().await?;
        println!(
            "run {run}: ready in {:.1} ms, idle RSS {:.1} MB",
            ready.as_secs_f64() * 1000.0,
            rss as f64 / 1024.0
        );
        ready_ms.push(ready.as_secs_f64() * 1000.0);
        rss_mb.push(rss as f64 / 1024.0);
    }
    println!(
        "startup: median ready {:.1} ms (max {:.1} ms); idle RSS median {:.1} MB (max {:.1} MB)",
        median(&mut ready_ms),
        ready_ms.iter().cloned().fold(0.0, f64::max),
        median(&mut rss_mb),
        rss_mb.iter().cloned().fold(0.0, f64::max)
    );
    Ok(())
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

/// Resident set size of a process in KiB, from /proc.
fn resident_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmRSS in /proc status")
}

async fn jobs(count: u32, processes: u32, database_url: Option<String>) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let url = database_url.unwrap_or_else(|| format!("sqlite://{}/bench.db", dir.path().display()));
    let store = cairn_store::open(&url, &OpenOptions::default()).await?;
    store.migrate().await?;
    let done_before = store.job_counts().await?.get(JobState::Done);

    let data_dir = dir.path().display().to_string();
    let mut workers = Vec::new();
    for _ in 0..processes.max(1) {
        workers.push(
            ServeProcess::start(
                &binary()?,
                &["--database-url", &url, "--data-dir", data_dir.as_str()],
                "warn",
                &[],
            )
            .await?,
        );
    }
    let started = Instant::now();
    let mut enqueued = 0;
    while enqueued < count {
        let n = (count - enqueued).min(1000);
        let now = Utc::now();
        let batch: Vec<NewJob> = (0..n)
            .map(|_| NewJob::new(NOOP_KIND, json!({}), now))
            .collect();
        store.enqueue_many(&batch, now).await?;
        enqueued += n;
    }
    let enqueue_time = started.elapsed();
    let target = done_before + u64::from(count);
    loop {
        let counts = store.job_counts().await?;
        if counts.get(JobState::Done) >= target {
            break;
        }
        if counts.get(JobState::Dead) > 0 {
            bail!("jobs died during the benchmark: {:?}", counts);
        }
        if started.elapsed() > Duration::from_secs(600) {
            bail!("not done after 600 s: {:?}", counts);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let elapsed = started.elapsed();
    for worker in workers {
        worker.terminate().await?;
    }
    println!(
        "jobs: {count} noop jobs on {} with {} worker process(es): enqueued in {:.2} s, all completed in {:.2} s: {:.0} jobs/s",
        store.backend().as_str(),
        processes.max(1),
        enqueue_time.as_secs_f64(),
        elapsed.as_secs_f64(),
        f64::from(count) / elapsed.as_secs_f64()
    );
    store.close().await;
    Ok(())
}
