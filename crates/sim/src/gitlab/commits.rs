//! Pushes of commits to a branch and the push hook they send.

use super::base::*;
use super::payloads::{hook_project, send};
use super::views::*;
use crate::Shared;
use crate::model::*;
use chrono::Utc;
use serde_json::json;

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
    p.touch(now);
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
