//! GitLab webhook payloads: `Issue Hook` (issues, incidents and work items:
//! tasks, epics, objectives, key results), `Note Hook`, `Merge Request
//! Hook`, `Push Hook` and `Tag Push Hook`. Unknown fields are ignored,
//! `null`s tolerated, and both date formats (`2017-09-15 16:50:55 UTC` and
//! ISO) accepted.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::WebhookError;
use crate::gitlab::{GitLabUser, Issue, Milestone, TaskCompletionStatus, TimeStats};

/// A user as webhooks embed it (old payloads have no `id`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookUser {
    /// Id.
    #[serde(default)]
    pub id: Option<u64>,
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// Login name.
    #[serde(default)]
    pub username: Option<String>,
    /// Email (often `[REDACTED]`).
    #[serde(default)]
    pub email: Option<String>,
}

/// The project of an event (`null` for group-level work items such as epics).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookProject {
    /// Id (missing in old payloads).
    #[serde(default)]
    pub id: Option<u64>,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// `group/project`.
    #[serde(default)]
    pub path_with_namespace: Option<String>,
    /// Project page.
    #[serde(default)]
    pub web_url: Option<String>,
}

/// A label as webhooks embed it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookLabel {
    /// Id.
    #[serde(default)]
    pub id: Option<u64>,
    /// Name.
    #[serde(default)]
    pub title: String,
}

/// A field change: `{"previous": ..., "current": ...}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// Value before.
    #[serde(default)]
    pub previous: Value,
    /// Value after.
    #[serde(default)]
    pub current: Value,
}

/// The work item status of newer GitLabs (`To do`, `Done`, ...).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkItemStatus {
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// `to_do`, `in_progress`, `done`, `canceled`, ...
    #[serde(default)]
    pub category: Option<String>,
}

/// `object_attributes` of an issue or work item event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IssueAttributes {
    /// Instance-wide id.
    pub id: u64,
    /// Id within the project (or group, for epics).
    pub iid: u64,
    /// Project (absent for group-level work items).
    #[serde(default)]
    pub project_id: Option<u64>,
    /// Title.
    #[serde(default)]
    pub title: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// `opened`, `closed`, `reopened` (old payloads).
    #[serde(default)]
    pub state: String,
    /// `open`, `close`, `reopen`, `update`.
    #[serde(default)]
    pub action: Option<String>,
    /// `Issue`, `Incident`, `Task`, `Epic`, `Objective`, `Key Result`, ...
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// Assignee ids.
    #[serde(default, deserialize_with = "crate::de::null_default")]
    pub assignee_ids: Vec<u64>,
    /// Milestone.
    #[serde(default)]
    pub milestone_id: Option<u64>,
    /// Labels.
    #[serde(default, deserialize_with = "crate::de::null_default")]
    pub labels: Vec<HookLabel>,
    /// Weight (Premium).
    #[serde(default)]
    pub weight: Option<i64>,
    /// Estimate in seconds.
    #[serde(default)]
    pub time_estimate: Option<i64>,
    /// Time spent in seconds.
    #[serde(default)]
    pub total_time_spent: Option<i64>,
    /// Issue page.
    #[serde(default)]
    pub url: Option<String>,
    /// Confidential.
    #[serde(default)]
    pub confidential: Option<bool>,
    /// Creation time.
    #[serde(default, deserialize_with = "crate::de::flex_time")]
    pub created_at: Option<DateTime<Utc>>,
    /// Last change.
    #[serde(default, deserialize_with = "crate::de::flex_time")]
    pub updated_at: Option<DateTime<Utc>>,
    /// Close time.
    #[serde(default, deserialize_with = "crate::de::flex_time")]
    pub closed_at: Option<DateTime<Utc>>,
    /// Work item status (newer GitLabs).
    #[serde(default)]
    pub status: Option<WorkItemStatus>,
    /// Checklist progress. GitLab itself does not send it (the REST API
    /// does); when absent it is counted from the description.
    #[serde(default)]
    pub task_completion_status: Option<TaskCompletionStatus>,
}

impl IssueAttributes {
    /// Closed, by GitLab's state.
    pub fn is_closed(&self) -> bool {
        self.state == "closed"
    }
}

