//! Server-rendered pages. Askama escapes every value it prints, so a name
//! or title from a user or a remote service is always shown as text; no
//! template uses `|safe`. Handlers are thin: parse the form, call the same
//! engine use cases as the JSON API, render. A refused form is rendered
//! again with the person's input and the engine's message next to the field
//! it names; nothing is saved then.

mod admin;
mod channels;
mod chart;
mod common;
mod dashboard;
mod explain;
mod hooks;
mod link;
mod live;
mod okrs;
mod sync_conflicts;
mod sync_initial;
mod sync_pair_state;
mod sync_pairs;
mod sync_people;
mod sync_releases;
mod sync_wizard;
mod teams;
mod time_admin;
mod work;

pub(crate) use admin::*;
pub(crate) use channels::*;
pub(crate) use dashboard::*;
pub(crate) use hooks::*;
pub(crate) use link::*;
pub(crate) use live::*;
pub(crate) use okrs::*;
pub(crate) use sync_conflicts::*;
pub(crate) use sync_initial::{
    pause_initial_sync, preview_initial_sync, resume_initial_sync, start_initial_sync,
};
pub(crate) use sync_pair_state::*;
pub(crate) use sync_pairs::*;
pub(crate) use sync_people::{map_sync_person, unmap_sync_person};
pub(crate) use sync_releases::{confirm_unlink_release, link_sync_release, unlink_sync_release};
pub(crate) use sync_wizard::*;
pub(crate) use teams::*;
pub(crate) use time_admin::*;
pub(crate) use work::*;

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::Utc;
use serde::Deserialize;

use crate::auth::{Caller, ClientAddress, SESSION_COOKIE, constant_time_eq, cookie, is_https};
use crate::{ApiError, AppState};

/// The double-submit cookie that protects the sign-in form, which has no
/// session to carry a CSRF token yet.
const LOGIN_CSRF_COOKIE: &str = "cairn_login_csrf";

pub(crate) const STYLESHEET: &str = include_str!("../../static/cairn.css");
pub(crate) const SCRIPT: &str = include_str!("../../static/cairn.js");

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    csrf_token: &'a str,
    email: &'a str,
    error: Option<&'a str>,
}

pub(crate) fn render(template: &impl Template) -> Result<Html<String>, ApiError> {
    template.render().map(Html).map_err(ApiError::internal)
}

fn set_cookie(
    name: &str,
    value: &str,
    path: &str,
    max_age: i64,
    secure: bool,
    same_site: cookie::SameSite,
) -> Result<HeaderValue, ApiError> {
    let cookie = cookie::Cookie::build((name.to_owned(), value.to_owned()))
        .path(path.to_owned())
        .http_only(true)
        .same_site(same_site)
        .secure(secure)
        .max_age(cookie::time::Duration::seconds(max_age))
        .build();
    HeaderValue::from_str(&cookie.to_string()).map_err(ApiError::internal)
}

fn login_page(
    headers: &HeaderMap,
    status: StatusCode,
    email: &str,
    error: Option<&str>,
) -> Result<Response, ApiError> {
    let token = cairn_engine::accounts::random_token();
    let page = render(&LoginPage {
        csrf_token: &token,
        email,
        error,
    })?;
    let cookie = set_cookie(
        LOGIN_CSRF_COOKIE,
        &token,
        "/login",
        3600,
        is_https(headers),
        cookie::SameSite::Strict,
    )?;
    Ok((status, [(header::SET_COOKIE, cookie)], page).into_response())
}

pub(crate) async fn login_form(caller: Caller, headers: HeaderMap) -> Result<Response, ApiError> {
    if caller.0.is_some() {
        return Ok(Redirect::to("/").into_response());
    }
    login_page(&headers, StatusCode::OK, "", None)
}

#[derive(Deserialize)]
pub(crate) struct LoginForm {
    email: String,
    password: String,
    csrf_token: String,
}

pub(crate) async fn login_submit(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, ApiError> {
    let expected = cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or_default();
    if expected.is_empty() || !constant_time_eq(expected.as_bytes(), form.csrf_token.as_bytes()) {
        return login_page(
            &headers,
            StatusCode::FORBIDDEN,
            &form.email,
            Some("The form expired. Please sign in again."),
        );
    }
    let now = Utc::now();
    match state
        .accounts
        .login(&form.email, &form.password, address, now)
        .await
    {
        Ok(session) => {
            let max_age = (session.expires_at - now).num_seconds();
            let cookie = set_cookie(
                SESSION_COOKIE,
                session.cookie_value.expose(),
                "/",
                max_age,
                is_https(&headers),
                cookie::SameSite::Lax,
            )?;
            Ok((
                StatusCode::SEE_OTHER,
                [
                    (header::SET_COOKIE, cookie),
                    (header::LOCATION, HeaderValue::from_static("/")),
                ],
            )
                .into_response())
        }
        Err(cairn_engine::EngineError::RateLimited { retry_after_secs }) => login_page(
            &headers,
            StatusCode::TOO_MANY_REQUESTS,
            &form.email,
            Some(&format!(
                "Too many failed attempts. Try again in {retry_after_secs} seconds."
            )),
        )
        .map(|mut page| {
            page.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            page
        }),
        Err(cairn_engine::EngineError::Unauthenticated(_)) => login_page(
            &headers,
            StatusCode::UNAUTHORIZED,
            &form.email,
            Some("Wrong email or password."),
        ),
        Err(other) => Err(other.into()),
    }
}

/// Signs out (the CSRF field is checked by the authentication layer).
pub(crate) async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if let Some(value) = cookie(&headers, SESSION_COOKIE) {
        state.accounts.logout(&value).await?;
    }
    let clear = set_cookie(
        SESSION_COOKIE,
        "",
        "/",
        0,
        is_https(&headers),
        cookie::SameSite::Lax,
    )?;
    Ok((
        StatusCode::SEE_OTHER,
        [
            (header::SET_COOKIE, clear),
            (header::LOCATION, HeaderValue::from_static("/login")),
        ],
    )
        .into_response())
}

pub(crate) async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLESHEET,
    )
}

/// The small progressive-enhancement script: live progress, pickers, the
/// JQL preview. Pages work without it.
pub(crate) async fn script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        SCRIPT,
    )
}
