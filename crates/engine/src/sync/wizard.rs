//! What the pair wizard of the pages needs beyond the API's operations: the
//! projects a connection offers as a side, and a stored pair turned back
//! into the input its next step changes (a draft is a pair saved inactive,
//! so every step is checked against both trackers as it is submitted).

use cairn_connect::gitlab::ProjectFilter;
use cairn_core::integrations::IntegrationKind;
use cairn_store::sync::{SyncPair, SyncSide};

use super::SyncEngine;
use super::pairs::{PairInput, SideInput, StatusMapInput};
use crate::accounts::Authenticated;
use crate::error::EngineError;

/// How many projects a side's list offers (GitLab: the first page of the
/// projects the token is a member of).
const PROJECTS_LISTED: u32 = 100;

/// A project a side may sync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectChoice {
    /// What the pair's `project` takes: GitLab's path, Jira's key.
    pub project: String,
    /// For people: the project's name with its path or key.
    pub label: String,
}

impl SyncEngine {
    /// The projects connection `connection_id` offers as a side, by name;
    /// `field` names the form field a refusal belongs to.
    pub async fn side_projects(
        &self,
        by: &Authenticated,
        field: &str,
        connection_id: i64,
    ) -> Result<Vec<ProjectChoice>, EngineError> {
        let connection = self.usable_connection(by, field, connection_id).await?;
        let unreachable = |e: cairn_connect::ConnectError| {
            let d = e.diagnosis();
            EngineError::invalid(field, format!("{} {}", d.summary, d.hint))
        };
        let mut choices: Vec<ProjectChoice> = match connection.kind {
            IntegrationKind::Gitlab => {
                let filter = ProjectFilter {
                    membership: true,
                    search: None,
                    archived: Some(false),
                    per_page: Some(PROJECTS_LISTED),
                };
                self.clients
                    .gitlab(&connection)?
                    .projects(&filter)
                    .next_page()
                    .await
                    .map_err(unreachable)?
                    .unwrap_or_default()
                    .into_iter()
                    .map(|p| ProjectChoice {
                        label: format!("{} ({})", p.name, p.path_with_namespace),
                        project: p.path_with_namespace,
                    })
                    .collect()
            }
            IntegrationKind::Jira => self
                .clients
                .jira(&connection)?
                .projects()
                .await
                .map_err(unreachable)?
                .into_iter()
                .filter_map(|p| {
                    let key = p.key?;
                    Some(ProjectChoice {
                        label: format!("{} ({key})", p.name.unwrap_or_else(|| key.clone())),
                        project: key,
                    })
                })
                .collect(),
            other => {
                return Err(EngineError::invalid(
                    field,
                    format!(
                        "a {} connection cannot be a side of a sync pair",
                        other.as_str()
                    ),
                ));
            }
        };
        choices.sort_by_key(|c| c.label.to_lowercase());
        Ok(choices)
    }
}

impl PairInput {
    /// An inactive pair of two sides, every other setting at its default:
    /// the wizard's draft, its later steps filling in the rest.
    pub fn draft(name: String, left: SideInput, right: SideInput) -> PairInput {
        PairInput {
            name,
            left,
            right,
            active: false,
            created_after: None,
            fields: Default::default(),
            status_mapping: None,
            transition_defaults: None,
            jira_issue_type: None,
            scan_interval_secs: None,
            delete_comment_copies: false,
            scan_overlap_secs: None,
            auto_map_people: false,
        }
    }
}

/// A stored pair as the input that would save it again unchanged, for a
/// step that changes one part of it.
pub fn input_of(pair: &SyncPair) -> PairInput {
    let s = &pair.settings;
    let side = |side: &SyncSide| SideInput {
        connection_id: side.connection_id,
        project: side.project.clone(),
        labels: side.scope.labels.clone(),
        jql: side.scope.jql.clone(),
    };
    PairInput {
        name: s.name.clone(),
        left: side(&s.left),
        right: side(&s.right),
        active: s.active,
        created_after: s.created_after,
        fields: s.fields.clone(),
        status_mapping: s.status_mapping.as_ref().map(|m| {
            m.0.iter()
                .map(|e| StatusMapInput {
                    status: e.status_id.clone(),
                    state: e.state,
                    primary: e.primary,
                })
                .collect()
        }),
        transition_defaults: Some(s.transition_defaults.clone()),
        jira_issue_type: s.jira_issue_type.clone(),
        scan_interval_secs: Some(s.scan_interval_secs),
        delete_comment_copies: s.delete_comment_copies,
        scan_overlap_secs: Some(s.scan_overlap_secs),
        auto_map_people: s.auto_map_people,
    }
}
