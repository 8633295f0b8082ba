//! Jira data links (`{"tracker": "jira", ...}` on `PUT /api/v1/okrs/{id}/link`),
//! the JQL preview and the connection's fields.

use axum::Json;
use axum::extract::{Path, State};
use cairn_core::goals::{JiraMetric, KpiScope};
use cairn_engine::goals::JiraLinkInput;
use cairn_engine::goals::jira_link::{JiraFieldChoices, JqlPreview};
use chrono::Utc;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::auth::SignedIn;
use crate::json::ApiJson;
use crate::{ApiError, AppState, ErrorBody};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct JiraLinkRequest {
    /// A Jira connection.
    connection_id: i64,
    /// The tickets to read; validated by Jira.
    jql: String,
    /// `count`, `time_spent`, `original_estimate`, `remaining_estimate` (KPI
    /// only), `progress` (KPI only), `story_points` or `custom_field:<id>`.
    #[schema(value_type = String, example = "count")]
    metric: String,
    /// KPI only: `completed_only` or `all`.
    #[schema(value_type = Option<String>, example = "completed_only")]
    scope: Option<KpiScope>,
    /// At least 60.
    refresh_interval_secs: Option<i64>,
}

impl JiraLinkRequest {
    /// The use case's input; the metric's name is checked here.
    pub(crate) fn input(self) -> Result<JiraLinkInput, ApiError> {
        let metric: JiraMetric =
            self.metric
                .parse()
                .map_err(|e: cairn_core::goals::GoalError| {
                    cairn_engine::EngineError::invalid("metric", e.to_string())
                })?;
        Ok(JiraLinkInput {
            connection_id: self.connection_id,
            jql: self.jql,
            metric,
            scope: self.scope,
            refresh_interval_secs: self.refresh_interval_secs,
        })
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PreviewRequest {
    jql: String,
}

/// Runs a JQL query through Jira before saving it: the number of matches
/// and the first 20 tickets, or Jira's error (with its position) as a 422
/// naming `jql`.
#[utoipa::path(post, path = "/api/v1/connections/{id}/jira/preview", tag = "goals", params(("id" = i64, Path)), request_body = PreviewRequest, responses(
    (status = 200, description = "Matches and the first 20 tickets", body = JqlPreview),
    (status = 422, description = "Jira refused the JQL, or not a Jira connection you may use", body = ErrorBody)))]
pub(crate) async fn preview(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<PreviewRequest>,
) -> Result<Json<JqlPreview>, ApiError> {
    let by = &caller;
    Ok(Json(state.goals.preview_jql(by, id, &body.jql).await?))
}

/// What a Jira link on this connection can measure: the metrics (custom
/// fields by name) and the story points field with where it comes from.
#[utoipa::path(get, path = "/api/v1/connections/{id}/jira/fields", tag = "goals", params(("id" = i64, Path)), responses(
    (status = 200, description = "Metrics, numeric custom fields and the story points field", body = JiraFieldChoices),
    (status = 422, description = "Not a Jira connection you may use", body = ErrorBody),
    (status = 502, description = "Jira did not answer as expected", body = ErrorBody)))]
pub(crate) async fn fields(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<i64>,
) -> Result<Json<JiraFieldChoices>, ApiError> {
    let by = &caller;
    Ok(Json(state.goals.jira_fields(by, id).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct StoryPointsRequest {
    /// A numeric custom field id, or null to detect it again.
    field: Option<String>,
}

/// Chooses the connection's story points field, overriding detection (for
/// sites with several story points fields or a renamed one).
#[utoipa::path(put, path = "/api/v1/connections/{id}/jira/story-points-field", tag = "goals", params(("id" = i64, Path)), request_body = StoryPointsRequest, responses(
    (status = 200, description = "The connection's choices after the change", body = JiraFieldChoices),
    (status = 403, description = "Only the owner or an admin may change the connection", body = ErrorBody),
    (status = 422, description = "`story_points_field`: not a numeric custom field, or not a Jira connection", body = ErrorBody)))]
pub(crate) async fn put_story_points_field(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<StoryPointsRequest>,
) -> Result<Json<JiraFieldChoices>, ApiError> {
    let by = &caller;
    Ok(Json(
        state
            .goals
            .set_story_points_field(by, id, body.field, Utc::now())
            .await?,
    ))
}
