//! Webhooks in: GitLab and Jira tell Cairn what changed, so progress moves
//! within a second instead of at the next poll.
//!
//! Receiving ([`Hooks::ingest`]) is cheap and never waits for the work: it
//! verifies the sender (GitLab's `X-Gitlab-Token`, Jira's `X-Hub-Signature`,
//! both against the connection's hook secret, in constant time), reads the
//! body far enough to know what it is, and in one transaction stores the
//! raw delivery in the inbox and enqueues the job that applies it. A
//! redelivery (same `Idempotency-Key` / event UUID / webhook identifier) is
//! not stored again, so it is applied once.
//!
//! Applying goes through the same engine function as a poll
//! ([`Goals::apply_item_changes`]), so snapshots, membership, progress
//! points and explanations are the same whichever way a change arrives:
//!
//! - GitLab `Issue Hook` (issues, incidents, tasks): the hook is read as the
//!   REST API's issue ([`IssueHook::to_issue`]) and snapshotted by the poll's
//!   own [`gitlab_link::snapshot`]; membership is the link's own
//!   [`GitLabQuery::matches`], for every GitLab link of the connection that
//!   reads the hook's project. A delivery older than the stored snapshot is
//!   skipped.
//! - Jira `jira:issue_created|updated|deleted`: the keys are collected, and
//!   after a short debounce one job per connection runs one search per Jira
//!   link, `(filter part of its JQL) AND key in (...)`: keys returned are
//!   members with fresh snapshots, keys not returned (deleted, no longer
//!   matching, invisible) leave. Jira itself decides membership, with the
//!   link's own JQL.
//!
//! Polling stays the backstop for anything a hook missed.

pub mod setup;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cairn_connect::ConnectError;
use cairn_connect::gitlab::ProjectRef;
use cairn_connect::webhook::gitlab::IssueHook;
use cairn_connect::webhook::{
    GitLabWebhook, JiraEventKind, WebhookError, parse_gitlab_webhook, parse_jira_webhook,
    verify_gitlab_token, verify_jira_signature,
};
use cairn_core::authz::{Action, ConnectionFacts, ConnectionOp};
use cairn_core::integrations::IntegrationKind;
use cairn_core::secret::Secret;
use cairn_store::hooks::{Delivery, DeliveryState, HookTarget, NewDelivery};
use cairn_store::{Connection, LockKey, NewAuditEntry, NewJob, Store};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;

use crate::accounts::Authenticated;
use crate::batch::BatchWrite;
use crate::error::{EngineError, authorize};
use crate::goals::gitlab_link::{self, GitLabQuery};
use crate::goals::jira_link::{self, JiraQuery};
use crate::goals::{Goals, ItemChanges};
use crate::jobs::{JobError, JobHandler, JobSignal, Registry};
use crate::keyring::Keyring;

/// The job kind that applies one GitLab delivery.
pub const GITLAB_HOOK_KIND: &str = "hook_gitlab";
/// The job kind that applies a connection's pending Jira deliveries.
pub const JIRA_HOOK_KIND: &str = "hook_jira";

/// Most Jira deliveries one job applies; the rest go to the next job.
const JIRA_BATCH: u32 = 500;
/// Most keys in one `key in (...)` search.
const KEYS_PER_SEARCH: usize = 100;
/// Longest delivery id kept (longer ones are cut).
const MAX_DELIVERY_ID: usize = 200;

/// Tunables of webhook handling.
#[derive(Debug, Clone)]
pub struct HookSettings {
    /// How long Jira deliveries of a connection are collected before one
    /// search per link reads them.
    pub jira_debounce: Duration,
    /// How long applied, ignored and failed deliveries are kept.
    pub retention: Duration,
    /// How long a milestone's title is remembered.
    pub milestone_ttl: Duration,
}

impl Default for HookSettings {
    fn default() -> Self {
        HookSettings {
            jira_debounce: Duration::from_secs(2),
            retention: Duration::from_secs(7 * 24 * 3600),
            milestone_ttl: Duration::from_secs(600),
        }
    }
}

/// What a receiver read from the request besides the body.
#[derive(Debug, Clone, Copy, Default)]
pub struct HookHeaders<'a> {
    /// GitLab: `X-Gitlab-Token`.
    pub token: Option<&'a str>,
    /// Jira: `X-Hub-Signature`.
    pub signature: Option<&'a str>,
    /// GitLab: `X-Gitlab-Event`.
    pub event: Option<&'a str>,
    /// GitLab: `Idempotency-Key`, else `X-Gitlab-Event-UUID`; Jira:
    /// `X-Atlassian-Webhook-Identifier`.
    pub delivery_id: Option<&'a str>,
}

/// What became of a received delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Ingested {
    /// Stored; its job will apply it.
    Accepted { delivery: i64 },
    /// Seen before (same delivery id); not stored again.
    Duplicate,
    /// Stored, but nothing Cairn acts on.
    Ignored { delivery: i64, reason: String },
    /// Stored; valid JSON without the shape of its event.
    Unreadable { delivery: i64, reason: String },
    /// The connection's integration is disabled: dropped, not stored.
    Dropped,
}

impl Ingested {
    fn outcome(&self) -> &'static str {
        match self {
            Ingested::Accepted { .. } => "accepted",
            Ingested::Duplicate => "duplicate",
            Ingested::Ignored { .. } => "ignored",
            Ingested::Unreadable { .. } => "unreadable",
            Ingested::Dropped => "dropped",
        }
    }
}

