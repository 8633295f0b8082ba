//! Jira development links (off by default; turned on per GitLab connection
//! and Jira connection, see [`cairn_store::time::DevLinkPair`]): a Jira key mentioned in a commit, merge request or comment
//! adds one remote link to the issue ("GitLab MR !42: title"), and, when
//! enabled, one comment; `Closes|Fixes|Resolves KEY` in a commit pushed to
//! the default branch or a merge request merged into it moves the issue to
//! a done status through its workflow (skipped when it is done already).
//!
//! One link per piece of work, whoever did it: the link's `globalId` is
//! the commit's fingerprint (so a rebased or force-pushed copy updates the
//! same link instead of adding one), the merge request (project and iid)
//! or the note. A key Jira does not know (404) is skipped, never a failed
//! delivery.

use cairn_connect::ConnectError;
use cairn_core::activity::ActivityDetail;
use cairn_core::integrations::IntegrationKind;
use cairn_store::NewAuditEntry;
use cairn_store::time::{DevLinkPair, DevLinks};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::ingest::Observed;
use super::{TimeEngine, require_admin};
use crate::accounts::Authenticated;
use crate::error::EngineError;

/// What one activity asks of Jira.
pub(crate) struct LinkWork {
    global_id: String,
    url: String,
    title: String,
    keys: Vec<String>,
    closes: Vec<String>,
}

/// The link work of activities (before they are stored, whoever did them).
pub(crate) fn link_work(observed: &[Observed], default_branch: &str) -> Vec<LinkWork> {
    observed
        .iter()
        .filter_map(|o| {
            let a = &o.activity;
            let global_id = match &a.detail {
                ActivityDetail::Commit(_) => format!("cairn:commit:{}", a.fingerprint().as_str()),
                ActivityDetail::MergeRequest(mr) => format!("cairn:mr:{}:{}", a.project.id, mr.iid),
                ActivityDetail::Comment(c) => format!("cairn:note:{}:{}", a.project.id, c.note_id),
                ActivityDetail::Issue(_) => return None,
            };
            let url = o.url.clone()?;
            let keys: Vec<String> = a
                .references()
                .jira_keys()
                .map(|k| k.as_str().to_owned())
                .collect();
            if keys.is_empty() {
                return None;
            }
            Some(LinkWork {
                global_id,
                url,
                title: a.link_title(),
                keys,
                closes: a
                    .closes_jira_issues(default_branch)
                    .iter()
                    .map(|k| k.as_str().to_owned())
                    .collect(),
            })
        })
        .collect()
}

impl TimeEngine {
    /// The connection pairs with development links (admin).
    pub async fn dev_link_pairs(
        &self,
        by: &Authenticated,
    ) -> Result<Vec<DevLinkPair>, EngineError> {
        require_admin(by)?;
        Ok(self.store.list_dev_link_pairs().await?)
    }

