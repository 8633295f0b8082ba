use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use cairn_core::goals::{IssueState, Measure, ProgressSource, Status};
use cairn_engine::goals::gitlab_link::RefreshOutcome;
use cairn_engine::goals::{Explain, GitLabQuery, LinkInput, OkrInput};
use cairn_store::goals::{
    CheckInRecord, DataLink, Okr, OkrKind, OkrProgress, Period, ProgressPoint,
};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::SignedIn;
use crate::auth::{ManagePeriods, Permitted};
use crate::json::ApiJson;
use crate::{ApiError, AppState, ErrorBody};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewPeriod {
    name: String,
    starts_on: NaiveDate,
    ends_on: NaiveDate,
    /// Days between check-ins on its key results, 1 to 90 (7 unless given).
    check_in_every_days: Option<i64>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PeriodChanges {
    /// Days between check-ins on its key results, 1 to 90.
    check_in_every_days: i64,
}

/// Periods (quarters), oldest first.
#[utoipa::path(get, path = "/api/v1/periods", tag = "goals", responses(
    (status = 200, description = "Periods", body = Vec<Period>)))]
pub(crate) async fn list_periods(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
) -> Result<Json<Vec<Period>>, ApiError> {
    Ok(Json(state.goals.list_periods(&caller).await?))
}

/// Creates a period (admins only).
#[utoipa::path(post, path = "/api/v1/periods", tag = "goals", request_body = NewPeriod, responses(
    (status = 201, description = "Created", body = Period),
    (status = 409, description = "Name taken", body = ErrorBody),
    (status = 422, description = "Invalid field", body = ErrorBody)))]
pub(crate) async fn create_period(
    State(state): State<AppState>,
    Permitted(caller, _): Permitted<ManagePeriods>,
    ApiJson(body): ApiJson<NewPeriod>,
) -> Result<(StatusCode, Json<Period>), ApiError> {
    let period = state
        .goals
        .create_period(
            &caller,
            &body.name,
            body.starts_on,
            body.ends_on,
            body.check_in_every_days,
            Utc::now(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(period)))
}

/// Changes a period's check-in cadence (admins only).
#[utoipa::path(patch, path = "/api/v1/periods/{id}", tag = "goals", params(("id" = i64, Path)), request_body = PeriodChanges, responses(
    (status = 200, description = "Changed", body = Period),
    (status = 404, description = "No such period", body = ErrorBody),
    (status = 422, description = "Invalid field", body = ErrorBody)))]
pub(crate) async fn update_period(
    State(state): State<AppState>,
    Permitted(caller, _): Permitted<ManagePeriods>,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<PeriodChanges>,
) -> Result<Json<Period>, ApiError> {
    Ok(Json(
        state
            .goals
            .set_check_in_cadence(&caller, id, body.check_in_every_days, Utc::now())
            .await?,
    ))
}

/// How an OKR is measured: the JSON of `core::goals::Measure`, for the
/// document (core knows nothing of the API).
#[derive(Serialize, ToSchema)]
#[serde(tag = "mode", rename_all = "snake_case")]
#[allow(dead_code)]
pub(crate) enum MeasureSchema {
    /// Progress is the share of the work done, 0 to 100 %.
    PercentComplete,
    /// Progress is where a value stands between start and target.
    Kpi {
        /// What the value counts ("issues", "hours", "%").
        unit: String,
        /// The value where progress is 0 %.
        start_value: f64,
        /// The value where progress is 100 %.
        target_value: f64,
        /// `increasing` or `decreasing`; checked against the values.
        direction: Option<String>,
    },
}