/// Why a delivery was refused; nothing is stored.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    /// No such connection, or one of the other tracker (404).
    #[error("no {0} connection with this id")]
    UnknownConnection(&'static str),
    /// Token or signature missing or wrong (401).
    #[error("{0}")]
    Unauthorized(&'static str),
    /// The body is not JSON (400).
    #[error("the body is not JSON: {0}")]
    Malformed(String),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl From<cairn_store::StoreError> for HookError {
    fn from(error: cairn_store::StoreError) -> Self {
        HookError::Engine(error.into())
    }
}

impl HookError {
    fn outcome(&self) -> &'static str {
        match self {
            HookError::UnknownConnection(_) => "unknown_connection",
            HookError::Unauthorized(_) => "unauthorized",
            HookError::Malformed(_) => "malformed",
            HookError::Engine(_) => "error",
        }
    }
}

/// How to point a tracker's webhook at Cairn; extended later by automatic
/// registration.
#[derive(Debug, Clone, Serialize)]
pub struct HookSetup {
    pub connection_id: i64,
    /// `gitlab` or `jira`.
    pub tracker: IntegrationKind,
    /// Path on this Cairn to send deliveries to: `/hooks/gitlab/{id}`.
    pub url_path: String,
    /// What to subscribe: GitLab project hook triggers, Jira events.
    pub events: Vec<&'static str>,
    /// How the secret is presented.
    pub secret_usage: &'static str,
}

/// A freshly generated hook secret, shown once.
#[derive(Debug, Clone)]
pub struct IssuedSecret {
    pub setup: HookSetup,
    pub secret: Secret,
}

/// A connection's hook setup and health; never the secret.
#[derive(Debug, Clone, Serialize)]
pub struct HookStatus {
    #[serde(flatten)]
    pub setup: HookSetup,
    pub secret_set: bool,
    pub secret_set_at: Option<DateTime<Utc>>,
    pub last_delivery_at: Option<DateTime<Utc>>,
    /// Since midnight UTC.
    pub deliveries_today: u64,
    /// Failed to apply or unreadable, since midnight UTC.
    pub failures_today: u64,
}

/// The webhook use cases.
pub struct Hooks {
    store: Arc<dyn Store>,
    keyring: Arc<Keyring>,
    goals: Arc<Goals>,
    settings: HookSettings,
    signal: JobSignal,
    /// (connection, milestone id) -> (when read, title).
    milestones: Mutex<HashMap<(i64, u64), (Instant, String)>>,
    /// Two-way sync hears about the same issue events.
    sync: Option<Arc<crate::sync::SyncEngine>>,
    /// Time turns pushes, merge requests, comments and issue events of
    /// the organisation's activity source into activities.
    time: Option<Arc<crate::time::TimeEngine>>,
}

/// Stores a delivery and, if it needs one, its apply job (one write of a
/// batch, see [`crate::batch`]): its id (`None`: a duplicate) and whether
/// a job was enqueued.
struct StoreDelivery {
    delivery: NewDelivery,
    debounce: Duration,
    now: DateTime<Utc>,
}

#[async_trait::async_trait]
impl BatchWrite for StoreDelivery {
    type Output = (Option<i64>, bool);

    async fn write(
        &mut self,
        tx: &mut dyn cairn_store::StoreTx,
    ) -> Result<Self::Output, cairn_store::StoreError> {
        let Some(id) = tx.insert_delivery(&self.delivery, self.now).await? else {
            return Ok((None, false));
        };
        let Some(job) = apply_job(&self.delivery, id, self.debounce, self.now) else {
            return Ok((Some(id), false));
        };
        Ok((Some(id), tx.enqueue(&job, self.now).await?.is_some()))
    }
}

/// Marks deliveries applied, ignored or failed (one write of a batch).
struct FinishDeliveries {
    ids: Vec<i64>,
    state: DeliveryState,
    reason: Option<String>,
    now: DateTime<Utc>,
}

#[async_trait::async_trait]
impl BatchWrite for FinishDeliveries {
    type Output = u64;

    async fn write(
        &mut self,
        tx: &mut dyn cairn_store::StoreTx,
    ) -> Result<u64, cairn_store::StoreError> {
        tx.finish_deliveries(&self.ids, self.state, self.reason.as_deref(), self.now)
            .await
    }
}

/// The job that applies a stored delivery, if it needs one.
fn apply_job(
    delivery: &NewDelivery,
    id: i64,
    debounce: Duration,
    now: DateTime<Utc>,
) -> Option<NewJob> {
    if delivery.state != DeliveryState::Pending {
        return None;
    }
    let job = match delivery.tracker {
        IntegrationKind::Jira => NewJob::new(
            JIRA_HOOK_KIND,
            json!({"connection_id": delivery.connection_id}),
            now,
        )
        .run_after(now + chrono_duration(debounce))
        .with_dedupe_key(format!("hooks:jira:{}", delivery.connection_id)),
        _ => NewJob::new(GITLAB_HOOK_KIND, json!({"delivery_id": id}), now),
    };
    Some(job.for_integration(delivery.tracker).with_max_attempts(5))
}

fn setup(connection_id: i64, tracker: IntegrationKind) -> HookSetup {
    match tracker {
        IntegrationKind::Jira => HookSetup {
            connection_id,
            tracker,
            url_path: format!("/hooks/jira/{connection_id}"),
            // Comments for sync pairs, which carry them both ways.
            events: vec![
                "jira:issue_created",
                "jira:issue_updated",
                "jira:issue_deleted",
                "comment_created",
                "comment_updated",
                "comment_deleted",
            ],
            secret_usage: "the webhook's secret: Jira signs each delivery with it (X-Hub-Signature: sha256=...)",
        },
        _ => HookSetup {
            connection_id,
            tracker,
            url_path: format!("/hooks/gitlab/{connection_id}"),
            // Issues move progress; comments, merge requests and pushes are
            // kept for time tracking.
            events: vec![
                "issues_events",
                "confidential_issues_events",
                "note_events",
                "merge_requests_events",
                "push_events",
            ],
            secret_usage: "the hook's secret token: GitLab sends it as X-Gitlab-Token",
        },
    }
}

/// The event label of a metric: a known name or `other` (headers are the
/// sender's to choose; labels must stay few).
fn event_label(tracker: IntegrationKind, event: Option<&str>) -> &'static str {
    const GITLAB: &[&str] = &[
        "Issue Hook",
        "Confidential Issue Hook",
        "Work Item Hook",
        "Note Hook",
        "Confidential Note Hook",
        "Merge Request Hook",
        "Push Hook",
        "Tag Push Hook",
        "Pipeline Hook",
        "Job Hook",
        "Deployment Hook",
        "Release Hook",
        "Wiki Page Hook",
        "Emoji Hook",
        "Member Hook",
        "System Hook",
    ];
    const JIRA: &[&str] = &[
        "jira:issue_created",
        "jira:issue_updated",
        "jira:issue_deleted",
        "comment_created",
        "comment_updated",
        "comment_deleted",
        "worklog_created",
        "worklog_updated",
        "worklog_deleted",
        "jira:worklog_updated",
        "attachment_created",
        "attachment_deleted",
    ];
    let known = match tracker {
        IntegrationKind::Jira => JIRA,
        _ => GITLAB,
    };
    event
        .and_then(|e| known.iter().find(|k| k.eq_ignore_ascii_case(e.trim())))
        .copied()
        .unwrap_or("other")
}

