//! Jira data links: a JQL query and a metric, and the refresh that turns
//! Jira's tickets into item snapshots.
//!
//! A full refresh runs the JQL and replaces membership, so tickets that
//! stopped matching, were deleted or became invisible leave. An incremental
//! refresh runs `(JQL) AND updated >= <epoch milliseconds>`: epoch
//! milliseconds have no time-zone ambiguity (a `yyyy-MM-dd HH:mm` literal
//! would be read in the Jira user's time zone). The tickets it finds are
//! added or refreshed; tickets that stopped matching leave at the next full
//! read.
//!
//! The search asks only for the fields Cairn's Jira metrics read: the
//! ticket's own time fields (never `aggregate*`, see
//! [`cairn_core::goals::jira`]), the story points field and the site's
//! numeric custom fields as known when the link was saved. Items are shared
//! by every link of a connection, so every link reads the same set and no
//! link erases a value another link's metric needs.

use std::collections::HashMap;
use std::sync::Mutex;

use cairn_connect::jira::{JiraIssue, numeric_custom_fields, story_points_field};
use cairn_connect::{ConnectError, JiraAuth, JiraClient, JiraDeployment, JiraSettings};
use cairn_core::goals::{ItemSnapshot, JiraMetric, KpiScope, LinkRule};
use cairn_core::integrations::IntegrationKind;
use cairn_store::Connection;
use cairn_store::goals::{DataLink, LinkFields};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::gitlab_link::Fetched;
use super::{Goals, goal_error};
use crate::accounts::Authenticated;
use crate::error::{EngineError, authorize};

/// Which tickets a Jira link reads, and the site's fields it asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JiraQuery {
    /// The JQL, as typed.
    pub jql: String,
    /// The site's story points field id, detected when the link was saved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub story_points_field: Option<String>,
    /// The site's numeric custom field ids, as known when the link was saved.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub custom_fields: Vec<String>,
}

impl JiraQuery {
    /// The fields a search asks for.
    pub fn search_fields(&self) -> Vec<String> {
        let mut fields: Vec<String> = [
            "summary",
            "status",
            "updated",
            "timespent",
            "timeoriginalestimate",
            "timeestimate",
        ]
        .iter()
        .map(|f| (*f).to_owned())
        .collect();
        for f in self.story_points_field.iter().chain(&self.custom_fields) {
            if !fields.contains(f) {
                fields.push(f.clone());
            }
        }
        fields
    }

    /// The JQL of an incremental read: the filter part of the query (any
    /// `ORDER BY` dropped) and `updated >= <epoch ms>`.
    pub fn updated_since(&self, since: DateTime<Utc>) -> String {
        format!(
            "({}) AND updated >= {}",
            filter_part(&self.jql),
            since.timestamp_millis()
        )
    }
}

/// The JQL without a trailing `ORDER BY` clause (outside quotes).
pub fn filter_part(jql: &str) -> &str {
    let lower = jql.to_ascii_lowercase();
    let bytes = lower.as_bytes();
    let mut quote: Option<u8> = None;
    let mut cut = None;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match quote {
            Some(_) if c == b'\\' => i += 1,
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == b'"' || c == b'\'' => quote = Some(c),
            None if lower[i..].starts_with("order")
                && (i == 0 || bytes[i - 1].is_ascii_whitespace() || bytes[i - 1] == b')') =>
            {
                let rest = lower[i + 5..].trim_start();
                if rest.starts_with("by")
                    && rest[2..].chars().next().is_none_or(|c| c.is_whitespace())
                {
                    cut = Some(i);
                    break;
                }
            }
            None => {}
        }
        i += 1;
    }
    match cut {
        Some(i) => jql[..i].trim(),
        None => jql.trim(),
    }
}

/// What someone asks a key result to read from Jira.
#[derive(Debug, Clone)]
pub struct JiraLinkInput {
    pub connection_id: i64,
    pub jql: String,
    pub metric: JiraMetric,
    /// KPI only: completed tickets only, or all.
    pub scope: Option<KpiScope>,
    /// Seconds between refreshes; at least the configured minimum.
    pub refresh_interval_secs: Option<i64>,
}

/// How many tickets a preview lists.
pub const PREVIEW_TICKETS: u32 = 20;

