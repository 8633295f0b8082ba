//! Browsing a GitLab connection for the UI's pickers: projects, then a
//! project's milestones, members, labels and issues, one page at a time.
//!
//! Every call goes through the connection's cached client, so browsing
//! shares the rate limit with refreshes and fails with the same diagnoses.
//! Nothing is stored: a picker shows what GitLab says now.

use cairn_connect::ConnectError;
use cairn_connect::GitLabClient;
use cairn_connect::gitlab::{
    GitLabUser, Issue, IssueFilter, Label, Milestone, Pages, Project, ProjectFilter, ProjectRef,
};
use cairn_core::goals::IssueState;
use cairn_core::integrations::IntegrationKind;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Goals;
use crate::accounts::Authenticated;
use crate::error::EngineError;

/// GitLab's largest page.
pub const MAX_PER_PAGE: u32 = 100;
/// A picker's page when the caller does not say.
pub const DEFAULT_PER_PAGE: u32 = 20;
/// Longer search texts are refused rather than sent upstream.
const MAX_SEARCH: usize = 200;

/// Which page to show: 1-based, `per_page` within 1..=100.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    pub page: u32,
    pub per_page: u32,
}

impl Paging {
    /// Defaults and caps instead of refusals, so a picker never breaks on
    /// a stale or hand-edited page size.
    pub fn new(page: Option<u32>, per_page: Option<u32>) -> Paging {
        Paging {
            page: page.unwrap_or(1).max(1),
            per_page: per_page.unwrap_or(DEFAULT_PER_PAGE).clamp(1, MAX_PER_PAGE),
        }
    }
}

impl Default for Paging {
    fn default() -> Self {
        Paging::new(None, None)
    }
}

/// One page of a GitLab list and where the next one starts.
#[derive(Debug, Clone)]
pub struct BrowsePage<T> {
    pub items: Vec<T>,
    pub page: u32,
    pub per_page: u32,
    /// `None` on the last page.
    pub next_page: Option<u32>,
}

impl<T> BrowsePage<T> {
    /// The same page with every item made into `V`.
    fn into_views<V: From<T>>(self) -> BrowsePage<V> {
        BrowsePage {
            items: self.items.into_iter().map(V::from).collect(),
            page: self.page,
            per_page: self.per_page,
            next_page: self.next_page,
        }
    }
}

// What the pickers show: Cairn's views of GitLab's records (the API's
// shape is Cairn's, not GitLab's).

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
/// A GitLab project as a picker shows it.
pub struct ProjectView {
    pub id: u64,
    pub name: String,
    /// `group/project`: what a link's `project` takes.
    pub path_with_namespace: String,
    pub name_with_namespace: Option<String>,
    pub web_url: Option<String>,
    pub archived: bool,
}

