//! Two-way sync: GitLab and Jira issues (or two GitLab projects) kept the
//! same, with no duplicate, no echo and nothing lost.
//!
//! Every trigger ends in one flow ([`item`]): a verified webhook notes the
//! item it concerns with what it delivered (a *hint*) and enqueues a job
//! for it, unless the delivery is Cairn's own write coming back, which
//! costs nothing; the reconciliation scan ([`scan`]) does the same for
//! every item either side changed since its last scan, and catches what
//! webhooks missed; failing items come back on their own schedule. The
//! decisions are `cairn_core::sync`'s; the tracker-neutral flow is here and
//! in [`item`]; each tracker's part is in [`gitlab`] and [`jira`].
//!
//! Work on one item is serialised across instances by a claim on its row
//! (a lease in the database), not by an in-process lock, because it spans
//! remote calls.

mod comments;
mod gitlab;
pub mod initial;
mod item;
mod jira;
mod overturn;
pub mod pairs;
pub mod people;
pub mod releases;
mod scan;
mod side;
pub mod wizard;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use cairn_connect::HttpConfig;
use cairn_connect::gitlab::{Issue, ProjectRef};
use cairn_connect::jira::JiraIssue;
use cairn_core::integrations::IntegrationKind;
use cairn_core::sync::{Side, SyncField, SyncItemState};
use cairn_store::sync::{SyncHint, SyncItem, SyncPair};
use cairn_store::{Job, NewJob, Store};
use chrono::{DateTime, Utc};
use serde_json::json;

use crate::clients::Clients;
use crate::error::EngineError;
use crate::jobs::{JobError, JobHandler, Registry};
use crate::keyring::Keyring;
use item::{Carry, CarryError, Outcome};
use side::{RemoteItem, SideClient};

pub use pairs::{PairInput, PairView, SideInput, StatusMapInput};
pub use people::{PeopleView, PersonView};
pub use releases::{ReleaseToCreate, ReleasesView};

/// The job kind that carries one item.
pub const ITEM_KIND: &str = "sync_item";
/// The job kind that scans a pair's sides for changes.
pub const SCAN_KIND: &str = "sync_scan";

/// Tunables of sync.
#[derive(Debug, Clone)]
pub struct SyncSettings {
    pub http: HttpConfig,
    /// How long a worker holds an item it works on before others may take
    /// it (it dies, say).
    pub claim: Duration,
    /// A pair's scan overlap unless it sets one: how far back a scan reads
    /// beyond where the last one stopped, for clocks that disagree (the
    /// seed's "time offset").
    pub default_scan_overlap_secs: i64,
    /// How often a scan lists both sides' whole scope, to notice items
    /// deleted without a webhook.
    pub full_scan_every: Duration,
    /// A pair's scan interval unless it sets one.
    pub default_scan_interval_secs: i64,
    /// The shortest scan interval a pair may set.
    pub min_scan_interval_secs: i64,
    /// A failing item's first retry; each further one waits twice as long,
    /// up to `retry_cap`.
    pub retry_base: Duration,
    pub retry_cap: Duration,
    /// How long an item fails, or a side stays unreachable, before the
    /// pair's `sync_failing` notification goes out.
    pub alert_after: Duration,
}

impl Default for SyncSettings {
    fn default() -> Self {
        SyncSettings {
            http: HttpConfig::default(),
            claim: Duration::from_secs(120),
            default_scan_overlap_secs: 120,
            full_scan_every: Duration::from_secs(24 * 3600),
            default_scan_interval_secs: 300,
            min_scan_interval_secs: 60,
            retry_base: Duration::from_secs(30),
            retry_cap: Duration::from_secs(3600),
            alert_after: Duration::from_secs(3600),
        }
    }
}

/// The sync use cases.
pub struct SyncEngine {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) clients: Clients,
    pub(crate) settings: SyncSettings,
    /// Names this process's claims.
    owner: String,
    /// Both sides' people per pair, reused for a while.
    people_lists: people::PeopleLists,
    /// One release sync at a time in this process, so two items naming
    /// the same new milestone do not both create its version.
    release_sync: tokio::sync::Mutex<()>,
    /// When this engine last recorded each connection as working after an
    /// item carried: an initial sync carries thousands of items, and one
    /// health write a minute per connection is enough.
    carried_ok_at: std::sync::Mutex<HashMap<i64, DateTime<Utc>>>,
}

