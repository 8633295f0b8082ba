//! Notifications out: channels (Slack, Teams, signed webhooks), what they
//! are subscribed to, their deliveries, and notices for admins. Admins
//! only. A channel's URL and signing secret are write-only; the secret is
//! shown once, when created or rotated.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use cairn_core::secret::Secret;
use cairn_engine::notify::{
    ChannelChanges, ChannelInput, ChannelView, DeliveryView, IssuedChannel, SubscriptionInput,
};
use cairn_store::notify::{Notice, NotifyAttempt, Subscription};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{CreateChannel, ManageChannel, Permitted, ViewNotices};
use crate::json::ApiJson;
use crate::{ApiError, AppState, ErrorBody};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewChannelRequest {
    /// Unique, 1 to 100 characters.
    name: String,
    /// `slack` (incoming webhook, Block Kit), `teams` (incoming webhook or
    /// workflow URL, Adaptive Card) or `webhook` (signed per Standard
    /// Webhooks).
    kind: String,
    /// Where to post; write-only (its path is a credential). Loopback,
    /// link-local and private addresses are refused unless allowlisted
    /// (`outbound_allow`).
    url: String,
}

/// A channel and, once, its signing secret.
#[derive(Serialize, ToSchema)]
pub(crate) struct IssuedChannelView {
    #[serde(flatten)]
    channel: ChannelView,
    /// `whsec_...`: verify deliveries with it. Shown only in this answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
}

impl From<IssuedChannel> for IssuedChannelView {
    fn from(issued: IssuedChannel) -> Self {
        IssuedChannelView {
            channel: issued.channel,
            secret: issued.secret.map(|s| s.expose().to_owned()),
        }
    }
}

/// Every channel (admins only); never a URL's path or a secret.
#[utoipa::path(get, path = "/api/v1/channels", tag = "notifications", responses(
    (status = 200, description = "Channels", body = Vec<ChannelView>),
    (status = 403, description = "Not an admin", body = ErrorBody)))]
pub(crate) async fn list_channels(
    State(state): State<AppState>,
    Permitted(caller, _): Permitted<ManageChannel>,
) -> Result<Json<Vec<ChannelView>>, ApiError> {
    Ok(Json(state.notify.list_channels(&caller).await?))
}

/// Creates a channel. A `webhook` channel's answer carries its signing
/// secret, the only time it is shown.
#[utoipa::path(post, path = "/api/v1/channels", tag = "notifications", request_body = NewChannelRequest, responses(
    (status = 201, description = "Created; `secret` once for webhook channels", body = IssuedChannelView),
    (status = 403, description = "Not an admin", body = ErrorBody),
    (status = 409, description = "Name taken", body = ErrorBody),
    (status = 422, description = "Invalid field, e.g. `url` refused by the outbound guard", body = ErrorBody)))]
pub(crate) async fn create_channel(
    State(state): State<AppState>,
    Permitted(caller, _): Permitted<CreateChannel>,
    ApiJson(body): ApiJson<NewChannelRequest>,
) -> Result<(StatusCode, Json<IssuedChannelView>), ApiError> {
    let issued = state
        .notify
        .create_channel(
            &caller,
            ChannelInput {
                name: body.name,
                kind: body.kind,
                url: Secret::new(body.url),
            },
            Utc::now(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(issued.into())))
}

/// One channel.
#[utoipa::path(get, path = "/api/v1/channels/{id}", tag = "notifications", params(("id" = i64, Path)), responses(
    (status = 200, description = "The channel, without URL path or secret", body = ChannelView),
    (status = 403, description = "Admins only", body = ErrorBody),
    (status = 404, description = "No such channel", body = ErrorBody)))]
