//! The OKR tree of a period, an OKR's page (history chart, the items behind
//! its number, check-ins, refresh), the create and edit forms, and periods.

use std::collections::HashMap;

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use cairn_core::goals::forecast::Forecast;
use cairn_core::goals::{Kpi, Measure, ProgressSource, Status};
use cairn_engine::accounts::Authenticated;
use cairn_engine::goals::OkrInput;
use cairn_store::goals::{DataLink, Okr, OkrKind, Period};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;

use super::chart::Chart;
use super::common::{
    Bar, Choice, DoneQuery, FormError, Nav, PageError, PageResult, ago, done, is_refusal, iso,
    number, page, refused, see_other, signed_in, status_label, when,
};
use super::explain::{ExplainPanel, contribution_note, items_total};
use crate::auth::Caller;
use crate::{ApiError, AppState};

/// Which tracker a link reads, and how fresh its number is.
pub(crate) struct LinkBadge {
    /// `gitlab` or `jira`: the icon.
    pub tracker: &'static str,
    pub tracker_title: &'static str,
    pub connection: String,
    /// What it selects: `group/project · milestone "Q1"`, or the JQL.
    pub summary: String,
    /// The key result: live updates find the `<time data-ago>` by it.
    pub okr_id: i64,
    /// When it last synced, for people ("2026-03-01 09:00 UTC") and for
    /// the `datetime` attribute (RFC 3339) the script counts up from.
    pub synced: Option<String>,
    pub synced_iso: Option<String>,
    pub synced_ago: String,
    /// The last refresh failed: the number is from the last success.
    pub stale: bool,
    pub last_error: Option<String>,
}

fn badge(link: &DataLink, connections: &HashMap<i64, (String, &'static str)>) -> LinkBadge {
    let now = Utc::now();
    let jql = link.query.get("jql").and_then(|v| v.as_str());
    let tracker = match connections.get(&link.connection_id) {
        Some((_, kind)) => *kind,
        None if jql.is_some() => "jira",
        None => "gitlab",
    };
    let summary = match jql {
        Some(jql) => jql.to_owned(),
        None => {
            let mut parts = Vec::new();
            let text = |k: &str| {
                link.query
                    .get(k)
                    .and_then(|v| v.as_str())
                    .map(str::to_owned)
            };
            if let Some(p) = text("project") {
                parts.push(p);
            }
            if let Some(m) = text("milestone") {
                parts.push(format!("milestone “{m}”"));
            }
            if let Some(a) = text("assignee") {
                parts.push(format!("assignee {a}"));
            }
            if let Some(labels) = link.query.get("labels").and_then(|v| v.as_array())
                && !labels.is_empty()
            {
                let names: Vec<&str> = labels.iter().filter_map(|l| l.as_str()).collect();
                parts.push(format!("labels {}", names.join(", ")));
            }
            if let Some(iids) = link.query.get("iids").and_then(|v| v.as_array())
                && !iids.is_empty()
            {
                let refs: Vec<String> = iids.iter().map(|i| format!("#{i}")).collect();
                parts.push(format!("issues {}", refs.join(" ")));
            }
            parts.join(" · ")
        }
    };
    LinkBadge {
        tracker,
        tracker_title: if tracker == "jira" { "Jira" } else { "GitLab" },
        connection: connections
            .get(&link.connection_id)
            .map(|(name, _)| name.clone())
            .unwrap_or_else(|| format!("connection {}", link.connection_id)),
        summary,
        okr_id: link.okr_id,
        synced: link.last_success_at.map(when),
        synced_iso: link.last_success_at.map(iso),
        synced_ago: link
            .last_success_at
            .map(|at| ago(at, now))
            .unwrap_or_else(|| "never".to_owned()),
        stale: link.failures > 0,
        last_error: link.last_error.clone(),
    }
}

async fn connection_names(
    state: &AppState,
    who: &Authenticated,
) -> Result<HashMap<i64, (String, &'static str)>, PageError> {
    Ok(state
        .connections
        .list(who)
        .await?
        .into_iter()
        .map(|c| (c.id, (c.name, c.kind.as_str())))
        .collect())
}

pub(crate) async fn people(
    state: &AppState,
    who: &Authenticated,
) -> Result<HashMap<i64, String>, PageError> {
    Ok(state.accounts.people(who).await?.into_iter().collect())
}

/// One line of the tree.
pub(crate) struct Row {
    pub id: i64,
    pub depth: usize,
    pub is_objective: bool,
    pub kind_label: &'static str,
    pub title: String,
    pub owner: String,
    /// The owning team's name, if a team owns it.
    pub team: Option<String>,
    pub bar: Bar,
    pub link: Option<LinkBadge>,
    /// "How is this calculated?" under the bar.
    pub explain: ExplainPanel,
    /// "Check-in due since …" for a key result whose cadence has passed.
    pub check_in_due: Option<String>,
}

/// The data link's filter in words, for the explain panel.
fn filter_words(badge: &LinkBadge) -> String {
    if badge.tracker == "jira" {
        format!("Jira tickets matching {}", badge.summary)
    } else {
        format!("GitLab issues of {}", badge.summary)
    }
}

/// The explain panel of one OKR of a list (from the numbers alone: a list
/// reads no item titles): `titles` names its children.
async fn panel(
    state: &AppState,
    who: &Authenticated,
    okr: &Okr,
    link: Option<&LinkBadge>,
    titles: &HashMap<i64, String>,
    names: &HashMap<i64, String>,
) -> Result<ExplainPanel, PageError> {
    let explain = state.goals.explain_numbers(who, okr).await?;
    Ok(ExplainPanel::new(
        okr,
        &explain,
        link.map(filter_words).as_deref(),
        titles,
        &|id| person(names, id),
    ))
}

pub(crate) fn person(names: &HashMap<i64, String>, id: i64) -> String {
    names
        .get(&id)
        .cloned()
        .unwrap_or_else(|| format!("user {id}"))
}

/// A top-level OKR and what aligns to it, shown and hidden together.
pub(crate) struct Group {
    pub head: Row,
    pub children: Vec<Row>,
}

/// How many OKRs shown have one status, with its colour's name.
pub(crate) struct StatusCount {
    pub status: &'static str,
    pub label: &'static str,
    pub count: usize,
}

#[derive(Template)]
#[template(path = "okrs.html")]
struct TreePage {
    nav: Nav,
    periods: Vec<Choice>,
    period: Option<Period>,
    groups: Vec<Group>,
    live_ids: String,
    /// `mine` or `all`.
    view: &'static str,
    owners: Vec<Choice>,
    teams: Vec<Choice>,
    statuses: Vec<Choice>,
    /// Any filter narrows the list (besides the period).
    filtered: bool,
    summary: Vec<StatusCount>,
    /// The query of the other view's link (period and filters kept).
    mine_href: String,
    all_href: String,
    /// A filter naming nothing: said above the filters.
    error: FormError,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct TreeQuery {
    period: Option<String>,
    /// `mine` (a member's default) or `all` (an admin's).
    view: Option<String>,
    owner: Option<String>,
    team: Option<String>,
    status: Option<String>,
}

/// An id chosen in a page's filter; empty is none, anything else refused.
fn filter_id(field: &str, text: Option<&str>) -> Result<Option<i64>, FormError> {
    match text.map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) => t
            .parse()
            .map(Some)
            .map_err(|_| FormError::at(field, format!("`{t}` is not one of the choices"))),
    }
}

