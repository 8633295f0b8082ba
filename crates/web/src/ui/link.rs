//! "Connect a data source": link a key result to GitLab issues (project,
//! milestone, assignee, labels, state, chosen issues) or to Jira tickets by
//! JQL (with a preview, a metric, KPI scope). The pickers and the live
//! preview are the script's; without it the text fields and the Preview
//! button do the same.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use cairn_core::goals::{IssueState, JiraMetric, KpiScope, Measure};
use cairn_core::integrations::IntegrationKind;
use cairn_engine::accounts::Authenticated;
use cairn_engine::goals::jira_link::JqlPreview;
use cairn_engine::goals::{GitLabQuery, JiraLinkInput, LinkInput};
use chrono::Utc;
use serde::Deserialize;

use super::common::{
    Choice, DoneQuery, FormError, Nav, PageError, PageResult, done, is_refusal, page, refused,
    signed_in,
};
use crate::auth::Caller;
use crate::{ApiError, AppState};

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub(crate) struct GitLabForm {
    connection_id: String,
    project: String,
    milestone: String,
    assignee: String,
    /// Comma-separated.
    labels: String,
    /// Comma- or space-separated issue numbers (`#12` or `12`).
    iids: String,
    state: String,
    refresh_interval_secs: String,
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub(crate) struct JiraForm {
    connection_id: String,
    jql: String,
    metric: String,
    completed_only: String,
    refresh_interval_secs: String,
    /// `preview` shows what the JQL matches without saving.
    action: String,
}

impl JiraForm {
    pub fn completed_only_checked(&self) -> bool {
        !self.completed_only.is_empty()
    }
}

pub(crate) struct PreviewView {
    pub count: u64,
    pub tickets: Vec<cairn_engine::goals::jira_link::PreviewTicket>,
}

impl From<JqlPreview> for PreviewView {
    fn from(p: JqlPreview) -> Self {
        PreviewView {
            count: p.count,
            tickets: p.tickets.into_iter().take(10).collect(),
        }
    }
}

#[derive(Template)]
#[template(path = "link.html")]
struct LinkPage {
    nav: Nav,
    okr_id: i64,
    okr_title: String,
    is_kpi: bool,
    gitlab_connections: Vec<Choice>,
    jira_connections: Vec<Choice>,
    states: Vec<Choice>,
    metrics: Vec<Choice>,
    gitlab: GitLabForm,
    jira: JiraForm,
    gitlab_error: FormError,
    jira_error: FormError,
    preview: Option<PreviewView>,
}

const GITLAB_FIELDS: &[&str] = &[
    "connection_id",
    "project",
    "milestone",
    "assignee",
    "labels",
    "iids",
    "state",
    "refresh_interval_secs",
];

const JIRA_FIELDS: &[&str] = &[
    "connection_id",
    "jql",
    "metric",
    "completed_only",
    "refresh_interval_secs",
];

/// The standard metrics, offered when Jira cannot be asked for the
/// connection's own list (custom fields come from Jira).
fn default_metrics(is_kpi: bool) -> Vec<(String, String)> {
    [
        ("count", "Number of tickets", false),
        ("time_spent", "Time spent", false),
        ("original_estimate", "Original estimate", false),
        ("remaining_estimate", "Remaining estimate", true),
        ("progress", "Progress (time logged / total)", true),
        ("story_points", "Story points", false),
    ]
    .iter()
    .filter(|(_, _, kpi_only)| is_kpi || !kpi_only)
    .map(|(m, l, _)| ((*m).to_owned(), (*l).to_owned()))
    .collect()
}

struct Editing {
    okr_title: String,
    is_kpi: bool,
}

/// What the two forms of the link page hold: the user's input, each form's
/// error, and the Jira preview.
#[derive(Default)]
struct LinkForms {
    gitlab: GitLabForm,
    jira: JiraForm,
    gitlab_error: FormError,
    jira_error: FormError,
    preview: Option<PreviewView>,
}

async fn link_page(
    state: &AppState,
    who: &Authenticated,
    okr_id: i64,
    forms: LinkForms,
) -> Result<LinkPage, PageError> {
    let LinkForms {
        gitlab,
        jira,
        gitlab_error,
        jira_error,
        preview,
    } = forms;
    let okr = state.goals.get_okr(who, okr_id).await?;
    let editing = Editing {
        okr_title: okr.fields.title.clone(),
        is_kpi: matches!(okr.fields.measure, Measure::Kpi(_)),
    };
    let connections = state.connections.list(who).await?;
    let of_kind = |kind: IntegrationKind, current: &str| -> Vec<Choice> {
        connections
            .iter()
            .filter(|c| c.kind == kind)
            .map(|c| Choice::new(c.id.to_string(), &c.name, current))
            .collect()
    };
    let gitlab_connections = of_kind(IntegrationKind::Gitlab, &gitlab.connection_id);
    let jira_connections = of_kind(IntegrationKind::Jira, &jira.connection_id);
    // The metrics of the chosen (or first) Jira connection, custom fields
    // by name; the standard ones when Jira does not answer.
    let jira_id = jira
        .connection_id
        .trim()
        .parse::<i64>()
        .ok()
        .or_else(|| jira_connections.first().and_then(|c| c.value.parse().ok()));
    let mut metric_list = default_metrics(editing.is_kpi);
    if let Some(id) = jira_id
        && let Ok(choices) = state.goals.jira_fields(who, id).await
    {
        metric_list = choices
            .metrics
            .into_iter()
            .filter(|m| editing.is_kpi || !m.kpi_only)
            .map(|m| (m.metric, m.label))
            .collect();
    }
    if !jira.metric.is_empty() && !metric_list.iter().any(|(m, _)| *m == jira.metric) {
        metric_list.push((jira.metric.clone(), jira.metric.clone()));
    }
    let metrics = metric_list
        .iter()
        .map(|(m, l)| Choice::new(m, l, &jira.metric))
        .collect();
    let states = std::iter::once(Choice::new("", "None (percent complete)", &gitlab.state))
        .chain(
            IssueState::ALL
                .iter()
                .map(|s| Choice::new(s.as_str(), s.as_str(), &gitlab.state)),
        )
        .collect();
    Ok(LinkPage {
        nav: Nav::new(who, "okrs"),
        okr_id,
        okr_title: editing.okr_title,
        is_kpi: editing.is_kpi,
        gitlab_connections,
        jira_connections,
        states,
        metrics,
        gitlab,
        jira,
        // The summaries link to the fields by their ids on this page.
        gitlab_error: gitlab_error.anchored(|field| match field {
            "refresh_interval_secs" => "gl-refresh".to_owned(),
            other => format!("gl-{other}"),
        }),
        jira_error: jira_error.anchored(|field| match field {
            "connection_id" => "jira-connection_id".to_owned(),
            "refresh_interval_secs" => "jira-refresh".to_owned(),
            other => other.to_owned(),
        }),
        preview,
    })
}

/// `/okrs/{id}/link`.
pub(crate) async fn link_form(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(done): Query<DoneQuery>,
) -> PageResult {
    let who = signed_in(&caller)?;
    let mut jira = JiraForm {
        completed_only: "on".to_owned(),
        ..JiraForm::default()
    };
    let mut gitlab = GitLabForm::default();
    // An existing link fills its form.
    if let Some(link) = state.goals.data_link(who, id).await? {
        let text = |k: &str| {
            link.query
                .get(k)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned()
        };
        let interval = link
            .refresh_interval_secs
            .map(|s| s.to_string())
            .unwrap_or_default();
        if link.query.get("jql").is_some() {
            jira.connection_id = link.connection_id.to_string();
            jira.jql = text("jql");
            jira.metric = link
                .rule
                .pointer("/metric")
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned();
            jira.refresh_interval_secs = interval;
            if link.rule.pointer("/scope").and_then(|v| v.as_str()) == Some("all") {
                jira.completed_only = String::new();
            }
        } else {
            gitlab.state = link
                .rule
                .pointer("/state")
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned();
            gitlab.connection_id = link.connection_id.to_string();
            gitlab.project = text("project");
            gitlab.milestone = text("milestone");
            gitlab.assignee = text("assignee");
            let list = |k: &str| -> Vec<String> {
                link.query
                    .get(k)
                    .and_then(|v| v.as_array())
                    .map(|a| {
                        a.iter()
                            .map(|v| {
                                v.as_str()
                                    .map(str::to_owned)
                                    .unwrap_or_else(|| v.to_string())
                            })
                            .collect()
                    })
                    .unwrap_or_default()
            };
            gitlab.labels = list("labels").join(", ");
            gitlab.iids = list("iids").join(", ");
            gitlab.refresh_interval_secs = interval;
        }
    }
    let mut shown = link_page(
        &state,
        who,
        id,
        LinkForms {
            gitlab,
            jira,
            ..LinkForms::default()
        },
    )
    .await?;
    shown.nav = shown.nav.with_done(&done);
    page(&shown)
}

fn interval(text: &str) -> Result<Option<i64>, FormError> {
    match text.trim() {
        "" => Ok(None),
        t => t.parse().map(Some).map_err(|_| {
            FormError::at("refresh_interval_secs", "must be a whole number of seconds")
        }),
    }
}

fn connection(text: &str) -> Result<i64, FormError> {
    text.trim()
        .parse()
        .map_err(|_| FormError::at("connection_id", "choose a connection"))
}

fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split([',', ' ', '\n'])
        .map(str::trim)
        .filter(|w| !w.is_empty())
}