/// How often a connection's success is recorded after item carries.
const CARRIED_OK_EVERY_SECS: i64 = 60;

/// Why a trigger was not acted on.
fn metric_ignored(tracker: &'static str, reason: &'static str) {
    metrics::counter!("cairn_sync_events_ignored_total", "tracker" => tracker, "reason" => reason)
        .increment(1);
}

impl SyncEngine {
    pub fn new(store: Arc<dyn Store>, keyring: Arc<Keyring>, settings: SyncSettings) -> Self {
        SyncEngine {
            clients: Clients::new(keyring, settings.http.clone()),
            store,
            settings,
            owner: format!("sync-{}", uuid_like()),
            people_lists: people::PeopleLists::default(),
            release_sync: tokio::sync::Mutex::new(()),
            carried_ok_at: std::sync::Mutex::new(HashMap::new()),
        }
    }

    /// Whether a carry's success on `connection_id` is due to be recorded
    /// (not recorded by this engine within the last minute); marks it so.
    fn carried_ok_due(&self, connection_id: i64, now: DateTime<Utc>) -> bool {
        let mut recorded = self.carried_ok_at.lock().unwrap_or_else(|e| e.into_inner());
        let due = recorded
            .get(&connection_id)
            .is_none_or(|at| now < *at || (now - *at).num_seconds() >= CARRIED_OK_EVERY_SECS);
        if due {
            recorded.insert(connection_id, now);
        }
        due
    }

    /// Registers the job handlers.
    pub fn register(self: &Arc<Self>, registry: &mut Registry) {
        registry.register(ITEM_KIND, ItemHandler(self.clone()));
        registry.register(SCAN_KIND, ScanHandler(self.clone()));
        self.register_initial(registry);
    }

    /// A side of a pair, bound to its connection's client.
    pub(crate) async fn side_client(
        &self,
        pair: &SyncPair,
        side: Side,
    ) -> Result<SideClient, EngineError> {
        let spec = pair.side(side);
        let connection = self
            .store
            .get_connection(spec.connection_id)
            .await?
            .ok_or_else(|| {
                EngineError::NotFound(format!("connection {} is gone", spec.connection_id))
            })?;
        match connection.kind {
            IntegrationKind::Gitlab => Ok(SideClient::GitLab(gitlab::GitLabSide {
                client: self.clients.gitlab(&connection)?,
                project: ProjectRef::from(spec.project_id.as_str()),
                scope: spec.scope.clone(),
            })),
            IntegrationKind::Jira => {
                let client = self.clients.jira(&connection)?;
                let cloud = client
                    .deployment()
                    .await
                    .map_err(|e| EngineError::Upstream(e.diagnosis()))?
                    .is_cloud();
                Ok(SideClient::Jira(jira::JiraSide::new(
                    client,
                    spec.project_id.clone(),
                    spec.scope.clone(),
                    pair.settings.status_mapping.clone().unwrap_or_default(),
                    pair.settings.jira_issue_type.clone(),
                    pair.settings.transition_defaults.clone(),
                    pair.workflows.clone(),
                    cloud,
                )))
            }
            other => Err(EngineError::invalid(
                "connection_id",
                format!(
                    "a {} connection cannot be a side of a sync pair",
                    other.as_str()
                ),
            )),
        }
    }

    /// Enqueues the job that carries an item (one queued job per item).
    pub(crate) async fn enqueue_item(
        &self,
        item_id: i64,
        now: DateTime<Utc>,
    ) -> Result<(), EngineError> {
        self.enqueue_item_at(item_id, now, now).await
    }

    async fn enqueue_item_at(
        &self,
        item_id: i64,
        run_after: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), EngineError> {
        let job = NewJob::new(ITEM_KIND, json!({ "item": item_id }), run_after)
            .with_dedupe_key(format!("{ITEM_KIND}:{item_id}"));
        self.store.enqueue(job, now).await?;
        Ok(())
    }