/// An OKR as the API shows it.
#[derive(Serialize, ToSchema)]
pub(crate) struct OkrView {
    id: i64,
    #[schema(value_type = String, example = "key_result")]
    kind: OkrKind,
    title: String,
    description: String,
    owner_id: i64,
    /// The team that owns it too, if any.
    owner_team_id: Option<i64>,
    period_id: i64,
    parent_id: Option<i64>,
    starts_on: NaiveDate,
    due_on: NaiveDate,
    #[schema(value_type = MeasureSchema)]
    measure: Measure,
    weight: f64,
    contributes: bool,
    #[schema(value_type = String, example = "data_link")]
    progress_source: ProgressSource,
    /// The last computed progress; absent until there is something to measure.
    progress: Option<OkrProgress>,
    /// The data link, for key results that read a tracker.
    link: Option<LinkView>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct LinkView {
    connection_id: i64,
    /// What the link reads: GitLab's project, milestone, assignee, labels,
    /// iids; or Jira's JQL (and story points field).
    #[schema(value_type = Object)]
    query: serde_json::Value,
    /// How items count: the tracker, and GitLab's issue state or Jira's
    /// metric and scope.
    #[schema(value_type = Object)]
    rule: serde_json::Value,
    refresh_interval_secs: Option<i64>,
    next_refresh_at: DateTime<Utc>,
    last_success_at: Option<DateTime<Utc>>,
    last_full_at: Option<DateTime<Utc>>,
    /// True when the last refresh failed: the number shown is from the last success.
    stale: bool,
    last_error: Option<String>,
    last_error_code: Option<String>,
    failures: i64,
}

impl From<DataLink> for LinkView {
    fn from(l: DataLink) -> Self {
        LinkView {
            connection_id: l.connection_id,
            query: l.query,
            rule: l.rule,
            refresh_interval_secs: l.refresh_interval_secs,
            next_refresh_at: l.next_refresh_at,
            last_success_at: l.last_success_at,
            last_full_at: l.last_full_at,
            stale: l.failures > 0,
            last_error: l.last_error,
            last_error_code: l.last_error_code,
            failures: l.failures,
        }
    }
}

pub(crate) async fn view(state: &AppState, okr: Okr) -> Result<OkrView, ApiError> {
    let link = state.store.link_for_okr(okr.id).await?.map(LinkView::from);
    let f = okr.fields;
    Ok(OkrView {
        id: okr.id,
        kind: f.kind,
        title: f.title,
        description: f.description,
        owner_id: f.owner_id,
        owner_team_id: f.owner_team_id,
        period_id: f.period_id,
        parent_id: f.parent_id,
        starts_on: f.starts_on,
        due_on: f.due_on,
        measure: f.measure,
        weight: f.weight,
        contributes: f.contributes,
        progress_source: f.progress_source,
        progress: okr.progress,
        link,
        created_at: okr.created_at,
        updated_at: okr.updated_at,
    })
}

/// Filters of the OKR list; each one set narrows it. A value that is not
/// a number, or names nothing that exists, is refused naming its field.
#[derive(Deserialize, IntoParams)]
pub(crate) struct OkrListQuery {
    /// A period's id.
    #[param(value_type = Option<i64>)]
    period_id: Option<String>,
    /// Owned by this user.
    #[param(value_type = Option<i64>)]
    owner_id: Option<String>,
    /// Owned by this team.
    #[param(value_type = Option<i64>)]
    team_id: Option<String>,
    /// `not_started`, `on_track`, `behind`, `at_risk` or `done`.
    status: Option<String>,
    /// `true`: only the caller's OKRs (owned by them or by a team of theirs).
    #[param(value_type = Option<bool>)]
    mine: Option<String>,
}

/// An optional id in a query; empty is none.
pub(crate) fn query_id(field: &str, value: Option<&str>) -> Result<Option<i64>, ApiError> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => text
            .parse::<i64>()
            .map(Some)
            .map_err(|_| ApiError::invalid_field(field, format!("`{text}` is not an id"))),
    }
}

impl OkrListQuery {
    pub(crate) fn to_engine(&self) -> Result<cairn_engine::goals::OkrQuery, ApiError> {
        let mine = match self.mine.as_deref().map(str::trim) {
            None | Some("") | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                return Err(ApiError::invalid_field(
                    "mine",
                    format!("`{other}` is neither true nor false"),
                ));
            }
        };
        Ok(cairn_engine::goals::OkrQuery {
            period_id: query_id("period_id", self.period_id.as_deref())?,
            owner_id: query_id("owner_id", self.owner_id.as_deref())?,
            team_id: query_id("team_id", self.team_id.as_deref())?,
            status: self.status.clone(),
            mine,
        })
    }
}

