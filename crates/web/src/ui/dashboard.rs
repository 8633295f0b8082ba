//! `/dashboard`: a period at a glance (the view of
//! `GET /api/v1/periods/{id}/dashboard`), each entry a link to the place
//! to act: the tree filtered to a team and status, the OKR, its link, the
//! connection, the check-in form.

use askama::Template;
use axum::extract::{Query, State};
use cairn_core::goals::Status;
use cairn_store::goals::Period;
use chrono::Utc;
use serde::Deserialize;

use super::common::{Choice, Nav, PageResult, ago, page, signed_in, status_label, when};
use super::okrs::{choose_period, people, person};
use crate::AppState;
use crate::api::dashboard::{StatusCountsView, dashboard_view};
use crate::auth::Caller;

/// One count of a team's row, linking to the tree showing those OKRs.
pub(crate) struct CountCell {
    pub count: u64,
    pub status: &'static str,
    /// `None` where the tree has no filter for it (OKRs without a team).
    pub href: Option<String>,
}

pub(crate) struct TeamRow {
    pub name: String,
    pub href: Option<String>,
    pub cells: Vec<CountCell>,
    pub total: u64,
}

pub(crate) struct ChangeRow {
    pub okr_id: i64,
    pub title: String,
    pub owner: String,
    pub from: &'static str,
    pub from_label: &'static str,
    pub to: &'static str,
    pub to_label: &'static str,
    pub at: String,
    pub at_ago: String,
    pub changes: u32,
}

pub(crate) struct StaleRow {
    pub okr_id: i64,
    pub title: String,
    pub connection: String,
    pub why: String,
    pub last_success: Option<String>,
}

pub(crate) struct FailingRow {
    pub id: i64,
    pub name: String,
    pub kind_title: &'static str,
    pub error: String,
    pub since: Option<String>,
    pub links_in_period: u64,
}

pub(crate) struct DueRow {
    pub okr_id: i64,
    pub title: String,
    pub owner: String,
    pub since: String,
}

/// The statuses in the order the columns show them.
const COLUMNS: [(&str, &str); 6] = [
    ("on_track", "On track"),
    ("behind", "Behind"),
    ("at_risk", "At risk"),
    ("done", "Done"),
    ("not_started", "Not started"),
    ("none", "No data yet"),
];

fn cells(counts: &StatusCountsView, href: impl Fn(&str) -> Option<String>) -> Vec<CountCell> {
    let of = |status: &str| match status {
        "on_track" => counts.on_track,
        "behind" => counts.behind,
        "at_risk" => counts.at_risk,
        "done" => counts.done,
        "not_started" => counts.not_started,
        _ => counts.no_data,
    };
    COLUMNS
        .iter()
        .map(|(status, _)| CountCell {
            count: of(status),
            status,
            // The tree has no "no data yet" filter.
            href: if *status == "none" || of(status) == 0 {
                None
            } else {
                href(status)
            },
        })
        .collect()
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    nav: Nav,
    periods: Vec<Choice>,
    period: Option<Period>,
    columns: &'static [(&'static str, &'static str)],
    teams: Vec<TeamRow>,
    since: String,
    changes: Vec<ChangeRow>,
    stale: Vec<StaleRow>,
    failing: Vec<FailingRow>,
    due: Vec<DueRow>,
}

#[derive(Deserialize)]
pub(crate) struct DashboardQuery {
    period: Option<String>,
}

fn kind_title(kind: &str) -> &'static str {
    match kind {
        "gitlab" => "GitLab",
        "jira" => "Jira",
        _ => "Connection",
    }
}

/// `/dashboard`: the period asked for, else the one covering today.
pub(crate) async fn dashboard(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<DashboardQuery>,
) -> PageResult {
    let who = signed_in(&caller)?;
    let (period, periods) = choose_period(&state, who, query.period.as_deref()).await?;
    let mut page_data = DashboardPage {
        nav: Nav::new(who, "dashboard"),
        periods,
        period: None,
        columns: &COLUMNS,
        teams: Vec::new(),
        since: String::new(),
        changes: Vec::new(),
        stale: Vec::new(),
        failing: Vec::new(),
        due: Vec::new(),
    };
    let Some(period) = period else {
        return page(&page_data);
    };
    let now = Utc::now();
    let view = dashboard_view(&state, who, period.id, now).await?;
    let names = people(&state, who).await?;
    let connections: std::collections::HashMap<i64, String> = state
        .connections
        .list(who)
        .await?
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect();
    let p = period.id;
    let tree = |team: Option<i64>, status: &str| {
        let team = team.map(|t| format!("&team={t}")).unwrap_or_default();
        let status = if status.is_empty() {
            String::new()
        } else {
            format!("&status={status}")
        };
        format!("/?view=all&period={p}{team}{status}")
    };
    page_data.teams = std::iter::once(TeamRow {
        name: "All OKRs".to_owned(),
        href: Some(tree(None, "")),
        cells: cells(&view.all, |s| Some(tree(None, s))),
        total: view.all.total,
    })
    .chain(view.teams.iter().map(|t| TeamRow {
        name: t.name.clone(),
        href: t.team_id.map(|id| tree(Some(id), "")),
        cells: cells(&t.counts, |s| t.team_id.map(|id| tree(Some(id), s))),
        total: t.counts.total,
    }))
    .collect();
    page_data.since = when(view.since);
    let label = |s: Status| (s.as_str(), status_label(s));
    page_data.changes = view
        .status_changes
        .iter()
        .map(|c| {
            let (from, from_label) = label(c.from);
            let (to, to_label) = label(c.to);
            ChangeRow {
                okr_id: c.okr_id,
                title: c.title.clone(),
                owner: person(&names, c.owner_id),
                from,
                from_label,
                to,
                to_label,
                at: when(c.at),
                at_ago: ago(c.at, now),
                changes: c.changes,
            }
        })
        .collect();
    page_data.stale = view
        .stale_links
        .iter()
        .map(|s| StaleRow {
            okr_id: s.okr_id,
            title: s.title.clone(),
            connection: connections
                .get(&s.connection_id)
                .cloned()
                .unwrap_or_else(|| format!("connection {}", s.connection_id)),
            why: {
                let error = s
                    .last_error
                    .as_deref()
                    .map(|e| format!(": {e}"))
                    .unwrap_or_default();
                match s.failures {
                    0 => "not refreshed yet".to_owned(),
                    1 => format!("the last refresh failed{error}"),
                    n => format!("the last {n} refreshes failed{error}"),
                }
            },
            last_success: s.last_success_at.map(|at| ago(at, now)),
        })
        .collect();
    page_data.failing = view
        .failing_connections
        .iter()
        .map(|c| FailingRow {
            id: c.id,
            name: c.name.clone(),
            kind_title: kind_title(&c.kind),
            error: c
                .last_error
                .clone()
                .unwrap_or_else(|| "its last check failed".to_owned()),
            since: c.last_error_at.map(|at| ago(at, now)),
            links_in_period: c.links_in_period,
        })
        .collect();
    page_data.due = view
        .check_ins_due
        .iter()
        .map(|d| DueRow {
            okr_id: d.okr_id,
            title: d.title.clone(),
            owner: person(&names, d.owner_id),
            since: d.due_since.format("%Y-%m-%d").to_string(),
        })
        .collect();
    page_data.period = Some(view.period);
    page(&page_data)
}
