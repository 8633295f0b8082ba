//! The releases section of a pair's page: the linked milestones and
//! versions with how each was linked and a Remove button (which asks
//! first), what the pair would create, and a form to link two releases
//! by hand (the seed's "GitLab ID"). A refused link (a release linked
//! already, or not of that side) is shown next to its field, with 422, and
//! nothing is saved.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use cairn_core::sync::{ReleaseLinkHow, Side};
use cairn_engine::accounts::Authenticated;
use chrono::Utc;
use serde::Deserialize;

use super::common::{
    Choice, FormError, Nav, PageError, PageResult, is_refusal, page, refusal, refused, see_other,
    signed_in,
};
use super::sync_pairs::pair_page;
use crate::auth::Caller;
use crate::{ApiError, AppState};

/// A link.
pub(crate) struct ReleaseLinkRow {
    pub id: i64,
    pub left: String,
    pub right: String,
    /// How it was linked, in words.
    pub how: &'static str,
}

/// A release the pair would create on the other side.
pub(crate) struct ReleaseCreateRow {
    pub side: &'static str,
    pub name: String,
    pub id: String,
}

/// The section.
pub(crate) struct ReleasesSection {
    /// Why the releases cannot be listed now (a side unreachable).
    pub unreadable: Option<String>,
    pub links: Vec<ReleaseLinkRow>,
    pub to_create: Vec<ReleaseCreateRow>,
    pub left_choices: Vec<Choice>,
    pub right_choices: Vec<Choice>,
    pub error: FormError,
}

fn how(how: ReleaseLinkHow) -> &'static str {
    match how {
        ReleaseLinkHow::ByName => "same name",
        ReleaseLinkHow::Manual => "by hand",
        ReleaseLinkHow::Created => "created by Cairn",
    }
}

fn side_word(side: Side) -> &'static str {
    match side {
        Side::Left => "Left",
        Side::Right => "Right",
    }
}

/// The section for pair `id`, with a refused form's error and choices.
pub(crate) async fn releases_section(
    state: &AppState,
    who: &Authenticated,
    id: i64,
    error: FormError,
    chosen: &ReleaseForm,
) -> Result<ReleasesSection, PageError> {
    let view = match state.sync.list_releases(who, id).await {
        Ok(view) => view,
        Err(e) => {
            let e = ApiError::from(e);
            if !is_refusal(&e) {
                return Err(e.into());
            }
            return Ok(ReleasesSection {
                unreadable: Some(e.message),
                links: Vec::new(),
                to_create: Vec::new(),
                left_choices: Vec::new(),
                right_choices: Vec::new(),
                error,
            });
        }
    };
    let choices = |releases: &[cairn_core::sync::Release], current: &str| {
        releases
            .iter()
            .map(|r| Choice::new(r.id.clone(), format!("{} ({})", r.name, r.id), current))
            .collect::<Vec<_>>()
    };
    Ok(ReleasesSection {
        unreadable: None,
        links: view
            .links
            .iter()
            .map(|l| ReleaseLinkRow {
                id: l.id,
                left: l.left_name.clone(),
                right: l.right_name.clone(),
                how: how(l.how),
            })
            .collect(),
        to_create: view
            .to_create
            .iter()
            .map(|r| ReleaseCreateRow {
                side: side_word(r.side),
                name: r.name.clone(),
                id: r.id.clone(),
            })
            .collect(),
        left_choices: choices(&view.left, &chosen.left_id),
        right_choices: choices(&view.right, &chosen.right_id),
        error,
    })
}

/// The form to link two releases by hand.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct ReleaseForm {
    left_id: String,
    right_id: String,
}

/// Links two releases by hand.
pub(crate) async fn link_sync_release(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Form(form): Form<ReleaseForm>,
) -> PageResult {
    let who = signed_in(&caller)?;
    match state
        .sync
        .link_release(who, id, &form.left_id, &form.right_id, Utc::now())
        .await
    {
        Ok(_) => see_other(&format!(
            "/sync-pairs/{id}?releases=linked#releases-heading"
        )),
        Err(e) => {
            let error = refusal(e, &["left_id", "right_id"])?;
            let mut page = pair_page(&state, who, id, None).await?;
            page.releases = releases_section(&state, who, id, error, &form).await?;
            refused(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
    }
}

/// Asks before a link is removed.
#[derive(Template)]
#[template(path = "sync_release_unlink.html")]
struct UnlinkPage {
    nav: Nav,
    pair_id: i64,
    link_id: i64,
    left: String,
    right: String,
}

/// `/sync-pairs/{id}/releases/{link}/remove`: asks first.
pub(crate) async fn confirm_unlink_release(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, link)): Path<(i64, i64)>,
) -> PageResult {
    let who = signed_in(&caller)?;
    let found = state.sync.release_link(who, id, link).await?;
    page(&UnlinkPage {
        nav: Nav::new(who, "sync"),
        pair_id: id,
        link_id: link,
        left: found.left_name,
        right: found.right_name,
    })
}

/// Removes a link (nothing is deleted on the trackers).
pub(crate) async fn unlink_sync_release(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, link)): Path<(i64, i64)>,
) -> PageResult {
    let who = signed_in(&caller)?;
    state.sync.unlink_release(who, id, link, Utc::now()).await?;
    see_other(&format!(
        "/sync-pairs/{id}?releases=unlinked#releases-heading"
    ))
}
