//! The Jira REST client (Cloud v3, Data Center/Server v2): connection
//! settings, test connection, fields, JQL search and webhook registration.

mod issues;
mod types;
mod users;
mod versions;

pub use issues::CreatedIssue;
pub use types::*;
pub use versions::{JiraVersion, NewJiraVersion};

use std::sync::Arc;

use base64::Engine;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::OnceCell;
use url::Url;

use cairn_core::secret::Secret;

use crate::base_url::{join, validate_base_url};
use crate::error::{ConnectError, Service};
use crate::http::{HttpClient, HttpConfig, Req};

/// How Cairn authenticates to Jira.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JiraAuth {
    /// Jira Cloud: the account's email and an API token (HTTP basic).
    CloudBasic {
        /// Account email.
        email: String,
        /// API token.
        api_token: Secret,
    },
    /// Data Center / Server 8.14+: a personal access token (Bearer).
    Pat(Secret),
}

impl JiraAuth {
    fn header(&self) -> Result<(reqwest::header::HeaderName, Secret), ConnectError> {
        let value = match self {
            JiraAuth::CloudBasic { email, api_token } => {
                if email.trim().is_empty() {
                    return Err(ConnectError::InvalidInput(
                        "Jira Cloud needs the account's email with the API token".into(),
                    ));
                }
                let raw = format!("{}:{}", email.trim(), api_token.expose().trim());
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(raw)
                )
            }
            JiraAuth::Pat(token) => format!("Bearer {}", token.expose().trim()),
        };
        Ok((reqwest::header::AUTHORIZATION, Secret::new(value)))
    }
}

/// Which Jira product answers; the APIs differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum JiraDeployment {
    /// Jira Cloud (`*.atlassian.net`): REST v3, enhanced search.
    Cloud,
    /// Jira Data Center: REST v2, `/search` with `startAt`.
    DataCenter,
    /// Jira Server: as Data Center.
    Server,
}

impl JiraDeployment {
    /// From `serverInfo.deploymentType`; anything but `Cloud` speaks the Data Center API.
    pub fn from_deployment_type(value: Option<&str>) -> JiraDeployment {
        match value.map(str::to_ascii_lowercase).as_deref() {
            Some("cloud") => JiraDeployment::Cloud,
            Some("datacenter") => JiraDeployment::DataCenter,
            _ => JiraDeployment::Server,
        }
    }

    /// Jira Cloud.
    pub fn is_cloud(self) -> bool {
        self == JiraDeployment::Cloud
    }
}

/// Everything needed to talk to one Jira site.
#[derive(Clone)]
pub struct JiraSettings {
    /// Site URL with any context path, e.g. `https://example.atlassian.net`
    /// or `https://jira.example.com/jira`.
    pub base_url: String,
    /// Credentials.
    pub auth: JiraAuth,
    /// Known deployment; detected from `serverInfo` when `None`.
    pub deployment: Option<JiraDeployment>,
    /// HTTP tunables.
    pub http: HttpConfig,
}

impl std::fmt::Debug for JiraSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A base URL typed with credentials in it must not reach a log.
        f.debug_struct("JiraSettings")
            .field("base_url", &crate::error::redact_userinfo(&self.base_url))
            .field("auth", &self.auth)
            .field("deployment", &self.deployment)
            .field("http", &self.http)
            .finish()
    }
}

impl JiraSettings {
    /// Settings with detection of the deployment and default HTTP configuration.
    pub fn new(base_url: impl Into<String>, auth: JiraAuth) -> JiraSettings {
        JiraSettings {
            base_url: base_url.into(),
            auth,
            deployment: None,
            http: HttpConfig::default(),
        }
    }
}

/// Who the credentials belong to and which Jira answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JiraIdentity {
    /// The account (display name, email, accountId on Cloud or name on Data Center).
    pub account: JiraUser,
    /// The site's title.
    pub server_title: Option<String>,
    /// Jira version.
    pub version: String,
    /// Cloud, Data Center or Server.
    pub deployment: JiraDeployment,
}

