//! Jira REST JSON shapes Cairn reads (v2 and v3; the fields that matter for
//! metrics are the same in both). Everything not always present is optional.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// A Jira user (Cloud has `accountId`; Data Center `name` and `key`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JiraUser {
    /// Cloud account id.
    #[serde(default)]
    pub account_id: Option<String>,
    /// Data Center user name.
    #[serde(default)]
    pub name: Option<String>,
    /// Data Center user key.
    #[serde(default)]
    pub key: Option<String>,
    /// Display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Email (may be hidden by privacy settings).
    #[serde(default)]
    pub email_address: Option<String>,
    /// Active account.
    #[serde(default)]
    pub active: Option<bool>,
    /// Time zone, e.g. `Europe/Berlin`.
    #[serde(default)]
    pub time_zone: Option<String>,
}

impl JiraUser {
    /// The id to refer to this user by: `accountId` on Cloud, else `name` or `key`.
    pub fn id(&self) -> Option<&str> {
        self.account_id
            .as_deref()
            .or(self.name.as_deref())
            .or(self.key.as_deref())
    }
}

/// `GET /rest/api/2/serverInfo`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerInfo {
    /// The site's own idea of its base URL.
    #[serde(default)]
    pub base_url: Option<String>,
    /// e.g. `10.3.0` or `1001.0.0-SNAPSHOT`.
    #[serde(default)]
    pub version: String,
    /// e.g. `[10, 3, 0]`.
    #[serde(default)]
    pub version_numbers: Vec<u32>,
    /// `Cloud`, `Server` or `DataCenter`.
    #[serde(default)]
    pub deployment_type: Option<String>,
    /// Build number.
    #[serde(default)]
    pub build_number: Option<u64>,
    /// The site's title.
    #[serde(default)]
    pub server_title: Option<String>,
}

/// A field's type (`GET /rest/api/3/field`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldSchema {
    /// `number`, `string`, `array`, `option`, ...
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// System field name, e.g. `timespent`.
    #[serde(default)]
    pub system: Option<String>,
    /// Custom field type, e.g. `com.pyxis.greenhopper.jira:jsw-story-points`.
    #[serde(default)]
    pub custom: Option<String>,
    /// Numeric id of a custom field.
    #[serde(default)]
    pub custom_id: Option<u64>,
}

/// A field definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JiraField {
    /// e.g. `customfield_10016` or `summary`.
    pub id: String,
    /// Field key.
    #[serde(default)]
    pub key: Option<String>,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// Custom field.
    #[serde(default)]
    pub custom: bool,
    /// JQL names.
    #[serde(default)]
    pub clause_names: Vec<String>,
    /// Type.
    #[serde(default)]
    pub schema: Option<FieldSchema>,
}

/// The custom field type of Jira Software's story points.
pub const STORY_POINTS_TYPE: &str = "com.pyxis.greenhopper.jira:jsw-story-points";

impl JiraField {
    /// A custom field holding a number.
    pub fn is_numeric_custom(&self) -> bool {
        self.custom
            && self
                .schema
                .as_ref()
                .and_then(|s| s.kind.as_deref())
                .is_some_and(|k| k == "number")
    }

    /// Jira Software's story points field (or a classic number field named like it).
    pub fn is_story_points(&self) -> bool {
        let schema_custom = self.schema.as_ref().and_then(|s| s.custom.as_deref());
        if schema_custom == Some(STORY_POINTS_TYPE) {
            return true;
        }
        let name = self.name.trim().to_ascii_lowercase();
        self.is_numeric_custom() && (name == "story points" || name == "story point estimate")
    }
}

/// The story points field of a site, if it has one: the Jira Software type
/// first, then a number field named "Story Points" / "Story point estimate".
pub fn story_points_field(fields: &[JiraField]) -> Option<&JiraField> {
    fields
        .iter()
        .find(|f| f.schema.as_ref().and_then(|s| s.custom.as_deref()) == Some(STORY_POINTS_TYPE))
        .or_else(|| fields.iter().find(|f| f.is_story_points()))
}

