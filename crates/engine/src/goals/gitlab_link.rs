//! GitLab data links: the selection a key result reads (project, milestone,
//! assignee, labels, chosen issues), and the refresh that turns GitLab's
//! issues into item snapshots.
//!
//! An incremental refresh asks for the project's issues updated since the
//! last success (minus an overlap) with no other filter, and decides
//! membership here, so an issue that moved out of the milestone leaves the
//! selection at once. A full refresh asks GitLab for the selection itself
//! and replaces membership, so deleted or hidden issues leave too.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use cairn_connect::gitlab::{AssigneeFilter, Issue, IssueFilter, ProjectRef};
use cairn_connect::{ConnectError, GitLabAuth, GitLabClient, GitLabSettings};
use cairn_core::authz::{Action, ConnectionFacts, ConnectionOp};
use cairn_core::goals::{IssueState, ItemSnapshot, LinkRule, Measure, ProgressSource};
use cairn_core::integrations::IntegrationKind;
use cairn_store::goals::{DataLink, LinkFields, RefreshRecord};
use cairn_store::{Connection, LockKey};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Goals, ItemChanges, goal_error};
use crate::accounts::Authenticated;
use crate::error::{EngineError, authorize};

/// Which issues a GitLab link reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GitLabQuery {
    /// Project path (`group/project`) or numeric id.
    pub project: String,
    /// Milestone title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub milestone: Option<String>,
    /// Assignee user name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    /// An issue must carry all of these labels.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    /// Only these issues (by `#iid`), when chosen one by one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub iids: Vec<u64>,
}

impl GitLabQuery {
    fn project_ref(&self) -> ProjectRef {
        match self.project.parse::<u64>() {
            Ok(id) => ProjectRef::Id(id),
            Err(_) => ProjectRef::Path(self.project.clone()),
        }
    }

    /// The filter that asks GitLab for exactly this selection, all states.
    fn filter(&self) -> IssueFilter {
        IssueFilter {
            state: Some(cairn_connect::gitlab::IssueState::All),
            milestone: self.milestone.clone(),
            assignee: self.assignee.clone().map(AssigneeFilter::Username),
            labels: self.labels.clone(),
            iids: self.iids.clone(),
            per_page: Some(100),
            ..IssueFilter::default()
        }
    }

    /// Whether an issue belongs to the selection (GitLab's own semantics:
    /// milestone by title, assignee by user name, every label).
    pub fn matches(&self, issue: &Issue) -> bool {
        let milestone = self
            .milestone
            .as_ref()
            .is_none_or(|m| issue.milestone.as_ref().is_some_and(|im| &im.title == m));
        let assignee = self
            .assignee
            .as_ref()
            .is_none_or(|a| issue.assignees.iter().any(|u| &u.username == a));
        let labels = self.labels.iter().all(|l| issue.labels.contains(l));
        let iids = self.iids.is_empty() || self.iids.contains(&issue.iid);
        milestone && assignee && labels && iids
    }
}

/// What someone asks a key result to read.
#[derive(Debug, Clone)]
pub struct LinkInput {
    pub connection_id: i64,
    pub query: GitLabQuery,
    /// KPI only: which issues count.
    pub state: Option<IssueState>,
    /// Seconds between refreshes; at least the configured minimum.
    pub refresh_interval_secs: Option<i64>,
}

/// One HTTP client per connection, so its rate limit holds across every
/// link and refresh that use it. Rebuilt when the connection changes.
#[derive(Default)]
pub(crate) struct ClientCache {
    clients: Mutex<HashMap<i64, (DateTime<Utc>, GitLabClient)>>,
}

/// The item key of a GitLab issue: `group/project#12`.
pub fn issue_key(project_path: &str, iid: u64) -> String {
    format!("{project_path}#{iid}")
}

/// A GitLab issue as a tracker-neutral snapshot.
pub fn snapshot(project_path: &str, issue: &Issue) -> ItemSnapshot {
    let mut item = ItemSnapshot::new(
        issue_key(project_path, issue.iid),
        issue.title.clone(),
        issue.web_url.clone().unwrap_or_default(),
        issue.updated_at.unwrap_or_default(),
    );
    item.state = issue.state.clone();
    item.done = issue.is_closed();
    item.created_at = issue.created_at;
    item.done_at = item.done.then_some(issue.closed_at).flatten();
    if let Some(tasks) = &issue.task_completion_status {
        item.tasks_total = tasks.count;
        item.tasks_done = tasks.completed_count;
    }
    if let Some(time) = &issue.time_stats {
        item.time_spent_seconds = Some(time.total_time_spent);
        item.original_estimate_seconds = Some(time.time_estimate);
    }
    item
}

