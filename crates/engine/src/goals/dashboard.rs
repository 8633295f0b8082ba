//! A period at a glance: each team's statuses, the key results whose
//! status moved in the last days, the links whose number is stale and the
//! check-ins that are due. Each entry names the OKR or link to act on.

use std::collections::{BTreeMap, HashMap};

use cairn_core::authz::Action;
use cairn_core::goals::{
    STATUS_CHANGE_WINDOW_DAYS, Status, StatusChange, StatusPoint, status_change,
};
use cairn_store::goals::{DataLink, Okr, OkrKind, Period};
use chrono::{DateTime, TimeDelta, Utc};

use super::Goals;
use crate::accounts::Authenticated;
use crate::error::{EngineError, authorize};

/// How many OKRs stand at each status (`None`: nothing measured yet).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusCounts {
    pub by_status: BTreeMap<Status, u64>,
    pub no_data: u64,
}

impl StatusCounts {
    fn add(&mut self, okr: &Okr) {
        match &okr.progress {
            Some(progress) => *self.by_status.entry(progress.status).or_default() += 1,
            None => self.no_data += 1,
        }
    }

    pub fn of(&self, status: Status) -> u64 {
        self.by_status.get(&status).copied().unwrap_or(0)
    }

    pub fn total(&self) -> u64 {
        self.by_status.values().sum::<u64>() + self.no_data
    }
}

/// A team's OKRs in the period (`team_id` `None`: OKRs no team owns).
#[derive(Debug, Clone)]
pub struct TeamSummary {
    pub team_id: Option<i64>,
    pub name: String,
    pub counts: StatusCounts,
}

/// A key result whose status moved within the window.
#[derive(Debug, Clone)]
pub struct StatusMove {
    pub okr: Okr,
    pub change: StatusChange,
}

/// A link whose number is not current: its last refresh failed, or it
/// never refreshed successfully.
#[derive(Debug, Clone)]
pub struct StaleLink {
    pub okr: Okr,
    pub link: DataLink,
}

/// A key result whose check-in is due.
#[derive(Debug, Clone)]
pub struct DueCheckIn {
    pub okr: Okr,
    pub due_since: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct Dashboard {
    pub period: Period,
    /// Where the status window starts.
    pub since: DateTime<Utc>,
    /// Every OKR of the period.
    pub all: StatusCounts,
    /// Each team by name, then OKRs without a team (when there are some).
    pub teams: Vec<TeamSummary>,
    /// Latest change first.
    pub status_changes: Vec<StatusMove>,
    pub stale_links: Vec<StaleLink>,
    /// How many of the period's links each connection serves.
    pub connection_links: BTreeMap<i64, u64>,
    /// Longest due first.
    pub check_ins_due: Vec<DueCheckIn>,
}

/// A link's number is stale when its last refresh failed or none worked yet.
pub fn link_is_stale(link: &DataLink) -> bool {
    link.failures > 0 || link.last_success_at.is_none()
}

impl Goals {
    /// The dashboard of a period at `now`.
    pub async fn dashboard(
        &self,
        by: &Authenticated,
        period_id: i64,
        now: DateTime<Utc>,
    ) -> Result<Dashboard, EngineError> {
        authorize(Some(by.actor()), Action::ViewGoals)?;
        let Some(period) = self.store.get_period(period_id).await? else {
            return Err(EngineError::NotFound(format!("no period {period_id}")));
        };
        let okrs = self.store.list_okrs(Some(period.id)).await?;
        let by_id: HashMap<i64, &Okr> = okrs.iter().map(|o| (o.id, o)).collect();

        let mut all = StatusCounts::default();
        let mut per_team: HashMap<Option<i64>, StatusCounts> = HashMap::new();
        for okr in &okrs {
            all.add(okr);
            per_team
                .entry(okr.fields.owner_team_id)
                .or_default()
                .add(okr);
        }
        let mut teams: Vec<TeamSummary> = self
            .store
            .list_teams()
            .await?
            .into_iter()
            .map(|team| TeamSummary {
                counts: per_team.remove(&Some(team.id)).unwrap_or_default(),
                team_id: Some(team.id),
                name: team.name,
            })
            .collect();
        if let Some(counts) = per_team.remove(&None) {
            teams.push(TeamSummary {
                team_id: None,
                name: "No team".to_owned(),
                counts,
            });
        }

        let since = now - TimeDelta::days(STATUS_CHANGE_WINDOW_DAYS);
        let mut points: BTreeMap<i64, Vec<StatusPoint>> = BTreeMap::new();
        for (okr_id, point) in self.store.status_points_since(period.id, since).await? {
            points.entry(okr_id).or_default().push(point);
        }
        let mut status_changes: Vec<StatusMove> = points
            .iter()
            .filter_map(|(okr_id, points)| {
                let okr = by_id.get(okr_id)?;
                if okr.fields.kind != OkrKind::KeyResult {
                    return None;
                }
                let change = status_change(points, since)?;
                Some(StatusMove {
                    okr: (*okr).clone(),
                    change,
                })
            })
            .collect();
        status_changes.sort_by(|a, b| b.change.at.cmp(&a.change.at).then(a.okr.id.cmp(&b.okr.id)));

        let links = self.store.links_in_period(period.id).await?;
        let mut connection_links: BTreeMap<i64, u64> = BTreeMap::new();
        for link in &links {
            *connection_links.entry(link.connection_id).or_default() += 1;
        }
        let stale_links = links
            .into_iter()
            .filter(link_is_stale)
            .filter_map(|link| {
                let okr = (*by_id.get(&link.okr_id)?).clone();
                Some(StaleLink { okr, link })
            })
            .collect();

        let mut check_ins_due: Vec<DueCheckIn> = self
            .due_in(&period, now)
            .await?
            .into_iter()
            .map(|(okr, due_since)| DueCheckIn { okr, due_since })
            .collect();
        check_ins_due.sort_by(|a, b| a.due_since.cmp(&b.due_since).then(a.okr.id.cmp(&b.okr.id)));

        Ok(Dashboard {
            period,
            since,
            all,
            teams,
            status_changes,
            stale_links,
            connection_links,
            check_ins_due,
        })
    }
}
