//! The initial sync section of a pair's page: a date, its preview (how
//! many items each side would bring across), then Start; while it runs a
//! progress bar with done / total, rate and time left, and Pause or
//! Resume. Every action says it worked, or why not next to its field
//! (422, nothing saved).

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use cairn_engine::accounts::Authenticated;
use cairn_engine::sync::initial::{InitialSyncPreview, InitialSyncProgress};
use chrono::Utc;
use serde::Deserialize;

use super::common::{
    FormError, PageError, PageResult, ago, page, refusal, refused, see_other, signed_in,
};
use super::sync_pairs::pair_page;
use crate::AppState;
use crate::api::sync_initial::parse_since;
use crate::auth::Caller;

/// A run as the page shows it.
pub(crate) struct InitialRow {
    pub state: String,
    pub since: String,
    pub until: String,
    pub done: i64,
    /// The bar's maximum: the plan's size, or 1 while planning.
    pub max: i64,
    /// "120 of 2000 items (6%)", or what it is doing.
    pub counts: String,
    pub rate: String,
    pub left: String,
    pub failed: i64,
    pub paused_reason: String,
    pub started: String,
    pub can_pause: bool,
    pub can_resume: bool,
    /// Planning or running: the page follows it (cairn.js).
    pub following: bool,
}

/// The section.
pub(crate) struct InitialSection {
    pub run: Option<InitialRow>,
    /// Whether a new run may be started (none yet, or the last is done).
    pub can_start: bool,
    /// The date in the form.
    pub since: String,
    /// A preview of that date, before Start.
    pub preview: Option<InitialSyncPreview>,
    pub error: FormError,
}

fn day(at: chrono::DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn row(p: &InitialSyncProgress) -> InitialRow {
    let counts = match (p.total, p.percent) {
        (Some(total), Some(percent)) => format!("{} of {total} items ({percent}%)", p.done),
        _ => "listing both sides…".to_owned(),
    };
    let left = match p.seconds_left {
        Some(s) if s >= 3600 => format!("about {} h {} min", s / 3600, (s % 3600) / 60),
        Some(s) if s >= 60 => format!("about {} min", s / 60 + 1),
        Some(s) => format!("about {s} s"),
        None => "–".to_owned(),
    };
    let under_way = matches!(p.state.as_str(), "planning" | "running");
    InitialRow {
        state: p.state.clone(),
        since: day(p.since),
        until: day(p.until),
        done: p.done,
        max: p.total.unwrap_or(1).max(1),
        counts,
        rate: p
            .rate_per_minute
            .map_or_else(|| "–".to_owned(), |r| format!("{r:.0} items per minute")),
        left,
        failed: p.failed,
        paused_reason: p.paused_reason.clone().unwrap_or_default(),
        started: format!("{} by {}", ago(p.started_at, Utc::now()), p.started_by),
        can_pause: under_way,
        following: under_way,
        can_resume: p.state == "paused",
    }
}

/// The section for pair `id`.
pub(crate) async fn initial_section(
    state: &AppState,
    who: &Authenticated,
    id: i64,
) -> Result<InitialSection, PageError> {
    let run = state.sync.initial_sync(who, id, Utc::now()).await?;
    Ok(InitialSection {
        can_start: run.as_ref().is_none_or(|r| r.state == "done"),
        run: run.as_ref().map(row),
        since: String::new(),
        preview: None,
        error: FormError::none(),
    })
}

/// The date form.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct InitialForm {
    since: String,
}

/// The page again with the section's form refused or previewed.
async fn with_section(
    state: &AppState,
    who: &Authenticated,
    id: i64,
    since: &str,
    preview: Option<InitialSyncPreview>,
    error: FormError,
) -> Result<super::sync_pairs::PairPage, PageError> {
    let mut page = pair_page(state, who, id, None).await?;
    page.initial.since = since.to_owned();
    page.initial.preview = preview;
    // A refusal of Start while a run is under way belongs above the
    // section: the date field is not shown then.
    page.initial.error = if page.initial.can_start {
        error
    } else {
        error.above_form()
    };
    Ok(page)
}

/// Shows how many items a date would bring across, writing nothing.
pub(crate) async fn preview_initial_sync(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Form(form): Form<InitialForm>,
) -> PageResult {
    let who = signed_in(&caller)?;
    let previewed = match parse_since(&form.since) {
        Ok(since) => {
            state
                .sync
                .preview_initial_sync(who, id, since, Utc::now())
                .await
        }
        Err(e) => Err(e),
    };
    match previewed {
        Ok(preview) => {
            let view = with_section(
                &state,
                who,
                id,
                &form.since,
                Some(preview),
                FormError::none(),
            )
            .await?;
            page(&view)
        }
        Err(e) => {
            let error = refusal(e, &["since"])?;
            let page = with_section(&state, who, id, &form.since, None, error).await?;
            refused(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
    }
}

/// Starts the initial sync from the form's date.
pub(crate) async fn start_initial_sync(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Form(form): Form<InitialForm>,
) -> PageResult {
    let who = signed_in(&caller)?;
    let started = match parse_since(&form.since) {
        Ok(since) => {
            state
                .sync
                .start_initial_sync(who, id, since, Utc::now())
                .await
        }
        Err(e) => Err(e),
    };
    match started {
        Ok(_) => see_other(&format!("/sync-pairs/{id}?initial=started#initial-heading")),
        Err(e) => {
            let error = refusal(e, &["since"])?;
            let page = with_section(&state, who, id, &form.since, None, error).await?;
            refused(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
    }
}

/// Pauses it.
pub(crate) async fn pause_initial_sync(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> PageResult {
    let who = signed_in(&caller)?;
    let paused = state.sync.pause_initial_sync(who, id, Utc::now()).await;
    after_button(&state, who, id, paused.map(drop), "paused").await
}

/// Resumes it.
pub(crate) async fn resume_initial_sync(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> PageResult {
    let who = signed_in(&caller)?;
    let resumed = state.sync.resume_initial_sync(who, id, Utc::now()).await;
    after_button(&state, who, id, resumed.map(drop), "resumed").await
}

/// After Pause or Resume: back to the pair saying it worked (`done`), or
/// the page with why not.
async fn after_button(
    state: &AppState,
    who: &Authenticated,
    id: i64,
    outcome: Result<(), cairn_engine::error::EngineError>,
    done: &str,
) -> PageResult {
    match outcome {
        Ok(()) => see_other(&format!("/sync-pairs/{id}?initial={done}#initial-heading")),
        Err(e) => {
            let error = refusal(e, &[])?;
            let page = with_section(state, who, id, "", None, error).await?;
            refused(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
    }
}

/// What a Start, Pause or Resume left to say.
pub(crate) fn initial_message(done: &str) -> Option<String> {
    match done {
        "started" => Some(
            "The initial sync has started: it lists both sides, then brings the items across; \
             its figures below follow it."
                .to_owned(),
        ),
        "paused" => Some(
            "The initial sync is paused; nothing more is brought across until you resume it."
                .to_owned(),
        ),
        "resumed" => Some("The initial sync goes on where it stopped.".to_owned()),
        _ => None,
    }
}
