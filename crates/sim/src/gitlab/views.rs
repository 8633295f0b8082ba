//! JSON representations of GitLab objects, as the REST API v4 returns them.

use crate::model::*;
use crate::util::{gitlab_human, gl_time};
use chrono::Utc;
use serde::Serialize;
use serde_json::{Value, json};

#[derive(Serialize)]
pub(crate) struct UserView<'a> {
    pub(crate) id: u64,
    pub(crate) username: &'a str,
    pub(crate) name: &'a str,
    pub(crate) state: &'a str,
    pub(crate) avatar_url: String,
    pub(crate) web_url: String,
}

pub(crate) fn avatar(id: u64) -> String {
    format!(
        "https://www.gravatar.com/avatar/{:032x}?s=80&d=identicon",
        id
    )
}

pub(crate) fn user_view<'a>(base: &str, u: &'a GlUser) -> UserView<'a> {
    UserView {
        id: u.id,
        username: &u.username,
        name: &u.name,
        state: &u.state,
        avatar_url: avatar(u.id),
        web_url: format!("{base}/{}", u.username),
    }
}

pub(crate) static GHOST: GlUser = GlUser {
    id: 0,
    username: String::new(),
    name: String::new(),
    email: String::new(),
    admin: false,
    state: String::new(),
};

pub(crate) fn user_or_ghost(gl: &GitLab, id: u64) -> &GlUser {
    gl.user(id).unwrap_or(&GHOST)
}

#[derive(Serialize)]
pub(crate) struct MilestoneView<'a> {
    pub(crate) id: u64,
    pub(crate) iid: u64,
    pub(crate) project_id: u64,
    pub(crate) title: &'a str,
    pub(crate) description: Option<&'a str>,
    pub(crate) state: &'a str,
    pub(crate) created_at: String,
    pub(crate) updated_at: String,
    pub(crate) due_date: Option<String>,
    pub(crate) start_date: Option<String>,
    pub(crate) expired: bool,
    pub(crate) web_url: String,
}

pub(crate) fn milestone_view<'a>(
    base: &str,
    p: &GlProject,
    m: &'a GlMilestone,
) -> MilestoneView<'a> {
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
pub(crate) struct TimeStats {
    pub(crate) time_estimate: i64,
    pub(crate) total_time_spent: i64,
    pub(crate) human_time_estimate: Option<String>,
    pub(crate) human_total_time_spent: Option<String>,
}

pub(crate) fn time_stats_of(i: &GlIssue) -> TimeStats {
    TimeStats {
        time_estimate: i.time_estimate,
        total_time_spent: i.total_time_spent,
        human_time_estimate: gitlab_human(i.time_estimate),
        human_total_time_spent: gitlab_human(i.total_time_spent),
    }
}

#[derive(Serialize)]
pub(crate) struct TaskCompletion {
    pub(crate) count: u32,
    pub(crate) completed_count: u32,
}

#[derive(Serialize)]
pub(crate) struct Links {
    #[serde(rename = "self")]
    pub(crate) self_: String,
    pub(crate) notes: String,
    pub(crate) award_emoji: String,
    pub(crate) project: String,
    pub(crate) closed_as_duplicate_of: Option<String>,
}

#[derive(Serialize)]
pub(crate) struct References {
    pub(crate) short: String,
    pub(crate) relative: String,
    pub(crate) full: String,
}

#[derive(Serialize)]
pub(crate) struct IssueView<'a> {
    pub(crate) id: u64,
    pub(crate) iid: u64,
    pub(crate) project_id: u64,
    pub(crate) title: &'a str,
    pub(crate) description: &'a str,
    pub(crate) state: &'a str,
    pub(crate) created_at: String,
    pub(crate) updated_at: String,
    pub(crate) closed_at: Option<String>,
    pub(crate) closed_by: Option<UserView<'a>>,
    pub(crate) labels: &'a [String],
    pub(crate) milestone: Option<MilestoneView<'a>>,
    pub(crate) assignees: Vec<UserView<'a>>,
    pub(crate) author: UserView<'a>,
    #[serde(rename = "type")]
    pub(crate) kind: &'static str,
    pub(crate) assignee: Option<UserView<'a>>,
    pub(crate) user_notes_count: usize,
    pub(crate) merge_requests_count: u32,
    pub(crate) upvotes: u32,
    pub(crate) downvotes: u32,
    pub(crate) due_date: Option<String>,
    pub(crate) confidential: bool,
    pub(crate) discussion_locked: Option<bool>,
    pub(crate) issue_type: &'a str,
    pub(crate) web_url: String,
    pub(crate) time_stats: TimeStats,
    pub(crate) task_completion_status: TaskCompletion,
    pub(crate) weight: Option<i64>,
    pub(crate) blocking_issues_count: u32,
    pub(crate) has_tasks: bool,
    pub(crate) task_status: String,
    #[serde(rename = "_links")]
    pub(crate) links: Links,
    pub(crate) references: References,
    pub(crate) severity: &'static str,
    pub(crate) moved_to_id: Option<u64>,
    pub(crate) service_desk_reply_to: Option<String>,
}