fn connect_error(field: &str, error: ConnectError) -> EngineError {
    let diagnosis = error.diagnosis();
    EngineError::invalid(field, format!("{} {}", diagnosis.summary, diagnosis.hint))
}

impl Goals {
    /// A client for a connection the caller may use (404 otherwise).
    pub(crate) async fn usable_connection(
        &self,
        by: &Authenticated,
        connection_id: i64,
    ) -> Result<Connection, EngineError> {
        let not_found = || {
            EngineError::invalid(
                "connection_id",
                format!("there is no connection {connection_id} you may use"),
            )
        };
        let connection = self
            .store
            .get_connection(connection_id)
            .await?
            .ok_or_else(not_found)?;
        let facts = ConnectionFacts {
            owner_id: connection.owner_id,
            shared: connection.shared,
        };
        authorize(
            Some(by.actor()),
            Action::Connection(ConnectionOp::Use, facts),
        )
        .map_err(|_| not_found())?;
        Ok(connection)
    }

    pub(crate) fn gitlab_client(
        &self,
        connection: &Connection,
    ) -> Result<GitLabClient, EngineError> {
        let mut clients = self
            .clients
            .clients
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some((version, client)) = clients.get(&connection.id)
            && *version == connection.updated_at
        {
            return Ok(client.clone());
        }
        let secret = self.keyring.open(&connection.secret)?;
        let auth = match connection.auth_kind.as_str() {
            "oauth" => GitLabAuth::OAuth(secret),
            _ => GitLabAuth::PrivateToken(secret),
        };
        let settings = GitLabSettings {
            base_url: connection.base_url.clone(),
            auth,
            http: self.settings.http.clone(),
        };
        let client = GitLabClient::new(&settings).map_err(|e| connect_error("connection_id", e))?;
        clients.insert(connection.id, (connection.updated_at, client.clone()));
        Ok(client)
    }

    /// Links a key result to GitLab issues and reads them at once.
    pub async fn set_gitlab_link(
        &self,
        by: &Authenticated,
        okr_id: i64,
        input: LinkInput,
        now: DateTime<Utc>,
    ) -> Result<DataLink, EngineError> {
        let okr = self.load_to_change(by, okr_id).await?;
        if okr.fields.progress_source != ProgressSource::DataLink {
            return Err(EngineError::Conflict {
                field: Some("progress_source".to_owned()),
                message: "set the key result's progress source to data_link first".to_owned(),
            });
        }
        let connection = self.usable_connection(by, input.connection_id).await?;
        if connection.kind != IntegrationKind::Gitlab {
            return Err(EngineError::invalid(
                "connection_id",
                "this is not a GitLab connection",
            ));
        }
        let rule = LinkRule::Gitlab { state: input.state };
        rule.validate(okr.fields.measure.mode())
            .map_err(goal_error)?;
        let min = i64::try_from(self.settings.min_refresh.as_secs()).unwrap_or(60);
        if let Some(every) = input.refresh_interval_secs
            && every < min
        {
            return Err(EngineError::invalid(
                "refresh_interval_secs",
                format!("must be at least {min} seconds"),
            ));
        }
        super::browse::check_project_path(&input.query.project)?;
        // The project and milestone must exist and be visible to the token.
        let client = self.gitlab_client(&connection)?;
        let project = client
            .project(&input.query.project_ref())
            .await
            .map_err(|e| match e.status() {
                Some(404) => EngineError::invalid(
                    "project",
                    format!(
                        "there is no project `{}` visible to this connection",
                        input.query.project
                    ),
                ),
                _ => connect_error("project", e),
            })?;
        let mut query = input.query.clone();
        query.project = project.path_with_namespace.clone();
        if let Some(title) = &query.milestone {
            let found = client
                .milestones(&ProjectRef::Id(project.id), Some(title))
                .collect_all()
                .await
                .map_err(|e| connect_error("milestone", e))?;
            if !found.iter().any(|m| &m.title == title) {
                return Err(EngineError::invalid(
                    "milestone",
                    format!(
                        "project {} has no milestone `{title}`",
                        project.path_with_namespace
                    ),
                ));
            }
        }
        let fields = LinkFields {
            connection_id: connection.id,
            rule: serde_json::to_value(&rule)
                .map_err(|e| EngineError::invalid("rule", e.to_string()))?,
            query: serde_json::to_value(&query)
                .map_err(|e| EngineError::invalid("query", e.to_string()))?,
            refresh_interval_secs: input.refresh_interval_secs,
        };
        let detail = json!({"connection_id": connection.id, "query": fields.query});
        self.save_link_and_read(by, okr_id, &fields, detail, now)
            .await
    }

