//! Users: the current user and user search (emails shown as each user's
//! privacy setting allows, as Cloud does).

use super::base::*;
use super::views::*;
use crate::Shared;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use serde_json::json;
use std::sync::Arc;

pub(crate) async fn myself(
    State(s): State<Arc<Shared>>,
    Path(ver): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> JResult {
    let c = ctx(&s, &ver, &headers, q, &[])?;
    let w = s.read();
    let mut u = user_json(&s, c.ver, &w.jira, &c.account);
    if let Some(me) = w.jira.user(&c.account) {
        u["emailAddress"] = json!(me.email);
    }
    u["locale"] = json!("en_US");
    u["groups"] = json!({"size": 1, "items": []});
    u["applicationRoles"] = json!({"size": 1, "items": []});
    ok(&u)
}

/// `GET /user/search?query=` (Cloud; `username=` on Data Center): active
/// users whose name, display name or email contains the text.
pub(crate) async fn user_search(
    State(s): State<Arc<Shared>>,
    Path(ver): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> JResult {
    let c = ctx(&s, &ver, &headers, q, &[])?;
    let query = c
        .params
        .get("query")
        .or_else(|| c.params.get("username"))
        .map(str::to_lowercase);
    let account = c.params.get("accountId");
    if query.is_none() && account.is_none() {
        return Err(JErr::msg(
            axum::http::StatusCode::BAD_REQUEST,
            "The query parameter 'query' or 'accountId' is required.",
        ));
    }
    active_users(&s, &c, |u| {
        account.is_none_or(|a| u.account_id == a)
            && query.as_ref().is_none_or(|q| {
                u.display_name.to_lowercase().contains(q)
                    || u.name.to_lowercase().contains(q)
                    || u.email.to_lowercase().starts_with(q)
            })
    })
}

/// A page (`startAt`, `maxResults`) of the active users `wanted` keeps.
fn active_users(s: &Shared, c: &Ctx, wanted: impl Fn(&crate::model::JiraUser) -> bool) -> JResult {
    let start = parse_max(c.params.get("startAt"), 0, usize::MAX)?;
    let max = parse_max(c.params.get("maxResults"), 50, 1000)?;
    let w = s.read();
    let out: Vec<serde_json::Value> = w
        .jira
        .users
        .iter()
        .filter(|u| u.active && wanted(u))
        .skip(start)
        .take(max)
        .map(|u| user_json(s, c.ver, &w.jira, &u.account_id))
        .collect();
    ok(&json!(out))
}

/// `GET /user/assignable/search?project=KEY`: the active users who can be
/// assigned the project's issues (in the simulator, every active user),
/// paged by `startAt` and `maxResults`; Cloud shows emails as each user's
/// privacy setting allows.
pub(crate) async fn assignable_search(
    State(s): State<Arc<Shared>>,
    Path(ver): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> JResult {
    let c = ctx(&s, &ver, &headers, q, &[])?;
    let Some(key) = c.params.get("project") else {
        return Err(JErr::msg(
            axum::http::StatusCode::BAD_REQUEST,
            "The query parameter 'project', 'issueKey' or 'issueId' is required.",
        ));
    };
    if s.read().jira.project(key).is_none() {
        return Err(JErr::msg(
            axum::http::StatusCode::NOT_FOUND,
            format!("No project could be found with key '{key}'."),
        ));
    }
    active_users(&s, &c, |_| true)
}
