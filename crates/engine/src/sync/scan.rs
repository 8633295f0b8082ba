//! The reconciliation scan: the backstop for whatever webhooks missed
//! (hooks disabled or failing, a delivery lost, a change made while Cairn
//! was down). Each side lists the items of its scope updated since the
//! last scan (less an overlap for clocks that disagree), and each becomes
//! a hint and an item job, as if a webhook had delivered it.

use cairn_core::notify::{FailingSyncItem, SyncFailingEvent, UnreachableSide};
use cairn_core::sync::Side;
use cairn_store::sync::SyncCounts;
use chrono::{DateTime, Utc};

use super::SyncEngine;
use super::side::{RemoteItem, SideClient};
use crate::error::EngineError;

/// How many failing items a `sync_failing` notification names.
const ALERT_ITEMS_SHOWN: u32 = 5;

impl SyncEngine {
    /// Scans both sides of a pair once.
    pub async fn scan(&self, pair_id: i64) -> Result<(), EngineError> {
        let started = Utc::now();
        let Some(pair) = self.store.get_sync_pair(pair_id).await? else {
            return Ok(());
        };
        if !pair.settings.active {
            return Ok(());
        }
        let created_after = pair
            .settings
            .created_after
            .or(pair.activated_at)
            .unwrap_or(started);
        let overlap = chrono::Duration::seconds(pair.settings.scan_overlap_secs.max(0));
        let mut counts = SyncCounts::default();
        let mut unreachable = Vec::new();
        let mut scanned_to = [pair.left_scanned_to, pair.right_scanned_to];
        // New releases first, so the items naming them find them linked.
        self.scan_releases(&pair).await;
        for (i, side) in [Side::Left, Side::Right].into_iter().enumerate() {
            let client = match self.side_client(&pair, side).await {
                Ok(client) => client,
                Err(error) => {
                    tracing::warn!(pair = pair.id, side = %side, error = %error, "sync scan cannot reach a side");
                    counts.failed += 1;
                    unreachable.push((side, error.to_string()));
                    continue;
                }
            };
            let since = scanned_to[i].map_or(created_after, |t| t - overlap);
            let calls = client.api_calls();
            let found = client.updated_since(since, created_after).await;
            counts.api_calls += i64::try_from(client.api_calls() - calls).unwrap_or(0);
            let items = match found {
                Ok(items) => items,
                Err(failure) => {
                    tracing::warn!(pair = pair.id, side = %side, error = %failure.message(), "sync scan failed");
                    // Rejected credentials, an unreachable host, TLS: the
                    // connection's health says so, as a refresh's would.
                    if let super::side::Failure::Retry {
                        fault: Some(code),
                        message,
                        ..
                    } = &failure
                    {
                        crate::health::failed_with_code(
                            self.store.as_ref(),
                            pair.side(side).connection_id,
                            *code,
                            message,
                            Utc::now(),
                        )
                        .await?;
                    }
                    counts.failed += 1;
                    unreachable.push((side, failure.message().to_owned()));
                    continue;
                }
            };
            // The side listed what changed: its connection works.
            crate::health::worked(
                self.store.as_ref(),
                pair.side(side).connection_id,
                Utc::now(),
            )
            .await?;
            counts.seen += items.len() as i64;
            if let Some(newest) = items.iter().map(|i| i.observed.updated_at).max() {
                scanned_to[i] = Some(scanned_to[i].map_or(newest, |t| t.max(newest)));
            } else if scanned_to[i].is_none() {
                scanned_to[i] = Some(since);
            }
            self.note_scanned(&pair, side, &client, &items, started)
                .await?;
        }
        // A side that failed is looked at again soon, not a whole interval
        // later.
        let full_due = pair.full_scanned_at.is_none_or(|at| {
            started - at
                >= chrono::Duration::from_std(self.settings.full_scan_every)
                    .unwrap_or(chrono::Duration::days(1))
        });
        let full_done = full_due
            && counts.failed == 0
            && self
                .look_for_deletions(&pair, created_after, &mut counts)
                .await?;
        let interval = if counts.failed > 0 {
            chrono::Duration::from_std(self.settings.retry_base)
                .unwrap_or(chrono::Duration::seconds(30))
        } else {
            chrono::Duration::seconds(pair.settings.scan_interval_secs.max(1))
        };
        let mut tx = self.store.begin().await?;
        tx.save_sync_scan(pair.id, scanned_to[0], scanned_to[1], Utc::now() + interval)
            .await?;
        if full_done {
            tx.save_sync_full_scan(pair.id, started).await?;
        }
        tx.insert_sync_run(pair.id, "scan", started, &counts, Utc::now())
            .await?;
        tx.commit().await?;
        self.tell_if_failing(&pair, &unreachable, Utc::now()).await
    }

