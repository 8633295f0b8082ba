//! `cairn demo`: the GitLab and Jira simulator with its sample organisation,
//! and the same server as `cairn serve` seeded with a period, objectives and
//! key results linked to simulated GitLab milestones. While it runs, the
//! simulator completes tasks and closes issues now and then, so a person
//! watching sees progress move at the next scheduled refresh. The sample's
//! issues and tickets are dated over the quarter so far, and each linked
//! key result's history is reconstructed from those dates, so its first
//! chart has a line to read.
//!
//! The data directory is emptied at every start: the simulator keeps its
//! data in memory and starts afresh (on new ports) each run, so a database
//! from an earlier run would hold links to a GitLab that no longer exists
//! and numbers that no longer match it. To protect real data, a directory
//! that is neither empty nor marked as a demo directory is refused.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use cairn_core::authz::Role;
use cairn_core::goals::{IssueState, JiraMetric, Kpi, KpiScope, Measure, ProgressSource};
use cairn_core::secret::Secret;
use cairn_engine::accounts::Authenticated;
use cairn_engine::connections::ConnectionInput;
use cairn_engine::goals::{CheckInInput, GitLabQuery, JiraLinkInput, LinkInput, OkrInput};
use cairn_engine::sync::{PairInput, SideInput};
use cairn_engine::time::{PersonInput, SourceInput};
use cairn_sim::{SimConfig, SimHandle, World};
use cairn_store::goals::OkrKind;
use cairn_store::time::{DevLinks, MatchedBy};
use cairn_web::AppState;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use tokio_util::sync::CancellationToken;

use crate::config::{ConfigError, LogFormat, Settings};

/// The demo admin's email address (the password is generated each run).
pub const DEMO_EMAIL: &str = "admin@demo.cairn.example";

/// The file that marks a data directory as the demo's, so it may be emptied.
const MARKER: &str = ".cairn-demo";

/// Files of an earlier run that a fresh start removes.
const STATE_FILES: &[&str] = &["cairn.db", "cairn.db-wal", "cairn.db-shm", "master.key"];

/// Seconds between scheduled refreshes of the demo's links: the minimum,
/// so the simulator's changes show within a minute.
const REFRESH_SECS: i64 = 60;

/// The sync pair the demo runs: the checkout project and Jira's OPS,
/// where only OPS tickets labelled `checkout` come to GitLab.
const SYNC_GITLAB_PROJECT: &str = "northwind/checkout";
const SYNC_JIRA_PROJECT: &str = "OPS";
const SYNC_JIRA_SCOPE: &str = "labels = checkout";

/// The simulated GitLab account the demo admin is connected to for Time:
/// the simulator pushes commits as this person.
const TIME_GITLAB_USER: &str = "amartin";

/// Options of `cairn demo`. It reads no `cairn.toml` and no `CAIRN_*`
/// settings, so a production configuration in the working directory can
/// never point the demo (which empties its data directory) at real data.
#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// Address Cairn listens on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// Directory for the demo's SQLite database and key file; emptied at every start.
    #[arg(long, value_name = "DIR", default_value = "./cairn-demo-data")]
    pub data_dir: PathBuf,
    /// Address of the simulated GitLab (port 0: a free port).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    pub gitlab_addr: SocketAddr,
    /// Address of the simulated Jira (port 0: a free port).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    pub jira_addr: SocketAddr,
    /// Average seconds between two changes the simulator makes to its issues (0: none).
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub tick_secs: u64,
    /// Log line format.
    #[arg(long, value_name = "FORMAT", value_enum, default_value_t = LogFormat::Pretty)]
    pub log_format: LogFormat,
    /// Log filter, e.g. `info` or `info,cairn::demo=debug`.
    #[arg(long, value_name = "FILTER", default_value = "info")]
    pub log_level: String,
}

impl DemoArgs {
    /// The server settings of the demo: `serve`'s defaults with the demo's
    /// bind address and data directory and the shortest refresh interval.
    pub fn settings(&self) -> Result<Settings, ConfigError> {
        tracing_subscriber::EnvFilter::try_new(&self.log_level).map_err(|e| {
            ConfigError(format!(
                "invalid value for `log_level`: `{}` is not a log filter ({e})",
                self.log_level
            ))
        })?;
        Ok(Settings {
            bind: self.bind.to_string(),
            data_dir: self.data_dir.clone(),
            database_url: String::new(),
            log_format: self.log_format,
            log_level: self.log_level.clone(),
            refresh_interval_secs: REFRESH_SECS.unsigned_abs(),
            full_refresh_interval_secs: 3600,
            // Notification channels may point at a receiver on this machine.
            outbound_allow: "127.0.0.0/8,::1".to_owned(),
            ..Settings::default()
        })
    }
}

/// Which simulated issues a demo key result reads; the simulator's changes
/// are drawn from these too, so every change moves some number.
struct Selection {
    project: &'static str,
    milestone: Option<&'static str>,
    labels: &'static [&'static str],
}

