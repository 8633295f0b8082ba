//! Users: the current user, listing and lookup.

use super::base::*;
use super::views::*;
use crate::Shared;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use serde_json::Value;
use std::sync::Arc;

pub(crate) async fn current_user(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> GlResult {
    let c = ctx(&s, &headers, q, &[])?;
    let w = s.read();
    let u = w.gitlab.user(c.user).ok_or_else(GlErr::unauthorized)?;
    ok(&full_user(s.gitlab_base(), u))
}

pub(crate) async fn list_users(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> GlResult {
    let c = ctx(&s, &headers, q, &[])?;
    let w = s.read();
    let base = s.gitlab_base();
    let username = c.params.get("username");
    let search = c.params.get("search").map(str::to_lowercase);
    let users: Vec<Value> = w
        .gitlab
        .users
        .iter()
        .filter(|u| username.is_none_or(|n| u.username.eq_ignore_ascii_case(n)))
        .filter(|u| {
            search.as_ref().is_none_or(|q| {
                u.username.to_lowercase().contains(q)
                    || u.name.to_lowercase().contains(q)
                    || u.email.to_lowercase() == *q
            })
        })
        .map(|u| serde_json::to_value(user_view(base, u)).unwrap_or_default())
        .collect();
    paged_json(&users, &c.params, &format!("{base}/api/v4/users"))
}

pub(crate) async fn get_user(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> GlResult {
    ctx(&s, &headers, q, &[])?;
    let w = s.read();
    let u = id
        .parse::<u64>()
        .ok()
        .and_then(|id| w.gitlab.user(id))
        .ok_or_else(|| GlErr::not_found("User"))?;
    ok(&full_user(s.gitlab_base(), u))
}