impl GitLabForm {
    fn input(&self) -> Result<LinkInput, FormError> {
        let mut iids = Vec::new();
        for word in words(&self.iids) {
            iids.push(
                word.trim_start_matches('#').parse::<u64>().map_err(|_| {
                    FormError::at("iids", format!("`{word}` is not an issue number"))
                })?,
            );
        }
        let state = match self.state.trim() {
            "" => None,
            s => Some(
                IssueState::parse(s)
                    .ok_or_else(|| FormError::at("state", "choose opened, closed or all"))?,
            ),
        };
        let optional = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        Ok(LinkInput {
            connection_id: connection(&self.connection_id)?,
            query: GitLabQuery {
                project: self.project.trim().to_owned(),
                milestone: optional(&self.milestone),
                assignee: optional(&self.assignee),
                labels: self
                    .labels
                    .split(',')
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(str::to_owned)
                    .collect(),
                iids,
            },
            state,
            refresh_interval_secs: interval(&self.refresh_interval_secs)?,
        })
    }
}

fn refusal(error: cairn_engine::EngineError, fields: &[&str]) -> Result<FormError, PageError> {
    let error = ApiError::from(error);
    if is_refusal(&error) {
        Ok(FormError::from_api(
            &error,
            fields,
            &[("query", "project"), ("scope", "completed_only")],
        ))
    } else {
        Err(error.into())
    }
}