/// OKRs, filtered by period, owner, team, status, or the caller's own.
#[utoipa::path(get, path = "/api/v1/okrs", tag = "goals", params(OkrListQuery), responses(
    (status = 200, description = "OKRs with their progress", body = Vec<OkrView>),
    (status = 422, description = "A filter that is no id, or names nothing that exists", body = ErrorBody)))]
pub(crate) async fn list_okrs(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Query(query): Query<OkrListQuery>,
) -> Result<Json<Vec<OkrView>>, ApiError> {
    let okrs = state
        .goals
        .filter_okrs(&caller, &query.to_engine()?)
        .await?;
    let mut views = Vec::with_capacity(okrs.len());
    for okr in okrs {
        views.push(view(&state, okr).await?);
    }
    Ok(Json(views))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct OkrRequest {
    #[schema(value_type = String, example = "key_result")]
    kind: OkrKind,
    title: String,
    #[serde(default)]
    description: String,
    /// Default: the caller.
    owner_id: Option<i64>,
    /// A team that owns it too (a member may name only a team of theirs);
    /// absent keeps the current one, null removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>, nullable)]
    owner_team_id: Option<Option<i64>>,
    period_id: i64,
    /// The objective or key result this one aligns to.
    parent_id: Option<i64>,
    /// Default: the period's start.
    starts_on: Option<NaiveDate>,
    /// Default: the period's end.
    due_on: Option<NaiveDate>,
    /// `{"mode":"percent_complete"}` or `{"mode":"kpi","unit":"issues","start_value":0,"target_value":30}`.
    #[schema(value_type = MeasureSchema)]
    measure: Measure,
    /// Default 1.
    weight: Option<f64>,
    /// Default true.
    contributes: Option<bool>,
    /// `check_in`, `roll_up` or `data_link`.
    #[schema(value_type = String, example = "check_in")]
    progress_source: ProgressSource,
}

/// A field that is present, even as null (absent stays `None`).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<i64>>, D::Error> {
    Option::<i64>::deserialize(d).map(Some)
}

impl From<OkrRequest> for OkrInput {
    fn from(r: OkrRequest) -> Self {
        OkrInput {
            kind: r.kind,
            title: r.title,
            description: r.description,
            owner_id: r.owner_id,
            owner_team_id: r.owner_team_id,
            period_id: r.period_id,
            parent_id: r.parent_id,
            starts_on: r.starts_on,
            due_on: r.due_on,
            measure: r.measure,
            weight: r.weight,
            contributes: r.contributes,
            progress_source: r.progress_source,
        }
    }
}

/// Creates an objective or key result.
#[utoipa::path(post, path = "/api/v1/okrs", tag = "goals", request_body = OkrRequest, responses(
    (status = 201, description = "Created", body = OkrView),
    (status = 403, description = "An owner or team the caller may not give it to", body = ErrorBody),
    (status = 422, description = "Invalid field", body = ErrorBody)))]
pub(crate) async fn create_okr(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    ApiJson(body): ApiJson<OkrRequest>,
) -> Result<(StatusCode, Json<OkrView>), ApiError> {
    let okr = state
        .goals
        .create_okr(&caller, body.into(), Utc::now())
        .await?;
    Ok((StatusCode::CREATED, Json(view(&state, okr).await?)))
}

/// One OKR with its progress and link.
#[utoipa::path(get, path = "/api/v1/okrs/{id}", tag = "goals", params(("id" = i64, Path)), responses(
    (status = 200, description = "The OKR", body = OkrView),
    (status = 404, description = "No such OKR", body = ErrorBody)))]
pub(crate) async fn get_okr(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<i64>,
) -> Result<Json<OkrView>, ApiError> {
    let okr = state.goals.get_okr(&caller, id).await?;
    Ok(Json(view(&state, okr).await?))
}

