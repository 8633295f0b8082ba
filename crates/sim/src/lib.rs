//! GitLab and Jira simulator.
//!
//! Cairn has no GitLab or Jira to talk to in tests, benchmarks or `cairn
//! demo`, so this crate serves the parts of their REST APIs that Cairn uses
//! (same paths, JSON shapes, pagination headers, auth and rate-limit errors),
//! sends real webhooks when its data changes, and lets tests inject faults.
//!
//! ```no_run
//! # async fn demo() -> Result<(), cairn_sim::SimError> {
//! let sim = cairn_sim::start(cairn_sim::SimConfig::default()).await?;
//! println!("GitLab at {}, Jira at {}", sim.gitlab_url(), sim.jira_url());
//! sim.shutdown().await;
//! # Ok(()) }
//! ```

#![recursion_limit = "256"]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use tokio::sync::watch;
use tokio::task::JoinHandle;

pub mod control;
mod faults;
pub mod gitlab;
pub mod hooks;
pub mod jira;
pub mod jql;
pub mod model;
mod req;
pub mod seed;
pub mod util;

pub use faults::{FaultKind, FaultSpec, RequestRecord, Service};
pub use hooks::DeliveryRecord;
pub use model::World;
pub use seed::{
    DEFAULT_GITLAB_TOKEN, DEFAULT_JIRA_API_TOKEN, DEFAULT_JIRA_EMAIL, DEFAULT_JIRA_PAT, Dataset,
    GenSpec, SAMPLE_DATASET,
};

/// Errors of the simulator's library API.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// A generator spec string could not be parsed.
    #[error("invalid generator spec: {0}")]
    Spec(String),
    /// A dataset refers to something that does not exist.
    #[error("invalid dataset: {0}")]
    Dataset(String),
    /// A dataset file could not be read.
    #[error("cannot read dataset {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A dataset file is not valid JSON for the dataset format.
    #[error("cannot parse dataset: {0}")]
    Parse(#[from] serde_json::Error),
    /// A listener could not be bound.
    #[error("cannot bind {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// A fault spec could not be parsed.
    #[error("invalid fault: {0}")]
    Fault(String),
}

/// Which Jira the simulator pretends to be: the APIs and auth differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum JiraFlavour {
    /// Jira Cloud: `/rest/api/3/search/jql`, basic auth with API tokens.
    #[default]
    Cloud,
    /// Jira Data Center: `/rest/api/2/search`, bearer personal access tokens.
    #[value(alias = "dc", alias = "server")]
    Datacenter,
}

/// Where the initial data comes from.
#[derive(Debug, Clone, Default)]
pub enum DataSource {
    /// The built-in sample dataset ([`SAMPLE_DATASET`]).
    #[default]
    Sample,
    /// The deterministic generator.
    Generate(GenSpec),
    /// A dataset JSON file.
    File(PathBuf),
    /// A dataset given in memory.
    Dataset(Box<Dataset>),
}

impl DataSource {
    /// Loads and builds the world.
    pub fn load(&self) -> Result<World, SimError> {
        let ds = match self {
            DataSource::Sample => serde_json::from_str(SAMPLE_DATASET)?,
            DataSource::Generate(spec) => seed::generate(spec),
            DataSource::File(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| SimError::Read {
                    path: path.clone(),
                    source,
                })?;
                serde_json::from_str(&text)?
            }
            DataSource::Dataset(ds) => (**ds).clone(),
        };
        seed::build(&ds)
    }
}

/// Everything needed to start a simulator; independent of any CLI parser.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// GitLab listener (port 0 picks a free port).
    pub gitlab_addr: SocketAddr,
    /// Jira listener (port 0 picks a free port).
    pub jira_addr: SocketAddr,
    /// Initial data.
    pub data: DataSource,
    /// Cloud or Data Center.
    pub jira_flavour: JiraFlavour,
    /// Faults active from the start.
    pub faults: Vec<FaultSpec>,
}

