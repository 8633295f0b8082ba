//! Merge requests and the merge request hook.

use super::base::*;
use super::payloads::{hook_project, hook_repository, hook_user, mr_attributes, send};
use super::views::*;
use crate::Shared;
use crate::model::*;
use crate::util::gl_time;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use chrono::Utc;
use serde_json::{Value, json};
use std::sync::Arc;

pub(crate) async fn get_mr(
    State(s): State<Arc<Shared>>,
    Path((id, iid)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> GlResult {
    let c = ctx(&s, &headers, q, &[])?;
    let w = s.read();
    let gl = &w.gitlab;
    let p = &gl.projects[visible_project(gl, c.user, &id)?];
    let m = find_mr(p, &iid)?;
    ok(&mr_json(s.gitlab_base(), gl, p, m))
}

pub(crate) async fn list_mrs(
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
        .map(|m| mr_json(base, gl, p, m))
        .collect();
    paged_json(
        &out,
        &c.params,
        &format!("{base}/api/v4/projects/{}/merge_requests", p.id),
    )
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
                sha: crate::util::Rng::new(new_id).sha(),
                merged: None,
                closed: None,
                approved_by: Vec::new(),
                notes: Vec::new(),
            });
            p.merge_requests.len() - 1
        }
    };
    let mr = &mut p.merge_requests[pos];
    match action {
        "merge" => {
            mr.state = "merged".into();
            mr.merged = Some((now, user));
        }
        "close" => {
            mr.state = "closed".into();
            mr.closed = Some((now, user));
        }
        "reopen" => {
            mr.state = "opened".into();
            mr.closed = None;
        }
        "approve" => {
            if mr.approved_by.contains(&user) {
                return Err(GlErr::unauthorized());
            }
            mr.approved_by.push(user);
        }
        _ => {}
    }
    mr.updated_at = now;
    let mr = mr.clone();
    let p = &gl.projects[pidx];
    if p.hooks.iter().any(|h| h.merge_requests_events) {
        let base = s.gitlab_base();
        let project = hook_project(base, gl, p);
        let mut attrs = mr_attributes(base, gl, p, &mr, user);
        attrs["action"] = json!(if action == "approve" {
            "approved"
        } else {
            action
        });
        let payload = json!({
            "object_kind": "merge_request",
            "event_type": "merge_request",
            "user": hook_user(gl, user),
            "project": project,
            "object_attributes": attrs,
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

fn approvals_json(base: &str, gl: &GitLab, p: &GlProject, m: &GlMergeRequest, user: u64) -> Value {
    json!({
        "id": m.id, "iid": m.iid, "project_id": p.id, "title": m.title,
        "description": m.description, "state": m.state,
        "created_at": gl_time(&m.created_at), "updated_at": gl_time(&m.updated_at),
        "merge_status": "can_be_merged",
        "approved": !m.approved_by.is_empty(),
        "approvals_required": 0,
        "approvals_left": 0,
        "require_password_to_approve": false,
        "approved_by": m.approved_by.iter().map(|u| json!({"user": user_view(base, user_or_ghost(gl, *u))})).collect::<Vec<_>>(),
        "suggested_approvers": [],
        "approvers": [],
        "approver_groups": [],
        "user_has_approved": m.approved_by.contains(&user),
        "user_can_approve": !m.approved_by.contains(&user),
        "approval_rules_left": [],
        "has_approval_rules": false,
        "merge_request_approvers_available": true,
        "multiple_approval_rules_available": true,
        "invalid_approvers_rules": [],
    })
}

/// `GET /projects/:id/merge_requests/:iid/approvals`.
pub(crate) async fn get_approvals(
    State(s): State<Arc<Shared>>,
    Path((id, iid)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> GlResult {
    let c = ctx(&s, &headers, q, &[])?;
    let w = s.read();
    let gl = &w.gitlab;
    let p = &gl.projects[visible_project(gl, c.user, &id)?];
    let m = find_mr(p, &iid)?;
    ok(&approvals_json(s.gitlab_base(), gl, p, m, c.user))
}

/// `POST /projects/:id/merge_requests/:iid/approve`: approves as the
/// token's user (twice is 401, as GitLab answers) and sends the hook.
pub(crate) async fn approve(
    State(s): State<Arc<Shared>>,
    Path((id, iid)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: axum::body::Bytes,
) -> GlResult {
    let c = ctx(&s, &headers, q, &body)?;
    let (pidx, n) = {
        let w = s.read();
        let pidx = visible_project(&w.gitlab, c.user, &id)?;
        if !can_write(&w.gitlab, c.user, &w.gitlab.projects[pidx]) {
            return Err(GlErr::forbidden());
        }
        let n: u64 = iid.parse().map_err(|_| GlErr::not_found("Merge Request"))?;
        (pidx, n)
    };
    do_merge_request(&s, pidx, c.user, Some(n), None, "approve")?;
    let w = s.read();
    let gl = &w.gitlab;
    let p = &gl.projects[pidx];
    let m = find_mr(p, &n.to_string())?;
    created(&approvals_json(s.gitlab_base(), gl, p, m, c.user))
}
