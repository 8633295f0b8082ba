//! Notifications out: channels (Slack, Teams, signed webhooks), what they
//! are subscribed to, and the jobs that deliver events to them.
//!
//! An event is enqueued as one fan-out job in the same transaction as the
//! change that caused it ([`enqueue_event`]). The fan-out job finds the
//! subscriptions that match (an OKR's subscription covers its subtree when
//! asked, and a subscription without an OKR covers everything), and
//! creates one delivery and one delivery job per channel. A delivery job
//! makes one attempt: the destination is checked against the SSRF guard
//! again (DNS may have changed), the attempt is logged, and a failure
//! schedules the next attempt as a new job on core's schedule with jitter
//! and `Retry-After`. A channel that answers 404 or 410, whose destination
//! is refused, or that fails for days is disabled; an audit entry and a
//! notice tell admins.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use cairn_connect::outbound::{
    DeliveryOutcome, Outbound, OutboundConfig, OutboundError, parse_webhook_url, redacted_target,
    resolve_checked, slack, standard_webhooks, teams,
};
use cairn_core::authz::Action;
use cairn_core::goals::Status;
use cairn_core::notify::{
    EventDetail, EventKind, Notification, NotificationEvent, OkrKind, next_delivery_delay,
};
use cairn_core::secret::Secret;
use cairn_store::goals::Okr;
use cairn_store::notify::{
    Channel, ChannelKind, ChannelUpdate, NewChannel, NewNotifyDelivery, NewSubscription, Notice,
    NotifyAttempt, NotifyDelivery, NotifyState, Subscription,
};
use cairn_store::{Job, LockKey, NewAuditEntry, NewJob, Store, StoreError, StoreTx};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;

use crate::accounts::{Authenticated, validate_name};
use crate::error::{EngineError, authorize, conflicts};
use crate::jobs::{JobError, JobHandler, Registry};
use crate::keyring::Keyring;

/// The job that turns one event into deliveries.
pub const FANOUT_KIND: &str = "notify_fanout";
/// The job that makes one attempt of one delivery.
pub const DELIVER_KIND: &str = "notify_deliver";

/// Most OKRs one connection-unhealthy event names (for matching
/// subscriptions); a connection read by more still makes one event.
const MAX_OKRS_PER_CONNECTION_EVENT: usize = 100;

/// Tunables of notifications.
#[derive(Debug, Clone)]
pub struct NotifySettings {
    /// Where people reach this Cairn, for the links in messages
    /// (`public_url`); without it links are paths.
    pub public_url: Option<String>,
    /// The sender: timeout and the allowlist of internal networks.
    pub outbound: OutboundConfig,
    /// Multiplies every retry delay: 1 in production; tests make 5 s into
    /// milliseconds with a small factor.
    pub delay_scale: f64,
    /// A channel failing without a success for this long is disabled.
    pub disable_after: Duration,
}

impl Default for NotifySettings {
    fn default() -> Self {
        NotifySettings {
            public_url: None,
            outbound: OutboundConfig::default(),
            delay_scale: 1.0,
            disable_after: Duration::from_secs(3 * 24 * 3600),
        }
    }
}

/// The event about an OKR as it is now; its link is a path until the
/// fan-out makes it absolute with `public_url`.
pub(crate) fn okr_event(okr: &Okr, detail: EventDetail, now: DateTime<Utc>) -> NotificationEvent {
    let progress = okr.progress.as_ref();
    NotificationEvent {
        okr_id: okr.id,
        okr_title: okr.fields.title.clone(),
        okr_kind: match okr.fields.kind {
            cairn_store::goals::OkrKind::Objective => OkrKind::Objective,
            cairn_store::goals::OkrKind::KeyResult => OkrKind::KeyResult,
        },
        okr_url: format!("/okrs/{}", okr.id),
        status: progress.map_or(Status::NotStarted, |p| p.status),
        progress_percent: progress.map_or(0.0, |p| p.percent),
        expected_percent: progress.map(|p| p.expected_percent),
        occurred_at: now,
        detail,
    }
}

/// Enqueues the fan-out job of an OKR's event inside the transaction of
/// the change that caused it, when an enabled channel subscribes to its
/// kind.
pub(crate) async fn enqueue_event(
    tx: &mut dyn StoreTx,
    event: &NotificationEvent,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    enqueue_notification(tx, &Notification::Okr(event.clone()), now).await
}