/// Replaces an OKR's settings (its owner or an admin); recalculates at once.
#[utoipa::path(put, path = "/api/v1/okrs/{id}", tag = "goals", params(("id" = i64, Path)), request_body = OkrRequest, responses(
    (status = 200, description = "Updated", body = OkrView),
    (status = 403, description = "Not the owner", body = ErrorBody),
    (status = 422, description = "Invalid field (a parent that would make a cycle, ...)", body = ErrorBody)))]
pub(crate) async fn update_okr(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<OkrRequest>,
) -> Result<Json<OkrView>, ApiError> {
    let okr = state
        .goals
        .update_okr(&caller, id, body.into(), Utc::now())
        .await?;
    Ok(Json(view(&state, okr).await?))
}

/// Deletes an OKR; its children become top-level.
#[utoipa::path(delete, path = "/api/v1/okrs/{id}", tag = "goals", params(("id" = i64, Path)), responses(
    (status = 204, description = "Deleted"),
    (status = 403, description = "Not the owner", body = ErrorBody)))]
pub(crate) async fn delete_okr(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    state.goals.delete_okr(&caller, id, Utc::now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CheckInRequest {
    /// The number, for an OKR measured by check-ins: a percent for percent
    /// complete, the KPI's value for a KPI. Left out on an OKR whose number
    /// is computed (a data link, a roll-up): there a check-in records a
    /// note and a confidence beside the number.
    value: Option<f64>,
    /// A status chosen by hand, for an OKR measured by check-ins.
    #[schema(value_type = Option<String>, example = "at_risk")]
    status_override: Option<Status>,
    /// How the author sees it: `on_track`, `behind` or `at_risk`.
    #[schema(value_type = Option<String>, example = "behind")]
    confidence: Option<Status>,
    #[serde(default)]
    note: String,
}

impl CheckInRequest {
    fn input(&self) -> cairn_engine::goals::CheckInInput<'_> {
        cairn_engine::goals::CheckInInput {
            value: self.value,
            status_override: self.status_override,
            confidence: self.confidence,
            note: &self.note,
        }
    }
}

/// Check-ins of an OKR, oldest first.
#[utoipa::path(get, path = "/api/v1/okrs/{id}/check-ins", tag = "goals", params(("id" = i64, Path)), responses(
    (status = 200, description = "Check-ins", body = Vec<CheckInRecord>)))]
pub(crate) async fn list_check_ins(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<i64>,
) -> Result<Json<Vec<CheckInRecord>>, ApiError> {
    Ok(Json(state.goals.list_check_ins(&caller, id).await?))
}

/// Checks in (the OKR's owner or an admin): a value on an OKR measured by
/// check-ins; a note and a confidence on any OKR, never changing a
/// computed number.
#[utoipa::path(post, path = "/api/v1/okrs/{id}/check-ins", tag = "goals", params(("id" = i64, Path)), request_body = CheckInRequest, responses(
    (status = 201, description = "Recorded", body = CheckInRecord),
    (status = 422, description = "Invalid field: a missing or unwanted value, a status override on a computed OKR, a confidence that is not on_track, behind or at_risk", body = ErrorBody)))]
pub(crate) async fn create_check_in(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<CheckInRequest>,
) -> Result<(StatusCode, Json<CheckInRecord>), ApiError> {
    let record = state
        .goals
        .check_in(&caller, id, &body.input(), Utc::now())
        .await?;
    Ok((StatusCode::CREATED, Json(record)))
}

/// Edits a check-in (its author or an admin).
#[utoipa::path(put, path = "/api/v1/check-ins/{id}", tag = "goals", params(("id" = i64, Path)), request_body = CheckInRequest, responses(
    (status = 200, description = "Updated", body = CheckInRecord),
    (status = 403, description = "Not the author", body = ErrorBody),
    (status = 422, description = "Invalid field", body = ErrorBody)))]
pub(crate) async fn update_check_in(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<CheckInRequest>,
) -> Result<Json<CheckInRecord>, ApiError> {
    let record = state
        .goals
        .update_check_in(&caller, id, &body.input(), Utc::now())
        .await?;
    Ok(Json(record))
}

