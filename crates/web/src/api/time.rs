//! Time (issue 17): the organisation's GitLab activity source (admin),
//! people linked to GitLab accounts (admin bulk connect with the matches
//! shown first; a person connects or disconnects themselves), a person's
//! week of activity and suggestions, accepting and dismissing them, and
//! admin totals per person and project. A person's activity and
//! suggestions are theirs alone: anyone else, admins included, is told
//! they do not exist.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use cairn_core::worklogs::WorklogSettings;
use cairn_engine::EngineError;
use cairn_engine::hooks::setup::RealTime;
use cairn_engine::time::write::AcceptInput;
use cairn_engine::time::{
    ActivityView, PersonInput, PersonMatch, SourceInput, SuggestionView, WeekView, WorklogView,
};
use cairn_store::time::{DevLinkPair, DevLinks, MatchedBy, TimePerson, TimeSource, WatchedProject};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::SignedIn;
use crate::json::ApiJson;
use crate::{ApiError, AppState, ErrorBody};

/// The worklog rules; every field optional (defaults: 90, 30, 15, 480).
#[derive(Deserialize, Serialize, ToSchema, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub(crate) struct SettingsBody {
    /// A longer gap starts a new session: 5 to 720.
    #[serde(default = "gap")]
    session_gap_minutes: u32,
    /// Counted before a session's first activity: 0 to 240.
    #[serde(default = "lead_in")]
    lead_in_minutes: u32,
    /// One of 1, 5, 6, 10, 15, 20, 30, 60.
    #[serde(default = "rounding")]
    rounding_minutes: u32,
    /// The day's target in the week view: 0 to 1440.
    #[serde(default = "target")]
    daily_target_minutes: u32,
}

fn gap() -> u32 {
    WorklogSettings::default().session_gap_minutes
}
fn lead_in() -> u32 {
    WorklogSettings::default().lead_in_minutes
}
fn rounding() -> u32 {
    WorklogSettings::default().rounding_minutes
}
fn target() -> u32 {
    WorklogSettings::default().daily_target_minutes
}

impl From<SettingsBody> for WorklogSettings {
    fn from(s: SettingsBody) -> Self {
        WorklogSettings {
            session_gap_minutes: s.session_gap_minutes,
            lead_in_minutes: s.lead_in_minutes,
            rounding_minutes: s.rounding_minutes,
            daily_target_minutes: s.daily_target_minutes,
        }
    }
}

impl From<WorklogSettings> for SettingsBody {
    fn from(s: WorklogSettings) -> Self {
        SettingsBody {
            session_gap_minutes: s.session_gap_minutes,
            lead_in_minutes: s.lead_in_minutes,
            rounding_minutes: s.rounding_minutes,
            daily_target_minutes: s.daily_target_minutes,
        }
    }
}

/// The organisation's activity source.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SourceRequest {
    /// A GitLab connection (its token should be Owner or Maintainer of
    /// the projects, to register hooks).
    connection_id: i64,
    /// The Jira connection worklogs on Jira keys are written through.
    #[serde(default)]
    jira_connection_id: Option<i64>,
    /// Enabling registers project hooks (push, merge request, comment,
    /// issue) and fills the last 30 days.
    #[serde(default)]
    enabled: bool,
    /// Projects to watch (path or id); empty: every project the token
    /// sees as Owner or Maintainer.
    #[serde(default)]
    projects: Vec<String>,
    #[serde(default)]
    settings: Option<SettingsBody>,
}

/// A watched project and the token's role on it.
#[derive(Serialize, ToSchema)]
pub(crate) struct WatchedProjectView {
    id: i64,
    path: String,
    /// `owner`, `maintainer`, `developer`, ...: hooks need Maintainer.
    role: String,
}

impl From<&WatchedProject> for WatchedProjectView {
    fn from(p: &WatchedProject) -> Self {
        WatchedProjectView {
            id: p.id,
            path: p.path.clone(),
            role: p.role.clone(),
        }
    }
}

