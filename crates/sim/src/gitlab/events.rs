//! The Events API (per user and per project) and recording of activity events.

use super::base::*;
use super::views::*;
use crate::Shared;
use crate::model::*;
use crate::req::Params;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use chrono::{NaiveDate, Utc};
use serde_json::Value;
use std::sync::Arc;

pub(crate) fn filter_events<'a>(
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

pub(crate) async fn user_events(
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

pub(crate) async fn project_events(
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

pub(crate) fn record_issue_event(
    gl: &mut GitLab,
    pidx: usize,
    ipos: usize,
    user: u64,
    action: &str,
) {
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
        noteable_type: None,
    };
    gl.events.push(e);
}
