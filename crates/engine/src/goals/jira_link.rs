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
//! The search asks only for the fields the metrics read. Items are shared
//! by every link of a connection, so a read asks for the fields every Jira
//! link of the connection needs (see [`Goals::connection_fields`]): no link
//! erases a value another link's metric reads, and no field nobody measures
//! is fetched. Time comes from the ticket's own fields, never `aggregate*`
//! (see [`cairn_core::goals::jira`]).

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
use crate::error::EngineError;

/// Which tickets a Jira link reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JiraQuery {
    /// The JQL, as typed.
    pub jql: String,
    /// The site's story points field id, detected when the link was saved
    /// (a connection's own choice, when set, wins).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub story_points_field: Option<String>,
}

/// The fields every read asks for: what the explanation shows, whether a
/// ticket is done, and since when it exists and is done (for a history
/// reconstructed from them).
const BASE_FIELDS: [&str; 5] = [
    "summary",
    "status",
    "updated",
    "created",
    "statuscategorychangedate",
];

/// The Jira fields `metric` reads, beyond [`BASE_FIELDS`].
pub fn metric_fields(metric: &JiraMetric, story_points_field: Option<&str>) -> Vec<String> {
    let fields: Vec<&str> = match metric {
        JiraMetric::Count => vec![],
        JiraMetric::TimeSpent => vec!["timespent"],
        JiraMetric::OriginalEstimate => vec!["timeoriginalestimate"],
        JiraMetric::RemainingEstimate => vec!["timeestimate"],
        JiraMetric::Progress => vec!["timespent", "timeestimate"],
        JiraMetric::StoryPoints => story_points_field.into_iter().collect(),
        JiraMetric::CustomField(id) => vec![id.as_str()],
    };
    fields.into_iter().map(str::to_owned).collect()
}

/// The fields a search asks for: the base fields and what `metrics` read.
pub fn search_fields<'a>(
    metrics: impl IntoIterator<Item = &'a JiraMetric>,
    story_points_field: Option<&str>,
) -> Vec<String> {
    let mut fields: Vec<String> = BASE_FIELDS.iter().map(|f| (*f).to_owned()).collect();
    for metric in metrics {
        for f in metric_fields(metric, story_points_field) {
            if !fields.contains(&f) {
                fields.push(f);
            }
        }
    }
    fields
}

impl JiraQuery {
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
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct JqlPreview {
    /// Matches (Data Center's exact total; Cloud's approximate count).
    pub count: u64,
    /// The first 20 tickets.
    pub tickets: Vec<PreviewTicket>,
}

/// One ticket of a preview.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PreviewTicket {
    pub key: String,
    pub summary: String,
    pub status: String,
    pub done: bool,
    pub url: String,
}

/// A Jira field offered by name.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FieldChoice {
    pub id: String,
    pub name: String,
}

/// A metric someone can choose for a Jira link.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MetricChoice {
    /// As the link's `metric` spells it.
    pub metric: String,
    pub label: String,
    /// Refused with percent complete.
    pub kpi_only: bool,
}

/// Where a connection's story points field comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StoryPointsSource {
    /// Chosen on the connection.
    Connection,
    /// Jira Software's story points type, or a number field so named.
    Detected,
    /// Neither: the story points metric is not offered.
    None,
}

/// What a Jira link on this connection can measure, for pickers.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct JiraFieldChoices {
    pub story_points_field: Option<FieldChoice>,
    pub story_points_source: StoryPointsSource,
    /// Every numeric custom field (schema type `number`), by name.
    pub numeric_fields: Vec<FieldChoice>,
    pub metrics: Vec<MetricChoice>,
}

fn metric_label(metric: &JiraMetric) -> &'static str {
    match metric {
        JiraMetric::Count => "Count of tickets",
        JiraMetric::TimeSpent => "Time spent",
        JiraMetric::OriginalEstimate => "Original estimate",
        JiraMetric::RemainingEstimate => "Remaining estimate",
        JiraMetric::Progress => "Progress (time logged / total time)",
        JiraMetric::StoryPoints => "Story points",
        JiraMetric::CustomField(_) => "Custom field",
    }
}