/// `Issue Hook` / `Confidential Issue Hook` (object_kind `issue` or `work_item`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IssueHook {
    /// `issue` or `work_item`.
    pub object_kind: String,
    /// `issue`, `confidential_issue`, `work_item`, `confidential_work_item`.
    #[serde(default)]
    pub event_type: Option<String>,
    /// Who acted.
    #[serde(default)]
    pub user: Option<HookUser>,
    /// Project (`null` for group work items).
    #[serde(default)]
    pub project: Option<HookProject>,
    /// The issue.
    pub object_attributes: IssueAttributes,
    /// Labels.
    #[serde(default, deserialize_with = "crate::de::null_default")]
    pub labels: Vec<HookLabel>,
    /// Assignees.
    #[serde(default, deserialize_with = "crate::de::null_default")]
    pub assignees: Vec<HookUser>,
    /// The single assignee of old payloads (before `assignees`).
    #[serde(default)]
    pub assignee: Option<HookUser>,
    /// Changed fields.
    #[serde(default, deserialize_with = "crate::de::null_default")]
    pub changes: BTreeMap<String, Change>,
}

impl IssueHook {
    /// The project id, from the project or the issue.
    pub fn project_id(&self) -> Option<u64> {
        self.project
            .as_ref()
            .and_then(|p| p.id)
            .or(self.object_attributes.project_id)
    }

    /// The project's `group/project` path (absent for group work items).
    pub fn project_path(&self) -> Option<&str> {
        self.project
            .as_ref()
            .and_then(|p| p.path_with_namespace.as_deref())
            .filter(|p| !p.is_empty())
    }

    /// The issue as GitLab's REST API shows it, from what the hook carries,
    /// so that one snapshot function and one membership rule serve polls
    /// and hooks alike. The hook names the milestone by id only: pass its
    /// title when known (without it the issue has no milestone). Checklist
    /// progress, which GitLab does not send, is counted from the
    /// description. `None` for group-level work items (no project).
    pub fn to_issue(&self, milestone_title: Option<&str>) -> Option<Issue> {
        let a = &self.object_attributes;
        let project_id = self.project_id()?;
        let labels = if a.labels.is_empty() {
            &self.labels
        } else {
            &a.labels
        };
        let mut assignees: Vec<&HookUser> = self.assignees.iter().collect();
        if assignees.is_empty()
            && let Some(one) = &self.assignee
        {
            assignees.push(one);
        }
        let time_stats =
            (a.time_estimate.is_some() || a.total_time_spent.is_some()).then(|| TimeStats {
                time_estimate: a.time_estimate.unwrap_or(0),
                total_time_spent: a.total_time_spent.unwrap_or(0),
                ..TimeStats::default()
            });
        Some(Issue {
            id: a.id,
            iid: a.iid,
            project_id,
            title: a.title.clone(),
            description: a.description.clone(),
            // Old payloads say `reopened`; the REST API says `opened`.
            state: match a.state.as_str() {
                "closed" => "closed".to_owned(),
                _ => "opened".to_owned(),
            },
            created_at: a.created_at,
            updated_at: a.updated_at,
            closed_at: a.closed_at,
            labels: labels.iter().map(|l| l.title.clone()).collect(),
            milestone: a
                .milestone_id
                .zip(milestone_title)
                .map(|(id, title)| Milestone {
                    id,
                    iid: None,
                    project_id: None,
                    group_id: None,
                    title: title.to_owned(),
                    description: None,
                    state: None,
                    start_date: None,
                    due_date: None,
                    web_url: None,
                    expired: None,
                }),
            assignees: assignees
                .into_iter()
                .map(|u| GitLabUser {
                    id: u.id.unwrap_or(0),
                    username: u.username.clone().unwrap_or_default(),
                    name: u.name.clone().unwrap_or_default(),
                    state: None,
                    avatar_url: None,
                    web_url: None,
                    email: None,
                    public_email: None,
                    access_level: None,
                })
                .collect(),
            author: None,
            web_url: a.url.clone(),
            task_completion_status: a
                .task_completion_status
                .or_else(|| a.description.as_deref().map(task_list_status)),
            time_stats,
            weight: a.weight,
            issue_type: Some(
                a.kind
                    .as_deref()
                    .unwrap_or("Issue")
                    .to_ascii_lowercase()
                    .replace(' ', "_"),
            ),
            kind: None,
            confidential: a.confidential,
            due_date: None,
            user_notes_count: None,
        })
    }
}