/// Checks a Jira connection: `GET /rest/api/2/myself` then `GET /rest/api/2/serverInfo`.
pub async fn test_jira(settings: &JiraSettings) -> Result<JiraIdentity, ConnectError> {
    let client = JiraClient::new(settings)?;
    let account = client.myself().await?;
    let info = client.server_info().await?;
    let deployment = JiraDeployment::from_deployment_type(info.deployment_type.as_deref());
    Ok(JiraIdentity {
        account,
        server_title: info.server_title,
        version: info.version,
        deployment,
    })
}

/// The fields Cairn's Jira metrics read (without site-specific custom fields).
pub const METRIC_FIELDS: &[&str] = &[
    "summary",
    "status",
    "issuetype",
    "parent",
    "project",
    "labels",
    "assignee",
    "created",
    "updated",
    "timespent",
    "timeoriginalestimate",
    "timeestimate",
    "aggregatetimespent",
    "aggregatetimeoriginalestimate",
    "aggregatetimeestimate",
    "progress",
    "aggregateprogress",
];

/// Events a Jira webhook can send that Cairn uses.
pub const DEFAULT_WEBHOOK_EVENTS: &[&str] = &[
    "jira:issue_created",
    "jira:issue_updated",
    "jira:issue_deleted",
    "comment_created",
    "comment_updated",
    "comment_deleted",
    "worklog_created",
    "worklog_updated",
    "worklog_deleted",
];

/// A webhook to register.
#[derive(Debug, Clone)]
pub struct NewJiraWebhook {
    /// Name (Data Center only).
    pub name: String,
    /// Where Jira delivers (Cairn's `/hooks/jira/{connection}`).
    pub url: String,
    /// Events, e.g. [`DEFAULT_WEBHOOK_EVENTS`].
    pub events: Vec<String>,
    /// JQL limiting the issues (required by Cloud for issue events).
    pub jql_filter: Option<String>,
    /// HMAC secret for `X-Hub-Signature`.
    pub secret: Option<Secret>,
}

/// A typed client of one Jira site; cheap to clone (clones share the rate
/// limit, the call counter and the detected deployment).
#[derive(Debug, Clone)]
pub struct JiraClient {
    http: HttpClient,
    base: Url,
    deployment: Arc<OnceCell<JiraDeployment>>,
}

impl JiraClient {
    /// Validates the settings and builds the client (no request is sent).
    pub fn new(settings: &JiraSettings) -> Result<JiraClient, ConnectError> {
        let base = validate_base_url(&settings.base_url)?;
        let http = HttpClient::new(
            Service::Jira,
            settings.http.clone(),
            Some(settings.auth.header()?),
        )?;
        let deployment = match settings.deployment {
            Some(d) => OnceCell::new_with(Some(d)),
            None => OnceCell::new(),
        };
        Ok(JiraClient {
            http,
            base,
            deployment: Arc::new(deployment),
        })
    }

    /// HTTP requests sent so far (retries included).
    pub fn api_calls(&self) -> u64 {
        self.http.api_calls()
    }

    /// The site URL in use.
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    fn url(&self, segments: &[&str]) -> Url {
        join(&self.base, segments)
    }

    /// `rest/api/{2|3}/...` for this deployment.
    async fn api(&self, rest: &[&str]) -> Result<Url, ConnectError> {
        let ver = if self.deployment().await?.is_cloud() {
            "3"
        } else {
            "2"
        };
        let mut segments = vec!["rest", "api", ver];
        segments.extend_from_slice(rest);
        Ok(self.url(&segments))
    }

    /// The deployment: given in the settings, or detected once from `serverInfo`.
    pub async fn deployment(&self) -> Result<JiraDeployment, ConnectError> {
        self.deployment
            .get_or_try_init(|| async {
                let info = self.server_info().await?;
                Ok(JiraDeployment::from_deployment_type(
                    info.deployment_type.as_deref(),
                ))
            })
            .await
            .copied()
    }

    /// `GET /rest/api/2/myself`.
    pub async fn myself(&self) -> Result<JiraUser, ConnectError> {
        self.http
            .json(Req::get(self.url(&["rest", "api", "2", "myself"])))
            .await
    }