/// Every numeric custom field (candidates for a "numeric custom field" metric).
pub fn numeric_custom_fields(fields: &[JiraField]) -> Vec<&JiraField> {
    fields.iter().filter(|f| f.is_numeric_custom()).collect()
}

/// A status category: `new`, `indeterminate`, `done`, `undefined`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusCategory {
    /// Id.
    #[serde(default)]
    pub id: Option<u64>,
    /// `new`, `indeterminate`, `done`, `undefined`.
    #[serde(default)]
    pub key: String,
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// Colour name.
    #[serde(default)]
    pub color_name: Option<String>,
}

/// An issue status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JiraStatus {
    /// Id.
    #[serde(default)]
    pub id: Option<String>,
    /// Display name, e.g. `In Progress`.
    #[serde(default)]
    pub name: String,
    /// Category (what "done" means).
    #[serde(default)]
    pub status_category: Option<StatusCategory>,
}

impl JiraStatus {
    /// Done means the status category `done`, whatever the resolution.
    pub fn is_done(&self) -> bool {
        self.status_category
            .as_ref()
            .is_some_and(|c| c.key == "done")
    }
}

/// An issue type.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JiraIssueType {
    /// Id.
    #[serde(default)]
    pub id: Option<String>,
    /// e.g. `Story`, `Sub-task`.
    #[serde(default)]
    pub name: String,
    /// Sub-task type.
    #[serde(default)]
    pub subtask: bool,
}

/// A reference to another issue (parent, subtask).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssueRef {
    /// Id.
    #[serde(default)]
    pub id: Option<String>,
    /// Key, e.g. `PROJ-123`.
    #[serde(default)]
    pub key: Option<String>,
}

/// A project reference.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JiraProjectRef {
    /// Id.
    #[serde(default)]
    pub id: Option<String>,
    /// Key, e.g. `PROJ`.
    #[serde(default)]
    pub key: Option<String>,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
}

/// Logged against total time, in seconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// Seconds logged.
    #[serde(default)]
    pub progress: i64,
    /// Seconds logged plus remaining.
    #[serde(default)]
    pub total: i64,
    /// Only when `total` > 0.
    #[serde(default)]
    pub percent: Option<f64>,
}

/// Numeric custom fields of an issue (`customfield_*` with a number value).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(transparent)]
pub struct CustomNumbers(pub BTreeMap<String, f64>);

impl<'de> Deserialize<'de> for CustomNumbers {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let all = BTreeMap::<String, Value>::deserialize(d)?;
        Ok(CustomNumbers(
            all.into_iter()
                .filter(|(k, _)| k.starts_with("customfield_"))
                .filter_map(|(k, v)| v.as_f64().map(|n| (k, n)))
                .collect(),
        ))
    }
}

impl CustomNumbers {
    /// The value of one custom field.
    pub fn get(&self, field_id: &str) -> Option<f64> {
        self.0.get(field_id).copied()
    }
}

