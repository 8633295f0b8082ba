//! Time tracking for admins (`/admin/time`): the organisation's GitLab
//! activity source (connection, projects with the token's role on each,
//! worklog rules), people connected to GitLab accounts (bulk, with the
//! matches shown before anything is saved), totals per person and project
//! (never the items: those are each person's own), and Jira development
//! links per GitLab and Jira connection. Disconnecting asks first, on a
//! page that says what goes with it.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use cairn_core::integrations::IntegrationKind;
use cairn_core::worklogs::WorklogSettings;
use cairn_engine::accounts::Authenticated;
use cairn_engine::time::{PersonInput, SourceInput};
use cairn_store::time::{DevLinks, MatchedBy};
use chrono::{Duration, Utc};
use serde::Deserialize;

use super::common::{
    Choice, FormError, Nav, PageError, PageResult, admin, is_refusal, page, refused, see_other,
    when,
};
use crate::AppState;
use crate::api::hooks::public_base;
use crate::auth::Caller;

const WHAT: &str = "time tracking";
const HERE: &str = "/admin/time";

/// A watched project and the token's role on it.
pub(crate) struct ProjectRow {
    pub path: String,
    pub role: String,
    /// Hooks need Maintainer or Owner.
    pub hooks_possible: bool,
}

/// A connected person.
pub(crate) struct PersonRow {
    pub user_id: i64,
    pub name: String,
    pub gitlab_username: String,
    pub matched_by: &'static str,
    pub time_zone: String,
    pub activities: i64,
    pub logged: String,
}

/// A Cairn user not connected yet (for "find matches").
pub(crate) struct CandidateRow {
    pub user_id: i64,
    pub name: String,
    pub email: String,
}

/// A proposed match, shown before connecting.
pub(crate) struct MatchRow {
    pub user_id: i64,
    pub name: String,
    pub gitlab_user_id: i64,
    pub gitlab_username: String,
    pub gitlab_email: String,
    pub matched_by: &'static str,
}

/// Projects' activity totals (counts, not items).
pub(crate) struct TotalRow {
    pub name: String,
    pub project: String,
    pub activities: i64,
}

/// A pair of connections with development links.
pub(crate) struct DevLinkRow {
    pub id: i64,
    pub gitlab: String,
    pub jira: String,
    pub comment: bool,
    pub transition: bool,
}

/// The source form as shown (stored values, or what was typed).
pub(crate) struct SourceForm {
    pub enabled: bool,
    pub projects: String,
    pub settings: WorklogSettings,
    pub gitlab_choices: Vec<Choice>,
    pub jira_choices: Vec<Choice>,
}

#[derive(Template)]
#[template(path = "time_admin.html")]
struct TimeAdminPage {
    nav: Nav,
    message: Option<String>,
    error: FormError,
    has_source: bool,
    source: SourceForm,
    watch_all: bool,
    projects: Vec<ProjectRow>,
    registered_hooks: usize,
    backfilled_at: Option<String>,
    people: Vec<PersonRow>,
    candidates: Vec<CandidateRow>,
    matches: Vec<MatchRow>,
    totals: Vec<TotalRow>,
    dev_links: Vec<DevLinkRow>,
    gitlab_connections: Vec<Choice>,
    jira_connections: Vec<Choice>,
}

#[derive(Template)]
#[template(path = "time_confirm.html")]
struct ConfirmPage {
    nav: Nav,
    title: String,
    consequences: String,
    action: String,
    button: String,
}

/// What a form asks the page to show next.
#[derive(Deserialize, Default)]
pub(crate) struct Done {
    done: Option<String>,
    n: Option<u32>,
}

fn done_message(done: &Done) -> Option<String> {
    let n = done.n.unwrap_or(0);
    Some(match done.done.as_deref()? {
        "source" => "The activity source is saved.".to_owned(),
        "disconnected" => {
            "The organisation is disconnected: people, activity and Cairn's hooks are removed."
                .to_owned()
        }
        "people" if n == 1 => "1 person connected.".to_owned(),
        "people" => format!("{n} people connected."),
        "person" => {
            "The person is disconnected; their activity and pending suggestions are removed."
                .to_owned()
        }
        "links" => "Development links are saved.".to_owned(),
        "links_off" => "Development links are turned off for that pair.".to_owned(),
        _ => return None,
    })
}

