//! A sync pair's people: both sides' people with how each is mapped, and
//! the manual mappings that override the automatic ones. A mapped
//! person's comments are copied without their name (still written by the
//! connection's account: Cairn holds one token per connection), and
//! assignees follow the mapping both ways.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use cairn_engine::sync::{PeopleView, PersonView};
use cairn_store::sync_people::SyncPersonMapping;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::SignedIn;
use crate::json::ApiJson;
use crate::{ApiError, AppState, ErrorBody};

/// A person on one side and how they are mapped.
#[derive(Serialize, ToSchema)]
pub(crate) struct PersonResponse {
    /// `left` or `right`.
    side: String,
    /// GitLab's user id; Jira's account id (user name on Data Center).
    id: String,
    name: String,
    /// `auto_by_email`, `auto_by_name`, `manual`, `unmapped` or
    /// `ambiguous_name` (the name occurs more than once, so it is never
    /// used to map).
    mapping: String,
    /// The id of the person on the other side, when mapped.
    mapped_to: Option<String>,
    /// The manual mapping that maps them (to delete it).
    manual_mapping_id: Option<i64>,
}

impl From<PersonView> for PersonResponse {
    fn from(p: PersonView) -> Self {
        PersonResponse {
            side: p.side.as_str().to_owned(),
            id: p.id,
            name: p.name,
            mapping: p.mapping.as_str().to_owned(),
            mapped_to: p.mapped_to,
            manual_mapping_id: p.manual_mapping_id,
        }
    }
}

/// A person on the left mapped by hand to a person on the right.
#[derive(Serialize, ToSchema)]
pub(crate) struct PersonMappingResponse {
    id: i64,
    left_id: String,
    /// As the tracker showed it when the mapping was made.
    left_name: String,
    right_id: String,
    right_name: String,
    created_at: DateTime<Utc>,
}

impl From<SyncPersonMapping> for PersonMappingResponse {
    fn from(m: SyncPersonMapping) -> Self {
        PersonMappingResponse {
            id: m.id,
            left_id: m.left_id,
            left_name: m.left_name,
            right_id: m.right_id,
            right_name: m.right_name,
            created_at: m.created_at,
        }
    }
}

/// A pair's people.
#[derive(Serialize, ToSchema)]
pub(crate) struct PeopleResponse {
    /// Whether the pair maps people automatically.
    auto_map_people: bool,
    /// Both sides' people (GitLab project members, Jira users assignable
    /// in the project), left first.
    people: Vec<PersonResponse>,
    /// The manual mappings, oldest first.
    manual: Vec<PersonMappingResponse>,
}

impl From<PeopleView> for PeopleResponse {
    fn from(v: PeopleView) -> Self {
        PeopleResponse {
            auto_map_people: v.auto_map_people,
            people: v.people.into_iter().map(Into::into).collect(),
            manual: v.manual.into_iter().map(Into::into).collect(),
        }
    }
}

/// A manual mapping as you make it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PersonMappingRequest {
    /// The person's id on the left side (one of its people).
    left_id: String,
    /// The person's id on the right side (one of its people).
    right_id: String,
}

/// Both sides' people, read from the trackers now, with how each is
/// mapped.
#[utoipa::path(get, path = "/api/v1/sync-pairs/{id}/people", tag = "sync", params(("id" = i64, Path)), responses(
    (status = 200, description = "The pair's people", body = PeopleResponse),
    (status = 404, description = "No such pair of yours", body = ErrorBody),
    (status = 502, description = "A side's people cannot be read", body = ErrorBody)))]
pub(crate) async fn list_people(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<i64>,
) -> Result<Json<PeopleResponse>, ApiError> {
    Ok(Json(state.sync.list_people(&caller, id).await?.into()))
}

/// Maps a person on the left to one on the right by hand, overriding the
/// automatic mapping. A person already mapped by hand on either side is
/// refused (422 naming `left_id` or `right_id`; nothing is saved).
#[utoipa::path(post, path = "/api/v1/sync-pairs/{id}/people", tag = "sync", params(("id" = i64, Path)),
    request_body = PersonMappingRequest, responses(
    (status = 201, description = "Mapped", body = PersonMappingResponse),
    (status = 404, description = "No such pair of yours", body = ErrorBody),
    (status = 422, description = "A person unknown or mapped already, the field named", body = ErrorBody),
    (status = 502, description = "A side's people cannot be read", body = ErrorBody)))]
pub(crate) async fn map_person(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<PersonMappingRequest>,
) -> Result<(StatusCode, Json<PersonMappingResponse>), ApiError> {
    let mapping = state
        .sync
        .map_person(&caller, id, &body.left_id, &body.right_id, Utc::now())
        .await?;
    Ok((StatusCode::CREATED, Json(mapping.into())))
}

/// Deletes a manual mapping; the two people fall back to the automatic
/// mapping, if the pair has it.
#[utoipa::path(delete, path = "/api/v1/sync-pairs/{id}/people/{mapping}", tag = "sync",
    params(("id" = i64, Path), ("mapping" = i64, Path)), responses(
    (status = 204, description = "Deleted"),
    (status = 404, description = "No such pair of yours or mapping in it", body = ErrorBody)))]
pub(crate) async fn unmap_person(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path((id, mapping)): Path<(i64, i64)>,
) -> Result<StatusCode, ApiError> {
    state
        .sync
        .unmap_person(&caller, id, mapping, Utc::now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