/// Where a tree link goes: the period and filters as given.
fn tree_href(view: &str, period: &str, owner: &str, team: &str, status: &str) -> String {
    let pairs: Vec<(&str, &str)> = [
        ("view", view),
        ("period", period),
        ("owner", owner),
        ("team", team),
        ("status", status),
    ]
    .into_iter()
    .filter(|(_, value)| !value.is_empty())
    .collect();
    format!(
        "/?{}",
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    )
}

pub(crate) fn kind_label(kind: OkrKind) -> &'static str {
    match kind {
        OkrKind::Objective => "Objective",
        OkrKind::KeyResult => "Key result",
    }
}

/// Objectives with their key results (and aligned children) nested, in
/// depth-first order; OKRs whose parent is elsewhere start at the top.
pub(crate) fn tree_order(okrs: &[Okr]) -> Vec<(usize, &Okr)> {
    let ids: std::collections::HashSet<i64> = okrs.iter().map(|o| o.id).collect();
    let mut children: HashMap<Option<i64>, Vec<&Okr>> = HashMap::new();
    for okr in okrs {
        let parent = okr.fields.parent_id.filter(|p| ids.contains(p));
        children.entry(parent).or_default().push(okr);
    }
    for list in children.values_mut() {
        list.sort_by_key(|o| (o.fields.kind != OkrKind::Objective, o.id));
    }
    let mut out = Vec::with_capacity(okrs.len());
    let mut stack: Vec<(usize, &Okr)> = children
        .get(&None)
        .map(|roots| roots.iter().rev().map(|o| (0, *o)).collect())
        .unwrap_or_default();
    while let Some((depth, okr)) = stack.pop() {
        if out.len() > okrs.len() {
            break;
        }
        out.push((depth, okr));
        if let Some(kids) = children.get(&Some(okr.id)) {
            stack.extend(kids.iter().rev().map(|k| (depth + 1, *k)));
        }
    }
    out
}

fn titles_of(okrs: &[Okr]) -> HashMap<i64, String> {
    okrs.iter()
        .map(|o| (o.id, o.fields.title.clone()))
        .collect()
}

/// The period a page shows (the one asked for, else the one that covers
/// today, else the latest) and the choices of its period select.
pub(crate) async fn choose_period(
    state: &AppState,
    who: &Authenticated,
    asked: Option<&str>,
) -> Result<(Option<Period>, Vec<Choice>), PageError> {
    let periods = state.goals.list_periods(who).await?;
    let today = Utc::now().date_naive();
    let asked = asked.and_then(|p| p.trim().parse::<i64>().ok());
    let period = asked
        .and_then(|id| periods.iter().find(|p| p.id == id))
        .or_else(|| {
            periods
                .iter()
                .find(|p| p.starts_on <= today && today <= p.ends_on)
        })
        .or_else(|| periods.last())
        .cloned();
    let current = period
        .as_ref()
        .map(|p| p.id.to_string())
        .unwrap_or_default();
    let choices = periods
        .iter()
        .map(|p| Choice::new(p.id.to_string(), &p.name, &current))
        .collect();
    Ok((period, choices))
}