    /// `GET /rest/api/2/serverInfo`.
    pub async fn server_info(&self) -> Result<ServerInfo, ConnectError> {
        self.http
            .json(Req::get(self.url(&["rest", "api", "2", "serverInfo"])))
            .await
    }

    /// `GET /rest/api/{3|2}/field`: every field definition.
    pub async fn fields(&self) -> Result<Vec<JiraField>, ConnectError> {
        let url = self.api(&["field"]).await?;
        self.http.json(Req::get(url)).await
    }

    /// `GET /rest/api/{3|2}/project`: the projects this account can browse.
    pub async fn projects(&self) -> Result<Vec<JiraProjectRef>, ConnectError> {
        let url = self.api(&["project"]).await?;
        self.http.json(Req::get(url)).await
    }

    /// `GET /rest/api/{3|2}/issue/{key}` with the given fields (all when empty).
    pub async fn issue(&self, key: &str, fields: &[&str]) -> Result<JiraIssue, ConnectError> {
        let mut url = self.api(&["issue", key]).await?;
        if !fields.is_empty() {
            url.query_pairs_mut()
                .append_pair("fields", &fields.join(","));
        }
        self.http.json(Req::get(url)).await
    }

    /// A JQL search, read page by page. `fields` are the fields to return
    /// (Cloud returns only `id` unless asked); empty means [`METRIC_FIELDS`].
    /// Add the story points or custom field ids a metric needs.
    pub fn search(&self, jql: &str, fields: &[&str]) -> JiraSearch {
        let fields = if fields.is_empty() {
            METRIC_FIELDS
        } else {
            fields
        };
        JiraSearch {
            client: self.clone(),
            jql: jql.to_string(),
            fields: fields.iter().map(|f| f.to_string()).collect(),
            properties: Vec::new(),
            page_size: 100,
            api: None,
            cursor: Cursor::Start,
            total: None,
            pages: 0,
        }
    }

    /// Matches of a JQL query: Cloud's approximate count, Data Center's exact `total`.
    pub async fn approximate_count(&self, jql: &str) -> Result<u64, ConnectError> {
        if self.deployment().await?.is_cloud() {
            let url = self.url(&["rest", "api", "3", "search", "approximate-count"]);
            let resp = self
                .http
                .execute(Req::with_body(Method::POST, url, json!({ "jql": jql })).idempotent())
                .await?;
            let v: Value = resp.json()?;
            return v
                .get("count")
                .and_then(Value::as_u64)
                .ok_or_else(|| resp.unexpected("a count without `count`", v.to_string()));
        }
        let url = self.url(&["rest", "api", "2", "search"]);
        let body = json!({ "jql": jql, "maxResults": 0, "fields": ["id"] });
        let resp: ClassicSearchResponse = self
            .http
            .json(Req::with_body(Method::POST, url, body).idempotent())
            .await?;
        Ok(resp.total.unwrap_or(resp.issues.len() as u64))
    }

    /// `GET .../issue/{key}/transitions`: where the issue's workflow can go.
    pub async fn transitions(&self, key: &str) -> Result<Vec<JiraTransition>, ConnectError> {
        #[derive(Deserialize)]
        struct Answer {
            #[serde(default)]
            transitions: Vec<JiraTransition>,
        }
        let url = self.api(&["issue", key, "transitions"]).await?;
        let answer: Answer = self.http.json(Req::get(url)).await?;
        Ok(answer.transitions)
    }

    /// `POST .../issue/{key}/transitions`: moves the issue (status changes
    /// only go through transitions).
    pub async fn transition_issue(
        &self,
        key: &str,
        transition_id: &str,
    ) -> Result<(), ConnectError> {
        let url = self.api(&["issue", key, "transitions"]).await?;
        let body = json!({ "transition": { "id": transition_id } });
        self.http
            .execute(Req::with_body(Method::POST, url, body))
            .await
            .map(|_| ())
    }

    /// `POST .../issue/{key}/comment`: plain text, sent as ADF on Cloud and
    /// as a string on Data Center.
    pub async fn add_comment(&self, key: &str, text: &str) -> Result<JiraComment, ConnectError> {
        let cloud = self.deployment().await?.is_cloud();
        let url = self.api(&["issue", key, "comment"]).await?;
        let body = json!({ "body": rich_text(cloud, text) });
        self.http
            .json(Req::with_body(Method::POST, url, body))
            .await
    }

