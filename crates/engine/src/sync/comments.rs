//! After an item's fields: its links to the twin and its comments, both
//! ways. Each remote write is recorded before the call and finished after
//! it, like the fields'; a comment the other side refuses fails alone (its
//! operation is marked failed and the item listed as failing, naming it)
//! while the other comments are still carried.

use std::collections::BTreeMap;

use cairn_core::sync::{
    CommentPlan, OperationKind, OperationState, OriginComment, Side, comment_fingerprint,
    copy_text, plan_comments,
};
use cairn_store::sync::{NewSyncOperation, RemoteRef, SyncItem};

use super::item::{Carry, CarryError, count_operation};
use super::side::Failure;
use crate::error::EngineError;

/// A short form of a comment's text for the operation log.
fn excerpt(text: &str) -> String {
    let mut cut: String = text.chars().take(120).collect();
    if cut.len() < text.len() {
        cut.push('…');
    }
    cut
}

impl Carry<'_> {
    /// Back links and comments of a linked item. True when something was
    /// written. Failures are gathered so one refusal does not hold up the
    /// rest; the first is returned once everything else was tried.
    pub(super) async fn carry_extras(
        &self,
        item: &SyncItem,
        created: Option<Side>,
    ) -> Result<bool, CarryError> {
        let (Some(left), Some(right)) = (item.left.clone(), item.right.clone()) else {
            return Ok(false);
        };
        let mut failures = Vec::new();
        let mut wrote = false;
        for side in [Side::Left, Side::Right] {
            match self.ensure_backlink(item, side).await {
                Ok(w) => wrote |= w,
                Err(CarryError::Failure(f)) => failures.push(f),
                Err(e) => return Err(e),
            }
        }
        wrote |= self
            .carry_comments(item, &left, &right, created, &mut failures)
            .await?;
        match failures.len() {
            0 => Ok(wrote),
            1 => Err(failures.remove(0).into()),
            n => {
                let retry = failures.iter().any(|f| matches!(f, Failure::Retry { .. }));
                let message = format!(
                    "{n} writes failed: {}",
                    failures
                        .iter()
                        .map(Failure::message)
                        .collect::<Vec<_>>()
                        .join("; ")
                );
                Err(if retry {
                    Failure::Retry {
                        message,
                        after: None,
                        fault: None,
                    }
                } else {
                    Failure::Refused(message)
                }
                .into())
            }
        }
    }

    async fn record_intent(
        &self,
        item: &SyncItem,
        side: Side,
        kind: OperationKind,
        fields: BTreeMap<String, String>,
    ) -> Result<i64, EngineError> {
        let mut tx = self.engine.store.begin().await?;
        let op = tx
            .insert_sync_operation(
                &NewSyncOperation {
                    pair_id: self.pair.id,
                    item_id: item.id,
                    side,
                    kind,
                    fields,
                },
                self.now,
            )
            .await?;
        tx.commit().await?;
        Ok(op)
    }

    async fn record_failure(
        &self,
        op: i64,
        side: Side,
        kind: OperationKind,
        failure: &Failure,
        forget_comment: Option<i64>,
    ) -> Result<(), EngineError> {
        let mut tx = self.engine.store.begin().await?;
        tx.finish_sync_operation(
            op,
            OperationState::Failed,
            None,
            Some(failure.message()),
            self.now,
        )
        .await?;
        if let Some(link) = forget_comment {
            tx.delete_sync_comment(link).await?;
        }
        tx.commit().await?;
        count_operation(self.pair.id, side, kind, OperationState::Failed);
        Ok(())
    }

    /// Writes the item's link to its twin on `side` unless it was written:
    /// the store says so without a call; otherwise the side looks for it
    /// before writing, so an attempt after a timeout never adds a second.
    async fn ensure_backlink(&self, item: &SyncItem, side: Side) -> Result<bool, CarryError> {
        if self
            .engine
            .store
            .get_sync_backlink(item.id, side)
            .await?
            .is_some()
        {
            return Ok(false);
        }
        let (Some(this), Some(twin)) = (item.remote(side), item.remote(side.other())) else {
            return Ok(false);
        };
        let kind = OperationKind::Backlink;
        // Only an earlier attempt can have written it: then look first.
        let tried = self
            .engine
            .store
            .list_sync_operations(self.pair.id, Some(item.id), 500)
            .await?
            .iter()
            .any(|o| o.kind == kind && o.side == side);
        let op = self
            .record_intent(
                item,
                side,
                kind,
                BTreeMap::from([("to".to_owned(), twin.key.clone())]),
            )
            .await?;
        self.renew_claim(item).await?;
        let twin_tracker = self.client(side.other()).tracker();
        match self
            .client(side)
            .ensure_backlink(self.pair.id, this, twin, twin_tracker, tried)
            .await
        {
            Ok(id) => {
                let mut tx = self.engine.store.begin().await?;
                tx.insert_sync_backlink(item.id, side, &id, self.now)
                    .await?;
                tx.finish_sync_operation(op, OperationState::Done, Some(&id), None, self.now)
                    .await?;
                tx.commit().await?;
                count_operation(self.pair.id, side, kind, OperationState::Done);
                Ok(true)
            }
            Err(failure) => {
                self.record_failure(op, side, kind, &failure, None).await?;
                Err(failure.into())
            }
        }
    }

    async fn carry_comments(
        &self,
        item: &SyncItem,
        left: &RemoteRef,
        right: &RemoteRef,
        created: Option<Side>,
        failures: &mut Vec<Failure>,
    ) -> Result<bool, CarryError> {
        // A twin made a moment ago holds no comment of anyone's yet (only
        // Cairn's link back); the next look at the item reads it.
        let left_comments = if created == Some(Side::Left) {
            Vec::new()
        } else {
            match self.left.comments(self.pair.id, left).await {
                Ok(c) => c,
                Err(f) => {
                    failures.push(f);
                    return Ok(false);
                }
            }
        };
        let right_comments = if created == Some(Side::Right) {
            Vec::new()
        } else {
            match self.right.comments(self.pair.id, right).await {
                Ok(c) => c,
                Err(f) => {
                    failures.push(f);
                    return Ok(false);
                }
            }
        };
        let links = self.engine.store.list_sync_comments(item.id).await?;
        let mut plans = plan_comments(
            &left_comments,
            &right_comments,
            &links,
            self.pair.settings.delete_comment_copies,
        );
        // Whether each author is mapped decides what their copy says.
        if plans.iter().any(|p| {
            matches!(
                p,
                CommentPlan::Create { .. }
                    | CommentPlan::Recover { .. }
                    | CommentPlan::Update { .. }
            )
        }) {
            let map = match self.people().await {
                Ok(map) => map,
                Err(CarryError::Failure(f)) => {
                    failures.push(f);
                    return Ok(false);
                }
                Err(e) => return Err(e),
            };
            for plan in &mut plans {
                let (side, origin) = match plan {
                    CommentPlan::Create {
                        origin_side,
                        origin,
                    } => (*origin_side, origin),
                    CommentPlan::Recover { link, origin }
                    | CommentPlan::Update { link, origin } => (link.origin_side, origin),
                    CommentPlan::Adopt { .. } | CommentPlan::Delete { .. } => continue,
                };
                super::people::mark_author(&map, side, &mut origin.author);
            }
        }
        let mut wrote = false;
        for plan in plans {
            let result = match plan {
                CommentPlan::Create {
                    origin_side,
                    origin,
                } => self.copy_comment(item, origin_side, &origin, None).await,
                CommentPlan::Recover { link, origin } => {
                    self.copy_comment(item, link.origin_side, &origin, Some(link.id))
                        .await
                }
                CommentPlan::Adopt { link, copy_id } => {
                    let mut tx = self.engine.store.begin().await?;
                    tx.save_sync_comment(link.id, &copy_id, &link.origin_hash, self.now)
                        .await?;
                    tx.commit().await?;
                    Ok(false)
                }
                CommentPlan::Update { link, origin } => {
                    let Some(copy_id) = link.copy_id.clone() else {
                        continue;
                    };
                    self.update_copy(item, link.id, link.origin_side, &copy_id, &origin)
                        .await
                }
                CommentPlan::Delete { link } => {
                    let Some(copy_id) = link.copy_id.clone() else {
                        continue;
                    };
                    self.delete_copy(item, link.id, link.origin_side.other(), &copy_id)
                        .await
                }
            };
            match result {
                Ok(w) => wrote |= w,
                Err(CarryError::Failure(f)) => failures.push(f),
                Err(e) => return Err(e),
            }
        }
        Ok(wrote)
    }

    /// Copies a comment to the other side: the link is recorded before the
    /// call (with no copy id: an interrupted attempt is found by it), the
    /// copy's id after.
    async fn copy_comment(
        &self,
        item: &SyncItem,
        origin_side: Side,
        origin: &OriginComment,
        link: Option<i64>,
    ) -> Result<bool, CarryError> {
        let target = origin_side.other();
        let Some(target_ref) = item.remote(target) else {
            return Ok(false);
        };
        let text = copy_text(origin, self.client(origin_side).tracker());
        let hash = comment_fingerprint(&origin.body);
        let kind = OperationKind::Comment;
        let (link, op) = {
            let mut tx = self.engine.store.begin().await?;
            let link = match link {
                Some(id) => id,
                None => {
                    tx.insert_sync_comment(
                        self.pair.id,
                        item.id,
                        origin_side,
                        &origin.id,
                        &hash,
                        self.now,
                    )
                    .await?
                }
            };
            let op = tx
                .insert_sync_operation(
                    &NewSyncOperation {
                        pair_id: self.pair.id,
                        item_id: item.id,
                        side: target,
                        kind,
                        fields: BTreeMap::from([
                            ("action".to_owned(), "create".to_owned()),
                            ("comment".to_owned(), origin.id.clone()),
                            ("text".to_owned(), excerpt(&origin.body)),
                        ]),
                    },
                    self.now,
                )
                .await?;
            tx.commit().await?;
            (link, op)
        };
        self.renew_claim(item).await?;
        match self.client(target).create_comment(target_ref, &text).await {
            Ok(copy_id) => {
                let mut tx = self.engine.store.begin().await?;
                tx.save_sync_comment(link, &copy_id, &hash, self.now)
                    .await?;
                tx.finish_sync_operation(op, OperationState::Done, Some(&copy_id), None, self.now)
                    .await?;
                tx.commit().await?;
                count_operation(self.pair.id, target, kind, OperationState::Done);
                Ok(true)
            }
            Err(failure) => {
                let failure = about_comment(failure, origin, self.client(origin_side).tracker());
                // A refusal made nothing: the link goes, and the next
                // attempt starts afresh. Anything else may have made the
                // copy, and the link stays for the next attempt to look.
                let refused = matches!(failure, Failure::Refused(_));
                self.record_failure(op, target, kind, &failure, refused.then_some(link))
                    .await?;
                Err(failure.into())
            }
        }
    }

    /// Writes an edited original's text over its copy. A copy someone
    /// deleted is not made again.
    async fn update_copy(
        &self,
        item: &SyncItem,
        link: i64,
        origin_side: Side,
        copy_id: &str,
        origin: &OriginComment,
    ) -> Result<bool, CarryError> {
        let target = origin_side.other();
        let Some(target_ref) = item.remote(target) else {
            return Ok(false);
        };
        let text = copy_text(origin, self.client(origin_side).tracker());
        let hash = comment_fingerprint(&origin.body);
        let kind = OperationKind::Comment;
        let op = self
            .record_intent(
                item,
                target,
                kind,
                BTreeMap::from([
                    ("action".to_owned(), "update".to_owned()),
                    ("comment".to_owned(), origin.id.clone()),
                    ("text".to_owned(), excerpt(&origin.body)),
                ]),
            )
            .await?;
        self.renew_claim(item).await?;
        match self
            .client(target)
            .update_comment(target_ref, copy_id, &text)
            .await
        {
            Ok(present) => {
                let mut tx = self.engine.store.begin().await?;
                tx.save_sync_comment(link, copy_id, &hash, self.now).await?;
                tx.finish_sync_operation(
                    op,
                    OperationState::Done,
                    Some(copy_id),
                    (!present).then_some("the copy was deleted; it is not made again"),
                    self.now,
                )
                .await?;
                tx.commit().await?;
                count_operation(self.pair.id, target, kind, OperationState::Done);
                Ok(present)
            }
            Err(failure) => {
                let failure = about_comment(failure, origin, self.client(origin_side).tracker());
                self.record_failure(op, target, kind, &failure, None)
                    .await?;
                Err(failure.into())
            }
        }
    }

    /// Deletes the copy of a deleted original (the pair's option).
    async fn delete_copy(
        &self,
        item: &SyncItem,
        link: i64,
        target: Side,
        copy_id: &str,
    ) -> Result<bool, CarryError> {
        let Some(target_ref) = item.remote(target) else {
            return Ok(false);
        };
        let kind = OperationKind::Comment;
        let op = self
            .record_intent(
                item,
                target,
                kind,
                BTreeMap::from([
                    ("action".to_owned(), "delete".to_owned()),
                    ("copy".to_owned(), copy_id.to_owned()),
                ]),
            )
            .await?;
        self.renew_claim(item).await?;
        match self
            .client(target)
            .delete_comment(target_ref, copy_id)
            .await
        {
            Ok(()) => {
                let mut tx = self.engine.store.begin().await?;
                tx.delete_sync_comment(link).await?;
                tx.finish_sync_operation(op, OperationState::Done, Some(copy_id), None, self.now)
                    .await?;
                tx.commit().await?;
                count_operation(self.pair.id, target, kind, OperationState::Done);
                Ok(true)
            }
            Err(failure) => {
                self.record_failure(op, target, kind, &failure, None)
                    .await?;
                Err(failure.into())
            }
        }
    }
}

/// A comment's failure, naming the comment and who wrote it.
fn about_comment(failure: Failure, origin: &OriginComment, tracker: &str) -> Failure {
    let what = format!(
        "the comment {} by {} in {tracker} was not carried",
        origin.id, origin.author.name
    );
    match failure {
        Failure::Refused(m) => Failure::Refused(format!("{what}: {m}")),
        Failure::Pause(m) => Failure::Pause(format!("{what}: {m}")),
        Failure::Retry {
            message,
            after,
            fault,
        } => Failure::Retry {
            message: format!("{what}: {message}"),
            after,
            fault,
        },
    }
}
