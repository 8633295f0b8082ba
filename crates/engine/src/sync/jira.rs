//! A Jira side: a project's issues (by issue id), descriptions converted
//! between GitLab Markdown and ADF (Cloud, API v3) or wiki markup (Data
//! Center, API v2), statuses through the pair's mapping and the workflow,
//! and Cairn's mark as an entity property set in the create call itself.

use std::collections::BTreeMap;
use std::sync::Mutex;

use cairn_connect::JiraClient;
use cairn_connect::jira::{JiraIssue, JiraTransition};
use cairn_core::sync::marker::PROPERTY_KEY;
use cairn_core::sync::workflow::unfilled_fields;
use cairn_core::sync::{
    Assignee, CommentAuthor, FieldValue, ItemState, ItemValues, Marker, Observed, OriginComment,
    Readback, ReleaseValue, Side, SideScope, StatusMapping, Step, SyncField, Transition, Workflow,
    normalize_description,
};
use cairn_store::sync::RemoteRef;
use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value, json};

use super::side::{Failure, RemoteItem};

/// The fields sync reads.
pub(crate) const FIELDS: &[&str] = &[
    "assignee",
    "fixVersions",
    "summary",
    "description",
    "status",
    "labels",
    "duedate",
    "updated",
    "created",
    "issuetype",
    "project",
];

/// Most transitions taken to reach one status.
const MAX_STEPS: usize = 8;

/// How far before an interrupted create's intent its issue may have been
/// created.
const CLOCK_SLACK_MINUTES: i64 = 5;

/// A Jira issue's workflow position, which the tracker-neutral item does
/// not carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JiraPosition {
    pub status_id: String,
    pub issue_type_id: String,
}

pub(crate) struct JiraSide {
    pub client: JiraClient,
    pub project_key: String,
    pub scope: SideScope,
    pub mapping: StatusMapping,
    pub issue_type: Option<String>,
    pub transition_defaults: BTreeMap<String, String>,
    /// Learned as transitions are read; the caller stores them back.
    pub workflows: Mutex<BTreeMap<String, Workflow>>,
    pub cloud: bool,
    pub readback: JiraReadback,
    /// Where each issue read stands in its workflow, by issue id.
    positions: Mutex<BTreeMap<String, JiraPosition>>,
}

fn failure(what: &str, error: &cairn_connect::ConnectError) -> Failure {
    Failure::from_connect("Jira", what, error)
}

/// Jira labels cannot hold spaces; Cairn writes them with underscores.
pub(crate) fn jira_label(label: &str) -> String {
    label.split_whitespace().collect::<Vec<_>>().join("_")
}

/// GitLab Markdown from a Jira description in either format.
pub(crate) fn description_markdown(value: Option<&Value>) -> String {
    let markdown = match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(wiki)) => cairn_markup::wiki_to_markdown(wiki),
        Some(adf) => cairn_markup::adf_to_markdown(adf).unwrap_or_else(|_| adf.to_string()),
    };
    normalize_description(&markdown)
}

/// How values written to Jira read back: descriptions through Jira's
/// format (ADF or wiki markup through the API, wiki markup in webhooks),
/// labels with underscores for spaces.
pub(crate) struct JiraReadback {
    pub cloud: bool,
}

impl Readback for JiraReadback {
    fn read_back(&self, _side: Side, field: SyncField, value: &FieldValue) -> Vec<FieldValue> {
        match (field, value) {
            (SyncField::Description, FieldValue::Text(md)) => {
                let wiki = cairn_markup::markdown_to_wiki(md);
                let mut forms = vec![
                    FieldValue::Text(normalize_description(md)),
                    FieldValue::Text(description_markdown(Some(&Value::String(wiki)))),
                ];
                if self.cloud {
                    let adf = cairn_markup::markdown_to_adf(md);
                    forms.push(FieldValue::Text(description_markdown(Some(&adf))));
                }
                forms
            }
            (SyncField::Labels, FieldValue::Labels(labels)) => {
                vec![FieldValue::Labels(
                    labels.iter().map(|l| jira_label(l)).collect(),
                )]
            }
            _ => vec![value.clone()],
        }
    }
}

