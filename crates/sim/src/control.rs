//! The `/_sim/...` control endpoints that make things happen in the simulated
//! services "as a person" (webhooks included), list requests and deliveries
//! and inject faults. This module sits above the GitLab and Jira handlers.

use crate::Shared;
use crate::faults::{FaultSpec, Faults, RequestRecord, Service, apply_token_revocations};
use crate::gitlab::{self, IssueEdit};
use crate::jira;
use crate::req::Params;
use crate::req::json_response;
use crate::util::parse_duration;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::sync::Arc;

/// A control-endpoint error naming the field at fault.
struct CtlErr(StatusCode, String, Option<String>);

impl IntoResponse for CtlErr {
    fn into_response(self) -> Response {
        let mut v = json!({ "error": self.1 });
        if let Some(f) = self.2 {
            v["field"] = json!(f);
        }
        json_response(self.0, &v, HeaderMap::new())
    }
}

fn field_err(field: &str, msg: impl std::fmt::Display) -> CtlErr {
    CtlErr(
        StatusCode::BAD_REQUEST,
        format!("{field}: {msg}"),
        Some(field.to_string()),
    )
}

fn not_found(msg: impl Into<String>) -> CtlErr {
    CtlErr(StatusCode::NOT_FOUND, msg.into(), None)
}

type CtlResult = Result<Response, CtlErr>;

fn body_obj(body: &[u8]) -> Result<serde_json::Map<String, Value>, CtlErr> {
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(serde_json::Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(field_err("body", "must be a JSON object")),
        Err(e) => Err(field_err("body", format!("invalid JSON: {e}"))),
    }
}

struct Fields(serde_json::Map<String, Value>);

impl Fields {
    fn str_opt(&self, k: &str) -> Result<Option<String>, CtlErr> {
        match self.0.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(_) => Err(field_err(k, "must be a string")),
        }
    }
    fn str(&self, k: &str) -> Result<String, CtlErr> {
        match self.str_opt(k)? {
            Some(s) if !s.trim().is_empty() => Ok(s),
            _ => Err(field_err(k, "is required")),
        }
    }
    fn u64_opt(&self, k: &str) -> Result<Option<u64>, CtlErr> {
        match self.0.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_u64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                .map(Some)
                .ok_or_else(|| field_err(k, "must be a non-negative integer")),
        }
    }
    fn u64(&self, k: &str) -> Result<u64, CtlErr> {
        self.u64_opt(k)?.ok_or_else(|| field_err(k, "is required"))
    }
    fn f64_opt(&self, k: &str) -> Result<Option<f64>, CtlErr> {
        match self.0.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_f64()
                .map(Some)
                .ok_or_else(|| field_err(k, "must be a number")),
        }
    }
    fn strings(&self, k: &str) -> Result<Vec<String>, CtlErr> {
        match self.0.get(k) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|i| {
                    i.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| field_err(k, "must be an array of strings"))
                })
                .collect(),
            Some(_) => Err(field_err(k, "must be an array of strings")),
        }
    }
    fn bools(&self, k: &str) -> Result<Vec<(String, bool)>, CtlErr> {
        match self.0.get(k) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|i| match i {
                    Value::String(s) => Ok((s.clone(), false)),
                    Value::Object(o) => Ok((
                        o.get("title")
                            .and_then(Value::as_str)
                            .ok_or_else(|| field_err(k, "items need a title"))?
                            .to_string(),
                        o.get("done").and_then(Value::as_bool).unwrap_or(false),
                    )),
                    _ => Err(field_err(k, "items must be strings or {title, done}")),
                })
                .collect(),
            Some(_) => Err(field_err(k, "must be an array")),
        }
    }
}

