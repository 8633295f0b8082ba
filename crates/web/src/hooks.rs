//! `/hooks/gitlab/{connection_id}` and `/hooks/jira/{connection_id}`: webhooks
//! in. Outside `/api/v1`: no session, no CSRF check (the sender proves
//! itself with the connection's hook secret), a body limit of their own.
//! The answer never waits for the change to be applied: the engine stores
//! the delivery with its job and returns.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use cairn_core::integrations::IntegrationKind;
use cairn_engine::hooks::{HookError, HookHeaders, Ingested};
use chrono::Utc;
use serde::Serialize;
use utoipa::ToSchema;

use crate::{ApiError, AppState, ErrorBody};

/// What became of a delivery.
#[derive(Serialize, ToSchema)]
pub(crate) struct IngestReply {
    /// `accepted` (stored, to be applied), `duplicate` (seen before),
    /// `ignored` (stored, nothing to act on), `unreadable` (stored, not the
    /// shape of its event) or `dropped` (the integration is disabled).
    status: String,
    /// The stored delivery's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    delivery: Option<i64>,
    /// Why it is ignored or unreadable.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

async fn receive(
    state: &AppState,
    tracker: IntegrationKind,
    connection: &str,
    headers: HookHeaders<'_>,
    body: &[u8],
) -> Result<(StatusCode, Json<IngestReply>), ApiError> {
    let Ok(connection) = connection.parse::<i64>() else {
        return Err(hook_error(HookError::UnknownConnection(tracker.as_str())));
    };
    let ingested = state
        .hooks
        .ingest(tracker, connection, headers, body, Utc::now())
        .await
        .map_err(hook_error)?;
    let status = match ingested {
        Ingested::Dropped => StatusCode::ACCEPTED,
        _ => StatusCode::OK,
    };
    let (name, delivery, reason) = match ingested {
        Ingested::Accepted { delivery } => ("accepted", Some(delivery), None),
        Ingested::Duplicate => ("duplicate", None, None),
        Ingested::Ignored { delivery, reason } => ("ignored", Some(delivery), Some(reason)),
        Ingested::Unreadable { delivery, reason } => ("unreadable", Some(delivery), Some(reason)),
        Ingested::Dropped => (
            "dropped",
            None,
            Some(format!("the {} integration is disabled", tracker.title())),
        ),
    };
    Ok((
        status,
        Json(IngestReply {
            status: name.to_owned(),
            delivery,
            reason,
        }),
    ))
}

fn hook_error(error: HookError) -> ApiError {
    match error {
        HookError::UnknownConnection(_) => ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such connection receives this kind of webhook",
        ),
        HookError::Unauthorized(message) => {
            ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
        }
        HookError::Malformed(detail) => ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            format!("the body is not JSON: {detail}"),
        ),
        HookError::Engine(error) => crate::from_engine(error),
    }
}

/// Receives a GitLab webhook for a connection. The hook's secret token
/// (`X-Gitlab-Token`) must be the connection's hook secret. Deliveries are
/// deduplicated by `Idempotency-Key`, else `X-Gitlab-Event-UUID`. Every
/// valid delivery gets a 2xx, also for events Cairn does not read.
#[utoipa::path(post, path = "/hooks/gitlab/{connection_id}", tag = "hooks",
    params(("connection_id" = i64, Path), ("X-Gitlab-Token" = String, Header), ("X-Gitlab-Event" = Option<String>, Header),
        ("Idempotency-Key" = Option<String>, Header), ("X-Gitlab-Event-UUID" = Option<String>, Header)),
    request_body(content = Object, description = "GitLab's webhook payload", content_type = "application/json"),
    responses(
    (status = 200, description = "Stored (or seen before, or nothing to act on)", body = IngestReply),
    (status = 202, description = "The GitLab integration is disabled: dropped", body = IngestReply),
    (status = 400, description = "The body is not JSON", body = ErrorBody),
    (status = 401, description = "Missing or wrong X-Gitlab-Token; nothing stored", body = ErrorBody),
    (status = 404, description = "No such GitLab connection; nothing stored", body = ErrorBody),
    (status = 413, description = "Body over the webhook limit", body = ErrorBody),
    (status = 503, description = "Cannot store deliveries now; send again", body = ErrorBody)))]
pub(crate) async fn gitlab(
    State(state): State<AppState>,
    Path(connection): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<IngestReply>), ApiError> {
    let hook_headers = HookHeaders {
        token: header(&headers, "x-gitlab-token"),
        signature: None,
        event: header(&headers, "x-gitlab-event"),
        delivery_id: header(&headers, "idempotency-key")
            .filter(|v| !v.trim().is_empty())
            .or_else(|| header(&headers, "x-gitlab-event-uuid")),
    };
    receive(
        &state,
        IntegrationKind::Gitlab,
        &connection,
        hook_headers,
        &body,
    )
    .await
}

/// Receives a Jira webhook for a connection. When the connection has a hook
/// secret, `X-Hub-Signature: sha256=<HMAC-SHA256 of the body>` must match
/// it. Deliveries are deduplicated by `X-Atlassian-Webhook-Identifier`.
#[utoipa::path(post, path = "/hooks/jira/{connection_id}", tag = "hooks",
    params(("connection_id" = i64, Path), ("X-Hub-Signature" = Option<String>, Header),
        ("X-Atlassian-Webhook-Identifier" = Option<String>, Header)),
    request_body(content = Object, description = "Jira's webhook payload", content_type = "application/json"),
    responses(
    (status = 200, description = "Stored (or seen before, or nothing to act on)", body = IngestReply),
    (status = 202, description = "The Jira integration is disabled: dropped", body = IngestReply),
    (status = 400, description = "The body is not JSON", body = ErrorBody),
    (status = 401, description = "Missing or wrong signature; nothing stored", body = ErrorBody),
    (status = 404, description = "No such Jira connection; nothing stored", body = ErrorBody),
    (status = 413, description = "Body over the webhook limit", body = ErrorBody),
    (status = 503, description = "Cannot store deliveries now; send again", body = ErrorBody)))]
pub(crate) async fn jira(
    State(state): State<AppState>,
    Path(connection): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<IngestReply>), ApiError> {
    let hook_headers = HookHeaders {
        token: None,
        signature: header(&headers, "x-hub-signature"),
        event: None,
        delivery_id: header(&headers, "x-atlassian-webhook-identifier"),
    };
    receive(
        &state,
        IntegrationKind::Jira,
        &connection,
        hook_headers,
        &body,
    )
    .await
}