/// The source as stored.
#[derive(Serialize, ToSchema)]
pub(crate) struct SourceResponse {
    connection_id: i64,
    jira_connection_id: Option<i64>,
    enabled: bool,
    watch_all: bool,
    projects: Vec<WatchedProjectView>,
    settings: SettingsBody,
    /// Project hooks Cairn registered (removed on disconnect).
    registered_hooks: usize,
    backfilled_at: Option<DateTime<Utc>>,
    /// What enabling registered, and what to add by hand (only on PUT).
    #[serde(skip_serializing_if = "Option::is_none")]
    real_time: Option<RealTime>,
}

impl SourceResponse {
    fn of(s: &TimeSource, real_time: Option<RealTime>) -> Self {
        SourceResponse {
            connection_id: s.source.connection_id,
            jira_connection_id: s.source.jira_connection_id,
            enabled: s.source.enabled,
            watch_all: s.source.watch_all,
            projects: s.source.projects.iter().map(Into::into).collect(),
            settings: s.source.settings.into(),
            registered_hooks: s.registered_hooks.len(),
            backfilled_at: s.backfilled_at,
            real_time,
        }
    }
}

/// The organisation's source.
#[utoipa::path(get, path = "/api/v1/time/source", tag = "time", responses(
    (status = 200, description = "The source", body = SourceResponse),
    (status = 403, description = "Admins only", body = ErrorBody),
    (status = 404, description = "No source set up", body = ErrorBody)))]
pub(crate) async fn get_source(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
) -> Result<Json<SourceResponse>, ApiError> {
    let source = state
        .time
        .source(&caller)
        .await?
        .ok_or_else(|| EngineError::NotFound("no activity source".to_owned()))?;
    Ok(Json(SourceResponse::of(&source, None)))
}

/// Sets the organisation's source (admin). Enabling registers project
/// hooks with GitLab ("enable real-time") and fills the last 30 days.
#[utoipa::path(put, path = "/api/v1/time/source", tag = "time", request_body = SourceRequest, responses(
    (status = 200, description = "The source, with what enabling registered", body = SourceResponse),
    (status = 403, description = "Admins only", body = ErrorBody),
    (status = 422, description = "A field refused: `connection_id`, `jira_connection_id`, `projects`, a setting", body = ErrorBody),
    (status = 502, description = "GitLab could not be read", body = ErrorBody)))]
pub(crate) async fn put_source(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    headers: HeaderMap,
    ApiJson(body): ApiJson<SourceRequest>,
) -> Result<Json<SourceResponse>, ApiError> {
    let source = state
        .time
        .set_source(
            &caller,
            SourceInput {
                connection_id: body.connection_id,
                jira_connection_id: body.jira_connection_id,
                enabled: body.enabled,
                projects: body.projects,
                settings: body.settings.map(Into::into),
            },
            Utc::now(),
        )
        .await?;
    let base = crate::api::hooks::public_base(&state, &headers);
    let real_time = state
        .time
        .register_source_hooks(&state.hooks, &caller, &source, base.as_deref(), Utc::now())
        .await?;
    let source = state
        .time
        .source(&caller)
        .await?
        .ok_or_else(|| EngineError::NotFound("no activity source".to_owned()))?;
    Ok(Json(SourceResponse::of(&source, real_time)))
}

/// What disconnecting removed.
#[derive(Serialize, ToSchema)]
pub(crate) struct DisconnectedResponse {
    people: u64,
    activities: u64,
    decisions: u64,
}

impl From<cairn_store::time::Disconnected> for DisconnectedResponse {
    fn from(d: cairn_store::time::Disconnected) -> Self {
        DisconnectedResponse {
            people: d.people,
            activities: d.activities,
            decisions: d.decisions,
        }
    }
}

/// Disconnects the organisation (admin): the hooks Cairn registered are
/// removed, everyone is disconnected, all activity goes (written worklogs
/// stay); audited.
#[utoipa::path(delete, path = "/api/v1/time/source", tag = "time", responses(
    (status = 200, description = "What was removed", body = DisconnectedResponse),
    (status = 403, description = "Admins only", body = ErrorBody),
    (status = 404, description = "No source set up", body = ErrorBody)))]
