//! A person overturning a conflict the pair's rule decided ("keep left" /
//! "keep right"): the chosen side's value, as it was when the conflict was
//! decided, is written wherever it is not the value now (the other side,
//! and the chosen side itself when the rule had overwritten it), each write
//! recorded like the item job's; the shadow learns what was written so the
//! next attempt takes none of it for a new change; the conflict records
//! who chose which side.

use std::collections::BTreeMap;

use cairn_core::sync::{
    FieldValue, ItemState, OperationKind, OperationState, Readback, Side, SyncField,
};
use cairn_store::sync::{NewSyncOperation, SyncConflict, SyncItem, SyncPair};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::SyncEngine;
use super::item::count_operation;
use super::side::PairReadback;
use crate::accounts::Authenticated;
use crate::error::EngineError;

/// A refusal of the choice (409), naming the `side` field.
fn refused(message: impl Into<String>) -> EngineError {
    EngineError::Conflict {
        field: Some("side".to_owned()),
        message: message.into(),
    }
}

/// A conflict's stored value (JSON) as `field`'s kind of value.
fn value_of(field: SyncField, json: &str) -> Option<FieldValue> {
    let value: Value = serde_json::from_str(json).ok()?;
    match field {
        SyncField::Title | SyncField::Description => {
            Some(FieldValue::Text(value.as_str()?.to_owned()))
        }
        SyncField::State => Some(FieldValue::State(ItemState::parse(value.as_str()?)?)),
        SyncField::Labels => Some(FieldValue::Labels(
            value
                .as_array()?
                .iter()
                .map(|l| l.as_str().map(str::to_owned))
                .collect::<Option<_>>()?,
        )),
        SyncField::DueDate => match value {
            Value::Null => Some(FieldValue::Date(None)),
            Value::String(d) => Some(FieldValue::Date(Some(d.parse().ok()?))),
            _ => None,
        },
        // Kept by assigning on the tracker: a value holds one side's id,
        // which the pair's people mapping places on the other.
        SyncField::Assignee => None,
        // Likewise: a value holds one side's release id, which the pair's
        // release links place on the other.
        SyncField::Milestone => None,
    }
}

impl SyncEngine {
    /// Overturns conflict `conflict_id` of pair `pair_id` for `side`'s
    /// value. Refused (409) while the item is being carried, when the
    /// pair's direction for the field does not carry from `side`, or when
    /// a tracker refuses the write (what was written before stays, and the
    /// choice is not recorded).
    pub async fn keep_side(
        &self,
        by: &Authenticated,
        pair_id: i64,
        conflict_id: i64,
        side: Side,
        now: DateTime<Utc>,
    ) -> Result<SyncConflict, EngineError> {
        let pair = self.pair_for(by, pair_id).await?;
        let not_found =
            || EngineError::NotFound(format!("no conflict {conflict_id} in sync pair {pair_id}"));
        let conflict = self
            .store
            .get_sync_conflict(conflict_id)
            .await?
            .filter(|c| c.pair_id == pair.id)
            .ok_or_else(not_found)?;
        let field = SyncField::parse(&conflict.field).ok_or_else(not_found)?;
        if field == SyncField::Assignee {
            return Err(refused(
                "an assignee is kept by assigning the person on the tracker; the pair carries it from there",
            ));
        }
        if field == SyncField::Milestone {
            return Err(refused(
                "a milestone is kept by setting it (or the fix version) on the tracker; the pair carries it from there",
            ));
        }
        let policy = pair.settings.fields.get(field);
        if !policy.direction.carries(side) {
            return Err(refused(format!(
                "the pair does not carry {field} from the {side} side ({}); change the pair's fields first",
                policy.direction
            )));
        }
        let full = match side {
            Side::Left => conflict.left_full.as_deref(),
            Side::Right => conflict.right_full.as_deref(),
        };
        let value = full.and_then(|j| value_of(field, j)).ok_or_else(|| {
            refused(
                "this conflict was recorded before Cairn kept whole values: set the value on the trackers by hand",
            )
        })?;
        let owner = format!("keep-{conflict_id}-{}", super::uuid_like());
        let until = now
            + chrono::Duration::from_std(self.settings.claim)
                .unwrap_or(chrono::Duration::minutes(2));
        if !self
            .store
            .claim_sync_item(conflict.item_id, &owner, now, until)
            .await?
        {
            return Err(refused(
                "the item is being synced right now; try again in a moment",
            ));
        }
        let Some(mut item) = self.store.get_sync_item(conflict.item_id).await? else {
            return Err(not_found());
        };
        let written = self
            .write_choice(&pair, &mut item, field, &value, now)
            .await;
        let mut tx = self.store.begin().await?;
        if written.is_ok() {
            tx.choose_sync_conflict(conflict.id, side, &by.user.email, now)
                .await?;
            tx.append_audit(
                &cairn_store::NewAuditEntry {
                    actor: by.user.email.clone(),
                    action: "sync_conflict.keep".to_owned(),
                    subject: format!("sync_pair:{}", pair.id),
                    detail: json!({ "conflict": conflict.id, "field": field.as_str(), "side": side.as_str() }),
                },
                now,
            )
            .await?;
        }
        // Saving with the claim's owner gives the item back.
        tx.save_sync_item(&item, &owner, None, now).await?;
        tx.commit().await?;
        written?;
        self.store
            .get_sync_conflict(conflict.id)
            .await?
            .ok_or_else(not_found)
    }

