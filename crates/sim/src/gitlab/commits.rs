//! The repository: pushes (new commits, rebases, force-pushes) with the push
//! hook and push event they cause, and the Commits and Branches APIs that
//! read them back.

use super::base::*;
use super::payloads::{hook_project, send};
use super::views::*;
use crate::Shared;
use crate::model::*;
use crate::util::parse_time;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use std::sync::Arc;

/// GitLab puts at most this many commits into a push hook; `total_commits_count`
/// still counts all of them.
pub(crate) const PUSH_HOOK_COMMIT_LIMIT: usize = 20;

/// A commit to create in a push.
#[derive(Debug, Clone)]
pub(crate) struct NewCommit {
    pub message: String,
    /// Author (name, email); the pusher when `None`.
    pub author: Option<(String, String)>,
    /// Author date; the push time when `None` (a rebase keeps the original).
    pub authored_date: Option<DateTime<Utc>>,
}

/// Points `branch` at a chain of new commits on top of `base` (default: the
/// branch head, or the default branch's head for a new branch), records the
/// push event and sends the Push Hook. A `base` that is not the branch head
/// is a force-push. Returns the new head.
pub(crate) fn do_push_chain(
    s: &Shared,
    pidx: usize,
    user: u64,
    branch: &str,
    base: Option<String>,
    commits: Vec<NewCommit>,
) -> Result<String, GlErr> {
    let mut w = s.write();
    let gl = &mut w.gitlab;
    let eid = gl.alloc_id();
    let now = Utc::now();
    let pusher = user_or_ghost(gl, user).clone();
    let p = gl
        .projects
        .get_mut(pidx)
        .ok_or_else(|| GlErr::not_found("Project"))?;
    let zero = "0".repeat(40);
    let before = p.branches.get(branch).cloned();
    let mut parent = base
        .or_else(|| before.clone())
        .or_else(|| p.branches.get(DEFAULT_BRANCH).cloned());
    let mut created = Vec::new();
    for (i, c) in commits.into_iter().enumerate() {
        let at = now + Duration::milliseconds(i as i64);
        let (author_name, author_email) = c
            .author
            .unwrap_or_else(|| (pusher.name.clone(), pusher.email.clone()));
        let commit = GlCommit {
            // The push's event id is unique in the world, so each commit
            // gets a seed of its own and SHAs never repeat (a seed mixed
            // from the time once gave two pushes the same SHAs).
            id: crate::util::Rng::new((eid << 20) | i as u64).sha(),
            parent_ids: parent.iter().cloned().collect(),
            message: c.message,
            author_name,
            author_email,
            authored_date: c.authored_date.unwrap_or(at),
            committer_name: pusher.name.clone(),
            committer_email: pusher.email.clone(),
            committed_date: at,
        };
        parent = Some(commit.id.clone());
        p.push_commit(commit.clone());
        created.push(commit);
    }
    let after = parent.clone().unwrap_or_else(|| zero.clone());
    p.branches.insert(branch.to_string(), after.clone());
    p.touch(now);
    let pid = p.id;
    let before_sha = before.clone().unwrap_or_else(|| zero.clone());
    gl.events.push(GlEvent {
        id: eid,
        project_id: pid,
        action_name: if before.is_some() {
            "pushed to".into()
        } else {
            "pushed new".into()
        },
        target_type: None,
        target_id: None,
        target_iid: None,
        target_title: None,
        author_id: user,
        created_at: now,
        push: Some(GlPush {
            commit_count: created.len() as u64,
            ref_name: branch.to_string(),
            commit_from: before_sha.clone(),
            commit_to: after.clone(),
            commit_title: created
                .last()
                .map(|c| c.title().to_string())
                .unwrap_or_default(),
        }),
        note_body: None,
        noteable_type: None,
    });
    let p = &gl.projects[pidx];
    if p.hooks.iter().any(|h| h.push_events) {
        let base = s.gitlab_base();
        let web = format!("{base}/{}", p.path_with_namespace);
        let shown = &created[created.len().saturating_sub(PUSH_HOOK_COMMIT_LIMIT)..];
        let payload = json!({
            "object_kind": "push",
            "event_name": "push",
            "before": before_sha,
            "after": after,
            "ref": format!("refs/heads/{branch}"),
            "ref_protected": branch == DEFAULT_BRANCH,
            "checkout_sha": after,
            "message": null,
            "user_id": pusher.id,
            "user_name": pusher.name,
            "user_username": pusher.username,
            "user_email": "",
            "user_avatar": avatar(pusher.id),
            "project_id": p.id,
            "project": hook_project(base, gl, p),
            "commits": shown.iter().map(|c| json!({
                "id": c.id,
                "message": c.message,
                "title": c.title(),
                "timestamp": c.committed_date.to_rfc3339(),
                "url": format!("{web}/-/commit/{}", c.id),
                "author": {"name": c.author_name, "email": c.author_email},
                "added": [],
                "modified": ["README.md"],
                "removed": [],
            })).collect::<Vec<_>>(),
            "total_commits_count": created.len(),
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

/// Rebases `branch` onto `onto`: the commits of the branch that `onto` lacks
/// get new SHAs and committed dates, keeping message, author and author
/// date; the branch is force-pushed. Returns the new head.
pub(crate) fn do_rebase(
    s: &Shared,
    pidx: usize,
    user: u64,
    branch: &str,
    onto: &str,
) -> Result<String, GlErr> {
    let (base, commits) = {
        let w = s.read();
        let p = w
            .gitlab
            .projects
            .get(pidx)
            .ok_or_else(|| GlErr::not_found("Project"))?;
        if !p.branches.contains_key(branch) {
            return Err(GlErr::not_found("Branch"));
        }
        let target = p.history(onto);
        let base = target
            .first()
            .map(|c| c.id.clone())
            .ok_or_else(|| GlErr::not_found("Branch"))?;
        let on_target: std::collections::HashSet<&str> =
            target.iter().map(|c| c.id.as_str()).collect();
        let mut own: Vec<NewCommit> = p
            .history(branch)
            .into_iter()
            .take_while(|c| !on_target.contains(c.id.as_str()))
            .map(|c| NewCommit {
                message: c.message.clone(),
                author: Some((c.author_name.clone(), c.author_email.clone())),
                authored_date: Some(c.authored_date),
            })
            .collect();
        own.reverse();
        (base, own)
    };
    do_push_chain(s, pidx, user, branch, Some(base), commits)
}

// ---------------------------------------------------------------- API

pub(crate) async fn list_commits(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> GlResult {
    let c = ctx(&s, &headers, q, &[])?;
    let w = s.read();
    let gl = &w.gitlab;
    let p = &gl.projects[visible_project(gl, c.user, &id)?];
    let time = |k: &str| -> Result<Option<DateTime<Utc>>, GlErr> {
        match c.params.get(k) {
            None | Some("") => Ok(None),
            Some(v) => parse_time(v)
                .map(Some)
                .ok_or_else(|| GlErr::bad(format!("{k} is invalid"))),
        }
    };
    let since = time("since")?;
    let until = time("until")?;
    let author = c.params.get("author").map(str::to_lowercase);
    let commits: Vec<&GlCommit> = if c.params.bool("all").unwrap_or(false) {
        p.commits.iter().rev().collect()
    } else {
        let rev = c.params.get("ref_name").unwrap_or(DEFAULT_BRANCH);
        if !p.branches.contains_key(rev) && p.commit(rev).is_none() {
            return Err(GlErr::not_found("Commit"));
        }
        p.history(rev)
    };
    let base = s.gitlab_base();
    let with_stats = c.params.bool("with_stats").unwrap_or(false);
    let matching: Vec<&GlCommit> = commits
        .into_iter()
        .filter(|x| since.is_none_or(|t| x.committed_date >= t))
        .filter(|x| until.is_none_or(|t| x.committed_date <= t))
        .filter(|x| {
            author.as_ref().is_none_or(|a| {
                x.author_name.to_lowercase().contains(a)
                    || x.author_email.to_lowercase().contains(a)
            })
        })
        .collect();
    // Only the page asked for is rendered: a long history stays cheap.
    let page = page_params(&c.params)?;
    let start = ((page.page - 1) * page.per_page).min(matching.len());
    let end = (start + page.per_page).min(matching.len());
    let out: Vec<Value> = matching[start..end]
        .iter()
        .map(|x| {
            let mut v = commit_json(base, p, x);
            if with_stats {
                v["stats"] = json!({"additions": 1, "deletions": 0, "total": 1});
            }
            v
        })
        .collect();
    let headers = offset_headers(
        &page,
        matching.len(),
        &format!("{base}/api/v4/projects/{}/repository/commits", p.id),
        &c.params,
    );
    Ok(json_response(StatusCode::OK, &out, headers))
}

pub(crate) async fn get_commit(
    State(s): State<Arc<Shared>>,
    Path((id, sha)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> GlResult {
    let c = ctx(&s, &headers, q, &[])?;
    let w = s.read();
    let gl = &w.gitlab;
    let p = &gl.projects[visible_project(gl, c.user, &id)?];
    let x = p
        .branches
        .get(&sha)
        .and_then(|head| p.commit(head))
        .or_else(|| p.commit(&sha))
        .ok_or_else(|| GlErr::not_found("Commit"))?;
    let mut v = commit_json(s.gitlab_base(), p, x);
    v["stats"] = json!({"additions": 1, "deletions": 0, "total": 1});
    v["status"] = Value::Null;
    v["last_pipeline"] = Value::Null;
    v["project_id"] = json!(p.id);
    ok(&v)
}

fn branch_json(base: &str, p: &GlProject, name: &str, head: &str) -> Value {
    let merged = name != DEFAULT_BRANCH && p.history(DEFAULT_BRANCH).iter().any(|c| c.id == head);
    json!({
        "name": name,
        "commit": p.commit(head).map(|c| commit_json(base, p, c)),
        "merged": merged,
        "protected": name == DEFAULT_BRANCH,
        "default": name == DEFAULT_BRANCH,
        "developers_can_push": false,
        "developers_can_merge": false,
        "can_push": true,
        "web_url": format!("{base}/{}/-/tree/{name}", p.path_with_namespace),
    })
}

pub(crate) async fn list_branches(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> GlResult {
    let c = ctx(&s, &headers, q, &[])?;
    let w = s.read();
    let gl = &w.gitlab;
    let p = &gl.projects[visible_project(gl, c.user, &id)?];
    let base = s.gitlab_base();
    let search = c.params.get("search").map(str::to_lowercase);
    let out: Vec<Value> = p
        .branches
        .iter()
        .filter(|(n, _)| search.as_ref().is_none_or(|q| n.to_lowercase().contains(q)))
        .map(|(n, head)| branch_json(base, p, n, head))
        .collect();
    paged_json(
        &out,
        &c.params,
        &format!("{base}/api/v4/projects/{}/repository/branches", p.id),
    )
}

pub(crate) async fn get_branch(
    State(s): State<Arc<Shared>>,
    Path((id, name)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> GlResult {
    let c = ctx(&s, &headers, q, &[])?;
    let w = s.read();
    let gl = &w.gitlab;
    let p = &gl.projects[visible_project(gl, c.user, &id)?];
    let head = p
        .branches
        .get(&name)
        .ok_or_else(|| GlErr::not_found("Branch"))?;
    ok(&branch_json(s.gitlab_base(), p, &name, head))
}
