//! A sync pair's releases: GitLab milestones and Jira versions linked one
//! to one (by equal names before anything is created, by hand, or because
//! Cairn created one as the other's twin), both sides' releases, and what
//! the pair would create. Linking by hand is the seed's "GitLab ID" field:
//! releases that exist on both sides under other names are linked before
//! the pair would create them again.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use cairn_core::sync::Release;
use cairn_engine::sync::{ReleaseToCreate, ReleasesView};
use cairn_store::sync_releases::SyncReleaseLink;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::SignedIn;
use crate::json::ApiJson;
use crate::{ApiError, AppState, ErrorBody};

/// A milestone (GitLab) or version (Jira) of one side.
#[derive(Serialize, ToSchema)]
pub(crate) struct ReleaseResponse {
    /// GitLab's milestone id (instance-wide, not the iid); Jira's version
    /// id.
    id: String,
    name: String,
    /// A closed milestone, a released version.
    closed: bool,
    /// GitLab's due date, Jira's release date.
    due: Option<NaiveDate>,
}

impl From<Release> for ReleaseResponse {
    fn from(r: Release) -> Self {
        ReleaseResponse {
            id: r.id,
            name: r.name,
            closed: r.closed,
            due: r.due,
        }
    }
}

/// A release on the left linked to one on the right.
#[derive(Serialize, ToSchema)]
pub(crate) struct ReleaseLinkResponse {
    id: i64,
    left_id: String,
    /// As the tracker showed it when the link was made.
    left_name: String,
    right_id: String,
    right_name: String,
    /// `by_name` (equal names, before anything was created), `manual` or
    /// `created` (Cairn created one as the twin of the other).
    how: String,
    created_at: DateTime<Utc>,
}

impl From<SyncReleaseLink> for ReleaseLinkResponse {
    fn from(l: SyncReleaseLink) -> Self {
        ReleaseLinkResponse {
            id: l.id,
            left_id: l.left_id,
            left_name: l.left_name,
            right_id: l.right_id,
            right_name: l.right_name,
            how: l.how.as_str().to_owned(),
            created_at: l.created_at,
        }
    }
}

/// A release the pair would create on the other side now.
#[derive(Serialize, ToSchema)]
pub(crate) struct ReleaseToCreateResponse {
    /// `left` or `right`: the side it is on.
    side: String,
    id: String,
    name: String,
}

impl From<ReleaseToCreate> for ReleaseToCreateResponse {
    fn from(r: ReleaseToCreate) -> Self {
        ReleaseToCreateResponse {
            side: r.side.as_str().to_owned(),
            id: r.id,
            name: r.name,
        }
    }
}

/// A pair's releases.
#[derive(Serialize, ToSchema)]
pub(crate) struct ReleasesResponse {
    /// The links, oldest first.
    links: Vec<ReleaseLinkResponse>,
    /// The left side's releases, read now.
    left: Vec<ReleaseResponse>,
    /// The right side's releases, read now.
    right: Vec<ReleaseResponse>,
    /// What the pair would create on the other side now (after linking
    /// equal names): link any that exist there under another name first.
    to_create: Vec<ReleaseToCreateResponse>,
}

impl From<ReleasesView> for ReleasesResponse {
    fn from(v: ReleasesView) -> Self {
        ReleasesResponse {
            links: v.links.into_iter().map(Into::into).collect(),
            left: v.left.into_iter().map(Into::into).collect(),
            right: v.right.into_iter().map(Into::into).collect(),
            to_create: v.to_create.into_iter().map(Into::into).collect(),
        }
    }
}

/// A link as you make it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReleaseLinkRequest {
    /// The release's id on the left side (one of its releases).
    left_id: String,
    /// The release's id on the right side (one of its releases).
    right_id: String,
}

/// The pair's release links, both sides' releases read now, and what the
/// pair would create.
#[utoipa::path(get, path = "/api/v1/sync-pairs/{id}/release-links", tag = "sync", params(("id" = i64, Path)), responses(
    (status = 200, description = "The pair's releases", body = ReleasesResponse),
    (status = 404, description = "No such pair of yours", body = ErrorBody),
    (status = 422, description = "A side's releases cannot be read", body = ErrorBody),
    (status = 502, description = "A side cannot be reached", body = ErrorBody)))]
pub(crate) async fn list_release_links(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<i64>,
) -> Result<Json<ReleasesResponse>, ApiError> {
    Ok(Json(state.sync.list_releases(&caller, id).await?.into()))
}

/// Links a release on the left to one on the right by hand. A release
/// already linked on either side, or not one of its side's releases, is
/// refused (422 naming `left_id` or `right_id`; nothing is saved).
#[utoipa::path(post, path = "/api/v1/sync-pairs/{id}/release-links", tag = "sync", params(("id" = i64, Path)),
    request_body = ReleaseLinkRequest, responses(
    (status = 201, description = "Linked", body = ReleaseLinkResponse),
    (status = 404, description = "No such pair of yours", body = ErrorBody),
    (status = 422, description = "A release unknown or linked already, the field named", body = ErrorBody),
    (status = 502, description = "A side cannot be reached", body = ErrorBody)))]
pub(crate) async fn link_release(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<ReleaseLinkRequest>,
) -> Result<(StatusCode, Json<ReleaseLinkResponse>), ApiError> {
    let link = state
        .sync
        .link_release(&caller, id, &body.left_id, &body.right_id, Utc::now())
        .await?;
    Ok((StatusCode::CREATED, Json(link.into())))
}

/// Removes a link; nothing is deleted on either tracker. Releases with
/// equal names are linked again by the next scan.
#[utoipa::path(delete, path = "/api/v1/sync-pairs/{id}/release-links/{link}", tag = "sync",
    params(("id" = i64, Path), ("link" = i64, Path)), responses(
    (status = 204, description = "Removed"),
    (status = 404, description = "No such pair of yours or link in it", body = ErrorBody)))]
pub(crate) async fn unlink_release(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path((id, link)): Path<(i64, i64)>,
) -> Result<StatusCode, ApiError> {
    state
        .sync
        .unlink_release(&caller, id, link, Utc::now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