const CHECKOUT_Q1: Selection = Selection {
    project: "northwind/checkout",
    milestone: Some("Q1 2026"),
    labels: &[],
};
const CHECKOUT_PAYMENTS: Selection = Selection {
    project: "northwind/checkout",
    milestone: None,
    labels: &["payments"],
};
const MOBILE_RELEASE: Selection = Selection {
    project: "northwind/mobile-app",
    milestone: Some("Release 4.2"),
    labels: &[],
};
const SELECTIONS: &[&Selection] = &[&CHECKOUT_Q1, &CHECKOUT_PAYMENTS, &MOBILE_RELEASE];

impl Selection {
    fn query(&self) -> GitLabQuery {
        GitLabQuery {
            project: self.project.to_owned(),
            milestone: self.milestone.map(str::to_owned),
            assignee: None,
            labels: self.labels.iter().map(|l| (*l).to_owned()).collect(),
            iids: Vec::new(),
        }
    }
}

/// Runs the simulator and the seeded server until SIGTERM or Ctrl-C; the
/// data directory must have been prepared by [`prepare_data_dir`].
pub async fn run(args: DemoArgs, settings: Settings) -> anyhow::Result<()> {
    let sim = cairn_sim::start(SimConfig {
        gitlab_addr: args.gitlab_addr,
        jira_addr: args.jira_addr,
        ..SimConfig::default()
    })
    .await
    .context("cannot start the simulator")?;
    // The sample's issues and tickets were created and closed over the
    // quarter so far (at least four weeks), so the key results' first
    // charts have a history to show.
    let started = Utc::now();
    let quarter_start = quarter_of(started.date_naive())
        .and_then(|(_, starts_on, _)| starts_on.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .unwrap_or(started);
    let sample_from = quarter_start.min(started - chrono::Duration::days(28));
    sim.with_world_mut(|w| cairn_sim::seed::spread_dates(w, sample_from, started));
    let sim = Arc::new(sim);
    let stop = CancellationToken::new();
    let (seeded_tx, seeded_rx) = tokio::sync::oneshot::channel::<Started>();
    let ticker = tokio::spawn(change_now_and_then(
        sim.clone(),
        Duration::from_secs(args.tick_secs),
        seeded_rx,
        stop.clone(),
    ));

    let gitlab_url = sim.gitlab_url();
    let banner_jira_url = sim.jira_url();
    let seed_sim = sim.clone();
    let result = crate::serve::run_with(settings, |ready| async move {
        let now = Utc::now();
        let password = demo_password();
        let url = browser_url(ready.address);
        let seeded = seed(
            &ready.state,
            &seed_sim,
            &url,
            &password,
            sample_from,
            now,
        )
        .await?;
        println!();
        println!("Cairn demo is running at {url}");
        println!("  sign in as  {DEMO_EMAIL}");
        println!("  password    {}", password.expose());
        println!(
            "  seeded      period {}, {} objectives, {} key results ({} linked to the simulated GitLab, {} to the simulated Jira)",
            seeded.period, seeded.objectives, seeded.key_results, seeded.links, seeded.jira_links
        );
        println!(
            "  real time   the simulated GitLab's webhooks for {} project(s) reach {url}/hooks/gitlab/…",
            seeded.hooked
        );
        println!(
            "  sync        {SYNC_GITLAB_PROJECT} <-> Jira {SYNC_JIRA_PROJECT} (pair {}, active): {url}/sync-pairs/{}",
            seeded.sync_pair, seeded.sync_pair
        );
        println!(
            "  simulator   GitLab {gitlab_url} (token {}), Jira {banner_jira_url} ({} / {})",
            cairn_sim::DEFAULT_GITLAB_TOKEN,
            cairn_sim::DEFAULT_JIRA_EMAIL,
            cairn_sim::DEFAULT_JIRA_API_TOKEN
        );
        println!("  Ctrl-C stops the demo; its data is reset at the next start.");
        println!();
        tracing::info!(url = %url, email = DEMO_EMAIL, "demo ready");
        let _ = seeded_tx.send(Started {
            shutdown: ready.shutdown,
            state: ready.state.clone(),
            sync_pair: seeded.sync_pair,
        });
        Ok(())
    })
    .await;
    stop.cancel();
    if ticker.await.is_err() {
        tracing::warn!("the simulator's change loop crashed");
    }
    match Arc::try_unwrap(sim) {
        Ok(sim) => sim.shutdown().await,
        Err(_) => tracing::warn!("simulator still in use; not waiting for it"),
    }
    result
}

/// Empties (or creates) the data directory, refusing one that may hold
/// something other than an earlier demo.
pub fn prepare_data_dir(dir: &Path) -> anyhow::Result<()> {
    if dir.exists() {
        let mut entries = std::fs::read_dir(dir)
            .with_context(|| format!("cannot read the data directory {}", dir.display()))?;
        let empty = entries.next().is_none();
        if !empty && !dir.join(MARKER).exists() {
            anyhow::bail!(
                "{} is not empty and is not a demo data directory (it has no {MARKER} file); \
                 the demo empties its data directory at every start, so choose another --data-dir",
                dir.display()
            );
        }
        for name in STATE_FILES {
            let path = dir.join(name);
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(e).with_context(|| format!("cannot remove {}", path.display()));
                }
            }
        }
    } else {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the data directory {}", dir.display()))?;
    }
    std::fs::write(
        dir.join(MARKER),
        "Data of `cairn demo`: emptied at every start of the demo.\n",
    )
    .with_context(|| format!("cannot mark {} as the demo's", dir.display()))?;
    Ok(())
}

