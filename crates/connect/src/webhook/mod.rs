//! Webhook payload types of GitLab and Jira, and their parsers. Verifying a
//! delivery (tokens, signatures) belongs to the receiver; these types only
//! turn a body into typed data.

pub mod gitlab;
pub mod jira;

pub use gitlab::{GitLabWebhook, parse_gitlab_webhook};
pub use jira::{JiraEventKind, JiraWebhook, parse_jira_webhook};

/// Why a webhook body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// The body is not JSON at all.
    #[error("webhook body is not JSON: {0}")]
    NotJson(String),
    /// A field that identifies the event is missing.
    #[error("webhook payload has no `{0}`")]
    Missing(&'static str),
    /// The payload's shape does not match its kind.
    #[error("`{kind}` webhook payload does not parse: {detail}")]
    Shape {
        /// The event kind.
        kind: String,
        /// The parser's message.
        detail: String,
    },
}
