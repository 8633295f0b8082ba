//! "Enable real-time": point a tracker's webhooks at Cairn.
//!
//! Cairn registers the hook itself when the connection's token may (a GitLab
//! project hook per project its links read, or a Jira webhook); where it may
//! not, the answer says why and carries what a person pastes by hand: the
//! URL, the secret and the events. Enabling a connection again is harmless:
//! a GitLab project hook or Jira webhook with the same URL is updated, not
//! duplicated.

use std::collections::BTreeSet;

use cairn_connect::ConnectError;
use cairn_connect::gitlab::{HookEvents, NewProjectHook, ProjectRef};
use cairn_connect::jira::NewJiraWebhook;
use cairn_core::authz::ConnectionOp;
use cairn_core::integrations::IntegrationKind;
use cairn_core::secret::Secret;
use cairn_store::{Connection, NewAuditEntry};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;

use super::{Hooks, setup};
use crate::accounts::Authenticated;
use crate::error::EngineError;
use crate::goals::gitlab_link::GitLabQuery;
use crate::goals::jira_link::link_tracker;

/// A hook Cairn registered (or found and updated).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Registered {
    /// The GitLab project, or `jira`.
    pub target: String,
    /// The tracker's id of the hook.
    pub hook_id: String,
    /// `created` or `updated`.
    #[schema(value_type = String)]
    pub action: &'static str,
}

/// A hook someone has to add by hand, and why.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ByHand {
    pub target: String,
    /// What the tracker answered, or what Cairn lacks.
    pub reason: String,
    /// The connection's diagnosis code when the tracker refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

/// The result of enabling real-time on a connection.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RealTime {
    /// Where the tracker delivers; `None` when Cairn does not know its own
    /// address (set `public_url`).
    pub url: Option<String>,
    pub url_path: String,
    #[schema(value_type = Vec<String>)]
    pub events: Vec<&'static str>,
    #[schema(value_type = String)]
    pub secret_usage: &'static str,
    /// Only when this call generated the secret: shown once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    pub registered: Vec<Registered>,
    pub by_hand: Vec<ByHand>,
}

/// Whether Cairn's hook is registered at one target (a GitLab project, or
/// the Jira site), as the tracker lists its hooks now.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Registration {
    /// The GitLab project (path or id), or `jira`.
    pub target: String,
    /// `registered`, `not_registered`, or `unknown` when it could not be
    /// checked (`reason` says why).
    #[schema(value_type = String, example = "registered")]
    pub state: &'static str,
    /// The tracker's id of Cairn's hook, when registered.
    pub hook_id: Option<String>,
    /// The events the registered hook sends.
    pub events: Vec<String>,
    /// Why it could not be checked.
    pub reason: Option<String>,
}

impl Registration {
    fn unknown(target: String, reason: String) -> Registration {
        Registration {
            target,
            state: "unknown",
            hook_id: None,
            events: Vec::new(),
            reason: Some(reason),
        }
    }

    fn found(target: String, found: Option<(String, Vec<String>)>) -> Registration {
        match found {
            Some((id, events)) => Registration {
                target,
                state: "registered",
                hook_id: Some(id),
                events,
                reason: None,
            },
            None => Registration {
                target,
                state: "not_registered",
                hook_id: None,
                events: Vec::new(),
                reason: None,
            },
        }
    }
}

/// How long one target's check may take before the page says it could not
/// be checked (the page waits for it).
pub const REGISTRATION_CHECK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

fn check_failed(error: &ConnectError) -> String {
    let d = error.diagnosis();
    match error.status() {
        Some(401 | 403) => format!(
            "the connection's token may not list webhooks here ({}); a GitLab project's hooks need the Maintainer role, Jira's webhooks an administrator",
            d.summary
        ),
        _ => format!("{} {}", d.summary, d.hint),
    }
}