/// A fresh password for this run, registered so no log line shows it.
fn demo_password() -> Secret {
    let token = cairn_engine::accounts::random_token();
    // 20 URL-safe characters: about 120 bits, still easy to paste.
    Secret::new(format!(
        "demo-{}",
        token.chars().take(20).collect::<String>()
    ))
}

/// The address to open in a browser: a wildcard bind is reachable locally.
fn browser_url(address: SocketAddr) -> String {
    let ip = if address.ip().is_unspecified() {
        match address {
            SocketAddr::V4(_) => std::net::IpAddr::from([127, 0, 0, 1]),
            SocketAddr::V6(_) => std::net::IpAddr::from(std::net::Ipv6Addr::LOCALHOST),
        }
    } else {
        address.ip()
    };
    format!("http://{}", SocketAddr::new(ip, address.port()))
}

/// What [`seed`] created, for the banner.
struct Seeded {
    period: String,
    objectives: usize,
    key_results: usize,
    links: usize,
    /// Key results reading the simulated Jira.
    jira_links: usize,
    /// GitLab projects whose webhooks now reach Cairn.
    hooked: usize,
    /// The id of the GitLab <-> Jira sync pair.
    sync_pair: i64,
}

/// The calendar quarter that contains `day`, as (name, first day, last day).
fn quarter_of(day: NaiveDate) -> Option<(String, NaiveDate, NaiveDate)> {
    let first_month = day.month0() / 3 * 3 + 1;
    let start = NaiveDate::from_ymd_opt(day.year(), first_month, 1)?;
    let next = if first_month == 10 {
        NaiveDate::from_ymd_opt(day.year() + 1, 1, 1)?
    } else {
        NaiveDate::from_ymd_opt(day.year(), first_month + 3, 1)?
    };
    let end = next.pred_opt()?;
    Some((
        format!("Q{} {}", first_month / 3 + 1, day.year()),
        start,
        end,
    ))
}

/// One key result to create under an objective.
struct KeyResult {
    title: &'static str,
    description: &'static str,
    measure: Measure,
    source: Source,
}

enum Source {
    Link(&'static Selection, Option<IssueState>),
    /// A JQL query of the simulated Jira, read with a metric.
    Jira(&'static str, JiraMetric, Option<KpiScope>),
    /// Check-ins: (days ago, value, note). The last is today's, and each
    /// objective lists its check-in key results last, so every stored
    /// status and expected value is today's (a recompute records only
    /// changes, so one made "days ago" would otherwise stay).
    CheckIns(&'static [(i64, f64, &'static str)]),
}

