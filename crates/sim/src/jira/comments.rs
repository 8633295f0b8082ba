//! Issue comments and the comment webhooks.

use super::base::*;
use super::payloads::{deliver, emit_issue_event};
use super::views::*;
use crate::Shared;
use crate::model::*;
use crate::req::json_response;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use chrono::Utc;
use serde_json::{Value, json};
use std::sync::Arc;

pub(crate) async fn list_comments(
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
    let mut comments: Vec<&JiraComment> = i.comments.iter().collect();
    if c.params.get("orderBy").is_some_and(|o| o.starts_with('-')) {
        comments.reverse();
    }
    let page: Vec<Value> = comments
        .iter()
        .skip(start)
        .take(max)
        .map(|cm| comment_json(&s, c.ver, &w.jira, i, cm))
        .collect();
    ok(&json!({"startAt": start, "maxResults": max, "total": i.comments.len(), "comments": page}))
}

/// Adds a comment and sends `comment_created` (plus `jira:issue_updated`).
pub(crate) fn do_add_comment(s: &Shared, idx: usize, actor: &str, body: String) -> u64 {
    let mut w = s.write();
    let jira = &mut w.jira;
    let id = jira.alloc_id();
    let now = Utc::now();
    let Some(issue) = jira.issues.get_mut(idx) else {
        return 0;
    };
    issue.comments.push(JiraComment {
        id,
        author: actor.to_string(),
        body,
        created: now,
        updated: now,
    });
    issue.updated = now;
    let comment = {
        let i = &jira.issues[idx];
        i.comments
            .last()
            .map(|cm| comment_json(s, Ver::V2, jira, i, cm))
    };
    if let Some(cm) = comment {
        let i = &jira.issues[idx];
        let mut slim = brief_issue(s, Ver::V2, jira, i);
        if let Some(f) = slim.get_mut("fields").and_then(Value::as_object_mut) {
            f.insert(
                "assignee".into(),
                i.assignee
                    .as_deref()
                    .map(|a| user_json(s, Ver::V2, jira, a))
                    .unwrap_or(Value::Null),
            );
            f.insert(
                "project".into(),
                jira.project(&i.project)
                    .map(|p| project_json(s, Ver::V2, p))
                    .unwrap_or(Value::Null),
            );
        }
        let payload = json!({
            "timestamp": now.timestamp_millis(),
            "webhookEvent": "comment_created",
            "comment": cm,
            "issue": slim,
        });
        deliver(s, jira, idx, "comment_created", &payload);
        emit_issue_event(
            s,
            jira,
            idx,
            actor,
            "jira:issue_updated",
            "issue_commented",
            None,
            Some(cm),
        );
    }
    id
}

pub(crate) async fn add_comment(
    State(s): State<Arc<Shared>>,
    Path((ver, key)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> JResult {
    let c = ctx(&s, &ver, &headers, q, &body)?;
    let text = c
        .body
        .as_ref()
        .and_then(|b| b.get("body"))
        .and_then(text_of)
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| JErr::field("comment", "Comment body can not be empty!"))?;
    let idx = find_issue(&s.read().jira, &key)?;
    let id = do_add_comment(&s, idx, &c.account, text);
    let w = s.read();
    let i = &w.jira.issues[idx];
    let cm = i
        .comments
        .iter()
        .find(|x| x.id == id)
        .ok_or_else(JErr::issue_not_found)?;
    Ok(json_response(
        StatusCode::CREATED,
        &comment_json(&s, c.ver, &w.jira, i, cm),
        HeaderMap::new(),
    ))
}
