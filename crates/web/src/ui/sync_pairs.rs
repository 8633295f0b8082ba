//! Sync pairs' pages: the pairs a person may see (`/sync-pairs`), and one
//! pair (`/sync-pairs/{id}`) with its sides, its live counts, the linked
//! items with each side's key (failing and paused ones first, each with its
//! last error and a Retry button), the latest writes on either side, the
//! latest runs and the conflicts as decided, each with "keep left / keep
//! right" (`sync_conflicts`). Pairs are set up in the wizard
//! (`sync_wizard`).

use askama::Template;
use axum::extract::{Path, State};
use cairn_core::sync::{Side, SyncItemState};
use cairn_engine::accounts::Authenticated;
use cairn_engine::sync::PairView;
use cairn_store::sync::{RemoteRef, SyncPair};
use chrono::Utc;

use super::common::{
    DoneQuery, FormError, Nav, PageError, PageResult, ago, page, see_other, signed_in,
};
use super::sync_initial::{InitialSection, initial_message, initial_section};
use super::sync_people::{PeopleSection, PersonForm, people_section};
use super::sync_releases::{ReleaseForm, ReleasesSection, releases_section};
use crate::AppState;
use crate::auth::Caller;

/// How many of each list the pair's page shows.
const SHOWN: u32 = 50;

/// A pair in the list.
pub(crate) struct PairRow {
    pub id: i64,
    pub name: String,
    pub active: bool,
    pub left: String,
    pub right: String,
    pub synced: i64,
    pub pending: i64,
    pub failing: i64,
    pub paused: i64,
}

/// One side of a pair, in words.
pub(crate) struct SideRow {
    pub title: &'static str,
    pub connection: String,
    /// The connection's address: the self-managed server, or the cloud.
    pub connection_url: String,
    pub project: String,
    pub scope: String,
}

/// A linked item.
pub(crate) struct ItemRow {
    pub id: i64,
    pub left: Option<RemoteRef>,
    pub right: Option<RemoteRef>,
    pub state: &'static str,
    pub retry: bool,
    pub last_synced: String,
    pub error: String,
}

/// A write on one side.
pub(crate) struct OperationRow {
    pub at: String,
    pub side: &'static str,
    pub kind: &'static str,
    pub item_id: i64,
    pub fields: String,
    pub state: &'static str,
    pub error: String,
}

/// A run.
pub(crate) struct RunRow {
    pub at: String,
    pub triggered_by: String,
    pub seen: i64,
    pub created: i64,
    pub updated: i64,
    pub failed: i64,
    pub api_calls: i64,
}

/// A conflict as decided.
pub(crate) struct ConflictRow {
    pub id: i64,
    pub item_id: i64,
    pub field: String,
    pub left_value: String,
    pub right_value: String,
    pub decided: String,
}

#[derive(Template)]
#[template(path = "sync_pairs.html")]
struct PairsPage {
    nav: Nav,
    message: Option<&'static str>,
    pairs: Vec<PairRow>,
}

#[derive(Template)]
#[template(path = "sync_pair.html")]
pub(crate) struct PairPage {
    nav: Nav,
    pub people: PeopleSection,
    pub initial: InitialSection,
    pub releases: ReleasesSection,
    message: Option<String>,
    pair: PairRow,
    sides: Vec<SideRow>,
    items: Vec<ItemRow>,
    operations: Vec<OperationRow>,
    runs: Vec<RunRow>,
    conflicts: Vec<ConflictRow>,
    settings: Vec<(&'static str, String)>,
    /// It has been active (a draft has the wizard instead of Resume).
    activated: bool,
}

fn side_title(side: Side) -> &'static str {
    match side {
        Side::Left => "Left",
        Side::Right => "Right",
    }
}

/// A connection as a pair's page names it.
struct ConnectionName {
    id: i64,
    name: String,
    base_url: String,
}

async fn connection_names(
    state: &AppState,
    who: &Authenticated,
) -> Result<Vec<ConnectionName>, PageError> {
    Ok(state
        .connections
        .list(who)
        .await?
        .into_iter()
        .map(|c| ConnectionName {
            id: c.id,
            name: c.name,
            base_url: c.base_url,
        })
        .collect())
}

fn connection_of(names: &[ConnectionName], id: i64) -> Option<&ConnectionName> {
    names.iter().find(|c| c.id == id)
}

fn name_of(names: &[ConnectionName], id: i64) -> String {
    connection_of(names, id).map_or_else(|| format!("connection {id}"), |c| c.name.clone())
}

