//! What every signed-in page shares: the navigation, HTML error pages,
//! inline form errors, progress bars and number formatting.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use cairn_core::authz::Role;
use cairn_core::goals::{Measure, Status};
use cairn_engine::EngineError;
use cairn_engine::accounts::Authenticated;
use cairn_store::goals::OkrProgress;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::render;
use crate::auth::Caller;
use crate::{ApiError, AppState};

/// The header of every signed-in page.
pub(crate) struct Nav {
    pub name: String,
    pub role: &'static str,
    pub is_admin: bool,
    /// The session's CSRF token: every form posts it back (and scripts send
    /// it as `X-CSRF-Token`). Empty for API-token callers, who have no forms.
    pub csrf_token: String,
    /// Which menu entry is current: `okrs`, `connections`, `tokens`, `admin`.
    pub section: &'static str,
    /// Open notices for admins (e.g. a channel was disabled), shown above
    /// the admin pages; empty elsewhere.
    pub notices: Vec<NoticeRow>,
    /// Where dismissing a notice returns to.
    pub here: String,
    /// What the last form did, shown at the top (see [`DoneQuery`]).
    pub done: Option<&'static str>,
}

/// An open notice with its dismiss button.
pub(crate) struct NoticeRow {
    pub id: i64,
    pub text: String,
    pub at: String,
}

impl Nav {
    pub fn new(who: &Authenticated, section: &'static str) -> Nav {
        Nav {
            name: who.user.name.clone(),
            role: who.user.role.as_str(),
            is_admin: who.user.role == Role::Admin,
            csrf_token: who
                .session
                .as_ref()
                .map(|s| s.csrf_token.clone())
                .unwrap_or_default(),
            section,
            notices: Vec::new(),
            here: String::new(),
            done: None,
        }
    }

    /// The same header saying what the last form did.
    pub fn with_done(mut self, done: &DoneQuery) -> Nav {
        self.done = done.message();
        self
    }

    /// The header of an admin page at `here`, with the open notices.
    pub async fn admin(
        state: &AppState,
        who: &Authenticated,
        here: impl Into<String>,
    ) -> Result<Nav, PageError> {
        let mut nav = Nav::new(who, "admin");
        nav.here = here.into();
        if nav.is_admin {
            nav.notices = state
                .notify
                .notices(who, false)
                .await?
                .into_iter()
                .map(|n| NoticeRow {
                    id: n.id,
                    text: n.text,
                    at: when(n.created_at),
                })
                .collect();
        }
        Ok(nav)
    }

    /// `aria-current` for the menu entry of `section`.
    pub fn current(&self, section: &str) -> &'static str {
        if self.section == section {
            "page"
        } else {
            "false"
        }
    }
}

/// The signed-in caller, or the way to the sign-in page.
pub(crate) fn signed_in(caller: &Caller) -> Result<&Authenticated, PageError> {
    caller.0.as_ref().ok_or(PageError::SignIn)
}

/// The signed-in admin; others get 403 for `what`.
pub(crate) fn admin<'a>(caller: &'a Caller, what: &str) -> Result<&'a Authenticated, PageError> {
    let who = signed_in(caller)?;
    if who.user.role != Role::Admin {
        return Err(PageError::Failed(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("{what} is for admins"),
        )));
    }
    Ok(who)
}

/// Why a page could not be shown: not signed in (to the sign-in page), or
/// an error shown as a page with its status.
#[derive(Debug)]
pub(crate) enum PageError {
    SignIn,
    Failed(ApiError),
}

impl From<ApiError> for PageError {
    fn from(error: ApiError) -> Self {
        PageError::Failed(error)
    }
}

impl From<EngineError> for PageError {
    fn from(error: EngineError) -> Self {
        PageError::Failed(crate::from_engine(error))
    }
}

impl From<cairn_store::StoreError> for PageError {
    fn from(error: cairn_store::StoreError) -> Self {
        PageError::Failed(ApiError::from(error))
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    reason: &'a str,
    message: &'a str,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::SignIn => Redirect::to("/login").into_response(),
            PageError::Failed(error) if error.status == StatusCode::UNAUTHORIZED => {
                Redirect::to("/login").into_response()
            }
            PageError::Failed(error) => {
                let page = ErrorPage {
                    status: error.status.as_u16(),
                    reason: error.status.canonical_reason().unwrap_or("Error"),
                    message: &error.message,
                };
                match render(&page) {
                    Ok(html) => (error.status, html).into_response(),
                    Err(e) => e.into_response(),
                }
            }
        }
    }
}

pub(crate) type PageResult = Result<Response, PageError>;

