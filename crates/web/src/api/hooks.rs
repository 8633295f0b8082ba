//! A connection's webhook setup: the secret (generated, shown once) and the
//! hook's health. Registering the hook in GitLab or Jira for the user comes
//! later; these answers carry what that needs.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use cairn_engine::hooks::setup::{RealTime, Registration};
use cairn_engine::hooks::{HookSetup, HookStatus};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{SignedIn, is_https};
use crate::json::ApiJson;
use crate::{ApiError, AppState, ErrorBody};

/// Where and how a tracker sends a connection's webhooks.
#[derive(Serialize, ToSchema)]
pub(crate) struct HookSetupView {
    connection_id: i64,
    /// `gitlab` or `jira`.
    tracker: String,
    /// The path on this Cairn to send deliveries to, e.g. `/hooks/gitlab/3`.
    url_path: String,
    /// What to subscribe: GitLab project hook triggers (`issues_events`,
    /// ...) or Jira events (`jira:issue_updated`, ...).
    events: Vec<String>,
    /// How the sender presents the secret.
    secret_usage: String,
}

impl From<HookSetup> for HookSetupView {
    fn from(s: HookSetup) -> Self {
        HookSetupView {
            connection_id: s.connection_id,
            tracker: s.tracker.as_str().to_owned(),
            url_path: s.url_path,
            events: s.events.iter().map(|e| (*e).to_owned()).collect(),
            secret_usage: s.secret_usage.to_owned(),
        }
    }
}

/// A new hook secret with its setup; the only time the secret is shown.
#[derive(Serialize, ToSchema)]
pub(crate) struct HookSecretView {
    #[serde(flatten)]
    setup: HookSetupView,
    /// The secret: GitLab's secret token, or Jira's webhook secret.
    secret: String,
}

/// A connection's hook setup and health (never the secret).
#[derive(Serialize, ToSchema)]
pub(crate) struct HookStatusView {
    #[serde(flatten)]
    setup: HookSetupView,
    /// Whether a secret was generated (GitLab hooks are refused until then).
    secret_set: bool,
    secret_set_at: Option<DateTime<Utc>>,
    last_delivery_at: Option<DateTime<Utc>>,
    /// Deliveries stored since midnight UTC.
    deliveries_today: u64,
    /// Of those, the ones that failed to apply or could not be read.
    failures_today: u64,
    /// Whether Cairn's hook is registered, as the tracker lists its hooks
    /// now: per GitLab project its key results read or its sync pairs use,
    /// or on the Jira site (each asked for at most a few seconds).
    registrations: Vec<Registration>,
}

impl HookStatusView {
    fn new(s: HookStatus, registrations: Vec<Registration>) -> Self {
        HookStatusView {
            registrations,
            setup: s.setup.into(),
            secret_set: s.secret_set,
            secret_set_at: s.secret_set_at,
            last_delivery_at: s.last_delivery_at,
            deliveries_today: s.deliveries_today,
            failures_today: s.failures_today,
        }
    }
}

/// Generates the connection's hook secret, or replaces it (the old one
/// stops working at once). Its owner or an admin only. The answer is the
/// only place the secret is ever shown, with the URL path and the events to
/// subscribe.
#[utoipa::path(post, path = "/api/v1/connections/{id}/hooks/secret", tag = "hooks", params(("id" = i64, Path)), responses(
    (status = 200, description = "The new secret (shown once) and how to set up the hook", body = HookSecretView),
    (status = 403, description = "Shared with the caller, who does not own it", body = ErrorBody),
    (status = 404, description = "No such connection visible to the caller", body = ErrorBody)))]
pub(crate) async fn rotate_hook_secret(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<i64>,
) -> Result<Json<HookSecretView>, ApiError> {
    let issued = state.hooks.rotate_secret(&caller, id, Utc::now()).await?;
    Ok(Json(HookSecretView {
        setup: issued.setup.into(),
        secret: issued.secret.expose().to_owned(),
    }))
}

/// The connection's hook: URL path, events, whether a secret is set, the
/// last delivery and today's deliveries and failures, and whether the hook
/// is registered where it should be (asked of the tracker now).
#[utoipa::path(get, path = "/api/v1/connections/{id}/hooks", tag = "hooks", params(("id" = i64, Path)), responses(
    (status = 200, description = "Setup and health; never the secret", body = HookStatusView),
    (status = 404, description = "No such connection visible to the caller", body = ErrorBody)))]
pub(crate) async fn hook_status(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> Result<Json<HookStatusView>, ApiError> {
    let status = state.hooks.status(&caller, id, Utc::now()).await?;
    let base = public_base(&state, &headers);
    let registrations = state
        .hooks
        .registrations(&caller, id, base.as_deref())
        .await?;
    Ok(Json(HookStatusView::new(status, registrations)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct EnableRequest {
    /// GitLab: the projects to hook (path or id); default: every project
    /// the connection's key results read.
    #[serde(default)]
    projects: Vec<String>,
}

/// How GitLab and Jira reach this Cairn: `public_url` when configured,
/// else the address this request came in on.
pub(crate) fn public_base(state: &AppState, headers: &HeaderMap) -> Option<String> {
    if let Some(url) = &state.public_url {
        return Some(url.clone());
    }
    let host = headers
        .get("x-forwarded-host")
        .or_else(|| headers.get(header::HOST))
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty())?;
    let scheme = if is_https(headers) { "https" } else { "http" };
    Some(format!("{scheme}://{host}"))
}

/// "Enable real-time": registers Cairn's webhook with GitLab (a project
/// hook per project) or Jira where the connection's token may; what it may
/// not register comes back under `by_hand` with the reason, to be pasted
/// with the URL, the events and the secret (shown here once, when this call
/// generated it). Owner or admin.
#[utoipa::path(post, path = "/api/v1/connections/{id}/hooks/enable", tag = "hooks", params(("id" = i64, Path)), request_body = EnableRequest, responses(
    (status = 200, description = "What was registered and what to add by hand", body = RealTime),
    (status = 403, description = "Shared with the caller, who does not own it", body = ErrorBody),
    (status = 404, description = "No such connection visible to the caller", body = ErrorBody),
    (status = 422, description = "`projects`: nothing to hook", body = ErrorBody)))]
pub(crate) async fn enable_real_time(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<i64>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<EnableRequest>,
) -> Result<Json<RealTime>, ApiError> {
    let by = &caller;
    let base = public_base(&state, &headers);
    Ok(Json(
        state
            .hooks
            .enable_real_time(by, id, base.as_deref(), request.projects, Utc::now())
            .await?,
    ))
}
