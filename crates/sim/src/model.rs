//! In-memory state of the simulated GitLab and Jira instances.
//!
//! Everything lives in one [`World`] behind a lock; handlers take the lock
//! briefly and never across an `.await`.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// Both simulated services.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct World {
    /// The GitLab instance.
    pub gitlab: GitLab,
    /// The Jira instance.
    pub jira: Jira,
}

/// State of the simulated GitLab.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct GitLab {
    /// All users.
    pub users: Vec<GlUser>,
    /// Access tokens (personal or OAuth) mapped to a user id.
    pub tokens: HashMap<String, u64>,
    /// Groups (namespaces of projects).
    pub groups: Vec<GlGroup>,
    /// Projects with their issues.
    pub projects: Vec<GlProject>,
    /// Activity events, oldest first.
    pub events: Vec<GlEvent>,
    /// Next instance-wide id for any object.
    pub next_id: u64,
}

/// A GitLab user.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GlUser {
    /// Instance-wide id.
    pub id: u64,
    /// Login name.
    pub username: String,
    /// Display name.
    pub name: String,
    /// Public email.
    pub email: String,
    /// Administrators see every project.
    pub admin: bool,
    /// `active` or `blocked`.
    pub state: String,
}

/// A GitLab group.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GlGroup {
    /// Instance-wide id.
    pub id: u64,
    /// Display name.
    pub name: String,
    /// Full URL path (`parent/child` for a subgroup).
    pub path: String,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// Creation time.
    #[serde(default = "epoch")]
    pub created_at: DateTime<Utc>,
}

fn epoch() -> DateTime<Utc> {
    DateTime::<Utc>::UNIX_EPOCH
}

impl GlGroup {
    /// The last segment of the path.
    pub fn short_path(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or(&self.path)
    }
}

/// A GitLab project.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GlProject {
    /// Instance-wide id.
    pub id: u64,
    /// Display name.
    pub name: String,
    /// Last path segment.
    pub path: String,
    /// Owning group id.
    pub group_id: u64,
    /// `group/project`.
    pub path_with_namespace: String,
    /// Description.
    pub description: String,
    /// `private`, `internal` or `public`.
    pub visibility: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last activity.
    pub last_activity_at: DateTime<Utc>,
    /// Last change of the project or its content (incremental extractors page by it).
    #[serde(default = "epoch")]
    pub updated_at: DateTime<Utc>,
    /// Members: user id and access level (10..50).
    pub members: Vec<(u64, u32)>,
    /// Labels.
    pub labels: Vec<GlLabel>,
    /// Milestones.
    pub milestones: Vec<GlMilestone>,
    /// Issues ordered by iid (and so by id and creation time).
    pub issues: Vec<GlIssue>,
    /// Merge requests.
    pub merge_requests: Vec<GlMergeRequest>,
    /// Project webhooks.
    pub hooks: Vec<GlHook>,
    /// Every commit pushed so far, in push order (a rebase adds new ones).
    /// Add with [`GlProject::push_commit`] so the index below stays whole.
    pub commits: Vec<GlCommit>,
    /// Position in `commits` by full SHA, so walking a history of tens of
    /// thousands of commits is not a scan per step. Not saved: a loaded
    /// world falls back to scanning.
    #[serde(skip)]
    pub commit_index: HashMap<String, usize>,
    /// Branch heads: name to commit sha.
    #[serde(default)]
    pub branches: BTreeMap<String, String>,
    /// Comments on commits: (sha, note).
    #[serde(default)]
    pub commit_notes: Vec<(String, GlNote)>,
}

/// The default branch of every simulated project.
pub const DEFAULT_BRANCH: &str = "main";

/// A commit.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GlCommit {
    /// SHA.
    pub id: String,
    /// Parent SHAs (first parent first).
    pub parent_ids: Vec<String>,
    /// Full message; its first line is the title.
    pub message: String,
    /// Author name.
    pub author_name: String,
    /// Author email.
    pub author_email: String,
    /// When the work was written (kept by a rebase).
    pub authored_date: DateTime<Utc>,
    /// Committer name.
    pub committer_name: String,
    /// Committer email.
    pub committer_email: String,
    /// When it was committed (a rebase moves it).
    pub committed_date: DateTime<Utc>,
}

impl GlCommit {
    /// First line of the message.
    pub fn title(&self) -> &str {
        self.message.lines().next().unwrap_or("")
    }
}

