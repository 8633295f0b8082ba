//! Two-way sync: pairs, the items they link (one row per item and its
//! twin), the operation log that makes remote writes safe to retry,
//! conflicts and runs. Written once as a macro, like the goals and hooks,
//! and expanded in each backend's module.

use std::collections::BTreeMap;

use async_trait::async_trait;
use cairn_core::sync::{
    CopyLink, FieldPolicies, Fuse, Observed, OperationKind, OperationState, Shadow, Side,
    SideScope, StatusMapping, SyncItemState, Workflow,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Result, StoreError};

/// One side of a pair: a project on a connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncSide {
    pub connection_id: i64,
    /// As the person gave it: a GitLab project path or id, a Jira key.
    pub project: String,
    /// As the tracker identifies it: GitLab's numeric project id, Jira's
    /// project key.
    pub project_id: String,
    pub scope: SideScope,
}

/// What a person sets on a pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncPairSettings {
    pub name: String,
    pub owner_id: i64,
    pub active: bool,
    pub left: SyncSide,
    pub right: SyncSide,
    /// Items created before this are not brought across; set when the
    /// pair is first activated unless given.
    pub created_after: Option<DateTime<Utc>>,
    pub fields: FieldPolicies,
    /// For a pair with a Jira side.
    pub status_mapping: Option<StatusMapping>,
    /// Values for fields a Jira transition requires (`resolution`).
    pub transition_defaults: BTreeMap<String, String>,
    /// The issue type of issues created on a Jira side.
    pub jira_issue_type: Option<String>,
    pub scan_interval_secs: i64,
    /// Whether deleting a comment deletes its copy on the other side (off
    /// by default: a copy someone may still want is not taken away).
    pub delete_comment_copies: bool,
    /// How far back each scan reads beyond where the last one stopped, for
    /// trackers whose clocks disagree with Cairn's (the seed's "time
    /// offset").
    pub scan_overlap_secs: i64,
    /// Whether people are mapped automatically (by email, then by a name
    /// that occurs once on each side); manual mappings count either way.
    #[serde(default)]
    pub auto_map_people: bool,
}

/// A stored pair.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SyncPair {
    pub id: i64,
    #[serde(flatten)]
    pub settings: SyncPairSettings,
    /// Jira workflows learned so far, per issue type id.
    pub workflows: BTreeMap<String, Workflow>,
    /// How far each side's reconciliation scan has read (the tracker's
    /// update time of the newest item seen).
    pub left_scanned_to: Option<DateTime<Utc>>,
    pub right_scanned_to: Option<DateTime<Utc>>,
    pub next_scan_at: Option<DateTime<Utc>>,
    /// When the scan last listed each side's whole scope (deletions).
    pub full_scanned_at: Option<DateTime<Utc>>,
    pub activated_at: Option<DateTime<Utc>>,
    /// Since when a scan has not reached one of its sides (cleared by a
    /// scan that reaches both).
    pub unreachable_since: Option<DateTime<Utc>>,
    /// When people were last told the pair is failing; cleared once it
    /// recovers, so each episode is told once.
    pub failing_notified_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl SyncPair {
    pub fn side(&self, side: Side) -> &SyncSide {
        match side {
            Side::Left => &self.settings.left,
            Side::Right => &self.settings.right,
        }
    }
}

/// An item on one side: its id, the key people know it by (`#12`,
/// `AE-12`) and its address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteRef {
    pub id: String,
    pub key: String,
    pub url: String,
}

/// A side's item as a verified webhook delivered it, so the job that
/// carries the change need not read that side again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncHint {
    pub side: Side,
    pub observed: Observed,
    /// Cairn's mark on the item, when it carries one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marker: Option<cairn_core::sync::Marker>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<DateTime<Utc>>,
    /// Jira only: the status and issue type ids, the workflow position.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue_type_id: Option<String>,
}

/// An item and its twin.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SyncItem {
    pub id: i64,
    pub pair_id: i64,
    pub left: Option<RemoteRef>,
    pub right: Option<RemoteRef>,
    pub state: SyncItemState,
    #[serde(skip)]
    pub shadow: Shadow,
    #[serde(skip)]
    pub fuse: Fuse,
    #[serde(skip)]
    pub hint: Option<SyncHint>,
    /// The tracker's update time of each side as last read.
    pub left_updated_at: Option<DateTime<Utc>>,
    pub right_updated_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub failures: i64,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_synced_at: Option<DateTime<Utc>>,
    /// Since when it has been failing without a success in between.
    pub failing_since: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl SyncItem {
    pub fn remote(&self, side: Side) -> Option<&RemoteRef> {
        match side {
            Side::Left => self.left.as_ref(),
            Side::Right => self.right.as_ref(),
        }
    }

    pub fn remote_mut(&mut self, side: Side) -> &mut Option<RemoteRef> {
        match side {
            Side::Left => &mut self.left,
            Side::Right => &mut self.right,
        }
    }

    pub fn updated_at_mut(&mut self, side: Side) -> &mut Option<DateTime<Utc>> {
        match side {
            Side::Left => &mut self.left_updated_at,
            Side::Right => &mut self.right_updated_at,
        }
    }
}

/// Items of a pair in each state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SyncItemCounts {
    pub pending: i64,
    pub synced: i64,
    pub failing: i64,
    pub paused: i64,
}

/// A remote write about to be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSyncOperation {
    pub pair_id: i64,
    pub item_id: i64,
    pub side: Side,
    pub kind: OperationKind,
    /// The fields it writes, with a short rendering of each value.
    pub fields: BTreeMap<String, String>,
}

/// A remote write and how it went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncOperation {
    pub id: i64,
    pub pair_id: i64,
    pub item_id: i64,
    pub side: Side,
    pub kind: OperationKind,
    pub fields: BTreeMap<String, String>,
    pub state: OperationState,
    pub remote_id: Option<String>,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// A conflict as it was decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncConflict {
    pub id: i64,
    pub pair_id: i64,
    pub item_id: i64,
    pub field: String,
    pub left_value: String,
    pub right_value: String,
    pub winner: Side,
    pub reason: String,
    pub decided_at: DateTime<Utc>,
    /// Both values in full, as JSON (the `*_value` columns are cut to
    /// [`CONFLICT_VALUE_CHARS`]); absent on conflicts recorded before a
    /// person could overturn them.
    pub left_full: Option<String>,
    pub right_full: Option<String>,
    /// A person's choice of side, overturning the rule's.
    pub chosen: Option<ConflictChoice>,
}

/// The side a person chose for a conflict, written to the other side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConflictChoice {
    pub side: Side,
    /// The person's email, as in the audit log.
    pub by: String,
    pub at: DateTime<Utc>,
}

