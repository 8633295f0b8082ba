//! Issues: reads, creation, edits (with changelog) and deletion.

use super::base::*;
use super::payloads::emit_issue_event;
use super::views::*;
use crate::Shared;
use crate::model::*;
use crate::req::json_response;
use crate::util::parse_duration;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use chrono::{NaiveDate, Utc};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;

pub(crate) async fn get_issue(
    State(s): State<Arc<Shared>>,
    Path((ver, key)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> JResult {
    let c = ctx(&s, &ver, &headers, q, &[])?;
    let w = s.read();
    let idx = find_issue(&w.jira, &key)?;
    let all = FieldSel::Some {
        all: true,
        navigable: false,
        include: vec![],
        exclude: vec![],
    };
    let sel = field_sel(c.params.list("fields"), all, &w.jira);
    let mut v = issue_json(&s, c.ver, &w.jira, idx, &sel);
    if matches!(sel, FieldSel::IdOnly) {
        v = issue_json(
            &s,
            c.ver,
            &w.jira,
            idx,
            &FieldSel::Some {
                all: true,
                navigable: false,
                include: vec![],
                exclude: vec![],
            },
        );
    }
    if c.params
        .list("expand")
        .unwrap_or_default()
        .iter()
        .any(|e| e == "names")
    {
        v["names"] = names_map(&w.jira);
    }
    add_properties(
        &mut v,
        &w.jira.issues[idx],
        c.params.list("properties").as_deref(),
    );
    ok(&v)
}

/// A new issue for [`do_create_issue`].
#[derive(Debug, Clone, Default)]
pub(crate) struct NewIssue {
    pub project: String,
    pub summary: String,
    pub issue_type: String,
    pub description: Option<String>,
    pub description_adf: Option<Value>,
    pub due_date: Option<NaiveDate>,
    /// Fix versions by id or name.
    pub fix_versions: Vec<String>,
    /// Entity properties set at creation.
    pub properties: Vec<(String, Value)>,
    pub labels: Vec<String>,
    pub parent: Option<String>,
    pub epic: Option<String>,
    pub assignee: Option<String>,
    pub story_points: Option<f64>,
    pub original_estimate: Option<i64>,
    pub status: Option<String>,
    pub custom: BTreeMap<String, Value>,
}

/// Creates an issue and sends `jira:issue_created`; errors name the field.
pub(crate) fn do_create_issue(
    s: &Shared,
    n: NewIssue,
    actor: &str,
) -> Result<String, (String, String)> {
    let mut w = s.write();
    let jira = &mut w.jira;
    let pidx = jira
        .projects
        .iter()
        .position(|p| p.key.eq_ignore_ascii_case(&n.project) || p.id.to_string() == n.project)
        .ok_or_else(|| {
            (
                "project".to_string(),
                "Specify a valid project ID or key".to_string(),
            )
        })?;
    let itype = jira
        .issue_types
        .iter()
        .find(|t| t.name.eq_ignore_ascii_case(&n.issue_type) || t.id == n.issue_type)
        .cloned()
        .ok_or_else(|| {
            (
                "issuetype".to_string(),
                "Specify a valid issue type".to_string(),
            )
        })?;
    if n.summary.trim().is_empty() {
        return Err((
            "summary".into(),
            "You must specify a summary of the issue.".into(),
        ));
    }
    for (field, r) in [("parent", &n.parent), ("epic", &n.epic)] {
        if let Some(k) = r
            && jira.issue_index(k).is_none()
        {
            return Err((field.into(), format!("Issue '{k}' does not exist.")));
        }
    }
    if itype.subtask && n.parent.is_none() {
        return Err((
            "parent".into(),
            "Sub-task issues must have a parent.".into(),
        ));
    }
    let assignee = match &n.assignee {
        Some(a) => Some(jira.user(a).map(|u| u.account_id.clone()).ok_or_else(|| {
            (
                "assignee".to_string(),
                format!("User '{a}' does not exist."),
            )
        })?),
        None => None,
    };
    let status = match &n.status {
        Some(st) => jira
            .statuses
            .iter()
            .find(|x| x.name.eq_ignore_ascii_case(st) || x.id == *st)
            .cloned()
            .ok_or_else(|| ("status".to_string(), format!("No status '{st}'.")))?,
        None => jira
            .statuses
            .first()
            .cloned()
            .ok_or_else(|| ("status".to_string(), "No statuses defined.".to_string()))?,
    };
    let mut fix_versions = Vec::new();
    for want in &n.fix_versions {
        let v = jira.projects[pidx]
            .versions
            .iter()
            .find(|v| v.id.to_string() == *want || v.name == *want)
            .ok_or_else(|| {
                (
                    "fixVersions".to_string(),
                    format!("Version '{want}' is not valid."),
                )
            })?;
        fix_versions.push(v.id);
    }
    let mut custom = n.custom.clone();
    if let (Some(sp), Some(f)) = (n.story_points, jira.story_points_field()) {
        custom.insert(f.to_string(), json!(sp));
    }
    let id = jira.alloc_id();
    let p = &mut jira.projects[pidx];
    let key = format!("{}-{}", p.key, p.next_number);
    p.next_number += 1;
    let project_key = p.key.clone();
    let now = Utc::now();
    let done = status.category == "done";
    jira.issues.push(JiraIssue {
        id,
        key: key.clone(),
        project: project_key,
        summary: n.summary,
        description: n.description,
        description_adf: n.description_adf,
        issue_type: itype.id.clone(),
        status: status.id.clone(),
        priority: "3".into(),
        resolution: done.then(|| "Done".to_string()),
        assignee,
        reporter: actor.to_string(),
        labels: n.labels,
        fix_versions,
        parent: n
            .parent
            .map(|x| x.to_ascii_uppercase())
            .or_else(|| n.epic.clone().map(|e| e.to_ascii_uppercase())),
        epic_link: n.epic.map(|e| e.to_ascii_uppercase()),
        created: now,
        updated: now,
        resolved: done.then_some(now),
        due_date: n.due_date,
        time_spent: None,
        original_estimate: n.original_estimate,
        remaining_estimate: n.original_estimate,
        custom,
        comments: vec![],
        worklogs: vec![],
        properties: n.properties.into_iter().collect(),
        remote_links: vec![],
    });
    let idx = jira.issues.len() - 1;
    jira.key_index.insert(key.to_ascii_uppercase(), idx);
    emit_issue_event(
        s,
        jira,
        idx,
        actor,
        "jira:issue_created",
        "issue_created",
        None,
        None,
    );
    Ok(key)
}

pub(crate) async fn create_issue(
    State(s): State<Arc<Shared>>,
    Path(ver): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> JResult {
    let c = ctx(&s, &ver, &headers, q, &body)?;
    let fields = c
        .body
        .as_ref()
        .and_then(|b| b.get("fields"))
        .and_then(Value::as_object)
        .cloned()
        .ok_or_else(|| {
            JErr::msg(
                StatusCode::BAD_REQUEST,
                "No fields specified for the issue.",
            )
        })?;
    let mut n = NewIssue {
        project: obj_str(fields.get("project"), &["key", "id"]).unwrap_or_default(),
        summary: fields
            .get("summary")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        issue_type: obj_str(fields.get("issuetype"), &["name", "id"]).unwrap_or_default(),
        parent: obj_str(fields.get("parent"), &["key", "id"]),
        assignee: obj_str(fields.get("assignee"), &["accountId", "name", "id"]),
        ..Default::default()
    };
    if n.issue_type.is_empty() {
        return Err(JErr::field("issuetype", "Specify an issue type"));
    }
    (n.description, n.description_adf) = fields.get("description").map(rich_in).unwrap_or_default();
    n.due_date = match fields.get("duedate") {
        None | Some(Value::Null) => None,
        Some(v) => Some(parse_due(v)?),
    };
    if let Some(v) = fields.get("fixVersions") {
        n.fix_versions = v
            .as_array()
            .ok_or_else(|| JErr::field("fixVersions", "Fix versions must be an array."))?
            .iter()
            .filter_map(|x| obj_str(Some(x), &["id", "name"]))
            .collect();
    }
    if let Some(props) = c.body.as_ref().and_then(|b| b.get("properties")) {
        for p in props.as_array().into_iter().flatten() {
            let key = p
                .get("key")
                .and_then(Value::as_str)
                .filter(|k| !k.is_empty())
                .ok_or_else(|| JErr::field("properties", "A property needs a key."))?;
            n.properties.push((
                key.to_string(),
                p.get("value").cloned().unwrap_or(Value::Null),
            ));
        }
    }
    let (sp_field, known) = {
        let w = s.read();
        (
            w.jira.story_points_field().map(str::to_string),
            w.jira
                .custom_fields
                .iter()
                .map(|f| (f.id.clone(), f.name.clone()))
                .collect::<Vec<_>>(),
        )
    };
    for (k, v) in &fields {
        match k.as_str() {
            "project" | "summary" | "issuetype" | "description" | "parent" | "assignee"
            | "reporter" | "priority" | "duedate" | "fixVersions" | "components"
            | "environment" => {}
            "labels" => {
                n.labels = v
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|x| x.as_str().map(str::to_string))
                            .collect()
                    })
                    .ok_or_else(|| JErr::field("labels", "Labels must be an array of strings."))?;
            }
            "timetracking" => {
                if let Some(o) = v.get("originalEstimate").and_then(Value::as_str) {
                    n.original_estimate = Some(parse_duration(o).ok_or_else(|| {
                        JErr::field(
                            "timetracking",
                            "The original estimate specified is not valid.",
                        )
                    })?);
                }
            }
            other => match known.iter().find(|(id, _)| id == other) {
                Some((_, name)) if name == "Epic Link" => {
                    n.epic = v.as_str().map(str::to_string);
                }
                Some((id, _)) if Some(id) == sp_field.as_ref() => {
                    n.story_points = v.as_f64();
                }
                Some((id, _)) => {
                    n.custom.insert(id.clone(), v.clone());
                }
                None => {
                    return Err(JErr::field(
                        other,
                        format!(
                            "Field '{other}' cannot be set. It is not on the appropriate screen, or unknown."
                        ),
                    ));
                }
            },
        }
    }
    let account = c.account.clone();
    let key = do_create_issue(&s, n, &account).map_err(|(f, m)| JErr::field(&f, m))?;
    let w = s.read();
    let idx = find_issue(&w.jira, &key)?;
    let id = w.jira.issues[idx].id;
    Ok(json_response(
        StatusCode::CREATED,
        &json!({"id": id.to_string(), "key": key, "self": format!("{}/issue/{id}", api(&s, c.ver))}),
        HeaderMap::new(),
    ))
}