impl GlProject {
    /// The commit with a SHA (or a unique prefix of at least 7 characters).
    pub fn commit(&self, sha: &str) -> Option<&GlCommit> {
        if sha.len() < 7 {
            return None;
        }
        self.commit_by_sha(sha)
            .or_else(|| self.commits.iter().find(|c| c.id.starts_with(sha)))
    }

    /// A commit by its full SHA.
    fn commit_by_sha(&self, sha: &str) -> Option<&GlCommit> {
        match self.commit_index.get(sha) {
            Some(&i) => self.commits.get(i),
            None if self.commit_index.len() == self.commits.len() => None,
            None => self.commits.iter().find(|c| c.id == sha),
        }
    }

    /// Records a new commit.
    pub fn push_commit(&mut self, commit: GlCommit) {
        self.commit_index
            .insert(commit.id.clone(), self.commits.len());
        self.commits.push(commit);
    }

    /// First-parent history from a branch name or SHA, newest first.
    pub fn history(&self, rev: &str) -> Vec<&GlCommit> {
        let mut out = Vec::new();
        let mut cur = self
            .branches
            .get(rev)
            .map(String::as_str)
            .or_else(|| self.commit(rev).map(|c| c.id.as_str()));
        while let Some(sha) = cur {
            let Some(c) = self.commit_by_sha(sha) else {
                break;
            };
            out.push(c);
            cur = c.parent_ids.first().map(String::as_str);
        }
        out
    }

    /// Records activity: GitLab moves `last_activity_at`, and the simulator
    /// moves `updated_at` with it so incremental extractors see the change.
    pub fn touch(&mut self, now: DateTime<Utc>) {
        self.last_activity_at = now;
        self.updated_at = now;
    }
}

/// A project label.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GlLabel {
    /// Instance-wide id.
    pub id: u64,
    /// Name.
    pub name: String,
    /// `#rrggbb`.
    pub color: String,
    /// Description.
    pub description: Option<String>,
}

/// A project milestone.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GlMilestone {
    /// Instance-wide id.
    pub id: u64,
    /// Per-project id.
    pub iid: u64,
    /// Title.
    pub title: String,
    /// Description.
    pub description: Option<String>,
    /// `active` or `closed`.
    pub state: String,
    /// Start.
    pub start_date: Option<NaiveDate>,
    /// Due.
    pub due_date: Option<NaiveDate>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last update.
    pub updated_at: DateTime<Utc>,
}

/// A GitLab issue (or task work item).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GlIssue {
    /// Instance-wide id.
    pub id: u64,
    /// Per-project id.
    pub iid: u64,
    /// Title.
    pub title: String,
    /// Markdown description; `- [ ]` / `- [x]` lines are tasks.
    pub description: String,
    /// `opened` or `closed`.
    pub state: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last update.
    pub updated_at: DateTime<Utc>,
    /// When closed.
    pub closed_at: Option<DateTime<Utc>>,
    /// Who closed it.
    pub closed_by: Option<u64>,
    /// Label names.
    pub labels: Vec<String>,
    /// Milestone id.
    pub milestone_id: Option<u64>,
    /// Assignee user ids.
    pub assignee_ids: Vec<u64>,
    /// Author user id.
    pub author_id: u64,
    /// `issue`, `incident` or `task`.
    pub issue_type: String,
    /// Weight (Premium).
    pub weight: Option<i64>,
    /// Estimate in seconds.
    pub time_estimate: i64,
    /// Time spent in seconds.
    pub total_time_spent: i64,
    /// Due date.
    pub due_date: Option<NaiveDate>,
    /// Confidential flag.
    pub confidential: bool,
    /// Comments and system notes.
    pub notes: Vec<GlNote>,
    /// Cached (count, completed) of the description's task list.
    pub tasks: (u32, u32),
}

impl GlIssue {
    /// Recomputes the task list counters from the description.
    pub fn refresh_tasks(&mut self) {
        self.tasks = count_tasks(&self.description);
    }
}

/// Counts markdown task list items: (count, completed).
pub fn count_tasks(description: &str) -> (u32, u32) {
    let mut count = 0;
    let mut done = 0;
    for line in description.lines() {
        let t = line.trim_start();
        let rest = t
            .strip_prefix("- ")
            .or_else(|| t.strip_prefix("* "))
            .or_else(|| t.strip_prefix("+ "));
        if let Some(r) = rest {
            if r.starts_with("[ ]") {
                count += 1;
            } else if r.starts_with("[x]") || r.starts_with("[X]") {
                count += 1;
                done += 1;
            }
        }
    }
    (count, done)
}