/// A page, rendered.
pub(crate) fn page(template: &impl Template) -> PageResult {
    Ok(render(template)?.into_response())
}

/// A form rendered again after a refusal, with the refusal's status.
pub(crate) fn refused(status: StatusCode, template: &impl Template) -> PageResult {
    Ok((status, render(template)?).into_response())
}

/// A page that may show a secret: never cached.
pub(crate) fn no_store(response: PageResult) -> PageResult {
    let mut response = response?;
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// A redirect after a successful form post.
pub(crate) fn see_other(to: &str) -> PageResult {
    Ok(Redirect::to(to).into_response())
}

/// A form's refusal: every problem found, each next to its field or, naming
/// none, above the form; all of them are listed in the summary at the top
/// (`error_summary` in macros.html), so one submit shows everything to fix.
#[derive(Debug, Default, Clone)]
pub(crate) struct FormError {
    problems: Vec<Problem>,
    /// The form only filters what a page shows (nothing to save).
    filters: bool,
}

/// One thing wrong with a form.
#[derive(Debug, Clone)]
pub(crate) struct Problem {
    /// The field's id (the summary links to `#field`), or none.
    pub field: Option<String>,
    /// What the field is called on the form, for the summary.
    pub label: String,
    pub message: String,
    /// The element the summary links to, when its id is not the field's
    /// name (a page with several forms prefixes its ids).
    pub anchor: Option<String>,
}

impl Problem {
    /// The id the summary links to.
    pub fn target(&self) -> Option<&str> {
        self.anchor.as_deref().or(self.field.as_deref())
    }
}

/// How the summary names a field: the form's label for the usual fields,
/// else the field's name in words.
fn field_label(field: &str) -> String {
    let known = match field {
        "title" => "Title",
        "kind" => "Kind",
        "period_id" => "Period",
        "parent_id" => "Aligns to",
        "owner_id" => "Owner",
        "starts_on" => "Start date",
        "ends_on" => "End date",
        "due_on" => "Due date",
        "measure" => "Measure",
        "unit" => "Unit",
        "start_value" => "Start value",
        "target_value" => "Target value",
        "weight" => "Weight",
        "progress_source" => "Progress comes from",
        "value" => "Value",
        "status_override" => "Status",
        "note" => "Note",
        "name" => "Name",
        "base_url" => "Base URL",
        "auth_kind" => "Authentication",
        "username" => "Username",
        "secret" => "Secret",
        "email" => "Email",
        "password" => "Password",
        "role" => "Role",
        _ => "",
    };
    if !known.is_empty() {
        return known.to_owned();
    }
    let words = field.replace(['_', '.'], " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => words,
    }
}

impl FormError {
    pub fn none() -> FormError {
        FormError::default()
    }

    pub fn at(field: &str, message: impl Into<String>) -> FormError {
        FormError {
            problems: vec![Problem {
                field: Some(field.to_owned()),
                label: field_label(field),
                message: message.into(),
                anchor: None,
            }],
            filters: false,
        }
    }

    /// A refusal that names no field: shown above the form.
    pub fn above(message: impl Into<String>) -> FormError {
        FormError {
            problems: vec![Problem {
                field: None,
                label: String::new(),
                message: message.into(),
                anchor: None,
            }],
            filters: false,
        }
    }

    /// Adds the problems of `other` after these.
    pub fn add(&mut self, other: FormError) {
        self.problems.extend(other.problems);
    }

    /// The value of `result`, or `fallback` with its problem added here:
    /// a form checks every field before it is refused.
    pub fn keep<T>(&mut self, result: Result<T, FormError>, fallback: T) -> T {
        match result {
            Ok(value) => value,
            Err(error) => {
                self.add(error);
                fallback
            }
        }
    }

    /// The engine's refusal, placed next to one of `fields` (after renaming
    /// by `aliases`), or above the form when it names none of them.
    pub fn from_api(error: &ApiError, fields: &[&str], aliases: &[(&str, &str)]) -> FormError {
        let field = error.field.as_deref().map(|f| {
            aliases
                .iter()
                .find(|(from, _)| *from == f)
                .map(|(_, to)| *to)
                .unwrap_or(f)
        });
        match field.filter(|f| fields.contains(f)) {
            Some(field) => FormError::at(field, error.message.clone()),
            None => FormError::above(error.message.clone()),
        }
    }

    /// The same problems, all shown above the form (for a form whose fields
    /// are not shown).
    pub fn above_form(self) -> FormError {
        FormError {
            problems: self
                .problems
                .into_iter()
                .map(|p| Problem { field: None, ..p })
                .collect(),
            ..self
        }
    }

    pub fn is_empty(&self) -> bool {
        self.problems.is_empty()
    }

    /// The same problems, the summary linking each field to the id
    /// `anchor` gives it (a form whose ids are not its fields' names).
    pub fn anchored(self, anchor: impl Fn(&str) -> String) -> FormError {
        FormError {
            problems: self
                .problems
                .into_iter()
                .map(|p| Problem {
                    anchor: p.field.as_deref().map(&anchor),
                    ..p
                })
                .collect(),
            ..self
        }
    }

    /// Every problem, in the order found: the summary's list.
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }

    /// The summary's heading.
    pub fn heading(&self) -> String {
        match (self.filters, self.problems.len()) {
            (true, 1) => "Nothing is shown: 1 filter to fix".to_owned(),
            (true, n) => format!("Nothing is shown: {n} filters to fix"),
            (false, 1) => "Nothing was saved: 1 thing to fix".to_owned(),
            (false, n) => format!("Nothing was saved: {n} things to fix"),
        }
    }

    /// The same problems, for a form that filters a page.
    pub fn of_filters(self) -> FormError {
        FormError {
            filters: true,
            ..self
        }
    }

    /// The message for `field`, if the refusal names it.
    pub fn of(&self, field: &str) -> Option<&str> {
        self.problems
            .iter()
            .find(|p| p.field.as_deref() == Some(field))
            .map(|p| p.message.as_str())
    }

    /// The first message that names no field shown.
    pub fn general(&self) -> Option<&str> {
        self.problems
            .iter()
            .find(|p| p.field.is_none())
            .map(|p| p.message.as_str())
    }

    /// `aria-invalid` for `field`.
    pub fn invalid(&self, field: &str) -> &'static str {
        if self.of(field).is_some() {
            "true"
        } else {
            "false"
        }
    }
}

