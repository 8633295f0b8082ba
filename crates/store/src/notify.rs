//! Notifications out: channels (sealed URL and signing secret), what they
//! are subscribed to, each delivery with its attempts, and notices for
//! admins. Written once as a macro, like the hooks, and expanded in each
//! backend's module.

use async_trait::async_trait;
use cairn_core::notify::EventKind;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::{Result, SealedSecret};

/// Where a channel posts and in which format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    /// A Slack incoming webhook (Block Kit).
    Slack,
    /// A Microsoft Teams incoming webhook or workflow URL (Adaptive Card).
    Teams,
    /// A generic webhook signed per Standard Webhooks.
    Webhook,
}

impl ChannelKind {
    pub const ALL: [ChannelKind; 3] =
        [ChannelKind::Slack, ChannelKind::Teams, ChannelKind::Webhook];

    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Slack => "slack",
            ChannelKind::Teams => "teams",
            ChannelKind::Webhook => "webhook",
        }
    }

    pub fn parse(s: &str) -> Option<ChannelKind> {
        ChannelKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A stored channel. The URL and secret stay sealed; `target` is the
/// URL's `scheme://host[:port]`, all of it that may be shown.
#[derive(Debug, Clone, PartialEq)]
pub struct Channel {
    pub id: i64,
    pub name: String,
    pub kind: ChannelKind,
    pub url: SealedSecret,
    pub target: String,
    /// The Standard Webhooks signing secret (webhook channels only).
    pub secret: Option<SealedSecret>,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub created_by: Option<i64>,
    /// Failed attempts since the last success.
    pub consecutive_failures: i64,
    /// The first failure since the last success.
    pub failing_since: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewChannel {
    pub name: String,
    pub kind: ChannelKind,
    pub url: SealedSecret,
    pub target: String,
    pub secret: Option<SealedSecret>,
    pub created_by: Option<i64>,
}

/// Changes to a channel; `None` leaves a field as it is. Enabling clears
/// the reason it was disabled and its failure count.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChannelUpdate {
    pub name: Option<String>,
    /// The sealed URL and its display target.
    pub url: Option<(SealedSecret, String)>,
    pub enabled: Option<bool>,
}

/// What a channel hears about.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Subscription {
    pub id: i64,
    pub channel_id: i64,
    /// `None`: every OKR.
    pub okr_id: Option<i64>,
    /// Whether the OKR's key results and child objectives are covered too.
    pub include_subtree: bool,
    #[schema(value_type = Vec<String>)]
    pub events: Vec<EventKind>,
    pub created_by: Option<i64>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewSubscription {
    pub channel_id: i64,
    pub okr_id: Option<i64>,
    pub include_subtree: bool,
    pub events: Vec<EventKind>,
    pub created_by: Option<i64>,
}

/// Where a notification delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NotifyState {
    /// Not delivered yet; an attempt is scheduled.
    Pending,
    Delivered,
    /// Failed for good: the destination is gone or refused.
    Failed,
    /// Every attempt of the schedule failed.
    GaveUp,
}

impl NotifyState {
    pub const ALL: [NotifyState; 4] = [
        NotifyState::Pending,
        NotifyState::Delivered,
        NotifyState::Failed,
        NotifyState::GaveUp,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NotifyState::Pending => "pending",
            NotifyState::Delivered => "delivered",
            NotifyState::Failed => "failed",
            NotifyState::GaveUp => "gave_up",
        }
    }

    pub fn parse(s: &str) -> Option<NotifyState> {
        NotifyState::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One event for one channel.
#[derive(Debug, Clone, PartialEq)]
pub struct NotifyDelivery {
    pub id: i64,
    pub channel_id: i64,
    pub event_kind: String,
    /// The `NotificationEvent` as JSON.
    pub payload: serde_json::Value,
    /// Standard Webhooks' `webhook-id`, the same on every attempt.
    pub webhook_id: String,
    pub state: NotifyState,
    pub attempts: u32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewNotifyDelivery {
    pub channel_id: i64,
    pub event_kind: EventKind,
    pub payload: serde_json::Value,
    pub webhook_id: String,
}

/// One attempt of a delivery.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct NotifyAttempt {
    pub delivery_id: i64,
    /// 1 for the first.
    pub attempt: u32,
    pub at: DateTime<Utc>,
    pub status_code: Option<u16>,
    pub error: Option<String>,
    pub duration_ms: i64,
    /// The start of the answer (about 1 KB).
    pub response_excerpt: String,
}

/// Something admins should know, until one of them dismisses it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Notice {
    pub id: i64,
    pub text: String,
    pub created_at: DateTime<Utc>,
    pub dismissed_at: Option<DateTime<Utc>>,
    pub dismissed_by: Option<i64>,
}

