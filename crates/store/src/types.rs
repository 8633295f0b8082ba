use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use cairn_core::jobs::JobState;

/// A job to be enqueued.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    /// Which handler runs it.
    pub kind: String,
    pub payload: serde_json::Value,
    pub run_after: DateTime<Utc>,
    pub max_attempts: u32,
    /// While a queued job with this key exists, enqueueing another is a no-op.
    pub dedupe_key: Option<String>,
    /// The integration the job works for: it waits while that is disabled.
    pub integration: Option<IntegrationKind>,
}

impl NewJob {
    /// A job due now with the default number of attempts.
    pub fn new(kind: impl Into<String>, payload: serde_json::Value, now: DateTime<Utc>) -> Self {
        NewJob {
            kind: kind.into(),
            payload,
            run_after: now,
            max_attempts: cairn_core::jobs::RetryPolicy::default().max_attempts,
            dedupe_key: None,
            integration: None,
        }
    }

    pub fn for_integration(mut self, kind: IntegrationKind) -> Self {
        self.integration = Some(kind);
        self
    }

    pub fn with_dedupe_key(mut self, key: impl Into<String>) -> Self {
        self.dedupe_key = Some(key.into());
        self
    }

    pub fn with_max_attempts(mut self, max_attempts: u32) -> Self {
        self.max_attempts = max_attempts;
        self
    }

    pub fn run_after(mut self, at: DateTime<Utc>) -> Self {
        self.run_after = at;
        self
    }
}

/// A stored job.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    pub payload: serde_json::Value,
    pub state: JobState,
    /// Attempts started so far, the one running included.
    pub attempts: u32,
    pub max_attempts: u32,
    pub run_after: DateTime<Utc>,
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub dedupe_key: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub integration: Option<IntegrationKind>,
}

/// How many jobs are in each state; states with none are present as 0.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct JobCounts(pub BTreeMap<&'static str, u64>);

impl JobCounts {
    pub(crate) fn from_rows(rows: impl IntoIterator<Item = (String, i64)>) -> Self {
        let mut counts: BTreeMap<&'static str, u64> =
            JobState::ALL.iter().map(|s| (s.as_str(), 0)).collect();
        for (state, n) in rows {
            if let Some(state) = JobState::parse(&state) {
                counts.insert(state.as_str(), n.max(0) as u64);
            }
        }
        JobCounts(counts)
    }

    pub fn get(&self, state: JobState) -> u64 {
        self.0.get(state.as_str()).copied().unwrap_or(0)
    }
}

/// An audit record to append.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAuditEntry {
    /// Who: a user's email, `cli`, or `system`.
    pub actor: String,
    /// What, as `noun.verb`: `job.retried`, `connection.created`.
    pub action: String,
    /// Which thing: `job:17`.
    pub subject: String,
    /// Details that never contain secrets.
    pub detail: serde_json::Value,
}

/// A stored audit record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub detail: serde_json::Value,
}

pub use cairn_core::authz::Role;
pub use cairn_core::integrations::IntegrationKind;

/// A person who signs in.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: Role,
    /// argon2id PHC string; never leaves the server.
    pub password_hash: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub disabled_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewUser {
    pub email: String,
    pub name: String,
    pub role: Role,
    pub password_hash: String,
}

/// Changes to a user; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserUpdate {
    pub name: Option<String>,
    pub role: Option<Role>,
    pub password_hash: Option<String>,
    /// `Some(true)` disables (and ends every session), `Some(false)` enables.
    pub disabled: Option<bool>,
}

/// A UI sign-in.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    /// SHA-256 of the cookie value.
    pub id: String,
    pub user_id: i64,
    pub csrf_token: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
}

/// A personal API token, without its value (only its hash is stored).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApiToken {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    /// The first characters of the token, to recognise it in a list.
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// An integration in the catalog, with a summary of its connections.
#[derive(Debug, Clone, PartialEq)]
pub struct Integration {
    pub kind: IntegrationKind,
    pub enabled: bool,
    pub updated_at: DateTime<Utc>,
    pub connections: u64,
    /// Connections whose last check succeeded and has not failed since.
    pub healthy: u64,
    /// Connections whose last check failed.
    pub failing: u64,
}

/// A secret sealed under a master key.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedSecret {
    pub key_id: String,
    /// Nonce followed by ciphertext and tag.
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for SealedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SealedSecret(key {}, {} bytes)",
            self.key_id,
            self.bytes.len()
        )
    }
}

/// A named connection to a GitLab or Jira.
#[derive(Debug, Clone, PartialEq)]
pub struct Connection {
    pub id: i64,
    pub kind: IntegrationKind,
    pub name: String,
    pub base_url: String,
    /// How the secret is presented: `private_token`, `oauth`, `basic`, `bearer`.
    pub auth_kind: String,
    /// Jira Cloud's account email for basic auth; not secret.
    pub username: Option<String>,
    pub secret: SealedSecret,
    pub owner_id: i64,
    pub shared: bool,
    /// Jira: `cloud` or `datacenter`, from serverInfo.
    pub flavour: Option<String>,
    pub account_name: Option<String>,
    pub server_version: Option<String>,
    pub last_ok_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub last_error_code: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
    /// Jira: the story points field chosen by a person, overriding detection.
    pub story_points_field: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewConnection {
    pub kind: IntegrationKind,
    pub name: String,
    pub base_url: String,
    pub auth_kind: String,
    pub username: Option<String>,
    pub secret: SealedSecret,
    pub owner_id: i64,
    pub shared: bool,
}

/// Changes to a connection; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConnectionUpdate {
    pub name: Option<String>,
    pub base_url: Option<String>,
    pub auth_kind: Option<String>,
    pub username: Option<Option<String>>,
    pub secret: Option<SealedSecret>,
    pub shared: Option<bool>,
    /// `Some(None)` returns to detection.
    pub story_points_field: Option<Option<String>>,
}

/// The outcome of testing a connection.
#[derive(Debug, Clone, PartialEq)]
pub enum HealthCheck {
    Ok {
        account_name: String,
        server_version: String,
        flavour: Option<String>,
    },
    Failed {
        code: String,
        message: String,
    },
}
