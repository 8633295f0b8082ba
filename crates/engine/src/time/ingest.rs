//! GitLab webhooks (push, merge request, comment, issue) into activities of
//! connected people. Called from the one apply path of hooks
//! ([`crate::hooks::Hooks::apply_gitlab`]). An author nobody is connected
//! as, a push without an author email, lowercase keys or a branch naming
//! 50 keys are counted, never a failure of the delivery.

use std::collections::HashMap;

use cairn_connect::gitlab::ProjectRef;
use cairn_connect::webhook::gitlab::{HookUser, MergeRequestHook, PushHook};
use cairn_connect::webhook::{GitLabWebhook, parse_gitlab_webhook};
use cairn_core::activity::{
    Activity, ActivityDetail, ActivityPerson, ActivityProject, CommentActivity, CommentOn,
    CommitActivity, IssueAction, IssueActivity, MergeRequestAction, MergeRequestActivity,
    branch_from_ref,
};
use cairn_store::time::{ActivitySource, NewActivity, TimePerson, TimeSource};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use super::TimeEngine;
use crate::hooks::ApplyError;

/// Most commits read back for one push (GitLab lists at most 20 in the hook).
const MAX_COMMITS_PER_PUSH: usize = 1_000;

/// What one delivery (or backfill page) gave.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct IngestCounts {
    /// New activities stored.
    pub stored: u64,
    /// The same work seen before (a rebase, a force-push, the backstop).
    pub duplicates: u64,
    /// Activities by someone nobody is connected as (or with no author).
    pub unknown_authors: u64,
    /// References dropped (lowercase keys, leading zeros, over the limit).
    pub dropped_references: u64,
}

impl IngestCounts {
    /// Adds another delivery's counts (backfill pages).
    pub fn merge(&mut self, other: IngestCounts) {
        self.stored += other.stored;
        self.duplicates += other.duplicates;
        self.unknown_authors += other.unknown_authors;
        self.dropped_references += other.dropped_references;
    }
}

/// Who did it, as a hook or an API names them, for matching.
#[derive(Debug, Clone, Default)]
pub(crate) struct Author {
    pub gitlab_user_id: Option<u64>,
    pub email: Option<String>,
    pub username: Option<String>,
}

impl Author {
    fn of_user(user: Option<&HookUser>) -> Author {
        Author {
            gitlab_user_id: user.and_then(|u| u.id),
            email: user.and_then(|u| u.email.clone()),
            username: user.and_then(|u| u.username.clone()),
        }
    }
}

/// One activity with its author and where it came from.
pub(crate) struct Observed {
    pub author: Author,
    pub activity: Activity,
    pub url: Option<String>,
    pub source: ActivitySource,
}