/// A note (comment) on an issue.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GlNote {
    /// Instance-wide id.
    pub id: u64,
    /// Markdown body.
    pub body: String,
    /// Author user id.
    pub author_id: u64,
    /// GitLab-generated note ("closed").
    pub system: bool,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last update.
    pub updated_at: DateTime<Utc>,
    /// Internal note.
    pub internal: bool,
}

/// A merge request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GlMergeRequest {
    /// Instance-wide id.
    pub id: u64,
    /// Per-project id.
    pub iid: u64,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// `opened`, `closed` or `merged`.
    pub state: String,
    /// Source branch.
    pub source_branch: String,
    /// Target branch.
    pub target_branch: String,
    /// Author.
    pub author_id: u64,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last update.
    pub updated_at: DateTime<Utc>,
    /// Head commit of the source branch.
    #[serde(default)]
    pub sha: String,
    /// When merged, and by whom.
    #[serde(default)]
    pub merged: Option<(DateTime<Utc>, u64)>,
    /// When closed, and by whom.
    #[serde(default)]
    pub closed: Option<(DateTime<Utc>, u64)>,
    /// Users who approved it.
    #[serde(default)]
    pub approved_by: Vec<u64>,
    /// Comments.
    #[serde(default)]
    pub notes: Vec<GlNote>,
}

/// A project webhook.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GlHook {
    /// Instance-wide id.
    pub id: u64,
    /// Target URL.
    pub url: String,
    /// Secret sent as `X-Gitlab-Token`.
    pub token: Option<String>,
    /// Issue events.
    pub issues_events: bool,
    /// Note events.
    pub note_events: bool,
    /// Merge request events.
    pub merge_requests_events: bool,
    /// Push events.
    pub push_events: bool,
    /// Whether TLS is verified.
    pub enable_ssl_verification: bool,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// An activity event.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GlEvent {
    /// Instance-wide id.
    pub id: u64,
    /// Project id.
    pub project_id: u64,
    /// `opened`, `closed`, `reopened`, `commented on`, `pushed to`, ...
    pub action_name: String,
    /// `Issue`, `Note`, `MergeRequest` or none for pushes.
    pub target_type: Option<String>,
    /// Target id.
    pub target_id: Option<u64>,
    /// Target iid.
    pub target_iid: Option<u64>,
    /// Target title.
    pub target_title: Option<String>,
    /// Acting user.
    pub author_id: u64,
    /// When.
    pub created_at: DateTime<Utc>,
    /// Push details (commit count, ref, from, to, title).
    pub push: Option<GlPush>,
    /// Note body for `commented on`.
    pub note_body: Option<String>,
    /// What a comment is on: `Issue` (the default), `MergeRequest` or `Commit`.
    #[serde(default)]
    pub noteable_type: Option<String>,
}

/// `push_data` of a push event.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GlPush {
    /// Number of commits.
    pub commit_count: u64,
    /// Branch name.
    pub ref_name: String,
    /// Previous head.
    pub commit_from: String,
    /// New head.
    pub commit_to: String,
    /// Title of the newest commit.
    pub commit_title: String,
}

impl GitLab {
    /// Allocates an instance-wide id.
    pub fn alloc_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Finds a user by id.
    pub fn user(&self, id: u64) -> Option<&GlUser> {
        // Users are created with increasing ids, so binary search works.
        self.users
            .binary_search_by_key(&id, |u| u.id)
            .ok()
            .and_then(|i| self.users.get(i))
    }

    /// Finds a user by username.
    pub fn user_by_name(&self, username: &str) -> Option<&GlUser> {
        self.users.iter().find(|u| u.username == username)
    }

    /// Index of a project by numeric id or `group/project` path.
    pub fn project_index(&self, id_or_path: &str) -> Option<usize> {
        if let Ok(id) = id_or_path.parse::<u64>() {
            return self.projects.iter().position(|p| p.id == id);
        }
        self.projects
            .iter()
            .position(|p| p.path_with_namespace.eq_ignore_ascii_case(id_or_path))
    }

    /// Whether a user may see a project.
    pub fn can_see(&self, user_id: u64, project: &GlProject) -> bool {
        project.visibility != "private"
            || project.members.iter().any(|(u, _)| *u == user_id)
            || self.user(user_id).is_some_and(|u| u.admin)
    }