    /// `GET .../issue/{key}/comment`: every comment of an issue, oldest
    /// first, page by page.
    pub async fn comments(&self, key: &str) -> Result<Vec<JiraComment>, ConnectError> {
        #[derive(Deserialize)]
        struct Page {
            #[serde(default)]
            comments: Vec<JiraComment>,
            #[serde(default)]
            total: Option<u64>,
        }
        let mut all = Vec::new();
        loop {
            let mut url = self.api(&["issue", key, "comment"]).await?;
            url.query_pairs_mut()
                .append_pair("startAt", &all.len().to_string())
                .append_pair("maxResults", "1000");
            let page: Page = self.http.json(Req::get(url)).await?;
            let got = page.comments.len();
            all.extend(page.comments);
            let total = page.total.unwrap_or(all.len() as u64);
            if got == 0 || all.len() as u64 >= total {
                return Ok(all);
            }
        }
    }

    /// `POST .../issue/{key}/comment` with a body already in the
    /// deployment's format (ADF on Cloud, wiki markup on Data Center).
    pub async fn add_comment_body(
        &self,
        key: &str,
        body: Value,
    ) -> Result<JiraComment, ConnectError> {
        let url = self.api(&["issue", key, "comment"]).await?;
        self.http
            .json(Req::with_body(Method::POST, url, json!({ "body": body })))
            .await
    }

    /// `PUT .../issue/{key}/comment/{id}`: edits a comment.
    pub async fn update_comment(
        &self,
        key: &str,
        id: &str,
        body: Value,
    ) -> Result<JiraComment, ConnectError> {
        let url = self.api(&["issue", key, "comment", id]).await?;
        self.http
            .json(Req::with_body(Method::PUT, url, json!({ "body": body })).idempotent())
            .await
    }

    /// `DELETE .../issue/{key}/comment/{id}`.
    pub async fn delete_comment(&self, key: &str, id: &str) -> Result<(), ConnectError> {
        let url = self.api(&["issue", key, "comment", id]).await?;
        let req = Req {
            method: Method::DELETE,
            url,
            body: None,
            idempotent: true,
        };
        self.http.execute(req).await.map(|_| ())
    }

