//! The backstop: the last 30 days of each connected person's GitLab
//! activity from the Events API, with every commit of a push read from the
//! Commits API (a push hook lists at most 20, and GitLab sends none for a
//! push touching more than 3 branches). Run as a job when the source is
//! enabled; what hooks already delivered is the same work (fingerprints)
//! and is not stored twice.

use std::sync::Arc;

use async_trait::async_trait;
use cairn_connect::gitlab::{Event, ProjectRef};
use cairn_core::activity::{
    Activity, ActivityDetail, ActivityPerson, ActivityProject, CommentActivity, CommentOn,
    CommitActivity, IssueAction, IssueActivity, MergeRequestAction, MergeRequestActivity,
};
use cairn_store::time::{ActivitySource, TimeSource};
use cairn_store::{Job, NewJob};
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use super::TimeEngine;
use super::ingest::{Author, IngestCounts, Observed};
use crate::error::EngineError;
use crate::jobs::{JobError, JobHandler, Registry};

/// The job that fills the last 30 days.
pub const BACKFILL_KIND: &str = "time_backfill";

/// How far back the backfill reads.
pub const BACKFILL_DAYS: i64 = 30;

/// Most commits read back for one pushed event.
const MAX_COMMITS_PER_PUSH: usize = 1_000;

impl TimeEngine {
    /// Registers the backfill job.
    pub fn register(self: &Arc<Self>, registry: &mut Registry) {
        registry.register(BACKFILL_KIND, BackfillHandler(self.clone()));
    }

    /// Enqueues the backfill (one at a time).
    pub async fn enqueue_backfill(&self, now: DateTime<Utc>) -> Result<(), EngineError> {
        let mut job = NewJob::new(BACKFILL_KIND, json!({}), now);
        job.dedupe_key = Some(BACKFILL_KIND.to_owned());
        self.store.enqueue(job, now).await?;
        Ok(())
    }

    /// Reads every connected person's last 30 days of events and stores
    /// what hooks did not deliver.
    pub async fn backfill(&self, now: DateTime<Utc>) -> Result<IngestCounts, EngineError> {
        let Some(source) = self.store.get_time_source().await? else {
            return Ok(IngestCounts::default());
        };
        if !source.source.enabled {
            return Ok(IngestCounts::default());
        }
        let client = self.gitlab_client(source.source.connection_id).await?;
        let after = (now - Duration::days(BACKFILL_DAYS)).date_naive();
        let mut counts = IngestCounts::default();
        for person in self.store.list_time_people().await? {
            let Ok(gitlab_id) = u64::try_from(person.person.gitlab_user_id) else {
                continue;
            };
            let events = client
                .user_events(gitlab_id, Some(after))
                .collect_all()
                .await
                .map_err(|e| EngineError::Upstream(e.diagnosis()))?;
            let author = Author {
                gitlab_user_id: Some(gitlab_id),
                email: None,
                username: Some(person.person.gitlab_username.clone()),
            };
            let mut observed = Vec::new();
            for event in &events {
                let Some(project) = project_of(&source, event) else {
                    continue;
                };
                if event.push_data.is_some() {
                    observed.extend(self.pushed(&client, event, &author, &project).await?);
                } else if let Some(o) = other(event, &author, project, now) {
                    observed.push(o);
                }
            }
            let got = self
                .store_observed(observed, now)
                .await
                .map_err(|e| EngineError::Unavailable(e.to_string()))?;
            counts.merge(got);
        }
        // Every person's events were read with the connection: it works.
        crate::health::worked(self.store.as_ref(), source.source.connection_id, now).await?;
        let mut tx = self.store.begin().await?;
        tx.mark_time_backfilled(now).await?;
        tx.commit().await?;
        Ok(counts)
    }