/// The `/_sim` router, served on both listeners.
pub(crate) fn router(s: Arc<Shared>) -> Router {
    Router::new()
        .route("/_sim/health", get(|| async { "ok" }))
        .route("/_sim/requests", get(get_requests).delete(clear_requests))
        .route("/_sim/deliveries", get(get_deliveries))
        .route(
            "/_sim/faults",
            get(get_faults).post(post_fault).delete(clear_faults),
        )
        .route("/_sim/gitlab/issues", post(gl_add_issue))
        .route("/_sim/gitlab/issues/close", post(gl_close))
        .route("/_sim/gitlab/issues/reopen", post(gl_reopen))
        .route("/_sim/gitlab/tasks/complete", post(gl_complete_task))
        .route("/_sim/gitlab/time", post(gl_time))
        .route("/_sim/gitlab/issues/edit", post(gl_edit_issue))
        .route("/_sim/gitlab/notes", post(gl_note))
        .route("/_sim/gitlab/notes/edit", post(gl_edit_note))
        .route("/_sim/gitlab/notes/delete", post(gl_delete_note))
        .route("/_sim/gitlab/push", post(gl_push))
        .route("/_sim/gitlab/rebase", post(gl_rebase))
        .route("/_sim/gitlab/force_push", post(gl_force_push))
        .route("/_sim/gitlab/merge_requests", post(gl_mr))
        .route("/_sim/jira/issues", post(jira_add_issue))
        .route("/_sim/jira/transition", post(jira_transition))
        .route("/_sim/jira/worklog", post(jira_worklog))
        .route("/_sim/jira/comment", post(jira_comment))
        .route("/_sim/jira/issues/edit", post(jira_edit_issue))
        .route("/_sim/jira/comment/edit", post(jira_edit_comment))
        .route("/_sim/jira/comment/delete", post(jira_delete_comment))
        .route("/_sim/jira/versions", post(jira_add_version))
        .route("/_sim/jira/versions/edit", post(jira_edit_version))
        .with_state(s)
}

async fn get_requests(State(s): State<Arc<Shared>>, RawQuery(q): RawQuery) -> CtlResult {
    let p = Params::from_query(q.as_deref());
    let svc = match p.get("service") {
        None => None,
        Some(v) => Some(v.parse::<Service>().map_err(|e| field_err("service", e))?),
    };
    let log = s.log.lock().unwrap_or_else(|e| e.into_inner());
    let out: Vec<&RequestRecord> = log
        .iter()
        .filter(|r| svc.is_none_or(|x| r.service == x))
        .collect();
    Ok(json_response(StatusCode::OK, &out, HeaderMap::new()))
}

async fn clear_requests(State(s): State<Arc<Shared>>) -> StatusCode {
    s.log.lock().unwrap_or_else(|e| e.into_inner()).clear();
    StatusCode::NO_CONTENT
}

async fn get_deliveries(State(s): State<Arc<Shared>>) -> Response {
    json_response(StatusCode::OK, &s.hooks.records(), HeaderMap::new())
}

async fn get_faults(State(s): State<Arc<Shared>>) -> Response {
    let f = s.faults.lock().unwrap_or_else(|e| e.into_inner()).clone();
    json_response(StatusCode::OK, &f, HeaderMap::new())
}

async fn post_fault(State(s): State<Arc<Shared>>, body: Bytes) -> CtlResult {
    let v = Value::Object(body_obj(&body)?);
    let spec = FaultSpec::from_json(&v).map_err(|(f, m)| field_err(&f, m))?;
    s.faults
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .apply(&spec);
    apply_token_revocations(&s, std::slice::from_ref(&spec));
    Ok(json_response(StatusCode::CREATED, &spec, HeaderMap::new()))
}

async fn clear_faults(State(s): State<Arc<Shared>>) -> StatusCode {
    *s.faults.lock().unwrap_or_else(|e| e.into_inner()) = Faults::default();
    StatusCode::NO_CONTENT
}

/// Resolves `project` (id or path) and `iid`, plus the acting user (`as`,
/// default the issue's author or the project's first member).
fn gl_target(
    s: &Shared,
    f: &Fields,
    need_issue: bool,
) -> Result<(usize, Option<usize>, u64), CtlErr> {
    let project = f.str("project")?;
    let w = s.read();
    let gl = &w.gitlab;
    let pidx = gl
        .project_index(&project)
        .ok_or_else(|| field_err("project", format!("no project `{project}`")))?;
    let p = &gl.projects[pidx];
    let ipos = if need_issue {
        let iid = f.u64("iid")?;
        Some(
            p.issues
                .binary_search_by_key(&iid, |i| i.iid)
                .map_err(|_| field_err("iid", format!("no issue #{iid} in {project}")))?,
        )
    } else {
        None
    };
    let user = match f.str_opt("as")? {
        Some(name) => gl
            .user_by_name(&name)
            .map(|u| u.id)
            .ok_or_else(|| field_err("as", format!("no user `{name}`")))?,
        None => ipos
            .map(|i| p.issues[i].author_id)
            .or_else(|| p.members.first().map(|m| m.0))
            .unwrap_or(0),
    };
    Ok((pidx, ipos, user))
}