pub(crate) fn change_item(
    field: &str,
    from: Option<String>,
    from_s: Option<String>,
    to: Option<String>,
    to_s: Option<String>,
) -> Value {
    json!({
        "field": field,
        "fieldtype": "jira",
        "fieldId": field,
        "from": from,
        "fromString": from_s,
        "to": to,
        "toString": to_s,
    })
}

/// A due date as Jira takes it (`YYYY-MM-DD`).
fn parse_due(v: &Value) -> Result<NaiveDate, JErr> {
    let d = v.as_str().unwrap_or("");
    NaiveDate::parse_from_str(d, "%Y-%m-%d")
        .map_err(|_| JErr::field("duedate", format!("Error parsing date string: {d}")))
}

/// Display name of an account, for changelog strings.
fn display(jira: &Jira, account: Option<&str>) -> Option<String> {
    account
        .and_then(|a| jira.user(a))
        .map(|u| u.display_name.clone())
}

/// Applies an edit body (`fields` sets, `update` operations) as `actor` and
/// sends `jira:issue_updated` with one changelog item per changed field.
/// Nothing changed: nothing is sent. Returns whether anything changed.
pub(crate) fn do_edit_issue(
    s: &Shared,
    idx: usize,
    actor: &str,
    body: &Value,
) -> Result<bool, JErr> {
    let mut w = s.write();
    let jira = &mut w.jira;
    let known: Vec<(String, String)> = jira
        .custom_fields
        .iter()
        .map(|f| (f.id.clone(), f.name.clone()))
        .collect();
    let mut items = Vec::new();
    let mut issue = jira
        .issues
        .get(idx)
        .cloned()
        .ok_or_else(JErr::issue_not_found)?;
    let versions: Vec<(u64, String)> = jira
        .project(&issue.project)
        .map(|p| p.versions.iter().map(|v| (v.id, v.name.clone())).collect())
        .unwrap_or_default();
    let version_id = |want: &Value| -> Result<u64, JErr> {
        let w = obj_str(Some(want), &["id", "name"]).unwrap_or_default();
        versions
            .iter()
            .find(|(id, name)| id.to_string() == w || *name == w)
            .map(|v| v.0)
            .ok_or_else(|| JErr::field("fixVersions", format!("Version '{w}' is not valid.")))
    };
    let mut new_fix = issue.fix_versions.clone();
    let mut new_labels = issue.labels.clone();
    if let Some(fields) = body.get("fields").and_then(Value::as_object) {
        for (k, v) in fields {
            match k.as_str() {
                "summary" => {
                    let new = v.as_str().unwrap_or("").to_string();
                    if new.trim().is_empty() {
                        return Err(JErr::field(
                            "summary",
                            "You must specify a summary of the issue.",
                        ));
                    }
                    if new != issue.summary {
                        items.push(change_item(
                            "summary",
                            None,
                            Some(issue.summary.clone()),
                            None,
                            Some(new.clone()),
                        ));
                        issue.summary = new;
                    }
                }
                "description" => {
                    let (text, adf) = rich_in(v);
                    if text != issue.description || adf != issue.description_adf {
                        items.push(change_item(
                            "description",
                            None,
                            issue.description.clone(),
                            None,
                            text.clone(),
                        ));
                        issue.description = text;
                        issue.description_adf = adf;
                    }
                }
                "labels" => {
                    new_labels = v
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(|x| x.as_str().map(str::to_string))
                                .collect()
                        })
                        .ok_or_else(|| {
                            JErr::field("labels", "Labels must be an array of strings.")
                        })?;
                }
                "fixVersions" => {
                    new_fix = v
                        .as_array()
                        .ok_or_else(|| {
                            JErr::field("fixVersions", "Fix versions must be an array.")
                        })?
                        .iter()
                        .map(&version_id)
                        .collect::<Result<_, _>>()?;
                }
                "assignee" => {
                    let new = match obj_str(Some(v), &["accountId", "name", "id"]) {
                        None => None,
                        Some(a) => {
                            Some(jira.user(&a).map(|u| u.account_id.clone()).ok_or_else(|| {
                                JErr::field("assignee", format!("User '{a}' does not exist."))
                            })?)
                        }
                    };
                    if new != issue.assignee {
                        items.push(change_item(
                            "assignee",
                            issue.assignee.clone(),
                            display(jira, issue.assignee.as_deref()),
                            new.clone(),
                            display(jira, new.as_deref()),
                        ));
                        issue.assignee = new;
                    }
                }
                "duedate" => {
                    let new = match v {
                        Value::Null => None,
                        other => Some(parse_due(other)?),
                    };
                    if new != issue.due_date {
                        let show = |d: Option<NaiveDate>| d.map(|d| d.to_string());
                        items.push(change_item(
                            "duedate",
                            show(issue.due_date),
                            show(issue.due_date).map(|d| format!("{d} 00:00:00.0")),
                            show(new),
                            show(new).map(|d| format!("{d} 00:00:00.0")),
                        ));
                        issue.due_date = new;
                    }
                }
                "timetracking" => {
                    if let Some(o) = v.get("originalEstimate").and_then(Value::as_str) {
                        let secs = parse_duration(o).ok_or_else(|| {
                            JErr::field(
                                "timetracking",
                                "The original estimate specified is not valid.",
                            )
                        })?;
                        items.push(change_item(
                            "timeoriginalestimate",
                            issue.original_estimate.map(|x| x.to_string()),
                            None,
                            Some(secs.to_string()),
                            None,
                        ));
                        issue.original_estimate = Some(secs);
                    }
                    if let Some(r) = v.get("remainingEstimate").and_then(Value::as_str) {
                        let secs = parse_duration(r).ok_or_else(|| {
                            JErr::field(
                                "timetracking",
                                "The remaining estimate specified is not valid.",
                            )
                        })?;
                        items.push(change_item(
                            "timeestimate",
                            issue.remaining_estimate.map(|x| x.to_string()),
                            None,
                            Some(secs.to_string()),
                            None,
                        ));
                        issue.remaining_estimate = Some(secs);
                    }
                }
                "parent" => {
                    let new = obj_str(Some(v), &["key", "id"]);
                    if let Some(k) = &new
                        && jira.issue_index(k).is_none()
                    {
                        return Err(JErr::field(
                            "parent",
                            format!("Issue '{k}' does not exist."),
                        ));
                    }
                    issue.parent = new.map(|x| x.to_ascii_uppercase());
                }
                other => match known.iter().find(|(id, _)| id == other) {
                    Some((_, name)) if name == "Epic Link" => {
                        issue.epic_link = v.as_str().map(|x| x.to_ascii_uppercase());
                    }
                    Some((id, name)) => {
                        if !(v.is_number() || v.is_null() || v.is_string()) {
                            return Err(JErr::field(
                                id,
                                format!("Operation value must be a number for {name}."),
                            ));
                        }
                        items.push(change_item(
                            name,
                            None,
                            issue.custom.get(id).map(|x| x.to_string()),
                            None,
                            Some(v.to_string()),
                        ));
                        issue.custom.insert(id.clone(), v.clone());
                    }
                    None => {
                        return Err(JErr::field(
                            other,
                            format!(
                                "Field '{other}' cannot be set. It is not on the appropriate screen, or unknown."
                            ),
                        ));
                    }
                },
            }
        }
    }
    if let Some(update) = body.get("update").and_then(Value::as_object) {
        for op in update
            .get("labels")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(a) = op.get("add").and_then(Value::as_str)
                && !new_labels.iter().any(|l| l == a)
            {
                new_labels.push(a.to_string());
            }
            if let Some(r) = op.get("remove").and_then(Value::as_str) {
                new_labels.retain(|l| l != r);
            }
            if let Some(set) = op.get("set").and_then(Value::as_array) {
                new_labels = set
                    .iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect();
            }
        }
        for op in update
            .get("fixVersions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(a) = op.get("add") {
                let id = version_id(a)?;
                if !new_fix.contains(&id) {
                    new_fix.push(id);
                }
            }
            if let Some(r) = op.get("remove") {
                let id = version_id(r)?;
                new_fix.retain(|x| *x != id);
            }
            if let Some(set) = op.get("set").and_then(Value::as_array) {
                new_fix = set.iter().map(&version_id).collect::<Result<_, _>>()?;
            }
        }
    }
    if new_labels != issue.labels {
        items.push(change_item(
            "labels",
            None,
            Some(issue.labels.join(" ")),
            None,
            Some(new_labels.join(" ")),
        ));
        issue.labels = new_labels;
    }
    // Jira logs one "Fix Version" item per version added or removed.
    let name_of = |id: u64| versions.iter().find(|v| v.0 == id).map(|v| v.1.clone());
    for removed in issue.fix_versions.iter().filter(|x| !new_fix.contains(x)) {
        let mut item = change_item(
            "Fix Version",
            Some(removed.to_string()),
            name_of(*removed),
            None,
            None,
        );
        item["fieldId"] = json!("fixVersions");
        items.push(item);
    }
    for added in new_fix.iter().filter(|x| !issue.fix_versions.contains(x)) {
        let mut item = change_item(
            "Fix Version",
            None,
            None,
            Some(added.to_string()),
            name_of(*added),
        );
        item["fieldId"] = json!("fixVersions");
        items.push(item);
    }
    issue.fix_versions = new_fix;
    if items.is_empty() {
        return Ok(false);
    }
    issue.updated = Utc::now();
    jira.issues[idx] = issue;
    emit_issue_event(
        s,
        jira,
        idx,
        actor,
        "jira:issue_updated",
        "issue_updated",
        Some(items),
        None,
    );
    Ok(true)
}