/// What a JQL query matches, before it is saved.
#[derive(Debug, Clone, Serialize)]
pub struct JqlPreview {
    /// Matches (Data Center's exact total; Cloud's approximate count).
    pub count: u64,
    /// The first 20 tickets.
    pub tickets: Vec<PreviewTicket>,
}

/// One ticket of a preview.
#[derive(Debug, Clone, Serialize)]
pub struct PreviewTicket {
    pub key: String,
    pub summary: String,
    pub status: String,
    pub done: bool,
    pub url: String,
}

/// One Jira client per connection, so its rate limit holds across links.
#[derive(Default)]
pub(crate) struct JiraClientCache {
    clients: Mutex<HashMap<i64, (DateTime<Utc>, JiraClient)>>,
}

/// A Jira ticket as a tracker-neutral snapshot: its own fields only.
pub fn snapshot(base_url: &str, query: &JiraQuery, issue: &JiraIssue) -> ItemSnapshot {
    let f = &issue.fields;
    let url = format!("{}/browse/{}", base_url.trim_end_matches('/'), issue.key);
    let mut item = ItemSnapshot::new(
        issue.key.clone(),
        f.summary.clone().unwrap_or_default(),
        url,
        f.updated.unwrap_or_default(),
    );
    item.state = f
        .status
        .as_ref()
        .map(|s| s.name.clone())
        .unwrap_or_default();
    item.done = issue.is_done();
    item.time_spent_seconds = f.timespent;
    item.original_estimate_seconds = f.timeoriginalestimate;
    item.remaining_estimate_seconds = f.timeestimate;
    item.story_points = query
        .story_points_field
        .as_deref()
        .and_then(|id| f.custom_numbers.get(id));
    item.custom_fields = f.custom_numbers.0.clone();
    item
}

/// The tracker of a stored link's rule (GitLab for an unreadable one).
pub(crate) fn link_tracker(link: &DataLink) -> IntegrationKind {
    serde_json::from_value::<LinkRule>(link.rule.clone())
        .map(|r| r.tracker())
        .unwrap_or(IntegrationKind::Gitlab)
}

fn jql_error(error: ConnectError) -> EngineError {
    match error.status() {
        Some(400) => {
            let messages = error.server_messages();
            let message = if messages.is_empty() {
                "Jira refused this JQL".to_owned()
            } else {
                messages.join(" ")
            };
            EngineError::invalid("jql", message)
        }
        _ => {
            let d = error.diagnosis();
            EngineError::invalid("jql", format!("{} {}", d.summary, d.hint))
        }
    }
}

fn connect_error(field: &str, error: ConnectError) -> EngineError {
    let d = error.diagnosis();
    EngineError::invalid(field, format!("{} {}", d.summary, d.hint))
}

impl Goals {
    /// A client for a Jira connection, cached per connection version.
    pub(crate) fn jira_client(&self, connection: &Connection) -> Result<JiraClient, EngineError> {
        let mut clients = self
            .jira_clients
            .clients
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some((version, client)) = clients.get(&connection.id)
            && *version == connection.updated_at
        {
            return Ok(client.clone());
        }
        let secret = self.keyring.open(&connection.secret)?;
        let auth = match (connection.auth_kind.as_str(), &connection.username) {
            ("basic", Some(email)) => JiraAuth::CloudBasic {
                email: email.clone(),
                api_token: secret,
            },
            _ => JiraAuth::Pat(secret),
        };
        let mut settings = JiraSettings::new(connection.base_url.clone(), auth);
        settings.http = self.settings.http.clone();
        settings.deployment = match connection.flavour.as_deref() {
            Some("cloud") => Some(JiraDeployment::Cloud),
            Some("datacenter") => Some(JiraDeployment::DataCenter),
            _ => None,
        };
        let client = JiraClient::new(&settings).map_err(|e| connect_error("connection_id", e))?;
        clients.insert(connection.id, (connection.updated_at, client.clone()));
        Ok(client)
    }

    /// A usable Jira connection, or 422 `connection_id`.
    pub(crate) async fn usable_jira_connection(
        &self,
        by: &Authenticated,
        connection_id: i64,
    ) -> Result<Connection, EngineError> {
        let connection = self.usable_connection(by, connection_id).await?;
        if connection.kind != IntegrationKind::Jira {
            return Err(EngineError::invalid(
                "connection_id",
                "this is not a Jira connection",
            ));
        }
        Ok(connection)
    }

