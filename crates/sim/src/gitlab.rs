//! The simulated GitLab REST API v4 and its webhooks.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde_json::{Value, json};

use crate::Shared;
use crate::control::{self, Service};
use crate::hooks::Delivery;
use crate::model::*;
use crate::req::{Params, authorization};
use crate::util::{gitlab_human, gl_time, parse_duration, parse_time};

/// The version `/api/v4/version` reports.
pub const GITLAB_VERSION: &str = "17.5.0-ee";

/// An error answered in GitLab's shape.
#[derive(Debug)]
pub(crate) struct GlErr(StatusCode, Value);

impl GlErr {
    pub fn not_found(what: &str) -> GlErr {
        GlErr(
            StatusCode::NOT_FOUND,
            json!({ "message": format!("404 {what} Not Found") }),
        )
    }
    pub fn bad(msg: impl Into<String>) -> GlErr {
        GlErr(StatusCode::BAD_REQUEST, json!({ "error": msg.into() }))
    }
    pub fn unauthorized() -> GlErr {
        GlErr(
            StatusCode::UNAUTHORIZED,
            json!({ "message": "401 Unauthorized" }),
        )
    }
    pub fn forbidden() -> GlErr {
        GlErr(StatusCode::FORBIDDEN, json!({ "message": "403 Forbidden" }))
    }
}

impl IntoResponse for GlErr {
    fn into_response(self) -> Response {
        json_response(self.0, &self.1, HeaderMap::new())
    }
}

pub(crate) fn json_response<T: Serialize + ?Sized>(
    status: StatusCode,
    body: &T,
    mut headers: HeaderMap,
) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    (status, headers, bytes).into_response()
}

type GlResult = Result<Response, GlErr>;

fn ok<T: Serialize>(body: &T) -> GlResult {
    Ok(json_response(StatusCode::OK, body, HeaderMap::new()))
}

fn created<T: Serialize>(body: &T) -> GlResult {
    Ok(json_response(StatusCode::CREATED, body, HeaderMap::new()))
}

/// Authenticated request context.
struct Ctx {
    user: u64,
    params: Params,
}

fn ctx(s: &Shared, headers: &HeaderMap, q: Option<String>, body: &[u8]) -> Result<Ctx, GlErr> {
    let mut params = Params::from_query(q.as_deref());
    let token = headers
        .get("private-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| {
            authorization(headers)
                .filter(|(scheme, _)| scheme == "bearer")
                .map(|(_, t)| t)
        })
        .or_else(|| params.get("private_token").map(str::to_string))
        .or_else(|| params.get("access_token").map(str::to_string));
    let token = token.ok_or_else(GlErr::unauthorized)?;
    let user = {
        let w = s.read();
        let id = *w
            .gitlab
            .tokens
            .get(&token)
            .ok_or_else(GlErr::unauthorized)?;
        match w.gitlab.user(id) {
            Some(u) if u.state == "active" => id,
            _ => return Err(GlErr::unauthorized()),
        }
    };
    params.add_body(headers, body).map_err(|_| {
        GlErr::bad("The provided content-type is not supported or the body is malformed")
    })?;
    Ok(Ctx { user, params })
}

/// Builds the GitLab router (API under `/api/v4`, control under `/_sim`).
pub(crate) fn router(s: Arc<Shared>) -> Router {
    let api = Router::new()
        .route("/api/v4/user", get(current_user))
        .route("/api/v4/version", get(version))
        .route("/api/v4/users", get(list_users))
        .route("/api/v4/users/{id}", get(get_user))
        .route("/api/v4/users/{id}/events", get(user_events))
        .route("/api/v4/projects", get(list_projects))
        .route("/api/v4/projects/{id}", get(get_project))
        .route(
            "/api/v4/projects/{id}/issues",
            get(list_issues).post(create_issue),
        )
        .route(
            "/api/v4/projects/{id}/issues/{iid}",
            get(get_issue).put(update_issue),
        )
        .route(
            "/api/v4/projects/{id}/issues/{iid}/notes",
            get(list_notes).post(create_note),
        )
        .route(
            "/api/v4/projects/{id}/issues/{iid}/notes/{note_id}",
            get(get_note).put(update_note),
        )
        .route(
            "/api/v4/projects/{id}/issues/{iid}/time_stats",
            get(time_stats),
        )
        .route(
            "/api/v4/projects/{id}/issues/{iid}/{action}",
            post(time_action),
        )
        .route(
            "/api/v4/projects/{id}/milestones",
            get(list_milestones).post(create_milestone),
        )
        .route(
            "/api/v4/projects/{id}/milestones/{mid}",
            get(get_milestone).put(update_milestone),
        )
        .route("/api/v4/projects/{id}/labels", get(list_labels))
        .route("/api/v4/projects/{id}/members", get(list_members))
        .route("/api/v4/projects/{id}/members/all", get(list_members))
        .route("/api/v4/projects/{id}/merge_requests", get(list_mrs))
        .route("/api/v4/projects/{id}/events", get(project_events))
        .route(
            "/api/v4/projects/{id}/hooks",
            get(list_hooks).post(create_hook),
        )
        .route(
            "/api/v4/projects/{id}/hooks/{hook_id}",
            get(get_hook).put(update_hook).delete(delete_hook),
        )
        .fallback(not_found_route)
        .layer(axum::middleware::from_fn_with_state(
            (s.clone(), Service::Gitlab),
            control::fault_layer,
        ))
        .with_state(s.clone());
    api.merge(control::router(s))
}

async fn not_found_route() -> Response {
    GlErr(StatusCode::NOT_FOUND, json!({"error": "404 Not Found"})).into_response()
}

// ---------------------------------------------------------------- views

#[derive(Serialize)]
struct UserView<'a> {
    id: u64,
    username: &'a str,
    name: &'a str,
    state: &'a str,
    avatar_url: String,
    web_url: String,
}

fn avatar(id: u64) -> String {
    format!(
        "https://www.gravatar.com/avatar/{:032x}?s=80&d=identicon",
        id
    )
}

fn user_view<'a>(base: &str, u: &'a GlUser) -> UserView<'a> {
    UserView {
        id: u.id,
        username: &u.username,
        name: &u.name,
        state: &u.state,
        avatar_url: avatar(u.id),
        web_url: format!("{base}/{}", u.username),
    }
}

static GHOST: GlUser = GlUser {
    id: 0,
    username: String::new(),
    name: String::new(),
    email: String::new(),
    admin: false,
    state: String::new(),
};

fn user_or_ghost(gl: &GitLab, id: u64) -> &GlUser {
    gl.user(id).unwrap_or(&GHOST)
}

#[derive(Serialize)]
struct MilestoneView<'a> {
    id: u64,
    iid: u64,
    project_id: u64,
    title: &'a str,
    description: Option<&'a str>,
    state: &'a str,
    created_at: String,
    updated_at: String,
    due_date: Option<String>,
    start_date: Option<String>,
    expired: bool,
    web_url: String,
}

fn milestone_view<'a>(base: &str, p: &GlProject, m: &'a GlMilestone) -> MilestoneView<'a> {
    MilestoneView {
        id: m.id,
        iid: m.iid,
        project_id: p.id,
        title: &m.title,
        description: m.description.as_deref(),
        state: &m.state,
        created_at: gl_time(&m.created_at),
        updated_at: gl_time(&m.updated_at),
        due_date: m.due_date.map(|d| d.to_string()),
        start_date: m.start_date.map(|d| d.to_string()),
        expired: m.due_date.is_some_and(|d| d < Utc::now().date_naive()),
        web_url: format!("{base}/{}/-/milestones/{}", p.path_with_namespace, m.iid),
    }
}

#[derive(Serialize)]
struct TimeStats {
    time_estimate: i64,
    total_time_spent: i64,
    human_time_estimate: Option<String>,
    human_total_time_spent: Option<String>,
}

fn time_stats_of(i: &GlIssue) -> TimeStats {
    TimeStats {
        time_estimate: i.time_estimate,
        total_time_spent: i.total_time_spent,
        human_time_estimate: gitlab_human(i.time_estimate),
        human_total_time_spent: gitlab_human(i.total_time_spent),
    }
}

#[derive(Serialize)]
struct TaskCompletion {
    count: u32,
    completed_count: u32,
}

#[derive(Serialize)]
struct Links {
    #[serde(rename = "self")]
    self_: String,
    notes: String,
    award_emoji: String,
    project: String,
    closed_as_duplicate_of: Option<String>,
}

#[derive(Serialize)]
struct References {
    short: String,
    relative: String,
    full: String,
}

#[derive(Serialize)]
struct IssueView<'a> {
    id: u64,
    iid: u64,
    project_id: u64,
    title: &'a str,
    description: &'a str,
    state: &'a str,
    created_at: String,
    updated_at: String,
    closed_at: Option<String>,
    closed_by: Option<UserView<'a>>,
    labels: &'a [String],
    milestone: Option<MilestoneView<'a>>,
    assignees: Vec<UserView<'a>>,
    author: UserView<'a>,
    #[serde(rename = "type")]
    kind: &'static str,
    assignee: Option<UserView<'a>>,
    user_notes_count: usize,
    merge_requests_count: u32,
    upvotes: u32,
    downvotes: u32,
    due_date: Option<String>,
    confidential: bool,
    discussion_locked: Option<bool>,
    issue_type: &'a str,
    web_url: String,
    time_stats: TimeStats,
    task_completion_status: TaskCompletion,
    weight: Option<i64>,
    blocking_issues_count: u32,
    has_tasks: bool,
    task_status: String,
    #[serde(rename = "_links")]
    links: Links,
    references: References,
    severity: &'static str,
    moved_to_id: Option<u64>,
    service_desk_reply_to: Option<String>,
}

fn issue_view<'a>(base: &str, gl: &'a GitLab, p: &'a GlProject, i: &'a GlIssue) -> IssueView<'a> {
    let assignees: Vec<UserView<'a>> = i
        .assignee_ids
        .iter()
        .filter_map(|id| gl.user(*id))
        .map(|u| user_view(base, u))
        .collect();
    let assignee = i
        .assignee_ids
        .first()
        .and_then(|id| gl.user(*id))
        .map(|u| user_view(base, u));
    let api = format!("{base}/api/v4/projects/{}", p.id);
    let web_kind = if i.issue_type == "task" {
        "work_items"
    } else {
        "issues"
    };
    IssueView {
        id: i.id,
        iid: i.iid,
        project_id: p.id,
        title: &i.title,
        description: &i.description,
        state: &i.state,
        created_at: gl_time(&i.created_at),
        updated_at: gl_time(&i.updated_at),
        closed_at: i.closed_at.as_ref().map(gl_time),
        closed_by: i
            .closed_by
            .and_then(|id| gl.user(id))
            .map(|u| user_view(base, u)),
        labels: &i.labels,
        milestone: i
            .milestone_id
            .and_then(|id| p.milestones.iter().find(|m| m.id == id))
            .map(|m| milestone_view(base, p, m)),
        assignees,
        author: user_view(base, user_or_ghost(gl, i.author_id)),
        kind: match i.issue_type.as_str() {
            "task" => "TASK",
            "incident" => "INCIDENT",
            _ => "ISSUE",
        },
        assignee,
        user_notes_count: i.notes.iter().filter(|n| !n.system).count(),
        merge_requests_count: 0,
        upvotes: 0,
        downvotes: 0,
        due_date: i.due_date.map(|d| d.to_string()),
        confidential: i.confidential,
        discussion_locked: None,
        issue_type: &i.issue_type,
        web_url: format!("{base}/{}/-/{web_kind}/{}", p.path_with_namespace, i.iid),
        time_stats: time_stats_of(i),
        task_completion_status: TaskCompletion {
            count: i.tasks.0,
            completed_count: i.tasks.1,
        },
        weight: i.weight,
        blocking_issues_count: 0,
        has_tasks: i.tasks.0 > 0,
        task_status: format!("{} of {} tasks completed", i.tasks.1, i.tasks.0),
        links: Links {
            self_: format!("{api}/issues/{}", i.iid),
            notes: format!("{api}/issues/{}/notes", i.iid),
            award_emoji: format!("{api}/issues/{}/award_emoji", i.iid),
            project: api.clone(),
            closed_as_duplicate_of: None,
        },
        references: References {
            short: format!("#{}", i.iid),
            relative: format!("#{}", i.iid),
            full: format!("{}#{}", p.path_with_namespace, i.iid),
        },
        severity: "UNKNOWN",
        moved_to_id: None,
        service_desk_reply_to: None,
    }
}

