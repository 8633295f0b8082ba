//! Notification channels (admins): Slack, Teams and signed webhooks out,
//! what each one is subscribed to, its deliveries with their attempts, and
//! a test message on request. A signed webhook's secret is shown once,
//! after creation or rotation; the URL's path (a credential) never, only
//! its host. Admin notices (a channel disabled after a 410) are dismissed
//! here too.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use cairn_core::notify::EventKind;
use cairn_core::secret::Secret;
use cairn_engine::accounts::Authenticated;
use cairn_engine::notify::{ChannelChanges, ChannelInput, ChannelView, SubscriptionInput};
use cairn_store::notify::{ChannelKind, NotifyAttempt, NotifyState};
use chrono::Utc;
use serde::Deserialize;

use super::common::{
    Choice, DoneQuery, FormError, Nav, PageError, PageResult, admin, done, no_store, page, refusal,
    refused, see_other, when,
};
use super::okrs::{kind_label, tree_order};
use crate::AppState;
use crate::auth::Caller;

const WHAT: &str = "notification channels";
const CHANNEL_FIELDS: &[&str] = &["name", "kind", "url"];
const SUBSCRIPTION_FIELDS: &[&str] = &["okr_id", "events"];
/// How much of a destination's answer a page shows.
const EXCERPT_CHARS: usize = 300;

fn kind_title(kind: ChannelKind) -> &'static str {
    match kind {
        ChannelKind::Slack => "Slack",
        ChannelKind::Teams => "Microsoft Teams",
        ChannelKind::Webhook => "Signed webhook",
    }
}

fn event_label(kind: EventKind) -> &'static str {
    match kind {
        EventKind::StatusChanged => "Status changed",
        EventKind::TargetReached => "Target reached",
        EventKind::LinkStale => "Link stale",
        EventKind::LinkFailing => "Link failing",
        EventKind::ConnectionUnhealthy => "Connection unhealthy",
        EventKind::SyncFailing => "Sync pair failing (without an OKR only)",
        EventKind::CheckInDue => "Check-in due",
    }
}

/// `example.com:8443` of `https://example.com:8443`.
fn host(target: &str) -> String {
    target
        .split_once("://")
        .map_or(target, |(_, host)| host)
        .to_owned()
}

/// The pill class of a delivery state.
fn state_class(state: NotifyState) -> &'static str {
    match state {
        NotifyState::Delivered => "ok",
        NotifyState::Pending => "unknown",
        NotifyState::Failed | NotifyState::GaveUp => "failing",
    }
}

/// One attempt to reach a destination, as shown.
pub(crate) struct AttemptRow {
    pub at: String,
    pub ok: bool,
    /// The HTTP status, or "no answer".
    pub status: String,
    pub duration_ms: i64,
    pub error: Option<String>,
    /// The start of the answer, cut short.
    pub excerpt: String,
}

impl From<&NotifyAttempt> for AttemptRow {
    fn from(a: &NotifyAttempt) -> Self {
        let mut excerpt: String = a.response_excerpt.chars().take(EXCERPT_CHARS).collect();
        if a.response_excerpt.chars().nth(EXCERPT_CHARS).is_some() {
            excerpt.push('…');
        }
        AttemptRow {
            at: when(a.at),
            ok: a.error.is_none() && a.status_code.is_some_and(|s| (200..300).contains(&s)),
            status: a
                .status_code
                .map_or_else(|| "no answer".to_owned(), |s| s.to_string()),
            duration_ms: a.duration_ms,
            error: a.error.clone(),
            excerpt,
        }
    }
}

/// The latest delivery of a channel, for the list.
pub(crate) struct LastDelivery {
    pub state: &'static str,
    pub class: &'static str,
    pub at: String,
    pub attempt: Option<AttemptRow>,
}

pub(crate) struct ChannelRow {
    pub id: i64,
    pub name: String,
    pub kind_title: &'static str,
    pub signed: bool,
    pub host: String,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub failing_since: Option<String>,
    pub consecutive_failures: i64,
    pub last_success: Option<String>,
    pub last: Option<LastDelivery>,
}