    /// Enqueues the scans that are due and the failing items whose next
    /// attempt is due; the scheduler of every instance calls this, and the
    /// job queue's dedupe keys keep it to one job each.
    pub async fn enqueue_due(&self, now: DateTime<Utc>) -> Result<usize, EngineError> {
        let mut jobs = Vec::new();
        for pair in self.store.due_sync_scans(now).await? {
            jobs.push(
                NewJob::new(SCAN_KIND, json!({ "pair": pair }), now)
                    .with_dedupe_key(format!("{SCAN_KIND}:{pair}")),
            );
        }
        for item in self.store.due_sync_items(now, 500).await? {
            jobs.push(
                NewJob::new(ITEM_KIND, json!({ "item": item.id }), now)
                    .with_dedupe_key(format!("{ITEM_KIND}:{}", item.id)),
            );
        }
        Ok(self.store.enqueue_many(&jobs, now).await?)
    }

    /// Carries one item now (the job's body). Returns what it did.
    pub(crate) async fn carry(&self, item_id: i64) -> Result<(), EngineError> {
        let now = Utc::now();
        let Some(item) = self.store.get_sync_item(item_id).await? else {
            return Ok(());
        };
        let Some(pair) = self.store.get_sync_pair(item.pair_id).await? else {
            return Ok(());
        };
        if !pair.settings.active {
            // Kept pending until the pair is active again.
            return Ok(());
        }
        if item.state == SyncItemState::Paused {
            return Ok(());
        }
        let until = now
            + chrono::Duration::from_std(self.settings.claim)
                .unwrap_or(chrono::Duration::minutes(2));
        // One claim per attempt: two jobs of one item in this process
        // exclude each other as jobs of two instances do.
        let owner = format!("{}-{}", self.owner, uuid_like());
        if !self
            .store
            .claim_sync_item(item_id, &owner, now, until)
            .await?
        {
            // Someone else works on it; look again once they are done.
            return self
                .enqueue_item_at(item_id, now + chrono::Duration::seconds(2), now)
                .await;
        }
        // Read again under the claim: what another attempt did before it
        // let go (linked a twin, say) must be seen, or it would be redone.
        let Some(item) = self.store.get_sync_item(item_id).await? else {
            return Ok(());
        };
        match self.carry_claimed(&pair, item, &owner).await {
            Ok(counts) => self.record_run(&pair, "item", now, counts).await,
            Err(error) => {
                // Cairn's own database failed: give the item back at once.
                let _ = self.store.release_sync_item(item_id, &owner).await;
                Err(error)
            }
        }
    }

    async fn carry_claimed(
        &self,
        pair: &SyncPair,
        mut item: SyncItem,
        owner: &str,
    ) -> Result<cairn_store::sync::SyncCounts, EngineError> {
        let now = Utc::now();
        let (left, right) = match (
            self.side_client(pair, Side::Left).await,
            self.side_client(pair, Side::Right).await,
        ) {
            (Ok(l), Ok(r)) => (l, r),
            (Err(e), _) | (_, Err(e)) => {
                // A side that cannot be reached at all: the item waits.
                let result = Err(CarryError::Failure(side::Failure::Retry {
                    message: e.to_string(),
                    after: None,
                    fault: None,
                }));
                item::settle(&mut item, &result, now, &self.settings);
                self.finish(&item, owner, None, now).await?;
                return Ok(cairn_store::sync::SyncCounts {
                    seen: 1,
                    failed: 1,
                    ..Default::default()
                });
            }
        };
        let calls_before = left.api_calls() + right.api_calls();
        let side_calls_before = (left.api_calls(), right.api_calls());
        let used_hint_at = item.hint.as_ref().map(|h| h.observed.updated_at);
        let carry = Carry {
            engine: self,
            pair,
            left: &left,
            right: &right,
            owner,
            now,
        };
        let result = carry.run(&mut item).await;
        item::settle(&mut item, &result, now, &self.settings);
        if result.is_ok() {
            // Both sides answered what was asked: their connections work.
            let called = [
                (
                    pair.settings.left.connection_id,
                    left.api_calls() > side_calls_before.0,
                ),
                (
                    pair.settings.right.connection_id,
                    right.api_calls() > side_calls_before.1,
                ),
            ];
            for (connection_id, _) in called.iter().filter(|(_, called)| *called) {
                if self.carried_ok_due(*connection_id, now) {
                    crate::health::worked(self.store.as_ref(), *connection_id, now).await?;
                }
            }
        }
        let mut counts = match &result {
            Ok(outcome) => outcome.counts(),
            Err(_) => cairn_store::sync::SyncCounts {
                seen: 1,
                failed: 1,
                ..Default::default()
            },
        };
        counts.api_calls =
            i64::try_from(left.api_calls() + right.api_calls() - calls_before).unwrap_or(i64::MAX);
        if let Err(CarryError::Failure(failure)) = &result {
            tracing::info!(pair = pair.id, item = item.id, error = %failure.message(), "sync item failed");
        }
        // Workflows learned while moving Jira issues are kept for the next.
        for client in [&left, &right] {
            if let SideClient::Jira(j) = client {
                let learned = j.learned_workflows();
                if learned != pair.workflows {
                    let mut tx = self.store.begin().await?;
                    tx.save_sync_workflows(pair.id, &learned).await?;
                    tx.commit().await?;
                }
            }
        }
        let skipped_alone =
            matches!(result, Ok(Outcome::Skipped)) && (item.left.is_none() || item.right.is_none());
        if skipped_alone {
            // Out of scope, too old, or the twin of an item that links it.
            let mut tx = self.store.begin().await?;
            tx.delete_sync_item(item.id).await?;
            tx.commit().await?;
        } else {
            self.finish(&item, owner, used_hint_at, now).await?;
        }
        Ok(counts)
    }