    /// Saves a link (with its audit entry) and reads it in full at once.
    /// The link is marked as being read in the same transaction, so the
    /// scheduler, which takes links whose `next_refresh_at` has come, does
    /// not read it a second time while this read runs.
    pub(crate) async fn save_link_and_read(
        &self,
        by: &Authenticated,
        okr_id: i64,
        fields: &LinkFields,
        detail: serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<DataLink, EngineError> {
        let mut tx = self.store.begin().await?;
        let link_id = tx.put_link(okr_id, fields, now).await?;
        tx.defer_link(link_id, now + READING_LEASE).await?;
        tx.append_audit(
            &cairn_store::NewAuditEntry {
                actor: by.user.email.clone(),
                action: "link.set".to_owned(),
                subject: format!("okr:{okr_id}"),
                detail,
            },
            now,
        )
        .await?;
        tx.commit().await?;
        // A changed link is read in full and recalculated at once.
        self.refresh_link(link_id, true, now).await?;
        self.store
            .get_link(link_id)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("no link {link_id}")))
    }

    /// Reads a link now, outside the job queue (a manual refresh, a changed
    /// story points field): first marks it as being read, so the scheduler
    /// does not queue the same read while this one runs.
    pub(crate) async fn read_at_once(
        &self,
        link_id: i64,
        full: bool,
        now: DateTime<Utc>,
    ) -> Result<RefreshOutcome, EngineError> {
        let mut tx = self.store.begin().await?;
        tx.defer_link(link_id, now + READING_LEASE).await?;
        tx.commit().await?;
        self.refresh_link(link_id, full, now).await
    }

    /// The refresh interval in force for a link.
    fn interval(&self, link: &DataLink) -> chrono::Duration {
        let secs = link.refresh_interval_secs.unwrap_or_else(|| {
            i64::try_from(self.settings.default_refresh.as_secs()).unwrap_or(3600)
        });
        chrono::Duration::seconds(secs.max(1))
    }

    /// Reads a link's items from its tracker (GitLab or Jira, by the
    /// link's rule) and recomputes its key result.
    /// Incremental unless `full` or a full read is due. A failure changes
    /// no progress: the link is marked with the error and retried with
    /// backoff; a 401 marks the connection unhealthy.
    pub async fn refresh_link(
        &self,
        link_id: i64,
        full: bool,
        now: DateTime<Utc>,
    ) -> Result<RefreshOutcome, EngineError> {
        let link = self
            .store
            .get_link(link_id)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("no link {link_id}")))?;
        let full_due = link.last_full_at.is_none_or(|at| {
            now - at
                >= chrono::Duration::from_std(self.settings.full_every)
                    .unwrap_or(chrono::Duration::days(1))
        });
        let full = full || full_due || link.last_success_at.is_none();
        let connection = self
            .store
            .get_connection(link.connection_id)
            .await?
            .ok_or_else(|| {
                EngineError::NotFound(format!("no connection {}", link.connection_id))
            })?;
        let result = match super::jira_link::link_tracker(&link) {
            IntegrationKind::Jira => self.fetch_jira(&connection, &link, full, now).await,
            _ => {
                let query: GitLabQuery = serde_json::from_value(link.query.clone())
                    .map_err(|e| EngineError::invalid("query", e.to_string()))?;
                self.fetch(&connection, &query, &link, full, now).await
            }
        };
        let interval = self.interval(&link);
        match result {
            Ok(fetched) => {
                let items_read = fetched.items.len();
                let note = if full {
                    "full refresh".to_owned()
                } else {
                    format!("{items_read} issue(s) changed")
                };
                let changes = ItemChanges {
                    items: fetched.items,
                    members: fetched.members,
                    exact: full,
                    left: Vec::new(),
                    only_newer: false,
                };
                let record = RefreshRecord::Succeeded {
                    full,
                    next_refresh_at: now + interval,
                };
                // One apply of a link at a time, webhooks' and polls' alike
                // (see `apply_item_changes`).
                let _applying = self.store.lock(LockKey::Link(link.id)).await?;
                self.apply_item_changes(&link, &changes, Some(&record), &note, now)
                    .await?;
                crate::health::worked(self.store.as_ref(), connection.id, now).await?;
                Ok(RefreshOutcome {
                    full,
                    items_read,
                    api_calls: fetched.api_calls,
                    error: None,
                })
            }
            Err(error) => {
                let diagnosis = error.diagnosis();
                let backoff =
                    chrono::Duration::seconds((30i64 << link.failures.clamp(0, 10)).min(3600));
                let next = now + backoff.min(interval);
                let message = format!("{} {}", diagnosis.summary, diagnosis.hint);
                // The 1st failure in a row makes the progress stale, the 3rd
                // makes the link failing: announced with the failure.
                let failures = u32::try_from(link.failures.saturating_add(1)).unwrap_or(u32::MAX);
                let event = match cairn_core::notify::link_failure_event(failures, &message) {
                    Some(detail) => self
                        .store
                        .get_okr(link.okr_id)
                        .await?
                        .map(|okr| crate::notify::okr_event(&okr, detail, now)),
                    None => None,
                };
                let mut tx = self.store.begin().await?;
                tx.record_refresh(
                    link.id,
                    &RefreshRecord::Failed {
                        code: diagnosis.code.to_string(),
                        message,
                        next_refresh_at: next,
                    },
                    now,
                )
                .await?;
                if let Some(event) = &event {
                    crate::notify::enqueue_event(&mut *tx, event, now).await?;
                }
                tx.commit().await?;
                // Rejected credentials, an unreachable host or TLS: the
                // connection's health says so (GitLab and Jira alike).
                crate::health::failed(self.store.as_ref(), &connection, &error, now).await?;
                tracing::warn!(link = link.id, code = %diagnosis.code, "refresh failed; progress unchanged");
                Ok(RefreshOutcome {
                    full,
                    items_read: 0,
                    api_calls: 0,
                    error: Some(diagnosis),
                })
            }
        }
    }

    async fn fetch(
        &self,
        connection: &Connection,
        query: &GitLabQuery,
        link: &DataLink,
        full: bool,
        now: DateTime<Utc>,
    ) -> Result<Fetched, ConnectError> {
        let client = self
            .gitlab_client(connection)
            .map_err(|e| ConnectError::InvalidInput(e.to_string()))?;
        let calls_before = client.api_calls();
        let project = query.project_ref();
        let filter = if full {
            query.filter()
        } else {
            let since = link.last_success_at.unwrap_or(now)
                - chrono::Duration::from_std(self.settings.overlap).unwrap_or_default();
            IssueFilter {
                state: Some(cairn_connect::gitlab::IssueState::All),
                updated_after: Some(since),
                per_page: Some(100),
                ..IssueFilter::default()
            }
        };
        let mut pages = client.issues(&project, &filter);
        let mut items = Vec::new();
        let mut members = Vec::new();
        while let Some(page) = pages.next_page().await? {
            for issue in page {
                members.push(full || query.matches(&issue));
                items.push(snapshot(&query.project, &issue));
            }
        }
        Ok(Fetched {
            items,
            members,
            api_calls: client.api_calls() - calls_before,
        })
    }

    /// Enqueues a refresh of every due link; returns how many. Each link's
    /// next refresh moves out by [`READING_LEASE`] in the same transaction,
    /// so it is not enqueued twice while its job waits or runs; the refresh
    /// itself then sets the real next time.
    pub async fn enqueue_due_refreshes(&self, now: DateTime<Utc>) -> Result<usize, EngineError> {
        let due = self.store.due_links(now, 1000).await?;
        if due.is_empty() {
            return Ok(0);
        }
        let mut tx = self.store.begin().await?;
        let mut enqueued = 0;
        for link in &due {
            if tx.enqueue(&refresh_job(link, now), now).await?.is_some() {
                enqueued += 1;
            }
            tx.defer_link(link.id, now + READING_LEASE).await?;
        }
        tx.commit().await?;
        Ok(enqueued)
    }

    /// Enqueues a refresh of one link, due now (a no-op while one waits).
    pub async fn enqueue_refresh(
        &self,
        link: &DataLink,
        now: DateTime<Utc>,
    ) -> Result<bool, EngineError> {
        Ok(self
            .store
            .enqueue(refresh_job(link, now), now)
            .await?
            .is_some())
    }

    /// A manual refresh of an OKR's link, by someone who may change it or
    /// at least see it (refreshing reveals nothing new).
    pub async fn refresh_okr(
        &self,
        by: &Authenticated,
        okr_id: i64,
        now: DateTime<Utc>,
    ) -> Result<RefreshOutcome, EngineError> {
        authorize(Some(by.actor()), Action::ViewGoals)?;
        let link = self
            .store
            .link_for_okr(okr_id)
            .await?
            .ok_or_else(|| EngineError::Conflict {
                field: None,
                message: format!("OKR {okr_id} has no data link to refresh"),
            })?;
        // A disabled integration pauses its links: scheduled refreshes wait
        // in the queue, and a manual one is refused rather than run anyway.
        let tracker = super::jira_link::link_tracker(&link);
        if !self.store.integration_enabled(tracker).await? {
            return Err(EngineError::Conflict {
                field: None,
                message: format!(
                    "the {} integration is disabled; an admin can enable it",
                    tracker.title()
                ),
            });
        }
        self.read_at_once(link.id, false, now).await
    }

    /// Whether a measure's mode suits GitLab's link rule.
    pub fn check_rule(measure: &Measure, state: Option<IssueState>) -> Result<(), EngineError> {
        LinkRule::Gitlab { state }
            .validate(measure.mode())
            .map_err(goal_error)
    }
}