fn done(v: Value) -> CtlResult {
    Ok(json_response(StatusCode::OK, &v, HeaderMap::new()))
}

fn gl_err(e: gitlab::GlErr) -> CtlErr {
    CtlErr(StatusCode::NOT_FOUND, format!("{e:?}"), None)
}

async fn gl_state(s: Arc<Shared>, body: Bytes, event: &str) -> CtlResult {
    let f = Fields(body_obj(&body)?);
    let (pidx, ipos, user) = gl_target(&s, &f, true)?;
    let ipos = ipos.ok_or_else(|| field_err("iid", "is required"))?;
    let edit = IssueEdit {
        state_event: Some(event.to_string()),
        ..Default::default()
    };
    gitlab::do_update_issue(&s, pidx, ipos, user, edit).map_err(gl_err)?;
    let w = s.read();
    let i = &w.gitlab.projects[pidx].issues[ipos];
    done(json!({"iid": i.iid, "state": i.state}))
}

async fn gl_close(State(s): State<Arc<Shared>>, body: Bytes) -> CtlResult {
    gl_state(s, body, "close").await
}

async fn gl_reopen(State(s): State<Arc<Shared>>, body: Bytes) -> CtlResult {
    gl_state(s, body, "reopen").await
}

async fn gl_add_issue(State(s): State<Arc<Shared>>, body: Bytes) -> CtlResult {
    let f = Fields(body_obj(&body)?);
    let (pidx, _, user) = gl_target(&s, &f, false)?;
    let title = f.str("title")?;
    let mut description = f.str_opt("description")?.unwrap_or_default();
    let tasks = f.bools("tasks")?;
    if !tasks.is_empty() {
        if !description.is_empty() {
            description.push_str("\n\n");
        }
        for (t, d) in &tasks {
            description.push_str(if *d { "- [x] " } else { "- [ ] " });
            description.push_str(t);
            description.push('\n');
        }
    }
    let issue_type = match f.str_opt("issue_type")?.as_deref() {
        None => None,
        Some(t @ ("issue" | "task" | "incident")) => Some(t.to_string()),
        Some(_) => return Err(field_err("issue_type", "must be issue, task or incident")),
    };
    let (assignee_ids, milestone_id) = {
        let w = s.read();
        let gl = &w.gitlab;
        let mut ids = Vec::new();
        for name in f.strings("assignees")? {
            ids.push(
                gl.user_by_name(&name)
                    .map(|u| u.id)
                    .ok_or_else(|| field_err("assignees", format!("no user `{name}`")))?,
            );
        }
        let mid = match f.str_opt("milestone")? {
            None => None,
            Some(t) => Some(
                gl.projects[pidx]
                    .milestones
                    .iter()
                    .find(|m| m.title == t)
                    .map(|m| m.id)
                    .ok_or_else(|| field_err("milestone", format!("no milestone `{t}`")))?,
            ),
        };
        (ids, mid)
    };
    let weight = f.u64_opt("weight")?.map(|w| w as i64);
    let edit = IssueEdit {
        title: Some(title),
        description: Some(description),
        labels: Some(f.strings("labels")?),
        assignee_ids: Some(assignee_ids),
        milestone_id: Some(milestone_id),
        weight: Some(weight),
        issue_type,
        ..Default::default()
    };
    let iid = gitlab::do_create_issue(&s, pidx, user, edit).map_err(gl_err)?;
    Ok(json_response(
        StatusCode::CREATED,
        &json!({"iid": iid}),
        HeaderMap::new(),
    ))
}

/// Usernames to GitLab user ids, naming the field of an unknown one.
fn gl_user_ids(s: &Shared, f: &Fields, k: &str) -> Result<Vec<u64>, CtlErr> {
    let w = s.read();
    f.strings(k)?
        .iter()
        .map(|name| {
            w.gitlab
                .user_by_name(name)
                .map(|u| u.id)
                .ok_or_else(|| field_err(k, format!("no user `{name}`")))
        })
        .collect()
}