fn count(tracker: IntegrationKind, event: &'static str, outcome: &'static str) {
    metrics::counter!("cairn_hooks_received_total", "tracker" => tracker.as_str(), "event" => event, "outcome" => outcome)
        .increment(1);
}

/// Whether a string looks like a Jira issue key (`AE-12`); anything else
/// never reaches a JQL query.
fn is_jira_key(key: &str) -> bool {
    let Some((project, number)) = key.rsplit_once('-') else {
        return false;
    };
    !project.is_empty()
        && project.len() <= 100
        && project.starts_with(|c: char| c.is_ascii_alphabetic())
        && project
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !number.is_empty()
        && number.len() <= 18
        && number.bytes().all(|b| b.is_ascii_digit())
}

/// Whether a link's GitLab query reads the hook's project.
fn reads_project(query: &GitLabQuery, path: Option<&str>, id: Option<u64>) -> bool {
    path.is_some_and(|p| query.project.eq_ignore_ascii_case(p))
        || id.is_some_and(|id| query.project == id.to_string())
}

fn action_words(action: Option<&str>) -> &str {
    match action {
        Some("open") => "opened",
        Some("close") => "closed",
        Some("reopen") => "reopened",
        Some("update") | None => "updated",
        Some(other) => other,
    }
}

impl Hooks {
    pub fn new(
        store: Arc<dyn Store>,
        keyring: Arc<Keyring>,
        goals: Arc<Goals>,
        settings: HookSettings,
    ) -> Self {
        Hooks {
            store,
            keyring,
            goals,
            settings,
            signal: JobSignal::default(),
            milestones: Mutex::new(HashMap::new()),
            sync: None,
            time: None,
        }
    }

    /// The keyring the hooks open secrets with.
    pub fn keyring(&self) -> Arc<Keyring> {
        self.keyring.clone()
    }

    pub fn settings(&self) -> &HookSettings {
        &self.settings
    }

    /// Issue events also reach two-way sync.
    pub fn with_sync(mut self, sync: Arc<crate::sync::SyncEngine>) -> Self {
        self.sync = Some(sync);
        self
    }

    /// Pushes, merge requests, comments and issue events of the activity
    /// source's connection also become people's activities.
    pub fn with_time(mut self, time: Arc<crate::time::TimeEngine>) -> Self {
        self.time = Some(time);
        self
    }

    /// Whether a connection's deliveries were verified when received: a
    /// connection with a hook secret accepts none that is not. Only a
    /// verified delivery's content is used as what the item now is.
    async fn verified(&self, connection_id: i64) -> Result<bool, ApplyError> {
        Ok(self.store.hook_secret(connection_id).await?.is_some())
    }

