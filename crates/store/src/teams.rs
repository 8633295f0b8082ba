//! Teams: a name unique whatever its case, an optional lead, and members.
//! An OKR owned by a team has its `owner_team_id` set (its `owner_id`
//! stays the person responsible). A team that owns OKRs is deleted only
//! after they are given to someone else, in the same transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::Result;

/// A stored team with its members' user ids (ascending).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Team {
    pub id: i64,
    pub name: String,
    pub lead_id: Option<i64>,
    pub member_ids: Vec<i64>,
    pub created_at: DateTime<Utc>,
}

/// Reads.
#[async_trait]
pub trait TeamStore: Send + Sync {
    /// Every team, by name (case-insensitively).
    async fn list_teams(&self) -> Result<Vec<Team>>;
    async fn get_team(&self, id: i64) -> Result<Option<Team>>;
    /// The ids of the teams a user is a member of, ascending.
    async fn teams_of_user(&self, user_id: i64) -> Result<Vec<i64>>;
    /// How many OKRs the team owns.
    async fn count_team_okrs(&self, team_id: i64) -> Result<i64>;
}

/// Writes.
#[async_trait]
pub trait TeamTx: Send {
    /// [`crate::StoreError::Conflict`] on `name` when another team has the
    /// name in any case.
    async fn create_team(
        &mut self,
        name: &str,
        lead_id: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<i64>;
    /// False when there is no such team; a conflict on `name` as above.
    async fn rename_team(&mut self, id: i64, name: &str) -> Result<bool>;
    async fn set_team_lead(&mut self, id: i64, lead_id: Option<i64>) -> Result<bool>;
    /// False (nothing written) when the user is a member already.
    async fn add_team_member(
        &mut self,
        team_id: i64,
        user_id: i64,
        now: DateTime<Utc>,
    ) -> Result<bool>;
    /// False when the user was not a member. A lead who leaves is no
    /// longer the lead.
    async fn remove_team_member(&mut self, team_id: i64, user_id: i64) -> Result<bool>;
    /// Gives the team's OKRs to another team (`Some`) or to their person
    /// owners alone (`None`); returns how many moved.
    async fn reassign_team_okrs(&mut self, team_id: i64, to: Option<i64>) -> Result<u64>;
    /// Deletes the team and its memberships. Refused by the database while
    /// it owns OKRs: reassign them first.
    async fn delete_team(&mut self, id: i64) -> Result<bool>;
}

macro_rules! impl_teams {
    ($store:ty, $tx:ty) => {
        fn team_from_row(row: &DbRow, member_ids: Vec<i64>) -> Result<crate::teams::Team> {
            Ok(crate::teams::Team {
                id: row.try_get("id")?,
                name: row.try_get("name")?,
                lead_id: row.try_get("lead_id")?,
                member_ids,
                created_at: from_db(row.try_get("created_at")?)?,
            })
        }

        #[async_trait::async_trait]
        impl crate::teams::TeamStore for $store {
            async fn list_teams(&self) -> Result<Vec<crate::teams::Team>> {
                let rows = sqlx::query(
                    "SELECT id, name, lead_id, created_at FROM teams ORDER BY lower(name), id",
                )
                .fetch_all(&self.pool)
                .await?;
                let pairs: Vec<(i64, i64)> = sqlx::query_as(
                    "SELECT team_id, user_id FROM team_members ORDER BY team_id, user_id",
                )
                .fetch_all(&self.pool)
                .await?;
                let mut members: std::collections::HashMap<i64, Vec<i64>> =
                    std::collections::HashMap::new();
                for (team_id, user_id) in pairs {
                    members.entry(team_id).or_default().push(user_id);
                }
                rows.iter()
                    .map(|row| {
                        let id: i64 = row.try_get("id")?;
                        team_from_row(row, members.remove(&id).unwrap_or_default())
                    })
                    .collect()
            }

            async fn get_team(&self, id: i64) -> Result<Option<crate::teams::Team>> {
                let row = sqlx::query("SELECT id, name, lead_id, created_at FROM teams WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?;
                let Some(row) = row else { return Ok(None) };
                let members: Vec<i64> = sqlx::query_scalar(
                    "SELECT user_id FROM team_members WHERE team_id = $1 ORDER BY user_id",
                )
                .bind(id)
                .fetch_all(&self.pool)
                .await?;
                team_from_row(&row, members).map(Some)
            }

            async fn teams_of_user(&self, user_id: i64) -> Result<Vec<i64>> {
                let ids: Vec<i64> = sqlx::query_scalar(
                    "SELECT team_id FROM team_members WHERE user_id = $1 ORDER BY team_id",
                )
                .bind(user_id)
                .fetch_all(&self.pool)
                .await?;
                Ok(ids)
            }

            async fn count_team_okrs(&self, team_id: i64) -> Result<i64> {
                let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM okrs WHERE owner_team_id = $1")
                    .bind(team_id)
                    .fetch_one(&self.pool)
                    .await?;
                Ok(n)
            }
        }

        #[async_trait::async_trait]
        impl crate::teams::TeamTx for $tx {
            async fn create_team(
                &mut self,
                name: &str,
                lead_id: Option<i64>,
                now: DateTime<Utc>,
            ) -> Result<i64> {
                let id = sqlx::query_scalar(
                    "INSERT INTO teams (name, lead_id, created_at) VALUES ($1, $2, $3) RETURNING id",
                )
                .bind(name)
                .bind(lead_id)
                .bind(to_db(now))
                .fetch_one(&mut *self.tx)
                .await
                .map_err(crate::error::conflict_on("name"))?;
                Ok(id)
            }

            async fn rename_team(&mut self, id: i64, name: &str) -> Result<bool> {
                let done = sqlx::query("UPDATE teams SET name = $1 WHERE id = $2")
                    .bind(name)
                    .bind(id)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(crate::error::conflict_on("name"))?
                    .rows_affected();
                Ok(done == 1)
            }

            async fn set_team_lead(&mut self, id: i64, lead_id: Option<i64>) -> Result<bool> {
                let done = sqlx::query("UPDATE teams SET lead_id = $1 WHERE id = $2")
                    .bind(lead_id)
                    .bind(id)
                    .execute(&mut *self.tx)
                    .await?
                    .rows_affected();
                Ok(done == 1)
            }

            async fn add_team_member(
                &mut self,
                team_id: i64,
                user_id: i64,
                now: DateTime<Utc>,
            ) -> Result<bool> {
                let done = sqlx::query(
                    "INSERT INTO team_members (team_id, user_id, added_at) VALUES ($1, $2, $3) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(team_id)
                .bind(user_id)
                .bind(to_db(now))
                .execute(&mut *self.tx)
                .await?
                .rows_affected();
                Ok(done == 1)
            }

            async fn remove_team_member(&mut self, team_id: i64, user_id: i64) -> Result<bool> {
                let done = sqlx::query("DELETE FROM team_members WHERE team_id = $1 AND user_id = $2")
                    .bind(team_id)
                    .bind(user_id)
                    .execute(&mut *self.tx)
                    .await?
                    .rows_affected();
                if done == 1 {
                    sqlx::query("UPDATE teams SET lead_id = NULL WHERE id = $1 AND lead_id = $2")
                        .bind(team_id)
                        .bind(user_id)
                        .execute(&mut *self.tx)
                        .await?;
                }
                Ok(done == 1)
            }

            async fn reassign_team_okrs(&mut self, team_id: i64, to: Option<i64>) -> Result<u64> {
                let moved = sqlx::query("UPDATE okrs SET owner_team_id = $1 WHERE owner_team_id = $2")
                    .bind(to)
                    .bind(team_id)
                    .execute(&mut *self.tx)
                    .await?
                    .rows_affected();
                Ok(moved)
            }

            async fn delete_team(&mut self, id: i64) -> Result<bool> {
                sqlx::query("DELETE FROM team_members WHERE team_id = $1")
                    .bind(id)
                    .execute(&mut *self.tx)
                    .await?;
                let done = sqlx::query("DELETE FROM teams WHERE id = $1")
                    .bind(id)
                    .execute(&mut *self.tx)
                    .await?
                    .rows_affected();
                Ok(done == 1)
            }
        }
    };
}

pub(crate) use impl_teams;
