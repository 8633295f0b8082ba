//! GitLab REST v4 JSON shapes Cairn reads. Optional and tier-specific
//! fields (weight: Premium; health_status: Ultimate) are `Option`s, and
//! unknown fields are ignored, so older and newer GitLabs both parse.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// `GET /version`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitLabVersion {
    /// e.g. `17.5.0-ee`.
    pub version: String,
    /// Git revision of the build.
    #[serde(default)]
    pub revision: String,
}

/// A user as GitLab embeds it (author, assignee, member, `/user`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitLabUser {
    /// Instance-wide id.
    pub id: u64,
    /// Login name.
    pub username: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// `active`, `blocked`, ...
    #[serde(default)]
    pub state: Option<String>,
    /// Avatar image.
    #[serde(default)]
    pub avatar_url: Option<String>,
    /// Profile page.
    #[serde(default)]
    pub web_url: Option<String>,
    /// Email (only visible to admins or for `/user`).
    #[serde(default)]
    pub email: Option<String>,
    /// The email a person chose to show on their profile.
    #[serde(default)]
    pub public_email: Option<String>,
    /// Access level (members only): 10 guest ... 50 owner.
    #[serde(default)]
    pub access_level: Option<u32>,
}

/// A project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Project {
    /// Instance-wide id.
    pub id: u64,
    /// Display name.
    pub name: String,
    /// URL path segment.
    #[serde(default)]
    pub path: String,
    /// `group/sub/project`.
    pub path_with_namespace: String,
    /// `Group / Sub / Project`.
    #[serde(default)]
    pub name_with_namespace: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Project page.
    #[serde(default)]
    pub web_url: Option<String>,
    /// Default branch.
    #[serde(default)]
    pub default_branch: Option<String>,
    /// Archived projects are read-only.
    #[serde(default)]
    pub archived: Option<bool>,
    /// Last activity.
    #[serde(default, deserialize_with = "crate::de::flex_time")]
    pub last_activity_at: Option<DateTime<Utc>>,
    /// The token's access (single-project and membership lists carry it):
    /// why a project can or cannot be hooked.
    #[serde(default)]
    pub permissions: Option<ProjectPermissions>,
}

/// The token's access to a project, directly and through its group.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectPermissions {
    /// Direct membership.
    #[serde(default)]
    pub project_access: Option<AccessLevel>,
    /// Through the group.
    #[serde(default)]
    pub group_access: Option<AccessLevel>,
}

/// An access level: 10 guest, 20 reporter, 30 developer, 40 maintainer, 50 owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessLevel {
    /// The level.
    pub access_level: u64,
}

/// A project or group milestone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Milestone {
    /// Instance-wide id.
    pub id: u64,
    /// Id within the project or group.
    #[serde(default)]
    pub iid: Option<u64>,
    /// Set for project milestones.
    #[serde(default)]
    pub project_id: Option<u64>,
    /// Set for group milestones.
    #[serde(default)]
    pub group_id: Option<u64>,
    /// Title (what the `milestone` issue filter matches).
    pub title: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// `active` or `closed`.
    #[serde(default)]
    pub state: Option<String>,
    /// Start date.
    #[serde(default)]
    pub start_date: Option<NaiveDate>,
    /// Due date.
    #[serde(default)]
    pub due_date: Option<NaiveDate>,
    /// Milestone page.
    #[serde(default)]
    pub web_url: Option<String>,
    /// Past its due date.
    #[serde(default)]
    pub expired: Option<bool>,
}

/// A label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Label {
    /// Id.
    pub id: u64,
    /// Name (what the `labels` filter matches).
    pub name: String,
    /// `#rrggbb`.
    #[serde(default)]
    pub color: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
}

/// Time tracking of an issue, in seconds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeStats {
    /// Estimate.
    #[serde(default)]
    pub time_estimate: i64,
    /// Spent so far.
    #[serde(default)]
    pub total_time_spent: i64,
    /// e.g. `3h 30m`.
    #[serde(default)]
    pub human_time_estimate: Option<String>,
    /// e.g. `1h`.
    #[serde(default)]
    pub human_total_time_spent: Option<String>,
}

/// Checklist (task list) completion of an issue's description.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskCompletionStatus {
    /// Tasks in total.
    #[serde(default)]
    pub count: u32,
    /// Tasks checked.
    #[serde(default)]
    pub completed_count: u32,
}

/// An issue (or incident, task, test case).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Issue {
    /// Instance-wide id.
    pub id: u64,
    /// Id within the project (what paths use).
    pub iid: u64,
    /// Owning project.
    pub project_id: u64,
    /// Title.
    pub title: String,
    /// Markdown description.
    #[serde(default)]
    pub description: Option<String>,
    /// `opened` or `closed`.
    pub state: String,
    /// Creation time.
    #[serde(default, deserialize_with = "crate::de::flex_time")]
    pub created_at: Option<DateTime<Utc>>,
    /// Last change.
    #[serde(default, deserialize_with = "crate::de::flex_time")]
    pub updated_at: Option<DateTime<Utc>>,
    /// Close time, if closed.
    #[serde(default, deserialize_with = "crate::de::flex_time")]
    pub closed_at: Option<DateTime<Utc>>,
    /// Label names.
    #[serde(default, deserialize_with = "crate::de::null_default")]
    pub labels: Vec<String>,
    /// Milestone.
    #[serde(default)]
    pub milestone: Option<Milestone>,
    /// Assignees.
    #[serde(default, deserialize_with = "crate::de::null_default")]
    pub assignees: Vec<GitLabUser>,
    /// Author.
    #[serde(default)]
    pub author: Option<GitLabUser>,
    /// Issue page.
    #[serde(default)]
    pub web_url: Option<String>,
    /// Description checklist progress.
    #[serde(default)]
    pub task_completion_status: Option<TaskCompletionStatus>,
    /// Time tracking.
    #[serde(default)]
    pub time_stats: Option<TimeStats>,
    /// Weight (Premium and above only).
    #[serde(default)]
    pub weight: Option<i64>,
    /// `issue`, `incident`, `test_case`, `task`.
    #[serde(default)]
    pub issue_type: Option<String>,
    /// `ISSUE`, `INCIDENT`, ... (newer GitLabs).
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// Confidential issues are hidden from non-members.
    #[serde(default)]
    pub confidential: Option<bool>,
    /// Due date.
    #[serde(default)]
    pub due_date: Option<NaiveDate>,
    /// Comments count.
    #[serde(default)]
    pub user_notes_count: Option<u64>,
}

