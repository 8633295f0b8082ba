//! Jira webhook payloads (v2 representation): `jira:issue_created`,
//! `jira:issue_updated` (with its changelog), `jira:issue_deleted`,
//! `comment_*` and `worklog_*`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::WebhookError;
pub use crate::jira::{JiraComment, JiraWorklog};
use crate::jira::{JiraIssue, JiraUser};

/// One changed field of an issue update.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangelogItem {
    /// Field name, e.g. `status`, `timespent`, `Story Points`.
    #[serde(default)]
    pub field: String,
    /// `jira` or `custom`.
    #[serde(default)]
    pub fieldtype: Option<String>,
    /// Field id (newer payloads), e.g. `status` or `customfield_10016`.
    #[serde(default)]
    pub field_id: Option<String>,
    /// Raw value before (an id for statuses).
    #[serde(default, deserialize_with = "crate::de::scalar_string")]
    pub from: Option<String>,
    /// Display value before.
    #[serde(default, deserialize_with = "crate::de::scalar_string")]
    pub from_string: Option<String>,
    /// Raw value after.
    #[serde(default, deserialize_with = "crate::de::scalar_string")]
    pub to: Option<String>,
    /// Display value after.
    #[serde(
        default,
        rename = "toString",
        deserialize_with = "crate::de::scalar_string"
    )]
    pub to_string: Option<String>,
}

/// The changes of an issue update.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Changelog {
    /// Id.
    #[serde(default, deserialize_with = "crate::de::scalar_string")]
    pub id: Option<String>,
    /// Changed fields.
    #[serde(default, deserialize_with = "crate::de::null_default")]
    pub items: Vec<ChangelogItem>,
}

/// What a Jira webhook is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JiraEventKind {
    /// `jira:issue_created`.
    IssueCreated,
    /// `jira:issue_updated`.
    IssueUpdated,
    /// `jira:issue_deleted`.
    IssueDeleted,
    /// `comment_created`.
    CommentCreated,
    /// `comment_updated`.
    CommentUpdated,
    /// `comment_deleted`.
    CommentDeleted,
    /// `worklog_created`.
    WorklogCreated,
    /// `worklog_updated` (also `jira:worklog_updated`).
    WorklogUpdated,
    /// `worklog_deleted`.
    WorklogDeleted,
    /// Anything else (attachments, projects, unknown).
    Other,
}

/// A Jira webhook delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JiraWebhook {
    /// Epoch milliseconds.
    #[serde(default)]
    pub timestamp: Option<i64>,
    /// e.g. `jira:issue_updated`.
    pub webhook_event: String,
    /// e.g. `issue_generic`, `issue_work_logged`.
    #[serde(default, rename = "issue_event_type_name")]
    pub issue_event_type_name: Option<String>,
    /// Who acted.
    #[serde(default)]
    pub user: Option<JiraUser>,
    /// The issue (partial for comment events; absent for worklog events).
    #[serde(default)]
    pub issue: Option<JiraIssue>,
    /// Changed fields of an update.
    #[serde(default)]
    pub changelog: Option<Changelog>,
    /// The comment of a comment event.
    #[serde(default)]
    pub comment: Option<JiraComment>,
    /// The worklog of a worklog event.
    #[serde(default)]
    pub worklog: Option<JiraWorklog>,
}

impl JiraWebhook {
    /// The event kind.
    pub fn kind(&self) -> JiraEventKind {
        let event = self
            .webhook_event
            .strip_prefix("jira:")
            .unwrap_or(&self.webhook_event);
        match event {
            "issue_created" => JiraEventKind::IssueCreated,
            "issue_updated" => JiraEventKind::IssueUpdated,
            "issue_deleted" => JiraEventKind::IssueDeleted,
            "comment_created" => JiraEventKind::CommentCreated,
            "comment_updated" => JiraEventKind::CommentUpdated,
            "comment_deleted" => JiraEventKind::CommentDeleted,
            "worklog_created" => JiraEventKind::WorklogCreated,
            "worklog_updated" => JiraEventKind::WorklogUpdated,
            "worklog_deleted" => JiraEventKind::WorklogDeleted,
            _ => JiraEventKind::Other,
        }
    }

    /// The issue key, when the payload names one.
    pub fn issue_key(&self) -> Option<&str> {
        self.issue
            .as_ref()
            .map(|i| i.key.as_str())
            .filter(|k| !k.is_empty())
    }

    /// The changelog item of a field (by id or name, case-insensitive).
    pub fn change(&self, field: &str) -> Option<&ChangelogItem> {
        self.changelog.as_ref()?.items.iter().find(|i| {
            i.field.eq_ignore_ascii_case(field)
                || i.field_id
                    .as_deref()
                    .is_some_and(|f| f.eq_ignore_ascii_case(field))
        })
    }
}

/// The event of an older Jira Server delivery without `webhookEvent`: a
/// workflow post-function's, with a top-level `transition` and the issue.
/// The issue changed (its status, at least), and Cairn reads its data back
/// through the API by its key anyway.
pub const SERVER_TRANSITION_EVENT: &str = "jira:issue_updated";

/// Parses a Jira webhook body. A Server-format transition delivery (no
/// `webhookEvent`, a top-level `transition` object, an `issue.key`) is read
/// as an issue update of that key.
pub fn parse_jira_webhook(body: &[u8]) -> Result<JiraWebhook, WebhookError> {
    let mut value: Value =
        serde_json::from_slice(body).map_err(|e| WebhookError::NotJson(e.to_string()))?;
    let is_server_transition = value.get("webhookEvent").is_none()
        && value.get("transition").is_some_and(Value::is_object)
        && value
            .pointer("/issue/key")
            .and_then(Value::as_str)
            .is_some_and(|k| !k.is_empty());
    if is_server_transition && let Some(object) = value.as_object_mut() {
        // The transition's comment is text here, not a comment object.
        if object.get("comment").is_some_and(Value::is_string) {
            object.remove("comment");
        }
        object.insert(
            "webhookEvent".to_owned(),
            Value::from(SERVER_TRANSITION_EVENT),
        );
    }
    let event = value
        .get("webhookEvent")
        .and_then(Value::as_str)
        .ok_or(WebhookError::Missing("webhookEvent"))?
        .to_string();
    serde_json::from_value(value).map_err(|e| WebhookError::Shape {
        kind: event,
        detail: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_transition_delivery_is_an_update_of_its_issue() {
        let body = br#"{"timestamp":1733500000000,
            "transition":{"workflowId":1,"workflowName":"Software Simplified Workflow",
              "transitionId":31,"transitionName":"Done","from_status":"In Progress","to_status":"Done"},
            "comment":"",
            "user":{"name":"admin","displayName":"Admin"},
            "issue":{"id":"10001","key":"OPS-7","fields":{"summary":"x"}}}"#;
        let hook = parse_jira_webhook(body).expect("read");
        assert_eq!(hook.kind(), JiraEventKind::IssueUpdated);
        assert_eq!(hook.issue_key(), Some("OPS-7"));
        // Without a transition or a key it stays unreadable.
        for body in [
            br#"{"issue":{"key":"OPS-7"}}"#.as_slice(),
            br#"{"transition":{"transitionName":"Done"},"issue":{"id":"1"}}"#,
            br#"{"transition":"Done","issue":{"key":"OPS-7"}}"#,
        ] {
            assert!(
                matches!(
                    parse_jira_webhook(body),
                    Err(WebhookError::Missing("webhookEvent"))
                ),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
