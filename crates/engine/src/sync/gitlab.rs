//! A GitLab side: a project's issues, identified by `iid`, with Cairn's
//! mark as the last line of the description of the issues it creates.

use std::collections::{BTreeMap, BTreeSet};

use cairn_connect::GitLabClient;
use cairn_connect::gitlab::{Issue, IssueChanges, IssueFilter, IssueState, ProjectRef, StateEvent};
use cairn_core::sync::{
    Assignee, CommentAuthor, FieldValue, ItemState, ItemValues, Marker, Observed, OriginComment,
    ReleaseValue, SideScope, SyncField, backlink_note, is_backlink_note, split_marker, with_marker,
};
use cairn_store::sync::RemoteRef;
use chrono::{DateTime, Duration, Utc};

use super::side::{Failure, RemoteItem};

/// How far before an interrupted create's intent its item may have been
/// created (clocks of Cairn and GitLab disagree a little).
const CLOCK_SLACK_MINUTES: i64 = 5;

pub(crate) struct GitLabSide {
    pub client: GitLabClient,
    pub project: ProjectRef,
    pub scope: SideScope,
}

fn failure(what: &str, error: &cairn_connect::ConnectError) -> Failure {
    Failure::from_connect("GitLab", what, error)
}

/// An issue as a sync item.
pub(crate) fn remote_item(issue: &Issue) -> RemoteItem {
    let (description, marker) = split_marker(issue.description.as_deref().unwrap_or_default());
    RemoteItem {
        reference: RemoteRef {
            id: issue.iid.to_string(),
            key: format!("#{}", issue.iid),
            url: issue.web_url.clone().unwrap_or_default(),
        },
        observed: Observed {
            values: ItemValues {
                title: issue.title.clone(),
                description,
                state: if issue.state == "closed" {
                    ItemState::Closed
                } else {
                    ItemState::Opened
                },
                labels: issue.labels.iter().cloned().collect(),
                due_date: issue.due_date,
                // The first assignee (Free has only one); a payload
                // without ids counts as nobody known.
                assignee: Assignee::read(
                    issue
                        .assignees
                        .first()
                        .filter(|a| a.id != 0)
                        .map(|a| a.id.to_string()),
                ),
                // The milestone's instance-wide id (what `milestone_id`
                // takes); a hook names it by id alone.
                milestone: ReleaseValue::read(issue.milestone.as_ref().map(|m| m.id.to_string())),
            },
            updated_at: issue.updated_at.or(issue.created_at).unwrap_or_default(),
        },
        marker,
        created_at: issue.created_at,
        labels: issue.labels.clone(),
    }
}

/// The assignee as GitLab's `assignee_ids`: none for nobody.
fn assignee_ids(assignee: &Assignee) -> Result<Option<Vec<u64>>, Failure> {
    assignee
        .tracker_id()
        .map(|id| {
            id.parse()
                .map(|id| vec![id])
                .map_err(|_| Failure::Refused(format!("`{id}` is not a GitLab user id")))
        })
        .transpose()
}

/// The milestone as GitLab's `milestone_id`: 0 removes it.
fn milestone_id(milestone: &ReleaseValue) -> Result<u64, Failure> {
    milestone.tracker_id().map_or(Ok(0), |id| {
        id.parse()
            .map_err(|_| Failure::Refused(format!("`{id}` is not a GitLab milestone id")))
    })
}

fn parse_iid(id: &str) -> Result<u64, Failure> {
    id.parse()
        .map_err(|_| Failure::Refused(format!("`{id}` is not a GitLab issue iid")))
}

impl GitLabSide {
    pub fn api_calls(&self) -> u64 {
        self.client.api_calls()
    }

    pub async fn read(&self, id: &str) -> Result<Option<RemoteItem>, Failure> {
        let iid = parse_iid(id)?;
        match self.client.issue(&self.project, iid).await {
            Ok(issue) => Ok(Some(remote_item(&issue))),
            Err(e) if e.status() == Some(404) => Ok(None),
            Err(e) => Err(failure(&format!("reading issue #{iid}"), &e)),
        }
    }

    async fn list(&self, filter: IssueFilter, what: &str) -> Result<Vec<Issue>, Failure> {
        let mut pages = self.client.issues(&self.project, &filter);
        let mut issues = Vec::new();
        loop {
            match pages.next_page().await {
                Ok(Some(page)) => issues.extend(page),
                Ok(None) => return Ok(issues),
                Err(e) => return Err(failure(what, &e)),
            }
        }
    }

