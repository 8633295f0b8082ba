//! Project versions (releases).

use super::base::*;
use super::payloads::deliver_project;
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

/// The version fields a create or update body sets.
#[derive(Default)]
pub(crate) struct VersionEdit {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub released: Option<bool>,
    pub archived: Option<bool>,
    pub release_date: Option<Option<NaiveDate>>,
    pub start_date: Option<Option<NaiveDate>>,
}

fn date_field(b: &Value, k: &str) -> Result<Option<Option<NaiveDate>>, JErr> {
    match b.get(k) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(v) => {
            let d = v.as_str().unwrap_or("");
            NaiveDate::parse_from_str(d, "%Y-%m-%d")
                .map(|d| Some(Some(d)))
                .map_err(|_| JErr::field(k, format!("The {k} is invalid.")))
        }
    }
}

fn version_edit(b: &Value) -> Result<VersionEdit, JErr> {
    let name = match b.get("name") {
        None => None,
        Some(v) => Some(
            v.as_str()
                .filter(|n| !n.trim().is_empty())
                .ok_or_else(|| JErr::field("name", "You must specify a valid version name"))?
                .to_string(),
        ),
    };
    Ok(VersionEdit {
        name,
        description: b.get("description").map(|d| d.as_str().map(str::to_string)),
        released: b.get("released").and_then(Value::as_bool),
        archived: b.get("archived").and_then(Value::as_bool),
        release_date: date_field(b, "releaseDate")?,
        start_date: date_field(b, "startDate")?,
    })
}

/// Sends `jira:version_created` / `jira:version_updated`.
fn version_event(s: &Shared, jira: &Jira, pidx: usize, vid: u64, event: &str) {
    let p = &jira.projects[pidx];
    let Some(v) = p.versions.iter().find(|v| v.id == vid) else {
        return;
    };
    let payload = json!({
        "timestamp": chrono::Utc::now().timestamp_millis(),
        "webhookEvent": event,
        "version": version_json(s, Ver::V2, p, v),
    });
    deliver_project(s, jira, &p.key, event, &payload);
}

/// Creates a version (names are unique per project) and sends `jira:version_created`.
pub(crate) fn do_create_version(
    s: &Shared,
    project: &str,
    e: VersionEdit,
) -> Result<(usize, u64), JErr> {
    let name = e
        .name
        .ok_or_else(|| JErr::field("name", "You must specify a valid version name"))?;
    let mut w = s.write();
    let jira = &mut w.jira;
    let id = jira.alloc_id();
    let pidx = jira
        .projects
        .iter()
        .position(|p| p.key.eq_ignore_ascii_case(project) || p.id.to_string() == project)
        .ok_or_else(|| JErr::field("project", "Project must be specified to create a version."))?;
    if jira.projects[pidx].versions.iter().any(|v| v.name == name) {
        return Err(JErr::field(
            "name",
            "A version with this name already exists in this project.",
        ));
    }
    jira.projects[pidx].versions.push(JiraVersion {
        id,
        name,
        description: e.description.flatten(),
        released: e.released.unwrap_or(false),
        archived: e.archived.unwrap_or(false),
        release_date: e.release_date.flatten(),
        start_date: e.start_date.flatten(),
    });
    version_event(s, jira, pidx, id, "jira:version_created");
    Ok((pidx, id))
}

/// Changes a version and sends `jira:version_updated` when something changed.
pub(crate) fn do_update_version(
    s: &Shared,
    id: &str,
    e: VersionEdit,
) -> Result<(usize, u64), JErr> {
    let mut w = s.write();
    let jira = &mut w.jira;
    let not_found = || {
        JErr::msg(
            StatusCode::NOT_FOUND,
            format!("Could not find version for id '{id}'"),
        )
    };
    let (pidx, vpos) = jira
        .projects
        .iter()
        .enumerate()
        .find_map(|(pi, p)| {
            p.versions
                .iter()
                .position(|v| v.id.to_string() == id)
                .map(|vi| (pi, vi))
        })
        .ok_or_else(not_found)?;
    if let Some(n) = &e.name
        && jira.projects[pidx]
            .versions
            .iter()
            .enumerate()
            .any(|(i, v)| i != vpos && &v.name == n)
    {
        return Err(JErr::field(
            "name",
            "A version with this name already exists in this project.",
        ));
    }
    let v = &mut jira.projects[pidx].versions[vpos];
    let before = v.clone();
    if let Some(n) = e.name {
        v.name = n;
    }
    if let Some(d) = e.description {
        v.description = d;
    }
    if let Some(r) = e.released {
        v.released = r;
    }
    if let Some(a) = e.archived {
        v.archived = a;
    }
    if let Some(d) = e.release_date {
        v.release_date = d;
    }
    if let Some(d) = e.start_date {
        v.start_date = d;
    }
    let vid = v.id;
    let changed = serde_json::to_value(&before).ok() != serde_json::to_value(&*v).ok();
    if changed {
        version_event(s, jira, pidx, vid, "jira:version_updated");
    }
    Ok((pidx, vid))
}

fn version_response(s: &Shared, ver: Ver, pidx: usize, vid: u64, status: StatusCode) -> JResult {
    let w = s.read();
    let p = &w.jira.projects[pidx];
    let v = p
        .versions
        .iter()
        .find(|v| v.id == vid)
        .ok_or_else(JErr::not_found)?;
    Ok(json_response(
        status,
        &version_json(s, ver, p, v),
        HeaderMap::new(),
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
    let mut e = version_edit(&b)?;
    if e.name.is_none() {
        return Err(JErr::field("name", "You must specify a valid version name"));
    }
    let project = obj_str(b.get("projectId"), &[])
        .or_else(|| obj_str(b.get("project"), &[]))
        .ok_or_else(|| JErr::field("project", "Project must be specified to create a version."))?;
    e.description = e.description.map(|d| d.filter(|x| !x.is_empty()));
    let (pidx, vid) = do_create_version(&s, &project, e)?;
    version_response(&s, c.ver, pidx, vid, StatusCode::CREATED)
}

pub(crate) async fn get_version(
    State(s): State<Arc<Shared>>,
    Path((ver, id)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> JResult {
    let c = ctx(&s, &ver, &headers, q, &[])?;
    let found = {
        let w = s.read();
        w.jira.projects.iter().enumerate().find_map(|(pi, p)| {
            p.versions
                .iter()
                .find(|v| v.id.to_string() == id)
                .map(|v| (pi, v.id))
        })
    };
    let (pidx, vid) = found.ok_or_else(|| {
        JErr::msg(
            StatusCode::NOT_FOUND,
            format!("Could not find version for id '{id}'"),
        )
    })?;
    version_response(&s, c.ver, pidx, vid, StatusCode::OK)
}

pub(crate) async fn update_version(
    State(s): State<Arc<Shared>>,
    Path((ver, id)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> JResult {
    let c = ctx(&s, &ver, &headers, q, &body)?;
    let b = c.body.clone().unwrap_or_else(|| json!({}));
    let e = version_edit(&b)?;
    let (pidx, vid) = do_update_version(&s, &id, e)?;
    version_response(&s, c.ver, pidx, vid, StatusCode::OK)
}
