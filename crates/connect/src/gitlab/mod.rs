//! The GitLab REST v4 client: connection settings, test connection, and the
//! endpoints Cairn's goals, sync, time and hooks features need.

mod milestones;
mod pages;
mod types;

pub use milestones::NewMilestone;
pub use pages::Pages;
pub use types::*;

use chrono::{DateTime, SecondsFormat, Utc};
use reqwest::Method;
use reqwest::header::HeaderName;
use serde::{Deserialize, Serialize};
use serde_json::json;
use url::Url;

use cairn_core::secret::Secret;

use crate::base_url::{base_segments, join, validate_base_url};
use crate::error::{ConnectError, Service};
use crate::http::{HttpClient, HttpConfig, Req};

/// gitlab.com, the default base URL.
pub const GITLAB_COM: &str = "https://gitlab.com";

/// How Cairn authenticates to GitLab.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GitLabAuth {
    /// A personal, project or group access token, sent as `PRIVATE-TOKEN`.
    PrivateToken(Secret),
    /// An OAuth access token, sent as `Authorization: Bearer`.
    OAuth(Secret),
}

impl GitLabAuth {
    fn header(&self) -> Result<(HeaderName, Secret), ConnectError> {
        Ok(match self {
            GitLabAuth::PrivateToken(t) => (
                HeaderName::from_static("private-token"),
                Secret::new(t.expose().trim()),
            ),
            GitLabAuth::OAuth(t) => (
                reqwest::header::AUTHORIZATION,
                Secret::new(format!("Bearer {}", t.expose().trim())),
            ),
        })
    }
}

/// Everything needed to talk to one GitLab.
#[derive(Clone)]
pub struct GitLabSettings {
    /// The GitLab address, e.g. `https://gitlab.com` or
    /// `https://example.com/gitlab`; a trailing `/api/v4` is tolerated.
    pub base_url: String,
    /// Credentials.
    pub auth: GitLabAuth,
    /// HTTP tunables (timeouts, rate, retries).
    pub http: HttpConfig,
}

impl std::fmt::Debug for GitLabSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A base URL typed with credentials in it must not reach a log.
        f.debug_struct("GitLabSettings")
            .field("base_url", &crate::error::redact_userinfo(&self.base_url))
            .field("auth", &self.auth)
            .field("http", &self.http)
            .finish()
    }
}

impl GitLabSettings {
    /// Settings with the default HTTP configuration.
    pub fn new(base_url: impl Into<String>, auth: GitLabAuth) -> GitLabSettings {
        GitLabSettings {
            base_url: base_url.into(),
            auth,
            http: HttpConfig::default(),
        }
    }
}

/// The API root for a GitLab address: validated, with `/api/v4` appended
/// exactly once.
pub fn gitlab_api_base(base_url: &str) -> Result<Url, ConnectError> {
    let input = if base_url.trim().is_empty() {
        GITLAB_COM
    } else {
        base_url
    };
    let url = validate_base_url(input)?;
    let mut segments = base_segments(&url);
    if segments.len() >= 2
        && segments[segments.len() - 2] == "api"
        && segments[segments.len() - 1].eq_ignore_ascii_case("v4")
    {
        segments.truncate(segments.len() - 2);
    }
    let mut root = url.clone();
    root.set_path("/");
    let mut parts: Vec<&str> = segments.iter().map(String::as_str).collect();
    parts.extend(["api", "v4"]);
    Ok(join(&root, &parts))
}

/// Who the token belongs to and which GitLab answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GitLabIdentity {
    /// The token's user name.
    pub username: String,
    /// The token's display name.
    pub name: String,
    /// GitLab version, e.g. `17.5.0-ee`.
    pub version: String,
    /// GitLab revision.
    pub revision: String,
}