impl TimeEngine {
    /// Ingests one GitLab delivery's body: as people's activity when the
    /// organisation's source reads this connection and project, and as Jira
    /// development links for each Jira connection this GitLab connection
    /// has them with. `None` when neither wants it (the caller decides what
    /// the delivery is then).
    pub async fn ingest_gitlab(
        &self,
        connection_id: i64,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Option<IngestCounts>, ApplyError> {
        let source = self.active_source(connection_id).await?;
        let dev_links = self.store.dev_link_pairs_of(connection_id).await?;
        if source.is_none() && dev_links.is_empty() {
            return Ok(None);
        }
        let Ok(hook) = parse_gitlab_webhook(body) else {
            return Ok(None);
        };
        let raw: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let project = match &hook {
            GitLabWebhook::Push(push) => push_project(push),
            GitLabWebhook::MergeRequest(_) | GitLabWebhook::Note(_) | GitLabWebhook::Issue(_) => {
                project_of(&raw)
            }
            GitLabWebhook::TagPush(_) | GitLabWebhook::Other { .. } => return Ok(None),
        };
        let Some(project) = project else {
            return Ok(None);
        };
        // Activity only from the watched projects; links from any project
        // whose hooks reach this connection.
        let watched = source.filter(|s| watches(s, &project));
        if watched.is_none() && dev_links.is_empty() {
            return Ok(None);
        }
        let observed = match hook {
            GitLabWebhook::Push(push) => self.push_commits(connection_id, &push, project).await?,
            GitLabWebhook::MergeRequest(mr) => {
                merge_request(&mr, project, now).into_iter().collect()
            }
            GitLabWebhook::Note(note) => {
                comment(&raw, Author::of_user(note.user.as_ref()), project, now)
                    .into_iter()
                    .collect()
            }
            GitLabWebhook::Issue(issue) => {
                let attrs = &issue.object_attributes;
                let action = match attrs.action.as_deref() {
                    Some("open") => IssueAction::Opened,
                    Some("close") => IssueAction::Closed,
                    Some("reopen") => IssueAction::Reopened,
                    _ => IssueAction::Edited,
                };
                vec![Observed {
                    author: Author::of_user(issue.user.as_ref()),
                    url: attrs.url.clone(),
                    source: ActivitySource::Hook,
                    activity: Activity {
                        person: ActivityPerson::default(),
                        project,
                        detail: ActivityDetail::Issue(IssueActivity {
                            action,
                            iid: attrs.iid,
                            title: attrs.title.clone(),
                            at: attrs.updated_at.unwrap_or(now),
                        }),
                    },
                }]
            }
            GitLabWebhook::TagPush(_) | GitLabWebhook::Other { .. } => return Ok(None),
        };
        let default_branch = raw
            .get("project")
            .and_then(|p| p.get("default_branch"))
            .and_then(Value::as_str)
            .unwrap_or("main")
            .to_owned();
        let links = super::links::link_work(&observed, &default_branch);
        let counts = match watched {
            Some(_) => self.store_observed(observed, now).await?,
            None => IngestCounts::default(),
        };
        for pair in &dev_links {
            self.apply_links(pair, &links).await?;
        }
        Ok(Some(counts))
    }

    /// Matches and stores activities, counting what could not be stored.
    pub(crate) async fn store_observed(
        &self,
        observed: Vec<Observed>,
        now: DateTime<Utc>,
    ) -> Result<IngestCounts, ApplyError> {
        let mut counts = IngestCounts::default();
        let mut people: HashMap<String, Option<TimePerson>> = HashMap::new();
        let mut rows = Vec::new();
        for mut o in observed {
            let key = format!(
                "{:?}/{:?}/{:?}",
                o.author.gitlab_user_id, o.author.email, o.author.username
            );
            let person = match people.get(&key) {
                Some(p) => p.clone(),
                None => {
                    let found = self
                        .store
                        .find_time_person(
                            o.author
                                .gitlab_user_id
                                .and_then(|id| i64::try_from(id).ok()),
                            o.author.email.as_deref(),
                            o.author.username.as_deref(),
                        )
                        .await?;
                    people.insert(key, found.clone());
                    found
                }
            };
            let scan = o.activity.references();
            counts.dropped_references += scan.dropped.len() as u64;
            let Some(person) = person else {
                counts.unknown_authors += 1;
                continue;
            };
            o.activity.person = ActivityPerson {
                gitlab_user_id: u64::try_from(person.person.gitlab_user_id).ok(),
                email: o.author.email.clone().filter(|e| !e.trim().is_empty()),
            };
            let target = scan.target(&o.activity.project.path);
            let detail = serde_json::to_value(&o.activity).unwrap_or(Value::Null);
            rows.push(NewActivity {
                user_id: person.person.user_id,
                project_id: i64::try_from(o.activity.project.id).unwrap_or(i64::MAX),
                project_path: o.activity.project.path.clone(),
                kind: o.activity.kind(),
                occurred_at: o.activity.counts_at(),
                fingerprint: o.activity.fingerprint().as_str().to_owned(),
                target,
                refs: scan.found.iter().map(|f| f.reference.clone()).collect(),
                source_url: o.url,
                title: title_of(&o.activity),
                source: o.source,
                detail,
            });
        }
        if !rows.is_empty() {
            let mut tx = self.store.begin().await?;
            for row in &rows {
                match tx.insert_activity(row, now).await? {
                    Some(_) => counts.stored += 1,
                    None => counts.duplicates += 1,
                }
            }
            tx.commit().await?;
        }
        metrics::counter!("cairn_time_activities_total", "outcome" => "stored")
            .increment(counts.stored);
        metrics::counter!("cairn_time_activities_total", "outcome" => "duplicate")
            .increment(counts.duplicates);
        metrics::counter!("cairn_time_activities_total", "outcome" => "unknown_author")
            .increment(counts.unknown_authors);
        Ok(counts)
    }

    /// A push's commits with their author dates, read back from the
    /// Commits API (the hook carries the committer's time, which a rebase
    /// moves, and at most 20 commits).
    async fn push_commits(
        &self,
        connection_id: i64,
        push: &PushHook,
        project: ActivityProject,
    ) -> Result<Vec<Observed>, ApplyError> {
        let Some(branch) = branch_from_ref(&push.ref_name).map(str::to_owned) else {
            return Ok(Vec::new());
        };
        if push.is_deletion() || push.total_commits_count == 0 {
            return Ok(Vec::new());
        }
        let want = usize::try_from(push.total_commits_count)
            .unwrap_or(MAX_COMMITS_PER_PUSH)
            .min(MAX_COMMITS_PER_PUSH);
        let client = self.gitlab_client(connection_id).await?;
        let mut pages = client.commits(&ProjectRef::Id(project.id), &push.after);
        let mut commits = Vec::new();
        while commits.len() < want {
            match pages.next_page().await? {
                Some(page) if !page.is_empty() => commits.extend(page),
                _ => break,
            }
        }
        commits.truncate(want);
        let pusher = Author {
            gitlab_user_id: push.user_id,
            email: None,
            username: push.user_username.clone(),
        };
        Ok(commits
            .into_iter()
            .map(|c| {
                let email = c.author_email.trim().to_owned();
                // A commit without an author email is the pusher's.
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
                    source: ActivitySource::Hook,
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
                            branch: Some(branch.clone()),
                        }),
                    },
                }
            })
            .collect())
    }
}