    pub async fn updated_since(
        &self,
        since: DateTime<Utc>,
        created_after: DateTime<Utc>,
    ) -> Result<Vec<RemoteItem>, Failure> {
        let filter = IssueFilter {
            state: Some(IssueState::All),
            labels: self.scope.labels.clone(),
            updated_after: Some(since),
            created_after: Some(created_after),
            // Creation order: see `SideClient::updated_since`.
            order_by: Some("created_at".into()),
            sort: Some(cairn_connect::gitlab::Sort::Asc),
            ..IssueFilter::default()
        };
        let issues = self.list(filter, "listing changed issues").await?;
        Ok(issues.iter().map(remote_item).collect())
    }

    pub async fn find_marked(
        &self,
        marker: &Marker,
        since: DateTime<Utc>,
    ) -> Result<Option<RemoteItem>, Failure> {
        let filter = IssueFilter {
            state: Some(IssueState::All),
            created_after: Some(since - Duration::minutes(CLOCK_SLACK_MINUTES)),
            ..IssueFilter::default()
        };
        let issues = self
            .list(filter, "looking for an issue Cairn may have created")
            .await?;
        Ok(issues
            .iter()
            .map(remote_item)
            .find(|item| item.marker.as_ref() == Some(marker)))
    }

    pub async fn create(
        &self,
        values: &ItemValues,
        marker: &Marker,
    ) -> Result<RemoteItem, Failure> {
        let changes = IssueChanges {
            title: Some(values.title.clone()),
            description: Some(with_marker(&values.description, marker)),
            labels: Some(values.labels.iter().cloned().collect()),
            due_date: values.due_date,
            assignee_ids: assignee_ids(&values.assignee)?,
            milestone_id: Some(milestone_id(&values.milestone)?).filter(|id| *id != 0),
            ..IssueChanges::default()
        };
        let issue = self
            .client
            .create_issue(&self.project, &changes)
            .await
            .map_err(|e| failure("creating an issue", &e))?;
        let mut item = remote_item(&issue);
        if values.state == ItemState::Closed {
            let close = IssueChanges {
                state_event: Some(StateEvent::Close),
                ..IssueChanges::default()
            };
            let closed = self
                .client
                .update_issue(&self.project, issue.iid, &close)
                .await
                .map_err(|e| failure(&format!("closing issue #{}", issue.iid), &e))?;
            item = remote_item(&closed);
        }
        Ok(item)
    }

    pub async fn write(
        &self,
        item: &RemoteItem,
        changes: &BTreeMap<SyncField, FieldValue>,
    ) -> Result<(), Failure> {
        let iid = parse_iid(&item.reference.id)?;
        let mut edit = IssueChanges::default();
        for (field, value) in changes {
            match (field, value) {
                (SyncField::Title, FieldValue::Text(t)) => edit.title = Some(t.clone()),
                (SyncField::Description, FieldValue::Text(t)) => {
                    // The mark stays on the issues Cairn created.
                    edit.description = Some(match &item.marker {
                        Some(marker) => with_marker(t, marker),
                        None => t.clone(),
                    });
                }
                (SyncField::State, FieldValue::State(s)) => {
                    edit.state_event = Some(match s {
                        ItemState::Opened => StateEvent::Reopen,
                        ItemState::Closed => StateEvent::Close,
                    });
                }
                (SyncField::Labels, FieldValue::Labels(l)) => {
                    let now: BTreeSet<&String> = item.observed.values.labels.iter().collect();
                    let wanted: BTreeSet<&String> = l.iter().collect();
                    // Adding and removing, rather than replacing, keeps a
                    // label someone adds meanwhile.
                    edit.add_labels = wanted.difference(&now).map(|s| (*s).clone()).collect();
                    edit.remove_labels = now.difference(&wanted).map(|s| (*s).clone()).collect();
                }
                (SyncField::DueDate, FieldValue::Date(d)) => {
                    edit.due_date = *d;
                    edit.remove_due_date = d.is_none();
                }
                (SyncField::Assignee, FieldValue::Person(a)) => {
                    edit.assignee_ids = Some(assignee_ids(a)?.unwrap_or_default());
                }
                (SyncField::Milestone, FieldValue::Release(r)) => {
                    edit.milestone_id = Some(milestone_id(r)?);
                }
                _ => {}
            }
        }
        self.client
            .update_issue(&self.project, iid, &edit)
            .await
            .map(|_| ())
            .map_err(|e| failure(&format!("editing issue #{iid}"), &e))
    }
}

