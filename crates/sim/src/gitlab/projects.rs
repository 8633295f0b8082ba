//! Projects: listing with filters, ordering and both paginations, and reads.

use super::base::*;
use super::views::*;
use crate::Shared;
use crate::model::*;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use serde_json::Value;
use std::sync::Arc;

pub(crate) async fn list_projects(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> GlResult {
    let c = ctx(&s, &headers, q, &[])?;
    let w = s.read();
    let gl = &w.gitlab;
    let base = s.gitlab_base();
    let membership = c.params.bool("membership").unwrap_or(false);
    let owned = c.params.bool("owned").unwrap_or(false);
    let search = c.params.get("search").map(str::to_lowercase);
    let min_access = c.params.int("min_access_level").map_err(GlErr::bad)?;
    let simple = c.params.bool("simple").unwrap_or(false);
    let order_by = c.params.get("order_by").unwrap_or("created_at");
    if !matches!(
        order_by,
        "id" | "name" | "path" | "created_at" | "updated_at" | "last_activity_at" | "similarity"
    ) {
        return Err(GlErr::bad("order_by does not have a valid value"));
    }
    let mut projects: Vec<&GlProject> = gl
        .projects
        .iter()
        .filter(|p| gl.can_see(c.user, p))
        .filter(|p| {
            let level = p
                .members
                .iter()
                .find(|(u, _)| *u == c.user)
                .map(|(_, l)| *l);
            (!membership || level.is_some())
                && (!owned || level == Some(50))
                && min_access.is_none_or(|m| level.is_some_and(|l| i64::from(l) >= m))
        })
        .filter(|p| {
            search.as_ref().is_none_or(|q| {
                p.name.to_lowercase().contains(q)
                    || p.path_with_namespace.to_lowercase().contains(q)
            })
        })
        .collect();
    match order_by {
        "name" => projects.sort_by(|a, b| a.name.cmp(&b.name)),
        "path" => projects.sort_by(|a, b| a.path.cmp(&b.path)),
        "last_activity_at" | "updated_at" => projects.sort_by_key(|p| (p.last_activity_at, p.id)),
        _ => projects.sort_by_key(|p| p.id),
    }
    if c.params.get("sort") != Some("asc") {
        projects.reverse();
    }
    if c.params.get("pagination") == Some("keyset") {
        let after = c.params.int("id_after").map_err(GlErr::bad)?;
        let before = c.params.int("id_before").map_err(GlErr::bad)?;
        let page = page_params(&c.params)?;
        let rest: Vec<&GlProject> = projects
            .into_iter()
            .filter(|p| after.is_none_or(|a| p.id as i64 > a))
            .filter(|p| before.is_none_or(|b| (p.id as i64) < b))
            .collect();
        let slice = &rest[..page.per_page.min(rest.len())];
        let out: Vec<Value> = slice
            .iter()
            .map(|p| project_json(base, gl, p, c.user))
            .collect();
        let mut h = HeaderMap::new();
        if rest.len() > slice.len()
            && let Some(last) = slice.last()
        {
            let key = if c.params.get("sort") == Some("asc") {
                "id_after"
            } else {
                "id_before"
            };
            let url = url_with(
                &format!("{base}/api/v4/projects"),
                &c.params,
                &[
                    (key, last.id.to_string()),
                    ("per_page", page.per_page.to_string()),
                ],
            );
            if let Ok(v) = HeaderValue::from_str(&format!("<{url}>; rel=\"next\"")) {
                h.insert("link", v);
            }
        }
        return Ok(json_response(StatusCode::OK, &out, h));
    }
    let out: Vec<Value> = projects
        .iter()
        .map(|p| {
            let mut v = project_json(base, gl, p, c.user);
            if simple && let Some(o) = v.as_object_mut() {
                o.remove("permissions");
                o.remove("_links");
            }
            v
        })
        .collect();
    paged_json(&out, &c.params, &format!("{base}/api/v4/projects"))
}

pub(crate) async fn get_project(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> GlResult {
    let c = ctx(&s, &headers, q, &[])?;
    let w = s.read();
    let idx = visible_project(&w.gitlab, c.user, &id)?;
    ok(&project_json(
        s.gitlab_base(),
        &w.gitlab,
        &w.gitlab.projects[idx],
        c.user,
    ))
}