/// Edits an issue as a person (`as`), through the same path as the API, so
/// the Issue Hook carries that person as `user`.
async fn gl_edit_issue(State(s): State<Arc<Shared>>, body: Bytes) -> CtlResult {
    let f = Fields(body_obj(&body)?);
    let (pidx, ipos, user) = gl_target(&s, &f, true)?;
    let ipos = ipos.ok_or_else(|| field_err("iid", "is required"))?;
    let state_event = match f.str_opt("state_event")?.as_deref() {
        None => None,
        Some(e @ ("close" | "reopen")) => Some(e.to_string()),
        Some(_) => return Err(field_err("state_event", "must be close or reopen")),
    };
    let due_date = match f.0.get("due_date") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(_) => {
            let d = f.str("due_date")?;
            Some(Some(
                chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d")
                    .map_err(|_| field_err("due_date", "must be YYYY-MM-DD"))?,
            ))
        }
    };
    let milestone_id = match f.0.get("milestone") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(_) => {
            let t = f.str("milestone")?;
            let w = s.read();
            Some(Some(
                w.gitlab.projects[pidx]
                    .milestones
                    .iter()
                    .find(|m| m.title == t)
                    .map(|m| m.id)
                    .ok_or_else(|| field_err("milestone", format!("no milestone `{t}`")))?,
            ))
        }
    };
    let edit = IssueEdit {
        title: f.str_opt("title")?,
        description: f.str_opt("description")?,
        state_event,
        labels: f
            .0
            .contains_key("labels")
            .then(|| f.strings("labels"))
            .transpose()?,
        add_labels: f.strings("add_labels")?,
        remove_labels: f.strings("remove_labels")?,
        assignee_ids: f
            .0
            .contains_key("assignees")
            .then(|| gl_user_ids(&s, &f, "assignees"))
            .transpose()?,
        milestone_id,
        due_date,
        ..Default::default()
    };
    gitlab::do_update_issue(&s, pidx, ipos, user, edit).map_err(gl_err)?;
    let w = s.read();
    let i = &w.gitlab.projects[pidx].issues[ipos];
    done(json!({"iid": i.iid, "state": i.state, "title": i.title, "labels": i.labels}))
}

async fn gl_complete_task(State(s): State<Arc<Shared>>, body: Bytes) -> CtlResult {
    let f = Fields(body_obj(&body)?);
    let (pidx, ipos, user) = gl_target(&s, &f, true)?;
    let ipos = ipos.ok_or_else(|| field_err("iid", "is required"))?;
    let which = f.u64_opt("task")?;
    let undo = f.0.get("done").and_then(Value::as_bool) == Some(false);
    let description = {
        let w = s.read();
        let i = &w.gitlab.projects[pidx].issues[ipos];
        let to = if undo { "[ ]" } else { "[x]" };
        let mut n = 0u64;
        let mut changed = false;
        let mut out = Vec::new();
        for line in i.description.lines() {
            let indent = line.len() - line.trim_start().len();
            let t = &line[indent..];
            let rest = ["- ", "* ", "+ "].iter().find_map(|p| t.strip_prefix(p));
            let state = rest.and_then(|r| {
                if r.starts_with("[ ]") {
                    Some(false)
                } else if r.starts_with("[x]") || r.starts_with("[X]") {
                    Some(true)
                } else {
                    None
                }
            });
            let mut l = line.to_string();
            if let Some(checked) = state {
                n += 1;
                let target = which.is_none_or(|k| k == n);
                if target && !changed && checked == undo {
                    // Replace the checkbox right after the list marker.
                    let at = indent + 2;
                    l = format!("{}{}{}", &line[..at], to, &line[at + 3..]);
                    changed = true;
                }
            }
            out.push(l);
        }
        if n == 0 {
            return Err(field_err("iid", "the issue has no tasks"));
        }
        if let Some(k) = which
            && (k == 0 || k > n)
        {
            return Err(field_err("task", format!("must be from 1 to {n}")));
        }
        if !changed {
            return done(
                json!({"changed": false, "task_completion_status": {"count": i.tasks.0, "completed_count": i.tasks.1}}),
            );
        }
        let mut d = out.join("\n");
        if i.description.ends_with('\n') {
            d.push('\n');
        }
        d
    };
    let edit = IssueEdit {
        description: Some(description),
        ..Default::default()
    };
    gitlab::do_update_issue(&s, pidx, ipos, user, edit).map_err(gl_err)?;
    let w = s.read();
    let i = &w.gitlab.projects[pidx].issues[ipos];
    done(
        json!({"changed": true, "task_completion_status": {"count": i.tasks.0, "completed_count": i.tasks.1}}),
    )
}