    async fn finish(
        &self,
        item: &SyncItem,
        owner: &str,
        used_hint_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<(), EngineError> {
        let mut tx = self.store.begin().await?;
        tx.save_sync_item(item, owner, used_hint_at, now).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn record_run(
        &self,
        pair: &SyncPair,
        triggered_by: &str,
        started: DateTime<Utc>,
        counts: cairn_store::sync::SyncCounts,
    ) -> Result<(), EngineError> {
        let now = Utc::now();
        let mut tx = self.store.begin().await?;
        tx.insert_sync_run(pair.id, triggered_by, started, &counts, now)
            .await?;
        tx.commit().await?;
        let pair_label = pair.id.to_string();
        let item_counts = self.store.sync_item_counts(pair.id).await?;
        metrics::gauge!("cairn_sync_items", "pair" => pair_label.clone(), "state" => "pending")
            .set(item_counts.pending as f64);
        metrics::gauge!("cairn_sync_items", "pair" => pair_label.clone(), "state" => "failing")
            .set(item_counts.failing as f64);
        metrics::gauge!("cairn_sync_items", "pair" => pair_label, "state" => "paused")
            .set(item_counts.paused as f64);
        Ok(())
    }

    /// A GitLab issue changed (a verified Issue Hook): every active pair
    /// with a side on the connection's project notes it; a change that is
    /// only Cairn's own write coming back makes no job at all.
    pub async fn note_gitlab_issue(
        &self,
        connection_id: i64,
        issue: &Issue,
        verified: bool,
        now: DateTime<Utc>,
    ) -> Result<usize, EngineError> {
        let read = gitlab::remote_item(issue);
        let project = issue.project_id.to_string();
        let mut noted = 0;
        for pair in self.store.sync_pairs_on_connection(connection_id).await? {
            for side in [Side::Left, Side::Right] {
                let spec = pair.side(side);
                if spec.connection_id != connection_id || spec.project_id != project {
                    continue;
                }
                let hint = SyncHint {
                    side,
                    observed: read.observed.clone(),
                    marker: read.marker.clone(),
                    created_at: read.created_at,
                    status_id: None,
                    issue_type_id: None,
                };
                if self
                    .note(
                        &pair,
                        side,
                        "gitlab",
                        &read,
                        verified.then_some(hint),
                        &[],
                        false,
                        now,
                    )
                    .await?
                {
                    noted += 1;
                }
            }
        }
        Ok(noted)
    }

    /// A Jira issue changed (a verified webhook): as for GitLab. The
    /// issue's fields come from the delivery (wiki markup descriptions).
    pub async fn note_jira_issue(
        &self,
        connection_id: i64,
        issue: &JiraIssue,
        verified: bool,
        now: DateTime<Utc>,
    ) -> Result<usize, EngineError> {
        let project = issue
            .fields
            .project
            .as_ref()
            .and_then(|p| p.key.clone())
            .unwrap_or_else(|| issue.key.split('-').next().unwrap_or_default().to_owned());
        let mut noted = 0;
        for pair in self.store.sync_pairs_on_connection(connection_id).await? {
            for side in [Side::Left, Side::Right] {
                let spec = pair.side(side);
                if spec.connection_id != connection_id || spec.project_id != project {
                    continue;
                }
                let Ok(SideClient::Jira(jira)) = self.side_client(&pair, side).await else {
                    continue;
                };
                let read = match jira.remote_item(issue) {
                    Ok(read) => read,
                    Err(failure) => {
                        tracing::info!(pair = pair.id, key = %issue.key, error = %failure.message(), "Jira event not noted");
                        metric_ignored("jira", "unmapped_status");
                        continue;
                    }
                };
                // Cloud keeps descriptions in ADF, and its webhooks carry
                // Jira's own wiki rendering of them: a reason to look, not
                // the value.
                let rendered: &[SyncField] = if jira.cloud {
                    &[SyncField::Description]
                } else {
                    &[]
                };
                let client = SideClient::Jira(jira);
                let hint = client.hint_of(side, &read);
                if self
                    .note(
                        &pair,
                        side,
                        "jira",
                        &read,
                        verified.then_some(hint),
                        rendered,
                        false,
                        now,
                    )
                    .await?
                {
                    noted += 1;
                }
            }
        }
        Ok(noted)
    }

    /// An item was deleted on a connection (Jira says so; GitLab does not,
    /// the scan notices): every pair linking it looks at it again, and
    /// pauses it, since Cairn never deletes the twin.
    pub async fn note_gone(
        &self,
        connection_id: i64,
        remote_id: &str,
        now: DateTime<Utc>,
    ) -> Result<usize, EngineError> {
        let mut noted = 0;
        for pair in self.store.sync_pairs_on_connection(connection_id).await? {
            for side in [Side::Left, Side::Right] {
                if pair.side(side).connection_id != connection_id {
                    continue;
                }
                if let Some(item) = self.store.find_sync_item(pair.id, side, remote_id).await?
                    && pair.settings.active
                {
                    self.enqueue_item(item.id, now).await?;
                    noted += 1;
                }
            }
        }
        Ok(noted)
    }

    /// A comment was added, edited or deleted on an issue (a GitLab Note
    /// Hook, a Jira comment event): every active pair linking the issue
    /// carries its comments again. A comment that is Cairn's own copy or
    /// link to the twin, known by the stored link, makes no job.
    /// `project` is GitLab's numeric project id or Jira's project key,
    /// `issue` the issue's id on that side (iid, Jira issue id).
    pub async fn note_comment(
        &self,
        connection_id: i64,
        project: &str,
        issue: &str,
        comment: &str,
        now: DateTime<Utc>,
    ) -> Result<usize, EngineError> {
        let mut noted = 0;
        for pair in self.store.sync_pairs_on_connection(connection_id).await? {
            for side in [Side::Left, Side::Right] {
                let spec = pair.side(side);
                if spec.connection_id != connection_id || spec.project_id != project {
                    continue;
                }
                if self
                    .store
                    .is_sync_comment_copy(pair.id, side, comment)
                    .await?
                    || self.store.is_sync_backlink(pair.id, side, comment).await?
                {
                    metrics::counter!("cairn_sync_echoes_total", "side" => side.as_str())
                        .increment(1);
                    continue;
                }
                let Some(item) = self.store.find_sync_item(pair.id, side, issue).await? else {
                    continue;
                };
                if pair.settings.active && item.left.is_some() && item.right.is_some() {
                    self.enqueue_item(item.id, now).await?;
                    noted += 1;
                }
            }
        }
        Ok(noted)
    }

    /// Notes one item of one pair; true when a job was enqueued. Without a
    /// hint (an unverified delivery) the event is only a reason to look:
    /// the job reads both sides. `rendered` names fields the delivery holds
    /// only a rendering of: when one of them looks changed, the hint is
    /// dropped and the job reads the item itself, so a rendering never
    /// overwrites the other side.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn note(
        &self,
        pair: &SyncPair,
        side: Side,
        tracker: &'static str,
        read: &RemoteItem,
        mut hint: Option<SyncHint>,
        rendered: &[SyncField],
        from_scan: bool,
        now: DateTime<Utc>,
    ) -> Result<bool, EngineError> {
        if hint.is_none() {
            // Nothing delivered can be trusted: no shortcut, no hint.
        } else if let Some(existing) = self
            .store
            .find_sync_item(pair.id, side, &read.reference.id)
            .await?
        {
            let changed: Vec<SyncField> = SyncField::ALL
                .iter()
                .copied()
                .filter(|f| {
                    !existing
                        .shadow
                        .unchanged(side, *f, &read.observed.values.get(*f))
                })
                .collect();
            let linked = existing.left.is_some() && existing.right.is_some();
            // A scan that finds an item updated since it was last read, with
            // no field changed, may have found a comment a webhook missed.
            let moved = tracker_read_is_newer(&existing, side, read) && from_scan;
            // Linked but never finished (an attempt died after linking,
            // before its links and comments were written): look again.
            let unfinished = existing.state == SyncItemState::Pending;
            if linked && changed.is_empty() && !moved && !unfinished {
                metrics::counter!("cairn_sync_echoes_total", "side" => side.as_str()).increment(1);
                return Ok(false);
            }
            if changed.iter().any(|f| rendered.contains(f)) {
                hint = None;
            }
        } else if let Some(marker) = &read.marker
            && marker.pair_id == pair.id
        {
            // The twin's own "created" event: its origin's row links it.
            metric_ignored(tracker, "own_twin");
            return Ok(false);
        } else if !scope_admits(pair, side, read) {
            metric_ignored(tracker, "out_of_scope");
            return Ok(false);
        }
        let mut tx = self.store.begin().await?;
        let (id, _) = tx
            .note_sync_item(pair.id, side, &read.reference, hint.as_ref(), now)
            .await?;
        if pair.settings.active {
            tx.enqueue(
                &NewJob::new(ITEM_KIND, json!({ "item": id }), now)
                    .with_dedupe_key(format!("{ITEM_KIND}:{id}")),
                now,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(pair.settings.active)
    }
}

/// Whether an item not linked yet is for the pair: labels and creation
/// date (JQL scopes are checked by Jira when the item is read).
fn scope_admits(pair: &SyncPair, side: Side, read: &RemoteItem) -> bool {
    let scope = &pair.side(side).scope;
    let created_ok = match (
        pair.settings.created_after.or(pair.activated_at),
        read.created_at,
    ) {
        (Some(after), Some(created)) => created >= after,
        _ => true,
    };
    created_ok && scope.admits_labels(read.labels.iter().map(String::as_str))
}

/// Whether a side's read is newer than the last one the item carried.
fn tracker_read_is_newer(item: &SyncItem, side: Side, read: &RemoteItem) -> bool {
    let last = match side {
        Side::Left => item.left_updated_at,
        Side::Right => item.right_updated_at,
    };
    last.is_none_or(|at| read.observed.updated_at > at)
}

/// A random name for this process's claims.
fn uuid_like() -> String {
    use rand::Rng;
    let n: u64 = rand::rng().random();
    format!("{n:016x}")
}

struct ItemHandler(Arc<SyncEngine>);

#[async_trait]
impl JobHandler for ItemHandler {
    async fn run(&self, job: &Job) -> Result<(), JobError> {
        let id = job
            .payload
            .get("item")
            .and_then(serde_json::Value::as_i64)
            .ok_or_else(|| JobError::Permanent("sync_item job without an item id".into()))?;
        self.0
            .carry(id)
            .await
            .map_err(|e| JobError::Retry(e.to_string()))
    }
}

struct ScanHandler(Arc<SyncEngine>);

#[async_trait]
impl JobHandler for ScanHandler {
    async fn run(&self, job: &Job) -> Result<(), JobError> {
        let id = job
            .payload
            .get("pair")
            .and_then(serde_json::Value::as_i64)
            .ok_or_else(|| JobError::Permanent("sync_scan job without a pair id".into()))?;
        self.0
            .scan(id)
            .await
            .map_err(|e| JobError::Retry(e.to_string()))
    }
}
