//! Carrying one item: the tracker-neutral flow every trigger (webhook,
//! scan, retry) ends in.
//!
//! 1. Claim the item, so no other worker of any instance works on it.
//! 2. Finish an interrupted create: look for the item carrying Cairn's
//!    mark; link it if found, or record that it was never made.
//! 3. Read both sides (a side delivered by a verified webhook is not read
//!    again).
//! 4. No twin yet: create it, with the intent recorded before the call and
//!    the link recorded with the outcome in one transaction.
//! 5. Linked: [`cairn_core::sync::decide`], the fuse, then each side's
//!    writes, each recorded before and after, and the shadow moved only
//!    for what was written.

use std::collections::BTreeMap;

use cairn_core::sync::{
    CreatePlan, FieldValue, Marker, OperationKind, OperationState, PeopleMap, Plan, Side,
    SyncField, SyncItemState, decide, plan_create,
};
use cairn_store::StoreTx;
use cairn_store::sync::{NewSyncOperation, SyncCounts, SyncItem, SyncPair};
use chrono::{DateTime, Duration, Utc};

use super::SyncEngine;
use super::people::{for_side, place_assignee};
use super::side::{Failure, PairReadback, RemoteItem, SideClient};
use crate::error::EngineError;

/// What carrying an item did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The twin was created.
    Created,
    /// Fields were written on one side or both.
    Updated,
    /// Nothing to write: in agreement, an echo, or a change not carried.
    Unchanged,
    /// Not for this pair (out of scope, too old, a twin of another item).
    Skipped,
}

impl Outcome {
    pub fn counts(&self) -> SyncCounts {
        let mut counts = SyncCounts {
            seen: 1,
            ..SyncCounts::default()
        };
        match self {
            Outcome::Created => counts.created = 1,
            Outcome::Updated => counts.updated = 1,
            Outcome::Unchanged | Outcome::Skipped => counts.skipped = 1,
        }
        counts
    }
}

/// Counts a finished remote write (`cairn_sync_operations_total`).
pub(super) fn count_operation(pair: i64, side: Side, kind: OperationKind, outcome: OperationState) {
    metrics::counter!(
        "cairn_sync_operations_total",
        "pair" => pair.to_string(),
        "side" => side.as_str(),
        "kind" => kind.as_str(),
        "outcome" => outcome.as_str()
    )
    .increment(1);
}

/// Field name → short value, for the operation log.
fn summarize(changes: &BTreeMap<SyncField, FieldValue>) -> BTreeMap<String, String> {
    changes
        .iter()
        .map(|(f, v)| (f.as_str().to_owned(), v.summary(200)))
        .collect()
}

/// Takes the plan's shadow for `fields` on both sides: what one side's
/// successful writes established.
fn adopt(item: &mut SyncItem, plan: &Plan, fields: impl Iterator<Item = SyncField>) {
    for field in fields {
        for side in [Side::Left, Side::Right] {
            let (from, to) = match side {
                Side::Left => (&plan.shadow.left, &mut item.shadow.left),
                Side::Right => (&plan.shadow.right, &mut item.shadow.right),
            };
            match from.get(&field) {
                Some(prints) => {
                    to.insert(field, prints.clone());
                }
                None => {
                    to.remove(&field);
                }
            }
        }
    }
}

pub(crate) struct Carry<'a> {
    pub engine: &'a SyncEngine,
    pub pair: &'a SyncPair,
    pub left: &'a SideClient,
    pub right: &'a SideClient,
    /// This attempt's claim on the item.
    pub owner: &'a str,
    pub now: DateTime<Utc>,
}