/// Creates the admin, shared connections to the simulated GitLab and Jira,
/// the current quarter as a period, two objectives whose key results read
/// the simulator or take check-ins, and an active GitLab <-> Jira sync pair.
async fn seed(
    state: &AppState,
    sim: &SimHandle,
    cairn_url: &str,
    password: &Secret,
    sample_from: DateTime<Utc>,
    now: DateTime<Utc>,
) -> anyhow::Result<Seeded> {
    let admin = state
        .accounts
        .create_user(
            None,
            DEMO_EMAIL,
            "Demo Admin",
            Role::Admin,
            password.expose(),
            now,
        )
        .await
        .context("cannot create the demo admin")?;
    let by = Authenticated {
        user: admin,
        session: None,
    };
    let connection = state
        .connections
        .create_and_test(
            &by,
            ConnectionInput {
                kind: "gitlab".to_owned(),
                name: "Northwind GitLab (simulated)".to_owned(),
                base_url: Some(sim.gitlab_url()),
                auth_kind: "private_token".to_owned(),
                username: None,
                secret: Secret::new(cairn_sim::DEFAULT_GITLAB_TOKEN),
                shared: true,
            },
            now,
        )
        .await
        .context("cannot create the connection to the simulated GitLab")?
        .0;
    let jira = state
        .connections
        .create_and_test(
            &by,
            ConnectionInput {
                kind: "jira".to_owned(),
                name: "Northwind Jira (simulated)".to_owned(),
                base_url: Some(sim.jira_url()),
                auth_kind: "basic".to_owned(),
                username: Some(cairn_sim::DEFAULT_JIRA_EMAIL.to_owned()),
                secret: Secret::new(cairn_sim::DEFAULT_JIRA_API_TOKEN),
                shared: true,
            },
            now,
        )
        .await
        .context("cannot create the connection to the simulated Jira")?
        .0;
    let (name, starts_on, ends_on) =
        quarter_of(now.date_naive()).context("today has no calendar quarter")?;
    let period = state
        .goals
        .create_period(&by, &name, starts_on, ends_on, None, now)
        .await
        .context("cannot create the demo period")?;
    // A team for each objective, so the tree's team filter shows something;
    // the admin leads the first.
    let mut teams = Vec::new();
    for (name, lead) in [("Checkout", Some(by.user.id)), ("Platform", None)] {
        let team = state
            .goals
            .create_team(&by, name, lead, now)
            .await
            .with_context(|| format!("cannot create the demo team `{name}`"))?;
        teams.push(team.id);
    }

    let kpi = |unit: &str, start: f64, target: f64| -> anyhow::Result<Measure> {
        Ok(Measure::Kpi(
            Kpi::new(unit, start, target).map_err(|e| anyhow::anyhow!("{e}"))?,
        ))
    };
    let objectives = vec![
        (
            "Make checkout effortless",
            "Fewer abandoned carts: finish the checkout work planned for Q1 and keep customers happy.",
            vec![
                KeyResult {
                    title: "Finish the Q1 2026 checkout milestone",
                    description: "Every issue of milestone Q1 2026 in northwind/checkout; an issue with tasks counts as its tasks.",
                    measure: Measure::PercentComplete,
                    source: Source::Link(&CHECKOUT_Q1, None),
                },
                KeyResult {
                    title: "Complete all payments work",
                    description: "Issues labelled `payments` in northwind/checkout.",
                    measure: Measure::PercentComplete,
                    source: Source::Link(&CHECKOUT_PAYMENTS, None),
                },
                KeyResult {
                    title: "Raise checkout NPS from 30 to 45",
                    description: "From the monthly customer survey, checked in by hand.",
                    measure: kpi("points", 30.0, 45.0)?,
                    source: Source::CheckIns(&[
                        (
                            21,
                            34.0,
                            "First survey after the new address form prototype.",
                        ),
                        (0, 40.0, "Apple Pay beta users rate checkout higher."),
                    ]),
                },
            ],
        ),
        (
            "Ship mobile release 4.2",
            "Offline order history and a stable app on low-storage phones.",
            vec![
                KeyResult {
                    title: "Close all 3 issues of Release 4.2",
                    description: "Closed issues of milestone Release 4.2 in northwind/mobile-app.",
                    measure: kpi("issues", 0.0, 3.0)?,
                    source: Source::Link(&MOBILE_RELEASE, Some(IssueState::Closed)),
                },
                KeyResult {
                    title: "Crash-free sessions from 98 % to 99.5 %",
                    description: "From the crash reporter's weekly numbers.",
                    measure: kpi("%", 98.0, 99.5)?,
                    source: Source::CheckIns(&[
                        (14, 98.1, "Weekly numbers after 4.1.2."),
                        // At risk until this one: on track since (the
                        // dashboard's status change of the week).
                        (3, 99.2, "Low-storage crash fix released in 4.1.3."),
                        (0, 99.3, "Up again this week."),
                    ]),
                },
            ],
        ),
        (
            "Run operations without surprises",
            "The database upgrade finished, release 2026.2 delivered and the bug backlog worked down, tracked in Jira's OPS project.",
            vec![
                KeyResult {
                    title: "Finish the zero-downtime database upgrade",
                    description: "The stories of epic OPS-1 in Jira, done over all.",
                    measure: Measure::PercentComplete,
                    source: Source::Jira("\"Epic Link\" = OPS-1", JiraMetric::Count, None),
                },
                KeyResult {
                    title: "Deliver the story points of release 2026.2",
                    description: "Story points of the OPS tickets with fix version 2026.2, done over all.",
                    measure: Measure::PercentComplete,
                    source: Source::Jira(
                        "project = OPS AND fixVersion = \"2026.2\"",
                        JiraMetric::StoryPoints,
                        None,
                    ),
                },
                KeyResult {
                    title: "Fix 20 bugs",
                    description: "OPS bugs, counted when done.",
                    measure: kpi("bugs", 0.0, 20.0)?,
                    source: Source::Jira(
                        "project = OPS AND issuetype = Bug",
                        JiraMetric::Count,
                        Some(KpiScope::CompletedOnly),
                    ),
                },
            ],
        ),
    ];

    let mut seeded = Seeded {
        period: period.name.clone(),
        objectives: 0,
        key_results: 0,
        links: 0,
        jira_links: 0,
        hooked: 0,
        sync_pair: 0,
    };
    for (index, (title, description, key_results)) in objectives.into_iter().enumerate() {
        let team = teams.get(index).copied();
        // Created without a source of progress (check-ins, none made) and
        // made a roll-up once its key results are in, so it records one
        // roll-up of them all rather than one per key result as each is
        // seeded, and its history is theirs rolled up.
        let objective_input = |source| OkrInput {
            owner_team_id: Some(team),
            ..okr_input(
                OkrKind::Objective,
                title,
                description,
                period.id,
                None,
                Measure::PercentComplete,
                source,
            )
        };
        let objective = state
            .goals
            .create_okr(&by, objective_input(ProgressSource::CheckIn), now)
            .await
            .with_context(|| format!("cannot create the objective `{title}`"))?;
        seeded.objectives += 1;
        for kr in key_results {
            let progress_source = match kr.source {
                Source::Link(..) | Source::Jira(..) => ProgressSource::DataLink,
                Source::CheckIns(_) => ProgressSource::CheckIn,
            };
            let okr = state
                .goals
                .create_okr(
                    &by,
                    OkrInput {
                        owner_team_id: Some(team),
                        ..okr_input(
                            OkrKind::KeyResult,
                            kr.title,
                            kr.description,
                            period.id,
                            Some(objective.id),
                            kr.measure,
                            progress_source,
                        )
                    },
                    now,
                )
                .await
                .with_context(|| format!("cannot create the key result `{}`", kr.title))?;
            seeded.key_results += 1;
            match kr.source {
                Source::Link(selection, issue_state) => {
                    state
                        .goals
                        .set_gitlab_link(
                            &by,
                            okr.id,
                            LinkInput {
                                connection_id: connection.id,
                                query: selection.query(),
                                state: issue_state,
                                refresh_interval_secs: Some(REFRESH_SECS),
                            },
                            now,
                        )
                        .await
                        .with_context(|| format!("cannot link `{}` to GitLab", kr.title))?;
                    backfill(state, &by, okr.id, kr.title, now).await?;
                    if seeded.links == 0 {
                        // A linked key result's check-in: a note and how
                        // its owner sees it, beside the number.
                        state
                            .goals
                            .check_in(
                                &by,
                                okr.id,
                                &CheckInInput {
                                    note: "Review queue is long this week; pairing on it.",
                                    confidence: Some(cairn_core::goals::Status::Behind),
                                    ..CheckInInput::default()
                                },
                                now - chrono::Duration::days(2),
                            )
                            .await
                            .with_context(|| format!("cannot check in on `{}`", kr.title))?;
                    }
                    seeded.links += 1;
                }
                Source::Jira(jql, metric, scope) => {
                    state
                        .goals
                        .set_jira_link(
                            &by,
                            okr.id,
                            JiraLinkInput {
                                connection_id: jira.id,
                                jql: jql.to_owned(),
                                metric,
                                scope,
                                refresh_interval_secs: Some(REFRESH_SECS),
                            },
                            now,
                        )
                        .await
                        .with_context(|| format!("cannot link `{}` to Jira", kr.title))?;
                    backfill(state, &by, okr.id, kr.title, now).await?;
                    seeded.jira_links += 1;
                }
                Source::CheckIns(check_ins) => {
                    for (days_ago, value, note) in check_ins {
                        let at = now - chrono::Duration::days(*days_ago);
                        state
                            .goals
                            .check_in(
                                &by,
                                okr.id,
                                &CheckInInput {
                                    value: Some(*value),
                                    note,
                                    ..CheckInInput::default()
                                },
                                at,
                            )
                            .await
                            .with_context(|| format!("cannot check in on `{}`", kr.title))?;
                    }
                }
            }
        }
        state
            .goals
            .update_okr(
                &by,
                objective.id,
                objective_input(ProgressSource::RollUp),
                now,
            )
            .await
            .with_context(|| format!("cannot roll up the objective `{title}`"))?;
        // The objective's line from its key results' (their histories first).
        backfill(state, &by, objective.id, title, now).await?;
    }
    // Real time: the simulator's webhooks move the bars between polls.
    let real_time = state
        .hooks
        .enable_real_time(&by, connection.id, Some(cairn_url), Vec::new(), now)
        .await
        .context("cannot register the simulated GitLab's webhooks")?;
    seeded.hooked = real_time.registered.len();
    seeded.sync_pair = seed_sync(
        state,
        &by,
        connection.id,
        jira.id,
        cairn_url,
        sample_from,
        now,
    )
    .await?;
    seed_time(state, sim, &by, connection.id, jira.id, cairn_url, now).await?;
    Ok(seeded)
}

