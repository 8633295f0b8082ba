//! Worklogs on issues and the worklog webhooks.

use super::base::*;
use super::issues::change_item;
use super::payloads::{deliver, emit_issue_event};
use super::views::*;
use crate::Shared;
use crate::model::*;
use crate::req::json_response;
use crate::util::{parse_duration, parse_time};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::sync::Arc;

pub(crate) async fn list_worklogs(
    State(s): State<Arc<Shared>>,
    Path((ver, key)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> JResult {
    let c = ctx(&s, &ver, &headers, q, &[])?;
    let w = s.read();
    let idx = find_issue(&w.jira, &key)?;
    let i = &w.jira.issues[idx];
    let start = c.params.int("startAt").ok().flatten().unwrap_or(0).max(0) as usize;
    let max = parse_max(c.params.get("maxResults"), 5000, 5000)?;
    let after = c.params.int("startedAfter").ok().flatten();
    let logs: Vec<Value> = i
        .worklogs
        .iter()
        .filter(|wl| after.is_none_or(|a| wl.started.timestamp_millis() >= a))
        .skip(start)
        .take(max)
        .map(|wl| worklog_json(&s, c.ver, &w.jira, i, wl))
        .collect();
    ok(&json!({"startAt": start, "maxResults": max, "total": i.worklogs.len(), "worklogs": logs}))
}

/// Logs work, adjusts the remaining estimate and sends `worklog_created`
/// (plus `jira:issue_updated`); returns the worklog id.
#[allow(clippy::too_many_arguments)]
pub(crate) fn do_add_worklog(
    s: &Shared,
    idx: usize,
    actor: &str,
    seconds: i64,
    started: Option<DateTime<Utc>>,
    comment: Option<String>,
    adjust: &str,
    new_estimate: Option<i64>,
) -> u64 {
    let mut w = s.write();
    let jira = &mut w.jira;
    let id = jira.alloc_id();
    let now = Utc::now();
    let Some(issue) = jira.issues.get_mut(idx) else {
        return 0;
    };
    let before_spent = issue.time_spent;
    let before_rem = issue.remaining_estimate;
    issue.worklogs.push(JiraWorklog {
        id,
        author: actor.to_string(),
        comment,
        started: started.unwrap_or(now),
        time_spent_seconds: seconds,
        created: now,
        updated: now,
    });
    issue.time_spent = Some(issue.time_spent.unwrap_or(0) + seconds);
    match adjust {
        "new" => issue.remaining_estimate = new_estimate.or(issue.remaining_estimate),
        "manual" => {
            issue.remaining_estimate = issue
                .remaining_estimate
                .map(|r| (r - new_estimate.unwrap_or(0)).max(0))
        }
        "leave" => {}
        _ => issue.remaining_estimate = issue.remaining_estimate.map(|r| (r - seconds).max(0)),
    }
    issue.updated = now;
    let items = vec![
        change_item(
            "timespent",
            before_spent.map(|x| x.to_string()),
            before_spent.map(|x| x.to_string()),
            issue.time_spent.map(|x| x.to_string()),
            issue.time_spent.map(|x| x.to_string()),
        ),
        change_item(
            "timeestimate",
            before_rem.map(|x| x.to_string()),
            before_rem.map(|x| x.to_string()),
            issue.remaining_estimate.map(|x| x.to_string()),
            issue.remaining_estimate.map(|x| x.to_string()),
        ),
    ];
    let wl = {
        let i = &jira.issues[idx];
        i.worklogs
            .last()
            .map(|wl| worklog_json(s, Ver::V2, jira, i, wl))
    };
    if let Some(wl) = wl {
        let payload = json!({
            "timestamp": now.timestamp_millis(),
            "webhookEvent": "worklog_created",
            "worklog": wl,
        });
        deliver(s, jira, idx, "worklog_created", &payload);
    }
    emit_issue_event(
        s,
        jira,
        idx,
        actor,
        "jira:issue_updated",
        "issue_work_logged",
        Some(items),
        None,
    );
    id
}

pub(crate) async fn add_worklog(
    State(s): State<Arc<Shared>>,
    Path((ver, key)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> JResult {
    let c = ctx(&s, &ver, &headers, q, &body)?;
    let b = c.body.clone().unwrap_or_else(|| json!({}));
    let seconds = match (b.get("timeSpentSeconds"), b.get("timeSpent")) {
        (Some(v), _) if !v.is_null() => v
            .as_i64()
            .filter(|n| *n > 0)
            .ok_or_else(|| JErr::field("timeLogged", "Time Spent must be a positive number."))?,
        (_, Some(Value::String(t))) => parse_duration(t)
            .filter(|n| *n > 0)
            .ok_or_else(|| JErr::field("timeLogged", "Invalid time duration entered."))?,
        _ => {
            return Err(JErr::field(
                "timeLogged",
                "You must indicate the time spent working.",
            ));
        }
    };
    let started = match b.get("started").and_then(Value::as_str) {
        None => None,
        Some(t) => Some(parse_time(t).ok_or_else(|| {
            JErr::field("started", "Invalid date format. Please enter the date in the format 'yyyy-MM-dd'T'HH:mm:ss.SSSZ'.")
        })?),
    };
    let adjust = c.params.get("adjustEstimate").unwrap_or("auto").to_string();
    if !matches!(adjust.as_str(), "auto" | "new" | "leave" | "manual") {
        return Err(JErr::msg(
            StatusCode::BAD_REQUEST,
            "Invalid value for adjustEstimate.",
        ));
    }
    let new_estimate = match adjust.as_str() {
        "new" => Some(
            c.params
                .get("newEstimate")
                .and_then(parse_duration)
                .ok_or_else(|| {
                    JErr::field("newEstimate", "You must supply a valid new estimate.")
                })?,
        ),
        "manual" => Some(
            c.params
                .get("reduceBy")
                .and_then(parse_duration)
                .ok_or_else(|| {
                    JErr::field(
                        "reduceBy",
                        "You must supply a valid amount of time to adjust the estimate by.",
                    )
                })?,
        ),
        _ => None,
    };
    let comment = b.get("comment").and_then(text_of);
    let idx = find_issue(&s.read().jira, &key)?;
    let id = do_add_worklog(
        &s,
        idx,
        &c.account,
        seconds,
        started,
        comment,
        &adjust,
        new_estimate,
    );
    let w = s.read();
    let i = &w.jira.issues[idx];
    let wl = i
        .worklogs
        .iter()
        .find(|x| x.id == id)
        .ok_or_else(JErr::issue_not_found)?;
    Ok(json_response(
        StatusCode::CREATED,
        &worklog_json(&s, c.ver, &w.jira, i, wl),
        HeaderMap::new(),
    ))
}
