//! A person overturning a conflict the pair's rule decided: "keep left" or
//! "keep right" writes that side's value where it is not the value now.

use axum::Json;
use axum::extract::{Path, State};
use cairn_core::sync::Side;
use cairn_engine::EngineError;
use chrono::Utc;
use serde::Deserialize;
use utoipa::ToSchema;

use super::sync::ConflictView;
use crate::auth::SignedIn;
use crate::json::ApiJson;
use crate::{ApiError, AppState, ErrorBody};

/// The side whose value to keep.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct KeepRequest {
    /// `left` or `right`.
    side: String,
}

/// A side named in a form or a request, or the refusal naming `side`.
pub(crate) fn parse_side(value: &str) -> Result<Side, EngineError> {
    match value.trim() {
        "left" => Ok(Side::Left),
        "right" => Ok(Side::Right),
        other => Err(EngineError::invalid(
            "side",
            format!("`{other}` is not one of: left, right"),
        )),
    }
}

/// Keeps one side's value of a conflict (as it was when the conflict was
/// decided): written to the other side, and back to the chosen side when
/// the rule had overwritten it; the conflict records who chose.
#[utoipa::path(post, path = "/api/v1/sync-pairs/{id}/conflicts/{conflict}/keep", tag = "sync",
    params(("id" = i64, Path), ("conflict" = i64, Path)), request_body = KeepRequest, responses(
    (status = 200, description = "Written; the conflict with the choice", body = ConflictView),
    (status = 404, description = "No such pair of yours or conflict in it", body = ErrorBody),
    (status = 409, description = "Not now: the item is being synced, the pair does not carry the field from that side, the conflict predates whole values, or a tracker refused the write (named in the message)", body = ErrorBody),
    (status = 422, description = "`side` is not left or right", body = ErrorBody)))]
pub(crate) async fn keep_side(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path((id, conflict)): Path<(i64, i64)>,
    ApiJson(body): ApiJson<KeepRequest>,
) -> Result<Json<ConflictView>, ApiError> {
    let side = parse_side(&body.side)?;
    let kept = state
        .sync
        .keep_side(&caller, id, conflict, side, Utc::now())
        .await?;
    Ok(Json(kept.into()))
}