/// An OKR's history for the quarter so far: a linked key result's from its
/// items' dates, an objective's from its key results' (see
/// `Goals::backfill_history`).
async fn backfill(
    state: &AppState,
    by: &Authenticated,
    okr_id: i64,
    title: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let points = state
        .goals
        .backfill_history(by, okr_id, now)
        .await
        .with_context(|| format!("cannot reconstruct the history of `{title}`"))?;
    tracing::debug!(okr = okr_id, points, "history reconstructed");
    Ok(())
}

/// The simulated Jira's webhook registered, and an active pair keeping
/// `northwind/checkout` and Jira's OPS the same.
/// It reaches back to the sample's first day (`sample_from`, the dates
/// the simulator's issues were spread from), so the checkout issues have
/// their Jira twins as soon as the demo is up; OPS's own tickets stay out
/// of GitLab unless labelled `checkout`.
async fn seed_sync(
    state: &AppState,
    by: &Authenticated,
    gitlab_connection: i64,
    jira_connection: i64,
    cairn_url: &str,
    sample_from: DateTime<Utc>,
    now: DateTime<Utc>,
) -> anyhow::Result<i64> {
    state
        .hooks
        .enable_real_time(by, jira_connection, Some(cairn_url), Vec::new(), now)
        .await
        .context("cannot register the simulated Jira's webhook")?;
    let view = state
        .sync
        .create_pair(
            by,
            &PairInput {
                name: "Checkout <-> Jira OPS".to_owned(),
                left: SideInput {
                    connection_id: gitlab_connection,
                    project: SYNC_GITLAB_PROJECT.to_owned(),
                    labels: Vec::new(),
                    jql: None,
                },
                right: SideInput {
                    connection_id: jira_connection,
                    project: SYNC_JIRA_PROJECT.to_owned(),
                    labels: Vec::new(),
                    jql: Some(SYNC_JIRA_SCOPE.to_owned()),
                },
                active: true,
                created_after: Some(
                    cairn_sim::seed::base_time().min(sample_from) - chrono::Duration::days(1),
                ),
                fields: Default::default(),
                status_mapping: None,
                transition_defaults: None,
                jira_issue_type: None,
                scan_interval_secs: None,
                delete_comment_copies: false,
                scan_overlap_secs: None,
                auto_map_people: false,
            },
            now,
        )
        .await
        .context("cannot create the demo's sync pair")?;
    Ok(view.pair.id)
}