pub(crate) fn issue_view<'a>(
    base: &str,
    gl: &'a GitLab,
    p: &'a GlProject,
    i: &'a GlIssue,
) -> IssueView<'a> {
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

pub(crate) fn note_json(base: &str, gl: &GitLab, _p: &GlProject, i: &GlIssue, n: &GlNote) -> Value {
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

/// The fields of GitLab's `BasicProjectDetails`: what `simple=true` lists return.
pub(crate) fn project_basic_json(base: &str, gl: &GitLab, p: &GlProject) -> Value {
    let group = gl.group(p.group_id);
    let web = format!("{base}/{}", p.path_with_namespace);
    let host = base
        .trim_start_matches("http://")
        .trim_start_matches("https://");
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
        "namespace": group.map(|g| namespace_json(base, gl, g)),
    })
}

/// A project as `GET /projects/:id` and non-simple lists return it.
pub(crate) fn project_json(base: &str, gl: &GitLab, p: &GlProject, user: u64) -> Value {
    let access = p
        .members
        .iter()
        .find(|(u, _)| *u == user)
        .map(|(_, l)| json!({"access_level": l, "notification_level": 3}));
    let mut v = project_basic_json(base, gl, p);
    let extra = json!({
        "updated_at": gl_time(&p.updated_at),
        "visibility": p.visibility,
        "archived": false,
        "empty_repo": p.commits.is_empty(),
        "issues_enabled": true,
        "merge_requests_enabled": true,
        "wiki_enabled": false,
        "jobs_enabled": false,
        "snippets_enabled": false,
        "issues_access_level": "enabled",
        "merge_requests_access_level": "enabled",
        "repository_access_level": "enabled",
        "open_issues_count": p.issues.iter().filter(|i| i.state == "opened").count(),
        "creator_id": p.members.first().map(|m| m.0),
        "_links": {
            "self": format!("{base}/api/v4/projects/{}", p.id),
            "issues": format!("{base}/api/v4/projects/{}/issues", p.id),
            "merge_requests": format!("{base}/api/v4/projects/{}/merge_requests", p.id),
            "repo_branches": format!("{base}/api/v4/projects/{}/repository/branches", p.id),
            "labels": format!("{base}/api/v4/projects/{}/labels", p.id),
            "events": format!("{base}/api/v4/projects/{}/events", p.id),
            "members": format!("{base}/api/v4/projects/{}/members", p.id),
        },
        "permissions": { "project_access": access, "group_access": null },
    });
    if let (Some(o), Value::Object(e)) = (v.as_object_mut(), extra) {
        o.extend(e);
    }
    v
}

/// The `namespace` object of a project: a group.
pub(crate) fn namespace_json(base: &str, gl: &GitLab, g: &GlGroup) -> Value {
    json!({
        "id": g.id,
        "name": g.name,
        "path": g.short_path(),
        "kind": "group",
        "full_path": g.path,
        "parent_id": gl.parent_group(g).map(|p| p.id),
        "avatar_url": null,
        "web_url": format!("{base}/groups/{}", g.path),
    })
}

/// A group as `/groups` lists it (GitLab's `Group` entity).
pub(crate) fn group_json(base: &str, gl: &GitLab, g: &GlGroup) -> Value {
    let mut full_name = Vec::new();
    let mut cur = Some(g);
    while let Some(x) = cur {
        full_name.push(x.name.as_str());
        cur = gl.parent_group(x);
    }
    full_name.reverse();
    json!({
        "id": g.id,
        "web_url": format!("{base}/groups/{}", g.path),
        "name": g.name,
        "path": g.short_path(),
        "description": g.description,
        "visibility": gl.group_visibility(g),
        "share_with_group_lock": false,
        "require_two_factor_authentication": false,
        "two_factor_grace_period": 48,
        "project_creation_level": "developer",
        "auto_devops_enabled": null,
        "subgroup_creation_level": "maintainer",
        "emails_disabled": false,
        "emails_enabled": true,
        "mentions_disabled": null,
        "lfs_enabled": true,
        "default_branch": null,
        "default_branch_protection": 2,
        "avatar_url": null,
        "request_access_enabled": true,
        "full_name": full_name.join(" / "),
        "full_path": g.path,
        "created_at": gl_time(&g.created_at),
        "parent_id": gl.parent_group(g).map(|p| p.id),
        "organization_id": 1,
        "shared_runners_setting": "enabled",
        "ldap_cn": null,
        "ldap_access": null,
        "wiki_access_level": "enabled",
        "marked_for_deletion_on": null,
    })
}