    /// Writes `value` to each side of the claimed item where it differs.
    async fn write_choice(
        &self,
        pair: &SyncPair,
        item: &mut SyncItem,
        field: SyncField,
        value: &FieldValue,
        now: DateTime<Utc>,
    ) -> Result<(), EngineError> {
        let left = self.side_client(pair, Side::Left).await?;
        let right = self.side_client(pair, Side::Right).await?;
        let readback = PairReadback {
            left: left.readback(),
            right: right.readback(),
        };
        for (target, client) in [(Side::Left, &left), (Side::Right, &right)] {
            let Some(remote) = item.remote(target).cloned() else {
                return Err(refused(
                    "the item has no twin yet; its next attempt links it",
                ));
            };
            let current = client
                .read(&remote.id)
                .await
                .map_err(|f| refused(f.message().to_owned()))?
                .ok_or_else(|| {
                    refused(format!(
                        "{} {} no longer exists",
                        client.tracker(),
                        remote.key
                    ))
                })?;
            if current.observed.values.get(field) == *value {
                item.shadow.note_seen(target, field, value);
                continue;
            }
            let writes = BTreeMap::from([(field, value.clone())]);
            let op = {
                let mut tx = self.store.begin().await?;
                let op = tx
                    .insert_sync_operation(
                        &NewSyncOperation {
                            pair_id: pair.id,
                            item_id: item.id,
                            side: target,
                            kind: OperationKind::Update,
                            fields: BTreeMap::from([(
                                field.as_str().to_owned(),
                                value.summary(200),
                            )]),
                        },
                        now,
                    )
                    .await?;
                tx.commit().await?;
                op
            };
            let outcome = client.write(&current, &writes).await;
            let (state, error) = match &outcome {
                Ok(()) => (OperationState::Done, None),
                Err(f) => (OperationState::Failed, Some(f.message())),
            };
            let mut tx = self.store.begin().await?;
            tx.finish_sync_operation(op, state, Some(&remote.id), error, now)
                .await?;
            tx.commit().await?;
            count_operation(pair.id, target, OperationKind::Update, state);
            outcome.map_err(|f| refused(f.message().to_owned()))?;
            let forms = readback.read_back(target, field, value);
            item.shadow.note_written(target, field, &forms);
        }
        Ok(())
    }
}