/// Time: the simulated GitLab is the organisation's activity source for
/// `northwind/checkout` (its push, merge request and comment hooks reach
/// Cairn), and the demo admin is connected to the simulated account
/// [`TIME_GITLAB_USER`], whose pushes fill "My work" with suggestions and,
/// through Jira development links, add a link to each commit on the Jira
/// ticket they name.
async fn seed_time(
    state: &AppState,
    sim: &SimHandle,
    by: &Authenticated,
    gitlab_connection: i64,
    jira_connection: i64,
    cairn_url: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let source = state
        .time
        .set_source(
            by,
            SourceInput {
                connection_id: gitlab_connection,
                jira_connection_id: Some(jira_connection),
                enabled: true,
                projects: vec![SYNC_GITLAB_PROJECT.to_owned()],
                settings: None,
            },
            now,
        )
        .await
        .context("cannot make the simulated GitLab the activity source")?;
    state
        .time
        .register_source_hooks(&state.hooks, by, &source, Some(cairn_url), now)
        .await
        .context("cannot register the activity source's hooks")?;
    let (gitlab_user_id, email) = sim
        .with_world(|w| {
            w.gitlab
                .user_by_name(TIME_GITLAB_USER)
                .map(|u| (u.id, u.email.clone()))
        })
        .context("the sample has no GitLab user amartin")?;
    state
        .time
        .connect_person(
            by,
            PersonInput {
                user_id: by.user.id,
                gitlab_user_id: i64::try_from(gitlab_user_id).unwrap_or_default(),
                gitlab_username: TIME_GITLAB_USER.to_owned(),
                gitlab_email: Some(email),
                time_zone: "UTC".to_owned(),
                own_connection_id: None,
                matched_by: MatchedBy::Manual,
            },
            now,
        )
        .await
        .context("cannot connect the demo admin to the simulated GitLab account")?;
    // Jira development links: the pushes mentioning OPS-3 show up on the
    // Jira ticket as a link to the commit.
    state
        .time
        .set_dev_links(
            by,
            gitlab_connection,
            jira_connection,
            DevLinks::default(),
            now,
        )
        .await
        .context("cannot turn on Jira development links")?;
    Ok(())
}

fn okr_input(
    kind: OkrKind,
    title: &str,
    description: &str,
    period_id: i64,
    parent_id: Option<i64>,
    measure: Measure,
    progress_source: ProgressSource,
) -> OkrInput {
    OkrInput {
        kind,
        title: title.to_owned(),
        description: description.to_owned(),
        owner_id: None,
        owner_team_id: None,
        period_id,
        parent_id,
        starts_on: None,
        due_on: None,
        measure,
        weight: None,
        contributes: None,
        progress_source,
    }
}

/// One change the simulator makes, through its control API (the path its
/// own tests use, which bumps `updated_at` and sends webhooks like GitLab).
#[derive(Debug, Clone, PartialEq)]
enum Change {
    CompleteTask {
        project: String,
        iid: u64,
    },
    Close {
        project: String,
        iid: u64,
    },
    /// New work in a milestone: scope grows, so its percentage drops.
    File {
        project: String,
        milestone: String,
    },
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Change::CompleteTask { project, iid } => {
                write!(f, "completed a task of {project}#{iid}")
            }
            Change::Close { project, iid } => write!(f, "closed {project}#{iid}"),
            Change::File { project, milestone } => {
                write!(f, "filed a new issue in {project}, milestone {milestone}")
            }
        }
    }
}

/// Open issues in the demo's selections, each once, as the next change to
/// make to it: its first open task, else closing it.
fn candidates(world: &World) -> Vec<Change> {
    let mut out = Vec::new();
    for selection in SELECTIONS {
        let Some(project) = world
            .gitlab
            .projects
            .iter()
            .find(|p| p.path_with_namespace == selection.project)
        else {
            continue;
        };
        let milestone_id = match selection.milestone {
            Some(title) => match project.milestones.iter().find(|m| m.title == title) {
                Some(m) => Some(m.id),
                None => continue,
            },
            None => None,
        };
        for issue in &project.issues {
            let selected = issue.state == "opened"
                && milestone_id.is_none_or(|id| issue.milestone_id == Some(id))
                && selection
                    .labels
                    .iter()
                    .all(|l| issue.labels.iter().any(|il| il == l));
            if !selected {
                continue;
            }
            let (total, done) = issue.tasks;
            let change = if done < total {
                Change::CompleteTask {
                    project: selection.project.to_owned(),
                    iid: issue.iid,
                }
            } else {
                Change::Close {
                    project: selection.project.to_owned(),
                    iid: issue.iid,
                }
            };
            if !out.contains(&change) {
                out.push(change);
            }
        }
    }
    out
}

