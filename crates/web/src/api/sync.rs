//! Two-way sync pairs: create, read, change (activate), delete, preview,
//! and a pair's items (with retry), conflicts, runs and operations. A pair
//! is its owner's (and admins'); others are told it does not exist.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use cairn_core::sync::{
    ConflictRule, FieldDirection, FieldPolicies, FieldPolicy, ItemState, SyncField, SyncItemState,
};
use cairn_engine::EngineError;
use cairn_engine::sync::pairs::PreviewEntry;
use cairn_engine::sync::{PairInput, PairView, SideInput, StatusMapInput};
use cairn_store::sync::{RemoteRef, SyncConflict, SyncItem, SyncOperation, SyncRun, SyncSide};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::SignedIn;
use crate::json::ApiJson;
use crate::{ApiError, AppState, ErrorBody};

/// One side of a pair.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SideRequest {
    /// A GitLab or Jira connection you may use.
    connection_id: i64,
    /// GitLab: the project's path (`group/project`) or id; Jira: the
    /// project key.
    project: String,
    /// GitLab only: labels an issue must all carry to be synced.
    #[serde(default)]
    labels: Vec<String>,
    /// Jira only: a JQL condition joined to the project by AND.
    #[serde(default)]
    jql: Option<String>,
}

/// How one field is synced.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct FieldPolicyRequest {
    /// `both`, `left_to_right`, `right_to_left` or `never`.
    direction: String,
    /// When both sides changed it: `newer_wins` (default), `left_wins` or
    /// `right_wins`.
    #[serde(default)]
    conflict: Option<String>,
}

/// A Jira status's place in the mapping.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct StatusMapRequest {
    /// The status's id or name.
    status: String,
    /// `opened` or `closed`.
    state: String,
    /// The status Cairn moves an issue to for its state; exactly one per
    /// state.
    #[serde(default)]
    primary: bool,
}

/// A pair as you set it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PairRequest {
    /// 1 to 200 characters.
    name: String,
    left: SideRequest,
    right: SideRequest,
    /// An inactive pair writes nothing and keeps its pending items.
    #[serde(default)]
    active: bool,
    /// Items created before this are not brought across; default: the
    /// moment the pair is first activated.
    #[serde(default)]
    created_after: Option<DateTime<Utc>>,
    /// By field (`title`, `description`, `state`, `labels`, `due_date`,
    /// `assignee`);
    /// a field not named syncs both ways, the newer change winning.
    #[serde(default)]
    fields: BTreeMap<String, FieldPolicyRequest>,
    /// For a pair with a Jira side: every status of the project, mapped
    /// to opened or closed. Default: `done` statuses closed, the rest
    /// opened, the first of each primary.
    #[serde(default)]
    status_mapping: Option<Vec<StatusMapRequest>>,
    /// Values for fields Jira's transitions require, by field id; default
    /// `{"resolution": "Done"}`.
    #[serde(default)]
    transition_defaults: Option<BTreeMap<String, String>>,
    /// For a Jira side: the issue type (name or id) of issues Cairn
    /// creates; default Task, else the project's first.
    #[serde(default)]
    jira_issue_type: Option<String>,
    /// How often the reconciliation scan runs (at least 60; default 300).
    #[serde(default)]
    scan_interval_secs: Option<i64>,
    /// Comments travel both ways, with who wrote them; when this is true,
    /// deleting a comment also deletes its copy on the other side
    /// (default false: the copy stays).
    #[serde(default)]
    delete_comment_copies: bool,
    /// How far back each scan reads beyond where the last one stopped, in
    /// seconds, for trackers whose clocks disagree with Cairn's (0 to
    /// 86400; default 120).
    #[serde(default)]
    scan_overlap_secs: Option<i64>,
    /// Map people automatically: by email where both sides show one,
    /// then by a full name that occurs once on each side (default false:
    /// only the pair's manual mappings). A mapped person's comments are
    /// copied without their name, and assignees follow the mapping.
    #[serde(default)]
    auto_map_people: bool,
}