    /// Links a key result to the tickets a JQL query matches and reads them
    /// at once. Nothing is saved unless Jira accepts the JQL and knows the
    /// metric's field.
    pub async fn set_jira_link(
        &self,
        by: &Authenticated,
        okr_id: i64,
        input: JiraLinkInput,
        now: DateTime<Utc>,
    ) -> Result<DataLink, EngineError> {
        let okr = self.load(okr_id).await?;
        authorize(
            Some(by.actor()),
            cairn_core::authz::Action::ChangeOkr {
                owner_id: okr.fields.owner_id,
            },
        )?;
        if okr.fields.progress_source != cairn_core::goals::ProgressSource::DataLink {
            return Err(EngineError::Conflict {
                field: Some("progress_source".to_owned()),
                message: "set the key result's progress source to data_link first".to_owned(),
            });
        }
        let connection = self.usable_jira_connection(by, input.connection_id).await?;
        let rule = LinkRule::Jira {
            metric: input.metric.clone(),
            scope: input.scope,
        };
        rule.validate(okr.fields.measure.mode())
            .map_err(goal_error)?;
        let min = i64::try_from(self.settings.min_refresh.as_secs()).unwrap_or(60);
        if let Some(every) = input.refresh_interval_secs
            && every < min
        {
            return Err(EngineError::invalid(
                "refresh_interval_secs",
                format!("must be at least {min} seconds"),
            ));
        }
        let jql = input.jql.trim().to_owned();
        if filter_part(&jql).is_empty() {
            return Err(EngineError::invalid("jql", "enter a JQL query"));
        }
        let client = self.jira_client(&connection)?;
        let fields = client
            .fields()
            .await
            .map_err(|e| connect_error("connection_id", e))?;
        let story_points = story_points_field(&fields).map(|f| f.id.clone());
        let custom: Vec<String> = numeric_custom_fields(&fields)
            .into_iter()
            .map(|f| f.id.clone())
            .collect();
        match &input.metric {
            JiraMetric::StoryPoints if story_points.is_none() => {
                return Err(EngineError::invalid(
                    "metric",
                    "this Jira has no story points field",
                ));
            }
            JiraMetric::CustomField(id) if !custom.contains(id) => {
                return Err(EngineError::invalid(
                    "metric",
                    format!("`{id}` is not a numeric custom field of this Jira"),
                ));
            }
            _ => {}
        }
        let query = JiraQuery {
            jql,
            story_points_field: story_points,
            custom_fields: custom,
        };
        // Jira itself validates the JQL.
        client
            .search(&query.jql, &["summary"])
            .page_size(1)
            .next_page()
            .await
            .map_err(jql_error)?;
        let fields = LinkFields {
            connection_id: connection.id,
            rule: serde_json::to_value(&rule)
                .map_err(|e| EngineError::invalid("rule", e.to_string()))?,
            query: serde_json::to_value(&query)
                .map_err(|e| EngineError::invalid("query", e.to_string()))?,
            refresh_interval_secs: input.refresh_interval_secs,
        };
        let mut tx = self.store.begin().await?;
        let link_id = tx.put_link(okr_id, &fields, now).await?;
        tx.append_audit(
            &cairn_store::NewAuditEntry {
                actor: by.user.email.clone(),
                action: "link.set".to_owned(),
                subject: format!("okr:{okr_id}"),
                detail: json!({"connection_id": connection.id, "jql": query.jql, "metric": input.metric.to_string()}),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        // A changed link is read in full and recalculated at once.
        self.refresh_link(link_id, true, now).await?;
        self.store
            .get_link(link_id)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("no link {link_id}")))
    }