fn note_json(base: &str, gl: &GitLab, _p: &GlProject, i: &GlIssue, n: &GlNote) -> Value {
    json!({
        "id": n.id,
        "type": null,
        "body": n.body,
        "attachment": null,
        "author": user_view(base, user_or_ghost(gl, n.author_id)),
        "created_at": gl_time(&n.created_at),
        "updated_at": gl_time(&n.updated_at),
        "system": n.system,
        "noteable_id": i.id,
        "noteable_type": "Issue",
        "resolvable": false,
        "confidential": n.internal,
        "internal": n.internal,
        "noteable_iid": i.iid,
        "commands_changes": {},
    })
}

fn project_json(base: &str, gl: &GitLab, p: &GlProject, user: u64) -> Value {
    let group = gl.group(p.group_id);
    let web = format!("{base}/{}", p.path_with_namespace);
    let host = base
        .trim_start_matches("http://")
        .trim_start_matches("https://");
    let access = p
        .members
        .iter()
        .find(|(u, _)| *u == user)
        .map(|(_, l)| json!({"access_level": l, "notification_level": 3}));
    json!({
        "id": p.id,
        "description": p.description,
        "name": p.name,
        "name_with_namespace": format!("{} / {}", group.map(|g| g.name.as_str()).unwrap_or(""), p.name),
        "path": p.path,
        "path_with_namespace": p.path_with_namespace,
        "created_at": gl_time(&p.created_at),
        "default_branch": "main",
        "tag_list": [],
        "topics": [],
        "ssh_url_to_repo": format!("git@{host}:{}.git", p.path_with_namespace),
        "http_url_to_repo": format!("{web}.git"),
        "web_url": web,
        "readme_url": null,
        "forks_count": 0,
        "avatar_url": null,
        "star_count": 0,
        "last_activity_at": gl_time(&p.last_activity_at),
        "namespace": {
            "id": p.group_id,
            "name": group.map(|g| g.name.as_str()).unwrap_or(""),
            "path": group.map(|g| g.path.as_str()).unwrap_or(""),
            "kind": "group",
            "full_path": group.map(|g| g.path.as_str()).unwrap_or(""),
            "parent_id": null,
            "avatar_url": null,
            "web_url": format!("{base}/groups/{}", group.map(|g| g.path.as_str()).unwrap_or("")),
        },
        "visibility": p.visibility,
        "archived": false,
        "issues_enabled": true,
        "merge_requests_enabled": true,
        "open_issues_count": p.issues.iter().filter(|i| i.state == "opened").count(),
        "creator_id": p.members.first().map(|m| m.0),
        "_links": {
            "self": format!("{base}/api/v4/projects/{}", p.id),
            "issues": format!("{base}/api/v4/projects/{}/issues", p.id),
            "merge_requests": format!("{base}/api/v4/projects/{}/merge_requests", p.id),
            "labels": format!("{base}/api/v4/projects/{}/labels", p.id),
            "events": format!("{base}/api/v4/projects/{}/events", p.id),
            "members": format!("{base}/api/v4/projects/{}/members", p.id),
        },
        "permissions": { "project_access": access, "group_access": null },
    })
}

fn hook_json(p: &GlProject, h: &GlHook) -> Value {
    json!({
        "id": h.id,
        "url": h.url,
        "project_id": p.id,
        "issues_events": h.issues_events,
        "confidential_issues_events": h.issues_events,
        "note_events": h.note_events,
        "confidential_note_events": h.note_events,
        "merge_requests_events": h.merge_requests_events,
        "push_events": h.push_events,
        "tag_push_events": false,
        "pipeline_events": false,
        "job_events": false,
        "wiki_page_events": false,
        "enable_ssl_verification": h.enable_ssl_verification,
        "alert_status": "executable",
        "created_at": gl_time(&h.created_at),
    })
}

fn event_json(base: &str, gl: &GitLab, e: &GlEvent) -> Value {
    let author = user_or_ghost(gl, e.author_id);
    let mut v = json!({
        "id": e.id,
        "project_id": e.project_id,
        "action_name": e.action_name,
        "target_id": e.target_id,
        "target_iid": e.target_iid,
        "target_type": e.target_type,
        "author_id": e.author_id,
        "target_title": e.target_title,
        "created_at": gl_time(&e.created_at),
        "author": user_view(base, author),
        "imported": false,
        "imported_from": "none",
        "author_username": author.username,
    });
    if let Some(p) = &e.push {
        v["push_data"] = json!({
            "commit_count": p.commit_count,
            "action": "pushed",
            "ref_type": "branch",
            "commit_from": p.commit_from,
            "commit_to": p.commit_to,
            "ref": p.ref_name,
            "commit_title": p.commit_title,
            "ref_count": null,
        });
    }
    if let Some(body) = &e.note_body {
        v["note"] = json!({ "body": body, "noteable_type": "Issue", "noteable_iid": e.target_iid });
    }
    v
}

// ---------------------------------------------------------------- pagination

/// Page window and the headers GitLab sends with it.
struct Page {
    page: usize,
    per_page: usize,
}

fn page_params(p: &Params) -> Result<Page, GlErr> {
    let page = p.int("page").map_err(GlErr::bad)?.unwrap_or(1);
    let per_page = p.int("per_page").map_err(GlErr::bad)?.unwrap_or(20);
    Ok(Page {
        page: page.max(1) as usize,
        per_page: per_page.clamp(1, 100) as usize,
    })
}

fn url_with(base_path: &str, params: &Params, set: &[(&str, String)]) -> String {
    let mut pairs: Vec<(String, String)> = params
        .0
        .iter()
        .filter(|(k, _)| !set.iter().any(|(s, _)| s == k) && k != "private_token")
        .cloned()
        .collect();
    for (k, v) in set {
        pairs.push(((*k).to_string(), v.clone()));
    }
    let q = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    format!("{base_path}?{q}")
}

/// Offset pagination headers; totals are left out above 10,000 records, as GitLab does.
fn offset_headers(page: &Page, total: usize, base_path: &str, params: &Params) -> HeaderMap {
    let mut h = HeaderMap::new();
    let total_pages = total.div_ceil(page.per_page).max(1);
    let has_next = page.page * page.per_page < total;
    let show_total = total <= 10_000;
    let set = |h: &mut HeaderMap, k: &'static str, v: String| {
        if let Ok(v) = HeaderValue::from_str(&v) {
            h.insert(k, v);
        }
    };
    set(&mut h, "x-page", page.page.to_string());
    set(&mut h, "x-per-page", page.per_page.to_string());
    set(
        &mut h,
        "x-next-page",
        if has_next {
            (page.page + 1).to_string()
        } else {
            String::new()
        },
    );
    set(
        &mut h,
        "x-prev-page",
        if page.page > 1 {
            (page.page - 1).to_string()
        } else {
            String::new()
        },
    );
    if show_total {
        set(&mut h, "x-total", total.to_string());
        set(&mut h, "x-total-pages", total_pages.to_string());
    }
    let link = |n: usize, rel: &str| {
        format!(
            "<{}>; rel=\"{rel}\"",
            url_with(
                base_path,
                params,
                &[
                    ("page", n.to_string()),
                    ("per_page", page.per_page.to_string())
                ]
            )
        )
    };
    let mut links = Vec::new();
    if page.page > 1 {
        links.push(link(page.page - 1, "prev"));
    }
    if has_next {
        links.push(link(page.page + 1, "next"));
    }
    links.push(link(1, "first"));
    if show_total {
        links.push(link(total_pages, "last"));
    }
    set(&mut h, "link", links.join(", "));
    h
}

fn paged_json<T: Serialize>(items: &[T], params: &Params, base_path: &str) -> GlResult {
    let page = page_params(params)?;
    let start = ((page.page - 1) * page.per_page).min(items.len());
    let end = (start + page.per_page).min(items.len());
    let headers = offset_headers(&page, items.len(), base_path, params);
    Ok(json_response(StatusCode::OK, &items[start..end], headers))
}

// ---------------------------------------------------------------- lookups

fn visible_project(gl: &GitLab, user: u64, id: &str) -> Result<usize, GlErr> {
    let idx = gl
        .project_index(id)
        .ok_or_else(|| GlErr::not_found("Project"))?;
    if !gl.can_see(user, &gl.projects[idx]) {
        return Err(GlErr::not_found("Project"));
    }
    Ok(idx)
}

fn issue_pos(p: &GlProject, iid: &str) -> Result<usize, GlErr> {
    let iid: u64 = iid.parse().map_err(|_| GlErr::not_found("Issue"))?;
    p.issues
        .binary_search_by_key(&iid, |i| i.iid)
        .map_err(|_| GlErr::not_found("Issue"))
}

fn can_write(gl: &GitLab, user: u64, p: &GlProject) -> bool {
    p.members.iter().any(|(u, l)| *u == user && *l >= 20) || gl.user(user).is_some_and(|u| u.admin)
}

// ---------------------------------------------------------------- handlers

