//! The one path every item change takes, whether a poll read it or a
//! webhook delivered it: store the snapshots, change the link's membership,
//! and recompute its key result (a progress point with a note when the
//! number or status moved).

use cairn_core::goals::ItemSnapshot;
use cairn_store::goals::{DataLink, RefreshRecord};
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

/// Writes item changes to a link inside `tx`; returns how many snapshots
/// were skipped because a newer one was stored.
async fn write_changes(
    tx: &mut dyn StoreTx,
    link: &DataLink,
    changes: &ItemChanges,
    refresh: Option<&RefreshRecord>,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
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
    }
    Ok(stale)
}

/// [`write_changes`] as one write of a batch.
struct WriteChanges {
    link: DataLink,
    changes: ItemChanges,
    refresh: Option<RefreshRecord>,
    now: DateTime<Utc>,
}

#[async_trait::async_trait]
impl BatchWrite for WriteChanges {
    type Output = usize;

    async fn write(&mut self, tx: &mut dyn StoreTx) -> Result<usize, StoreError> {
        write_changes(
            tx,
            &self.link,
            &self.changes,
            self.refresh.as_ref(),
            self.now,
        )
        .await
    }
}

impl Goals {
    /// Applies item changes to a link in one transaction (with the outcome
    /// of the refresh that read them, for a poll) and recomputes its key
    /// result; `note` goes on the progress point if the number moved.
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
        let stale = if small {
            self.batcher
                .write(WriteChanges {
                    link: link.clone(),
                    changes: changes.clone(),
                    refresh: refresh.cloned(),
                    now,
                })
                .await?
        } else {
            let mut tx = self.store.begin().await?;
            let stale = write_changes(&mut *tx, link, changes, refresh, now).await?;
            tx.commit().await?;
            stale
        };
        let nothing_changed =
            stale == changes.items.len() && changes.left.is_empty() && !changes.exact;
        let status_changed = if nothing_changed && refresh.is_none() {
            false
        } else {
            self.recompute(link.okr_id, now, "data_link", note).await?
        };
        Ok(Applied {
            stale,
            status_changed,
        })
    }
}