async fn channel_row(
    state: &AppState,
    who: &Authenticated,
    c: ChannelView,
) -> Result<ChannelRow, PageError> {
    let last = state
        .notify
        .deliveries(who, c.id, 1)
        .await?
        .into_iter()
        .next()
        .map(|d| LastDelivery {
            state: d.state.as_str(),
            class: state_class(d.state),
            at: when(d.created_at),
            attempt: d.attempt_log.last().map(AttemptRow::from),
        });
    Ok(ChannelRow {
        id: c.id,
        kind_title: kind_title(c.kind),
        signed: c.signed,
        host: host(&c.target),
        enabled: c.enabled,
        disabled_reason: c.disabled_reason,
        failing_since: c.failing_since.map(when),
        consecutive_failures: c.consecutive_failures,
        last_success: c.last_success_at.map(when),
        last,
        name: c.name,
    })
}

/// The new-channel form as typed.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct ChannelForm {
    name: String,
    kind: String,
    url: String,
}

#[derive(Template)]
#[template(path = "channels.html")]
struct ChannelsPage {
    nav: Nav,
    channels: Vec<ChannelRow>,
    kinds: Vec<Choice>,
    form: ChannelForm,
    error: FormError,
}

async fn channels_page(
    state: &AppState,
    who: &Authenticated,
    form: ChannelForm,
    error: FormError,
) -> Result<ChannelsPage, PageError> {
    let mut channels = Vec::new();
    for c in state.notify.list_channels(who).await? {
        channels.push(channel_row(state, who, c).await?);
    }
    Ok(ChannelsPage {
        nav: Nav::admin(state, who, "/admin/notifications").await?,
        channels,
        kinds: ChannelKind::ALL
            .iter()
            .map(|k| Choice::new(k.as_str(), kind_title(*k), &form.kind))
            .collect(),
        form,
        error,
    })
}

/// `/admin/notifications`: the channels and the new-channel form.
pub(crate) async fn channels(
    State(state): State<AppState>,
    caller: Caller,
    Query(done): Query<DoneQuery>,
) -> PageResult {
    let who = admin(&caller, WHAT)?;
    let form = ChannelForm {
        kind: ChannelKind::Slack.as_str().to_owned(),
        ..ChannelForm::default()
    };
    let mut shown = channels_page(&state, who, form, FormError::none()).await?;
    shown.nav = shown.nav.with_done(&done);
    page(&shown)
}

/// Creates a channel; a signed webhook's page shows its secret this once.
pub(crate) async fn create_channel(
    State(state): State<AppState>,
    caller: Caller,
    Form(form): Form<ChannelForm>,
) -> PageResult {
    let who = admin(&caller, WHAT)?;
    let input = ChannelInput {
        name: form.name.clone(),
        kind: form.kind.clone(),
        url: Secret::new(form.url.clone()),
    };
    match state.notify.create_channel(who, input, Utc::now()).await {
        Ok(issued) => match issued.secret {
            Some(secret) => {
                let shown = Shown {
                    secret: Some(secret.expose().to_owned()),
                    ..Shown::default()
                };
                no_store(page(
                    &channel_page(&state, who, issued.channel.id, shown).await?,
                ))
            }
            None => done(
                &format!("/admin/notifications/{}", issued.channel.id),
                "channel_created",
            ),
        },
        Err(e) => {
            let error = refusal(e, CHANNEL_FIELDS)?;
            refused(
                StatusCode::UNPROCESSABLE_ENTITY,
                &channels_page(&state, who, form, error).await?,
            )
        }
    }
}

/// A subscription, as listed.
pub(crate) struct SubscriptionRow {
    pub id: i64,
    pub scope: String,
    pub events: Vec<&'static str>,
}

/// A ticked or unticked event on the subscription form.
pub(crate) struct EventBox {
    pub value: &'static str,
    pub label: &'static str,
    pub checked: bool,
}

