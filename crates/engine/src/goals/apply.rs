//! The one path every item change takes, whether a poll read it or a
//! webhook delivered it: store the snapshots, change the link's membership,
//! and recompute its key result (a progress point with a note when the
//! number or status moved).

use cairn_core::goals::ItemSnapshot;
use cairn_store::goals::{DataLink, PendingRecompute, RefreshRecord};
use cairn_store::{StoreError, StoreTx};
use chrono::{DateTime, Utc};

use super::Goals;
use crate::batch::BatchWrite;
use crate::error::EngineError;

/// What a read of a tracker, or a delivery from it, says about a link's
/// items.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ItemChanges {
    /// Snapshots to store (shared by every link of the connection).
    pub items: Vec<ItemSnapshot>,
    /// Per item: whether it belongs to the link's selection.
    pub members: Vec<bool>,
    /// The items are the whole selection (a full read): every other item
    /// leaves the link.
    pub exact: bool,
    /// Keys that left the selection without a snapshot (deleted, no longer
    /// matching a search, no longer visible).
    pub left: Vec<String>,
    /// The snapshots may be older than stored ones (a late or reordered
    /// webhook): a stored snapshot the tracker changed later is kept, and
    /// such an item's membership is left as it is.
    pub only_newer: bool,
}

/// What applying changes did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Applied {
    /// Items skipped because a newer snapshot was stored.
    pub stale: usize,
    /// Whether the key result's status changed.
    pub status_changed: bool,
}

/// At most this many snapshots and keys go through a shared transaction
/// (see [`crate::batch`]); a poll's large reads get their own.
const BATCHED_CHANGES: usize = 100;

/// What [`write_changes`] did.
#[derive(Debug)]
enum Written {
    /// The changes are written; this many snapshots were skipped because a
    /// newer one was stored.
    Items(usize),
    /// Nothing was written: an earlier change's items are committed but not
    /// its progress point (the process applying it died). Record it first.
    EarlierPending(PendingRecompute),
}

/// Writes item changes to a link inside `tx`, marking its key result
/// "recompute pending" in the same transaction (the point is recorded in a
/// later one; a fault in between must not lose it). Unless `replace`, an
/// earlier change still pending stops the write (see [`Written`]).
async fn write_changes(
    tx: &mut dyn StoreTx,
    link: &DataLink,
    changes: &ItemChanges,
    refresh: Option<&RefreshRecord>,
    pending: &PendingRecompute,
    replace: bool,
) -> Result<Written, StoreError> {
    let now = pending.at;
    if let Some(earlier) = tx
        .mark_recompute_pending(link.okr_id, pending, replace)
        .await?
    {
        return Ok(Written::EarlierPending(earlier));
    }
    let ids: Vec<Option<i64>> = if changes.only_newer {
        tx.upsert_items_if_newer(link.connection_id, &changes.items, now)
            .await?
    } else {
        tx.upsert_items(link.connection_id, &changes.items, now)
            .await?
            .into_iter()
            .map(Some)
            .collect()
    };
    let stale = ids.iter().filter(|id| id.is_none()).count();
    let (mut add, mut remove) = (Vec::new(), Vec::new());
    for (n, id) in ids.iter().enumerate() {
        // A full read's items are its selection, unless said otherwise.
        let member = changes
            .members
            .get(n)
            .copied()
            .or(changes.exact.then_some(true));
        match (id, member) {
            (Some(id), Some(true)) => add.push(*id),
            (Some(id), Some(false)) => remove.push(*id),
            _ => {}
        }
    }
    if changes.exact {
        tx.replace_link_items(link.id, &add).await?;
    } else if !add.is_empty() || !remove.is_empty() {
        tx.change_link_items(link.id, &add, &remove).await?;
    }
    if !changes.left.is_empty() {
        tx.remove_link_items_by_key(link.id, &changes.left).await?;
    }
    if let Some(record) = refresh {
        tx.record_refresh(link.id, record, now).await?;
    } else if nothing_changed(changes, stale) {
        // No recompute follows (see `apply_item_changes`): nothing to mark.
        tx.clear_recompute_pending(link.okr_id).await?;
    }
    Ok(Written::Items(stale))
}

