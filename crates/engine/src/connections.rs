//! Connections to GitLab and Jira: create, edit, share, test, delete. The
//! secret is sealed before it reaches the store and is never returned.

use std::sync::Arc;

use cairn_connect::{
    ConnectError, GitLabAuth, GitLabSettings, JiraAuth, JiraDeployment, JiraSettings,
};
use cairn_core::authz::{Action, ConnectionFacts, ConnectionOp};
use cairn_core::integrations::IntegrationKind;
use cairn_core::secret::Secret;
use cairn_store::{Connection, ConnectionUpdate, HealthCheck, NewAuditEntry, NewConnection, Store};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;

use crate::accounts::{Authenticated, validate_name};
use crate::error::{EngineError, authorize, conflicts};
use crate::keyring::Keyring;

/// How a connection authenticates; the names are the API's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthKind {
    /// GitLab personal, project or group access token (`PRIVATE-TOKEN`).
    PrivateToken,
    /// GitLab OAuth token (`Authorization: Bearer`).
    Oauth,
    /// Jira Cloud: account email and API token (basic auth).
    Basic,
    /// Jira Data Center: personal access token (`Authorization: Bearer`).
    Bearer,
}

impl AuthKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthKind::PrivateToken => "private_token",
            AuthKind::Oauth => "oauth",
            AuthKind::Basic => "basic",
            AuthKind::Bearer => "bearer",
        }
    }

    /// The auth kinds a connection of `kind` accepts.
    pub fn allowed_for(kind: IntegrationKind) -> &'static [AuthKind] {
        match kind {
            IntegrationKind::Gitlab => &[AuthKind::PrivateToken, AuthKind::Oauth],
            IntegrationKind::Jira => &[AuthKind::Basic, AuthKind::Bearer],
            _ => &[],
        }
    }

    fn parse(kind: IntegrationKind, s: &str) -> Result<AuthKind, EngineError> {
        let allowed = AuthKind::allowed_for(kind);
        allowed
            .iter()
            .copied()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = allowed.iter().map(|a| a.as_str()).collect();
                EngineError::invalid(
                    "auth_kind",
                    format!(
                        "`{s}` is not an auth kind for {}: use one of {}",
                        kind.title(),
                        names.join(", ")
                    ),
                )
            })
    }
}

/// What someone asks to create.
#[derive(Debug, Clone)]
pub struct ConnectionInput {
    pub kind: String,
    pub name: String,
    /// Empty for GitLab means gitlab.com.
    pub base_url: Option<String>,
    pub auth_kind: String,
    pub username: Option<String>,
    pub secret: Secret,
    pub shared: bool,
}

/// What someone asks to change; `None` keeps a field.
#[derive(Debug, Clone, Default)]
pub struct ConnectionChanges {
    pub name: Option<String>,
    pub base_url: Option<String>,
    pub auth_kind: Option<String>,
    pub username: Option<Option<String>>,
    pub secret: Option<Secret>,
    pub shared: Option<bool>,
}

/// A connection as the API shows it: everything but the secret.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ConnectionView {
    pub id: i64,
    #[schema(value_type = String, example = "gitlab")]
    pub kind: IntegrationKind,
    pub name: String,
    pub base_url: String,
    pub auth_kind: String,
    pub username: Option<String>,
    pub owner_id: i64,
    pub shared: bool,
    /// Jira: `cloud` or `datacenter`, learnt from serverInfo.
    pub flavour: Option<String>,
    /// Jira: the story points field chosen by a person; `None` detects it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub story_points_field: Option<String>,
    pub health: Health,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The last test's outcome.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok`, `failing` or `unknown` (never tested since the last change).
    #[schema(value_type = String, example = "ok")]
    pub status: &'static str,
    pub account_name: Option<String>,
    pub server_version: Option<String>,
    pub last_ok_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub last_error_code: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
}

