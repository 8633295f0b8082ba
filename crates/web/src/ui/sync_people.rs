//! The people section of a pair's page: both sides' people with how each
//! is mapped (read from the trackers when the page is shown), the manual
//! mappings with a button to remove each, and a form to map two people by
//! hand. A refused mapping (someone mapped by hand already, someone not of
//! that side) is shown next to its field, with 422, and nothing is saved.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use cairn_core::sync::{PersonMapping, Side};
use cairn_engine::accounts::Authenticated;
use chrono::Utc;
use serde::Deserialize;

use super::common::{
    Choice, FormError, PageError, PageResult, is_refusal, refusal, refused, see_other, signed_in,
};
use super::sync_pairs::pair_page;
use crate::auth::Caller;
use crate::{ApiError, AppState};

/// A person on one side.
pub(crate) struct PersonRow {
    pub side: &'static str,
    pub name: String,
    pub id: String,
    /// How they are mapped, in words.
    pub how: &'static str,
    /// The name of the person they are mapped to.
    pub mapped_to: String,
}

/// A manual mapping.
pub(crate) struct ManualRow {
    pub id: i64,
    pub left: String,
    pub right: String,
}

/// The section.
pub(crate) struct PeopleSection {
    pub pair_id: i64,
    /// Shown in the wizard's people step: its forms come back there.
    pub in_wizard: bool,
    pub auto: bool,
    /// Why the people cannot be listed now (a side unreachable).
    pub unreadable: Option<String>,
    pub rows: Vec<PersonRow>,
    pub manual: Vec<ManualRow>,
    pub left_choices: Vec<Choice>,
    pub right_choices: Vec<Choice>,
    pub error: FormError,
}

fn how(mapping: PersonMapping) -> &'static str {
    match mapping {
        PersonMapping::AutoByEmail => "same email",
        PersonMapping::AutoByName => "same name",
        PersonMapping::Manual => "by hand",
        PersonMapping::Unmapped => "not mapped",
        PersonMapping::AmbiguousName => "not mapped: name used twice",
    }
}

/// The section for pair `id`, with a refused form's error and choices.
pub(crate) async fn people_section(
    state: &AppState,
    who: &Authenticated,
    id: i64,
    error: FormError,
    chosen: &PersonForm,
) -> Result<PeopleSection, PageError> {
    let view = match state.sync.list_people(who, id).await {
        Ok(view) => view,
        Err(e) => {
            let e = ApiError::from(e);
            if !is_refusal(&e) {
                return Err(e.into());
            }
            return Ok(PeopleSection {
                pair_id: id,
                in_wizard: false,
                auto: false,
                unreadable: Some(e.message),
                rows: Vec::new(),
                manual: Vec::new(),
                left_choices: Vec::new(),
                right_choices: Vec::new(),
                error,
            });
        }
    };
    let name_of = |side: Side, person: &str| {
        view.people
            .iter()
            .find(|p| p.side == side && p.id == person)
            .map_or_else(|| person.to_owned(), |p| p.name.clone())
    };
    let choices = |side: Side, current: &str| {
        view.people
            .iter()
            .filter(|p| p.side == side)
            .map(|p| Choice::new(p.id.clone(), format!("{} ({})", p.name, p.id), current))
            .collect::<Vec<_>>()
    };
    Ok(PeopleSection {
        pair_id: id,
        in_wizard: false,
        auto: view.auto_map_people,
        unreadable: None,
        rows: view
            .people
            .iter()
            .map(|p| PersonRow {
                side: match p.side {
                    Side::Left => "Left",
                    Side::Right => "Right",
                },
                name: p.name.clone(),
                id: p.id.clone(),
                how: how(p.mapping),
                mapped_to: p
                    .mapped_to
                    .as_deref()
                    .map(|other| name_of(p.side.other(), other))
                    .unwrap_or_default(),
            })
            .collect(),
        manual: view
            .manual
            .iter()
            .map(|m| ManualRow {
                id: m.id,
                left: m.left_name.clone(),
                right: m.right_name.clone(),
            })
            .collect(),
        left_choices: choices(Side::Left, &chosen.left_id),
        right_choices: choices(Side::Right, &chosen.right_id),
        error,
    })
}

/// The form to map two people by hand.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct PersonForm {
    left_id: String,
    right_id: String,
    /// `setup` when sent from the wizard's people step.
    back: String,
}

/// Where a people form sent from the wizard (`back=setup`) or the pair's
/// page returns, with what it did.
fn people_return(id: i64, back: &str, done: &str) -> String {
    if back == "setup" {
        format!("/sync-pairs/{id}/setup/people?people={done}#people-heading")
    } else {
        format!("/sync-pairs/{id}?people={done}#people-heading")
    }
}

/// The field of the unmap form.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct UnmapForm {
    back: String,
}

/// Maps two people by hand.
pub(crate) async fn map_sync_person(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Form(form): Form<PersonForm>,
) -> PageResult {
    let who = signed_in(&caller)?;
    match state
        .sync
        .map_person(who, id, &form.left_id, &form.right_id, Utc::now())
        .await
    {
        Ok(_) => see_other(&people_return(id, &form.back, "mapped")),
        Err(e) => {
            let error = refusal(e, &["left_id", "right_id"])?;
            let people = people_section(&state, who, id, error, &form).await?;
            if form.back == "setup" {
                let page = super::sync_wizard::people_step(&state, who, id, people, None).await?;
                return refused(StatusCode::UNPROCESSABLE_ENTITY, &page);
            }
            let mut page = pair_page(&state, who, id, None).await?;
            page.people = people;
            refused(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
    }
}

/// Removes a manual mapping.
pub(crate) async fn unmap_sync_person(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, mapping)): Path<(i64, i64)>,
    Form(form): Form<UnmapForm>,
) -> PageResult {
    let who = signed_in(&caller)?;
    state
        .sync
        .unmap_person(who, id, mapping, Utc::now())
        .await?;
    see_other(&people_return(id, &form.back, "unmapped"))
}
