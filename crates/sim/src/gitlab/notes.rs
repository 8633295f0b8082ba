//! Notes (comments) on issues and the note hook.

use super::base::*;
use super::payloads::emit_note_hook;
use super::views::*;
use crate::Shared;
use crate::model::*;
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
    });
    let _ = iid_id;
    emit_note_hook(s, gl, pidx, ipos, nid, user);
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
