//! Webhook payloads GitLab sends (issue and note hooks) and their delivery
//! to the project hooks that subscribed.

use super::base::GITLAB_VERSION;
use super::views::*;
use crate::Shared;
use crate::faults::Service;
use crate::hooks::Delivery;
use crate::model::*;
use crate::util::{gitlab_human, gl_time};
use serde_json::{Value, json};

/// What happened to an issue, for webhooks and events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IssueAction {
    Open,
    Close,
    Reopen,
    Update,
}

impl IssueAction {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            IssueAction::Open => "open",
            IssueAction::Close => "close",
            IssueAction::Reopen => "reopen",
            IssueAction::Update => "update",
        }
    }
}

pub(crate) fn hook_project(base: &str, gl: &GitLab, p: &GlProject) -> Value {
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

pub(crate) fn hook_repository(base: &str, p: &GlProject) -> Value {
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

pub(crate) fn hook_user(gl: &GitLab, id: u64) -> Value {
    let u = user_or_ghost(gl, id);
    json!({
        "id": u.id,
        "name": u.name,
        "username": u.username,
        "avatar_url": avatar(u.id),
        "email": "[REDACTED]",
    })
}

pub(crate) fn hook_labels(p: &GlProject, names: &[String]) -> Value {
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

pub(crate) fn issue_attributes(base: &str, p: &GlProject, i: &GlIssue, user: u64) -> Value {
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

pub(crate) fn emit_issue_hook(
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

pub(crate) fn emit_note_hook(
    s: &Shared,
    gl: &GitLab,
    pidx: usize,
    ipos: usize,
    nid: u64,
    user: u64,
    action: &str,
) {
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
            "updated_by_id": (action == "update").then_some(user),
            "description": n.body,
            "url": format!("{base}/{}/-/{web_kind}/{}#note_{}", p.path_with_namespace, i.iid, n.id),
            "action": action,
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

pub(crate) fn send(
    s: &Shared,
    p: &GlProject,
    wants: impl Fn(&GlHook) -> bool,
    event: &str,
    payload: &Value,
) {
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

/// A merge request as hooks describe it (`object_attributes` of the merge
/// request hook, `merge_request` of a note hook), without `action`.
pub(crate) fn mr_attributes(
    base: &str,
    gl: &GitLab,
    p: &GlProject,
    mr: &GlMergeRequest,
    user: u64,
) -> Value {
    let project = hook_project(base, gl, p);
    let last = p
        .branches
        .get(&mr.source_branch)
        .and_then(|h| p.commit(h))
        .or_else(|| p.commits.last());
    let author = user_or_ghost(gl, mr.author_id);
    json!({
        "id": mr.id, "iid": mr.iid, "target_branch": mr.target_branch,
        "source_branch": mr.source_branch, "source_project_id": p.id,
        "author_id": mr.author_id, "assignee_id": null, "assignee_ids": [],
        "reviewer_ids": [], "title": mr.title,
        "created_at": gl_time(&mr.created_at), "updated_at": gl_time(&mr.updated_at),
        "milestone_id": null, "state": mr.state,
        "state_id": match mr.state.as_str() { "closed" => 2, "merged" => 3, _ => 1 },
        "merge_status": "can_be_merged",
        "detailed_merge_status": "mergeable",
        "target_project_id": p.id, "description": mr.description, "position": 0,
        "locked_at": null, "updated_by_id": user, "merge_error": null,
        "merge_params": {"force_remove_source_branch": null},
        "merge_when_build_succeeds": false, "merge_user_id": mr.merged.map(|m| m.1),
        "merge_commit_sha": mr.merged.map(|_| mr.sha.clone()), "deleted_at": null,
        "approvals_before_merge": null,
        "rebase_commit_sha": null, "in_progress_merge_commit_sha": null,
        "source": project, "target": project,
        "last_commit": {
            "id": last.map(|c| c.id.clone()).unwrap_or_default(),
            "message": last.map(|c| c.message.clone()).unwrap_or_default(),
            "title": last.map(|c| c.title().to_string()).unwrap_or_default(),
            "timestamp": last.map(|c| c.committed_date.to_rfc3339()),
            "url": format!("{base}/{}/-/commit/{}", p.path_with_namespace, last.map(|c| c.id.clone()).unwrap_or_default()),
            "author": {"name": author.name, "email": author.email},
        },
        "head_pipeline_id": null,
        "time_estimate": 0, "total_time_spent": 0, "time_change": 0,
        "human_time_estimate": null, "human_total_time_spent": null, "human_time_change": null,
        "last_edited_at": null, "last_edited_by_id": null,
        "merge_when_pipeline_succeeds": false,
        "blocking_discussions_resolved": true,
        "first_contribution": false,
        "labels": [],
        "work_in_progress": false, "draft": false,
        "url": format!("{base}/{}/-/merge_requests/{}", p.path_with_namespace, mr.iid),
    })
}

/// What a note is on, besides issues.
pub(crate) enum NoteOn<'a> {
    /// A merge request.
    MergeRequest(&'a GlMergeRequest),
    /// A commit.
    Commit(&'a GlCommit),
}

/// Sends the Note Hook for a comment on a merge request or a commit.
pub(crate) fn emit_other_note_hook(
    s: &Shared,
    gl: &GitLab,
    pidx: usize,
    on: NoteOn<'_>,
    n: &GlNote,
    user: u64,
) {
    let Some(p) = gl.projects.get(pidx) else {
        return;
    };
    if !p.hooks.iter().any(|h| h.note_events) {
        return;
    }
    let base = s.gitlab_base();
    let web = format!("{base}/{}", p.path_with_namespace);
    let (kind, noteable_id, commit_id, url, key, target) = match on {
        NoteOn::MergeRequest(mr) => (
            "MergeRequest",
            json!(mr.id),
            Value::Null,
            format!("{web}/-/merge_requests/{}#note_{}", mr.iid, n.id),
            "merge_request",
            mr_attributes(base, gl, p, mr, user),
        ),
        NoteOn::Commit(c) => (
            "Commit",
            Value::Null,
            json!(c.id),
            format!("{web}/-/commit/{}#note_{}", c.id, n.id),
            "commit",
            json!({
                "id": c.id,
                "title": c.title(),
                "message": c.message,
                "timestamp": c.committed_date.to_rfc3339(),
                "url": format!("{web}/-/commit/{}", c.id),
                "author": {"name": c.author_name, "email": c.author_email},
            }),
        ),
    };
    let mut payload = json!({
        "object_kind": "note",
        "event_type": "note",
        "user": hook_user(gl, user),
        "project_id": p.id,
        "project": hook_project(base, gl, p),
        "object_attributes": {
            "attachment": null,
            "author_id": n.author_id,
            "change_position": null,
            "commit_id": commit_id,
            "created_at": gl_time(&n.created_at),
            "discussion_id": format!("{:040x}", n.id),
            "id": n.id,
            "line_code": null,
            "note": n.body,
            "noteable_id": noteable_id,
            "noteable_type": kind,
            "original_position": null,
            "position": null,
            "project_id": p.id,
            "resolved_at": null,
            "resolved_by_id": null,
            "resolved_by_push": null,
            "st_diff": null,
            "system": false,
            "type": null,
            "updated_at": gl_time(&n.updated_at),
            "updated_by_id": null,
            "description": n.body,
            "url": url,
            "action": "create",
        },
        "repository": hook_repository(base, p),
    });
    payload[key] = target;
    send(s, p, |h| h.note_events, "Note Hook", &payload);
}
