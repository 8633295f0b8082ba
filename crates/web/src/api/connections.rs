use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use cairn_core::integrations::IntegrationKind;
use cairn_core::secret::Secret;
use cairn_engine::connections::{ConnectionChanges, ConnectionInput, ConnectionView, TestOutcome};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::SignedIn;
use crate::auth::{ManageCatalog, Permitted, ViewAudit};
use crate::json::ApiJson;
use crate::{ApiError, AppState, ErrorBody};

#[derive(Serialize, ToSchema)]
pub(crate) struct IntegrationView {
    #[schema(value_type = String, example = "gitlab")]
    kind: IntegrationKind,
    title: &'static str,
    enabled: bool,
    /// Connections for GitLab and Jira; channels for Slack, Teams and
    /// webhooks (`healthy` and `failing` count them by their deliveries).
    connections: u64,
    healthy: u64,
    failing: u64,
    /// The newest failure among the failing ones (a connection's refresh,
    /// sync or test; a channel's delivery attempt) and what it was.
    last_failure_at: Option<DateTime<Utc>>,
    last_failure: Option<String>,
    updated_at: DateTime<Utc>,
}

impl From<cairn_engine::catalog::CatalogEntry> for IntegrationView {
    fn from(e: cairn_engine::catalog::CatalogEntry) -> Self {
        let i = e.integration;
        IntegrationView {
            last_failure_at: e.last_failure_at,
            last_failure: e.last_failure,
            kind: i.kind,
            title: i.kind.title(),
            enabled: i.enabled,
            connections: i.connections,
            healthy: i.healthy,
            failing: i.failing,
            updated_at: i.updated_at,
        }
    }
}

/// The integration catalog with each kind's connections and their health.
#[utoipa::path(get, path = "/api/v1/integrations", tag = "catalog", responses(
    (status = 200, description = "The catalog", body = Vec<IntegrationView>),
    (status = 401, description = "Not signed in", body = ErrorBody)))]
pub(crate) async fn list_integrations(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
) -> Result<Json<Vec<IntegrationView>>, ApiError> {
    let list = state.catalog.list(&caller).await?;
    Ok(Json(list.into_iter().map(IntegrationView::from).collect()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct IntegrationChanges {
    enabled: bool,
}

/// Enables or disables an integration (admins only). Disabling pauses its
/// jobs and keeps everything; enabling resumes.
#[utoipa::path(patch, path = "/api/v1/integrations/{kind}", tag = "catalog", params(("kind" = String, Path)),
    request_body = IntegrationChanges, responses(
    (status = 200, description = "Updated", body = IntegrationView),
    (status = 403, description = "Not an admin", body = ErrorBody),
    (status = 404, description = "Unknown kind", body = ErrorBody)))]
pub(crate) async fn update_integration(
    State(state): State<AppState>,
    Permitted(caller, _): Permitted<ManageCatalog>,
    Path(kind): Path<String>,
    ApiJson(body): ApiJson<IntegrationChanges>,
) -> Result<Json<IntegrationView>, ApiError> {
    let updated = state
        .catalog
        .set_enabled(&caller, &kind, body.enabled, Utc::now())
        .await?;
    Ok(Json(updated.into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewConnectionRequest {
    /// `gitlab` or `jira`.
    kind: String,
    /// Unique, 1 to 100 characters.
    name: String,
    /// GitLab: defaults to https://gitlab.com. Jira: the site URL with any context path.
    base_url: Option<String>,
    /// GitLab: `private_token` or `oauth`. Jira: `basic` (Cloud, with `username`) or `bearer` (Data Center).
    auth_kind: String,
    /// Jira Cloud: the account email.
    username: Option<String>,
    /// The token; write-only, never returned.
    secret: String,
    #[serde(default)]
    shared: bool,
}

/// Connections the caller may see: their own, and every shared one.
#[utoipa::path(get, path = "/api/v1/connections", tag = "connections", responses(
    (status = 200, description = "Connections without secrets", body = Vec<ConnectionView>)))]
pub(crate) async fn list_connections(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
) -> Result<Json<Vec<ConnectionView>>, ApiError> {
    Ok(Json(state.connections.list(&caller).await?))
}

/// Creates a connection owned by the caller and tests it at once: the
/// answer's `health` is the test's outcome, and `test` says what to check
/// when it failed (the connection is kept so its token can be corrected).
#[utoipa::path(post, path = "/api/v1/connections", tag = "connections", request_body = NewConnectionRequest, responses(
    (status = 201, description = "Created and tested (the secret is never returned)", body = CreatedConnection),
    (status = 409, description = "Name taken, or the integration is disabled", body = ErrorBody),
    (status = 422, description = "Invalid field", body = ErrorBody)))]