/// One Jira client per connection, so its rate limit holds across links.
#[derive(Default)]
pub(crate) struct JiraClientCache {
    clients: Mutex<HashMap<i64, (DateTime<Utc>, JiraClient)>>,
}

/// A Jira ticket as a tracker-neutral snapshot: its own fields only.
pub fn snapshot(
    base_url: &str,
    story_points_field: Option<&str>,
    issue: &JiraIssue,
) -> ItemSnapshot {
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
    item.story_points = story_points_field.and_then(|id| f.custom_numbers.get(id));
    item.custom_fields = f.custom_numbers.0.clone();
    item.created_at = f.created;
    // Done since its status category last changed (into done).
    item.done_at = item
        .done
        .then(|| f.statuscategorychangedate.or(f.updated))
        .flatten();
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
        let okr = self.load_to_change(by, okr_id).await?;
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
        match &input.metric {
            JiraMetric::StoryPoints
                if story_points.is_none() && connection.story_points_field.is_none() =>
            {
                return Err(EngineError::invalid(
                    "metric",
                    "this Jira has no story points field; choose one on the connection",
                ));
            }
            JiraMetric::CustomField(id)
                if !numeric_custom_fields(&fields).iter().any(|f| &f.id == id) =>
            {
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
        let detail = json!({"connection_id": connection.id, "jql": query.jql, "metric": input.metric.to_string()});
        self.save_link_and_read(by, okr_id, &fields, detail, now)
            .await
    }

    /// The metrics and fields a Jira link on this connection can use, read
    /// from the site's `/field` list.
    pub async fn jira_fields(
        &self,
        by: &Authenticated,
        connection_id: i64,
    ) -> Result<JiraFieldChoices, EngineError> {
        let connection = self.usable_jira_connection(by, connection_id).await?;
        let fields = self
            .jira_client(&connection)?
            .fields()
            .await
            .map_err(|e| EngineError::Upstream(e.diagnosis()))?;
        let choice = |f: &cairn_connect::jira::JiraField| FieldChoice {
            id: f.id.clone(),
            name: f.name.clone(),
        };
        let numeric_fields: Vec<FieldChoice> = numeric_custom_fields(&fields)
            .into_iter()
            .map(choice)
            .collect();
        let (story_points_field, story_points_source) = match &connection.story_points_field {
            Some(id) => (
                Some(FieldChoice {
                    id: id.clone(),
                    name: fields
                        .iter()
                        .find(|f| &f.id == id)
                        .map(|f| f.name.clone())
                        .unwrap_or_else(|| id.clone()),
                }),
                StoryPointsSource::Connection,
            ),
            None => match story_points_field(&fields) {
                Some(f) => (Some(choice(f)), StoryPointsSource::Detected),
                None => (None, StoryPointsSource::None),
            },
        };
        let mut metrics: Vec<MetricChoice> = JiraMetric::BUILT_IN
            .iter()
            .filter(|m| **m != JiraMetric::StoryPoints || story_points_field.is_some())
            .map(|m| MetricChoice {
                metric: m.to_string(),
                label: metric_label(m).to_owned(),
                kpi_only: !m.allowed_with(cairn_core::goals::MeasureMode::PercentComplete),
            })
            .collect();
        metrics.extend(numeric_fields.iter().map(|f| MetricChoice {
            metric: JiraMetric::CustomField(f.id.clone()).to_string(),
            label: f.name.clone(),
            kpi_only: false,
        }));
        Ok(JiraFieldChoices {
            story_points_field,
            story_points_source,
            numeric_fields,
            metrics,
        })
    }

    /// Chooses a Jira connection's story points field (`None` returns to
    /// detection). The field must be one of the site's numeric custom
    /// fields; links read it from their next refresh on.
    pub async fn set_story_points_field(
        &self,
        by: &Authenticated,
        connection_id: i64,
        field: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<JiraFieldChoices, EngineError> {
        let connections =
            crate::connections::Connections::new(self.store.clone(), self.keyring.clone());
        let connection = connections
            .load(by, connection_id, cairn_core::authz::ConnectionOp::Edit)
            .await?;
        if connection.kind != IntegrationKind::Jira {
            return Err(EngineError::invalid(
                "story_points_field",
                "only a Jira connection has a story points field",
            ));
        }
        let field = field.map(|f| f.trim().to_owned()).filter(|f| !f.is_empty());
        if let Some(id) = &field {
            let fields = self
                .jira_client(&connection)?
                .fields()
                .await
                .map_err(|e| connect_error("story_points_field", e))?;
            if !numeric_custom_fields(&fields).iter().any(|f| &f.id == id) {
                return Err(EngineError::invalid(
                    "story_points_field",
                    format!("`{id}` is not a numeric custom field of this Jira"),
                ));
            }
        }
        let mut tx = self.store.begin().await?;
        tx.update_connection(
            connection_id,
            &cairn_store::ConnectionUpdate {
                story_points_field: Some(field.clone()),
                ..Default::default()
            },
            now,
        )
        .await?;
        tx.append_audit(
            &cairn_store::NewAuditEntry {
                actor: by.user.email.clone(),
                action: "connection.story_points_field".to_owned(),
                subject: format!("connection:{connection_id}"),
                detail: json!({"story_points_field": field}),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        // Items keep the points they were read with: read the links that
        // measure story points in full, now.
        for link in self.store.links_for_connection(connection_id).await? {
            if let Ok(LinkRule::Jira {
                metric: JiraMetric::StoryPoints,
                ..
            }) = serde_json::from_value::<LinkRule>(link.rule.clone())
            {
                self.read_at_once(link.id, true, now).await?;
            }
        }
        self.jira_fields(by, connection_id).await
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

    /// The fields a read through this connection asks for: what the metrics
    /// of all its Jira links read, since their items are shared.
    async fn connection_fields(
        &self,
        connection_id: i64,
        story_points_field: Option<&str>,
    ) -> Result<Vec<String>, EngineError> {
        let links = self.store.links_for_connection(connection_id).await?;
        let metrics: Vec<JiraMetric> = links
            .iter()
            .filter_map(
                |l| match serde_json::from_value::<LinkRule>(l.rule.clone()) {
                    Ok(LinkRule::Jira { metric, .. }) => Some(metric),
                    _ => None,
                },
            )
            .collect();
        Ok(search_fields(&metrics, story_points_field))
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
        let story_points = connection
            .story_points_field
            .as_deref()
            .or(query.story_points_field.as_deref());
        let fields = self
            .connection_fields(connection.id, story_points)
            .await
            .map_err(|e| ConnectError::InvalidInput(e.to_string()))?;
        let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
        let mut pages = client.search(jql, &fields);
        let mut items = Vec::new();
        while let Some(page) = pages.next_page().await? {
            for issue in page.issues {
                items.push(snapshot(&connection.base_url, story_points, &issue));
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
        };
        let since = DateTime::from_timestamp_millis(1_700_000_000_123).expect("time");
        assert_eq!(
            q.updated_since(since),
            "(project = AE) AND updated >= 1700000000123"
        );
    }

    #[test]
    fn a_search_asks_only_for_the_fields_the_metrics_read() {
        let sp = Some("customfield_10016");
        assert_eq!(
            search_fields(&[JiraMetric::Count], sp),
            [
                "summary",
                "status",
                "updated",
                "created",
                "statuscategorychangedate"
            ]
        );
        let fields = search_fields(
            &[
                JiraMetric::Progress,
                JiraMetric::TimeSpent,
                JiraMetric::StoryPoints,
                JiraMetric::CustomField("customfield_1".into()),
            ],
            sp,
        );
        assert_eq!(
            fields,
            [
                "summary",
                "status",
                "updated",
                "created",
                "statuscategorychangedate",
                "timespent",
                "timeestimate",
                "customfield_10016",
                "customfield_1"
            ]
        );
        assert!(!fields.iter().any(|f| f.starts_with("aggregate")));
        assert_eq!(search_fields(&[JiraMetric::StoryPoints], None).len(), 5);
    }
}