async fn version(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> GlResult {
    ctx(&s, &headers, q, &[])?;
    ok(
        &json!({"version": GITLAB_VERSION, "revision": "5ba8e6b4e2a", "kas": {"enabled": false}, "enterprise": true}),
    )
}

async fn current_user(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> GlResult {
    let c = ctx(&s, &headers, q, &[])?;
    let w = s.read();
    let u = w.gitlab.user(c.user).ok_or_else(GlErr::unauthorized)?;
    ok(&full_user(s.gitlab_base(), u))
}

fn full_user(base: &str, u: &GlUser) -> Value {
    let mut v = serde_json::to_value(user_view(base, u)).unwrap_or_default();
    v["locked"] = json!(false);
    v["email"] = json!(u.email);
    v["public_email"] = json!(u.email);
    v["is_admin"] = json!(u.admin);
    v["bot"] = json!(false);
    v["created_at"] = json!(gl_time(&crate::seed::base_time()));
    v
}

async fn list_users(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> GlResult {
    let c = ctx(&s, &headers, q, &[])?;
    let w = s.read();
    let base = s.gitlab_base();
    let username = c.params.get("username");
    let search = c.params.get("search").map(str::to_lowercase);
    let users: Vec<Value> = w
        .gitlab
        .users
        .iter()
        .filter(|u| username.is_none_or(|n| u.username.eq_ignore_ascii_case(n)))
        .filter(|u| {
            search.as_ref().is_none_or(|q| {
                u.username.to_lowercase().contains(q)
                    || u.name.to_lowercase().contains(q)
                    || u.email.to_lowercase() == *q
            })
        })
        .map(|u| serde_json::to_value(user_view(base, u)).unwrap_or_default())
        .collect();
    paged_json(&users, &c.params, &format!("{base}/api/v4/users"))
}

async fn get_user(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> GlResult {
    ctx(&s, &headers, q, &[])?;
    let w = s.read();
    let u = id
        .parse::<u64>()
        .ok()
        .and_then(|id| w.gitlab.user(id))
        .ok_or_else(|| GlErr::not_found("User"))?;
    ok(&full_user(s.gitlab_base(), u))
}

fn filter_events<'a>(
    events: impl Iterator<Item = &'a GlEvent>,
    params: &Params,
) -> Result<Vec<&'a GlEvent>, GlErr> {
    let action = params.get("action");
    let target = params.get("target_type").map(str::to_lowercase);
    let date = |k: &str| -> Result<Option<NaiveDate>, GlErr> {
        match params.get(k) {
            None | Some("") => Ok(None),
            Some(v) => NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .map(Some)
                .map_err(|_| GlErr::bad(format!("{k} is invalid"))),
        }
    };
    let after = date("after")?;
    let before = date("before")?;
    let mut out: Vec<&GlEvent> = events
        .filter(|e| {
            action.is_none_or(|a| match a {
                "pushed" => e.action_name.starts_with("pushed"),
                "commented" => e.action_name == "commented on",
                other => e.action_name == other,
            })
        })
        .filter(|e| {
            target.as_ref().is_none_or(|t| {
                e.target_type
                    .as_deref()
                    .is_some_and(|x| x.to_lowercase() == *t)
            })
        })
        .filter(|e| after.is_none_or(|d| e.created_at.date_naive() > d))
        .filter(|e| before.is_none_or(|d| e.created_at.date_naive() < d))
        .collect();
    if params.get("sort") == Some("asc") {
        out.sort_by_key(|e| e.id);
    } else {
        out.sort_by_key(|e| std::cmp::Reverse(e.id));
    }
    Ok(out)
}

async fn user_events(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> GlResult {
    let c = ctx(&s, &headers, q, &[])?;
    let w = s.read();
    let gl = &w.gitlab;
    let uid = match id.parse::<u64>() {
        Ok(n) => gl.user(n).map(|u| u.id),
        Err(_) => gl.user_by_name(&id).map(|u| u.id),
    }
    .ok_or_else(|| GlErr::not_found("User"))?;
    let events = filter_events(
        gl.events.iter().filter(|e| {
            e.author_id == uid
                && gl
                    .projects
                    .iter()
                    .find(|p| p.id == e.project_id)
                    .is_some_and(|p| gl.can_see(c.user, p))
        }),
        &c.params,
    )?;
    let base = s.gitlab_base();
    let out: Vec<Value> = events.iter().map(|e| event_json(base, gl, e)).collect();
    paged_json(&out, &c.params, &format!("{base}/api/v4/users/{id}/events"))
}

async fn project_events(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> GlResult {
    let c = ctx(&s, &headers, q, &[])?;
    let w = s.read();
    let gl = &w.gitlab;
    let idx = visible_project(gl, c.user, &id)?;
    let pid = gl.projects[idx].id;
    let events = filter_events(gl.events.iter().filter(|e| e.project_id == pid), &c.params)?;
    let base = s.gitlab_base();
    let out: Vec<Value> = events.iter().map(|e| event_json(base, gl, e)).collect();
    paged_json(
        &out,
        &c.params,
        &format!("{base}/api/v4/projects/{pid}/events"),
    )
}

async fn list_projects(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> GlResult {
    let c = ctx(&s, &headers, q, &[])?;
    let w = s.read();
    let gl = &w.gitlab;
    let base = s.gitlab_base();
    let membership = c.params.bool("membership").unwrap_or(false);
    let owned = c.params.bool("owned").unwrap_or(false);
    let search = c.params.get("search").map(str::to_lowercase);
    let min_access = c.params.int("min_access_level").map_err(GlErr::bad)?;
    let simple = c.params.bool("simple").unwrap_or(false);
    let order_by = c.params.get("order_by").unwrap_or("created_at");
    if !matches!(
        order_by,
        "id" | "name" | "path" | "created_at" | "updated_at" | "last_activity_at" | "similarity"
    ) {
        return Err(GlErr::bad("order_by does not have a valid value"));
    }
    let mut projects: Vec<&GlProject> = gl
        .projects
        .iter()
        .filter(|p| gl.can_see(c.user, p))
        .filter(|p| {
            let level = p
                .members
                .iter()
                .find(|(u, _)| *u == c.user)
                .map(|(_, l)| *l);
            (!membership || level.is_some())
                && (!owned || level == Some(50))
                && min_access.is_none_or(|m| level.is_some_and(|l| i64::from(l) >= m))
        })
        .filter(|p| {
            search.as_ref().is_none_or(|q| {
                p.name.to_lowercase().contains(q)
                    || p.path_with_namespace.to_lowercase().contains(q)
            })
        })
        .collect();
    match order_by {
        "name" => projects.sort_by(|a, b| a.name.cmp(&b.name)),
        "path" => projects.sort_by(|a, b| a.path.cmp(&b.path)),
        "last_activity_at" | "updated_at" => projects.sort_by_key(|p| (p.last_activity_at, p.id)),
        _ => projects.sort_by_key(|p| p.id),
    }
    if c.params.get("sort") != Some("asc") {
        projects.reverse();
    }
    if c.params.get("pagination") == Some("keyset") {
        let after = c.params.int("id_after").map_err(GlErr::bad)?;
        let before = c.params.int("id_before").map_err(GlErr::bad)?;
        let page = page_params(&c.params)?;
        let rest: Vec<&GlProject> = projects
            .into_iter()
            .filter(|p| after.is_none_or(|a| p.id as i64 > a))
            .filter(|p| before.is_none_or(|b| (p.id as i64) < b))
            .collect();
        let slice = &rest[..page.per_page.min(rest.len())];
        let out: Vec<Value> = slice
            .iter()
            .map(|p| project_json(base, gl, p, c.user))
            .collect();
        let mut h = HeaderMap::new();
        if rest.len() > slice.len()
            && let Some(last) = slice.last()
        {
            let key = if c.params.get("sort") == Some("asc") {
                "id_after"
            } else {
                "id_before"
            };
            let url = url_with(
                &format!("{base}/api/v4/projects"),
                &c.params,
                &[
                    (key, last.id.to_string()),
                    ("per_page", page.per_page.to_string()),
                ],
            );
            if let Ok(v) = HeaderValue::from_str(&format!("<{url}>; rel=\"next\"")) {
                h.insert("link", v);
            }
        }
        return Ok(json_response(StatusCode::OK, &out, h));
    }
    let out: Vec<Value> = projects
        .iter()
        .map(|p| {
            let mut v = project_json(base, gl, p, c.user);
            if simple && let Some(o) = v.as_object_mut() {
                o.remove("permissions");
                o.remove("_links");
            }
            v
        })
        .collect();
    paged_json(&out, &c.params, &format!("{base}/api/v4/projects"))
}

async fn get_project(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> GlResult {
    let c = ctx(&s, &headers, q, &[])?;
    let w = s.read();
    let idx = visible_project(&w.gitlab, c.user, &id)?;
    ok(&project_json(
        s.gitlab_base(),
        &w.gitlab,
        &w.gitlab.projects[idx],
        c.user,
    ))
}

// ---------------------------------------------------------------- issues

enum Sel {
    Any,
    None,
    Ids(Vec<u64>),
}

struct IssueFilter {
    state: Option<&'static str>,
    milestone: Option<Sel>,
    assignee: Option<Sel>,
    author: Option<Sel>,
    labels: Vec<String>,
    labels_none: bool,
    labels_any: bool,
    iids: Option<Vec<u64>>,
    search: Option<String>,
    created_after: Option<DateTime<Utc>>,
    created_before: Option<DateTime<Utc>>,
    updated_after: Option<DateTime<Utc>>,
    updated_before: Option<DateTime<Utc>>,
    issue_type: Option<String>,
    confidential: Option<bool>,
}

fn user_sel(
    gl: &GitLab,
    params: &Params,
    id_key: &str,
    name_key: &str,
) -> Result<Option<Sel>, GlErr> {
    let id = params.get(id_key);
    let names = params.list(name_key);
    if id.is_some() && names.is_some() {
        return Err(GlErr::bad(format!(
            "{id_key}, {name_key} are mutually exclusive"
        )));
    }
    if let Some(id) = id {
        return Ok(Some(match id.to_ascii_lowercase().as_str() {
            "none" => Sel::None,
            "any" => Sel::Any,
            other => Sel::Ids(vec![
                other
                    .parse()
                    .map_err(|_| GlErr::bad(format!("{id_key} is invalid")))?,
            ]),
        }));
    }
    if let Some(names) = names {
        let ids = names
            .iter()
            .map(|n| gl.user_by_name(n).map(|u| u.id).unwrap_or(u64::MAX))
            .collect();
        return Ok(Some(Sel::Ids(ids)));
    }
    Ok(None)
}

fn date_param(params: &Params, key: &str) -> Result<Option<DateTime<Utc>>, GlErr> {
    match params.get(key) {
        None | Some("") => Ok(None),
        Some(v) => parse_time(v)
            .map(Some)
            .ok_or_else(|| GlErr::bad(format!("{key} is invalid"))),
    }
}

impl IssueFilter {
    fn parse(gl: &GitLab, p: &GlProject, params: &Params) -> Result<IssueFilter, GlErr> {
        let state = match params.get("state") {
            None | Some("all") | Some("") => None,
            Some("opened") => Some("opened"),
            Some("closed") => Some("closed"),
            Some(_) => return Err(GlErr::bad("state does not have a valid value")),
        };
        let milestone_title = params.get("milestone");
        let milestone_id = params.get("milestone_id");
        if milestone_title.is_some() && milestone_id.is_some() {
            return Err(GlErr::bad("milestone, milestone_id are mutually exclusive"));
        }
        let milestone = match milestone_title.or(milestone_id) {
            None => None,
            Some(v) => Some(match v.to_ascii_lowercase().as_str() {
                "none" => Sel::None,
                "any" => Sel::Any,
                _ if milestone_id.is_some() => {
                    let today = Utc::now().date_naive();
                    let ids = p
                        .milestones
                        .iter()
                        .filter(|m| match v {
                            "Upcoming" => m.due_date.is_some_and(|d| d >= today),
                            "Started" => m.start_date.is_some_and(|d| d <= today),
                            _ => false,
                        })
                        .map(|m| m.id)
                        .collect();
                    if !matches!(v, "Upcoming" | "Started") {
                        return Err(GlErr::bad("milestone_id does not have a valid value"));
                    }
                    Sel::Ids(ids)
                }
                _ => Sel::Ids(
                    p.milestones
                        .iter()
                        .filter(|m| m.title == v)
                        .map(|m| m.id)
                        .collect(),
                ),
            }),
        };
        let assignee = user_sel(gl, params, "assignee_id", "assignee_username")?;
        let author = user_sel(gl, params, "author_id", "author_username")?;
        let mut labels = params.list("labels").unwrap_or_default();
        let labels_none = labels.len() == 1 && labels[0].eq_ignore_ascii_case("none");
        let labels_any = labels.len() == 1 && labels[0].eq_ignore_ascii_case("any");
        if labels_none || labels_any {
            labels.clear();
        }
        let iids = match params.list("iids") {
            None => None,
            Some(v) => Some(
                v.iter()
                    .map(|x| x.parse::<u64>().map_err(|_| GlErr::bad("iids is invalid")))
                    .collect::<Result<Vec<_>, _>>()?,
            ),
        };
        let issue_type = match params.get("issue_type") {
            None | Some("") => None,
            Some(t @ ("issue" | "incident" | "test_case" | "task")) => Some(t.to_string()),
            Some(_) => return Err(GlErr::bad("issue_type does not have a valid value")),
        };
        Ok(IssueFilter {
            state,
            milestone,
            assignee,
            author,
            labels,
            labels_none,
            labels_any,
            iids,
            search: params
                .get("search")
                .filter(|s| !s.is_empty())
                .map(str::to_lowercase),
            created_after: date_param(params, "created_after")?,
            created_before: date_param(params, "created_before")?,
            updated_after: date_param(params, "updated_after")?,
            updated_before: date_param(params, "updated_before")?,
            issue_type,
            confidential: params.bool("confidential"),
        })
    }

    fn matches(&self, i: &GlIssue) -> bool {
        if let Some(st) = self.state
            && i.state != st
        {
            return false;
        }
        if let Some(iids) = &self.iids
            && !iids.contains(&i.iid)
        {
            return false;
        }
        match &self.milestone {
            None => {}
            Some(Sel::Any) if i.milestone_id.is_none() => return false,
            Some(Sel::None) if i.milestone_id.is_some() => return false,
            Some(Sel::Ids(ids)) if !i.milestone_id.is_some_and(|m| ids.contains(&m)) => {
                return false;
            }
            _ => {}
        }
        match &self.assignee {
            None => {}
            Some(Sel::Any) if i.assignee_ids.is_empty() => return false,
            Some(Sel::None) if !i.assignee_ids.is_empty() => return false,
            Some(Sel::Ids(ids)) if !ids.iter().all(|id| i.assignee_ids.contains(id)) => {
                return false;
            }
            _ => {}
        }
        match &self.author {
            Some(Sel::Ids(ids)) if !ids.contains(&i.author_id) => return false,
            _ => {}
        }
        if self.labels_none && !i.labels.is_empty() {
            return false;
        }
        if self.labels_any && i.labels.is_empty() {
            return false;
        }
        if !self
            .labels
            .iter()
            .all(|l| i.labels.iter().any(|x| x.eq_ignore_ascii_case(l)))
        {
            return false;
        }
        if self.created_after.is_some_and(|t| i.created_at < t)
            || self.created_before.is_some_and(|t| i.created_at > t)
            || self.updated_after.is_some_and(|t| i.updated_at < t)
            || self.updated_before.is_some_and(|t| i.updated_at > t)
        {
            return false;
        }
        if let Some(t) = &self.issue_type
            && &i.issue_type != t
        {
            return false;
        }
        if let Some(c) = self.confidential
            && i.confidential != c
        {
            return false;
        }
        if let Some(q) = &self.search
            && !i.title.to_lowercase().contains(q)
            && !i.description.to_lowercase().contains(q)
        {
            return false;
        }
        true
    }
}

/// A keyset cursor: the sort value and id of the last issue of a page.
fn encode_cursor(order_by: &str, i: &GlIssue) -> String {
    use base64::Engine;
    let v = json!({ "id": i.id.to_string(), order_by: sort_value(order_by, i) });
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
}

fn decode_cursor(order_by: &str, c: &str) -> Option<(String, u64)> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(c.trim_end_matches('='))
        .ok()?;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    let id = v.get("id")?.as_str()?.parse().ok()?;
    let key = v.get(order_by)?.as_str()?.to_string();
    Some((key, id))
}

fn sort_value(order_by: &str, i: &GlIssue) -> String {
    match order_by {
        "updated_at" => gl_time(&i.updated_at),
        "title" => i.title.clone(),
        "due_date" => i.due_date.map(|d| d.to_string()).unwrap_or_default(),
        "weight" => format!("{:020}", i.weight.unwrap_or(-1) + 1),
        _ => format!("{:020}", i.id),
    }
}

async fn list_issues(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> GlResult {
    let c = ctx(&s, &headers, q, &[])?;
    let w = s.read();
    let gl = &w.gitlab;
    let pidx = visible_project(gl, c.user, &id)?;
    let p = &gl.projects[pidx];
    let filter = IssueFilter::parse(gl, p, &c.params)?;
    let order_by = c.params.get("order_by").unwrap_or("created_at");
    if !matches!(
        order_by,
        "created_at"
            | "updated_at"
            | "priority"
            | "due_date"
            | "relative_position"
            | "label_priority"
            | "milestone_due"
            | "popularity"
            | "weight"
            | "title"
            | "id"
    ) {
        return Err(GlErr::bad("order_by does not have a valid value"));
    }
    let asc = match c.params.get("sort") {
        None | Some("desc") => false,
        Some("asc") => true,
        Some(_) => return Err(GlErr::bad("sort does not have a valid value")),
    };
    // Issues are stored in id order, which is creation order: no sort needed then.
    let by_id = matches!(
        order_by,
        "created_at"
            | "id"
            | "priority"
            | "label_priority"
            | "milestone_due"
            | "popularity"
            | "relative_position"
    );
    let mut matched: Vec<u32> = Vec::new();
    if asc || !by_id {
        for (n, i) in p.issues.iter().enumerate() {
            if filter.matches(i) {
                matched.push(n as u32);
            }
        }
    } else {
        for (n, i) in p.issues.iter().enumerate().rev() {
            if filter.matches(i) {
                matched.push(n as u32);
            }
        }
    }
    if !by_id {
        let key = |n: &u32| {
            let i = &p.issues[*n as usize];
            (sort_value(order_by, i), i.id)
        };
        matched.sort_by_cached_key(key);
        if !asc {
            matched.reverse();
        }
    }
    let base = s.gitlab_base();
    let path = format!("{base}/api/v4/projects/{}/issues", p.id);
    if c.params.get("pagination") == Some("keyset") {
        let page = page_params(&c.params)?;
        let start = match c.params.get("cursor") {
            None => 0,
            Some(cur) => {
                let (key, id) =
                    decode_cursor(order_by, cur).ok_or_else(|| GlErr::bad("cursor is invalid"))?;
                if by_id {
                    // `matched` is in id order: binary search instead of a scan.
                    matched.partition_point(|n| {
                        let i = p.issues[*n as usize].id;
                        if asc { i <= id } else { i >= id }
                    })
                } else {
                    let cur = (key, id);
                    matched
                        .iter()
                        .position(|n| {
                            let i = &p.issues[*n as usize];
                            let k = (sort_value(order_by, i), i.id);
                            if asc { k > cur } else { k < cur }
                        })
                        .unwrap_or(matched.len())
                }
            }
        };
        let end = (start + page.per_page).min(matched.len());
        let slice = &matched[start..end];
        let out: Vec<IssueView> = slice
            .iter()
            .map(|n| issue_view(base, gl, p, &p.issues[*n as usize]))
            .collect();
        let mut h = HeaderMap::new();
        if end < matched.len()
            && let Some(last) = slice.last()
        {
            let cursor = encode_cursor(order_by, &p.issues[*last as usize]);
            let url = url_with(
                &path,
                &c.params,
                &[("cursor", cursor), ("per_page", page.per_page.to_string())],
            );
            if let Ok(v) = HeaderValue::from_str(&format!("<{url}>; rel=\"next\"")) {
                h.insert("link", v);
            }
        }
        if let Ok(v) = HeaderValue::from_str(&page.per_page.to_string()) {
            h.insert("x-per-page", v);
        }
        return Ok(json_response(StatusCode::OK, &out, h));
    }
    let page = page_params(&c.params)?;
    let start = ((page.page - 1) * page.per_page).min(matched.len());
    let end = (start + page.per_page).min(matched.len());
    let out: Vec<IssueView> = matched[start..end]
        .iter()
        .map(|n| issue_view(base, gl, p, &p.issues[*n as usize]))
        .collect();
    let h = offset_headers(&page, matched.len(), &path, &c.params);
    Ok(json_response(StatusCode::OK, &out, h))
}

async fn get_issue(
    State(s): State<Arc<Shared>>,
    Path((id, iid)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> GlResult {
    let c = ctx(&s, &headers, q, &[])?;
    let w = s.read();
    let gl = &w.gitlab;
    let pidx = visible_project(gl, c.user, &id)?;
    let p = &gl.projects[pidx];
    let ipos = issue_pos(p, &iid)?;
    ok(&issue_view(s.gitlab_base(), gl, p, &p.issues[ipos]))
}

/// What happened to an issue, for webhooks and events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IssueAction {
    Open,
    Close,
    Reopen,
    Update,
}

impl IssueAction {
    fn as_str(self) -> &'static str {
        match self {
            IssueAction::Open => "open",
            IssueAction::Close => "close",
            IssueAction::Reopen => "reopen",
            IssueAction::Update => "update",
        }
    }
}

/// Fields to set on an issue; `None` leaves a field as it is.
#[derive(Debug, Default, Clone)]
pub(crate) struct IssueEdit {
    pub title: Option<String>,
    pub description: Option<String>,
    pub state_event: Option<String>,
    pub labels: Option<Vec<String>>,
    pub add_labels: Vec<String>,
    pub remove_labels: Vec<String>,
    pub assignee_ids: Option<Vec<u64>>,
    pub milestone_id: Option<Option<u64>>,
    pub weight: Option<Option<i64>>,
    pub due_date: Option<Option<NaiveDate>>,
    pub confidential: Option<bool>,
    pub issue_type: Option<String>,
}

fn parse_edit(gl: &GitLab, p: &GlProject, params: &Params) -> Result<IssueEdit, GlErr> {
    let mut e = IssueEdit {
        title: params.get("title").map(str::to_string),
        description: params.get("description").map(str::to_string),
        ..Default::default()
    };
    if let Some(t) = &e.title
        && t.trim().is_empty()
    {
        return Err(GlErr::bad("title is empty"));
    }
    match params.get("state_event") {
        None => {}
        Some(v @ ("close" | "reopen")) => e.state_event = Some(v.to_string()),
        Some(_) => return Err(GlErr::bad("state_event does not have a valid value")),
    }
    e.labels = params.list("labels");
    e.add_labels = params.list("add_labels").unwrap_or_default();
    e.remove_labels = params.list("remove_labels").unwrap_or_default();
    if let Some(ids) = params
        .list("assignee_ids")
        .or_else(|| params.list("assignee_id"))
    {
        let mut out = Vec::new();
        for id in ids {
            let n: u64 = id
                .parse()
                .map_err(|_| GlErr::bad("assignee_ids is invalid"))?;
            if n != 0 {
                if gl.user(n).is_none() {
                    return Err(GlErr::not_found("User"));
                }
                out.push(n);
            }
        }
        e.assignee_ids = Some(out);
    }
    if params.has("milestone_id") {
        e.milestone_id = Some(match params.get("milestone_id") {
            None | Some("") | Some("0") => None,
            Some(v) => {
                let n: u64 = v
                    .parse()
                    .map_err(|_| GlErr::bad("milestone_id is invalid"))?;
                if !p.milestones.iter().any(|m| m.id == n) {
                    return Err(GlErr::not_found("Milestone"));
                }
                Some(n)
            }
        });
    }
    if params.has("weight") {
        e.weight = Some(params.int("weight").map_err(GlErr::bad)?);
        if e.weight.flatten().is_some_and(|w| w < 0) {
            return Err(GlErr::bad("weight does not have a valid value"));
        }
    }
    if params.has("due_date") {
        e.due_date = Some(match params.get("due_date") {
            None | Some("") => None,
            Some(v) => Some(
                NaiveDate::parse_from_str(v, "%Y-%m-%d")
                    .map_err(|_| GlErr::bad("due_date is invalid"))?,
            ),
        });
    }
    e.confidential = params.bool("confidential");
    match params.get("issue_type") {
        None => {}
        Some(t @ ("issue" | "incident" | "task" | "test_case")) => {
            e.issue_type = Some(t.to_string())
        }
        Some(_) => return Err(GlErr::bad("issue_type does not have a valid value")),
    }
    Ok(e)
}

/// Creates an issue, records the event and sends webhooks; returns its iid.
pub(crate) fn do_create_issue(
    s: &Shared,
    pidx: usize,
    user: u64,
    edit: IssueEdit,
) -> Result<u64, GlErr> {
    let mut w = s.write();
    let gl = &mut w.gitlab;
    let id = gl.alloc_id();
    let now = Utc::now();
    let p = gl
        .projects
        .get_mut(pidx)
        .ok_or_else(|| GlErr::not_found("Project"))?;
    let iid = p.issues.last().map(|i| i.iid).unwrap_or(0) + 1;
    let mut labels: Vec<String> = edit.labels.clone().unwrap_or_default();
    for l in &edit.add_labels {
        if !labels.contains(l) {
            labels.push(l.clone());
        }
    }
    let mut issue = GlIssue {
        id,
        iid,
        title: edit.title.clone().unwrap_or_default(),
        description: edit.description.clone().unwrap_or_default(),
        state: "opened".into(),
        created_at: now,
        updated_at: now,
        closed_at: None,
        closed_by: None,
        labels,
        milestone_id: edit.milestone_id.flatten(),
        assignee_ids: edit.assignee_ids.clone().unwrap_or_default(),
        author_id: user,
        issue_type: edit.issue_type.clone().unwrap_or_else(|| "issue".into()),
        weight: edit.weight.flatten(),
        time_estimate: 0,
        total_time_spent: 0,
        due_date: edit.due_date.flatten(),
        confidential: edit.confidential.unwrap_or(false),
        notes: Vec::new(),
        tasks: (0, 0),
    };
    issue.refresh_tasks();
    ensure_labels(gl, pidx, &issue.labels);
    let p = &mut gl.projects[pidx];
    p.last_activity_at = now;
    p.issues.push(issue);
    let ipos = p.issues.len() - 1;
    let mut changes = serde_json::Map::new();
    changes.insert("id".into(), json!({"previous": null, "current": id}));
    changes.insert(
        "title".into(),
        json!({"previous": null, "current": p.issues[ipos].title}),
    );
    record_issue_event(gl, pidx, ipos, user, "opened");
    emit_issue_hook(s, gl, pidx, ipos, user, IssueAction::Open, changes);
    Ok(iid)
}

fn ensure_labels(gl: &mut GitLab, pidx: usize, labels: &[String]) {
    for l in labels {
        if !gl.projects[pidx]
            .labels
            .iter()
            .any(|x| x.name.eq_ignore_ascii_case(l))
        {
            let id = gl.alloc_id();
            gl.projects[pidx].labels.push(GlLabel {
                id,
                name: l.clone(),
                color: "#6699cc".into(),
                description: None,
            });
        }
    }
}

fn record_issue_event(gl: &mut GitLab, pidx: usize, ipos: usize, user: u64, action: &str) {
    let id = gl.alloc_id();
    let p = &gl.projects[pidx];
    let i = &p.issues[ipos];
    let e = GlEvent {
        id,
        project_id: p.id,
        action_name: action.into(),
        target_type: Some(
            if i.issue_type == "task" {
                "WorkItem"
            } else {
                "Issue"
            }
            .into(),
        ),
        target_id: Some(i.id),
        target_iid: Some(i.iid),
        target_title: Some(i.title.clone()),
        author_id: user,
        created_at: Utc::now(),
        push: None,
        note_body: None,
    };
    gl.events.push(e);
}

/// Applies an edit, records events and sends webhooks.
pub(crate) fn do_update_issue(
    s: &Shared,
    pidx: usize,
    ipos: usize,
    user: u64,
    edit: IssueEdit,
) -> Result<(), GlErr> {
    let mut w = s.write();
    let gl = &mut w.gitlab;
    let now = Utc::now();
    if let Some(l) = &edit.labels {
        ensure_labels(gl, pidx, l);
    }
    ensure_labels(gl, pidx, &edit.add_labels);
    let p = gl
        .projects
        .get_mut(pidx)
        .ok_or_else(|| GlErr::not_found("Project"))?;
    let i = p
        .issues
        .get_mut(ipos)
        .ok_or_else(|| GlErr::not_found("Issue"))?;
    let mut changes = serde_json::Map::new();
    let mut change = |k: &str, prev: Value, cur: Value| {
        if prev != cur {
            changes.insert(k.into(), json!({"previous": prev, "current": cur}));
        }
    };
    let mut action = IssueAction::Update;
    if let Some(t) = edit.title {
        change("title", json!(i.title), json!(t));
        i.title = t;
    }
    if let Some(d) = edit.description {
        change("description", json!(i.description), json!(d));
        i.description = d;
        i.refresh_tasks();
    }
    let mut labels = edit.labels.unwrap_or_else(|| i.labels.clone());
    for l in edit.add_labels {
        if !labels.iter().any(|x| x.eq_ignore_ascii_case(&l)) {
            labels.push(l);
        }
    }
    labels.retain(|l| !edit.remove_labels.iter().any(|r| r.eq_ignore_ascii_case(l)));
    if labels != i.labels {
        change("labels", json!(i.labels), json!(labels));
        i.labels = labels;
    }
    if let Some(a) = edit.assignee_ids {
        change("assignees", json!(i.assignee_ids), json!(a));
        i.assignee_ids = a;
    }
    if let Some(m) = edit.milestone_id {
        change("milestone_id", json!(i.milestone_id), json!(m));
        i.milestone_id = m;
    }
    if let Some(wt) = edit.weight {
        change("weight", json!(i.weight), json!(wt));
        i.weight = wt;
    }
    if let Some(d) = edit.due_date {
        change("due_date", json!(i.due_date), json!(d));
        i.due_date = d;
    }
    if let Some(c) = edit.confidential {
        change("confidential", json!(i.confidential), json!(c));
        i.confidential = c;
    }
    if let Some(t) = edit.issue_type {
        change("type", json!(i.issue_type), json!(t));
        i.issue_type = t;
    }
    match edit.state_event.as_deref() {
        Some("close") if i.state == "opened" => {
            change("state_id", json!(1), json!(2));
            change("closed_at", Value::Null, json!(gl_time(&now)));
            i.state = "closed".into();
            i.closed_at = Some(now);
            i.closed_by = Some(user);
            action = IssueAction::Close;
        }
        Some("reopen") if i.state == "closed" => {
            change("state_id", json!(2), json!(1));
            change(
                "closed_at",
                json!(i.closed_at.as_ref().map(gl_time)),
                Value::Null,
            );
            i.state = "opened".into();
            i.closed_at = None;
            i.closed_by = None;
            action = IssueAction::Reopen;
        }
        _ => {}
    }
    if changes.is_empty() {
        return Ok(());
    }
    let prev_updated = gl_time(&i.updated_at);
    i.updated_at = now;
    changes.insert(
        "updated_at".into(),
        json!({"previous": prev_updated, "current": gl_time(&now)}),
    );
    changes.insert(
        "updated_by_id".into(),
        json!({"previous": null, "current": user}),
    );
    p.last_activity_at = now;
    match action {
        IssueAction::Close => record_issue_event(gl, pidx, ipos, user, "closed"),
        IssueAction::Reopen => record_issue_event(gl, pidx, ipos, user, "reopened"),
        _ => {}
    }
    emit_issue_hook(s, gl, pidx, ipos, user, action, changes);
    Ok(())
}

async fn create_issue(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> GlResult {
    let c = ctx(&s, &headers, q, &body)?;
    let (pidx, edit) = {
        let w = s.read();
        let pidx = visible_project(&w.gitlab, c.user, &id)?;
        let p = &w.gitlab.projects[pidx];
        if !can_write(&w.gitlab, c.user, p) {
            return Err(GlErr::forbidden());
        }
        if c.params.get("title").is_none_or(|t| t.trim().is_empty()) {
            return Err(GlErr::bad("title is missing"));
        }
        (pidx, parse_edit(&w.gitlab, p, &c.params)?)
    };
    let iid = do_create_issue(&s, pidx, c.user, edit)?;
    let w = s.read();
    let p = &w.gitlab.projects[pidx];
    let ipos = issue_pos(p, &iid.to_string())?;
    created(&issue_view(s.gitlab_base(), &w.gitlab, p, &p.issues[ipos]))
}

async fn update_issue(
    State(s): State<Arc<Shared>>,
    Path((id, iid)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> GlResult {
    let c = ctx(&s, &headers, q, &body)?;
    let (pidx, ipos, edit) = {
        let w = s.read();
        let pidx = visible_project(&w.gitlab, c.user, &id)?;
        let p = &w.gitlab.projects[pidx];
        let ipos = issue_pos(p, &iid)?;
        if !can_write(&w.gitlab, c.user, p) {
            return Err(GlErr::forbidden());
        }
        (pidx, ipos, parse_edit(&w.gitlab, p, &c.params)?)
    };
    do_update_issue(&s, pidx, ipos, c.user, edit)?;
    let w = s.read();
    let p = &w.gitlab.projects[pidx];
    ok(&issue_view(s.gitlab_base(), &w.gitlab, p, &p.issues[ipos]))
}

// ---------------------------------------------------------------- notes

async fn list_notes(
    State(s): State<Arc<Shared>>,
    Path((id, iid)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> GlResult {
    let c = ctx(&s, &headers, q, &[])?;
    let w = s.read();
    let gl = &w.gitlab;
    let pidx = visible_project(gl, c.user, &id)?;
    let p = &gl.projects[pidx];
    let i = &p.issues[issue_pos(p, &iid)?];
    let base = s.gitlab_base();
    let mut notes: Vec<&GlNote> = i.notes.iter().collect();
    let order_updated = c.params.get("order_by") == Some("updated_at");
    notes.sort_by_key(|n| {
        (
            if order_updated {
                n.updated_at
            } else {
                n.created_at
            },
            n.id,
        )
    });
    if c.params.get("sort") != Some("asc") {
        notes.reverse();
    }
    let out: Vec<Value> = notes.iter().map(|n| note_json(base, gl, p, i, n)).collect();
    paged_json(
        &out,
        &c.params,
        &format!("{base}/api/v4/projects/{}/issues/{}/notes", p.id, i.iid),
    )
}

async fn get_note(
    State(s): State<Arc<Shared>>,
    Path((id, iid, note_id)): Path<(String, String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> GlResult {
    let c = ctx(&s, &headers, q, &[])?;
    let w = s.read();
    let gl = &w.gitlab;
    let pidx = visible_project(gl, c.user, &id)?;
    let p = &gl.projects[pidx];
    let i = &p.issues[issue_pos(p, &iid)?];
    let n = i
        .notes
        .iter()
        .find(|n| n.id.to_string() == note_id)
        .ok_or_else(|| GlErr::not_found("Note"))?;
    ok(&note_json(s.gitlab_base(), gl, p, i, n))
}

/// Adds a note, records the event and sends the Note Hook; returns the note id.
pub(crate) fn do_add_note(
    s: &Shared,
    pidx: usize,
    ipos: usize,
    user: u64,
    body: String,
    internal: bool,
) -> Result<u64, GlErr> {
    let mut w = s.write();
    let gl = &mut w.gitlab;
    let nid = gl.alloc_id();
    let eid = gl.alloc_id();
    let now = Utc::now();
    let p = gl
        .projects
        .get_mut(pidx)
        .ok_or_else(|| GlErr::not_found("Project"))?;
    let pid = p.id;
    let i = p
        .issues
        .get_mut(ipos)
        .ok_or_else(|| GlErr::not_found("Issue"))?;
    i.notes.push(GlNote {
        id: nid,
        body: body.clone(),
        author_id: user,
        system: false,
        created_at: now,
        updated_at: now,
        internal,
    });
    let (iid, iid_id, title) = (i.iid, i.id, i.title.clone());
    gl.events.push(GlEvent {
        id: eid,
        project_id: pid,
        action_name: "commented on".into(),
        target_type: Some("Note".into()),
        target_id: Some(nid),
        target_iid: Some(iid),
        target_title: Some(title),
        author_id: user,
        created_at: now,
        push: None,
        note_body: Some(body),
    });
    let _ = iid_id;
    emit_note_hook(s, gl, pidx, ipos, nid, user);
    Ok(nid)
}

async fn create_note(
    State(s): State<Arc<Shared>>,
    Path((id, iid)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> GlResult {
    let c = ctx(&s, &headers, q, &body)?;
    let (pidx, ipos) = {
        let w = s.read();
        let pidx = visible_project(&w.gitlab, c.user, &id)?;
        let p = &w.gitlab.projects[pidx];
        (pidx, issue_pos(p, &iid)?)
    };
    let text = match c.params.get("body") {
        Some(b) if !b.trim().is_empty() => b.to_string(),
        _ => return Err(GlErr::bad("body is missing")),
    };
    let internal = c
        .params
        .bool("internal")
        .or(c.params.bool("confidential"))
        .unwrap_or(false);
    let nid = do_add_note(&s, pidx, ipos, c.user, text, internal)?;
    let w = s.read();
    let gl = &w.gitlab;
    let p = &gl.projects[pidx];
    let i = &p.issues[ipos];
    let n = i
        .notes
        .iter()
        .find(|n| n.id == nid)
        .ok_or_else(|| GlErr::not_found("Note"))?;
    created(&note_json(s.gitlab_base(), gl, p, i, n))
}

async fn update_note(
    State(s): State<Arc<Shared>>,
    Path((id, iid, note_id)): Path<(String, String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> GlResult {
    let c = ctx(&s, &headers, q, &body)?;
    let text = match c.params.get("body") {
        Some(b) if !b.trim().is_empty() => b.to_string(),
        _ => return Err(GlErr::bad("body is missing")),
    };
    let mut w = s.write();
    let gl = &mut w.gitlab;
    let pidx = visible_project(gl, c.user, &id)?;
    let ipos = issue_pos(&gl.projects[pidx], &iid)?;
    let nid = {
        let i = &mut gl.projects[pidx].issues[ipos];
        let n = i
            .notes
            .iter_mut()
            .find(|n| n.id.to_string() == note_id)
            .ok_or_else(|| GlErr::not_found("Note"))?;
        if n.author_id != c.user {
            return Err(GlErr::forbidden());
        }
        n.body = text;
        n.updated_at = Utc::now();
        n.id
    };
    emit_note_hook(&s, gl, pidx, ipos, nid, c.user);
    let p = &gl.projects[pidx];
    let i = &p.issues[ipos];
    let n = i
        .notes
        .iter()
        .find(|n| n.id == nid)
        .ok_or_else(|| GlErr::not_found("Note"))?;
    ok(&note_json(s.gitlab_base(), gl, p, i, n))
}

// ---------------------------------------------------------------- time tracking

async fn time_stats(
    State(s): State<Arc<Shared>>,
    Path((id, iid)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> GlResult {
    let c = ctx(&s, &headers, q, &[])?;
    let w = s.read();
    let pidx = visible_project(&w.gitlab, c.user, &id)?;
    let p = &w.gitlab.projects[pidx];
    ok(&time_stats_of(&p.issues[issue_pos(p, &iid)?]))
}

/// Changes time tracking; `action` is one of GitLab's four endpoints.
pub(crate) fn do_time(
    s: &Shared,
    pidx: usize,
    ipos: usize,
    user: u64,
    action: &str,
    seconds: i64,
) -> Result<(), GlErr> {
    let mut w = s.write();
    let gl = &mut w.gitlab;
    let p = gl
        .projects
        .get_mut(pidx)
        .ok_or_else(|| GlErr::not_found("Project"))?;
    let i = p
        .issues
        .get_mut(ipos)
        .ok_or_else(|| GlErr::not_found("Issue"))?;
    let mut changes = serde_json::Map::new();
    match action {
        "time_estimate" => {
            changes.insert(
                "time_estimate".into(),
                json!({"previous": i.time_estimate, "current": seconds}),
            );
            i.time_estimate = seconds;
        }
        "reset_time_estimate" => {
            changes.insert(
                "time_estimate".into(),
                json!({"previous": i.time_estimate, "current": 0}),
            );
            i.time_estimate = 0;
        }
        "add_spent_time" => {
            let new = (i.total_time_spent + seconds).max(0);
            changes.insert(
                "total_time_spent".into(),
                json!({"previous": i.total_time_spent, "current": new}),
            );
            changes.insert(
                "time_change".into(),
                json!({"previous": 0, "current": seconds}),
            );
            i.total_time_spent = new;
        }
        "reset_spent_time" => {
            changes.insert(
                "total_time_spent".into(),
                json!({"previous": i.total_time_spent, "current": 0}),
            );
            i.total_time_spent = 0;
        }
        _ => {
            return Err(GlErr(
                StatusCode::NOT_FOUND,
                json!({"error": "404 Not Found"}),
            ));
        }
    }
    i.updated_at = Utc::now();
    emit_issue_hook(s, gl, pidx, ipos, user, IssueAction::Update, changes);
    Ok(())
}

async fn time_action(
    State(s): State<Arc<Shared>>,
    Path((id, iid, action)): Path<(String, String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> GlResult {
    let c = ctx(&s, &headers, q, &body)?;
    if !matches!(
        action.as_str(),
        "time_estimate" | "reset_time_estimate" | "add_spent_time" | "reset_spent_time"
    ) {
        return Err(GlErr(
            StatusCode::NOT_FOUND,
            json!({"error": "404 Not Found"}),
        ));
    }
    let (pidx, ipos) = {
        let w = s.read();
        let pidx = visible_project(&w.gitlab, c.user, &id)?;
        let p = &w.gitlab.projects[pidx];
        if !can_write(&w.gitlab, c.user, p) {
            return Err(GlErr::forbidden());
        }
        (pidx, issue_pos(p, &iid)?)
    };
    let seconds = if action.starts_with("reset") {
        0
    } else {
        let d = c
            .params
            .get("duration")
            .ok_or_else(|| GlErr::bad("duration is missing"))?;
        let secs = parse_duration(d).ok_or_else(|| GlErr::bad("Invalid duration"))?;
        if action == "time_estimate" && secs < 0 {
            return Err(GlErr::bad(
                "Time estimate must have a valid format and be greater than or equal to zero.",
            ));
        }
        secs
    };
    do_time(&s, pidx, ipos, c.user, &action, seconds)?;
    let w = s.read();
    let p = &w.gitlab.projects[pidx];
    let stats = time_stats_of(&p.issues[ipos]);
    if action == "add_spent_time" {
        created(&stats)
    } else {
        ok(&stats)
    }
}

// ---------------------------------------------------------------- milestones, labels, members, MRs

async fn list_milestones(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> GlResult {
    let c = ctx(&s, &headers, q, &[])?;
    let w = s.read();
    let pidx = visible_project(&w.gitlab, c.user, &id)?;
    let p = &w.gitlab.projects[pidx];
    let base = s.gitlab_base();
    let state = c.params.get("state");
    if state.is_some_and(|st| !matches!(st, "active" | "closed")) {
        return Err(GlErr::bad("state does not have a valid value"));
    }
    let title = c.params.get("title");
    let search = c.params.get("search").map(str::to_lowercase);
    let iids = c.params.list("iids");
    let mut ms: Vec<&GlMilestone> = p
        .milestones
        .iter()
        .filter(|m| state.is_none_or(|st| m.state == st))
        .filter(|m| title.is_none_or(|t| m.title == t))
        .filter(|m| {
            search
                .as_ref()
                .is_none_or(|q| m.title.to_lowercase().contains(q))
        })
        .filter(|m| {
            iids.as_ref()
                .is_none_or(|v| v.iter().any(|x| x == &m.iid.to_string()))
        })
        .collect();
    ms.sort_by_key(|m| std::cmp::Reverse(m.id));
    let out: Vec<MilestoneView> = ms.iter().map(|m| milestone_view(base, p, m)).collect();
    paged_json(
        &out,
        &c.params,
        &format!("{base}/api/v4/projects/{}/milestones", p.id),
    )
}

async fn get_milestone(
    State(s): State<Arc<Shared>>,
    Path((id, mid)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> GlResult {
    let c = ctx(&s, &headers, q, &[])?;
    let w = s.read();
    let pidx = visible_project(&w.gitlab, c.user, &id)?;
    let p = &w.gitlab.projects[pidx];
    let m = p
        .milestones
        .iter()
        .find(|m| m.id.to_string() == mid)
        .ok_or_else(|| GlErr::not_found("Milestone"))?;
    ok(&milestone_view(s.gitlab_base(), p, m))
}

fn date_field(params: &Params, key: &str) -> Result<Option<Option<NaiveDate>>, GlErr> {
    if !params.has(key) {
        return Ok(None);
    }
    match params.get(key) {
        None | Some("") => Ok(Some(None)),
        Some(v) => NaiveDate::parse_from_str(v, "%Y-%m-%d")
            .map(|d| Some(Some(d)))
            .map_err(|_| GlErr::bad(format!("{key} is invalid"))),
    }
}

async fn create_milestone(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> GlResult {
    let c = ctx(&s, &headers, q, &body)?;
    let title = match c.params.get("title") {
        Some(t) if !t.trim().is_empty() => t.to_string(),
        _ => return Err(GlErr::bad("title is missing")),
    };
    let start = date_field(&c.params, "start_date")?.flatten();
    let due = date_field(&c.params, "due_date")?.flatten();
    let mut w = s.write();
    let gl = &mut w.gitlab;
    let pidx = visible_project(gl, c.user, &id)?;
    if !can_write(gl, c.user, &gl.projects[pidx]) {
        return Err(GlErr::forbidden());
    }
    if gl.projects[pidx]
        .milestones
        .iter()
        .any(|m| m.title == title)
    {
        return Err(GlErr(
            StatusCode::BAD_REQUEST,
            json!({"message": "Failed to create milestone! Milestone title already being used for another group or project milestone."}),
        ));
    }
    let mid = gl.alloc_id();
    let now = Utc::now();
    let p = &mut gl.projects[pidx];
    let iid = p.milestones.iter().map(|m| m.iid).max().unwrap_or(0) + 1;
    p.milestones.push(GlMilestone {
        id: mid,
        iid,
        title,
        description: c.params.get("description").map(str::to_string),
        state: "active".into(),
        start_date: start,
        due_date: due,
        created_at: now,
        updated_at: now,
    });
    let p = &gl.projects[pidx];
    let m = p
        .milestones
        .last()
        .ok_or_else(|| GlErr::not_found("Milestone"))?;
    created(&milestone_view(s.gitlab_base(), p, m))
}

async fn update_milestone(
    State(s): State<Arc<Shared>>,
    Path((id, mid)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> GlResult {
    let c = ctx(&s, &headers, q, &body)?;
    let state_event = c.params.get("state_event");
    if state_event.is_some_and(|e| !matches!(e, "close" | "activate")) {
        return Err(GlErr::bad("state_event does not have a valid value"));
    }
    let start = date_field(&c.params, "start_date")?;
    let due = date_field(&c.params, "due_date")?;
    let mut w = s.write();
    let gl = &mut w.gitlab;
    let pidx = visible_project(gl, c.user, &id)?;
    if !can_write(gl, c.user, &gl.projects[pidx]) {
        return Err(GlErr::forbidden());
    }
    let p = &mut gl.projects[pidx];
    let m = p
        .milestones
        .iter_mut()
        .find(|m| m.id.to_string() == mid)
        .ok_or_else(|| GlErr::not_found("Milestone"))?;
    if let Some(t) = c.params.get("title").filter(|t| !t.trim().is_empty()) {
        m.title = t.to_string();
    }
    if let Some(d) = c.params.get("description") {
        m.description = Some(d.to_string());
    }
    if let Some(d) = start {
        m.start_date = d;
    }
    if let Some(d) = due {
        m.due_date = d;
    }
    match state_event {
        Some("close") => m.state = "closed".into(),
        Some("activate") => m.state = "active".into(),
        _ => {}
    }
    m.updated_at = Utc::now();
    let m = m.clone();
    ok(&milestone_view(s.gitlab_base(), &gl.projects[pidx], &m))
}

async fn list_labels(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> GlResult {
    let c = ctx(&s, &headers, q, &[])?;
    let w = s.read();
    let pidx = visible_project(&w.gitlab, c.user, &id)?;
    let p = &w.gitlab.projects[pidx];
    let with_counts = c.params.bool("with_counts").unwrap_or(false);
    let out: Vec<Value> = p
        .labels
        .iter()
        .map(|l| {
            let mut v = json!({
                "id": l.id,
                "name": l.name,
                "color": l.color,
                "text_color": "#FFFFFF",
                "description": l.description,
                "description_html": l.description.clone().unwrap_or_default(),
                "priority": null,
                "is_project_label": true,
                "subscribed": false,
            });
            if with_counts {
                let has = |i: &&GlIssue| i.labels.iter().any(|x| x.eq_ignore_ascii_case(&l.name));
                v["open_issues_count"] = json!(
                    p.issues
                        .iter()
                        .filter(|i| i.state == "opened")
                        .filter(has)
                        .count()
                );
                v["closed_issues_count"] = json!(
                    p.issues
                        .iter()
                        .filter(|i| i.state == "closed")
                        .filter(has)
                        .count()
                );
                v["open_merge_requests_count"] = json!(0);
            }
            v
        })
        .collect();
    let base = s.gitlab_base();
    paged_json(
        &out,
        &c.params,
        &format!("{base}/api/v4/projects/{}/labels", p.id),
    )
}

async fn list_members(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> GlResult {
    let c = ctx(&s, &headers, q, &[])?;
    let w = s.read();
    let gl = &w.gitlab;
    let pidx = visible_project(gl, c.user, &id)?;
    let p = &gl.projects[pidx];
    let base = s.gitlab_base();
    let query = c.params.get("query").map(str::to_lowercase);
    let out: Vec<Value> = p
        .members
        .iter()
        .filter_map(|(uid, level)| gl.user(*uid).map(|u| (u, level)))
        .filter(|(u, _)| {
            query.as_ref().is_none_or(|q| {
                u.username.to_lowercase().contains(q) || u.name.to_lowercase().contains(q)
            })
        })
        .map(|(u, level)| {
            let mut v = serde_json::to_value(user_view(base, u)).unwrap_or_default();
            v["access_level"] = json!(level);
            v["created_at"] = json!(gl_time(&p.created_at));
            v["expires_at"] = Value::Null;
            v["locked"] = json!(false);
            v
        })
        .collect();
    paged_json(
        &out,
        &c.params,
        &format!("{base}/api/v4/projects/{}/members/all", p.id),
    )
}

async fn list_mrs(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> GlResult {
    let c = ctx(&s, &headers, q, &[])?;
    let w = s.read();
    let gl = &w.gitlab;
    let pidx = visible_project(gl, c.user, &id)?;
    let p = &gl.projects[pidx];
    let base = s.gitlab_base();
    let state = c.params.get("state").filter(|s| *s != "all");
    let out: Vec<Value> = p
        .merge_requests
        .iter()
        .rev()
        .filter(|m| state.is_none_or(|st| m.state == st))
        .map(|m| {
            json!({
                "id": m.id, "iid": m.iid, "project_id": p.id, "title": m.title,
                "description": m.description, "state": m.state,
                "created_at": gl_time(&m.created_at), "updated_at": gl_time(&m.updated_at),
                "merged_at": null, "closed_at": null,
                "target_branch": m.target_branch, "source_branch": m.source_branch,
                "author": user_view(base, user_or_ghost(gl, m.author_id)),
                "assignees": [], "assignee": null, "reviewers": [],
                "source_project_id": p.id, "target_project_id": p.id,
                "labels": [], "draft": false, "work_in_progress": false,
                "milestone": null, "merge_status": "can_be_merged",
                "detailed_merge_status": "mergeable",
                "web_url": format!("{base}/{}/-/merge_requests/{}", p.path_with_namespace, m.iid),
                "references": {"short": format!("!{}", m.iid), "relative": format!("!{}", m.iid), "full": format!("{}!{}", p.path_with_namespace, m.iid)},
                "time_stats": {"time_estimate": 0, "total_time_spent": 0, "human_time_estimate": null, "human_total_time_spent": null},
            })
        })
        .collect();
    paged_json(
        &out,
        &c.params,
        &format!("{base}/api/v4/projects/{}/merge_requests", p.id),
    )
}

// ---------------------------------------------------------------- hooks CRUD

fn hook_from_params(params: &Params, h: &mut GlHook) -> Result<(), GlErr> {
    if let Some(u) = params.get("url") {
        let parsed = reqwest::Url::parse(u)
            .map_err(|_| GlErr::bad("url is blocked: Only allowed schemes are http, https"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(GlErr::bad(
                "url is blocked: Only allowed schemes are http, https",
            ));
        }
        h.url = u.to_string();
    }
    if let Some(t) = params.get("token") {
        h.token = (!t.is_empty()).then(|| t.to_string());
    }
    if let Some(b) = params.bool("issues_events") {
        h.issues_events = b;
    }
    if let Some(b) = params.bool("note_events") {
        h.note_events = b;
    }
    if let Some(b) = params.bool("merge_requests_events") {
        h.merge_requests_events = b;
    }
    if let Some(b) = params.bool("push_events") {
        h.push_events = b;
    }
    if let Some(b) = params.bool("enable_ssl_verification") {
        h.enable_ssl_verification = b;
    }
    Ok(())
}

fn maintainer(gl: &GitLab, user: u64, p: &GlProject) -> bool {
    p.members.iter().any(|(u, l)| *u == user && *l >= 40) || gl.user(user).is_some_and(|u| u.admin)
}

async fn list_hooks(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> GlResult {
    let c = ctx(&s, &headers, q, &[])?;
    let w = s.read();
    let pidx = visible_project(&w.gitlab, c.user, &id)?;
    let p = &w.gitlab.projects[pidx];
    if !maintainer(&w.gitlab, c.user, p) {
        return Err(GlErr::forbidden());
    }
    let out: Vec<Value> = p.hooks.iter().map(|h| hook_json(p, h)).collect();
    let base = s.gitlab_base();
    paged_json(
        &out,
        &c.params,
        &format!("{base}/api/v4/projects/{}/hooks", p.id),
    )
}

async fn get_hook(
    State(s): State<Arc<Shared>>,
    Path((id, hook_id)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> GlResult {
    let c = ctx(&s, &headers, q, &[])?;
    let w = s.read();
    let pidx = visible_project(&w.gitlab, c.user, &id)?;
    let p = &w.gitlab.projects[pidx];
    if !maintainer(&w.gitlab, c.user, p) {
        return Err(GlErr::forbidden());
    }
    let h = p
        .hooks
        .iter()
        .find(|h| h.id.to_string() == hook_id)
        .ok_or_else(|| GlErr::not_found("Hook"))?;
    ok(&hook_json(p, h))
}

async fn create_hook(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> GlResult {
    let c = ctx(&s, &headers, q, &body)?;
    if c.params.get("url").is_none_or(str::is_empty) {
        return Err(GlErr::bad("url is missing"));
    }
    let mut w = s.write();
    let gl = &mut w.gitlab;
    let pidx = visible_project(gl, c.user, &id)?;
    if !maintainer(gl, c.user, &gl.projects[pidx]) {
        return Err(GlErr::forbidden());
    }
    let mut h = GlHook {
        id: gl.alloc_id(),
        url: String::new(),
        token: None,
        issues_events: false,
        note_events: false,
        merge_requests_events: false,
        push_events: true,
        enable_ssl_verification: true,
        created_at: Utc::now(),
    };
    hook_from_params(&c.params, &mut h)?;
    let p = &mut gl.projects[pidx];
    p.hooks.push(h.clone());
    created(&hook_json(p, &h))
}

async fn update_hook(
    State(s): State<Arc<Shared>>,
    Path((id, hook_id)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> GlResult {
    let c = ctx(&s, &headers, q, &body)?;
    let mut w = s.write();
    let gl = &mut w.gitlab;
    let pidx = visible_project(gl, c.user, &id)?;
    if !maintainer(gl, c.user, &gl.projects[pidx]) {
        return Err(GlErr::forbidden());
    }
    let p = &mut gl.projects[pidx];
    let h = p
        .hooks
        .iter_mut()
        .find(|h| h.id.to_string() == hook_id)
        .ok_or_else(|| GlErr::not_found("Hook"))?;
    hook_from_params(&c.params, h)?;
    let h = h.clone();
    ok(&hook_json(p, &h))
}

async fn delete_hook(
    State(s): State<Arc<Shared>>,
    Path((id, hook_id)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> GlResult {
    let c = ctx(&s, &headers, q, &[])?;
    let mut w = s.write();
    let gl = &mut w.gitlab;
    let pidx = visible_project(gl, c.user, &id)?;
    if !maintainer(gl, c.user, &gl.projects[pidx]) {
        return Err(GlErr::forbidden());
    }
    let p = &mut gl.projects[pidx];
    let before = p.hooks.len();
    p.hooks.retain(|h| h.id.to_string() != hook_id);
    if p.hooks.len() == before {
        return Err(GlErr::not_found("Hook"));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---------------------------------------------------------------- webhooks out

fn hook_project(base: &str, gl: &GitLab, p: &GlProject) -> Value {
    let web = format!("{base}/{}", p.path_with_namespace);
    let host = base
        .trim_start_matches("http://")
        .trim_start_matches("https://");
    let ssh = format!("git@{host}:{}.git", p.path_with_namespace);
    json!({
        "id": p.id,
        "name": p.name,
        "description": p.description,
        "web_url": web,
        "avatar_url": null,
        "git_ssh_url": ssh,
        "git_http_url": format!("{web}.git"),
        "namespace": gl.group(p.group_id).map(|g| g.name.as_str()).unwrap_or(""),
        "visibility_level": match p.visibility.as_str() { "public" => 20, "internal" => 10, _ => 0 },
        "path_with_namespace": p.path_with_namespace,
        "default_branch": "main",
        "ci_config_path": "",
        "homepage": web,
        "url": ssh,
        "ssh_url": ssh,
        "http_url": format!("{web}.git"),
    })
}

fn hook_repository(base: &str, p: &GlProject) -> Value {
    let web = format!("{base}/{}", p.path_with_namespace);
    let host = base
        .trim_start_matches("http://")
        .trim_start_matches("https://");
    json!({
        "name": p.name,
        "url": format!("git@{host}:{}.git", p.path_with_namespace),
        "description": p.description,
        "homepage": web,
    })
}

fn hook_user(gl: &GitLab, id: u64) -> Value {
    let u = user_or_ghost(gl, id);
    json!({
        "id": u.id,
        "name": u.name,
        "username": u.username,
        "avatar_url": avatar(u.id),
        "email": "[REDACTED]",
    })
}

fn hook_labels(p: &GlProject, names: &[String]) -> Value {
    Value::Array(
        names
            .iter()
            .filter_map(|n| p.labels.iter().find(|l| l.name.eq_ignore_ascii_case(n)))
            .map(|l| {
                json!({
                    "id": l.id, "title": l.name, "color": l.color, "project_id": p.id,
                    "created_at": gl_time(&p.created_at), "updated_at": gl_time(&p.created_at),
                    "template": false, "description": l.description, "type": "ProjectLabel",
                    "group_id": null,
                })
            })
            .collect(),
    )
}

fn issue_attributes(base: &str, p: &GlProject, i: &GlIssue, user: u64) -> Value {
    let web_kind = if i.issue_type == "task" {
        "work_items"
    } else {
        "issues"
    };
    json!({
        "author_id": i.author_id,
        "closed_at": i.closed_at.as_ref().map(gl_time),
        "confidential": i.confidential,
        "created_at": gl_time(&i.created_at),
        "description": i.description,
        "discussion_locked": null,
        "due_date": i.due_date.map(|d| d.to_string()),
        "id": i.id,
        "iid": i.iid,
        "last_edited_at": null,
        "last_edited_by_id": null,
        "milestone_id": i.milestone_id,
        "moved_to_id": null,
        "duplicated_to_id": null,
        "project_id": p.id,
        "relative_position": i.iid * 513,
        "state_id": if i.state == "closed" { 2 } else { 1 },
        "time_estimate": i.time_estimate,
        "title": i.title,
        "updated_at": gl_time(&i.updated_at),
        "updated_by_id": user,
        "weight": i.weight,
        "health_status": null,
        "type": match i.issue_type.as_str() { "task" => "Task", "incident" => "Incident", _ => "Issue" },
        "url": format!("{base}/{}/-/{web_kind}/{}", p.path_with_namespace, i.iid),
        "total_time_spent": i.total_time_spent,
        "time_change": 0,
        "human_total_time_spent": gitlab_human(i.total_time_spent),
        "human_time_change": null,
        "human_time_estimate": gitlab_human(i.time_estimate),
        "assignee_ids": i.assignee_ids,
        "assignee_id": i.assignee_ids.first(),
        "labels": hook_labels(p, &i.labels),
        "state": i.state,
        "severity": "unknown",
        "customer_relations_contacts": [],
        "task_completion_status": {"count": i.tasks.0, "completed_count": i.tasks.1},
    })
}

fn emit_issue_hook(
    s: &Shared,
    gl: &GitLab,
    pidx: usize,
    ipos: usize,
    user: u64,
    action: IssueAction,
    changes: serde_json::Map<String, Value>,
) {
    let Some(p) = gl.projects.get(pidx) else {
        return;
    };
    let Some(i) = p.issues.get(ipos) else { return };
    if !p.hooks.iter().any(|h| h.issues_events) {
        return;
    }
    let base = s.gitlab_base();
    let work_item = i.issue_type == "task";
    let kind = if work_item { "work_item" } else { "issue" };
    let event_type = if i.confidential {
        format!("confidential_{kind}")
    } else {
        kind.to_string()
    };
    let mut attrs = issue_attributes(base, p, i, user);
    attrs["action"] = json!(action.as_str());
    if work_item {
        // Work items carry their status (GitLab 18's system-defined statuses).
        let (n, name, category, color) = if i.state == "closed" {
            (3, "Done", "done", "#108548")
        } else {
            (1, "To do", "to_do", "#737278")
        };
        attrs["status"] = json!({
            "id": format!("gid://gitlab/WorkItems::Statuses::SystemDefined::Status/{n}"),
            "name": name, "category": category, "description": null, "color": color,
        });
    }
    if let Some(Value::Object(tc)) = changes.get("time_change") {
        attrs["time_change"] = tc.get("current").cloned().unwrap_or(json!(0));
    }
    let payload = json!({
        "object_kind": kind,
        "event_type": event_type,
        "user": hook_user(gl, user),
        "project": hook_project(base, gl, p),
        "object_attributes": attrs,
        "labels": hook_labels(p, &i.labels),
        "changes": changes,
        "repository": hook_repository(base, p),
        "assignees": i.assignee_ids.iter().map(|a| hook_user(gl, *a)).collect::<Vec<_>>(),
    });
    let header = if i.confidential {
        "Confidential Issue Hook"
    } else {
        "Issue Hook"
    };
    send(s, p, |h| h.issues_events, header, &payload);
}

fn emit_note_hook(s: &Shared, gl: &GitLab, pidx: usize, ipos: usize, nid: u64, user: u64) {
    let Some(p) = gl.projects.get(pidx) else {
        return;
    };
    let Some(i) = p.issues.get(ipos) else { return };
    let Some(n) = i.notes.iter().find(|n| n.id == nid) else {
        return;
    };
    if !p.hooks.iter().any(|h| h.note_events) {
        return;
    }
    let base = s.gitlab_base();
    let web_kind = if i.issue_type == "task" {
        "work_items"
    } else {
        "issues"
    };
    let mut issue = issue_attributes(base, p, i, user);
    if let Some(o) = issue.as_object_mut() {
        o.remove("type");
    }
    let payload = json!({
        "object_kind": "note",
        "event_type": if n.internal { "confidential_note" } else { "note" },
        "user": hook_user(gl, user),
        "project_id": p.id,
        "project": hook_project(base, gl, p),
        "object_attributes": {
            "attachment": null,
            "author_id": n.author_id,
            "change_position": null,
            "commit_id": null,
            "created_at": gl_time(&n.created_at),
            "discussion_id": format!("{:040x}", n.id),
            "id": n.id,
            "line_code": null,
            "note": n.body,
            "noteable_id": i.id,
            "noteable_type": "Issue",
            "original_position": null,
            "position": null,
            "project_id": p.id,
            "resolved_at": null,
            "resolved_by_id": null,
            "resolved_by_push": null,
            "st_diff": null,
            "system": n.system,
            "type": null,
            "updated_at": gl_time(&n.updated_at),
            "updated_by_id": null,
            "description": n.body,
            "url": format!("{base}/{}/-/{web_kind}/{}#note_{}", p.path_with_namespace, i.iid, n.id),
            "action": "create",
        },
        "repository": hook_repository(base, p),
        "issue": issue,
    });
    let header = if n.internal {
        "Confidential Note Hook"
    } else {
        "Note Hook"
    };
    send(s, p, |h| h.note_events, header, &payload);
}

/// Pushes commits to a branch: records the event and sends the Push Hook.
pub(crate) fn do_push(
    s: &Shared,
    pidx: usize,
    user: u64,
    branch: &str,
    messages: &[String],
) -> Result<String, GlErr> {
    let mut w = s.write();
    let gl = &mut w.gitlab;
    let eid = gl.alloc_id();
    let now = Utc::now();
    let p = gl
        .projects
        .get_mut(pidx)
        .ok_or_else(|| GlErr::not_found("Project"))?;
    let mut rng = crate::util::Rng::new(eid ^ p.id ^ now.timestamp_micros() as u64);
    let before = p
        .commits
        .last()
        .map(|c| c.0.clone())
        .unwrap_or_else(|| "0".repeat(40));
    let mut commits = Vec::new();
    for m in messages {
        let sha = rng.sha();
        p.commits.push((sha.clone(), m.clone()));
        commits.push((sha, m.clone()));
    }
    let after = commits
        .last()
        .map(|c| c.0.clone())
        .unwrap_or_else(|| before.clone());
    p.last_activity_at = now;
    let pid = p.id;
    gl.events.push(GlEvent {
        id: eid,
        project_id: pid,
        action_name: "pushed to".into(),
        target_type: None,
        target_id: None,
        target_iid: None,
        target_title: None,
        author_id: user,
        created_at: now,
        push: Some(GlPush {
            commit_count: commits.len() as u64,
            ref_name: branch.to_string(),
            commit_from: before.clone(),
            commit_to: after.clone(),
            commit_title: messages.last().cloned().unwrap_or_default(),
        }),
        note_body: None,
    });
    let p = &gl.projects[pidx];
    if p.hooks.iter().any(|h| h.push_events) {
        let base = s.gitlab_base();
        let u = user_or_ghost(gl, user);
        let web = format!("{base}/{}", p.path_with_namespace);
        let payload = json!({
            "object_kind": "push",
            "event_name": "push",
            "before": before,
            "after": after,
            "ref": format!("refs/heads/{branch}"),
            "ref_protected": branch == "main",
            "checkout_sha": after,
            "message": null,
            "user_id": u.id,
            "user_name": u.name,
            "user_username": u.username,
            "user_email": "",
            "user_avatar": avatar(u.id),
            "project_id": p.id,
            "project": hook_project(base, gl, p),
            "commits": commits.iter().map(|(sha, msg)| json!({
                "id": sha,
                "message": msg,
                "title": msg.lines().next().unwrap_or(""),
                "timestamp": now.to_rfc3339(),
                "url": format!("{web}/-/commit/{sha}"),
                "author": {"name": u.name, "email": u.email},
                "added": [],
                "modified": ["README.md"],
                "removed": [],
            })).collect::<Vec<_>>(),
            "total_commits_count": commits.len(),
            "push_options": {},
            "repository": {
                "name": p.name,
                "url": format!("{web}.git"),
                "description": p.description,
                "homepage": web,
                "git_http_url": format!("{web}.git"),
                "git_ssh_url": format!("git@{}:{}.git", base.trim_start_matches("http://"), p.path_with_namespace),
                "visibility_level": 0,
            },
        });
        send(s, p, |h| h.push_events, "Push Hook", &payload);
    }
    Ok(after)
}

/// Changes a merge request's state (`opened`, `closed`, `merged`) or creates
/// one, and sends the Merge Request Hook.
pub(crate) fn do_merge_request(
    s: &Shared,
    pidx: usize,
    user: u64,
    iid: Option<u64>,
    title: Option<String>,
    action: &str,
) -> Result<u64, GlErr> {
    let mut w = s.write();
    let gl = &mut w.gitlab;
    let new_id = gl.alloc_id();
    let now = Utc::now();
    let p = gl
        .projects
        .get_mut(pidx)
        .ok_or_else(|| GlErr::not_found("Project"))?;
    let pos = match iid {
        Some(iid) => p
            .merge_requests
            .iter()
            .position(|m| m.iid == iid)
            .ok_or_else(|| GlErr::not_found("Merge Request"))?,
        None => {
            let next = p.merge_requests.iter().map(|m| m.iid).max().unwrap_or(0) + 1;
            p.merge_requests.push(GlMergeRequest {
                id: new_id,
                iid: next,
                title: title.clone().unwrap_or_else(|| "New merge request".into()),
                description: String::new(),
                state: "opened".into(),
                source_branch: format!("feature/mr-{next}"),
                target_branch: "main".into(),
                author_id: user,
                created_at: now,
                updated_at: now,
            });
            p.merge_requests.len() - 1
        }
    };
    let mr = &mut p.merge_requests[pos];
    match action {
        "merge" => mr.state = "merged".into(),
        "close" => mr.state = "closed".into(),
        "reopen" => mr.state = "opened".into(),
        _ => {}
    }
    mr.updated_at = now;
    let mr = mr.clone();
    let p = &gl.projects[pidx];
    if p.hooks.iter().any(|h| h.merge_requests_events) {
        let base = s.gitlab_base();
        let project = hook_project(base, gl, p);
        let payload = json!({
            "object_kind": "merge_request",
            "event_type": "merge_request",
            "user": hook_user(gl, user),
            "project": project,
            "object_attributes": {
                "id": mr.id, "iid": mr.iid, "target_branch": mr.target_branch,
                "source_branch": mr.source_branch, "source_project_id": p.id,
                "author_id": mr.author_id, "assignee_id": null, "assignee_ids": [],
                "reviewer_ids": [], "title": mr.title,
                "created_at": gl_time(&mr.created_at), "updated_at": gl_time(&mr.updated_at),
                "milestone_id": null, "state": mr.state, "merge_status": "can_be_merged",
                "detailed_merge_status": "mergeable",
                "target_project_id": p.id, "description": mr.description, "position": 0,
                "locked_at": null, "updated_by_id": user, "merge_error": null,
                "merge_params": {"force_remove_source_branch": null},
                "merge_when_build_succeeds": false, "merge_user_id": null,
                "merge_commit_sha": null, "deleted_at": null, "approvals_before_merge": null,
                "rebase_commit_sha": null, "in_progress_merge_commit_sha": null,
                "source": project, "target": project,
                "last_commit": {
                    "id": p.commits.last().map(|c| c.0.clone()).unwrap_or_default(),
                    "message": p.commits.last().map(|c| c.1.clone()).unwrap_or_default(),
                    "title": p.commits.last().map(|c| c.1.clone()).unwrap_or_default(),
                    "timestamp": now.to_rfc3339(),
                    "url": format!("{base}/{}/-/commit/{}", p.path_with_namespace, p.commits.last().map(|c| c.0.clone()).unwrap_or_default()),
                    "author": {"name": user_or_ghost(gl, mr.author_id).name, "email": user_or_ghost(gl, mr.author_id).email},
                },
                "work_in_progress": false, "draft": false,
                "url": format!("{base}/{}/-/merge_requests/{}", p.path_with_namespace, mr.iid),
                "action": action,
            },
            "labels": [],
            "changes": {},
            "repository": hook_repository(base, p),
            "assignees": [],
            "reviewers": [],
        });
        send(
            s,
            p,
            |h| h.merge_requests_events,
            "Merge Request Hook",
            &payload,
        );
    }
    Ok(mr.iid)
}

fn send(s: &Shared, p: &GlProject, wants: impl Fn(&GlHook) -> bool, event: &str, payload: &Value) {
    let body = serde_json::to_vec(payload).unwrap_or_default();
    let event_uuid = uuid::Uuid::new_v4().to_string();
    for h in p.hooks.iter().filter(|h| wants(h)) {
        let mut headers = vec![
            ("Content-Type".to_string(), "application/json".to_string()),
            ("User-Agent".to_string(), format!("GitLab/{GITLAB_VERSION}")),
            ("X-Gitlab-Event".to_string(), event.to_string()),
            ("X-Gitlab-Event-UUID".to_string(), event_uuid.clone()),
            (
                "X-Gitlab-Webhook-UUID".to_string(),
                format!("{:032x}", h.id),
            ),
            ("X-Gitlab-Instance".to_string(), s.gitlab_base().to_string()),
            (
                "Idempotency-Key".to_string(),
                uuid::Uuid::new_v4().to_string(),
            ),
        ];
        if let Some(t) = &h.token {
            headers.push(("X-Gitlab-Token".to_string(), t.clone()));
        }
        s.hooks.enqueue(Delivery {
            service: Service::Gitlab,
            event: event.to_string(),
            url: h.url.clone(),
            headers,
            body: body.clone(),
            order_key: p.id.to_string(),
        });
    }
}
