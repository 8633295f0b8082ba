//! The simulated Jira REST API (Cloud v2/v3 or Data Center v2) and its webhooks.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use base64::Engine;
use chrono::{DateTime, NaiveDate, Utc};
use hmac::{Hmac, Mac};
use serde_json::{Map, Value, json};
use sha2::Sha256;

use crate::control::{self, Service};
use crate::gitlab::json_response;
use crate::hooks::Delivery;
use crate::jql;
use crate::model::*;
use crate::req::{Params, authorization};
use crate::util::{jira_human, jira_time, parse_duration, parse_time};
use crate::{JiraFlavour, Shared};

/// The message Jira Cloud answers on the removed search endpoints.
pub const SEARCH_REMOVED: &str = "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046";

/// An error in Jira's `{errorMessages, errors}` shape.
#[derive(Debug)]
pub(crate) struct JErr(StatusCode, Vec<String>, Map<String, Value>);

impl JErr {
    fn msg(status: StatusCode, m: impl Into<String>) -> JErr {
        JErr(status, vec![m.into()], Map::new())
    }
    fn field(field: &str, m: impl Into<String>) -> JErr {
        let mut errors = Map::new();
        errors.insert(field.into(), json!(m.into()));
        JErr(StatusCode::BAD_REQUEST, vec![], errors)
    }
    fn unauthorized() -> JErr {
        JErr::msg(
            StatusCode::UNAUTHORIZED,
            "You are not authenticated. Authentication required to perform this operation.",
        )
    }
    fn issue_not_found() -> JErr {
        JErr::msg(
            StatusCode::NOT_FOUND,
            "Issue does not exist or you do not have permission to see it.",
        )
    }
    fn not_found() -> JErr {
        JErr::msg(StatusCode::NOT_FOUND, "Not Found")
    }
}

impl IntoResponse for JErr {
    fn into_response(self) -> Response {
        json_response(
            self.0,
            &json!({"errorMessages": self.1, "errors": self.2}),
            HeaderMap::new(),
        )
    }
}

type JResult = Result<Response, JErr>;

fn ok(v: &Value) -> JResult {
    Ok(json_response(StatusCode::OK, v, HeaderMap::new()))
}

/// API version of a request: 2 or 3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ver {
    V2,
    V3,
}

struct Ctx {
    account: String,
    ver: Ver,
    params: Params,
    body: Option<Value>,
}

fn check_version(s: &Shared, ver: &str) -> Result<Ver, JErr> {
    match (ver, s.flavour) {
        ("2" | "latest", _) => Ok(Ver::V2),
        ("3", JiraFlavour::Cloud) => Ok(Ver::V3),
        _ => Err(JErr::not_found()),
    }
}

fn ctx(
    s: &Shared,
    ver: &str,
    headers: &HeaderMap,
    q: Option<String>,
    body: &[u8],
) -> Result<Ctx, JErr> {
    let ver = check_version(s, ver)?;
    let account = authenticate(s, headers)?;
    let body = if body.iter().all(|b| b.is_ascii_whitespace()) {
        None
    } else {
        Some(serde_json::from_slice::<Value>(body).map_err(|e| {
            JErr::msg(
                StatusCode::BAD_REQUEST,
                format!("Unexpected character in the request body: {e}"),
            )
        })?)
    };
    Ok(Ctx {
        account,
        ver,
        params: Params::from_query(q.as_deref()),
        body,
    })
}

fn authenticate(s: &Shared, headers: &HeaderMap) -> Result<String, JErr> {
    let (scheme, cred) = authorization(headers).ok_or_else(JErr::unauthorized)?;
    let w = s.read();
    let user = match (s.flavour, scheme.as_str()) {
        (JiraFlavour::Cloud, "basic") => {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(cred.as_bytes())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(JErr::unauthorized)?;
            let (email, token) = decoded.split_once(':').ok_or_else(JErr::unauthorized)?;
            w.jira.users.iter().find(|u| {
                u.active
                    && !u.api_token.is_empty()
                    && u.email.eq_ignore_ascii_case(email)
                    && u.api_token == token
            })
        }
        (JiraFlavour::Datacenter, "bearer") => w
            .jira
            .users
            .iter()
            .find(|u| u.active && !u.pat.is_empty() && u.pat == cred),
        _ => None,
    };
    user.map(|u| u.account_id.clone())
        .ok_or_else(JErr::unauthorized)
}

/// Builds the Jira router (`/rest/...`, control under `/_sim`).
pub(crate) fn router(s: Arc<Shared>) -> Router {
    let api = Router::new()
        .route("/rest/api/{ver}/myself", get(myself))
        .route("/rest/api/{ver}/serverInfo", get(server_info))
        .route("/rest/api/{ver}/field", get(fields))
        .route("/rest/api/{ver}/search", get(search_old).post(search_old))
        .route(
            "/rest/api/{ver}/search/jql",
            get(search_jql).post(search_jql),
        )
        .route(
            "/rest/api/{ver}/search/approximate-count",
            post(approximate_count),
        )
        .route("/rest/api/{ver}/issue", post(create_issue))
        .route(
            "/rest/api/{ver}/issue/{key}",
            get(get_issue).put(edit_issue).delete(delete_issue),
        )
        .route(
            "/rest/api/{ver}/issue/{key}/transitions",
            get(get_transitions).post(do_transition),
        )
        .route(
            "/rest/api/{ver}/issue/{key}/comment",
            get(list_comments).post(add_comment),
        )
        .route(
            "/rest/api/{ver}/issue/{key}/worklog",
            get(list_worklogs).post(add_worklog),
        )
        .route("/rest/api/{ver}/project", get(list_projects))
        .route("/rest/api/{ver}/project/{key}", get(get_project))
        .route(
            "/rest/api/{ver}/project/{key}/versions",
            get(project_versions),
        )
        .route("/rest/api/{ver}/version", post(create_version))
        .route(
            "/rest/api/{ver}/webhook",
            get(cloud_webhooks)
                .post(cloud_register)
                .delete(cloud_unregister),
        )
        .route(
            "/rest/webhooks/1.0/webhook",
            get(dc_webhooks).post(dc_register),
        )
        .route(
            "/rest/webhooks/1.0/webhook/{id}",
            delete(dc_unregister).get(dc_webhook).put(dc_update),
        )
        .fallback(|| async { JErr::not_found().into_response() })
        .layer(axum::middleware::from_fn_with_state(
            (s.clone(), Service::Jira),
            control::fault_layer,
        ))
        .with_state(s.clone());
    api.merge(control::router(s))
}

// ---------------------------------------------------------------- representations

fn adf(text: &str) -> Value {
    let paragraphs: Vec<Value> = text
        .split("\n\n")
        .map(|p| {
            if p.is_empty() {
                json!({"type": "paragraph", "content": []})
            } else {
                json!({"type": "paragraph", "content": [{"type": "text", "text": p}]})
            }
        })
        .collect();
    json!({"type": "doc", "version": 1, "content": paragraphs})
}

/// Plain text of an ADF document (or a plain string).
fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => {
            if let Some(Value::String(t)) = o.get("text") {
                return Some(t.clone());
            }
            let parts: Vec<String> = o
                .get("content")
                .and_then(Value::as_array)
                .map(|c| c.iter().filter_map(text_of).collect())
                .unwrap_or_default();
            let sep = if o.get("type").and_then(Value::as_str) == Some("doc") {
                "\n\n"
            } else {
                ""
            };
            Some(parts.join(sep))
        }
        _ => None,
    }
}

fn rich(ver: Ver, text: Option<&str>) -> Value {
    match (ver, text) {
        (_, None) => Value::Null,
        (Ver::V3, Some(t)) => adf(t),
        (Ver::V2, Some(t)) => json!(t),
    }
}

fn api(s: &Shared, ver: Ver) -> String {
    format!(
        "{}/rest/api/{}",
        s.jira_base(),
        if ver == Ver::V3 { 3 } else { 2 }
    )
}

fn avatars(id: &str) -> Value {
    let u = |n: u32| format!("https://avatar-management.example.com/{id}/{n}");
    json!({"48x48": u(48), "24x24": u(24), "16x16": u(16), "32x32": u(32)})
}

