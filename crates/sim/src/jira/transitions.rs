//! Workflow transitions of an issue.

use super::base::*;
use super::issues::change_item;
use super::payloads::emit_issue_event;
use super::views::*;
use crate::Shared;
use crate::model::*;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use chrono::Utc;
use serde_json::{Value, json};
use std::sync::Arc;

pub(crate) fn transition_id(jira: &Jira, status_id: &str) -> String {
    let pos = jira
        .statuses
        .iter()
        .position(|s| s.id == status_id)
        .unwrap_or(0);
    ((pos + 1) * 10 + 1).to_string()
}

pub(crate) async fn get_transitions(
    State(s): State<Arc<Shared>>,
    Path((ver, key)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> JResult {
    let c = ctx(&s, &ver, &headers, q, &[])?;
    let w = s.read();
    let idx = find_issue(&w.jira, &key)?;
    let current = &w.jira.issues[idx].status;
    let ts: Vec<Value> = w
        .jira
        .statuses
        .iter()
        .filter(|st| &st.id != current)
        .map(|st| {
            json!({
                "id": transition_id(&w.jira, &st.id),
                "name": st.name,
                "to": status_json(&s, c.ver, st),
                "hasScreen": false,
                "isGlobal": true,
                "isInitial": false,
                "isAvailable": true,
                "isConditional": false,
                "isLooped": false,
            })
        })
        .collect();
    ok(&json!({"expand": "transitions", "transitions": ts}))
}

/// Moves an issue to a status (resolving it in a done category) and sends
/// `jira:issue_updated` with a changelog.
pub(crate) fn do_set_status(s: &Shared, idx: usize, status_id: &str, actor: &str) {
    let mut w = s.write();
    let jira = &mut w.jira;
    let Some(new) = jira.status(status_id).cloned() else {
        return;
    };
    let Some(issue) = jira.issues.get(idx) else {
        return;
    };
    let old = jira.status(&issue.status).cloned();
    if old.as_ref().is_some_and(|o| o.id == new.id) {
        return;
    }
    let mut items = vec![change_item(
        "status",
        old.as_ref().map(|o| o.id.clone()),
        old.as_ref().map(|o| o.name.clone()),
        Some(new.id.clone()),
        Some(new.name.clone()),
    )];
    let now = Utc::now();
    let issue = &mut jira.issues[idx];
    let done = new.category == "done";
    if done && issue.resolution.is_none() {
        items.push(change_item(
            "resolution",
            None,
            None,
            Some("10000".into()),
            Some("Done".into()),
        ));
        issue.resolution = Some("Done".into());
        issue.resolved = Some(now);
    } else if !done && issue.resolution.is_some() {
        items.push(change_item(
            "resolution",
            Some("10000".into()),
            issue.resolution.clone(),
            None,
            None,
        ));
        issue.resolution = None;
        issue.resolved = None;
    }
    issue.status = new.id.clone();
    issue.updated = now;
    let kind = if done {
        "issue_resolved"
    } else {
        "issue_generic"
    };
    emit_issue_event(
        s,
        jira,
        idx,
        actor,
        "jira:issue_updated",
        kind,
        Some(items),
        None,
    );
}

pub(crate) async fn do_transition(
    State(s): State<Arc<Shared>>,
    Path((ver, key)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> JResult {
    let c = ctx(&s, &ver, &headers, q, &body)?;
    let tid = c
        .body
        .as_ref()
        .and_then(|b| b.get("transition"))
        .and_then(|t| obj_str(Some(t), &["id"]))
        .ok_or_else(|| JErr::msg(StatusCode::BAD_REQUEST, "Missing 'transition' identifier"))?;
    let (idx, status) = {
        let w = s.read();
        let idx = find_issue(&w.jira, &key)?;
        let status = w
            .jira
            .statuses
            .iter()
            .find(|st| transition_id(&w.jira, &st.id) == tid && st.id != w.jira.issues[idx].status)
            .map(|st| st.id.clone())
            .ok_or_else(|| {
                JErr::msg(
                    StatusCode::BAD_REQUEST,
                    format!("Transition id '{tid}' is not valid for this issue."),
                )
            })?;
        (idx, status)
    };
    do_set_status(&s, idx, &status, &c.account);
    Ok(StatusCode::NO_CONTENT.into_response())
}
