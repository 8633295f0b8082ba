//! Sync pairs as people manage them: checked against both trackers before
//! anything is saved (projects, the Jira issue type, statuses and the JQL
//! scope), activated so that nothing older than the activation crosses
//! over, previewed without writing, and each item retried by hand.

use std::collections::BTreeMap;

use cairn_connect::gitlab::ProjectRef;
use cairn_core::authz::{Action, ConnectionFacts, ConnectionOp};
use cairn_core::integrations::IntegrationKind;
use cairn_core::sync::settings::check_label_scope;
use cairn_core::sync::{
    FieldPolicies, ItemState, JiraStatus, Side, SideScope, StatusCategory, StatusMapEntry,
    StatusMapping, SyncItemState, decide, plan_create,
};
use cairn_store::sync::{
    SyncConflict, SyncItem, SyncItemCounts, SyncOperation, SyncPair, SyncPairSettings, SyncRun,
    SyncSide,
};
use cairn_store::{Connection, NewAuditEntry};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::SyncEngine;
use super::people::place_assignee;
use super::releases::place_release;
use super::side::PairReadback;
use crate::accounts::Authenticated;
use crate::error::{EngineError, authorize};

/// One side as a person gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SideInput {
    pub connection_id: i64,
    /// GitLab: project path or id; Jira: project key.
    pub project: String,
    /// GitLab: labels an issue must all carry.
    #[serde(default)]
    pub labels: Vec<String>,
    /// Jira: a JQL condition joined to the project by AND.
    #[serde(default)]
    pub jql: Option<String>,
}

/// A status's mapping as a person gives it: by id or by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusMapInput {
    pub status: String,
    pub state: ItemState,
    #[serde(default)]
    pub primary: bool,
}

/// A pair as a person gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PairInput {
    pub name: String,
    pub left: SideInput,
    pub right: SideInput,
    #[serde(default)]
    pub active: bool,
    /// Items created before this are not brought across; default: the
    /// moment the pair is first activated.
    #[serde(default)]
    pub created_after: Option<DateTime<Utc>>,
    #[serde(default)]
    pub fields: FieldPolicies,
    /// For a Jira side; default: `done` statuses closed, the rest opened.
    #[serde(default)]
    pub status_mapping: Option<Vec<StatusMapInput>>,
    /// Values for fields Jira transitions require; default resolution Done.
    #[serde(default)]
    pub transition_defaults: Option<BTreeMap<String, String>>,
    /// For a Jira side: the issue type (name or id) of created issues;
    /// default Task, else the project's first non-sub-task type.
    #[serde(default)]
    pub jira_issue_type: Option<String>,
    #[serde(default)]
    pub scan_interval_secs: Option<i64>,
    /// Whether deleting a comment also deletes its copy on the other side
    /// (default off).
    #[serde(default)]
    pub delete_comment_copies: bool,
    /// How far back each scan reads beyond the last one (the seed's time
    /// offset); default the engine's.
    #[serde(default)]
    pub scan_overlap_secs: Option<i64>,
    /// Whether people are mapped automatically: by email where both
    /// sides show one, then by a full name that occurs once on each side
    /// (default off: only manual mappings).
    #[serde(default)]
    pub auto_map_people: bool,
}

/// The longest scan overlap a pair may set: clocks a day apart are a
/// misconfiguration to fix, not to work around by rereading a day each scan.
pub const MAX_SCAN_OVERLAP_SECS: i64 = 24 * 3600;

/// A pair with how it is doing.
#[derive(Debug, Clone, Serialize)]
pub struct PairView {
    #[serde(flatten)]
    pub pair: SyncPair,
    pub items: SyncItemCounts,
}

fn upstream(field: &str, error: cairn_connect::ConnectError) -> EngineError {
    match error.status() {
        Some(400) => {
            let messages = error.server_messages();
            EngineError::invalid(
                field,
                if messages.is_empty() {
                    "the tracker refused it".to_owned()
                } else {
                    messages.join(" ")
                },
            )
        }
        Some(404) => EngineError::invalid(
            field,
            "the tracker has no such project this connection can see",
        ),
        _ => {
            let d = error.diagnosis();
            EngineError::invalid(field, format!("{} {}", d.summary, d.hint))
        }
    }
}

