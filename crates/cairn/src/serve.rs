//! `cairn serve`: the HTTP server and a job worker in one process, stopped
//! gracefully by SIGTERM or Ctrl-C.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use cairn_engine::jobs::{JobSignal, Registry, Worker, WorkerConfig};
use cairn_store::{OpenOptions, Store};
use cairn_web::{AppState, WebConfig};
use tokio_util::sync::CancellationToken;

use crate::config::Settings;

/// Opens the configured database as it is.
pub async fn open_store_unmigrated(settings: &Settings) -> anyhow::Result<Arc<dyn Store>> {
    let url = settings.database_url();
    if cairn_store::backend_of(&url)? == cairn_store::Backend::Sqlite {
        create_private_dir(&settings.data_dir)?;
    }
    let options = OpenOptions {
        connect_timeout: Duration::from_secs(settings.db_connect_timeout_secs),
        ..OpenOptions::default()
    };
    Ok(cairn_store::open(&url, &options).await?)
}

/// Opens the configured database; with `migrate`, brings its schema up to
/// date, refusing a schema it does not know; without, insists it is current.
pub async fn open_store(settings: &Settings, migrate: bool) -> anyhow::Result<Arc<dyn Store>> {
    let store = open_store_unmigrated(settings).await?;
    if migrate {
        let status = store.migrate().await?;
        tracing::info!(
            database = store.backend().as_str(),
            schema_version = status.applied,
            "database ready"
        );
    } else {
        let status = store.schema_status().await?;
        if !status.is_current() {
            anyhow::bail!(
                "the database schema is at version {}, this Cairn expects {}; run `cairn migrate` first",
                status.applied,
                status.latest_known
            );
        }
    }
    Ok(store)
}

/// The data directory holds the database and, later, key files: owner only.
fn create_private_dir(dir: &std::path::Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the data directory {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir)?.permissions().mode();
        if mode & 0o077 != 0 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                .with_context(|| format!("cannot restrict permissions of {}", dir.display()))?;
        }
    }
    Ok(())
}

/// The master keys: `CAIRN_MASTER_KEY`, else `master.key` in the data
/// directory (created with mode 0600 on first start).
pub fn load_keyring(settings: &Settings) -> anyhow::Result<cairn_engine::keyring::Keyring> {
    let from_env = std::env::var("CAIRN_MASTER_KEY").ok();
    if from_env.is_none() {
        create_private_dir(&settings.data_dir)?;
    }
    let path = settings.data_dir.join("master.key");
    Ok(cairn_engine::keyring::Keyring::load(
        from_env.as_deref(),
        &path,
    )?)
}

/// On a database without users, creates the first admin from
/// `CAIRN_ADMIN_EMAIL` and `CAIRN_ADMIN_PASSWORD`.
async fn bootstrap_admin(state: &AppState) -> anyhow::Result<()> {
    let (Ok(email), Ok(password)) = (
        std::env::var("CAIRN_ADMIN_EMAIL"),
        std::env::var("CAIRN_ADMIN_PASSWORD"),
    ) else {
        return Ok(());
    };
    cairn_core::secret::register(&password);
    match state
        .accounts
        .bootstrap_admin(&email, &password, chrono::Utc::now())
        .await
    {
        Ok(Some(user)) => {
            tracing::info!(email = %user.email, "created the first admin from CAIRN_ADMIN_EMAIL")
        }
        Ok(None) => {}
        Err(error) => anyhow::bail!(
            "cannot create the first admin from CAIRN_ADMIN_EMAIL/CAIRN_ADMIN_PASSWORD: {error}"
        ),
    }
    Ok(())
}

/// Runs until SIGTERM or Ctrl-C: stops accepting, finishes in-flight
/// requests and jobs (within the grace period) and releases job leases.
pub async fn run(settings: Settings) -> anyhow::Result<()> {
    run_with(settings, |_| async { Ok(()) }).await
}

/// What [`run_with`]'s setup sees: the database is migrated and the port
/// bound, but no request is served and no job runs yet.
pub struct Ready {
    pub state: AppState,
    /// The address actually listened on (port 0 resolved).
    pub address: std::net::SocketAddr,
    /// Cancelled when the server begins to shut down.
    pub shutdown: CancellationToken,
}

