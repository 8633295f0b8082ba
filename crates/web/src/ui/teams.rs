//! `/admin/teams`: teams with their lead and members, a form for a new
//! one, and deleting a team (asking first, with how many OKRs it owns and
//! whom to give them to).

use std::collections::HashMap;

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use cairn_engine::accounts::Authenticated;
use cairn_engine::goals::Reassign;
use chrono::Utc;
use serde::Deserialize;

use super::common::{
    Choice, DoneQuery, FormError, Nav, PageError, PageResult, admin, done, page, refusal, refused,
};
use crate::AppState;
use crate::auth::Caller;

const WHAT: &str = "teams";

pub(crate) struct MemberRow {
    pub id: i64,
    pub name: String,
    pub is_lead: bool,
}

pub(crate) struct TeamRow {
    pub id: i64,
    pub name: String,
    pub lead: Option<String>,
    pub members: Vec<MemberRow>,
    pub okr_count: i64,
    /// The lead select: no lead, or anyone active.
    pub leads: Vec<Choice>,
    /// People who are not members yet.
    pub candidates: Vec<Choice>,
    /// A refusal of one of this team's forms.
    pub error: FormError,
    /// The name as typed in its rename form.
    pub name_typed: String,
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub(crate) struct TeamForm {
    name: String,
    lead_id: String,
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub(crate) struct MemberForm {
    user_id: String,
}

#[derive(Template)]
#[template(path = "teams.html")]
struct TeamsPage {
    nav: Nav,
    teams: Vec<TeamRow>,
    form: TeamForm,
    leads: Vec<Choice>,
    error: FormError,
}

/// A refusal to show on one team's forms (its id), or on the new team's.
struct Refused {
    team: Option<i64>,
    form: TeamForm,
    error: FormError,
}

fn id_of(field: &str, text: &str) -> Result<Option<i64>, FormError> {
    match text.trim() {
        "" => Ok(None),
        t => t
            .parse()
            .map(Some)
            .map_err(|_| FormError::at(field, "choose one from the list")),
    }
}

async fn teams_page(
    state: &AppState,
    who: &Authenticated,
    refused: Option<Refused>,
) -> Result<TeamsPage, PageError> {
    let mut people = state.accounts.people(who).await?;
    people.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)));
    let names: HashMap<i64, String> = people.iter().cloned().collect();
    let name = |id: i64| {
        names
            .get(&id)
            .cloned()
            .unwrap_or_else(|| format!("user {id}"))
    };
    let (refused_team, refused_form, refused_error) = match refused {
        Some(r) => (r.team, Some(r.form), r.error),
        None => (None, None, FormError::none()),
    };
    let mut rows = Vec::new();
    for team in state.goals.list_teams(who).await? {
        let okr_count = state.goals.team_okr_count(who, team.id).await?;
        let mine = refused_team == Some(team.id);
        let lead_value = match (&refused_form, mine) {
            (Some(f), true) => f.lead_id.clone(),
            _ => team.lead_id.map(|l| l.to_string()).unwrap_or_default(),
        };
        let leads = std::iter::once(Choice::new("", "No lead", &lead_value))
            .chain(
                people
                    .iter()
                    .map(|(id, n)| Choice::new(id.to_string(), n, &lead_value)),
            )
            .collect();
        let candidates = people
            .iter()
            .filter(|(id, _)| !team.member_ids.contains(id))
            .map(|(id, n)| Choice::new(id.to_string(), n, ""))
            .collect();
        let mut members: Vec<MemberRow> = team
            .member_ids
            .iter()
            .map(|id| MemberRow {
                id: *id,
                name: name(*id),
                is_lead: team.lead_id == Some(*id),
            })
            .collect();
        members.sort_by(|a, b| a.name.cmp(&b.name));
        rows.push(TeamRow {
            id: team.id,
            name_typed: match (&refused_form, mine) {
                (Some(f), true) if !f.name.is_empty() => f.name.clone(),
                _ => team.name.clone(),
            },
            name: team.name,
            lead: team.lead_id.map(name),
            members,
            okr_count,
            leads,
            candidates,
            // The card's fields carry the team's id in theirs.
            error: if mine {
                refused_error
                    .clone()
                    .anchored(|field| format!("{field}-{}", team.id))
            } else {
                FormError::none()
            },
        });
    }
    let (form, error) = match (refused_team, refused_form) {
        (None, Some(form)) => (form, refused_error),
        _ => (TeamForm::default(), FormError::none()),
    };
    let leads = std::iter::once(Choice::new("", "No lead", &form.lead_id))
        .chain(
            people
                .iter()
                .map(|(id, n)| Choice::new(id.to_string(), n, &form.lead_id)),
        )
        .collect();
    Ok(TeamsPage {
        nav: Nav::admin(state, who, "/admin/teams").await?,
        teams: rows,
        form,
        leads,
        error,
    })
}

async fn refused_page(state: &AppState, who: &Authenticated, r: Refused) -> PageResult {
    refused(
        StatusCode::UNPROCESSABLE_ENTITY,
        &teams_page(state, who, Some(r)).await?,
    )
}

