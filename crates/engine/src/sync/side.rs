//! One side of a pair, whatever its tracker: read an item, list what
//! changed, find an item by Cairn's mark, create, write fields. The flow in
//! [`super::item`] uses only this; [`super::gitlab`] and [`super::jira`]
//! hold each tracker's part.

use std::collections::BTreeMap;
use std::time::Duration;

use cairn_connect::ConnectError;
use cairn_core::sync::{
    FieldValue, ItemValues, Marker, Observed, OriginComment, Readback, Side, SyncField, Verbatim,
};
use cairn_store::sync::{RemoteRef, SyncHint, SyncPair};
use chrono::{DateTime, Utc};

use super::gitlab::GitLabSide;
use super::jira::JiraSide;

/// An item as read from a side.
#[derive(Debug, Clone)]
pub(crate) struct RemoteItem {
    pub reference: RemoteRef,
    pub observed: Observed,
    /// Cairn's mark, when Cairn created it.
    pub marker: Option<Marker>,
    pub created_at: Option<DateTime<Utc>>,
    /// Labels as the tracker has them (for label scopes).
    pub labels: Vec<String>,
}

/// Why working on an item failed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Failure {
    /// Worth another attempt later: the tracker was unreachable, failed,
    /// or asked to wait.
    Retry {
        message: String,
        after: Option<Duration>,
        /// When the connection itself failed (rejected credentials, an
        /// unreachable host, TLS): its code, for the connection's health.
        fault: Option<cairn_connect::DiagnosisCode>,
    },
    /// Refused by the tracker or the pair's settings; retried on the slow
    /// schedule in case someone fixes the cause.
    Refused(String),
    /// Needs a person: the fuse tripped, or a twin was deleted.
    Pause(String),
}

impl Failure {
    pub fn message(&self) -> &str {
        match self {
            Failure::Retry { message, .. }
            | Failure::Refused(message)
            | Failure::Pause(message) => message,
        }
    }

    /// A failed remote call, in words, naming the side's tracker.
    pub fn from_connect(tracker: &str, what: &str, error: &ConnectError) -> Failure {
        let status = error.status();
        let detail = {
            let messages = error.server_messages();
            if messages.is_empty() {
                let d = error.diagnosis();
                format!("{} {}", d.summary, d.hint)
            } else {
                messages.join(" ")
            }
        };
        let message = match status {
            Some(code) => format!("{tracker} answered {code} to {what}: {detail}"),
            None => format!("{tracker} could not be reached to {what}: {detail}"),
        };
        match status {
            Some(400 | 403 | 404 | 409 | 413 | 422) => Failure::Refused(message),
            _ => Failure::Retry {
                message,
                after: error.retry_after(),
                fault: Some(error.code()).filter(|c| crate::health::is_connection_fault(*c)),
            },
        }
    }
}

/// A side bound to its connection's client and the pair's settings.
pub(crate) enum SideClient {
    GitLab(GitLabSide),
    Jira(JiraSide),
}

