//! Inbound webhooks: each connection's hook secret and the inbox of
//! deliveries. Written once as a macro, like the accounts and goals, and
//! expanded in each backend's module.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::{IntegrationKind, Result, SealedSecret};

/// Where a stored delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Verified and stored; its apply job has not finished yet.
    Pending,
    /// Applied to the item snapshots and links it concerns.
    Applied,
    /// Read, but nothing Cairn acts on (a comment, a push, an event kind or
    /// project no link reads).
    Ignored,
    /// Valid JSON that does not have the shape of its event.
    Unreadable,
    /// Its apply job gave up; `error` says why.
    Failed,
}

impl DeliveryState {
    pub const ALL: [DeliveryState; 5] = [
        DeliveryState::Pending,
        DeliveryState::Applied,
        DeliveryState::Ignored,
        DeliveryState::Unreadable,
        DeliveryState::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Applied => "applied",
            DeliveryState::Ignored => "ignored",
            DeliveryState::Unreadable => "unreadable",
            DeliveryState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<DeliveryState> {
        DeliveryState::ALL.into_iter().find(|d| d.as_str() == s)
    }
}

/// A delivery to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDelivery {
    pub connection_id: i64,
    /// `gitlab` or `jira`.
    pub tracker: IntegrationKind,
    /// `Issue Hook`, `jira:issue_updated`, ...
    pub event: String,
    /// The sender's id of the delivery; a second delivery with the same id
    /// for the same connection is not stored.
    pub delivery_id: Option<String>,
    /// The raw body (valid JSON).
    pub body: String,
    pub state: DeliveryState,
    pub error: Option<String>,
}

/// A stored delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub id: i64,
    pub connection_id: i64,
    pub tracker: IntegrationKind,
    pub event: String,
    pub delivery_id: Option<String>,
    pub received_at: DateTime<Utc>,
    pub body: String,
    pub state: DeliveryState,
    pub error: Option<String>,
    /// When it left `pending`.
    pub applied_at: Option<DateTime<Utc>>,
}

/// What receiving a hook for a connection needs, read in one query.
#[derive(Debug, Clone, PartialEq)]
pub struct HookTarget {
    pub connection_id: i64,
    pub kind: IntegrationKind,
    /// Whether the connection's integration is enabled in the catalog.
    pub enabled: bool,
    /// The hook secret, when one was generated.
    pub secret: Option<SealedSecret>,
}

/// A connection's hook secret (sealed) and when it was set.
#[derive(Debug, Clone, PartialEq)]
pub struct HookSecret {
    pub connection_id: i64,
    pub secret: SealedSecret,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// How a connection's hooks are doing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HookStats {
    pub last_delivery_at: Option<DateTime<Utc>>,
    /// Deliveries stored since the given time.
    pub deliveries: u64,
    /// Of those, the ones that failed to apply or could not be read.
    pub failures: u64,
}

/// Reading hook secrets and the inbox.
#[async_trait]
pub trait HookStore: Send + Sync {
    /// The connection, its integration's state and its hook secret; `None`
    /// when there is no such connection.
    async fn hook_target(&self, connection_id: i64) -> Result<Option<HookTarget>>;
    async fn hook_secret(&self, connection_id: i64) -> Result<Option<HookSecret>>;
    /// Hook secrets sealed under a key other than `key_id`.
    async fn hook_secrets_not_under_key(&self, key_id: &str, limit: u32)
    -> Result<Vec<HookSecret>>;
    /// Replaces a hook secret only if it is still the one given.
    async fn reseal_hook_secret(
        &self,
        connection_id: i64,
        old: &SealedSecret,
        new: &SealedSecret,
    ) -> Result<bool>;
    async fn get_delivery(&self, id: i64) -> Result<Option<Delivery>>;
    /// A connection's pending deliveries from one tracker, oldest first.
    async fn pending_deliveries(
        &self,
        connection_id: i64,
        tracker: IntegrationKind,
        limit: u32,
    ) -> Result<Vec<Delivery>>;
    /// The last delivery, and the deliveries and failures since `since`.
    async fn hook_stats(&self, connection_id: i64, since: DateTime<Utc>) -> Result<HookStats>;
    /// Deletes deliveries received before `before` that are no longer
    /// pending; returns how many.
    async fn prune_deliveries(&self, before: DateTime<Utc>) -> Result<u64>;
}