pub(crate) async fn delete_source(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
) -> Result<Json<DisconnectedResponse>, ApiError> {
    let gone = state
        .time
        .disconnect_organisation(&caller, Utc::now())
        .await?;
    Ok(Json(gone.into()))
}

/// Cairn users to match with GitLab accounts.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MatchRequest {
    user_ids: Vec<i64>,
}

/// A Cairn user and the GitLab account found for them.
#[derive(Serialize, ToSchema)]
pub(crate) struct MatchView {
    user_id: i64,
    email: String,
    name: String,
    gitlab_user_id: Option<i64>,
    gitlab_username: Option<String>,
    gitlab_email: Option<String>,
    /// `email`, `username`, or null (no match).
    matched_by: Option<String>,
}

impl From<PersonMatch> for MatchView {
    fn from(m: PersonMatch) -> Self {
        MatchView {
            user_id: m.user_id,
            email: m.email,
            name: m.name,
            gitlab_user_id: m.gitlab_user_id,
            gitlab_username: m.gitlab_username,
            gitlab_email: m.gitlab_email,
            matched_by: m.matched_by.map(|b| b.as_str().to_owned()),
        }
    }
}

/// The GitLab account each user matches (by email, then username), for
/// an admin to confirm before connecting.
#[utoipa::path(post, path = "/api/v1/time/people/match", tag = "time", request_body = MatchRequest, responses(
    (status = 200, description = "One match (or none) per user", body = Vec<MatchView>),
    (status = 403, description = "Admins only", body = ErrorBody),
    (status = 422, description = "`user_ids`: no such user; `source`: none set up", body = ErrorBody),
    (status = 502, description = "GitLab could not be read", body = ErrorBody)))]
pub(crate) async fn match_people(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    ApiJson(body): ApiJson<MatchRequest>,
) -> Result<Json<Vec<MatchView>>, ApiError> {
    let found = state.time.match_people(&caller, &body.user_ids).await?;
    Ok(Json(found.into_iter().map(Into::into).collect()))
}

/// A person linked to a GitLab account.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PersonRequest {
    /// The Cairn user (an admin's bulk connect; yourself otherwise).
    #[serde(default)]
    user_id: Option<i64>,
    gitlab_user_id: i64,
    gitlab_username: String,
    #[serde(default)]
    gitlab_email: Option<String>,
    /// IANA zone their days are counted in, e.g. `Europe/Berlin`.
    time_zone: String,
    /// Your own Jira or GitLab connection: worklogs are written as you.
    #[serde(default)]
    own_connection_id: Option<i64>,
    /// `email`, `username` or `manual` (what the match was based on).
    #[serde(default)]
    matched_by: Option<String>,
}

/// A connected person.
#[derive(Serialize, ToSchema)]
pub(crate) struct PersonView {
    user_id: i64,
    gitlab_user_id: i64,
    gitlab_username: String,
    gitlab_email: Option<String>,
    own_token: bool,
    time_zone: String,
    /// `email`, `username`, `manual` or `self`.
    matched_by: String,
    connected_at: DateTime<Utc>,
}

impl From<TimePerson> for PersonView {
    fn from(p: TimePerson) -> Self {
        PersonView {
            user_id: p.person.user_id,
            gitlab_user_id: p.person.gitlab_user_id,
            gitlab_username: p.person.gitlab_username,
            gitlab_email: p.person.gitlab_email,
            own_token: p.person.own_token,
            time_zone: p.person.time_zone,
            matched_by: p.person.matched_by.as_str().to_owned(),
            connected_at: p.connected_at,
        }
    }
}

fn person_input(caller_id: i64, p: PersonRequest) -> Result<PersonInput, ApiError> {
    let matched_by = match p.matched_by.as_deref() {
        None => MatchedBy::Manual,
        Some(text) => MatchedBy::parse(text)
            .filter(|m| *m != MatchedBy::SelfConnected)
            .ok_or_else(|| EngineError::invalid("matched_by", "one of email, username, manual"))?,
    };
    Ok(PersonInput {
        user_id: p.user_id.unwrap_or(caller_id),
        gitlab_user_id: p.gitlab_user_id,
        gitlab_username: p.gitlab_username,
        gitlab_email: p.gitlab_email,
        time_zone: p.time_zone,
        own_connection_id: p.own_connection_id,
        matched_by,
    })
}