/// The subscription form as typed (its events are repeated fields).
pub(crate) struct SubscriptionForm {
    okr_id: String,
    include_subtree: bool,
    events: Vec<String>,
}

impl Default for SubscriptionForm {
    fn default() -> Self {
        SubscriptionForm {
            okr_id: String::new(),
            include_subtree: true,
            // The kinds about OKRs: a subscription to one OKR takes no
            // other, and this form starts as one.
            events: EventKind::ALL
                .into_iter()
                .filter(|k| k.is_about_okrs())
                .map(|k| k.as_str().to_owned())
                .collect(),
        }
    }
}

impl SubscriptionForm {
    fn parse(fields: Vec<(String, String)>) -> SubscriptionForm {
        let mut form = SubscriptionForm {
            okr_id: String::new(),
            include_subtree: false,
            events: Vec::new(),
        };
        for (name, value) in fields {
            match name.as_str() {
                "okr_id" => form.okr_id = value,
                "include_subtree" => form.include_subtree = true,
                "events" => form.events.push(value),
                _ => {}
            }
        }
        form
    }
}

/// What a channel's page shows after a form: a new secret, a test's
/// attempt, a refusal, or the subscription form as typed.
#[derive(Default)]
struct Shown {
    secret: Option<String>,
    test: Option<AttemptRow>,
    error: FormError,
    /// The name-and-URL form as typed, when it was refused.
    edit: Option<ChannelForm>,
    edit_error: FormError,
    subscription: SubscriptionForm,
    subscription_error: FormError,
}

pub(crate) struct DeliveryRow {
    pub id: i64,
    pub event: String,
    pub okr_title: Option<String>,
    pub state: &'static str,
    pub class: &'static str,
    pub created: String,
    pub next_attempt: Option<String>,
    pub attempts: Vec<AttemptRow>,
}

#[derive(Template)]
#[template(path = "channel.html")]
struct ChannelPage {
    nav: Nav,
    channel: ChannelRow,
    new_secret: Option<String>,
    test: Option<AttemptRow>,
    error: FormError,
    edit: ChannelForm,
    edit_error: FormError,
    subscriptions: Vec<SubscriptionRow>,
    okrs: Vec<Choice>,
    events: Vec<EventBox>,
    include_subtree: bool,
    subscription_error: FormError,
    deliveries: Vec<DeliveryRow>,
}

async fn channel_page(
    state: &AppState,
    who: &Authenticated,
    id: i64,
    shown: Shown,
) -> Result<ChannelPage, PageError> {
    let channel = channel_row(state, who, state.notify.get_channel(who, id).await?).await?;
    let okrs = state.goals.list_okrs(who, None).await?;
    let title = |okr: i64| {
        okrs.iter()
            .find(|o| o.id == okr)
            .map_or_else(|| format!("OKR {okr}"), |o| o.fields.title.clone())
    };
    let subscriptions = state
        .notify
        .list_subscriptions(who)
        .await?
        .into_iter()
        .filter(|s| s.channel_id == id)
        .map(|s| SubscriptionRow {
            id: s.id,
            scope: match (s.okr_id, s.include_subtree) {
                (None, _) => "Every OKR".to_owned(),
                (Some(okr), true) => format!("{} and its sub-OKRs", title(okr)),
                (Some(okr), false) => title(okr),
            },
            events: s.events.iter().map(|k| event_label(*k)).collect(),
        })
        .collect();
    let form = shown.subscription;
    let choices = std::iter::once(Choice::new("", "Every OKR", &form.okr_id))
        .chain(tree_order(&okrs).into_iter().map(|(depth, o)| {
            Choice::new(
                o.id.to_string(),
                format!(
                    "{}{}: {}",
                    "– ".repeat(depth),
                    kind_label(o.fields.kind),
                    o.fields.title
                ),
                &form.okr_id,
            )
        }))
        .collect();
    let events = EventKind::ALL
        .iter()
        .map(|k| EventBox {
            value: k.as_str(),
            label: event_label(*k),
            checked: form.events.iter().any(|e| e == k.as_str()),
        })
        .collect();
    let deliveries = state
        .notify
        .deliveries(who, id, 20)
        .await?
        .into_iter()
        .map(|d| DeliveryRow {
            id: d.id,
            event: EventKind::parse(&d.event_kind)
                .map_or_else(|| d.event_kind.clone(), |k| event_label(k).to_owned()),
            okr_title: d
                .event
                .get("okr_title")
                .or_else(|| d.event.get("pair_name"))
                .and_then(|t| t.as_str())
                .map(str::to_owned),
            state: d.state.as_str(),
            class: state_class(d.state),
            created: when(d.created_at),
            next_attempt: d.next_attempt_at.map(when),
            attempts: d.attempt_log.iter().map(AttemptRow::from).collect(),
        })
        .collect();
    let edit = shown.edit.unwrap_or_else(|| ChannelForm {
        name: channel.name.clone(),
        ..ChannelForm::default()
    });
    Ok(ChannelPage {
        nav: Nav::admin(state, who, format!("/admin/notifications/{id}")).await?,
        channel,
        new_secret: shown.secret,
        test: shown.test,
        error: shown.error,
        edit,
        edit_error: shown.edit_error,
        subscriptions,
        okrs: choices,
        events,
        include_subtree: form.include_subtree,
        subscription_error: shown.subscription_error,
        deliveries,
    })
}

