//! The pair wizard (`/sync-pairs/new`, then `/sync-pairs/{id}/setup/…`):
//! connections → projects → scope → fields and directions → status mapping
//! → people → the dry-run preview → Activate. Works without JavaScript.
//!
//! The first two steps travel in the query and hidden fields; submitting
//! the projects
//! saves the pair *inactive* (a draft: an inactive pair writes nothing),
//! so every later step is checked against both trackers by the same
//! engine calls as the API and refused next to its field, nothing saved.
//! Cancel deletes a draft after asking; a pair once activated is not a
//! draft any more and is not deleted from here.

use std::collections::BTreeMap;

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use cairn_core::integrations::IntegrationKind;
use cairn_core::sync::{
    ConflictRule, FieldDirection, FieldPolicy, ItemState, Side, StatusMapEntry, SyncField,
};
use cairn_engine::accounts::Authenticated;
use cairn_engine::sync::wizard::{ProjectChoice, input_of};
use cairn_engine::sync::{PairInput, SideInput, StatusMapInput};
use cairn_store::sync::SyncPair;
use chrono::{NaiveDate, TimeZone, Utc};
use serde::Deserialize;

use super::common::{
    Choice, FormError, Nav, PageError, PageResult, page, refusal, refused, see_other, signed_in,
};
use super::sync_people::{PeopleSection, PersonForm, people_section};
use crate::AppState;
use crate::auth::Caller;

/// One step in the wizard's header.
pub(crate) struct StepRow {
    pub title: &'static str,
    pub current: bool,
    /// Where the step is, once the draft exists.
    pub href: Option<String>,
}

/// What every step shows above its form.
pub(crate) struct WizardHead {
    pub steps: Vec<StepRow>,
    /// The draft's (0 before it is saved).
    pub pair_id: i64,
    pub name: String,
}

/// The head of a step of the draft `pair`.
fn head(step: &str, pair: &SyncPair) -> WizardHead {
    WizardHead {
        steps: steps(step, Some(pair), has_jira(pair)),
        pair_id: pair.id,
        name: pair.settings.name.clone(),
    }
}

/// The head of a step before the draft is saved.
fn head_before_draft(step: &str, name: &str) -> WizardHead {
    WizardHead {
        steps: steps(step, None, true),
        pair_id: 0,
        name: name.to_owned(),
    }
}

/// The steps, the current one marked; a pair without a Jira side has no
/// status mapping step.
fn steps(current: &str, pair: Option<&SyncPair>, jira: bool) -> Vec<StepRow> {
    let all: [(&str, &'static str); 7] = [
        ("connections", "Connections"),
        ("projects", "Projects"),
        ("scope", "Scope"),
        ("fields", "Fields and directions"),
        ("statuses", "Status mapping"),
        ("people", "People"),
        ("preview", "Preview and activate"),
    ];
    all.into_iter()
        .filter(|(slug, _)| jira || *slug != "statuses")
        .map(|(slug, title)| StepRow {
            title,
            current: slug == current,
            href: pair
                .filter(|_| !matches!(slug, "connections" | "projects"))
                .map(|p| format!("/sync-pairs/{}/setup/{slug}", p.id)),
        })
        .collect()
}

/// Whether either side of a pair is a Jira project (it then has statuses).
fn has_jira(pair: &SyncPair) -> bool {
    pair.settings.status_mapping.is_some()
}

/// Connections the caller may use as a side, as choices.
async fn side_connections(
    state: &AppState,
    who: &Authenticated,
    current: i64,
) -> Result<Vec<Choice>, PageError> {
    Ok(state
        .connections
        .list(who)
        .await?
        .into_iter()
        .filter(|c| matches!(c.kind, IntegrationKind::Gitlab | IntegrationKind::Jira))
        .map(|c| {
            let tracker = match c.kind {
                IntegrationKind::Jira => "Jira",
                _ => "GitLab",
            };
            Choice::new(
                c.id.to_string(),
                format!("{} ({tracker})", c.name),
                &current.to_string(),
            )
        })
        .collect())
}

/// Step 1 and 2's fields.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub(crate) struct StartForm {
    pub name: String,
    #[serde(rename = "left.connection_id")]
    pub left_connection: String,
    #[serde(rename = "right.connection_id")]
    pub right_connection: String,
    #[serde(rename = "left.project")]
    pub left_project: String,
    #[serde(rename = "right.project")]
    pub right_project: String,
}