fn user_json(s: &Shared, ver: Ver, jira: &Jira, account: &str) -> Value {
    let Some(u) = jira.user(account) else {
        return Value::Null;
    };
    match s.flavour {
        JiraFlavour::Cloud => json!({
            "self": format!("{}/user?accountId={}", api(s, ver), u.account_id),
            "accountId": u.account_id,
            "accountType": "atlassian",
            "emailAddress": u.email,
            "avatarUrls": avatars(&u.account_id),
            "displayName": u.display_name,
            "active": u.active,
            "timeZone": "Etc/UTC",
        }),
        JiraFlavour::Datacenter => json!({
            "self": format!("{}/user?username={}", api(s, ver), u.name),
            "key": u.name,
            "name": u.name,
            "emailAddress": u.email,
            "avatarUrls": avatars(&u.name),
            "displayName": u.display_name,
            "active": u.active,
            "timeZone": "Etc/UTC",
        }),
    }
}

fn status_json(s: &Shared, ver: Ver, st: &JiraStatus) -> Value {
    let (cid, cname, color) = match st.category.as_str() {
        "new" => (2, "To Do", "blue-gray"),
        "indeterminate" => (4, "In Progress", "yellow"),
        "done" => (3, "Done", "green"),
        _ => (1, "No Category", "medium-gray"),
    };
    json!({
        "self": format!("{}/status/{}", api(s, ver), st.id),
        "description": "",
        "iconUrl": format!("{}/images/icons/statuses/generic.png", s.jira_base()),
        "name": st.name,
        "id": st.id,
        "statusCategory": {
            "self": format!("{}/statuscategory/{cid}", api(s, ver)),
            "id": cid,
            "key": st.category,
            "colorName": color,
            "name": cname,
        },
    })
}

fn issuetype_json(s: &Shared, ver: Ver, t: &JiraIssueType) -> Value {
    json!({
        "self": format!("{}/issuetype/{}", api(s, ver), t.id),
        "id": t.id,
        "description": format!("{} issue type", t.name),
        "iconUrl": format!("{}/images/icons/issuetypes/{}.png", s.jira_base(), t.name.to_lowercase()),
        "name": t.name,
        "subtask": t.subtask,
        "avatarId": 10300 + t.id.parse::<u64>().unwrap_or(0) % 100,
        "hierarchyLevel": t.hierarchy_level,
    })
}

fn project_json(s: &Shared, ver: Ver, p: &JiraProject) -> Value {
    json!({
        "self": format!("{}/project/{}", api(s, ver), p.id),
        "id": p.id.to_string(),
        "key": p.key,
        "name": p.name,
        "projectTypeKey": "software",
        "simplified": false,
        "avatarUrls": avatars(&p.key),
    })
}

fn version_json(s: &Shared, ver: Ver, p: &JiraProject, v: &JiraVersion) -> Value {
    let mut j = json!({
        "self": format!("{}/version/{}", api(s, ver), v.id),
        "id": v.id.to_string(),
        "name": v.name,
        "archived": v.archived,
        "released": v.released,
        "projectId": p.id,
    });
    if let Some(d) = &v.description {
        j["description"] = json!(d);
    }
    if let Some(d) = v.release_date {
        j["releaseDate"] = json!(d.to_string());
    }
    j
}

fn priority_json(s: &Shared, ver: Ver, jira: &Jira, id: &str) -> Value {
    let name = jira
        .priorities
        .iter()
        .find(|(pid, _)| pid == id)
        .map(|(_, n)| n.as_str())
        .unwrap_or("Medium");
    json!({
        "self": format!("{}/priority/{id}", api(s, ver)),
        "iconUrl": format!("{}/images/icons/priorities/{}.svg", s.jira_base(), name.to_lowercase()),
        "name": name,
        "id": id,
    })
}

fn comment_json(s: &Shared, ver: Ver, jira: &Jira, issue: &JiraIssue, c: &JiraComment) -> Value {
    json!({
        "self": format!("{}/issue/{}/comment/{}", api(s, ver), issue.id, c.id),
        "id": c.id.to_string(),
        "author": user_json(s, ver, jira, &c.author),
        "body": rich(ver, Some(&c.body)),
        "updateAuthor": user_json(s, ver, jira, &c.author),
        "created": jira_time(&c.created),
        "updated": jira_time(&c.updated),
        "jsdPublic": true,
    })
}

fn worklog_json(s: &Shared, ver: Ver, jira: &Jira, issue: &JiraIssue, w: &JiraWorklog) -> Value {
    let mut v = json!({
        "self": format!("{}/issue/{}/worklog/{}", api(s, ver), issue.id, w.id),
        "author": user_json(s, ver, jira, &w.author),
        "updateAuthor": user_json(s, ver, jira, &w.author),
        "created": jira_time(&w.created),
        "updated": jira_time(&w.updated),
        "started": jira_time(&w.started),
        "timeSpent": jira_human(w.time_spent_seconds),
        "timeSpentSeconds": w.time_spent_seconds,
        "id": w.id.to_string(),
        "issueId": issue.id.to_string(),
    });
    match (&w.comment, ver) {
        (Some(c), _) => v["comment"] = rich(ver, Some(c)),
        // The v2 representation always carries a (possibly empty) comment.
        (None, Ver::V2) => v["comment"] = json!(""),
        (None, Ver::V3) => {}
    }
    v
}

fn progress(spent: Option<i64>, remaining: Option<i64>) -> Value {
    let p = spent.unwrap_or(0);
    let total = p + remaining.unwrap_or(0);
    if total > 0 {
        json!({"progress": p, "total": total, "percent": p * 100 / total})
    } else {
        json!({"progress": p, "total": total})
    }
}

fn timetracking(i: &JiraIssue) -> Value {
    let mut t = Map::new();
    if let Some(o) = i.original_estimate {
        t.insert("originalEstimate".into(), json!(jira_human(o)));
        t.insert("originalEstimateSeconds".into(), json!(o));
    }
    if let Some(r) = i.remaining_estimate {
        t.insert("remainingEstimate".into(), json!(jira_human(r)));
        t.insert("remainingEstimateSeconds".into(), json!(r));
    }
    if let Some(sp) = i.time_spent {
        t.insert("timeSpent".into(), json!(jira_human(sp)));
        t.insert("timeSpentSeconds".into(), json!(sp));
    }
    Value::Object(t)
}

fn brief_issue(s: &Shared, ver: Ver, jira: &Jira, i: &JiraIssue) -> Value {
    json!({
        "id": i.id.to_string(),
        "key": i.key,
        "self": format!("{}/issue/{}", api(s, ver), i.id),
        "fields": {
            "summary": i.summary,
            "status": jira.status(&i.status).map(|st| status_json(s, ver, st)),
            "priority": priority_json(s, ver, jira, &i.priority),
            "issuetype": jira.issue_type(&i.issue_type).map(|t| issuetype_json(s, ver, t)),
        },
    })
}

/// Fields that `*navigable` leaves out.
const NOT_NAVIGABLE: &[&str] = &["comment", "worklog", "timetracking"];

