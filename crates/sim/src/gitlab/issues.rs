//! Issues: listing with GitLab's filters and keyset pagination, reads,
//! creation and edits (with the issue hook each change sends).

use super::base::*;
use super::events::record_issue_event;
use super::labels::ensure_labels;
use super::payloads::{IssueAction, emit_issue_hook, hook_labels};
use super::views::*;
use crate::Shared;
use crate::model::*;
use crate::req::Params;
use crate::util::{gl_time, parse_time};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Value, json};
use std::sync::Arc;

pub(crate) enum Sel {
    Any,
    None,
    Ids(Vec<u64>),
}

pub(crate) struct IssueFilter {
    pub(crate) state: Option<&'static str>,
    pub(crate) milestone: Option<Sel>,
    pub(crate) assignee: Option<Sel>,
    pub(crate) author: Option<Sel>,
    pub(crate) labels: Vec<String>,
    pub(crate) labels_none: bool,
    pub(crate) labels_any: bool,
    pub(crate) iids: Option<Vec<u64>>,
    pub(crate) search: Option<String>,
    pub(crate) created_after: Option<DateTime<Utc>>,
    pub(crate) created_before: Option<DateTime<Utc>>,
    pub(crate) updated_after: Option<DateTime<Utc>>,
    pub(crate) updated_before: Option<DateTime<Utc>>,
    pub(crate) issue_type: Option<String>,
    pub(crate) confidential: Option<bool>,
}

pub(crate) fn user_sel(
    gl: &GitLab,
    params: &Params,
    id_key: &str,
    name_key: &str,
) -> Result<Option<Sel>, GlErr> {
    let id = params.get(id_key);
    let names = params.list(name_key);
    if id.is_some() && names.is_some() {
        return Err(GlErr::bad(format!(
            "{id_key}, {name_key} are mutually exclusive"
        )));
    }
    if let Some(id) = id {
        return Ok(Some(match id.to_ascii_lowercase().as_str() {
            "none" => Sel::None,
            "any" => Sel::Any,
            other => Sel::Ids(vec![
                other
                    .parse()
                    .map_err(|_| GlErr::bad(format!("{id_key} is invalid")))?,
            ]),
        }));
    }
    if let Some(names) = names {
        let ids = names
            .iter()
            .map(|n| gl.user_by_name(n).map(|u| u.id).unwrap_or(u64::MAX))
            .collect();
        return Ok(Some(Sel::Ids(ids)));
    }
    Ok(None)
}

pub(crate) fn date_param(params: &Params, key: &str) -> Result<Option<DateTime<Utc>>, GlErr> {
    match params.get(key) {
        None | Some("") => Ok(None),
        Some(v) => parse_time(v)
            .map(Some)
            .ok_or_else(|| GlErr::bad(format!("{key} is invalid"))),
    }
}