/// What a form that worked left to say: the redirect carries `?done=<code>`
/// and the page shows the code's fixed text at the top (`role="status"`),
/// so it works without JavaScript and nothing typed into a URL is echoed.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct DoneQuery {
    #[serde(default)]
    done: Option<String>,
}

impl DoneQuery {
    pub fn message(&self) -> Option<&'static str> {
        self.done.as_deref().and_then(done_message)
    }

    /// The code itself, when the page says more than the fixed message.
    pub fn code(&self) -> Option<&str> {
        self.done.as_deref()
    }
}

/// The fixed text of each `done` code; unknown codes show nothing.
pub(crate) fn done_message(code: &str) -> Option<&'static str> {
    Some(match code {
        "period_created" => "The period is created.",
        "okr_created" => "The OKR is created.",
        "okr_saved" => "Your changes are saved.",
        "okr_deleted" => "The OKR is deleted.",
        "checked_in" => "The check-in is recorded.",
        "refreshed" => "The number is refreshed from its data link.",
        "linked" => "The data link is saved; its number is read from the tracker now.",
        "connection_created" => "The connection is created.",
        "connection_saved" => "The connection is saved.",
        "connection_shared" => "The connection is shared with everyone.",
        "connection_private" => "The connection is private again.",
        "connection_deleted" => "The connection is deleted.",
        "user_created" => "The user is created.",
        "user_disabled" => "The user is disabled: they can no longer sign in.",
        "user_enabled" => "The user is enabled again.",
        "user_role" => "The user's role is changed.",
        "channel_created" => "The channel is created.",
        "channel_saved" => "The channel is saved.",
        "channel_deleted" => "The channel is deleted.",
        "token_revoked" => "The token is revoked.",
        "team_created" => "The team is created.",
        "team_saved" => "The team is saved.",
        "team_member_added" => "The member is added to the team.",
        "team_member_removed" => "The member is removed from the team.",
        "team_deleted" => "The team is deleted.",
        "pair_paused" => "The pair is paused: nothing is written on either side until it resumes.",
        "pair_resumed" => "The pair is active again: a scan carries what changed meanwhile.",
        "pair_deleted" => "The sync pair is deleted; the issues stay on both sides as they are.",
        _ => return None,
    })
}

/// `path` with `done=<code>` added to its query (before any `#fragment`).
pub(crate) fn with_done(path: &str, code: &str) -> String {
    let (path, fragment) = match path.split_once('#') {
        Some((p, f)) => (p, format!("#{f}")),
        None => (path, String::new()),
    };
    let join = if path.contains('?') { '&' } else { '?' };
    format!("{path}{join}done={code}{fragment}")
}

/// A redirect after a successful form post that says it worked (`code`
/// from [`done_message`]).
pub(crate) fn done(to: &str, code: &str) -> PageResult {
    debug_assert!(done_message(code).is_some(), "{code}: no message");
    see_other(&with_done(to, code))
}