impl From<&Connection> for ConnectionView {
    fn from(c: &Connection) -> Self {
        let status = match (c.last_ok_at, c.last_error_at) {
            (Some(ok), Some(err)) if err > ok => "failing",
            (Some(_), _) => "ok",
            (None, Some(_)) => "failing",
            (None, None) => "unknown",
        };
        ConnectionView {
            id: c.id,
            kind: c.kind,
            name: c.name.clone(),
            base_url: c.base_url.clone(),
            auth_kind: c.auth_kind.clone(),
            username: c.username.clone(),
            owner_id: c.owner_id,
            shared: c.shared,
            flavour: c.flavour.clone(),
            story_points_field: c.story_points_field.clone(),
            health: Health {
                status,
                account_name: c.account_name.clone(),
                server_version: c.server_version.clone(),
                last_ok_at: c.last_ok_at,
                last_error: c.last_error.clone(),
                last_error_code: c.last_error_code.clone(),
                last_error_at: c.last_error_at,
            },
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// The result of testing a connection.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TestOutcome {
    pub ok: bool,
    pub account_name: Option<String>,
    pub server_version: Option<String>,
    pub flavour: Option<String>,
    /// When it failed: a stable code, what happened and what to check.
    #[schema(value_type = Option<crate::DiagnosisView>)]
    pub diagnosis: Option<cairn_connect::Diagnosis>,
}

pub const GITLAB_COM: &str = "https://gitlab.com";

fn facts(c: &Connection) -> ConnectionFacts {
    ConnectionFacts {
        owner_id: c.owner_id,
        shared: c.shared,
    }
}

fn parse_kind(kind: &str) -> Result<IntegrationKind, EngineError> {
    match IntegrationKind::parse(kind.trim()) {
        Some(k) if k.is_tracker() => Ok(k),
        Some(k) => Err(EngineError::invalid(
            "kind",
            format!(
                "{} is a notification channel, not a connection: use gitlab or jira",
                k.title()
            ),
        )),
        None => Err(EngineError::invalid(
            "kind",
            format!("unknown integration kind `{kind}`: use gitlab or jira"),
        )),
    }
}

fn validate_url(kind: IntegrationKind, url: Option<&str>) -> Result<String, EngineError> {
    let url = match url.map(str::trim).filter(|u| !u.is_empty()) {
        Some(url) => url,
        None if kind == IntegrationKind::Gitlab => GITLAB_COM,
        None => {
            return Err(EngineError::invalid(
                "base_url",
                "the Jira site URL is required",
            ));
        }
    };
    let parsed = cairn_connect::validate_base_url(url).map_err(|e| match e {
        ConnectError::MalformedUrl { reason, .. } => EngineError::invalid("base_url", reason),
        other => EngineError::invalid("base_url", other.to_string()),
    })?;
    Ok(parsed.as_str().trim_end_matches('/').to_owned())
}

fn validate_secret(secret: &Secret) -> Result<(), EngineError> {
    let value = secret.expose().trim();
    if value.is_empty() {
        return Err(EngineError::invalid("secret", "must not be empty"));
    }
    if value.len() > 4096 {
        return Err(EngineError::invalid(
            "secret",
            "must be at most 4096 characters",
        ));
    }
    crate::accounts::validate_line("secret", value)
}

fn validate_username(
    auth: AuthKind,
    username: Option<&str>,
) -> Result<Option<String>, EngineError> {
    let username = username.map(str::trim).filter(|u| !u.is_empty());
    match (auth, username) {
        (AuthKind::Basic, None) => Err(EngineError::invalid(
            "username",
            "Jira Cloud needs the account's email address with the API token",
        )),
        (AuthKind::Basic, Some(u)) => crate::accounts::validate_email(u).map(Some).map_err(|_| {
            EngineError::invalid("username", "must be the Atlassian account's email address")
        }),
        (_, _) => Ok(None),
    }
}

fn audit(by: &Authenticated, action: &str, id: i64, detail: serde_json::Value) -> NewAuditEntry {
    NewAuditEntry {
        actor: by.user.email.clone(),
        action: action.to_owned(),
        subject: format!("connection:{id}"),
        detail,
    }
}

/// What uses a connection: what its Delete page lists, and what refuses
/// the delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ConnectionUsage {
    /// Key results that read their progress through it: Delete is refused
    /// while there are any (their numbers would stop).
    pub links: usize,
    /// Sync pairs with a side on it: Delete is refused while there are any
    /// (the pair would be left without a side).
    pub sync_pairs: usize,
    /// Whether Cairn's webhook secret is set up for it: it and the delivery
    /// history go with the connection.
    pub hook: bool,
    /// Whether the caller may delete it (its owner or an admin).
    pub may_delete: bool,
}

impl ConnectionUsage {
    /// Why the connection cannot be deleted while in use, or `None`.
    pub fn in_use(&self) -> Option<String> {
        let links = format!(
            "{} key result(s) read their progress through this connection",
            self.links
        );
        let pairs = format!("{} sync pair(s) have a side on it", self.sync_pairs);
        match (self.links > 0, self.sync_pairs > 0) {
            (false, false) => None,
            (true, false) => Some(format!("{links}; unlink them first")),
            (false, true) => Some(format!("{pairs}; delete those pairs first")),
            (true, true) => Some(format!(
                "{links} and {pairs}; unlink them and delete those pairs first"
            )),
        }
    }
}

/// The connection use cases.
pub struct Connections {
    store: Arc<dyn Store>,
    keyring: Arc<Keyring>,
    http: cairn_connect::HttpConfig,
}

impl Connections {
    pub fn new(store: Arc<dyn Store>, keyring: Arc<Keyring>) -> Self {
        Connections {
            store,
            keyring,
            http: cairn_connect::HttpConfig::default(),
        }
    }

