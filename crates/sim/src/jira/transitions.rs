//! Workflow transitions of an issue.

use super::base::*;
use super::issues::change_item;
use super::payloads::emit_issue_event;
use super::views::*;
use crate::Shared;
use crate::model::*;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use chrono::Utc;
use serde_json::{Value, json};
use std::sync::Arc;

/// The transitions the issue's workflow offers from its current status.
pub(crate) fn available(jira: &Jira, idx: usize) -> Vec<JiraTransitionDef> {
    let Some(i) = jira.issues.get(idx) else {
        return Vec::new();
    };
    jira.project(&i.project)
        .map(|p| {
            p.workflow
                .iter()
                .filter(|t| t.from.is_empty() || t.from.contains(&i.status))
                .filter(|t| t.to != i.status)
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

/// The Resolution field as a transition screen describes it.
fn resolution_field(s: &Shared, ver: Ver) -> Value {
    let allowed: Vec<Value> = JIRA_RESOLUTIONS
        .iter()
        .map(|(id, name, description)| {
            json!({"self": format!("{}/resolution/{id}", api(s, ver)), "id": id, "name": name, "description": description})
        })
        .collect();
    json!({
        "required": true,
        "schema": {"type": "resolution", "system": "resolution"},
        "name": "Resolution",
        "key": "resolution",
        "hasDefaultValue": false,
        "operations": ["set"],
        "allowedValues": allowed,
    })
}

pub(crate) async fn get_transitions(
    State(s): State<Arc<Shared>>,
    Path((ver, key)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> JResult {
    let c = ctx(&s, &ver, &headers, q, &[])?;
    let w = s.read();
    let idx = find_issue(&w.jira, &key)?;
    let with_fields = c
        .params
        .list("expand")
        .unwrap_or_default()
        .iter()
        .any(|e| e == "transitions.fields");
    let only = c.params.get("transitionId");
    let ts: Vec<Value> = available(&w.jira, idx)
        .iter()
        .filter(|t| only.is_none_or(|o| o == t.id))
        .filter_map(|t| {
            let st = w.jira.status(&t.to)?;
            let mut v = json!({
                "id": t.id,
                "name": t.name,
                "to": status_json(&s, c.ver, st),
                "hasScreen": t.requires_resolution,
                "isGlobal": t.from.is_empty(),
                "isInitial": false,
                "isAvailable": true,
                "isConditional": false,
                "isLooped": false,
            });
            if with_fields {
                v["fields"] = if t.requires_resolution {
                    json!({"resolution": resolution_field(&s, c.ver)})
                } else {
                    json!({})
                };
            }
            Some(v)
        })
        .collect();
    ok(&json!({"expand": "transitions", "transitions": ts}))
}

/// Moves an issue to a status (resolving it in a done category) and sends
/// `jira:issue_updated` with a changelog.
/// `resolution` is the name a transition screen set; a done status without
/// one gets "Done", as Jira's simplified workflows do.
pub(crate) fn do_set_status(
    s: &Shared,
    idx: usize,
    status_id: &str,
    actor: &str,
    resolution: Option<&str>,
) {
    let mut w = s.write();
    let jira = &mut w.jira;
    let Some(new) = jira.status(status_id).cloned() else {
        return;
    };
    let Some(issue) = jira.issues.get(idx) else {
        return;
    };
    let old = jira.status(&issue.status).cloned();
    if old.as_ref().is_some_and(|o| o.id == new.id) {
        return;
    }
    let mut items = vec![change_item(
        "status",
        old.as_ref().map(|o| o.id.clone()),
        old.as_ref().map(|o| o.name.clone()),
        Some(new.id.clone()),
        Some(new.name.clone()),
    )];
    let now = Utc::now();
    let issue = &mut jira.issues[idx];
    let done = new.category == "done";
    if done && issue.resolution.is_none() {
        let name = resolution.unwrap_or("Done");
        let id = JIRA_RESOLUTIONS
            .iter()
            .find(|r| r.1 == name)
            .map_or("10000", |r| r.0);
        items.push(change_item(
            "resolution",
            None,
            None,
            Some(id.into()),
            Some(name.into()),
        ));
        issue.resolution = Some(name.into());
        issue.resolved = Some(now);
    } else if !done && issue.resolution.is_some() {
        items.push(change_item(
            "resolution",
            Some("10000".into()),
            issue.resolution.clone(),
            None,
            None,
        ));
        issue.resolution = None;
        issue.resolved = None;
    }
    issue.status = new.id.clone();
    issue.updated = now;
    let kind = if done {
        "issue_resolved"
    } else {
        "issue_generic"
    };
    emit_issue_event(
        s,
        jira,
        idx,
        actor,
        "jira:issue_updated",
        kind,
        Some(items),
        None,
    );
}

pub(crate) async fn do_transition(
    State(s): State<Arc<Shared>>,
    Path((ver, key)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> JResult {
    let c = ctx(&s, &ver, &headers, q, &body)?;
    let tid = c
        .body
        .as_ref()
        .and_then(|b| b.get("transition"))
        .and_then(|t| obj_str(Some(t), &["id"]))
        .ok_or_else(|| JErr::msg(StatusCode::BAD_REQUEST, "Missing 'transition' identifier"))?;
    let fields = c
        .body
        .as_ref()
        .and_then(|b| b.get("fields"))
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let (idx, t) = {
        let w = s.read();
        let idx = find_issue(&w.jira, &key)?;
        let t = available(&w.jira, idx)
            .into_iter()
            .find(|t| t.id == tid)
            .ok_or_else(|| {
                JErr::msg(
                    StatusCode::BAD_REQUEST,
                    format!("Transition id '{tid}' is not valid for this issue."),
                )
            })?;
        (idx, t)
    };
    let mut errors = serde_json::Map::new();
    for k in fields.keys() {
        if !(k == "resolution" && t.requires_resolution) {
            errors.insert(
                k.clone(),
                json!(format!(
                    "Field '{k}' cannot be set. It is not on the appropriate screen, or unknown."
                )),
            );
        }
    }
    let resolution = match fields.get("resolution") {
        Some(r) if t.requires_resolution => {
            let want = obj_str(Some(r), &["name", "id"]).unwrap_or_default();
            match JIRA_RESOLUTIONS
                .iter()
                .find(|x| x.1.eq_ignore_ascii_case(&want) || x.0 == want)
            {
                Some(x) => Some(x.1),
                None => {
                    errors.insert(
                        "resolution".into(),
                        json!(format!("Resolution '{want}' is not valid.")),
                    );
                    None
                }
            }
        }
        None if t.requires_resolution => {
            errors.insert("resolution".into(), json!("Resolution is required."));
            None
        }
        _ => None,
    };
    if !errors.is_empty() {
        return Err(JErr(StatusCode::BAD_REQUEST, vec![], errors));
    }
    do_set_status(&s, idx, &t.to, &c.account, resolution);
    Ok(StatusCode::NO_CONTENT.into_response())
}