async fn gl_time(State(s): State<Arc<Shared>>, body: Bytes) -> CtlResult {
    let f = Fields(body_obj(&body)?);
    let (pidx, ipos, user) = gl_target(&s, &f, true)?;
    let ipos = ipos.ok_or_else(|| field_err("iid", "is required"))?;
    let d = f.str("duration")?;
    let secs = parse_duration(&d).ok_or_else(|| field_err("duration", "must look like 1h30m"))?;
    let action = match f.str_opt("kind")?.as_deref() {
        None | Some("spent") => "add_spent_time",
        Some("estimate") => "time_estimate",
        Some(_) => return Err(field_err("kind", "must be spent or estimate")),
    };
    gitlab::do_time(&s, pidx, ipos, user, action, secs).map_err(gl_err)?;
    let w = s.read();
    let i = &w.gitlab.projects[pidx].issues[ipos];
    done(json!({"time_estimate": i.time_estimate, "total_time_spent": i.total_time_spent}))
}

/// Comments as a person (`as`) on an issue (`iid`), a merge request
/// (`merge_request`: iid) or a commit (`commit`: SHA), with the Note Hook.
async fn gl_note(State(s): State<Arc<Shared>>, body: Bytes) -> CtlResult {
    let f = Fields(body_obj(&body)?);
    let text = f.str("body")?;
    let other = match (f.u64_opt("merge_request")?, f.str_opt("commit")?) {
        (Some(iid), _) => Some(gitlab::NoteTarget::MergeRequest(iid)),
        (None, Some(sha)) => Some(gitlab::NoteTarget::Commit(sha)),
        (None, None) => None,
    };
    let id = match other {
        Some(target) => {
            let (pidx, _, user) = gl_target(&s, &f, false)?;
            let field = match target {
                gitlab::NoteTarget::MergeRequest(_) => "merge_request",
                gitlab::NoteTarget::Commit(_) => "commit",
            };
            gitlab::do_add_other_note(&s, pidx, &target, user, text)
                .map_err(|e| note_err(e, field))?
        }
        None => {
            let (pidx, ipos, user) = gl_target(&s, &f, true)?;
            let ipos = ipos.ok_or_else(|| field_err("iid", "is required"))?;
            gitlab::do_add_note(&s, pidx, ipos, user, text, false).map_err(gl_err)?
        }
    };
    Ok(json_response(
        StatusCode::CREATED,
        &json!({"id": id}),
        HeaderMap::new(),
    ))
}

/// Edits a comment as its author (`as`); GitLab sends a Note Hook with `action: update`.
async fn gl_edit_note(State(s): State<Arc<Shared>>, body: Bytes) -> CtlResult {
    let f = Fields(body_obj(&body)?);
    let (pidx, ipos, user) = gl_target(&s, &f, true)?;
    let ipos = ipos.ok_or_else(|| field_err("iid", "is required"))?;
    let note = f.u64("note_id")?.to_string();
    let text = f.str("body")?;
    let id = gitlab::do_update_note(&s, pidx, ipos, &note, user, text)
        .map_err(|e| note_err(e, "note_id"))?;
    done(json!({"id": id}))
}

/// Deletes a comment as a person (`as`); GitLab sends no webhook for it.
async fn gl_delete_note(State(s): State<Arc<Shared>>, body: Bytes) -> CtlResult {
    let f = Fields(body_obj(&body)?);
    let (pidx, ipos, user) = gl_target(&s, &f, true)?;
    let ipos = ipos.ok_or_else(|| field_err("iid", "is required"))?;
    let note = f.u64("note_id")?.to_string();
    gitlab::do_delete_note(&s, pidx, ipos, &note, user).map_err(|e| note_err(e, "note_id"))?;
    done(json!({"deleted": note}))
}

/// A GitLab refusal as a control error naming `field`.
fn note_err(e: gitlab::GlErr, field: &str) -> CtlErr {
    let msg =
        e.1.get("message")
            .and_then(Value::as_str)
            .unwrap_or("refused")
            .to_string();
    CtlErr(e.0, format!("{field}: {msg}"), Some(field.to_string()))
}

/// Commit messages from `messages`, or `commits` generated ones.
fn push_messages(f: &Fields) -> Result<Vec<String>, CtlErr> {
    let messages = f.strings("messages")?;
    if !messages.is_empty() {
        return Ok(messages);
    }
    let n = f.u64_opt("commits")?.unwrap_or(1);
    if n == 0 || n > 1000 {
        return Err(field_err("commits", "must be from 1 to 1000"));
    }
    Ok((1..=n).map(|i| format!("Simulated commit {i}")).collect())
}

