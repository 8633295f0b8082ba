//! JSON representations of Jira objects for API v2 (wiki strings) and v3 (ADF),
//! and the field catalogue that decides which issue fields are returned.

use super::base::*;
use crate::model::*;
use crate::util::{jira_human, jira_time};
use crate::{JiraFlavour, Shared};
use serde_json::{Map, Value, json};

pub(crate) fn adf(text: &str) -> Value {
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
pub(crate) fn text_of(v: &Value) -> Option<String> {
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

/// Rich text (a description, a comment body) as a request wrote it: ADF
/// through API v3 is kept as written with its wiki rendering beside it (as
/// Jira renders ADF for API v2 and webhooks; made here with Cairn's own
/// converter, which agrees with Atlassian's on the cases in
/// testdata/markup), or its plain text when the converter refuses it; a
/// string (wiki markup through v2) is kept as the text.
pub(crate) fn rich_in(v: &Value) -> (Option<String>, Option<Value>) {
    match v {
        Value::Null => (None, None),
        Value::String(s) => (Some(s.clone()), None),
        other => {
            let wiki = cairn_markup::adf_to_markdown(other)
                .ok()
                .map(|md| cairn_markup::markdown_to_wiki(&md));
            (wiki.or_else(|| text_of(other)), Some(other.clone()))
        }
    }
}

/// Rich text as a read through `ver` returns it: v3 gives the ADF written,
/// or wiki text wrapped in one paragraph; v2 (and webhooks) give the wiki
/// text written, or the wiki rendering of the ADF.
pub(crate) fn rich_out(ver: Ver, text: Option<&str>, adf: Option<&Value>) -> Value {
    match (ver, adf) {
        (Ver::V3, Some(a)) => a.clone(),
        _ => rich(ver, text),
    }
}

/// Adds the `properties` a request asked for (`properties=k1,k2` or `*all`)
/// to an issue object, as Jira does on get-issue and both searches.
pub(crate) fn add_properties(v: &mut Value, issue: &JiraIssue, wanted: Option<&[String]>) {
    let Some(wanted) = wanted else { return };
    let all = wanted.iter().any(|k| k == "*all");
    let props: serde_json::Map<String, Value> = issue
        .properties
        .iter()
        .filter(|(k, _)| all || wanted.iter().any(|w| w == *k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    v["properties"] = Value::Object(props);
}

pub(crate) fn rich(ver: Ver, text: Option<&str>) -> Value {
    match (ver, text) {
        (_, None) => Value::Null,
        (Ver::V3, Some(t)) => adf(t),
        (Ver::V2, Some(t)) => json!(t),
    }
}

pub(crate) fn avatars(id: &str) -> Value {
    let u = |n: u32| format!("https://avatar-management.example.com/{id}/{n}");
    json!({"48x48": u(48), "24x24": u(24), "16x16": u(16), "32x32": u(32)})
}

pub(crate) fn user_json(s: &Shared, ver: Ver, jira: &Jira, account: &str) -> Value {
    let Some(u) = jira.user(account) else {
        return Value::Null;
    };
    match s.flavour {
        JiraFlavour::Cloud => {
            let mut v = json!({
                "self": format!("{}/user?accountId={}", api(s, ver), u.account_id),
                "accountId": u.account_id,
                "accountType": "atlassian",
                "avatarUrls": avatars(&u.account_id),
                "displayName": u.display_name,
                "active": u.active,
                "timeZone": "Etc/UTC",
            });
            // Cloud leaves the email out unless the user's profile shows it.
            if u.email_visible {
                v["emailAddress"] = json!(u.email);
            }
            v
        }
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

pub(crate) fn status_json(s: &Shared, ver: Ver, st: &JiraStatus) -> Value {
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

pub(crate) fn issuetype_json(s: &Shared, ver: Ver, t: &JiraIssueType) -> Value {
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

pub(crate) fn project_json(s: &Shared, ver: Ver, p: &JiraProject) -> Value {
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

pub(crate) fn version_json(s: &Shared, ver: Ver, p: &JiraProject, v: &JiraVersion) -> Value {
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
        j["overdue"] = json!(!v.released && d < chrono::Utc::now().date_naive());
    }
    if let Some(d) = v.start_date {
        j["startDate"] = json!(d.to_string());
    }
    j
}

pub(crate) fn priority_json(s: &Shared, ver: Ver, jira: &Jira, id: &str) -> Value {
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

pub(crate) fn comment_json(
    s: &Shared,
    ver: Ver,
    jira: &Jira,
    issue: &JiraIssue,
    c: &JiraComment,
) -> Value {
    json!({
        "self": format!("{}/issue/{}/comment/{}", api(s, ver), issue.id, c.id),
        "id": c.id.to_string(),
        "author": user_json(s, ver, jira, &c.author),
        "body": rich_out(ver, Some(&c.body), c.body_adf.as_ref()),
        "updateAuthor": user_json(s, ver, jira, &c.author),
        "created": jira_time(&c.created),
        "updated": jira_time(&c.updated),
        "jsdPublic": true,
    })
}

pub(crate) fn worklog_json(
    s: &Shared,
    ver: Ver,
    jira: &Jira,
    issue: &JiraIssue,
    w: &JiraWorklog,
) -> Value {
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

pub(crate) fn progress(spent: Option<i64>, remaining: Option<i64>) -> Value {
    let p = spent.unwrap_or(0);
    let total = p + remaining.unwrap_or(0);
    if total > 0 {
        json!({"progress": p, "total": total, "percent": p * 100 / total})
    } else {
        json!({"progress": p, "total": total})
    }
}

pub(crate) fn timetracking(i: &JiraIssue) -> Value {
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

pub(crate) fn brief_issue(s: &Shared, ver: Ver, jira: &Jira, i: &JiraIssue) -> Value {
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
pub(crate) const NOT_NAVIGABLE: &[&str] = &["comment", "worklog", "timetracking"];

/// Every field of an issue, keyed by field id.
/// Every field of an issue. The fields that scan the whole project for
/// sub-tasks (aggregates, `subtasks`) are built only when `with_subtasks`:
/// a search page asking for a few fields then costs O(page), not
/// O(page × issues).
pub(crate) fn all_fields(
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
    f.insert(
        "description".into(),
        rich_out(ver, i.description.as_deref(), i.description_adf.as_ref()),
    );
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
pub(crate) enum FieldSel {
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

pub(crate) fn field_sel(list: Option<Vec<String>>, default: FieldSel, jira: &Jira) -> FieldSel {
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

pub(crate) fn issue_json(s: &Shared, ver: Ver, jira: &Jira, idx: usize, sel: &FieldSel) -> Value {
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

pub(crate) fn names_map(jira: &Jira) -> Value {
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
pub(crate) type FieldDef = (
    &'static str,
    &'static str,
    &'static str,
    bool,
    bool,
    bool,
    &'static [&'static str],
);

pub(crate) const SYSTEM_FIELDS: &[FieldDef] = &[
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