impl Default for SimConfig {
    fn default() -> Self {
        let local = SocketAddr::from(([127, 0, 0, 1], 0));
        SimConfig {
            gitlab_addr: local,
            jira_addr: local,
            data: DataSource::Sample,
            jira_flavour: JiraFlavour::Cloud,
            faults: Vec::new(),
        }
    }
}

/// Command-line options of `cairn sim` (and the simulator part of `cairn demo`).
#[derive(Debug, Clone, clap::Args)]
pub struct SimArgs {
    /// Address of the simulated GitLab.
    #[arg(long, default_value = "127.0.0.1:8081")]
    pub gitlab_addr: SocketAddr,
    /// Address of the simulated Jira.
    #[arg(long, default_value = "127.0.0.1:8082")]
    pub jira_addr: SocketAddr,
    /// Dataset JSON file (default: the built-in sample).
    #[arg(long, conflicts_with = "generate")]
    pub dataset: Option<PathBuf>,
    /// Generate data, e.g. `projects=3,issues=10000,users=20,jira_projects=2,jira_issues=5000,seed=42`.
    #[arg(long)]
    pub generate: Option<String>,
    /// Jira flavour.
    #[arg(long, value_enum, default_value_t = JiraFlavour::Cloud)]
    pub jira_flavour: JiraFlavour,
    /// Fault active from the start, `service:kind[:count]`, e.g. `gitlab:rate_limit:3`.
    #[arg(long = "fault")]
    pub faults: Vec<String>,
}

impl TryFrom<SimArgs> for SimConfig {
    type Error = SimError;

    fn try_from(a: SimArgs) -> Result<Self, Self::Error> {
        let data = match (a.dataset, a.generate) {
            (Some(p), _) => DataSource::File(p),
            (None, Some(spec)) => DataSource::Generate(spec.parse()?),
            (None, None) => DataSource::Sample,
        };
        let faults = a
            .faults
            .iter()
            .map(|f| f.parse())
            .collect::<Result<Vec<FaultSpec>, _>>()?;
        Ok(SimConfig {
            gitlab_addr: a.gitlab_addr,
            jira_addr: a.jira_addr,
            data,
            jira_flavour: a.jira_flavour,
            faults,
        })
    }
}

/// State shared by all handlers.
pub(crate) struct Shared {
    pub world: RwLock<World>,
    pub faults: Mutex<faults::Faults>,
    pub log: Mutex<Vec<RequestRecord>>,
    pub hooks: hooks::Outbox,
    pub flavour: JiraFlavour,
    pub gitlab_url: OnceLock<String>,
    pub jira_url: OnceLock<String>,
    pub shutdown: watch::Receiver<bool>,
}

impl Shared {
    pub(crate) fn gitlab_base(&self) -> &str {
        self.gitlab_url.get().map(String::as_str).unwrap_or("")
    }
    pub(crate) fn jira_base(&self) -> &str {
        self.jira_url.get().map(String::as_str).unwrap_or("")
    }
    /// Reads the world; a poisoned lock (a panicked writer) still yields data.
    pub(crate) fn read(&self) -> std::sync::RwLockReadGuard<'_, World> {
        self.world.read().unwrap_or_else(|e| e.into_inner())
    }
    /// Writes the world.
    pub(crate) fn write(&self) -> std::sync::RwLockWriteGuard<'_, World> {
        self.world.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// A running simulator.
pub struct SimHandle {
    shared: Arc<Shared>,
    gitlab_addr: SocketAddr,
    jira_addr: SocketAddr,
    shutdown_tx: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for SimHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimHandle")
            .field("gitlab", &self.gitlab_addr)
            .field("jira", &self.jira_addr)
            .finish()
    }
}