/// Checks a GitLab connection: `GET /user` then `GET /version`.
pub async fn test_gitlab(settings: &GitLabSettings) -> Result<GitLabIdentity, ConnectError> {
    let client = GitLabClient::new(settings)?;
    let user = client.current_user().await?;
    let version = client.version().await?;
    Ok(GitLabIdentity {
        username: user.username,
        name: user.name,
        version: version.version,
        revision: version.revision,
    })
}

/// `state` filter of issue lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IssueState {
    /// Open issues.
    Opened,
    /// Closed issues.
    Closed,
    /// Both.
    All,
}

impl IssueState {
    fn as_str(self) -> &'static str {
        match self {
            IssueState::Opened => "opened",
            IssueState::Closed => "closed",
            IssueState::All => "all",
        }
    }
}

/// Assignee filter; GitLab refuses `assignee_id` with `assignee_username`,
/// so this is one choice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssigneeFilter {
    /// Assigned to this user id.
    Id(u64),
    /// Assigned to this user name.
    Username(String),
    /// Unassigned.
    None,
    /// Assigned to anyone.
    Any,
}

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sort {
    /// Ascending.
    Asc,
    /// Descending (GitLab's default).
    Desc,
}

/// Filters of `GET /projects/:id/issues`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssueFilter {
    /// Open, closed or all (GitLab's default is all).
    pub state: Option<IssueState>,
    /// Milestone title (or `None`, `Any`).
    pub milestone: Option<String>,
    /// Assignee.
    pub assignee: Option<AssigneeFilter>,
    /// Label names; an issue must carry all of them.
    #[serde(default)]
    pub labels: Vec<String>,
    /// Only issues updated at or after this time.
    pub updated_after: Option<DateTime<Utc>>,
    /// Only issues created at or after this time.
    pub created_after: Option<DateTime<Utc>>,
    /// Only these iids.
    #[serde(default)]
    pub iids: Vec<u64>,
    /// Text search in title and description.
    pub search: Option<String>,
    /// `issue`, `incident`, `test_case`, `task`.
    pub issue_type: Option<String>,
    /// `created_at`, `updated_at`, `title`, ...
    pub order_by: Option<String>,
    /// Direction.
    pub sort: Option<Sort>,
    /// Page size (default 100, GitLab's maximum).
    pub per_page: Option<u32>,
    /// Keyset pagination (GitLab 18.3+ for project issues; needs `order_by`).
    #[serde(default)]
    pub keyset: bool,
}

/// Filters of `GET /projects`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectFilter {
    /// Only projects the token's user is a member of.
    #[serde(default)]
    pub membership: bool,
    /// Name search.
    pub search: Option<String>,
    /// Archived or not (both when unset).
    pub archived: Option<bool>,
    /// Page size (default 100).
    pub per_page: Option<u32>,
}

/// Which events a project webhook sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookEvents {
    /// Issue (and confidential issue) events.
    pub issues: bool,
    /// Comment (and confidential comment) events.
    pub notes: bool,
    /// Merge request events.
    pub merge_requests: bool,
    /// Push events.
    pub push: bool,
    /// Tag push events.
    pub tag_push: bool,
}

impl Default for HookEvents {
    fn default() -> Self {
        HookEvents {
            issues: true,
            notes: true,
            merge_requests: true,
            push: true,
            tag_push: false,
        }
    }
}

/// A webhook to register on a project.
#[derive(Debug, Clone)]
pub struct NewProjectHook {
    /// Where GitLab delivers (Cairn's `/hooks/gitlab/{connection}`).
    pub url: String,
    /// Secret GitLab sends back in `X-Gitlab-Token`.
    pub token: Option<Secret>,
    /// Events to send.
    pub events: HookEvents,
    /// Verify the delivery URL's TLS certificate.
    pub enable_ssl_verification: bool,
}

