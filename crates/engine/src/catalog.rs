//! The integration catalog: which kinds are enabled, with connection health.

use std::sync::Arc;

use cairn_core::authz::Action;
use cairn_core::integrations::IntegrationKind;
use cairn_store::notify::NotifyState;
use cairn_store::{Integration, NewAuditEntry, Store};
use chrono::{DateTime, Utc};
use serde_json::json;

use crate::accounts::Authenticated;
use crate::error::{EngineError, authorize};

/// One kind of the catalog with the health of what it has: for GitLab and
/// Jira their connections (from real refreshes, syncs and tests), for
/// Slack, Teams and webhooks their channels (from real deliveries).
#[derive(Debug, Clone)]
pub struct CatalogEntry {
    /// `connections`, `healthy` and `failing` count channels for a
    /// notification kind.
    pub integration: Integration,
    /// The newest failure among the failing ones: when and what.
    pub last_failure_at: Option<DateTime<Utc>>,
    pub last_failure: Option<String>,
}

pub struct Catalog {
    store: Arc<dyn Store>,
}

impl Catalog {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Catalog { store }
    }

    pub async fn list(&self, by: &Authenticated) -> Result<Vec<CatalogEntry>, EngineError> {
        authorize(Some(by.actor()), Action::ViewCatalog)?;
        self.entries().await
    }

    async fn entries(&self) -> Result<Vec<CatalogEntry>, EngineError> {
        let connections = self.store.list_connections().await?;
        let channels = self.store.list_channels().await?;
        let mut entries = Vec::new();
        for integration in self.store.list_integrations().await? {
            let entry = if integration.kind.is_tracker() {
                let newest = connections
                    .iter()
                    .filter(|c| c.kind == integration.kind)
                    .filter_map(|c| match (c.last_ok_at, c.last_error_at) {
                        (ok, Some(err)) if ok.is_none_or(|ok| ok < err) => Some((
                            err,
                            c.name.clone(),
                            c.last_error.clone().unwrap_or_default(),
                        )),
                        _ => None,
                    })
                    .max_by_key(|(at, _, _)| *at);
                CatalogEntry {
                    integration,
                    last_failure_at: newest.as_ref().map(|(at, _, _)| *at),
                    last_failure: newest.map(|(_, name, why)| format!("{name}: {why}")),
                }
            } else {
                self.channel_entry(integration, &channels).await?
            };
            entries.push(entry);
        }
        Ok(entries)
    }

    /// A notification kind's health from its channels' deliveries: a
    /// channel is failing while its last attempts failed, healthy once a
    /// delivery went through, neither before its first delivery.
    async fn channel_entry(
        &self,
        mut integration: Integration,
        channels: &[cairn_store::notify::Channel],
    ) -> Result<CatalogEntry, EngineError> {
        let of_kind: Vec<_> = channels
            .iter()
            .filter(|c| c.kind.as_str() == integration.kind.as_str())
            .collect();
        let failing: Vec<_> = of_kind
            .iter()
            .filter(|c| c.consecutive_failures > 0)
            .collect();
        integration.connections = of_kind.len() as u64;
        integration.failing = failing.len() as u64;
        integration.healthy = of_kind
            .iter()
            .filter(|c| c.consecutive_failures == 0 && c.last_success_at.is_some())
            .count() as u64;
        let mut newest: Option<(DateTime<Utc>, String)> = None;
        for channel in failing {
            if let (false, Some(reason)) = (channel.enabled, &channel.disabled_reason) {
                // Disabled after its failures: that says more than the
                // retry that found it disabled.
                let at = channel.failing_since.unwrap_or(channel.updated_at);
                if newest.as_ref().is_none_or(|(seen, _)| *seen < at) {
                    newest = Some((at, format!("{}: disabled, {reason}", channel.name)));
                }
                continue;
            }
            let Some(delivery) = self
                .store
                .list_notify_deliveries(channel.id, 10)
                .await?
                .into_iter()
                .find(|d| d.state != NotifyState::Delivered && d.attempts > 0)
            else {
                continue;
            };
            let Some(attempt) = self
                .store
                .notify_attempts(delivery.id)
                .await?
                .into_iter()
                .max_by_key(|a| a.attempt)
            else {
                continue;
            };
            let why = match (&attempt.error, attempt.status_code) {
                (Some(error), _) => error.clone(),
                (None, Some(code)) => format!("answered {code}"),
                (None, None) => "failed".to_owned(),
            };
            if newest.as_ref().is_none_or(|(at, _)| *at < attempt.at) {
                newest = Some((attempt.at, format!("{}: {why}", channel.name)));
            }
        }
        Ok(CatalogEntry {
            integration,
            last_failure_at: newest.as_ref().map(|(at, _)| *at),
            last_failure: newest.map(|(_, why)| why),
        })
    }

    /// Enables or disables a kind. Disabling pauses its jobs (they wait in
    /// the queue) and keeps every connection and link; enabling resumes.
    pub async fn set_enabled(
        &self,
        by: &Authenticated,
        kind: &str,
        enabled: bool,
        now: DateTime<Utc>,
    ) -> Result<CatalogEntry, EngineError> {
        authorize(Some(by.actor()), Action::ManageCatalog)?;
        let kind = IntegrationKind::parse(kind)
            .ok_or_else(|| EngineError::NotFound(format!("no integration `{kind}`")))?;
        let mut tx = self.store.begin().await?;
        tx.set_integration_enabled(kind, enabled, now).await?;
        let action = if enabled {
            "integration.enabled"
        } else {
            "integration.disabled"
        };
        tx.append_audit(
            &NewAuditEntry {
                actor: by.user.email.clone(),
                action: action.to_owned(),
                subject: format!("integration:{}", kind.as_str()),
                detail: json!({}),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        self.entries()
            .await?
            .into_iter()
            .find(|e| e.integration.kind == kind)
            .ok_or_else(|| EngineError::NotFound(format!("no integration `{}`", kind.as_str())))
    }

    pub async fn audit_log(
        &self,
        by: &Authenticated,
        limit: u32,
    ) -> Result<Vec<cairn_store::AuditEntry>, EngineError> {
        authorize(Some(by.actor()), Action::ViewAudit)?;
        Ok(self.store.list_audit(limit.clamp(1, 1000)).await?)
    }
}