impl SideClient {
    pub fn tracker(&self) -> &'static str {
        match self {
            SideClient::GitLab(_) => "GitLab",
            SideClient::Jira(_) => "Jira",
        }
    }

    pub fn api_calls(&self) -> u64 {
        match self {
            SideClient::GitLab(g) => g.api_calls(),
            SideClient::Jira(j) => j.api_calls(),
        }
    }

    /// The item with this id; `None` when the tracker says it does not
    /// exist (404), never on any other failure.
    pub async fn read(&self, id: &str) -> Result<Option<RemoteItem>, Failure> {
        match self {
            SideClient::GitLab(g) => g.read(id).await,
            SideClient::Jira(j) => j.read(id).await,
        }
    }

    /// Items in the side's scope updated at or after `since` and created
    /// at or after `created_after`, each once, oldest update first.
    ///
    /// The trackers page by offset, so the list is asked for in creation
    /// order: an item edited while the pages are read (a back link Cairn
    /// writes, a person's edit) keeps its place and cannot push another
    /// past a page boundary unseen, as it would in update order. An item
    /// that enters the list meanwhile can make another show twice; the
    /// later read is kept.
    pub async fn updated_since(
        &self,
        since: DateTime<Utc>,
        created_after: DateTime<Utc>,
    ) -> Result<Vec<RemoteItem>, Failure> {
        let listed = match self {
            SideClient::GitLab(g) => g.updated_since(since, created_after).await?,
            SideClient::Jira(j) => j.updated_since(since, created_after).await?,
        };
        Ok(each_once_by_update(listed))
    }

    /// The item carrying `marker` created at or after `since`, if any.
    pub async fn find_marked(
        &self,
        marker: &Marker,
        since: DateTime<Utc>,
    ) -> Result<Option<RemoteItem>, Failure> {
        match self {
            SideClient::GitLab(g) => g.find_marked(marker, since).await,
            SideClient::Jira(j) => j.find_marked(marker, since).await,
        }
    }

    /// Creates an item with `values`, carrying `marker`.
    pub async fn create(
        &self,
        values: &ItemValues,
        marker: &Marker,
    ) -> Result<RemoteItem, Failure> {
        match self {
            SideClient::GitLab(g) => g.create(values, marker).await,
            SideClient::Jira(j) => j.create(values, marker).await,
        }
    }

    /// Writes `changes` to an item.
    pub async fn write(
        &self,
        item: &RemoteItem,
        changes: &BTreeMap<SyncField, FieldValue>,
    ) -> Result<(), Failure> {
        match self {
            SideClient::GitLab(g) => g.write(item, changes).await,
            SideClient::Jira(j) => j.write(item, changes).await,
        }
    }

    /// Whether an item is in this side's scope as far as Cairn can tell
    /// without asking (labels); JQL scopes are checked by Jira in reads.
    pub fn admits(&self, pair: &SyncPair, side: Side, item: &RemoteItem) -> bool {
        let scope = &pair.side(side).scope;
        let labels_ok = scope.admits_labels(item.labels.iter().map(String::as_str));
        let created_ok = match (pair.settings.created_after, item.created_at) {
            (Some(after), Some(created)) => created >= after,
            _ => true,
        };
        labels_ok && created_ok
    }

    /// Whether an item is in this side's scope, asking the tracker where
    /// Cairn cannot tell (a JQL scope): before a twin is made of it.
    pub async fn in_scope(&self, item: &RemoteItem) -> Result<bool, Failure> {
        match self {
            SideClient::GitLab(_) => Ok(true),
            SideClient::Jira(j) => j.in_jql_scope(&item.reference.key).await,
        }
    }

    /// What a read of an item tells a later job (see [`SyncHint`]).
    pub fn hint_of(&self, side: Side, read: &RemoteItem) -> SyncHint {
        let (status_id, issue_type_id) = match self {
            SideClient::Jira(j) => match j.position(&read.reference.id) {
                Some(p) => (Some(p.status_id), Some(p.issue_type_id)),
                None => (None, None),
            },
            SideClient::GitLab(_) => (None, None),
        };
        SyncHint {
            side,
            observed: read.observed.clone(),
            marker: read.marker.clone(),
            created_at: read.created_at,
            status_id,
            issue_type_id,
        }
    }

    /// The item as a verified webhook delivered it.
    pub fn hinted(&self, remote: &RemoteRef, hint: &SyncHint) -> RemoteItem {
        if let SideClient::Jira(j) = self
            && let (Some(status), Some(kind)) = (&hint.status_id, &hint.issue_type_id)
        {
            j.note_position(&remote.id, status, kind);
        }
        RemoteItem {
            reference: remote.clone(),
            observed: hint.observed.clone(),
            marker: hint.marker.clone(),
            created_at: hint.created_at,
            labels: hint.observed.values.labels.iter().cloned().collect(),
        }
    }

    /// An item's comments as GitLab Markdown, oldest first; those never
    /// carried are marked `skip`.
    pub async fn comments(
        &self,
        pair_id: i64,
        item: &RemoteRef,
    ) -> Result<Vec<OriginComment>, Failure> {
        match self {
            SideClient::GitLab(g) => g.comments(pair_id, item).await,
            SideClient::Jira(j) => j.comments(item).await,
        }
    }

    /// Adds a comment (GitLab Markdown, converted as descriptions are);
    /// returns its id.
    pub async fn create_comment(
        &self,
        item: &RemoteRef,
        markdown: &str,
    ) -> Result<String, Failure> {
        match self {
            SideClient::GitLab(g) => g.create_comment(item, markdown).await,
            SideClient::Jira(j) => j.create_comment(item, markdown).await,
        }
    }

    /// Rewrites a comment; false when it is gone.
    pub async fn update_comment(
        &self,
        item: &RemoteRef,
        id: &str,
        markdown: &str,
    ) -> Result<bool, Failure> {
        match self {
            SideClient::GitLab(g) => g.update_comment(item, id, markdown).await,
            SideClient::Jira(j) => j.update_comment(item, id, markdown).await,
        }
    }

    /// Deletes a comment; one already gone is no failure.
    pub async fn delete_comment(&self, item: &RemoteRef, id: &str) -> Result<(), Failure> {
        match self {
            SideClient::GitLab(g) => g.delete_comment(item, id).await,
            SideClient::Jira(j) => j.delete_comment(item, id).await,
        }
    }

    /// Makes sure `item` links to its twin, looking first when an earlier
    /// attempt may have written it (`look_first`); returns the link's id.
    pub async fn ensure_backlink(
        &self,
        pair_id: i64,
        item: &RemoteRef,
        twin: &RemoteRef,
        twin_tracker: &str,
        look_first: bool,
    ) -> Result<String, Failure> {
        match self {
            SideClient::GitLab(g) => g.ensure_backlink(pair_id, item, twin, look_first).await,
            SideClient::Jira(j) => {
                j.ensure_backlink(pair_id, item, twin, twin_tracker, look_first)
                    .await
            }
        }
    }

    /// How a value written here reads back.
    pub fn readback(&self) -> &dyn Readback {
        match self {
            SideClient::GitLab(_) => &Verbatim,
            SideClient::Jira(j) => j.readback(),
        }
    }
}

/// Both sides' readbacks, as the decisions want one.
pub(crate) struct PairReadback<'a> {
    pub left: &'a dyn Readback,
    pub right: &'a dyn Readback,
}

impl Readback for PairReadback<'_> {
    fn read_back(&self, side: Side, field: SyncField, value: &FieldValue) -> Vec<FieldValue> {
        match side {
            Side::Left => self.left.read_back(side, field, value),
            Side::Right => self.right.read_back(side, field, value),
        }
    }
}

/// The items of a listing each once (the later read of one listed twice),
/// oldest update first.
fn each_once_by_update(listed: Vec<RemoteItem>) -> Vec<RemoteItem> {
    let mut latest = std::collections::HashMap::with_capacity(listed.len());
    for item in listed {
        latest.insert(item.reference.id.clone(), item);
    }
    let mut items: Vec<RemoteItem> = latest.into_values().collect();
    items.sort_by(|a, b| {
        a.observed
            .updated_at
            .cmp(&b.observed.updated_at)
            .then_with(|| a.reference.id.cmp(&b.reference.id))
    });
    items
}