    /// Turns development links on for a GitLab connection and a Jira
    /// connection, or changes what they do (admin). They act on what that
    /// GitLab connection's real-time hooks deliver.
    pub async fn set_dev_links(
        &self,
        by: &Authenticated,
        gitlab_connection_id: i64,
        jira_connection_id: i64,
        links: DevLinks,
        now: DateTime<Utc>,
    ) -> Result<DevLinkPair, EngineError> {
        require_admin(by)?;
        for (id, field, kind, what) in [
            (
                gitlab_connection_id,
                "gitlab_connection_id",
                IntegrationKind::Gitlab,
                "a GitLab connection",
            ),
            (
                jira_connection_id,
                "jira_connection_id",
                IntegrationKind::Jira,
                "a Jira connection",
            ),
        ] {
            let connection = self
                .store
                .get_connection(id)
                .await?
                .ok_or_else(|| EngineError::invalid(field, "no such connection"))?;
            if connection.kind != kind {
                return Err(EngineError::invalid(field, format!("must be {what}")));
            }
        }
        let mut tx = self.store.begin().await?;
        let pair = tx
            .save_dev_link_pair(gitlab_connection_id, jira_connection_id, links, now)
            .await?;
        tx.append_audit(
            &NewAuditEntry {
                actor: by.user.email.clone(),
                action: "time.dev_links_saved".to_owned(),
                subject: format!("connections:{gitlab_connection_id}:{jira_connection_id}"),
                detail: json!({"comment": links.comment, "transition": links.transition}),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(pair)
    }

    /// Turns a pair's development links off (admin); links already added
    /// in Jira stay.
    pub async fn delete_dev_links(
        &self,
        by: &Authenticated,
        id: i64,
        now: DateTime<Utc>,
    ) -> Result<(), EngineError> {
        require_admin(by)?;
        let mut tx = self.store.begin().await?;
        if !tx.delete_dev_link_pair(id).await? {
            return Err(EngineError::NotFound(format!("no development links {id}")));
        }
        tx.append_audit(
            &NewAuditEntry {
                actor: by.user.email.clone(),
                action: "time.dev_links_deleted".to_owned(),
                subject: format!("dev_links:{id}"),
                detail: json!({}),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Adds the links (and comments, transitions) the work asks for.
    /// Returns how many links were added.
    pub(crate) async fn apply_links(
        &self,
        pair: &DevLinkPair,
        work: &[LinkWork],
    ) -> Result<u64, EngineError> {
        let settings = pair.links;
        if work.is_empty() {
            return Ok(0);
        }
        let client = self.jira_client(pair.jira_connection_id).await?;
        let mut added = 0;
        for w in work {
            for key in &w.keys {
                let existing = match client.remote_links(key).await {
                    Ok(links) => links,
                    Err(e) if skippable(&e) => continue,
                    Err(e) => return Err(EngineError::Upstream(e.diagnosis())),
                };
                let known = existing
                    .iter()
                    .any(|l| l.get("globalId").and_then(Value::as_str) == Some(&w.global_id));
                match client
                    .put_remote_link(key, &w.global_id, &w.url, &w.title)
                    .await
                {
                    Ok(()) => {}
                    Err(e) if skippable(&e) => continue,
                    Err(e) => return Err(EngineError::Upstream(e.diagnosis())),
                }
                if !known {
                    added += 1;
                    if settings.comment {
                        let text = format!("{}\n{}", w.title, w.url);
                        if let Err(e) = client.add_comment(key, &text).await
                            && !skippable(&e)
                        {
                            return Err(EngineError::Upstream(e.diagnosis()));
                        }
                    }
                }
            }
            if settings.transition {
                for key in &w.closes {
                    self.move_to_done(&client, key).await?;
                }
            }
        }
        metrics::counter!("cairn_time_dev_links_total").increment(added);
        Ok(added)
    }

    async fn move_to_done(
        &self,
        client: &cairn_connect::JiraClient,
        key: &str,
    ) -> Result<(), EngineError> {
        let upstream = |e: ConnectError| EngineError::Upstream(e.diagnosis());
        let issue = match client.issue(key, &["status"]).await {
            Ok(issue) => issue,
            Err(e) if skippable(&e) => return Ok(()),
            Err(e) => return Err(upstream(e)),
        };
        if issue.fields.status.as_ref().is_some_and(|s| s.is_done()) {
            return Ok(());
        }
        let transitions = client.transitions(key).await.map_err(upstream)?;
        let Some(done) = transitions
            .iter()
            .find(|t| t.to.as_ref().is_some_and(|s| s.is_done()))
        else {
            tracing::info!(key, "no transition to a done status from here; left as is");
            return Ok(());
        };
        match client.transition_issue(key, &done.id).await {
            Ok(()) => Ok(()),
            Err(e) if skippable(&e) => Ok(()),
            Err(e) => Err(upstream(e)),
        }
    }
}

/// A refusal about one issue (unknown key, no permission, a required
/// field): skipped, so the rest of the delivery goes on.
fn skippable(error: &ConnectError) -> bool {
    error
        .status()
        .is_some_and(|s| (400..500).contains(&s) && s != 429)
}
