//! `cairn sim`: the GitLab and Jira simulator as a standalone server.

use anyhow::Context;

/// Runs the simulator until SIGTERM or Ctrl-C.
pub async fn run(args: cairn_sim::SimArgs) -> anyhow::Result<()> {
    let config = cairn_sim::SimConfig::try_from(args).context("invalid simulator options")?;
    let sim = cairn_sim::start(config)
        .await
        .context("cannot start the simulator")?;
    tracing::info!(gitlab = %sim.gitlab_url(), jira = %sim.jira_url(), flavour = ?sim.jira_flavour(), "simulator listening");
    println!(
        "GitLab: {}  (token {})",
        sim.gitlab_url(),
        cairn_sim::DEFAULT_GITLAB_TOKEN
    );
    println!(
        "Jira:   {}  (email {} / API token {}, or PAT {})",
        sim.jira_url(),
        cairn_sim::DEFAULT_JIRA_EMAIL,
        cairn_sim::DEFAULT_JIRA_API_TOKEN,
        cairn_sim::DEFAULT_JIRA_PAT
    );
    let shutdown = tokio_util::sync::CancellationToken::new();
    crate::serve::wait_for_signal(shutdown.clone()).await;
    sim.shutdown().await;
    Ok(())
}