pub(crate) async fn edit_issue(
    State(s): State<Arc<Shared>>,
    Path((ver, key)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> JResult {
    let c = ctx(&s, &ver, &headers, q, &body)?;
    let body = c.body.clone().unwrap_or_else(|| json!({}));
    let idx = find_issue(&s.read().jira, &key)?;
    do_edit_issue(&s, idx, &c.account, &body)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(crate) async fn delete_issue(
    State(s): State<Arc<Shared>>,
    Path((ver, key)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> JResult {
    let c = ctx(&s, &ver, &headers, q, &[])?;
    let mut w = s.write();
    let jira = &mut w.jira;
    let idx = find_issue(jira, &key)?;
    let k = jira.issues[idx].key.clone();
    if jira
        .issues
        .iter()
        .any(|i| i.parent.as_deref() == Some(k.as_str()))
        && c.params.get("deleteSubtasks") != Some("true")
    {
        return Err(JErr::msg(
            StatusCode::BAD_REQUEST,
            format!(
                "The issue '{k}' has subtasks.  You must specify the 'deleteSubtasks' parameter to delete this issue and all its subtasks."
            ),
        ));
    }
    emit_issue_event(
        &s,
        jira,
        idx,
        &c.account,
        "jira:issue_deleted",
        "issue_deleted",
        None,
        None,
    );
    jira.issues.remove(idx);
    jira.reindex();
    Ok(StatusCode::NO_CONTENT.into_response())
}
