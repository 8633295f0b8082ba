//! Hook setup (admins): for each GitLab or Jira connection, the webhook URL,
//! the events to tick, the secret (generated on request and shown that
//! once: the engine never reveals a stored one), "Enable real-time" (Cairn
//! registers the hook itself where the token may, else the page says what
//! to add by hand) and the hook's health.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use cairn_core::integrations::IntegrationKind;
use cairn_engine::accounts::Authenticated;
use cairn_engine::hooks::setup::{RealTime, Registration};
use chrono::Utc;
use serde::Deserialize;

use super::common::{
    FormError, Nav, PageError, PageResult, admin, no_store, page, refusal, refused, when,
};
use crate::AppState;
use crate::api::hooks::public_base;
use crate::auth::Caller;

/// One connection's card on the page.
pub(crate) struct HookCard {
    pub id: i64,
    pub name: String,
    pub kind_title: &'static str,
    pub is_gitlab: bool,
    /// The full URL, or the path when Cairn does not know its address.
    pub url: String,
    pub events: Vec<&'static str>,
    pub secret_usage: &'static str,
    pub secret_set_at: Option<String>,
    pub last_delivery: Option<String>,
    pub deliveries_today: u64,
    pub failures_today: u64,
    /// The "Enable real-time" form as typed.
    pub projects: String,
    pub error: FormError,
    /// What the last "Enable real-time" on this card did.
    pub outcome: Option<RealTime>,
    /// A secret just generated: shown this once.
    pub new_secret: Option<String>,
    /// Whether Cairn's hook is registered, per project (or on Jira).
    pub registrations: Vec<Registration>,
}

impl HookCard {
    /// The id of the card's projects field (unique on the page).
    pub fn projects_id(&self) -> String {
        format!("projects-{}", self.id)
    }
}

#[derive(Template)]
#[template(path = "hooks.html")]
struct HooksPage {
    nav: Nav,
    cards: Vec<HookCard>,
    /// Whether Cairn knows the address trackers reach it at.
    address_known: bool,
}

/// What the page shows after a form on one card.
enum Posted {
    Nothing,
    Enabled {
        id: i64,
        projects: String,
        result: Result<RealTime, FormError>,
    },
    Rotated {
        id: i64,
        result: Result<String, FormError>,
    },
}

async fn hooks_page(
    state: &AppState,
    who: &Authenticated,
    headers: &HeaderMap,
    posted: Posted,
) -> Result<HooksPage, PageError> {
    let base = public_base(state, headers);
    let now = Utc::now();
    let mut cards = Vec::new();
    let mut posted = Some(posted);
    for c in state.connections.list(who).await? {
        if !c.kind.is_tracker() {
            continue;
        }
        let s = state.hooks.status(who, c.id, now).await?;
        // Asked on every load (bounded per project): an admin page, opened
        // to see exactly this.
        let registrations = state
            .hooks
            .registrations(who, c.id, base.as_deref())
            .await?;
        let mut card = HookCard {
            id: c.id,
            name: c.name.clone(),
            kind_title: c.kind.title(),
            is_gitlab: s.setup.tracker == IntegrationKind::Gitlab,
            url: match &base {
                Some(b) => format!("{}{}", b.trim_end_matches('/'), s.setup.url_path),
                None => s.setup.url_path.clone(),
            },
            events: s.setup.events.clone(),
            secret_usage: s.setup.secret_usage,
            secret_set_at: s.secret_set_at.map(when),
            last_delivery: s.last_delivery_at.map(when),
            deliveries_today: s.deliveries_today,
            failures_today: s.failures_today,
            projects: String::new(),
            error: FormError::none(),
            outcome: None,
            new_secret: None,
            registrations,
        };
        match posted.take() {
            Some(Posted::Enabled {
                id,
                projects,
                result,
            }) if id == c.id => {
                card.projects = projects;
                match result {
                    Ok(outcome) => {
                        card.new_secret = outcome.secret.clone();
                        card.outcome = Some(outcome);
                    }
                    // The card's projects field carries its id in its own.
                    Err(error) => card.error = error.anchored(|field| format!("{field}-{id}")),
                }
            }
            Some(Posted::Rotated { id, result }) if id == c.id => match result {
                Ok(secret) => card.new_secret = Some(secret),
                Err(error) => card.error = error,
            },
            other => posted = other,
        }
        cards.push(card);
    }
    Ok(HooksPage {
        nav: Nav::admin(state, who, "/admin/hooks").await?,
        cards,
        address_known: base.is_some(),
    })
}

/// `/admin/hooks`.
pub(crate) async fn hooks(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
) -> PageResult {
    let who = admin(&caller, "hook setup")?;
    page(&hooks_page(&state, who, &headers, Posted::Nothing).await?)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct EnableHookForm {
    projects: String,
}

/// The project ids or paths typed, split on commas, spaces and new lines.
fn projects(text: &str) -> Vec<String> {
    text.split([',', ' ', '\n', '\r', '\t'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect()
}

/// "Enable real-time" on one connection; the page shows what was
/// registered and what to add by hand.
pub(crate) async fn enable_hook(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<EnableHookForm>,
) -> PageResult {
    let who = admin(&caller, "hook setup")?;
    let base = public_base(&state, &headers);
    let result = match state
        .hooks
        .enable_real_time(
            who,
            id,
            base.as_deref(),
            projects(&form.projects),
            Utc::now(),
        )
        .await
    {
        Ok(outcome) => Ok(outcome),
        Err(e) => Err(refusal(e, &["projects"])?),
    };
    let status = if result.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let posted = Posted::Enabled {
        id,
        projects: form.projects,
        result,
    };
    no_store(refused(
        status,
        &hooks_page(&state, who, &headers, posted).await?,
    ))
}

/// Generates a new hook secret for one connection and shows it once.
pub(crate) async fn rotate_hook_secret(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> PageResult {
    let who = admin(&caller, "hook setup")?;
    let result = match state.hooks.rotate_secret(who, id, Utc::now()).await {
        Ok(issued) => Ok(issued.secret.expose().to_owned()),
        Err(e) => Err(refusal(e, &["projects"])?),
    };
    let status = if result.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let posted = Posted::Rotated { id, result };
    no_store(refused(
        status,
        &hooks_page(&state, who, &headers, posted).await?,
    ))
}
