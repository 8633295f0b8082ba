//! Teams: admins create, rename, lead, add and remove members, delete;
//! everyone signed in lists and reads them.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use cairn_engine::goals::Reassign;
use cairn_store::Team;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::SignedIn;
use crate::auth::{ManageTeams, Permitted};
use crate::json::ApiJson;
use crate::{ApiError, AppState, ErrorBody};

/// A team as the API shows it.
#[derive(Serialize, ToSchema)]
pub(crate) struct TeamView {
    id: i64,
    name: String,
    /// The lead's user id; the lead is a member.
    lead_id: Option<i64>,
    /// The members' user ids, ascending.
    member_ids: Vec<i64>,
    /// How many OKRs the team owns.
    okr_count: i64,
    created_at: DateTime<Utc>,
}

async fn view(state: &AppState, team: Team) -> Result<TeamView, ApiError> {
    let okr_count = state.store.count_team_okrs(team.id).await?;
    Ok(TeamView {
        id: team.id,
        name: team.name,
        lead_id: team.lead_id,
        member_ids: team.member_ids,
        okr_count,
        created_at: team.created_at,
    })
}

/// A team's name and lead.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TeamRequest {
    /// Unique whatever its case.
    name: String,
    /// An active user, who becomes a member; absent or null: no lead.
    #[serde(default)]
    lead_id: Option<i64>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MemberRequest {
    user_id: i64,
}

#[derive(Deserialize, IntoParams)]
pub(crate) struct DeleteTeamQuery {
    /// Where the team's OKRs go: another team's id, or `people` (each
    /// keeps only the person who owns it). Needed when the team owns OKRs.
    reassign_to: Option<String>,
}

/// What deleting a team did.
#[derive(Serialize, ToSchema)]
pub(crate) struct TeamDeleted {
    /// How many OKRs were given to someone else.
    okrs_moved: u64,
}

/// Every team, by name.
#[utoipa::path(get, path = "/api/v1/teams", tag = "teams", responses(
    (status = 200, description = "The teams", body = Vec<TeamView>)))]
pub(crate) async fn list_teams(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
) -> Result<Json<Vec<TeamView>>, ApiError> {
    let teams = state.goals.list_teams(&caller).await?;
    let mut views = Vec::with_capacity(teams.len());
    for team in teams {
        views.push(view(&state, team).await?);
    }
    Ok(Json(views))
}

/// Creates a team (admins).
#[utoipa::path(post, path = "/api/v1/teams", tag = "teams", request_body = TeamRequest, responses(
    (status = 201, description = "Created", body = TeamView),
    (status = 403, description = "Not an admin", body = ErrorBody),
    (status = 422, description = "Invalid field (a name taken, a lead who is no active user)", body = ErrorBody)))]
pub(crate) async fn create_team(
    State(state): State<AppState>,
    Permitted(caller, _): Permitted<ManageTeams>,
    ApiJson(body): ApiJson<TeamRequest>,
) -> Result<(StatusCode, Json<TeamView>), ApiError> {
    let team = state
        .goals
        .create_team(&caller, &body.name, body.lead_id, Utc::now())
        .await?;
    Ok((StatusCode::CREATED, Json(view(&state, team).await?)))
}

/// One team.
#[utoipa::path(get, path = "/api/v1/teams/{id}", tag = "teams", params(("id" = i64, Path)), responses(
    (status = 200, description = "The team", body = TeamView),
    (status = 404, description = "No such team", body = ErrorBody)))]
pub(crate) async fn get_team(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<i64>,
) -> Result<Json<TeamView>, ApiError> {
    let team = state.goals.get_team(&caller, id).await?;
    Ok(Json(view(&state, team).await?))
}

/// Renames a team and sets its lead (admins).
#[utoipa::path(put, path = "/api/v1/teams/{id}", tag = "teams", params(("id" = i64, Path)), request_body = TeamRequest, responses(
    (status = 200, description = "Updated", body = TeamView),
    (status = 403, description = "Not an admin", body = ErrorBody),
    (status = 404, description = "No such team", body = ErrorBody),
    (status = 422, description = "Invalid field", body = ErrorBody)))]
pub(crate) async fn update_team(
    State(state): State<AppState>,
    Permitted(caller, _): Permitted<ManageTeams>,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<TeamRequest>,
) -> Result<Json<TeamView>, ApiError> {
    let team = state
        .goals
        .update_team(&caller, id, &body.name, body.lead_id, Utc::now())
        .await?;
    Ok(Json(view(&state, team).await?))
}

/// Deletes a team (admins). A team that owns OKRs is refused with how
/// many unless `reassign_to` gives them to someone else in the same step.
#[utoipa::path(delete, path = "/api/v1/teams/{id}", tag = "teams", params(("id" = i64, Path), DeleteTeamQuery), responses(
    (status = 200, description = "Deleted", body = TeamDeleted),
    (status = 403, description = "Not an admin", body = ErrorBody),
    (status = 404, description = "No such team", body = ErrorBody),
    (status = 409, description = "The team owns OKRs and reassign_to is missing; the message says how many", body = ErrorBody),
    (status = 422, description = "reassign_to names no other team", body = ErrorBody)))]
pub(crate) async fn delete_team(
    State(state): State<AppState>,
    Permitted(caller, _): Permitted<ManageTeams>,
    Path(id): Path<i64>,
    Query(query): Query<DeleteTeamQuery>,
) -> Result<Json<TeamDeleted>, ApiError> {
    let reassign_to = query
        .reassign_to
        .as_deref()
        .filter(|v| !v.trim().is_empty())
        .map(Reassign::parse)
        .transpose()?;
    let okrs_moved = state
        .goals
        .delete_team(&caller, id, reassign_to, Utc::now())
        .await?;
    Ok(Json(TeamDeleted { okrs_moved }))
}

/// Adds a member (admins); one added twice is refused, naming `user_id`.
#[utoipa::path(post, path = "/api/v1/teams/{id}/members", tag = "teams", params(("id" = i64, Path)), request_body = MemberRequest, responses(
    (status = 200, description = "The team with its new member", body = TeamView),
    (status = 403, description = "Not an admin", body = ErrorBody),
    (status = 404, description = "No such team", body = ErrorBody),
    (status = 422, description = "No such active user, or a member already", body = ErrorBody)))]
pub(crate) async fn add_member(
    State(state): State<AppState>,
    Permitted(caller, _): Permitted<ManageTeams>,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<MemberRequest>,
) -> Result<Json<TeamView>, ApiError> {
    let team = state
        .goals
        .add_team_member(&caller, id, body.user_id, Utc::now())
        .await?;
    Ok(Json(view(&state, team).await?))
}

/// Removes a member (admins); a lead who leaves is no longer the lead.
#[utoipa::path(delete, path = "/api/v1/teams/{id}/members/{user_id}", tag = "teams", params(("id" = i64, Path), ("user_id" = i64, Path)), responses(
    (status = 200, description = "The team without the member", body = TeamView),
    (status = 403, description = "Not an admin", body = ErrorBody),
    (status = 404, description = "No such team or member", body = ErrorBody)))]
pub(crate) async fn remove_member(
    State(state): State<AppState>,
    Permitted(caller, _): Permitted<ManageTeams>,
    Path((id, user_id)): Path<(i64, i64)>,
) -> Result<Json<TeamView>, ApiError> {
    let team = state
        .goals
        .remove_team_member(&caller, id, user_id, Utc::now())
        .await?;
    Ok(Json(view(&state, team).await?))
}
