//! Project milestones.

use super::base::*;
use super::views::*;
use crate::Shared;
use crate::model::*;
use crate::req::Params;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use chrono::{NaiveDate, Utc};
use serde_json::json;
use std::sync::Arc;

pub(crate) async fn list_milestones(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> GlResult {
    let c = ctx(&s, &headers, q, &[])?;
    let w = s.read();
    let pidx = visible_project(&w.gitlab, c.user, &id)?;
    let p = &w.gitlab.projects[pidx];
    let base = s.gitlab_base();
    let state = c.params.get("state");
    if state.is_some_and(|st| !matches!(st, "active" | "closed")) {
        return Err(GlErr::bad("state does not have a valid value"));
    }
    let title = c.params.get("title");
    let search = c.params.get("search").map(str::to_lowercase);
    let iids = c.params.list("iids");
    let mut ms: Vec<&GlMilestone> = p
        .milestones
        .iter()
        .filter(|m| state.is_none_or(|st| m.state == st))
        .filter(|m| title.is_none_or(|t| m.title == t))
        .filter(|m| {
            search
                .as_ref()
                .is_none_or(|q| m.title.to_lowercase().contains(q))
        })
        .filter(|m| {
            iids.as_ref()
                .is_none_or(|v| v.iter().any(|x| x == &m.iid.to_string()))
        })
        .collect();
    ms.sort_by_key(|m| std::cmp::Reverse(m.id));
    let out: Vec<MilestoneView> = ms.iter().map(|m| milestone_view(base, p, m)).collect();
    paged_json(
        &out,
        &c.params,
        &format!("{base}/api/v4/projects/{}/milestones", p.id),
    )
}

pub(crate) async fn get_milestone(
    State(s): State<Arc<Shared>>,
    Path((id, mid)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> GlResult {
    let c = ctx(&s, &headers, q, &[])?;
    let w = s.read();
    let pidx = visible_project(&w.gitlab, c.user, &id)?;
    let p = &w.gitlab.projects[pidx];
    let m = p
        .milestones
        .iter()
        .find(|m| m.id.to_string() == mid)
        .ok_or_else(|| GlErr::not_found("Milestone"))?;
    ok(&milestone_view(s.gitlab_base(), p, m))
}

pub(crate) fn date_field(params: &Params, key: &str) -> Result<Option<Option<NaiveDate>>, GlErr> {
    if !params.has(key) {
        return Ok(None);
    }
    match params.get(key) {
        None | Some("") => Ok(Some(None)),
        Some(v) => NaiveDate::parse_from_str(v, "%Y-%m-%d")
            .map(|d| Some(Some(d)))
            .map_err(|_| GlErr::bad(format!("{key} is invalid"))),
    }
}

pub(crate) async fn create_milestone(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> GlResult {
    let c = ctx(&s, &headers, q, &body)?;
    let title = match c.params.get("title") {
        Some(t) if !t.trim().is_empty() => t.to_string(),
        _ => return Err(GlErr::bad("title is missing")),
    };
    let start = date_field(&c.params, "start_date")?.flatten();
    let due = date_field(&c.params, "due_date")?.flatten();
    let mut w = s.write();
    let gl = &mut w.gitlab;
    let pidx = visible_project(gl, c.user, &id)?;
    if !can_write(gl, c.user, &gl.projects[pidx]) {
        return Err(GlErr::forbidden());
    }
    if gl.projects[pidx]
        .milestones
        .iter()
        .any(|m| m.title == title)
    {
        return Err(GlErr(
            StatusCode::BAD_REQUEST,
            json!({"message": "Failed to create milestone! Milestone title already being used for another group or project milestone."}),
        ));
    }
    let mid = gl.alloc_id();
    let now = Utc::now();
    let p = &mut gl.projects[pidx];
    let iid = p.milestones.iter().map(|m| m.iid).max().unwrap_or(0) + 1;
    p.milestones.push(GlMilestone {
        id: mid,
        iid,
        title,
        description: c.params.get("description").map(str::to_string),
        state: "active".into(),
        start_date: start,
        due_date: due,
        created_at: now,
        updated_at: now,
    });
    let p = &gl.projects[pidx];
    let m = p
        .milestones
        .last()
        .ok_or_else(|| GlErr::not_found("Milestone"))?;
    created(&milestone_view(s.gitlab_base(), p, m))
}

pub(crate) async fn update_milestone(
    State(s): State<Arc<Shared>>,
    Path((id, mid)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> GlResult {
    let c = ctx(&s, &headers, q, &body)?;
    let state_event = c.params.get("state_event");
    if state_event.is_some_and(|e| !matches!(e, "close" | "activate")) {
        return Err(GlErr::bad("state_event does not have a valid value"));
    }
    let start = date_field(&c.params, "start_date")?;
    let due = date_field(&c.params, "due_date")?;
    let mut w = s.write();
    let gl = &mut w.gitlab;
    let pidx = visible_project(gl, c.user, &id)?;
    if !can_write(gl, c.user, &gl.projects[pidx]) {
        return Err(GlErr::forbidden());
    }
    let p = &mut gl.projects[pidx];
    let m = p
        .milestones
        .iter_mut()
        .find(|m| m.id.to_string() == mid)
        .ok_or_else(|| GlErr::not_found("Milestone"))?;
    if let Some(t) = c.params.get("title").filter(|t| !t.trim().is_empty()) {
        m.title = t.to_string();
    }
    if let Some(d) = c.params.get("description") {
        m.description = Some(d.to_string());
    }
    if let Some(d) = start {
        m.start_date = d;
    }
    if let Some(d) = due {
        m.due_date = d;
    }
    match state_event {
        Some("close") => m.state = "closed".into(),
        Some("activate") => m.state = "active".into(),
        _ => {}
    }
    m.updated_at = Utc::now();
    let m = m.clone();
    ok(&milestone_view(s.gitlab_base(), &gl.projects[pidx], &m))
}