#[derive(Template)]
#[template(path = "sync_wizard_start.html")]
struct StartPage {
    nav: Nav,
    head: WizardHead,
    form: StartForm,
    error: FormError,
    left: Vec<Choice>,
    right: Vec<Choice>,
}

/// `/sync-pairs/new`: name the pair and choose its connections.
pub(crate) async fn new_pair(State(state): State<AppState>, caller: Caller) -> PageResult {
    let who = signed_in(&caller)?;
    let connections = state.connections.list(who).await?;
    let first = |kind| {
        connections
            .iter()
            .find(|c| c.kind == kind)
            .map_or(0, |c| c.id)
    };
    let (left, right) = (first(IntegrationKind::Gitlab), first(IntegrationKind::Jira));
    page(&StartPage {
        nav: Nav::new(who, "sync"),
        head: head_before_draft("connections", ""),
        form: StartForm {
            left_connection: left.to_string(),
            right_connection: right.to_string(),
            ..StartForm::default()
        },
        error: FormError::none(),
        left: side_connections(&state, who, left).await?,
        right: side_connections(&state, who, right).await?,
    })
}

/// A connection id from a form, or the refusal naming its field.
fn connection_id(field: &str, value: &str) -> Result<i64, FormError> {
    value
        .trim()
        .parse()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| FormError::at(field, "choose a connection"))
}

#[derive(Template)]
#[template(path = "sync_wizard_projects.html")]
struct ProjectsPage {
    nav: Nav,
    head: WizardHead,
    form: StartForm,
    error: FormError,
    left: Vec<Choice>,
    right: Vec<Choice>,
}

/// The projects of one side as choices; a connection that cannot list
/// them leaves the list empty (the page then asks for the path or key)
/// and its refusal shown.
async fn project_choices(
    state: &AppState,
    who: &Authenticated,
    field: &str,
    connection: i64,
    current: &str,
) -> Result<(Vec<Choice>, Option<FormError>), PageError> {
    match state.sync.side_projects(who, field, connection).await {
        Ok(list) => Ok((
            list.into_iter()
                .map(|ProjectChoice { project, label }| Choice::new(project, label, current))
                .collect(),
            None,
        )),
        Err(e) => Ok((Vec::new(), Some(refusal(e, &[field])?))),
    }
}

async fn projects_page(
    state: &AppState,
    who: &Authenticated,
    form: StartForm,
    error: FormError,
) -> Result<ProjectsPage, PageError> {
    let left_id = form.left_connection.trim().parse().unwrap_or(0);
    let right_id = form.right_connection.trim().parse().unwrap_or(0);
    let (left, left_error) =
        project_choices(state, who, "left.project", left_id, &form.left_project).await?;
    let (right, right_error) =
        project_choices(state, who, "right.project", right_id, &form.right_project).await?;
    let error = if !error.is_empty() {
        error
    } else {
        left_error.or(right_error).unwrap_or_default()
    };
    Ok(ProjectsPage {
        nav: Nav::new(who, "sync"),
        head: head_before_draft("projects", &form.name),
        form,
        error,
        left,
        right,
    })
}