/// `/`: the OKR tree of a period (the one asked for, else the one that
/// covers today, else the latest).
pub(crate) async fn tree(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<TreeQuery>,
    Query(done): Query<DoneQuery>,
) -> PageResult {
    let who = signed_in(&caller)?;
    let (period, choices) = choose_period(&state, who, query.period.as_deref()).await?;
    let current = period
        .as_ref()
        .map(|p| p.id.to_string())
        .unwrap_or_default();
    let is_admin = who.user.role == cairn_core::authz::Role::Admin;
    let view = match query.view.as_deref().map(str::trim) {
        Some("mine") => "mine",
        Some("all") => "all",
        _ if is_admin => "all",
        _ => "mine",
    };
    let owner = query.owner.as_deref().unwrap_or_default().trim().to_owned();
    let team = query.team.as_deref().unwrap_or_default().trim().to_owned();
    let status = query
        .status
        .as_deref()
        .unwrap_or_default()
        .trim()
        .to_owned();
    let names = people(&state, who).await?;
    let teams = state.goals.list_teams(who).await?;
    let team_names: HashMap<i64, String> = teams.iter().map(|t| (t.id, t.name.clone())).collect();
    let mut groups: Vec<Group> = Vec::new();
    let mut live = Vec::new();
    let mut counts: HashMap<&'static str, usize> = HashMap::new();
    let mut error = FormError::none();
    let owner_id = error.keep(filter_id("owner", Some(&owner)), None);
    let team_id = error.keep(filter_id("team", Some(&team)), None);
    if let (Some(period), true) = (&period, error.is_empty()) {
        let found = state
            .goals
            .filter_okrs(
                who,
                &cairn_engine::goals::OkrQuery {
                    period_id: Some(period.id),
                    owner_id,
                    team_id,
                    status: Some(status.clone()),
                    mine: view == "mine",
                },
            )
            .await;
        // A filter naming nothing: the page's names for the fields.
        let okrs = match found {
            Err(cairn_engine::EngineError::Invalid { field, message }) => {
                let field = match field.as_str() {
                    "owner_id" => "owner",
                    "team_id" => "team",
                    other => other,
                };
                error.add(FormError::at(field, message));
                Vec::new()
            }
            other => other?,
        };
        let connections = connection_names(&state, who).await?;
        let titles = titles_of(&okrs);
        let due = state
            .goals
            .check_ins_due(who, period.id, Utc::now())
            .await?;
        let links = state.goals.data_links_in_period(who, period.id).await?;
        for (depth, okr) in tree_order(&okrs) {
            let link = if okr.fields.progress_source == ProgressSource::DataLink {
                links.get(&okr.id).map(|l| badge(l, &connections))
            } else {
                None
            };
            let explain = panel(&state, who, okr, link.as_ref(), &titles, &names).await?;
            let key = okr.progress.as_ref().map_or("none", |p| p.status.as_str());
            *counts.entry(key).or_default() += 1;
            live.push(okr.id.to_string());
            let row = Row {
                id: okr.id,
                depth: depth.min(4),
                is_objective: okr.fields.kind == OkrKind::Objective,
                kind_label: kind_label(okr.fields.kind),
                title: okr.fields.title.clone(),
                owner: person(&names, okr.fields.owner_id),
                team: okr.fields.owner_team_id.map(|t| {
                    team_names
                        .get(&t)
                        .cloned()
                        .unwrap_or_else(|| format!("team {t}"))
                }),
                bar: Bar::new(okr.id, &okr.fields.measure, okr.progress.as_ref()),
                link,
                explain,
                check_in_due: due.get(&okr.id).map(|since| due_words(*since)),
            };
            match groups.last_mut() {
                Some(group) if depth > 0 => group.children.push(row),
                _ => groups.push(Group {
                    head: row,
                    children: Vec::new(),
                }),
            }
        }
    }
    let live_ids = live.join(",");
    let summary = [
        (Status::OnTrack, "on track"),
        (Status::Behind, "behind"),
        (Status::AtRisk, "at risk"),
        (Status::Done, "done"),
        (Status::NotStarted, "not started"),
    ]
    .iter()
    .map(|(s, label)| StatusCount {
        status: s.as_str(),
        label,
        count: counts.get(s.as_str()).copied().unwrap_or(0),
    })
    .chain(std::iter::once(StatusCount {
        status: "none",
        label: "no data yet",
        count: counts.get("none").copied().unwrap_or(0),
    }))
    .collect();
    let mut people_sorted: Vec<(i64, String)> = names.into_iter().collect();
    people_sorted.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)));
    let owners = std::iter::once(Choice::new("", "Anyone", &owner))
        .chain(
            people_sorted
                .iter()
                .map(|(id, name)| Choice::new(id.to_string(), name, &owner)),
        )
        .collect();
    let team_choices = std::iter::once(Choice::new("", "Any team", &team))
        .chain(
            teams
                .iter()
                .map(|t| Choice::new(t.id.to_string(), &t.name, &team)),
        )
        .collect();
    let statuses = std::iter::once(Choice::new("", "Any status", &status))
        .chain(
            Status::ALL
                .iter()
                .map(|s| Choice::new(s.as_str(), status_label(*s), &status)),
        )
        .collect();
    let tree = TreePage {
        nav: Nav::new(who, "okrs").with_done(&done),
        periods: choices,
        period,
        groups,
        live_ids,
        view,
        owners,
        teams: team_choices,
        statuses,
        filtered: view == "mine" || !owner.is_empty() || !team.is_empty() || !status.is_empty(),
        summary,
        mine_href: tree_href("mine", &current, &owner, &team, &status),
        all_href: tree_href("all", &current, &owner, &team, &status),
        error: error.of_filters(),
    };
    if tree.error.is_empty() {
        page(&tree)
    } else {
        refused(StatusCode::UNPROCESSABLE_ENTITY, &tree)
    }
}

/// A remote URL fit for a link: http(s) only, so a tracker cannot smuggle
/// a `javascript:` URL into a page.
fn safe_url(url: &str) -> String {
    let lower = url.trim().to_ascii_lowercase();
    if lower.starts_with("https://") || lower.starts_with("http://") {
        url.trim().to_owned()
    } else {
        String::new()
    }
}

/// One linked item on an OKR's page.
pub(crate) struct ItemRow {
    pub key: String,
    pub title: String,
    pub state: String,
    pub done: bool,
    pub url: String,
    pub contribution: String,
    pub counted: bool,
    pub note: String,
}

pub(crate) struct CheckInRow {
    pub at: String,
    pub author: String,
    pub value: String,
    pub status: &'static str,
    /// How the author saw it, if they said.
    pub confidence: &'static str,
    pub note: String,
}

/// The check-in form as typed.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub(crate) struct CheckInForm {
    value: String,
    status_override: String,
    confidence: String,
    note: String,
}

#[derive(Template)]
#[template(path = "okr.html")]
struct OkrPage {
    nav: Nav,
    id: i64,
    title: String,
    description: String,
    kind_label: &'static str,
    is_key_result: bool,
    owner: String,
    /// The owning team's name, if any.
    team: Option<String>,
    period_id: i64,
    dates: String,
    measure: String,
    source: &'static str,
    is_data_link: bool,
    is_check_in: bool,
    bar: Bar,
    explain: ExplainPanel,
    link: Option<LinkBadge>,
    chart: Chart,
    /// The forecast in words, for key results.
    forecast: String,
    items: Vec<ItemRow>,
    items_unit: String,
    /// The items' sums, under the table.
    items_total: String,
    check_ins: Vec<CheckInRow>,
    children: Vec<Row>,
    form: CheckInForm,
    statuses: Vec<Choice>,
    /// The confidence select: on track, behind, at risk.
    confidences: Vec<Choice>,
    /// "Check-in due since …" when the period's cadence has passed.
    check_in_due: Option<String>,
    error: FormError,
    live_ids: String,
    /// Why Delete would be refused for the viewer (it is shown disabled).
    delete_refused: Option<&'static str>,
}

