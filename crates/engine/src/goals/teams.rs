//! Teams and the filtered list of OKRs. Admins manage teams; everyone
//! signed in sees them. A team can own OKRs (beside the person who owns
//! each); deleting a team that still owns some is refused with how many,
//! unless they are given to someone else in the same step.

use cairn_core::authz::Action;
use cairn_core::goals::Status;
use cairn_store::Team;
use cairn_store::goals::{Okr, OkrFilter};
use chrono::{DateTime, Utc};
use serde_json::json;

use super::{Goals, audit};
use crate::accounts::{Authenticated, validate_name};
use crate::error::{EngineError, authorize};

/// Where a deleted team's OKRs go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reassign {
    /// To this other team.
    Team(i64),
    /// To no team: each stays with the person who owns it.
    People,
}

impl Reassign {
    /// Reads the `reassign_to` value: a team's id, or `people`.
    pub fn parse(value: &str) -> Result<Reassign, EngineError> {
        let value = value.trim();
        if value == "people" {
            return Ok(Reassign::People);
        }
        value.parse::<i64>().map(Reassign::Team).map_err(|_| {
            EngineError::invalid(
                "reassign_to",
                format!("`{value}` is neither a team's id nor `people`"),
            )
        })
    }
}

/// Which OKRs to list, as asked (ids not checked yet).
#[derive(Debug, Clone, Default)]
pub struct OkrQuery {
    pub period_id: Option<i64>,
    pub owner_id: Option<i64>,
    pub team_id: Option<i64>,
    /// A status's stable name (`on_track`, `at_risk`, ...).
    pub status: Option<String>,
    /// Only the caller's OKRs: owned by them or by a team they belong to.
    pub mine: bool,
}

fn name_taken(error: cairn_store::StoreError, name: &str) -> EngineError {
    match error {
        cairn_store::StoreError::Conflict { .. } => {
            EngineError::invalid("name", format!("a team named `{name}` exists already"))
        }
        other => EngineError::Store(other),
    }
}

impl Goals {
    pub async fn list_teams(&self, by: &Authenticated) -> Result<Vec<Team>, EngineError> {
        authorize(Some(by.actor()), Action::ViewGoals)?;
        Ok(self.store.list_teams().await?)
    }

    pub async fn get_team(&self, by: &Authenticated, id: i64) -> Result<Team, EngineError> {
        authorize(Some(by.actor()), Action::ViewGoals)?;
        self.load_team(id).await
    }