pub(crate) async fn get_channel(
    State(state): State<AppState>,
    Permitted(caller, _): Permitted<ManageChannel>,
    Path(id): Path<i64>,
) -> Result<Json<ChannelView>, ApiError> {
    Ok(Json(state.notify.get_channel(&caller, id).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChannelChangesRequest {
    name: Option<String>,
    /// A new URL; write-only, checked like a new channel's.
    url: Option<String>,
    /// Enabling a disabled channel clears its failures.
    enabled: Option<bool>,
}

/// Renames, re-points, disables or enables a channel.
#[utoipa::path(patch, path = "/api/v1/channels/{id}", tag = "notifications", params(("id" = i64, Path)),
    request_body = ChannelChangesRequest, responses(
    (status = 200, description = "Updated", body = ChannelView),
    (status = 404, description = "No such channel", body = ErrorBody),
    (status = 422, description = "Invalid field", body = ErrorBody)))]
pub(crate) async fn update_channel(
    State(state): State<AppState>,
    Permitted(caller, _): Permitted<ManageChannel>,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<ChannelChangesRequest>,
) -> Result<Json<ChannelView>, ApiError> {
    let changes = ChannelChanges {
        name: body.name,
        url: body.url.map(Secret::new),
        enabled: body.enabled,
    };
    Ok(Json(
        state
            .notify
            .update_channel(&caller, id, changes, Utc::now())
            .await?,
    ))
}

/// Deletes a channel with its subscriptions and deliveries.
#[utoipa::path(delete, path = "/api/v1/channels/{id}", tag = "notifications", params(("id" = i64, Path)), responses(
    (status = 204, description = "Deleted"),
    (status = 404, description = "No such channel", body = ErrorBody)))]
pub(crate) async fn delete_channel(
    State(state): State<AppState>,
    Permitted(caller, _): Permitted<ManageChannel>,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    state.notify.delete_channel(&caller, id, Utc::now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sends a test message now and answers with the attempt (status code,
/// duration, error, the start of the answer); not retried.
#[utoipa::path(post, path = "/api/v1/channels/{id}/test", tag = "notifications", params(("id" = i64, Path)), responses(
    (status = 200, description = "The attempt", body = NotifyAttempt),
    (status = 404, description = "No such channel", body = ErrorBody)))]
pub(crate) async fn test_channel(
    State(state): State<AppState>,
    Permitted(caller, _): Permitted<ManageChannel>,
    Path(id): Path<i64>,
) -> Result<Json<NotifyAttempt>, ApiError> {
    Ok(Json(
        state.notify.test_channel(&caller, id, Utc::now()).await?,
    ))
}

/// Replaces a webhook channel's signing secret (the old one stops at
/// once); the answer is the only place the new one is shown.
#[utoipa::path(post, path = "/api/v1/channels/{id}/rotate-secret", tag = "notifications", params(("id" = i64, Path)), responses(
    (status = 200, description = "The channel with its new `secret`", body = IssuedChannelView),
    (status = 404, description = "No such channel", body = ErrorBody),
    (status = 409, description = "Not a webhook channel", body = ErrorBody)))]
pub(crate) async fn rotate_channel_secret(
    State(state): State<AppState>,
    Permitted(caller, _): Permitted<ManageChannel>,
    Path(id): Path<i64>,
) -> Result<Json<IssuedChannelView>, ApiError> {
    Ok(Json(
        state
            .notify
            .rotate_secret(&caller, id, Utc::now())
            .await?
            .into(),
    ))
}

#[derive(Deserialize, IntoParams)]
pub(crate) struct DeliveriesQuery {
    /// Newest first; at most 200 (default 50).
    limit: Option<u32>,
}

/// A channel's latest deliveries, each with its attempts (status,
/// duration, error, the start of the answer).
#[utoipa::path(get, path = "/api/v1/channels/{id}/deliveries", tag = "notifications", params(("id" = i64, Path), DeliveriesQuery), responses(
    (status = 200, description = "Deliveries with attempts", body = Vec<DeliveryView>),
    (status = 403, description = "Admins only", body = ErrorBody),
    (status = 404, description = "No such channel", body = ErrorBody)))]
pub(crate) async fn channel_deliveries(
    State(state): State<AppState>,
    Permitted(caller, _): Permitted<ManageChannel>,
    Path(id): Path<i64>,
    Query(query): Query<DeliveriesQuery>,
) -> Result<Json<Vec<DeliveryView>>, ApiError> {
    let limit = query.limit.unwrap_or(50).clamp(1, 200);
    Ok(Json(state.notify.deliveries(&caller, id, limit).await?))
}

