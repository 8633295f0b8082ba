//! "Keep left" / "keep right" on a pair's conflicts: the page asks first
//! (it overwrites a value on a tracker), then writes the chosen side's
//! value and says it worked, or why not.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use cairn_core::sync::Side;
use cairn_engine::accounts::Authenticated;
use chrono::Utc;
use serde::Deserialize;

use super::common::{
    FormError, Nav, PageError, PageResult, page, refusal, refused, see_other, signed_in,
};
use crate::AppState;
use crate::api::sync_conflicts::parse_side;
use crate::auth::Caller;

/// The side chosen, from the link or the form.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct KeepForm {
    side: String,
}

#[derive(Template)]
#[template(path = "sync_conflict_keep.html")]
struct KeepPage {
    nav: Nav,
    pair_id: i64,
    conflict_id: i64,
    item_id: i64,
    field: String,
    side: &'static str,
    other: &'static str,
    kept: String,
    replaced: String,
    error: FormError,
}

async fn keep_page(
    state: &AppState,
    who: &Authenticated,
    pair_id: i64,
    conflict_id: i64,
    side: Side,
    error: FormError,
) -> Result<KeepPage, PageError> {
    let conflict = state
        .sync
        .list_conflicts(who, pair_id, 500)
        .await?
        .into_iter()
        .find(|c| c.id == conflict_id)
        .ok_or_else(|| {
            PageError::from(cairn_engine::EngineError::NotFound(format!(
                "no conflict {conflict_id} in sync pair {pair_id}"
            )))
        })?;
    let (kept, replaced) = match side {
        Side::Left => (conflict.left_value, conflict.right_value),
        Side::Right => (conflict.right_value, conflict.left_value),
    };
    Ok(KeepPage {
        nav: Nav::new(who, "sync"),
        pair_id,
        conflict_id,
        item_id: conflict.item_id,
        field: conflict.field,
        side: side.as_str(),
        other: side.other().as_str(),
        kept,
        replaced,
        error,
    })
}

/// `/sync-pairs/{id}/conflicts/{conflict}/keep?side=left`: asks first.
pub(crate) async fn confirm_keep(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, conflict)): Path<(i64, i64)>,
    Query(form): Query<KeepForm>,
) -> PageResult {
    let who = signed_in(&caller)?;
    let side = parse_side(&form.side).map_err(PageError::from)?;
    page(&keep_page(&state, who, id, conflict, side, FormError::none()).await?)
}

/// Keeps the chosen side's value, written where it is not the value now.
pub(crate) async fn keep_side(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, conflict)): Path<(i64, i64)>,
    Form(form): Form<KeepForm>,
) -> PageResult {
    let who = signed_in(&caller)?;
    let side = parse_side(&form.side).map_err(PageError::from)?;
    match state
        .sync
        .keep_side(who, id, conflict, side, Utc::now())
        .await
    {
        Ok(_) => see_other(&format!("/sync-pairs/{id}?kept={conflict}")),
        Err(e) => {
            let error = refusal(e, &[])?;
            refused(
                StatusCode::CONFLICT,
                &keep_page(&state, who, id, conflict, side, error).await?,
            )
        }
    }
}