impl NewProjectHook {
    fn body(&self) -> serde_json::Value {
        let e = self.events;
        let mut body = json!({
            "url": self.url,
            "issues_events": e.issues,
            "confidential_issues_events": e.issues,
            "note_events": e.notes,
            "confidential_note_events": e.notes,
            "merge_requests_events": e.merge_requests,
            "push_events": e.push,
            "tag_push_events": e.tag_push,
            "enable_ssl_verification": self.enable_ssl_verification,
        });
        if let (Some(token), Some(obj)) = (&self.token, body.as_object_mut()) {
            obj.insert("token".into(), json!(token.expose()));
        }
        body
    }
}

/// `state_event` of an issue edit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StateEvent {
    /// Close the issue.
    Close,
    /// Reopen the issue.
    Reopen,
}

/// Fields of an issue create or edit; `None` leaves a field alone.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssueChanges {
    /// Title (required to create).
    pub title: Option<String>,
    /// Description (Markdown).
    pub description: Option<String>,
    /// Close or reopen.
    pub state_event: Option<StateEvent>,
    /// Replace all labels.
    pub labels: Option<Vec<String>>,
    /// Add these labels.
    #[serde(default)]
    pub add_labels: Vec<String>,
    /// Remove these labels.
    #[serde(default)]
    pub remove_labels: Vec<String>,
    /// Replace the assignees (empty unassigns).
    pub assignee_ids: Option<Vec<u64>>,
    /// Set the milestone (`Some(0)` removes it).
    pub milestone_id: Option<u64>,
    /// Due date (`YYYY-MM-DD`).
    pub due_date: Option<chrono::NaiveDate>,
    /// Remove the due date (when `due_date` is `None`).
    #[serde(default)]
    pub remove_due_date: bool,
}

impl IssueChanges {
    fn body(&self) -> serde_json::Value {
        let mut body = serde_json::Map::new();
        let mut put = |k: &str, v: serde_json::Value| {
            body.insert(k.to_string(), v);
        };
        if let Some(t) = &self.title {
            put("title", json!(t));
        }
        if let Some(d) = &self.description {
            put("description", json!(d));
        }
        if let Some(e) = self.state_event {
            put("state_event", json!(e));
        }
        if let Some(l) = &self.labels {
            put("labels", json!(l.join(",")));
        }
        if !self.add_labels.is_empty() {
            put("add_labels", json!(self.add_labels.join(",")));
        }
        if !self.remove_labels.is_empty() {
            put("remove_labels", json!(self.remove_labels.join(",")));
        }
        if let Some(a) = &self.assignee_ids {
            put("assignee_ids", json!(a));
        }
        if let Some(m) = self.milestone_id {
            put("milestone_id", json!(m));
        }
        match self.due_date {
            Some(d) => put("due_date", json!(d.format("%Y-%m-%d").to_string())),
            None if self.remove_due_date => put("due_date", serde_json::Value::Null),
            None => {}
        }
        serde_json::Value::Object(body)
    }
}

/// A GitLab project reference: numeric id or `group/project` path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ProjectRef {
    /// Numeric id.
    Id(u64),
    /// Full path, e.g. `group/sub/project`.
    Path(String),
}

impl ProjectRef {
    fn segment(&self) -> String {
        match self {
            ProjectRef::Id(id) => id.to_string(),
            ProjectRef::Path(p) => p.trim_matches('/').to_string(),
        }
    }
}

impl From<u64> for ProjectRef {
    fn from(id: u64) -> Self {
        ProjectRef::Id(id)
    }
}

impl From<&str> for ProjectRef {
    fn from(p: &str) -> Self {
        match p.parse::<u64>() {
            Ok(id) => ProjectRef::Id(id),
            Err(_) => ProjectRef::Path(p.to_string()),
        }
    }
}

/// A typed client of one GitLab; cheap to clone (clones share the rate
/// limit and the API call counter).
#[derive(Debug, Clone)]
pub struct GitLabClient {
    http: HttpClient,
    api: Url,
}