/// Every subscription.
#[utoipa::path(get, path = "/api/v1/subscriptions", tag = "notifications", responses(
    (status = 200, description = "Subscriptions", body = Vec<Subscription>),
    (status = 403, description = "Not an admin", body = ErrorBody)))]
pub(crate) async fn list_subscriptions(
    State(state): State<AppState>,
    Permitted(caller, _): Permitted<ManageChannel>,
) -> Result<Json<Vec<Subscription>>, ApiError> {
    Ok(Json(state.notify.list_subscriptions(&caller).await?))
}

fn yes() -> bool {
    true
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewSubscriptionRequest {
    channel_id: i64,
    /// The OKR to hear about; absent or null: every OKR.
    okr_id: Option<i64>,
    /// Whether the OKR's key results and child objectives count too
    /// (default true).
    #[serde(default = "yes")]
    include_subtree: bool,
    /// `status_changed`, `target_reached`, `link_stale`, `link_failing`,
    /// `connection_unhealthy`, `check_in_due`, and without an OKR
    /// `sync_failing`; absent or
    /// empty: all those the subscription can hear.
    #[serde(default)]
    events: Vec<String>,
}

/// Subscribes a channel to an OKR (with its subtree) or to everything.
#[utoipa::path(post, path = "/api/v1/subscriptions", tag = "notifications", request_body = NewSubscriptionRequest, responses(
    (status = 201, description = "Created", body = Subscription),
    (status = 403, description = "Not an admin", body = ErrorBody),
    (status = 422, description = "Invalid field (`channel_id`, `okr_id`, `events`)", body = ErrorBody)))]
pub(crate) async fn create_subscription(
    State(state): State<AppState>,
    Permitted(caller, _): Permitted<ManageChannel>,
    ApiJson(body): ApiJson<NewSubscriptionRequest>,
) -> Result<(StatusCode, Json<Subscription>), ApiError> {
    let created = state
        .notify
        .subscribe(
            &caller,
            SubscriptionInput {
                channel_id: body.channel_id,
                okr_id: body.okr_id,
                include_subtree: body.include_subtree,
                events: body.events,
            },
            Utc::now(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Deletes a subscription.
#[utoipa::path(delete, path = "/api/v1/subscriptions/{id}", tag = "notifications", params(("id" = i64, Path)), responses(
    (status = 204, description = "Deleted"),
    (status = 404, description = "No such subscription", body = ErrorBody)))]
pub(crate) async fn delete_subscription(
    State(state): State<AppState>,
    Permitted(caller, _): Permitted<ManageChannel>,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    state.notify.unsubscribe(&caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams)]
pub(crate) struct NoticesQuery {
    /// Include dismissed notices (default false).
    #[serde(default)]
    all: bool,
}

/// Notices for admins (e.g. a channel was disabled), newest first.
#[utoipa::path(get, path = "/api/v1/notices", tag = "notifications", params(NoticesQuery), responses(
    (status = 200, description = "Notices", body = Vec<Notice>),
    (status = 403, description = "Not an admin", body = ErrorBody)))]
pub(crate) async fn list_notices(
    State(state): State<AppState>,
    Permitted(caller, _): Permitted<ViewNotices>,
    Query(query): Query<NoticesQuery>,
) -> Result<Json<Vec<Notice>>, ApiError> {
    Ok(Json(state.notify.notices(&caller, query.all).await?))
}

/// Dismisses a notice.
#[utoipa::path(post, path = "/api/v1/notices/{id}/dismiss", tag = "notifications", params(("id" = i64, Path)), responses(
    (status = 204, description = "Dismissed"),
    (status = 404, description = "No such open notice", body = ErrorBody)))]
pub(crate) async fn dismiss_notice(
    State(state): State<AppState>,
    Permitted(caller, _): Permitted<ViewNotices>,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    state.notify.dismiss_notice(&caller, id, Utc::now()).await?;
    Ok(StatusCode::NO_CONTENT)
}