    /// Stores a delivery with its apply job, in a transaction shared with
    /// whatever else is being written (see [`crate::batch`]): a burst of
    /// webhooks costs one commit per batch, not one per delivery. `None`
    /// for a duplicate.
    async fn store_delivery(
        &self,
        delivery: NewDelivery,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>, HookError> {
        let (id, enqueued) = self
            .goals
            .batcher
            .write(StoreDelivery {
                delivery,
                debounce: self.settings.jira_debounce,
                now,
            })
            .await
            .map_err(EngineError::from)?;
        if enqueued {
            self.signal.notify();
        }
        Ok(id)
    }

    /// Wakes this process's job worker when a delivery is enqueued; give it
    /// to the worker.
    pub fn signal(&self) -> JobSignal {
        self.signal.clone()
    }

    /// Registers the apply jobs.
    pub fn register(self: &Arc<Self>, registry: &mut Registry) {
        registry.register(GITLAB_HOOK_KIND, GitLabHookHandler(self.clone()));
        registry.register(JIRA_HOOK_KIND, JiraHookHandler(self.clone()));
    }

    /// Receives one delivery for a connection: verify, classify, store it
    /// with its apply job in one transaction. Never waits for the apply.
    pub async fn ingest(
        &self,
        tracker: IntegrationKind,
        connection_id: i64,
        headers: HookHeaders<'_>,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Ingested, HookError> {
        let header_event = event_label(tracker, headers.event);
        let result = self
            .ingest_inner(tracker, connection_id, headers, body, now)
            .await;
        match &result {
            Ok((ingested, event)) => {
                if *ingested == Ingested::Dropped {
                    metrics::counter!("cairn_hooks_dropped_total", "tracker" => tracker.as_str(), "reason" => "integration_disabled")
                        .increment(1);
                }
                count(
                    tracker,
                    event_label(tracker, Some(event)),
                    ingested.outcome(),
                );
            }
            Err(error) => {
                count(tracker, header_event, error.outcome());
                match error {
                    HookError::Malformed(detail) => {
                        tracing::warn!(connection = connection_id, tracker = tracker.as_str(), error = %detail, "webhook body is not JSON; refused")
                    }
                    HookError::Unauthorized(why) => {
                        tracing::warn!(
                            connection = connection_id,
                            tracker = tracker.as_str(),
                            reason = why,
                            "webhook refused"
                        )
                    }
                    HookError::UnknownConnection(_) => {
                        tracing::debug!(
                            connection = connection_id,
                            tracker = tracker.as_str(),
                            "webhook for an unknown connection"
                        )
                    }
                    HookError::Engine(error) => {
                        tracing::error!(connection = connection_id, tracker = tracker.as_str(), error = %error, "storing a webhook failed")
                    }
                }
            }
        }
        result.map(|(ingested, _)| ingested)
    }

    async fn ingest_inner(
        &self,
        tracker: IntegrationKind,
        connection_id: i64,
        headers: HookHeaders<'_>,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<(Ingested, String), HookError> {
        let target = self
            .store
            .hook_target(connection_id)
            .await?
            .filter(|t| t.kind == tracker)
            .ok_or(HookError::UnknownConnection(tracker.as_str()))?;
        // Verified first: an unverified sender learns nothing, not even
        // that the integration is disabled.
        self.verify(&target, headers, body)?;
        if !target.enabled {
            return Ok((
                Ingested::Dropped,
                headers.event.unwrap_or_default().to_owned(),
            ));
        }
        let reads_activity = match (&self.time, tracker) {
            (Some(time), IntegrationKind::Gitlab) => time
                .reads_gitlab_activity(connection_id)
                .await
                .map_err(HookError::Engine)?,
            _ => false,
        };
        let classified = match tracker {
            IntegrationKind::Jira => classify_jira(body),
            _ => classify_gitlab(body, headers.event, reads_activity),
        }?;
        let body_text = String::from_utf8_lossy(body).into_owned();
        let delivery_id = headers
            .delivery_id
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(|d| d.chars().take(MAX_DELIVERY_ID).collect::<String>());
        let (state, error) = match &classified.verdict {
            Verdict::Apply => (DeliveryState::Pending, None),
            Verdict::Ignore(reason) => (DeliveryState::Ignored, Some(reason.clone())),
            Verdict::Unreadable(reason) => (DeliveryState::Unreadable, Some(reason.clone())),
        };
        let new = NewDelivery {
            connection_id,
            tracker,
            event: classified.event.clone(),
            delivery_id,
            body: body_text,
            state,
            error,
        };
        let Some(id) = self.store_delivery(new, now).await? else {
            return Ok((Ingested::Duplicate, classified.event));
        };
        let ingested = match classified.verdict {
            Verdict::Apply => Ingested::Accepted { delivery: id },
            Verdict::Ignore(reason) => Ingested::Ignored {
                delivery: id,
                reason,
            },
            Verdict::Unreadable(reason) => Ingested::Unreadable {
                delivery: id,
                reason,
            },
        };
        Ok((ingested, classified.event))
    }

    fn verify(
        &self,
        target: &HookTarget,
        headers: HookHeaders<'_>,
        body: &[u8],
    ) -> Result<(), HookError> {
        let secret = match &target.secret {
            Some(sealed) => Some(self.keyring.open(sealed).map_err(EngineError::from)?),
            None => None,
        };
        match (target.kind, secret) {
            (IntegrationKind::Jira, None) => Ok(()),
            (IntegrationKind::Jira, Some(secret)) => {
                if verify_jira_signature(headers.signature, body, &secret) {
                    Ok(())
                } else {
                    Err(HookError::Unauthorized(
                        "missing or wrong X-Hub-Signature for this connection's hook secret",
                    ))
                }
            }
            (_, None) => Err(HookError::Unauthorized(
                "this connection has no hook secret yet; generate one first",
            )),
            (_, Some(secret)) => {
                if verify_gitlab_token(headers.token, &secret) {
                    Ok(())
                } else {
                    Err(HookError::Unauthorized(
                        "missing or wrong X-Gitlab-Token for this connection",
                    ))
                }
            }
        }
    }

    /// Generates (or replaces) a connection's hook secret; returned once.
    /// Its owner or an admin only.
    pub async fn rotate_secret(
        &self,
        by: &Authenticated,
        connection_id: i64,
        now: DateTime<Utc>,
    ) -> Result<IssuedSecret, EngineError> {
        let connection = self
            .visible_connection(by, connection_id, ConnectionOp::Edit)
            .await?;
        let secret = Secret::new(URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>()));
        let sealed = self.keyring.seal(&secret);
        let replaced = self.store.hook_secret(connection.id).await?.is_some();
        let mut tx = self.store.begin().await?;
        tx.put_hook_secret(connection.id, &sealed, now).await?;
        tx.append_audit(
            &NewAuditEntry {
                actor: by.user.email.clone(),
                action: if replaced {
                    "connection.hook_secret_rotated"
                } else {
                    "connection.hook_secret_created"
                }
                .to_owned(),
                subject: format!("connection:{}", connection.id),
                detail: json!({}),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(IssuedSecret {
            setup: setup(connection.id, connection.kind),
            secret,
        })
    }

    /// A connection's hook setup and health (never the secret).
    pub async fn status(
        &self,
        by: &Authenticated,
        connection_id: i64,
        now: DateTime<Utc>,
    ) -> Result<HookStatus, EngineError> {
        let connection = self
            .visible_connection(by, connection_id, ConnectionOp::View)
            .await?;
        let secret = self.store.hook_secret(connection.id).await?;
        let midnight = now
            .date_naive()
            .and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc())
            .unwrap_or(now);
        let stats = self.store.hook_stats(connection.id, midnight).await?;
        Ok(HookStatus {
            setup: setup(connection.id, connection.kind),
            secret_set: secret.is_some(),
            secret_set_at: secret.map(|s| s.updated_at),
            last_delivery_at: stats.last_delivery_at,
            deliveries_today: stats.deliveries,
            failures_today: stats.failures,
        })
    }

    async fn visible_connection(
        &self,
        by: &Authenticated,
        id: i64,
        op: ConnectionOp,
    ) -> Result<Connection, EngineError> {
        let not_found = || EngineError::NotFound(format!("no connection {id}"));
        let connection = self.store.get_connection(id).await?.ok_or_else(not_found)?;
        let facts = ConnectionFacts {
            owner_id: connection.owner_id,
            shared: connection.shared,
        };
        authorize(Some(by.actor()), Action::Connection(op, facts)).map_err(|e| match e {
            EngineError::NotFound(_) => not_found(),
            other => other,
        })?;
        if !connection.kind.is_tracker() {
            return Err(EngineError::invalid(
                "id",
                "only GitLab and Jira connections receive webhooks",
            ));
        }
        Ok(connection)
    }

    /// Deletes finished deliveries older than the retention; returns how many.
    pub async fn prune(&self, now: DateTime<Utc>) -> Result<u64, EngineError> {
        Ok(self
            .store
            .prune_deliveries(now - chrono_duration(self.settings.retention))
            .await?)
    }

    async fn finish(
        &self,
        ids: &[i64],
        state: DeliveryState,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), EngineError> {
        self.goals
            .batcher
            .write(FinishDeliveries {
                ids: ids.to_vec(),
                state,
                reason: reason.map(str::to_owned),
                now,
            })
            .await?;
        Ok(())
    }

    /// Applies one GitLab delivery (see the module's documentation).
    pub async fn apply_gitlab(
        &self,
        delivery_id: i64,
        now: DateTime<Utc>,
    ) -> Result<DeliveryState, ApplyError> {
        let Some(delivery) = self.store.get_delivery(delivery_id).await? else {
            return Ok(DeliveryState::Ignored);
        };
        if delivery.state != DeliveryState::Pending {
            return Ok(delivery.state);
        }
        let (state, reason) = self.apply_gitlab_delivery(&delivery, now).await?;
        self.finish(&[delivery.id], state, reason.as_deref(), now)
            .await?;
        Ok(state)
    }

    async fn apply_gitlab_delivery(
        &self,
        delivery: &Delivery,
        now: DateTime<Utc>,
    ) -> Result<(DeliveryState, Option<String>), ApplyError> {
        // People's activity first: a push, merge request, comment or issue
        // event of the activity source (see `crate::time::ingest`).
        let activity = match &self.time {
            Some(time) => {
                time.ingest_gitlab(delivery.connection_id, delivery.body.as_bytes(), now)
                    .await?
            }
            None => None,
        };
        let hook = match parse_gitlab_webhook(delivery.body.as_bytes()) {
            Ok(GitLabWebhook::Issue(hook)) => hook,
            Ok(GitLabWebhook::Note(note)) => {
                let synced = self.apply_gitlab_note(delivery, &note, now).await?;
                return Ok(if synced > 0 || activity.is_some() {
                    (DeliveryState::Applied, None)
                } else {
                    (
                        DeliveryState::Ignored,
                        Some("no sync pair links the issue commented on".to_owned()),
                    )
                });
            }
            Ok(_) if activity.is_some() => return Ok((DeliveryState::Applied, None)),
            Ok(_) => {
                return Ok((
                    DeliveryState::Ignored,
                    Some("not an issue event".to_owned()),
                ));
            }
            Err(error) => return Ok((DeliveryState::Unreadable, Some(error.to_string()))),
        };
        // Accepted for people's activity, an epic or a group's work item is
        // still nothing data links read.
        let (state, reason) = match issue_verdict(&hook) {
            Verdict::Apply => self.apply_gitlab_issue(delivery, &hook, now).await?,
            Verdict::Ignore(reason) | Verdict::Unreadable(reason) => {
                (DeliveryState::Ignored, Some(reason))
            }
        };
        Ok(match (state, activity) {
            (DeliveryState::Ignored, Some(_)) => (DeliveryState::Applied, None),
            _ => (state, reason),
        })
    }

    /// A comment on an issue: the sync pairs linking the issue carry its
    /// comments (GitLab's own system notes and comments on anything else
    /// are nothing to sync).
    async fn apply_gitlab_note(
        &self,
        delivery: &Delivery,
        note: &cairn_connect::webhook::gitlab::NoteHook,
        now: DateTime<Utc>,
    ) -> Result<usize, ApplyError> {
        let attrs = &note.object_attributes;
        let (Some(sync), Some(issue)) = (&self.sync, &note.issue) else {
            return Ok(0);
        };
        if attrs.noteable_type != "Issue" || attrs.system == Some(true) {
            return Ok(0);
        }
        let project = note
            .project_id
            .or_else(|| note.project.as_ref().and_then(|p| p.id))
            .or(issue.project_id);
        let (Some(project), Some(iid)) = (project, issue.iid) else {
            return Ok(0);
        };
        Ok(sync
            .note_comment(
                delivery.connection_id,
                &project.to_string(),
                &iid.to_string(),
                &attrs.id.to_string(),
                now,
            )
            .await?)
    }

    async fn apply_gitlab_issue(
        &self,
        delivery: &Delivery,
        hook: &IssueHook,
        now: DateTime<Utc>,
    ) -> Result<(DeliveryState, Option<String>), ApplyError> {
        let Some(connection) = self.store.get_connection(delivery.connection_id).await? else {
            return Ok((
                DeliveryState::Ignored,
                Some("connection deleted".to_owned()),
            ));
        };
        let path = hook.project_path();
        let project_id = hook.project_id();
        let mut synced = 0;
        // Sync reads the milestone by id alone: no title is needed.
        if let (Some(sync), Some(issue)) = (&self.sync, hook.to_issue(Some(""))) {
            let verified = self.verified(connection.id).await?;
            synced = sync
                .note_gitlab_issue(connection.id, &issue, verified, now)
                .await?;
        }
        let mut links = Vec::new();
        for link in self.store.links_for_connection(connection.id).await? {
            if jira_link::link_tracker(&link) != IntegrationKind::Gitlab {
                continue;
            }
            let Ok(query) = serde_json::from_value::<GitLabQuery>(link.query.clone()) else {
                continue;
            };
            if reads_project(&query, path, project_id) {
                links.push((link, query));
            }
        }
        if links.is_empty() && synced > 0 {
            return Ok((DeliveryState::Applied, None));
        }
        if links.is_empty() {
            return Ok((
                DeliveryState::Ignored,
                Some(format!(
                    "no data link or sync pair reads project {}",
                    path.unwrap_or("(none)")
                )),
            ));
        }
        let attrs = &hook.object_attributes;
        // The hook names the milestone by id; links select by title.
        let milestone_title = match (
            attrs.milestone_id,
            project_id,
            links.iter().any(|(_, q)| q.milestone.is_some()),
        ) {
            (Some(milestone), Some(project), true) => {
                self.milestone_title(&connection, project, milestone)
                    .await?
            }
            _ => None,
        };
        let Some(issue) = hook.to_issue(milestone_title.as_deref()) else {
            return Ok((DeliveryState::Ignored, Some("no project".to_owned())));
        };
        let mut applied = 0;
        let mut stale = 0;
        // Item key -> the links whose selection holds it, read when needed.
        let mut holding: HashMap<String, Vec<i64>> = HashMap::new();
        for (link, query) in &links {
            if query.milestone.is_some()
                && attrs.milestone_id.is_some()
                && issue.milestone.is_none()
            {
                // A milestone we cannot name (a group's, say): let the poll decide.
                self.goals.enqueue_refresh(link, now).await?;
                continue;
            }
            let item = gitlab_link::snapshot(&query.project, &issue);
            let member = query.matches(&issue);
            if !member {
                // Neither selected now nor before: nothing of this link
                // changes (many links of one project, each with its own
                // issues, would otherwise each be written and recomputed).
                if !holding.contains_key(&item.key) {
                    let ids = self.store.links_with_item(connection.id, &item.key).await?;
                    holding.insert(item.key.clone(), ids);
                }
                if !holding
                    .get(&item.key)
                    .is_some_and(|ids| ids.contains(&link.id))
                {
                    continue;
                }
            }
            let note = format!(
                "webhook: {} {}",
                item.key,
                action_words(attrs.action.as_deref())
            );
            let changes = ItemChanges {
                members: vec![member],
                items: vec![item],
                exact: false,
                left: Vec::new(),
                only_newer: true,
            };
            let outcome = {
                // Changes to one link are applied one at a time in every
                // instance, each timed when it starts, so its history reads
                // in the order it happened.
                let _applying = self.store.lock(LockKey::Link(link.id)).await?;
                self.goals
                    .apply_item_changes(link, &changes, None, &note, Utc::now())
                    .await?
            };
            if outcome.stale > 0 {
                stale += 1;
            } else {
                applied += 1;
            }
        }
        Ok(if applied == 0 && stale > 0 {
            (
                DeliveryState::Ignored,
                Some("older than the stored snapshot".to_owned()),
            )
        } else {
            (DeliveryState::Applied, None)
        })
    }

    /// The title of a project's milestone, read once and remembered.
    async fn milestone_title(
        &self,
        connection: &Connection,
        project_id: u64,
        milestone_id: u64,
    ) -> Result<Option<String>, ApplyError> {
        let cached = {
            let cache = self.milestones.lock().unwrap_or_else(|e| e.into_inner());
            cache
                .get(&(connection.id, milestone_id))
                .filter(|(at, _)| at.elapsed() < self.settings.milestone_ttl)
                .map(|(_, title)| title.clone())
        };
        if let Some(title) = cached {
            return Ok(Some(title));
        }
        let client = self.goals.gitlab_client(connection)?;
        let milestones = client
            .milestones(&ProjectRef::Id(project_id), None)
            .collect_all()
            .await?;
        let mut cache = self.milestones.lock().unwrap_or_else(|e| e.into_inner());
        let read_at = Instant::now();
        cache.retain(|_, (at, _)| at.elapsed() < self.settings.milestone_ttl);
        for milestone in &milestones {
            cache.insert(
                (connection.id, milestone.id),
                (read_at, milestone.title.clone()),
            );
        }
        Ok(milestones
            .into_iter()
            .find(|m| m.id == milestone_id)
            .map(|m| m.title))
    }

    /// Applies a connection's pending Jira deliveries: one search per Jira
    /// link for every key they name. Returns how many deliveries it took.
    pub async fn apply_jira(
        &self,
        connection_id: i64,
        now: DateTime<Utc>,
    ) -> Result<usize, ApplyError> {
        // One batch of a connection at a time in every instance: a later
        // batch searches after this one applied, so an older search result
        // is never written over a newer one. Held across the searches: it
        // is a lock, not a transaction (see cairn_store::locks).
        let _batch = self.store.lock(LockKey::JiraBatch(connection_id)).await?;
        let deliveries = self
            .store
            .pending_deliveries(connection_id, IntegrationKind::Jira, JIRA_BATCH)
            .await?;
        if deliveries.is_empty() {
            return Ok(0);
        }
        let ids: Vec<i64> = deliveries.iter().map(|d| d.id).collect();
        let Some(connection) = self.store.get_connection(connection_id).await? else {
            self.finish(
                &ids,
                DeliveryState::Ignored,
                Some("connection deleted"),
                now,
            )
            .await?;
            return Ok(ids.len());
        };
        // Key -> deleted, the latest delivery deciding.
        let mut keys: BTreeMap<String, bool> = BTreeMap::new();
        let verified = match &self.sync {
            Some(_) => self.verified(connection.id).await?,
            None => false,
        };
        let mut synced = 0;
        for delivery in &deliveries {
            let Ok(hook) = parse_jira_webhook(delivery.body.as_bytes()) else {
                continue;
            };
            if let (Some(sync), Some(issue)) = (&self.sync, &hook.issue) {
                match hook.kind() {
                    JiraEventKind::IssueCreated | JiraEventKind::IssueUpdated => {
                        synced += sync
                            .note_jira_issue(connection.id, issue, verified, now)
                            .await?;
                    }
                    JiraEventKind::IssueDeleted => {
                        synced += sync.note_gone(connection.id, &issue.id, now).await?;
                    }
                    JiraEventKind::CommentCreated
                    | JiraEventKind::CommentUpdated
                    | JiraEventKind::CommentDeleted => {
                        let project = issue
                            .fields
                            .project
                            .as_ref()
                            .and_then(|p| p.key.clone())
                            .unwrap_or_else(|| {
                                issue.key.split('-').next().unwrap_or_default().to_owned()
                            });
                        if let Some(comment) = hook.comment.as_ref().and_then(|c| c.id.clone()) {
                            synced += sync
                                .note_comment(connection.id, &project, &issue.id, &comment, now)
                                .await?;
                        }
                    }
                    _ => {}
                }
            }
            let Some(key) = hook.issue_key().map(str::to_ascii_uppercase) else {
                continue;
            };
            if !is_jira_key(&key) {
                continue;
            }
            match hook.kind() {
                JiraEventKind::IssueDeleted => {
                    keys.insert(key, true);
                }
                JiraEventKind::IssueCreated | JiraEventKind::IssueUpdated => {
                    keys.entry(key).or_insert(false);
                }
                _ => {}
            }
        }
        let links: Vec<_> = self
            .store
            .links_for_connection(connection.id)
            .await?
            .into_iter()
            .filter(|l| jira_link::link_tracker(l) == IntegrationKind::Jira)
            .collect();
        if links.is_empty() || keys.is_empty() {
            let (state, reason) = if synced > 0 {
                (DeliveryState::Applied, None)
            } else {
                (
                    DeliveryState::Ignored,
                    Some("no data link or sync pair reads this connection"),
                )
            };
            self.finish(&ids, state, reason, now).await?;
            return Ok(ids.len());
        }
        let deleted: BTreeSet<&String> = keys.iter().filter(|(_, d)| **d).map(|(k, _)| k).collect();
        let wanted: Vec<String> = keys
            .iter()
            .filter(|(_, d)| !**d)
            .map(|(k, _)| k.clone())
            .collect();
        for link in &links {
            let query: JiraQuery = match serde_json::from_value(link.query.clone()) {
                Ok(q) => q,
                Err(_) => continue,
            };
            let items = self.search_keys(&connection, &query, &wanted).await?;
            let found: BTreeSet<String> =
                items.iter().map(|i| i.key.to_ascii_uppercase()).collect();
            let left: Vec<String> = keys
                .keys()
                .filter(|k| !found.contains(*k))
                .cloned()
                .collect();
            let note = format!(
                "webhook: {} ticket(s) changed{}",
                keys.len(),
                if deleted.is_empty() {
                    String::new()
                } else {
                    format!(", {} deleted", deleted.len())
                }
            );
            let changes = ItemChanges {
                members: vec![true; items.len()],
                items,
                exact: false,
                left,
                only_newer: false,
            };
            // Changes to one link are applied one at a time in every
            // instance, each timed when it starts, so its history reads
            // in the order it happened.
            let _applying = self.store.lock(LockKey::Link(link.id)).await?;
            self.goals
                .apply_item_changes(link, &changes, None, &note, Utc::now())
                .await?;
        }
        self.finish(&ids, DeliveryState::Applied, None, now).await?;
        Ok(ids.len())
    }

    /// The tickets among `keys` that a link's JQL matches, in chunks. A key
    /// Jira says does not exist (deleted meanwhile) is left out and the
    /// chunk asked again.
    async fn search_keys(
        &self,
        connection: &Connection,
        query: &JiraQuery,
        keys: &[String],
    ) -> Result<Vec<cairn_core::goals::ItemSnapshot>, ApplyError> {
        let mut items = Vec::new();
        for chunk in keys.chunks(KEYS_PER_SEARCH) {
            let mut chunk: Vec<&String> = chunk.iter().collect();
            for _ in 0..2 {
                if chunk.is_empty() {
                    break;
                }
                let jql = format!(
                    "({}) AND key in ({})",
                    jira_link::filter_part(&query.jql),
                    chunk
                        .iter()
                        .map(|k| format!("\"{k}\""))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                match self.goals.search_jira(connection, query, &jql).await {
                    Ok((found, _)) => {
                        items.extend(found);
                        chunk.clear();
                    }
                    Err(error) if error.status() == Some(400) => {
                        let messages = error.server_messages().join(" ").to_ascii_uppercase();
                        let before = chunk.len();
                        chunk.retain(|k| !messages.contains(&format!("'{k}'")));
                        if chunk.len() == before {
                            return Err(error.into());
                        }
                    }
                    Err(error) => return Err(error.into()),
                }
            }
        }
        Ok(items)
    }

    /// Enqueues the next Jira batch of a connection if deliveries arrived
    /// while this one ran.
    async fn follow_up_jira(
        &self,
        connection_id: i64,
        now: DateTime<Utc>,
    ) -> Result<(), ApplyError> {
        if self
            .store
            .pending_deliveries(connection_id, IntegrationKind::Jira, 1)
            .await?
            .is_empty()
        {
            return Ok(());
        }
        let job = NewJob::new(JIRA_HOOK_KIND, json!({"connection_id": connection_id}), now)
            .run_after(now + chrono_duration(self.settings.jira_debounce))
            .with_dedupe_key(format!("hooks:jira:{connection_id}"))
            .for_integration(IntegrationKind::Jira)
            .with_max_attempts(5);
        self.store.enqueue(job, now).await?;
        Ok(())
    }
}

/// Why applying failed: worth retrying.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("{}: {} {}", .0.diagnosis().code, .0.diagnosis().summary, .0.diagnosis().hint)]
    Remote(#[from] ConnectError),
}

impl From<cairn_store::StoreError> for ApplyError {
    fn from(error: cairn_store::StoreError) -> Self {
        ApplyError::Engine(error.into())
    }
}

fn chrono_duration(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// What ingest decided about a body.
struct Classified {
    event: String,
    verdict: Verdict,
}

enum Verdict {
    Apply,
    Ignore(String),
    Unreadable(String),
}

fn unreadable_or_malformed(error: WebhookError) -> Result<Verdict, HookError> {
    match error {
        WebhookError::NotJson(detail) => Err(HookError::Malformed(detail)),
        other => Ok(Verdict::Unreadable(other.to_string())),
    }
}

/// `reads_activity`: the connection is the organisation's activity source,
/// so pushes, merge requests and comments are applied too.
fn classify_gitlab(
    body: &[u8],
    header: Option<&str>,
    reads_activity: bool,
) -> Result<Classified, HookError> {
    let parsed = parse_gitlab_webhook(body);
    let event = header
        .map(|h| h.trim().chars().take(100).collect::<String>())
        .filter(|h| !h.is_empty())
        .or_else(|| match &parsed {
            // No header: name it as GitLab would have.
            Ok(GitLabWebhook::Issue(_)) => Some("Issue Hook".to_owned()),
            Ok(GitLabWebhook::Note(_)) => Some("Note Hook".to_owned()),
            Ok(GitLabWebhook::MergeRequest(_)) => Some("Merge Request Hook".to_owned()),
            Ok(GitLabWebhook::Push(_)) => Some("Push Hook".to_owned()),
            Ok(GitLabWebhook::TagPush(_)) => Some("Tag Push Hook".to_owned()),
            Ok(GitLabWebhook::Other { object_kind }) => Some(object_kind.clone()),
            Err(_) => None,
        })
        .unwrap_or_else(|| "unknown".to_owned());
    let verdict =
        match parsed {
            Err(error) => unreadable_or_malformed(error)?,
            Ok(GitLabWebhook::Issue(_)) if reads_activity => Verdict::Apply,
            Ok(GitLabWebhook::Issue(hook)) => issue_verdict(&hook),
            Ok(
                GitLabWebhook::Note(_) | GitLabWebhook::MergeRequest(_) | GitLabWebhook::Push(_),
            ) if reads_activity => Verdict::Apply,
            // A person's comment on an issue: sync pairs carry it.
            Ok(GitLabWebhook::Note(note))
                if note.object_attributes.noteable_type == "Issue"
                    && note.object_attributes.system != Some(true) =>
            {
                Verdict::Apply
            }
            Ok(GitLabWebhook::Note(_)) => {
                Verdict::Ignore("only people's comments on issues are read".to_owned())
            }
            Ok(GitLabWebhook::MergeRequest(_)) => {
                Verdict::Ignore("merge requests are not read yet".to_owned())
            }
            Ok(GitLabWebhook::Push(_) | GitLabWebhook::TagPush(_)) => {
                Verdict::Ignore("pushes are not read yet".to_owned())
            }
            Ok(GitLabWebhook::Other { object_kind }) => {
                Verdict::Ignore(format!("`{object_kind}` events are not read"))
            }
        };
    Ok(Classified { event, verdict })
}

/// Data links read issues, incidents and tasks (what GitLab's issues API
/// lists); epics, objectives and key results are not theirs.
fn issue_verdict(hook: &IssueHook) -> Verdict {
    if hook.project_path().is_none() && hook.project_id().is_none() {
        return Verdict::Ignore("a group-level work item".to_owned());
    }
    match hook.object_attributes.kind.as_deref() {
        None | Some("Issue" | "Incident" | "Task") => Verdict::Apply,
        Some(other) => Verdict::Ignore(format!("{other} work items are not read by data links")),
    }
}

fn classify_jira(body: &[u8]) -> Result<Classified, HookError> {
    match parse_jira_webhook(body) {
        Ok(hook) => {
            let event = hook.webhook_event.chars().take(100).collect::<String>();
            let verdict = match hook.kind() {
                JiraEventKind::IssueCreated
                | JiraEventKind::IssueUpdated
                | JiraEventKind::IssueDeleted => match hook.issue_key() {
                    Some(key) if is_jira_key(key) => Verdict::Apply,
                    Some(key) => Verdict::Unreadable(format!("`{key}` is not an issue key")),
                    None => Verdict::Unreadable("the issue event names no issue".to_owned()),
                },
                // Sync pairs carry comments.
                JiraEventKind::CommentCreated
                | JiraEventKind::CommentUpdated
                | JiraEventKind::CommentDeleted => match hook.issue_key() {
                    Some(key) if is_jira_key(key) && hook.comment.is_some() => Verdict::Apply,
                    _ => Verdict::Unreadable("the comment event names no issue".to_owned()),
                },
                _ => Verdict::Ignore(format!("`{event}` events are not read")),
            };
            Ok(Classified { event, verdict })
        }
        Err(error) => {
            // Name the event for the inbox when the body says it.
            let event = serde_json::from_slice::<serde_json::Value>(body)
                .ok()
                .and_then(|v| v.get("webhookEvent")?.as_str().map(str::to_owned))
                .map(|e| e.chars().take(100).collect())
                .unwrap_or_else(|| "unknown".to_owned());
            Ok(Classified {
                event,
                verdict: unreadable_or_malformed(error)?,
            })
        }
    }
}

/// Runs `hook_gitlab` jobs.
pub struct GitLabHookHandler(pub Arc<Hooks>);

#[async_trait::async_trait]
impl JobHandler for GitLabHookHandler {
    async fn run(&self, job: &cairn_store::Job) -> Result<(), JobError> {
        let Some(delivery) = job.payload["delivery_id"].as_i64() else {
            return Err(JobError::Permanent("payload has no delivery_id".to_owned()));
        };
        let now = Utc::now();
        match self.0.apply_gitlab(delivery, now).await {
            Ok(_) => Ok(()),
            Err(error) => {
                let message = error.to_string();
                if job.attempts >= job.max_attempts {
                    self.0
                        .finish(&[delivery], DeliveryState::Failed, Some(&message), now)
                        .await
                        .map_err(|e| JobError::Retry(e.to_string()))?;
                    return Err(JobError::Permanent(message));
                }
                Err(JobError::Retry(message))
            }
        }
    }
}

/// Runs `hook_jira` jobs.
pub struct JiraHookHandler(pub Arc<Hooks>);

#[async_trait::async_trait]
impl JobHandler for JiraHookHandler {
    async fn run(&self, job: &cairn_store::Job) -> Result<(), JobError> {
        let Some(connection) = job.payload["connection_id"].as_i64() else {
            return Err(JobError::Permanent(
                "payload has no connection_id".to_owned(),
            ));
        };
        let now = Utc::now();
        match self.0.apply_jira(connection, now).await {
            Ok(_) => {}
            Err(error) => {
                let message = error.to_string();
                if job.attempts < job.max_attempts {
                    return Err(JobError::Retry(message));
                }
                let ids: Vec<i64> = self
                    .0
                    .store
                    .pending_deliveries(connection, IntegrationKind::Jira, JIRA_BATCH)
                    .await
                    .map_err(|e| JobError::Retry(e.to_string()))?
                    .iter()
                    .map(|d| d.id)
                    .collect();
                self.0
                    .finish(&ids, DeliveryState::Failed, Some(&message), now)
                    .await
                    .map_err(|e| JobError::Retry(e.to_string()))?;
                return Err(JobError::Permanent(message));
            }
        }
        self.0
            .follow_up_jira(connection, Utc::now())
            .await
            .map_err(|e| JobError::Retry(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_issue_keys_reach_jql() {
        assert!(is_jira_key("AE-12"));
        assert!(is_jira_key("A1_B-1"));
        assert!(!is_jira_key("AE-"));
        assert!(!is_jira_key("-12"));
        assert!(!is_jira_key("1AE-12"));
        assert!(!is_jira_key("AE-12\") OR (1=1"));
        assert!(!is_jira_key("AE 12"));
    }

    #[test]
    fn metric_labels_stay_few() {
        assert_eq!(
            event_label(IntegrationKind::Gitlab, Some("issue hook")),
            "Issue Hook"
        );
        assert_eq!(
            event_label(IntegrationKind::Gitlab, Some("Anything Else")),
            "other"
        );
        assert_eq!(event_label(IntegrationKind::Gitlab, None), "other");
        assert_eq!(
            event_label(IntegrationKind::Jira, Some("jira:issue_updated")),
            "jira:issue_updated"
        );
    }
}
