//! Projects.

use super::base::*;
use super::views::*;
use crate::Shared;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;
use std::sync::Arc;

pub(crate) async fn list_projects(
    State(s): State<Arc<Shared>>,
    Path(ver): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> JResult {
    let c = ctx(&s, &ver, &headers, q, &[])?;
    let w = s.read();
    let out: Vec<Value> = w
        .jira
        .projects
        .iter()
        .map(|p| project_json(&s, c.ver, p))
        .collect();
    ok(&Value::Array(out))
}

pub(crate) async fn get_project(
    State(s): State<Arc<Shared>>,
    Path((ver, key)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> JResult {
    let c = ctx(&s, &ver, &headers, q, &[])?;
    let w = s.read();
    let p = w.jira.project(&key).ok_or_else(|| {
        JErr::msg(
            StatusCode::NOT_FOUND,
            format!("No project could be found with key '{key}'."),
        )
    })?;
    let mut v = project_json(&s, c.ver, p);
    v["lead"] = user_json(&s, c.ver, &w.jira, &p.lead);
    v["versions"] = Value::Array(
        p.versions
            .iter()
            .map(|x| version_json(&s, c.ver, p, x))
            .collect(),
    );
    v["issueTypes"] = Value::Array(
        w.jira
            .issue_types
            .iter()
            .map(|t| issuetype_json(&s, c.ver, t))
            .collect(),
    );
    ok(&v)
}

/// `GET /project/{key}/statuses`: per issue type, the statuses its workflow
/// uses (every type shares the project's workflow here).
pub(crate) async fn project_statuses(
    State(s): State<Arc<Shared>>,
    Path((ver, key)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> JResult {
    let c = ctx(&s, &ver, &headers, q, &[])?;
    let w = s.read();
    let jira = &w.jira;
    let p = jira.project(&key).ok_or_else(|| {
        JErr::msg(
            StatusCode::NOT_FOUND,
            format!("No project could be found with key '{key}'."),
        )
    })?;
    let mut ids: Vec<&str> = Vec::new();
    for t in &p.workflow {
        for id in t.from.iter().map(String::as_str).chain([t.to.as_str()]) {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    let statuses: Vec<Value> = jira
        .statuses
        .iter()
        .filter(|st| ids.contains(&st.id.as_str()))
        .map(|st| status_json(&s, c.ver, st))
        .collect();
    let out: Vec<Value> = jira
        .issue_types
        .iter()
        .map(|t| {
            serde_json::json!({
                "self": format!("{}/issuetype/{}", api(&s, c.ver), t.id),
                "id": t.id,
                "name": t.name,
                "subtask": t.subtask,
                "statuses": statuses,
            })
        })
        .collect();
    ok(&Value::Array(out))
}