/// Whether an engine error is a refusal to show on the form (bad input, a
/// conflict, a remote refusal) rather than a failure of the page.
pub(crate) fn is_refusal(error: &ApiError) -> bool {
    matches!(
        error.status,
        StatusCode::UNPROCESSABLE_ENTITY | StatusCode::CONFLICT | StatusCode::BAD_GATEWAY
    ) || (error.status == StatusCode::FORBIDDEN && error.code == "forbidden")
}

/// An engine error as a refusal to show on the form (next to one of
/// `fields`), or a failure of the page.
pub(crate) fn refusal(error: EngineError, fields: &[&str]) -> Result<FormError, PageError> {
    let error = ApiError::from(error);
    if is_refusal(&error) {
        Ok(FormError::from_api(&error, fields, &[]))
    } else {
        Err(error.into())
    }
}

/// A choice in a `<select>`.
#[derive(Debug, Clone)]
pub(crate) struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

impl Choice {
    pub fn new(value: impl Into<String>, label: impl Into<String>, current: &str) -> Choice {
        let value = value.into();
        Choice {
            selected: value == current,
            label: label.into(),
            value,
        }
    }
}

/// A number for people: whole numbers without decimals, others with up to
/// two.
pub(crate) fn number(value: f64) -> String {
    if (value - value.round()).abs() < 1e-9 {
        format!("{}", value.round() as i64)
    } else {
        let s = format!("{value:.2}");
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

/// A percent as shown: whole, rounded down so that 99.6 % (not done) never
/// shows as 100 %.
pub(crate) fn whole_percent(percent: f64) -> String {
    format!("{} %", percent.clamp(0.0, 100.0).floor() as i64)
}

pub(crate) fn status_label(status: Status) -> &'static str {
    match status {
        Status::NotStarted => "Not started",
        Status::OnTrack => "On track",
        Status::Behind => "Behind",
        Status::AtRisk => "At risk",
        Status::Done => "Done",
    }
}

/// A moment for people, in UTC.
pub(crate) fn when(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// A time for a `datetime` attribute (RFC 3339 in milliseconds, `Z`: two
/// refreshes a second apart are two times).
pub(crate) fn iso(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// How long ago, roughly (the script's `agoText` says the same).
pub(crate) fn ago(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (now - at).num_seconds().max(0);
    match secs {
        0..60 => "just now".to_owned(),
        60..3600 => format!("{} min ago", secs / 60),
        3600..86_400 => format!("{} h ago", secs / 3600),
        _ => format!("{} days ago", secs / 86_400),
    }
}

/// A progress bar: drawn as SVG (widths are attributes, so the
/// Content-Security-Policy needs no inline styles) and updated live by the
/// script from the same fields, serialised.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Bar {
    pub okr_id: i64,
    /// Width of the filled part, 0 to 100.
    pub width: String,
    /// Where the expected-progress marker stands, 0 to 100.
    pub expected: String,
    /// `on_track`, `behind`, `at_risk`, `not_started`, `done`, or `none`
    /// before anything is measured.
    pub status: &'static str,
    pub status_label: &'static str,
    pub percent_label: String,
    pub expected_label: String,
    /// "17 of 20 bugs" for KPIs, the percent otherwise.
    pub value_label: String,
    pub computed_at: Option<String>,
    /// When its data link last synced (RFC 3339), for the "synced … ago"
    /// text; `None` without a link or before its first sync.
    pub synced_at: Option<String>,
}

impl Bar {
    pub fn new(okr_id: i64, measure: &Measure, progress: Option<&OkrProgress>) -> Bar {
        match progress {
            None => Bar {
                okr_id,
                width: "0".to_owned(),
                expected: "0".to_owned(),
                status: "none",
                status_label: "No data yet",
                percent_label: "–".to_owned(),
                expected_label: "–".to_owned(),
                value_label: "nothing measured yet".to_owned(),
                computed_at: None,
                synced_at: None,
            },
            Some(p) => {
                let value_label = match measure {
                    Measure::PercentComplete => whole_percent(p.percent),
                    Measure::Kpi(kpi) => format!(
                        "{} of {} {}",
                        number(p.value),
                        number(kpi.target_value()),
                        kpi.unit()
                    ),
                };
                Bar {
                    okr_id,
                    width: number(p.percent.clamp(0.0, 100.0)),
                    expected: number(p.expected_percent.clamp(0.0, 100.0)),
                    status: p.status.as_str(),
                    status_label: status_label(p.status),
                    percent_label: whole_percent(p.percent),
                    expected_label: whole_percent(p.expected_percent),
                    value_label,
                    computed_at: Some(when(p.computed_at)),
                    synced_at: None,
                }
            }
        }
    }
}