impl IssueFilter {
    pub(crate) fn parse(gl: &GitLab, p: &GlProject, params: &Params) -> Result<IssueFilter, GlErr> {
        let state = match params.get("state") {
            None | Some("all") | Some("") => None,
            Some("opened") => Some("opened"),
            Some("closed") => Some("closed"),
            Some(_) => return Err(GlErr::bad("state does not have a valid value")),
        };
        let milestone_title = params.get("milestone");
        let milestone_id = params.get("milestone_id");
        if milestone_title.is_some() && milestone_id.is_some() {
            return Err(GlErr::bad("milestone, milestone_id are mutually exclusive"));
        }
        let milestone = match milestone_title.or(milestone_id) {
            None => None,
            Some(v) => Some(match v.to_ascii_lowercase().as_str() {
                "none" => Sel::None,
                "any" => Sel::Any,
                _ if milestone_id.is_some() => {
                    let today = Utc::now().date_naive();
                    let ids = p
                        .milestones
                        .iter()
                        .filter(|m| match v {
                            "Upcoming" => m.due_date.is_some_and(|d| d >= today),
                            "Started" => m.start_date.is_some_and(|d| d <= today),
                            _ => false,
                        })
                        .map(|m| m.id)
                        .collect();
                    if !matches!(v, "Upcoming" | "Started") {
                        return Err(GlErr::bad("milestone_id does not have a valid value"));
                    }
                    Sel::Ids(ids)
                }
                _ => Sel::Ids(
                    p.milestones
                        .iter()
                        .filter(|m| m.title == v)
                        .map(|m| m.id)
                        .collect(),
                ),
            }),
        };
        let assignee = user_sel(gl, params, "assignee_id", "assignee_username")?;
        let author = user_sel(gl, params, "author_id", "author_username")?;
        let mut labels = params.list("labels").unwrap_or_default();
        let labels_none = labels.len() == 1 && labels[0].eq_ignore_ascii_case("none");
        let labels_any = labels.len() == 1 && labels[0].eq_ignore_ascii_case("any");
        if labels_none || labels_any {
            labels.clear();
        }
        let iids = match params.list("iids") {
            None => None,
            Some(v) => Some(
                v.iter()
                    .map(|x| x.parse::<u64>().map_err(|_| GlErr::bad("iids is invalid")))
                    .collect::<Result<Vec<_>, _>>()?,
            ),
        };
        let issue_type = match params.get("issue_type") {
            None | Some("") => None,
            Some(t @ ("issue" | "incident" | "test_case" | "task")) => Some(t.to_string()),
            Some(_) => return Err(GlErr::bad("issue_type does not have a valid value")),
        };
        Ok(IssueFilter {
            state,
            milestone,
            assignee,
            author,
            labels,
            labels_none,
            labels_any,
            iids,
            search: params
                .get("search")
                .filter(|s| !s.is_empty())
                .map(str::to_lowercase),
            created_after: date_param(params, "created_after")?,
            created_before: date_param(params, "created_before")?,
            updated_after: date_param(params, "updated_after")?,
            updated_before: date_param(params, "updated_before")?,
            issue_type,
            confidential: params.bool("confidential"),
        })
    }

    pub(crate) fn matches(&self, i: &GlIssue) -> bool {
        if let Some(st) = self.state
            && i.state != st
        {
            return false;
        }
        if let Some(iids) = &self.iids
            && !iids.contains(&i.iid)
        {
            return false;
        }
        match &self.milestone {
            None => {}
            Some(Sel::Any) if i.milestone_id.is_none() => return false,
            Some(Sel::None) if i.milestone_id.is_some() => return false,
            Some(Sel::Ids(ids)) if !i.milestone_id.is_some_and(|m| ids.contains(&m)) => {
                return false;
            }
            _ => {}
        }
        match &self.assignee {
            None => {}
            Some(Sel::Any) if i.assignee_ids.is_empty() => return false,
            Some(Sel::None) if !i.assignee_ids.is_empty() => return false,
            Some(Sel::Ids(ids)) if !ids.iter().all(|id| i.assignee_ids.contains(id)) => {
                return false;
            }
            _ => {}
        }
        match &self.author {
            Some(Sel::Ids(ids)) if !ids.contains(&i.author_id) => return false,
            _ => {}
        }
        if self.labels_none && !i.labels.is_empty() {
            return false;
        }
        if self.labels_any && i.labels.is_empty() {
            return false;
        }
        if !self
            .labels
            .iter()
            .all(|l| i.labels.iter().any(|x| x.eq_ignore_ascii_case(l)))
        {
            return false;
        }
        if self.created_after.is_some_and(|t| i.created_at < t)
            || self.created_before.is_some_and(|t| i.created_at > t)
            || self.updated_after.is_some_and(|t| i.updated_at < t)
            || self.updated_before.is_some_and(|t| i.updated_at > t)
        {
            return false;
        }
        if let Some(t) = &self.issue_type
            && &i.issue_type != t
        {
            return false;
        }
        if let Some(c) = self.confidential
            && i.confidential != c
        {
            return false;
        }
        if let Some(q) = &self.search
            && !i.title.to_lowercase().contains(q)
            && !i.description.to_lowercase().contains(q)
        {
            return false;
        }
        true
    }
}