    /// The group of a project.
    pub fn group(&self, id: u64) -> Option<&GlGroup> {
        self.groups.iter().find(|g| g.id == id)
    }

    /// The parent of a subgroup.
    pub fn parent_group(&self, g: &GlGroup) -> Option<&GlGroup> {
        let (parent, _) = g.path.rsplit_once('/')?;
        self.groups.iter().find(|x| x.path == parent)
    }

    /// Index of a group by numeric id or full path.
    pub fn group_index(&self, id_or_path: &str) -> Option<usize> {
        if let Ok(id) = id_or_path.parse::<u64>() {
            return self.groups.iter().position(|g| g.id == id);
        }
        self.groups
            .iter()
            .position(|g| g.path.eq_ignore_ascii_case(id_or_path))
    }

    /// Whether `g` is `ancestor` or one of its subgroups.
    pub fn group_within(&self, g: &GlGroup, ancestor: &GlGroup) -> bool {
        g.id == ancestor.id || g.path.starts_with(&format!("{}/", ancestor.path))
    }

    /// Projects of a group (and of its subgroups with `subgroups`).
    pub fn group_projects<'a>(
        &'a self,
        g: &'a GlGroup,
        subgroups: bool,
    ) -> impl Iterator<Item = &'a GlProject> + 'a {
        self.projects.iter().filter(move |p| {
            self.group(p.group_id)
                .is_some_and(|pg| pg.id == g.id || (subgroups && self.group_within(pg, g)))
        })
    }

    /// A group is as visible as its most visible project (the simulator has no group settings).
    pub fn group_visibility(&self, g: &GlGroup) -> &'static str {
        let mut best = "private";
        for p in self.group_projects(g, true) {
            match p.visibility.as_str() {
                "public" => return "public",
                "internal" => best = "internal",
                _ => {}
            }
        }
        best
    }

    /// The highest access level a user has in a group's projects, if any.
    pub fn group_access(&self, user_id: u64, g: &GlGroup) -> Option<u32> {
        self.group_projects(g, true)
            .filter_map(|p| p.members.iter().find(|(u, _)| *u == user_id).map(|m| m.1))
            .max()
    }

    /// Whether a user may see a group: an admin, a member of one of its
    /// projects, or anyone when it holds a public project.
    pub fn can_see_group(&self, user_id: u64, g: &GlGroup) -> bool {
        self.user(user_id).is_some_and(|u| u.admin)
            || self.group_visibility(g) != "private"
            || self.group_access(user_id, g).is_some()
    }
}

/// State of the simulated Jira.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Jira {
    /// Users.
    pub users: Vec<JiraUser>,
    /// Projects.
    pub projects: Vec<JiraProject>,
    /// Statuses.
    pub statuses: Vec<JiraStatus>,
    /// Issue types.
    pub issue_types: Vec<JiraIssueType>,
    /// Priorities (id, name).
    pub priorities: Vec<(String, String)>,
    /// Custom field definitions.
    pub custom_fields: Vec<JiraCustomField>,
    /// Issues, by creation order.
    pub issues: Vec<JiraIssue>,
    /// Index from key to position in `issues`.
    #[serde(skip)]
    pub key_index: HashMap<String, usize>,
    /// Registered webhooks.
    pub webhooks: Vec<JiraWebhook>,
    /// Next id for issues, comments, worklogs, versions, changelogs.
    pub next_id: u64,
}

/// A Jira user.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JiraUser {
    /// Cloud account id.
    pub account_id: String,
    /// Data Center user name (also its key).
    pub name: String,
    /// Display name.
    pub display_name: String,
    /// Email; the Cloud basic-auth login.
    pub email: String,
    /// Cloud API token.
    pub api_token: String,
    /// Data Center personal access token.
    pub pat: String,
    /// Active flag.
    pub active: bool,
    /// Cloud privacy: whether others see the email (the user themself always does).
    #[serde(default = "yes")]
    pub email_visible: bool,
}

fn yes() -> bool {
    true
}

/// A Jira project.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JiraProject {
    /// Numeric id.
    pub id: u64,
    /// Key, such as `OPS`.
    pub key: String,
    /// Name.
    pub name: String,
    /// Lead account id.
    pub lead: String,
    /// Versions.
    pub versions: Vec<JiraVersion>,
    /// Next issue number.
    pub next_number: u64,
    /// The project's workflow: which transitions lead where.
    #[serde(default)]
    pub workflow: Vec<JiraTransitionDef>,
}