impl From<Project> for ProjectView {
    fn from(p: Project) -> Self {
        ProjectView {
            id: p.id,
            name: p.name,
            path_with_namespace: p.path_with_namespace,
            name_with_namespace: p.name_with_namespace,
            web_url: p.web_url,
            archived: p.archived.unwrap_or(false),
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
/// A milestone as a picker shows it.
pub struct MilestoneView {
    pub id: u64,
    pub iid: Option<u64>,
    /// What a link's `milestone` takes.
    pub title: String,
    /// `active` or `closed`.
    pub state: Option<String>,
    pub start_date: Option<NaiveDate>,
    pub due_date: Option<NaiveDate>,
    pub web_url: Option<String>,
}

impl From<Milestone> for MilestoneView {
    fn from(m: Milestone) -> Self {
        MilestoneView {
            id: m.id,
            iid: m.iid,
            title: m.title,
            state: m.state,
            start_date: m.start_date,
            due_date: m.due_date,
            web_url: m.web_url,
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
/// A project member as a picker shows it.
pub struct MemberView {
    pub id: u64,
    /// What a link's `assignee` takes.
    pub username: String,
    pub name: String,
    pub avatar_url: Option<String>,
    pub web_url: Option<String>,
    /// 10 guest, 20 reporter, 30 developer, 40 maintainer, 50 owner.
    pub access_level: Option<u32>,
}

impl From<GitLabUser> for MemberView {
    fn from(u: GitLabUser) -> Self {
        // No email: GitLab shows it to admins only, and a picker needs none.
        MemberView {
            id: u.id,
            username: u.username,
            name: u.name,
            avatar_url: u.avatar_url,
            web_url: u.web_url,
            access_level: u.access_level,
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
/// A label as a picker shows it.
pub struct LabelView {
    pub id: u64,
    /// What a link's `labels` take.
    pub name: String,
    /// `#rrggbb`.
    pub color: Option<String>,
    pub description: Option<String>,
}

impl From<Label> for LabelView {
    fn from(l: Label) -> Self {
        LabelView {
            id: l.id,
            name: l.name,
            color: l.color,
            description: l.description,
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
/// An issue as a picker shows it.
pub struct IssueView {
    pub id: u64,
    /// What a link's `iids` take.
    pub iid: u64,
    /// `#12`.
    pub reference: String,
    pub title: String,
    /// `opened` or `closed`.
    pub state: String,
    pub web_url: Option<String>,
    pub labels: Vec<String>,
    /// Milestone title.
    pub milestone: Option<String>,
    /// Assignees' user names.
    pub assignees: Vec<String>,
    pub updated_at: Option<DateTime<Utc>>,
}

impl From<Issue> for IssueView {
    fn from(i: Issue) -> Self {
        IssueView {
            id: i.id,
            iid: i.iid,
            reference: format!("#{}", i.iid),
            title: i.title,
            state: i.state,
            web_url: i.web_url,
            labels: i.labels,
            milestone: i.milestone.map(|m| m.title),
            assignees: i.assignees.into_iter().map(|u| u.username).collect(),
            updated_at: i.updated_at,
        }
    }
}

/// How to narrow a project's issues.
#[derive(Debug, Clone, Default)]
pub struct IssueSearch {
    /// Title and description text; `#12` asks for issue 12.
    pub search: Option<String>,
    /// Only these issues.
    pub iids: Vec<u64>,
    /// Opened, closed or both (GitLab's default: both).
    pub state: Option<IssueState>,
}

/// A trimmed search text, `None` when blank; refuses overly long ones.
fn search_text(search: Option<&str>) -> Result<Option<String>, EngineError> {
    let Some(text) = search.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    if text.chars().count() > MAX_SEARCH {
        return Err(EngineError::invalid(
            "search",
            format!("must be at most {MAX_SEARCH} characters"),
        ));
    }
    Ok(Some(text.to_owned()))
}

fn project_ref(project: &str) -> Result<ProjectRef, EngineError> {
    let project = project.trim().trim_matches('/');
    check_project_path(project)?;
    Ok(ProjectRef::from(project))
}

/// A project path (`group/project`) or numeric id, as GitLab can name a
/// project: not empty, and no `.` or `..` part, which a URL would resolve
/// away (`..` would browse another endpoint than the one asked for).
pub(crate) fn check_project_path(project: &str) -> Result<(), EngineError> {
    let project = project.trim().trim_matches('/');
    if project.is_empty() {
        return Err(EngineError::invalid(
            "project",
            "give a project path (group/project) or numeric id",
        ));
    }
    if project
        .split('/')
        .any(|part| matches!(part.trim(), "" | "." | ".."))
    {
        return Err(EngineError::invalid(
            "project",
            "a project path is group/project: no empty, `.` or `..` parts",
        ));
    }
    Ok(())
}

/// A connect failure as the caller should see it. GitLab answers 404 for a
/// project the token cannot see, so within a project that is the caller's
/// mistake (404 naming the project); anything else is GitLab's (502).
fn browse_error(project: Option<&str>, error: ConnectError) -> EngineError {
    match (project, error.status()) {
        (Some(project), Some(404)) => EngineError::NotFound(format!(
            "project: there is no project `{project}` visible to this connection"
        )),
        _ => {
            let diagnosis = error.diagnosis();
            tracing::info!(code = %diagnosis.code, "GitLab browse failed");
            EngineError::Upstream(diagnosis)
        }
    }
}

/// Reads the first requested page only.
async fn one_page<T: DeserializeOwned>(
    pages: Pages<T>,
    paging: Paging,
    project: Option<&str>,
) -> Result<BrowsePage<T>, EngineError> {
    let mut pages = pages.starting_at(paging.page, paging.per_page);
    let items = pages
        .next_page()
        .await
        .map_err(|e| browse_error(project, e))?
        .unwrap_or_default();
    let next_page = if pages.has_more() {
        // GitLab names the next page; trust it, else count on.
        Some(pages.next_page_number().unwrap_or(paging.page + 1))
    } else {
        None
    };
    Ok(BrowsePage {
        items,
        page: paging.page,
        per_page: paging.per_page,
        next_page,
    })
}

impl Goals {
    /// The client of a GitLab connection the caller may use. Browsing
    /// names a connection in the URL, so one they may not use is absent
    /// (404), as everywhere, rather than a field error.
    async fn browse_client(
        &self,
        by: &Authenticated,
        connection_id: i64,
    ) -> Result<GitLabClient, EngineError> {
        let connection = self
            .usable_connection(by, connection_id)
            .await
            .map_err(|e| match e {
                EngineError::Invalid { message, .. } => EngineError::NotFound(message),
                other => other,
            })?;
        if connection.kind != IntegrationKind::Gitlab {
            return Err(EngineError::invalid(
                "connection",
                format!("connection {connection_id} is not a GitLab connection"),
            ));
        }
        self.gitlab_client(&connection)
    }

    /// Projects the connection's token is a member of, by name or path.
    pub async fn browse_projects(
        &self,
        by: &Authenticated,
        connection_id: i64,
        search: Option<&str>,
        paging: Paging,
    ) -> Result<BrowsePage<ProjectView>, EngineError> {
        let search = search_text(search)?;
        let client = self.browse_client(by, connection_id).await?;
        let filter = ProjectFilter {
            membership: true,
            search,
            archived: None,
            per_page: Some(paging.per_page),
        };
        Ok(one_page(client.projects(&filter), paging, None)
            .await?
            .into_views())
    }

    /// A project's milestones, by title.
    pub async fn browse_milestones(
        &self,
        by: &Authenticated,
        connection_id: i64,
        project: &str,
        search: Option<&str>,
        paging: Paging,
    ) -> Result<BrowsePage<MilestoneView>, EngineError> {
        let search = search_text(search)?;
        let project_ref = project_ref(project)?;
        let client = self.browse_client(by, connection_id).await?;
        let pages = client.milestones(&project_ref, search.as_deref());
        Ok(one_page(pages, paging, Some(project)).await?.into_views())
    }

    /// A project's members (inherited ones too), by name or user name.
    pub async fn browse_members(
        &self,
        by: &Authenticated,
        connection_id: i64,
        project: &str,
        search: Option<&str>,
        paging: Paging,
    ) -> Result<BrowsePage<MemberView>, EngineError> {
        let search = search_text(search)?;
        let project_ref = project_ref(project)?;
        let client = self.browse_client(by, connection_id).await?;
        let pages = client.members_matching(&project_ref, search.as_deref());
        Ok(one_page(pages, paging, Some(project)).await?.into_views())
    }

    /// A project's labels, by name. The search is also applied here
    /// because GitLabs before 13.x ignore it and list every label.
    pub async fn browse_labels(
        &self,
        by: &Authenticated,
        connection_id: i64,
        project: &str,
        search: Option<&str>,
        paging: Paging,
    ) -> Result<BrowsePage<LabelView>, EngineError> {
        let search = search_text(search)?;
        let project_ref = project_ref(project)?;
        let client = self.browse_client(by, connection_id).await?;
        let pages = client.labels_matching(&project_ref, search.as_deref());
        let mut page: BrowsePage<Label> = one_page(pages, paging, Some(project)).await?;
        if let Some(search) = search {
            let needle = search.to_lowercase();
            page.items
                .retain(|l| l.name.to_lowercase().contains(&needle));
        }
        Ok(page.into_views())
    }

    /// A project's issues, for picking some by `#iid` or title.
    pub async fn browse_issues(
        &self,
        by: &Authenticated,
        connection_id: i64,
        project: &str,
        query: &IssueSearch,
        paging: Paging,
    ) -> Result<BrowsePage<IssueView>, EngineError> {
        let mut search = search_text(query.search.as_deref())?;
        let mut iids = query.iids.clone();
        // GitLab's text search does not match `#12`; a person typing it
        // means issue 12.
        if let Some(iid) = search
            .as_deref()
            .and_then(|s| s.strip_prefix('#'))
            .and_then(|n| n.trim().parse::<u64>().ok())
        {
            iids.push(iid);
            search = None;
        }
        if iids.len() > MAX_PER_PAGE as usize {
            return Err(EngineError::invalid(
                "iids",
                format!("ask for at most {MAX_PER_PAGE} issues at once"),
            ));
        }
        let project_ref = project_ref(project)?;
        let client = self.browse_client(by, connection_id).await?;
        let filter = IssueFilter {
            state: query.state.map(|state| match state {
                IssueState::Opened => cairn_connect::gitlab::IssueState::Opened,
                IssueState::Closed => cairn_connect::gitlab::IssueState::Closed,
                IssueState::All => cairn_connect::gitlab::IssueState::All,
            }),
            iids,
            search,
            per_page: Some(paging.per_page),
            ..IssueFilter::default()
        };
        Ok(
            one_page(client.issues(&project_ref, &filter), paging, Some(project))
                .await?
                .into_views(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_defaults_and_caps() {
        assert_eq!(
            Paging::new(None, None),
            Paging {
                page: 1,
                per_page: DEFAULT_PER_PAGE
            }
        );
        assert_eq!(
            Paging::new(Some(0), Some(1000)),
            Paging {
                page: 1,
                per_page: MAX_PER_PAGE
            }
        );
        assert_eq!(Paging::new(Some(3), Some(0)).per_page, 1);
    }

    #[test]
    fn blank_search_is_none_and_long_search_is_refused() {
        assert_eq!(search_text(Some("  ")).ok(), Some(None));
        assert_eq!(search_text(Some(" q1 ")).ok(), Some(Some("q1".to_owned())));
        let long = "x".repeat(MAX_SEARCH + 1);
        assert!(matches!(
            search_text(Some(&long)),
            Err(EngineError::Invalid { field, .. }) if field == "search"
        ));
    }
}