/// Deletes a check-in (its author or an admin).
#[utoipa::path(delete, path = "/api/v1/check-ins/{id}", tag = "goals", params(("id" = i64, Path)), responses(
    (status = 204, description = "Deleted"),
    (status = 403, description = "Not the author", body = ErrorBody)))]
pub(crate) async fn delete_check_in(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    state.goals.delete_check_in(&caller, id, Utc::now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct GitLabLinkRequest {
    connection_id: i64,
    /// Project path (`group/project`) or id.
    project: String,
    milestone: Option<String>,
    /// Assignee user name.
    assignee: Option<String>,
    /// An issue must carry all of them.
    #[serde(default)]
    labels: Vec<String>,
    /// Specific issues by `#iid`.
    #[serde(default)]
    iids: Vec<u64>,
    /// KPI only: `opened`, `closed` or `all` (GitLab's words).
    #[schema(value_type = Option<String>, example = "closed")]
    state: Option<IssueState>,
    /// At least 60.
    refresh_interval_secs: Option<i64>,
}

/// A key result's data link, by tracker: `{"tracker": "gitlab", ...}` or
/// `{"tracker": "jira", ...}`.
#[derive(Deserialize, ToSchema)]
#[serde(tag = "tracker", rename_all = "lowercase")]
pub(crate) enum LinkRequest {
    /// GitLab issues of a project.
    Gitlab(GitLabLinkRequest),
    /// The Jira tickets a JQL query matches.
    Jira(super::jira::JiraLinkRequest),
}

/// Links a key result to GitLab issues or Jira tickets (replacing any link
/// it had); reads them and recalculates at once. Nothing is saved when a
/// field is refused.
#[utoipa::path(put, path = "/api/v1/okrs/{id}/link", tag = "goals", params(("id" = i64, Path)), request_body = LinkRequest, responses(
    (status = 200, description = "Linked and recalculated", body = OkrView),
    (status = 403, description = "Not the OKR's owner or an admin", body = ErrorBody),
    (status = 404, description = "No such OKR", body = ErrorBody),
    (status = 409, description = "The key result's progress source is not data_link", body = ErrorBody),
    (status = 422, description = "Invalid field: unknown project or milestone, `jql` (Jira's message), `metric`, a connection you may not use, ...", body = ErrorBody),
    (status = 502, description = "GitLab or Jira failed; the diagnosis says why", body = ErrorBody)))]
pub(crate) async fn put_link(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<LinkRequest>,
) -> Result<Json<OkrView>, ApiError> {
    let by = &caller;
    match body {
        LinkRequest::Gitlab(body) => {
            let input = LinkInput {
                connection_id: body.connection_id,
                query: GitLabQuery {
                    project: body.project,
                    milestone: body.milestone.filter(|m| !m.trim().is_empty()),
                    assignee: body.assignee.filter(|a| !a.trim().is_empty()),
                    labels: body.labels,
                    iids: body.iids,
                },
                state: body.state,
                refresh_interval_secs: body.refresh_interval_secs,
            };
            state
                .goals
                .set_gitlab_link(by, id, input, Utc::now())
                .await?;
        }
        LinkRequest::Jira(body) => {
            let input = body.input()?;
            state.goals.set_jira_link(by, id, input, Utc::now()).await?;
        }
    }
    let okr = state.goals.get_okr(by, id).await?;
    Ok(Json(view(&state, okr).await?))
}

/// A key result's data link and how its reads went.
#[utoipa::path(get, path = "/api/v1/okrs/{id}/link", tag = "goals", params(("id" = i64, Path)), responses(
    (status = 200, description = "The link", body = LinkView),
    (status = 404, description = "No such OKR, or it has no link", body = ErrorBody)))]
pub(crate) async fn get_link(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<i64>,
) -> Result<Json<LinkView>, ApiError> {
    let link = state.goals.link_of(&caller, id).await?;
    Ok(Json(link.into()))
}