/// A pair's settings in words, as the seed names them where it does.
fn settings_rows(pair: &SyncPair) -> Vec<(&'static str, String)> {
    let s = &pair.settings;
    let created_after = s.created_after.or(pair.activated_at).map_or_else(
        || "items created after it is activated".to_owned(),
        |at| format!("items created after {}", at.format("%Y-%m-%d %H:%M UTC")),
    );
    vec![
        ("Brings across", created_after),
        (
            "Scans every",
            format!("{} s, and on every webhook", s.scan_interval_secs),
        ),
        (
            "Time offset",
            format!(
                "{} s: each scan reads that far back beyond the last one",
                s.scan_overlap_secs
            ),
        ),
        (
            "Deleted comments",
            if s.delete_comment_copies {
                "their copies are deleted too".to_owned()
            } else {
                "their copies stay".to_owned()
            },
        ),
    ]
}

fn pair_row(view: &PairView, names: &[ConnectionName]) -> PairRow {
    let s = &view.pair.settings;
    PairRow {
        id: view.pair.id,
        name: s.name.clone(),
        active: s.active,
        left: format!(
            "{} · {}",
            name_of(names, s.left.connection_id),
            s.left.project
        ),
        right: format!(
            "{} · {}",
            name_of(names, s.right.connection_id),
            s.right.project
        ),
        synced: view.items.synced,
        pending: view.items.pending,
        failing: view.items.failing,
        paused: view.items.paused,
    }
}

fn side_rows(pair: &SyncPair, names: &[ConnectionName]) -> Vec<SideRow> {
    [Side::Left, Side::Right]
        .into_iter()
        .map(|side| {
            let s = pair.side(side);
            SideRow {
                title: side_title(side),
                connection: name_of(names, s.connection_id),
                connection_url: connection_of(names, s.connection_id)
                    .map(|c| c.base_url.clone())
                    .unwrap_or_default(),
                project: s.project.clone(),
                scope: scope_text(&s.scope),
            }
        })
        .collect()
}

fn scope_text(scope: &cairn_core::sync::SideScope) -> String {
    match (&scope.jql, scope.labels.is_empty()) {
        (Some(jql), _) => format!("issues matching {jql}"),
        (None, false) => format!("issues labelled {}", scope.labels.join(" and ")),
        (None, true) => "every issue".to_owned(),
    }
}

/// `/sync-pairs`.
pub(crate) async fn sync_pairs(
    State(state): State<AppState>,
    caller: Caller,
    axum::extract::Query(done): axum::extract::Query<CancelledQuery>,
    axum::extract::Query(said): axum::extract::Query<DoneQuery>,
) -> PageResult {
    let who = signed_in(&caller)?;
    let names = connection_names(&state, who).await?;
    let pairs = state.sync.list_pairs(who).await?;
    page(&PairsPage {
        nav: Nav::new(who, "sync").with_done(&said),
        message: done
            .cancelled
            .map(|_| "The draft pair is deleted; nothing was written on either side."),
        pairs: pairs.iter().map(|p| pair_row(p, &names)).collect(),
    })
}

pub(crate) async fn pair_page(
    state: &AppState,
    who: &Authenticated,
    id: i64,
    message: Option<String>,
) -> Result<PairPage, PageError> {
    let view = state.sync.get_pair(who, id).await?;
    let names = connection_names(state, who).await?;
    let now = Utc::now();
    // Failing and paused items first (they need a person), then the rest.
    let mut items = Vec::new();
    for wanted in [
        Some(SyncItemState::Failing),
        Some(SyncItemState::Paused),
        None,
    ] {
        let found = state.sync.list_items(who, id, wanted, 0, SHOWN).await?;
        for item in found {
            if wanted.is_none()
                && matches!(item.state, SyncItemState::Failing | SyncItemState::Paused)
            {
                continue;
            }
            if items.len() >= SHOWN as usize {
                break;
            }
            items.push(ItemRow {
                id: item.id,
                retry: matches!(item.state, SyncItemState::Failing | SyncItemState::Paused),
                state: item.state.as_str(),
                last_synced: item
                    .last_synced_at
                    .map_or_else(|| "not yet".to_owned(), |at| ago(at, now)),
                error: item.last_error.clone().unwrap_or_default(),
                left: item.left,
                right: item.right,
            });
        }
    }
    let operations = state
        .sync
        .list_operations(who, id, None, SHOWN)
        .await?
        .into_iter()
        .map(|o| OperationRow {
            at: ago(o.created_at, now),
            side: side_title(o.side),
            kind: o.kind.as_str(),
            item_id: o.item_id,
            fields: o.fields.keys().cloned().collect::<Vec<_>>().join(", "),
            state: o.state.as_str(),
            error: o.error.unwrap_or_default(),
        })
        .collect();
    let runs = state
        .sync
        .list_runs(who, id, 10)
        .await?
        .into_iter()
        .map(|r| RunRow {
            at: ago(r.finished_at, now),
            triggered_by: r.triggered_by,
            seen: r.counts.seen,
            created: r.counts.created,
            updated: r.counts.updated,
            failed: r.counts.failed,
            api_calls: r.counts.api_calls,
        })
        .collect();
    let conflicts = state
        .sync
        .list_conflicts(who, id, 20)
        .await?
        .into_iter()
        .map(|c| ConflictRow {
            id: c.id,
            item_id: c.item_id,
            field: c.field,
            left_value: c.left_value,
            right_value: c.right_value,
            decided: match &c.chosen {
                Some(k) => format!(
                    "{} kept by {}, {} (the rule had kept {})",
                    side_title(k.side).to_lowercase(),
                    k.by,
                    ago(k.at, now),
                    side_title(c.winner).to_lowercase()
                ),
                None => format!(
                    "{} kept ({}), {}",
                    side_title(c.winner).to_lowercase(),
                    c.reason,
                    ago(c.decided_at, now)
                ),
            },
        })
        .collect();
    Ok(PairPage {
        nav: Nav::new(who, "sync"),
        people: people_section(state, who, id, FormError::none(), &PersonForm::default()).await?,
        initial: initial_section(state, who, id).await?,
        releases: releases_section(state, who, id, FormError::none(), &ReleaseForm::default())
            .await?,
        message,
        sides: side_rows(&view.pair, &names),
        pair: pair_row(&view, &names),
        items,
        operations,
        runs,
        conflicts,
        settings: settings_rows(&view.pair),
        activated: view.pair.activated_at.is_some(),
    })
}