    async fn load_team(&self, id: i64) -> Result<Team, EngineError> {
        self.store
            .get_team(id)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("no team {id}")))
    }

    /// How many OKRs a team owns (what deleting it would have to move).
    pub async fn team_okr_count(&self, by: &Authenticated, id: i64) -> Result<i64, EngineError> {
        authorize(Some(by.actor()), Action::ViewGoals)?;
        self.load_team(id).await?;
        Ok(self.store.count_team_okrs(id).await?)
    }

    /// An active user, or 422 naming `field`.
    async fn active_user(&self, field: &str, id: i64) -> Result<(), EngineError> {
        match self.store.get_user(id).await? {
            None => Err(EngineError::invalid(
                field,
                format!("there is no user {id}"),
            )),
            Some(user) if user.disabled_at.is_some() => Err(EngineError::invalid(
                field,
                format!("user {id} is disabled"),
            )),
            Some(_) => Ok(()),
        }
    }

    /// Audits a change to a team, commits it and reads the team back.
    async fn commit_team_change(
        &self,
        mut tx: Box<dyn cairn_store::StoreTx>,
        by: &Authenticated,
        action: &str,
        team_id: i64,
        detail: serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<Team, EngineError> {
        tx.append_audit(&audit(by, action, format!("team:{team_id}"), detail), now)
            .await?;
        tx.commit().await?;
        self.load_team(team_id).await
    }

    /// Creates a team; its lead, if any, becomes a member.
    pub async fn create_team(
        &self,
        by: &Authenticated,
        name: &str,
        lead_id: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<Team, EngineError> {
        authorize(Some(by.actor()), Action::ManageTeams)?;
        let name = validate_name("name", name)?;
        if let Some(lead) = lead_id {
            self.active_user("lead_id", lead).await?;
        }
        let mut tx = self.store.begin().await?;
        let id = tx
            .create_team(&name, lead_id, now)
            .await
            .map_err(|e| name_taken(e, &name))?;
        if let Some(lead) = lead_id {
            tx.add_team_member(id, lead, now).await?;
        }
        self.commit_team_change(tx, by, "team.created", id, json!({"name": name}), now)
            .await
    }

    /// Renames a team and sets (or clears) its lead, who becomes a member.
    pub async fn update_team(
        &self,
        by: &Authenticated,
        id: i64,
        name: &str,
        lead_id: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<Team, EngineError> {
        authorize(Some(by.actor()), Action::ManageTeams)?;
        let name = validate_name("name", name)?;
        self.load_team(id).await?;
        if let Some(lead) = lead_id {
            self.active_user("lead_id", lead).await?;
        }
        let mut tx = self.store.begin().await?;
        tx.rename_team(id, &name)
            .await
            .map_err(|e| name_taken(e, &name))?;
        tx.set_team_lead(id, lead_id).await?;
        if let Some(lead) = lead_id {
            tx.add_team_member(id, lead, now).await?;
        }
        self.commit_team_change(
            tx,
            by,
            "team.updated",
            id,
            json!({"name": name, "lead_id": lead_id}),
            now,
        )
        .await
    }

    /// Adds a member; one added twice is refused, naming `user_id`.
    pub async fn add_team_member(
        &self,
        by: &Authenticated,
        team_id: i64,
        user_id: i64,
        now: DateTime<Utc>,
    ) -> Result<Team, EngineError> {
        authorize(Some(by.actor()), Action::ManageTeams)?;
        self.load_team(team_id).await?;
        self.active_user("user_id", user_id).await?;
        let mut tx = self.store.begin().await?;
        if !tx.add_team_member(team_id, user_id, now).await? {
            return Err(EngineError::invalid(
                "user_id",
                format!("user {user_id} is a member of this team already"),
            ));
        }
        self.commit_team_change(
            tx,
            by,
            "team.member_added",
            team_id,
            json!({"user_id": user_id}),
            now,
        )
        .await
    }

    /// Removes a member (a lead who leaves is no longer the lead).
    pub async fn remove_team_member(
        &self,
        by: &Authenticated,
        team_id: i64,
        user_id: i64,
        now: DateTime<Utc>,
    ) -> Result<Team, EngineError> {
        authorize(Some(by.actor()), Action::ManageTeams)?;
        self.load_team(team_id).await?;
        let mut tx = self.store.begin().await?;
        if !tx.remove_team_member(team_id, user_id).await? {
            return Err(EngineError::NotFound(format!(
                "user {user_id} is not a member of team {team_id}"
            )));
        }
        self.commit_team_change(
            tx,
            by,
            "team.member_removed",
            team_id,
            json!({"user_id": user_id}),
            now,
        )
        .await
    }

    /// Deletes a team. While it owns OKRs it is refused (409, with how
    /// many) unless `reassign_to` says where they go; they move in the
    /// same transaction. Returns how many moved.
    pub async fn delete_team(
        &self,
        by: &Authenticated,
        id: i64,
        reassign_to: Option<Reassign>,
        now: DateTime<Utc>,
    ) -> Result<u64, EngineError> {
        authorize(Some(by.actor()), Action::ManageTeams)?;
        let team = self.load_team(id).await?;
        let to = match reassign_to {
            None => None,
            Some(Reassign::People) => Some(None),
            Some(Reassign::Team(other)) if other == id => {
                return Err(EngineError::invalid(
                    "reassign_to",
                    "give the OKRs to another team than the one deleted",
                ));
            }
            Some(Reassign::Team(other)) => {
                if self.store.get_team(other).await?.is_none() {
                    return Err(EngineError::invalid(
                        "reassign_to",
                        format!("there is no team {other}"),
                    ));
                }
                Some(Some(other))
            }
        };
        let mut tx = self.store.begin().await?;
        let moved = match to {
            Some(to) => tx.reassign_team_okrs(id, to).await?,
            None => 0,
        };
        if to.is_none() {
            let owned = self.store.count_team_okrs(id).await?;
            if owned > 0 {
                return Err(EngineError::Conflict {
                    field: Some("reassign_to".to_owned()),
                    message: format!(
                        "{} owns {owned} OKR{}; give {} to another team or to their people (reassign_to) in the same step",
                        team.name,
                        if owned == 1 { "" } else { "s" },
                        if owned == 1 { "it" } else { "them" },
                    ),
                });
            }
        }
        // The database still refuses it if an OKR joined the team meanwhile.
        tx.delete_team(id).await?;
        tx.append_audit(
            &audit(
                by,
                "team.deleted",
                format!("team:{id}"),
                json!({"name": team.name, "okrs_moved": moved}),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(moved)
    }

    /// OKRs by period, owner, team, status, or the caller's own. An id
    /// or status that does not exist is refused, naming its field.
    pub async fn filter_okrs(
        &self,
        by: &Authenticated,
        query: &OkrQuery,
    ) -> Result<Vec<Okr>, EngineError> {
        authorize(Some(by.actor()), Action::ViewGoals)?;
        Ok(self
            .store
            .filter_okrs(&self.okr_filter(by, query).await?)
            .await?)
    }

    /// Checks a query's values against what exists.
    pub async fn okr_filter(
        &self,
        by: &Authenticated,
        query: &OkrQuery,
    ) -> Result<OkrFilter, EngineError> {
        if let Some(id) = query.period_id
            && self.store.get_period(id).await?.is_none()
        {
            return Err(EngineError::invalid(
                "period_id",
                format!("there is no period {id}"),
            ));
        }
        if let Some(id) = query.owner_id
            && self.store.get_user(id).await?.is_none()
        {
            return Err(EngineError::invalid(
                "owner_id",
                format!("there is no user {id}"),
            ));
        }
        if let Some(id) = query.team_id
            && self.store.get_team(id).await?.is_none()
        {
            return Err(EngineError::invalid(
                "team_id",
                format!("there is no team {id}"),
            ));
        }
        let status = match query.status.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(name) => Some(Status::parse(name).ok_or_else(|| {
                EngineError::invalid(
                    "status",
                    format!("`{name}` is not a status: use one of {}", Status::NAMES),
                )
            })?),
        };
        Ok(OkrFilter {
            period_id: query.period_id,
            owner_id: query.owner_id,
            team_id: query.team_id,
            status,
            mine_of: query.mine.then_some(by.user.id),
        })
    }
}