/// `/admin/notifications/{id}`: one channel, its subscriptions and
/// deliveries.
pub(crate) async fn show_channel(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(done): Query<DoneQuery>,
) -> PageResult {
    let who = admin(&caller, WHAT)?;
    let mut shown = channel_page(&state, who, id, Shown::default()).await?;
    shown.nav = shown.nav.with_done(&done);
    page(&shown)
}

/// The channel's page after a refusal, with its status.
async fn refused_on_channel(
    state: &AppState,
    who: &Authenticated,
    id: i64,
    error: cairn_engine::EngineError,
) -> PageResult {
    let error = refusal(error, &[])?;
    let shown = Shown {
        error,
        ..Shown::default()
    };
    refused(
        StatusCode::CONFLICT,
        &channel_page(state, who, id, shown).await?,
    )
}

/// Sends a test message now and shows the attempt.
pub(crate) async fn test_channel(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> PageResult {
    let who = admin(&caller, WHAT)?;
    match state.notify.test_channel(who, id, Utc::now()).await {
        Ok(attempt) => {
            let shown = Shown {
                test: Some(AttemptRow::from(&attempt)),
                ..Shown::default()
            };
            page(&channel_page(&state, who, id, shown).await?)
        }
        Err(e) => refused_on_channel(&state, who, id, e).await,
    }
}

/// Renames a channel or points it at a new URL (left empty: unchanged),
/// e.g. after it was disabled for a 410.
pub(crate) async fn edit_channel(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Form(form): Form<ChannelForm>,
) -> PageResult {
    let who = admin(&caller, WHAT)?;
    let changes = ChannelChanges {
        name: Some(form.name.clone()),
        url: (!form.url.trim().is_empty()).then(|| Secret::new(form.url.trim())),
        ..ChannelChanges::default()
    };
    match state
        .notify
        .update_channel(who, id, changes, Utc::now())
        .await
    {
        Ok(_) => done(&format!("/admin/notifications/{id}"), "channel_saved"),
        Err(e) => {
            let shown = Shown {
                edit_error: refusal(e, CHANNEL_FIELDS)?,
                edit: Some(form),
                ..Shown::default()
            };
            refused(
                StatusCode::UNPROCESSABLE_ENTITY,
                &channel_page(&state, who, id, shown).await?,
            )
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct EnabledForm {
    enabled: String,
}

/// Enables (clearing its failures) or disables a channel.
pub(crate) async fn set_channel_enabled(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Form(form): Form<EnabledForm>,
) -> PageResult {
    let who = admin(&caller, WHAT)?;
    let changes = ChannelChanges {
        enabled: Some(form.enabled == "true"),
        ..ChannelChanges::default()
    };
    match state
        .notify
        .update_channel(who, id, changes, Utc::now())
        .await
    {
        Ok(_) => see_other(&format!("/admin/notifications/{id}")),
        Err(e) => refused_on_channel(&state, who, id, e).await,
    }
}

/// Replaces a signed webhook's secret and shows the new one once.
pub(crate) async fn rotate_channel_secret(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> PageResult {
    let who = admin(&caller, WHAT)?;
    match state.notify.rotate_secret(who, id, Utc::now()).await {
        Ok(issued) => {
            let shown = Shown {
                secret: issued.secret.map(|s| s.expose().to_owned()),
                ..Shown::default()
            };
            no_store(page(&channel_page(&state, who, id, shown).await?))
        }
        Err(e) => refused_on_channel(&state, who, id, e).await,
    }
}

#[derive(Template)]
#[template(path = "channel_delete.html")]
struct DeletePage {
    nav: Nav,
    channel: ChannelRow,
    subscriptions: usize,
}

/// Asks before deleting a channel.
pub(crate) async fn confirm_delete_channel(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> PageResult {
    let who = admin(&caller, WHAT)?;
    let channel = channel_row(&state, who, state.notify.get_channel(who, id).await?).await?;
    let subscriptions = state
        .notify
        .list_subscriptions(who)
        .await?
        .iter()
        .filter(|s| s.channel_id == id)
        .count();
    page(&DeletePage {
        nav: Nav::admin(&state, who, format!("/admin/notifications/{id}")).await?,
        channel,
        subscriptions,
    })
}

/// Deletes a channel with its subscriptions and deliveries.
pub(crate) async fn delete_channel(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> PageResult {
    let who = admin(&caller, WHAT)?;
    state.notify.delete_channel(who, id, Utc::now()).await?;
    done("/admin/notifications", "channel_deleted")
}

/// Subscribes the channel to an OKR (with its subtree, if ticked) or to
/// every OKR, for the ticked events.
pub(crate) async fn subscribe_channel(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Form(fields): Form<Vec<(String, String)>>,
) -> PageResult {
    let who = admin(&caller, WHAT)?;
    let form = SubscriptionForm::parse(fields);
    let okr_id = match form.okr_id.trim() {
        "" => Ok(None),
        text => text
            .parse::<i64>()
            .map(Some)
            .map_err(|_| FormError::at("okr_id", "choose an OKR from the list")),
    };
    let error = match okr_id {
        Err(error) => error,
        Ok(okr_id) => {
            let input = SubscriptionInput {
                channel_id: id,
                okr_id,
                include_subtree: form.include_subtree,
                events: form.events.clone(),
            };
            match state.notify.subscribe(who, input, Utc::now()).await {
                Ok(_) => return see_other(&format!("/admin/notifications/{id}#subscriptions")),
                Err(e) => refusal(e, SUBSCRIPTION_FIELDS)?,
            }
        }
    };
    let shown = Shown {
        subscription: form,
        subscription_error: error,
        ..Shown::default()
    };
    refused(
        StatusCode::UNPROCESSABLE_ENTITY,
        &channel_page(&state, who, id, shown).await?,
    )
}

/// Removes one of the channel's subscriptions.
pub(crate) async fn unsubscribe_channel(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, subscription)): Path<(i64, i64)>,
) -> PageResult {
    let who = admin(&caller, WHAT)?;
    state.notify.unsubscribe(who, subscription).await?;
    see_other(&format!("/admin/notifications/{id}#subscriptions"))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct DismissForm {
    back: String,
}

/// Dismisses an admin notice and returns to the admin page it was shown on.
pub(crate) async fn dismiss_notice(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Form(form): Form<DismissForm>,
) -> PageResult {
    let who = admin(&caller, "notices")?;
    state.notify.dismiss_notice(who, id, Utc::now()).await?;
    // Only back to one of Cairn's own admin pages.
    let local = form.back.starts_with("/admin/")
        && form
            .back
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '/' || c == '-');
    see_other(if local {
        &form.back
    } else {
        "/admin/notifications"
    })
}
