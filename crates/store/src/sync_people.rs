//! People mapped by hand on a sync pair: a person on the left who is a
//! person on the right, by their tracker ids. Overrides the pair's
//! automatic mapping (`cairn_core::sync::people`). A person is mapped at
//! most once on each side of a pair (the engine refuses it with the field
//! named; the unique keys make sure).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::Result;

/// A manual mapping as a person makes it. The names are as the trackers
/// showed them then, for pages when a person is no longer listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSyncPersonMapping {
    pub pair_id: i64,
    pub left_id: String,
    pub left_name: String,
    pub right_id: String,
    pub right_name: String,
}

/// A stored manual mapping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncPersonMapping {
    pub id: i64,
    pub pair_id: i64,
    pub left_id: String,
    pub left_name: String,
    pub right_id: String,
    pub right_name: String,
    pub created_at: DateTime<Utc>,
}

/// Reads.
#[async_trait]
pub trait SyncPeopleStore: Send + Sync {
    /// A pair's manual mappings, oldest first.
    async fn list_sync_person_mappings(&self, pair_id: i64) -> Result<Vec<SyncPersonMapping>>;
}

/// Writes.
#[async_trait]
pub trait SyncPeopleTx: Send {
    /// Fails with a conflict on `person` when either person is mapped on
    /// the pair already.
    async fn insert_sync_person_mapping(
        &mut self,
        mapping: &NewSyncPersonMapping,
        now: DateTime<Utc>,
    ) -> Result<i64>;
    /// False when the pair has no such mapping.
    async fn delete_sync_person_mapping(&mut self, pair_id: i64, id: i64) -> Result<bool>;
}

macro_rules! impl_sync_people {
    ($store:ty, $tx:ty) => {
        #[async_trait::async_trait]
        impl crate::sync_people::SyncPeopleStore for $store {
            async fn list_sync_person_mappings(
                &self,
                pair_id: i64,
            ) -> Result<Vec<crate::sync_people::SyncPersonMapping>> {
                let rows = sqlx::query(
                    "SELECT id, pair_id, left_id, left_name, right_id, right_name, created_at \
                     FROM sync_people WHERE pair_id = $1 ORDER BY id",
                )
                .bind(pair_id)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|row| {
                        Ok(crate::sync_people::SyncPersonMapping {
                            id: row.try_get("id")?,
                            pair_id: row.try_get("pair_id")?,
                            left_id: row.try_get("left_id")?,
                            left_name: row.try_get("left_name")?,
                            right_id: row.try_get("right_id")?,
                            right_name: row.try_get("right_name")?,
                            created_at: from_db(row.try_get("created_at")?)?,
                        })
                    })
                    .collect()
            }
        }

        #[async_trait::async_trait]
        impl crate::sync_people::SyncPeopleTx for $tx {
            async fn insert_sync_person_mapping(
                &mut self,
                m: &crate::sync_people::NewSyncPersonMapping,
                now: DateTime<Utc>,
            ) -> Result<i64> {
                let id = sqlx::query_scalar(
                    "INSERT INTO sync_people (pair_id, left_id, left_name, right_id, right_name, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                )
                .bind(m.pair_id)
                .bind(&m.left_id)
                .bind(&m.left_name)
                .bind(&m.right_id)
                .bind(&m.right_name)
                .bind(to_db(now))
                .fetch_one(&mut *self.tx)
                .await
                .map_err(crate::error::conflict_on("person"))?;
                Ok(id)
            }

            async fn delete_sync_person_mapping(&mut self, pair_id: i64, id: i64) -> Result<bool> {
                let deleted = sqlx::query("DELETE FROM sync_people WHERE pair_id = $1 AND id = $2")
                    .bind(pair_id)
                    .bind(id)
                    .execute(&mut *self.tx)
                    .await?
                    .rows_affected();
                Ok(deleted == 1)
            }
        }
    };
}

pub(crate) use impl_sync_people;