impl Carry<'_> {
    pub(super) fn client(&self, side: Side) -> &SideClient {
        match side {
            Side::Left => self.left,
            Side::Right => self.right,
        }
    }

    fn readback(&self) -> PairReadback<'_> {
        PairReadback {
            left: self.left.readback(),
            right: self.right.readback(),
        }
    }

    /// The pair's people mapping, as of now.
    pub(super) async fn people(&self) -> Result<PeopleMap, CarryError> {
        self.engine
            .people_map(self.pair, self.left, self.right)
            .await
    }

    /// Places both sides' assignees through the mapping, when either has
    /// one (an item nobody is assigned to needs no mapping).
    async fn place_assignees(
        &self,
        reads: &mut [(Side, &mut RemoteItem)],
    ) -> Result<(), CarryError> {
        if reads
            .iter()
            .all(|(_, r)| r.observed.values.assignee.is_nobody())
        {
            return Ok(());
        }
        let map = self.people().await?;
        for (side, read) in reads.iter_mut() {
            place_assignee(&map, *side, read);
        }
        Ok(())
    }

    async fn begin(&self) -> Result<Box<dyn StoreTx>, EngineError> {
        Ok(self.engine.store.begin().await?)
    }

    /// Renews this attempt's claim before a remote write, so a slow attempt
    /// (waiting out a rate limit, say) never writes after its claim ran out
    /// and another attempt took the item.
    pub(super) async fn renew_claim(&self, item: &SyncItem) -> Result<(), CarryError> {
        let now = Utc::now();
        let until =
            now + Duration::from_std(self.engine.settings.claim).unwrap_or(Duration::minutes(2));
        if self
            .engine
            .store
            .claim_sync_item(item.id, self.owner, now, until)
            .await?
        {
            Ok(())
        } else {
            Err(Failure::Retry {
                message: "another attempt took the item over; it carries on".to_owned(),
                after: None,
                fault: None,
            }
            .into())
        }
    }

    /// Reads a side, unless a verified webhook delivered it since it was
    /// last read.
    async fn observe(&self, item: &SyncItem, side: Side) -> Result<Option<RemoteItem>, Failure> {
        let Some(remote) = item.remote(side) else {
            return Ok(None);
        };
        if let Some(hint) = &item.hint
            && hint.side == side
            && Some(hint.observed.updated_at)
                > *match side {
                    Side::Left => &item.left_updated_at,
                    Side::Right => &item.right_updated_at,
                }
        {
            return Ok(Some(self.client(side).hinted(remote, hint)));
        }
        match self.client(side).read(&remote.id).await? {
            Some(read) => Ok(Some(read)),
            None => Err(Failure::Pause(format!(
                "{} {} no longer exists (deleted, moved or hidden from Cairn's account); its twin is kept. \
                 Retry once it is back, or delete this item",
                self.client(side).tracker(),
                remote.key
            ))),
        }
    }

    /// Runs the flow for one claimed item.
    pub async fn run(&self, item: &mut SyncItem) -> Result<Outcome, CarryError> {
        self.finish_interrupted_creates(item).await?;
        let left = self.observe(item, Side::Left).await?;
        let right = self.observe(item, Side::Right).await?;
        let (outcome, created) = match (left, right) {
            (Some(left), Some(right)) => (self.carry_changes(item, left, right).await?, None),
            (Some(only), None) => (
                self.create_twin(item, Side::Left, only).await?,
                Some(Side::Right),
            ),
            (None, Some(only)) => (
                self.create_twin(item, Side::Right, only).await?,
                Some(Side::Left),
            ),
            (None, None) => (Outcome::Skipped, None),
        };
        let created = created.filter(|_| outcome == Outcome::Created);
        // Linked now: the links to the twin and the comments follow.
        if outcome != Outcome::Skipped
            && item.left.is_some()
            && item.right.is_some()
            && self.carry_extras(item, created).await?
            && outcome == Outcome::Unchanged
        {
            return Ok(Outcome::Updated);
        }
        Ok(outcome)
    }

    async fn finish_interrupted_creates(&self, item: &mut SyncItem) -> Result<(), CarryError> {
        let open = self.engine.store.open_sync_operations(item.id).await?;
        for op in open {
            if op.kind != OperationKind::Create {
                // An edit is idempotent: it is simply made again.
                let mut tx = self.begin().await?;
                tx.finish_sync_operation(
                    op.id,
                    OperationState::Failed,
                    None,
                    Some("interrupted; the next attempt writes again"),
                    self.now,
                )
                .await?;
                tx.commit().await?;
                continue;
            }
            let origin = op.side.other();
            let Some(origin_ref) = item.remote(origin).cloned() else {
                continue;
            };
            let marker = Marker {
                pair_id: self.pair.id,
                origin,
                origin_id: origin_ref.id.clone(),
            };
            // A failed search is a failure, never "it does not exist".
            let found = self
                .client(op.side)
                .find_marked(&marker, op.created_at)
                .await?;
            let mut tx = self.begin().await?;
            match &found {
                Some(twin) => {
                    *item.remote_mut(op.side) = Some(twin.reference.clone());
                    tx.finish_sync_operation(
                        op.id,
                        OperationState::Done,
                        Some(&twin.reference.id),
                        Some("found after an interruption"),
                        self.now,
                    )
                    .await?;
                    count_operation(
                        self.pair.id,
                        op.side,
                        OperationKind::Create,
                        OperationState::Done,
                    );
                    tx.save_sync_item(item, "", None, self.now).await?;
                }
                None => {
                    tx.finish_sync_operation(
                        op.id,
                        OperationState::Failed,
                        None,
                        Some("interrupted before the tracker created anything"),
                        self.now,
                    )
                    .await?;
                    count_operation(
                        self.pair.id,
                        op.side,
                        OperationKind::Create,
                        OperationState::Failed,
                    );
                }
            }
            tx.commit().await?;
        }
        Ok(())
    }

    async fn create_twin(
        &self,
        item: &mut SyncItem,
        source: Side,
        mut observed: RemoteItem,
    ) -> Result<Outcome, CarryError> {
        let client = self.client(source);
        if let Some(marker) = &observed.marker
            && marker.pair_id == self.pair.id
        {
            // Cairn made this item as the twin of another: that item's row
            // links it (now, or when its interrupted create is finished).
            if let Some(origin) = self
                .engine
                .store
                .find_sync_item(self.pair.id, marker.origin, &marker.origin_id)
                .await?
                && origin.id != item.id
            {
                self.engine.enqueue_item(origin.id, self.now).await?;
            }
            return Ok(Outcome::Skipped);
        }
        if !client.admits(self.pair, source, &observed) || !client.in_scope(&observed).await? {
            return Ok(Outcome::Skipped);
        }
        let target = source.other();
        self.place_assignees(&mut [(source, &mut observed)]).await?;
        self.place_releases(&mut [(source, &mut observed)]).await?;
        let readback = self.readback();
        let CreatePlan { values, shadow, .. } = plan_create(
            &self.pair.settings.fields,
            source,
            &observed.observed.values,
            &readback,
        );
        let marker = Marker {
            pair_id: self.pair.id,
            origin: source,
            origin_id: observed.reference.id.clone(),
        };
        let mut fields = BTreeMap::new();
        for field in SyncField::ALL {
            fields.insert(*field, values.get(*field));
        }
        let op = {
            let mut tx = self.begin().await?;
            let op = tx
                .insert_sync_operation(
                    &NewSyncOperation {
                        pair_id: self.pair.id,
                        item_id: item.id,
                        side: target,
                        kind: OperationKind::Create,
                        fields: summarize(&fields),
                    },
                    self.now,
                )
                .await?;
            tx.commit().await?;
            op
        };
        self.renew_claim(item).await?;
        let mut given = values.clone();
        given.assignee = values.assignee.for_side(target);
        given.milestone = values.milestone.for_side(target);
        let created = match self.client(target).create(&given, &marker).await {
            Ok(created) => created,
            Err(failure) => {
                // A refusal created nothing; anything else may have, and
                // stays an intent for the next attempt to look for.
                if let Failure::Refused(message) = &failure {
                    let mut tx = self.begin().await?;
                    tx.finish_sync_operation(
                        op,
                        OperationState::Failed,
                        None,
                        Some(message),
                        self.now,
                    )
                    .await?;
                    count_operation(
                        self.pair.id,
                        target,
                        OperationKind::Create,
                        OperationState::Failed,
                    );
                    tx.commit().await?;
                }
                return Err(failure.into());
            }
        };
        *item.remote_mut(source) = Some(observed.reference.clone());
        *item.remote_mut(target) = Some(created.reference.clone());
        *item.updated_at_mut(source) = Some(observed.observed.updated_at);
        *item.updated_at_mut(target) = Some(created.observed.updated_at);
        item.shadow = shadow;
        let mut tx = self.begin().await?;
        // The twin's own webhook may have noted it as a new item already.
        if let Some(noted) = self
            .engine
            .store
            .find_sync_item(self.pair.id, target, &created.reference.id)
            .await?
            && noted.id != item.id
            && noted.remote(source).is_none()
        {
            tx.delete_sync_item(noted.id).await?;
        }
        tx.finish_sync_operation(
            op,
            OperationState::Done,
            Some(&created.reference.id),
            None,
            self.now,
        )
        .await?;
        count_operation(
            self.pair.id,
            target,
            OperationKind::Create,
            OperationState::Done,
        );
        tx.save_sync_item(item, "", None, self.now).await?;
        tx.commit().await?;
        Ok(Outcome::Created)
    }

    async fn carry_changes(
        &self,
        item: &mut SyncItem,
        mut left: RemoteItem,
        mut right: RemoteItem,
    ) -> Result<Outcome, CarryError> {
        self.place_assignees(&mut [(Side::Left, &mut left), (Side::Right, &mut right)])
            .await?;
        self.place_releases(&mut [(Side::Left, &mut left), (Side::Right, &mut right)])
            .await?;
        let readback = self.readback();
        let plan = decide(
            &self.pair.settings.fields,
            &item.shadow,
            &left.observed,
            &right.observed,
            &readback,
        );
        item.left_updated_at = Some(left.observed.updated_at);
        item.right_updated_at = Some(right.observed.updated_at);
        if plan.writes_nothing() {
            item.shadow = plan.shadow;
            return Ok(Outcome::Unchanged);
        }
        if let Some(tripped) = item.fuse.check(&plan, self.now) {
            return Err(Failure::Pause(tripped.message()).into());
        }
        {
            let mut tx = self.begin().await?;
            for conflict in &plan.conflicts {
                tx.insert_sync_conflict(self.pair.id, item.id, conflict, self.now)
                    .await?;
            }
            tx.commit().await?;
        }
        for (side, remote) in [(Side::Left, &left), (Side::Right, &right)] {
            let writes = plan.writes(side);
            if writes.is_empty() {
                continue;
            }
            let op = {
                let mut tx = self.begin().await?;
                let op = tx
                    .insert_sync_operation(
                        &NewSyncOperation {
                            pair_id: self.pair.id,
                            item_id: item.id,
                            side,
                            kind: OperationKind::Update,
                            fields: summarize(writes),
                        },
                        self.now,
                    )
                    .await?;
                tx.commit().await?;
                op
            };
            self.renew_claim(item).await?;
            if let Err(failure) = self
                .client(side)
                .write(remote, &for_side(side, writes))
                .await
            {
                let mut tx = self.begin().await?;
                tx.finish_sync_operation(
                    op,
                    OperationState::Failed,
                    None,
                    Some(failure.message()),
                    self.now,
                )
                .await?;
                count_operation(
                    self.pair.id,
                    side,
                    OperationKind::Update,
                    OperationState::Failed,
                );
                tx.commit().await?;
                return Err(failure.into());
            }
            adopt(item, &plan, writes.keys().copied());
            let mut tx = self.begin().await?;
            tx.finish_sync_operation(
                op,
                OperationState::Done,
                Some(&remote.reference.id),
                None,
                self.now,
            )
            .await?;
            count_operation(
                self.pair.id,
                side,
                OperationKind::Update,
                OperationState::Done,
            );
            tx.save_sync_item(item, "", None, self.now).await?;
            tx.commit().await?;
        }
        item.shadow = plan.shadow.clone();
        item.fuse.record(&plan, self.now);
        Ok(Outcome::Updated)
    }
}