/// Pushes commits as a person (`as`) to `branch` (default main):
/// `messages` or `commits` (a count); `authored_at` (RFC 3339) dates the
/// first commit's author date, each next one a minute later, so a test can
/// script a day of work. A new branch starts from main. `author_name` and
/// `author_email` (which may be empty, as Git allows) set the commits'
/// author instead of the pusher.
async fn gl_push(State(s): State<Arc<Shared>>, body: Bytes) -> CtlResult {
    let f = Fields(body_obj(&body)?);
    let (pidx, _, user) = gl_target(&s, &f, false)?;
    let branch = f.str_opt("branch")?.unwrap_or_else(|| "main".into());
    let messages = push_messages(&f)?;
    let author = match (f.str_opt("author_name")?, f.str_opt("author_email")?) {
        (None, None) => None,
        (name, email) => Some((name.unwrap_or_default(), email.unwrap_or_default())),
    };
    let authored = match f.str_opt("authored_at")? {
        None => None,
        Some(t) => Some(
            crate::util::parse_time(&t)
                .ok_or_else(|| field_err("authored_at", "must be an RFC 3339 time"))?,
        ),
    };
    let commits: Vec<gitlab::NewCommit> = messages
        .iter()
        .enumerate()
        .map(|(i, m)| gitlab::NewCommit {
            message: m.clone(),
            author: author.clone(),
            authored_date: authored.map(|t| t + chrono::Duration::minutes(i as i64)),
        })
        .collect();
    let after = gitlab::do_push_chain(&s, pidx, user, &branch, None, commits).map_err(gl_err)?;
    Ok(json_response(
        StatusCode::CREATED,
        &json!({"after": after, "commits": messages.len()}),
        HeaderMap::new(),
    ))
}

/// Rebases `branch` onto `onto` (default main) as a person: the same
/// commits (message, author, author date) get new SHAs and committed dates.
async fn gl_rebase(State(s): State<Arc<Shared>>, body: Bytes) -> CtlResult {
    let f = Fields(body_obj(&body)?);
    let (pidx, _, user) = gl_target(&s, &f, false)?;
    let branch = f.str("branch")?;
    let onto = f.str_opt("onto")?.unwrap_or_else(|| "main".into());
    let after =
        gitlab::do_rebase(&s, pidx, user, &branch, &onto).map_err(|e| note_err(e, "branch"))?;
    done(json!({"after": after}))
}

/// Force-pushes `branch` as a person: drops its last `drop` commits and
/// pushes `messages` / `commits` on what remains.
async fn gl_force_push(State(s): State<Arc<Shared>>, body: Bytes) -> CtlResult {
    let f = Fields(body_obj(&body)?);
    let (pidx, _, user) = gl_target(&s, &f, false)?;
    let branch = f.str("branch")?;
    let drop = f.u64_opt("drop")?.unwrap_or(0) as usize;
    let messages = if f.0.contains_key("messages") || f.0.contains_key("commits") {
        push_messages(&f)?
    } else {
        Vec::new()
    };
    let base = {
        let w = s.read();
        let p = &w.gitlab.projects[pidx];
        if !p.branches.contains_key(&branch) {
            return Err(field_err("branch", format!("no branch `{branch}`")));
        }
        p.history(&branch)
            .get(drop)
            .map(|c| c.id.clone())
            .ok_or_else(|| field_err("drop", "is longer than the branch"))?
    };
    let commits = messages
        .into_iter()
        .map(|m| gitlab::NewCommit {
            message: m,
            author: None,
            authored_date: None,
        })
        .collect();
    let after =
        gitlab::do_push_chain(&s, pidx, user, &branch, Some(base), commits).map_err(gl_err)?;
    done(json!({"after": after}))
}

async fn gl_mr(State(s): State<Arc<Shared>>, body: Bytes) -> CtlResult {
    let f = Fields(body_obj(&body)?);
    let (pidx, _, user) = gl_target(&s, &f, false)?;
    let action = f.str_opt("action")?.unwrap_or_else(|| "open".into());
    if !matches!(
        action.as_str(),
        "open" | "merge" | "close" | "reopen" | "update" | "approve"
    ) {
        return Err(field_err(
            "action",
            "must be open, merge, close, reopen, update or approve",
        ));
    }
    let iid = f.u64_opt("iid")?;
    if iid.is_none() && action != "open" {
        return Err(field_err("iid", "is required unless action is open"));
    }
    let iid = gitlab::do_merge_request(&s, pidx, user, iid, f.str_opt("title")?, &action)
        .map_err(|_| field_err("iid", "no such merge request"))?;
    done(json!({"iid": iid}))
}