/// Names the element of the list a refused field belongs to
/// (`people[1].time_zone`).
fn prefixed(mut error: ApiError, n: usize) -> ApiError {
    if let Some(field) = &error.field {
        error.field = Some(format!("people[{n}].{field}"));
    }
    error
}

/// Connected people (admin).
#[utoipa::path(get, path = "/api/v1/time/people", tag = "time", responses(
    (status = 200, description = "Connected people", body = Vec<PersonView>),
    (status = 403, description = "Admins only", body = ErrorBody)))]
pub(crate) async fn list_people(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
) -> Result<Json<Vec<PersonView>>, ApiError> {
    let people = state.time.people(&caller).await?;
    Ok(Json(people.into_iter().map(Into::into).collect()))
}

/// People to connect at once.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct BulkRequest {
    people: Vec<PersonRequest>,
}

/// Connects people in bulk (admin), as confirmed from the matches; every
/// entry is checked before any is saved, the first refusal naming
/// `people[n].field`.
#[utoipa::path(post, path = "/api/v1/time/people", tag = "time", request_body = BulkRequest, responses(
    (status = 200, description = "The people connected", body = Vec<PersonView>),
    (status = 403, description = "Admins only", body = ErrorBody),
    (status = 409, description = "`gitlab_user_id`: linked to someone else", body = ErrorBody),
    (status = 422, description = "A field refused, e.g. `people[1].time_zone`", body = ErrorBody)))]
pub(crate) async fn connect_people(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    ApiJson(body): ApiJson<BulkRequest>,
) -> Result<Json<Vec<PersonView>>, ApiError> {
    if caller.user.role != cairn_core::authz::Role::Admin {
        return Err(EngineError::Forbidden("only an admin may do this".to_owned()).into());
    }
    let mut inputs = Vec::new();
    for (n, p) in body.people.into_iter().enumerate() {
        if p.user_id.is_none() {
            return Err(EngineError::invalid(&format!("people[{n}].user_id"), "required").into());
        }
        if let Err(e) = cairn_core::worklogs::parse_time_zone(&p.time_zone) {
            return Err(
                EngineError::invalid(&format!("people[{n}].time_zone"), e.to_string()).into(),
            );
        }
        inputs.push(person_input(caller.user.id, p).map_err(|e| prefixed(e, n))?);
    }
    let mut out = Vec::new();
    for (n, input) in inputs.into_iter().enumerate() {
        let person = state
            .time
            .connect_person(&caller, input, Utc::now())
            .await
            .map_err(|e| prefixed(ApiError::from(e), n))?;
        out.push(person.into());
    }
    Ok(Json(out))
}

/// Your own link to GitLab.
#[utoipa::path(get, path = "/api/v1/time/people/me", tag = "time", responses(
    (status = 200, description = "Your link", body = PersonView),
    (status = 404, description = "You are not connected", body = ErrorBody)))]
pub(crate) async fn get_me(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
) -> Result<Json<PersonView>, ApiError> {
    let person = state
        .time
        .person(&caller, caller.user.id)
        .await?
        .ok_or_else(|| EngineError::NotFound("not connected to GitLab".to_owned()))?;
    Ok(Json(person.into()))
}

/// Connects yourself to a GitLab account.
#[utoipa::path(put, path = "/api/v1/time/people/me", tag = "time", request_body = PersonRequest, responses(
    (status = 200, description = "Your link", body = PersonView),
    (status = 404, description = "`user_id` names someone else", body = ErrorBody),
    (status = 409, description = "`gitlab_user_id`: linked to someone else", body = ErrorBody),
    (status = 422, description = "A field refused, e.g. `time_zone`", body = ErrorBody)))]