impl SyncEngine {
    pub(super) async fn usable_connection(
        &self,
        by: &Authenticated,
        field: &str,
        connection_id: i64,
    ) -> Result<Connection, EngineError> {
        let not_found = || {
            EngineError::invalid(
                field,
                format!("there is no connection {connection_id} you may use"),
            )
        };
        let connection = self
            .store
            .get_connection(connection_id)
            .await?
            .ok_or_else(not_found)?;
        authorize(
            Some(by.actor()),
            Action::Connection(
                ConnectionOp::Use,
                ConnectionFacts {
                    owner_id: connection.owner_id,
                    shared: connection.shared,
                },
            ),
        )
        .map_err(|_| not_found())?;
        Ok(connection)
    }

    /// Checks one side against its tracker: the project's id as the
    /// tracker knows it, and for Jira its statuses and issue types.
    async fn check_side(
        &self,
        by: &Authenticated,
        name: &str,
        input: &SideInput,
    ) -> Result<(Connection, SyncSide, Option<JiraFacts>), EngineError> {
        let connection = self
            .usable_connection(by, &format!("{name}.connection_id"), input.connection_id)
            .await?;
        let project_field = format!("{name}.project");
        if input.project.trim().is_empty() {
            return Err(EngineError::invalid(&project_field, "name the project"));
        }
        match connection.kind {
            IntegrationKind::Gitlab => {
                if input.jql.is_some() {
                    return Err(EngineError::invalid(
                        &format!("{name}.jql"),
                        "a GitLab side is scoped by labels, not JQL",
                    ));
                }
                check_label_scope(
                    if name == "left" {
                        "left.labels"
                    } else {
                        "right.labels"
                    },
                    &input.labels,
                )
                .map_err(|e| EngineError::invalid(&format!("{name}.labels"), e.to_string()))?;
                let client = self.clients.gitlab(&connection)?;
                let project = client
                    .project(&ProjectRef::from(input.project.trim()))
                    .await
                    .map_err(|e| upstream(&project_field, e))?;
                Ok((
                    connection,
                    SyncSide {
                        connection_id: input.connection_id,
                        project: input.project.trim().to_owned(),
                        project_id: project.id.to_string(),
                        scope: SideScope {
                            labels: input.labels.clone(),
                            jql: None,
                        },
                    },
                    None,
                ))
            }
            IntegrationKind::Jira => {
                if !input.labels.is_empty() {
                    return Err(EngineError::invalid(
                        &format!("{name}.labels"),
                        "a Jira side is scoped by JQL (e.g. `labels = sync`)",
                    ));
                }
                let client = self.clients.jira(&connection)?;
                let key = input.project.trim().to_uppercase();
                let project = client
                    .project(&key)
                    .await
                    .map_err(|e| upstream(&project_field, e))?;
                let key = project.key.clone().unwrap_or(key);
                let jql = input
                    .jql
                    .as_ref()
                    .map(|j| j.trim().to_owned())
                    .filter(|j| !j.is_empty());
                if let Some(scope) = &jql {
                    let query = format!("project = \"{key}\" AND ({scope})");
                    client
                        .search(&query, &["summary"])
                        .page_size(1)
                        .next_page()
                        .await
                        .map_err(|e| upstream(&format!("{name}.jql"), e))?;
                }
                let mut statuses: Vec<JiraStatus> = Vec::new();
                for kind in client
                    .project_statuses(&key)
                    .await
                    .map_err(|e| upstream(&project_field, e))?
                {
                    for status in kind.statuses {
                        let id = status.id.clone().unwrap_or_default();
                        if id.is_empty() || statuses.iter().any(|s| s.id == id) {
                            continue;
                        }
                        let category = status
                            .status_category
                            .as_ref()
                            .and_then(|c| StatusCategory::parse(&c.key))
                            .unwrap_or(StatusCategory::Indeterminate);
                        statuses.push(JiraStatus {
                            id,
                            name: status.name.clone(),
                            category,
                        });
                    }
                }
                Ok((
                    connection,
                    SyncSide {
                        connection_id: input.connection_id,
                        project: input.project.trim().to_owned(),
                        project_id: key,
                        scope: SideScope {
                            labels: Vec::new(),
                            jql,
                        },
                    },
                    Some(JiraFacts {
                        statuses,
                        issue_types: project
                            .issue_types
                            .iter()
                            .filter(|t| !t.subtask)
                            .filter_map(|t| t.id.clone().map(|id| (id, t.name.clone())))
                            .collect(),
                    }),
                ))
            }
            other => Err(EngineError::invalid(
                &format!("{name}.connection_id"),
                format!(
                    "a {} connection cannot be a side of a sync pair",
                    other.as_str()
                ),
            )),
        }
    }