/// A keyset cursor: the sort value and id of the last issue of a page.
pub(crate) fn encode_cursor(order_by: &str, i: &GlIssue) -> String {
    use base64::Engine;
    let v = json!({ "id": i.id.to_string(), order_by: sort_value(order_by, i) });
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
}

pub(crate) fn decode_cursor(order_by: &str, c: &str) -> Option<(String, u64)> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(c.trim_end_matches('='))
        .ok()?;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    let id = v.get("id")?.as_str()?.parse().ok()?;
    let key = v.get(order_by)?.as_str()?.to_string();
    Some((key, id))
}

pub(crate) fn sort_value(order_by: &str, i: &GlIssue) -> String {
    match order_by {
        "updated_at" => gl_time(&i.updated_at),
        "title" => i.title.clone(),
        "due_date" => i.due_date.map(|d| d.to_string()).unwrap_or_default(),
        "weight" => format!("{:020}", i.weight.unwrap_or(-1) + 1),
        _ => format!("{:020}", i.id),
    }
}

pub(crate) async fn list_issues(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> GlResult {
    let c = ctx(&s, &headers, q, &[])?;
    let w = s.read();
    let gl = &w.gitlab;
    let pidx = visible_project(gl, c.user, &id)?;
    let p = &gl.projects[pidx];
    let filter = IssueFilter::parse(gl, p, &c.params)?;
    let order_by = c.params.get("order_by").unwrap_or("created_at");
    if !matches!(
        order_by,
        "created_at"
            | "updated_at"
            | "priority"
            | "due_date"
            | "relative_position"
            | "label_priority"
            | "milestone_due"
            | "popularity"
            | "weight"
            | "title"
            | "id"
    ) {
        return Err(GlErr::bad("order_by does not have a valid value"));
    }
    let asc = match c.params.get("sort") {
        None | Some("desc") => false,
        Some("asc") => true,
        Some(_) => return Err(GlErr::bad("sort does not have a valid value")),
    };
    // Issues are stored in id order, which is creation order: no sort needed then.
    let by_id = matches!(
        order_by,
        "created_at"
            | "id"
            | "priority"
            | "label_priority"
            | "milestone_due"
            | "popularity"
            | "relative_position"
    );
    let mut matched: Vec<u32> = Vec::new();
    if asc || !by_id {
        for (n, i) in p.issues.iter().enumerate() {
            if filter.matches(i) {
                matched.push(n as u32);
            }
        }
    } else {
        for (n, i) in p.issues.iter().enumerate().rev() {
            if filter.matches(i) {
                matched.push(n as u32);
            }
        }
    }
    if !by_id {
        let key = |n: &u32| {
            let i = &p.issues[*n as usize];
            (sort_value(order_by, i), i.id)
        };
        matched.sort_by_cached_key(key);
        if !asc {
            matched.reverse();
        }
    }
    let base = s.gitlab_base();
    let path = format!("{base}/api/v4/projects/{}/issues", p.id);
    if c.params.get("pagination") == Some("keyset") {
        let page = page_params(&c.params)?;
        let start = match c.params.get("cursor") {
            None => 0,
            Some(cur) => {
                let (key, id) =
                    decode_cursor(order_by, cur).ok_or_else(|| GlErr::bad("cursor is invalid"))?;
                if by_id {
                    // `matched` is in id order: binary search instead of a scan.
                    matched.partition_point(|n| {
                        let i = p.issues[*n as usize].id;
                        if asc { i <= id } else { i >= id }
                    })
                } else {
                    let cur = (key, id);
                    matched
                        .iter()
                        .position(|n| {
                            let i = &p.issues[*n as usize];
                            let k = (sort_value(order_by, i), i.id);
                            if asc { k > cur } else { k < cur }
                        })
                        .unwrap_or(matched.len())
                }
            }
        };
        let end = (start + page.per_page).min(matched.len());
        let slice = &matched[start..end];
        let out: Vec<IssueView> = slice
            .iter()
            .map(|n| issue_view(base, gl, p, &p.issues[*n as usize]))
            .collect();
        let mut h = HeaderMap::new();
        if end < matched.len()
            && let Some(last) = slice.last()
        {
            let cursor = encode_cursor(order_by, &p.issues[*last as usize]);
            let url = url_with(
                &path,
                &c.params,
                &[("cursor", cursor), ("per_page", page.per_page.to_string())],
            );
            if let Ok(v) = HeaderValue::from_str(&format!("<{url}>; rel=\"next\"")) {
                h.insert("link", v);
            }
        }
        if let Ok(v) = HeaderValue::from_str(&page.per_page.to_string()) {
            h.insert("x-per-page", v);
        }
        return Ok(json_response(StatusCode::OK, &out, h));
    }
    let page = page_params(&c.params)?;
    let start = ((page.page - 1) * page.per_page).min(matched.len());
    let end = (start + page.per_page).min(matched.len());
    let out: Vec<IssueView> = matched[start..end]
        .iter()
        .map(|n| issue_view(base, gl, p, &p.issues[*n as usize]))
        .collect();
    let h = offset_headers(&page, matched.len(), &path, &c.params);
    Ok(json_response(StatusCode::OK, &out, h))
}

pub(crate) async fn get_issue(
    State(s): State<Arc<Shared>>,
    Path((id, iid)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> GlResult {
    let c = ctx(&s, &headers, q, &[])?;
    let w = s.read();
    let gl = &w.gitlab;
    let pidx = visible_project(gl, c.user, &id)?;
    let p = &gl.projects[pidx];
    let ipos = issue_pos(p, &iid)?;
    ok(&issue_view(s.gitlab_base(), gl, p, &p.issues[ipos]))
}

/// Fields to set on an issue; `None` leaves a field as it is.
#[derive(Debug, Default, Clone)]
pub(crate) struct IssueEdit {
    pub title: Option<String>,
    pub description: Option<String>,
    pub state_event: Option<String>,
    pub labels: Option<Vec<String>>,
    pub add_labels: Vec<String>,
    pub remove_labels: Vec<String>,
    pub assignee_ids: Option<Vec<u64>>,
    pub milestone_id: Option<Option<u64>>,
    pub weight: Option<Option<i64>>,
    pub due_date: Option<Option<NaiveDate>>,
    pub confidential: Option<bool>,
    pub issue_type: Option<String>,
}

pub(crate) fn parse_edit(gl: &GitLab, p: &GlProject, params: &Params) -> Result<IssueEdit, GlErr> {
    let mut e = IssueEdit {
        title: params.get("title").map(str::to_string),
        description: params.get("description").map(str::to_string),
        ..Default::default()
    };
    if let Some(t) = &e.title
        && t.trim().is_empty()
    {
        return Err(GlErr::bad("title is empty"));
    }
    match params.get("state_event") {
        None => {}
        Some(v @ ("close" | "reopen")) => e.state_event = Some(v.to_string()),
        Some(_) => return Err(GlErr::bad("state_event does not have a valid value")),
    }
    e.labels = params.list("labels");
    e.add_labels = params.list("add_labels").unwrap_or_default();
    e.remove_labels = params.list("remove_labels").unwrap_or_default();
    if let Some(ids) = params
        .list("assignee_ids")
        .or_else(|| params.list("assignee_id"))
    {
        let mut out = Vec::new();
        for id in ids {
            let n: u64 = id
                .parse()
                .map_err(|_| GlErr::bad("assignee_ids is invalid"))?;
            if n != 0 {
                if gl.user(n).is_none() {
                    return Err(GlErr::not_found("User"));
                }
                out.push(n);
            }
        }
        e.assignee_ids = Some(out);
    }
    if params.has("milestone_id") {
        e.milestone_id = Some(match params.get("milestone_id") {
            None | Some("") | Some("0") => None,
            Some(v) => {
                let n: u64 = v
                    .parse()
                    .map_err(|_| GlErr::bad("milestone_id is invalid"))?;
                if !p.milestones.iter().any(|m| m.id == n) {
                    return Err(GlErr::not_found("Milestone"));
                }
                Some(n)
            }
        });
    }
    if params.has("weight") {
        e.weight = Some(params.int("weight").map_err(GlErr::bad)?);
        if e.weight.flatten().is_some_and(|w| w < 0) {
            return Err(GlErr::bad("weight does not have a valid value"));
        }
    }
    if params.has("due_date") {
        e.due_date = Some(match params.get("due_date") {
            None | Some("") => None,
            Some(v) => Some(
                NaiveDate::parse_from_str(v, "%Y-%m-%d")
                    .map_err(|_| GlErr::bad("due_date is invalid"))?,
            ),
        });
    }
    e.confidential = params.bool("confidential");
    match params.get("issue_type") {
        None => {}
        Some(t @ ("issue" | "incident" | "task" | "test_case")) => {
            e.issue_type = Some(t.to_string())
        }
        Some(_) => return Err(GlErr::bad("issue_type does not have a valid value")),
    }
    Ok(e)
}

/// Creates an issue, records the event and sends webhooks; returns its iid.
pub(crate) fn do_create_issue(
    s: &Shared,
    pidx: usize,
    user: u64,
    edit: IssueEdit,
) -> Result<u64, GlErr> {
    let mut w = s.write();
    let gl = &mut w.gitlab;
    let id = gl.alloc_id();
    let now = Utc::now();
    let p = gl
        .projects
        .get_mut(pidx)
        .ok_or_else(|| GlErr::not_found("Project"))?;
    let iid = p.issues.last().map(|i| i.iid).unwrap_or(0) + 1;
    let mut labels: Vec<String> = edit.labels.clone().unwrap_or_default();
    for l in &edit.add_labels {
        if !labels.contains(l) {
            labels.push(l.clone());
        }
    }
    let mut issue = GlIssue {
        id,
        iid,
        title: edit.title.clone().unwrap_or_default(),
        description: edit.description.clone().unwrap_or_default(),
        state: "opened".into(),
        created_at: now,
        updated_at: now,
        closed_at: None,
        closed_by: None,
        labels,
        milestone_id: edit.milestone_id.flatten(),
        assignee_ids: edit.assignee_ids.clone().unwrap_or_default(),
        author_id: user,
        issue_type: edit.issue_type.clone().unwrap_or_else(|| "issue".into()),
        weight: edit.weight.flatten(),
        time_estimate: 0,
        total_time_spent: 0,
        due_date: edit.due_date.flatten(),
        confidential: edit.confidential.unwrap_or(false),
        notes: Vec::new(),
        tasks: (0, 0),
    };
    issue.refresh_tasks();
    ensure_labels(gl, pidx, &issue.labels);
    let p = &mut gl.projects[pidx];
    p.touch(now);
    p.issues.push(issue);
    let ipos = p.issues.len() - 1;
    // GitLab lists every attribute set at creation as a change from null.
    let mut changes = serde_json::Map::new();
    {
        let i = &p.issues[ipos];
        let mut set = |k: &str, v: Value| {
            changes.insert(k.into(), json!({"previous": null, "current": v}));
        };
        set("author_id", json!(i.author_id));
        set("created_at", json!(gl_time(&i.created_at)));
        set("description", json!(i.description));
        set("id", json!(id));
        set("iid", json!(i.iid));
        set("project_id", json!(p.id));
        set("title", json!(i.title));
        set("updated_at", json!(gl_time(&i.updated_at)));
        if let Some(d) = i.due_date {
            set("due_date", json!(d.to_string()));
        }
        if let Some(m) = i.milestone_id {
            set("milestone_id", json!(m));
        }
    }
    if !p.issues[ipos].labels.is_empty() {
        let labels = hook_labels(p, &p.issues[ipos].labels);
        changes.insert("labels".into(), json!({"previous": [], "current": labels}));
    }
    if !p.issues[ipos].assignee_ids.is_empty() {
        let current = assignee_change(gl, &gl.projects[pidx].issues[ipos].assignee_ids);
        changes.insert(
            "assignees".into(),
            json!({"previous": [], "current": current}),
        );
    }
    record_issue_event(gl, pidx, ipos, user, "opened");
    emit_issue_hook(s, gl, pidx, ipos, user, IssueAction::Open, changes);
    Ok(iid)
}

/// Applies an edit, records events and sends webhooks.
pub(crate) fn do_update_issue(
    s: &Shared,
    pidx: usize,
    ipos: usize,
    user: u64,
    edit: IssueEdit,
) -> Result<(), GlErr> {
    let mut w = s.write();
    let gl = &mut w.gitlab;
    let now = Utc::now();
    if let Some(l) = &edit.labels {
        ensure_labels(gl, pidx, l);
    }
    ensure_labels(gl, pidx, &edit.add_labels);
    let assignees_change = match (
        &edit.assignee_ids,
        gl.projects.get(pidx).and_then(|p| p.issues.get(ipos)),
    ) {
        (Some(new), Some(i)) if *new != i.assignee_ids => Some(json!({
            "previous": assignee_change(gl, &i.assignee_ids),
            "current": assignee_change(gl, new),
        })),
        _ => None,
    };
    let p = gl
        .projects
        .get_mut(pidx)
        .ok_or_else(|| GlErr::not_found("Project"))?;
    let i = p
        .issues
        .get_mut(ipos)
        .ok_or_else(|| GlErr::not_found("Issue"))?;
    let mut changes = serde_json::Map::new();
    let mut change = |k: &str, prev: Value, cur: Value| {
        if prev != cur {
            changes.insert(k.into(), json!({"previous": prev, "current": cur}));
        }
    };
    let mut action = IssueAction::Update;
    if let Some(t) = edit.title {
        change("title", json!(i.title), json!(t));
        i.title = t;
    }
    if let Some(d) = edit.description {
        change("description", json!(i.description), json!(d));
        i.description = d;
        i.refresh_tasks();
    }
    let mut labels = edit.labels.unwrap_or_else(|| i.labels.clone());
    for l in edit.add_labels {
        if !labels.iter().any(|x| x.eq_ignore_ascii_case(&l)) {
            labels.push(l);
        }
    }
    labels.retain(|l| !edit.remove_labels.iter().any(|r| r.eq_ignore_ascii_case(l)));
    if labels != i.labels {
        change("labels", json!(i.labels), json!(labels));
        i.labels = labels;
    }
    if let Some(a) = edit.assignee_ids {
        i.assignee_ids = a;
    }
    if let Some(m) = edit.milestone_id {
        change("milestone_id", json!(i.milestone_id), json!(m));
        i.milestone_id = m;
    }
    if let Some(wt) = edit.weight {
        change("weight", json!(i.weight), json!(wt));
        i.weight = wt;
    }
    if let Some(d) = edit.due_date {
        change("due_date", json!(i.due_date), json!(d));
        i.due_date = d;
    }
    if let Some(c) = edit.confidential {
        change("confidential", json!(i.confidential), json!(c));
        i.confidential = c;
    }
    if let Some(t) = edit.issue_type {
        change("type", json!(i.issue_type), json!(t));
        i.issue_type = t;
    }
    match edit.state_event.as_deref() {
        Some("close") if i.state == "opened" => {
            change("state_id", json!(1), json!(2));
            change("closed_at", Value::Null, json!(gl_time(&now)));
            i.state = "closed".into();
            i.closed_at = Some(now);
            i.closed_by = Some(user);
            action = IssueAction::Close;
        }
        Some("reopen") if i.state == "closed" => {
            change("state_id", json!(2), json!(1));
            change(
                "closed_at",
                json!(i.closed_at.as_ref().map(gl_time)),
                Value::Null,
            );
            i.state = "opened".into();
            i.closed_at = None;
            i.closed_by = None;
            action = IssueAction::Reopen;
        }
        _ => {}
    }
    // Labels and assignees appear in `changes` as GitLab shows them: label
    // objects and user objects, not names and ids.
    if let Some(Value::Object(l)) = changes.get_mut("labels") {
        let prev: Vec<String> = serde_json::from_value(l["previous"].take()).unwrap_or_default();
        let cur = i.labels.clone();
        l.insert("previous".into(), hook_labels(p, &prev));
        l.insert("current".into(), hook_labels(p, &cur));
    }
    let i = &mut p.issues[ipos];
    if let Some(a) = assignees_change {
        changes.insert("assignees".into(), a);
    }
    if changes.is_empty() {
        return Ok(());
    }
    let prev_updated = gl_time(&i.updated_at);
    i.updated_at = now;
    changes.insert(
        "updated_at".into(),
        json!({"previous": prev_updated, "current": gl_time(&now)}),
    );
    changes.insert(
        "updated_by_id".into(),
        json!({"previous": null, "current": user}),
    );
    p.touch(now);
    match action {
        IssueAction::Close => record_issue_event(gl, pidx, ipos, user, "closed"),
        IssueAction::Reopen => record_issue_event(gl, pidx, ipos, user, "reopened"),
        _ => {}
    }
    emit_issue_hook(s, gl, pidx, ipos, user, action, changes);
    Ok(())
}

pub(crate) async fn create_issue(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> GlResult {
    let c = ctx(&s, &headers, q, &body)?;
    let (pidx, edit) = {
        let w = s.read();
        let pidx = visible_project(&w.gitlab, c.user, &id)?;
        let p = &w.gitlab.projects[pidx];
        if !can_write(&w.gitlab, c.user, p) {
            return Err(GlErr::forbidden());
        }
        if c.params.get("title").is_none_or(|t| t.trim().is_empty()) {
            return Err(GlErr::bad("title is missing"));
        }
        (pidx, parse_edit(&w.gitlab, p, &c.params)?)
    };
    let iid = do_create_issue(&s, pidx, c.user, edit)?;
    let w = s.read();
    let p = &w.gitlab.projects[pidx];
    let ipos = issue_pos(p, &iid.to_string())?;
    created(&issue_view(s.gitlab_base(), &w.gitlab, p, &p.issues[ipos]))
}

pub(crate) async fn update_issue(
    State(s): State<Arc<Shared>>,
    Path((id, iid)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> GlResult {
    let c = ctx(&s, &headers, q, &body)?;
    let (pidx, ipos, edit) = {
        let w = s.read();
        let pidx = visible_project(&w.gitlab, c.user, &id)?;
        let p = &w.gitlab.projects[pidx];
        let ipos = issue_pos(p, &iid)?;
        if !can_write(&w.gitlab, c.user, p) {
            return Err(GlErr::forbidden());
        }
        (pidx, ipos, parse_edit(&w.gitlab, p, &c.params)?)
    };
    do_update_issue(&s, pidx, ipos, c.user, edit)?;
    let w = s.read();
    let p = &w.gitlab.projects[pidx];
    ok(&issue_view(s.gitlab_base(), &w.gitlab, p, &p.issues[ipos]))
}

/// Users as an issue hook's `changes.assignees` lists them.
pub(crate) fn assignee_change(gl: &GitLab, ids: &[u64]) -> Value {
    json!(
        ids.iter()
            .map(|id| {
                let u = user_or_ghost(gl, *id);
                json!({"id": u.id, "name": u.name, "username": u.username, "avatar_url": avatar(u.id)})
            })
            .collect::<Vec<_>>()
    )
}