/// Every field of an issue, keyed by field id.
/// Every field of an issue. The fields that scan the whole project for
/// sub-tasks (aggregates, `subtasks`) are built only when `with_subtasks`:
/// a search page asking for a few fields then costs O(page), not
/// O(page × issues).
fn all_fields(
    s: &Shared,
    ver: Ver,
    jira: &Jira,
    idx: usize,
    with_subtasks: bool,
) -> Map<String, Value> {
    let i = &jira.issues[idx];
    let mut f = Map::new();
    let project = jira.project(&i.project);
    f.insert("summary".into(), json!(i.summary));
    f.insert("description".into(), rich(ver, i.description.as_deref()));
    f.insert("environment".into(), Value::Null);
    f.insert(
        "issuetype".into(),
        jira.issue_type(&i.issue_type)
            .map(|t| issuetype_json(s, ver, t))
            .unwrap_or(Value::Null),
    );
    f.insert(
        "project".into(),
        project
            .map(|p| project_json(s, ver, p))
            .unwrap_or(Value::Null),
    );
    f.insert(
        "status".into(),
        jira.status(&i.status)
            .map(|st| status_json(s, ver, st))
            .unwrap_or(Value::Null),
    );
    f.insert("priority".into(), priority_json(s, ver, jira, &i.priority));
    f.insert(
        "resolution".into(),
        match &i.resolution {
            Some(r) => json!({
                "self": format!("{}/resolution/10000", api(s, ver)),
                "id": "10000",
                "description": "Work has been completed on this issue.",
                "name": r,
            }),
            None => Value::Null,
        },
    );
    f.insert(
        "resolutiondate".into(),
        json!(i.resolved.as_ref().map(jira_time)),
    );
    f.insert(
        "assignee".into(),
        i.assignee
            .as_deref()
            .map(|a| user_json(s, ver, jira, a))
            .unwrap_or(Value::Null),
    );
    f.insert("reporter".into(), user_json(s, ver, jira, &i.reporter));
    f.insert("creator".into(), user_json(s, ver, jira, &i.reporter));
    f.insert("labels".into(), json!(i.labels));
    f.insert(
        "fixVersions".into(),
        Value::Array(
            project
                .map(|p| {
                    i.fix_versions
                        .iter()
                        .filter_map(|id| p.versions.iter().find(|v| v.id == *id))
                        .map(|v| version_json(s, ver, p, v))
                        .collect()
                })
                .unwrap_or_default(),
        ),
    );
    f.insert("versions".into(), json!([]));
    f.insert("components".into(), json!([]));
    f.insert("issuelinks".into(), json!([]));
    f.insert("attachment".into(), json!([]));
    f.insert("created".into(), json!(jira_time(&i.created)));
    f.insert("updated".into(), json!(jira_time(&i.updated)));
    f.insert(
        "statuscategorychangedate".into(),
        json!(jira_time(&i.updated)),
    );
    f.insert("lastViewed".into(), Value::Null);
    f.insert("duedate".into(), json!(i.due_date.map(|d| d.to_string())));
    f.insert("timespent".into(), json!(i.time_spent));
    f.insert("timeoriginalestimate".into(), json!(i.original_estimate));
    f.insert("timeestimate".into(), json!(i.remaining_estimate));
    let workratio = match (i.time_spent, i.original_estimate) {
        (Some(sp), Some(o)) if o > 0 => sp * 100 / o,
        (None, Some(o)) if o > 0 => 0,
        _ => -1,
    };
    f.insert("workratio".into(), json!(workratio));
    f.insert(
        "progress".into(),
        progress(i.time_spent, i.remaining_estimate),
    );
    if with_subtasks {
        let agg_spent = jira.aggregate(idx, |x| x.time_spent);
        let agg_orig = jira.aggregate(idx, |x| x.original_estimate);
        let agg_rem = jira.aggregate(idx, |x| x.remaining_estimate);
        f.insert("aggregatetimespent".into(), json!(agg_spent));
        f.insert("aggregatetimeoriginalestimate".into(), json!(agg_orig));
        f.insert("aggregatetimeestimate".into(), json!(agg_rem));
        f.insert("aggregateprogress".into(), progress(agg_spent, agg_rem));
    }
    f.insert("timetracking".into(), timetracking(i));
    f.insert(
        "watches".into(),
        json!({"self": format!("{}/issue/{}/watchers", api(s, ver), i.key), "watchCount": 1, "isWatching": false}),
    );
    f.insert(
        "votes".into(),
        json!({"self": format!("{}/issue/{}/votes", api(s, ver), i.key), "votes": 0, "hasVoted": false}),
    );
    if let Some(p) = i.parent.as_deref().and_then(|k| jira.issue_index(k)) {
        f.insert("parent".into(), brief_issue(s, ver, jira, &jira.issues[p]));
    }
    if with_subtasks {
        let subtasks: Vec<Value> = jira
            .issues
            .iter()
            .filter(|x| {
                x.parent.as_deref() == Some(i.key.as_str())
                    && jira.issue_type(&x.issue_type).is_some_and(|t| t.subtask)
            })
            .map(|x| brief_issue(s, ver, jira, x))
            .collect();
        f.insert("subtasks".into(), Value::Array(subtasks));
    }
    for cf in &jira.custom_fields {
        let v = if cf.name == "Epic Link" {
            json!(i.epic_link)
        } else {
            i.custom.get(&cf.id).cloned().unwrap_or(Value::Null)
        };
        f.insert(cf.id.clone(), v);
    }
    let comments: Vec<Value> = i
        .comments
        .iter()
        .map(|c| comment_json(s, ver, jira, i, c))
        .collect();
    f.insert(
        "comment".into(),
        json!({"comments": comments, "self": format!("{}/issue/{}/comment", api(s, ver), i.id), "maxResults": comments.len(), "total": comments.len(), "startAt": 0}),
    );
    let worklogs: Vec<Value> = i
        .worklogs
        .iter()
        .map(|w| worklog_json(s, ver, jira, i, w))
        .collect();
    f.insert(
        "worklog".into(),
        json!({"startAt": 0, "maxResults": 20, "total": worklogs.len(), "worklogs": worklogs}),
    );
    f
}

/// Which fields a request asked for.
#[derive(Debug, Clone)]
enum FieldSel {
    /// Only the id (the Cloud search default).
    IdOnly,
    /// A list of field ids with `*all`/`*navigable` expansion and exclusions.
    Some {
        all: bool,
        navigable: bool,
        include: Vec<String>,
        exclude: Vec<String>,
    },
}

fn field_sel(list: Option<Vec<String>>, default: FieldSel, jira: &Jira) -> FieldSel {
    let Some(list) = list else { return default };
    if list.is_empty() {
        return default;
    }
    let mut all = false;
    let mut navigable = false;
    let mut include = Vec::new();
    let mut exclude = Vec::new();
    for f in list {
        let f = f.trim().to_string();
        let resolve = |name: &str| -> String {
            jira.custom_fields
                .iter()
                .find(|c| c.name.eq_ignore_ascii_case(name))
                .map(|c| c.id.clone())
                .unwrap_or_else(|| name.to_string())
        };
        match f.as_str() {
            "*all" => all = true,
            "*navigable" => navigable = true,
            x if x.starts_with('-') => exclude.push(resolve(&x[1..])),
            "id" | "key" | "" => {}
            x => include.push(resolve(x)),
        }
    }
    FieldSel::Some {
        all,
        navigable,
        include,
        exclude,
    }
}

fn issue_json(s: &Shared, ver: Ver, jira: &Jira, idx: usize, sel: &FieldSel) -> Value {
    let i = &jira.issues[idx];
    let FieldSel::Some {
        all,
        navigable,
        include,
        exclude,
    } = sel
    else {
        return json!({"id": i.id.to_string()});
    };
    let wanted = |k: &str| {
        !exclude.iter().any(|x| x == k)
            && (*all
                || include.iter().any(|x| x == k)
                || (*navigable && !NOT_NAVIGABLE.contains(&k)))
    };
    let with_subtasks = [
        "subtasks",
        "aggregatetimespent",
        "aggregatetimeoriginalestimate",
        "aggregatetimeestimate",
        "aggregateprogress",
    ]
    .iter()
    .any(|k| wanted(k));
    let mut fields = all_fields(s, ver, jira, idx, with_subtasks);
    fields.retain(|k, _| wanted(k));
    json!({
        "expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
        "id": i.id.to_string(),
        "self": format!("{}/issue/{}", api(s, ver), i.id),
        "key": i.key,
        "fields": fields,
    })
}

fn names_map(jira: &Jira) -> Value {
    let mut m = Map::new();
    for (id, name) in SYSTEM_FIELDS.iter().map(|(id, name, ..)| (id, name)) {
        m.insert((*id).into(), json!(name));
    }
    for cf in &jira.custom_fields {
        m.insert(cf.id.clone(), json!(cf.name));
    }
    Value::Object(m)
}

/// (id, name, schema type, navigable, orderable, searchable, clause names)
/// A system field definition.
type FieldDef = (
    &'static str,
    &'static str,
    &'static str,
    bool,
    bool,
    bool,
    &'static [&'static str],
);