/// Counts a description's checklist the way GitLab does: list items
/// (`-`, `+`, `*`, `1.`, `1)`, also inside block quotes) starting with `[ ]`
/// or `[x]` followed by text; `[~]` (not applicable) does not count.
/// Fenced code blocks are skipped.
pub fn task_list_status(markdown: &str) -> TaskCompletionStatus {
    let mut status = TaskCompletionStatus::default();
    let mut fence: Option<&str> = None;
    for line in markdown.lines() {
        let trimmed = line.trim_start();
        if let Some(open) = fence {
            if trimmed.starts_with(open) {
                fence = None;
            }
            continue;
        }
        if trimmed.starts_with("```") {
            fence = Some("```");
            continue;
        }
        if trimmed.starts_with("~~~") {
            fence = Some("~~~");
            continue;
        }
        let mut rest = trimmed;
        while let Some(r) = rest.strip_prefix('>') {
            rest = r.trim_start();
        }
        let mut listed = false;
        loop {
            let r = rest.trim_start();
            let after_marker = if let Some(r) = r.strip_prefix(['-', '+', '*']) {
                Some(r)
            } else {
                let digits = r.bytes().take_while(u8::is_ascii_digit).count();
                (digits > 0)
                    .then(|| r[digits..].strip_prefix(['.', ')']))
                    .flatten()
            };
            match after_marker {
                Some(r) if r.starts_with(char::is_whitespace) => {
                    rest = r;
                    listed = true;
                }
                _ => break,
            }
        }
        if !listed {
            continue;
        }
        let mut chars = rest.trim_start().chars();
        let (Some('['), Some(mark), Some(']')) = (chars.next(), chars.next(), chars.next()) else {
            continue;
        };
        let text = chars.as_str();
        if !text.starts_with(char::is_whitespace) || text.trim().is_empty() {
            continue;
        }
        match mark {
            'x' | 'X' => {
                status.count += 1;
                status.completed_count += 1;
            }
            c if c.is_whitespace() => status.count += 1,
            _ => {}
        }
    }
    status
}

/// `object_attributes` of a comment event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoteAttributes {
    /// Id.
    pub id: u64,
    /// Markdown body.
    #[serde(default)]
    pub note: String,
    /// `Issue`, `MergeRequest`, `Commit`, `Snippet`.
    #[serde(default)]
    pub noteable_type: String,
    /// Id of the commented object.
    #[serde(default)]
    pub noteable_id: Option<u64>,
    /// Author.
    #[serde(default)]
    pub author_id: Option<u64>,
    /// GitLab's own note.
    #[serde(default)]
    pub system: Option<bool>,
    /// Note page.
    #[serde(default)]
    pub url: Option<String>,
    /// Creation time.
    #[serde(default, deserialize_with = "crate::de::flex_time")]
    pub created_at: Option<DateTime<Utc>>,
    /// Last edit.
    #[serde(default, deserialize_with = "crate::de::flex_time")]
    pub updated_at: Option<DateTime<Utc>>,
}

/// The issue or merge request a comment is on (a subset of its attributes).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NotedObject {
    /// Id.
    #[serde(default)]
    pub id: Option<u64>,
    /// Iid.
    #[serde(default)]
    pub iid: Option<u64>,
    /// Title.
    #[serde(default)]
    pub title: Option<String>,
    /// State.
    #[serde(default)]
    pub state: Option<String>,
    /// Project.
    #[serde(default)]
    pub project_id: Option<u64>,
    /// Page.
    #[serde(default)]
    pub url: Option<String>,
}

/// `Note Hook` (object_kind `note`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoteHook {
    /// Who commented.
    #[serde(default)]
    pub user: Option<HookUser>,
    /// Project id.
    #[serde(default)]
    pub project_id: Option<u64>,
    /// Project.
    #[serde(default)]
    pub project: Option<HookProject>,
    /// The comment.
    pub object_attributes: NoteAttributes,
    /// The issue commented on.
    #[serde(default)]
    pub issue: Option<NotedObject>,
    /// The merge request commented on.
    #[serde(default)]
    pub merge_request: Option<NotedObject>,
}

