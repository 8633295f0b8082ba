//! Projects: listing with filters, ordering and both paginations, and reads.
//! Group project lists (`/groups/:id/projects`) share the same listing.

use super::base::*;
use super::views::*;
use crate::Shared;
use crate::model::*;
use crate::req::Params;
use crate::util::parse_time;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use chrono::{DateTime, Utc};
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
    let all: Vec<&GlProject> = gl.projects.iter().collect();
    list_response(
        gl,
        c.user,
        &c.params,
        all,
        &format!("{base}/api/v4/projects"),
        base,
    )
}

fn time_param(params: &Params, key: &str) -> Result<Option<DateTime<Utc>>, GlErr> {
    match params.get(key) {
        None | Some("") => Ok(None),
        Some(v) => parse_time(v)
            .map(Some)
            .ok_or_else(|| GlErr::bad(format!("{key} is invalid"))),
    }
}

/// Filters, orders and pages `candidates` as GitLab's project lists do
/// (`membership`, `owned`, `min_access_level`, `search`, `visibility`,
/// `archived`, `last_activity_after/before`, `updated_after/before`,
/// `id_after/before`, `order_by`, `sort`, `simple`, offset or keyset paging).
pub(crate) fn list_response(
    gl: &GitLab,
    user: u64,
    params: &Params,
    candidates: Vec<&GlProject>,
    base_path: &str,
    base: &str,
) -> GlResult {
    let membership = params.bool("membership").unwrap_or(false);
    let owned = params.bool("owned").unwrap_or(false);
    let search = params.get("search").map(str::to_lowercase);
    let min_access = params.int("min_access_level").map_err(GlErr::bad)?;
    let simple = params.bool("simple").unwrap_or(false);
    let visibility = params.get("visibility");
    if visibility.is_some_and(|v| !matches!(v, "private" | "internal" | "public")) {
        return Err(GlErr::bad("visibility does not have a valid value"));
    }
    let archived = params.bool("archived");
    let activity_after = time_param(params, "last_activity_after")?;
    let activity_before = time_param(params, "last_activity_before")?;
    let updated_after = time_param(params, "updated_after")?;
    let updated_before = time_param(params, "updated_before")?;
    let id_after = params.int("id_after").map_err(GlErr::bad)?;
    let id_before = params.int("id_before").map_err(GlErr::bad)?;
    let order_by = params.get("order_by").unwrap_or("created_at");
    if !matches!(
        order_by,
        "id" | "name" | "path" | "created_at" | "updated_at" | "last_activity_at" | "similarity"
    ) {
        return Err(GlErr::bad("order_by does not have a valid value"));
    }
    let sort = params.get("sort").unwrap_or("desc");
    if !matches!(sort, "asc" | "desc") {
        return Err(GlErr::bad("sort does not have a valid value"));
    }
    let mut projects: Vec<&GlProject> = candidates
        .into_iter()
        .filter(|p| gl.can_see(user, p))
        .filter(|p| {
            let level = p.members.iter().find(|(u, _)| *u == user).map(|(_, l)| *l);
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
        .filter(|p| visibility.is_none_or(|v| p.visibility == v))
        // The simulator never archives a project.
        .filter(|_| archived != Some(true))
        .filter(|p| activity_after.is_none_or(|t| p.last_activity_at > t))
        .filter(|p| activity_before.is_none_or(|t| p.last_activity_at < t))
        .filter(|p| updated_after.is_none_or(|t| p.updated_at > t))
        .filter(|p| updated_before.is_none_or(|t| p.updated_at < t))
        .filter(|p| id_after.is_none_or(|a| p.id as i64 > a))
        .filter(|p| id_before.is_none_or(|b| (p.id as i64) < b))
        .collect();
    match order_by {
        "name" => projects.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id))),
        "path" => projects.sort_by(|a, b| a.path.cmp(&b.path).then(a.id.cmp(&b.id))),
        "last_activity_at" => projects.sort_by_key(|p| (p.last_activity_at, p.id)),
        "updated_at" => projects.sort_by_key(|p| (p.updated_at, p.id)),
        "created_at" => projects.sort_by_key(|p| (p.created_at, p.id)),
        _ => projects.sort_by_key(|p| p.id),
    }
    if sort != "asc" {
        projects.reverse();
    }
    let view = |p: &GlProject| {
        if simple {
            project_basic_json(base, gl, p)
        } else {
            project_json(base, gl, p, user)
        }
    };
    if params.get("pagination") == Some("keyset") {
        let page = page_params(params)?;
        let slice = &projects[..page.per_page.min(projects.len())];
        let out: Vec<Value> = slice.iter().map(|p| view(p)).collect();
        let mut h = HeaderMap::new();
        if projects.len() > slice.len()
            && let Some(last) = slice.last()
        {
            let key = if sort == "asc" {
                "id_after"
            } else {
                "id_before"
            };
            let url = url_with(
                base_path,
                params,
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
    let out: Vec<Value> = projects.iter().map(|p| view(p)).collect();
    paged_json(&out, params, base_path)
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
