//! Project webhook registration: `/projects/:id/hooks`.

use super::base::*;
use super::views::*;
use crate::Shared;
use crate::model::*;
use crate::req::Params;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use chrono::Utc;
use serde_json::Value;
use std::sync::Arc;

pub(crate) fn hook_from_params(params: &Params, h: &mut GlHook) -> Result<(), GlErr> {
    if let Some(u) = params.get("url") {
        let parsed = reqwest::Url::parse(u)
            .map_err(|_| GlErr::bad("url is blocked: Only allowed schemes are http, https"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(GlErr::bad(
                "url is blocked: Only allowed schemes are http, https",
            ));
        }
        h.url = u.to_string();
    }
    if let Some(t) = params.get("token") {
        h.token = (!t.is_empty()).then(|| t.to_string());
    }
    if let Some(b) = params.bool("issues_events") {
        h.issues_events = b;
    }
    if let Some(b) = params.bool("note_events") {
        h.note_events = b;
    }
    if let Some(b) = params.bool("merge_requests_events") {
        h.merge_requests_events = b;
    }
    if let Some(b) = params.bool("push_events") {
        h.push_events = b;
    }
    if let Some(b) = params.bool("enable_ssl_verification") {
        h.enable_ssl_verification = b;
    }
    Ok(())
}

pub(crate) async fn list_hooks(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> GlResult {
    let c = ctx(&s, &headers, q, &[])?;
    let w = s.read();
    let pidx = visible_project(&w.gitlab, c.user, &id)?;
    let p = &w.gitlab.projects[pidx];
    if !maintainer(&w.gitlab, c.user, p) {
        return Err(GlErr::forbidden());
    }
    let out: Vec<Value> = p.hooks.iter().map(|h| hook_json(p, h)).collect();
    let base = s.gitlab_base();
    paged_json(
        &out,
        &c.params,
        &format!("{base}/api/v4/projects/{}/hooks", p.id),
    )
}

pub(crate) async fn get_hook(
    State(s): State<Arc<Shared>>,
    Path((id, hook_id)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> GlResult {
    let c = ctx(&s, &headers, q, &[])?;
    let w = s.read();
    let pidx = visible_project(&w.gitlab, c.user, &id)?;
    let p = &w.gitlab.projects[pidx];
    if !maintainer(&w.gitlab, c.user, p) {
        return Err(GlErr::forbidden());
    }
    let h = p
        .hooks
        .iter()
        .find(|h| h.id.to_string() == hook_id)
        .ok_or_else(|| GlErr::not_found("Hook"))?;
    ok(&hook_json(p, h))
}

pub(crate) async fn create_hook(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> GlResult {
    let c = ctx(&s, &headers, q, &body)?;
    if c.params.get("url").is_none_or(str::is_empty) {
        return Err(GlErr::bad("url is missing"));
    }
    let mut w = s.write();
    let gl = &mut w.gitlab;
    let pidx = visible_project(gl, c.user, &id)?;
    if !maintainer(gl, c.user, &gl.projects[pidx]) {
        return Err(GlErr::forbidden());
    }
    let mut h = GlHook {
        id: gl.alloc_id(),
        url: String::new(),
        token: None,
        issues_events: false,
        note_events: false,
        merge_requests_events: false,
        push_events: true,
        enable_ssl_verification: true,
        created_at: Utc::now(),
    };
    hook_from_params(&c.params, &mut h)?;
    let p = &mut gl.projects[pidx];
    p.hooks.push(h.clone());
    created(&hook_json(p, &h))
}

pub(crate) async fn update_hook(
    State(s): State<Arc<Shared>>,
    Path((id, hook_id)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> GlResult {
    let c = ctx(&s, &headers, q, &body)?;
    let mut w = s.write();
    let gl = &mut w.gitlab;
    let pidx = visible_project(gl, c.user, &id)?;
    if !maintainer(gl, c.user, &gl.projects[pidx]) {
        return Err(GlErr::forbidden());
    }
    let p = &mut gl.projects[pidx];
    let h = p
        .hooks
        .iter_mut()
        .find(|h| h.id.to_string() == hook_id)
        .ok_or_else(|| GlErr::not_found("Hook"))?;
    hook_from_params(&c.params, h)?;
    let h = h.clone();
    ok(&hook_json(p, &h))
}

pub(crate) async fn delete_hook(
    State(s): State<Arc<Shared>>,
    Path((id, hook_id)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> GlResult {
    let c = ctx(&s, &headers, q, &[])?;
    let mut w = s.write();
    let gl = &mut w.gitlab;
    let pidx = visible_project(gl, c.user, &id)?;
    if !maintainer(gl, c.user, &gl.projects[pidx]) {
        return Err(GlErr::forbidden());
    }
    let p = &mut gl.projects[pidx];
    let before = p.hooks.len();
    p.hooks.retain(|h| h.id.to_string() != hook_id);
    if p.hooks.len() == before {
        return Err(GlErr::not_found("Hook"));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
