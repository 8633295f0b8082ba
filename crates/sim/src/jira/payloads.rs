//! Webhook payloads Jira sends and their delivery to registered webhooks
//! (with their JQL filters and HMAC signatures).

use super::base::*;
use super::search::compile_jql;
use super::views::*;
use crate::Shared;
use crate::faults::Service;
use crate::hooks::Delivery;
use crate::model::*;
use chrono::Utc;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

#[allow(clippy::too_many_arguments)]
pub(crate) fn emit_issue_event(
    s: &Shared,
    jira: &mut Jira,
    idx: usize,
    actor: &str,
    event: &str,
    type_name: &str,
    items: Option<Vec<Value>>,
    comment: Option<Value>,
) {
    if jira.webhooks.is_empty() {
        return;
    }
    let changelog_id = jira.alloc_id();
    let sel = FieldSel::Some {
        all: true,
        navigable: false,
        include: vec![],
        exclude: vec![],
    };
    let mut payload = json!({
        "timestamp": Utc::now().timestamp_millis(),
        "webhookEvent": event,
        "issue_event_type_name": type_name,
        "user": user_json(s, Ver::V2, jira, actor),
        "issue": issue_json(s, Ver::V2, jira, idx, &sel),
    });
    if let Some(items) = items
        && !items.is_empty()
    {
        payload["changelog"] = json!({"id": changelog_id.to_string(), "items": items});
    }
    if let Some(c) = comment {
        payload["comment"] = c;
    }
    deliver(s, jira, idx, event, &payload);
}

/// Delivers an issue event to every enabled webhook subscribed to it whose
/// JQL filter matches the issue.
pub(crate) fn deliver(s: &Shared, jira: &Jira, idx: usize, event: &str, payload: &Value) {
    let order_key = jira
        .issues
        .get(idx)
        .map(|i| i.project.clone())
        .unwrap_or_default();
    deliver_with(s, jira, Some(idx), order_key, event, payload);
}

/// Delivers an event about a project (a version): JQL filters do not apply.
pub(crate) fn deliver_project(
    s: &Shared,
    jira: &Jira,
    project: &str,
    event: &str,
    payload: &Value,
) {
    deliver_with(s, jira, None, project.to_string(), event, payload);
}

fn deliver_with(
    s: &Shared,
    jira: &Jira,
    idx: Option<usize>,
    order_key: String,
    event: &str,
    payload: &Value,
) {
    let body = serde_json::to_vec(payload).unwrap_or_default();
    let account = jira
        .users
        .first()
        .map(|u| u.account_id.clone())
        .unwrap_or_default();
    for h in jira.webhooks.iter().filter(|h| h.enabled) {
        if !h.events.is_empty() && !h.events.iter().any(|e| e == event) {
            continue;
        }
        if let (Some(f), Some(idx)) = (&h.jql_filter, idx) {
            let Ok(c) = compile_jql(jira, f, &account) else {
                continue;
            };
            let Some(issue) = jira.issues.get(idx) else {
                continue;
            };
            if !c.matches(jira, issue) {
                continue;
            }
        }
        let mut headers = vec![
            (
                "Content-Type".to_string(),
                "application/json; charset=utf-8".to_string(),
            ),
            (
                "User-Agent".to_string(),
                "Atlassian Webhook HTTP Client".to_string(),
            ),
            (
                "X-Atlassian-Webhook-Identifier".to_string(),
                uuid::Uuid::new_v4().to_string(),
            ),
            ("X-Atlassian-Webhook-Retry".to_string(), "0".to_string()),
        ];
        if let Some(secret) = &h.secret
            && let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        {
            mac.update(&body);
            let sig = hex::encode(mac.finalize().into_bytes());
            headers.push(("X-Hub-Signature".to_string(), format!("sha256={sig}")));
        }
        s.hooks.enqueue(Delivery {
            service: Service::Jira,
            event: event.to_string(),
            url: h.url.clone(),
            headers,
            body: body.clone(),
            order_key: order_key.clone(),
        });
    }
}
