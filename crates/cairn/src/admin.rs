//! `cairn admin ...`: operating a Cairn from its host.

use std::sync::Arc;

use anyhow::bail;
use cairn_core::authz::Role;
use cairn_engine::jobs::NOOP_KIND;
use cairn_store::{Job, JobState, NewAuditEntry, NewJob, Store};
use chrono::Utc;
use clap::Subcommand;
use serde_json::json;

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Creates a user. The password is read from standard input (one line).
    CreateUser {
        #[arg(long)]
        email: String,
        /// Display name (default: the part of the email before @).
        #[arg(long)]
        name: Option<String>,
        /// Make the user an admin.
        #[arg(long)]
        admin: bool,
    },
    /// Re-encrypts every stored secret under a new master key, then retires
    /// the old keys. Running servers keep working throughout.
    RotateKey,
    /// Background jobs.
    #[command(subcommand)]
    Jobs(JobsCommand),
    /// The most recent audit log entries.
    Audit {
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
}

#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// Counts by state, then the newest jobs.
    List {
        /// Only this state: queued, running, done or dead.
        #[arg(long, value_parser = parse_state)]
        state: Option<JobState>,
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// One job with its payload and last error.
    Show { id: i64 },
    /// Puts a dead job back in the queue with fresh attempts.
    Retry { id: i64 },
    /// Enqueues jobs that do nothing, to check that workers are alive and
    /// measure the queue.
    Noop {
        #[arg(long, default_value_t = 1)]
        count: u32,
    },
}

fn parse_state(s: &str) -> Result<JobState, String> {
    JobState::parse(s)
        .ok_or_else(|| format!("`{s}` is not a job state (queued, running, done, dead)"))
}

fn print_job(job: &Job) {
    println!(
        "{:>8}  {:<8}  {:<20}  attempts {}/{}  run_after {}{}",
        job.id,
        job.state.as_str(),
        job.kind,
        job.attempts,
        job.max_attempts,
        job.run_after.format("%Y-%m-%d %H:%M:%S"),
        job.last_error
            .as_deref()
            .map(|e| format!("  last error: {e}"))
            .unwrap_or_default()
    );
}

pub async fn run(
    store: Arc<dyn Store>,
    settings: &crate::config::Settings,
    command: AdminCommand,
) -> anyhow::Result<()> {
    match command {
        AdminCommand::CreateUser { email, name, admin } => {
            let mut password = String::new();
            std::io::stdin().read_line(&mut password)?;
            let password = password.trim_end_matches(['\r', '\n']).to_owned();
            cairn_core::secret::register(&password);
            let name = name.unwrap_or_else(|| email.split('@').next().unwrap_or("user").to_owned());
            let role = if admin { Role::Admin } else { Role::Member };
            let accounts = cairn_engine::accounts::Accounts::new(store.clone());
            let user = accounts
                .create_user(None, &email, &name, role, &password, Utc::now())
                .await?;
            println!(
                "created {} {} ({})",
                user.role.as_str(),
                user.email,
                user.id
            );
        }
        AdminCommand::RotateKey => {
            let keyring = Arc::new(crate::serve::load_keyring(settings)?);
            let new_id = match keyring.source() {
                cairn_engine::keyring::KeySource::File(_) => keyring.add_new_current_key()?,
                cairn_engine::keyring::KeySource::Env => keyring.current_key_id(),
            };
            let connections =
                cairn_engine::connections::Connections::new(store.clone(), keyring.clone());
            let notifier = cairn_engine::notify::Notifier::new(
                store.clone(),
                keyring.clone(),
                cairn_engine::notify::NotifySettings::default(),
            );
            // Channel URLs and signing secrets too, before old keys go.
            let resealed = connections.reseal_all().await? + notifier.reseal_all().await?;
            let retired = keyring.retire_old_keys()?;
            audit(
                &*store,
                "key.rotated",
                &format!("key:{new_id}"),
                json!({"resealed": resealed, "retired": retired}),
            )
            .await?;
            println!(
                "secrets now sealed under key {new_id}: {resealed} re-encrypted; retired keys: {}",
                if retired.is_empty() {
                    "none".to_owned()
                } else {
                    retired.join(", ")
                }
            );
        }
        AdminCommand::Jobs(JobsCommand::List { state, limit }) => {
            let counts = store.job_counts().await?;
            let summary: Vec<String> = counts.0.iter().map(|(s, n)| format!("{s} {n}")).collect();
            println!("jobs: {}", summary.join(", "));
            for job in store.list_jobs(state, limit).await? {
                print_job(&job);
            }
        }
        AdminCommand::Jobs(JobsCommand::Show { id }) => match store.get_job(id).await? {
            Some(job) => println!("{}", serde_json::to_string_pretty(&job)?),
            None => bail!("there is no job {id}"),
        },
        AdminCommand::Jobs(JobsCommand::Retry { id }) => {
            let Some(job) = store.get_job(id).await? else {
                bail!("there is no job {id}");
            };
            if job.state != JobState::Dead {
                bail!(
                    "job {id} is {}, only dead jobs can be retried",
                    job.state.as_str()
                );
            }
            if !store.retry_dead_job(id, Utc::now()).await? {
                bail!("job {id} changed state meanwhile; look again");
            }
            audit(
                &*store,
                "job.retried",
                &format!("job:{id}"),
                json!({"kind": job.kind}),
            )
            .await?;
            println!("job {id} queued again");
        }
        AdminCommand::Jobs(JobsCommand::Noop { count }) => {
            let now = Utc::now();
            let mut tx = store.begin().await?;
            for _ in 0..count {
                tx.enqueue(&NewJob::new(NOOP_KIND, json!({}), now), now)
                    .await?;
            }
            tx.append_audit(
                &cli_entry("job.noop_enqueued", "jobs", json!({"count": count})),
                now,
            )
            .await?;
            tx.commit().await?;
            println!("enqueued {count} noop job(s)");
        }
        AdminCommand::Audit { limit } => {
            for entry in store.list_audit(limit).await? {
                println!(
                    "{}  {:<12}  {:<24}  {:<16}  {}",
                    entry.at.format("%Y-%m-%d %H:%M:%S"),
                    entry.actor,
                    entry.action,
                    entry.subject,
                    entry.detail
                );
            }
        }
    }
    Ok(())
}

fn cli_entry(action: &str, subject: &str, detail: serde_json::Value) -> NewAuditEntry {
    NewAuditEntry {
        actor: "cli".to_owned(),
        action: action.to_owned(),
        subject: subject.to_owned(),
        detail,
    }
}

async fn audit(
    store: &dyn Store,
    action: &str,
    subject: &str,
    detail: serde_json::Value,
) -> anyhow::Result<()> {
    let mut tx = store.begin().await?;
    tx.append_audit(&cli_entry(action, subject, detail), Utc::now())
        .await?;
    tx.commit().await?;
    Ok(())
}
