//! Remote links of an issue (`/issue/{key}/remotelink`): links to things
//! outside Jira, deduplicated by `globalId` as Jira does (a second POST with
//! the same globalId updates the link instead of adding one).

use super::base::*;
use crate::Shared;
use crate::model::*;
use crate::req::json_response;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde_json::{Map, Value, json};
use std::sync::Arc;

fn link_json(s: &Shared, ver: Ver, i: &JiraIssue, l: &JiraRemoteLink) -> Value {
    let mut v = json!({
        "id": l.id,
        "self": format!("{}/issue/{}/remotelink/{}", api(s, ver), i.key, l.id),
        "application": l.application,
        "object": l.object,
    });
    if let Some(g) = &l.global_id {
        v["globalId"] = json!(g);
    }
    if let Some(r) = &l.relationship {
        v["relationship"] = json!(r);
    }
    v
}

pub(crate) async fn list_links(
    State(s): State<Arc<Shared>>,
    Path((ver, key)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> JResult {
    let c = ctx(&s, &ver, &headers, q, &[])?;
    let w = s.read();
    let i = &w.jira.issues[find_issue(&w.jira, &key)?];
    let global = c.params.get("globalId");
    if let Some(g) = global {
        let l = i
            .remote_links
            .iter()
            .find(|l| l.global_id.as_deref() == Some(g))
            .ok_or_else(|| {
                JErr::msg(StatusCode::NOT_FOUND, "No remote link with this globalId.")
            })?;
        return ok(&link_json(&s, c.ver, i, l));
    }
    ok(&Value::Array(
        i.remote_links
            .iter()
            .map(|l| link_json(&s, c.ver, i, l))
            .collect(),
    ))
}

pub(crate) async fn get_link(
    State(s): State<Arc<Shared>>,
    Path((ver, key, id)): Path<(String, String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> JResult {
    let c = ctx(&s, &ver, &headers, q, &[])?;
    let w = s.read();
    let i = &w.jira.issues[find_issue(&w.jira, &key)?];
    let l = i
        .remote_links
        .iter()
        .find(|l| l.id.to_string() == id)
        .ok_or_else(|| JErr::msg(StatusCode::NOT_FOUND, "No remote link with this id."))?;
    ok(&link_json(&s, c.ver, i, l))
}

/// Creates a link, or updates the one with the same `globalId`; returns
/// (created, id).
pub(crate) fn do_put_link(s: &Shared, idx: usize, body: &Value) -> Result<(bool, u64), JErr> {
    let object = body.get("object").and_then(Value::as_object);
    let mut errors = Map::new();
    for k in ["url", "title"] {
        if object
            .and_then(|o| o.get(k))
            .and_then(Value::as_str)
            .is_none_or(|v| v.trim().is_empty())
        {
            errors.insert(k.into(), json!(format!("'{k}' is required.")));
        }
    }
    if !errors.is_empty() {
        return Err(JErr(StatusCode::BAD_REQUEST, vec![], errors));
    }
    let global_id = body
        .get("globalId")
        .and_then(Value::as_str)
        .map(str::to_string);
    let mut w = s.write();
    let jira = &mut w.jira;
    let new_id = jira.alloc_id();
    let i = jira.issues.get_mut(idx).ok_or_else(JErr::issue_not_found)?;
    let link = JiraRemoteLink {
        id: new_id,
        global_id: global_id.clone(),
        application: body.get("application").cloned().unwrap_or(json!({})),
        relationship: body
            .get("relationship")
            .and_then(Value::as_str)
            .map(str::to_string),
        object: body.get("object").cloned().unwrap_or(json!({})),
    };
    if let Some(g) = &global_id
        && let Some(existing) = i
            .remote_links
            .iter_mut()
            .find(|l| l.global_id.as_deref() == Some(g))
    {
        let id = existing.id;
        *existing = JiraRemoteLink { id, ..link };
        return Ok((false, id));
    }
    i.remote_links.push(link);
    i.updated = chrono::Utc::now();
    Ok((true, new_id))
}

pub(crate) async fn post_link(
    State(s): State<Arc<Shared>>,
    Path((ver, key)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> JResult {
    let c = ctx(&s, &ver, &headers, q, &body)?;
    let b = c.body.clone().unwrap_or_else(|| json!({}));
    let idx = find_issue(&s.read().jira, &key)?;
    let (created, id) = do_put_link(&s, idx, &b)?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(json_response(
        status,
        &json!({"id": id, "self": format!("{}/issue/{key}/remotelink/{id}", api(&s, c.ver))}),
        HeaderMap::new(),
    ))
}

pub(crate) async fn delete_link(
    State(s): State<Arc<Shared>>,
    Path((ver, key, id)): Path<(String, String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> JResult {
    let _ = ctx(&s, &ver, &headers, q, &[])?;
    let mut w = s.write();
    let idx = find_issue(&w.jira, &key)?;
    let links = &mut w.jira.issues[idx].remote_links;
    let before = links.len();
    links.retain(|l| l.id.to_string() != id);
    if links.len() == before {
        return Err(JErr::msg(
            StatusCode::NOT_FOUND,
            "No remote link with this id.",
        ));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