/// [`run`] with a setup step before serving, so `cairn demo` runs the very
/// same server after seeding it. A failed setup stops the server unstarted.
pub async fn run_with<F, Fut>(settings: Settings, setup: F) -> anyhow::Result<()>
where
    F: FnOnce(Ready) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let store = open_store(&settings, true).await?;
    let bind = settings.bind_addr();
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .with_context(|| format!("cannot listen on {bind}"))?;
    let address = listener.local_addr()?;
    tracing::info!(address = %address, "listening");

    let shutdown = CancellationToken::new();
    tokio::spawn(wait_for_signal(shutdown.clone()));

    let lease = Duration::from_secs(settings.job_lease_secs);
    let worker_config = WorkerConfig {
        concurrency: settings.job_concurrency,
        lease,
        // Expired leases are looked for twice a lease (at most every 15 s),
        // so a dead instance's jobs wait at most about 1.5 leases.
        maintenance_interval: (lease / 2).min(Duration::from_secs(15)),
        shutdown_grace: Duration::from_secs(settings.shutdown_grace_secs),
        ..WorkerConfig::default()
    };
    let keyring = Arc::new(load_keyring(&settings)?);
    let state = AppState::new(store.clone(), keyring.clone(), cairn_web::metrics_handle())
        .with_goal_settings(keyring.clone(), goal_settings(&settings))
        .with_notify_settings(keyring.clone(), notify_settings(&settings)?)
        .with_sync_settings(keyring, sync_settings(&settings));
    bootstrap_admin(&state).await?;
    let ready = Ready {
        state: state.clone(),
        address,
        shutdown: shutdown.clone(),
    };
    if let Err(error) = setup(ready).await {
        shutdown.cancel();
        store.close().await;
        return Err(error);
    }

    let worker_id = Worker::new_id();
    tracing::info!(worker = %worker_id, "job worker started");
    let mut registry = Registry::with_builtins();
    registry.register(
        cairn_engine::goals::gitlab_link::REFRESH_KIND,
        cairn_engine::goals::gitlab_link::RefreshHandler(state.goals.clone()),
    );
    state.hooks.register(&mut registry);
    state.notify.register(&mut registry);
    state.sync.register(&mut registry);
    state.time.register(&mut registry);
    // Webhooks wake the worker as soon as their job is stored.
    let signal: JobSignal = state.hooks.signal();
    let worker = Worker::new(
        store.clone(),
        registry,
        worker_config,
        worker_id,
        signal.clone(),
    );
    let worker_task = tokio::spawn(worker.run(shutdown.clone()));
    tokio::spawn(schedule_refreshes(
        state.goals.clone(),
        state.hooks.clone(),
        state.sync.clone(),
        signal,
        shutdown.clone(),
    ));
    // On shutdown the open `/live` streams end, so they do not hold the
    // graceful shutdown up until their lifetime runs out.
    let streams = state.clone();
    let stopping = shutdown.clone();
    let stop_serving = async move {
        stopping.cancelled().await;
        streams.stop_streams();
    };
    let app = cairn_web::router(
        state,
        &WebConfig {
            body_limit: settings.body_limit,
            hook_body_limit: settings.hook_body_limit,
            public_url: (!settings.public_url.is_empty()).then(|| settings.public_url.clone()),
            metrics_token: (!settings.metrics_token.is_empty())
                .then(|| cairn_core::secret::Secret::new(settings.metrics_token.clone())),
        },
    );
    let server = axum::serve(listener, app).with_graceful_shutdown(stop_serving);
    let served = server.await;
    shutdown.cancel();
    tracing::info!("stopped accepting requests; finishing background jobs");
    let report = worker_task.await.context("job worker crashed")??;
    tracing::info!(
        completed = report.completed,
        failed = report.failed,
        released = report.released,
        "job worker stopped"
    );
    store.close().await;
    served.context("HTTP server failed")?;
    tracing::info!("shut down cleanly");
    Ok(())
}

