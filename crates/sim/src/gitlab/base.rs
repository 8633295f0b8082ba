//! Request plumbing shared by every GitLab handler: the error shape,
//! token authentication, offset pagination headers and permission lookups.

use crate::Shared;
use crate::model::*;
pub(crate) use crate::req::json_response;
use crate::req::{Params, authorization};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};

/// The version `/api/v4/version` reports.
pub const GITLAB_VERSION: &str = "17.5.0-ee";

/// An error answered in GitLab's shape.
#[derive(Debug)]
pub(crate) struct GlErr(pub(crate) StatusCode, pub(crate) Value);

impl GlErr {
    pub fn not_found(what: &str) -> GlErr {
        GlErr(
            StatusCode::NOT_FOUND,
            json!({ "message": format!("404 {what} Not Found") }),
        )
    }
    pub fn bad(msg: impl Into<String>) -> GlErr {
        GlErr(StatusCode::BAD_REQUEST, json!({ "error": msg.into() }))
    }
    pub fn unauthorized() -> GlErr {
        GlErr(
            StatusCode::UNAUTHORIZED,
            json!({ "message": "401 Unauthorized" }),
        )
    }
    pub fn forbidden() -> GlErr {
        GlErr(StatusCode::FORBIDDEN, json!({ "message": "403 Forbidden" }))
    }
}

impl IntoResponse for GlErr {
    fn into_response(self) -> Response {
        json_response(self.0, &self.1, HeaderMap::new())
    }
}

pub(crate) type GlResult = Result<Response, GlErr>;

pub(crate) fn ok<T: Serialize>(body: &T) -> GlResult {
    Ok(json_response(StatusCode::OK, body, HeaderMap::new()))
}

pub(crate) fn created<T: Serialize>(body: &T) -> GlResult {
    Ok(json_response(StatusCode::CREATED, body, HeaderMap::new()))
}

/// Authenticated request context.
pub(crate) struct Ctx {
    pub(crate) user: u64,
    pub(crate) params: Params,
}

pub(crate) fn ctx(
    s: &Shared,
    headers: &HeaderMap,
    q: Option<String>,
    body: &[u8],
) -> Result<Ctx, GlErr> {
    let mut params = Params::from_query(q.as_deref());
    let token = headers
        .get("private-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| {
            authorization(headers)
                .filter(|(scheme, _)| scheme == "bearer")
                .map(|(_, t)| t)
        })
        .or_else(|| params.get("private_token").map(str::to_string))
        .or_else(|| params.get("access_token").map(str::to_string));
    let token = token.ok_or_else(GlErr::unauthorized)?;
    let user = {
        let w = s.read();
        let id = *w
            .gitlab
            .tokens
            .get(&token)
            .ok_or_else(GlErr::unauthorized)?;
        match w.gitlab.user(id) {
            Some(u) if u.state == "active" => id,
            _ => return Err(GlErr::unauthorized()),
        }
    };
    params.add_body(headers, body).map_err(|_| {
        GlErr::bad("The provided content-type is not supported or the body is malformed")
    })?;
    Ok(Ctx { user, params })
}

/// Page window and the headers GitLab sends with it.
pub(crate) struct Page {
    pub(crate) page: usize,
    pub(crate) per_page: usize,
}

pub(crate) fn page_params(p: &Params) -> Result<Page, GlErr> {
    let page = p.int("page").map_err(GlErr::bad)?.unwrap_or(1);
    let per_page = p.int("per_page").map_err(GlErr::bad)?.unwrap_or(20);
    Ok(Page {
        page: page.max(1) as usize,
        per_page: per_page.clamp(1, 100) as usize,
    })
}

pub(crate) fn url_with(base_path: &str, params: &Params, set: &[(&str, String)]) -> String {
    let mut pairs: Vec<(String, String)> = params
        .0
        .iter()
        .filter(|(k, _)| !set.iter().any(|(s, _)| s == k) && k != "private_token")
        .cloned()
        .collect();
    for (k, v) in set {
        pairs.push(((*k).to_string(), v.clone()));
    }
    let q = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    format!("{base_path}?{q}")
}

