//! Groups: `/groups`, `/groups/:id`, `/groups/:id/subgroups` and
//! `/groups/:id/projects` (extractors start from groups to find projects).

use super::base::*;
use super::projects::list_response;
use super::views::*;
use crate::Shared;
use crate::model::*;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use serde_json::{Value, json};
use std::sync::Arc;

/// Index of a group the user may see, by id or full path.
fn visible_group(gl: &GitLab, user: u64, id: &str) -> Result<usize, GlErr> {
    let idx = gl
        .group_index(id)
        .ok_or_else(|| GlErr::not_found("Group"))?;
    if !gl.can_see_group(user, &gl.groups[idx]) {
        return Err(GlErr::not_found("Group"));
    }
    Ok(idx)
}

/// Filters, orders and pages groups as `GET /groups` does.
fn group_list(
    gl: &GitLab,
    user: u64,
    params: &crate::req::Params,
    candidates: Vec<&GlGroup>,
    base_path: &str,
    base: &str,
) -> GlResult {
    let search = params.get("search").map(str::to_lowercase);
    let owned = params.bool("owned").unwrap_or(false);
    let min_access = params.int("min_access_level").map_err(GlErr::bad)?;
    let top_level = params.bool("top_level_only").unwrap_or(false);
    let skip: Vec<u64> = params
        .list("skip_groups")
        .unwrap_or_default()
        .iter()
        .filter_map(|v| v.parse().ok())
        .collect();
    let order_by = params.get("order_by").unwrap_or("name");
    if !matches!(order_by, "name" | "path" | "id" | "similarity") {
        return Err(GlErr::bad("order_by does not have a valid value"));
    }
    let sort = params.get("sort").unwrap_or("asc");
    if !matches!(sort, "asc" | "desc") {
        return Err(GlErr::bad("sort does not have a valid value"));
    }
    let mut groups: Vec<&GlGroup> = candidates
        .into_iter()
        .filter(|g| gl.can_see_group(user, g))
        .filter(|g| {
            let level = gl.group_access(user, g);
            (!owned || level == Some(50))
                && min_access.is_none_or(|m| level.is_some_and(|l| i64::from(l) >= m))
        })
        .filter(|g| {
            search.as_ref().is_none_or(|q| {
                g.name.to_lowercase().contains(q) || g.path.to_lowercase().contains(q)
            })
        })
        .filter(|g| !top_level || gl.parent_group(g).is_none())
        .filter(|g| !skip.contains(&g.id))
        .collect();
    match order_by {
        "path" => groups.sort_by(|a, b| a.path.cmp(&b.path).then(a.id.cmp(&b.id))),
        "id" => groups.sort_by_key(|g| g.id),
        _ => groups.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id))),
    }
    if sort == "desc" {
        groups.reverse();
    }
    let out: Vec<Value> = groups.iter().map(|g| group_json(base, gl, g)).collect();
    paged_json(&out, params, base_path)
}

pub(crate) async fn list_groups(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> GlResult {
    let c = ctx(&s, &headers, q, &[])?;
    let w = s.read();
    let gl = &w.gitlab;
    let base = s.gitlab_base();
    group_list(
        gl,
        c.user,
        &c.params,
        gl.groups.iter().collect(),
        &format!("{base}/api/v4/groups"),
        base,
    )
}

pub(crate) async fn get_group(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> GlResult {
    let c = ctx(&s, &headers, q, &[])?;
    let w = s.read();
    let gl = &w.gitlab;
    let base = s.gitlab_base();
    let g = &gl.groups[visible_group(gl, c.user, &id)?];
    let mut v = group_json(base, gl, g);
    if c.params.bool("with_projects").unwrap_or(true) {
        let projects: Vec<Value> = gl
            .group_projects(g, false)
            .filter(|p| gl.can_see(c.user, p))
            .take(100)
            .map(|p| project_json(base, gl, p, c.user))
            .collect();
        v["projects"] = json!(projects);
        v["shared_projects"] = json!([]);
    }
    v["runners_token"] = Value::Null;
    v["shared_with_groups"] = json!([]);
    ok(&v)
}

pub(crate) async fn group_subgroups(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> GlResult {
    let c = ctx(&s, &headers, q, &[])?;
    let w = s.read();
    let gl = &w.gitlab;
    let base = s.gitlab_base();
    let g = &gl.groups[visible_group(gl, c.user, &id)?];
    let children: Vec<&GlGroup> = gl
        .groups
        .iter()
        .filter(|x| gl.parent_group(x).is_some_and(|p| p.id == g.id))
        .collect();
    group_list(
        gl,
        c.user,
        &c.params,
        children,
        &format!("{base}/api/v4/groups/{}/subgroups", g.id),
        base,
    )
}

pub(crate) async fn group_projects(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> GlResult {
    let c = ctx(&s, &headers, q, &[])?;
    let w = s.read();
    let gl = &w.gitlab;
    let base = s.gitlab_base();
    let g = &gl.groups[visible_group(gl, c.user, &id)?];
    let subgroups = c.params.bool("include_subgroups").unwrap_or(false);
    list_response(
        gl,
        c.user,
        &c.params,
        gl.group_projects(g, subgroups).collect(),
        &format!("{base}/api/v4/groups/{}/projects", g.id),
        base,
    )
}
