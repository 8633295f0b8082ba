//! `/api/v1/connections/{id}/gitlab/...`: what the UI's pickers list while
//! someone links a key result (projects, then a project's milestones,
//! members, labels and issues). Compact views: only what a picker shows
//! and what a link stores.

use axum::Json;
use axum::extract::{Path, Query, RawQuery, State};
use cairn_core::goals::IssueState;
use cairn_engine::goals::browse::{
    BrowsePage, IssueSearch, IssueView, LabelView, MemberView, MilestoneView, Paging, ProjectView,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::SignedIn;
use crate::{ApiError, AppState, ErrorBody};

/// One page of a GitLab list.
#[derive(Serialize, ToSchema)]
pub(crate) struct PageView<T: ToSchema> {
    items: Vec<T>,
    /// The page shown, from 1.
    page: u32,
    /// Items a page (at most 100).
    per_page: u32,
    /// The page to ask for next; null on the last page.
    next_page: Option<u32>,
}

fn page_view<V: ToSchema>(page: BrowsePage<V>) -> PageView<V> {
    PageView {
        items: page.items,
        page: page.page,
        per_page: page.per_page,
        next_page: page.next_page,
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct BrowseQuery {
    /// Text to narrow by (name, title or user name).
    search: Option<String>,
    /// From 1 (default 1).
    page: Option<u32>,
    /// 1 to 100 (default 20; larger values are capped).
    per_page: Option<u32>,
}

impl BrowseQuery {
    fn paging(&self) -> Paging {
        Paging::new(self.page, self.per_page)
    }
}

/// The query of the issue list; parsed by hand because `iids[]` repeats.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // only documents the parameters
pub(crate) struct IssueQuery {
    /// Title and description text; `#12` asks for issue 12.
    search: Option<String>,
    /// Only these issues (repeat: `iids[]=1&iids[]=2`).
    #[param(rename = "iids[]")]
    iids: Option<Vec<u64>>,
    /// `opened`, `closed` or `all` (default all).
    state: Option<String>,
    /// From 1 (default 1).
    page: Option<u32>,
    /// 1 to 100 (default 20; larger values are capped).
    per_page: Option<u32>,
}

fn number<T: std::str::FromStr>(field: &str, value: &str) -> Result<T, ApiError> {
    value
        .trim()
        .parse()
        .map_err(|_| ApiError::invalid_field(field, format!("`{value}` is not a valid number")))
}

fn issue_query(raw: Option<&str>) -> Result<(IssueSearch, Paging), ApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or(""))
        .map_err(|e| ApiError::invalid_field("query", e.to_string()))?;
    let mut search = IssueSearch::default();
    let (mut page, mut per_page) = (None, None);
    for (key, value) in pairs {
        match key.as_str() {
            "search" => search.search = Some(value),
            "iids[]" | "iids" => {
                for part in value.split(',').filter(|p| !p.trim().is_empty()) {
                    search.iids.push(number("iids", part)?);
                }
            }
            "state" => {
                search.state = match value.as_str() {
                    "opened" => Some(IssueState::Opened),
                    "closed" => Some(IssueState::Closed),
                    "all" | "" => Some(IssueState::All),
                    _ => {
                        return Err(ApiError::invalid_field(
                            "state",
                            "must be opened, closed or all",
                        ));
                    }
                }
            }
            "page" => page = Some(number("page", &value)?),
            "per_page" => per_page = Some(number("per_page", &value)?),
            // Cache busters and the like are harmless.
            _ => {}
        }
    }
    Ok((search, Paging::new(page, per_page)))
}

/// Projects the connection's token is a member of.
#[utoipa::path(get, path = "/api/v1/connections/{id}/gitlab/projects", tag = "browse",
    params(("id" = i64, Path, description = "Connection"), BrowseQuery), responses(
    (status = 200, description = "One page of projects", body = PageView<ProjectView>),
    (status = 404, description = "No such connection the caller may use", body = ErrorBody),
    (status = 422, description = "Not a GitLab connection, or a bad parameter", body = ErrorBody),
    (status = 502, description = "GitLab failed; the message carries the diagnosis", body = ErrorBody)))]
pub(crate) async fn projects(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<i64>,
    Query(query): Query<BrowseQuery>,
) -> Result<Json<PageView<ProjectView>>, ApiError> {
    let page = state
        .goals
        .browse_projects(&caller, id, query.search.as_deref(), query.paging())
        .await?;
    Ok(Json(page_view(page)))
}