/// Enqueues the fan-out job of any notification (see [`enqueue_event`]).
pub(crate) async fn enqueue_notification(
    tx: &mut dyn StoreTx,
    notification: &Notification,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    // Nobody listens for this kind: no job (a fan-out per status change
    // would double the job queue's work when no channel exists).
    if !tx.anyone_subscribed(notification.kind()).await? {
        return Ok(());
    }
    let payload = serde_json::to_value(notification)
        .map_err(|e| StoreError::InvalidData(format!("notification event: {e}")))?;
    tx.enqueue(
        &NewJob::new(FANOUT_KIND, payload, now).with_max_attempts(5),
        now,
    )
    .await?;
    Ok(())
}

/// Records a connection's failed health check and, when it was healthy
/// until now, one connection-unhealthy event naming the OKRs linked through
/// it, in the same transaction. Returns whether it became unhealthy.
pub(crate) async fn record_connection_failure(
    store: &dyn Store,
    connection: &cairn_store::Connection,
    code: &str,
    message: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    // The event is about the first OKR (read in full for the message); the
    // others are named by id.
    let okr_ids: Vec<i64> = store
        .links_for_connection(connection.id)
        .await?
        .iter()
        .take(MAX_OKRS_PER_CONNECTION_EVENT)
        .map(|link| link.okr_id)
        .collect();
    let first = match okr_ids.first() {
        Some(id) => store.get_okr(*id).await?,
        None => None,
    };
    let mut tx = store.begin().await?;
    let became = tx
        .mark_connection_failed(connection.id, code, message, now)
        .await?;
    if became && let Some(first) = first {
        let detail = EventDetail::ConnectionUnhealthy {
            connection_id: connection.id,
            connection_name: connection.name.clone(),
            code: code.to_owned(),
            also_affected: okr_ids.iter().skip(1).copied().collect(),
        };
        enqueue_event(&mut *tx, &okr_event(&first, detail, now), now).await?;
    }
    tx.commit().await?;
    Ok(became)
}

/// What someone asks a channel to be.
#[derive(Debug, Clone)]
pub struct ChannelInput {
    pub name: String,
    /// `slack`, `teams` or `webhook`.
    pub kind: String,
    pub url: Secret,
}

/// Changes to a channel; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ChannelChanges {
    pub name: Option<String>,
    pub url: Option<Secret>,
    pub enabled: Option<bool>,
}