/// What one run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SyncCounts {
    pub seen: i64,
    pub created: i64,
    pub updated: i64,
    pub skipped: i64,
    pub failed: i64,
    pub api_calls: i64,
}

/// A recorded run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncRun {
    pub id: i64,
    pub pair_id: i64,
    /// `hook`, `scan`, `retry`, `activation`.
    pub triggered_by: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    #[serde(flatten)]
    pub counts: SyncCounts,
}

/// Reading sync state.
#[async_trait]
pub trait SyncStore: Send + Sync {
    async fn get_sync_pair(&self, id: i64) -> Result<Option<SyncPair>>;
    /// Every pair, oldest first.
    async fn list_sync_pairs(&self) -> Result<Vec<SyncPair>>;
    /// Pairs with a side on the connection.
    async fn sync_pairs_on_connection(&self, connection_id: i64) -> Result<Vec<SyncPair>>;
    /// Active pairs whose scan is due.
    async fn due_sync_scans(&self, now: DateTime<Utc>) -> Result<Vec<i64>>;

    async fn get_sync_item(&self, id: i64) -> Result<Option<SyncItem>>;
    /// The pair's item linked to `remote_id` on `side`.
    async fn find_sync_item(
        &self,
        pair_id: i64,
        side: Side,
        remote_id: &str,
    ) -> Result<Option<SyncItem>>;
    /// A pair's items, optionally in one state, by id after `after_id`.
    async fn list_sync_items(
        &self,
        pair_id: i64,
        state: Option<SyncItemState>,
        after_id: i64,
        limit: u32,
    ) -> Result<Vec<SyncItem>>;
    async fn sync_item_counts(&self, pair_id: i64) -> Result<SyncItemCounts>;
    /// Failing items whose next attempt is due, of active pairs.
    async fn due_sync_items(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<SyncItem>>;
    /// How many of a pair's items have been failing since before
    /// `failing_before`, and the first `limit` of them, oldest first.
    async fn long_failing_sync_items(
        &self,
        pair_id: i64,
        failing_before: DateTime<Utc>,
        limit: u32,
    ) -> Result<(i64, Vec<SyncItem>)>;
    /// Makes `owner` the only one working on the item until `until`;
    /// false while someone else holds it.
    async fn claim_sync_item(
        &self,
        id: i64,
        owner: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool>;
    /// Gives an item back without changing it.
    async fn release_sync_item(&self, id: i64, owner: &str) -> Result<()>;

    /// An item's operations still in `intent` (interrupted), oldest first.
    async fn open_sync_operations(&self, item_id: i64) -> Result<Vec<SyncOperation>>;
    /// Newest first; one item's when `item_id` is given.
    async fn list_sync_operations(
        &self,
        pair_id: i64,
        item_id: Option<i64>,
        limit: u32,
    ) -> Result<Vec<SyncOperation>>;
    /// Newest first.
    async fn list_sync_conflicts(&self, pair_id: i64, limit: u32) -> Result<Vec<SyncConflict>>;
    async fn get_sync_conflict(&self, id: i64) -> Result<Option<SyncConflict>>;
    /// Newest first.
    async fn list_sync_runs(&self, pair_id: i64, limit: u32) -> Result<Vec<SyncRun>>;

    /// An item's links between original comments and their copies.
    async fn list_sync_comments(&self, item_id: i64) -> Result<Vec<CopyLink>>;
    /// Whether `copy_id` on `side` is the copy of a comment of the pair's
    /// other side: a webhook for it is Cairn's own write coming back.
    async fn is_sync_comment_copy(&self, pair_id: i64, side: Side, copy_id: &str) -> Result<bool>;
    /// Whether `remote_id` on `side` is the link of one of the pair's
    /// items to its twin.
    async fn is_sync_backlink(&self, pair_id: i64, side: Side, remote_id: &str) -> Result<bool>;
    /// The link an item carries to its twin on `side`, once written.
    async fn get_sync_backlink(&self, item_id: i64, side: Side) -> Result<Option<String>>;
}

/// Sync changes, made inside a [`crate::StoreTx`].
#[async_trait]
pub trait SyncTx: Send {
    async fn insert_sync_pair(
        &mut self,
        pair: &SyncPairSettings,
        now: DateTime<Utc>,
    ) -> Result<i64>;
    /// Replaces a pair's settings; `activated_at` is kept once set.
    async fn update_sync_pair(
        &mut self,
        id: i64,
        pair: &SyncPairSettings,
        activated_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<bool>;
    async fn delete_sync_pair(&mut self, id: i64) -> Result<bool>;
    async fn save_sync_workflows(
        &mut self,
        id: i64,
        workflows: &BTreeMap<String, Workflow>,
    ) -> Result<()>;
    /// Records how far the scans read and when the next one is due.
    async fn save_sync_scan(
        &mut self,
        id: i64,
        left_scanned_to: Option<DateTime<Utc>>,
        right_scanned_to: Option<DateTime<Utc>>,
        next_scan_at: DateTime<Utc>,
    ) -> Result<()>;
    /// Records a scan that listed both sides' whole scope.
    async fn save_sync_full_scan(&mut self, id: i64, at: DateTime<Utc>) -> Result<()>;
    /// Records since when a scan has not reached one of a pair's sides.
    async fn save_sync_unreachable(
        &mut self,
        id: i64,
        unreachable_since: Option<DateTime<Utc>>,
    ) -> Result<()>;
    /// `Some(at)`: notes that people were told the pair fails, unless they
    /// were already told in this episode; true if this call noted it (so
    /// of two scans at once, one tells). `None`: the episode is over.
    async fn set_sync_failing_told(&mut self, id: i64, at: Option<DateTime<Utc>>) -> Result<bool>;

    /// Notes that an item was seen on `side`: a pending item is added
    /// unless the pair links it already, and `hint` replaces the stored
    /// one unless that one is newer. Returns the item's id and whether it
    /// was added.
    async fn note_sync_item(
        &mut self,
        pair_id: i64,
        side: Side,
        remote: &RemoteRef,
        hint: Option<&SyncHint>,
        now: DateTime<Utc>,
    ) -> Result<(i64, bool)>;
    /// Writes an item's state back and releases `owner`'s claim; linking a
    /// twin another item of the pair links already is refused
    /// ([`crate::StoreError::Conflict`] on `twin`). The hint
    /// is cleared only if it is still the one the caller used
    /// (`used_hint_at`), so a newer one that arrived meanwhile stays.
    async fn save_sync_item(
        &mut self,
        item: &SyncItem,
        owner: &str,
        used_hint_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<()>;
    async fn delete_sync_item(&mut self, id: i64) -> Result<bool>;

    async fn insert_sync_operation(
        &mut self,
        op: &NewSyncOperation,
        now: DateTime<Utc>,
    ) -> Result<i64>;
    async fn finish_sync_operation(
        &mut self,
        id: i64,
        state: OperationState,
        remote_id: Option<&str>,
        error: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<()>;
    async fn insert_sync_conflict(
        &mut self,
        pair_id: i64,
        item_id: i64,
        conflict: &cairn_core::sync::Conflict,
        now: DateTime<Utc>,
    ) -> Result<i64>;
    /// Records a person's choice of side for a conflict.
    async fn choose_sync_conflict(
        &mut self,
        id: i64,
        side: Side,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<()>;
    async fn insert_sync_run(
        &mut self,
        pair_id: i64,
        triggered_by: &str,
        started_at: DateTime<Utc>,
        counts: &SyncCounts,
        now: DateTime<Utc>,
    ) -> Result<i64>;

    /// Records that a comment is about to be copied (no copy id yet);
    /// returns the link's id.
    #[allow(clippy::too_many_arguments)]
    async fn insert_sync_comment(
        &mut self,
        pair_id: i64,
        item_id: i64,
        origin_side: Side,
        origin_id: &str,
        origin_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<i64>;
    /// Records the copy's id and the text it carries.
    async fn save_sync_comment(
        &mut self,
        id: i64,
        copy_id: &str,
        origin_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<()>;
    async fn delete_sync_comment(&mut self, id: i64) -> Result<bool>;
    /// Records an item's link to its twin on `side`.
    async fn insert_sync_backlink(
        &mut self,
        item_id: i64,
        side: Side,
        remote_id: &str,
        now: DateTime<Utc>,
    ) -> Result<()>;
}

pub(crate) fn to_json<T: Serialize>(what: &str, value: &T) -> Result<serde_json::Value> {
    serde_json::to_value(value).map_err(|e| StoreError::InvalidData(format!("{what}: {e}")))
}

pub(crate) fn from_json<T: serde::de::DeserializeOwned>(
    what: &str,
    value: serde_json::Value,
) -> Result<T> {
    serde_json::from_value(value).map_err(|e| StoreError::InvalidData(format!("{what}: {e}")))
}

pub(crate) fn side_from(text: &str) -> Result<Side> {
    Side::parse(text).ok_or_else(|| StoreError::InvalidData(format!("sync side `{text}`")))
}

/// Conflict values are kept whole up to this many characters.
pub(crate) const CONFLICT_VALUE_CHARS: usize = 10_000;

macro_rules! impl_sync {
    ($store:ty, $tx:ty) => {
        const PAIR_COLUMNS: &str = "id, name, owner_id, active, left_connection_id, left_project, \
            left_project_id, left_scope, right_connection_id, right_project, right_project_id, right_scope, \
            created_after, fields, status_mapping, transition_defaults, jira_issue_type, workflows, \
            scan_interval_secs, left_scanned_to, right_scanned_to, next_scan_at, full_scanned_at, activated_at, created_at, updated_at, \
            unreachable_since, failing_notified_at, \
            delete_comment_copies, scan_overlap_secs, auto_map_people";
        const ITEM_COLUMNS: &str = "id, pair_id, left_id, left_key, left_url, right_id, right_key, right_url, \
            state, shadow, fuse, hint, hint_at, left_updated_at, right_updated_at, last_error, failures, \
            next_attempt_at, last_synced_at, failing_since, created_at, updated_at";
        const OPERATION_COLUMNS: &str =
            "id, pair_id, item_id, side, kind, fields, state, remote_id, error, created_at, finished_at";

        const CONFLICT_COLUMNS: &str = "id, pair_id, item_id, field, left_value, right_value, winner, reason, \
            decided_at, left_full, right_full, chosen, chosen_by, chosen_at";

        fn sync_conflict_from_row(row: &DbRow) -> Result<crate::sync::SyncConflict> {
            let winner: String = row.try_get("winner")?;
            let chosen: Option<String> = row.try_get("chosen")?;
            let chosen = match (chosen, row.try_get::<Option<String>, _>("chosen_by")?, opt_from_db(row.try_get("chosen_at")?)?) {
                (Some(side), Some(by), Some(at)) => Some(crate::sync::ConflictChoice {
                    side: crate::sync::side_from(&side)?,
                    by,
                    at,
                }),
                _ => None,
            };
            Ok(crate::sync::SyncConflict {
                id: row.try_get("id")?,
                pair_id: row.try_get("pair_id")?,
                item_id: row.try_get("item_id")?,
                field: row.try_get("field")?,
                left_value: row.try_get("left_value")?,
                right_value: row.try_get("right_value")?,
                winner: crate::sync::side_from(&winner)?,
                reason: row.try_get("reason")?,
                decided_at: from_db(row.try_get("decided_at")?)?,
                left_full: row.try_get("left_full")?,
                right_full: row.try_get("right_full")?,
                chosen,
            })
        }

        fn sync_pair_from_row(row: &DbRow) -> Result<crate::sync::SyncPair> {
            use crate::sync::from_json;
            let side = |prefix: &str| -> Result<crate::sync::SyncSide> {
                Ok(crate::sync::SyncSide {
                    connection_id: row.try_get(format!("{prefix}_connection_id").as_str())?,
                    project: row.try_get(format!("{prefix}_project").as_str())?,
                    project_id: row.try_get(format!("{prefix}_project_id").as_str())?,
                    scope: from_json("sync scope", json_from_db(row.try_get(format!("{prefix}_scope").as_str())?)?)?,
                })
            };
            let mapping: Option<_> = row.try_get("status_mapping")?;
            Ok(crate::sync::SyncPair {
                id: row.try_get("id")?,
                settings: crate::sync::SyncPairSettings {
                    name: row.try_get("name")?,
                    owner_id: row.try_get("owner_id")?,
                    active: row.try_get("active")?,
                    left: side("left")?,
                    right: side("right")?,
                    created_after: opt_from_db(row.try_get("created_after")?)?,
                    fields: from_json("sync fields", json_from_db(row.try_get("fields")?)?)?,
                    status_mapping: match mapping {
                        Some(m) => Some(from_json("status mapping", json_from_db(m)?)?),
                        None => None,
                    },
                    transition_defaults: from_json(
                        "transition defaults",
                        json_from_db(row.try_get("transition_defaults")?)?,
                    )?,
                    jira_issue_type: row.try_get("jira_issue_type")?,
                    scan_interval_secs: row.try_get("scan_interval_secs")?,
                    delete_comment_copies: row.try_get("delete_comment_copies")?,
                    scan_overlap_secs: row.try_get("scan_overlap_secs")?,
                    auto_map_people: row.try_get("auto_map_people")?,
                },
                workflows: from_json("workflows", json_from_db(row.try_get("workflows")?)?)?,
                left_scanned_to: opt_from_db(row.try_get("left_scanned_to")?)?,
                right_scanned_to: opt_from_db(row.try_get("right_scanned_to")?)?,
                next_scan_at: opt_from_db(row.try_get("next_scan_at")?)?,
                full_scanned_at: opt_from_db(row.try_get("full_scanned_at")?)?,
                activated_at: opt_from_db(row.try_get("activated_at")?)?,
                unreachable_since: opt_from_db(row.try_get("unreachable_since")?)?,
                failing_notified_at: opt_from_db(row.try_get("failing_notified_at")?)?,
                created_at: from_db(row.try_get("created_at")?)?,
                updated_at: from_db(row.try_get("updated_at")?)?,
            })
        }

        fn sync_item_from_row(row: &DbRow) -> Result<crate::sync::SyncItem> {
            use crate::sync::from_json;
            let remote = |prefix: &str| -> Result<Option<crate::sync::RemoteRef>> {
                let id: Option<String> = row.try_get(format!("{prefix}_id").as_str())?;
                Ok(match id {
                    Some(id) => Some(crate::sync::RemoteRef {
                        id,
                        key: row.try_get::<Option<String>, _>(format!("{prefix}_key").as_str())?.unwrap_or_default(),
                        url: row.try_get::<Option<String>, _>(format!("{prefix}_url").as_str())?.unwrap_or_default(),
                    }),
                    None => None,
                })
            };
            let state: String = row.try_get("state")?;
            let hint: Option<_> = row.try_get("hint")?;
            Ok(crate::sync::SyncItem {
                id: row.try_get("id")?,
                pair_id: row.try_get("pair_id")?,
                left: remote("left")?,
                right: remote("right")?,
                state: cairn_core::sync::SyncItemState::parse(&state)
                    .ok_or_else(|| StoreError::InvalidData(format!("sync item state `{state}`")))?,
                shadow: from_json("shadow", json_from_db(row.try_get("shadow")?)?)?,
                fuse: from_json("fuse", json_from_db(row.try_get("fuse")?)?)?,
                hint: match hint {
                    Some(h) => Some(from_json("hint", json_from_db(h)?)?),
                    None => None,
                },
                left_updated_at: opt_from_db(row.try_get("left_updated_at")?)?,
                right_updated_at: opt_from_db(row.try_get("right_updated_at")?)?,
                last_error: row.try_get("last_error")?,
                failures: row.try_get("failures")?,
                next_attempt_at: opt_from_db(row.try_get("next_attempt_at")?)?,
                last_synced_at: opt_from_db(row.try_get("last_synced_at")?)?,
                failing_since: opt_from_db(row.try_get("failing_since")?)?,
                created_at: from_db(row.try_get("created_at")?)?,
                updated_at: from_db(row.try_get("updated_at")?)?,
            })
        }

        fn sync_operation_from_row(row: &DbRow) -> Result<crate::sync::SyncOperation> {
            let side: String = row.try_get("side")?;
            let kind: String = row.try_get("kind")?;
            let state: String = row.try_get("state")?;
            Ok(crate::sync::SyncOperation {
                id: row.try_get("id")?,
                pair_id: row.try_get("pair_id")?,
                item_id: row.try_get("item_id")?,
                side: crate::sync::side_from(&side)?,
                kind: cairn_core::sync::OperationKind::parse(&kind)
                    .ok_or_else(|| StoreError::InvalidData(format!("operation kind `{kind}`")))?,
                fields: crate::sync::from_json("operation fields", json_from_db(row.try_get("fields")?)?)?,
                state: cairn_core::sync::OperationState::parse(&state)
                    .ok_or_else(|| StoreError::InvalidData(format!("operation state `{state}`")))?,
                remote_id: row.try_get("remote_id")?,
                error: row.try_get("error")?,
                created_at: from_db(row.try_get("created_at")?)?,
                finished_at: opt_from_db(row.try_get("finished_at")?)?,
            })
        }

        #[async_trait::async_trait]
        impl crate::sync::SyncStore for $store {
            async fn get_sync_pair(&self, id: i64) -> Result<Option<crate::sync::SyncPair>> {
                let sql = format!("SELECT {PAIR_COLUMNS} FROM sync_pairs WHERE id = $1");
                let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&self.pool).await?;
                row.as_ref().map(sync_pair_from_row).transpose()
            }

            async fn list_sync_pairs(&self) -> Result<Vec<crate::sync::SyncPair>> {
                let sql = format!("SELECT {PAIR_COLUMNS} FROM sync_pairs ORDER BY id");
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&self.pool).await?;
                rows.iter().map(sync_pair_from_row).collect()
            }

            async fn sync_pairs_on_connection(&self, connection_id: i64) -> Result<Vec<crate::sync::SyncPair>> {
                let sql = format!(
                    "SELECT {PAIR_COLUMNS} FROM sync_pairs WHERE left_connection_id = $1 \
                     OR right_connection_id = $1 ORDER BY id"
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(connection_id).fetch_all(&self.pool).await?;
                rows.iter().map(sync_pair_from_row).collect()
            }

            async fn due_sync_scans(&self, now: DateTime<Utc>) -> Result<Vec<i64>> {
                let ids = sqlx::query_scalar(
                    "SELECT id FROM sync_pairs WHERE active = $1 AND (next_scan_at IS NULL OR next_scan_at <= $2) \
                     ORDER BY id",
                )
                .bind(true)
                .bind(to_db(now))
                .fetch_all(&self.pool)
                .await?;
                Ok(ids)
            }

            async fn get_sync_item(&self, id: i64) -> Result<Option<crate::sync::SyncItem>> {
                let sql = format!("SELECT {ITEM_COLUMNS} FROM sync_items WHERE id = $1");
                let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&self.pool).await?;
                row.as_ref().map(sync_item_from_row).transpose()
            }

            async fn find_sync_item(
                &self,
                pair_id: i64,
                side: cairn_core::sync::Side,
                remote_id: &str,
            ) -> Result<Option<crate::sync::SyncItem>> {
                let column = match side {
                    cairn_core::sync::Side::Left => "left_id",
                    cairn_core::sync::Side::Right => "right_id",
                };
                let sql = format!("SELECT {ITEM_COLUMNS} FROM sync_items WHERE pair_id = $1 AND {column} = $2");
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(pair_id)
                    .bind(remote_id)
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map(sync_item_from_row).transpose()
            }

            async fn list_sync_items(
                &self,
                pair_id: i64,
                state: Option<cairn_core::sync::SyncItemState>,
                after_id: i64,
                limit: u32,
            ) -> Result<Vec<crate::sync::SyncItem>> {
                let sql = format!(
                    "SELECT {ITEM_COLUMNS} FROM sync_items WHERE pair_id = $1 AND id > $2 \
                     AND ($3 IS NULL OR state = $3) ORDER BY id LIMIT $4"
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(pair_id)
                    .bind(after_id)
                    .bind(state.map(|s| s.as_str()))
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(sync_item_from_row).collect()
            }

            async fn sync_item_counts(&self, pair_id: i64) -> Result<crate::sync::SyncItemCounts> {
                let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM sync_items WHERE pair_id = $1 GROUP BY state")
                    .bind(pair_id)
                    .fetch_all(&self.pool)
                    .await?;
                let mut counts = crate::sync::SyncItemCounts::default();
                for row in rows {
                    let state: String = row.try_get("state")?;
                    let n: i64 = row.try_get("n")?;
                    match cairn_core::sync::SyncItemState::parse(&state) {
                        Some(cairn_core::sync::SyncItemState::Pending) => counts.pending = n,
                        Some(cairn_core::sync::SyncItemState::Synced) => counts.synced = n,
                        Some(cairn_core::sync::SyncItemState::Failing) => counts.failing = n,
                        Some(cairn_core::sync::SyncItemState::Paused) => counts.paused = n,
                        None => return Err(StoreError::InvalidData(format!("sync item state `{state}`"))),
                    }
                }
                Ok(counts)
            }

            async fn due_sync_items(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<crate::sync::SyncItem>> {
                let sql = format!(
                    "SELECT {ITEM_COLUMNS} FROM sync_items WHERE next_attempt_at <= $1 AND state = 'failing' \
                     AND pair_id IN (SELECT id FROM sync_pairs WHERE active = $2) ORDER BY next_attempt_at LIMIT $3"
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(to_db(now))
                    .bind(true)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(sync_item_from_row).collect()
            }

            async fn long_failing_sync_items(
                &self,
                pair_id: i64,
                failing_before: DateTime<Utc>,
                limit: u32,
            ) -> Result<(i64, Vec<crate::sync::SyncItem>)> {
                let count: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM sync_items WHERE pair_id = $1 AND state = 'failing' AND failing_since <= $2",
                )
                .bind(pair_id)
                .bind(to_db(failing_before))
                .fetch_one(&self.pool)
                .await?;
                let sql = format!(
                    "SELECT {ITEM_COLUMNS} FROM sync_items WHERE pair_id = $1 AND state = 'failing' \
                     AND failing_since <= $2 ORDER BY failing_since, id LIMIT $3"
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(pair_id)
                    .bind(to_db(failing_before))
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?;
                Ok((count, rows.iter().map(sync_item_from_row).collect::<Result<_>>()?))
            }

            async fn claim_sync_item(
                &self,
                id: i64,
                owner: &str,
                now: DateTime<Utc>,
                until: DateTime<Utc>,
            ) -> Result<bool> {
                let claimed = sqlx::query(
                    "UPDATE sync_items SET lease_owner = $1, lease_until = $2 WHERE id = $3 \
                     AND (lease_until IS NULL OR lease_until < $4 OR lease_owner = $1)",
                )
                .bind(owner)
                .bind(to_db(until))
                .bind(id)
                .bind(to_db(now))
                .execute(&self.writer)
                .await?
                .rows_affected();
                Ok(claimed == 1)
            }

            async fn release_sync_item(&self, id: i64, owner: &str) -> Result<()> {
                sqlx::query(
                    "UPDATE sync_items SET lease_owner = NULL, lease_until = NULL WHERE id = $1 AND lease_owner = $2",
                )
                .bind(id)
                .bind(owner)
                .execute(&self.writer)
                .await?;
                Ok(())
            }

            async fn open_sync_operations(&self, item_id: i64) -> Result<Vec<crate::sync::SyncOperation>> {
                let sql = format!(
                    "SELECT {OPERATION_COLUMNS} FROM sync_operations WHERE item_id = $1 AND state = 'intent' ORDER BY id"
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(item_id).fetch_all(&self.pool).await?;
                rows.iter().map(sync_operation_from_row).collect()
            }

            async fn list_sync_operations(
                &self,
                pair_id: i64,
                item_id: Option<i64>,
                limit: u32,
            ) -> Result<Vec<crate::sync::SyncOperation>> {
                let sql = format!(
                    "SELECT {OPERATION_COLUMNS} FROM sync_operations WHERE pair_id = $1 \
                     AND ($2 IS NULL OR item_id = $2) ORDER BY id DESC LIMIT $3"
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(pair_id)
                    .bind(item_id)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(sync_operation_from_row).collect()
            }

            async fn list_sync_conflicts(&self, pair_id: i64, limit: u32) -> Result<Vec<crate::sync::SyncConflict>> {
                let sql = format!(
                    "SELECT {CONFLICT_COLUMNS} FROM sync_conflicts WHERE pair_id = $1 ORDER BY id DESC LIMIT $2"
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(pair_id)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(sync_conflict_from_row).collect()
            }

            async fn get_sync_conflict(&self, id: i64) -> Result<Option<crate::sync::SyncConflict>> {
                let sql = format!("SELECT {CONFLICT_COLUMNS} FROM sync_conflicts WHERE id = $1");
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map(sync_conflict_from_row).transpose()
            }

            async fn list_sync_runs(&self, pair_id: i64, limit: u32) -> Result<Vec<crate::sync::SyncRun>> {
                let rows = sqlx::query(
                    "SELECT id, pair_id, triggered_by, started_at, finished_at, seen, created, updated, skipped, \
                     failed, api_calls FROM sync_runs WHERE pair_id = $1 ORDER BY id DESC LIMIT $2",
                )
                .bind(pair_id)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|row| {
                        Ok(crate::sync::SyncRun {
                            id: row.try_get("id")?,
                            pair_id: row.try_get("pair_id")?,
                            triggered_by: row.try_get("triggered_by")?,
                            started_at: from_db(row.try_get("started_at")?)?,
                            finished_at: from_db(row.try_get("finished_at")?)?,
                            counts: crate::sync::SyncCounts {
                                seen: row.try_get("seen")?,
                                created: row.try_get("created")?,
                                updated: row.try_get("updated")?,
                                skipped: row.try_get("skipped")?,
                                failed: row.try_get("failed")?,
                                api_calls: row.try_get("api_calls")?,
                            },
                        })
                    })
                    .collect()
            }

            async fn list_sync_comments(&self, item_id: i64) -> Result<Vec<cairn_core::sync::CopyLink>> {
                let rows = sqlx::query(
                    "SELECT id, origin_side, origin_id, copy_id, origin_hash FROM sync_comments \
                     WHERE item_id = $1 ORDER BY id",
                )
                .bind(item_id)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|row| {
                        let side: String = row.try_get("origin_side")?;
                        Ok(cairn_core::sync::CopyLink {
                            id: row.try_get("id")?,
                            origin_side: crate::sync::side_from(&side)?,
                            origin_id: row.try_get("origin_id")?,
                            copy_id: row.try_get("copy_id")?,
                            origin_hash: row.try_get("origin_hash")?,
                        })
                    })
                    .collect()
            }

            async fn is_sync_comment_copy(
                &self,
                pair_id: i64,
                side: cairn_core::sync::Side,
                copy_id: &str,
            ) -> Result<bool> {
                let found: Option<i64> = sqlx::query_scalar(
                    "SELECT id FROM sync_comments WHERE pair_id = $1 AND origin_side = $2 AND copy_id = $3 LIMIT 1",
                )
                .bind(pair_id)
                .bind(side.other().as_str())
                .bind(copy_id)
                .fetch_optional(&self.pool)
                .await?;
                Ok(found.is_some())
            }

            async fn is_sync_backlink(
                &self,
                pair_id: i64,
                side: cairn_core::sync::Side,
                remote_id: &str,
            ) -> Result<bool> {
                let found: Option<i64> = sqlx::query_scalar(
                    "SELECT b.item_id FROM sync_backlinks b JOIN sync_items i ON i.id = b.item_id \
                     WHERE i.pair_id = $1 AND b.side = $2 AND b.remote_id = $3 LIMIT 1",
                )
                .bind(pair_id)
                .bind(side.as_str())
                .bind(remote_id)
                .fetch_optional(&self.pool)
                .await?;
                Ok(found.is_some())
            }

            async fn get_sync_backlink(
                &self,
                item_id: i64,
                side: cairn_core::sync::Side,
            ) -> Result<Option<String>> {
                Ok(sqlx::query_scalar("SELECT remote_id FROM sync_backlinks WHERE item_id = $1 AND side = $2")
                    .bind(item_id)
                    .bind(side.as_str())
                    .fetch_optional(&self.pool)
                    .await?)
            }
        }

        #[async_trait::async_trait]
        impl crate::sync::SyncTx for $tx {
            async fn insert_sync_pair(
                &mut self,
                p: &crate::sync::SyncPairSettings,
                now: DateTime<Utc>,
            ) -> Result<i64> {
                use crate::sync::to_json;
                let mapping = p.status_mapping.as_ref().map(|m| to_json("status mapping", m)).transpose()?;
                let id = sqlx::query_scalar(
                    "INSERT INTO sync_pairs (name, owner_id, active, left_connection_id, left_project, left_project_id, \
                     left_scope, right_connection_id, right_project, right_project_id, right_scope, created_after, \
                     fields, status_mapping, transition_defaults, jira_issue_type, workflows, scan_interval_secs, \
                     created_at, updated_at, delete_comment_copies, scan_overlap_secs, auto_map_people) VALUES ($1, $2, \
                     $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $19, $20, $21, $22) \
                     RETURNING id",
                )
                .bind(&p.name)
                .bind(p.owner_id)
                .bind(p.active)
                .bind(p.left.connection_id)
                .bind(&p.left.project)
                .bind(&p.left.project_id)
                .bind(json_to_db(&to_json("scope", &p.left.scope)?))
                .bind(p.right.connection_id)
                .bind(&p.right.project)
                .bind(&p.right.project_id)
                .bind(json_to_db(&to_json("scope", &p.right.scope)?))
                .bind(p.created_after.map(to_db))
                .bind(json_to_db(&to_json("fields", &p.fields)?))
                .bind(mapping.as_ref().map(json_to_db))
                .bind(json_to_db(&to_json("transition defaults", &p.transition_defaults)?))
                .bind(&p.jira_issue_type)
                .bind(json_to_db(&serde_json::json!({})))
                .bind(p.scan_interval_secs)
                .bind(to_db(now))
                .bind(p.delete_comment_copies)
                .bind(p.scan_overlap_secs)
                .bind(p.auto_map_people)
                .fetch_one(&mut *self.tx)
                .await?;
                Ok(id)
            }

            async fn update_sync_pair(
                &mut self,
                id: i64,
                p: &crate::sync::SyncPairSettings,
                activated_at: Option<DateTime<Utc>>,
                now: DateTime<Utc>,
            ) -> Result<bool> {
                use crate::sync::to_json;
                let mapping = p.status_mapping.as_ref().map(|m| to_json("status mapping", m)).transpose()?;
                let updated = sqlx::query(
                    "UPDATE sync_pairs SET name = $1, owner_id = $2, active = $3, left_connection_id = $4, \
                     left_project = $5, left_project_id = $6, left_scope = $7, right_connection_id = $8, \
                     right_project = $9, right_project_id = $10, right_scope = $11, created_after = $12, fields = $13, \
                     status_mapping = $14, transition_defaults = $15, jira_issue_type = $16, scan_interval_secs = $17, \
                     activated_at = COALESCE(activated_at, $18), updated_at = $19, delete_comment_copies = $21, \
                     scan_overlap_secs = $22, auto_map_people = $23 WHERE id = $20",
                )
                .bind(&p.name)
                .bind(p.owner_id)
                .bind(p.active)
                .bind(p.left.connection_id)
                .bind(&p.left.project)
                .bind(&p.left.project_id)
                .bind(json_to_db(&to_json("scope", &p.left.scope)?))
                .bind(p.right.connection_id)
                .bind(&p.right.project)
                .bind(&p.right.project_id)
                .bind(json_to_db(&to_json("scope", &p.right.scope)?))
                .bind(p.created_after.map(to_db))
                .bind(json_to_db(&to_json("fields", &p.fields)?))
                .bind(mapping.as_ref().map(json_to_db))
                .bind(json_to_db(&to_json("transition defaults", &p.transition_defaults)?))
                .bind(&p.jira_issue_type)
                .bind(p.scan_interval_secs)
                .bind(activated_at.map(to_db))
                .bind(to_db(now))
                .bind(id)
                .bind(p.delete_comment_copies)
                .bind(p.scan_overlap_secs)
                .bind(p.auto_map_people)
                .execute(&mut *self.tx)
                .await?
                .rows_affected();
                Ok(updated == 1)
            }

            async fn delete_sync_pair(&mut self, id: i64) -> Result<bool> {
                let deleted = sqlx::query("DELETE FROM sync_pairs WHERE id = $1")
                    .bind(id)
                    .execute(&mut *self.tx)
                    .await?
                    .rows_affected();
                Ok(deleted == 1)
            }

            async fn save_sync_workflows(
                &mut self,
                id: i64,
                workflows: &std::collections::BTreeMap<String, cairn_core::sync::Workflow>,
            ) -> Result<()> {
                sqlx::query("UPDATE sync_pairs SET workflows = $1 WHERE id = $2")
                    .bind(json_to_db(&crate::sync::to_json("workflows", workflows)?))
                    .bind(id)
                    .execute(&mut *self.tx)
                    .await?;
                Ok(())
            }

            async fn save_sync_scan(
                &mut self,
                id: i64,
                left_scanned_to: Option<DateTime<Utc>>,
                right_scanned_to: Option<DateTime<Utc>>,
                next_scan_at: DateTime<Utc>,
            ) -> Result<()> {
                sqlx::query(
                    "UPDATE sync_pairs SET left_scanned_to = $1, right_scanned_to = $2, next_scan_at = $3 WHERE id = $4",
                )
                .bind(left_scanned_to.map(to_db))
                .bind(right_scanned_to.map(to_db))
                .bind(to_db(next_scan_at))
                .bind(id)
                .execute(&mut *self.tx)
                .await?;
                Ok(())
            }

            async fn save_sync_full_scan(&mut self, id: i64, at: DateTime<Utc>) -> Result<()> {
                sqlx::query("UPDATE sync_pairs SET full_scanned_at = $1 WHERE id = $2")
                    .bind(to_db(at))
                    .bind(id)
                    .execute(&mut *self.tx)
                    .await?;
                Ok(())
            }

            async fn save_sync_unreachable(
                &mut self,
                id: i64,
                unreachable_since: Option<DateTime<Utc>>,
            ) -> Result<()> {
                sqlx::query("UPDATE sync_pairs SET unreachable_since = $1 WHERE id = $2")
                    .bind(unreachable_since.map(to_db))
                    .bind(id)
                    .execute(&mut *self.tx)
                    .await?;
                Ok(())
            }

            async fn set_sync_failing_told(
                &mut self,
                id: i64,
                at: Option<DateTime<Utc>>,
            ) -> Result<bool> {
                let done = match at {
                    Some(at) => sqlx::query(
                        "UPDATE sync_pairs SET failing_notified_at = $1 WHERE id = $2 AND failing_notified_at IS NULL",
                    )
                    .bind(to_db(at))
                    .bind(id)
                    .execute(&mut *self.tx)
                    .await?,
                    None => sqlx::query("UPDATE sync_pairs SET failing_notified_at = NULL WHERE id = $1")
                        .bind(id)
                        .execute(&mut *self.tx)
                        .await?,
                };
                Ok(done.rows_affected() > 0)
            }

            async fn note_sync_item(
                &mut self,
                pair_id: i64,
                side: cairn_core::sync::Side,
                remote: &crate::sync::RemoteRef,
                hint: Option<&crate::sync::SyncHint>,
                now: DateTime<Utc>,
            ) -> Result<(i64, bool)> {
                let prefix = side.as_str();
                let insert = format!(
                    "INSERT INTO sync_items (pair_id, {prefix}_id, {prefix}_key, {prefix}_url, state, shadow, fuse, \
                     created_at, updated_at) VALUES ($1, $2, $3, $4, 'pending', $5, $5, $6, $6) \
                     ON CONFLICT DO NOTHING RETURNING id"
                );
                let inserted: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(insert))
                    .bind(pair_id)
                    .bind(&remote.id)
                    .bind(&remote.key)
                    .bind(&remote.url)
                    .bind(json_to_db(&serde_json::json!({})))
                    .bind(to_db(now))
                    .fetch_optional(&mut *self.tx)
                    .await?;
                let id = match inserted {
                    Some(id) => id,
                    None => {
                        let select = format!("SELECT id FROM sync_items WHERE pair_id = $1 AND {prefix}_id = $2");
                        sqlx::query_scalar(sqlx::AssertSqlSafe(select))
                            .bind(pair_id)
                            .bind(&remote.id)
                            .fetch_one(&mut *self.tx)
                            .await?
                    }
                };
                if let Some(hint) = hint {
                    let at = hint.observed.updated_at;
                    sqlx::query(
                        "UPDATE sync_items SET hint = $1, hint_at = $2, updated_at = $3 WHERE id = $4 \
                         AND (hint_at IS NULL OR hint_at <= $2)",
                    )
                    .bind(json_to_db(&crate::sync::to_json("hint", hint)?))
                    .bind(to_db(at))
                    .bind(to_db(now))
                    .bind(id)
                    .execute(&mut *self.tx)
                    .await?;
                }
                Ok((id, inserted.is_some()))
            }

            async fn save_sync_item(
                &mut self,
                item: &crate::sync::SyncItem,
                owner: &str,
                used_hint_at: Option<DateTime<Utc>>,
                now: DateTime<Utc>,
            ) -> Result<()> {
                use crate::sync::to_json;
                let part = |r: &Option<crate::sync::RemoteRef>| {
                    (
                        r.as_ref().map(|r| r.id.clone()),
                        r.as_ref().map(|r| r.key.clone()),
                        r.as_ref().map(|r| r.url.clone()),
                    )
                };
                let (left_id, left_key, left_url) = part(&item.left);
                let (right_id, right_key, right_url) = part(&item.right);
                sqlx::query(
                    "UPDATE sync_items SET left_id = $1, left_key = $2, left_url = $3, right_id = $4, right_key = $5, \
                     right_url = $6, state = $7, shadow = $8, fuse = $9, left_updated_at = $10, right_updated_at = $11, \
                     last_error = $12, failures = $13, next_attempt_at = $14, last_synced_at = $15, updated_at = $16, \
                     failing_since = CASE WHEN $7 = 'failing' THEN COALESCE(failing_since, $16) ELSE NULL END, \
                     hint = CASE WHEN hint_at = $17 THEN NULL ELSE hint END, \
                     hint_at = CASE WHEN hint_at = $17 THEN NULL ELSE hint_at END, \
                     lease_owner = CASE WHEN lease_owner = $18 THEN NULL ELSE lease_owner END, \
                     lease_until = CASE WHEN lease_owner = $18 THEN NULL ELSE lease_until END \
                     WHERE id = $19",
                )
                .bind(left_id)
                .bind(left_key)
                .bind(left_url)
                .bind(right_id)
                .bind(right_key)
                .bind(right_url)
                .bind(item.state.as_str())
                .bind(json_to_db(&to_json("shadow", &item.shadow)?))
                .bind(json_to_db(&to_json("fuse", &item.fuse)?))
                .bind(item.left_updated_at.map(to_db))
                .bind(item.right_updated_at.map(to_db))
                .bind(&item.last_error)
                .bind(item.failures)
                .bind(item.next_attempt_at.map(to_db))
                .bind(item.last_synced_at.map(to_db))
                .bind(to_db(now))
                .bind(used_hint_at.map(to_db))
                .bind(owner)
                .bind(item.id)
                .execute(&mut *self.tx)
                .await
                .map_err(crate::error::conflict_on("twin"))?;
                Ok(())
            }

            async fn delete_sync_item(&mut self, id: i64) -> Result<bool> {
                let deleted = sqlx::query("DELETE FROM sync_items WHERE id = $1")
                    .bind(id)
                    .execute(&mut *self.tx)
                    .await?
                    .rows_affected();
                Ok(deleted == 1)
            }

            async fn insert_sync_operation(
                &mut self,
                op: &crate::sync::NewSyncOperation,
                now: DateTime<Utc>,
            ) -> Result<i64> {
                let id = sqlx::query_scalar(
                    "INSERT INTO sync_operations (pair_id, item_id, side, kind, fields, state, created_at) \
                     VALUES ($1, $2, $3, $4, $5, 'intent', $6) RETURNING id",
                )
                .bind(op.pair_id)
                .bind(op.item_id)
                .bind(op.side.as_str())
                .bind(op.kind.as_str())
                .bind(json_to_db(&crate::sync::to_json("operation fields", &op.fields)?))
                .bind(to_db(now))
                .fetch_one(&mut *self.tx)
                .await?;
                Ok(id)
            }

            async fn finish_sync_operation(
                &mut self,
                id: i64,
                state: cairn_core::sync::OperationState,
                remote_id: Option<&str>,
                error: Option<&str>,
                now: DateTime<Utc>,
            ) -> Result<()> {
                sqlx::query(
                    "UPDATE sync_operations SET state = $1, remote_id = COALESCE($2, remote_id), error = $3, \
                     finished_at = $4 WHERE id = $5",
                )
                .bind(state.as_str())
                .bind(remote_id)
                .bind(error)
                .bind(to_db(now))
                .bind(id)
                .execute(&mut *self.tx)
                .await?;
                Ok(())
            }

            async fn insert_sync_conflict(
                &mut self,
                pair_id: i64,
                item_id: i64,
                c: &cairn_core::sync::Conflict,
                now: DateTime<Utc>,
            ) -> Result<i64> {
                let id = sqlx::query_scalar(
                    "INSERT INTO sync_conflicts (pair_id, item_id, field, left_value, right_value, winner, reason, \
                     decided_at, left_full, right_full) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
                )
                .bind(pair_id)
                .bind(item_id)
                .bind(c.field.as_str())
                .bind(c.left.summary(crate::sync::CONFLICT_VALUE_CHARS))
                .bind(c.right.summary(crate::sync::CONFLICT_VALUE_CHARS))
                .bind(c.winner.as_str())
                .bind(c.reason)
                .bind(to_db(now))
                .bind(serde_json::to_string(&c.left).ok())
                .bind(serde_json::to_string(&c.right).ok())
                .fetch_one(&mut *self.tx)
                .await?;
                Ok(id)
            }

            async fn choose_sync_conflict(
                &mut self,
                id: i64,
                side: cairn_core::sync::Side,
                by: &str,
                now: DateTime<Utc>,
            ) -> Result<()> {
                sqlx::query("UPDATE sync_conflicts SET chosen = $1, chosen_by = $2, chosen_at = $3 WHERE id = $4")
                    .bind(side.as_str())
                    .bind(by)
                    .bind(to_db(now))
                    .bind(id)
                    .execute(&mut *self.tx)
                    .await?;
                Ok(())
            }

            async fn insert_sync_run(
                &mut self,
                pair_id: i64,
                triggered_by: &str,
                started_at: DateTime<Utc>,
                c: &crate::sync::SyncCounts,
                now: DateTime<Utc>,
            ) -> Result<i64> {
                let id = sqlx::query_scalar(
                    "INSERT INTO sync_runs (pair_id, triggered_by, started_at, finished_at, seen, created, updated, \
                     skipped, failed, api_calls) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
                )
                .bind(pair_id)
                .bind(triggered_by)
                .bind(to_db(started_at))
                .bind(to_db(now))
                .bind(c.seen)
                .bind(c.created)
                .bind(c.updated)
                .bind(c.skipped)
                .bind(c.failed)
                .bind(c.api_calls)
                .fetch_one(&mut *self.tx)
                .await?;
                Ok(id)
            }
            async fn insert_sync_comment(
                &mut self,
                pair_id: i64,
                item_id: i64,
                origin_side: cairn_core::sync::Side,
                origin_id: &str,
                origin_hash: &str,
                now: DateTime<Utc>,
            ) -> Result<i64> {
                let id = sqlx::query_scalar(
                    "INSERT INTO sync_comments (pair_id, item_id, origin_side, origin_id, origin_hash, created_at, \
                     updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
                )
                .bind(pair_id)
                .bind(item_id)
                .bind(origin_side.as_str())
                .bind(origin_id)
                .bind(origin_hash)
                .bind(to_db(now))
                .fetch_one(&mut *self.tx)
                .await
                .map_err(crate::error::conflict_on("comment"))?;
                Ok(id)
            }

            async fn save_sync_comment(
                &mut self,
                id: i64,
                copy_id: &str,
                origin_hash: &str,
                now: DateTime<Utc>,
            ) -> Result<()> {
                sqlx::query("UPDATE sync_comments SET copy_id = $1, origin_hash = $2, updated_at = $3 WHERE id = $4")
                    .bind(copy_id)
                    .bind(origin_hash)
                    .bind(to_db(now))
                    .bind(id)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(crate::error::conflict_on("comment"))?;
                Ok(())
            }

            async fn delete_sync_comment(&mut self, id: i64) -> Result<bool> {
                let deleted = sqlx::query("DELETE FROM sync_comments WHERE id = $1")
                    .bind(id)
                    .execute(&mut *self.tx)
                    .await?
                    .rows_affected();
                Ok(deleted == 1)
            }

            async fn insert_sync_backlink(
                &mut self,
                item_id: i64,
                side: cairn_core::sync::Side,
                remote_id: &str,
                now: DateTime<Utc>,
            ) -> Result<()> {
                sqlx::query(
                    "INSERT INTO sync_backlinks (item_id, side, remote_id, created_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(item_id)
                .bind(side.as_str())
                .bind(remote_id)
                .bind(to_db(now))
                .execute(&mut *self.tx)
                .await?;
                Ok(())
            }
        }
    };
}

pub(crate) use impl_sync;