/// `/sync-pairs/new/projects?name=…`: step 1 checked (it writes nothing,
/// so it is a GET), then the projects of both connections.
pub(crate) async fn choose_projects(
    State(state): State<AppState>,
    caller: Caller,
    Query(form): Query<StartForm>,
) -> PageResult {
    let who = signed_in(&caller)?;
    let checked = (|| {
        if form.name.trim().is_empty() || form.name.trim().chars().count() > 200 {
            return Err(FormError::at(
                "name",
                "give the pair a name of 1 to 200 characters",
            ));
        }
        connection_id("left.connection_id", &form.left_connection)?;
        connection_id("right.connection_id", &form.right_connection)?;
        Ok(())
    })();
    if let Err(error) = checked {
        let (left, right) = (
            form.left_connection.parse().unwrap_or(0),
            form.right_connection.parse().unwrap_or(0),
        );
        return refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            &StartPage {
                nav: Nav::new(who, "sync"),
                head: head_before_draft("connections", &form.name),
                error,
                left: side_connections(&state, who, left).await?,
                right: side_connections(&state, who, right).await?,
                form,
            },
        );
    }
    page(&projects_page(&state, who, form, FormError::none()).await?)
}

/// Step 2 submitted: the pair is saved inactive (the draft), checked
/// against both trackers first.
pub(crate) async fn create_draft(
    State(state): State<AppState>,
    caller: Caller,
    Form(form): Form<StartForm>,
) -> PageResult {
    let who = signed_in(&caller)?;
    let side = |connection: &str, project: &str| SideInput {
        connection_id: connection.trim().parse().unwrap_or(0),
        project: project.trim().to_owned(),
        labels: Vec::new(),
        jql: None,
    };
    let input = PairInput::draft(
        form.name.clone(),
        side(&form.left_connection, &form.left_project),
        side(&form.right_connection, &form.right_project),
    );
    match state.sync.create_pair(who, &input, Utc::now()).await {
        Ok(view) => see_other(&format!("/sync-pairs/{}/setup/scope", view.pair.id)),
        Err(e) => {
            let error = refusal(
                e,
                &[
                    "name",
                    "left.connection_id",
                    "right.connection_id",
                    "left.project",
                    "right.project",
                ],
            )?;
            refused(
                StatusCode::UNPROCESSABLE_ENTITY,
                &projects_page(&state, who, form, error).await?,
            )
        }
    }
}

/// A side of the draft, in words, for the later steps.
pub(crate) struct SideFacts {
    /// `left` or `right`: the form's field prefix.
    pub side: &'static str,
    pub title: &'static str,
    pub project: String,
    /// Scoped by JQL (Jira) rather than labels (GitLab).
    pub jira: bool,
    pub labels: String,
    pub jql: String,
    /// The form's fields, named as the engine names them.
    pub labels_field: String,
    pub jql_field: String,
}

fn side_facts(pair: &SyncPair) -> Vec<SideFacts> {
    [(Side::Left, "Left"), (Side::Right, "Right")]
        .into_iter()
        .map(|(side, title)| {
            let s = pair.side(side);
            // A Jira side's project id is its key; a GitLab one's is a number.
            let jira = has_jira(pair) && s.project_id.parse::<u64>().is_err();
            SideFacts {
                side: side.as_str(),
                title,
                project: s.project.clone(),
                jira,
                labels: s.scope.labels.join(", "),
                jql: s.scope.jql.clone().unwrap_or_default(),
                labels_field: format!("{side}.labels"),
                jql_field: format!("{side}.jql"),
            }
        })
        .collect()
}

/// The signed-in caller and the draft, if they may change it.
async fn draft<'c>(
    state: &AppState,
    caller: &'c Caller,
    id: i64,
) -> Result<(&'c Authenticated, SyncPair), PageError> {
    let who = signed_in(caller)?;
    Ok((who, state.sync.get_pair(who, id).await?.pair))
}

/// Saves a step's change of the pair, or says why not next to `fields`.
async fn save_step(
    state: &AppState,
    who: &Authenticated,
    id: i64,
    input: &PairInput,
    fields: &[&str],
) -> Result<Result<(), FormError>, PageError> {
    match state.sync.update_pair(who, id, input, Utc::now()).await {
        Ok(_) => Ok(Ok(())),
        Err(e) => Ok(Err(refusal(e, fields)?)),
    }
}