/// Why deleting an OKR owned by `owner_id` would be refused for `who`, as
/// the pages say it, or `None`: the engine's own rule (`ChangeOkr`).
fn okr_delete_refusal(who: &Authenticated, owner_id: i64) -> Option<&'static str> {
    use cairn_core::authz::{Action, Decision, decide};
    (decide(Some(who.actor()), Action::ChangeOkr { owner_id }) != Decision::Allow)
        .then_some("Only its owner or an admin may delete it.")
}

fn measure_label(measure: &Measure) -> String {
    match measure {
        Measure::PercentComplete => "Percent complete".to_owned(),
        Measure::Kpi(kpi) => format!(
            "KPI: {} → {} {}",
            number(kpi.start_value()),
            number(kpi.target_value()),
            kpi.unit()
        ),
    }
}

fn source_label(source: ProgressSource) -> &'static str {
    match source {
        ProgressSource::CheckIn => "Check-ins",
        ProgressSource::RollUp => "Roll-up of its children",
        ProgressSource::DataLink => "Data link",
    }
}

async fn okr_page(
    state: &AppState,
    who: &Authenticated,
    id: i64,
    form: CheckInForm,
    error: FormError,
) -> Result<OkrPage, PageError> {
    let okr = state.goals.get_okr(who, id).await?;
    let names = people(state, who).await?;
    let owner = |id: i64| person(&names, id);
    let connections = connection_names(state, who).await?;
    let link = state
        .goals
        .data_link(who, id)
        .await?
        .map(|l| badge(&l, &connections));
    let history = state.goals.history(who, id, 1000).await?;
    let chart = Chart::new(&okr, &history, Utc::now());
    let forecast = if okr.fields.kind == OkrKind::KeyResult {
        forecast_words(&cairn_engine::goals::forecast_of(
            &okr,
            &history,
            Utc::now(),
        )?)
    } else {
        String::new()
    };
    let explain = state.goals.explain(who, id).await?;
    let (items_unit, items_total) = match &explain {
        cairn_engine::goals::Explain::DataLink { explanation } => {
            (explanation.unit.clone(), items_total(explanation))
        }
        _ => (String::new(), String::new()),
    };
    let items = state
        .goals
        .linked_items(who, id)
        .await?
        .into_iter()
        .map(|linked| {
            let (contribution, counted, note) = match &linked.contribution {
                Some(c) => (
                    if c.denominator > 0.0 {
                        format!("{} of {}", number(c.numerator), number(c.denominator))
                    } else {
                        number(c.numerator)
                    },
                    c.counted,
                    contribution_note(c, linked.item.done),
                ),
                None => ("–".to_owned(), false, String::new()),
            };
            ItemRow {
                key: linked.item.key,
                title: linked.item.title,
                state: linked.item.state,
                done: linked.item.done,
                url: safe_url(&linked.item.url),
                contribution,
                counted,
                note,
            }
        })
        .collect();
    let mut check_ins: Vec<CheckInRow> = state
        .goals
        .list_check_ins(who, id)
        .await?
        .into_iter()
        .map(|c| CheckInRow {
            at: when(c.created_at),
            author: owner(c.author_id),
            value: number(c.value),
            status: c.status_override.map(status_label).unwrap_or(""),
            confidence: c.confidence.map(status_label).unwrap_or(""),
            note: c.note,
        })
        .collect();
    check_ins.reverse();
    let all = state
        .goals
        .list_okrs(who, Some(okr.fields.period_id))
        .await?;
    let titles = titles_of(&all);
    let due = state
        .goals
        .check_ins_due(who, okr.fields.period_id, Utc::now())
        .await?;
    let mut children = Vec::new();
    for o in all.iter().filter(|o| o.fields.parent_id == Some(id)) {
        let child_link = match o.fields.progress_source {
            ProgressSource::DataLink => state
                .goals
                .data_link(who, o.id)
                .await?
                .map(|l| badge(&l, &connections)),
            _ => None,
        };
        children.push(Row {
            id: o.id,
            depth: 0,
            is_objective: o.fields.kind == OkrKind::Objective,
            kind_label: kind_label(o.fields.kind),
            title: o.fields.title.clone(),
            owner: owner(o.fields.owner_id),
            team: None,
            bar: Bar::new(o.id, &o.fields.measure, o.progress.as_ref()),
            explain: panel(state, who, o, child_link.as_ref(), &titles, &names).await?,
            check_in_due: due.get(&o.id).map(|since| due_words(*since)),
            link: None,
        });
    }
    let explain = ExplainPanel::new(
        &okr,
        &explain,
        link.as_ref().map(filter_words).as_deref(),
        &titles,
        &|id| person(&names, id),
    );
    let mut live: Vec<String> = vec![id.to_string()];
    live.extend(children.iter().map(|c| c.id.to_string()));
    let statuses = std::iter::once(Choice::new("", "Computed", &form.status_override))
        .chain(
            Status::ALL
                .iter()
                .map(|s| Choice::new(s.as_str(), status_label(*s), &form.status_override)),
        )
        .collect();
    let confidences = std::iter::once(Choice::new("", "Not said", &form.confidence))
        .chain(
            [Status::OnTrack, Status::Behind, Status::AtRisk]
                .iter()
                .map(|s| Choice::new(s.as_str(), status_label(*s), &form.confidence)),
        )
        .collect();
    let check_in_due = due.get(&id).map(|since| due_words(*since));
    let f = &okr.fields;
    Ok(OkrPage {
        nav: Nav::new(who, "okrs"),
        id,
        title: f.title.clone(),
        description: f.description.clone(),
        kind_label: kind_label(f.kind),
        is_key_result: f.kind == OkrKind::KeyResult,
        owner: owner(f.owner_id),
        team: match f.owner_team_id {
            Some(t) => Some(
                state
                    .goals
                    .get_team(who, t)
                    .await
                    .map(|team| team.name)
                    .unwrap_or_else(|_| format!("team {t}")),
            ),
            None => None,
        },
        period_id: f.period_id,
        dates: format!("{} to {}", f.starts_on, f.due_on),
        measure: measure_label(&f.measure),
        source: source_label(f.progress_source),
        is_data_link: f.progress_source == ProgressSource::DataLink,
        is_check_in: f.progress_source == ProgressSource::CheckIn,
        bar: Bar::new(id, &f.measure, okr.progress.as_ref()),
        explain,
        link,
        chart,
        forecast,
        items,
        items_unit,
        items_total,
        check_ins,
        children,
        form,
        statuses,
        confidences,
        check_in_due,
        error,
        live_ids: live.join(","),
        delete_refused: okr_delete_refusal(who, f.owner_id),
    })
}

