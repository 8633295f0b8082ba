//! The integration catalog: which kinds are enabled, with connection health.

use std::sync::Arc;

use cairn_core::authz::Action;
use cairn_core::integrations::IntegrationKind;
use cairn_store::{Integration, NewAuditEntry, Store};
use chrono::{DateTime, Utc};
use serde_json::json;

use crate::accounts::Authenticated;
use crate::error::{EngineError, authorize};

pub struct Catalog {
    store: Arc<dyn Store>,
}

impl Catalog {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Catalog { store }
    }

    pub async fn list(&self, by: &Authenticated) -> Result<Vec<Integration>, EngineError> {
        authorize(Some(by.actor()), Action::ViewCatalog)?;
        Ok(self.store.list_integrations().await?)
    }

    /// Enables or disables a kind. Disabling pauses its jobs (they wait in
    /// the queue) and keeps every connection and link; enabling resumes.
    pub async fn set_enabled(
        &self,
        by: &Authenticated,
        kind: &str,
        enabled: bool,
        now: DateTime<Utc>,
    ) -> Result<Integration, EngineError> {
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
        self.store
            .list_integrations()
            .await?
            .into_iter()
            .find(|i| i.kind == kind)
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