/// Builds the world, binds both listeners and serves until [`SimHandle::shutdown`].
pub async fn start(config: SimConfig) -> Result<SimHandle, SimError> {
    let world = config.data.load()?;
    let mut faults = faults::Faults::default();
    for f in &config.faults {
        faults.apply(f);
    }
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let (outbox, worker) = hooks::Outbox::new(shutdown_rx.clone());
    let shared = Arc::new(Shared {
        world: RwLock::new(world),
        faults: Mutex::new(faults),
        log: Mutex::new(Vec::new()),
        hooks: outbox,
        flavour: config.jira_flavour,
        gitlab_url: OnceLock::new(),
        jira_url: OnceLock::new(),
        shutdown: shutdown_rx.clone(),
    });
    // Revocations given at start apply to the loaded world.
    faults::apply_token_revocations(&shared, &config.faults);

    let gl_listener = tokio::net::TcpListener::bind(config.gitlab_addr)
        .await
        .map_err(|source| SimError::Bind {
            addr: config.gitlab_addr,
            source,
        })?;
    let jira_listener = tokio::net::TcpListener::bind(config.jira_addr)
        .await
        .map_err(|source| SimError::Bind {
            addr: config.jira_addr,
            source,
        })?;
    let gitlab_addr = gl_listener.local_addr().map_err(|source| SimError::Bind {
        addr: config.gitlab_addr,
        source,
    })?;
    let jira_addr = jira_listener
        .local_addr()
        .map_err(|source| SimError::Bind {
            addr: config.jira_addr,
            source,
        })?;
    let _ = shared.gitlab_url.set(format!("http://{gitlab_addr}"));
    let _ = shared.jira_url.set(format!("http://{jira_addr}"));

    let gl_app = gitlab::router(shared.clone()).merge(control::router(shared.clone()));
    let jira_app = jira::router(shared.clone()).merge(control::router(shared.clone()));
    let mut tasks = vec![worker];
    for (listener, app) in [(gl_listener, gl_app), (jira_listener, jira_app)] {
        let mut rx = shutdown_rx.clone();
        tasks.push(tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
                let _ = rx.wait_for(|v| *v).await;
            });
            if let Err(e) = serve.await {
                tracing::warn!(error = %e, "simulator listener stopped");
            }
        }));
    }
    tracing::info!(gitlab = %gitlab_addr, jira = %jira_addr, "simulator started");
    Ok(SimHandle {
        shared,
        gitlab_addr,
        jira_addr,
        shutdown_tx,
        tasks,
    })
}

impl SimHandle {
    /// Base URL of the simulated GitLab (the API is under `/api/v4`).
    pub fn gitlab_url(&self) -> String {
        format!("http://{}", self.gitlab_addr)
    }

    /// Base URL of the simulated Jira (the API is under `/rest/api/{2,3}`).
    pub fn jira_url(&self) -> String {
        format!("http://{}", self.jira_addr)
    }

    /// Address of the GitLab listener.
    pub fn gitlab_addr(&self) -> SocketAddr {
        self.gitlab_addr
    }

    /// Address of the Jira listener.
    pub fn jira_addr(&self) -> SocketAddr {
        self.jira_addr
    }

    /// The flavour of the simulated Jira.
    pub fn jira_flavour(&self) -> JiraFlavour {
        self.shared.flavour
    }

    /// Reads the in-memory state.
    pub fn with_world<R>(&self, f: impl FnOnce(&World) -> R) -> R {
        f(&self.shared.read())
    }

    /// Changes the in-memory state directly (no webhooks are sent).
    pub fn with_world_mut<R>(&self, f: impl FnOnce(&mut World) -> R) -> R {
        let mut w = self.shared.write();
        let r = f(&mut w);
        w.jira.reindex();
        r
    }

    /// Every API request served so far (control endpoints excluded).
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.shared
            .log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Forgets the request log.
    pub fn clear_requests(&self) {
        self.shared
            .log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// Webhook deliveries attempted so far.
    pub fn deliveries(&self) -> Vec<DeliveryRecord> {
        self.shared.hooks.records()
    }

    /// Activates a fault.
    pub fn inject(&self, fault: &FaultSpec) {
        self.shared
            .faults
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .apply(fault);
        faults::apply_token_revocations(&self.shared, std::slice::from_ref(fault));
    }

    /// Clears all faults.
    pub fn clear_faults(&self) {
        *self.shared.faults.lock().unwrap_or_else(|e| e.into_inner()) = faults::Faults::default();
    }

    /// Stops the listeners (hanging requests are released) and the webhook worker.
    pub async fn shutdown(self) {
        let _ = self.shutdown_tx.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}