fn parse_name<T>(
    field: &str,
    value: &str,
    parse: fn(&str) -> Option<T>,
    names: &str,
) -> Result<T, ApiError> {
    parse(value).ok_or_else(|| {
        EngineError::invalid(field, format!("`{value}` is not one of: {names}")).into()
    })
}

impl PairRequest {
    fn into_input(self) -> Result<PairInput, ApiError> {
        let mut fields = FieldPolicies::default();
        for (name, policy) in self.fields {
            let field = parse_name("fields", &name, SyncField::parse, SyncField::NAMES)?;
            let direction = parse_name(
                &format!("fields.{name}.direction"),
                &policy.direction,
                FieldDirection::parse,
                FieldDirection::NAMES,
            )?;
            let conflict = match policy.conflict {
                Some(c) => parse_name(
                    &format!("fields.{name}.conflict"),
                    &c,
                    ConflictRule::parse,
                    ConflictRule::NAMES,
                )?,
                None => ConflictRule::NewerWins,
            };
            fields.set(
                field,
                FieldPolicy {
                    direction,
                    conflict,
                },
            );
        }
        let status_mapping = match self.status_mapping {
            Some(entries) => Some(
                entries
                    .into_iter()
                    .map(|e| {
                        Ok(StatusMapInput {
                            state: parse_name(
                                "status_mapping",
                                &e.state,
                                ItemState::parse,
                                ItemState::NAMES,
                            )?,
                            status: e.status,
                            primary: e.primary,
                        })
                    })
                    .collect::<Result<Vec<_>, ApiError>>()?,
            ),
            None => None,
        };
        let side = |s: SideRequest| SideInput {
            connection_id: s.connection_id,
            project: s.project,
            labels: s.labels,
            jql: s.jql,
        };
        Ok(PairInput {
            name: self.name,
            left: side(self.left),
            right: side(self.right),
            active: self.active,
            created_after: self.created_after,
            fields,
            status_mapping,
            transition_defaults: self.transition_defaults,
            jira_issue_type: self.jira_issue_type,
            scan_interval_secs: self.scan_interval_secs,
            delete_comment_copies: self.delete_comment_copies,
            scan_overlap_secs: self.scan_overlap_secs,
            auto_map_people: self.auto_map_people,
        })
    }
}

/// One side of a stored pair.
#[derive(Serialize, ToSchema)]
pub(crate) struct SideView {
    connection_id: i64,
    /// As given.
    project: String,
    /// As the tracker knows it: GitLab's numeric id, Jira's key.
    project_id: String,
    labels: Vec<String>,
    jql: Option<String>,
}

impl From<&SyncSide> for SideView {
    fn from(side: &SyncSide) -> Self {
        SideView {
            connection_id: side.connection_id,
            project: side.project.clone(),
            project_id: side.project_id.clone(),
            labels: side.scope.labels.clone(),
            jql: side.scope.jql.clone(),
        }
    }
}

/// How one field is synced.
#[derive(Serialize, ToSchema)]
pub(crate) struct FieldPolicyView {
    /// `both`, `left_to_right`, `right_to_left` or `never`.
    direction: String,
    /// `newer_wins`, `left_wins` or `right_wins`.
    conflict: String,
}

/// A mapped Jira status.
#[derive(Serialize, ToSchema)]
pub(crate) struct StatusMapView {
    status_id: String,
    name: String,
    /// `opened` or `closed`.
    state: String,
    primary: bool,
}

/// Items of a pair in each state.
#[derive(Serialize, ToSchema)]
pub(crate) struct ItemCountsView {
    pending: i64,
    synced: i64,
    failing: i64,
    paused: i64,
}