impl JiraSide {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        client: JiraClient,
        project_key: String,
        scope: SideScope,
        mapping: StatusMapping,
        issue_type: Option<String>,
        transition_defaults: BTreeMap<String, String>,
        workflows: BTreeMap<String, Workflow>,
        cloud: bool,
    ) -> JiraSide {
        JiraSide {
            client,
            project_key,
            scope,
            mapping,
            issue_type,
            transition_defaults,
            workflows: Mutex::new(workflows),
            cloud,
            readback: JiraReadback { cloud },
            positions: Mutex::default(),
        }
    }

    pub fn api_calls(&self) -> u64 {
        self.client.api_calls()
    }

    /// Where an issue read earlier stands in its workflow.
    pub fn position(&self, issue_id: &str) -> Option<JiraPosition> {
        self.positions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(issue_id)
            .cloned()
    }

    /// Records where an issue stands in its workflow, as a webhook said.
    pub fn note_position(&self, issue_id: &str, status_id: &str, issue_type_id: &str) {
        self.positions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                issue_id.to_owned(),
                JiraPosition {
                    status_id: status_id.to_owned(),
                    issue_type_id: issue_type_id.to_owned(),
                },
            );
    }

    pub fn readback(&self) -> &dyn Readback {
        &self.readback
    }

    /// The workflows as learned so far.
    pub fn learned_workflows(&self) -> BTreeMap<String, Workflow> {
        self.workflows
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn browse_url(&self, key: &str) -> String {
        let base = self.client.base_url().as_str().trim_end_matches('/');
        format!("{base}/browse/{key}")
    }

    /// A Jira issue as a sync item; fails when its status is not mapped.
    pub fn remote_item(&self, issue: &JiraIssue) -> Result<RemoteItem, Failure> {
        let fields = &issue.fields;
        let status = fields.status.clone().unwrap_or_default();
        let status_id = status.id.clone().unwrap_or_default();
        let state = self.mapping.state_of(&status_id).ok_or_else(|| {
            Failure::Refused(format!(
                "Jira status `{}` of {} is not in the pair's status mapping; map it to opened or closed",
                status.name, issue.key
            ))
        })?;
        let marker = issue
            .properties
            .get(PROPERTY_KEY)
            .and_then(|v| serde_json::from_value::<Marker>(v.clone()).ok());
        self.positions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                issue.id.clone(),
                JiraPosition {
                    status_id,
                    issue_type_id: fields
                        .issuetype
                        .as_ref()
                        .and_then(|t| t.id.clone())
                        .unwrap_or_default(),
                },
            );
        Ok(RemoteItem {
            reference: RemoteRef {
                id: issue.id.clone(),
                key: issue.key.clone(),
                url: self.browse_url(&issue.key),
            },
            observed: Observed {
                values: ItemValues {
                    title: fields.summary.clone().unwrap_or_default(),
                    description: description_markdown(fields.description.as_ref()),
                    state,
                    labels: fields.labels.iter().cloned().collect(),
                    due_date: fields.duedate,
                    assignee: Assignee::read(
                        fields
                            .assignee
                            .as_ref()
                            .and_then(|a| a.id())
                            .map(str::to_owned),
                    ),
                    // GitLab has one milestone; of several fix versions
                    // the first, in Jira's order, is carried.
                    milestone: ReleaseValue::read(
                        fields.fix_versions.first().map(|v| v.id.clone()),
                    ),
                },
                updated_at: fields.updated.or(fields.created).unwrap_or_default(),
            },
            marker,
            created_at: fields.created,
            labels: fields.labels.clone(),
        })
    }

    pub async fn read(&self, id: &str) -> Result<Option<RemoteItem>, Failure> {
        match self
            .client
            .issue_with(id, FIELDS, &[PROPERTY_KEY], false)
            .await
        {
            Ok(issue) => self.remote_item(&issue).map(Some),
            Err(e) if e.status() == Some(404) => Ok(None),
            Err(e) => Err(failure(&format!("reading issue {id}"), &e)),
        }
    }

    fn project_jql(&self) -> String {
        let key = self.project_key.replace('"', "\\\"");
        match &self.scope.jql {
            Some(scope) if !scope.trim().is_empty() => format!("project = \"{key}\" AND ({scope})"),
            _ => format!("project = \"{key}\""),
        }
    }

    async fn search(&self, jql: &str, what: &str) -> Result<Vec<RemoteItem>, Failure> {
        let issues = self
            .client
            .search(jql, FIELDS)
            .properties(&[PROPERTY_KEY])
            .collect_all()
            .await
            .map_err(|e| failure(what, &e))?;
        issues.iter().map(|i| self.remote_item(i)).collect()
    }

    /// Whether the issue matches the pair's JQL scope, asked of Jira (a
    /// webhook cannot tell); true without a JQL scope.
    pub async fn in_jql_scope(&self, key: &str) -> Result<bool, Failure> {
        if self
            .scope
            .jql
            .as_deref()
            .is_none_or(|j| j.trim().is_empty())
        {
            return Ok(true);
        }
        let jql = format!(
            "{} AND key = \"{}\"",
            self.project_jql(),
            key.replace('"', "\\\"")
        );
        let issues = self
            .client
            .search(&jql, &["summary"])
            .collect_all()
            .await
            .map_err(|e| failure("checking the pair's JQL scope", &e))?;
        Ok(!issues.is_empty())
    }

    pub async fn updated_since(
        &self,
        since: DateTime<Utc>,
        created_after: DateTime<Utc>,
    ) -> Result<Vec<RemoteItem>, Failure> {
        // Creation order: see `SideClient::updated_since`.
        let jql = format!(
            "{} AND updated >= {} AND created >= {} ORDER BY created ASC, key ASC",
            self.project_jql(),
            since.timestamp_millis(),
            created_after.timestamp_millis()
        );
        self.search(&jql, "listing changed issues").await
    }

    pub async fn find_marked(
        &self,
        marker: &Marker,
        since: DateTime<Utc>,
    ) -> Result<Option<RemoteItem>, Failure> {
        let key = self.project_key.replace('"', "\\\"");
        let jql = format!(
            "project = \"{key}\" AND created >= {} ORDER BY created ASC",
            (since - Duration::minutes(CLOCK_SLACK_MINUTES)).timestamp_millis()
        );
        let found = self
            .search(&jql, "looking for an issue Cairn may have created")
            .await?;
        Ok(found
            .into_iter()
            .find(|item| item.marker.as_ref() == Some(marker)))
    }

    fn description_value(&self, markdown: &str) -> Value {
        if markdown.trim().is_empty() {
            Value::Null
        } else if self.cloud {
            cairn_markup::markdown_to_adf(markdown)
        } else {
            Value::String(cairn_markup::markdown_to_wiki(markdown))
        }
    }

    fn field_changes(&self, changes: &BTreeMap<SyncField, FieldValue>) -> Map<String, Value> {
        let mut fields = Map::new();
        for (field, value) in changes {
            match (field, value) {
                (SyncField::Title, FieldValue::Text(t)) => {
                    fields.insert("summary".into(), json!(t));
                }
                (SyncField::Description, FieldValue::Text(t)) => {
                    fields.insert("description".into(), self.description_value(t));
                }
                (SyncField::Labels, FieldValue::Labels(l)) => {
                    let labels: Vec<String> = l.iter().map(|l| jira_label(l)).collect();
                    fields.insert("labels".into(), json!(labels));
                }
                (SyncField::DueDate, FieldValue::Date(d)) => {
                    fields.insert(
                        "duedate".into(),
                        d.map_or(Value::Null, |d| json!(d.format("%Y-%m-%d").to_string())),
                    );
                }
                (SyncField::Assignee, FieldValue::Person(a)) => {
                    // Cloud knows people by account id, Data Center by
                    // user name.
                    let key = if self.cloud { "accountId" } else { "name" };
                    fields.insert(
                        "assignee".into(),
                        a.tracker_id().map_or(Value::Null, |id| json!({ key: id })),
                    );
                }
                (SyncField::Milestone, FieldValue::Release(r)) => {
                    // The issue's fix versions become the one carried.
                    fields.insert(
                        "fixVersions".into(),
                        r.tracker_id().map_or(json!([]), |id| json!([{ "id": id }])),
                    );
                }
                _ => {}
            }
        }
        fields
    }

    pub async fn create(
        &self,
        values: &ItemValues,
        marker: &Marker,
    ) -> Result<RemoteItem, Failure> {
        let issue_type = self.issue_type.clone().ok_or_else(|| {
            Failure::Refused("the pair names no Jira issue type to create issues as".into())
        })?;
        let mut changes = BTreeMap::new();
        for field in [
            SyncField::Title,
            SyncField::Description,
            SyncField::Labels,
            SyncField::DueDate,
            SyncField::Assignee,
            SyncField::Milestone,
        ] {
            changes.insert(field, values.get(field));
        }
        if values.milestone.is_none() {
            // Not every create screen offers fix versions.
            changes.remove(&SyncField::Milestone);
        }
        let mut fields = self.field_changes(&changes);
        if fields.get("assignee") == Some(&Value::Null) {
            fields.remove("assignee");
        }
        if fields.get("description") == Some(&Value::Null) {
            fields.remove("description");
        }
        if fields.get("duedate") == Some(&Value::Null) {
            fields.remove("duedate");
        }
        fields.insert("project".into(), json!({ "key": self.project_key }));
        fields.insert("issuetype".into(), json!({ "id": issue_type }));
        let marker_value = serde_json::to_value(marker)
            .map_err(|e| Failure::Refused(format!("the mark cannot be written: {e}")))?;
        let created = self
            .client
            .create_issue(fields, &[(PROPERTY_KEY, marker_value)])
            .await
            .map_err(|e| failure("creating an issue", &e))?;
        let now = Utc::now();
        let mut item = RemoteItem {
            reference: RemoteRef {
                id: created.id.clone(),
                key: created.key.clone(),
                url: self.browse_url(&created.key),
            },
            observed: Observed {
                values: ItemValues {
                    state: ItemState::Opened,
                    ..values.clone()
                },
                updated_at: now,
            },
            marker: Some(marker.clone()),
            created_at: Some(now),
            labels: values.labels.iter().map(|l| jira_label(l)).collect(),
        };
        if values.state == ItemState::Closed {
            // Where the workflow put the new issue is Jira's to say.
            let fresh = self
                .read(&created.id)
                .await?
                .ok_or_else(|| Failure::Retry {
                    message: format!("{} was created but cannot be read yet", created.key),
                    after: None,
                    fault: None,
                })?;
            self.move_to(&fresh, ItemState::Closed).await?;
            item.observed.values.state = ItemState::Closed;
        }
        Ok(item)
    }

    pub async fn write(
        &self,
        item: &RemoteItem,
        changes: &BTreeMap<SyncField, FieldValue>,
    ) -> Result<(), Failure> {
        let fields = self.field_changes(changes);
        if !fields.is_empty() {
            self.client
                .edit_issue(&item.reference.id, fields)
                .await
                .map_err(|e| failure(&format!("editing {}", item.reference.key), &e))?;
        }
        if let Some(FieldValue::State(state)) = changes.get(&SyncField::State) {
            self.move_to(item, *state).await?;
        }
        Ok(())
    }

    /// Reads the transitions offered from each mapped status the workflow
    /// of this issue type does not know yet, on one issue standing in it
    /// (a search and a read per status; nothing is changed).
    async fn discover(&self, issue_type_id: &str) -> Result<(), Failure> {
        let unknown: Vec<String> = {
            let workflows = self.workflows.lock().unwrap_or_else(|e| e.into_inner());
            let workflow = workflows.get(issue_type_id);
            self.mapping
                .0
                .iter()
                .map(|e| e.status_id.clone())
                .filter(|id| !workflow.is_some_and(|w| w.knows(id)))
                .collect()
        };
        let key = self.project_key.replace('"', "\\\"");
        for status in unknown {
            let jql = format!(
                "project = \"{key}\" AND status = {status} AND issuetype = {issue_type_id}"
            );
            let mut search = self.client.search(&jql, &["status"]).page_size(1);
            let sample = search
                .next_page()
                .await
                .map_err(|e| failure("looking for an issue in each status", &e))?
                .and_then(|page| page.issues.into_iter().next());
            let Some(sample) = sample else {
                continue;
            };
            let offered: Vec<Transition> = self
                .client
                .transitions_with_fields(&sample.id)
                .await
                .map_err(|e| failure(&format!("reading the transitions of {}", sample.key), &e))?
                .iter()
                .map(Self::transition)
                .collect();
            self.workflows
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .entry(issue_type_id.to_owned())
                .or_default()
                .learn(&status, &offered);
        }
        Ok(())
    }

    fn transition(t: &JiraTransition) -> Transition {
        Transition {
            id: t.id.clone(),
            name: t.name.clone(),
            to: t.to.as_ref().and_then(|s| s.id.clone()).unwrap_or_default(),
            required_fields: t.required_fields(),
        }
    }

    /// Moves an issue through its workflow to the primary status of
    /// `state`, unless its status already maps to `state`.
    async fn move_to(&self, item: &RemoteItem, state: ItemState) -> Result<(), Failure> {
        let key = &item.reference.key;
        let position = self
            .positions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&item.reference.id)
            .cloned()
            .ok_or_else(|| Failure::Retry {
                message: format!("the workflow position of {key} was not read"),
                after: None,
                fault: None,
            })?;
        if self.mapping.state_of(&position.status_id) == Some(state) {
            return Ok(());
        }
        let target = self
            .mapping
            .primary(state)
            .ok_or_else(|| Failure::Refused(format!("no Jira status is primary for `{state}`")))?
            .to_owned();
        let mut current = position.status_id.clone();
        let mut visited = vec![current.clone()];
        let mut discovered = false;
        for _ in 0..MAX_STEPS {
            let offered: Vec<Transition> = self
                .client
                .transitions_with_fields(&item.reference.id)
                .await
                .map_err(|e| failure(&format!("reading the transitions of {key}"), &e))?
                .iter()
                .map(Self::transition)
                .collect();
            let step = {
                let mut workflows = self.workflows.lock().unwrap_or_else(|e| e.into_inner());
                workflows
                    .entry(position.issue_type_id.clone())
                    .or_default()
                    .next_step(&current, &offered, &target)
            };
            let step = match step {
                Step::Unreachable if !discovered => {
                    // Learn the statuses not seen yet from issues standing
                    // in them, then plan again.
                    discovered = true;
                    self.discover(&position.issue_type_id).await?;
                    let mut workflows = self.workflows.lock().unwrap_or_else(|e| e.into_inner());
                    workflows
                        .entry(position.issue_type_id.clone())
                        .or_default()
                        .next_step(&current, &offered, &target)
                }
                other => other,
            };
            let step = match step {
                Step::Unreachable => {
                    // Still no known path: step to a status not known yet
                    // that maps to the same state (moving there changes
                    // nothing on the other side), and look from there.
                    let known = self.workflows.lock().unwrap_or_else(|e| e.into_inner());
                    let workflow = known.get(&position.issue_type_id);
                    let here = self.mapping.state_of(&current);
                    offered
                        .iter()
                        .find(|t| {
                            !visited.contains(&t.to)
                                && !workflow.is_some_and(|w| w.knows(&t.to))
                                && self.mapping.state_of(&t.to) == here
                        })
                        .cloned()
                        .map_or(Step::Unreachable, Step::Take)
                }
                other => other,
            };
            match step {
                Step::Arrived => return Ok(()),
                Step::Unreachable => break,
                Step::Take(t) => {
                    let unfilled = unfilled_fields(&t, &self.transition_defaults);
                    if let Some(field) = unfilled.first() {
                        return Err(Failure::Refused(format!(
                            "Jira's transition `{}` of {key} requires `{field}`; set a default for it on the pair",
                            t.name
                        )));
                    }
                    let mut fields = Map::new();
                    for field in &t.required_fields {
                        if let Some(value) = self.transition_defaults.get(field) {
                            fields.insert(field.clone(), json!({ "name": value }));
                        }
                    }
                    self.client
                        .transition_with_fields(&item.reference.id, &t.id, fields)
                        .await
                        .map_err(|e| failure(&format!("moving {key} through `{}`", t.name), &e))?;
                    current = t.to.clone();
                    if visited.contains(&current) {
                        break;
                    }
                    visited.push(current.clone());
                    self.positions
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(
                            item.reference.id.clone(),
                            JiraPosition {
                                status_id: current.clone(),
                                issue_type_id: position.issue_type_id.clone(),
                            },
                        );
                    if current == target {
                        return Ok(());
                    }
                }
            }
        }
        Err(Failure::Refused(format!(
            "Jira cannot move {key} from `{}` to `{}`: no path through its workflow",
            self.mapping.name_of(&current),
            self.mapping.name_of(&target)
        )))
    }
}