/// One change to the OPS tickets the demo's Jira key results read.
#[derive(Debug, Clone, PartialEq)]
enum JiraChange {
    /// An open ticket one step on through the workflow: To Do to In
    /// Progress, anything else to Done.
    Advance { key: String, to: &'static str },
    /// A new bug, once every other ticket is done.
    FileBug,
}

impl std::fmt::Display for JiraChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JiraChange::Advance { key, to } => write!(f, "moved {key} to {to}"),
            JiraChange::FileBug => write!(f, "filed a new bug in OPS"),
        }
    }
}

/// Picks the next Jira change: an open ticket of the epic, of release
/// 2026.2 or a bug (never a sync twin nor a sub-task), else a new bug.
fn pick_jira(world: &World, dice: &mut Dice) -> JiraChange {
    let jira = &world.jira;
    let release = jira
        .project("OPS")
        .and_then(|p| p.versions.iter().find(|v| v.name == "2026.2"))
        .map(|v| v.id);
    let options: Vec<JiraChange> = jira
        .issues
        .iter()
        .filter(|i| i.project == "OPS")
        .filter_map(|i| {
            let kind = jira.issue_type(&i.issue_type)?;
            let status = jira.status(&i.status)?;
            let watched = i.epic_link.as_deref() == Some("OPS-1")
                || release.is_some_and(|r| i.fix_versions.contains(&r))
                || kind.name == "Bug";
            (watched && !kind.subtask && status.category != "done").then(|| JiraChange::Advance {
                key: i.key.clone(),
                to: if status.category == "new" {
                    "In Progress"
                } else {
                    "Done"
                },
            })
        })
        .collect();
    if options.is_empty() {
        return JiraChange::FileBug;
    }
    let index = usize::try_from(dice.below(options.len() as u64)).unwrap_or(0);
    options[index.min(options.len() - 1)].clone()
}

/// A small pseudo-random sequence (xorshift); the demo needs variety, not
/// unpredictability.
struct Dice(u64);