    /// Uses these HTTP settings for tests (shorter timeouts).
    pub fn with_http(mut self, http: cairn_connect::HttpConfig) -> Self {
        self.http = http;
        self
    }

    /// The connection if `by` may do `op` to it; 404 or 403 otherwise.
    pub(crate) async fn load(
        &self,
        by: &Authenticated,
        id: i64,
        op: ConnectionOp,
    ) -> Result<Connection, EngineError> {
        let connection = self
            .store
            .get_connection(id)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("no connection {id}")))?;
        authorize(Some(by.actor()), Action::Connection(op, facts(&connection))).map_err(
            |e| match e {
                EngineError::NotFound(_) => EngineError::NotFound(format!("no connection {id}")),
                other => other,
            },
        )?;
        Ok(connection)
    }

    pub async fn list(&self, by: &Authenticated) -> Result<Vec<ConnectionView>, EngineError> {
        let all = self.store.list_connections().await?;
        Ok(all
            .iter()
            .filter(|c| {
                authorize(
                    Some(by.actor()),
                    Action::Connection(ConnectionOp::View, facts(c)),
                )
                .is_ok()
            })
            .map(ConnectionView::from)
            .collect())
    }

    pub async fn get(&self, by: &Authenticated, id: i64) -> Result<ConnectionView, EngineError> {
        Ok(ConnectionView::from(
            &self.load(by, id, ConnectionOp::View).await?,
        ))
    }

    pub async fn create(
        &self,
        by: &Authenticated,
        input: ConnectionInput,
        now: DateTime<Utc>,
    ) -> Result<ConnectionView, EngineError> {
        authorize(Some(by.actor()), Action::CreateConnection)?;
        let kind = parse_kind(&input.kind)?;
        let name = validate_name("name", &input.name)?;
        let base_url = validate_url(kind, input.base_url.as_deref())?;
        let auth = AuthKind::parse(kind, input.auth_kind.trim())?;
        let username = validate_username(auth, input.username.as_deref())?;
        validate_secret(&input.secret)?;
        if !self.store.integration_enabled(kind).await? {
            return Err(EngineError::Conflict {
                field: Some("kind".to_owned()),
                message: format!(
                    "the {} integration is disabled; an admin can enable it",
                    kind.title()
                ),
            });
        }
        let secret = Secret::new(input.secret.expose().trim());
        let new = NewConnection {
            kind,
            name: name.clone(),
            base_url: base_url.clone(),
            auth_kind: auth.as_str().to_owned(),
            username,
            secret: self.keyring.seal(&secret),
            owner_id: by.user.id,
            shared: input.shared,
        };
        let mut tx = self.store.begin().await?;
        let id = tx.create_connection(&new, now).await.map_err(conflicts)?;
        tx.append_audit(
            &audit(by, "connection.created", id, json!({"kind": kind.as_str(), "name": name, "base_url": base_url, "shared": input.shared})),
            now,
        )
        .await?;
        tx.commit().await?;
        self.get(by, id).await
    }

    /// Creates a connection and tests it at once (the page, the API and
    /// the demo create this way). A failing test still keeps the
    /// connection, so its owner can correct the token; the view carries the
    /// health the test recorded and the outcome says what to check.
    pub async fn create_and_test(
        &self,
        by: &Authenticated,
        input: ConnectionInput,
        now: DateTime<Utc>,
    ) -> Result<(ConnectionView, TestOutcome), EngineError> {
        let created = self.create(by, input, now).await?;
        let outcome = self.test(by, created.id, now).await?;
        Ok((self.get(by, created.id).await?, outcome))
    }

    pub async fn update(
        &self,
        by: &Authenticated,
        id: i64,
        changes: ConnectionChanges,
        now: DateTime<Utc>,
    ) -> Result<ConnectionView, EngineError> {
        let current = self.load(by, id, ConnectionOp::Edit).await?;
        let name = changes
            .name
            .as_deref()
            .map(|n| validate_name("name", n))
            .transpose()?;
        let base_url = match &changes.base_url {
            Some(url) => Some(validate_url(current.kind, Some(url))?),
            None => None,
        };
        let auth = match &changes.auth_kind {
            Some(a) => AuthKind::parse(current.kind, a.trim())?,
            None => AuthKind::parse(current.kind, &current.auth_kind)?,
        };
        let username = match &changes.username {
            Some(u) => Some(validate_username(auth, u.as_deref())?),
            None if changes.auth_kind.is_some() => {
                Some(validate_username(auth, current.username.as_deref())?)
            }
            None => None,
        };
        if let Some(secret) = &changes.secret {
            validate_secret(secret)?;
        }
        let update = ConnectionUpdate {
            name: name.clone(),
            base_url: base_url.clone(),
            auth_kind: changes.auth_kind.as_ref().map(|_| auth.as_str().to_owned()),
            username,
            secret: changes
                .secret
                .as_ref()
                .map(|s| self.keyring.seal(&Secret::new(s.expose().trim()))),
            shared: changes.shared,
            story_points_field: None,
        };
        let mut tx = self.store.begin().await?;
        tx.update_connection(id, &update, now)
            .await
            .map_err(conflicts)?;
        let detail = json!({
            "name": name,
            "base_url": base_url,
            "auth_kind": update.auth_kind,
            "secret_changed": changes.secret.is_some(),
            "shared": changes.shared,
        });
        tx.append_audit(&audit(by, "connection.updated", id, detail), now)
            .await?;
        tx.commit().await?;
        self.get(by, id).await
    }

    /// What uses a connection, for its Delete page: shown to whoever may
    /// see the connection, so they know what goes with it or why not.
    pub async fn usage(&self, by: &Authenticated, id: i64) -> Result<ConnectionUsage, EngineError> {
        let connection = self.load(by, id, ConnectionOp::View).await?;
        self.usage_of(by, &connection).await
    }

    async fn usage_of(
        &self,
        by: &Authenticated,
        connection: &Connection,
    ) -> Result<ConnectionUsage, EngineError> {
        let id = connection.id;
        Ok(ConnectionUsage {
            links: self.store.links_for_connection(id).await?.len(),
            sync_pairs: self.store.sync_pairs_on_connection(id).await?.len(),
            hook: self.store.hook_secret(id).await?.is_some(),
            may_delete: authorize(
                Some(by.actor()),
                Action::Connection(ConnectionOp::Delete, facts(connection)),
            )
            .is_ok(),
        })
    }

    pub async fn delete(
        &self,
        by: &Authenticated,
        id: i64,
        now: DateTime<Utc>,
    ) -> Result<(), EngineError> {
        let current = self.load(by, id, ConnectionOp::Delete).await?;
        if let Some(message) = self.usage_of(by, &current).await?.in_use() {
            return Err(EngineError::Conflict {
                field: None,
                message,
            });
        }
        let mut tx = self.store.begin().await?;
        tx.delete_connection(id).await?;
        tx.append_audit(
            &audit(by, "connection.deleted", id, json!({"name": current.name})),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Calls the service with the stored credentials and records the
    /// outcome as the connection's health.
    pub async fn test(
        &self,
        by: &Authenticated,
        id: i64,
        now: DateTime<Utc>,
    ) -> Result<TestOutcome, EngineError> {
        let connection = self.load(by, id, ConnectionOp::Use).await?;
        let secret = self.keyring.open(&connection.secret)?;
        let outcome = match connection.kind {
            IntegrationKind::Gitlab => {
                let auth = match connection.auth_kind.as_str() {
                    "oauth" => GitLabAuth::OAuth(secret),
                    _ => GitLabAuth::PrivateToken(secret),
                };
                let settings = GitLabSettings {
                    base_url: connection.base_url.clone(),
                    auth,
                    http: self.http.clone(),
                };
                match cairn_connect::test_gitlab(&settings).await {
                    Ok(identity) => TestOutcome {
                        ok: true,
                        account_name: Some(format!("{} (@{})", identity.name, identity.username)),
                        server_version: Some(identity.version),
                        flavour: None,
                        diagnosis: None,
                    },
                    Err(error) => failed(&error),
                }
            }
            IntegrationKind::Jira => self.test_jira(&connection, secret).await,
            other => {
                return Err(EngineError::invalid(
                    "kind",
                    format!("{} connections cannot be tested", other.title()),
                ));
            }
        };
        let check = match (&outcome.diagnosis, outcome.ok) {
            (None, true) => HealthCheck::Ok {
                account_name: outcome.account_name.clone().unwrap_or_default(),
                server_version: outcome.server_version.clone().unwrap_or_default(),
                flavour: outcome.flavour.clone(),
            },
            (diagnosis, _) => HealthCheck::Failed {
                code: diagnosis
                    .as_ref()
                    .map(|d| d.code.to_string())
                    .unwrap_or_default(),
                message: diagnosis
                    .as_ref()
                    .map(|d| format!("{} {}", d.summary, d.hint))
                    .unwrap_or_default(),
            },
        };
        match &check {
            HealthCheck::Failed { code, message } => {
                crate::notify::record_connection_failure(
                    self.store.as_ref(),
                    &connection,
                    code,
                    message,
                    now,
                )
                .await?;
            }
            ok => self.store.record_connection_health(id, ok, now).await?,
        }
        let mut tx = self.store.begin().await?;
        tx.append_audit(
            &audit(by, "connection.tested", id, json!({"ok": outcome.ok, "code": outcome.diagnosis.as_ref().map(|d| d.code.to_string())})),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// Re-seals every secret not under the current key (connection secrets
    /// and hook secrets); returns how many. Safe while servers run: each
    /// secret is swapped only if unchanged.
    pub async fn reseal_all(&self) -> Result<u64, EngineError> {
        let current = self.keyring.current_key_id();
        let mut resealed = 0;
        loop {
            let batch = self.store.connections_not_under_key(&current, 100).await?;
            if batch.is_empty() {
                return Ok(resealed + self.reseal_hook_secrets(&current).await?);
            }
            let mut progressed = false;
            for connection in batch {
                let secret = self.keyring.open(&connection.secret)?;
                let sealed = self.keyring.seal(&secret);
                if self
                    .store
                    .reseal_connection_secret(connection.id, &connection.secret, &sealed)
                    .await?
                {
                    resealed += 1;
                    progressed = true;
                }
            }
            if !progressed {
                // Someone else changed every one of them meanwhile; look again.
                tokio::task::yield_now().await;
            }
        }
    }
}

impl Connections {
    async fn reseal_hook_secrets(&self, current: &str) -> Result<u64, EngineError> {
        let mut resealed = 0;
        loop {
            let batch = self.store.hook_secrets_not_under_key(current, 100).await?;
            if batch.is_empty() {
                return Ok(resealed);
            }
            for hook in batch {
                let secret = self.keyring.open(&hook.secret)?;
                let sealed = self.keyring.seal(&secret);
                if self
                    .store
                    .reseal_hook_secret(hook.connection_id, &hook.secret, &sealed)
                    .await?
                {
                    resealed += 1;
                }
            }
            tokio::task::yield_now().await;
        }
    }

    async fn test_jira(&self, connection: &Connection, secret: Secret) -> TestOutcome {
        let auth = match (connection.auth_kind.as_str(), &connection.username) {
            ("basic", Some(email)) => JiraAuth::CloudBasic {
                email: email.clone(),
                api_token: secret,
            },
            _ => JiraAuth::Pat(secret),
        };
        let mut settings = JiraSettings::new(connection.base_url.clone(), auth);
        settings.http = self.http.clone();
        match cairn_connect::test_jira(&settings).await {
            Ok(identity) => {
                let account = &identity.account;
                let name = account
                    .display_name
                    .clone()
                    .or_else(|| account.email_address.clone())
                    .or_else(|| account.name.clone())
                    .or_else(|| account.account_id.clone())
                    .unwrap_or_default();
                let flavour = match identity.deployment {
                    JiraDeployment::Cloud => "cloud",
                    JiraDeployment::DataCenter | JiraDeployment::Server => "datacenter",
                };
                TestOutcome {
                    ok: true,
                    account_name: Some(name),
                    server_version: Some(identity.version),
                    flavour: Some(flavour.to_owned()),
                    diagnosis: None,
                }
            }
            Err(error) => failed(&error),
        }
    }
}

fn failed(error: &ConnectError) -> TestOutcome {
    TestOutcome {
        ok: false,
        account_name: None,
        server_version: None,
        flavour: None,
        diagnosis: Some(error.diagnosis()),
    }
}