    /// Checks a whole input against both trackers; nothing is saved.
    async fn settings_from(
        &self,
        by: &Authenticated,
        owner_id: i64,
        input: &PairInput,
    ) -> Result<SyncPairSettings, EngineError> {
        let name = input.name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(EngineError::invalid(
                "name",
                "give the pair a name of 1 to 200 characters",
            ));
        }
        let (left_connection, left, left_jira) = self.check_side(by, "left", &input.left).await?;
        let (right_connection, right, right_jira) =
            self.check_side(by, "right", &input.right).await?;
        if left_connection.kind == IntegrationKind::Jira
            && right_connection.kind == IntegrationKind::Jira
        {
            return Err(EngineError::invalid(
                "right.connection_id",
                "a pair needs a GitLab side: GitLab with Jira, or GitLab with GitLab",
            ));
        }
        if left.connection_id == right.connection_id && left.project_id == right.project_id {
            return Err(EngineError::invalid(
                "right.project",
                "the left and right sides are the same project",
            ));
        }
        let scan = input
            .scan_interval_secs
            .unwrap_or(self.settings.default_scan_interval_secs);
        if scan < self.settings.min_scan_interval_secs {
            return Err(EngineError::invalid(
                "scan_interval_secs",
                format!("at least {} seconds", self.settings.min_scan_interval_secs),
            ));
        }
        let scan_overlap_secs = input
            .scan_overlap_secs
            .unwrap_or(self.settings.default_scan_overlap_secs);
        if !(0..=MAX_SCAN_OVERLAP_SECS).contains(&scan_overlap_secs) {
            return Err(EngineError::invalid(
                "scan_overlap_secs",
                format!("between 0 and {MAX_SCAN_OVERLAP_SECS} seconds (one day)"),
            ));
        }
        let jira = left_jira.or(right_jira);
        let (status_mapping, jira_issue_type) = match &jira {
            None => {
                if input.status_mapping.is_some() {
                    return Err(EngineError::invalid(
                        "status_mapping",
                        "only a pair with a Jira side maps statuses",
                    ));
                }
                (None, None)
            }
            Some(facts) => (
                Some(facts.mapping(input.status_mapping.as_deref())?),
                Some(facts.issue_type(input.jira_issue_type.as_deref())?),
            ),
        };
        Ok(SyncPairSettings {
            name: name.to_owned(),
            owner_id,
            active: input.active,
            left,
            right,
            created_after: input.created_after,
            fields: input.fields.clone(),
            status_mapping,
            transition_defaults: input
                .transition_defaults
                .clone()
                .unwrap_or_else(|| BTreeMap::from([("resolution".to_owned(), "Done".to_owned())])),
            jira_issue_type,
            scan_interval_secs: scan,
            delete_comment_copies: input.delete_comment_copies,
            scan_overlap_secs,
            auto_map_people: input.auto_map_people,
        })
    }

    /// The pair, if the caller may see it (404 otherwise).
    pub(super) async fn pair_for(
        &self,
        by: &Authenticated,
        id: i64,
    ) -> Result<SyncPair, EngineError> {
        let pair = self
            .store
            .get_sync_pair(id)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("no sync pair {id}")))?;
        authorize(
            Some(by.actor()),
            Action::SyncPair {
                owner_id: pair.settings.owner_id,
            },
        )
        .map_err(|e| match e {
            EngineError::NotFound(_) => EngineError::NotFound(format!("no sync pair {id}")),
            other => other,
        })?;
        Ok(pair)
    }

    async fn view(&self, pair: SyncPair) -> Result<PairView, EngineError> {
        let items = self.store.sync_item_counts(pair.id).await?;
        Ok(PairView { pair, items })
    }

    /// The pairs the caller may see: their own, or all for an admin.
    pub async fn list_pairs(&self, by: &Authenticated) -> Result<Vec<PairView>, EngineError> {
        let mut views = Vec::new();
        for pair in self.store.list_sync_pairs().await? {
            let visible = authorize(
                Some(by.actor()),
                Action::SyncPair {
                    owner_id: pair.settings.owner_id,
                },
            )
            .is_ok();
            if visible {
                views.push(self.view(pair).await?);
            }
        }
        Ok(views)
    }

    pub async fn get_pair(&self, by: &Authenticated, id: i64) -> Result<PairView, EngineError> {
        let pair = self.pair_for(by, id).await?;
        self.view(pair).await
    }

    /// Creates a pair owned by the caller.
    pub async fn create_pair(
        &self,
        by: &Authenticated,
        input: &PairInput,
        now: DateTime<Utc>,
    ) -> Result<PairView, EngineError> {
        authorize(Some(by.actor()), Action::CreateSyncPair)?;
        let mut settings = self.settings_from(by, by.user.id, input).await?;
        let activated_at = activation(&mut settings, None, now);
        let mut tx = self.store.begin().await?;
        let id = tx.insert_sync_pair(&settings, now).await?;
        if activated_at.is_some() {
            tx.update_sync_pair(id, &settings, activated_at, now)
                .await?;
        }
        tx.append_audit(
            &audit(by, "sync_pair.create", id, json!({ "name": settings.name })),
            now,
        )
        .await?;
        tx.commit().await?;
        let pair = self
            .store
            .get_sync_pair(id)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("no sync pair {id}")))?;
        if pair.settings.active {
            self.start(&pair, now).await?;
        }
        self.view(pair).await
    }

    /// Replaces a pair's settings (its owner stays).
    pub async fn update_pair(
        &self,
        by: &Authenticated,
        id: i64,
        input: &PairInput,
        now: DateTime<Utc>,
    ) -> Result<PairView, EngineError> {
        let before = self.pair_for(by, id).await?;
        let mut settings = self
            .settings_from(by, before.settings.owner_id, input)
            .await?;
        if settings.created_after.is_none() {
            settings.created_after = before.settings.created_after;
        }
        let activated_at = activation(&mut settings, Some(&before), now);
        let mut tx = self.store.begin().await?;
        tx.update_sync_pair(id, &settings, activated_at, now)
            .await?;
        tx.append_audit(
            &audit(
                by,
                "sync_pair.update",
                id,
                json!({ "active": settings.active }),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        let pair = self
            .store
            .get_sync_pair(id)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("no sync pair {id}")))?;
        if pair.settings.active && !before.settings.active {
            self.start(&pair, now).await?;
        }
        self.view(pair).await
    }

    /// Deletes a pair with its links and logs; the items stay on both
    /// trackers.
    pub async fn delete_pair(
        &self,
        by: &Authenticated,
        id: i64,
        now: DateTime<Utc>,
    ) -> Result<(), EngineError> {
        let pair = self.pair_for(by, id).await?;
        let mut tx = self.store.begin().await?;
        tx.delete_sync_pair(id).await?;
        tx.append_audit(
            &audit(
                by,
                "sync_pair.delete",
                id,
                json!({ "name": pair.settings.name }),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// On activation: a scan now, and every item that waited.
    async fn start(&self, pair: &SyncPair, now: DateTime<Utc>) -> Result<(), EngineError> {
        let mut jobs = vec![
            cairn_store::NewJob::new(super::SCAN_KIND, json!({ "pair": pair.id }), now)
                .with_dedupe_key(format!("{}:{}", super::SCAN_KIND, pair.id)),
        ];
        let mut after = 0;
        loop {
            let waiting = self
                .store
                .list_sync_items(pair.id, Some(SyncItemState::Pending), after, 500)
                .await?;
            let Some(last) = waiting.last() else {
                break;
            };
            after = last.id;
            for item in &waiting {
                jobs.push(
                    cairn_store::NewJob::new(super::ITEM_KIND, json!({ "item": item.id }), now)
                        .with_dedupe_key(format!("{}:{}", super::ITEM_KIND, item.id)),
                );
            }
        }
        self.store.enqueue_many(&jobs, now).await?;
        Ok(())
    }

    /// Runs the pair's reconciliation scan now (as a job), instead of at
    /// its next interval.
    pub async fn scan_now(
        &self,
        by: &Authenticated,
        pair_id: i64,
        now: DateTime<Utc>,
    ) -> Result<(), EngineError> {
        let pair = self.pair_for(by, pair_id).await?;
        if !pair.settings.active {
            return Err(EngineError::Conflict {
                field: Some("active".to_owned()),
                message: "the pair is inactive: activate it to scan".to_owned(),
            });
        }
        let job = cairn_store::NewJob::new(super::SCAN_KIND, json!({ "pair": pair.id }), now)
            .with_dedupe_key(format!("{}:{}", super::SCAN_KIND, pair.id));
        self.store.enqueue(job, now).await?;
        Ok(())
    }

    /// A pair's items, optionally in one state.
    pub async fn list_items(
        &self,
        by: &Authenticated,
        pair_id: i64,
        state: Option<SyncItemState>,
        after_id: i64,
        limit: u32,
    ) -> Result<Vec<SyncItem>, EngineError> {
        self.pair_for(by, pair_id).await?;
        Ok(self
            .store
            .list_sync_items(pair_id, state, after_id, limit.clamp(1, 500))
            .await?)
    }

    /// Tries an item again now (a paused one too: the fuse is reset).
    pub async fn retry_item(
        &self,
        by: &Authenticated,
        pair_id: i64,
        item_id: i64,
        now: DateTime<Utc>,
    ) -> Result<SyncItem, EngineError> {
        let pair = self.pair_for(by, pair_id).await?;
        let mut item = self
            .store
            .get_sync_item(item_id)
            .await?
            .filter(|i| i.pair_id == pair.id)
            .ok_or_else(|| {
                EngineError::NotFound(format!("no item {item_id} in sync pair {pair_id}"))
            })?;
        if item.state == SyncItemState::Paused {
            item.fuse.reset();
        }
        item.state = SyncItemState::Pending;
        item.next_attempt_at = None;
        let mut tx = self.store.begin().await?;
        tx.save_sync_item(&item, "", None, now).await?;
        tx.commit().await?;
        if pair.settings.active {
            self.enqueue_item(item.id, now).await?;
        }
        Ok(item)
    }

    pub async fn list_conflicts(
        &self,
        by: &Authenticated,
        pair_id: i64,
        limit: u32,
    ) -> Result<Vec<SyncConflict>, EngineError> {
        self.pair_for(by, pair_id).await?;
        Ok(self
            .store
            .list_sync_conflicts(pair_id, limit.clamp(1, 500))
            .await?)
    }

    pub async fn list_runs(
        &self,
        by: &Authenticated,
        pair_id: i64,
        limit: u32,
    ) -> Result<Vec<SyncRun>, EngineError> {
        self.pair_for(by, pair_id).await?;
        Ok(self
            .store
            .list_sync_runs(pair_id, limit.clamp(1, 500))
            .await?)
    }

    pub async fn list_operations(
        &self,
        by: &Authenticated,
        pair_id: i64,
        item_id: Option<i64>,
        limit: u32,
    ) -> Result<Vec<SyncOperation>, EngineError> {
        self.pair_for(by, pair_id).await?;
        Ok(self
            .store
            .list_sync_operations(pair_id, item_id, limit.clamp(1, 500))
            .await?)
    }

    /// What the pair would do now, item by item, writing nothing on either
    /// side: the creates for items in scope without a twin (created on or
    /// after the pair's date, or from now for a pair never activated) and
    /// the changes for linked items.
    pub async fn preview(
        &self,
        by: &Authenticated,
        pair_id: i64,
        now: DateTime<Utc>,
    ) -> Result<Vec<PreviewEntry>, EngineError> {
        let pair = self.pair_for(by, pair_id).await?;
        let created_after = pair
            .settings
            .created_after
            .or(pair.activated_at)
            .unwrap_or(now);
        let left = self.side_client(&pair, Side::Left).await?;
        let right = self.side_client(&pair, Side::Right).await?;
        let readback = PairReadback {
            left: left.readback(),
            right: right.readback(),
        };
        let people = self
            .people_map(&pair, &left, &right)
            .await
            .map_err(|e| match e {
                super::item::CarryError::Store(e) => e,
                super::item::CarryError::Failure(f) => {
                    EngineError::invalid("auto_map_people", f.message().to_owned())
                }
            })?;
        // Releases first: a person links those that exist on both sides
        // under other names before they are created.
        let mut entries = self.preview_releases(&pair, &left, &right).await?;
        let release_links = self.release_links(pair.id).await?;
        for (side, client) in [(Side::Left, &left), (Side::Right, &right)] {
            let other = match side {
                Side::Left => &right,
                Side::Right => &left,
            };
            let items = client
                .updated_since(created_after, created_after)
                .await
                .map_err(|f| {
                    EngineError::invalid(&format!("{side}.project"), f.message().to_owned())
                })?;
            for mut read in items {
                place_assignee(&people, side, &mut read);
                place_release(&release_links, side, &mut read);
                let linked = self
                    .store
                    .find_sync_item(pair.id, side, &read.reference.id)
                    .await?;
                let entry = match linked {
                    Some(item) if item.remote(side.other()).is_some() => {
                        if side == Side::Right {
                            // Linked items are shown once, from the left.
                            continue;
                        }
                        let twin_ref = item.remote(side.other()).cloned();
                        let twin = match &twin_ref {
                            Some(r) => other.read(&r.id).await.map_err(|f| {
                                EngineError::invalid(
                                    &format!("{}.project", side.other()),
                                    f.message().to_owned(),
                                )
                            })?,
                            None => None,
                        };
                        let Some(mut twin) = twin else { continue };
                        place_assignee(&people, side.other(), &mut twin);
                        place_release(&release_links, side.other(), &mut twin);
                        let plan = decide(
                            &pair.settings.fields,
                            &item.shadow,
                            &read.observed,
                            &twin.observed,
                            &readback,
                        );
                        if plan.writes_nothing() {
                            continue;
                        }
                        let mut changes = Vec::new();
                        for (target, writes) in
                            [(Side::Left, &plan.left), (Side::Right, &plan.right)]
                        {
                            let before = match target {
                                Side::Left => &read.observed.values,
                                Side::Right => &twin.observed.values,
                            };
                            for (field, value) in writes {
                                changes.push(PreviewChange {
                                    side: target,
                                    field: field.as_str().to_owned(),
                                    before: before.get(*field).summary(2_000),
                                    after: value.summary(2_000),
                                });
                            }
                        }
                        PreviewEntry {
                            action: "update",
                            left: Some(read.reference.clone()),
                            right: twin_ref,
                            title: read.observed.values.title.clone(),
                            changes,
                        }
                    }
                    _ => {
                        if read.marker.as_ref().is_some_and(|m| m.pair_id == pair.id)
                            || !client.admits(&pair, side, &read)
                        {
                            continue;
                        }
                        let create = plan_create(
                            &pair.settings.fields,
                            side,
                            &read.observed.values,
                            &readback,
                        );
                        let changes = cairn_core::sync::SyncField::ALL
                            .iter()
                            .map(|f| PreviewChange {
                                side: side.other(),
                                field: f.as_str().to_owned(),
                                before: String::new(),
                                after: create.values.get(*f).summary(2_000),
                            })
                            .collect();
                        let (l, r) = match side {
                            Side::Left => (Some(read.reference.clone()), None),
                            Side::Right => (None, Some(read.reference.clone())),
                        };
                        PreviewEntry {
                            action: "create",
                            left: l,
                            right: r,
                            title: read.observed.values.title.clone(),
                            changes,
                        }
                    }
                };
                entries.push(entry);
            }
        }
        Ok(entries)
    }
}

/// One item in a preview.
#[derive(Debug, Clone, Serialize)]
pub struct PreviewEntry {
    /// `create` (the twin would be created), `update`, or
    /// `create_release` (a milestone or version, named by `left` or
    /// `right` and `title`, would be created on the other side).
    pub action: &'static str,
    pub left: Option<cairn_store::sync::RemoteRef>,
    pub right: Option<cairn_store::sync::RemoteRef>,
    pub title: String,
    pub changes: Vec<PreviewChange>,
}

/// One field a preview would write.
#[derive(Debug, Clone, Serialize)]
pub struct PreviewChange {
    /// The side written.
    pub side: Side,
    pub field: String,
    pub before: String,
    pub after: String,
}

/// What a Jira side's project offers.
struct JiraFacts {
    statuses: Vec<JiraStatus>,
    /// Non-sub-task issue types: (id, name).
    issue_types: Vec<(String, String)>,
}

impl JiraFacts {
    fn mapping(&self, given: Option<&[StatusMapInput]>) -> Result<StatusMapping, EngineError> {
        let Some(given) = given else {
            return Ok(StatusMapping::suggest(&self.statuses));
        };
        let mut entries = Vec::new();
        for entry in given {
            let status = self
                .statuses
                .iter()
                .find(|s| s.id == entry.status || s.name.eq_ignore_ascii_case(entry.status.trim()))
                .ok_or_else(|| {
                    EngineError::invalid(
                        "status_mapping",
                        format!(
                            "Jira status `{}` is not a status of the project",
                            entry.status
                        ),
                    )
                })?;
            entries.push(StatusMapEntry {
                status_id: status.id.clone(),
                name: status.name.clone(),
                state: entry.state,
                primary: entry.primary,
            });
        }
        let mapping = StatusMapping(entries);
        mapping
            .validate(&self.statuses)
            .map_err(|e| EngineError::invalid(e.field(), e.to_string()))?;
        Ok(mapping)
    }

    fn issue_type(&self, given: Option<&str>) -> Result<String, EngineError> {
        let found = match given.map(str::trim) {
            Some(wanted) => self
                .issue_types
                .iter()
                .find(|(id, name)| id == wanted || name.eq_ignore_ascii_case(wanted)),
            None => self
                .issue_types
                .iter()
                .find(|(_, name)| name.eq_ignore_ascii_case("task"))
                .or_else(|| self.issue_types.first()),
        };
        found.map(|(id, _)| id.clone()).ok_or_else(|| {
            EngineError::invalid(
                "jira_issue_type",
                match given {
                    Some(wanted) => format!("the Jira project has no issue type `{wanted}`"),
                    None => "the Jira project has no issue type Cairn could create".to_owned(),
                },
            )
        })
    }
}

/// Sets what activating does: the first activation fixes `created_after`
/// (to now unless given) and is returned as the activation time.
fn activation(
    settings: &mut SyncPairSettings,
    before: Option<&SyncPair>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let already = before.and_then(|b| b.activated_at);
    if !settings.active || already.is_some() {
        return None;
    }
    if settings.created_after.is_none() {
        settings.created_after = Some(now);
    }
    Some(now)
}

pub(super) fn audit(
    by: &Authenticated,
    action: &str,
    id: i64,
    detail: serde_json::Value,
) -> NewAuditEntry {
    NewAuditEntry {
        actor: by.user.email.clone(),
        action: action.to_owned(),
        subject: format!("sync_pair:{id}"),
        detail,
    }
}