impl GitLabSide {
    /// An issue's notes as comments, oldest first. System notes, internal
    /// notes (not for a wider audience) and Cairn's link to the twin are
    /// marked to be skipped.
    pub async fn comments(
        &self,
        pair_id: i64,
        item: &RemoteRef,
    ) -> Result<Vec<OriginComment>, Failure> {
        let iid = parse_iid(&item.id)?;
        let mut pages = self.client.notes(&self.project, iid);
        let mut notes = Vec::new();
        loop {
            match pages.next_page().await {
                Ok(Some(page)) => notes.extend(page),
                Ok(None) => break,
                Err(e) => return Err(failure(&format!("reading the comments of #{iid}"), &e)),
            }
        }
        notes.sort_by_key(|n| n.id);
        Ok(notes
            .into_iter()
            .map(|n| OriginComment {
                id: n.id.to_string(),
                author: CommentAuthor {
                    id: n
                        .author
                        .as_ref()
                        .map(|a| a.id.to_string())
                        .unwrap_or_default(),
                    name: n
                        .author
                        .as_ref()
                        .map(|a| a.name.clone())
                        .unwrap_or_default(),
                    mapped: false,
                },
                skip: n.system || n.internal == Some(true) || is_backlink_note(pair_id, &n.body),
                url: format!("{}#note_{}", item.url, n.id),
                body: n.body,
            })
            .collect())
    }

    pub async fn create_comment(
        &self,
        item: &RemoteRef,
        markdown: &str,
    ) -> Result<String, Failure> {
        let iid = parse_iid(&item.id)?;
        self.client
            .create_note(&self.project, iid, markdown)
            .await
            .map(|n| n.id.to_string())
            .map_err(|e| failure(&format!("adding a comment to #{iid}"), &e))
    }

    /// False when the comment is gone.
    pub async fn update_comment(
        &self,
        item: &RemoteRef,
        id: &str,
        markdown: &str,
    ) -> Result<bool, Failure> {
        let iid = parse_iid(&item.id)?;
        let note = parse_note(id)?;
        match self
            .client
            .update_note(&self.project, iid, note, markdown)
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if e.status() == Some(404) => Ok(false),
            Err(e) => Err(failure(&format!("editing comment {id} of #{iid}"), &e)),
        }
    }

    pub async fn delete_comment(&self, item: &RemoteRef, id: &str) -> Result<(), Failure> {
        let iid = parse_iid(&item.id)?;
        let note = parse_note(id)?;
        match self.client.delete_note(&self.project, iid, note).await {
            Ok(()) => Ok(()),
            Err(e) if e.status() == Some(404) => Ok(()),
            Err(e) => Err(failure(&format!("deleting comment {id} of #{iid}"), &e)),
        }
    }

    /// The link to the twin is one note: it does not fight description
    /// sync (a footer would have to be left out of every description
    /// comparison and would be written over by a person's edit), it shows
    /// in the issue's activity, and the mark in it lets a retry find it
    /// before writing a second one (when an earlier attempt may have
    /// written it). Returns the note's id.
    pub async fn ensure_backlink(
        &self,
        pair_id: i64,
        item: &RemoteRef,
        twin: &RemoteRef,
        look_first: bool,
    ) -> Result<String, Failure> {
        let iid = parse_iid(&item.id)?;
        if look_first {
            let mut pages = self.client.notes(&self.project, iid);
            loop {
                match pages.next_page().await {
                    Ok(Some(page)) => {
                        if let Some(note) = page.iter().find(|n| is_backlink_note(pair_id, &n.body))
                        {
                            return Ok(note.id.to_string());
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        return Err(failure(&format!("reading the comments of #{iid}"), &e));
                    }
                }
            }
        }
        self.create_comment(item, &backlink_note(pair_id, &twin.key, &twin.url))
            .await
    }
}

fn parse_note(id: &str) -> Result<u64, Failure> {
    id.parse()
        .map_err(|_| Failure::Refused(format!("`{id}` is not a GitLab note id")))
}