/// One transition of a workflow.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JiraTransitionDef {
    /// Id sent to `POST .../transitions`.
    pub id: String,
    /// Name shown to people.
    pub name: String,
    /// Statuses it starts from; empty means from any status (a global transition).
    pub from: Vec<String>,
    /// Status it leads to.
    pub to: String,
    /// Its screen requires the Resolution field.
    pub requires_resolution: bool,
}

/// Resolutions every simulated Jira has: (id, name, description).
pub const JIRA_RESOLUTIONS: &[(&str, &str, &str)] = &[
    ("10000", "Done", "Work has been completed on this issue."),
    ("10001", "Won't Do", "This issue won't be actioned."),
    (
        "10002",
        "Duplicate",
        "The problem is a duplicate of an existing issue.",
    ),
    (
        "10003",
        "Cannot Reproduce",
        "This issue could not be reproduced.",
    ),
];

/// A project version (release).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JiraVersion {
    /// Id.
    pub id: u64,
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Released flag.
    pub released: bool,
    /// Archived flag.
    pub archived: bool,
    /// Release date.
    pub release_date: Option<NaiveDate>,
    /// Start date.
    #[serde(default)]
    pub start_date: Option<NaiveDate>,
}

/// A workflow status.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JiraStatus {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Category key: `new`, `indeterminate` or `done`.
    pub category: String,
}

/// An issue type.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JiraIssueType {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Sub-task type.
    pub subtask: bool,
    /// 1 epic, 0 standard, -1 sub-task.
    pub hierarchy_level: i32,
}

/// A custom field definition.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JiraCustomField {
    /// `customfield_10016`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Custom type key.
    pub custom_type: String,
    /// Schema type (`number`, `string`).
    pub schema_type: String,
}

impl JiraCustomField {
    /// The numeric part of the id.
    pub fn number(&self) -> u64 {
        self.id
            .strip_prefix("customfield_")
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    }
}

/// A Jira issue.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JiraIssue {
    /// Numeric id.
    pub id: u64,
    /// Key such as `OPS-12`.
    pub key: String,
    /// Project key.
    pub project: String,
    /// Summary.
    pub summary: String,
    /// Description as written through API v2 (wiki markup), or the plain
    /// text of an ADF description.
    pub description: Option<String>,
    /// Description as written through API v3 (ADF), if it was.
    #[serde(default)]
    pub description_adf: Option<serde_json::Value>,
    /// Issue type id.
    pub issue_type: String,
    /// Status id.
    pub status: String,
    /// Priority id.
    pub priority: String,
    /// Resolution name.
    pub resolution: Option<String>,
    /// Assignee account id.
    pub assignee: Option<String>,
    /// Reporter account id.
    pub reporter: String,
    /// Labels.
    pub labels: Vec<String>,
    /// Fix version ids.
    pub fix_versions: Vec<u64>,
    /// Parent key (sub-task parent, or epic in the new hierarchy).
    pub parent: Option<String>,
    /// Epic link key (the classic "Epic Link" field).
    pub epic_link: Option<String>,
    /// Creation time.
    pub created: DateTime<Utc>,
    /// Last update.
    pub updated: DateTime<Utc>,
    /// Resolution time.
    pub resolved: Option<DateTime<Utc>>,
    /// Due date.
    pub due_date: Option<NaiveDate>,
    /// Seconds logged.
    pub time_spent: Option<i64>,
    /// Original estimate in seconds.
    pub original_estimate: Option<i64>,
    /// Remaining estimate in seconds.
    pub remaining_estimate: Option<i64>,
    /// Custom field values by field id.
    pub custom: BTreeMap<String, serde_json::Value>,
    /// Comments.
    pub comments: Vec<JiraComment>,
    /// Worklogs.
    pub worklogs: Vec<JiraWorklog>,
    /// Entity properties by key.
    #[serde(default)]
    pub properties: BTreeMap<String, serde_json::Value>,
    /// Remote links.
    #[serde(default)]
    pub remote_links: Vec<JiraRemoteLink>,
}

