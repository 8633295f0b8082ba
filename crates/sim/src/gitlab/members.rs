//! Project members (`/members` and `/members/all`).

use super::base::*;
use super::views::*;
use crate::Shared;
use crate::util::gl_time;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use serde_json::{Value, json};
use std::sync::Arc;

pub(crate) async fn list_members(
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
    let base = s.gitlab_base();
    let query = c.params.get("query").map(str::to_lowercase);
    let out: Vec<Value> = p
        .members
        .iter()
        .filter_map(|(uid, level)| gl.user(*uid).map(|u| (u, level)))
        .filter(|(u, _)| {
            query.as_ref().is_none_or(|q| {
                u.username.to_lowercase().contains(q) || u.name.to_lowercase().contains(q)
            })
        })
        .map(|(u, level)| {
            let mut v = serde_json::to_value(user_view(base, u)).unwrap_or_default();
            v["access_level"] = json!(level);
            v["created_at"] = json!(gl_time(&p.created_at));
            v["expires_at"] = Value::Null;
            v["locked"] = json!(false);
            // The email a person shows on their profile.
            if !u.email.is_empty() {
                v["public_email"] = json!(u.email);
            }
            v
        })
        .collect();
    paged_json(
        &out,
        &c.params,
        &format!("{base}/api/v4/projects/{}/members/all", p.id),
    )
}