pub(crate) async fn put_me(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    ApiJson(body): ApiJson<PersonRequest>,
) -> Result<Json<PersonView>, ApiError> {
    if body.user_id.is_some_and(|id| id != caller.user.id) {
        return Err(EngineError::NotFound("no such person".to_owned()).into());
    }
    let input = person_input(caller.user.id, body)?;
    let person = state
        .time
        .connect_person(&caller, input, Utc::now())
        .await?;
    Ok(Json(person.into()))
}

/// Disconnects a person (yourself, or anyone for an admin): their
/// activity and pending suggestions go; written worklogs stay.
#[utoipa::path(delete, path = "/api/v1/time/people/{user_id}", tag = "time", params(("user_id" = i64, Path)), responses(
    (status = 200, description = "What was removed", body = DisconnectedResponse),
    (status = 404, description = "Not connected, or not yours", body = ErrorBody)))]
pub(crate) async fn delete_person(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(user_id): Path<i64>,
) -> Result<Json<DisconnectedResponse>, ApiError> {
    let gone = state
        .time
        .disconnect_person(&caller, user_id, Utc::now())
        .await?;
    Ok(Json(gone.into()))
}

/// The week to show.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct WeekQuery {
    /// Any day of the week (Monday to Sunday, in the person's zone);
    /// default today (UTC).
    day: Option<NaiveDate>,
}

/// A person's week.
#[derive(Serialize, ToSchema)]
pub(crate) struct WeekResponse {
    user_id: i64,
    time_zone: String,
    week_start: NaiveDate,
    days: Vec<DayView>,
    suggestions: Vec<SuggestionView>,
    activities: Vec<ActivityView>,
    worklogs: Vec<WorklogView>,
}

/// One day's totals against the target.
#[derive(Serialize, ToSchema)]
pub(crate) struct DayView {
    day: NaiveDate,
    logged_minutes: u32,
    /// Suggestions not yet decided.
    suggested_minutes: u32,
    target_minutes: u32,
}

impl From<WeekView> for WeekResponse {
    fn from(w: WeekView) -> Self {
        WeekResponse {
            user_id: w.user_id,
            time_zone: w.time_zone,
            week_start: w.week_start,
            days: w
                .days
                .into_iter()
                .map(|d| DayView {
                    day: d.day,
                    logged_minutes: d.logged_minutes,
                    suggested_minutes: d.suggested_minutes,
                    target_minutes: d.target_minutes,
                })
                .collect(),
            suggestions: w.suggestions,
            activities: w.activities,
            worklogs: w.worklogs,
        }
    }
}

/// A person's week of activity and suggestions: your own only (anyone
/// else's, admins' included, is not found).
#[utoipa::path(get, path = "/api/v1/time/people/{user_id}/week", tag = "time", params(("user_id" = i64, Path), WeekQuery), responses(
    (status = 200, description = "The week", body = WeekResponse),
    (status = 404, description = "Not connected, or not yours", body = ErrorBody)))]
pub(crate) async fn week(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(user_id): Path<i64>,
    Query(q): Query<WeekQuery>,
) -> Result<Json<WeekResponse>, ApiError> {
    let day = q.day.unwrap_or_else(|| Utc::now().date_naive());
    Ok(Json(state.time.week(&caller, user_id, day).await?.into()))
}

/// Accepting a suggestion, as is or edited.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AcceptRequest {
    /// The suggestion's key from the week.
    key: String,
    /// Another length, 1 to 1440.
    #[serde(default)]
    minutes: Option<u32>,
    /// What you did.
    #[serde(default)]
    description: Option<String>,
    /// A Jira key, for an unassigned suggestion.
    #[serde(default)]
    target: Option<String>,
}

/// Accepts one of your suggestions and writes its worklog (Jira, or
/// GitLab spent time) exactly once. 502 when the tracker's answer was
/// lost: the worklog is then finished by `retry` (which looks for it
/// first).
#[utoipa::path(post, path = "/api/v1/time/people/{user_id}/accept", tag = "time", params(("user_id" = i64, Path)), request_body = AcceptRequest, responses(
    (status = 201, description = "The worklog (`written`, or `failed` with the tracker's refusal)", body = WorklogView),
    (status = 404, description = "No such suggestion of yours", body = ErrorBody),
    (status = 409, description = "`key`: decided already", body = ErrorBody),
    (status = 422, description = "`minutes`, `target`", body = ErrorBody),
    (status = 502, description = "The tracker's answer was lost; retry the worklog", body = ErrorBody)))]
