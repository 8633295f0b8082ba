//! The simulated GitLab REST API v4 and its webhooks, one module per resource.
//!
//! Layers, lowest first: `base` (errors, auth, paging), `views` (JSON
//! representations), `payloads` (webhooks sent), then the resource handlers;
//! this module only assembles the router. `/_sim` control routes live above
//! all of it in `crate::control`.

mod base;
mod commits;
mod events;
mod groups;
mod hooks;
mod issues;
mod labels;
mod members;
mod merge_requests;
mod milestones;
mod notes;
mod payloads;
mod projects;
mod time_tracking;
mod users;
mod views;

pub use base::GITLAB_VERSION;
pub(crate) use base::GlErr;
pub(crate) use commits::{NewCommit, do_push_chain, do_rebase};
pub(crate) use issues::{IssueEdit, do_create_issue, do_update_issue};
pub(crate) use merge_requests::do_merge_request;
pub(crate) use notes::{
    NoteTarget, do_add_note, do_add_other_note, do_delete_note, do_update_note,
};
pub(crate) use time_tracking::do_time;

use self::base::*;
use self::commits::{get_branch, get_commit, list_branches, list_commits};
use self::events::{project_events, user_events};
use self::groups::{get_group, group_projects, group_subgroups, list_groups};
use self::hooks::{create_hook, delete_hook, get_hook, list_hooks, update_hook};
use self::issues::{create_issue, get_issue, list_issues, update_issue};
use self::labels::list_labels;
use self::members::list_members;
use self::merge_requests::{approve, get_approvals, get_mr, list_mrs};
use self::milestones::{create_milestone, get_milestone, list_milestones, update_milestone};
use self::notes::{
    create_commit_note, create_mr_note, create_note, delete_note, get_note, list_commit_notes,
    list_mr_notes, list_notes, update_note,
};
use self::projects::{get_project, list_projects};
use self::time_tracking::{time_action, time_stats};
use self::users::{current_user, get_user, list_users};
use crate::Shared;
use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;
use std::sync::Arc;

/// Builds the GitLab router (API under `/api/v4`, control under `/_sim`).
pub(crate) fn router(s: Arc<Shared>) -> Router {
    Router::new()
        .route("/api/v4/user", get(current_user))
        .route("/api/v4/version", get(version))
        .route("/api/v4/users", get(list_users))
        .route("/api/v4/users/{id}", get(get_user))
        .route("/api/v4/users/{id}/events", get(user_events))
        .route("/api/v4/groups", get(list_groups))
        .route("/api/v4/groups/{id}", get(get_group))
        .route("/api/v4/groups/{id}/subgroups", get(group_subgroups))
        .route("/api/v4/groups/{id}/projects", get(group_projects))
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
            get(get_note).put(update_note).delete(delete_note),
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
        .route("/api/v4/projects/{id}/merge_requests/{iid}", get(get_mr))
        .route(
            "/api/v4/projects/{id}/merge_requests/{iid}/notes",
            get(list_mr_notes).post(create_mr_note),
        )
        .route(
            "/api/v4/projects/{id}/repository/commits/{sha}/comments",
            get(list_commit_notes).post(create_commit_note),
        )
        .route(
            "/api/v4/projects/{id}/merge_requests/{iid}/approvals",
            get(get_approvals),
        )
        .route(
            "/api/v4/projects/{id}/merge_requests/{iid}/approve",
            post(approve),
        )
        .route("/api/v4/projects/{id}/events", get(project_events))
        .route(
            "/api/v4/projects/{id}/repository/commits",
            get(list_commits),
        )
        .route(
            "/api/v4/projects/{id}/repository/commits/{sha}",
            get(get_commit),
        )
        .route(
            "/api/v4/projects/{id}/repository/branches",
            get(list_branches),
        )
        .route(
            "/api/v4/projects/{id}/repository/branches/{branch}",
            get(get_branch),
        )
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
            (s.clone(), crate::faults::Service::Gitlab),
            crate::faults::fault_layer,
        ))
        .with_state(s)
}

pub(crate) async fn not_found_route() -> Response {
    GlErr(StatusCode::NOT_FOUND, json!({"error": "404 Not Found"})).into_response()
}

pub(crate) async fn version(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> GlResult {
    ctx(&s, &headers, q, &[])?;
    ok(
        &json!({"version": GITLAB_VERSION, "revision": "5ba8e6b4e2a", "kas": {"enabled": false}, "enterprise": true}),
    )
}