/// A pair with its items' counts.
#[derive(Serialize, ToSchema)]
pub(crate) struct PairResponse {
    id: i64,
    name: String,
    owner_id: i64,
    active: bool,
    left: SideView,
    right: SideView,
    created_after: Option<DateTime<Utc>>,
    /// Every field with its policy.
    fields: BTreeMap<String, FieldPolicyView>,
    status_mapping: Option<Vec<StatusMapView>>,
    transition_defaults: BTreeMap<String, String>,
    jira_issue_type: Option<String>,
    scan_interval_secs: i64,
    /// Whether deleting a comment deletes its copy on the other side.
    delete_comment_copies: bool,
    /// How far back each scan reads beyond the last one, in seconds.
    scan_overlap_secs: i64,
    /// Whether people are mapped automatically (email, then unique name).
    auto_map_people: bool,
    activated_at: Option<DateTime<Utc>>,
    /// How far each side's scan has read (the tracker's update time).
    left_scanned_to: Option<DateTime<Utc>>,
    right_scanned_to: Option<DateTime<Utc>>,
    next_scan_at: Option<DateTime<Utc>>,
    items: ItemCountsView,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<PairView> for PairResponse {
    fn from(view: PairView) -> Self {
        let pair = view.pair;
        let s = &pair.settings;
        PairResponse {
            id: pair.id,
            name: s.name.clone(),
            owner_id: s.owner_id,
            active: s.active,
            left: (&s.left).into(),
            right: (&s.right).into(),
            created_after: s.created_after,
            fields: s
                .fields
                .all()
                .map(|(f, p)| {
                    (
                        f.as_str().to_owned(),
                        FieldPolicyView {
                            direction: p.direction.as_str().to_owned(),
                            conflict: p.conflict.as_str().to_owned(),
                        },
                    )
                })
                .collect(),
            status_mapping: s.status_mapping.as_ref().map(|m| {
                m.0.iter()
                    .map(|e| StatusMapView {
                        status_id: e.status_id.clone(),
                        name: e.name.clone(),
                        state: e.state.as_str().to_owned(),
                        primary: e.primary,
                    })
                    .collect()
            }),
            transition_defaults: s.transition_defaults.clone(),
            jira_issue_type: s.jira_issue_type.clone(),
            scan_interval_secs: s.scan_interval_secs,
            delete_comment_copies: s.delete_comment_copies,
            scan_overlap_secs: s.scan_overlap_secs,
            auto_map_people: s.auto_map_people,
            activated_at: pair.activated_at,
            left_scanned_to: pair.left_scanned_to,
            right_scanned_to: pair.right_scanned_to,
            next_scan_at: pair.next_scan_at,
            items: ItemCountsView {
                pending: view.items.pending,
                synced: view.items.synced,
                failing: view.items.failing,
                paused: view.items.paused,
            },
            created_at: pair.created_at,
            updated_at: pair.updated_at,
        }
    }
}

/// An item on one side.
#[derive(Serialize, ToSchema)]
pub(crate) struct RemoteView {
    /// GitLab's iid, Jira's issue id.
    id: String,
    /// `#12`, `AE-12`.
    key: String,
    url: String,
}

impl From<&RemoteRef> for RemoteView {
    fn from(r: &RemoteRef) -> Self {
        RemoteView {
            id: r.id.clone(),
            key: r.key.clone(),
            url: r.url.clone(),
        }
    }
}

/// An item and its twin.
#[derive(Serialize, ToSchema)]
pub(crate) struct ItemView {
    id: i64,
    /// `pending`, `synced`, `failing` or `paused`.
    state: String,
    left: Option<RemoteView>,
    right: Option<RemoteView>,
    /// Why it is failing or paused.
    last_error: Option<String>,
    /// Failed attempts in a row.
    failures: i64,
    next_attempt_at: Option<DateTime<Utc>>,
    last_synced_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<SyncItem> for ItemView {
    fn from(i: SyncItem) -> Self {
        ItemView {
            id: i.id,
            state: i.state.as_str().to_owned(),
            left: i.left.as_ref().map(Into::into),
            right: i.right.as_ref().map(Into::into),
            last_error: i.last_error,
            failures: i.failures,
            next_attempt_at: i.next_attempt_at,
            last_synced_at: i.last_synced_at,
            created_at: i.created_at,
            updated_at: i.updated_at,
        }
    }
}

/// A conflict as it was decided.
#[derive(Serialize, ToSchema)]
pub(crate) struct ConflictView {
    id: i64,
    item_id: i64,
    field: String,
    left_value: String,
    right_value: String,
    /// `left` or `right`.
    winner: String,
    /// `newer_wins`, `left_wins`, `right_wins` or `one_way`.
    reason: String,
    decided_at: DateTime<Utc>,
    /// The side a person chose instead (`left` or `right`), if one did.
    chosen: Option<String>,
    /// Who chose (their email).
    chosen_by: Option<String>,
    chosen_at: Option<DateTime<Utc>>,
}

impl From<SyncConflict> for ConflictView {
    fn from(c: SyncConflict) -> Self {
        ConflictView {
            id: c.id,
            item_id: c.item_id,
            field: c.field,
            left_value: c.left_value,
            right_value: c.right_value,
            winner: c.winner.as_str().to_owned(),
            reason: c.reason,
            decided_at: c.decided_at,
            chosen: c.chosen.as_ref().map(|k| k.side.as_str().to_owned()),
            chosen_by: c.chosen.as_ref().map(|k| k.by.clone()),
            chosen_at: c.chosen.map(|k| k.at),
        }
    }
}

/// What one run did.
#[derive(Serialize, ToSchema)]
pub(crate) struct RunView {
    id: i64,
    /// `item` (a webhook, a retry, an activation) or `scan`.
    triggered_by: String,
    started_at: DateTime<Utc>,
    finished_at: DateTime<Utc>,
    seen: i64,
    created: i64,
    updated: i64,
    skipped: i64,
    failed: i64,
    api_calls: i64,
}

impl From<SyncRun> for RunView {
    fn from(r: SyncRun) -> Self {
        RunView {
            id: r.id,
            triggered_by: r.triggered_by,
            started_at: r.started_at,
            finished_at: r.finished_at,
            seen: r.counts.seen,
            created: r.counts.created,
            updated: r.counts.updated,
            skipped: r.counts.skipped,
            failed: r.counts.failed,
            api_calls: r.counts.api_calls,
        }
    }
}

/// A remote write and how it went.
#[derive(Serialize, ToSchema)]
pub(crate) struct OperationView {
    id: i64,
    item_id: i64,
    /// The side written: `left` or `right`.
    side: String,
    /// `create`, `update` or `transition`.
    kind: String,
    /// The fields written, each with a short rendering of its value.
    fields: BTreeMap<String, String>,
    /// `intent` (recorded before the call), `done` or `failed`.
    state: String,
    remote_id: Option<String>,
    error: Option<String>,
    created_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
}

impl From<SyncOperation> for OperationView {
    fn from(o: SyncOperation) -> Self {
        OperationView {
            id: o.id,
            item_id: o.item_id,
            side: o.side.as_str().to_owned(),
            kind: o.kind.as_str().to_owned(),
            fields: o.fields,
            state: o.state.as_str().to_owned(),
            remote_id: o.remote_id,
            error: o.error,
            created_at: o.created_at,
            finished_at: o.finished_at,
        }
    }
}

/// One field a preview would write.
#[derive(Serialize, ToSchema)]
pub(crate) struct PreviewChangeView {
    /// The side written.
    side: String,
    field: String,
    before: String,
    after: String,
}

/// What the pair would do for one item.
#[derive(Serialize, ToSchema)]
pub(crate) struct PreviewEntryView {
    /// `create` (its twin would be created) or `update`.
    action: String,
    left: Option<RemoteView>,
    right: Option<RemoteView>,
    title: String,
    changes: Vec<PreviewChangeView>,
}

impl From<PreviewEntry> for PreviewEntryView {
    fn from(e: PreviewEntry) -> Self {
        PreviewEntryView {
            action: e.action.to_owned(),
            left: e.left.as_ref().map(Into::into),
            right: e.right.as_ref().map(Into::into),
            title: e.title,
            changes: e
                .changes
                .into_iter()
                .map(|c| PreviewChangeView {
                    side: c.side.as_str().to_owned(),
                    field: c.field,
                    before: c.before,
                    after: c.after,
                })
                .collect(),
        }
    }
}

/// Your pairs (every pair, for an admin).
#[utoipa::path(get, path = "/api/v1/sync-pairs", tag = "sync", responses(
    (status = 200, description = "Pairs", body = Vec<PairResponse>)))]