/// A forecast as a person reads it, with the numbers behind it.
fn forecast_words(forecast: &Forecast) -> String {
    let day = |at: DateTime<Utc>| at.format("%Y-%m-%d").to_string();
    let points = |per_day: f64| {
        let n = format!("{per_day:.1}");
        if n == "1.0" {
            "1 point a day".to_owned()
        } else {
            format!("{n} points a day")
        }
    };
    match forecast {
        Forecast::NotEnoughData {
            history_hours,
            needed_hours,
        } => format!(
            "not enough data: a forecast needs {needed_hours} hours of history, this one has {:.0}.",
            history_hours.floor()
        ),
        Forecast::Reached { reached_at } => format!("target reached on {}.", day(*reached_at)),
        Forecast::Paced(pace) => {
            let window = format!(
                "from {:.0} % on {} to {:.0} % now: {}",
                pace.percent_then,
                day(pace.since),
                pace.percent_now,
                points(pace.points_per_day)
            );
            let outlook = match pace.reaches_target_at {
                Some(at) if pace.on_time => format!(
                    "at this pace ({window}) it reaches 100 % on {}, before the due date.",
                    day(at)
                ),
                Some(at) => format!(
                    "at this pace ({window}) it reaches 100 % on {}, after the due date.",
                    day(at)
                ),
                None => format!("at this pace ({window}) it does not reach 100 %."),
            };
            match pace.needed_points_per_day {
                Some(needed) => format!(
                    "{outlook} Making the due date ({}) needs {}.",
                    day(pace.due_at - chrono::TimeDelta::days(1)),
                    points(needed)
                ),
                None => format!("{outlook} The due date has passed."),
            }
        }
    }
}

/// `/okrs/{id}`: an OKR with its chart, items, check-ins and children.
pub(crate) async fn show_okr(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(done): Query<DoneQuery>,
) -> PageResult {
    let who = signed_in(&caller)?;
    let mut shown = okr_page(&state, who, id, CheckInForm::default(), FormError::none()).await?;
    shown.nav = shown.nav.with_done(&done);
    page(&shown)
}

/// Records a check-in; refused ones come back with the input kept.
pub(crate) async fn check_in(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Form(form): Form<CheckInForm>,
) -> PageResult {
    let who = signed_in(&caller)?;
    let parsed = {
        let mut problems = FormError::none();
        let value = match form.value.trim() {
            // Empty on a computed OKR (the engine says when it is needed).
            "" => None,
            v => problems.keep(
                v.parse::<f64>()
                    .map(Some)
                    .map_err(|_| FormError::at("value", "must be a number")),
                None,
            ),
        };
        let status = problems.keep(status_field("status_override", &form.status_override), None);
        let confidence = problems.keep(status_field("confidence", &form.confidence), None);
        if problems.is_empty() {
            Ok((value, status, confidence))
        } else {
            Err(problems)
        }
    };
    let error = match parsed {
        Ok((value, status_override, confidence)) => {
            let input = cairn_engine::goals::CheckInInput {
                value,
                status_override,
                confidence,
                note: &form.note,
            };
            match state.goals.check_in(who, id, &input, Utc::now()).await {
                Ok(_) => return done(&format!("/okrs/{id}"), "checked_in"),
                Err(e) => {
                    let e = ApiError::from(e);
                    if !is_refusal(&e) {
                        return Err(e.into());
                    }
                    FormError::from_api(
                        &e,
                        &["value", "status_override", "confidence", "note"],
                        &[],
                    )
                }
            }
        }
        Err(error) => error,
    };
    refused(
        StatusCode::UNPROCESSABLE_ENTITY,
        &okr_page(&state, who, id, form, error).await?,
    )
}

/// The "check-in due" marker's words.
fn due_words(since: DateTime<Utc>) -> String {
    format!("Check-in due since {}", since.format("%Y-%m-%d"))
}

/// An optional status chosen in a select: empty for none.
fn status_field(field: &str, text: &str) -> Result<Option<Status>, FormError> {
    match text.trim() {
        "" => Ok(None),
        s => Status::parse(s)
            .map(Some)
            .ok_or_else(|| FormError::at(field, "unknown status")),
    }
}