/// Offset pagination headers; totals are left out above 10,000 records, as GitLab does.
pub(crate) fn offset_headers(
    page: &Page,
    total: usize,
    base_path: &str,
    params: &Params,
) -> HeaderMap {
    let mut h = HeaderMap::new();
    let total_pages = total.div_ceil(page.per_page).max(1);
    let has_next = page.page * page.per_page < total;
    let show_total = total <= 10_000;
    let set = |h: &mut HeaderMap, k: &'static str, v: String| {
        if let Ok(v) = HeaderValue::from_str(&v) {
            h.insert(k, v);
        }
    };
    set(&mut h, "x-page", page.page.to_string());
    set(&mut h, "x-per-page", page.per_page.to_string());
    set(
        &mut h,
        "x-next-page",
        if has_next {
            (page.page + 1).to_string()
        } else {
            String::new()
        },
    );
    set(
        &mut h,
        "x-prev-page",
        if page.page > 1 {
            (page.page - 1).to_string()
        } else {
            String::new()
        },
    );
    if show_total {
        set(&mut h, "x-total", total.to_string());
        set(&mut h, "x-total-pages", total_pages.to_string());
    }
    let link = |n: usize, rel: &str| {
        format!(
            "<{}>; rel=\"{rel}\"",
            url_with(
                base_path,
                params,
                &[
                    ("page", n.to_string()),
                    ("per_page", page.per_page.to_string())
                ]
            )
        )
    };
    let mut links = Vec::new();
    if page.page > 1 {
        links.push(link(page.page - 1, "prev"));
    }
    if has_next {
        links.push(link(page.page + 1, "next"));
    }
    links.push(link(1, "first"));
    if show_total {
        links.push(link(total_pages, "last"));
    }
    set(&mut h, "link", links.join(", "));
    h
}

pub(crate) fn paged_json<T: Serialize>(items: &[T], params: &Params, base_path: &str) -> GlResult {
    let page = page_params(params)?;
    let start = ((page.page - 1) * page.per_page).min(items.len());
    let end = (start + page.per_page).min(items.len());
    let headers = offset_headers(&page, items.len(), base_path, params);
    Ok(json_response(StatusCode::OK, &items[start..end], headers))
}

pub(crate) fn visible_project(gl: &GitLab, user: u64, id: &str) -> Result<usize, GlErr> {
    let idx = gl
        .project_index(id)
        .ok_or_else(|| GlErr::not_found("Project"))?;
    if !gl.can_see(user, &gl.projects[idx]) {
        return Err(GlErr::not_found("Project"));
    }
    Ok(idx)
}

pub(crate) fn issue_pos(p: &GlProject, iid: &str) -> Result<usize, GlErr> {
    let iid: u64 = iid.parse().map_err(|_| GlErr::not_found("Issue"))?;
    p.issues
        .binary_search_by_key(&iid, |i| i.iid)
        .map_err(|_| GlErr::not_found("Issue"))
}

pub(crate) fn can_write(gl: &GitLab, user: u64, p: &GlProject) -> bool {
    p.members.iter().any(|(u, l)| *u == user && *l >= 20) || gl.user(user).is_some_and(|u| u.admin)
}

pub(crate) fn maintainer(gl: &GitLab, user: u64, p: &GlProject) -> bool {
    p.members.iter().any(|(u, l)| *u == user && *l >= 40) || gl.user(user).is_some_and(|u| u.admin)
}

/// A merge request of a project by its iid (as the path gives it).
pub(crate) fn find_mr<'a>(p: &'a GlProject, iid: &str) -> Result<&'a GlMergeRequest, GlErr> {
    p.merge_requests
        .iter()
        .find(|m| m.iid.to_string() == iid)
        .ok_or_else(|| GlErr::not_found("Merge Request"))
}
