//! Issue entity properties (`/issue/{key}/properties`): where an integration
//! keeps its own data on an issue, e.g. a sync marker.

use super::base::*;
use crate::Shared;
use crate::req::json_response;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde_json::{Value, json};
use std::sync::Arc;

/// Jira limits property keys to 255 characters and values to 32 KiB.
const MAX_KEY: usize = 255;
const MAX_VALUE: usize = 32_768;

pub(crate) async fn list_properties(
    State(s): State<Arc<Shared>>,
    Path((ver, key)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> JResult {
    let c = ctx(&s, &ver, &headers, q, &[])?;
    let w = s.read();
    let i = &w.jira.issues[find_issue(&w.jira, &key)?];
    let keys: Vec<Value> = i
        .properties
        .keys()
        .map(|k| {
            json!({"key": k, "self": format!("{}/issue/{}/properties/{k}", api(&s, c.ver), i.id)})
        })
        .collect();
    ok(&json!({"keys": keys}))
}

pub(crate) async fn get_property(
    State(s): State<Arc<Shared>>,
    Path((ver, key, prop)): Path<(String, String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> JResult {
    let _ = ctx(&s, &ver, &headers, q, &[])?;
    let w = s.read();
    let i = &w.jira.issues[find_issue(&w.jira, &key)?];
    let v = i.properties.get(&prop).ok_or_else(|| {
        JErr::msg(
            StatusCode::NOT_FOUND,
            format!("The property with key '{prop}' does not exist."),
        )
    })?;
    ok(&json!({"key": prop, "value": v}))
}

/// Sets a property: 201 when new, 200 when replaced (as Jira answers).
pub(crate) fn do_set_property(
    s: &Shared,
    idx: usize,
    prop: &str,
    value: Value,
) -> Result<StatusCode, JErr> {
    if prop.is_empty() || prop.chars().count() > MAX_KEY {
        return Err(JErr::msg(
            StatusCode::BAD_REQUEST,
            "The property key cannot be longer than 255 characters.",
        ));
    }
    if serde_json::to_vec(&value).map(|b| b.len()).unwrap_or(0) > MAX_VALUE {
        return Err(JErr::msg(
            StatusCode::BAD_REQUEST,
            "The property value cannot be longer than 32768 bytes.",
        ));
    }
    let mut w = s.write();
    let i = w
        .jira
        .issues
        .get_mut(idx)
        .ok_or_else(JErr::issue_not_found)?;
    let existed = i.properties.insert(prop.to_string(), value).is_some();
    Ok(if existed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    })
}

pub(crate) async fn put_property(
    State(s): State<Arc<Shared>>,
    Path((ver, key, prop)): Path<(String, String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> JResult {
    let c = ctx(&s, &ver, &headers, q, &body)?;
    let value = c.body.ok_or_else(|| {
        JErr::msg(
            StatusCode::BAD_REQUEST,
            "The property value must be a valid JSON document.",
        )
    })?;
    let idx = find_issue(&s.read().jira, &key)?;
    let status = do_set_property(&s, idx, &prop, value)?;
    Ok(json_response(status, &json!({}), HeaderMap::new()))
}

pub(crate) async fn delete_property(
    State(s): State<Arc<Shared>>,
    Path((ver, key, prop)): Path<(String, String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> JResult {
    let _ = ctx(&s, &ver, &headers, q, &[])?;
    let mut w = s.write();
    let idx = find_issue(&w.jira, &key)?;
    if w.jira.issues[idx].properties.remove(&prop).is_none() {
        return Err(JErr::msg(
            StatusCode::NOT_FOUND,
            format!("The property with key '{prop}' does not exist."),
        ));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
