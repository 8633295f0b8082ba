//! Who is calling: a bearer API token or the UI's session cookie, resolved
//! once per request by [`authenticate`]; and the CSRF check that every
//! state-changing request made with a session cookie must pass.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use cairn_engine::accounts::Authenticated;

use crate::{ApiError, AppState};

pub const SESSION_COOKIE: &str = "cairn_session";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The caller, if any; taken by handlers.
#[derive(Clone)]
pub struct Caller(pub Option<Authenticated>);

impl Caller {
    /// The signed-in user, or 401.
    pub fn require(&self) -> Result<&Authenticated, ApiError> {
        self.0.as_ref().ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "sign in or send an API token as `Authorization: Bearer cairn_...`",
            )
        })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<Caller>()
            .cloned()
            .unwrap_or(Caller(None)))
    }
}

/// The signed-in caller, or 401 before the body is read: an extractor from
/// the request's parts, so it runs before any body extractor.
pub struct SignedIn(pub Authenticated);

impl<S: Send + Sync> FromRequestParts<S> for SignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        Ok(SignedIn(caller.require()?.clone()))
    }
}

/// An action of `core::authz` that needs no resource to decide, for
/// [`Permitted`].
pub trait Permission {
    const ACTION: cairn_core::authz::Action;
}

macro_rules! permissions {
    ($($name:ident),* $(,)?) => {
        $(
            #[doc = concat!("`Action::", stringify!($name), "` as an extractor's parameter.")]
            pub struct $name;
            impl Permission for $name {
                const ACTION: cairn_core::authz::Action = cairn_core::authz::Action::$name;
            }
        )*
    };
}

permissions!(
    ManageUsers,
    ManageCatalog,
    ViewAudit,
    ManagePeriods,
    ManageTeams,
    CreateChannel,
    ManageChannel,
    ViewNotices,
);

/// A caller allowed to do `P` (401 or 403 otherwise), decided by
/// `core::authz` before the body is read, so a member sending a bad body
/// to an admin endpoint hears 403, not a complaint about the body.
pub struct Permitted<P>(pub Authenticated, pub std::marker::PhantomData<P>);

impl<S: Send + Sync, P: Permission> FromRequestParts<S> for Permitted<P> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        cairn_engine::authorize(caller.0.as_ref().map(Authenticated::actor), P::ACTION)?;
        let who = caller.require()?.clone();
        Ok(Permitted(who, std::marker::PhantomData))
    }
}

/// The value of a cookie in the request.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

/// Whether cookies must be `Secure`: the request came over HTTPS (directly
/// or through a proxy that says so).
pub fn is_https(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

/// The token of an `Authorization: Bearer` header.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Resolves the caller and enforces CSRF for cookie-authenticated writes.
pub async fn authenticate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let now = chrono::Utc::now();
    let headers = request.headers();
    let caller = if let Some(token) = bearer(headers) {
        match state.accounts.authenticate_token(token, now).await {
            Ok(Some(who)) => Some(who),
            Ok(None) => {
                return ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "unauthorized",
                    "the API token is unknown, revoked, or its user is disabled",
                )
                .into_response();
            }
            Err(error) => return crate::error::from_engine(error).into_response(),
        }
    } else if let Some(value) = cookie(headers, SESSION_COOKIE) {
        match state.accounts.authenticate_session(&value, now).await {
            Ok(who) => who,
            Err(error) => return crate::error::from_engine(error).into_response(),
        }
    } else {
        None
    };
    if let Some(Authenticated {
        session: Some(session),
        ..
    }) = &caller
        && !is_safe(request.method())
    {
        let mut sent = request
            .headers()
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        if sent.is_none() && is_form(request.headers()) {
            // A form post: the token is a field of the body, which is read
            // here (bounded) and handed on unchanged.
            let (parts, body) = request.into_parts();
            let Ok(bytes) = axum::body::to_bytes(body, state.body_limit).await else {
                return ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    "the form is too large",
                )
                .into_response();
            };
            sent = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
                .ok()
                .and_then(|fields| fields.into_iter().find(|(k, _)| k == "csrf_token"))
                .map(|(_, v)| v);
            request = Request::from_parts(parts, axum::body::Body::from(bytes));
        }
        let valid = sent
            .is_some_and(|token| constant_time_eq(token.as_bytes(), session.csrf_token.as_bytes()));
        if !valid {
            return ApiError::new(
                StatusCode::FORBIDDEN,
                "csrf_failed",
                "missing or wrong CSRF token: send the token from sign-in as X-CSRF-Token (or the csrf_token form field)",
            )
            .into_response();
        }
    }
    request.extensions_mut().insert(Caller(caller));
    next.run(request).await
}

/// Compares secrets without leaking where they differ through timing.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The client's address, from the connection (loopback when unknown, as in
/// in-process tests).
pub struct ClientAddress(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddress(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip())
                .unwrap_or(IpAddr::from([127, 0, 0, 1])),
        ))
    }
}