/// Refreshes a key result's data link now, then shows it again (with
/// JavaScript the button calls the API instead and the bar moves live).
pub(crate) async fn refresh(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> PageResult {
    let who = signed_in(&caller)?;
    match state.goals.refresh_okr(who, id, Utc::now()).await {
        // A failed refresh is recorded: the page's stale badge says why.
        Ok(outcome) if outcome.error.is_some() => see_other(&format!("/okrs/{id}")),
        Ok(_) => done(&format!("/okrs/{id}"), "refreshed"),
        Err(e) => {
            let e = ApiError::from(e);
            if !is_refusal(&e) {
                return Err(e.into());
            }
            refused(
                e.status,
                &okr_page(
                    &state,
                    who,
                    id,
                    CheckInForm::default(),
                    FormError::at("refresh", e.message),
                )
                .await?,
            )
        }
    }
}

#[derive(Template)]
#[template(path = "okr_delete.html")]
struct OkrDeletePage {
    nav: Nav,
    id: i64,
    title: String,
    kind_label: &'static str,
    /// The OKRs aligned to it: they stay, moved to the top level.
    children: Vec<String>,
    check_ins: usize,
    link: Option<LinkBadge>,
    refused: Option<&'static str>,
}

/// `/okrs/{id}/delete`: asks first, saying what goes with the OKR and what
/// stays; nothing is deleted until the POST.
pub(crate) async fn confirm_delete_okr(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> PageResult {
    let who = signed_in(&caller)?;
    let okr = state.goals.get_okr(who, id).await?;
    let children = state
        .goals
        .list_okrs(who, Some(okr.fields.period_id))
        .await?
        .iter()
        .filter(|o| o.fields.parent_id == Some(id))
        .map(|o| format!("{}: {}", kind_label(o.fields.kind), o.fields.title))
        .collect();
    let check_ins = state.goals.list_check_ins(who, id).await?.len();
    let connections = connection_names(&state, who).await?;
    let link = state
        .goals
        .data_link(who, id)
        .await?
        .map(|l| badge(&l, &connections));
    page(&OkrDeletePage {
        nav: Nav::new(who, "okrs"),
        id,
        kind_label: kind_label(okr.fields.kind),
        refused: okr_delete_refusal(who, okr.fields.owner_id),
        title: okr.fields.title,
        children,
        check_ins,
        link,
    })
}

/// Deletes an OKR; back to its period.
pub(crate) async fn delete_okr(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> PageResult {
    let who = signed_in(&caller)?;
    let okr = state.goals.get_okr(who, id).await?;
    state.goals.delete_okr(who, id, Utc::now()).await?;
    done(&format!("/?period={}", okr.fields.period_id), "okr_deleted")
}

/// The OKR form as typed: every field text, so a refused form comes back
/// exactly as it was sent.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub(crate) struct OkrForm {
    kind: String,
    title: String,
    description: String,
    period_id: String,
    parent_id: String,
    owner_id: String,
    owner_team_id: String,
    starts_on: String,
    due_on: String,
    measure: String,
    unit: String,
    start_value: String,
    target_value: String,
    weight: String,
    contributes: String,
    progress_source: String,
}

const OKR_FIELDS: &[&str] = &[
    "kind",
    "title",
    "description",
    "period_id",
    "parent_id",
    "owner_id",
    "owner_team_id",
    "starts_on",
    "due_on",
    "measure",
    "unit",
    "start_value",
    "target_value",
    "weight",
    "progress_source",
];

const OKR_ALIASES: &[(&str, &str)] = &[
    ("due_date", "due_on"),
    ("start_date", "starts_on"),
    ("direction", "target_value"),
    ("name", "kind"),
];

fn date(field: &str, text: &str) -> Result<Option<NaiveDate>, FormError> {
    match text.trim() {
        "" => Ok(None),
        t => NaiveDate::parse_from_str(t, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| FormError::at(field, "must be a date (YYYY-MM-DD)")),
    }
}

fn decimal(field: &str, text: &str) -> Result<f64, FormError> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| FormError::at(field, "must be a number"))
}

fn id_or_none(field: &str, text: &str) -> Result<Option<i64>, FormError> {
    match text.trim() {
        "" => Ok(None),
        t => t
            .parse()
            .map(Some)
            .map_err(|_| FormError::at(field, "choose one from the list")),
    }
}

