//! Cairn's typed GitLab and Jira clients and webhook payload types.
//!
//! Connectors know nothing of OKRs or of Cairn's store: they speak GitLab
//! REST v4 and Jira REST v2/v3, share one HTTP foundation ([`http`]) with
//! rate limits, retries and diagnosable errors ([`error`]), and parse the
//! webhooks both services send ([`webhook`]).
//!
//! Test a connection and show what to fix when it fails:
//!
//! ```no_run
//! use cairn_connect::{GitLabAuth, GitLabSettings, Secret, test_gitlab};
//! # async fn demo() {
//! let settings = GitLabSettings::new(
//!     "https://gitlab.example.com",
//!     GitLabAuth::PrivateToken(Secret::new("glpat-...")),
//! );
//! match test_gitlab(&settings).await {
//!     Ok(id) => println!("connected as {} to GitLab {}", id.username, id.version),
//!     Err(e) => {
//!         let d = e.diagnosis();
//!         println!("{}: {} {}", d.code, d.summary, d.hint);
//!     }
//! }
//! # }
//! ```
//!
//! List a project's issues page by page:
//!
//! ```no_run
//! use cairn_connect::gitlab::{GitLabClient, IssueFilter, IssueState, ProjectRef};
//! # async fn demo(settings: cairn_connect::GitLabSettings) -> Result<(), cairn_connect::ConnectError> {
//! let gitlab = GitLabClient::new(&settings)?;
//! let filter = IssueFilter {
//!     milestone: Some("Q1 2026".into()),
//!     labels: vec!["payments".into()],
//!     state: Some(IssueState::All),
//!     ..Default::default()
//! };
//! let mut pages = gitlab.issues(&ProjectRef::from("group/project"), &filter);
//! while let Some(issues) = pages.next_page().await? {
//!     for issue in issues {
//!         let tasks = issue.task_completion_status.unwrap_or_default();
//!         println!("#{} {} {}/{}", issue.iid, issue.state, tasks.completed_count, tasks.count);
//!     }
//! }
//! println!("{} API calls", gitlab.api_calls());
//! # Ok(()) }
//! ```
//!
//! Search Jira with JQL (Cloud or Data Center, detected from `serverInfo`):
//!
//! ```no_run
//! use cairn_connect::jira::{JiraAuth, JiraClient, JiraSettings, METRIC_FIELDS, story_points_field};
//! use cairn_connect::Secret;
//! # async fn demo() -> Result<(), cairn_connect::ConnectError> {
//! let jira = JiraClient::new(&JiraSettings::new(
//!     "https://example.atlassian.net",
//!     JiraAuth::CloudBasic { email: "me@example.com".into(), api_token: Secret::new("ATATT...") },
//! ))?;
//! let fields = jira.fields().await?;
//! let points = story_points_field(&fields).map(|f| f.id.clone());
//! let mut wanted: Vec<&str> = METRIC_FIELDS.to_vec();
//! if let Some(id) = &points {
//!     wanted.push(id);
//! }
//! let mut search = jira.search("project = OPS AND fixVersion = 2026.1", &wanted);
//! while let Some(page) = search.next_page().await? {
//!     for issue in page.issues {
//!         let sp = points.as_deref().and_then(|id| issue.fields.custom_numbers.get(id));
//!         println!("{} done={} points={sp:?}", issue.key, issue.is_done());
//!     }
//! }
//! # Ok(()) }
//! ```

pub mod base_url;
mod de;
pub mod error;
pub mod gitlab;
pub mod http;
pub mod jira;
pub mod outbound;
pub mod webhook;

pub use base_url::validate_base_url;
pub use cairn_core::secret::Secret;
pub use error::{ConnectError, Diagnosis, DiagnosisCode, Service, TransportKind};
pub use gitlab::{GitLabAuth, GitLabClient, GitLabIdentity, GitLabSettings, test_gitlab};
pub use http::{ApiResponse, HttpClient, HttpConfig, parse_time};
pub use jira::{JiraAuth, JiraClient, JiraDeployment, JiraIdentity, JiraSettings, test_jira};
pub use outbound::{
    DeliveryFailure, DeliveryOutcome, DestinationPolicy, Outbound, OutboundConfig, OutboundError,
    OutboundRequest,
};
pub use webhook::{
    GitLabWebhook, JiraWebhook, WebhookError, parse_gitlab_webhook, parse_jira_webhook,
};