impl GitLabClient {
    /// Validates the settings and builds the client (no request is sent).
    pub fn new(settings: &GitLabSettings) -> Result<GitLabClient, ConnectError> {
        let api = gitlab_api_base(&settings.base_url)?;
        let http = HttpClient::new(
            Service::GitLab,
            settings.http.clone(),
            Some(settings.auth.header()?),
        )?;
        Ok(GitLabClient { http, api })
    }

    /// The API root in use (ends in `/api/v4`).
    pub fn api_base(&self) -> &Url {
        &self.api
    }

    /// HTTP requests sent so far (retries included).
    pub fn api_calls(&self) -> u64 {
        self.http.api_calls()
    }

    fn url(&self, segments: &[&str]) -> Url {
        join(&self.api, segments)
    }

    fn project_url(&self, project: &ProjectRef, rest: &[&str]) -> Url {
        let id = project.segment();
        let mut segments = vec!["projects", id.as_str()];
        segments.extend_from_slice(rest);
        self.url(&segments)
    }

    /// `GET /user`: the token's user.
    pub async fn current_user(&self) -> Result<GitLabUser, ConnectError> {
        self.http.json(Req::get(self.url(&["user"]))).await
    }

    /// `GET /version`.
    pub async fn version(&self) -> Result<GitLabVersion, ConnectError> {
        self.http.json(Req::get(self.url(&["version"]))).await
    }

    /// `GET /users?search=` (name, username or email), for mapping people between systems.
    pub fn users(&self, search: &str) -> Pages<GitLabUser> {
        let mut url = self.url(&["users"]);
        url.query_pairs_mut()
            .append_pair("per_page", "100")
            .append_pair("search", search);
        Pages::new(self.http.clone(), url)
    }

    /// `GET /projects/:id/issues/:iid/time_stats`.
    pub async fn time_stats(
        &self,
        project: &ProjectRef,
        iid: u64,
    ) -> Result<TimeStats, ConnectError> {
        let iid = iid.to_string();
        self.http
            .json(Req::get(
                self.project_url(project, &["issues", &iid, "time_stats"]),
            ))
            .await
    }