/// Reading channels, subscriptions, deliveries and notices.
#[async_trait]
pub trait NotifyStore: Send + Sync {
    async fn list_channels(&self) -> Result<Vec<Channel>>;
    async fn get_channel(&self, id: i64) -> Result<Option<Channel>>;
    /// Channels whose URL or secret is sealed under a key other than `key_id`.
    async fn channels_not_under_key(&self, key_id: &str, limit: u32) -> Result<Vec<Channel>>;
    /// Replaces a channel's sealed URL and secret only if they are still
    /// the ones given.
    async fn reseal_channel(
        &self,
        old: &Channel,
        url: &SealedSecret,
        secret: Option<&SealedSecret>,
    ) -> Result<bool>;
    /// Every subscription, or one channel's.
    async fn list_subscriptions(&self, channel_id: Option<i64>) -> Result<Vec<Subscription>>;
    async fn get_notify_delivery(&self, id: i64) -> Result<Option<NotifyDelivery>>;
    /// A channel's deliveries, newest first.
    async fn list_notify_deliveries(
        &self,
        channel_id: i64,
        limit: u32,
    ) -> Result<Vec<NotifyDelivery>>;
    /// A delivery's attempts, first first.
    async fn notify_attempts(&self, delivery_id: i64) -> Result<Vec<NotifyAttempt>>;
    /// Newest first; dismissed ones only when asked.
    async fn list_notices(&self, include_dismissed: bool) -> Result<Vec<Notice>>;
}

/// Notification changes, made inside a [`crate::StoreTx`].
#[async_trait]
pub trait NotifyTx: Send {
    /// A channel named like another is a conflict on `name`.
    async fn insert_channel(&mut self, channel: &NewChannel, now: DateTime<Utc>) -> Result<i64>;
    async fn update_channel(
        &mut self,
        id: i64,
        update: &ChannelUpdate,
        now: DateTime<Utc>,
    ) -> Result<bool>;
    async fn set_channel_secret(
        &mut self,
        id: i64,
        secret: &SealedSecret,
        now: DateTime<Utc>,
    ) -> Result<bool>;
    async fn delete_channel(&mut self, id: i64) -> Result<bool>;
    async fn insert_subscription(
        &mut self,
        subscription: &NewSubscription,
        now: DateTime<Utc>,
    ) -> Result<i64>;
    async fn delete_subscription(&mut self, id: i64) -> Result<bool>;
    async fn insert_notify_delivery(
        &mut self,
        delivery: &NewNotifyDelivery,
        now: DateTime<Utc>,
    ) -> Result<i64>;
    /// Stores an attempt and moves its delivery to `state`.
    async fn record_notify_attempt(
        &mut self,
        attempt: &NotifyAttempt,
        state: NotifyState,
        next_attempt_at: Option<DateTime<Utc>>,
    ) -> Result<()>;
    /// Counts a channel's success (clearing its failures) or failure;
    /// returns the channel as it now is.
    async fn record_channel_outcome(
        &mut self,
        id: i64,
        success: bool,
        now: DateTime<Utc>,
    ) -> Result<Option<Channel>>;
    /// Disables an enabled channel with a reason; false when it was not
    /// enabled (or is gone).
    async fn disable_channel(&mut self, id: i64, reason: &str, now: DateTime<Utc>) -> Result<bool>;
    async fn insert_notice(&mut self, text: &str, now: DateTime<Utc>) -> Result<i64>;
    /// Whether an enabled channel subscribes to `kind` at all: a change
    /// nobody listens for then makes no event and no job.
    async fn anyone_subscribed(&mut self, kind: EventKind) -> Result<bool>;
    async fn dismiss_notice(&mut self, id: i64, by: i64, now: DateTime<Utc>) -> Result<bool>;
    /// Records a failed health check of a connection; returns whether it
    /// was healthy before (never checked, or its last check succeeded).
    async fn mark_connection_failed(
        &mut self,
        id: i64,
        code: &str,
        message: &str,
        now: DateTime<Utc>,
    ) -> Result<bool>;
}