const SYSTEM_FIELDS: &[FieldDef] = &[
    (
        "summary",
        "Summary",
        "string",
        true,
        true,
        true,
        &["summary"],
    ),
    (
        "description",
        "Description",
        "string",
        true,
        true,
        true,
        &["description"],
    ),
    (
        "issuetype",
        "Issue Type",
        "issuetype",
        true,
        true,
        true,
        &["issuetype", "type"],
    ),
    (
        "project",
        "Project",
        "project",
        true,
        false,
        true,
        &["project"],
    ),
    ("status", "Status", "status", true, false, true, &["status"]),
    (
        "statusCategory",
        "Status Category",
        "statusCategory",
        false,
        false,
        true,
        &["statusCategory"],
    ),
    (
        "priority",
        "Priority",
        "priority",
        true,
        true,
        true,
        &["priority"],
    ),
    (
        "resolution",
        "Resolution",
        "resolution",
        true,
        true,
        true,
        &["resolution"],
    ),
    (
        "resolutiondate",
        "Resolved",
        "datetime",
        true,
        false,
        true,
        &["resolutiondate", "resolved"],
    ),
    (
        "assignee",
        "Assignee",
        "user",
        true,
        true,
        true,
        &["assignee"],
    ),
    (
        "reporter",
        "Reporter",
        "user",
        true,
        true,
        true,
        &["reporter"],
    ),
    (
        "creator",
        "Creator",
        "user",
        true,
        false,
        true,
        &["creator"],
    ),
    ("labels", "Labels", "array", true, true, true, &["labels"]),
    (
        "fixVersions",
        "Fix versions",
        "array",
        true,
        true,
        true,
        &["fixVersion"],
    ),
    (
        "parent",
        "Parent",
        "issuelink",
        true,
        true,
        true,
        &["parent"],
    ),
    (
        "subtasks",
        "Sub-tasks",
        "array",
        true,
        false,
        false,
        &["subtasks"],
    ),
    (
        "created",
        "Created",
        "datetime",
        true,
        false,
        true,
        &["created", "createdDate"],
    ),
    (
        "updated",
        "Updated",
        "datetime",
        true,
        false,
        true,
        &["updated", "updatedDate"],
    ),
    (
        "duedate",
        "Due date",
        "date",
        true,
        true,
        true,
        &["due", "duedate"],
    ),
    (
        "timespent",
        "Time Spent",
        "number",
        true,
        false,
        false,
        &["timespent"],
    ),
    (
        "timeoriginalestimate",
        "Original Estimate",
        "number",
        true,
        false,
        false,
        &["originalEstimate", "timeoriginalestimate"],
    ),
    (
        "timeestimate",
        "Remaining Estimate",
        "number",
        true,
        false,
        false,
        &["remainingEstimate", "timeestimate"],
    ),
    (
        "aggregatetimespent",
        "Σ Time Spent",
        "number",
        true,
        false,
        false,
        &[],
    ),
    (
        "aggregatetimeoriginalestimate",
        "Σ Original Estimate",
        "number",
        true,
        false,
        false,
        &[],
    ),
    (
        "aggregatetimeestimate",
        "Σ Remaining Estimate",
        "number",
        true,
        false,
        false,
        &[],
    ),
    (
        "progress",
        "Progress",
        "progress",
        true,
        false,
        false,
        &["progress"],
    ),
    (
        "aggregateprogress",
        "Σ Progress",
        "progress",
        true,
        false,
        false,
        &[],
    ),
    (
        "workratio",
        "Work Ratio",
        "number",
        true,
        false,
        true,
        &["workratio"],
    ),
    (
        "timetracking",
        "Time tracking",
        "timetracking",
        false,
        true,
        false,
        &[],
    ),
    (
        "comment",
        "Comment",
        "comments-page",
        false,
        true,
        true,
        &["comment"],
    ),
    ("worklog", "Log Work", "array", false, true, false, &[]),
];

// ---------------------------------------------------------------- handlers