impl JiraSide {
    fn comment_url(&self, item: &RemoteRef, id: &str) -> String {
        format!("{}?focusedCommentId={id}", self.browse_url(&item.key))
    }

    /// An issue's comments, oldest first, as GitLab Markdown.
    pub async fn comments(&self, item: &RemoteRef) -> Result<Vec<OriginComment>, Failure> {
        let comments = self
            .client
            .comments(&item.id)
            .await
            .map_err(|e| failure(&format!("reading the comments of {}", item.key), &e))?;
        Ok(comments
            .into_iter()
            .filter_map(|c| {
                let id = c.id.clone()?;
                Some(OriginComment {
                    url: self.comment_url(item, &id),
                    author: CommentAuthor {
                        id: c
                            .author
                            .as_ref()
                            .and_then(|a| a.id())
                            .unwrap_or_default()
                            .to_owned(),
                        name: c
                            .author
                            .as_ref()
                            .and_then(|a| a.display_name.clone().or_else(|| a.name.clone()))
                            .unwrap_or_default(),
                        mapped: false,
                    },
                    body: description_markdown(Some(&c.body)),
                    skip: false,
                    id,
                })
            })
            .collect())
    }

    fn comment_body(&self, markdown: &str) -> Value {
        if self.cloud {
            cairn_markup::markdown_to_adf(markdown)
        } else {
            Value::String(cairn_markup::markdown_to_wiki(markdown))
        }
    }