/// Event kinds as stored: comma-separated stable names.
pub(crate) fn events_to_db(events: &[EventKind]) -> String {
    events
        .iter()
        .map(|e| e.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

pub(crate) fn events_from_db(text: &str) -> Result<Vec<EventKind>> {
    text.split(',')
        .filter(|s| !s.is_empty())
        .map(|s| {
            EventKind::parse(s)
                .ok_or_else(|| crate::StoreError::InvalidData(format!("event kind `{s}`")))
        })
        .collect()
}

macro_rules! impl_notify {
    ($store:ty, $tx:ty) => {
        const CHANNEL_COLUMNS: &str = "id, name, kind, url, url_key_id, target, secret, secret_key_id, enabled, \
            disabled_reason, created_by, consecutive_failures, failing_since, last_success_at, created_at, updated_at";
        const NOTIFY_DELIVERY_COLUMNS: &str = "id, channel_id, event_kind, payload, webhook_id, state, attempts, \
            next_attempt_at, created_at, updated_at";

        fn channel_from_row(row: &DbRow) -> Result<crate::notify::Channel> {
            let kind: String = row.try_get("kind")?;
            let secret: Option<Vec<u8>> = row.try_get("secret")?;
            let secret_key_id: Option<String> = row.try_get("secret_key_id")?;
            Ok(crate::notify::Channel {
                id: row.try_get("id")?,
                name: row.try_get("name")?,
                kind: crate::notify::ChannelKind::parse(&kind)
                    .ok_or_else(|| StoreError::InvalidData(format!("channel kind `{kind}`")))?,
                url: crate::SealedSecret {
                    key_id: row.try_get("url_key_id")?,
                    bytes: row.try_get("url")?,
                },
                target: row.try_get("target")?,
                secret: match (secret, secret_key_id) {
                    (Some(bytes), Some(key_id)) => Some(crate::SealedSecret { key_id, bytes }),
                    _ => None,
                },
                enabled: row.try_get("enabled")?,
                disabled_reason: row.try_get("disabled_reason")?,
                created_by: row.try_get("created_by")?,
                consecutive_failures: i64::from(row.try_get::<i32, _>("consecutive_failures")?),
                failing_since: opt_from_db(row.try_get("failing_since")?)?,
                last_success_at: opt_from_db(row.try_get("last_success_at")?)?,
                created_at: from_db(row.try_get("created_at")?)?,
                updated_at: from_db(row.try_get("updated_at")?)?,
            })
        }

        fn subscription_from_row(row: &DbRow) -> Result<crate::notify::Subscription> {
            let events: String = row.try_get("events")?;
            Ok(crate::notify::Subscription {
                id: row.try_get("id")?,
                channel_id: row.try_get("channel_id")?,
                okr_id: row.try_get("okr_id")?,
                include_subtree: row.try_get("include_subtree")?,
                events: crate::notify::events_from_db(&events)?,
                created_by: row.try_get("created_by")?,
                created_at: from_db(row.try_get("created_at")?)?,
            })
        }

        fn notify_delivery_from_row(row: &DbRow) -> Result<crate::notify::NotifyDelivery> {
            let state: String = row.try_get("state")?;
            let payload: String = row.try_get("payload")?;
            Ok(crate::notify::NotifyDelivery {
                id: row.try_get("id")?,
                channel_id: row.try_get("channel_id")?,
                event_kind: row.try_get("event_kind")?,
                payload: serde_json::from_str(&payload)
                    .map_err(|e| StoreError::InvalidData(format!("delivery payload: {e}")))?,
                webhook_id: row.try_get("webhook_id")?,
                state: crate::notify::NotifyState::parse(&state)
                    .ok_or_else(|| StoreError::InvalidData(format!("notification state `{state}`")))?,
                attempts: row.try_get::<i32, _>("attempts")?.max(0) as u32,
                next_attempt_at: opt_from_db(row.try_get("next_attempt_at")?)?,
                created_at: from_db(row.try_get("created_at")?)?,
                updated_at: from_db(row.try_get("updated_at")?)?,
            })
        }

        fn notice_from_row(row: &DbRow) -> Result<crate::notify::Notice> {
            Ok(crate::notify::Notice {
                id: row.try_get("id")?,
                text: row.try_get("text")?,
                created_at: from_db(row.try_get("created_at")?)?,
                dismissed_at: opt_from_db(row.try_get("dismissed_at")?)?,
                dismissed_by: row.try_get("dismissed_by")?,
            })
        }

        #[async_trait::async_trait]
        impl crate::notify::NotifyStore for $store {
            async fn list_channels(&self) -> Result<Vec<crate::notify::Channel>> {
                let sql = format!("SELECT {CHANNEL_COLUMNS} FROM notify_channels ORDER BY id");
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&self.pool).await?;
                rows.iter().map(channel_from_row).collect()
            }

            async fn get_channel(&self, id: i64) -> Result<Option<crate::notify::Channel>> {
                let sql = format!("SELECT {CHANNEL_COLUMNS} FROM notify_channels WHERE id = $1");
                let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&self.pool).await?;
                row.as_ref().map(channel_from_row).transpose()
            }

            async fn channels_not_under_key(
                &self,
                key_id: &str,
                limit: u32,
            ) -> Result<Vec<crate::notify::Channel>> {
                let sql = format!(
                    "SELECT {CHANNEL_COLUMNS} FROM notify_channels WHERE url_key_id <> $1 \
                     OR (secret_key_id IS NOT NULL AND secret_key_id <> $1) ORDER BY id LIMIT $2"
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(key_id)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(channel_from_row).collect()
            }

            async fn reseal_channel(
                &self,
                old: &crate::notify::Channel,
                url: &crate::SealedSecret,
                secret: Option<&crate::SealedSecret>,
            ) -> Result<bool> {
                let result = sqlx::query(
                    "UPDATE notify_channels SET url = $1, url_key_id = $2, secret = $3, secret_key_id = $4 \
                     WHERE id = $5 AND url = $6 AND url_key_id = $7 \
                     AND COALESCE(secret, url) = $8",
                )
                .bind(&url.bytes)
                .bind(&url.key_id)
                .bind(secret.map(|s| s.bytes.clone()))
                .bind(secret.map(|s| s.key_id.clone()))
                .bind(old.id)
                .bind(&old.url.bytes)
                .bind(&old.url.key_id)
                .bind(old.secret.as_ref().map(|s| &s.bytes).unwrap_or(&old.url.bytes))
                .execute(&self.writer)
                .await?;
                Ok(result.rows_affected() == 1)
            }

            async fn list_subscriptions(
                &self,
                channel_id: Option<i64>,
            ) -> Result<Vec<crate::notify::Subscription>> {
                let rows = sqlx::query(
                    "SELECT id, channel_id, okr_id, include_subtree, events, created_by, created_at \
                     FROM notify_subscriptions WHERE ($1 IS NULL OR channel_id = $1) ORDER BY id",
                )
                .bind(channel_id)
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(subscription_from_row).collect()
            }

            async fn get_notify_delivery(&self, id: i64) -> Result<Option<crate::notify::NotifyDelivery>> {
                let sql = format!("SELECT {NOTIFY_DELIVERY_COLUMNS} FROM notify_deliveries WHERE id = $1");
                let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&self.pool).await?;
                row.as_ref().map(notify_delivery_from_row).transpose()
            }

            async fn list_notify_deliveries(
                &self,
                channel_id: i64,
                limit: u32,
            ) -> Result<Vec<crate::notify::NotifyDelivery>> {
                let sql = format!(
                    "SELECT {NOTIFY_DELIVERY_COLUMNS} FROM notify_deliveries WHERE channel_id = $1 \
                     ORDER BY id DESC LIMIT $2"
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(channel_id)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(notify_delivery_from_row).collect()
            }

            async fn notify_attempts(&self, delivery_id: i64) -> Result<Vec<crate::notify::NotifyAttempt>> {
                let rows = sqlx::query(
                    "SELECT delivery_id, attempt, at, status_code, error, duration_ms, response_excerpt \
                     FROM notify_attempts WHERE delivery_id = $1 ORDER BY attempt, id",
                )
                .bind(delivery_id)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|row| {
                        Ok(crate::notify::NotifyAttempt {
                            delivery_id: row.try_get("delivery_id")?,
                            attempt: row.try_get::<i32, _>("attempt")?.max(0) as u32,
                            at: from_db(row.try_get("at")?)?,
                            status_code: row
                                .try_get::<Option<i32>, _>("status_code")?
                                .and_then(|s| u16::try_from(s).ok()),
                            error: row.try_get("error")?,
                            duration_ms: row.try_get("duration_ms")?,
                            response_excerpt: row.try_get("response_excerpt")?,
                        })
                    })
                    .collect()
            }

            async fn list_notices(&self, include_dismissed: bool) -> Result<Vec<crate::notify::Notice>> {
                let rows = sqlx::query(
                    "SELECT id, text, created_at, dismissed_at, dismissed_by FROM notices \
                     WHERE $1 OR dismissed_at IS NULL ORDER BY id DESC",
                )
                .bind(include_dismissed)
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(notice_from_row).collect()
            }
        }

        #[async_trait::async_trait]
        impl crate::notify::NotifyTx for $tx {
            async fn insert_channel(
                &mut self,
                c: &crate::notify::NewChannel,
                now: DateTime<Utc>,
            ) -> Result<i64> {
                let id = sqlx::query_scalar(
                    "INSERT INTO notify_channels (name, kind, url, url_key_id, target, secret, secret_key_id, \
                     enabled, created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) \
                     RETURNING id",
                )
                .bind(&c.name)
                .bind(c.kind.as_str())
                .bind(&c.url.bytes)
                .bind(&c.url.key_id)
                .bind(&c.target)
                .bind(c.secret.as_ref().map(|s| s.bytes.clone()))
                .bind(c.secret.as_ref().map(|s| s.key_id.clone()))
                .bind(true)
                .bind(c.created_by)
                .bind(to_db(now))
                .fetch_one(&mut *self.tx)
                .await
                .map_err(crate::error::conflict_on("name"))?;
                Ok(id)
            }

            async fn update_channel(
                &mut self,
                id: i64,
                u: &crate::notify::ChannelUpdate,
                now: DateTime<Utc>,
            ) -> Result<bool> {
                let (url, target) = match &u.url {
                    Some((url, target)) => (Some(url), Some(target.clone())),
                    None => (None, None),
                };
                let result = sqlx::query(
                    "UPDATE notify_channels SET name = COALESCE($1, name), url = COALESCE($2, url), \
                     url_key_id = COALESCE($3, url_key_id), target = COALESCE($4, target), \
                     enabled = COALESCE($5, enabled), \
                     disabled_reason = CASE WHEN $5 THEN NULL ELSE disabled_reason END, \
                     consecutive_failures = CASE WHEN $5 THEN 0 ELSE consecutive_failures END, \
                     failing_since = CASE WHEN $5 THEN NULL ELSE failing_since END, \
                     updated_at = $6 WHERE id = $7",
                )
                .bind(&u.name)
                .bind(url.map(|s| s.bytes.clone()))
                .bind(url.map(|s| s.key_id.clone()))
                .bind(target)
                .bind(u.enabled)
                .bind(to_db(now))
                .bind(id)
                .execute(&mut *self.tx)
                .await
                .map_err(crate::error::conflict_on("name"))?;
                Ok(result.rows_affected() == 1)
            }

            async fn set_channel_secret(
                &mut self,
                id: i64,
                secret: &crate::SealedSecret,
                now: DateTime<Utc>,
            ) -> Result<bool> {
                let result = sqlx::query(
                    "UPDATE notify_channels SET secret = $1, secret_key_id = $2, updated_at = $3 WHERE id = $4",
                )
                .bind(&secret.bytes)
                .bind(&secret.key_id)
                .bind(to_db(now))
                .bind(id)
                .execute(&mut *self.tx)
                .await?;
                Ok(result.rows_affected() == 1)
            }

            async fn delete_channel(&mut self, id: i64) -> Result<bool> {
                let result = sqlx::query("DELETE FROM notify_channels WHERE id = $1")
                    .bind(id)
                    .execute(&mut *self.tx)
                    .await?;
                Ok(result.rows_affected() == 1)
            }

            async fn insert_subscription(
                &mut self,
                s: &crate::notify::NewSubscription,
                now: DateTime<Utc>,
            ) -> Result<i64> {
                let id = sqlx::query_scalar(
                    "INSERT INTO notify_subscriptions (channel_id, okr_id, include_subtree, events, created_by, \
                     created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                )
                .bind(s.channel_id)
                .bind(s.okr_id)
                .bind(s.include_subtree)
                .bind(crate::notify::events_to_db(&s.events))
                .bind(s.created_by)
                .bind(to_db(now))
                .fetch_one(&mut *self.tx)
                .await?;
                Ok(id)
            }

            async fn delete_subscription(&mut self, id: i64) -> Result<bool> {
                let result = sqlx::query("DELETE FROM notify_subscriptions WHERE id = $1")
                    .bind(id)
                    .execute(&mut *self.tx)
                    .await?;
                Ok(result.rows_affected() == 1)
            }

            async fn insert_notify_delivery(
                &mut self,
                d: &crate::notify::NewNotifyDelivery,
                now: DateTime<Utc>,
            ) -> Result<i64> {
                let id = sqlx::query_scalar(
                    "INSERT INTO notify_deliveries (channel_id, event_kind, payload, webhook_id, state, attempts, \
                     next_attempt_at, created_at, updated_at) VALUES ($1, $2, $3, $4, 'pending', 0, $5, $5, $5) \
                     RETURNING id",
                )
                .bind(d.channel_id)
                .bind(d.event_kind.as_str())
                .bind(d.payload.to_string())
                .bind(&d.webhook_id)
                .bind(to_db(now))
                .fetch_one(&mut *self.tx)
                .await?;
                Ok(id)
            }

            async fn record_notify_attempt(
                &mut self,
                a: &crate::notify::NotifyAttempt,
                state: crate::notify::NotifyState,
                next_attempt_at: Option<DateTime<Utc>>,
            ) -> Result<()> {
                let attempt = i32::try_from(a.attempt).unwrap_or(i32::MAX);
                sqlx::query(
                    "INSERT INTO notify_attempts (delivery_id, attempt, at, status_code, error, duration_ms, \
                     response_excerpt) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(a.delivery_id)
                .bind(attempt)
                .bind(to_db(a.at))
                .bind(a.status_code.map(i32::from))
                .bind(&a.error)
                .bind(a.duration_ms)
                .bind(&a.response_excerpt)
                .execute(&mut *self.tx)
                .await?;
                sqlx::query(
                    "UPDATE notify_deliveries SET state = $1, attempts = $2, next_attempt_at = $3, updated_at = $4 \
                     WHERE id = $5",
                )
                .bind(state.as_str())
                .bind(attempt)
                .bind(next_attempt_at.map(to_db))
                .bind(to_db(a.at))
                .bind(a.delivery_id)
                .execute(&mut *self.tx)
                .await?;
                Ok(())
            }

            async fn record_channel_outcome(
                &mut self,
                id: i64,
                success: bool,
                now: DateTime<Utc>,
            ) -> Result<Option<crate::notify::Channel>> {
                let sql = if success {
                    "UPDATE notify_channels SET consecutive_failures = 0, failing_since = NULL, \
                     last_success_at = $1 WHERE id = $2"
                } else {
                    "UPDATE notify_channels SET consecutive_failures = consecutive_failures + 1, \
                     failing_since = COALESCE(failing_since, $1) WHERE id = $2"
                };
                sqlx::query(sql).bind(to_db(now)).bind(id).execute(&mut *self.tx).await?;
                let sql = format!("SELECT {CHANNEL_COLUMNS} FROM notify_channels WHERE id = $1");
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(id)
                    .fetch_optional(&mut *self.tx)
                    .await?;
                row.as_ref().map(channel_from_row).transpose()
            }

            async fn disable_channel(&mut self, id: i64, reason: &str, now: DateTime<Utc>) -> Result<bool> {
                let result = sqlx::query(
                    "UPDATE notify_channels SET enabled = $1, disabled_reason = $2, updated_at = $3 \
                     WHERE id = $4 AND enabled = $5",
                )
                .bind(false)
                .bind(reason)
                .bind(to_db(now))
                .bind(id)
                .bind(true)
                .execute(&mut *self.tx)
                .await?;
                Ok(result.rows_affected() == 1)
            }

            async fn insert_notice(&mut self, text: &str, now: DateTime<Utc>) -> Result<i64> {
                let id = sqlx::query_scalar("INSERT INTO notices (text, created_at) VALUES ($1, $2) RETURNING id")
                    .bind(text)
                    .bind(to_db(now))
                    .fetch_one(&mut *self.tx)
                    .await?;
                Ok(id)
            }

            async fn anyone_subscribed(
                &mut self,
                kind: cairn_core::notify::EventKind,
            ) -> Result<bool> {
                // Events are stored comma-separated (never empty: "all" is
                // every kind), so a kind is in the list when `,kind,` is in
                // `,events,`.
                let row = sqlx::query(
                    "SELECT 1 FROM notify_subscriptions s JOIN notify_channels c ON c.id = s.channel_id \
                     WHERE c.enabled AND (',' || s.events || ',') LIKE $1 LIMIT 1",
                )
                .bind(format!("%,{},%", kind.as_str()))
                .fetch_optional(&mut *self.tx)
                .await?;
                Ok(row.is_some())
            }

            async fn dismiss_notice(&mut self, id: i64, by: i64, now: DateTime<Utc>) -> Result<bool> {
                let result = sqlx::query(
                    "UPDATE notices SET dismissed_at = $1, dismissed_by = $2 WHERE id = $3 AND dismissed_at IS NULL",
                )
                .bind(to_db(now))
                .bind(by)
                .bind(id)
                .execute(&mut *self.tx)
                .await?;
                Ok(result.rows_affected() == 1)
            }

            async fn mark_connection_failed(
                &mut self,
                id: i64,
                code: &str,
                message: &str,
                now: DateTime<Utc>,
            ) -> Result<bool> {
                let row = sqlx::query("SELECT last_ok_at, last_error_at FROM connections WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&mut *self.tx)
                    .await?;
                let Some(row) = row else {
                    return Ok(false);
                };
                let ok_at = opt_from_db(row.try_get("last_ok_at")?)?;
                let error_at = opt_from_db(row.try_get("last_error_at")?)?;
                let was_healthy = match (ok_at, error_at) {
                    (_, None) => true,
                    (Some(ok), Some(error)) => ok >= error,
                    (None, Some(_)) => false,
                };
                sqlx::query(
                    "UPDATE connections SET last_error_at = $1, last_error_code = $2, last_error = $3 WHERE id = $4",
                )
                .bind(to_db(now))
                .bind(code)
                .bind(message)
                .bind(id)
                .execute(&mut *self.tx)
                .await?;
                Ok(was_healthy)
            }
        }
    };
}

pub(crate) use impl_notify;
