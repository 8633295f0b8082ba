//! A pair's initial sync: items created before the pair's scope began,
//! from a chosen date. Previewed first (how many items on each side),
//! started, followed (done / total, rate, time left), paused and resumed.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use cairn_engine::EngineError;
use cairn_engine::sync::initial::{InitialSyncPreview, InitialSyncProgress};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::auth::SignedIn;
use crate::json::ApiJson;
use crate::{ApiError, AppState, ErrorBody};

/// From when to bring items across.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct InitialSyncRequest {
    /// A date (`2026-01-31`, midnight UTC) or an RFC 3339 time, in the
    /// past and before the pair's scope begins.
    since: String,
}

/// A date as a person gives it, or the refusal naming `since`.
pub(crate) fn parse_since(text: &str) -> Result<DateTime<Utc>, EngineError> {
    let text = text.trim();
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Ok(time.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .ok_or_else(|| {
            EngineError::invalid(
                "since",
                format!("`{text}` is not a date (2026-01-31) or an RFC 3339 time"),
            )
        })
}

/// The pair's initial sync and its progress.
#[utoipa::path(get, path = "/api/v1/sync-pairs/{id}/initial-sync", tag = "sync", params(("id" = i64, Path)), responses(
    (status = 200, description = "Its state and progress", body = InitialSyncProgress),
    (status = 404, description = "No such pair of yours, or it never had an initial sync", body = ErrorBody)))]
pub(crate) async fn get_initial_sync(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<i64>,
) -> Result<Json<InitialSyncProgress>, ApiError> {
    state
        .sync
        .initial_sync(&caller, id, Utc::now())
        .await?
        .map(Json)
        .ok_or_else(|| EngineError::NotFound(format!("sync pair {id} has no initial sync")).into())
}

/// Starts bringing across the items created from `since` until the pair's
/// scope begins; the pair's scope reaches back to `since` from now on.
#[utoipa::path(post, path = "/api/v1/sync-pairs/{id}/initial-sync", tag = "sync", params(("id" = i64, Path)),
    request_body = InitialSyncRequest, responses(
    (status = 202, description = "Started: it lists both sides, then brings the items across", body = InitialSyncProgress),
    (status = 404, description = "No such pair of yours", body = ErrorBody),
    (status = 422, description = "`since` is malformed, in the future or not before the pair's scope, an initial sync is under way (`since`), or the pair is inactive (`active`)", body = ErrorBody)))]
pub(crate) async fn start_initial_sync(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<InitialSyncRequest>,
) -> Result<(StatusCode, Json<InitialSyncProgress>), ApiError> {
    let since = parse_since(&body.since)?;
    let started = state
        .sync
        .start_initial_sync(&caller, id, since, Utc::now())
        .await?;
    Ok((StatusCode::ACCEPTED, Json(started)))
}

/// How many items an initial sync from `since` would bring across on each
/// side; writes nothing.
#[utoipa::path(post, path = "/api/v1/sync-pairs/{id}/initial-sync/preview", tag = "sync", params(("id" = i64, Path)),
    request_body = InitialSyncRequest, responses(
    (status = 200, description = "Items per side", body = InitialSyncPreview),
    (status = 404, description = "No such pair of yours", body = ErrorBody),
    (status = 422, description = "`since` is malformed, in the future or not before the pair's scope, or a side cannot be read", body = ErrorBody)))]
pub(crate) async fn preview_initial_sync(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<InitialSyncRequest>,
) -> Result<Json<InitialSyncPreview>, ApiError> {
    let since = parse_since(&body.since)?;
    let preview = state
        .sync
        .preview_initial_sync(&caller, id, since, Utc::now())
        .await?;
    Ok(Json(preview))
}

/// Pauses the initial sync: its jobs stop before their next item.
#[utoipa::path(post, path = "/api/v1/sync-pairs/{id}/initial-sync/pause", tag = "sync", params(("id" = i64, Path)), responses(
    (status = 200, description = "Paused", body = InitialSyncProgress),
    (status = 404, description = "No such pair of yours", body = ErrorBody),
    (status = 422, description = "It is not running (`state`)", body = ErrorBody)))]
pub(crate) async fn pause_initial_sync(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<i64>,
) -> Result<Json<InitialSyncProgress>, ApiError> {
    Ok(Json(
        state
            .sync
            .pause_initial_sync(&caller, id, Utc::now())
            .await?,
    ))
}

/// Resumes a paused initial sync where it stopped.
#[utoipa::path(post, path = "/api/v1/sync-pairs/{id}/initial-sync/resume", tag = "sync", params(("id" = i64, Path)), responses(
    (status = 200, description = "Running again", body = InitialSyncProgress),
    (status = 404, description = "No such pair of yours", body = ErrorBody),
    (status = 422, description = "It is not paused (`state`), or the pair is inactive (`active`)", body = ErrorBody)))]
pub(crate) async fn resume_initial_sync(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<i64>,
) -> Result<Json<InitialSyncProgress>, ApiError> {
    Ok(Json(
        state
            .sync
            .resume_initial_sync(&caller, id, Utc::now())
            .await?,
    ))
}
