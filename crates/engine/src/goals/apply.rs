//! The one path every item change takes, whether a poll read it or a
//! webhook delivered it: store the snapshots, change the link's membership,
//! and recompute its key result (a progress point with a note when the
//! number or status moved).

use cairn_core::goals::ItemSnapshot;
use cairn_store::goals::{DataLink, RefreshRecord};
use chrono::{DateTime, Utc};

use super::Goals;
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
}

impl Goals {
    /// Applies item changes to a link in one transaction (with the outcome
    /// of the refresh that read them, for a poll) and recomputes its key
    /// result; `note` goes on the progress point if the number moved.
    /// Returns whether the key result's status changed.
    pub async fn apply_item_changes(
        &self,
        link: &DataLink,
        changes: &ItemChanges,
        refresh: Option<&RefreshRecord>,
        note: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, EngineError> {
        let mut tx = self.store.begin().await?;
        let ids = tx
            .upsert_items(link.connection_id, &changes.items, now)
            .await?;
        if changes.exact {
            let members: Vec<i64> = ids
                .iter()
                .zip(changes.members.iter().chain(std::iter::repeat(&true)))
                .filter(|(_, member)| **member)
                .map(|(id, _)| *id)
                .collect();
            tx.replace_link_items(link.id, &members).await?;
        } else {
            let (mut add, mut remove) = (Vec::new(), Vec::new());
            for (id, member) in ids.iter().zip(&changes.members) {
                if *member {
                    add.push(*id)
                } else {
                    remove.push(*id)
                }
            }
            tx.change_link_items(link.id, &add, &remove).await?;
        }
        if !changes.left.is_empty() {
            tx.remove_link_items_by_key(link.id, &changes.left).await?;
        }
        if let Some(record) = refresh {
            tx.record_refresh(link.id, record, now).await?;
        }
        tx.commit().await?;
        self.recompute(link.okr_id, now, "data_link", note).await
    }
}