/// Why carrying an item stopped.
#[derive(Debug)]
pub(crate) enum CarryError {
    Failure(Failure),
    Store(EngineError),
}

impl From<Failure> for CarryError {
    fn from(failure: Failure) -> Self {
        CarryError::Failure(failure)
    }
}

impl From<EngineError> for CarryError {
    fn from(error: EngineError) -> Self {
        CarryError::Store(error)
    }
}

impl From<cairn_store::StoreError> for CarryError {
    fn from(error: cairn_store::StoreError) -> Self {
        CarryError::Store(EngineError::Store(error))
    }
}

impl std::fmt::Display for CarryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CarryError::Failure(failure) => f.write_str(failure.message()),
            CarryError::Store(error) => write!(f, "{error}"),
        }
    }
}

/// When a failing item is tried again: the base (30 s by default),
/// doubling, at most the cap (an hour), or when the tracker asked.
pub(crate) fn next_attempt(
    now: DateTime<Utc>,
    failures: i64,
    asked: Option<std::time::Duration>,
    settings: &super::SyncSettings,
) -> DateTime<Utc> {
    let exponent = u32::try_from(failures.clamp(1, 20) - 1).unwrap_or(0);
    let base = Duration::from_std(settings.retry_base).unwrap_or(Duration::seconds(30));
    let cap = Duration::from_std(settings.retry_cap).unwrap_or(Duration::hours(1));
    let backoff = base
        .checked_mul(2_i32.saturating_pow(exponent))
        .unwrap_or(cap)
        .min(cap);
    let asked = asked
        .and_then(|d| Duration::from_std(d).ok())
        .unwrap_or_default();
    now + backoff.max(asked)
}