impl OkrForm {
    /// The input the engine takes, or every problem found in the form at
    /// once (each field is checked even after one is wrong).
    fn input(&self) -> Result<OkrInput, FormError> {
        let mut problems = FormError::none();
        if self.title.trim().is_empty() {
            problems.add(FormError::at("title", "is required"));
        }
        let kind = problems.keep(
            OkrKind::parse(self.kind.trim())
                .ok_or_else(|| FormError::at("kind", "choose objective or key result")),
            OkrKind::Objective,
        );
        let period_id = problems.keep(
            id_or_none("period_id", &self.period_id)
                .and_then(|p| p.ok_or_else(|| FormError::at("period_id", "choose a period"))),
            0,
        );
        let measure = match self.measure.trim() {
            "" | "percent_complete" => Measure::PercentComplete,
            "kpi" => {
                let start = decimal("start_value", &self.start_value);
                let target = decimal("target_value", &self.target_value);
                match (start, target) {
                    (Ok(start), Ok(target)) => {
                        let kpi = Kpi::new(self.unit.trim(), start, target).map_err(|e| {
                            let field = match e.field() {
                                "direction" => "target_value",
                                f => f,
                            };
                            FormError::at(field, e.to_string())
                        });
                        problems.keep(kpi.map(Measure::Kpi), Measure::PercentComplete)
                    }
                    // Whether start and target make a KPI is only asked of
                    // two numbers.
                    (start, target) => {
                        problems.keep(start, 0.0);
                        problems.keep(target, 0.0);
                        Measure::PercentComplete
                    }
                }
            }
            _ => {
                problems.add(FormError::at("measure", "choose percent complete or KPI"));
                Measure::PercentComplete
            }
        };
        let weight = match self.weight.trim() {
            "" => None,
            w => problems.keep(decimal("weight", w).map(Some), None),
        };
        let progress_source = problems.keep(
            ProgressSource::parse(self.progress_source.trim()).ok_or_else(|| {
                FormError::at("progress_source", "choose where progress comes from")
            }),
            ProgressSource::CheckIn,
        );
        let owner_id = problems.keep(id_or_none("owner_id", &self.owner_id), None);
        let owner_team_id = problems.keep(id_or_none("owner_team_id", &self.owner_team_id), None);
        let parent_id = problems.keep(id_or_none("parent_id", &self.parent_id), None);
        let starts_on = problems.keep(date("starts_on", &self.starts_on), None);
        let due_on = problems.keep(date("due_on", &self.due_on), None);
        if let (Some(starts), Some(due)) = (starts_on, due_on)
            && due < starts
        {
            problems.add(FormError::at("due_on", "must not be before the start date"));
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(OkrInput {
            kind,
            title: self.title.clone(),
            description: self.description.clone(),
            owner_id,
            // The form always shows the team: empty is no team.
            owner_team_id: Some(owner_team_id),
            period_id,
            parent_id,
            starts_on,
            due_on,
            measure,
            weight,
            contributes: Some(!self.contributes.is_empty()),
            progress_source,
        })
    }

    fn from_okr(okr: &Okr) -> OkrForm {
        let f = &okr.fields;
        let (measure, unit, start, target) = match &f.measure {
            Measure::PercentComplete => (
                "percent_complete",
                String::new(),
                String::new(),
                String::new(),
            ),
            Measure::Kpi(k) => (
                "kpi",
                k.unit().to_owned(),
                number(k.start_value()),
                number(k.target_value()),
            ),
        };
        OkrForm {
            kind: f.kind.as_str().to_owned(),
            title: f.title.clone(),
            description: f.description.clone(),
            period_id: f.period_id.to_string(),
            parent_id: f.parent_id.map(|p| p.to_string()).unwrap_or_default(),
            owner_id: f.owner_id.to_string(),
            owner_team_id: f.owner_team_id.map(|t| t.to_string()).unwrap_or_default(),
            starts_on: f.starts_on.to_string(),
            due_on: f.due_on.to_string(),
            measure: measure.to_owned(),
            unit,
            start_value: start,
            target_value: target,
            weight: number(f.weight),
            contributes: if f.contributes {
                "on".to_owned()
            } else {
                String::new()
            },
            progress_source: f.progress_source.as_str().to_owned(),
        }
    }

    pub fn contributes_checked(&self) -> bool {
        !self.contributes.is_empty()
    }
}

#[derive(Template)]
#[template(path = "okr_form.html")]
struct OkrFormPage {
    nav: Nav,
    heading: String,
    action: String,
    cancel: String,
    form: OkrForm,
    kinds: Vec<Choice>,
    periods: Vec<Choice>,
    parents: Vec<Choice>,
    owners: Vec<Choice>,
    teams: Vec<Choice>,
    sources: Vec<Choice>,
    measures: Vec<Choice>,
    error: FormError,
}

async fn okr_form_page(
    state: &AppState,
    who: &Authenticated,
    editing: Option<i64>,
    form: OkrForm,
    error: FormError,
) -> Result<OkrFormPage, PageError> {
    let periods = state.goals.list_periods(who).await?;
    let period_id = form.period_id.trim().parse::<i64>().ok();
    let candidates = match period_id {
        Some(p) => state.goals.list_okrs(who, Some(p)).await?,
        None => Vec::new(),
    };
    let parents = std::iter::once(Choice::new("", "None (top level)", &form.parent_id))
        .chain(
            candidates
                .iter()
                .filter(|o| Some(o.id) != editing)
                // OKRs align to objectives (a parent kept as it was stays).
                .filter(|o| {
                    o.fields.kind == OkrKind::Objective || o.id.to_string() == form.parent_id
                })
                .map(|o| {
                    Choice::new(
                        o.id.to_string(),
                        format!("{}: {}", kind_label(o.fields.kind), o.fields.title),
                        &form.parent_id,
                    )
                }),
        )
        .collect();
    let mut people = state.accounts.people(who).await?;
    people.sort_by(|a, b| a.1.cmp(&b.1));
    // Members create OKRs owned by themselves (core::authz::AssignOkr).
    if editing.is_none() && who.user.role != cairn_core::authz::Role::Admin {
        people.retain(|(id, _)| *id == who.user.id);
    }
    let owners = people
        .iter()
        .map(|(id, name)| Choice::new(id.to_string(), name, &form.owner_id))
        .collect();
    // Members give OKRs to their own teams (core::authz::AssignOkrTeam);
    // a team kept as it was stays.
    let teams = std::iter::once(Choice::new("", "No team", &form.owner_team_id))
        .chain(
            state
                .goals
                .list_teams(who)
                .await?
                .into_iter()
                .filter(|t| {
                    who.user.role == cairn_core::authz::Role::Admin
                        || t.member_ids.contains(&who.user.id)
                        || t.id.to_string() == form.owner_team_id
                })
                .map(|t| Choice::new(t.id.to_string(), &t.name, &form.owner_team_id)),
        )
        .collect();
    let (heading, action, cancel) = match editing {
        Some(id) => (
            format!("Edit “{}”", form.title),
            format!("/okrs/{id}"),
            format!("/okrs/{id}"),
        ),
        None => (
            "New objective or key result".to_owned(),
            "/okrs".to_owned(),
            "/".to_owned(),
        ),
    };
    Ok(OkrFormPage {
        nav: Nav::new(who, "okrs"),
        heading,
        action,
        cancel,
        kinds: [OkrKind::Objective, OkrKind::KeyResult]
            .iter()
            .map(|k| Choice::new(k.as_str(), kind_label(*k), &form.kind))
            .collect(),
        periods: periods
            .iter()
            .map(|p| Choice::new(p.id.to_string(), &p.name, &form.period_id))
            .collect(),
        parents,
        owners,
        teams,
        sources: ProgressSource::ALL
            .iter()
            .map(|s| Choice::new(s.as_str(), source_label(*s), &form.progress_source))
            .collect(),
        measures: [
            ("percent_complete", "Percent complete"),
            ("kpi", "KPI (a number from start to target)"),
        ]
        .iter()
        .map(|(v, l)| Choice::new(*v, *l, &form.measure))
        .collect(),
        form,
        error,
    })
}

#[derive(Deserialize)]
pub(crate) struct NewOkrQuery {
    period: Option<String>,
    parent: Option<String>,
    kind: Option<String>,
}

/// `/okrs/new`: the create form, for a period and optionally a parent.
pub(crate) async fn new_okr(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<NewOkrQuery>,
) -> PageResult {
    let who = signed_in(&caller)?;
    let kind = query.kind.unwrap_or_else(|| "objective".to_owned());
    // An objective's progress is its children's unless told otherwise.
    let progress_source = if kind == OkrKind::Objective.as_str() {
        ProgressSource::RollUp
    } else {
        ProgressSource::CheckIn
    };
    let form = OkrForm {
        kind,
        period_id: query.period.unwrap_or_default(),
        parent_id: query.parent.unwrap_or_default(),
        owner_id: who.user.id.to_string(),
        measure: "percent_complete".to_owned(),
        weight: "1".to_owned(),
        contributes: "on".to_owned(),
        progress_source: progress_source.as_str().to_owned(),
        ..OkrForm::default()
    };
    page(&okr_form_page(&state, who, None, form, FormError::none()).await?)
}

async fn refused_okr_form(
    state: &AppState,
    who: &Authenticated,
    editing: Option<i64>,
    form: OkrForm,
    error: FormError,
) -> PageResult {
    refused(
        StatusCode::UNPROCESSABLE_ENTITY,
        &okr_form_page(state, who, editing, form, error).await?,
    )
}

fn okr_refusal(error: cairn_engine::EngineError) -> Result<FormError, PageError> {
    let error = ApiError::from(error);
    if is_refusal(&error) {
        Ok(FormError::from_api(&error, OKR_FIELDS, OKR_ALIASES))
    } else {
        Err(error.into())
    }
}

/// Creates an OKR; a key result measured by a data link goes on to
/// "connect a data source".
pub(crate) async fn create_okr(
    State(state): State<AppState>,
    caller: Caller,
    Form(form): Form<OkrForm>,
) -> PageResult {
    let who = signed_in(&caller)?;
    let input = match form.input() {
        Ok(input) => input,
        Err(error) => return refused_okr_form(&state, who, None, form, error).await,
    };
    match state.goals.create_okr(who, input, Utc::now()).await {
        Ok(okr) if okr.fields.progress_source == ProgressSource::DataLink => {
            done(&format!("/okrs/{}/link", okr.id), "okr_created")
        }
        Ok(okr) => done(&format!("/okrs/{}", okr.id), "okr_created"),
        Err(e) => {
            let error = okr_refusal(e)?;
            refused_okr_form(&state, who, None, form, error).await
        }
    }
}

/// `/okrs/{id}/edit`.
pub(crate) async fn edit_okr(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> PageResult {
    let who = signed_in(&caller)?;
    let okr = state.goals.get_okr(who, id).await?;
    page(
        &okr_form_page(
            &state,
            who,
            Some(id),
            OkrForm::from_okr(&okr),
            FormError::none(),
        )
        .await?,
    )
}

/// Saves the edit form.
pub(crate) async fn update_okr(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Form(form): Form<OkrForm>,
) -> PageResult {
    let who = signed_in(&caller)?;
    let input = match form.input() {
        Ok(input) => input,
        Err(error) => return refused_okr_form(&state, who, Some(id), form, error).await,
    };
    match state.goals.update_okr(who, id, input, Utc::now()).await {
        Ok(_) => done(&format!("/okrs/{id}"), "okr_saved"),
        Err(e) => {
            let error = okr_refusal(e)?;
            refused_okr_form(&state, who, Some(id), form, error).await
        }
    }
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub(crate) struct PeriodForm {
    name: String,
    starts_on: String,
    ends_on: String,
    /// Days between check-ins; empty for weekly.
    check_in_every_days: String,
}

#[derive(Template)]
#[template(path = "period_form.html")]
struct PeriodPage {
    nav: Nav,
    form: PeriodForm,
    error: FormError,
}

/// `/periods/new` (admins create periods).
pub(crate) async fn new_period(caller: Caller) -> PageResult {
    let who = signed_in(&caller)?;
    page(&PeriodPage {
        nav: Nav::new(who, "okrs"),
        form: PeriodForm::default(),
        error: FormError::none(),
    })
}

pub(crate) async fn create_period(
    State(state): State<AppState>,
    caller: Caller,
    Form(form): Form<PeriodForm>,
) -> PageResult {
    let who = signed_in(&caller)?;
    let parsed = {
        let mut problems = FormError::none();
        if form.name.trim().is_empty() {
            problems.add(FormError::at("name", "is required"));
        }
        let starts = problems.keep(
            date("starts_on", &form.starts_on)
                .and_then(|d| d.ok_or_else(|| FormError::at("starts_on", "is required"))),
            NaiveDate::MIN,
        );
        let ends = problems.keep(
            date("ends_on", &form.ends_on)
                .and_then(|d| d.ok_or_else(|| FormError::at("ends_on", "is required"))),
            NaiveDate::MIN,
        );
        let every = match form.check_in_every_days.trim() {
            "" => None,
            days => problems.keep(
                days.parse::<i64>().map(Some).map_err(|_| {
                    FormError::at("check_in_every_days", "must be a whole number of days")
                }),
                None,
            ),
        };
        if problems.is_empty() {
            Ok((starts, ends, every))
        } else {
            Err(problems)
        }
    };
    let error = match parsed {
        Err(error) => error,
        Ok((starts, ends, every)) => match state
            .goals
            .create_period(who, &form.name, starts, ends, every, Utc::now())
            .await
        {
            Ok(period) => return done(&format!("/?period={}", period.id), "period_created"),
            Err(e) => {
                let e = ApiError::from(e);
                if !is_refusal(&e) {
                    return Err(e.into());
                }
                FormError::from_api(
                    &e,
                    &["name", "starts_on", "ends_on", "check_in_every_days"],
                    &[("due_date", "ends_on"), ("due_on", "ends_on")],
                )
            }
        },
    };
    refused(
        StatusCode::UNPROCESSABLE_ENTITY,
        &PeriodPage {
            nav: Nav::new(who, "okrs"),
            form,
            error,
        },
    )
}