async fn myself(
    State(s): State<Arc<Shared>>,
    Path(ver): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> JResult {
    let c = ctx(&s, &ver, &headers, q, &[])?;
    let w = s.read();
    let mut u = user_json(&s, c.ver, &w.jira, &c.account);
    u["locale"] = json!("en_US");
    u["groups"] = json!({"size": 1, "items": []});
    u["applicationRoles"] = json!({"size": 1, "items": []});
    ok(&u)
}

async fn server_info(
    State(s): State<Arc<Shared>>,
    Path(ver): Path<String>,
    headers: HeaderMap,
) -> JResult {
    check_version(&s, &ver)?;
    // serverInfo is readable anonymously on both flavours.
    let _ = headers;
    let (version, numbers, deployment) = match s.flavour {
        JiraFlavour::Cloud => ("1001.0.0-SNAPSHOT", json!([1001, 0, 0]), "Cloud"),
        JiraFlavour::Datacenter => ("10.3.0", json!([10, 3, 0]), "Server"),
    };
    let mut info = json!({
        "baseUrl": s.jira_base(),
        "version": version,
        "versionNumbers": numbers,
        "deploymentType": deployment,
        "buildNumber": 100204,
        "buildDate": "2026-01-01T00:00:00.000+0000",
        "serverTime": jira_time(&Utc::now()),
        "scmInfo": "948b370c557f4bbf768b92203f3aca5d86ee9758",
        "serverTitle": "Jira",
    });
    if s.flavour == JiraFlavour::Datacenter {
        info["defaultLocale"] = json!({"locale": "en_US"});
    }
    ok(&info)
}

async fn fields(
    State(s): State<Arc<Shared>>,
    Path(ver): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> JResult {
    let _c = ctx(&s, &ver, &headers, q, &[])?;
    let w = s.read();
    let mut out: Vec<Value> = SYSTEM_FIELDS
        .iter()
        .map(|(id, name, ty, nav, ord, search, clauses)| {
            json!({
                "id": id, "key": id, "name": name, "custom": false,
                "orderable": ord, "navigable": nav, "searchable": search,
                "clauseNames": clauses,
                "schema": {"type": ty, "system": id},
            })
        })
        .collect();
    for cf in &w.jira.custom_fields {
        let n = cf.number();
        out.push(json!({
            "id": cf.id, "key": cf.id, "name": cf.name, "custom": true,
            "orderable": true, "navigable": true, "searchable": true,
            "clauseNames": [format!("cf[{n}]"), cf.name],
            "schema": {"type": cf.schema_type, "custom": cf.custom_type, "customId": n},
        }));
    }
    ok(&Value::Array(out))
}

async fn search_old(
    State(s): State<Arc<Shared>>,
    Path(ver): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> JResult {
    if s.flavour == JiraFlavour::Cloud {
        check_version(&s, &ver)?;
        return Err(JErr::msg(StatusCode::GONE, SEARCH_REMOVED));
    }
    let c = ctx(&s, &ver, &headers, q, &body)?;
    let p = SearchParams::from(&c);
    let w = s.read();
    let start_at = p
        .start_at
        .map(|v| v.parse::<usize>())
        .transpose()
        .map_err(|_| {
            JErr::msg(
                StatusCode::BAD_REQUEST,
                "startAt must be a non-negative integer",
            )
        })?
        .unwrap_or(0);
    let max = parse_max(p.max_results.as_deref(), 50, 1000)?;
    let matched = run_jql(&w.jira, &p.jql, &c.account)?;
    let sel = field_sel(
        p.fields,
        FieldSel::Some {
            all: false,
            navigable: true,
            include: vec![],
            exclude: vec![],
        },
        &w.jira,
    );
    let issues: Vec<Value> = matched
        .iter()
        .skip(start_at)
        .take(max)
        .map(|i| issue_json(&s, c.ver, &w.jira, *i, &sel))
        .collect();
    let mut out = json!({
        "expand": "schema,names",
        "startAt": start_at,
        "maxResults": max,
        "total": matched.len(),
        "issues": issues,
    });
    if p.expand.contains("names") {
        out["names"] = names_map(&w.jira);
    }
    ok(&out)
}

fn parse_max(v: Option<&str>, default: usize, cap: usize) -> Result<usize, JErr> {
    match v {
        None | Some("") => Ok(default),
        Some(v) => v
            .parse::<i64>()
            .map(|n| {
                if n < 0 {
                    default
                } else {
                    (n as usize).min(cap)
                }
            })
            .map_err(|_| {
                JErr::msg(
                    StatusCode::BAD_REQUEST,
                    format!("The value '{v}' is invalid for maxResults."),
                )
            }),
    }
}

/// Search inputs from GET params or a POST body.
struct SearchParams {
    jql: String,
    start_at: Option<String>,
    max_results: Option<String>,
    next_page_token: Option<String>,
    fields: Option<Vec<String>>,
    expand: String,
}

impl SearchParams {
    fn from(c: &Ctx) -> SearchParams {
        if let Some(Value::Object(b)) = &c.body {
            let sv = |k: &str| {
                b.get(k).and_then(|v| match v {
                    Value::String(s) => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
            };
            let fields = b.get("fields").map(|f| match f {
                Value::Array(a) => a
                    .iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect(),
                Value::String(s) => s.split(',').map(str::to_string).collect(),
                _ => vec![],
            });
            let expand = match b.get("expand") {
                Some(Value::Array(a)) => a
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(","),
                Some(Value::String(s)) => s.clone(),
                _ => String::new(),
            };
            return SearchParams {
                jql: sv("jql").unwrap_or_default(),
                start_at: sv("startAt"),
                max_results: sv("maxResults"),
                next_page_token: sv("nextPageToken"),
                fields,
                expand,
            };
        }
        let p = &c.params;
        SearchParams {
            jql: p.get("jql").unwrap_or("").to_string(),
            start_at: p.get("startAt").map(str::to_string),
            max_results: p.get("maxResults").map(str::to_string),
            next_page_token: p.get("nextPageToken").map(str::to_string),
            fields: p.list("fields"),
            expand: p.list("expand").unwrap_or_default().join(","),
        }
    }
}

fn jql_err(e: jql::JqlError) -> JErr {
    JErr::msg(StatusCode::BAD_REQUEST, e.message)
}

fn compile_jql(jira: &Jira, q: &str, account: &str) -> Result<jql::Compiled, JErr> {
    let parsed = jql::parse(q).map_err(jql_err)?;
    let ctx = jql::EvalCtx {
        current_user: account.to_string(),
        now: Utc::now(),
    };
    jql::Compiled::new(&parsed, jira, &ctx).map_err(jql_err)
}

fn run_jql(jira: &Jira, q: &str, account: &str) -> Result<Vec<usize>, JErr> {
    let c = compile_jql(jira, q, account)?;
    let mut idx: Vec<usize> = (0..jira.issues.len())
        .filter(|i| c.matches(jira, &jira.issues[*i]))
        .collect();
    c.sort(jira, &mut idx);
    Ok(idx)
}

fn encode_token(offset: usize, jql: &str) -> String {
    let h = jql.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{offset}:{h:x}"))
}

fn decode_token(t: &str, jql: &str) -> Option<usize> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(t)
        .ok()?;
    let s = String::from_utf8(raw).ok()?;
    let (off, _) = s.split_once(':')?;
    let offset = off.parse().ok()?;
    (encode_token(offset, jql) == t).then_some(offset)
}

async fn search_jql(
    State(s): State<Arc<Shared>>,
    Path(ver): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> JResult {
    if s.flavour != JiraFlavour::Cloud {
        return Err(JErr::not_found());
    }
    let c = ctx(&s, &ver, &headers, q, &body)?;
    let p = SearchParams::from(&c);
    let w = s.read();
    let compiled = compile_jql(&w.jira, &p.jql, &c.account)?;
    if !compiled.is_bounded() {
        return Err(JErr::msg(
            StatusCode::BAD_REQUEST,
            "Unbounded JQL queries are not allowed here. Please add a search restriction to your query.",
        ));
    }
    let sel = field_sel(p.fields, FieldSel::IdOnly, &w.jira);
    let cap = if matches!(sel, FieldSel::IdOnly) {
        5000
    } else {
        100
    };
    let max = parse_max(p.max_results.as_deref(), 50, cap)?.max(1);
    let offset = match &p.next_page_token {
        None => 0,
        Some(t) if t.is_empty() => 0,
        Some(t) => decode_token(t, &p.jql).ok_or_else(|| {
            JErr::msg(
                StatusCode::BAD_REQUEST,
                "The provided next page token is invalid or expired.",
            )
        })?,
    };
    let mut idx: Vec<usize> = (0..w.jira.issues.len())
        .filter(|i| compiled.matches(&w.jira, &w.jira.issues[*i]))
        .collect();
    compiled.sort(&w.jira, &mut idx);
    let end = (offset + max).min(idx.len());
    let start = offset.min(end);
    let issues: Vec<Value> = idx[start..end]
        .iter()
        .map(|i| issue_json(&s, c.ver, &w.jira, *i, &sel))
        .collect();
    let is_last = end >= idx.len();
    let mut out = json!({"issues": issues, "isLast": is_last});
    if !is_last {
        out["nextPageToken"] = json!(encode_token(end, &p.jql));
    }
    if p.expand.contains("names") {
        out["names"] = names_map(&w.jira);
    }
    ok(&out)
}

async fn approximate_count(
    State(s): State<Arc<Shared>>,
    Path(ver): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> JResult {
    if s.flavour != JiraFlavour::Cloud {
        return Err(JErr::not_found());
    }
    let c = ctx(&s, &ver, &headers, q, &body)?;
    let jql = c
        .body
        .as_ref()
        .and_then(|b| b.get("jql"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let w = s.read();
    let compiled = compile_jql(&w.jira, &jql, &c.account)?;
    if !compiled.is_bounded() {
        return Err(JErr::msg(
            StatusCode::BAD_REQUEST,
            "Unbounded JQL queries are not allowed here. Please add a search restriction to your query.",
        ));
    }
    let count = w
        .jira
        .issues
        .iter()
        .filter(|i| compiled.matches(&w.jira, i))
        .count();
    ok(&json!({"count": count}))
}

fn find_issue(jira: &Jira, key: &str) -> Result<usize, JErr> {
    jira.issue_index(key).ok_or_else(JErr::issue_not_found)
}

async fn get_issue(
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
    ok(&v)
}

/// A new issue for [`do_create_issue`].
#[derive(Debug, Clone, Default)]
pub(crate) struct NewIssue {
    pub project: String,
    pub summary: String,
    pub issue_type: String,
    pub description: Option<String>,
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
        issue_type: itype.id.clone(),
        status: status.id.clone(),
        priority: "3".into(),
        resolution: done.then(|| "Done".to_string()),
        assignee,
        reporter: actor.to_string(),
        labels: n.labels,
        fix_versions: vec![],
        parent: n
            .parent
            .map(|x| x.to_ascii_uppercase())
            .or_else(|| n.epic.clone().map(|e| e.to_ascii_uppercase())),
        epic_link: n.epic.map(|e| e.to_ascii_uppercase()),
        created: now,
        updated: now,
        resolved: done.then_some(now),
        due_date: None,
        time_spent: None,
        original_estimate: n.original_estimate,
        remaining_estimate: n.original_estimate,
        custom,
        comments: vec![],
        worklogs: vec![],
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

fn obj_str(v: Option<&Value>, keys: &[&str]) -> Option<String> {
    let v = v?;
    if let Some(s) = v.as_str() {
        return Some(s.to_string());
    }
    keys.iter().find_map(|k| {
        v.get(*k).and_then(|x| {
            x.as_str()
                .map(str::to_string)
                .or_else(|| x.as_u64().map(|n| n.to_string()))
        })
    })
}

async fn create_issue(
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
        description: fields.get("description").and_then(text_of),
        parent: obj_str(fields.get("parent"), &["key", "id"]),
        assignee: obj_str(fields.get("assignee"), &["accountId", "name", "id"]),
        ..Default::default()
    };
    if n.issue_type.is_empty() {
        return Err(JErr::field("issuetype", "Specify an issue type"));
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

fn change_item(
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

async fn edit_issue(
    State(s): State<Arc<Shared>>,
    Path((ver, key)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> JResult {
    let c = ctx(&s, &ver, &headers, q, &body)?;
    let body = c.body.clone().unwrap_or_else(|| json!({}));
    let mut w = s.write();
    let jira = &mut w.jira;
    let idx = find_issue(jira, &key)?;
    let known: Vec<(String, String)> = jira
        .custom_fields
        .iter()
        .map(|f| (f.id.clone(), f.name.clone()))
        .collect();
    let mut items = Vec::new();
    let mut issue = jira.issues[idx].clone();
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
                    items.push(change_item(
                        "summary",
                        None,
                        Some(issue.summary.clone()),
                        None,
                        Some(new.clone()),
                    ));
                    issue.summary = new;
                }
                "description" => {
                    let new = text_of(v);
                    items.push(change_item(
                        "description",
                        None,
                        issue.description.clone(),
                        None,
                        new.clone(),
                    ));
                    issue.description = new;
                }
                "labels" => {
                    let new: Vec<String> = v
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(|x| x.as_str().map(str::to_string))
                                .collect()
                        })
                        .ok_or_else(|| {
                            JErr::field("labels", "Labels must be an array of strings.")
                        })?;
                    items.push(change_item(
                        "labels",
                        None,
                        Some(issue.labels.join(" ")),
                        None,
                        Some(new.join(" ")),
                    ));
                    issue.labels = new;
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
                    items.push(change_item(
                        "assignee",
                        issue.assignee.clone(),
                        None,
                        new.clone(),
                        None,
                    ));
                    issue.assignee = new;
                }
                "duedate" => {
                    issue.due_date = match v.as_str() {
                        None => None,
                        Some(d) => {
                            Some(NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| {
                                JErr::field("duedate", "Error parsing date string: {d}")
                            })?)
                        }
                    };
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
    if let Some(update) = body.get("update").and_then(Value::as_object)
        && let Some(ops) = update.get("labels").and_then(Value::as_array)
    {
        let before = issue.labels.join(" ");
        for op in ops {
            if let Some(a) = op.get("add").and_then(Value::as_str)
                && !issue.labels.iter().any(|l| l == a)
            {
                issue.labels.push(a.to_string());
            }
            if let Some(r) = op.get("remove").and_then(Value::as_str) {
                issue.labels.retain(|l| l != r);
            }
            if let Some(set) = op.get("set").and_then(Value::as_array) {
                issue.labels = set
                    .iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect();
            }
        }
        items.push(change_item(
            "labels",
            None,
            Some(before),
            None,
            Some(issue.labels.join(" ")),
        ));
    }
    issue.updated = Utc::now();
    jira.issues[idx] = issue;
    let account = c.account.clone();
    emit_issue_event(
        &s,
        jira,
        idx,
        &account,
        "jira:issue_updated",
        "issue_updated",
        Some(items),
        None,
    );
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn delete_issue(
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

fn transition_id(jira: &Jira, status_id: &str) -> String {
    let pos = jira
        .statuses
        .iter()
        .position(|s| s.id == status_id)
        .unwrap_or(0);
    ((pos + 1) * 10 + 1).to_string()
}

async fn get_transitions(
    State(s): State<Arc<Shared>>,
    Path((ver, key)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> JResult {
    let c = ctx(&s, &ver, &headers, q, &[])?;
    let w = s.read();
    let idx = find_issue(&w.jira, &key)?;
    let current = &w.jira.issues[idx].status;
    let ts: Vec<Value> = w
        .jira
        .statuses
        .iter()
        .filter(|st| &st.id != current)
        .map(|st| {
            json!({
                "id": transition_id(&w.jira, &st.id),
                "name": st.name,
                "to": status_json(&s, c.ver, st),
                "hasScreen": false,
                "isGlobal": true,
                "isInitial": false,
                "isAvailable": true,
                "isConditional": false,
                "isLooped": false,
            })
        })
        .collect();
    ok(&json!({"expand": "transitions", "transitions": ts}))
}

/// Moves an issue to a status (resolving it in a done category) and sends
/// `jira:issue_updated` with a changelog.
pub(crate) fn do_set_status(s: &Shared, idx: usize, status_id: &str, actor: &str) {
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
        items.push(change_item(
            "resolution",
            None,
            None,
            Some("10000".into()),
            Some("Done".into()),
        ));
        issue.resolution = Some("Done".into());
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

async fn do_transition(
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
    let (idx, status) = {
        let w = s.read();
        let idx = find_issue(&w.jira, &key)?;
        let status = w
            .jira
            .statuses
            .iter()
            .find(|st| transition_id(&w.jira, &st.id) == tid && st.id != w.jira.issues[idx].status)
            .map(|st| st.id.clone())
            .ok_or_else(|| {
                JErr::msg(
                    StatusCode::BAD_REQUEST,
                    format!("Transition id '{tid}' is not valid for this issue."),
                )
            })?;
        (idx, status)
    };
    do_set_status(&s, idx, &status, &c.account);
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn list_comments(
    State(s): State<Arc<Shared>>,
    Path((ver, key)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> JResult {
    let c = ctx(&s, &ver, &headers, q, &[])?;
    let w = s.read();
    let idx = find_issue(&w.jira, &key)?;
    let i = &w.jira.issues[idx];
    let start = c.params.int("startAt").ok().flatten().unwrap_or(0).max(0) as usize;
    let max = parse_max(c.params.get("maxResults"), 5000, 5000)?;
    let mut comments: Vec<&JiraComment> = i.comments.iter().collect();
    if c.params.get("orderBy").is_some_and(|o| o.starts_with('-')) {
        comments.reverse();
    }
    let page: Vec<Value> = comments
        .iter()
        .skip(start)
        .take(max)
        .map(|cm| comment_json(&s, c.ver, &w.jira, i, cm))
        .collect();
    ok(&json!({"startAt": start, "maxResults": max, "total": i.comments.len(), "comments": page}))
}

/// Adds a comment and sends `comment_created` (plus `jira:issue_updated`).
pub(crate) fn do_add_comment(s: &Shared, idx: usize, actor: &str, body: String) -> u64 {
    let mut w = s.write();
    let jira = &mut w.jira;
    let id = jira.alloc_id();
    let now = Utc::now();
    let Some(issue) = jira.issues.get_mut(idx) else {
        return 0;
    };
    issue.comments.push(JiraComment {
        id,
        author: actor.to_string(),
        body,
        created: now,
        updated: now,
    });
    issue.updated = now;
    let comment = {
        let i = &jira.issues[idx];
        i.comments
            .last()
            .map(|cm| comment_json(s, Ver::V2, jira, i, cm))
    };
    if let Some(cm) = comment {
        let i = &jira.issues[idx];
        let mut slim = brief_issue(s, Ver::V2, jira, i);
        if let Some(f) = slim.get_mut("fields").and_then(Value::as_object_mut) {
            f.insert(
                "assignee".into(),
                i.assignee
                    .as_deref()
                    .map(|a| user_json(s, Ver::V2, jira, a))
                    .unwrap_or(Value::Null),
            );
            f.insert(
                "project".into(),
                jira.project(&i.project)
                    .map(|p| project_json(s, Ver::V2, p))
                    .unwrap_or(Value::Null),
            );
        }
        let payload = json!({
            "timestamp": now.timestamp_millis(),
            "webhookEvent": "comment_created",
            "comment": cm,
            "issue": slim,
        });
        deliver(s, jira, idx, "comment_created", &payload);
        emit_issue_event(
            s,
            jira,
            idx,
            actor,
            "jira:issue_updated",
            "issue_commented",
            None,
            Some(cm),
        );
    }
    id
}

async fn add_comment(
    State(s): State<Arc<Shared>>,
    Path((ver, key)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> JResult {
    let c = ctx(&s, &ver, &headers, q, &body)?;
    let text = c
        .body
        .as_ref()
        .and_then(|b| b.get("body"))
        .and_then(text_of)
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| JErr::field("comment", "Comment body can not be empty!"))?;
    let idx = find_issue(&s.read().jira, &key)?;
    let id = do_add_comment(&s, idx, &c.account, text);
    let w = s.read();
    let i = &w.jira.issues[idx];
    let cm = i
        .comments
        .iter()
        .find(|x| x.id == id)
        .ok_or_else(JErr::issue_not_found)?;
    Ok(json_response(
        StatusCode::CREATED,
        &comment_json(&s, c.ver, &w.jira, i, cm),
        HeaderMap::new(),
    ))
}

async fn list_worklogs(
    State(s): State<Arc<Shared>>,
    Path((ver, key)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> JResult {
    let c = ctx(&s, &ver, &headers, q, &[])?;
    let w = s.read();
    let idx = find_issue(&w.jira, &key)?;
    let i = &w.jira.issues[idx];
    let start = c.params.int("startAt").ok().flatten().unwrap_or(0).max(0) as usize;
    let max = parse_max(c.params.get("maxResults"), 5000, 5000)?;
    let after = c.params.int("startedAfter").ok().flatten();
    let logs: Vec<Value> = i
        .worklogs
        .iter()
        .filter(|wl| after.is_none_or(|a| wl.started.timestamp_millis() >= a))
        .skip(start)
        .take(max)
        .map(|wl| worklog_json(&s, c.ver, &w.jira, i, wl))
        .collect();
    ok(&json!({"startAt": start, "maxResults": max, "total": i.worklogs.len(), "worklogs": logs}))
}

/// Logs work, adjusts the remaining estimate and sends `worklog_created`
/// (plus `jira:issue_updated`); returns the worklog id.
#[allow(clippy::too_many_arguments)]
pub(crate) fn do_add_worklog(
    s: &Shared,
    idx: usize,
    actor: &str,
    seconds: i64,
    started: Option<DateTime<Utc>>,
    comment: Option<String>,
    adjust: &str,
    new_estimate: Option<i64>,
) -> u64 {
    let mut w = s.write();
    let jira = &mut w.jira;
    let id = jira.alloc_id();
    let now = Utc::now();
    let Some(issue) = jira.issues.get_mut(idx) else {
        return 0;
    };
    let before_spent = issue.time_spent;
    let before_rem = issue.remaining_estimate;
    issue.worklogs.push(JiraWorklog {
        id,
        author: actor.to_string(),
        comment,
        started: started.unwrap_or(now),
        time_spent_seconds: seconds,
        created: now,
        updated: now,
    });
    issue.time_spent = Some(issue.time_spent.unwrap_or(0) + seconds);
    match adjust {
        "new" => issue.remaining_estimate = new_estimate.or(issue.remaining_estimate),
        "manual" => {
            issue.remaining_estimate = issue
                .remaining_estimate
                .map(|r| (r - new_estimate.unwrap_or(0)).max(0))
        }
        "leave" => {}
        _ => issue.remaining_estimate = issue.remaining_estimate.map(|r| (r - seconds).max(0)),
    }
    issue.updated = now;
    let items = vec![
        change_item(
            "timespent",
            before_spent.map(|x| x.to_string()),
            before_spent.map(|x| x.to_string()),
            issue.time_spent.map(|x| x.to_string()),
            issue.time_spent.map(|x| x.to_string()),
        ),
        change_item(
            "timeestimate",
            before_rem.map(|x| x.to_string()),
            before_rem.map(|x| x.to_string()),
            issue.remaining_estimate.map(|x| x.to_string()),
            issue.remaining_estimate.map(|x| x.to_string()),
        ),
    ];
    let wl = {
        let i = &jira.issues[idx];
        i.worklogs
            .last()
            .map(|wl| worklog_json(s, Ver::V2, jira, i, wl))
    };
    if let Some(wl) = wl {
        let payload = json!({
            "timestamp": now.timestamp_millis(),
            "webhookEvent": "worklog_created",
            "worklog": wl,
        });
        deliver(s, jira, idx, "worklog_created", &payload);
    }
    emit_issue_event(
        s,
        jira,
        idx,
        actor,
        "jira:issue_updated",
        "issue_work_logged",
        Some(items),
        None,
    );
    id
}

async fn add_worklog(
    State(s): State<Arc<Shared>>,
    Path((ver, key)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> JResult {
    let c = ctx(&s, &ver, &headers, q, &body)?;
    let b = c.body.clone().unwrap_or_else(|| json!({}));
    let seconds = match (b.get("timeSpentSeconds"), b.get("timeSpent")) {
        (Some(v), _) if !v.is_null() => v
            .as_i64()
            .filter(|n| *n > 0)
            .ok_or_else(|| JErr::field("timeLogged", "Time Spent must be a positive number."))?,
        (_, Some(Value::String(t))) => parse_duration(t)
            .filter(|n| *n > 0)
            .ok_or_else(|| JErr::field("timeLogged", "Invalid time duration entered."))?,
        _ => {
            return Err(JErr::field(
                "timeLogged",
                "You must indicate the time spent working.",
            ));
        }
    };
    let started = match b.get("started").and_then(Value::as_str) {
        None => None,
        Some(t) => Some(parse_time(t).ok_or_else(|| {
            JErr::field("started", "Invalid date format. Please enter the date in the format 'yyyy-MM-dd'T'HH:mm:ss.SSSZ'.")
        })?),
    };
    let adjust = c.params.get("adjustEstimate").unwrap_or("auto").to_string();
    if !matches!(adjust.as_str(), "auto" | "new" | "leave" | "manual") {
        return Err(JErr::msg(
            StatusCode::BAD_REQUEST,
            "Invalid value for adjustEstimate.",
        ));
    }
    let new_estimate = match adjust.as_str() {
        "new" => Some(
            c.params
                .get("newEstimate")
                .and_then(parse_duration)
                .ok_or_else(|| {
                    JErr::field("newEstimate", "You must supply a valid new estimate.")
                })?,
        ),
        "manual" => Some(
            c.params
                .get("reduceBy")
                .and_then(parse_duration)
                .ok_or_else(|| {
                    JErr::field(
                        "reduceBy",
                        "You must supply a valid amount of time to adjust the estimate by.",
                    )
                })?,
        ),
        _ => None,
    };
    let comment = b.get("comment").and_then(text_of);
    let idx = find_issue(&s.read().jira, &key)?;
    let id = do_add_worklog(
        &s,
        idx,
        &c.account,
        seconds,
        started,
        comment,
        &adjust,
        new_estimate,
    );
    let w = s.read();
    let i = &w.jira.issues[idx];
    let wl = i
        .worklogs
        .iter()
        .find(|x| x.id == id)
        .ok_or_else(JErr::issue_not_found)?;
    Ok(json_response(
        StatusCode::CREATED,
        &worklog_json(&s, c.ver, &w.jira, i, wl),
        HeaderMap::new(),
    ))
}

async fn list_projects(
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

async fn get_project(
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

async fn project_versions(
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

async fn create_version(
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

// ---------------------------------------------------------------- webhook registration

fn dc_webhook_json(s: &Shared, h: &JiraWebhook) -> Value {
    json!({
        "self": format!("{}/rest/webhooks/1.0/webhook/{}", s.jira_base(), h.id),
        "name": h.name,
        "url": h.url,
        "events": h.events,
        "filters": {"issue-related-events-section": h.jql_filter.clone().unwrap_or_default()},
        "excludeBody": false,
        "enabled": h.enabled,
        "lastUpdated": Utc::now().timestamp_millis(),
    })
}

fn valid_url(u: &str) -> bool {
    reqwest::Url::parse(u).is_ok_and(|x| matches!(x.scheme(), "http" | "https"))
}

async fn dc_webhooks(State(s): State<Arc<Shared>>, headers: HeaderMap) -> JResult {
    authenticate(&s, &headers)?;
    let w = s.read();
    ok(&Value::Array(
        w.jira
            .webhooks
            .iter()
            .map(|h| dc_webhook_json(&s, h))
            .collect(),
    ))
}

async fn dc_webhook(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> JResult {
    authenticate(&s, &headers)?;
    let w = s.read();
    let h = w
        .jira
        .webhooks
        .iter()
        .find(|h| h.id.to_string() == id)
        .ok_or_else(JErr::not_found)?;
    ok(&dc_webhook_json(&s, h))
}

/// An admin webhook as registered or rewritten by `body`.
fn admin_webhook(id: u64, body: &Bytes) -> Result<JiraWebhook, JErr> {
    let b: Value = serde_json::from_slice(body)
        .map_err(|_| JErr::msg(StatusCode::BAD_REQUEST, "Invalid JSON body."))?;
    let url = b.get("url").and_then(Value::as_str).unwrap_or("");
    if !valid_url(url) {
        return Err(JErr::field("url", "The URL is invalid."));
    }
    let events: Vec<String> = b
        .get("events")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let jql_filter = b
        .get("filters")
        .and_then(|f| f.get("issue-related-events-section"))
        .and_then(Value::as_str)
        .filter(|f| !f.trim().is_empty())
        .map(str::to_string);
    if let Some(f) = &jql_filter {
        jql::parse(f).map_err(|e| JErr::field("filters", e.message))?;
    }
    Ok(JiraWebhook {
        id,
        name: b
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("webhook")
            .to_string(),
        url: url.to_string(),
        events,
        jql_filter,
        secret: b.get("secret").and_then(Value::as_str).map(str::to_string),
        enabled: b.get("enabled").and_then(Value::as_bool).unwrap_or(true),
    })
}

async fn dc_register(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> JResult {
    authenticate(&s, &headers)?;
    let mut w = s.write();
    let h = admin_webhook(w.jira.alloc_id(), &body)?;
    w.jira.webhooks.push(h.clone());
    Ok(json_response(
        StatusCode::CREATED,
        &dc_webhook_json(&s, &h),
        HeaderMap::new(),
    ))
}

async fn dc_update(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> JResult {
    authenticate(&s, &headers)?;
    let mut w = s.write();
    let slot = w
        .jira
        .webhooks
        .iter_mut()
        .find(|h| h.id.to_string() == id)
        .ok_or_else(JErr::not_found)?;
    *slot = admin_webhook(slot.id, &body)?;
    let h = slot.clone();
    ok(&dc_webhook_json(&s, &h))
}

async fn dc_unregister(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> JResult {
    authenticate(&s, &headers)?;
    let mut w = s.write();
    let before = w.jira.webhooks.len();
    w.jira.webhooks.retain(|h| h.id.to_string() != id);
    if w.jira.webhooks.len() == before {
        return Err(JErr::not_found());
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn cloud_webhooks(
    State(s): State<Arc<Shared>>,
    Path(ver): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> JResult {
    let _c = ctx(&s, &ver, &headers, q, &[])?;
    let w = s.read();
    let values: Vec<Value> = w
        .jira
        .webhooks
        .iter()
        .map(|h| {
            json!({
                "id": h.id,
                "jqlFilter": h.jql_filter.clone().unwrap_or_default(),
                "events": h.events,
                "expirationDate": (Utc::now() + chrono::Duration::days(30)).timestamp_millis(),
            })
        })
        .collect();
    ok(
        &json!({"maxResults": 100, "startAt": 0, "total": values.len(), "isLast": true, "values": values}),
    )
}

async fn cloud_register(
    State(s): State<Arc<Shared>>,
    Path(ver): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> JResult {
    let c = ctx(&s, &ver, &headers, q, &body)?;
    let b = c.body.clone().unwrap_or_else(|| json!({}));
    let url = b
        .get("url")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if !valid_url(&url) {
        return Err(JErr::field("url", "The URL is invalid."));
    }
    let hooks = b
        .get("webhooks")
        .and_then(Value::as_array)
        .cloned()
        .ok_or_else(|| JErr::field("webhooks", "Webhooks must be specified."))?;
    let secret = b.get("secret").and_then(Value::as_str).map(str::to_string);
    let mut w = s.write();
    let mut results = Vec::new();
    for h in hooks {
        let events: Vec<String> = h
            .get("events")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let jql_filter = h
            .get("jqlFilter")
            .and_then(Value::as_str)
            .map(str::to_string);
        if events.is_empty() {
            results.push(json!({"errors": ["At least one event must be specified."]}));
            continue;
        }
        if let Some(f) = &jql_filter
            && let Err(e) = jql::parse(f)
        {
            results.push(json!({"errors": [e.message]}));
            continue;
        }
        let id = w.jira.alloc_id();
        w.jira.webhooks.push(JiraWebhook {
            id,
            name: format!("webhook-{id}"),
            url: url.clone(),
            events,
            jql_filter,
            secret: secret.clone(),
            enabled: true,
        });
        results.push(json!({"createdWebhookId": id}));
    }
    ok(&json!({"webhookRegistrationResult": results}))
}

async fn cloud_unregister(
    State(s): State<Arc<Shared>>,
    Path(ver): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> JResult {
    let c = ctx(&s, &ver, &headers, q, &body)?;
    let ids: Vec<u64> = c
        .body
        .as_ref()
        .and_then(|b| b.get("webhookIds"))
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_u64).collect())
        .ok_or_else(|| JErr::field("webhookIds", "Webhook IDs must be specified."))?;
    let mut w = s.write();
    w.jira.webhooks.retain(|h| !ids.contains(&h.id));
    Ok(StatusCode::ACCEPTED.into_response())
}

// ---------------------------------------------------------------- webhooks out

#[allow(clippy::too_many_arguments)]
fn emit_issue_event(
    s: &Shared,
    jira: &mut Jira,
    idx: usize,
    actor: &str,
    event: &str,
    type_name: &str,
    items: Option<Vec<Value>>,
    comment: Option<Value>,
) {
    if jira.webhooks.is_empty() {
        return;
    }
    let changelog_id = jira.alloc_id();
    let sel = FieldSel::Some {
        all: true,
        navigable: false,
        include: vec![],
        exclude: vec![],
    };
    let mut payload = json!({
        "timestamp": Utc::now().timestamp_millis(),
        "webhookEvent": event,
        "issue_event_type_name": type_name,
        "user": user_json(s, Ver::V2, jira, actor),
        "issue": issue_json(s, Ver::V2, jira, idx, &sel),
    });
    if let Some(items) = items
        && !items.is_empty()
    {
        payload["changelog"] = json!({"id": changelog_id.to_string(), "items": items});
    }
    if let Some(c) = comment {
        payload["comment"] = c;
    }
    deliver(s, jira, idx, event, &payload);
}

fn deliver(s: &Shared, jira: &Jira, idx: usize, event: &str, payload: &Value) {
    let body = serde_json::to_vec(payload).unwrap_or_default();
    let account = jira
        .users
        .first()
        .map(|u| u.account_id.clone())
        .unwrap_or_default();
    for h in jira.webhooks.iter().filter(|h| h.enabled) {
        if !h.events.is_empty() && !h.events.iter().any(|e| e == event) {
            continue;
        }
        if let Some(f) = &h.jql_filter {
            let Ok(c) = compile_jql(jira, f, &account) else {
                continue;
            };
            let Some(issue) = jira.issues.get(idx) else {
                continue;
            };
            if !c.matches(jira, issue) {
                continue;
            }
        }
        let mut headers = vec![
            (
                "Content-Type".to_string(),
                "application/json; charset=utf-8".to_string(),
            ),
            (
                "User-Agent".to_string(),
                "Atlassian Webhook HTTP Client".to_string(),
            ),
            (
                "X-Atlassian-Webhook-Identifier".to_string(),
                uuid::Uuid::new_v4().to_string(),
            ),
            ("X-Atlassian-Webhook-Retry".to_string(), "0".to_string()),
        ];
        if let Some(secret) = &h.secret
            && let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        {
            mac.update(&body);
            let sig = hex::encode(mac.finalize().into_bytes());
            headers.push(("X-Hub-Signature".to_string(), format!("sha256={sig}")));
        }
        s.hooks.enqueue(Delivery {
            service: Service::Jira,
            event: event.to_string(),
            url: h.url.clone(),
            headers,
            body: body.clone(),
            order_key: jira
                .issues
                .get(idx)
                .map(|i| i.project.clone())
                .unwrap_or_default(),
        });
    }
}