fn jira_actor(s: &Shared, f: &Fields) -> Result<String, CtlErr> {
    let w = s.read();
    match f.str_opt("as")? {
        Some(name) => w
            .jira
            .user(&name)
            .map(|u| u.account_id.clone())
            .ok_or_else(|| field_err("as", format!("no user `{name}`"))),
        None => w
            .jira
            .users
            .first()
            .map(|u| u.account_id.clone())
            .ok_or_else(|| not_found("no Jira users")),
    }
}

fn jira_issue(s: &Shared, f: &Fields) -> Result<usize, CtlErr> {
    let key = f.str("key")?;
    s.read()
        .jira
        .issue_index(&key)
        .ok_or_else(|| field_err("key", format!("no issue `{key}`")))
}

async fn jira_add_issue(State(s): State<Arc<Shared>>, body: Bytes) -> CtlResult {
    let f = Fields(body_obj(&body)?);
    let actor = jira_actor(&s, &f)?;
    let mut create = jira::NewIssue {
        project: f.str("project")?,
        summary: f.str("summary")?,
        issue_type: f.str_opt("issue_type")?.unwrap_or_else(|| "Story".into()),
        description: f.str_opt("description")?,
        labels: f.strings("labels")?,
        parent: f.str_opt("parent")?,
        epic: f.str_opt("epic")?,
        assignee: f.str_opt("assignee")?,
        story_points: f.f64_opt("story_points")?,
        original_estimate: None,
        status: f.str_opt("status")?,
        custom: Default::default(),
        description_adf: None,
        due_date: None,
        fix_versions: f.strings("fix_versions")?,
        properties: Vec::new(),
    };
    if let Some(e) = f.str_opt("original_estimate")? {
        create.original_estimate = Some(
            parse_duration(&e)
                .ok_or_else(|| field_err("original_estimate", "must look like 2h"))?,
        );
    }
    let key = jira::do_create_issue(&s, create, &actor).map_err(|e| field_err(&e.0, e.1))?;
    Ok(json_response(
        StatusCode::CREATED,
        &json!({"key": key}),
        HeaderMap::new(),
    ))
}

async fn jira_transition(State(s): State<Arc<Shared>>, body: Bytes) -> CtlResult {
    let f = Fields(body_obj(&body)?);
    let actor = jira_actor(&s, &f)?;
    let idx = jira_issue(&s, &f)?;
    let status = f.str("status")?;
    let sid = {
        let w = s.read();
        w.jira
            .statuses
            .iter()
            .find(|st| st.name.eq_ignore_ascii_case(&status) || st.id == status)
            .map(|st| st.id.clone())
            .ok_or_else(|| field_err("status", format!("no status `{status}`")))?
    };
    jira::do_set_status(&s, idx, &sid, &actor, None);
    let w = s.read();
    let i = &w.jira.issues[idx];
    done(json!({"key": i.key, "status": w.jira.status(&i.status).map(|st| st.name.clone())}))
}

async fn jira_worklog(State(s): State<Arc<Shared>>, body: Bytes) -> CtlResult {
    let f = Fields(body_obj(&body)?);
    let actor = jira_actor(&s, &f)?;
    let idx = jira_issue(&s, &f)?;
    let d = f.str("time_spent")?;
    let secs = parse_duration(&d)
        .filter(|s| *s > 0)
        .ok_or_else(|| field_err("time_spent", "must be a positive duration like 2h"))?;
    let id = jira::do_add_worklog(
        &s,
        idx,
        &actor,
        secs,
        None,
        f.str_opt("comment")?,
        "auto",
        None,
    );
    Ok(json_response(
        StatusCode::CREATED,
        &json!({"id": id.to_string()}),
        HeaderMap::new(),
    ))
}

async fn jira_comment(State(s): State<Arc<Shared>>, body: Bytes) -> CtlResult {
    let f = Fields(body_obj(&body)?);
    let actor = jira_actor(&s, &f)?;
    let idx = jira_issue(&s, &f)?;
    let text = f.str("body")?;
    let id = jira::do_add_comment(&s, idx, &actor, text, None);
    Ok(json_response(
        StatusCode::CREATED,
        &json!({"id": id.to_string()}),
        HeaderMap::new(),
    ))
}

