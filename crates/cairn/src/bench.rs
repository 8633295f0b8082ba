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
    }
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