/// Saves a GitLab link (read and recalculated at once).
pub(crate) async fn link_gitlab(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Form(form): Form<GitLabForm>,
) -> PageResult {
    let who = signed_in(&caller)?;
    let error = match form.input() {
        Err(error) => error,
        Ok(input) => match state
            .goals
            .set_gitlab_link(who, id, input, Utc::now())
            .await
        {
            Ok(_) => return done(&format!("/okrs/{id}"), "linked"),
            Err(e) => refusal(e, GITLAB_FIELDS)?,
        },
    };
    refused(
        StatusCode::UNPROCESSABLE_ENTITY,
        &link_page(
            &state,
            who,
            id,
            LinkForms {
                gitlab: form,
                gitlab_error: error,
                ..LinkForms::default()
            },
        )
        .await?,
    )
}

/// Saves a Jira link, or (the Preview button) shows what the JQL matches.
pub(crate) async fn link_jira(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Form(form): Form<JiraForm>,
) -> PageResult {
    let who = signed_in(&caller)?;
    let okr = state.goals.get_okr(who, id).await?;
    let is_kpi = matches!(okr.fields.measure, Measure::Kpi(_));
    let mut preview = None;
    let parsed = (|| {
        let connection_id = connection(&form.connection_id)?;
        let metric: JiraMetric = form
            .metric
            .trim()
            .parse()
            .map_err(|e: cairn_core::goals::GoalError| FormError::at("metric", e.to_string()))?;
        Ok::<_, FormError>(JiraLinkInput {
            connection_id,
            jql: form.jql.clone(),
            metric,
            scope: is_kpi.then_some(if form.completed_only_checked() {
                KpiScope::CompletedOnly
            } else {
                KpiScope::All
            }),
            refresh_interval_secs: interval(&form.refresh_interval_secs)?,
        })
    })();
    let error = if form.action == "preview" {
        match connection(&form.connection_id) {
            Err(error) => error,
            Ok(connection_id) => match state.goals.preview_jql(who, connection_id, &form.jql).await
            {
                Ok(p) => {
                    preview = Some(PreviewView::from(p));
                    FormError::none()
                }
                Err(e) => refusal(e, JIRA_FIELDS)?,
            },
        }
    } else {
        match parsed {
            Err(error) => error,
            Ok(input) => match state.goals.set_jira_link(who, id, input, Utc::now()).await {
                Ok(_) => return done(&format!("/okrs/{id}"), "linked"),
                Err(e) => refusal(e, JIRA_FIELDS)?,
            },
        }
    };
    let status = if preview.is_some() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    refused(
        status,
        &link_page(
            &state,
            who,
            id,
            LinkForms {
                jira: form,
                jira_error: error,
                preview,
                ..LinkForms::default()
            },
        )
        .await?,
    )
}