/// `object_attributes` of a merge request event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MergeRequestAttributes {
    /// Id.
    pub id: u64,
    /// Iid.
    pub iid: u64,
    /// Title.
    #[serde(default)]
    pub title: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// `opened`, `closed`, `merged`, `locked`.
    #[serde(default)]
    pub state: String,
    /// `open`, `close`, `reopen`, `update`, `approved`, `merge`, ...
    #[serde(default)]
    pub action: Option<String>,
    /// Source branch.
    #[serde(default)]
    pub source_branch: Option<String>,
    /// Target branch.
    #[serde(default)]
    pub target_branch: Option<String>,
    /// Merge commit once merged.
    #[serde(default)]
    pub merge_commit_sha: Option<String>,
    /// Author.
    #[serde(default)]
    pub author_id: Option<u64>,
    /// Target project.
    #[serde(default)]
    pub target_project_id: Option<u64>,
    /// Page.
    #[serde(default)]
    pub url: Option<String>,
    /// Creation time.
    #[serde(default, deserialize_with = "crate::de::flex_time")]
    pub created_at: Option<DateTime<Utc>>,
    /// Last change.
    #[serde(default, deserialize_with = "crate::de::flex_time")]
    pub updated_at: Option<DateTime<Utc>>,
}

/// `Merge Request Hook` (object_kind `merge_request`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MergeRequestHook {
    /// Who acted.
    #[serde(default)]
    pub user: Option<HookUser>,
    /// Project.
    #[serde(default)]
    pub project: Option<HookProject>,
    /// The merge request.
    pub object_attributes: MergeRequestAttributes,
    /// Labels.
    #[serde(default, deserialize_with = "crate::de::null_default")]
    pub labels: Vec<HookLabel>,
    /// Changed fields.
    #[serde(default, deserialize_with = "crate::de::null_default")]
    pub changes: BTreeMap<String, Change>,
}

/// A commit author in a push.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitAuthor {
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Email.
    #[serde(default)]
    pub email: Option<String>,
}

/// A commit in a push.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookCommit {
    /// SHA.
    pub id: String,
    /// Full message.
    #[serde(default)]
    pub message: String,
    /// First line (newer GitLabs).
    #[serde(default)]
    pub title: Option<String>,
    /// Commit time.
    #[serde(default, deserialize_with = "crate::de::flex_time")]
    pub timestamp: Option<DateTime<Utc>>,
    /// Commit page.
    #[serde(default)]
    pub url: Option<String>,
    /// Author.
    #[serde(default)]
    pub author: Option<CommitAuthor>,
}

/// `Push Hook` and `Tag Push Hook` (object_kind `push` / `tag_push`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushHook {
    /// `push` or `tag_push`.
    pub object_kind: String,
    /// SHA before (all zeros when the ref was created).
    #[serde(default)]
    pub before: String,
    /// SHA after (all zeros when the ref was deleted).
    #[serde(default)]
    pub after: String,
    /// `refs/heads/main` or `refs/tags/v1`.
    #[serde(rename = "ref")]
    pub ref_name: String,
    /// Pushed head.
    #[serde(default)]
    pub checkout_sha: Option<String>,
    /// Pusher id.
    #[serde(default)]
    pub user_id: Option<u64>,
    /// Pusher name.
    #[serde(default)]
    pub user_name: Option<String>,
    /// Pusher login.
    #[serde(default)]
    pub user_username: Option<String>,
    /// Pusher email.
    #[serde(default)]
    pub user_email: Option<String>,
    /// Project id.
    #[serde(default)]
    pub project_id: Option<u64>,
    /// Project.
    #[serde(default)]
    pub project: Option<HookProject>,
    /// Commits (at most 20 are listed).
    #[serde(default, deserialize_with = "crate::de::null_default")]
    pub commits: Vec<HookCommit>,
    /// All commits pushed.
    #[serde(default)]
    pub total_commits_count: u64,
}

impl PushHook {
    /// The branch or tag name without `refs/heads/` or `refs/tags/`.
    pub fn short_ref(&self) -> &str {
        self.ref_name
            .strip_prefix("refs/heads/")
            .or_else(|| self.ref_name.strip_prefix("refs/tags/"))
            .unwrap_or(&self.ref_name)
    }