pub(crate) async fn list_pairs(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
) -> Result<Json<Vec<PairResponse>>, ApiError> {
    let pairs = state.sync.list_pairs(&caller).await?;
    Ok(Json(pairs.into_iter().map(Into::into).collect()))
}

/// Creates a pair you own, checked against both trackers first (projects,
/// the Jira issue type, statuses and mapping, the JQL scope).
#[utoipa::path(post, path = "/api/v1/sync-pairs", tag = "sync", request_body = PairRequest, responses(
    (status = 201, description = "Created", body = PairResponse),
    (status = 422, description = "A field refused, e.g. `right.project` (the same project as the left), `status_mapping` (naming the status), `right.jql` (Jira's message)", body = ErrorBody)))]
pub(crate) async fn create_pair(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    ApiJson(body): ApiJson<PairRequest>,
) -> Result<(StatusCode, Json<PairResponse>), ApiError> {
    let input = body.into_input()?;
    let pair = state.sync.create_pair(&caller, &input, Utc::now()).await?;
    Ok((StatusCode::CREATED, Json(pair.into())))
}

/// One pair.
#[utoipa::path(get, path = "/api/v1/sync-pairs/{id}", tag = "sync", params(("id" = i64, Path)), responses(
    (status = 200, description = "The pair", body = PairResponse),
    (status = 404, description = "No such pair of yours", body = ErrorBody)))]
