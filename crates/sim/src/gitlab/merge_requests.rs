//! Merge requests and the merge request hook.

use super::base::*;
use super::payloads::{hook_project, hook_repository, hook_user, send};
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
    let m = p
        .merge_requests
        .iter()
        .find(|m| m.iid.to_string() == iid)
        .ok_or_else(|| GlErr::not_found("Merge Request"))?;
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