    /// After a scan: when items have been failing, or a side unreachable,
    /// for longer than `alert_after`, one `sync_failing` notification for
    /// the episode; once the pair is well again, the next episode is told
    /// anew.
    async fn tell_if_failing(
        &self,
        pair: &cairn_store::sync::SyncPair,
        unreachable: &[(Side, String)],
        now: DateTime<Utc>,
    ) -> Result<(), EngineError> {
        let alert_after = chrono::Duration::from_std(self.settings.alert_after)
            .unwrap_or(chrono::Duration::hours(1));
        let unreachable_since = if unreachable.is_empty() {
            None
        } else {
            Some(pair.unreachable_since.unwrap_or(now))
        };
        let (failing_count, failing) = self
            .store
            .long_failing_sync_items(pair.id, now - alert_after, ALERT_ITEMS_SHOWN)
            .await?;
        let side_down_long = unreachable_since.is_some_and(|since| now - since >= alert_after);
        let failing_now = side_down_long || failing_count > 0;
        let mut tx = self.store.begin().await?;
        tx.save_sync_unreachable(pair.id, unreachable_since).await?;
        // Told already (as this scan began): nothing to do; another scan
        // at the same moment is settled by the store, only one tells.
        if failing_now
            && pair.failing_notified_at.is_none()
            && tx.set_sync_failing_told(pair.id, Some(now)).await?
        {
            let mut unreachable_sides = Vec::new();
            for (side, error) in unreachable.iter().filter(|_| side_down_long) {
                let connection_id = pair.side(*side).connection_id;
                let connection_name = self
                    .store
                    .get_connection(connection_id)
                    .await?
                    .map_or_else(|| format!("connection {connection_id}"), |c| c.name);
                unreachable_sides.push(UnreachableSide {
                    side: side.as_str().to_owned(),
                    connection_name,
                    error: error.clone(),
                    since: unreachable_since.unwrap_or(now),
                });
            }
            let event = SyncFailingEvent {
                pair_id: pair.id,
                pair_name: pair.settings.name.clone(),
                pair_url: format!("/sync-pairs/{}", pair.id),
                failing_count: u32::try_from(failing_count).unwrap_or(u32::MAX),
                failing_items: failing
                    .iter()
                    .map(|item| FailingSyncItem {
                        left_key: item.left.as_ref().map(|r| r.key.clone()),
                        right_key: item.right.as_ref().map(|r| r.key.clone()),
                        failing_since: item.failing_since.unwrap_or(now),
                        last_error: item.last_error.clone().unwrap_or_default(),
                    })
                    .collect(),
                unreachable_sides,
                occurred_at: now,
            };
            crate::notify::enqueue_notification(&mut *tx, &event.into(), now).await?;
        } else if !failing_now && unreachable_since.is_none() && pair.failing_notified_at.is_some()
        {
            tx.set_sync_failing_told(pair.id, None).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Lists each side's whole scope and looks again at every linked item
    /// missing from it: deleted (GitLab sends no webhook for that), moved,
    /// or out of scope. The item job reads it, and pauses the item if it is
    /// gone. True when both sides could be listed.
    async fn look_for_deletions(
        &self,
        pair: &cairn_store::sync::SyncPair,
        created_after: DateTime<Utc>,
        counts: &mut SyncCounts,
    ) -> Result<bool, EngineError> {
        let mut present = [
            std::collections::BTreeSet::new(),
            std::collections::BTreeSet::new(),
        ];
        for (i, side) in [Side::Left, Side::Right].into_iter().enumerate() {
            let Ok(client) = self.side_client(pair, side).await else {
                return Ok(false);
            };
            let calls = client.api_calls();
            let listed = client
                .updated_since(DateTime::<Utc>::UNIX_EPOCH, created_after)
                .await;
            counts.api_calls += i64::try_from(client.api_calls() - calls).unwrap_or(0);
            match listed {
                Ok(items) => present[i] = items.into_iter().map(|i| i.reference.id).collect(),
                Err(failure) => {
                    tracing::warn!(pair = pair.id, side = %side, error = %failure.message(), "listing a side failed");
                    return Ok(false);
                }
            }
        }
        let now = Utc::now();
        let mut after = 0;
        loop {
            let items = self
                .store
                .list_sync_items(pair.id, None, after, 500)
                .await?;
            let Some(last) = items.last() else { break };
            after = last.id;
            for item in &items {
                let missing = [Side::Left, Side::Right]
                    .into_iter()
                    .enumerate()
                    .any(|(i, side)| {
                        item.remote(side)
                            .is_some_and(|r| !present[i].contains(&r.id))
                    });
                // GitLab sends nothing when a comment is deleted: a pair
                // that deletes copies looks at every linked item.
                let linked = item.left.is_some() && item.right.is_some();
                let comments_due = pair.settings.delete_comment_copies && linked;
                if (missing || comments_due)
                    && item.state != cairn_core::sync::SyncItemState::Paused
                {
                    self.enqueue_item(item.id, now).await?;
                }
            }
        }
        Ok(true)
    }

    /// Notes scanned items with what was read (a fresh read is as good as
    /// a verified webhook): unchanged items cost nothing more.
    async fn note_scanned(
        &self,
        pair: &cairn_store::sync::SyncPair,
        side: Side,
        client: &SideClient,
        items: &[RemoteItem],
        now: DateTime<Utc>,
    ) -> Result<(), EngineError> {
        let tracker = match client {
            SideClient::GitLab(_) => "gitlab",
            SideClient::Jira(_) => "jira",
        };
        for read in items {
            let hint = client.hint_of(side, read);
            self.note(pair, side, tracker, read, Some(hint), &[], true, now)
                .await?;
        }
        Ok(())
    }
}