pub(crate) async fn get_pair(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<i64>,
) -> Result<Json<PairResponse>, ApiError> {
    Ok(Json(state.sync.get_pair(&caller, id).await?.into()))
}

/// Replaces a pair's settings; activating it for the first time fixes
/// `created_after` (to now unless given) and starts a scan.
#[utoipa::path(put, path = "/api/v1/sync-pairs/{id}", tag = "sync", params(("id" = i64, Path)),
    request_body = PairRequest, responses(
    (status = 200, description = "Updated", body = PairResponse),
    (status = 404, description = "No such pair of yours", body = ErrorBody),
    (status = 422, description = "A field refused", body = ErrorBody)))]
pub(crate) async fn update_pair(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<PairRequest>,
) -> Result<Json<PairResponse>, ApiError> {
    let input = body.into_input()?;
    Ok(Json(
        state
            .sync
            .update_pair(&caller, id, &input, Utc::now())
            .await?
            .into(),
    ))
}

/// Deletes a pair with its links and logs; the issues stay on both sides.
#[utoipa::path(delete, path = "/api/v1/sync-pairs/{id}", tag = "sync", params(("id" = i64, Path)), responses(
    (status = 204, description = "Deleted"),
    (status = 404, description = "No such pair of yours", body = ErrorBody)))]
pub(crate) async fn delete_pair(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    state.sync.delete_pair(&caller, id, Utc::now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What the pair would create or change on each side now, item by item,
/// with the values before and after (descriptions converted); writes
/// nothing on either side.
#[utoipa::path(post, path = "/api/v1/sync-pairs/{id}/preview", tag = "sync", params(("id" = i64, Path)), responses(
    (status = 200, description = "The items it would create or change", body = Vec<PreviewEntryView>),
    (status = 404, description = "No such pair of yours", body = ErrorBody),
    (status = 422, description = "A side cannot be read", body = ErrorBody)))]
pub(crate) async fn preview(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<i64>,
) -> Result<Json<Vec<PreviewEntryView>>, ApiError> {
    let entries = state.sync.preview(&caller, id, Utc::now()).await?;
    Ok(Json(entries.into_iter().map(Into::into).collect()))
}

/// Runs the reconciliation scan now instead of at its next interval.
#[utoipa::path(post, path = "/api/v1/sync-pairs/{id}/scan", tag = "sync", params(("id" = i64, Path)), responses(
    (status = 202, description = "The scan is queued"),
    (status = 404, description = "No such pair of yours", body = ErrorBody),
    (status = 409, description = "The pair is inactive", body = ErrorBody)))]