/// The issue fields that matter for Cairn's metrics and sync.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JiraIssueFields {
    /// Title.
    #[serde(default)]
    pub summary: Option<String>,
    /// Status and its category.
    #[serde(default)]
    pub status: Option<JiraStatus>,
    /// Type.
    #[serde(default)]
    pub issuetype: Option<JiraIssueType>,
    /// Parent (sub-tasks, and issues under an epic on newer sites).
    #[serde(default)]
    pub parent: Option<IssueRef>,
    /// Project.
    #[serde(default)]
    pub project: Option<JiraProjectRef>,
    /// Seconds logged on the issue.
    #[serde(default)]
    pub timespent: Option<i64>,
    /// Original estimate in seconds.
    #[serde(default)]
    pub timeoriginalestimate: Option<i64>,
    /// Remaining estimate in seconds.
    #[serde(default)]
    pub timeestimate: Option<i64>,
    /// Seconds logged on the issue and its sub-tasks.
    #[serde(default)]
    pub aggregatetimespent: Option<i64>,
    /// Original estimate of the issue and its sub-tasks.
    #[serde(default)]
    pub aggregatetimeoriginalestimate: Option<i64>,
    /// Remaining estimate of the issue and its sub-tasks.
    #[serde(default)]
    pub aggregatetimeestimate: Option<i64>,
    /// Time progress.
    #[serde(default)]
    pub progress: Option<Progress>,
    /// Time progress with sub-tasks.
    #[serde(default)]
    pub aggregateprogress: Option<Progress>,
    /// Labels.
    #[serde(default, deserialize_with = "crate::de::null_default")]
    pub labels: Vec<String>,
    /// Assignee.
    #[serde(default)]
    pub assignee: Option<JiraUser>,
    /// Creation time.
    #[serde(default, deserialize_with = "crate::de::flex_time")]
    pub created: Option<DateTime<Utc>>,
    /// Last change.
    #[serde(default, deserialize_with = "crate::de::flex_time")]
    pub updated: Option<DateTime<Utc>>,
    /// When the status category last changed: for a done ticket, when it
    /// became done (whatever its resolution).
    #[serde(default, deserialize_with = "crate::de::flex_time")]
    pub statuscategorychangedate: Option<DateTime<Utc>>,
    /// Description: ADF (an object) through API v3, wiki markup (a string)
    /// through v2 and in webhooks; `null` when empty.
    #[serde(default)]
    pub description: Option<Value>,
    /// Due date.
    #[serde(default)]
    pub duedate: Option<chrono::NaiveDate>,
    /// Fix versions (releases), in Jira's order.
    #[serde(
        default,
        rename = "fixVersions",
        deserialize_with = "crate::de::null_default"
    )]
    pub fix_versions: Vec<VersionRef>,
    /// Numeric custom fields by id (story points among them).
    #[serde(flatten)]
    pub custom_numbers: CustomNumbers,
}

/// A version as an issue's `fixVersions` names it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionRef {
    pub id: String,
    #[serde(default)]
    pub name: String,
}

/// An issue as search and `GET /issue` return it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JiraIssue {
    /// Id (absent when only `key` was asked for in some fixtures).
    #[serde(default)]
    pub id: String,
    /// Key, e.g. `PROJ-123`.
    #[serde(default)]
    pub key: String,
    /// API URL of the issue.
    #[serde(default, rename = "self")]
    pub self_url: Option<String>,
    /// Fields asked for.
    #[serde(default)]
    pub fields: JiraIssueFields,
    /// Entity properties asked for (`properties=`), by key.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub properties: BTreeMap<String, Value>,
    /// The transitions offered now, when asked for (`expand=transitions`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transitions: Vec<JiraTransition>,
}

impl JiraIssue {
    /// Whether the issue's status category is `done`.
    pub fn is_done(&self) -> bool {
        self.fields.status.as_ref().is_some_and(JiraStatus::is_done)
    }
}

/// One page of search results.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SearchPage {
    /// Issues of this page.
    pub issues: Vec<JiraIssue>,
    /// Total matches (Data Center's `/search` only; Cloud gives none).
    pub total: Option<u64>,
}

/// Cloud `/rest/api/3/search/jql` answer.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EnhancedSearchResponse {
    #[serde(default)]
    pub issues: Vec<JiraIssue>,
    #[serde(default)]
    pub is_last: Option<bool>,
    #[serde(default)]
    pub next_page_token: Option<String>,
}

/// Data Center `/rest/api/2/search` answer.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ClassicSearchResponse {
    #[serde(default)]
    pub start_at: u64,
    #[serde(default)]
    pub total: Option<u64>,
    #[serde(default)]
    pub issues: Vec<JiraIssue>,
}

