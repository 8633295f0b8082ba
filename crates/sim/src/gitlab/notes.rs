//! Notes (comments) on issues and the note hook.

use super::base::*;
use super::payloads::{NoteOn, emit_note_hook, emit_other_note_hook};
use super::views::*;
use crate::Shared;
use crate::model::*;
use crate::util::gl_time;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use chrono::Utc;
use serde_json::Value;
use std::sync::Arc;

pub(crate) async fn list_notes(
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

pub(crate) async fn get_note(
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
    // A comment moves its issue's update time, as in GitLab.
    i.updated_at = now;
    let (iid, iid_id, title) = (i.iid, i.id, i.title.clone());
    p.touch(now);
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
        noteable_type: Some("Issue".into()),
    });
    let _ = iid_id;
    emit_note_hook(s, gl, pidx, ipos, nid, user, "create");
    Ok(nid)
}

pub(crate) async fn create_note(
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

/// Edits a note's body (its author only) and sends the Note Hook with
/// `action: update`, as GitLab does for edited comments.
pub(crate) fn do_update_note(
    s: &Shared,
    pidx: usize,
    ipos: usize,
    note_id: &str,
    user: u64,
    text: String,
) -> Result<u64, GlErr> {
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
    let n = i
        .notes
        .iter_mut()
        .find(|n| n.id.to_string() == note_id && !n.system)
        .ok_or_else(|| GlErr::not_found("Note"))?;
    if n.author_id != user {
        return Err(GlErr::forbidden());
    }
    let now = Utc::now();
    n.body = text;
    n.updated_at = now;
    let nid = n.id;
    i.updated_at = now;
    p.touch(now);
    emit_note_hook(s, gl, pidx, ipos, nid, user, "update");
    Ok(nid)
}

/// Deletes a note (its author, a maintainer or an admin). GitLab sends no
/// webhook for a deleted comment; only a scan notices.
pub(crate) fn do_delete_note(
    s: &Shared,
    pidx: usize,
    ipos: usize,
    note_id: &str,
    user: u64,
) -> Result<(), GlErr> {
    let mut w = s.write();
    let gl = &mut w.gitlab;
    let allowed_other = gl
        .projects
        .get(pidx)
        .is_some_and(|p| maintainer(gl, user, p));
    let i = gl
        .projects
        .get_mut(pidx)
        .and_then(|p| p.issues.get_mut(ipos))
        .ok_or_else(|| GlErr::not_found("Issue"))?;
    let pos = i
        .notes
        .iter()
        .position(|n| n.id.to_string() == note_id && !n.system)
        .ok_or_else(|| GlErr::not_found("Note"))?;
    if i.notes[pos].author_id != user && !allowed_other {
        return Err(GlErr::forbidden());
    }
    i.notes.remove(pos);
    Ok(())
}

pub(crate) async fn update_note(
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
    let (pidx, ipos) = {
        let w = s.read();
        let pidx = visible_project(&w.gitlab, c.user, &id)?;
        (pidx, issue_pos(&w.gitlab.projects[pidx], &iid)?)
    };
    let nid = do_update_note(&s, pidx, ipos, &note_id, c.user, text)?;
    let w = s.read();
    let gl = &w.gitlab;
    let p = &gl.projects[pidx];
    let i = &p.issues[ipos];
    let n = i
        .notes
        .iter()
        .find(|n| n.id == nid)
        .ok_or_else(|| GlErr::not_found("Note"))?;
    ok(&note_json(s.gitlab_base(), gl, p, i, n))
}

pub(crate) async fn delete_note(
    State(s): State<Arc<Shared>>,
    Path((id, iid, note_id)): Path<(String, String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<axum::http::StatusCode, GlErr> {
    let c = ctx(&s, &headers, q, &[])?;
    let (pidx, ipos) = {
        let w = s.read();
        let pidx = visible_project(&w.gitlab, c.user, &id)?;
        (pidx, issue_pos(&w.gitlab.projects[pidx], &iid)?)
    };
    do_delete_note(&s, pidx, ipos, &note_id, c.user)?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// What a comment is on, besides an issue.
pub(crate) enum NoteTarget {
    /// A merge request, by iid.
    MergeRequest(u64),
    /// A commit, by SHA (or a unique prefix).
    Commit(String),
}

/// Comments on a merge request or a commit: records the event and sends the
/// Note Hook; returns the note id.
pub(crate) fn do_add_other_note(
    s: &Shared,
    pidx: usize,
    target: &NoteTarget,
    user: u64,
    body: String,
) -> Result<u64, GlErr> {
    let mut w = s.write();
    let gl = &mut w.gitlab;
    let nid = gl.alloc_id();
    let eid = gl.alloc_id();
    let now = Utc::now();
    let note = GlNote {
        id: nid,
        body: body.clone(),
        author_id: user,
        system: false,
        created_at: now,
        updated_at: now,
        internal: false,
    };
    let p = gl
        .projects
        .get_mut(pidx)
        .ok_or_else(|| GlErr::not_found("Project"))?;
    let (kind, target_iid, title) = match target {
        NoteTarget::MergeRequest(iid) => {
            let mr = p
                .merge_requests
                .iter_mut()
                .find(|m| m.iid == *iid)
                .ok_or_else(|| GlErr::not_found("Merge Request"))?;
            mr.notes.push(note.clone());
            mr.updated_at = now;
            ("MergeRequest", Some(mr.iid), mr.title.clone())
        }
        NoteTarget::Commit(sha) => {
            let c = p.commit(sha).ok_or_else(|| GlErr::not_found("Commit"))?;
            let (id, title) = (c.id.clone(), c.title().to_string());
            p.commit_notes.push((id, note.clone()));
            ("Commit", None, title)
        }
    };
    p.touch(now);
    let pid = p.id;
    gl.events.push(GlEvent {
        id: eid,
        project_id: pid,
        action_name: "commented on".into(),
        target_type: Some("Note".into()),
        target_id: Some(nid),
        target_iid,
        target_title: Some(title),
        author_id: user,
        created_at: now,
        push: None,
        note_body: Some(body),
        noteable_type: Some(kind.into()),
    });
    let p = &gl.projects[pidx];
    match target {
        NoteTarget::MergeRequest(iid) => {
            if let Some(mr) = p.merge_requests.iter().find(|m| m.iid == *iid) {
                emit_other_note_hook(s, gl, pidx, NoteOn::MergeRequest(mr), &note, user);
            }
        }
        NoteTarget::Commit(sha) => {
            if let Some(c) = p.commit(sha) {
                emit_other_note_hook(s, gl, pidx, NoteOn::Commit(c), &note, user);
            }
        }
    }
    Ok(nid)
}

fn mr_note_json(base: &str, gl: &GitLab, mr: &GlMergeRequest, n: &GlNote) -> Value {
    serde_json::json!({
        "id": n.id,
        "type": null,
        "body": n.body,
        "attachment": null,
        "author": user_view(base, user_or_ghost(gl, n.author_id)),
        "created_at": gl_time(&n.created_at),
        "updated_at": gl_time(&n.updated_at),
        "system": n.system,
        "noteable_id": mr.id,
        "noteable_type": "MergeRequest",
        "resolvable": false,
        "confidential": false,
        "internal": false,
        "noteable_iid": mr.iid,
        "commands_changes": {},
    })
}

fn commit_note_json(base: &str, gl: &GitLab, n: &GlNote) -> Value {
    serde_json::json!({
        "note": n.body,
        "path": null,
        "line": null,
        "line_type": null,
        "author": user_view(base, user_or_ghost(gl, n.author_id)),
        "created_at": gl_time(&n.created_at),
    })
}

fn note_text(params: &crate::req::Params, key: &str) -> Result<String, GlErr> {
    match params.get(key) {
        Some(b) if !b.trim().is_empty() => Ok(b.to_string()),
        _ => Err(GlErr::bad(format!("{key} is missing"))),
    }
}

pub(crate) async fn list_mr_notes(
    State(s): State<Arc<Shared>>,
    Path((id, iid)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> GlResult {
    let c = ctx(&s, &headers, q, &[])?;
    let w = s.read();
    let gl = &w.gitlab;
    let p = &gl.projects[visible_project(gl, c.user, &id)?];
    let mr = find_mr(p, &iid)?;
    let base = s.gitlab_base();
    let out: Vec<Value> = mr
        .notes
        .iter()
        .map(|n| mr_note_json(base, gl, mr, n))
        .collect();
    paged_json(
        &out,
        &c.params,
        &format!(
            "{base}/api/v4/projects/{}/merge_requests/{}/notes",
            p.id, mr.iid
        ),
    )
}

pub(crate) async fn create_mr_note(
    State(s): State<Arc<Shared>>,
    Path((id, iid)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> GlResult {
    let c = ctx(&s, &headers, q, &body)?;
    let text = note_text(&c.params, "body")?;
    let iid: u64 = iid.parse().map_err(|_| GlErr::not_found("Merge Request"))?;
    let pidx = visible_project(&s.read().gitlab, c.user, &id)?;
    let nid = do_add_other_note(&s, pidx, &NoteTarget::MergeRequest(iid), c.user, text)?;
    let w = s.read();
    let gl = &w.gitlab;
    let p = &gl.projects[pidx];
    let mr = find_mr(p, &iid.to_string())?;
    let n = mr
        .notes
        .iter()
        .find(|n| n.id == nid)
        .ok_or_else(|| GlErr::not_found("Note"))?;
    created(&mr_note_json(s.gitlab_base(), gl, mr, n))
}

pub(crate) async fn list_commit_notes(
    State(s): State<Arc<Shared>>,
    Path((id, sha)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> GlResult {
    let c = ctx(&s, &headers, q, &[])?;
    let w = s.read();
    let gl = &w.gitlab;
    let p = &gl.projects[visible_project(gl, c.user, &id)?];
    let commit = p.commit(&sha).ok_or_else(|| GlErr::not_found("Commit"))?;
    let base = s.gitlab_base();
    let out: Vec<Value> = p
        .commit_notes
        .iter()
        .filter(|(c, _)| *c == commit.id)
        .map(|(_, n)| commit_note_json(base, gl, n))
        .collect();
    paged_json(
        &out,
        &c.params,
        &format!(
            "{base}/api/v4/projects/{}/repository/commits/{}/comments",
            p.id, commit.id
        ),
    )
}

pub(crate) async fn create_commit_note(
    State(s): State<Arc<Shared>>,
    Path((id, sha)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> GlResult {
    let c = ctx(&s, &headers, q, &body)?;
    let text = note_text(&c.params, "note")?;
    let pidx = visible_project(&s.read().gitlab, c.user, &id)?;
    let nid = do_add_other_note(&s, pidx, &NoteTarget::Commit(sha), c.user, text)?;
    let w = s.read();
    let gl = &w.gitlab;
    let n = gl.projects[pidx]
        .commit_notes
        .iter()
        .find(|(_, n)| n.id == nid)
        .map(|(_, n)| n)
        .ok_or_else(|| GlErr::not_found("Note"))?;
    created(&commit_note_json(s.gitlab_base(), gl, n))
}
