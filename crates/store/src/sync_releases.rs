//! Releases linked on a sync pair: a GitLab milestone or Jira version on
//! the left that is one on the right (`cairn_core::sync::releases`). A
//! release is linked at most once on each side of a pair: the engine
//! refuses it with the field named, and the unique keys make sure.

use async_trait::async_trait;
use cairn_core::sync::ReleaseLinkHow;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::Result;

/// A link as the engine makes it. The names are as the trackers showed
/// them then, for pages when a release is gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSyncReleaseLink {
    pub pair_id: i64,
    pub left_id: String,
    pub left_name: String,
    pub right_id: String,
    pub right_name: String,
    pub how: ReleaseLinkHow,
}

/// A stored link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncReleaseLink {
    pub id: i64,
    pub pair_id: i64,
    pub left_id: String,
    pub left_name: String,
    pub right_id: String,
    pub right_name: String,
    pub how: ReleaseLinkHow,
    pub created_at: DateTime<Utc>,
}

/// Reads.
#[async_trait]
pub trait SyncReleaseStore: Send + Sync {
    /// A pair's release links, oldest first.
    async fn list_sync_release_links(&self, pair_id: i64) -> Result<Vec<SyncReleaseLink>>;
}

/// Writes.
#[async_trait]
pub trait SyncReleaseTx: Send {
    /// The new link's id, or `None` (nothing written) when either release
    /// is linked on the pair already: two workers linking the same names
    /// at once make one link.
    async fn insert_sync_release_link(
        &mut self,
        link: &NewSyncReleaseLink,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>>;
    /// False when the pair has no such link.
    async fn delete_sync_release_link(&mut self, pair_id: i64, id: i64) -> Result<bool>;
    /// The names the link saw last (a rename carried, or seen on both
    /// sides); false when the pair has no such link.
    async fn rename_sync_release_link(
        &mut self,
        pair_id: i64,
        id: i64,
        left_name: &str,
        right_name: &str,
    ) -> Result<bool>;
}

macro_rules! impl_sync_releases {
    ($store:ty, $tx:ty) => {
        #[async_trait::async_trait]
        impl crate::sync_releases::SyncReleaseStore for $store {
            async fn list_sync_release_links(
                &self,
                pair_id: i64,
            ) -> Result<Vec<crate::sync_releases::SyncReleaseLink>> {
                let rows = sqlx::query(
                    "SELECT id, pair_id, left_id, left_name, right_id, right_name, how, created_at \
                     FROM sync_release_links WHERE pair_id = $1 ORDER BY id",
                )
                .bind(pair_id)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|row| {
                        let how: String = row.try_get("how")?;
                        Ok(crate::sync_releases::SyncReleaseLink {
                            id: row.try_get("id")?,
                            pair_id: row.try_get("pair_id")?,
                            left_id: row.try_get("left_id")?,
                            left_name: row.try_get("left_name")?,
                            right_id: row.try_get("right_id")?,
                            right_name: row.try_get("right_name")?,
                            how: cairn_core::sync::ReleaseLinkHow::parse(&how).ok_or_else(|| {
                                crate::StoreError::InvalidData(format!("release link how `{how}`"))
                            })?,
                            created_at: from_db(row.try_get("created_at")?)?,
                        })
                    })
                    .collect()
            }
        }

        #[async_trait::async_trait]
        impl crate::sync_releases::SyncReleaseTx for $tx {
            async fn insert_sync_release_link(
                &mut self,
                l: &crate::sync_releases::NewSyncReleaseLink,
                now: DateTime<Utc>,
            ) -> Result<Option<i64>> {
                let id = sqlx::query_scalar(
                    "INSERT INTO sync_release_links \
                     (pair_id, left_id, left_name, right_id, right_name, how, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING id",
                )
                .bind(l.pair_id)
                .bind(&l.left_id)
                .bind(&l.left_name)
                .bind(&l.right_id)
                .bind(&l.right_name)
                .bind(l.how.as_str())
                .bind(to_db(now))
                .fetch_optional(&mut *self.tx)
                .await?;
                Ok(id)
            }

            async fn delete_sync_release_link(&mut self, pair_id: i64, id: i64) -> Result<bool> {
                let deleted =
                    sqlx::query("DELETE FROM sync_release_links WHERE pair_id = $1 AND id = $2")
                        .bind(pair_id)
                        .bind(id)
                        .execute(&mut *self.tx)
                        .await?
                        .rows_affected();
                Ok(deleted == 1)
            }

            async fn rename_sync_release_link(
                &mut self,
                pair_id: i64,
                id: i64,
                left_name: &str,
                right_name: &str,
            ) -> Result<bool> {
                let renamed = sqlx::query(
                    "UPDATE sync_release_links SET left_name = $1, right_name = $2 \
                     WHERE pair_id = $3 AND id = $4",
                )
                .bind(left_name)
                .bind(right_name)
                .bind(pair_id)
                .bind(id)
                .execute(&mut *self.tx)
                .await?
                .rows_affected();
                Ok(renamed == 1)
            }
        }
    };
}

pub(crate) use impl_sync_releases;