    /// The push deleted the branch or tag.
    pub fn is_deletion(&self) -> bool {
        !self.after.is_empty() && self.after.bytes().all(|b| b == b'0')
    }
}

/// A parsed GitLab webhook.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum GitLabWebhook {
    /// Issue or work item event.
    Issue(Box<IssueHook>),
    /// Comment event.
    Note(Box<NoteHook>),
    /// Merge request event.
    MergeRequest(Box<MergeRequestHook>),
    /// Branch push.
    Push(Box<PushHook>),
    /// Tag push.
    TagPush(Box<PushHook>),
    /// An event kind Cairn does not read (pipeline, job, release, ...).
    Other {
        /// Its `object_kind`.
        object_kind: String,
    },
}

/// Parses a GitLab webhook body by its `object_kind` (the `X-Gitlab-Event`
/// header names the same thing and is not needed).
pub fn parse_gitlab_webhook(body: &[u8]) -> Result<GitLabWebhook, WebhookError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| WebhookError::NotJson(e.to_string()))?;
    let kind = value
        .get("object_kind")
        .and_then(Value::as_str)
        .ok_or(WebhookError::Missing("object_kind"))?
        .to_string();
    let shape = |e: serde_json::Error| WebhookError::Shape {
        kind: kind.clone(),
        detail: e.to_string(),
    };
    Ok(match kind.as_str() {
        "issue" | "work_item" => {
            GitLabWebhook::Issue(Box::new(serde_json::from_value(value).map_err(shape)?))
        }
        "note" => GitLabWebhook::Note(Box::new(serde_json::from_value(value).map_err(shape)?)),
        "merge_request" => {
            GitLabWebhook::MergeRequest(Box::new(serde_json::from_value(value).map_err(shape)?))
        }
        "push" => GitLabWebhook::Push(Box::new(serde_json::from_value(value).map_err(shape)?)),
        "tag_push" => {
            GitLabWebhook::TagPush(Box::new(serde_json::from_value(value).map_err(shape)?))
        }
        _ => GitLabWebhook::Other { object_kind: kind },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checklists_count_like_gitlab() {
        let md = "Intro\n- [ ] one\n- [x] two\n* [X] three\n1. [ ] four\n2) [x] five\n\
                  > - [ ] quoted\n- [~] not applicable\n- [ ]\n-[ ] no space\n[ ] not a list\n\
                  ```\n- [x] in code\n```\n  - [ ] nested";
        let status = task_list_status(md);
        assert_eq!(status.count, 7);
        assert_eq!(status.completed_count, 3);
        assert_eq!(task_list_status(""), TaskCompletionStatus::default());
    }

    #[test]
    fn a_hook_reads_as_the_rest_api_issue() {
        let body = serde_json::json!({
            "object_kind": "issue",
            "project": {"id": 7, "path_with_namespace": "g/p"},
            "object_attributes": {"id": 70, "iid": 3, "title": "T", "state": "reopened",
                "milestone_id": 5, "labels": [{"title": "bug"}], "url": "https://x/g/p/-/issues/3",
                "description": "- [x] a\n- [ ] b", "time_estimate": 60, "type": "Key Result"},
            "assignee": {"name": "Ada", "username": "ada"},
        });
        let GitLabWebhook::Issue(hook) =
            parse_gitlab_webhook(body.to_string().as_bytes()).expect("parses")
        else {
            panic!("an issue hook");
        };
        let issue = hook.to_issue(Some("M1")).expect("has a project");
        assert_eq!(issue.project_id, 7);
        assert_eq!(issue.state, "opened");
        assert_eq!(issue.labels, vec!["bug".to_owned()]);
        assert_eq!(
            issue.milestone.as_ref().map(|m| (m.id, m.title.as_str())),
            Some((5, "M1"))
        );
        assert_eq!(issue.assignees[0].username, "ada");
        assert_eq!(issue.web_url.as_deref(), Some("https://x/g/p/-/issues/3"));
        let tasks = issue.task_completion_status.expect("counted");
        assert_eq!((tasks.count, tasks.completed_count), (2, 1));
        assert_eq!(issue.time_stats.map(|t| t.time_estimate), Some(60));
        assert_eq!(issue.issue_type.as_deref(), Some("key_result"));
        assert!(hook.to_issue(None).expect("issue").milestone.is_none());
    }
}