    /// Runs a JQL query before it is saved: Jira validates it (its error,
    /// with the position, as a 422 naming `jql`); on success the number of
    /// matches and the first 20 tickets.
    pub async fn preview_jql(
        &self,
        by: &Authenticated,
        connection_id: i64,
        jql: &str,
    ) -> Result<JqlPreview, EngineError> {
        let connection = self.usable_jira_connection(by, connection_id).await?;
        let jql = jql.trim();
        if filter_part(jql).is_empty() {
            return Err(EngineError::invalid("jql", "enter a JQL query"));
        }
        let client = self.jira_client(&connection)?;
        let mut search = client
            .search(jql, &["summary", "status", "updated"])
            .page_size(PREVIEW_TICKETS);
        let page = search.next_page().await.map_err(jql_error)?;
        let page = page.unwrap_or_default();
        let count = match page.total {
            Some(total) => total,
            None if (page.issues.len() as u32) < PREVIEW_TICKETS => page.issues.len() as u64,
            None => client.approximate_count(jql).await.map_err(jql_error)?,
        };
        let tickets = page
            .issues
            .iter()
            .take(PREVIEW_TICKETS as usize)
            .map(|issue| PreviewTicket {
                key: issue.key.clone(),
                summary: issue.fields.summary.clone().unwrap_or_default(),
                status: issue
                    .fields
                    .status
                    .as_ref()
                    .map(|s| s.name.clone())
                    .unwrap_or_default(),
                done: issue.is_done(),
                url: format!(
                    "{}/browse/{}",
                    connection.base_url.trim_end_matches('/'),
                    issue.key
                ),
            })
            .collect();
        Ok(JqlPreview { count, tickets })
    }

    /// Reads a Jira link's tickets: the whole JQL when `full`, else the
    /// tickets updated since the last success (minus the overlap).
    pub(crate) async fn fetch_jira(
        &self,
        connection: &Connection,
        link: &DataLink,
        full: bool,
        now: DateTime<Utc>,
    ) -> Result<Fetched, ConnectError> {
        let query: JiraQuery = serde_json::from_value(link.query.clone())
            .map_err(|e| ConnectError::InvalidInput(format!("query: {e}")))?;
        let jql = if full {
            query.jql.clone()
        } else {
            let since = link.last_success_at.unwrap_or(now)
                - chrono::Duration::from_std(self.settings.overlap).unwrap_or_default();
            query.updated_since(since)
        };
        let (items, api_calls) = self.search_jira(connection, &query, &jql).await?;
        let members = vec![true; items.len()];
        Ok(Fetched {
            items,
            members,
            api_calls,
        })
    }

    /// Runs a JQL search asking for the fields a link's metrics read, and
    /// turns the tickets into snapshots; with the API calls it took.
    pub(crate) async fn search_jira(
        &self,
        connection: &Connection,
        query: &JiraQuery,
        jql: &str,
    ) -> Result<(Vec<ItemSnapshot>, u64), ConnectError> {
        let client = self
            .jira_client(connection)
            .map_err(|e| ConnectError::InvalidInput(e.to_string()))?;
        let calls_before = client.api_calls();
        let fields = query.search_fields();
        let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
        let mut pages = client.search(jql, &fields);
        let mut items = Vec::new();
        while let Some(page) = pages.next_page().await? {
            for issue in page.issues {
                items.push(snapshot(&connection.base_url, query, &issue));
            }
        }
        Ok((items, client.api_calls() - calls_before))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_by_is_dropped_outside_quotes() {
        assert_eq!(filter_part("project = AE ORDER BY rank"), "project = AE");
        assert_eq!(filter_part("project = AE order  by rank"), "project = AE");
        assert_eq!(
            filter_part("summary ~ \"order by\" AND project = AE"),
            "summary ~ \"order by\" AND project = AE"
        );
        assert_eq!(filter_part("ORDER BY created"), "");
        assert_eq!(filter_part(" type = Bug "), "type = Bug");
        assert_eq!(filter_part("ordered = 1"), "ordered = 1");
    }

    #[test]
    fn incremental_jql_uses_epoch_millis() {
        let q = JiraQuery {
            jql: "project = AE ORDER BY rank".into(),
            story_points_field: Some("customfield_10016".into()),
            custom_fields: vec!["customfield_10016".into(), "customfield_1".into()],
        };
        let since = DateTime::from_timestamp_millis(1_700_000_000_123).expect("time");
        assert_eq!(
            q.updated_since(since),
            "(project = AE) AND updated >= 1700000000123"
        );
        let fields = q.search_fields();
        assert_eq!(
            fields.iter().filter(|f| *f == "customfield_10016").count(),
            1
        );
        assert!(fields.contains(&"customfield_1".to_owned()));
        assert!(!fields.iter().any(|f| f.starts_with("aggregate")));
    }
}