/// A Jira refusal as a control error: its first field error, or its message.
fn jira_err(e: jira::JErr) -> CtlErr {
    match e.2.iter().next() {
        Some((k, v)) => CtlErr(
            e.0,
            format!("{k}: {}", v.as_str().unwrap_or("refused")),
            Some(k.clone()),
        ),
        None => CtlErr(e.0, e.1.join(" "), None),
    }
}

/// Edits an issue as a person (`as`): `fields` and `update` as Jira's edit
/// API takes them (strings are wiki text, objects ADF), so the webhook's
/// `user` and changelog are those of that person.
async fn jira_edit_issue(State(s): State<Arc<Shared>>, body: Bytes) -> CtlResult {
    let f = Fields(body_obj(&body)?);
    let actor = jira_actor(&s, &f)?;
    let idx = jira_issue(&s, &f)?;
    let mut edit = serde_json::Map::new();
    for k in ["fields", "update"] {
        match f.0.get(k) {
            None => {}
            Some(v @ Value::Object(_)) => {
                edit.insert(k.into(), v.clone());
            }
            Some(_) => return Err(field_err(k, "must be an object")),
        }
    }
    let changed = jira::do_edit_issue(&s, idx, &actor, &Value::Object(edit)).map_err(jira_err)?;
    let w = s.read();
    done(json!({"key": w.jira.issues[idx].key, "changed": changed}))
}

/// Edits a comment as a person (`as`); sends `comment_updated`.
async fn jira_edit_comment(State(s): State<Arc<Shared>>, body: Bytes) -> CtlResult {
    let f = Fields(body_obj(&body)?);
    let actor = jira_actor(&s, &f)?;
    let idx = jira_issue(&s, &f)?;
    let id = f.u64("id")?.to_string();
    let text = f.str("body")?;
    jira::do_update_comment(&s, idx, &id, &actor, text, None).map_err(jira_err)?;
    done(json!({"id": id}))
}

/// Deletes a comment as a person (`as`); sends `comment_deleted`.
async fn jira_delete_comment(State(s): State<Arc<Shared>>, body: Bytes) -> CtlResult {
    let f = Fields(body_obj(&body)?);
    let actor = jira_actor(&s, &f)?;
    let idx = jira_issue(&s, &f)?;
    let id = f.u64("id")?.to_string();
    jira::do_delete_comment(&s, idx, &id, &actor).map_err(jira_err)?;
    done(json!({"deleted": id}))
}

fn version_edit(f: &Fields) -> Result<jira::VersionEdit, CtlErr> {
    let date = |k: &str| -> Result<Option<Option<chrono::NaiveDate>>, CtlErr> {
        match f.0.get(k) {
            None => Ok(None),
            Some(Value::Null) => Ok(Some(None)),
            Some(_) => chrono::NaiveDate::parse_from_str(&f.str(k)?, "%Y-%m-%d")
                .map(|d| Some(Some(d)))
                .map_err(|_| field_err(k, "must be YYYY-MM-DD")),
        }
    };
    let flag = |k: &str| -> Result<Option<bool>, CtlErr> {
        match f.0.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(field_err(k, "must be true or false")),
        }
    };
    Ok(jira::VersionEdit {
        name: f.str_opt("name")?,
        description: f
            .0
            .contains_key("description")
            .then(|| f.str_opt("description"))
            .transpose()?,
        released: flag("released")?,
        archived: flag("archived")?,
        release_date: date("release_date")?,
        start_date: date("start_date")?,
    })
}

/// Creates a version in `project`; sends `jira:version_created`.
async fn jira_add_version(State(s): State<Arc<Shared>>, body: Bytes) -> CtlResult {
    let f = Fields(body_obj(&body)?);
    let project = f.str("project")?;
    let _ = f.str("name")?;
    let (_, id) = jira::do_create_version(&s, &project, version_edit(&f)?).map_err(jira_err)?;
    Ok(json_response(
        StatusCode::CREATED,
        &json!({"id": id.to_string()}),
        HeaderMap::new(),
    ))
}

/// Changes version `id`; sends `jira:version_updated`.
async fn jira_edit_version(State(s): State<Arc<Shared>>, body: Bytes) -> CtlResult {
    let f = Fields(body_obj(&body)?);
    let id = f.u64("id")?.to_string();
    jira::do_update_version(&s, &id, version_edit(&f)?).map_err(jira_err)?;
    done(json!({"id": id}))
}