/// `/admin/teams`.
pub(crate) async fn teams(
    State(state): State<AppState>,
    caller: Caller,
    Query(done): Query<DoneQuery>,
) -> PageResult {
    let who = admin(&caller, WHAT)?;
    let mut shown = teams_page(&state, who, None).await?;
    shown.nav = shown.nav.with_done(&done);
    page(&shown)
}

/// Creates a team (admins).
pub(crate) async fn create_team(
    State(state): State<AppState>,
    caller: Caller,
    Form(form): Form<TeamForm>,
) -> PageResult {
    let who = admin(&caller, WHAT)?;
    save_team(&state, who, None, form).await
}

/// Renames a team and sets its lead (admins).
pub(crate) async fn update_team(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Form(form): Form<TeamForm>,
) -> PageResult {
    let who = admin(&caller, WHAT)?;
    save_team(&state, who, Some(id), form).await
}

/// Creates (`team` none) or saves a team from its form; a refusal shows the
/// form again with every problem.
async fn save_team(
    state: &AppState,
    who: &Authenticated,
    team: Option<i64>,
    form: TeamForm,
) -> PageResult {
    let error = match id_of("lead_id", &form.lead_id) {
        Err(error) => error,
        Ok(lead) => {
            let now = Utc::now();
            let (saved, code) = match team {
                None => (
                    state.goals.create_team(who, &form.name, lead, now).await,
                    "team_created",
                ),
                Some(id) => (
                    state
                        .goals
                        .update_team(who, id, &form.name, lead, now)
                        .await,
                    "team_saved",
                ),
            };
            match saved {
                Ok(_) => return done("/admin/teams", code),
                Err(e) => refusal(e, &["name", "lead_id"])?,
            }
        }
    };
    refused_page(state, who, Refused { team, form, error }).await
}

/// Adds a member (admins); one added twice is refused next to the field.
pub(crate) async fn add_team_member(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Form(form): Form<MemberForm>,
) -> PageResult {
    let who = admin(&caller, WHAT)?;
    let error = match id_of("user_id", &form.user_id) {
        Ok(None) => FormError::at("user_id", "choose someone to add"),
        Err(error) => error,
        Ok(Some(user)) => match state.goals.add_team_member(who, id, user, Utc::now()).await {
            Ok(_) => return done("/admin/teams", "team_member_added"),
            Err(e) => refusal(e, &["user_id"])?,
        },
    };
    refused_page(
        &state,
        who,
        Refused {
            team: Some(id),
            form: TeamForm::default(),
            error,
        },
    )
    .await
}

/// Removes a member (admins).
pub(crate) async fn remove_team_member(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, user_id)): Path<(i64, i64)>,
) -> PageResult {
    let who = admin(&caller, WHAT)?;
    state
        .goals
        .remove_team_member(who, id, user_id, Utc::now())
        .await?;
    done("/admin/teams", "team_member_removed")
}

#[derive(Template)]
#[template(path = "team_delete.html")]
struct DeletePage {
    nav: Nav,
    id: i64,
    name: String,
    okr_count: i64,
    /// Where its OKRs may go: other teams, or their people alone.
    targets: Vec<Choice>,
    error: FormError,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct DeleteForm {
    reassign_to: String,
}

async fn delete_page(
    state: &AppState,
    who: &Authenticated,
    id: i64,
    chosen: &str,
    error: FormError,
) -> Result<DeletePage, PageError> {
    let team = state.goals.get_team(who, id).await?;
    let okr_count = state.goals.team_okr_count(who, id).await?;
    let targets = std::iter::once(Choice::new("", "Choose…", chosen))
        .chain(
            state
                .goals
                .list_teams(who)
                .await?
                .into_iter()
                .filter(|t| t.id != id)
                .map(|t| Choice::new(t.id.to_string(), format!("Team {}", t.name), chosen)),
        )
        .chain(std::iter::once(Choice::new(
            "people",
            "No team: each stays with the person who owns it",
            chosen,
        )))
        .collect();
    Ok(DeletePage {
        nav: Nav::admin(state, who, "/admin/teams").await?,
        id,
        name: team.name,
        okr_count,
        targets,
        error,
    })
}

/// Asks before deleting a team, with how many OKRs it owns.
pub(crate) async fn confirm_delete_team(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> PageResult {
    let who = admin(&caller, WHAT)?;
    page(&delete_page(&state, who, id, "", FormError::none()).await?)
}

/// Deletes a team, giving its OKRs to whom the form says.
pub(crate) async fn delete_team(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Form(form): Form<DeleteForm>,
) -> PageResult {
    let who = admin(&caller, WHAT)?;
    let chosen = form.reassign_to.trim();
    let reassign = if chosen.is_empty() {
        Ok(None)
    } else {
        Reassign::parse(chosen).map(Some)
    };
    let error = match reassign {
        Err(e) => refusal(e, &["reassign_to"])?,
        Ok(reassign) => match state.goals.delete_team(who, id, reassign, Utc::now()).await {
            Ok(_) => return done("/admin/teams", "team_deleted"),
            Err(e) => refusal(e, &["reassign_to"])?,
        },
    };
    refused(
        StatusCode::UNPROCESSABLE_ENTITY,
        &delete_page(&state, who, id, chosen, error).await?,
    )
}
