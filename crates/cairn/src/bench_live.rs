//! `cairn bench live`: what open live pages cost the database. One
//! `cairn serve` (this binary, or `--binary`, e.g. an older build for the
//! before) on a fresh PostgreSQL database; many `/live` event streams open
//! at once; PostgreSQL's own count of transactions on that database
//! (`pg_stat_database`) read before and after a quiet period, then again
//! while one OKR every page shows gets a check-in every second.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use cairn_core::goals::ProgressSource;
use cairn_store::goals::OkrKind;
use chrono::Utc;
use tokio::time::Instant;

use crate::process::ServeProcess;

/// What to measure.
#[derive(Debug, Clone)]
pub struct LiveBench {
    pub pages: usize,
    pub okrs_per_page: usize,
    pub seconds: u64,
}

/// Transactions on `database` so far, as PostgreSQL counts them (every
/// statement outside a transaction is one).
async fn transactions(admin: &sqlx::PgPool, database: &str) -> anyhow::Result<i64> {
    // The statistics of other sessions reach the view within a second or so.
    Ok(sqlx::query_scalar(
        "SELECT (xact_commit + xact_rollback)::bigint FROM pg_stat_database WHERE datname = $1",
    )
    .bind(database)
    .fetch_one(admin)
    .await?)
}

/// Runs the benchmark with `binary` against a fresh database `name` on the
/// server `admin` is connected to.
pub async fn run(
    binary: &Path,
    admin: &sqlx::PgPool,
    url: &str,
    name: &str,
    bench: &LiveBench,
) -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let data_dir = data.path().join("data");
    let settings = crate::config::Settings {
        database_url: url.to_owned(),
        data_dir: data_dir.clone(),
        ..crate::config::Settings::default()
    };
    // Set up through the engine, then serve with the binary under test.
    let store = crate::serve::open_store(&settings, true).await?;
    let keyring = Arc::new(crate::serve::load_keyring(&settings)?);
    let state = cairn_web::AppState::new(store.clone(), keyring, cairn_web::metrics_handle());
    let now = Utc::now();
    let (admin_user, token, period) =
        crate::instances::admin_with_token(&state, "live@example.com").await?;
    let mut okrs = Vec::new();
    for n in 0..bench.okrs_per_page.max(1) {
        let input = crate::instances::percent_okr(
            OkrKind::KeyResult,
            &format!("Live {n}"),
            period,
            None,
            ProgressSource::CheckIn,
        );
        let id = state.goals.create_okr(&admin_user, input, now).await?.id;
        state
            .goals
            .check_in(
                &admin_user,
                id,
                &cairn_engine::goals::CheckInInput {
                    value: Some(10.0),
                    note: "start",
                    ..Default::default()
                },
                now,
            )
            .await?;
        okrs.push(id);
    }
    let ids = okrs
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let data_dir_text = data_dir.to_string_lossy().into_owned();
    let server = ServeProcess::start(
        binary,
        &["--database-url", url, "--data-dir", &data_dir_text],
        "warn",
        &[],
    )
    .await?;
    let address = server.address;
    crate::instances::wait_ready(address, Duration::from_secs(30)).await?;

    // Every page open, each having had its first event.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(bench.pages)
        .build()?;
    let first_events = Arc::new(AtomicUsize::new(0));
    let events = Arc::new(AtomicUsize::new(0));
    let mut pages = Vec::new();
    for _ in 0..bench.pages {
        let request = client
            .get(format!("http://{address}/live?ids={ids}"))
            .bearer_auth(token.expose());
        let (first_events, events) = (first_events.clone(), events.clone());
        pages.push(tokio::spawn(async move {
            let mut response = request.send().await?;
            if !response.status().is_success() {
                bail!("/live answered {}", response.status());
            }
            let mut first = true;
            while let Some(chunk) = response.chunk().await? {
                if String::from_utf8_lossy(&chunk).contains("event: progress") {
                    events.fetch_add(1, Ordering::Relaxed);
                    if first {
                        first_events.fetch_add(1, Ordering::Relaxed);
                        first = false;
                    }
                }
            }
            anyhow::Ok(())
        }));
    }
    let opening = Instant::now();
    // A server that cannot keep up (the measurement of a poor design) is
    // measured with the pages it managed to open.
    while first_events.load(Ordering::Relaxed) < bench.pages
        && opening.elapsed() < Duration::from_secs(60)
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!(
        "live: {} of {} pages open on {} ({} OKRs each), with their first event, after {:.2} s",
        first_events.load(Ordering::Relaxed),
        bench.pages,
        binary.display(),
        okrs.len(),
        opening.elapsed().as_secs_f64()
    );
    // Let the statistics of the opening reach the view.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let seconds = bench.seconds.max(1);
    let before = transactions(admin, name).await?;
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let quiet = transactions(admin, name).await? - before;
    println!(
        "live: nothing changing: {:.0} database transactions/s over {seconds} s (the server's own background work included)",
        quiet as f64 / seconds as f64
    );

    let events_before = events.load(Ordering::Relaxed);
    let before = transactions(admin, name).await?;
    let started = Instant::now();
    for n in 0..seconds {
        tokio::time::sleep_until(started + Duration::from_secs(n)).await;
        let reply = client
            .post(format!(
                "http://{address}/api/v1/okrs/{}/check-ins",
                okrs[0]
            ))
            .bearer_auth(token.expose())
            .json(&serde_json::json!({"value": 20.0 + n as f64, "note": "bench"}))
            .send()
            .await?;
        if !reply.status().is_success() {
            bail!("check-in answered {}", reply.status());
        }
    }
    tokio::time::sleep_until(started + Duration::from_secs(seconds)).await;
    let busy = transactions(admin, name).await? - before;
    println!(
        "live: one check-in a second on an OKR every page shows: {:.0} database transactions/s over {seconds} s; {} progress events reached the pages ({} expected)",
        busy as f64 / seconds as f64,
        events.load(Ordering::Relaxed) - events_before,
        bench.pages as u64 * seconds
    );
    for page in &pages {
        page.abort();
    }
    server.terminate().await.context("stopping the server")?;
    store.close().await;
    Ok(())
}