pub(crate) async fn scan(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    state.sync.scan_now(&caller, id, Utc::now()).await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ItemsQuery {
    /// Only items in this state: `pending`, `synced`, `failing`, `paused`.
    state: Option<String>,
    /// Items after this id (paging).
    #[serde(default)]
    after: i64,
    /// At most this many (1 to 500, default 100).
    limit: Option<u32>,
}

/// A pair's items, by id.
#[utoipa::path(get, path = "/api/v1/sync-pairs/{id}/items", tag = "sync", params(("id" = i64, Path), ItemsQuery), responses(
    (status = 200, description = "Items", body = Vec<ItemView>),
    (status = 404, description = "No such pair of yours", body = ErrorBody),
    (status = 422, description = "Unknown state", body = ErrorBody)))]
pub(crate) async fn list_items(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<i64>,
    Query(query): Query<ItemsQuery>,
) -> Result<Json<Vec<ItemView>>, ApiError> {
    let wanted = match query.state.as_deref() {
        Some(s) => Some(parse_name(
            "state",
            s,
            SyncItemState::parse,
            SyncItemState::NAMES,
        )?),
        None => None,
    };
    let items = state
        .sync
        .list_items(&caller, id, wanted, query.after, query.limit.unwrap_or(100))
        .await?;
    Ok(Json(items.into_iter().map(Into::into).collect()))
}

/// Tries an item again now; a paused item's fuse is reset.
#[utoipa::path(post, path = "/api/v1/sync-pairs/{id}/items/{item}/retry", tag = "sync",
    params(("id" = i64, Path), ("item" = i64, Path)), responses(
    (status = 200, description = "Queued again", body = ItemView),
    (status = 404, description = "No such pair of yours or item in it", body = ErrorBody)))]
pub(crate) async fn retry_item(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path((id, item)): Path<(i64, i64)>,
) -> Result<Json<ItemView>, ApiError> {
    Ok(Json(
        state
            .sync
            .retry_item(&caller, id, item, Utc::now())
            .await?
            .into(),
    ))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct LimitQuery {
    /// At most this many, newest first (1 to 500, default 100).
    limit: Option<u32>,
    /// Only this item's (operations).
    item: Option<i64>,
}

/// Conflicts, newest first, with both values and the winner.
#[utoipa::path(get, path = "/api/v1/sync-pairs/{id}/conflicts", tag = "sync", params(("id" = i64, Path), LimitQuery), responses(
    (status = 200, description = "Conflicts", body = Vec<ConflictView>),
    (status = 404, description = "No such pair of yours", body = ErrorBody)))]
pub(crate) async fn list_conflicts(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<i64>,
    Query(query): Query<LimitQuery>,
) -> Result<Json<Vec<ConflictView>>, ApiError> {
    let conflicts = state
        .sync
        .list_conflicts(&caller, id, query.limit.unwrap_or(100))
        .await?;
    Ok(Json(conflicts.into_iter().map(Into::into).collect()))
}

/// Runs, newest first: items seen, created, updated, skipped, failed and
/// the API calls each took.
#[utoipa::path(get, path = "/api/v1/sync-pairs/{id}/runs", tag = "sync", params(("id" = i64, Path), LimitQuery), responses(
    (status = 200, description = "Runs", body = Vec<RunView>),
    (status = 404, description = "No such pair of yours", body = ErrorBody)))]
pub(crate) async fn list_runs(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<i64>,
    Query(query): Query<LimitQuery>,
) -> Result<Json<Vec<RunView>>, ApiError> {
    let runs = state
        .sync
        .list_runs(&caller, id, query.limit.unwrap_or(100))
        .await?;
    Ok(Json(runs.into_iter().map(Into::into).collect()))
}

/// The operation log, newest first: every remote write's intent and
/// outcome.
#[utoipa::path(get, path = "/api/v1/sync-pairs/{id}/operations", tag = "sync", params(("id" = i64, Path), LimitQuery), responses(
    (status = 200, description = "Operations", body = Vec<OperationView>),
    (status = 404, description = "No such pair of yours", body = ErrorBody)))]
pub(crate) async fn list_operations(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<i64>,
    Query(query): Query<LimitQuery>,
) -> Result<Json<Vec<OperationView>>, ApiError> {
    let ops = state
        .sync
        .list_operations(&caller, id, query.item, query.limit.unwrap_or(100))
        .await?;
    Ok(Json(ops.into_iter().map(Into::into).collect()))
}