/// `/sync-pairs/{id}`.
pub(crate) async fn sync_pair(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    axum::extract::Query(done): axum::extract::Query<RetriedQuery>,
    axum::extract::Query(said): axum::extract::Query<DoneQuery>,
) -> PageResult {
    let who = signed_in(&caller)?;
    let message = match done {
        RetriedQuery {
            retried: Some(item),
            ..
        } => Some(format!("Item {item} is queued to be tried again now.")),
        RetriedQuery {
            activated: Some(_), ..
        } => Some(
            "The pair is active: its first scan runs now, and each change follows within seconds of its webhook."
                .to_owned(),
        ),
        RetriedQuery {
            kept: Some(conflict),
            ..
        } => Some(format!(
            "Conflict {conflict}: the value you chose is written on both sides."
        )),
        RetriedQuery {
            people: Some(people),
            ..
        } if people == "mapped" => Some(
            "The two people are mapped by hand now: their comments are copied without their \
             name, and assignees follow."
                .to_owned(),
        ),
        RetriedQuery {
            people: Some(people),
            ..
        } if people == "unmapped" => Some(
            "The mapping is removed; the two people are mapped automatically again, if the pair \
             does that."
                .to_owned(),
        ),
        RetriedQuery {
            initial: Some(done),
            ..
        } => initial_message(&done),
        RetriedQuery {
            releases: Some(releases),
            ..
        } => release_message(&releases).map(str::to_owned),
        _ => None,
    };
    let mut shown = pair_page(&state, who, id, message).await?;
    shown.nav = shown.nav.with_done(&said);
    page(&shown)
}

/// What the wizard's Cancel left to say.
#[derive(serde::Deserialize)]
pub(crate) struct CancelledQuery {
    cancelled: Option<u8>,
}

/// What a Retry, an activation or a kept side left to say.
#[derive(serde::Deserialize)]
pub(crate) struct RetriedQuery {
    retried: Option<i64>,
    /// Set by the wizard's Activate.
    activated: Option<u8>,
    /// A conflict overturned by "keep left / keep right".
    kept: Option<i64>,
    /// `mapped` or `unmapped`, after the people form.
    people: Option<String>,
    /// `started`, `paused` or `resumed`, after the initial sync's buttons.
    initial: Option<String>,
    /// `linked` or `unlinked`, after the releases form.
    releases: Option<String>,
}

/// What the releases form left to say.
fn release_message(done: &str) -> Option<&'static str> {
    match done {
        "linked" => Some(
            "The two releases are linked by hand now: issues' milestones and fix versions follow \
             between them, and neither is created again.",
        ),
        "unlinked" => Some(
            "The link is removed; nothing was deleted on either tracker. Releases with equal names \
             are linked again by the next scan.",
        ),
        _ => None,
    }
}

/// Tries a failing or paused item again now.
pub(crate) async fn retry_sync_item(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, item)): Path<(i64, i64)>,
) -> PageResult {
    let who = signed_in(&caller)?;
    state.sync.retry_item(who, id, item, Utc::now()).await?;
    see_other(&format!("/sync-pairs/{id}?retried={item}"))
}
