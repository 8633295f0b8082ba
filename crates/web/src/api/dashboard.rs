//! A period's dashboard: each team's statuses, the key results whose
//! status moved in the last 7 days, stale links, failing connections and
//! due check-ins; the page at `/dashboard` shows the same view.

use axum::Json;
use axum::extract::{Path, State};
use cairn_core::goals::Status;
use cairn_engine::accounts::Authenticated;
use cairn_engine::goals::dashboard::StatusCounts;
use cairn_store::goals::Period;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::SignedIn;
use crate::{ApiError, AppState, ErrorBody};

/// How many OKRs stand at each status.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct StatusCountsView {
    pub on_track: u64,
    pub behind: u64,
    pub at_risk: u64,
    pub done: u64,
    pub not_started: u64,
    /// Nothing measured yet.
    pub no_data: u64,
    pub total: u64,
}

impl From<&StatusCounts> for StatusCountsView {
    fn from(c: &StatusCounts) -> Self {
        StatusCountsView {
            on_track: c.of(Status::OnTrack),
            behind: c.of(Status::Behind),
            at_risk: c.of(Status::AtRisk),
            done: c.of(Status::Done),
            not_started: c.of(Status::NotStarted),
            no_data: c.no_data,
            total: c.total(),
        }
    }
}

/// A team's OKRs in the period.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct TeamSummaryView {
    /// Null: the OKRs no team owns.
    pub team_id: Option<i64>,
    pub name: String,
    pub counts: StatusCountsView,
}

/// A key result whose status moved in the window.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct StatusChangeView {
    pub okr_id: i64,
    pub title: String,
    pub owner_id: i64,
    /// The status the window started from.
    #[schema(value_type = String, example = "on_track")]
    pub from: Status,
    #[schema(value_type = String, example = "at_risk")]
    pub to: Status,
    /// When it took its current status.
    pub at: DateTime<Utc>,
    /// Status changes within the window.
    pub changes: u32,
}

/// A link whose number is not current.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct StaleLinkView {
    pub okr_id: i64,
    pub title: String,
    pub link_id: i64,
    pub connection_id: i64,
    /// Failed refreshes in a row; 0 when it never refreshed yet.
    pub failures: i64,
    pub last_error: Option<String>,
    /// Null when no refresh worked yet.
    pub last_success_at: Option<DateTime<Utc>>,
}

/// A connection whose last check or call failed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct FailingConnectionView {
    pub id: i64,
    pub name: String,
    /// `gitlab` or `jira`.
    pub kind: String,
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
    /// Links of this period's key results read through it.
    pub links_in_period: u64,
}

/// A key result whose check-in is due.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct DueCheckInView {
    pub okr_id: i64,
    pub title: String,
    pub owner_id: i64,
    pub due_since: DateTime<Utc>,
}

/// A period at a glance; each entry names the OKR, link or connection to act on.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct DashboardView {
    pub period: Period,
    /// Status changes are looked for since then (7 days before now).
    pub since: DateTime<Utc>,
    /// Every OKR of the period.
    pub all: StatusCountsView,
    /// Each team by name, then the OKRs no team owns.
    pub teams: Vec<TeamSummaryView>,
    /// Latest first; a key result that moved and came back is not listed.
    pub status_changes: Vec<StatusChangeView>,
    /// Links whose last refresh failed or that never refreshed.
    pub stale_links: Vec<StaleLinkView>,
    /// Failing connections the caller can see, those this period reads first.
    pub failing_connections: Vec<FailingConnectionView>,
    /// Longest due first.
    pub check_ins_due: Vec<DueCheckInView>,
}

/// The dashboard of a period for `who` at `now` (shared by the API and the page).
pub(crate) async fn dashboard_view(
    state: &AppState,
    who: &Authenticated,
    period_id: i64,
    now: DateTime<Utc>,
) -> Result<DashboardView, cairn_engine::EngineError> {
    let d = state.goals.dashboard(who, period_id, now).await?;
    let mut failing_connections: Vec<FailingConnectionView> = state
        .connections
        .list(who)
        .await?
        .into_iter()
        .filter(|c| c.health.status == "failing")
        .map(|c| FailingConnectionView {
            links_in_period: d.connection_links.get(&c.id).copied().unwrap_or(0),
            id: c.id,
            name: c.name,
            kind: c.kind.as_str().to_owned(),
            last_error: c.health.last_error,
            last_error_at: c.health.last_error_at,
        })
        .collect();
    failing_connections.sort_by(|a, b| {
        b.links_in_period
            .cmp(&a.links_in_period)
            .then(a.name.cmp(&b.name))
    });
    Ok(DashboardView {
        all: StatusCountsView::from(&d.all),
        teams: d
            .teams
            .iter()
            .map(|t| TeamSummaryView {
                team_id: t.team_id,
                name: t.name.clone(),
                counts: StatusCountsView::from(&t.counts),
            })
            .collect(),
        status_changes: d
            .status_changes
            .iter()
            .map(|m| StatusChangeView {
                okr_id: m.okr.id,
                title: m.okr.fields.title.clone(),
                owner_id: m.okr.fields.owner_id,
                from: m.change.from,
                to: m.change.to,
                at: m.change.at,
                changes: m.change.changes,
            })
            .collect(),
        stale_links: d
            .stale_links
            .iter()
            .map(|s| StaleLinkView {
                okr_id: s.okr.id,
                title: s.okr.fields.title.clone(),
                link_id: s.link.id,
                connection_id: s.link.connection_id,
                failures: s.link.failures,
                last_error: s.link.last_error.clone(),
                last_success_at: s.link.last_success_at,
            })
            .collect(),
        failing_connections,
        check_ins_due: d
            .check_ins_due
            .iter()
            .map(|c| DueCheckInView {
                okr_id: c.okr.id,
                title: c.okr.fields.title.clone(),
                owner_id: c.okr.fields.owner_id,
                due_since: c.due_since,
            })
            .collect(),
        since: d.since,
        period: d.period,
    })
}

/// A period at a glance: each team's statuses, the key results whose status
/// moved in the last 7 days, stale links, failing connections and due check-ins.
#[utoipa::path(get, path = "/api/v1/periods/{id}/dashboard", tag = "goals", params(("id" = i64, Path)), responses(
    (status = 200, description = "The period's dashboard", body = DashboardView),
    (status = 404, description = "No such period", body = ErrorBody)))]
pub(crate) async fn dashboard(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<i64>,
) -> Result<Json<DashboardView>, ApiError> {
    Ok(Json(dashboard_view(&state, &caller, id, Utc::now()).await?))
}