async fn time_page(
    state: &AppState,
    who: &Authenticated,
    message: Option<String>,
) -> Result<TimeAdminPage, PageError> {
    let source = state.time.source(who).await?;
    let connections = state.connections.list(who).await?;
    let name_of = |id: i64| {
        connections
            .iter()
            .find(|c| c.id == id)
            .map_or_else(|| format!("connection {id}"), |c| c.name.clone())
    };
    let choices = |kind: IntegrationKind, current: Option<i64>| -> Vec<Choice> {
        let current = current.map(|c| c.to_string()).unwrap_or_default();
        connections
            .iter()
            .filter(|c| c.kind == kind)
            .map(|c| Choice::new(c.id.to_string(), c.name.clone(), &current))
            .collect()
    };
    let users = state.accounts.list_users(who).await?;
    let user_name = |id: i64| {
        users
            .iter()
            .find(|u| u.id == id)
            .map_or_else(|| format!("user {id}"), |u| u.name.clone())
    };
    let people = state.time.people(who).await?;
    let now = Utc::now();
    let week_ago = now - Duration::days(7);
    let totals = state.time.totals(who, week_ago, now).await?;
    let mut person_rows = Vec::new();
    for p in &people {
        let person = &p.person;
        let activities = totals
            .activities
            .iter()
            .filter(|t| t.user_id == person.user_id)
            .map(|t| t.activities)
            .sum();
        let minutes = totals
            .written_minutes
            .iter()
            .find(|(u, _)| *u == person.user_id)
            .map_or(0, |(_, m)| *m);
        person_rows.push(PersonRow {
            user_id: person.user_id,
            name: user_name(person.user_id),
            gitlab_username: person.gitlab_username.clone(),
            matched_by: matched_label(person.matched_by),
            time_zone: person.time_zone.clone(),
            activities,
            logged: format!("{}h {:02}m", minutes / 60, minutes % 60),
        });
    }
    let candidates = users
        .iter()
        .filter(|u| u.disabled_at.is_none() && !people.iter().any(|p| p.person.user_id == u.id))
        .map(|u| CandidateRow {
            user_id: u.id,
            name: u.name.clone(),
            email: u.email.clone(),
        })
        .collect();
    let dev_links = state
        .time
        .dev_link_pairs(who)
        .await?
        .into_iter()
        .map(|p| DevLinkRow {
            id: p.id,
            gitlab: name_of(p.gitlab_connection_id),
            jira: name_of(p.jira_connection_id),
            comment: p.links.comment,
            transition: p.links.transition,
        })
        .collect();
    let form = SourceForm {
        enabled: source.as_ref().is_none_or(|s| s.source.enabled),
        projects: source
            .as_ref()
            .filter(|s| !s.source.watch_all)
            .map(|s| {
                s.source
                    .projects
                    .iter()
                    .map(|p| p.path.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default(),
        settings: source
            .as_ref()
            .map(|s| s.source.settings)
            .unwrap_or_default(),
        gitlab_choices: choices(
            IntegrationKind::Gitlab,
            source.as_ref().map(|s| s.source.connection_id),
        ),
        jira_choices: choices(
            IntegrationKind::Jira,
            source.as_ref().and_then(|s| s.source.jira_connection_id),
        ),
    };
    Ok(TimeAdminPage {
        nav: Nav::admin(state, who, HERE).await?,
        message,
        error: FormError::none(),
        has_source: source.is_some(),
        watch_all: source.as_ref().is_some_and(|s| s.source.watch_all),
        projects: source
            .as_ref()
            .map(|s| {
                s.source
                    .projects
                    .iter()
                    .map(|p| ProjectRow {
                        path: p.path.clone(),
                        role: p.role.clone(),
                        hooks_possible: matches!(p.role.as_str(), "owner" | "maintainer"),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        registered_hooks: source.as_ref().map_or(0, |s| s.registered_hooks.len()),
        backfilled_at: source.as_ref().and_then(|s| s.backfilled_at).map(when),
        people: person_rows,
        candidates,
        matches: Vec::new(),
        totals: totals
            .activities
            .iter()
            .map(|t| TotalRow {
                name: user_name(t.user_id),
                project: t.project_path.clone(),
                activities: t.activities,
            })
            .collect(),
        dev_links,
        gitlab_connections: choices(IntegrationKind::Gitlab, None),
        jira_connections: choices(IntegrationKind::Jira, None),
        source: form,
    })
}

fn matched_label(by: MatchedBy) -> &'static str {
    match by {
        MatchedBy::Email => "by email",
        MatchedBy::Username => "by username",
        MatchedBy::Manual => "by an admin",
        MatchedBy::SelfConnected => "by themselves",
    }
}

/// `/admin/time`.
pub(crate) async fn time_admin(
    State(state): State<AppState>,
    caller: Caller,
    Query(done): Query<Done>,
) -> PageResult {
    let who = admin(&caller, WHAT)?;
    page(&time_page(&state, who, done_message(&done)).await?)
}

/// Shows the page again with a refusal, every field as typed where the
/// caller set them.
async fn refused_page(
    state: &AppState,
    who: &Authenticated,
    error: cairn_engine::EngineError,
    fields: &[&str],
    adjust: impl FnOnce(&mut TimeAdminPage),
) -> PageResult {
    let api = crate::ApiError::from(error);
    if !is_refusal(&api) {
        return Err(api.into());
    }
    let status = api.status;
    // The development links' selects have their own ids on the page.
    let form_error = FormError::from_api(&api, fields, &[]).anchored(|field| match field {
        "gitlab_connection_id" => "dl-gitlab".to_owned(),
        other => other.to_owned(),
    });
    let mut shown = time_page(state, who, None).await?;
    shown.error = form_error;
    adjust(&mut shown);
    refused(status, &shown)
}

#[derive(Deserialize)]
pub(crate) struct SourceFields {
    connection_id: String,
    #[serde(default)]
    jira_connection_id: String,
    #[serde(default)]
    enabled: Option<String>,
    #[serde(default)]
    projects: String,
    session_gap_minutes: String,
    lead_in_minutes: String,
    rounding_minutes: String,
    daily_target_minutes: String,
}

fn minutes_field(text: &str, field: &str) -> Result<u32, cairn_engine::EngineError> {
    text.trim()
        .parse()
        .map_err(|_| cairn_engine::EngineError::invalid(field, "a whole number of minutes"))
}

/// Saves the source; enabling registers its project hooks (the page then
/// says what was registered or what to add by hand) and fills 30 days.
pub(crate) async fn save_time_source(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Form(form): Form<SourceFields>,
) -> PageResult {
    let who = admin(&caller, WHAT)?;
    let fields = [
        "connection_id",
        "jira_connection_id",
        "projects",
        "session_gap_minutes",
        "lead_in_minutes",
        "rounding_minutes",
        "daily_target_minutes",
    ];
    let typed = |shown: &mut TimeAdminPage| {
        shown.source.projects = form.projects.clone();
        shown.source.enabled = form.enabled.is_some();
    };
    let input = (|| {
        let connection_id = form.connection_id.trim().parse().map_err(|_| {
            cairn_engine::EngineError::invalid("connection_id", "choose a GitLab connection")
        })?;
        let jira_connection_id = match form.jira_connection_id.trim() {
            "" => None,
            text => Some(text.parse().map_err(|_| {
                cairn_engine::EngineError::invalid("jira_connection_id", "choose a Jira connection")
            })?),
        };
        Ok::<_, cairn_engine::EngineError>(SourceInput {
            connection_id,
            jira_connection_id,
            enabled: form.enabled.is_some(),
            projects: form
                .projects
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect(),
            settings: Some(WorklogSettings {
                session_gap_minutes: minutes_field(
                    &form.session_gap_minutes,
                    "session_gap_minutes",
                )?,
                lead_in_minutes: minutes_field(&form.lead_in_minutes, "lead_in_minutes")?,
                rounding_minutes: minutes_field(&form.rounding_minutes, "rounding_minutes")?,
                daily_target_minutes: minutes_field(
                    &form.daily_target_minutes,
                    "daily_target_minutes",
                )?,
            }),
        })
    })();
    let input = match input {
        Ok(input) => input,
        Err(e) => return refused_page(&state, who, e, &fields, typed).await,
    };
    let now = Utc::now();
    let source = match state.time.set_source(who, input, now).await {
        Ok(source) => source,
        Err(e) => return refused_page(&state, who, e, &fields, typed).await,
    };
    let base = public_base(&state, &headers);
    let real_time = state
        .time
        .register_source_hooks(&state.hooks, who, &source, base.as_deref(), now)
        .await?;
    match real_time {
        Some(r) if !r.by_hand.is_empty() => {
            let mut shown = time_page(&state, who, None).await?;
            shown.message = Some(format!(
                "The activity source is saved. Add the hook by hand on: {} (see Hook setup for the URL and events).",
                r.by_hand
                    .iter()
                    .map(|b| format!("{} ({})", b.target, b.reason))
                    .collect::<Vec<_>>()
                    .join("; ")
            ));
            page(&shown)
        }
        _ => see_other("/admin/time?done=source"),
    }
}

/// Asks before disconnecting the organisation.
pub(crate) async fn confirm_time_disconnect(
    State(state): State<AppState>,
    caller: Caller,
) -> PageResult {
    let who = admin(&caller, WHAT)?;
    let people = state.time.people(who).await?.len();
    page(&ConfirmPage {
        nav: Nav::admin(&state, who, HERE).await?,
        title: "Disconnect the organisation from GitLab activity?".to_owned(),
        consequences: format!(
            "All {people} connected {} are disconnected, all their activity and pending suggestions are deleted, and the project hooks Cairn registered are removed from GitLab. Worklogs already written stay. This is recorded in the audit log.",
            if people == 1 { "person" } else { "people" }
        ),
        action: "/admin/time/disconnect".to_owned(),
        button: "Disconnect the organisation".to_owned(),
    })
}

/// Disconnects the organisation.
pub(crate) async fn time_disconnect(State(state): State<AppState>, caller: Caller) -> PageResult {
    let who = admin(&caller, WHAT)?;
    state.time.disconnect_organisation(who, Utc::now()).await?;
    see_other("/admin/time?done=disconnected")
}

/// Finds GitLab accounts for the ticked users (by email, then username)
/// and shows them for confirmation; nothing is saved yet.
pub(crate) async fn match_time_people(
    State(state): State<AppState>,
    caller: Caller,
    Form(fields): Form<Vec<(String, String)>>,
) -> PageResult {
    let who = admin(&caller, WHAT)?;
    let ids: Vec<i64> = fields
        .iter()
        .filter(|(k, _)| k == "user")
        .filter_map(|(_, v)| v.parse().ok())
        .collect();
    if ids.is_empty() {
        let e = cairn_engine::EngineError::invalid("user", "tick at least one person");
        return refused_page(&state, who, e, &["user"], |_| {}).await;
    }
    let found = match state.time.match_people(who, &ids).await {
        Ok(found) => found,
        Err(e) => return refused_page(&state, who, e, &["user", "source"], |_| {}).await,
    };
    let mut shown = time_page(&state, who, None).await?;
    shown.matches = found
        .into_iter()
        .filter_map(|m| {
            Some(MatchRow {
                user_id: m.user_id,
                name: m.name,
                gitlab_user_id: m.gitlab_user_id?,
                gitlab_username: m.gitlab_username?,
                gitlab_email: m.gitlab_email.unwrap_or_default(),
                matched_by: match m.matched_by? {
                    MatchedBy::Email => "email",
                    _ => "username",
                },
            })
        })
        .collect();
    if shown.matches.is_empty() {
        shown.message =
            Some("No GitLab account matched the people ticked (by email or username).".to_owned());
    }
    page(&shown)
}

/// Connects the confirmed matches.
pub(crate) async fn connect_time_people(
    State(state): State<AppState>,
    caller: Caller,
    Form(fields): Form<Vec<(String, String)>>,
) -> PageResult {
    let who = admin(&caller, WHAT)?;
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let time_zone = field("time_zone");
    let mut inputs = Vec::new();
    for (_, id) in fields.iter().filter(|(k, _)| k == "connect") {
        let Ok(user_id) = id.parse::<i64>() else {
            continue;
        };
        let Ok(gitlab_user_id) = field(&format!("gitlab_user_id_{user_id}")).parse::<i64>() else {
            continue;
        };
        let email = field(&format!("gitlab_email_{user_id}"));
        inputs.push(PersonInput {
            user_id,
            gitlab_user_id,
            gitlab_username: field(&format!("gitlab_username_{user_id}")),
            gitlab_email: Some(email).filter(|e| !e.is_empty()),
            time_zone: time_zone.clone(),
            own_connection_id: None,
            matched_by: if field(&format!("matched_by_{user_id}")) == "email" {
                MatchedBy::Email
            } else {
                MatchedBy::Username
            },
        });
    }
    if inputs.is_empty() {
        let e = cairn_engine::EngineError::invalid("connect", "tick at least one match to connect");
        return refused_page(&state, who, e, &["connect"], |_| {}).await;
    }
    let count = inputs.len();
    for input in inputs {
        if let Err(e) = state.time.connect_person(who, input, Utc::now()).await {
            return refused_page(&state, who, e, &["time_zone", "connect"], |_| {}).await;
        }
    }
    see_other(&format!("/admin/time?done=people&n={count}"))
}

/// Asks before disconnecting one person.
pub(crate) async fn confirm_time_person_disconnect(
    State(state): State<AppState>,
    caller: Caller,
    Path(user_id): Path<i64>,
) -> PageResult {
    let who = admin(&caller, WHAT)?;
    let person = state.time.person(who, user_id).await?.ok_or_else(|| {
        cairn_engine::EngineError::NotFound(format!("no connected person {user_id}"))
    })?;
    let name = state
        .accounts
        .list_users(who)
        .await?
        .into_iter()
        .find(|u| u.id == user_id)
        .map_or_else(|| format!("user {user_id}"), |u| u.name);
    page(&ConfirmPage {
        nav: Nav::admin(&state, who, HERE).await?,
        title: format!("Disconnect {name} from GitLab account {}?", person.person.gitlab_username),
        consequences: "Their activity and pending suggestions are deleted; worklogs already written stay. They can connect again later, and the 30-day backfill does not bring the deleted activity back until the next one runs.".to_owned(),
        action: format!("/admin/time/people/{user_id}/disconnect"),
        button: format!("Disconnect {name}"),
    })
}

/// Disconnects one person.
pub(crate) async fn time_person_disconnect(
    State(state): State<AppState>,
    caller: Caller,
    Path(user_id): Path<i64>,
) -> PageResult {
    let who = admin(&caller, WHAT)?;
    state
        .time
        .disconnect_person(who, user_id, Utc::now())
        .await?;
    see_other("/admin/time?done=person")
}

#[derive(Deserialize)]
pub(crate) struct DevLinkFields {
    gitlab_connection_id: String,
    jira_connection_id: String,
    #[serde(default)]
    comment: Option<String>,
    #[serde(default)]
    transition: Option<String>,
}

/// Turns development links on for a pair of connections.
pub(crate) async fn save_dev_links(
    State(state): State<AppState>,
    caller: Caller,
    Form(form): Form<DevLinkFields>,
) -> PageResult {
    let who = admin(&caller, WHAT)?;
    let fields = ["gitlab_connection_id", "jira_connection_id"];
    let parse = |text: &str, field: &str, what: &str| {
        text.trim().parse::<i64>().map_err(|_| {
            cairn_engine::EngineError::invalid(field, format!("choose a {what} connection"))
        })
    };
    let ids = parse(&form.gitlab_connection_id, "gitlab_connection_id", "GitLab").and_then(|g| {
        parse(&form.jira_connection_id, "jira_connection_id", "Jira").map(|j| (g, j))
    });
    let outcome = match ids {
        Ok((gitlab, jira)) => state
            .time
            .set_dev_links(
                who,
                gitlab,
                jira,
                DevLinks {
                    comment: form.comment.is_some(),
                    transition: form.transition.is_some(),
                },
                Utc::now(),
            )
            .await
            .map(|_| ()),
        Err(e) => Err(e),
    };
    match outcome {
        Ok(()) => see_other("/admin/time?done=links"),
        Err(e) => refused_page(&state, who, e, &fields, |_| {}).await,
    }
}

/// Turns a pair's development links off (links already in Jira stay, so
/// this asks nothing first).
pub(crate) async fn delete_dev_links(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> PageResult {
    let who = admin(&caller, WHAT)?;
    state.time.delete_dev_links(who, id, Utc::now()).await?;
    see_other("/admin/time?done=links_off")
}
