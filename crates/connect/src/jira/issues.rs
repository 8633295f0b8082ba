//! Issue writes and the reads two-way sync needs: issues with their entity
//! properties and offered transitions, creates that carry a property in
//! the same call, edits, transitions with the fields their screens
//! require, and a project's statuses and issue types.

use reqwest::Method;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{IssueTypeStatuses, JiraClient, JiraIssue, JiraProject};
use crate::error::ConnectError;
use crate::http::Req;

/// A created issue's id and key.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CreatedIssue {
    pub id: String,
    pub key: String,
    #[serde(default, rename = "self")]
    pub self_url: Option<String>,
}

impl JiraClient {
    /// `GET .../issue/{idOrKey}` with `fields`, the entity `properties`
    /// named, and, when `transitions` is set, the transitions offered now
    /// with their screens' fields (one call instead of two).
    pub async fn issue_with(
        &self,
        id_or_key: &str,
        fields: &[&str],
        properties: &[&str],
        transitions: bool,
    ) -> Result<JiraIssue, ConnectError> {
        let mut url = self.api(&["issue", id_or_key]).await?;
        {
            let mut q = url.query_pairs_mut();
            if !fields.is_empty() {
                q.append_pair("fields", &fields.join(","));
            }
            if !properties.is_empty() {
                q.append_pair("properties", &properties.join(","));
            }
            if transitions {
                q.append_pair("expand", "transitions");
            }
        }
        let mut issue: JiraIssue = self.http.json(Req::get(url)).await?;
        if transitions && issue.transitions.iter().all(|t| t.fields.is_empty()) {
            // `expand=transitions` leaves out the screens' fields; ask for
            // them only when a transition may need them.
            issue.transitions = self.transitions_with_fields(id_or_key).await?;
        }
        Ok(issue)
    }

    /// `GET .../issue/{key}/transitions?expand=transitions.fields`.
    pub async fn transitions_with_fields(
        &self,
        id_or_key: &str,
    ) -> Result<Vec<super::JiraTransition>, ConnectError> {
        #[derive(Deserialize)]
        struct Answer {
            #[serde(default)]
            transitions: Vec<super::JiraTransition>,
        }
        let mut url = self.api(&["issue", id_or_key, "transitions"]).await?;
        url.query_pairs_mut()
            .append_pair("expand", "transitions.fields");
        let answer: Answer = self.http.json(Req::get(url)).await?;
        Ok(answer.transitions)
    }

    /// `POST .../issue`: creates an issue with `fields` (description as
    /// ADF on Cloud, wiki markup on Data Center: the caller converts) and
    /// entity `properties`, set in the same call so the issue never exists
    /// without them. Not retried by the client: a create is not idempotent.
    pub async fn create_issue(
        &self,
        fields: Map<String, Value>,
        properties: &[(&str, Value)],
    ) -> Result<CreatedIssue, ConnectError> {
        let url = self.api(&["issue"]).await?;
        let mut body = json!({ "fields": Value::Object(fields) });
        if !properties.is_empty()
            && let Some(obj) = body.as_object_mut()
        {
            let props: Vec<Value> = properties
                .iter()
                .map(|(k, v)| json!({ "key": k, "value": v }))
                .collect();
            obj.insert("properties".into(), Value::Array(props));
        }
        self.http
            .json(Req::with_body(Method::POST, url, body))
            .await
    }

    /// `PUT .../issue/{idOrKey}`: sets `fields` (idempotent).
    pub async fn edit_issue(
        &self,
        id_or_key: &str,
        fields: Map<String, Value>,
    ) -> Result<(), ConnectError> {
        let url = self.api(&["issue", id_or_key]).await?;
        let body = json!({ "fields": Value::Object(fields) });
        self.http
            .execute(Req::with_body(Method::PUT, url, body).idempotent())
            .await
            .map(|_| ())
    }

    /// `POST .../issue/{idOrKey}/transitions` with the fields the
    /// transition's screen requires (e.g. `{"resolution": {"name": "Done"}}`).
    pub async fn transition_with_fields(
        &self,
        id_or_key: &str,
        transition_id: &str,
        fields: Map<String, Value>,
    ) -> Result<(), ConnectError> {
        let url = self.api(&["issue", id_or_key, "transitions"]).await?;
        let mut body = json!({ "transition": { "id": transition_id } });
        if !fields.is_empty()
            && let Some(obj) = body.as_object_mut()
        {
            obj.insert("fields".into(), Value::Object(fields));
        }
        self.http
            .execute(Req::with_body(Method::POST, url, body))
            .await
            .map(|_| ())
    }

    /// `GET .../project/{key}`: the project with its issue types.
    pub async fn project(&self, key: &str) -> Result<JiraProject, ConnectError> {
        let url = self.api(&["project", key]).await?;
        self.http.json(Req::get(url)).await
    }

    /// `GET .../project/{key}/statuses`: each issue type's statuses.
    pub async fn project_statuses(
        &self,
        key: &str,
    ) -> Result<Vec<IssueTypeStatuses>, ConnectError> {
        let url = self.api(&["project", key, "statuses"]).await?;
        self.http.json(Req::get(url)).await
    }
}