    /// `GET /projects` with filters, page by page.
    pub fn projects(&self, filter: &ProjectFilter) -> Pages<Project> {
        let mut url = self.url(&["projects"]);
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("per_page", &filter.per_page.unwrap_or(100).to_string());
            if filter.membership {
                q.append_pair("membership", "true");
            }
            if let Some(s) = &filter.search {
                q.append_pair("search", s);
            }
            if let Some(a) = filter.archived {
                q.append_pair("archived", if a { "true" } else { "false" });
            }
        }
        Pages::new(self.http.clone(), url)
    }

    /// `GET /projects/:id`.
    pub async fn project(&self, project: &ProjectRef) -> Result<Project, ConnectError> {
        self.http
            .json(Req::get(self.project_url(project, &[])))
            .await
    }

    /// `GET /projects/:id/issues` with filters, page by page.
    pub fn issues(&self, project: &ProjectRef, filter: &IssueFilter) -> Pages<Issue> {
        let mut url = self.project_url(project, &["issues"]);
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("per_page", &filter.per_page.unwrap_or(100).to_string());
            if let Some(s) = filter.state {
                q.append_pair("state", s.as_str());
            }
            if let Some(m) = &filter.milestone {
                q.append_pair("milestone", m);
            }
            match &filter.assignee {
                Some(AssigneeFilter::Id(id)) => {
                    q.append_pair("assignee_id", &id.to_string());
                }
                Some(AssigneeFilter::Username(u)) => {
                    q.append_pair("assignee_username", u);
                }
                Some(AssigneeFilter::None) => {
                    q.append_pair("assignee_id", "None");
                }
                Some(AssigneeFilter::Any) => {
                    q.append_pair("assignee_id", "Any");
                }
                None => {}
            }
            if !filter.labels.is_empty() {
                q.append_pair("labels", &filter.labels.join(","));
            }
            if let Some(t) = filter.updated_after {
                q.append_pair(
                    "updated_after",
                    &t.to_rfc3339_opts(SecondsFormat::Millis, true),
                );
            }
            if let Some(t) = filter.created_after {
                q.append_pair(
                    "created_after",
                    &t.to_rfc3339_opts(SecondsFormat::Millis, true),
                );
            }
            for iid in &filter.iids {
                q.append_pair("iids[]", &iid.to_string());
            }
            if let Some(s) = &filter.search {
                q.append_pair("search", s);
            }
            if let Some(t) = &filter.issue_type {
                q.append_pair("issue_type", t);
            }
            if filter.keyset {
                q.append_pair("pagination", "keyset");
            }
            match (&filter.order_by, filter.keyset) {
                (Some(o), _) => {
                    q.append_pair("order_by", o);
                }
                (None, true) => {
                    q.append_pair("order_by", "created_at");
                }
                (None, false) => {}
            }
            if let Some(s) = filter.sort {
                q.append_pair("sort", if s == Sort::Asc { "asc" } else { "desc" });
            }
        }
        Pages::new(self.http.clone(), url)
    }

    /// `GET /projects/:id/issues/:iid`.
    pub async fn issue(&self, project: &ProjectRef, iid: u64) -> Result<Issue, ConnectError> {
        let iid = iid.to_string();
        self.http
            .json(Req::get(self.project_url(project, &["issues", &iid])))
            .await
    }

    /// `POST /projects/:id/issues`: creates an issue.
    pub async fn create_issue(
        &self,
        project: &ProjectRef,
        issue: &IssueChanges,
    ) -> Result<Issue, ConnectError> {
        if issue.title.as_deref().is_none_or(|t| t.trim().is_empty()) {
            return Err(ConnectError::InvalidInput(
                "a new issue needs a title".into(),
            ));
        }
        let url = self.project_url(project, &["issues"]);
        self.http
            .json(Req::with_body(Method::POST, url, issue.body()))
            .await
    }

    /// `PUT /projects/:id/issues/:iid`: edits an issue (close, reopen, labels, ...).
    pub async fn update_issue(
        &self,
        project: &ProjectRef,
        iid: u64,
        changes: &IssueChanges,
    ) -> Result<Issue, ConnectError> {
        let iid = iid.to_string();
        let url = self.project_url(project, &["issues", &iid]);
        self.http
            .json(Req::with_body(Method::PUT, url, changes.body()))
            .await
    }

    /// `GET /projects/:id/milestones`, optionally searching titles.
    pub fn milestones(&self, project: &ProjectRef, search: Option<&str>) -> Pages<Milestone> {
        let mut url = self.project_url(project, &["milestones"]);
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("per_page", "100");
            if let Some(s) = search {
                q.append_pair("search", s);
            }
        }
        Pages::new(self.http.clone(), url)
    }

    /// `GET /projects/:id/members/all` (inherited members included).
    pub fn members(&self, project: &ProjectRef) -> Pages<GitLabUser> {
        self.members_matching(project, None)
    }

    /// `GET /projects/:id/members/all?query=`: members whose name or user
    /// name contains `query`, for people pickers.
    pub fn members_matching(&self, project: &ProjectRef, query: Option<&str>) -> Pages<GitLabUser> {
        let mut url = self.project_url(project, &["members", "all"]);
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("per_page", "100");
            if let Some(s) = query {
                q.append_pair("query", s);
            }
        }
        Pages::new(self.http.clone(), url)
    }

    /// `GET /projects/:id/labels`.
    pub fn labels(&self, project: &ProjectRef) -> Pages<Label> {
        self.labels_matching(project, None)
    }

    /// `GET /projects/:id/labels?search=`: labels whose name contains
    /// `search` (older GitLabs ignore the parameter and list them all).
    pub fn labels_matching(&self, project: &ProjectRef, search: Option<&str>) -> Pages<Label> {
        let mut url = self.project_url(project, &["labels"]);
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("per_page", "100");
            if let Some(s) = search {
                q.append_pair("search", s);
            }
        }
        Pages::new(self.http.clone(), url)
    }

    /// `GET /projects/:id/hooks`.
    pub fn hooks(&self, project: &ProjectRef) -> Pages<ProjectHook> {
        let mut url = self.project_url(project, &["hooks"]);
        url.query_pairs_mut().append_pair("per_page", "100");
        Pages::new(self.http.clone(), url)
    }

    /// `POST /projects/:id/hooks`: registers a webhook.
    pub async fn create_hook(
        &self,
        project: &ProjectRef,
        hook: &NewProjectHook,
    ) -> Result<ProjectHook, ConnectError> {
        let url = self.project_url(project, &["hooks"]);
        self.http
            .json(Req::with_body(Method::POST, url, hook.body()))
            .await
    }

    /// `PUT /projects/:id/hooks/:hook_id`: changes a webhook.
    pub async fn update_hook(
        &self,
        project: &ProjectRef,
        hook_id: u64,
        hook: &NewProjectHook,
    ) -> Result<ProjectHook, ConnectError> {
        let id = hook_id.to_string();
        let url = self.project_url(project, &["hooks", &id]);
        self.http
            .json(Req::with_body(Method::PUT, url, hook.body()))
            .await
    }

    /// `DELETE /projects/:id/hooks/:hook_id`.
    pub async fn delete_hook(
        &self,
        project: &ProjectRef,
        hook_id: u64,
    ) -> Result<(), ConnectError> {
        let id = hook_id.to_string();
        let url = self.project_url(project, &["hooks", &id]);
        let req = Req {
            method: Method::DELETE,
            url,
            body: None,
            idempotent: true,
        };
        self.http.execute(req).await.map(|_| ())
    }

    /// `GET /projects/:id/issues/:iid/notes`.
    pub fn notes(&self, project: &ProjectRef, iid: u64) -> Pages<Note> {
        let iid = iid.to_string();
        let mut url = self.project_url(project, &["issues", &iid, "notes"]);
        url.query_pairs_mut().append_pair("per_page", "100");
        Pages::new(self.http.clone(), url)
    }

    /// `POST /projects/:id/issues/:iid/notes`: adds a comment.
    pub async fn create_note(
        &self,
        project: &ProjectRef,
        iid: u64,
        body: &str,
    ) -> Result<Note, ConnectError> {
        let iid = iid.to_string();
        let url = self.project_url(project, &["issues", &iid, "notes"]);
        self.http
            .json(Req::with_body(Method::POST, url, json!({ "body": body })))
            .await
    }

    /// `PUT /projects/:id/issues/:iid/notes/:note_id`: edits a comment's
    /// body (GitLab sends a Note Hook with `action: update`).
    pub async fn update_note(
        &self,
        project: &ProjectRef,
        iid: u64,
        note_id: u64,
        body: &str,
    ) -> Result<Note, ConnectError> {
        let iid = iid.to_string();
        let id = note_id.to_string();
        let url = self.project_url(project, &["issues", &iid, "notes", &id]);
        self.http
            .json(Req::with_body(Method::PUT, url, json!({ "body": body })).idempotent())
            .await
    }

    /// `DELETE /projects/:id/issues/:iid/notes/:note_id` (GitLab sends no
    /// webhook for it).
    pub async fn delete_note(
        &self,
        project: &ProjectRef,
        iid: u64,
        note_id: u64,
    ) -> Result<(), ConnectError> {
        let iid = iid.to_string();
        let id = note_id.to_string();
        let url = self.project_url(project, &["issues", &iid, "notes", &id]);
        let req = Req {
            method: Method::DELETE,
            url,
            body: None,
            idempotent: true,
        };
        self.http.execute(req).await.map(|_| ())
    }

    /// `POST /projects/:id/issues/:iid/add_spent_time`: logs time, e.g. `1h30m`.
    pub async fn add_spent_time(
        &self,
        project: &ProjectRef,
        iid: u64,
        duration: &str,
        summary: Option<&str>,
    ) -> Result<TimeStats, ConnectError> {
        if duration.trim().is_empty() {
            return Err(ConnectError::InvalidInput(
                "a duration such as 1h30m is required".into(),
            ));
        }
        let iid = iid.to_string();
        let url = self.project_url(project, &["issues", &iid, "add_spent_time"]);
        let mut body = json!({ "duration": duration });
        if let (Some(s), Some(obj)) = (summary, body.as_object_mut()) {
            obj.insert("summary".into(), json!(s));
        }
        self.http
            .json(Req::with_body(Method::POST, url, body))
            .await
    }

    /// `GET /projects/:id/repository/commits?ref_name=...`: the history of
    /// a branch or commit, newest first, with author dates (a push hook
    /// carries only the committer's time, which a rebase moves).
    pub fn commits(&self, project: &ProjectRef, ref_name: &str) -> Pages<Commit> {
        let mut url = self.project_url(project, &["repository", "commits"]);
        url.query_pairs_mut()
            .append_pair("ref_name", ref_name)
            .append_pair("per_page", "100");
        Pages::new(self.http.clone(), url)
    }

    /// `GET /users/:id/events` (activity since `after`, a date).
    pub fn user_events(&self, user_id: u64, after: Option<chrono::NaiveDate>) -> Pages<Event> {
        let id = user_id.to_string();
        let mut url = self.url(&["users", &id, "events"]);
        events_query(&mut url, after);
        Pages::new(self.http.clone(), url)
    }

    /// `GET /projects/:id/events` (activity since `after`, a date).
    pub fn project_events(
        &self,
        project: &ProjectRef,
        after: Option<chrono::NaiveDate>,
    ) -> Pages<Event> {
        let mut url = self.project_url(project, &["events"]);
        events_query(&mut url, after);
        Pages::new(self.http.clone(), url)
    }
}