    pub async fn create_comment(
        &self,
        item: &RemoteRef,
        markdown: &str,
    ) -> Result<String, Failure> {
        let comment = self
            .client
            .add_comment_body(&item.id, self.comment_body(markdown))
            .await
            .map_err(|e| failure(&format!("adding a comment to {}", item.key), &e))?;
        comment.id.ok_or_else(|| Failure::Retry {
            message: format!("Jira added a comment to {} without naming it", item.key),
            after: None,
            fault: None,
        })
    }

    /// False when the comment is gone.
    pub async fn update_comment(
        &self,
        item: &RemoteRef,
        id: &str,
        markdown: &str,
    ) -> Result<bool, Failure> {
        match self
            .client
            .update_comment(&item.id, id, self.comment_body(markdown))
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if e.status() == Some(404) => Ok(false),
            Err(e) => Err(failure(
                &format!("editing comment {id} of {}", item.key),
                &e,
            )),
        }
    }

    pub async fn delete_comment(&self, item: &RemoteRef, id: &str) -> Result<(), Failure> {
        match self.client.delete_comment(&item.id, id).await {
            Ok(()) => Ok(()),
            Err(e) if e.status() == Some(404) => Ok(()),
            Err(e) => Err(failure(
                &format!("deleting comment {id} of {}", item.key),
                &e,
            )),
        }
    }

    /// The link to the twin is a remote link whose `globalId` names the
    /// pair and the twin: looked for before it is written when an earlier
    /// attempt may have written it, and Jira itself
    /// updates rather than adds a link with a known `globalId`, so a retry
    /// after a timeout never makes a second. Returns the link's id.
    pub async fn ensure_backlink(
        &self,
        pair_id: i64,
        item: &RemoteRef,
        twin: &RemoteRef,
        twin_tracker: &str,
        look_first: bool,
    ) -> Result<String, Failure> {
        let global_id = backlink_global_id(pair_id, twin);
        let what = format!("linking {} to {}", item.key, twin.key);
        let found = if look_first {
            self.client
                .remote_link_by_global_id(&item.id, &global_id)
                .await
                .map_err(|e| failure(&what, &e))?
        } else {
            None
        };
        if let Some(link) = found {
            return Ok(match link.get("id") {
                Some(Value::Number(n)) => n.to_string(),
                Some(Value::String(s)) => s.clone(),
                _ => global_id,
            });
        }
        let application = if twin_tracker == "GitLab" {
            ("com.gitlab", "GitLab")
        } else {
            ("com.atlassian.jira", "Jira")
        };
        let title = format!("{} {}", twin_tracker, twin.key);
        self.client
            .put_remote_link_to(&item.id, &global_id, application, &twin.url, &title)
            .await
            .map_err(|e| failure(&what, &e))
    }
}

/// The `globalId` of an item's link to its twin (Jira allows 255
/// characters).
pub(crate) fn backlink_global_id(pair_id: i64, twin: &RemoteRef) -> String {
    let by_url = format!("cairn-sync:pair={pair_id}:{}", twin.url);
    if by_url.chars().count() <= 255 {
        by_url
    } else {
        format!("cairn-sync:pair={pair_id}:id={}", twin.id)
    }
}
