//! Cairn's typed GitLab and Jira clients and webhook payload types.
//!
//! Connectors know nothing of OKRs or of Cairn's store: they speak GitLab
//! REST v4 and Jira REST v2/v3, share one HTTP foundation ([`http`]) with
//! rate limits, retries and diagnosable errors ([`error`]), and parse the
//! webhooks both services send ([`webhook`]).

pub mod base_url;
mod de;
pub mod error;
pub mod gitlab;
pub mod http;
pub mod jira;
pub mod webhook;

pub use base_url::validate_base_url;
pub use cairn_core::secret::Secret;
pub use error::{ConnectError, Diagnosis, DiagnosisCode, Service, TransportKind};
pub use gitlab::{GitLabAuth, GitLabClient, GitLabIdentity, GitLabSettings, test_gitlab};
pub use http::{ApiResponse, HttpClient, HttpConfig, parse_time};
pub use jira::{JiraAuth, JiraClient, JiraDeployment, JiraIdentity, JiraSettings, test_jira};