fn events_query(url: &mut Url, after: Option<chrono::NaiveDate>) {
    let mut q = url.query_pairs_mut();
    q.append_pair("per_page", "100");
    if let Some(a) = after {
        q.append_pair("after", &a.format("%Y-%m-%d").to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_base_appends_api_v4_once() {
        let cases = [
            ("https://gitlab.com", "https://gitlab.com/api/v4"),
            ("", "https://gitlab.com/api/v4"),
            (
                "https://gitlab.example.com/",
                "https://gitlab.example.com/api/v4",
            ),
            (
                "https://gitlab.example.com/api/v4",
                "https://gitlab.example.com/api/v4",
            ),
            (
                "https://gitlab.example.com/api/v4/",
                "https://gitlab.example.com/api/v4",
            ),
            (
                "https://example.com/gitlab",
                "https://example.com/gitlab/api/v4",
            ),
            ("http://localhost:8081", "http://localhost:8081/api/v4"),
        ];
        for (input, expected) in cases {
            assert_eq!(
                gitlab_api_base(input).expect(input).as_str(),
                expected,
                "{input}"
            );
        }
        assert!(gitlab_api_base("gitlab.example.com").is_err());
    }

    #[test]
    fn debug_of_auth_and_settings_hides_tokens() {
        let s = GitLabSettings::new(
            "https://gitlab.com",
            GitLabAuth::PrivateToken(Secret::new("glpat-debug-hidden-123")),
        );
        let text = format!("{s:?}");
        assert!(!text.contains("glpat-debug-hidden-123"), "{text}");
        let client = GitLabClient::new(&s).expect("client");
        let text = format!("{client:?}");
        assert!(!text.contains("glpat-debug-hidden-123"), "{text}");
    }
}