pub(crate) async fn accept(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(user_id): Path<i64>,
    ApiJson(body): ApiJson<AcceptRequest>,
) -> Result<(StatusCode, Json<WorklogView>), ApiError> {
    if body.minutes.is_some_and(|m| !(1..=1440).contains(&m)) {
        return Err(EngineError::invalid("minutes", "1 to 1440").into());
    }
    let written = state
        .time
        .accept(
            &caller,
            user_id,
            &body.key,
            AcceptInput {
                minutes: body.minutes,
                description: body.description,
                target: body.target,
            },
            Utc::now(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(written)))
}

/// Dismissing a suggestion.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DismissRequest {
    key: String,
}

/// The decision recorded.
#[derive(Serialize, ToSchema)]
pub(crate) struct DecisionResponse {
    decision_id: i64,
}

/// Dismisses one of your suggestions; the next one shows.
#[utoipa::path(post, path = "/api/v1/time/people/{user_id}/dismiss", tag = "time", params(("user_id" = i64, Path)), request_body = DismissRequest, responses(
    (status = 201, description = "Dismissed", body = DecisionResponse),
    (status = 404, description = "No such suggestion of yours", body = ErrorBody),
    (status = 409, description = "`key`: decided already", body = ErrorBody)))]
pub(crate) async fn dismiss(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(user_id): Path<i64>,
    ApiJson(body): ApiJson<DismissRequest>,
) -> Result<(StatusCode, Json<DecisionResponse>), ApiError> {
    let id = state
        .time
        .dismiss(&caller, user_id, &body.key, Utc::now())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(DecisionResponse { decision_id: id }),
    ))
}

/// Finishes one of your worklogs whose first answer was lost: it is looked
/// for on the tracker before anything is written again.
#[utoipa::path(post, path = "/api/v1/time/worklogs/{id}/retry", tag = "time", params(("id" = i64, Path)), responses(
    (status = 200, description = "The worklog", body = WorklogView),
    (status = 404, description = "No such worklog of yours", body = ErrorBody),
    (status = 502, description = "The tracker could not be reached", body = ErrorBody)))]
pub(crate) async fn retry_worklog(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<i64>,
) -> Result<Json<WorklogView>, ApiError> {
    Ok(Json(state.time.retry_write(&caller, id).await?))
}

/// The period of the totals.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct TotalsQuery {
    /// Default: 7 days before `to`.
    from: Option<DateTime<Utc>>,
    /// Default: now.
    to: Option<DateTime<Utc>>,
}

/// Activity of one person in one project.
#[derive(Serialize, ToSchema)]
pub(crate) struct ActivityTotalView {
    user_id: i64,
    project: String,
    activities: i64,
}

/// Minutes written for one person.
#[derive(Serialize, ToSchema)]
pub(crate) struct WrittenView {
    user_id: i64,
    minutes: u64,
}

/// Totals, never the items.
#[derive(Serialize, ToSchema)]
pub(crate) struct TotalsResponse {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    activities: Vec<ActivityTotalView>,
    written: Vec<WrittenView>,
}

/// Totals per person and project (admin): counts and minutes, not items.
#[utoipa::path(get, path = "/api/v1/time/totals", tag = "time", params(TotalsQuery), responses(
    (status = 200, description = "The totals", body = TotalsResponse),
    (status = 403, description = "Admins only", body = ErrorBody),
    (status = 422, description = "`from`: after `to`", body = ErrorBody)))]
