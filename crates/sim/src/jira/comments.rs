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

/// Sends `event` (comment_created, comment_updated, comment_deleted) with
/// the comment and a slim issue, then `jira:issue_updated` with the matching
/// `issue_event_type_name`, as Jira does.
fn comment_event(
    s: &Shared,
    jira: &mut Jira,
    idx: usize,
    cm: &JiraComment,
    actor: &str,
    event: &str,
) {
    let now = Utc::now();
    let Some(i) = jira.issues.get(idx) else {
        return;
    };
    let cjson = comment_json(s, Ver::V2, jira, i, cm);
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
        "webhookEvent": event,
        "comment": cjson,
        "issue": slim,
    });
    deliver(s, jira, idx, event, &payload);
    let type_name = match event {
        "comment_created" => "issue_commented",
        "comment_updated" => "issue_comment_edited",
        _ => "issue_comment_deleted",
    };
    emit_issue_event(
        s,
        jira,
        idx,
        actor,
        "jira:issue_updated",
        type_name,
        None,
        Some(cjson),
    );
}

/// The longest comment Jira takes, in characters.
pub(crate) const MAX_COMMENT_CHARS: usize = 32_767;

/// A comment body from a request: ADF (v3) or a wiki string (v2), not
/// empty and, as Jira has it, at most 32,767 characters (a 400 with an
/// error message otherwise).
pub(crate) fn comment_body(body: Option<&Value>) -> Result<(String, Option<Value>), JErr> {
    let (text, adf) = body
        .and_then(|b| b.get("body"))
        .map(rich_in)
        .unwrap_or_default();
    match text {
        Some(t) if t.chars().count() > MAX_COMMENT_CHARS => Err(JErr::msg(
            StatusCode::BAD_REQUEST,
            "The entered text is too long. It exceeds the allowed limit of 32,767 characters.",
        )),
        Some(t) if !t.trim().is_empty() => Ok((t, adf)),
        _ => Err(JErr::field("comment", "Comment body can not be empty!")),
    }
}

/// Adds a comment and sends `comment_created` (plus `jira:issue_updated`).
pub(crate) fn do_add_comment(
    s: &Shared,
    idx: usize,
    actor: &str,
    body: String,
    body_adf: Option<Value>,
) -> u64 {
    let mut w = s.write();
    let jira = &mut w.jira;
    let id = jira.alloc_id();
    let now = Utc::now();
    let Some(issue) = jira.issues.get_mut(idx) else {
        return 0;
    };
    let cm = JiraComment {
        id,
        author: actor.to_string(),
        body,
        body_adf,
        created: now,
        updated: now,
    };
    issue.comments.push(cm.clone());
    issue.updated = now;
    comment_event(s, jira, idx, &cm, actor, "comment_created");
    id
}

/// Edits a comment (its author or an admin) and sends `comment_updated`.
pub(crate) fn do_update_comment(
    s: &Shared,
    idx: usize,
    comment_id: &str,
    actor: &str,
    body: String,
    body_adf: Option<Value>,
) -> Result<(), JErr> {
    let mut w = s.write();
    let jira = &mut w.jira;
    let now = Utc::now();
    let admin = is_admin(jira, actor);
    let issue = jira.issues.get_mut(idx).ok_or_else(JErr::issue_not_found)?;
    let cm = issue
        .comments
        .iter_mut()
        .find(|c| c.id.to_string() == comment_id)
        .ok_or_else(|| JErr::msg(StatusCode::NOT_FOUND, "Can not find a comment for the id."))?;
    if cm.author != actor && !admin {
        return Err(JErr::msg(
            StatusCode::FORBIDDEN,
            "You do not have the permission to edit this comment.",
        ));
    }
    cm.body = body;
    cm.body_adf = body_adf;
    cm.updated = now;
    let cm = cm.clone();
    issue.updated = now;
    comment_event(s, jira, idx, &cm, actor, "comment_updated");
    Ok(())
}

/// Deletes a comment (its author or an admin) and sends `comment_deleted`.
pub(crate) fn do_delete_comment(
    s: &Shared,
    idx: usize,
    comment_id: &str,
    actor: &str,
) -> Result<(), JErr> {
    let mut w = s.write();
    let jira = &mut w.jira;
    let admin = is_admin(jira, actor);
    let issue = jira.issues.get_mut(idx).ok_or_else(JErr::issue_not_found)?;
    let pos = issue
        .comments
        .iter()
        .position(|c| c.id.to_string() == comment_id)
        .ok_or_else(|| JErr::msg(StatusCode::NOT_FOUND, "Can not find a comment for the id."))?;
    if issue.comments[pos].author != actor && !admin {
        return Err(JErr::msg(
            StatusCode::FORBIDDEN,
            "You do not have the permission to delete this comment.",
        ));
    }
    let cm = issue.comments.remove(pos);
    issue.updated = Utc::now();
    comment_event(s, jira, idx, &cm, actor, "comment_deleted");
    Ok(())
}

/// Whether an account is the simulated Jira's administrator (the first user
/// every dataset gets, the default connection account).
fn is_admin(jira: &Jira, account: &str) -> bool {
    jira.users.first().is_some_and(|u| u.account_id == account)
}

pub(crate) async fn add_comment(
    State(s): State<Arc<Shared>>,
    Path((ver, key)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> JResult {
    let c = ctx(&s, &ver, &headers, q, &body)?;
    let (text, adf) = comment_body(c.body.as_ref())?;
    let idx = find_issue(&s.read().jira, &key)?;
    let id = do_add_comment(&s, idx, &c.account, text, adf);
    comment_response(&s, c.ver, idx, id, StatusCode::CREATED)
}

fn comment_response(s: &Shared, ver: Ver, idx: usize, id: u64, status: StatusCode) -> JResult {
    let w = s.read();
    let i = &w.jira.issues[idx];
    let cm =
        i.comments.iter().find(|x| x.id == id).ok_or_else(|| {
            JErr::msg(StatusCode::NOT_FOUND, "Can not find a comment for the id.")
        })?;
    Ok(json_response(
        status,
        &comment_json(s, ver, &w.jira, i, cm),
        HeaderMap::new(),
    ))
}

pub(crate) async fn get_comment(
    State(s): State<Arc<Shared>>,
    Path((ver, key, id)): Path<(String, String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> JResult {
    let c = ctx(&s, &ver, &headers, q, &[])?;
    let idx = find_issue(&s.read().jira, &key)?;
    let id: u64 = id
        .parse()
        .map_err(|_| JErr::msg(StatusCode::NOT_FOUND, "Can not find a comment for the id."))?;
    comment_response(&s, c.ver, idx, id, StatusCode::OK)
}

pub(crate) async fn update_comment(
    State(s): State<Arc<Shared>>,
    Path((ver, key, id)): Path<(String, String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> JResult {
    let c = ctx(&s, &ver, &headers, q, &body)?;
    let (text, adf) = comment_body(c.body.as_ref())?;
    let idx = find_issue(&s.read().jira, &key)?;
    do_update_comment(&s, idx, &id, &c.account, text, adf)?;
    let id: u64 = id.parse().unwrap_or(0);
    comment_response(&s, c.ver, idx, id, StatusCode::OK)
}

pub(crate) async fn delete_comment(
    State(s): State<Arc<Shared>>,
    Path((ver, key, id)): Path<(String, String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> JResult {
    let c = ctx(&s, &ver, &headers, q, &[])?;
    let idx = find_issue(&s.read().jira, &key)?;
    do_delete_comment(&s, idx, &id, &c.account)?;
    Ok(axum::response::IntoResponse::into_response(
        StatusCode::NO_CONTENT,
    ))
}
