//! Pausing, resuming and deleting a pair from its page: a pause keeps
//! everything and stops writing on either side (changes wait, and are
//! carried once it resumes); deleting asks first and says what goes.

use askama::Template;
use axum::extract::{Path, State};
use cairn_engine::sync::wizard::input_of;
use chrono::Utc;

use super::common::{Nav, PageResult, page, see_other, signed_in, with_done};
use crate::AppState;
use crate::auth::Caller;

/// Sets a pair active or not, then back to its page saying so.
async fn set_active(state: &AppState, caller: &Caller, id: i64, active: bool) -> PageResult {
    let who = signed_in(caller)?;
    let pair = state.sync.get_pair(who, id).await?.pair;
    let mut input = input_of(&pair);
    input.active = active;
    state.sync.update_pair(who, id, &input, Utc::now()).await?;
    let done = if active {
        "pair_resumed"
    } else {
        "pair_paused"
    };
    see_other(&with_done(&format!("/sync-pairs/{id}"), done))
}

/// `POST /sync-pairs/{id}/pause`.
pub(crate) async fn pause_pair(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> PageResult {
    set_active(&state, &caller, id, false).await
}

/// `POST /sync-pairs/{id}/resume`: a scan runs at once.
pub(crate) async fn resume_pair(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> PageResult {
    set_active(&state, &caller, id, true).await
}

#[derive(Template)]
#[template(path = "sync_pair_delete.html")]
struct DeletePage {
    nav: Nav,
    pair_id: i64,
    name: String,
    active: bool,
    /// Items linked across, in any state.
    linked: i64,
}

/// `GET /sync-pairs/{id}/delete`: what goes, and what stays.
pub(crate) async fn confirm_delete_pair(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> PageResult {
    let who = signed_in(&caller)?;
    let view = state.sync.get_pair(who, id).await?;
    page(&DeletePage {
        nav: Nav::new(who, "sync"),
        pair_id: id,
        name: view.pair.settings.name.clone(),
        active: view.pair.settings.active,
        linked: view.items.synced + view.items.pending + view.items.failing + view.items.paused,
    })
}

/// `POST /sync-pairs/{id}/delete`.
pub(crate) async fn delete_pair(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> PageResult {
    let who = signed_in(&caller)?;
    state.sync.delete_pair(who, id, Utc::now()).await?;
    see_other(&with_done("/sync-pairs", "pair_deleted"))
}