pub(crate) async fn create_connection(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    ApiJson(body): ApiJson<NewConnectionRequest>,
) -> Result<(StatusCode, Json<CreatedConnection>), ApiError> {
    let input = ConnectionInput {
        kind: body.kind,
        name: body.name,
        base_url: body.base_url,
        auth_kind: body.auth_kind,
        username: body.username,
        secret: Secret::new(body.secret),
        shared: body.shared,
    };
    let (connection, test) = state
        .connections
        .create_and_test(&caller, input, Utc::now())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedConnection { connection, test }),
    ))
}

/// A new connection and the outcome of testing it on save.
#[derive(Serialize, ToSchema)]
pub(crate) struct CreatedConnection {
    #[serde(flatten)]
    connection: ConnectionView,
    /// The test made on save.
    test: TestOutcome,
}

/// One connection.
#[utoipa::path(get, path = "/api/v1/connections/{id}", tag = "connections", params(("id" = i64, Path)), responses(
    (status = 200, description = "The connection without its secret", body = ConnectionView),
    (status = 404, description = "No such connection visible to the caller", body = ErrorBody)))]
pub(crate) async fn get_connection(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<i64>,
) -> Result<Json<ConnectionView>, ApiError> {
    Ok(Json(state.connections.get(&caller, id).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConnectionChangesRequest {
    name: Option<String>,
    base_url: Option<String>,
    auth_kind: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    username: Option<Option<String>>,
    /// A new token; write-only.
    secret: Option<String>,
    shared: Option<bool>,
}

/// Tells an absent field (keep) from an explicit null (clear).
fn double_option<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// Changes a connection (its owner or an admin).
#[utoipa::path(patch, path = "/api/v1/connections/{id}", tag = "connections", params(("id" = i64, Path)),
    request_body = ConnectionChangesRequest, responses(
    (status = 200, description = "Updated", body = ConnectionView),
    (status = 403, description = "Shared with the caller, who does not own it", body = ErrorBody),
    (status = 404, description = "No such connection visible to the caller", body = ErrorBody)))]
pub(crate) async fn update_connection(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<ConnectionChangesRequest>,
) -> Result<Json<ConnectionView>, ApiError> {
    let changes = ConnectionChanges {
        name: body.name,
        base_url: body.base_url,
        auth_kind: body.auth_kind,
        username: body.username,
        secret: body.secret.map(Secret::new),
        shared: body.shared,
    };
    Ok(Json(
        state
            .connections
            .update(&caller, id, changes, Utc::now())
            .await?,
    ))
}

/// Deletes a connection (its owner or an admin).
#[utoipa::path(delete, path = "/api/v1/connections/{id}", tag = "connections", params(("id" = i64, Path)), responses(
    (status = 204, description = "Deleted"),
    (status = 404, description = "No such connection visible to the caller", body = ErrorBody),
    (status = 409, description = "Data links still read through it, or sync pairs have a side on it", body = ErrorBody)))]
pub(crate) async fn delete_connection(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    state.connections.delete(&caller, id, Utc::now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Tests a connection with its stored credentials; the outcome becomes its health.
#[utoipa::path(post, path = "/api/v1/connections/{id}/test", tag = "connections", params(("id" = i64, Path)), responses(
    (status = 200, description = "The account and server version, or a diagnosis", body = TestOutcome),
    (status = 404, description = "No such connection visible to the caller", body = ErrorBody)))]
pub(crate) async fn test_connection(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<i64>,
) -> Result<Json<TestOutcome>, ApiError> {
    Ok(Json(state.connections.test(&caller, id, Utc::now()).await?))
}

#[derive(Deserialize, IntoParams)]
pub(crate) struct AuditQuery {
    /// Newest entries first; at most 1000.
    limit: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct AuditView {
    id: i64,
    at: DateTime<Utc>,
    actor: String,
    action: String,
    subject: String,
    detail: serde_json::Value,
}

/// The audit log (admins only).
#[utoipa::path(get, path = "/api/v1/audit", tag = "operations", params(AuditQuery), responses(
    (status = 200, description = "Newest first", body = Vec<AuditView>),
    (status = 403, description = "Not an admin", body = ErrorBody)))]
pub(crate) async fn audit(
    State(state): State<AppState>,
    Permitted(caller, _): Permitted<ViewAudit>,
    Query(query): Query<AuditQuery>,
) -> Result<Json<Vec<AuditView>>, ApiError> {
    let entries = state
        .catalog
        .audit_log(&caller, query.limit.unwrap_or(100))
        .await?;
    Ok(Json(
        entries
            .into_iter()
            .map(|e| AuditView {
                id: e.id,
                at: e.at,
                actor: e.actor,
                action: e.action,
                subject: e.subject,
                detail: e.detail,
            })
            .collect(),
    ))
}