    async fn pushed(
        &self,
        client: &cairn_connect::GitLabClient,
        event: &Event,
        pusher: &Author,
        project: &ActivityProject,
    ) -> Result<Vec<Observed>, EngineError> {
        let Some(push) = &event.push_data else {
            return Ok(Vec::new());
        };
        let (Some(to), Some(branch)) = (push.commit_to.as_deref(), push.ref_name.as_deref()) else {
            return Ok(Vec::new());
        };
        if push.ref_type.as_deref() == Some("tag") || push.commit_count == 0 {
            return Ok(Vec::new());
        }
        let want = usize::try_from(push.commit_count)
            .unwrap_or(MAX_COMMITS_PER_PUSH)
            .min(MAX_COMMITS_PER_PUSH);
        let mut pages = client.commits(&ProjectRef::Id(project.id), to);
        let mut commits = Vec::new();
        while commits.len() < want {
            match pages
                .next_page()
                .await
                .map_err(|e| EngineError::Upstream(e.diagnosis()))?
            {
                Some(page) if !page.is_empty() => commits.extend(page),
                _ => break,
            }
        }
        commits.truncate(want);
        Ok(commits
            .into_iter()
            .map(|c| {
                let email = c.author_email.trim().to_owned();
                let author = if email.is_empty() {
                    pusher.clone()
                } else {
                    Author {
                        gitlab_user_id: None,
                        email: Some(email.clone()),
                        username: None,
                    }
                };
                let committed = c.committed_date.unwrap_or_else(Utc::now);
                Observed {
                    author,
                    url: c.web_url.clone(),
                    source: ActivitySource::Commits,
                    activity: Activity {
                        person: ActivityPerson::default(),
                        project: project.clone(),
                        detail: ActivityDetail::Commit(CommitActivity {
                            sha: c.id,
                            author_name: c.author_name,
                            author_email: email,
                            authored_at: c.authored_date.unwrap_or(committed),
                            committed_at: committed,
                            message: c.message,
                            branch: Some(branch.to_owned()),
                        }),
                    },
                }
            })
            .collect())
    }
}

/// The watched project an event happened in.
fn project_of(source: &TimeSource, event: &Event) -> Option<ActivityProject> {
    let id = event.project_id?;
    source
        .source
        .projects
        .iter()
        .find(|p| u64::try_from(p.id).ok() == Some(id))
        .map(|p| ActivityProject {
            id,
            path: p.path.clone(),
        })
}

/// A merge request, comment or issue event.
fn other(
    event: &Event,
    author: &Author,
    project: ActivityProject,
    now: DateTime<Utc>,
) -> Option<Observed> {
    let at = event.created_at.unwrap_or(now);
    let action = event.action_name.as_deref()?;
    let title = event.target_title.clone().unwrap_or_default();
    let detail = match (event.target_type.as_deref(), action) {
        (Some("MergeRequest"), _) => ActivityDetail::MergeRequest(MergeRequestActivity {
            action: match action {
                "opened" | "reopened" => MergeRequestAction::Opened,
                "accepted" | "merged" => MergeRequestAction::Merged,
                "approved" => MergeRequestAction::Approved,
                "updated" => MergeRequestAction::Updated,
                _ => return None,
            },
            iid: event.target_iid?,
            title,
            description: String::new(),
            source_branch: String::new(),
            target_branch: String::new(),
            linked_issues: Vec::new(),
            at,
        }),
        (Some("Issue"), _) => ActivityDetail::Issue(IssueActivity {
            action: match action {
                "opened" => IssueAction::Opened,
                "closed" => IssueAction::Closed,
                "reopened" => IssueAction::Reopened,
                _ => IssueAction::Edited,
            },
            iid: event.target_iid?,
            title,
            at,
        }),
        (_, "commented on") => {
            let note = event.note.as_ref()?;
            let iid = note
                .get("noteable_iid")
                .and_then(Value::as_u64)
                .or(event.target_iid);
            let on = match note.get("noteable_type").and_then(Value::as_str) {
                Some("MergeRequest") => CommentOn::MergeRequest {
                    iid: iid?,
                    title,
                    source_branch: String::new(),
                },
                Some("Commit") => CommentOn::Commit {
                    sha: note
                        .get("commit_id")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                },
                _ => CommentOn::Issue { iid: iid? },
            };
            ActivityDetail::Comment(CommentActivity {
                note_id: note.get("id").and_then(Value::as_u64).or(event.target_id)?,
                on,
                body: note
                    .get("body")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                at,
            })
        }
        _ => return None,
    };
    Some(Observed {
        author: author.clone(),
        url: None,
        source: ActivitySource::Events,
        activity: Activity {
            person: ActivityPerson::default(),
            project,
            detail,
        },
    })
}

struct BackfillHandler(Arc<TimeEngine>);

#[async_trait]
impl JobHandler for BackfillHandler {
    async fn run(&self, _job: &Job) -> Result<(), JobError> {
        let counts = self
            .0
            .backfill(Utc::now())
            .await
            .map_err(|e| JobError::Retry(e.to_string()))?;
        tracing::info!(
            stored = counts.stored,
            duplicates = counts.duplicates,
            unknown_authors = counts.unknown_authors,
            "time backfill finished"
        );
        Ok(())
    }
}