pub(crate) fn hook_json(p: &GlProject, h: &GlHook) -> Value {
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
        "name": null,
        "description": null,
        "push_events_branch_filter": null,
        "branch_filter_strategy": "wildcard",
        "repository_update_events": false,
        "deployment_events": false,
        "feature_flag_events": false,
        "releases_events": false,
        "emoji_events": false,
        "resource_access_token_events": false,
        "vulnerability_events": false,
        "disabled_until": null,
        "url_variables": [],
        "custom_webhook_template": null,
        "custom_headers": [],
    })
}

pub(crate) fn event_json(base: &str, gl: &GitLab, e: &GlEvent) -> Value {
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
        v["note"] = json!({
            "body": body,
            "noteable_type": e.noteable_type.as_deref().unwrap_or("Issue"),
            "noteable_iid": e.target_iid,
        });
    }
    v
}

pub(crate) fn full_user(base: &str, u: &GlUser) -> Value {
    let mut v = serde_json::to_value(user_view(base, u)).unwrap_or_default();
    v["locked"] = json!(false);
    v["email"] = json!(u.email);
    v["public_email"] = json!(u.email);
    v["is_admin"] = json!(u.admin);
    v["bot"] = json!(false);
    v["created_at"] = json!(gl_time(&crate::seed::base_time()));
    v
}

/// A merge request as the merge request API returns it.
pub(crate) fn mr_json(base: &str, gl: &GitLab, p: &GlProject, m: &GlMergeRequest) -> Value {
    let user =
        |id: u64| serde_json::to_value(user_view(base, user_or_ghost(gl, id))).unwrap_or_default();
    json!({
        "id": m.id, "iid": m.iid, "project_id": p.id, "title": m.title,
        "description": m.description, "state": m.state,
        "created_at": gl_time(&m.created_at), "updated_at": gl_time(&m.updated_at),
        "merged_by": m.merged.map(|(_, u)| user(u)),
        "merge_user": m.merged.map(|(_, u)| user(u)),
        "merged_at": m.merged.map(|(t, _)| gl_time(&t)),
        "closed_by": m.closed.map(|(_, u)| user(u)),
        "closed_at": m.closed.map(|(t, _)| gl_time(&t)),
        "target_branch": m.target_branch, "source_branch": m.source_branch,
        "upvotes": 0, "downvotes": 0,
        "author": user(m.author_id),
        "assignees": [], "assignee": null, "reviewers": [],
        "source_project_id": p.id, "target_project_id": p.id,
        "labels": [], "draft": false, "work_in_progress": false,
        "milestone": null, "merge_when_pipeline_succeeds": false,
        "merge_status": "can_be_merged", "detailed_merge_status": "mergeable",
        "sha": m.sha,
        "merge_commit_sha": m.merged.map(|_| m.sha.clone()),
        "squash_commit_sha": null,
        "user_notes_count": 0,
        "discussion_locked": null,
        "should_remove_source_branch": null,
        "force_remove_source_branch": false,
        "allow_collaboration": false,
        "allow_maintainer_to_push": false,
        "approvals_before_merge": null,
        "squash": false,
        "squash_on_merge": false,
        "has_conflicts": false,
        "blocking_discussions_resolved": true,
        "task_completion_status": {"count": 0, "completed_count": 0},
        "web_url": format!("{base}/{}/-/merge_requests/{}", p.path_with_namespace, m.iid),
        "references": {"short": format!("!{}", m.iid), "relative": format!("!{}", m.iid), "full": format!("{}!{}", p.path_with_namespace, m.iid)},
        "time_stats": {"time_estimate": 0, "total_time_spent": 0, "human_time_estimate": null, "human_total_time_spent": null},
    })
}

/// A commit as the Commits API returns it (`commit/basic.json`).
pub(crate) fn commit_json(base: &str, p: &GlProject, c: &GlCommit) -> Value {
    json!({
        "id": c.id,
        "short_id": &c.id[..c.id.len().min(8)],
        "title": c.title(),
        "created_at": gl_time(&c.committed_date),
        "parent_ids": c.parent_ids,
        "message": c.message,
        "author_name": c.author_name,
        "author_email": c.author_email,
        "authored_date": gl_time(&c.authored_date),
        "committer_name": c.committer_name,
        "committer_email": c.committer_email,
        "committed_date": gl_time(&c.committed_date),
        "trailers": {},
        "extended_trailers": {},
        "web_url": format!("{base}/{}/-/commit/{}", p.path_with_namespace, c.id),
    })
}