/// A remote link of an issue (`/issue/{key}/remotelink`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JiraRemoteLink {
    /// Id.
    pub id: u64,
    /// Caller-chosen unique id; a second POST with it updates the link.
    pub global_id: Option<String>,
    /// `application` object as written.
    pub application: serde_json::Value,
    /// Relationship text.
    pub relationship: Option<String>,
    /// `object` (url, title, summary, icon, status) as written.
    pub object: serde_json::Value,
}

/// A comment.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JiraComment {
    /// Id.
    pub id: u64,
    /// Author account id.
    pub author: String,
    /// Body as written through API v2 (wiki), or the plain text of an ADF body.
    pub body: String,
    /// Body as written through API v3 (ADF), if it was.
    #[serde(default)]
    pub body_adf: Option<serde_json::Value>,
    /// Creation time.
    pub created: DateTime<Utc>,
    /// Update time.
    pub updated: DateTime<Utc>,
}

/// A worklog.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JiraWorklog {
    /// Id.
    pub id: u64,
    /// Author account id.
    pub author: String,
    /// Comment.
    pub comment: Option<String>,
    /// When the work started.
    pub started: DateTime<Utc>,
    /// Seconds.
    pub time_spent_seconds: i64,
    /// Creation time.
    pub created: DateTime<Utc>,
    /// Update time.
    pub updated: DateTime<Utc>,
}

/// A registered Jira webhook.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JiraWebhook {
    /// Id.
    pub id: u64,
    /// Name (Data Center).
    pub name: String,
    /// Target URL.
    pub url: String,
    /// Subscribed events; empty means all.
    pub events: Vec<String>,
    /// Optional JQL filter.
    pub jql_filter: Option<String>,
    /// HMAC secret for `X-Hub-Signature`.
    pub secret: Option<String>,
    /// Whether enabled.
    pub enabled: bool,
}

impl Jira {
    /// Allocates an id.
    pub fn alloc_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Rebuilds the key index after bulk changes.
    pub fn reindex(&mut self) {
        self.key_index = self
            .issues
            .iter()
            .enumerate()
            .map(|(i, x)| (x.key.to_ascii_uppercase(), i))
            .collect();
    }

    /// Finds an issue position by key or numeric id.
    pub fn issue_index(&self, key_or_id: &str) -> Option<usize> {
        if let Ok(id) = key_or_id.parse::<u64>() {
            return self.issues.iter().position(|i| i.id == id);
        }
        self.key_index.get(&key_or_id.to_ascii_uppercase()).copied()
    }

    /// Finds a user by account id or name.
    pub fn user(&self, id: &str) -> Option<&JiraUser> {
        self.users
            .iter()
            .find(|u| u.account_id == id || u.name == id)
    }

    /// Finds a status by id.
    pub fn status(&self, id: &str) -> Option<&JiraStatus> {
        self.statuses.iter().find(|s| s.id == id)
    }

    /// Finds an issue type by id.
    pub fn issue_type(&self, id: &str) -> Option<&JiraIssueType> {
        self.issue_types.iter().find(|s| s.id == id)
    }

    /// Finds a project by key or id.
    pub fn project(&self, key_or_id: &str) -> Option<&JiraProject> {
        self.projects
            .iter()
            .find(|p| p.key.eq_ignore_ascii_case(key_or_id) || p.id.to_string() == key_or_id)
    }

    /// The story points field id, if defined.
    pub fn story_points_field(&self) -> Option<&str> {
        self.custom_fields
            .iter()
            .find(|f| f.custom_type == STORY_POINTS_TYPE)
            .map(|f| f.id.as_str())
    }

    /// Adds the seconds of logged work of all sub-tasks to the issue's own.
    pub fn aggregate(&self, idx: usize, f: impl Fn(&JiraIssue) -> Option<i64>) -> Option<i64> {
        let issue = self.issues.get(idx)?;
        let mut total = f(issue);
        for sub in self.issues.iter().filter(|s| {
            s.parent.as_deref() == Some(issue.key.as_str())
                && self.issue_type(&s.issue_type).is_some_and(|t| t.subtask)
        }) {
            if let Some(v) = f(sub) {
                total = Some(total.unwrap_or(0) + v);
            }
        }
        total
    }
}

/// Custom type of Jira Software's story points field.
pub const STORY_POINTS_TYPE: &str = "com.pyxis.greenhopper.jira:jsw-story-points";
/// Custom type of a plain number field.
pub const FLOAT_TYPE: &str = "com.atlassian.jira.plugin.system.customfieldtypes:float";
