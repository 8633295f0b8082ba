//! "My work": a person's week of GitLab activity, suggested worklogs with
//! the rule behind each length, and what was logged, with accept (as is or
//! edited) and dismiss as plain forms (keyboard-friendly: every action is
//! a labelled field and a button in reading order). Only one's own week.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use cairn_core::worklogs::parse_time_zone;
use cairn_engine::accounts::Authenticated;
use cairn_engine::time::WeekView;
use cairn_engine::time::write::AcceptInput;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Deserialize;

use super::common::{Nav, PageResult, page, refused, see_other, signed_in};
use crate::AppState;
use crate::auth::Caller;

/// One suggestion on the page.
pub(crate) struct SuggestionRow {
    pub key: String,
    pub day: String,
    pub time: String,
    pub minutes: u32,
    pub target: String,
    pub explanation: String,
    pub state: String,
    pub pending: bool,
}

/// One day's totals.
pub(crate) struct DayRow {
    pub day: String,
    pub logged: String,
    pub suggested: String,
    pub target: String,
}

/// One activity.
pub(crate) struct ActivityRow {
    pub time: String,
    pub kind: String,
    pub title: String,
    pub target: String,
}

#[derive(Template)]
#[template(path = "work.html")]
struct WorkPage {
    nav: Nav,
    connected: bool,
    zone: String,
    week_start: String,
    previous: String,
    next: String,
    days: Vec<DayRow>,
    suggestions: Vec<SuggestionRow>,
    activities: Vec<ActivityRow>,
    message: Option<String>,
}

fn hours(minutes: u32) -> String {
    format!("{}:{:02}", minutes / 60, minutes % 60)
}

fn clock(zone: &str, at: DateTime<Utc>) -> String {
    match parse_time_zone(zone) {
        Ok(tz) => at.with_timezone(&tz).format("%a %H:%M").to_string(),
        Err(_) => at.format("%a %H:%M UTC").to_string(),
    }
}

fn work_page(who: &Authenticated, day: NaiveDate, week: Option<WeekView>) -> WorkPage {
    let monday = cairn_core::worklogs::week_start(day);
    let mut page = WorkPage {
        nav: Nav::new(who, "work"),
        connected: week.is_some(),
        zone: String::new(),
        week_start: monday.to_string(),
        previous: (monday - Duration::days(7)).to_string(),
        next: (monday + Duration::days(7)).to_string(),
        days: Vec::new(),
        suggestions: Vec::new(),
        activities: Vec::new(),
        message: None,
    };
    let Some(week) = week else {
        return page;
    };
    page.zone = week.time_zone.clone();
    page.days = week
        .days
        .iter()
        .map(|d| DayRow {
            day: d.day.format("%a %Y-%m-%d").to_string(),
            logged: hours(d.logged_minutes),
            suggested: hours(d.suggested_minutes),
            target: hours(d.target_minutes),
        })
        .collect();
    page.suggestions = week
        .suggestions
        .iter()
        .map(|s| SuggestionRow {
            key: s.key.clone(),
            day: s.day.to_string(),
            time: clock(&week.time_zone, s.start),
            minutes: s.minutes,
            target: s.target.clone().unwrap_or_else(|| "unassigned".to_owned()),
            explanation: s.explanation.clone(),
            state: s.state.clone(),
            pending: s.state == "pending",
        })
        .collect();
    page.activities = week
        .activities
        .iter()
        .map(|a| ActivityRow {
            time: clock(&week.time_zone, a.occurred_at),
            kind: a.kind.replace('_', " "),
            title: a.title.clone(),
            target: a.target.clone().unwrap_or_default(),
        })
        .collect();
    page
}

async fn week_of(
    state: &AppState,
    who: &Authenticated,
    day: NaiveDate,
) -> Result<Option<WeekView>, crate::ApiError> {
    match state.time.week(who, who.user.id, day).await {
        Ok(week) => Ok(Some(week)),
        Err(cairn_engine::EngineError::NotFound(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub(crate) struct DayQuery {
    day: Option<NaiveDate>,
}

/// `/my-work?day=`: the caller's week.
pub(crate) async fn my_work(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<DayQuery>,
) -> PageResult {
    let who = signed_in(&caller)?;
    let day = q.day.unwrap_or_else(|| Utc::now().date_naive());
    let week = week_of(&state, who, day).await?;
    page(&work_page(who, day, week))
}

#[derive(Deserialize)]
pub(crate) struct DecisionForm {
    key: String,
    day: NaiveDate,
    #[serde(default)]
    minutes: Option<String>,
    #[serde(default)]
    description: Option<String>,
}

async fn after(
    state: &AppState,
    who: &Authenticated,
    form: &DecisionForm,
    outcome: Result<(), cairn_engine::EngineError>,
) -> PageResult {
    match outcome {
        Ok(()) => see_other(&format!("/my-work?day={}", form.day)),
        Err(e) => {
            let message = e.to_string();
            let status = crate::ApiError::from(e).status;
            let mut page_ = work_page(who, form.day, week_of(state, who, form.day).await?);
            page_.message = Some(message);
            refused(status, &page_)
        }
    }
}

/// Accepts a suggestion (the length and description as edited).
pub(crate) async fn accept_work(
    State(state): State<AppState>,
    caller: Caller,
    Form(form): Form<DecisionForm>,
) -> PageResult {
    let who = signed_in(&caller)?;
    let minutes = match form.minutes.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(text) => match text.parse::<u32>() {
            Ok(m) => Some(m),
            Err(_) => {
                let e = cairn_engine::EngineError::invalid("minutes", "a number of minutes");
                return after(&state, who, &form, Err(e)).await;
            }
        },
    };
    let outcome = state
        .time
        .accept(
            who,
            who.user.id,
            &form.key,
            AcceptInput {
                minutes,
                description: form.description.clone().filter(|d| !d.trim().is_empty()),
                target: None,
            },
            Utc::now(),
        )
        .await
        .map(|_| ());
    after(&state, who, &form, outcome).await
}

/// Dismisses a suggestion; the next one shows.
pub(crate) async fn dismiss_work(
    State(state): State<AppState>,
    caller: Caller,
    Form(form): Form<DecisionForm>,
) -> PageResult {
    let who = signed_in(&caller)?;
    let outcome = state
        .time
        .dismiss(who, who.user.id, &form.key, Utc::now())
        .await
        .map(|_| ());
    after(&state, who, &form, outcome).await
}