/// A channel as shown: never the URL's path or the secret.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ChannelView {
    pub id: i64,
    pub name: String,
    #[schema(value_type = String, example = "slack")]
    pub kind: ChannelKind,
    /// `scheme://host[:port]` of the URL; the rest is a credential.
    pub target: String,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    /// Whether deliveries are signed (webhook channels).
    pub signed: bool,
    pub consecutive_failures: i64,
    pub failing_since: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub created_by: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Channel> for ChannelView {
    fn from(c: Channel) -> Self {
        ChannelView {
            id: c.id,
            name: c.name,
            kind: c.kind,
            target: c.target,
            enabled: c.enabled,
            disabled_reason: c.disabled_reason,
            signed: c.secret.is_some(),
            consecutive_failures: c.consecutive_failures,
            failing_since: c.failing_since,
            last_success_at: c.last_success_at,
            created_by: c.created_by,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// A channel just created or whose secret was rotated: the only time the
/// signing secret is shown.
#[derive(Debug, Clone)]
pub struct IssuedChannel {
    pub channel: ChannelView,
    pub secret: Option<Secret>,
}

/// A delivery with its attempts.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DeliveryView {
    pub id: i64,
    pub channel_id: i64,
    pub event_kind: String,
    pub webhook_id: String,
    #[schema(value_type = String, example = "delivered")]
    pub state: NotifyState,
    pub attempts: u32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// The event as sent.
    #[schema(value_type = Object)]
    pub event: serde_json::Value,
    pub attempt_log: Vec<NotifyAttempt>,
}

/// What a subscription asks for.
#[derive(Debug, Clone)]
pub struct SubscriptionInput {
    pub channel_id: i64,
    pub okr_id: Option<i64>,
    pub include_subtree: bool,
    /// Stable names; empty means every kind.
    pub events: Vec<String>,
}

/// The notification use cases and jobs.
pub struct Notifier {
    store: Arc<dyn Store>,
    keyring: Arc<Keyring>,
    settings: NotifySettings,
    outbound: Outbound,
}

fn system_audit(action: &str, subject: String, detail: serde_json::Value) -> NewAuditEntry {
    NewAuditEntry {
        actor: "system".to_owned(),
        action: action.to_owned(),
        subject,
        detail,
    }
}

fn user_audit(
    by: &Authenticated,
    action: &str,
    subject: String,
    detail: serde_json::Value,
) -> NewAuditEntry {
    NewAuditEntry {
        actor: by.user.email.clone(),
        action: action.to_owned(),
        subject,
        detail,
    }
}

fn url_error(error: OutboundError) -> EngineError {
    EngineError::invalid("url", error.to_string())
}

impl Notifier {
    pub fn new(store: Arc<dyn Store>, keyring: Arc<Keyring>, settings: NotifySettings) -> Self {
        let outbound = Outbound::new(settings.outbound.clone());
        Notifier {
            store,
            keyring,
            settings,
            outbound,
        }
    }

    pub fn settings(&self) -> &NotifySettings {
        &self.settings
    }

    /// Registers the fan-out and delivery jobs.
    pub fn register(self: &Arc<Self>, registry: &mut Registry) {
        registry.register(FANOUT_KIND, FanOutHandler(self.clone()));
        registry.register(DELIVER_KIND, DeliverHandler(self.clone()));
    }

    /// Parses a channel URL and refuses destinations the SSRF guard
    /// refuses (422 on `url`); a name that does not resolve now is
    /// accepted, since it is checked again at every delivery.
    async fn check_url(&self, url: &Secret) -> Result<String, EngineError> {
        let parsed = parse_webhook_url(url).map_err(url_error)?;
        match resolve_checked(&parsed, &self.settings.outbound.policy).await {
            Ok(_) | Err(OutboundError::Dns { .. } | OutboundError::NoAddresses { .. }) => {}
            Err(error) => return Err(url_error(error)),
        }
        Ok(redacted_target(&parsed))
    }

    async fn channel(&self, by: &Authenticated, id: i64) -> Result<Channel, EngineError> {
        authorize(Some(by.actor()), Action::ManageChannel)?;
        self.store
            .get_channel(id)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("no channel {id}")))
    }

    pub async fn list_channels(&self, by: &Authenticated) -> Result<Vec<ChannelView>, EngineError> {
        authorize(Some(by.actor()), Action::ManageChannel)?;
        Ok(self
            .store
            .list_channels()
            .await?
            .into_iter()
            .map(ChannelView::from)
            .collect())
    }

    pub async fn get_channel(
        &self,
        by: &Authenticated,
        id: i64,
    ) -> Result<ChannelView, EngineError> {
        Ok(self.channel(by, id).await?.into())
    }

    /// Creates a channel; a webhook channel gets a signing secret, returned
    /// here once.
    pub async fn create_channel(
        &self,
        by: &Authenticated,
        input: ChannelInput,
        now: DateTime<Utc>,
    ) -> Result<IssuedChannel, EngineError> {
        authorize(Some(by.actor()), Action::CreateChannel)?;
        let name = validate_name("name", &input.name)?;
        let kind = ChannelKind::parse(input.kind.trim())
            .ok_or_else(|| EngineError::invalid("kind", "must be one of slack, teams, webhook"))?;
        let target = self.check_url(&input.url).await?;
        let secret = (kind == ChannelKind::Webhook).then(standard_webhooks::generate_secret);
        let mut tx = self.store.begin().await?;
        let id = tx
            .insert_channel(
                &NewChannel {
                    name,
                    kind,
                    url: self.keyring.seal(&Secret::new(input.url.expose().trim())),
                    target: target.clone(),
                    secret: secret.as_ref().map(|s| self.keyring.seal(s)),
                    created_by: Some(by.user.id),
                },
                now,
            )
            .await
            .map_err(conflicts)?;
        tx.append_audit(
            &user_audit(
                by,
                "channel.created",
                format!("channel:{id}"),
                json!({"kind": kind.as_str(), "target": target}),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(IssuedChannel {
            channel: self.channel(by, id).await?.into(),
            secret,
        })
    }

    pub async fn update_channel(
        &self,
        by: &Authenticated,
        id: i64,
        changes: ChannelChanges,
        now: DateTime<Utc>,
    ) -> Result<ChannelView, EngineError> {
        self.channel(by, id).await?;
        let name = changes
            .name
            .as_deref()
            .map(|n| validate_name("name", n))
            .transpose()?;
        let url = match &changes.url {
            Some(url) => Some((
                self.keyring.seal(&Secret::new(url.expose().trim())),
                self.check_url(url).await?,
            )),
            None => None,
        };
        let mut tx = self.store.begin().await?;
        tx.update_channel(
            id,
            &ChannelUpdate {
                name,
                url,
                enabled: changes.enabled,
            },
            now,
        )
        .await
        .map_err(conflicts)?;
        tx.append_audit(
            &user_audit(
                by,
                "channel.updated",
                format!("channel:{id}"),
                json!({"url_changed": changes.url.is_some(), "enabled": changes.enabled}),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(self.channel(by, id).await?.into())
    }

    pub async fn delete_channel(
        &self,
        by: &Authenticated,
        id: i64,
        now: DateTime<Utc>,
    ) -> Result<(), EngineError> {
        let channel = self.channel(by, id).await?;
        let mut tx = self.store.begin().await?;
        tx.delete_channel(id).await?;
        tx.append_audit(
            &user_audit(
                by,
                "channel.deleted",
                format!("channel:{id}"),
                json!({"name": channel.name, "kind": channel.kind.as_str()}),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Replaces a webhook channel's signing secret; returned once.
    pub async fn rotate_secret(
        &self,
        by: &Authenticated,
        id: i64,
        now: DateTime<Utc>,
    ) -> Result<IssuedChannel, EngineError> {
        let channel = self.channel(by, id).await?;
        if channel.kind != ChannelKind::Webhook {
            return Err(EngineError::Conflict {
                field: Some("kind".to_owned()),
                message: "only webhook channels are signed".to_owned(),
            });
        }
        let secret = standard_webhooks::generate_secret();
        let mut tx = self.store.begin().await?;
        tx.set_channel_secret(id, &self.keyring.seal(&secret), now)
            .await?;
        tx.append_audit(
            &user_audit(
                by,
                "channel.secret_rotated",
                format!("channel:{id}"),
                json!({}),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(IssuedChannel {
            channel: self.channel(by, id).await?.into(),
            secret: Some(secret),
        })
    }

    /// Sends a test message to a channel now; the attempt is returned, not
    /// stored.
    pub async fn test_channel(
        &self,
        by: &Authenticated,
        id: i64,
        now: DateTime<Utc>,
    ) -> Result<NotifyAttempt, EngineError> {
        let channel = self.channel(by, id).await?;
        let event = NotificationEvent {
            okr_id: 0,
            okr_title: format!("Test message for {}", channel.name),
            okr_kind: OkrKind::KeyResult,
            okr_url: self.absolute("/"),
            status: Status::OnTrack,
            progress_percent: 100.0,
            expected_percent: None,
            occurred_at: now,
            detail: EventDetail::TargetReached,
        };
        let webhook_id = standard_webhooks::new_message_id();
        let outcome = self.send(&channel, &event.into(), &webhook_id, now).await;
        Ok(attempt_of(0, 1, now, &outcome))
    }

    /// A channel's latest deliveries with their attempts.
    pub async fn deliveries(
        &self,
        by: &Authenticated,
        id: i64,
        limit: u32,
    ) -> Result<Vec<DeliveryView>, EngineError> {
        self.channel(by, id).await?;
        let mut views = Vec::new();
        for d in self.store.list_notify_deliveries(id, limit).await? {
            let attempt_log = self.store.notify_attempts(d.id).await?;
            views.push(DeliveryView {
                id: d.id,
                channel_id: d.channel_id,
                event_kind: d.event_kind,
                webhook_id: d.webhook_id,
                state: d.state,
                attempts: d.attempts,
                next_attempt_at: d.next_attempt_at,
                created_at: d.created_at,
                event: d.payload,
                attempt_log,
            });
        }
        Ok(views)
    }

    pub async fn list_subscriptions(
        &self,
        by: &Authenticated,
    ) -> Result<Vec<Subscription>, EngineError> {
        authorize(Some(by.actor()), Action::ManageChannel)?;
        Ok(self.store.list_subscriptions(None).await?)
    }

    pub async fn subscribe(
        &self,
        by: &Authenticated,
        input: SubscriptionInput,
        now: DateTime<Utc>,
    ) -> Result<Subscription, EngineError> {
        authorize(Some(by.actor()), Action::ManageChannel)?;
        if self.store.get_channel(input.channel_id).await?.is_none() {
            return Err(EngineError::invalid("channel_id", "no such channel"));
        }
        if let Some(okr) = input.okr_id
            && self.store.get_okr(okr).await?.is_none()
        {
            return Err(EngineError::invalid("okr_id", "no such OKR"));
        }
        let about_okr = input.okr_id.is_some();
        let mut events = BTreeSet::new();
        for name in &input.events {
            let kind = EventKind::parse(name.trim()).ok_or_else(|| {
                EngineError::invalid(
                    "events",
                    format!(
                        "unknown event kind `{}`; known: {}",
                        name.escape_debug(),
                        EventKind::ALL.map(EventKind::as_str).join(", ")
                    ),
                )
            })?;
            if about_okr && !kind.is_about_okrs() {
                return Err(EngineError::invalid(
                    "events",
                    format!(
                        "`{}` is about sync pairs, not OKRs: subscribe to it without an OKR",
                        kind.as_str()
                    ),
                ));
            }
            events.insert(kind);
        }
        // No kinds named: every kind the subscription can hear.
        let events: Vec<EventKind> = if events.is_empty() {
            EventKind::ALL
                .into_iter()
                .filter(|k| !about_okr || k.is_about_okrs())
                .collect()
        } else {
            events.into_iter().collect()
        };
        let mut tx = self.store.begin().await?;
        let id = tx
            .insert_subscription(
                &NewSubscription {
                    channel_id: input.channel_id,
                    okr_id: input.okr_id,
                    include_subtree: input.include_subtree,
                    events,
                    created_by: Some(by.user.id),
                },
                now,
            )
            .await?;
        tx.commit().await?;
        self.store
            .list_subscriptions(Some(input.channel_id))
            .await?
            .into_iter()
            .find(|s| s.id == id)
            .ok_or_else(|| EngineError::NotFound(format!("no subscription {id}")))
    }

    pub async fn unsubscribe(&self, by: &Authenticated, id: i64) -> Result<(), EngineError> {
        authorize(Some(by.actor()), Action::ManageChannel)?;
        let mut tx = self.store.begin().await?;
        let deleted = tx.delete_subscription(id).await?;
        tx.commit().await?;
        if deleted {
            Ok(())
        } else {
            Err(EngineError::NotFound(format!("no subscription {id}")))
        }
    }

    pub async fn notices(
        &self,
        by: &Authenticated,
        include_dismissed: bool,
    ) -> Result<Vec<Notice>, EngineError> {
        authorize(Some(by.actor()), Action::ViewNotices)?;
        Ok(self.store.list_notices(include_dismissed).await?)
    }

    pub async fn dismiss_notice(
        &self,
        by: &Authenticated,
        id: i64,
        now: DateTime<Utc>,
    ) -> Result<(), EngineError> {
        authorize(Some(by.actor()), Action::ViewNotices)?;
        let mut tx = self.store.begin().await?;
        let dismissed = tx.dismiss_notice(id, by.user.id, now).await?;
        tx.commit().await?;
        if dismissed {
            Ok(())
        } else {
            Err(EngineError::NotFound(format!("no open notice {id}")))
        }
    }

    /// Re-seals channel URLs and secrets not under the current key;
    /// returns how many channels.
    pub async fn reseal_all(&self) -> Result<u64, EngineError> {
        let current = self.keyring.current_key_id();
        let mut resealed = 0;
        loop {
            let batch = self.store.channels_not_under_key(&current, 100).await?;
            if batch.is_empty() {
                return Ok(resealed);
            }
            for channel in batch {
                let url = self.keyring.seal(&self.keyring.open(&channel.url)?);
                let secret = match &channel.secret {
                    Some(sealed) => Some(self.keyring.seal(&self.keyring.open(sealed)?)),
                    None => None,
                };
                if self
                    .store
                    .reseal_channel(&channel, &url, secret.as_ref())
                    .await?
                {
                    resealed += 1;
                }
            }
            tokio::task::yield_now().await;
        }
    }

    /// A path made absolute with `public_url`, when configured.
    fn absolute(&self, path: &str) -> String {
        match &self.settings.public_url {
            Some(base) if path.starts_with('/') => {
                format!("{}{path}", base.trim_end_matches('/'))
            }
            _ => path.to_owned(),
        }
    }

    /// The subscriptions' channels that hear about `notification`, each
    /// once: an OKR's event reaches subscriptions on it, on an ancestor
    /// with its subtree, and those without an OKR; a sync pair's event
    /// reaches only those without an OKR.
    async fn matching_channels(&self, notification: &Notification) -> Result<Vec<i64>, StoreError> {
        let Notification::Okr(event) = notification else {
            return self
                .subscribed_channels(notification.kind(), |s| s.okr_id.is_none())
                .await;
        };
        // The OKRs the event is about and their ancestors: a subscription
        // on one of them, or with its subtree on an ancestor, covers it.
        let mut about = vec![event.okr_id];
        if let EventDetail::ConnectionUnhealthy { also_affected, .. } = &event.detail {
            about.extend(also_affected);
        }
        let mut ancestors = BTreeSet::new();
        for okr_id in &about {
            let mut next = self
                .store
                .get_okr(*okr_id)
                .await?
                .and_then(|o| o.fields.parent_id);
            let mut depth = 0;
            while let Some(id) = next {
                // A cycle or a parent already walked from another OKR.
                if !ancestors.insert(id) || depth > 100 {
                    break;
                }
                depth += 1;
                next = self
                    .store
                    .get_okr(id)
                    .await?
                    .and_then(|o| o.fields.parent_id);
            }
        }
        self.subscribed_channels(event.kind(), |s| match s.okr_id {
            None => true,
            Some(id) => about.contains(&id) || (s.include_subtree && ancestors.contains(&id)),
        })
        .await
    }

    /// Enabled channels with a subscription to `kind` that `covers`
    /// admits.
    async fn subscribed_channels(
        &self,
        kind: EventKind,
        covers: impl Fn(&Subscription) -> bool,
    ) -> Result<Vec<i64>, StoreError> {
        let enabled: BTreeSet<i64> = self
            .store
            .list_channels()
            .await?
            .into_iter()
            .filter(|c| c.enabled)
            .map(|c| c.id)
            .collect();
        let channels: BTreeSet<i64> = self
            .store
            .list_subscriptions(None)
            .await?
            .into_iter()
            .filter(|s| s.events.contains(&kind))
            .filter(|s| covers(s))
            .map(|s| s.channel_id)
            .filter(|id| enabled.contains(id))
            .collect();
        Ok(channels.into_iter().collect())
    }

    async fn fan_out(&self, job: &Job) -> Result<(), JobError> {
        let mut event: Notification = serde_json::from_value(job.payload.clone())
            .map_err(|e| JobError::Permanent(format!("not a notification event: {e}")))?;
        event.set_url(self.absolute(event.url()));
        let channels = self.matching_channels(&event).await.map_err(retry)?;
        if channels.is_empty() {
            return Ok(());
        }
        let payload =
            serde_json::to_value(&event).map_err(|e| JobError::Permanent(e.to_string()))?;
        let now = Utc::now();
        let mut tx = self.store.begin().await.map_err(retry)?;
        for channel_id in channels {
            let id = tx
                .insert_notify_delivery(
                    &NewNotifyDelivery {
                        channel_id,
                        event_kind: event.kind(),
                        payload: payload.clone(),
                        webhook_id: standard_webhooks::new_message_id(),
                    },
                    now,
                )
                .await
                .map_err(retry)?;
            tx.enqueue(&deliver_job(id, 1, now), now)
                .await
                .map_err(retry)?;
        }
        tx.commit().await.map_err(retry)?;
        Ok(())
    }

    /// Builds the request of a channel's format and sends it once.
    async fn send(
        &self,
        channel: &Channel,
        event: &Notification,
        webhook_id: &str,
        now: DateTime<Utc>,
    ) -> DeliveryOutcome {
        let prepared = self
            .keyring
            .open(&channel.url)
            .map_err(|e| e.to_string())
            .and_then(|url| {
                let url = parse_webhook_url(&url).map_err(|e| e.to_string())?;
                let request = match channel.kind {
                    ChannelKind::Slack => slack::request(event),
                    ChannelKind::Teams => teams::request(event),
                    ChannelKind::Webhook => {
                        let sealed = channel
                            .secret
                            .as_ref()
                            .ok_or_else(|| "the channel has no signing secret".to_owned())?;
                        let secret = self.keyring.open(sealed).map_err(|e| e.to_string())?;
                        standard_webhooks::request(event, webhook_id, now.timestamp(), &secret)
                            .map_err(|e| e.to_string())?
                    }
                };
                Ok((url, request))
            });
        match prepared {
            Ok((url, request)) => self.outbound.send(&url, &request).await,
            Err(error) => DeliveryOutcome {
                success: false,
                status: None,
                duration: Duration::ZERO,
                response_excerpt: String::new(),
                retry_after: None,
                failure: Some(cairn_connect::outbound::DeliveryFailure::InvalidRequest),
                error: Some(error),
                permanent: true,
            },
        }
    }

    async fn deliver(&self, job: &Job) -> Result<(), JobError> {
        let id = job
            .payload
            .get("delivery_id")
            .and_then(|v| v.as_i64())
            .ok_or_else(|| JobError::Permanent("no delivery_id".to_owned()))?;
        let Some(channel_id) = self
            .store
            .get_notify_delivery(id)
            .await
            .map_err(retry)?
            .map(|d| d.channel_id)
        else {
            return Ok(());
        };
        // One request at a time per channel, in every instance; read again
        // under the lock, so an attempt another instance just made (a job
        // taken over after its lease expired) is not made twice.
        let _sending = self
            .store
            .lock(LockKey::Channel(channel_id))
            .await
            .map_err(retry)?;
        let Some(delivery) = self.store.get_notify_delivery(id).await.map_err(retry)? else {
            return Ok(());
        };
        if delivery.state != NotifyState::Pending
            || delivery.attempts >= attempt_of_job(job, &delivery)
        {
            return Ok(());
        }
        let Some(channel) = self
            .store
            .get_channel(delivery.channel_id)
            .await
            .map_err(retry)?
        else {
            return Ok(());
        };
        let now = Utc::now();
        let attempt = delivery.attempts + 1;
        if !channel.enabled {
            let outcome = DeliveryOutcome {
                success: false,
                status: None,
                duration: Duration::ZERO,
                response_excerpt: String::new(),
                retry_after: None,
                failure: None,
                error: Some("the channel is disabled".to_owned()),
                permanent: true,
            };
            let mut tx = self.store.begin().await.map_err(retry)?;
            tx.record_notify_attempt(
                &attempt_of(delivery.id, attempt, now, &outcome),
                NotifyState::Failed,
                None,
            )
            .await
            .map_err(retry)?;
            tx.commit().await.map_err(retry)?;
            return Ok(());
        }
        let event: Notification = serde_json::from_value(delivery.payload.clone())
            .map_err(|e| JobError::Permanent(format!("not a notification event: {e}")))?;
        let outcome = self.send(&channel, &event, &delivery.webhook_id, now).await;
        let done = Utc::now();
        self.record(&delivery, &channel, attempt, done, &outcome)
            .await
            .map_err(retry)
    }

    /// Stores an attempt's outcome, schedules the next one or gives up,
    /// and disables the channel when it cannot work.
    async fn record(
        &self,
        delivery: &NotifyDelivery,
        channel: &Channel,
        attempt: u32,
        now: DateTime<Utc>,
        outcome: &DeliveryOutcome,
    ) -> Result<(), StoreError> {
        let mut tx = self.store.begin().await?;
        let (state, next_at) = if outcome.success {
            (NotifyState::Delivered, None)
        } else if outcome.permanent {
            (NotifyState::Failed, None)
        } else {
            match next_delivery_delay(attempt, rand::random::<f64>(), outcome.retry_after) {
                Some(delay) => {
                    let scaled = delay.mul_f64(self.settings.delay_scale.max(0.0));
                    let at =
                        now + chrono::Duration::from_std(scaled).unwrap_or(chrono::Duration::MAX);
                    (NotifyState::Pending, Some(at))
                }
                None => (NotifyState::GaveUp, None),
            }
        };
        tx.record_notify_attempt(
            &attempt_of(delivery.id, attempt, now, outcome),
            state,
            next_at,
        )
        .await?;
        metrics::counter!(
            "cairn_notify_attempts_total",
            "kind" => channel.kind.as_str(),
            "outcome" => state.as_str()
        )
        .increment(1);
        if let Some(at) = next_at {
            tx.enqueue(
                &deliver_job(delivery.id, attempt + 1, now).run_after(at),
                now,
            )
            .await?;
        }
        let current = tx
            .record_channel_outcome(channel.id, outcome.success, now)
            .await?;
        let limit = chrono::Duration::from_std(self.settings.disable_after)
            .unwrap_or(chrono::Duration::MAX);
        let failing_since = current
            .as_ref()
            .and_then(|c| c.failing_since)
            .filter(|since| now - *since >= limit);
        let reason = if outcome.permanent && !outcome.success {
            Some(
                outcome
                    .error
                    .clone()
                    .unwrap_or_else(|| "the destination cannot receive notifications".to_owned()),
            )
        } else if let (false, Some(since)) = (outcome.success, failing_since) {
            Some(format!(
                "every delivery failed since {} (more than {} h)",
                since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                self.settings.disable_after.as_secs() / 3600
            ))
        } else {
            None
        };
        if let Some(reason) = reason
            && tx.disable_channel(channel.id, &reason, now).await?
        {
            tx.append_audit(
                &system_audit(
                    "channel.disabled",
                    format!("channel:{}", channel.id),
                    json!({"reason": reason, "status": outcome.status}),
                ),
                now,
            )
            .await?;
            tx.insert_notice(
                &format!(
                    "The notification channel \u{201c}{}\u{201d} ({}) was disabled: {reason}. Fix its URL and enable it again.",
                    channel.name, channel.target
                ),
                now,
            )
            .await?;
            tracing::warn!(channel = channel.id, target_url = %channel.target, reason = %reason, "notification channel disabled");
        }
        tx.commit().await
    }
}

fn retry(error: impl std::fmt::Display) -> JobError {
    JobError::Retry(error.to_string())
}

/// The job of one attempt; the attempt's number lets a job that runs again
/// (its worker died after recording the attempt) see it was made.
fn deliver_job(delivery_id: i64, attempt: u32, now: DateTime<Utc>) -> NewJob {
    NewJob::new(
        DELIVER_KIND,
        json!({"delivery_id": delivery_id, "attempt": attempt}),
        now,
    )
    .with_max_attempts(3)
}

/// Which attempt a delivery job makes; jobs enqueued before attempts were
/// numbered make the next one.
fn attempt_of_job(job: &Job, delivery: &NotifyDelivery) -> u32 {
    job.payload
        .get("attempt")
        .and_then(|a| a.as_u64())
        .and_then(|a| u32::try_from(a).ok())
        .unwrap_or(delivery.attempts + 1)
}

fn attempt_of(
    delivery_id: i64,
    attempt: u32,
    at: DateTime<Utc>,
    outcome: &DeliveryOutcome,
) -> NotifyAttempt {
    NotifyAttempt {
        delivery_id,
        attempt,
        at,
        status_code: outcome.status,
        error: outcome.error.clone(),
        duration_ms: i64::try_from(outcome.duration.as_millis()).unwrap_or(i64::MAX),
        response_excerpt: outcome.response_excerpt.clone(),
    }
}

struct FanOutHandler(Arc<Notifier>);

#[async_trait::async_trait]
impl JobHandler for FanOutHandler {
    async fn run(&self, job: &Job) -> Result<(), JobError> {
        self.0.fan_out(job).await
    }
}

struct DeliverHandler(Arc<Notifier>);

#[async_trait::async_trait]
impl JobHandler for DeliverHandler {
    async fn run(&self, job: &Job) -> Result<(), JobError> {
        self.0.deliver(job).await
    }
}