/// How far a link's next refresh moves out while a read of it is queued or
/// runs; the read then sets the real next time. Long enough for a slow read
/// of many items, short enough that a crashed read is retried soon.
pub const READING_LEASE: chrono::Duration = chrono::Duration::minutes(10);

/// The job kind that refreshes one link.
pub const REFRESH_KIND: &str = "refresh_link";

/// The job that refreshes a link; one waits per link at most.
fn refresh_job(link: &DataLink, now: DateTime<Utc>) -> cairn_store::NewJob {
    cairn_store::NewJob::new(REFRESH_KIND, json!({"link_id": link.id}), now)
        .with_dedupe_key(format!("refresh:link:{}", link.id))
        .for_integration(super::jira_link::link_tracker(link))
        .with_max_attempts(3)
}

pub(crate) struct Fetched {
    pub(crate) items: Vec<ItemSnapshot>,
    /// Per item: whether it belongs to the selection.
    pub(crate) members: Vec<bool>,
    pub(crate) api_calls: u64,
}

/// What a refresh did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RefreshOutcome {
    pub full: bool,
    pub items_read: usize,
    pub api_calls: u64,
    /// Set when it failed; progress is then unchanged.
    #[schema(value_type = Option<crate::DiagnosisView>)]
    pub error: Option<cairn_connect::Diagnosis>,
}

/// Runs `refresh_link` jobs.
pub struct RefreshHandler(pub Arc<Goals>);

#[async_trait::async_trait]
impl crate::jobs::JobHandler for RefreshHandler {
    async fn run(&self, job: &cairn_store::Job) -> Result<(), crate::jobs::JobError> {
        let Some(link_id) = job.payload["link_id"].as_i64() else {
            return Err(crate::jobs::JobError::Permanent(
                "payload has no link_id".to_owned(),
            ));
        };
        // Read since this job was queued (a save or a manual refresh ran
        // meanwhile): reading again would fetch the same items.
        match self.0.store.get_link(link_id).await {
            Ok(Some(link)) if link.last_attempt_at.is_some_and(|at| at >= job.created_at) => {
                return Ok(());
            }
            Ok(_) => {}
            Err(error) => return Err(crate::jobs::JobError::Retry(error.to_string())),
        }
        match self.0.refresh_link(link_id, false, Utc::now()).await {
            // A failed refresh is recorded on the link with its own backoff.
            Ok(_) => Ok(()),
            Err(EngineError::NotFound(_)) => Ok(()),
            Err(error) => Err(crate::jobs::JobError::Retry(error.to_string())),
        }
    }
}