/// A comment (body is wiki markup in webhooks; ADF JSON in some Cloud APIs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JiraComment {
    /// Id.
    #[serde(default, deserialize_with = "crate::de::scalar_string")]
    pub id: Option<String>,
    /// Body.
    #[serde(default)]
    pub body: Value,
    /// Author.
    #[serde(default)]
    pub author: Option<JiraUser>,
    /// Last editor.
    #[serde(default)]
    pub update_author: Option<JiraUser>,
    /// Creation time.
    #[serde(default, deserialize_with = "crate::de::flex_time")]
    pub created: Option<DateTime<Utc>>,
    /// Last edit.
    #[serde(default, deserialize_with = "crate::de::flex_time")]
    pub updated: Option<DateTime<Utc>>,
}

impl JiraComment {
    /// The body as text when it is a plain string.
    pub fn body_text(&self) -> Option<&str> {
        self.body.as_str()
    }
}

/// A worklog (time logged on an issue).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JiraWorklog {
    /// Id.
    #[serde(default, deserialize_with = "crate::de::scalar_string")]
    pub id: Option<String>,
    /// Issue id (worklog events carry no key).
    #[serde(default, deserialize_with = "crate::de::scalar_string")]
    pub issue_id: Option<String>,
    /// Who logged.
    #[serde(default)]
    pub author: Option<JiraUser>,
    /// Seconds logged.
    #[serde(default)]
    pub time_spent_seconds: Option<i64>,
    /// e.g. `1w 2d`.
    #[serde(default)]
    pub time_spent: Option<String>,
    /// When the work started.
    #[serde(default, deserialize_with = "crate::de::flex_time")]
    pub started: Option<DateTime<Utc>>,
    /// Comment.
    #[serde(default)]
    pub comment: Value,
    /// Creation time.
    #[serde(default, deserialize_with = "crate::de::flex_time")]
    pub created: Option<DateTime<Utc>>,
    /// Last edit.
    #[serde(default, deserialize_with = "crate::de::flex_time")]
    pub updated: Option<DateTime<Utc>>,
}

/// A workflow transition available on an issue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JiraTransition {
    /// Id to send to `POST .../transitions`.
    pub id: String,
    /// Name, e.g. `Done`.
    #[serde(default)]
    pub name: String,
    /// The status it leads to.
    #[serde(default)]
    pub to: Option<JiraStatus>,
    /// The fields of its screen, by id, when asked for
    /// (`expand=transitions.fields`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, TransitionField>,
}

impl JiraTransition {
    /// The ids of the fields its screen requires.
    pub fn required_fields(&self) -> Vec<String> {
        self.fields
            .iter()
            .filter(|(_, f)| f.required)
            .map(|(id, _)| id.clone())
            .collect()
    }
}

/// A field on a transition's screen.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransitionField {
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub name: Option<String>,
}

/// The statuses of one issue type of a project
/// (`GET /project/{key}/statuses`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IssueTypeStatuses {
    /// The issue type's id.
    #[serde(default)]
    pub id: Option<String>,
    /// The issue type's name.
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub subtask: bool,
    #[serde(default)]
    pub statuses: Vec<JiraStatus>,
}

/// A project as `GET /project/{key}` describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JiraProject {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    /// The issue types one can create in it.
    #[serde(default)]
    pub issue_types: Vec<JiraIssueType>,
}

/// An admin webhook found by its URL: its id and the events it sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FoundWebhook {
    /// The last segment of the webhook's `self` link.
    pub id: String,
    pub events: Vec<String>,
}

/// A registered webhook's id, and what registering did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisteredWebhook {
    /// The last segment of the webhook's `self` link.
    pub id: String,
    /// Created, or the existing registration rewritten.
    pub action: WebhookAction,
}

/// What registering a webhook did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WebhookAction {
    /// A new webhook.
    Created,
    /// The webhook already pointing at the URL was rewritten.
    Updated,
}

impl WebhookAction {
    /// The word the API reports.
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookAction::Created => "created",
            WebhookAction::Updated => "updated",
        }
    }
}