/// The refresh settings from the configuration.
pub fn goal_settings(settings: &Settings) -> cairn_engine::goals::GoalSettings {
    cairn_engine::goals::GoalSettings {
        default_refresh: Duration::from_secs(settings.refresh_interval_secs),
        full_every: Duration::from_secs(settings.full_refresh_interval_secs),
        ..cairn_engine::goals::GoalSettings::default()
    }
}

/// The sync settings from the configuration: each connection's client
/// may send `sync_requests_per_second`, in bursts of ten times that.
pub fn sync_settings(settings: &Settings) -> cairn_engine::sync::SyncSettings {
    let rate = settings.sync_requests_per_second;
    cairn_engine::sync::SyncSettings {
        http: cairn_connect::HttpConfig {
            requests_per_second: rate,
            burst: (rate * 10.0).clamp(10.0, 100_000.0) as u32,
            ..cairn_connect::HttpConfig::default()
        },
        // A dead instance's items are taken over when its jobs are.
        claim: Duration::from_secs((settings.job_lease_secs * 2).max(4)),
        ..cairn_engine::sync::SyncSettings::default()
    }
}

/// The notification settings from the configuration: links in messages
/// from `public_url`, the SSRF allowlist from `outbound_allow`.
pub fn notify_settings(
    settings: &Settings,
) -> anyhow::Result<cairn_engine::notify::NotifySettings> {
    let policy = settings
        .outbound_policy()
        .map_err(|e| anyhow::anyhow!("invalid value for `outbound_allow`: {e}"))?;
    Ok(cairn_engine::notify::NotifySettings {
        public_url: (!settings.public_url.is_empty()).then(|| settings.public_url.clone()),
        outbound: cairn_connect::outbound::OutboundConfig {
            policy,
            ..cairn_connect::outbound::OutboundConfig::default()
        },
        ..cairn_engine::notify::NotifySettings::default()
    })
}

/// Every few seconds, enqueues a refresh job for each link that is due;
/// the job queue spreads them over the workers of every instance.
async fn schedule_refreshes(
    goals: Arc<cairn_engine::goals::Goals>,
    hooks: Arc<cairn_engine::hooks::Hooks>,
    sync: Arc<cairn_engine::sync::SyncEngine>,
    signal: JobSignal,
    shutdown: CancellationToken,
) {
    let mut ticks: u64 = 0;
    loop {
        if ticks.is_multiple_of(120) {
            // Every ten minutes: statuses follow the clock.
            match goals.reassess_all(chrono::Utc::now()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(okrs = n, "statuses changed with time"),
                Err(error) => tracing::warn!(error = %error, "reassessing statuses failed"),
            }
            // ... key results whose check-in is due are reminded of it,
            // once per missed check-in ...
            match goals.remind_due_check_ins(chrono::Utc::now()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(key_results = n, "check-in reminders sent"),
                Err(error) => tracing::warn!(error = %error, "check-in reminders failed"),
            }
            // ... and old webhook deliveries leave the inbox.
            match hooks.prune(chrono::Utc::now()).await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(deliveries = n, "pruned old webhook deliveries"),
                Err(error) => tracing::warn!(error = %error, "pruning webhook deliveries failed"),
            }
        }
        ticks += 1;
        match goals.enqueue_due_refreshes(chrono::Utc::now()).await {
            Ok(0) => {}
            Ok(n) => {
                tracing::debug!(links = n, "refreshes enqueued");
                signal.notify();
            }
            Err(error) => tracing::warn!(error = %error, "scheduling refreshes failed"),
        }
        // Sync scans and failing items' retries that are due.
        match sync.enqueue_due(chrono::Utc::now()).await {
            Ok(0) => {}
            Ok(n) => {
                tracing::debug!(jobs = n, "sync work enqueued");
                signal.notify();
            }
            Err(error) => tracing::warn!(error = %error, "scheduling sync work failed"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(5)) => {}
        }
    }
}

pub(crate) async fn wait_for_signal(shutdown: CancellationToken) {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(error = %error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = terminate => tracing::info!("SIGTERM received; shutting down"),
        _ = tokio::signal::ctrl_c() => tracing::info!("interrupt received; shutting down"),
        _ = shutdown.cancelled() => {}
    }
    shutdown.cancel();
}