pub(crate) async fn totals(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Query(q): Query<TotalsQuery>,
) -> Result<Json<TotalsResponse>, ApiError> {
    let to = q.to.unwrap_or_else(Utc::now);
    let from = q.from.unwrap_or(to - chrono::Duration::days(7));
    if from > to {
        return Err(EngineError::invalid("from", "after `to`").into());
    }
    let t = state.time.totals(&caller, from, to).await?;
    Ok(Json(TotalsResponse {
        from: t.from,
        to: t.to,
        activities: t
            .activities
            .into_iter()
            .map(|a| ActivityTotalView {
                user_id: a.user_id,
                project: a.project_path,
                activities: a.activities,
            })
            .collect(),
        written: t
            .written_minutes
            .into_iter()
            .map(|(user_id, minutes)| WrittenView { user_id, minutes })
            .collect(),
    }))
}

/// Turning Jira development links on for a GitLab connection and a Jira
/// connection (or changing what they do).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DevLinksRequest {
    /// The GitLab connection whose real-time hooks bring the commits,
    /// merge requests and comments.
    gitlab_connection_id: i64,
    /// The Jira connection the remote links are added through.
    jira_connection_id: i64,
    /// Also add one Jira comment per new link (default false).
    #[serde(default)]
    comment: bool,
    /// Move a Jira issue to done when `Closes|Fixes|Resolves KEY` lands on
    /// the default branch (default false).
    #[serde(default)]
    transition: bool,
}

/// Development links turned on for a pair of connections.
#[derive(Serialize, ToSchema)]
pub(crate) struct DevLinksResponse {
    id: i64,
    gitlab_connection_id: i64,
    jira_connection_id: i64,
    comment: bool,
    transition: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<DevLinkPair> for DevLinksResponse {
    fn from(p: DevLinkPair) -> Self {
        DevLinksResponse {
            id: p.id,
            gitlab_connection_id: p.gitlab_connection_id,
            jira_connection_id: p.jira_connection_id,
            comment: p.links.comment,
            transition: p.links.transition,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

/// The connection pairs with Jira development links (admin).
#[utoipa::path(get, path = "/api/v1/time/dev-links", tag = "time", responses(
    (status = 200, description = "Every pair with development links", body = [DevLinksResponse]),
    (status = 403, description = "Admins only", body = ErrorBody)))]
pub(crate) async fn list_dev_links(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
) -> Result<Json<Vec<DevLinksResponse>>, ApiError> {
    let pairs = state.time.dev_link_pairs(&caller).await?;
    Ok(Json(pairs.into_iter().map(Into::into).collect()))
}

/// Turns Jira development links on for a GitLab connection and a Jira
/// connection, or changes what they do (admin): a Jira key mentioned in a
/// commit, merge request or comment that the GitLab connection's real-time
/// hooks deliver adds one remote link to the Jira issue.
#[utoipa::path(put, path = "/api/v1/time/dev-links", tag = "time", request_body = DevLinksRequest, responses(
    (status = 200, description = "The pair's development links", body = DevLinksResponse),
    (status = 403, description = "Admins only", body = ErrorBody),
    (status = 422, description = "`gitlab_connection_id` or `jira_connection_id` is not such a connection", body = ErrorBody)))]
pub(crate) async fn put_dev_links(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    ApiJson(body): ApiJson<DevLinksRequest>,
) -> Result<Json<DevLinksResponse>, ApiError> {
    let pair = state
        .time
        .set_dev_links(
            &caller,
            body.gitlab_connection_id,
            body.jira_connection_id,
            DevLinks {
                comment: body.comment,
                transition: body.transition,
            },
            Utc::now(),
        )
        .await?;
    Ok(Json(pair.into()))
}

/// Turns a pair's development links off (admin); links already in Jira
/// stay.
#[utoipa::path(delete, path = "/api/v1/time/dev-links/{id}", tag = "time", params(("id" = i64, Path)), responses(
    (status = 204, description = "Turned off"),
    (status = 403, description = "Admins only", body = ErrorBody),
    (status = 404, description = "No such pair", body = ErrorBody)))]
pub(crate) async fn delete_dev_links(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    state.time.delete_dev_links(&caller, id, Utc::now()).await?;
    Ok(StatusCode::NO_CONTENT)
}