impl Issue {
    /// Whether GitLab considers the issue closed.
    pub fn is_closed(&self) -> bool {
        self.state == "closed"
    }
}

/// A comment (note) on an issue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    /// Id.
    pub id: u64,
    /// Markdown body.
    pub body: String,
    /// Author.
    #[serde(default)]
    pub author: Option<GitLabUser>,
    /// True for GitLab's own notes ("closed the issue").
    #[serde(default)]
    pub system: bool,
    /// Creation time.
    #[serde(default, deserialize_with = "crate::de::flex_time")]
    pub created_at: Option<DateTime<Utc>>,
    /// Last edit.
    #[serde(default, deserialize_with = "crate::de::flex_time")]
    pub updated_at: Option<DateTime<Utc>>,
    /// Id of the commented object.
    #[serde(default)]
    pub noteable_id: Option<u64>,
    /// `Issue`, `MergeRequest`, ...
    #[serde(default)]
    pub noteable_type: Option<String>,
    /// Iid of the commented object.
    #[serde(default)]
    pub noteable_iid: Option<u64>,
    /// Internal (confidential) note.
    #[serde(default)]
    pub internal: Option<bool>,
}

/// A project webhook as GitLab reports it (never includes the token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectHook {
    /// Id.
    pub id: u64,
    /// Delivery URL.
    pub url: String,
    /// Project.
    #[serde(default)]
    pub project_id: Option<u64>,
    /// Issue events.
    #[serde(default)]
    pub issues_events: bool,
    /// Confidential issue events.
    #[serde(default)]
    pub confidential_issues_events: Option<bool>,
    /// Comment events.
    #[serde(default)]
    pub note_events: bool,
    /// Confidential comment events.
    #[serde(default)]
    pub confidential_note_events: Option<bool>,
    /// Merge request events.
    #[serde(default)]
    pub merge_requests_events: bool,
    /// Push events.
    #[serde(default)]
    pub push_events: bool,
    /// Tag push events.
    #[serde(default)]
    pub tag_push_events: bool,
    /// TLS verification of the delivery URL.
    #[serde(default)]
    pub enable_ssl_verification: bool,
    /// Creation time.
    #[serde(default, deserialize_with = "crate::de::flex_time")]
    pub created_at: Option<DateTime<Utc>>,
}

/// Push details of an activity event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushData {
    /// Commits pushed.
    #[serde(default)]
    pub commit_count: u64,
    /// `pushed`, `created`, `removed`.
    #[serde(default)]
    pub action: Option<String>,
    /// `branch` or `tag`.
    #[serde(default)]
    pub ref_type: Option<String>,
    /// Branch or tag name.
    #[serde(default, rename = "ref")]
    pub ref_name: Option<String>,
    /// First commit title.
    #[serde(default)]
    pub commit_title: Option<String>,
    /// Commit before.
    #[serde(default)]
    pub commit_from: Option<String>,
    /// Commit after.
    #[serde(default)]
    pub commit_to: Option<String>,
}

/// A user or project activity event (`/events`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Id.
    #[serde(default)]
    pub id: Option<u64>,
    /// Project.
    #[serde(default)]
    pub project_id: Option<u64>,
    /// `opened`, `closed`, `pushed to`, `commented on`, ...
    #[serde(default)]
    pub action_name: Option<String>,
    /// Target id.
    #[serde(default)]
    pub target_id: Option<u64>,
    /// Target iid.
    #[serde(default)]
    pub target_iid: Option<u64>,
    /// `Issue`, `MergeRequest`, `Note`, ...
    #[serde(default)]
    pub target_type: Option<String>,
    /// Target title.
    #[serde(default)]
    pub target_title: Option<String>,
    /// Actor id.
    #[serde(default)]
    pub author_id: Option<u64>,
    /// Actor.
    #[serde(default)]
    pub author: Option<GitLabUser>,
    /// When.
    #[serde(default, deserialize_with = "crate::de::flex_time")]
    pub created_at: Option<DateTime<Utc>>,
    /// Push details for push events.
    #[serde(default)]
    pub push_data: Option<PushData>,
    /// The note for comment events.
    #[serde(default)]
    pub note: Option<serde_json::Value>,
}

/// A commit as the Commits API lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Commit {
    /// SHA.
    pub id: String,
    /// Full message.
    #[serde(default)]
    pub message: String,
    /// Author name.
    #[serde(default)]
    pub author_name: String,
    /// Author email.
    #[serde(default)]
    pub author_email: String,
    /// When the author wrote it (kept by rebases).
    #[serde(default, deserialize_with = "crate::de::flex_time")]
    pub authored_date: Option<DateTime<Utc>>,
    /// When it was (re)committed.
    #[serde(default, deserialize_with = "crate::de::flex_time")]
    pub committed_date: Option<DateTime<Utc>>,
    /// Page.
    #[serde(default)]
    pub web_url: Option<String>,
}
