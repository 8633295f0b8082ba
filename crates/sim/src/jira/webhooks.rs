//! Webhook registration: Data Center's `/rest/webhooks/1.0` and Cloud's
//! dynamic `/rest/api/3/webhook`.

use super::base::*;
use crate::Shared;
use crate::jql;
use crate::model::*;
use crate::req::json_response;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use chrono::Utc;
use serde_json::{Value, json};
use std::sync::Arc;

pub(crate) fn dc_webhook_json(s: &Shared, h: &JiraWebhook) -> Value {
    json!({
        "self": format!("{}/rest/webhooks/1.0/webhook/{}", s.jira_base(), h.id),
        "name": h.name,
        "url": h.url,
        "events": h.events,
        "filters": {"issue-related-events-section": h.jql_filter.clone().unwrap_or_default()},
        "excludeBody": false,
        "enabled": h.enabled,
        "lastUpdated": Utc::now().timestamp_millis(),
    })
}

pub(crate) fn valid_url(u: &str) -> bool {
    reqwest::Url::parse(u).is_ok_and(|x| matches!(x.scheme(), "http" | "https"))
}

pub(crate) async fn dc_webhooks(State(s): State<Arc<Shared>>, headers: HeaderMap) -> JResult {
    authenticate(&s, &headers)?;
    let w = s.read();
    ok(&Value::Array(
        w.jira
            .webhooks
            .iter()
            .map(|h| dc_webhook_json(&s, h))
            .collect(),
    ))
}

pub(crate) async fn dc_webhook(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> JResult {
    authenticate(&s, &headers)?;
    let w = s.read();
    let h = w
        .jira
        .webhooks
        .iter()
        .find(|h| h.id.to_string() == id)
        .ok_or_else(JErr::not_found)?;
    ok(&dc_webhook_json(&s, h))
}

/// An admin webhook as registered or rewritten by `body`.
pub(crate) fn admin_webhook(id: u64, body: &Bytes) -> Result<JiraWebhook, JErr> {
    let b: Value = serde_json::from_slice(body)
        .map_err(|_| JErr::msg(StatusCode::BAD_REQUEST, "Invalid JSON body."))?;
    let url = b.get("url").and_then(Value::as_str).unwrap_or("");
    if !valid_url(url) {
        return Err(JErr::field("url", "The URL is invalid."));
    }
    let events: Vec<String> = b
        .get("events")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let jql_filter = b
        .get("filters")
        .and_then(|f| f.get("issue-related-events-section"))
        .and_then(Value::as_str)
        .filter(|f| !f.trim().is_empty())
        .map(str::to_string);
    if let Some(f) = &jql_filter {
        jql::parse(f).map_err(|e| JErr::field("filters", e.message))?;
    }
    Ok(JiraWebhook {
        id,
        name: b
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("webhook")
            .to_string(),
        url: url.to_string(),
        events,
        jql_filter,
        secret: b.get("secret").and_then(Value::as_str).map(str::to_string),
        enabled: b.get("enabled").and_then(Value::as_bool).unwrap_or(true),
    })
}

pub(crate) async fn dc_register(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> JResult {
    authenticate(&s, &headers)?;
    let mut w = s.write();
    let h = admin_webhook(w.jira.alloc_id(), &body)?;
    w.jira.webhooks.push(h.clone());
    Ok(json_response(
        StatusCode::CREATED,
        &dc_webhook_json(&s, &h),
        HeaderMap::new(),
    ))
}

pub(crate) async fn dc_update(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> JResult {
    authenticate(&s, &headers)?;
    let mut w = s.write();
    let slot = w
        .jira
        .webhooks
        .iter_mut()
        .find(|h| h.id.to_string() == id)
        .ok_or_else(JErr::not_found)?;
    *slot = admin_webhook(slot.id, &body)?;
    let h = slot.clone();
    ok(&dc_webhook_json(&s, &h))
}

pub(crate) async fn dc_unregister(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> JResult {
    authenticate(&s, &headers)?;
    let mut w = s.write();
    let before = w.jira.webhooks.len();
    w.jira.webhooks.retain(|h| h.id.to_string() != id);
    if w.jira.webhooks.len() == before {
        return Err(JErr::not_found());
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(crate) async fn cloud_webhooks(
    State(s): State<Arc<Shared>>,
    Path(ver): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> JResult {
    let _c = ctx(&s, &ver, &headers, q, &[])?;
    let w = s.read();
    let values: Vec<Value> = w
        .jira
        .webhooks
        .iter()
        .map(|h| {
            json!({
                "id": h.id,
                "jqlFilter": h.jql_filter.clone().unwrap_or_default(),
                "events": h.events,
                "expirationDate": (Utc::now() + chrono::Duration::days(30)).timestamp_millis(),
            })
        })
        .collect();
    ok(
        &json!({"maxResults": 100, "startAt": 0, "total": values.len(), "isLast": true, "values": values}),
    )
}

pub(crate) async fn cloud_register(
    State(s): State<Arc<Shared>>,
    Path(ver): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> JResult {
    let c = ctx(&s, &ver, &headers, q, &body)?;
    let b = c.body.clone().unwrap_or_else(|| json!({}));
    let url = b
        .get("url")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if !valid_url(&url) {
        return Err(JErr::field("url", "The URL is invalid."));
    }
    let hooks = b
        .get("webhooks")
        .and_then(Value::as_array)
        .cloned()
        .ok_or_else(|| JErr::field("webhooks", "Webhooks must be specified."))?;
    let secret = b.get("secret").and_then(Value::as_str).map(str::to_string);
    let mut w = s.write();
    let mut results = Vec::new();
    for h in hooks {
        let events: Vec<String> = h
            .get("events")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let jql_filter = h
            .get("jqlFilter")
            .and_then(Value::as_str)
            .map(str::to_string);
        if events.is_empty() {
            results.push(json!({"errors": ["At least one event must be specified."]}));
            continue;
        }
        if let Some(f) = &jql_filter
            && let Err(e) = jql::parse(f)
        {
            results.push(json!({"errors": [e.message]}));
            continue;
        }
        let id = w.jira.alloc_id();
        w.jira.webhooks.push(JiraWebhook {
            id,
            name: format!("webhook-{id}"),
            url: url.clone(),
            events,
            jql_filter,
            secret: secret.clone(),
            enabled: true,
        });
        results.push(json!({"createdWebhookId": id}));
    }
    ok(&json!({"webhookRegistrationResult": results}))
}

pub(crate) async fn cloud_unregister(
    State(s): State<Arc<Shared>>,
    Path(ver): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> JResult {
    let c = ctx(&s, &ver, &headers, q, &body)?;
    let ids: Vec<u64> = c
        .body
        .as_ref()
        .and_then(|b| b.get("webhookIds"))
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_u64).collect())
        .ok_or_else(|| JErr::field("webhookIds", "Webhook IDs must be specified."))?;
    let mut w = s.write();
    w.jira.webhooks.retain(|h| !ids.contains(&h.id));
    Ok(StatusCode::ACCEPTED.into_response())
}
