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
        }
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