/// Hook changes, made inside a [`crate::StoreTx`].
#[async_trait]
pub trait HookTx: Send {
    /// Sets or replaces a connection's hook secret.
    async fn put_hook_secret(
        &mut self,
        connection_id: i64,
        secret: &SealedSecret,
        now: DateTime<Utc>,
    ) -> Result<()>;
    /// Stores a delivery; `None` when one with the same delivery id is
    /// already stored for the connection (a redelivery).
    async fn insert_delivery(
        &mut self,
        delivery: &NewDelivery,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>>;
    /// Moves pending deliveries to `state` with an optional error; returns
    /// how many were pending.
    async fn finish_deliveries(
        &mut self,
        ids: &[i64],
        state: DeliveryState,
        error: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<u64>;
}

macro_rules! impl_hooks {
    ($store:ty, $tx:ty) => {
        const DELIVERY_COLUMNS: &str = "id, connection_id, tracker, event, delivery_id, received_at, body, \
            state, error, applied_at";

        fn delivery_from_row(row: &DbRow) -> Result<crate::hooks::Delivery> {
            let tracker: String = row.try_get("tracker")?;
            let state: String = row.try_get("state")?;
            Ok(crate::hooks::Delivery {
                id: row.try_get("id")?,
                connection_id: row.try_get("connection_id")?,
                tracker: crate::IntegrationKind::parse(&tracker)
                    .ok_or_else(|| StoreError::InvalidData(format!("hook tracker `{tracker}`")))?,
                event: row.try_get("event")?,
                delivery_id: row.try_get("delivery_id")?,
                received_at: from_db(row.try_get("received_at")?)?,
                body: row.try_get("body")?,
                state: crate::hooks::DeliveryState::parse(&state)
                    .ok_or_else(|| StoreError::InvalidData(format!("delivery state `{state}`")))?,
                error: row.try_get("error")?,
                applied_at: opt_from_db(row.try_get("applied_at")?)?,
            })
        }

        fn hook_secret_from_row(row: &DbRow) -> Result<crate::hooks::HookSecret> {
            Ok(crate::hooks::HookSecret {
                connection_id: row.try_get("connection_id")?,
                secret: crate::SealedSecret {
                    key_id: row.try_get("secret_key_id")?,
                    bytes: row.try_get("secret")?,
                },
                created_at: from_db(row.try_get("created_at")?)?,
                updated_at: from_db(row.try_get("updated_at")?)?,
            })
        }

        #[async_trait::async_trait]
        impl crate::hooks::HookStore for $store {
            async fn hook_target(&self, connection_id: i64) -> Result<Option<crate::hooks::HookTarget>> {
                let row = sqlx::query(
                    "SELECT c.id, c.kind, i.enabled, h.secret, h.secret_key_id FROM connections c \
                     JOIN integrations i ON i.kind = c.kind \
                     LEFT JOIN connection_hooks h ON h.connection_id = c.id WHERE c.id = $1",
                )
                .bind(connection_id)
                .fetch_optional(&self.pool)
                .await?;
                let Some(row) = row else {
                    return Ok(None);
                };
                let kind: String = row.try_get("kind")?;
                let bytes: Option<Vec<u8>> = row.try_get("secret")?;
                let key_id: Option<String> = row.try_get("secret_key_id")?;
                Ok(Some(crate::hooks::HookTarget {
                    connection_id: row.try_get("id")?,
                    kind: crate::IntegrationKind::parse(&kind)
                        .ok_or_else(|| StoreError::InvalidData(format!("integration kind `{kind}`")))?,
                    enabled: row.try_get("enabled")?,
                    secret: match (bytes, key_id) {
                        (Some(bytes), Some(key_id)) => Some(crate::SealedSecret { key_id, bytes }),
                        _ => None,
                    },
                }))
            }

            async fn hook_secret(&self, connection_id: i64) -> Result<Option<crate::hooks::HookSecret>> {
                let row = sqlx::query(
                    "SELECT connection_id, secret, secret_key_id, created_at, updated_at FROM connection_hooks \
                     WHERE connection_id = $1",
                )
                .bind(connection_id)
                .fetch_optional(&self.pool)
                .await?;
                row.as_ref().map(hook_secret_from_row).transpose()
            }

            async fn hook_secrets_not_under_key(
                &self,
                key_id: &str,
                limit: u32,
            ) -> Result<Vec<crate::hooks::HookSecret>> {
                let rows = sqlx::query(
                    "SELECT connection_id, secret, secret_key_id, created_at, updated_at FROM connection_hooks \
                     WHERE secret_key_id <> $1 ORDER BY connection_id LIMIT $2",
                )
                .bind(key_id)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(hook_secret_from_row).collect()
            }

            async fn reseal_hook_secret(
                &self,
                connection_id: i64,
                old: &crate::SealedSecret,
                new: &crate::SealedSecret,
            ) -> Result<bool> {
                let result = sqlx::query(
                    "UPDATE connection_hooks SET secret = $1, secret_key_id = $2 \
                     WHERE connection_id = $3 AND secret = $4 AND secret_key_id = $5",
                )
                .bind(&new.bytes)
                .bind(&new.key_id)
                .bind(connection_id)
                .bind(&old.bytes)
                .bind(&old.key_id)
                .execute(&self.writer)
                .await?;
                Ok(result.rows_affected() == 1)
            }

            async fn get_delivery(&self, id: i64) -> Result<Option<crate::hooks::Delivery>> {
                let sql = format!("SELECT {DELIVERY_COLUMNS} FROM hook_deliveries WHERE id = $1");
                let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&self.pool).await?;
                row.as_ref().map(delivery_from_row).transpose()
            }

            async fn pending_deliveries(
                &self,
                connection_id: i64,
                tracker: crate::IntegrationKind,
                limit: u32,
            ) -> Result<Vec<crate::hooks::Delivery>> {
                let sql = format!(
                    "SELECT {DELIVERY_COLUMNS} FROM hook_deliveries WHERE connection_id = $1 AND tracker = $2 \
                     AND state = 'pending' ORDER BY id LIMIT $3"
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(connection_id)
                    .bind(tracker.as_str())
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(delivery_from_row).collect()
            }

            async fn hook_stats(
                &self,
                connection_id: i64,
                since: DateTime<Utc>,
            ) -> Result<crate::hooks::HookStats> {
                let row = sqlx::query(
                    "SELECT MAX(received_at) AS last_at FROM hook_deliveries WHERE connection_id = $1",
                )
                .bind(connection_id)
                .fetch_one(&self.pool)
                .await?;
                let last_delivery_at = opt_from_db(row.try_get("last_at")?)?;
                let row = sqlx::query(
                    "SELECT COUNT(*) AS deliveries, \
                     COALESCE(SUM(CASE WHEN state IN ('failed', 'unreadable') THEN 1 ELSE 0 END), 0) AS failures \
                     FROM hook_deliveries WHERE connection_id = $1 AND received_at >= $2",
                )
                .bind(connection_id)
                .bind(to_db(since))
                .fetch_one(&self.pool)
                .await?;
                Ok(crate::hooks::HookStats {
                    last_delivery_at,
                    deliveries: row.try_get::<i64, _>("deliveries")?.max(0) as u64,
                    failures: row.try_get::<i64, _>("failures")?.max(0) as u64,
                })
            }

            async fn prune_deliveries(&self, before: DateTime<Utc>) -> Result<u64> {
                let result = sqlx::query(
                    "DELETE FROM hook_deliveries WHERE received_at < $1 AND state <> 'pending'",
                )
                .bind(to_db(before))
                .execute(&self.writer)
                .await?;
                Ok(result.rows_affected())
            }
        }

        #[async_trait::async_trait]
        impl crate::hooks::HookTx for $tx {
            async fn put_hook_secret(
                &mut self,
                connection_id: i64,
                secret: &crate::SealedSecret,
                now: DateTime<Utc>,
            ) -> Result<()> {
                sqlx::query(
                    "INSERT INTO connection_hooks (connection_id, secret, secret_key_id, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $4) ON CONFLICT (connection_id) DO UPDATE SET \
                     secret = excluded.secret, secret_key_id = excluded.secret_key_id, updated_at = excluded.updated_at",
                )
                .bind(connection_id)
                .bind(&secret.bytes)
                .bind(&secret.key_id)
                .bind(to_db(now))
                .execute(&mut *self.tx)
                .await?;
                Ok(())
            }

            async fn insert_delivery(
                &mut self,
                d: &crate::hooks::NewDelivery,
                now: DateTime<Utc>,
            ) -> Result<Option<i64>> {
                let finished = d.state != crate::hooks::DeliveryState::Pending;
                let id: Option<i64> = sqlx::query_scalar(
                    "INSERT INTO hook_deliveries (connection_id, tracker, event, delivery_id, received_at, body, \
                     state, error, applied_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                     ON CONFLICT DO NOTHING RETURNING id",
                )
                .bind(d.connection_id)
                .bind(d.tracker.as_str())
                .bind(&d.event)
                .bind(&d.delivery_id)
                .bind(to_db(now))
                .bind(&d.body)
                .bind(d.state.as_str())
                .bind(&d.error)
                .bind(finished.then(|| to_db(now)))
                .fetch_optional(&mut *self.tx)
                .await?;
                Ok(id)
            }

            async fn finish_deliveries(
                &mut self,
                ids: &[i64],
                state: crate::hooks::DeliveryState,
                error: Option<&str>,
                now: DateTime<Utc>,
            ) -> Result<u64> {
                let mut finished = 0;
                for id in ids {
                    finished += sqlx::query(
                        "UPDATE hook_deliveries SET state = $1, error = $2, applied_at = $3 \
                         WHERE id = $4 AND state = 'pending'",
                    )
                    .bind(state.as_str())
                    .bind(error)
                    .bind(to_db(now))
                    .bind(id)
                    .execute(&mut *self.tx)
                    .await?
                    .rows_affected();
                }
                Ok(finished)
            }
        }
    };
}

pub(crate) use impl_hooks;