/// Whether the source watches a project (every project when it watches all).
fn watches(source: &TimeSource, project: &ActivityProject) -> bool {
    source.source.watch_all
        || source.source.projects.iter().any(|p| {
            u64::try_from(p.id).ok() == Some(project.id)
                || p.path.eq_ignore_ascii_case(&project.path)
        })
}

fn push_project(push: &PushHook) -> Option<ActivityProject> {
    let id = push
        .project_id
        .or_else(|| push.project.as_ref().and_then(|p| p.id))?;
    let path = push
        .project
        .as_ref()
        .and_then(|p| p.path_with_namespace.clone())?;
    Some(ActivityProject { id, path })
}

fn project_of(raw: &Value) -> Option<ActivityProject> {
    let project = raw.get("project")?;
    let id = project
        .get("id")
        .and_then(Value::as_u64)
        .or_else(|| raw.get("project_id").and_then(Value::as_u64))?;
    let path = project.get("path_with_namespace").and_then(Value::as_str)?;
    Some(ActivityProject {
        id,
        path: path.to_owned(),
    })
}

fn merge_request(
    mr: &MergeRequestHook,
    project: ActivityProject,
    now: DateTime<Utc>,
) -> Option<Observed> {
    let attrs = &mr.object_attributes;
    let action = match attrs.action.as_deref() {
        Some("open") | Some("reopen") => MergeRequestAction::Opened,
        Some("update") => MergeRequestAction::Updated,
        Some("approved") | Some("approve") => MergeRequestAction::Approved,
        Some("merge") => MergeRequestAction::Merged,
        _ => return None,
    };
    Some(Observed {
        author: Author::of_user(mr.user.as_ref()),
        url: attrs.url.clone(),
        source: ActivitySource::Hook,
        activity: Activity {
            person: ActivityPerson::default(),
            project,
            detail: ActivityDetail::MergeRequest(MergeRequestActivity {
                action,
                iid: attrs.iid,
                title: attrs.title.clone(),
                description: attrs.description.clone().unwrap_or_default(),
                source_branch: attrs.source_branch.clone().unwrap_or_default(),
                target_branch: attrs.target_branch.clone().unwrap_or_default(),
                linked_issues: Vec::new(),
                at: attrs.updated_at.unwrap_or(now),
            }),
        },
    })
}

fn comment(
    raw: &Value,
    author: Author,
    project: ActivityProject,
    now: DateTime<Utc>,
) -> Option<Observed> {
    let attrs = raw.get("object_attributes")?;
    if attrs.get("system").and_then(Value::as_bool) == Some(true) {
        return None;
    }
    let note_id = attrs.get("id").and_then(Value::as_u64)?;
    let body = attrs
        .get("note")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let on = match attrs.get("noteable_type").and_then(Value::as_str) {
        Some("MergeRequest") => {
            let mr = raw.get("merge_request")?;
            CommentOn::MergeRequest {
                iid: mr.get("iid").and_then(Value::as_u64)?,
                title: text(mr, "title"),
                source_branch: text(mr, "source_branch"),
            }
        }
        Some("Issue") => CommentOn::Issue {
            iid: raw.get("issue")?.get("iid").and_then(Value::as_u64)?,
        },
        Some("Commit") => CommentOn::Commit {
            sha: attrs
                .get("commit_id")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .or_else(|| {
                    raw.get("commit")
                        .and_then(|c| c.get("id"))
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                })?,
        },
        _ => return None,
    };
    let at = attrs
        .get("created_at")
        .and_then(Value::as_str)
        .and_then(cairn_connect::parse_time)
        .unwrap_or(now);
    Some(Observed {
        author,
        url: attrs.get("url").and_then(Value::as_str).map(str::to_owned),
        source: ActivitySource::Hook,
        activity: Activity {
            person: ActivityPerson::default(),
            project,
            detail: ActivityDetail::Comment(CommentActivity {
                note_id,
                on,
                body: body.to_owned(),
                at,
            }),
        },
    })
}

fn text(value: &Value, key: &str) -> String {
    value
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// One line for the feed.
pub(crate) fn title_of(activity: &Activity) -> String {
    let line: String = match &activity.detail {
        ActivityDetail::Commit(c) => c.message.lines().next().unwrap_or("").trim().to_owned(),
        ActivityDetail::MergeRequest(mr) => format!("!{} {}", mr.iid, mr.title),
        ActivityDetail::Comment(c) => c.body.lines().next().unwrap_or("").trim().to_owned(),
        ActivityDetail::Issue(i) => format!("#{} {}", i.iid, i.title),
    };
    line.chars().take(200).collect()
}