    /// `GET .../issue/{key}/remotelink?globalId=`: the issue's link with
    /// this global id, `None` when it has none (404).
    pub async fn remote_link_by_global_id(
        &self,
        key: &str,
        global_id: &str,
    ) -> Result<Option<Value>, ConnectError> {
        let mut url = self.api(&["issue", key, "remotelink"]).await?;
        url.query_pairs_mut().append_pair("globalId", global_id);
        match self.http.json(Req::get(url)).await {
            Ok(link) => Ok(Some(link)),
            Err(e) if e.status() == Some(404) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `POST .../issue/{key}/remotelink` with any application: adds a
    /// link, or updates the one with the same `global_id`. Returns the
    /// link's id.
    pub async fn put_remote_link_to(
        &self,
        key: &str,
        global_id: &str,
        application: (&str, &str),
        url: &str,
        title: &str,
    ) -> Result<String, ConnectError> {
        #[derive(Deserialize)]
        struct Answer {
            #[serde(default, deserialize_with = "crate::de::scalar_string")]
            id: Option<String>,
        }
        let api = self.api(&["issue", key, "remotelink"]).await?;
        let body = json!({
            "globalId": global_id,
            "application": { "type": application.0, "name": application.1 },
            "object": { "url": url, "title": title },
        });
        let answer: Answer = self
            .http
            .json(Req::with_body(Method::POST, api, body).idempotent())
            .await?;
        Ok(answer.id.unwrap_or_default())
    }

    /// `GET .../issue/{key}/remotelink`: the issue's links to things
    /// outside Jira, as Jira gives them (`globalId`, `object.url`, ...).
    pub async fn remote_links(&self, key: &str) -> Result<Vec<Value>, ConnectError> {
        let url = self.api(&["issue", key, "remotelink"]).await?;
        self.http.json(Req::get(url)).await
    }

    /// `POST .../issue/{key}/remotelink`: adds a link, or updates the one
    /// with the same `global_id` (Jira's own deduplication).
    pub async fn put_remote_link(
        &self,
        key: &str,
        global_id: &str,
        url: &str,
        title: &str,
    ) -> Result<(), ConnectError> {
        let api = self.api(&["issue", key, "remotelink"]).await?;
        let body = json!({
            "globalId": global_id,
            "application": { "type": "com.gitlab", "name": "GitLab" },
            "object": { "url": url, "title": title },
        });
        self.http
            .execute(Req::with_body(Method::POST, api, body))
            .await
            .map(|_| ())
    }

    /// `GET .../issue/{key}/worklog`: the issue's worklogs (up to 5,000,
    /// Jira's page), e.g. to find one Cairn wrote by its marker.
    pub async fn worklogs(&self, key: &str) -> Result<Vec<JiraWorklog>, ConnectError> {
        #[derive(serde::Deserialize)]
        struct Page {
            #[serde(default)]
            worklogs: Vec<JiraWorklog>,
        }
        let mut url = self.api(&["issue", key, "worklog"]).await?;
        url.query_pairs_mut().append_pair("maxResults", "5000");
        let page: Page = self.http.json(Req::get(url)).await?;
        Ok(page.worklogs)
    }

    /// `POST .../issue/{key}/worklog`: logs time on an issue.
    pub async fn add_worklog(
        &self,
        key: &str,
        worklog: &NewWorklog,
    ) -> Result<JiraWorklog, ConnectError> {
        if worklog.seconds <= 0 {
            return Err(ConnectError::InvalidInput(
                "a worklog needs a positive duration".into(),
            ));
        }
        let cloud = self.deployment().await?.is_cloud();
        let mut url = self.api(&["issue", key, "worklog"]).await?;
        if let Some(adjust) = &worklog.adjust_estimate {
            url.query_pairs_mut().append_pair("adjustEstimate", adjust);
        }
        let mut body = json!({
            "timeSpentSeconds": worklog.seconds,
            "started": worklog.started.format("%Y-%m-%dT%H:%M:%S%.3f%z").to_string(),
        });
        if let (Some(comment), Some(obj)) = (&worklog.comment, body.as_object_mut()) {
            obj.insert("comment".into(), rich_text(cloud, comment));
        }
        self.http
            .json(Req::with_body(Method::POST, url, body))
            .await
    }

    /// The admin webhook delivering to `url`, if one is registered
    /// (`GET /rest/webhooks/1.0/webhook`: needs Jira administrator rights).
    pub async fn find_webhook(&self, url: &str) -> Result<Option<FoundWebhook>, ConnectError> {
        let existing: Vec<Value> = self
            .http
            .json(Req::get(self.url(&["rest", "webhooks", "1.0", "webhook"])))
            .await?;
        Ok(existing.iter().find_map(|w| {
            if w.get("url").and_then(Value::as_str) != Some(url) {
                return None;
            }
            let id = w
                .get("self")
                .and_then(Value::as_str)
                .and_then(last_segment)?;
            let events = w
                .get("events")
                .and_then(Value::as_array)
                .map(|list| {
                    list.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default();
            Some(FoundWebhook { id, events })
        }))
    }

    /// Registers Cairn's webhook, or rewrites the one already pointing at
    /// `hook.url`, so enabling twice never delivers twice. Admin webhooks
    /// (`/rest/webhooks/1.0/webhook`, Cloud and Data Center) are the kind an
    /// API token or PAT may register: they take a secret and never expire.
    /// Cloud's `/rest/api/3/webhook` is only for Connect and OAuth apps, and
    /// its webhooks lapse after 30 days.
    pub async fn register_webhook(
        &self,
        hook: &NewJiraWebhook,
    ) -> Result<RegisteredWebhook, ConnectError> {
        let mut body = json!({
            "name": hook.name,
            "url": hook.url,
            "events": hook.events,
            "filters": { "issue-related-events-section": hook.jql_filter.clone().unwrap_or_default() },
            "excludeBody": false,
        });
        if let (Some(secret), Some(obj)) = (&hook.secret, body.as_object_mut()) {
            obj.insert("secret".into(), json!(secret.expose()));
        }
        let existing: Vec<Value> = self
            .http
            .json(Req::get(self.url(&["rest", "webhooks", "1.0", "webhook"])))
            .await?;
        let ours = existing.iter().find_map(|w| {
            (w.get("url").and_then(Value::as_str) == Some(hook.url.as_str()))
                .then(|| w.get("self").and_then(Value::as_str).and_then(last_segment))
                .flatten()
        });
        if let Some(id) = ours {
            let url = self.url(&["rest", "webhooks", "1.0", "webhook", &id]);
            self.http
                .execute(Req::with_body(Method::PUT, url, body))
                .await?;
            return Ok(RegisteredWebhook {
                id,
                action: WebhookAction::Updated,
            });
        }
        let url = self.url(&["rest", "webhooks", "1.0", "webhook"]);
        let resp = self
            .http
            .execute(Req::with_body(Method::POST, url, body))
            .await?;
        let v: Value = resp.json()?;
        let id = v
            .get("self")
            .and_then(Value::as_str)
            .and_then(last_segment)
            .ok_or_else(|| resp.unexpected("a webhook without `self`", v.to_string()))?;
        Ok(RegisteredWebhook {
            id,
            action: WebhookAction::Created,
        })
    }
}

/// The id at the end of a webhook's `self` link.
fn last_segment(link: &str) -> Option<String> {
    link.trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// Time to log on a Jira issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWorklog {
    /// Seconds worked.
    pub seconds: i64,
    /// When the work started, with the offset it is sent in: the
    /// person's own, so Jira files it on their day.
    pub started: chrono::DateTime<chrono::FixedOffset>,
    /// Optional comment (plain text).
    pub comment: Option<String>,
    /// `auto` (default), `new`, `leave` or `manual`.
    pub adjust_estimate: Option<String>,
}

/// Plain text as Jira wants it: Atlassian Document Format on Cloud v3, a string on v2.
fn rich_text(cloud: bool, text: &str) -> Value {
    if !cloud {
        return json!(text);
    }
    let paragraphs: Vec<Value> = text
        .split("\n\n")
        .map(|p| {
            if p.is_empty() {
                json!({ "type": "paragraph", "content": [] })
            } else {
                json!({ "type": "paragraph", "content": [{ "type": "text", "text": p }] })
            }
        })
        .collect();
    json!({ "type": "doc", "version": 1, "content": paragraphs })
}

/// Which search endpoint a search uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SearchApi {
    /// Cloud `/rest/api/3/search/jql` with `nextPageToken`.
    Enhanced,
    /// `/rest/api/2/search` with `startAt` and `total`.
    Classic,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Cursor {
    Start,
    Token(String),
    Offset(u64),
    Done,
}

/// A JQL search read page by page (an asynchronous iterator).
#[derive(Debug)]
pub struct JiraSearch {
    client: JiraClient,
    jql: String,
    fields: Vec<String>,
    properties: Vec<String>,
    page_size: u32,
    api: Option<SearchApi>,
    cursor: Cursor,
    total: Option<u64>,
    pages: u32,
}

impl JiraSearch {
    /// Sets the page size (Jira caps it; default 100).
    pub fn page_size(mut self, n: u32) -> JiraSearch {
        self.page_size = n.max(1);
        self
    }

    /// Also returns these entity properties of each issue.
    pub fn properties(mut self, keys: &[&str]) -> JiraSearch {
        self.properties = keys.iter().map(|k| k.to_string()).collect();
        self
    }

    /// `total` of the last page (Data Center only).
    pub fn total(&self) -> Option<u64> {
        self.total
    }

    /// Pages read so far.
    pub fn pages_read(&self) -> u32 {
        self.pages
    }

    /// The next page of issues, or `None` after the last.
    pub async fn next_page(&mut self) -> Result<Option<SearchPage>, ConnectError> {
        if self.cursor == Cursor::Done {
            return Ok(None);
        }
        let api = match self.api {
            Some(api) => api,
            None => {
                let api = if self.client.deployment().await?.is_cloud() {
                    SearchApi::Enhanced
                } else {
                    SearchApi::Classic
                };
                self.api = Some(api);
                api
            }
        };
        let page = match api {
            SearchApi::Enhanced => self.enhanced_page().await?,
            SearchApi::Classic => match self.classic_page().await {
                Err(e) if e.status() == Some(410) && self.cursor == Cursor::Start => {
                    // Jira Cloud removed the classic search: use the new one.
                    tracing::info!("Jira answered 410 for /search; switching to /search/jql");
                    self.api = Some(SearchApi::Enhanced);
                    self.enhanced_page().await?
                }
                other => other?,
            },
        };
        self.pages += 1;
        Ok(Some(page))
    }

    /// Every remaining issue (for bounded queries).
    pub async fn collect_all(mut self) -> Result<Vec<JiraIssue>, ConnectError> {
        let mut all = Vec::new();
        while let Some(page) = self.next_page().await? {
            all.extend(page.issues);
        }
        Ok(all)
    }

    async fn enhanced_page(&mut self) -> Result<SearchPage, ConnectError> {
        let url = self.client.url(&["rest", "api", "3", "search", "jql"]);
        let mut body = json!({
            "jql": self.jql,
            "maxResults": self.page_size,
            "fields": self.fields,
        });
        if let Some(obj) = body.as_object_mut() {
            if let Cursor::Token(t) = &self.cursor {
                obj.insert("nextPageToken".into(), json!(t));
            }
            if !self.properties.is_empty() {
                obj.insert("properties".into(), json!(self.properties));
            }
        }
        let resp: EnhancedSearchResponse = self
            .client
            .http
            .json(Req::with_body(Method::POST, url, body).idempotent())
            .await?;
        let token = resp.next_page_token.filter(|t| !t.is_empty());
        self.cursor = match (resp.is_last, token) {
            (Some(true), _) | (_, None) => Cursor::Done,
            (_, Some(t)) if Cursor::Token(t.clone()) == self.cursor => Cursor::Done,
            (_, Some(t)) => Cursor::Token(t),
        };
        Ok(SearchPage {
            issues: resp.issues,
            total: None,
        })
    }

    async fn classic_page(&mut self) -> Result<SearchPage, ConnectError> {
        let start = match self.cursor {
            Cursor::Offset(n) => n,
            _ => 0,
        };
        let url = self.client.url(&["rest", "api", "2", "search"]);
        let mut body = json!({
            "jql": self.jql,
            "startAt": start,
            "maxResults": self.page_size,
            "fields": self.fields,
        });
        if !self.properties.is_empty()
            && let Some(obj) = body.as_object_mut()
        {
            obj.insert("properties".into(), json!(self.properties));
        }
        let resp: ClassicSearchResponse = self
            .client
            .http
            .json(Req::with_body(Method::POST, url, body).idempotent())
            .await?;
        let next = resp.start_at + resp.issues.len() as u64;
        self.total = resp.total;
        self.cursor = if resp.issues.is_empty() || resp.total.is_some_and(|t| next >= t) {
            Cursor::Done
        } else {
            Cursor::Offset(next)
        };
        Ok(SearchPage {
            issues: resp.issues,
            total: resp.total,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deployment_types_map_to_flavours() {
        use JiraDeployment as D;
        assert_eq!(D::from_deployment_type(Some("Cloud")), D::Cloud);
        assert_eq!(D::from_deployment_type(Some("DataCenter")), D::DataCenter);
        assert_eq!(D::from_deployment_type(Some("Server")), D::Server);
        assert_eq!(D::from_deployment_type(None), D::Server);
    }

    #[test]
    fn cloud_basic_auth_needs_an_email_and_hides_the_token() {
        let auth = JiraAuth::CloudBasic {
            email: " ".into(),
            api_token: Secret::new("jira-token-abcdef"),
        };
        assert!(auth.header().is_err());
        let auth = JiraAuth::CloudBasic {
            email: "a@example.com".into(),
            api_token: Secret::new("jira-token-abcdef"),
        };
        let (_, value) = auth.header().expect("header");
        assert!(value.expose().starts_with("Basic "));
        assert!(!format!("{auth:?} {value:?}").contains("jira-token-abcdef"));
    }
}