/// Where a step goes on to.
fn next_after(pair: &SyncPair, step: &str) -> String {
    let next = match step {
        "scope" => "fields",
        "fields" if has_jira(pair) => "statuses",
        "fields" | "statuses" => "people",
        _ => "preview",
    };
    format!("/sync-pairs/{}/setup/{next}", pair.id)
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub(crate) struct ScopeForm {
    #[serde(rename = "left.labels")]
    pub left_labels: String,
    #[serde(rename = "right.labels")]
    pub right_labels: String,
    #[serde(rename = "left.jql")]
    pub left_jql: String,
    #[serde(rename = "right.jql")]
    pub right_jql: String,
    /// A date (UTC), or empty for "from activation".
    pub created_after: String,
    /// The seed's time offset, in seconds.
    pub scan_overlap_secs: String,
}

#[derive(Template)]
#[template(path = "sync_wizard_scope.html")]
struct ScopePage {
    nav: Nav,
    head: WizardHead,
    sides: Vec<SideFacts>,
    created_after: String,
    scan_overlap_secs: String,
    error: FormError,
}

fn scope_page(who: &Authenticated, pair: &SyncPair, error: FormError) -> ScopePage {
    ScopePage {
        nav: Nav::new(who, "sync"),
        head: head("scope", pair),
        sides: side_facts(pair),
        created_after: pair
            .settings
            .created_after
            .map(|d| d.date_naive().to_string())
            .unwrap_or_default(),
        scan_overlap_secs: pair.settings.scan_overlap_secs.to_string(),
        error,
    }
}

/// `/sync-pairs/{id}/setup/scope`: which issues of each side, and from when.
pub(crate) async fn wizard_scope(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> PageResult {
    let (who, pair) = draft(&state, &caller, id).await?;
    page(&scope_page(who, &pair, FormError::none()))
}

fn labels(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

pub(crate) async fn save_scope(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Form(form): Form<ScopeForm>,
) -> PageResult {
    let (who, mut pair) = draft(&state, &caller, id).await?;
    let mut input = input_of(&pair);
    let created_after = match form.created_after.trim() {
        "" => Ok(None),
        day => day
            .parse::<NaiveDate>()
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| Some(Utc.from_utc_datetime(&t)))
            .ok_or_else(|| FormError::at("created_after", "a date such as 2026-01-31")),
    };
    // Empty: the default.
    let scan_overlap = match form.scan_overlap_secs.trim() {
        "" => Ok(None),
        secs => secs.parse::<i64>().map(Some).map_err(|_| {
            FormError::at(
                "scan_overlap_secs",
                "a whole number of seconds, such as 120",
            )
        }),
    };
    let saved = match created_after.and_then(|c| scan_overlap.map(|o| (c, o))) {
        Ok((created_after, scan_overlap)) => {
            input.created_after = created_after;
            input.scan_overlap_secs = scan_overlap;
            for facts in side_facts(&pair) {
                let (side, labels_text, jql_text) = match facts.side {
                    "left" => (&mut input.left, &form.left_labels, &form.left_jql),
                    _ => (&mut input.right, &form.right_labels, &form.right_jql),
                };
                if facts.jira {
                    side.jql = Some(jql_text.trim().to_owned()).filter(|j| !j.is_empty());
                } else {
                    side.labels = labels(labels_text);
                }
            }
            save_step(
                &state,
                who,
                id,
                &input,
                &[
                    "left.labels",
                    "right.labels",
                    "left.jql",
                    "right.jql",
                    "scan_overlap_secs",
                ],
            )
            .await?
        }
        Err(e) => Err(e),
    };
    match saved {
        Ok(()) => see_other(&next_after(&pair, "scope")),
        Err(error) => {
            // Shown again as typed.
            pair.settings.left.scope.labels = labels(&form.left_labels);
            pair.settings.right.scope.labels = labels(&form.right_labels);
            pair.settings.left.scope.jql = Some(form.left_jql.clone());
            pair.settings.right.scope.jql = Some(form.right_jql.clone());
            let mut shown = scope_page(who, &pair, error);
            shown.created_after = form.created_after;
            shown.scan_overlap_secs = form.scan_overlap_secs;
            refused(StatusCode::UNPROCESSABLE_ENTITY, &shown)
        }
    }
}

/// A field's row on the fields step.
pub(crate) struct FieldRow {
    pub title: &'static str,
    /// The form's fields, named as the API names them.
    pub direction_field: String,
    pub conflict_field: String,
    pub directions: Vec<Choice>,
    pub conflicts: Vec<Choice>,
}

#[derive(Template)]
#[template(path = "sync_wizard_fields.html")]
struct FieldsPage {
    nav: Nav,
    head: WizardHead,
    rows: Vec<FieldRow>,
    error: FormError,
}

fn field_title(field: SyncField) -> &'static str {
    match field {
        SyncField::Title => "Title",
        SyncField::Description => "Description",
        SyncField::State => "State (open or closed)",
        SyncField::Labels => "Labels",
        SyncField::DueDate => "Due date",
        SyncField::Assignee => "Assignee (through the pair's people mapping)",
        SyncField::Milestone => "Milestone and fix version (through the pair's release links)",
    }
}

fn field_rows(policies: &BTreeMap<SyncField, (String, String)>) -> Vec<FieldRow> {
    let directions = [
        ("both", "Both ways"),
        ("left_to_right", "Left to right only"),
        ("right_to_left", "Right to left only"),
        ("never", "Not synced"),
    ];
    let rules = [
        ("newer_wins", "The newer change wins"),
        ("left_wins", "Left wins"),
        ("right_wins", "Right wins"),
    ];
    SyncField::ALL
        .iter()
        .map(|field| {
            let (direction, conflict) = policies.get(field).cloned().unwrap_or_default();
            FieldRow {
                title: field_title(*field),
                direction_field: format!("fields.{field}.direction"),
                conflict_field: format!("fields.{field}.conflict"),
                directions: directions
                    .iter()
                    .map(|(v, l)| Choice::new(*v, *l, &direction))
                    .collect(),
                conflicts: rules
                    .iter()
                    .map(|(v, l)| Choice::new(*v, *l, &conflict))
                    .collect(),
            }
        })
        .collect()
}

fn policies_of(pair: &SyncPair) -> BTreeMap<SyncField, (String, String)> {
    pair.settings
        .fields
        .all()
        .map(|(f, p)| {
            (
                f,
                (
                    p.direction.as_str().to_owned(),
                    p.conflict.as_str().to_owned(),
                ),
            )
        })
        .collect()
}

/// `/sync-pairs/{id}/setup/fields`: each field's direction and, when both
/// sides changed it, which wins.
pub(crate) async fn wizard_fields(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> PageResult {
    let (who, pair) = draft(&state, &caller, id).await?;
    page(&FieldsPage {
        nav: Nav::new(who, "sync"),
        head: head("fields", &pair),
        rows: field_rows(&policies_of(&pair)),
        error: FormError::none(),
    })
}

/// Reads `fields.{field}.direction` and `.conflict`; the first value not
/// one of the names is refused naming its field.
fn policies_from(
    fields: &[(String, String)],
) -> (BTreeMap<SyncField, (String, String)>, Result<(), FormError>) {
    let mut given: BTreeMap<SyncField, (String, String)> = BTreeMap::new();
    let mut result = Ok(());
    for (name, value) in fields {
        let mut parts = name.split('.');
        let (Some("fields"), Some(field), Some(part), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let Some(field) = SyncField::parse(field) else {
            continue;
        };
        let entry = given.entry(field).or_default();
        let known = match part {
            "direction" => {
                entry.0 = value.clone();
                FieldDirection::parse(value).is_some()
            }
            "conflict" => {
                entry.1 = value.clone();
                ConflictRule::parse(value).is_some()
            }
            _ => true,
        };
        if !known && result.is_ok() {
            result = Err(FormError::at(name, format!("`{value}` is not a choice")));
        }
    }
    (given, result)
}

pub(crate) async fn save_fields(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Form(form): Form<Vec<(String, String)>>,
) -> PageResult {
    let (who, pair) = draft(&state, &caller, id).await?;
    let (given, parsed) = policies_from(&form);
    let mut shown = policies_of(&pair);
    shown.extend(given.clone());
    let saved = match parsed {
        Ok(()) => {
            let mut input = input_of(&pair);
            for (field, (direction, conflict)) in &given {
                let before = input.fields.get(*field);
                input.fields.set(
                    *field,
                    FieldPolicy {
                        direction: FieldDirection::parse(direction).unwrap_or(before.direction),
                        conflict: ConflictRule::parse(conflict).unwrap_or(before.conflict),
                    },
                );
            }
            save_step(&state, who, id, &input, &[]).await?
        }
        Err(e) => Err(e),
    };
    match saved {
        Ok(()) => see_other(&next_after(&pair, "fields")),
        Err(error) => refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            &FieldsPage {
                nav: Nav::new(who, "sync"),
                head: head("fields", &pair),
                rows: field_rows(&shown),
                error,
            },
        ),
    }
}

/// A Jira status's row on the mapping step.
pub(crate) struct StatusRow {
    pub id: String,
    pub name: String,
    pub states: Vec<Choice>,
    pub primary: bool,
}

#[derive(Template)]
#[template(path = "sync_wizard_statuses.html")]
struct StatusesPage {
    nav: Nav,
    head: WizardHead,
    rows: Vec<StatusRow>,
    error: FormError,
}

fn status_rows(entries: &[StatusMapEntry]) -> Vec<StatusRow> {
    entries
        .iter()
        .map(|e| StatusRow {
            id: e.status_id.clone(),
            name: e.name.clone(),
            states: ItemState::ALL
                .iter()
                .map(|s| Choice::new(s.as_str(), s.as_str(), e.state.as_str()))
                .collect(),
            primary: e.primary,
        })
        .collect()
}

fn mapping_of(pair: &SyncPair) -> Vec<StatusMapEntry> {
    pair.settings
        .status_mapping
        .as_ref()
        .map(|m| m.0.clone())
        .unwrap_or_default()
}

fn statuses_page(
    who: &Authenticated,
    pair: &SyncPair,
    entries: &[StatusMapEntry],
    error: FormError,
) -> StatusesPage {
    StatusesPage {
        nav: Nav::new(who, "sync"),
        head: head("statuses", pair),
        rows: status_rows(entries),
        error,
    }
}

/// `/sync-pairs/{id}/setup/statuses`: every Jira status to opened or
/// closed, exactly one primary per state (the seed's rules).
pub(crate) async fn wizard_statuses(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> PageResult {
    let (who, pair) = draft(&state, &caller, id).await?;
    if !has_jira(&pair) {
        return see_other(&format!("/sync-pairs/{id}/setup/preview"));
    }
    page(&statuses_page(
        who,
        &pair,
        &mapping_of(&pair),
        FormError::none(),
    ))
}

/// Reads `state.{status}` and `primary.{status}` for the statuses of the
/// saved mapping; a state that is not one is refused naming the status.
fn mapping_from(
    saved: &[StatusMapEntry],
    form: &[(String, String)],
) -> (Vec<StatusMapEntry>, Result<(), FormError>) {
    let value = |name: String| form.iter().find(|(n, _)| *n == name).map(|(_, v)| v);
    let mut result = Ok(());
    let entries = saved
        .iter()
        .map(|saved| {
            let (id, name, before) = (&saved.status_id, &saved.name, saved.state);
            let state = match value(format!("state.{id}")) {
                Some(v) => ItemState::parse(v).unwrap_or_else(|| {
                    if result.is_ok() {
                        result = Err(FormError::at(
                            "status_mapping",
                            format!("`{v}` is not opened or closed (status `{name}`)"),
                        ));
                    }
                    before
                }),
                None => before,
            };
            let primary = value(format!("primary.{id}")).is_some();
            StatusMapEntry {
                state,
                primary,
                ..saved.clone()
            }
        })
        .collect();
    (entries, result)
}

pub(crate) async fn save_statuses(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Form(form): Form<Vec<(String, String)>>,
) -> PageResult {
    let (who, pair) = draft(&state, &caller, id).await?;
    let (entries, parsed) = mapping_from(&mapping_of(&pair), &form);
    let saved = match parsed {
        Ok(()) => {
            let mut input = input_of(&pair);
            input.status_mapping = Some(
                entries
                    .iter()
                    .map(|e| StatusMapInput {
                        status: e.status_id.clone(),
                        state: e.state,
                        primary: e.primary,
                    })
                    .collect(),
            );
            save_step(&state, who, id, &input, &["status_mapping"]).await?
        }
        Err(e) => Err(e),
    };
    match saved {
        Ok(()) => see_other(&next_after(&pair, "statuses")),
        Err(error) => refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            &statuses_page(who, &pair, &entries, error),
        ),
    }
}

#[derive(Template)]
#[template(path = "sync_wizard_people.html")]
pub(crate) struct PeopleStepPage {
    nav: Nav,
    head: WizardHead,
    /// What a people form just did, in words.
    message: Option<&'static str>,
    auto_map_people: bool,
    people: PeopleSection,
    error: FormError,
}

/// The people step of draft `id`, showing `people` (with a refused
/// mapping's error, or none).
pub(crate) async fn people_step(
    state: &AppState,
    who: &Authenticated,
    id: i64,
    mut people: PeopleSection,
    message: Option<&'static str>,
) -> Result<PeopleStepPage, PageError> {
    let pair = state.sync.get_pair(who, id).await?.pair;
    people.in_wizard = true;
    Ok(PeopleStepPage {
        nav: Nav::new(who, "sync"),
        head: head("people", &pair),
        message,
        auto_map_people: pair.settings.auto_map_people,
        people,
        error: FormError::none(),
    })
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct PeopleStepQuery {
    /// `mapped` or `unmapped`, after a people form.
    people: String,
}

/// `/sync-pairs/{id}/setup/people`: how the two sides' people would be
/// mapped (automatically, on the pair's option, and by hand), so assignees
/// and comment authors are right from the first write.
pub(crate) async fn wizard_people(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(query): Query<PeopleStepQuery>,
) -> PageResult {
    let (who, _) = draft(&state, &caller, id).await?;
    let message = match query.people.as_str() {
        "mapped" => Some("The two people are mapped by hand now."),
        "unmapped" => Some("The mapping is removed."),
        _ => None,
    };
    let people = people_section(&state, who, id, FormError::none(), &PersonForm::default()).await?;
    page(&people_step(&state, who, id, people, message).await?)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct PeopleStepForm {
    /// The checkbox: present when ticked.
    auto_map_people: Option<String>,
}

/// Saves whether people are mapped automatically, then the preview.
pub(crate) async fn save_people(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Form(form): Form<PeopleStepForm>,
) -> PageResult {
    let (who, pair) = draft(&state, &caller, id).await?;
    let mut input = input_of(&pair);
    input.auto_map_people = form.auto_map_people.is_some();
    match save_step(&state, who, id, &input, &["auto_map_people"]).await? {
        Ok(()) => see_other(&next_after(&pair, "people")),
        Err(error) => {
            let people =
                people_section(&state, who, id, FormError::none(), &PersonForm::default()).await?;
            let mut page = people_step(&state, who, id, people, None).await?;
            page.error = error;
            refused(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
    }
}

/// One item of the preview.
pub(crate) struct PreviewRow {
    pub action: &'static str,
    pub left: String,
    pub right: String,
    pub title: String,
    /// `side: field → value`, for the fields it would write.
    pub changes: Vec<String>,
}

#[derive(Template)]
#[template(path = "sync_wizard_preview.html")]
struct PreviewPage {
    nav: Nav,
    head: WizardHead,
    active: bool,
    since: String,
    rows: Vec<PreviewRow>,
    error: FormError,
}

async fn preview_page(
    state: &AppState,
    who: &Authenticated,
    pair: &SyncPair,
    error: FormError,
) -> Result<PreviewPage, PageError> {
    let now = Utc::now();
    let (rows, error) = match state.sync.preview(who, pair.id, now).await {
        Ok(entries) => (
            entries
                .into_iter()
                .map(|e| {
                    let key = |r: &Option<cairn_store::sync::RemoteRef>| {
                        r.as_ref()
                            .map_or_else(|| "new".to_owned(), |r| r.key.clone())
                    };
                    PreviewRow {
                        action: e.action,
                        left: key(&e.left),
                        right: key(&e.right),
                        title: e.title,
                        changes: e
                            .changes
                            .into_iter()
                            .filter(|c| c.before != c.after)
                            .map(|c| format!("{}: {} → {}", c.side, c.field, c.after))
                            .collect(),
                    }
                })
                .collect(),
            error,
        ),
        Err(e) => (Vec::new(), refusal(e, &[])?),
    };
    Ok(PreviewPage {
        nav: Nav::new(who, "sync"),
        head: head("preview", pair),
        active: pair.settings.active,
        since: pair
            .settings
            .created_after
            .or(pair.activated_at)
            .map_or_else(
                || "created from the moment it is activated".to_owned(),
                |d| format!("created since {}", d.date_naive()),
            ),
        rows,
        error,
    })
}

/// `/sync-pairs/{id}/setup/preview`: what activating would create or
/// change on each side, written nowhere.
pub(crate) async fn wizard_preview(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> PageResult {
    let (who, pair) = draft(&state, &caller, id).await?;
    page(&preview_page(&state, who, &pair, FormError::none()).await?)
}

/// Activates the pair: its scan starts at once.
pub(crate) async fn activate_pair(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> PageResult {
    let (who, pair) = draft(&state, &caller, id).await?;
    let mut input = input_of(&pair);
    input.active = true;
    match save_step(&state, who, id, &input, &[]).await? {
        Ok(()) => see_other(&format!("/sync-pairs/{id}?activated=1")),
        Err(error) => refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            &preview_page(&state, who, &pair, error).await?,
        ),
    }
}

#[derive(Template)]
#[template(path = "sync_wizard_cancel.html")]
struct CancelPage {
    nav: Nav,
    pair_id: i64,
    name: String,
    error: FormError,
}

/// A pair once activated is not a draft: Cancel does not delete it.
fn not_a_draft(pair: &SyncPair) -> Option<FormError> {
    pair.activated_at.map(|_| {
        FormError::at(
            "cancel",
            "this pair has been active, so it is not a draft any more: pause or delete it on its page instead",
        )
    })
}

/// `/sync-pairs/{id}/setup/cancel`: asks before deleting the draft.
pub(crate) async fn confirm_cancel(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> PageResult {
    let (who, pair) = draft(&state, &caller, id).await?;
    page(&CancelPage {
        nav: Nav::new(who, "sync"),
        pair_id: pair.id,
        error: not_a_draft(&pair).unwrap_or_default(),
        name: pair.settings.name,
    })
}

/// Deletes the draft (nothing was written on either side).
pub(crate) async fn cancel_draft(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> PageResult {
    let (who, pair) = draft(&state, &caller, id).await?;
    if let Some(error) = not_a_draft(&pair) {
        return refused(
            StatusCode::CONFLICT,
            &CancelPage {
                nav: Nav::new(who, "sync"),
                pair_id: pair.id,
                name: pair.settings.name,
                error,
            },
        );
    }
    state
        .sync
        .delete_pair(who, id, Utc::now())
        .await
        .map_err(PageError::from)?;
    see_other("/sync-pairs?cancelled=1")
}