/// A project's milestones (project: URL-encoded path or numeric id).
#[utoipa::path(get, path = "/api/v1/connections/{id}/gitlab/projects/{project}/milestones", tag = "browse",
    params(("id" = i64, Path, description = "Connection"),
        ("project" = String, Path, description = "URL-encoded path (`group%2Fproject`) or numeric id"),
        BrowseQuery), responses(
    (status = 200, description = "One page of milestones", body = PageView<MilestoneView>),
    (status = 404, description = "No such connection, or a project the token cannot see", body = ErrorBody),
    (status = 422, description = "Not a GitLab connection, or a bad parameter", body = ErrorBody),
    (status = 502, description = "GitLab failed; the message carries the diagnosis", body = ErrorBody)))]
pub(crate) async fn milestones(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path((id, project)): Path<(i64, String)>,
    Query(query): Query<BrowseQuery>,
) -> Result<Json<PageView<MilestoneView>>, ApiError> {
    let page = state
        .goals
        .browse_milestones(
            &caller,
            id,
            &project,
            query.search.as_deref(),
            query.paging(),
        )
        .await?;
    Ok(Json(page_view(page)))
}

/// A project's members, inherited ones included.
#[utoipa::path(get, path = "/api/v1/connections/{id}/gitlab/projects/{project}/members", tag = "browse",
    params(("id" = i64, Path, description = "Connection"),
        ("project" = String, Path, description = "URL-encoded path (`group%2Fproject`) or numeric id"),
        BrowseQuery), responses(
    (status = 200, description = "One page of members", body = PageView<MemberView>),
    (status = 404, description = "No such connection, or a project the token cannot see", body = ErrorBody),
    (status = 422, description = "Not a GitLab connection, or a bad parameter", body = ErrorBody),
    (status = 502, description = "GitLab failed; the message carries the diagnosis", body = ErrorBody)))]
pub(crate) async fn members(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path((id, project)): Path<(i64, String)>,
    Query(query): Query<BrowseQuery>,
) -> Result<Json<PageView<MemberView>>, ApiError> {
    let page = state
        .goals
        .browse_members(
            &caller,
            id,
            &project,
            query.search.as_deref(),
            query.paging(),
        )
        .await?;
    Ok(Json(page_view(page)))
}

/// A project's labels.
#[utoipa::path(get, path = "/api/v1/connections/{id}/gitlab/projects/{project}/labels", tag = "browse",
    params(("id" = i64, Path, description = "Connection"),
        ("project" = String, Path, description = "URL-encoded path (`group%2Fproject`) or numeric id"),
        BrowseQuery), responses(
    (status = 200, description = "One page of labels", body = PageView<LabelView>),
    (status = 404, description = "No such connection, or a project the token cannot see", body = ErrorBody),
    (status = 422, description = "Not a GitLab connection, or a bad parameter", body = ErrorBody),
    (status = 502, description = "GitLab failed; the message carries the diagnosis", body = ErrorBody)))]
pub(crate) async fn labels(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path((id, project)): Path<(i64, String)>,
    Query(query): Query<BrowseQuery>,
) -> Result<Json<PageView<LabelView>>, ApiError> {
    let page = state
        .goals
        .browse_labels(
            &caller,
            id,
            &project,
            query.search.as_deref(),
            query.paging(),
        )
        .await?;
    Ok(Json(page_view(page)))
}

/// A project's issues, to pick specific ones by `#iid` or title.
#[utoipa::path(get, path = "/api/v1/connections/{id}/gitlab/projects/{project}/issues", tag = "browse",
    params(("id" = i64, Path, description = "Connection"),
        ("project" = String, Path, description = "URL-encoded path (`group%2Fproject`) or numeric id"),
        IssueQuery), responses(
    (status = 200, description = "One page of issues", body = PageView<IssueView>),
    (status = 404, description = "No such connection, or a project the token cannot see", body = ErrorBody),
    (status = 422, description = "Not a GitLab connection, or a bad parameter", body = ErrorBody),
    (status = 502, description = "GitLab failed; the message carries the diagnosis", body = ErrorBody)))]
pub(crate) async fn issues(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path((id, project)): Path<(i64, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Json<PageView<IssueView>>, ApiError> {
    let (search, paging) = issue_query(raw.as_deref())?;
    let page = state
        .goals
        .browse_issues(&caller, id, &project, &search, paging)
        .await?;
    Ok(Json(page_view(page)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_query_reads_repeated_iids_and_paging() {
        let (search, paging) = issue_query(Some(
            "search=pay&iids%5B%5D=3&iids[]=5&page=2&per_page=500&state=closed",
        ))
        .expect("valid");
        assert_eq!(search.iids, vec![3, 5]);
        assert_eq!(search.search.as_deref(), Some("pay"));
        assert_eq!(search.state, Some(IssueState::Closed));
        assert_eq!((paging.page, paging.per_page), (2, 100));
        let bad = issue_query(Some("iids[]=x")).err().map(|e| e.field);
        assert_eq!(bad, Some(Some("iids".to_owned())));
    }
}