/// Applies an attempt's outcome to the item's state.
pub(crate) fn settle(
    item: &mut SyncItem,
    result: &Result<Outcome, CarryError>,
    now: DateTime<Utc>,
    settings: &super::SyncSettings,
) {
    match result {
        Ok(Outcome::Skipped) if item.left.is_none() || item.right.is_none() => {}
        Ok(_) => {
            item.state = SyncItemState::Synced;
            item.failures = 0;
            item.last_error = None;
            item.next_attempt_at = None;
            item.last_synced_at = Some(now);
        }
        Err(CarryError::Failure(Failure::Pause(message))) => {
            item.state = SyncItemState::Paused;
            item.last_error = Some(message.clone());
            item.next_attempt_at = None;
        }
        Err(CarryError::Failure(failure)) => {
            item.failures += 1;
            item.state = SyncItemState::Failing;
            item.last_error = Some(failure.message().to_owned());
            let asked = match failure {
                Failure::Retry { after, .. } => *after,
                _ => None,
            };
            item.next_attempt_at = Some(next_attempt(now, item.failures, asked, settings));
        }
        Err(CarryError::Store(error)) => {
            item.failures += 1;
            item.state = SyncItemState::Failing;
            item.last_error = Some(format!("Cairn's database failed: {error}"));
            item.next_attempt_at = Some(next_attempt(now, item.failures, None, settings));
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn retries_back_off_from_30_seconds_to_an_hour_or_as_asked() {
        let now = Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap();
        let settings = crate::sync::SyncSettings::default();
        let secs =
            |failures, asked| (next_attempt(now, failures, asked, &settings) - now).num_seconds();
        assert_eq!(secs(1, None), 30);
        assert_eq!(secs(2, None), 60);
        assert_eq!(secs(5, None), 480);
        assert_eq!(secs(20, None), 3600);
        assert_eq!(secs(1, Some(std::time::Duration::from_secs(120))), 120);
        assert_eq!(secs(5, Some(std::time::Duration::from_secs(10))), 480);
    }
}