/// Every snapshot was older than the stored one and nothing left the link.
fn nothing_changed(changes: &ItemChanges, stale: usize) -> bool {
    stale == changes.items.len() && changes.left.is_empty() && !changes.exact
}

/// [`write_changes`] as one write of a batch.
struct WriteChanges {
    link: DataLink,
    changes: ItemChanges,
    refresh: Option<RefreshRecord>,
    pending: PendingRecompute,
    replace: bool,
}

#[async_trait::async_trait]
impl BatchWrite for WriteChanges {
    type Output = Written;

    async fn write(&mut self, tx: &mut dyn StoreTx) -> Result<Written, StoreError> {
        write_changes(
            tx,
            &self.link,
            &self.changes,
            self.refresh.as_ref(),
            &self.pending,
            self.replace,
        )
        .await
    }
}

/// Clears a key result's "recompute pending" mark (one write of a batch).
struct ClearPending(i64);

#[async_trait::async_trait]
impl BatchWrite for ClearPending {
    type Output = ();

    async fn write(&mut self, tx: &mut dyn StoreTx) -> Result<(), StoreError> {
        tx.clear_recompute_pending(self.0).await
    }
}

impl Goals {
    /// Applies item changes to a link in one transaction (with the outcome
    /// of the refresh that read them, for a poll) and recomputes its key
    /// result; `note` goes on the progress point if the number moved.
    ///
    /// The caller holds the link's lock (`LockKey::Link`): changes to one
    /// link are applied one at a time, so a change still marked pending
    /// when the next one comes is one whose applier died, and its point is
    /// recorded (with its own time and note) before the next change is
    /// written. Every change of the link thus gets its own point.
    pub async fn apply_item_changes(
        &self,
        link: &DataLink,
        changes: &ItemChanges,
        refresh: Option<&RefreshRecord>,
        note: &str,
        now: DateTime<Utc>,
    ) -> Result<Applied, EngineError> {
        let small = changes.items.len() <= BATCHED_CHANGES
            && changes.left.len() <= BATCHED_CHANGES
            && !changes.exact;
        let pending = PendingRecompute {
            at: now,
            note: note.to_owned(),
        };
        let mut replace = false;
        let stale = loop {
            let written = if small {
                self.batcher
                    .write(WriteChanges {
                        link: link.clone(),
                        changes: changes.clone(),
                        refresh: refresh.cloned(),
                        pending: pending.clone(),
                        replace,
                    })
                    .await?
            } else {
                let mut tx = self.store.begin().await?;
                let written =
                    write_changes(&mut *tx, link, changes, refresh, &pending, replace).await?;
                tx.commit().await?;
                written
            };
            match written {
                Written::Items(stale) => break stale,
                Written::EarlierPending(earlier) => {
                    // Worth a warning: it follows a fault of this or
                    // another instance (and tests count it).
                    tracing::warn!(
                        okr = link.okr_id,
                        link = link.id,
                        "the progress point of a change applied before a fault is recorded now"
                    );
                    self.recompute_settling(
                        link.okr_id,
                        earlier.at,
                        "data_link",
                        &earlier.note,
                        true,
                    )
                    .await?;
                    // The earlier change is counted; this one's mark
                    // replaces its mark whether or not a point was needed.
                    replace = true;
                }
            }
        };
        let status_changed = if nothing_changed(changes, stale) && refresh.is_none() {
            false
        } else {
            let recomputed = self
                .recompute_settling(link.okr_id, now, "data_link", note, true)
                .await?;
            if !recomputed.recorded {
                // The progress already counted this change (or another
                // recompute recorded it): it is no longer pending.
                self.batcher.write(ClearPending(link.okr_id)).await?;
            }
            recomputed.status_changed
        };
        Ok(Applied {
            stale,
            status_changed,
        })
    }
}