fn gitlab_events(hook: &cairn_connect::gitlab::ProjectHook) -> Vec<String> {
    [
        (hook.issues_events, "issues"),
        (
            hook.confidential_issues_events.unwrap_or(false),
            "confidential issues",
        ),
        (hook.note_events, "comments"),
        (hook.merge_requests_events, "merge requests"),
        (hook.push_events, "pushes"),
        (hook.tag_push_events, "tag pushes"),
    ]
    .into_iter()
    .filter(|(on, _)| *on)
    .map(|(_, name)| name.to_owned())
    .collect()
}

fn refused(target: String, error: &ConnectError) -> ByHand {
    let d = error.diagnosis();
    let reason = match error.status() {
        Some(401 | 403) => format!(
            "the connection's token may not manage webhooks here ({}); add the hook by hand",
            d.summary
        ),
        _ => format!("{} {}", d.summary, d.hint),
    };
    ByHand {
        target,
        reason,
        code: Some(d.code.to_string()),
    }
}

impl Hooks {
    /// Registers Cairn's webhook with the tracker where the token may, for
    /// `projects` (GitLab; default: every project the connection's links
    /// read). `base_url` is how the tracker reaches Cairn. Generates the
    /// connection's hook secret when it has none (returned once).
    pub async fn enable_real_time(
        &self,
        by: &Authenticated,
        connection_id: i64,
        base_url: Option<&str>,
        projects: Vec<String>,
        now: DateTime<Utc>,
    ) -> Result<RealTime, EngineError> {
        let connection = self
            .visible_connection(by, connection_id, ConnectionOp::Edit)
            .await?;
        let hook = setup(connection.id, connection.kind);
        let url = base_url.map(|b| format!("{}{}", b.trim_end_matches('/'), hook.url_path));
        // A refusal (no project to hook) comes before anything is stored,
        // so it never generates a secret nobody saw.
        let projects = match (&url, connection.kind) {
            (None, _) | (_, IntegrationKind::Jira) => BTreeSet::new(),
            _ => self.projects_to_hook(&connection, projects).await?,
        };
        let (secret, generated) = match self.store.hook_secret(connection.id).await? {
            Some(sealed) => (self.keyring.open(&sealed.secret)?, false),
            None => (
                self.rotate_secret(by, connection.id, now).await?.secret,
                true,
            ),
        };
        let mut outcome = RealTime {
            url: url.clone(),
            url_path: hook.url_path.clone(),
            events: hook.events.clone(),
            secret_usage: hook.secret_usage,
            secret: generated.then(|| secret.expose().to_owned()),
            registered: Vec::new(),
            by_hand: Vec::new(),
        };
        let Some(url) = url else {
            outcome.by_hand.push(ByHand {
                target: connection.name.clone(),
                reason: "Cairn does not know the address GitLab or Jira can reach it at: set `public_url`".to_owned(),
                code: None,
            });
            return Ok(outcome);
        };
        match connection.kind {
            IntegrationKind::Jira => {
                self.register_jira(&connection, &url, &secret, &mut outcome)
                    .await?
            }
            _ => {
                for project in projects {
                    self.register_gitlab(&connection, &project, &url, &secret, &mut outcome)
                        .await?;
                }
            }
        }
        let mut tx = self.store.begin().await?;
        tx.append_audit(
            &NewAuditEntry {
                actor: by.user.email.clone(),
                action: "connection.real_time_enabled".to_owned(),
                subject: format!("connection:{}", connection.id),
                detail: json!({
                    "url": outcome.url,
                    "registered": outcome.registered.iter().map(|r| &r.target).collect::<Vec<_>>(),
                    "by_hand": outcome.by_hand.iter().map(|r| &r.target).collect::<Vec<_>>(),
                }),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// Whether Cairn's hook (the URL under `base_url`) is registered: per
    /// GitLab project its key results read or its sync pairs use, or on
    /// the Jira site. Each target is asked at most
    /// [`REGISTRATION_CHECK_TIMEOUT`]; what cannot be checked says why.
    pub async fn registrations(
        &self,
        by: &Authenticated,
        connection_id: i64,
        base_url: Option<&str>,
    ) -> Result<Vec<Registration>, EngineError> {
        let connection = self
            .visible_connection(by, connection_id, ConnectionOp::View)
            .await?;
        let hook = setup(connection.id, connection.kind);
        let targets: Vec<String> = match connection.kind {
            IntegrationKind::Jira => vec!["jira".to_owned()],
            _ => self
                .hooked_projects(&connection)
                .await?
                .into_iter()
                .collect(),
        };
        let Some(base_url) = base_url else {
            return Ok(targets
                .into_iter()
                .map(|t| {
                    Registration::unknown(
                        t,
                        "Cairn does not know the address GitLab or Jira reach it at: set `public_url`".to_owned(),
                    )
                })
                .collect());
        };
        let url = format!("{}{}", base_url.trim_end_matches('/'), hook.url_path);
        // One at a time, each bounded; once the tracker did not answer,
        // the rest are not asked (the page would wait for each).
        let mut found = Vec::new();
        let mut silent = false;
        for target in targets {
            if silent {
                found.push(Registration::unknown(
                    target,
                    "not checked: the tracker did not answer for the previous project".to_owned(),
                ));
                continue;
            }
            let check = self.registered_at(&connection, &target, &url);
            found.push(
                match tokio::time::timeout(REGISTRATION_CHECK_TIMEOUT, check).await {
                    Ok(Ok(hook)) => Registration::found(target, hook),
                    Ok(Err(error)) => Registration::unknown(target, check_failed(&error)),
                    Err(_) => {
                        silent = true;
                        Registration::unknown(
                            target,
                            format!(
                                "no answer within {} seconds; try again later",
                                REGISTRATION_CHECK_TIMEOUT.as_secs()
                            ),
                        )
                    }
                },
            );
        }
        if found.iter().any(|r| r.state != "unknown") {
            crate::health::worked(self.store.as_ref(), connection.id, Utc::now()).await?;
        }
        Ok(found)
    }

    /// Cairn's hook at one target: its id and events, or `None`.
    async fn registered_at(
        &self,
        connection: &Connection,
        target: &str,
        url: &str,
    ) -> Result<Option<(String, Vec<String>)>, ConnectError> {
        if connection.kind == IntegrationKind::Jira {
            let client = self
                .goals
                .jira_client(connection)
                .map_err(|e| ConnectError::InvalidInput(e.to_string()))?;
            return Ok(client
                .find_webhook(url)
                .await?
                .map(|found| (found.id, found.events)));
        }
        let client = self
            .goals
            .gitlab_client(connection)
            .map_err(|e| ConnectError::InvalidInput(e.to_string()))?;
        let project = match target.parse::<u64>() {
            Ok(id) => ProjectRef::Id(id),
            Err(_) => ProjectRef::Path(target.to_owned()),
        };
        let mut pages = client.hooks(&project);
        while let Some(page) = pages.next_page().await? {
            if let Some(found) = page.into_iter().find(|h| h.url == url) {
                return Ok(Some((found.id.to_string(), gitlab_events(&found))));
            }
        }
        Ok(None)
    }

    /// The GitLab projects the connection's key results read and its sync
    /// pairs' sides use.
    async fn hooked_projects(
        &self,
        connection: &Connection,
    ) -> Result<BTreeSet<String>, EngineError> {
        let mut projects = BTreeSet::new();
        for link in self.store.links_for_connection(connection.id).await? {
            if link_tracker(&link) == IntegrationKind::Gitlab
                && let Ok(query) = serde_json::from_value::<GitLabQuery>(link.query)
            {
                projects.insert(query.project);
            }
        }
        for pair in self.store.sync_pairs_on_connection(connection.id).await? {
            for side in [&pair.settings.left, &pair.settings.right] {
                if side.connection_id == connection.id {
                    projects.insert(side.project.clone());
                }
            }
        }
        Ok(projects)
    }

    /// The projects named, or every project the connection's GitLab links
    /// read or its sync pairs use; 422 `projects` when there is none.
    async fn projects_to_hook(
        &self,
        connection: &Connection,
        named: Vec<String>,
    ) -> Result<BTreeSet<String>, EngineError> {
        let mut projects: BTreeSet<String> = named
            .into_iter()
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty())
            .collect();
        if projects.is_empty() {
            projects = self.hooked_projects(connection).await?;
        }
        if projects.is_empty() {
            return Err(EngineError::invalid(
                "projects",
                "no key result reads a project through this connection yet; name the projects to hook",
            ));
        }
        Ok(projects)
    }

    async fn register_gitlab(
        &self,
        connection: &Connection,
        project: &str,
        url: &str,
        secret: &Secret,
        outcome: &mut RealTime,
    ) -> Result<(), EngineError> {
        let client = self.goals.gitlab_client(connection)?;
        let project_ref = match project.parse::<u64>() {
            Ok(id) => ProjectRef::Id(id),
            Err(_) => ProjectRef::Path(project.to_owned()),
        };
        let hook = NewProjectHook {
            url: url.to_owned(),
            token: Some(secret.clone()),
            events: HookEvents::default(),
            enable_ssl_verification: true,
        };
        let mut existing = None;
        let mut pages = client.hooks(&project_ref);
        loop {
            match pages.next_page().await {
                Ok(Some(page)) => {
                    if let Some(found) = page.into_iter().find(|h| h.url == url) {
                        existing = Some(found.id);
                        break;
                    }
                }
                Ok(None) => break,
                Err(error) => {
                    outcome.by_hand.push(refused(project.to_owned(), &error));
                    return Ok(());
                }
            }
        }
        let result = match existing {
            Some(id) => client
                .update_hook(&project_ref, id, &hook)
                .await
                .map(|h| (h.id, "updated")),
            None => client
                .create_hook(&project_ref, &hook)
                .await
                .map(|h| (h.id, "created")),
        };
        if result.is_ok() {
            crate::health::worked(self.store.as_ref(), connection.id, Utc::now()).await?;
        }
        match result {
            Ok((id, action)) => outcome.registered.push(Registered {
                target: project.to_owned(),
                hook_id: id.to_string(),
                action,
            }),
            Err(error) => outcome.by_hand.push(refused(project.to_owned(), &error)),
        }
        Ok(())
    }

    async fn register_jira(
        &self,
        connection: &Connection,
        url: &str,
        secret: &Secret,
        outcome: &mut RealTime,
    ) -> Result<(), EngineError> {
        let client = self.goals.jira_client(connection)?;
        // Only the issues the links' queries select need to reach Cairn.
        let mut filters = Vec::new();
        for link in self.store.links_for_connection(connection.id).await? {
            if link_tracker(&link) == IntegrationKind::Jira
                && let Ok(query) =
                    serde_json::from_value::<crate::goals::jira_link::JiraQuery>(link.query)
            {
                filters.push(format!(
                    "({})",
                    crate::goals::jira_link::filter_part(&query.jql)
                ));
            }
        }
        let hook = NewJiraWebhook {
            name: format!("Cairn: {}", connection.name),
            url: url.to_owned(),
            events: outcome.events.iter().map(|e| (*e).to_owned()).collect(),
            jql_filter: (!filters.is_empty()).then(|| filters.join(" OR ")),
            secret: Some(secret.clone()),
        };
        let result = client.register_webhook(&hook).await;
        if result.is_ok() {
            crate::health::worked(self.store.as_ref(), connection.id, Utc::now()).await?;
        }
        match result {
            Ok(registered) => outcome.registered.push(Registered {
                target: "jira".to_owned(),
                hook_id: registered.id,
                action: registered.action.as_str(),
            }),
            Err(error) => outcome.by_hand.push(refused("jira".to_owned(), &error)),
        }
        Ok(())
    }
}
