//! Project versions (releases).

use super::base::*;
use super::views::*;
use crate::Shared;
use crate::model::*;
use crate::req::json_response;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use chrono::NaiveDate;
use serde_json::{Value, json};
use std::sync::Arc;

pub(crate) async fn project_versions(
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
    ok(&Value::Array(
        p.versions
            .iter()
            .map(|x| version_json(&s, c.ver, p, x))
            .collect(),
    ))
}

pub(crate) async fn create_version(
    State(s): State<Arc<Shared>>,
    Path(ver): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> JResult {
    let c = ctx(&s, &ver, &headers, q, &body)?;
    let b = c.body.clone().unwrap_or_else(|| json!({}));
    let name = b
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| JErr::field("name", "You must specify a valid version name"))?
        .to_string();
    let project = obj_str(b.get("projectId"), &[])
        .or_else(|| obj_str(b.get("project"), &[]))
        .ok_or_else(|| JErr::field("project", "Project must be specified to create a version."))?;
    let release_date = match b.get("releaseDate").and_then(Value::as_str) {
        None => None,
        Some(d) => Some(
            NaiveDate::parse_from_str(d, "%Y-%m-%d")
                .map_err(|_| JErr::field("releaseDate", "The release date is invalid."))?,
        ),
    };
    let mut w = s.write();
    let jira = &mut w.jira;
    let id = jira.alloc_id();
    let pidx = jira
        .projects
        .iter()
        .position(|p| p.key.eq_ignore_ascii_case(&project) || p.id.to_string() == project)
        .ok_or_else(|| JErr::field("project", "Project must be specified to create a version."))?;
    if jira.projects[pidx].versions.iter().any(|v| v.name == name) {
        return Err(JErr::field(
            "name",
            "A version with this name already exists in this project.",
        ));
    }
    let v = JiraVersion {
        id,
        name,
        description: b
            .get("description")
            .and_then(Value::as_str)
            .map(str::to_string),
        released: b.get("released").and_then(Value::as_bool).unwrap_or(false),
        archived: b.get("archived").and_then(Value::as_bool).unwrap_or(false),
        release_date,
    };
    jira.projects[pidx].versions.push(v.clone());
    Ok(json_response(
        StatusCode::CREATED,
        &version_json(&s, c.ver, &jira.projects[pidx], &v),
        HeaderMap::new(),
    ))
}
