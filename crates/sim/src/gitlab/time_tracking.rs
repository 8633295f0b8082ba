//! Time tracking on issues: estimates and spent time.

use super::base::*;
use super::payloads::{IssueAction, emit_issue_hook};
use super::views::*;
use crate::Shared;
use crate::util::parse_duration;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use chrono::Utc;
use serde_json::json;
use std::sync::Arc;

pub(crate) async fn time_stats(
    State(s): State<Arc<Shared>>,
    Path((id, iid)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> GlResult {
    let c = ctx(&s, &headers, q, &[])?;
    let w = s.read();
    let pidx = visible_project(&w.gitlab, c.user, &id)?;
    let p = &w.gitlab.projects[pidx];
    ok(&time_stats_of(&p.issues[issue_pos(p, &iid)?]))
}

/// Changes time tracking; `action` is one of GitLab's four endpoints.
pub(crate) fn do_time(
    s: &Shared,
    pidx: usize,
    ipos: usize,
    user: u64,
    action: &str,
    seconds: i64,
) -> Result<(), GlErr> {
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
    let mut changes = serde_json::Map::new();
    match action {
        "time_estimate" => {
            changes.insert(
                "time_estimate".into(),
                json!({"previous": i.time_estimate, "current": seconds}),
            );
            i.time_estimate = seconds;
        }
        "reset_time_estimate" => {
            changes.insert(
                "time_estimate".into(),
                json!({"previous": i.time_estimate, "current": 0}),
            );
            i.time_estimate = 0;
        }
        "add_spent_time" => {
            let new = (i.total_time_spent + seconds).max(0);
            changes.insert(
                "total_time_spent".into(),
                json!({"previous": i.total_time_spent, "current": new}),
            );
            changes.insert(
                "time_change".into(),
                json!({"previous": 0, "current": seconds}),
            );
            i.total_time_spent = new;
        }
        "reset_spent_time" => {
            changes.insert(
                "total_time_spent".into(),
                json!({"previous": i.total_time_spent, "current": 0}),
            );
            i.total_time_spent = 0;
        }
        _ => {
            return Err(GlErr(
                StatusCode::NOT_FOUND,
                json!({"error": "404 Not Found"}),
            ));
        }
    }
    i.updated_at = Utc::now();
    emit_issue_hook(s, gl, pidx, ipos, user, IssueAction::Update, changes);
    Ok(())
}

pub(crate) async fn time_action(
    State(s): State<Arc<Shared>>,
    Path((id, iid, action)): Path<(String, String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> GlResult {
    let c = ctx(&s, &headers, q, &body)?;
    if !matches!(
        action.as_str(),
        "time_estimate" | "reset_time_estimate" | "add_spent_time" | "reset_spent_time"
    ) {
        return Err(GlErr(
            StatusCode::NOT_FOUND,
            json!({"error": "404 Not Found"}),
        ));
    }
    let (pidx, ipos) = {
        let w = s.read();
        let pidx = visible_project(&w.gitlab, c.user, &id)?;
        let p = &w.gitlab.projects[pidx];
        if !can_write(&w.gitlab, c.user, p) {
            return Err(GlErr::forbidden());
        }
        (pidx, issue_pos(p, &iid)?)
    };
    let seconds = if action.starts_with("reset") {
        0
    } else {
        let d = c
            .params
            .get("duration")
            .ok_or_else(|| GlErr::bad("duration is missing"))?;
        let secs = parse_duration(d).ok_or_else(|| GlErr::bad("Invalid duration"))?;
        if action == "time_estimate" && secs < 0 {
            return Err(GlErr::bad(
                "Time estimate must have a valid format and be greater than or equal to zero.",
            ));
        }
        secs
    };
    do_time(&s, pidx, ipos, c.user, &action, seconds)?;
    let w = s.read();
    let p = &w.gitlab.projects[pidx];
    let stats = time_stats_of(&p.issues[ipos]);
    if action == "add_spent_time" {
        created(&stats)
    } else {
        ok(&stats)
    }
}