/// Removes a key result's data link; its progress keeps the last number
/// read until the source changes.
#[utoipa::path(delete, path = "/api/v1/okrs/{id}/link", tag = "goals", params(("id" = i64, Path)), responses(
    (status = 204, description = "Removed"),
    (status = 403, description = "Not the OKR's owner or an admin", body = ErrorBody),
    (status = 404, description = "No such OKR, or it has no link", body = ErrorBody)))]
pub(crate) async fn delete_link(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    state.goals.delete_link(&caller, id, Utc::now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Refreshes a key result's link now (incremental).
#[utoipa::path(post, path = "/api/v1/okrs/{id}/refresh", tag = "goals", params(("id" = i64, Path)), responses(
    (status = 200, description = "What the refresh did; a failure leaves progress unchanged", body = RefreshOutcome),
    (status = 409, description = "No data link", body = ErrorBody)))]
pub(crate) async fn refresh(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<i64>,
) -> Result<Json<RefreshOutcome>, ApiError> {
    Ok(Json(
        state.goals.refresh_okr(&caller, id, Utc::now()).await?,
    ))
}

/// The items, children or check-in behind an OKR's number, each with its contribution.
#[utoipa::path(get, path = "/api/v1/okrs/{id}/explain", tag = "goals", params(("id" = i64, Path)), responses(
    (status = 200, description = "The explanation", body = Explain)))]
pub(crate) async fn explain(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<i64>,
) -> Result<Json<Explain>, ApiError> {
    Ok(Json(state.goals.explain(&caller, id).await?))
}

/// A forecast as the API shows it (`cairn_core::goals::forecast::Forecast`),
/// tagged by `outcome`.
#[allow(dead_code)] // A schema only: the engine's value is what is sent.
#[derive(ToSchema)]
#[schema(as = Forecast)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub(crate) enum ForecastSchema {
    /// The history is shorter than the minimum (48 hours).
    NotEnoughData {
        /// Hours from the first point to now.
        history_hours: f64,
        /// The minimum.
        needed_hours: i64,
    },
    /// The target is reached.
    Reached {
        /// The first point of the latest run at 100 %.
        reached_at: DateTime<Utc>,
    },
    /// The recent pace (the last 14 days, or since the first point) and
    /// where it leads.
    Paced {
        /// Where the pace is measured from, and the percent then.
        since: DateTime<Utc>,
        percent_then: f64,
        percent_now: f64,
        /// Percentage points a day over the window.
        points_per_day: f64,
        /// When 100 % is reached at that pace; null when it is not positive.
        reaches_target_at: Option<DateTime<Utc>>,
        /// Whether that is by the end of the due date.
        on_time: bool,
        /// Percentage points a day that make the due date; null once it
        /// has passed.
        needed_points_per_day: Option<f64>,
        /// The end of the due date.
        due_at: DateTime<Utc>,
    },
}

/// When an OKR reaches its target at its recent pace, and the pace its due
/// date needs; "not enough data" below 48 hours of history.
#[utoipa::path(get, path = "/api/v1/okrs/{id}/forecast", tag = "goals", params(("id" = i64, Path)), responses(
    (status = 200, description = "The forecast", body = ForecastSchema)))]
pub(crate) async fn forecast(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<i64>,
) -> Result<Json<cairn_core::goals::forecast::Forecast>, ApiError> {
    Ok(Json(state.goals.forecast(&caller, id, Utc::now()).await?))
}

#[derive(Deserialize, IntoParams)]
pub(crate) struct HistoryQuery {
    /// Newest first; default 500.
    limit: Option<u32>,
}

/// Every change of an OKR's progress, newest first.
#[utoipa::path(get, path = "/api/v1/okrs/{id}/history", tag = "goals", params(("id" = i64, Path), HistoryQuery), responses(
    (status = 200, description = "Progress points", body = Vec<ProgressPoint>)))]
pub(crate) async fn history(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<i64>,
    Query(query): Query<HistoryQuery>,
) -> Result<Json<Vec<ProgressPoint>>, ApiError> {
    Ok(Json(
        state
            .goals
            .history(&caller, id, query.limit.unwrap_or(500))
            .await?,
    ))
}
