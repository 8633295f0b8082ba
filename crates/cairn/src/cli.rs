//! The command line. Exit codes: 0 success, 1 failure, 2 bad configuration
//! or usage.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::admin::AdminCommand;
use crate::bench::BenchCommand;
use crate::config::{ConfigError, Settings, SettingsArgs};

#[derive(Debug, Parser)]
#[command(
    name = "cairn",
    version,
    about = "Self-hosted integration hub: goals, sync, time and hooks for GitLab and Jira"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server: API, webhooks and background jobs.
    Serve {
        #[command(flatten)]
        settings: SettingsArgs,
    },
    /// Bring the database schema up to date (also done by `serve`).
    Migrate {
        #[command(flatten)]
        settings: SettingsArgs,
        /// Only report whether migrations are pending (exit 1 if so).
        #[arg(long)]
        check: bool,
    },
    /// Operate this Cairn: jobs, audit log.
    Admin {
        #[command(flatten)]
        settings: SettingsArgs,
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Try Cairn: the simulator with a sample organisation and a server
    /// seeded with OKRs linked to it; prints the URL and a login.
    Demo(crate::demo::DemoArgs),
    /// Run the GitLab and Jira simulator (for trying Cairn without either).
    Sim {
        #[command(flatten)]
        args: cairn_sim::SimArgs,
        /// Log line format.
        #[arg(long, value_enum, default_value_t = crate::config::LogFormat::Pretty)]
        log_format: crate::config::LogFormat,
    },
    /// Measure Cairn (the numbers in BENCHMARKS.md).
    #[command(subcommand)]
    Bench(BenchCommand),
}

/// Loads settings, or exits with code 2 naming the key at fault.
fn settings(args: &SettingsArgs) -> Result<Settings, ConfigError> {
    let loaded = args.load()?;
    crate::telemetry::init(loaded.settings.log_format, &loaded.settings.log_level);
    for warning in &loaded.warnings {
        tracing::warn!("{warning}");
    }
    Ok(loaded.settings)
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result: Result<anyhow::Result<()>, ConfigError> = runtime.block_on(async {
        Ok(match cli.command {
            Command::Serve { settings: args } => crate::serve::run(settings(&args)?).await,
            Command::Migrate {
                settings: args,
                check,
            } => migrate(settings(&args)?, check).await,
            Command::Admin {
                settings: args,
                command,
            } => {
                let settings = settings(&args)?;
                match crate::serve::open_store(&settings, false).await {
                    Ok(store) => {
                        let result = crate::admin::run(store.clone(), &settings, command).await;
                        store.close().await;
                        result
                    }
                    Err(error) => Err(error),
                }
            }
            Command::Demo(args) => {
                let settings = args.settings()?;
                crate::telemetry::init(settings.log_format, &settings.log_level);
                // A data directory that is not the demo's is a usage error.
                crate::demo::prepare_data_dir(&args.data_dir)
                    .map_err(|e| ConfigError(format!("data_dir: {e:#}")))?;
                crate::demo::run(args, settings).await
            }
            Command::Sim { args, log_format } => {
                crate::telemetry::init(log_format, "info");
                crate::sim::run(args).await
            }
            Command::Bench(command) => {
                crate::telemetry::init(crate::config::LogFormat::Pretty, "warn");
                crate::bench::run(command).await
            }
        })
    });
    match result {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(error)) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(2)
        }
    }
}

async fn migrate(settings: Settings, check: bool) -> anyhow::Result<()> {
    let store = crate::serve::open_store_unmigrated(&settings).await?;
    let result = async {
        if check {
            let status = store.schema_status().await?;
            if status.is_current() {
                println!("schema is current (version {})", status.applied);
                return Ok(());
            }
            anyhow::bail!(
                "migrations pending: database at version {}, this Cairn has {}",
                status.applied,
                status.latest_known
            );
        }
        let before = store.schema_status().await?;
        let after = store.migrate().await?;
        if before == after {
            println!("schema already current (version {})", after.applied);
        } else {
            println!(
                "migrated from version {} to {}",
                before.applied, after.applied
            );
        }
        Ok(())
    }
    .await;
    store.close().await;
    result
}