impl Dice {
    fn new() -> Dice {
        let seed = cairn_engine::accounts::random_token()
            .bytes()
            .fold(0x9e37_79b9_7f4a_7c15_u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
            });
        Dice(seed | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number in `0..n` (`n` > 0).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Picks the next change: some open work in a selection, or, once all is
/// done, a new issue with tasks in the checkout milestone.
fn pick(world: &World, dice: &mut Dice) -> Change {
    let mut options = candidates(world);
    if options.is_empty() {
        return Change::File {
            project: CHECKOUT_Q1.project.to_owned(),
            milestone: CHECKOUT_Q1.milestone.unwrap_or("Q1 2026").to_owned(),
        };
    }
    let index = usize::try_from(dice.below(options.len() as u64)).unwrap_or(0);
    options.swap_remove(index.min(options.len() - 1))
}

/// What the change loop needs once the demo is seeded and serving.
struct Started {
    shutdown: CancellationToken,
    state: AppState,
    sync_pair: i64,
}

/// Waits (at most 30 s) until the sync pair's first scan has run and
/// every item it found is carried, so the simulator's changes start from
/// a settled demo.
async fn first_sync_settled(state: &AppState, pair: i64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while tokio::time::Instant::now() < deadline {
        // Both sides scanned (the runs list would do, but each carried
        // item adds a run and pushes the scans' out of its first page).
        let scanned = state.store.get_sync_pair(pair).await.is_ok_and(|p| {
            p.is_some_and(|p| p.left_scanned_to.is_some() && p.right_scanned_to.is_some())
        });
        let pending = state
            .store
            .sync_item_counts(pair)
            .await
            .map_or(1, |c| c.pending);
        if scanned && pending == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tracing::warn!(pair, "the demo's first sync did not settle within 30 s");
}

/// After seeding and the first sync, every `every` on average (between
/// 2/3 and 4/3 of it), makes one change in the simulator, until `stop` or
/// the server's shutdown. `every` of zero makes none.
async fn change_now_and_then(
    sim: Arc<SimHandle>,
    every: Duration,
    seeded: tokio::sync::oneshot::Receiver<Started>,
    stop: CancellationToken,
) {
    let started = tokio::select! {
        _ = stop.cancelled() => return,
        seeded = seeded => match seeded {
            Ok(started) => started,
            Err(_) => return,
        },
    };
    let shutdown = started.shutdown;
    if every.is_zero() {
        return;
    }
    tokio::select! {
        _ = stop.cancelled() => return,
        _ = shutdown.cancelled() => return,
        _ = first_sync_settled(&started.state, started.sync_pair) => {}
    }
    let client = reqwest::Client::new();
    let control = format!("{}/_sim/gitlab", sim.gitlab_url());
    let jira_control = format!("{}/_sim/jira", sim.gitlab_url());
    let mut bugs = 0u32;
    let mut pushes = 0u32;
    let mut dice = Dice::new();
    let mut filed = 0u32;
    let base = u64::try_from(every.as_millis()).unwrap_or(u64::MAX / 2);
    loop {
        let wait = base * 2 / 3 + dice.below(base * 2 / 3 + 1);
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_millis(wait)) => {}
        }
        let change = sim.with_world(|world| pick(world, &mut dice));
        let (path, body) = match &change {
            Change::CompleteTask { project, iid } => (
                "tasks/complete",
                serde_json::json!({"project": project, "iid": iid}),
            ),
            Change::Close { project, iid } => (
                "issues/close",
                serde_json::json!({"project": project, "iid": iid}),
            ),
            Change::File { project, milestone } => {
                filed += 1;
                (
                    "issues",
                    serde_json::json!({
                        "project": project,
                        "milestone": milestone,
                        "title": format!("Follow-up from checkout review #{filed}"),
                        "labels": ["feature"],
                        "tasks": ["Agree on scope", "Implement"],
                    }),
                )
            }
        };
        match client
            .post(format!("{control}/{path}"))
            .json(&body)
            .send()
            .await
        {
            Ok(response) if response.status().is_success() => {
                tracing::info!(change = %change, "the simulator changed an issue");
            }
            Ok(response) => {
                tracing::warn!(change = %change, status = %response.status(), "the simulator refused a change");
            }
            Err(error) => {
                tracing::warn!(change = %change, error = %error, "cannot reach the simulator");
            }
        }
        // Work for "My work": the connected person pushes a commit.
        pushes += 1;
        let push = serde_json::json!({
            "project": SYNC_GITLAB_PROJECT,
            "as": TIME_GITLAB_USER,
            "branch": "feature/OPS-3-replication-lag",
            "messages": [format!("OPS-3 tune the replication lag alert (step {pushes})")],
        });
        match client
            .post(format!("{control}/push"))
            .json(&push)
            .send()
            .await
        {
            Ok(response) if response.status().is_success() => {
                tracing::info!(pushes, "the simulator pushed a commit");
            }
            Ok(response) => {
                tracing::warn!(status = %response.status(), "the simulator refused a push");
            }
            Err(error) => {
                tracing::warn!(error = %error, "cannot reach the simulator");
            }
        }
        let change = sim.with_world(|world| pick_jira(world, &mut dice));
        let (path, body) = match &change {
            JiraChange::Advance { key, to } => (
                "transition",
                serde_json::json!({"key": key, "status": to, "as": "bokafor"}),
            ),
            JiraChange::FileBug => {
                bugs += 1;
                (
                    "issues",
                    serde_json::json!({
                        "project": "OPS",
                        "summary": format!("Alert noise after deploy #{bugs}"),
                        "issue_type": "Bug",
                        "as": "amartin",
                    }),
                )
            }
        };
        match client
            .post(format!("{jira_control}/{path}"))
            .json(&body)
            .send()
            .await
        {
            Ok(response) if response.status().is_success() => {
                tracing::info!(change = %change, "the simulator changed a Jira ticket");
            }
            Ok(response) => {
                tracing::warn!(change = %change, status = %response.status(), "the simulator refused a Jira change");
            }
            Err(error) => {
                tracing::warn!(change = %change, error = %error, "cannot reach the simulator");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    #[test]
    fn the_period_is_the_quarter_of_today() {
        assert_eq!(
            quarter_of(day(2026, 11, 22)),
            Some(("Q4 2026".to_owned(), day(2026, 10, 1), day(2026, 12, 31)))
        );
        assert_eq!(
            quarter_of(day(2026, 1, 1)),
            Some(("Q1 2026".to_owned(), day(2026, 1, 1), day(2026, 3, 31)))
        );
        assert_eq!(
            quarter_of(day(2024, 6, 30)),
            Some(("Q2 2024".to_owned(), day(2024, 4, 1), day(2024, 6, 30)))
        );
    }

    #[test]
    fn changes_only_touch_open_issues_of_the_selections() {
        let world = cairn_sim::DataSource::Sample.load().expect("sample");
        let changes = candidates(&world);
        assert!(!changes.is_empty());
        for change in &changes {
            let (project, iid) = match change {
                Change::CompleteTask { project, iid } | Change::Close { project, iid } => {
                    (project, *iid)
                }
                Change::File { .. } => panic!("nothing to file while work is open"),
            };
            assert!(project == "northwind/checkout" || project == "northwind/mobile-app");
            let open = world.gitlab.projects.iter().any(|p| {
                &p.path_with_namespace == project
                    && p.issues.iter().any(|i| i.iid == iid && i.state == "opened")
            });
            assert!(open, "{change:?}");
        }
    }

    #[test]
    fn a_data_dir_with_other_files_is_refused_and_a_demo_one_is_emptied() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("notes.txt"), "mine").expect("write");
        let err = prepare_data_dir(dir.path()).expect_err("not a demo directory");
        assert!(err.to_string().contains("--data-dir"), "{err}");
        assert!(dir.path().join("notes.txt").exists());

        let demo = dir.path().join("demo");
        prepare_data_dir(&demo).expect("created");
        std::fs::write(demo.join("cairn.db"), "old").expect("write");
        prepare_data_dir(&demo).expect("reused");
        assert!(!demo.join("cairn.db").exists());
        assert!(demo.join(MARKER).exists());
    }
}
