use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cairn_core::authz::Role;
use cairn_core::secret::Secret;
use cairn_engine::accounts::UserChanges;
use cairn_store::{ApiToken, User};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{
    ClientAddress, ManageUsers, Permitted, SESSION_COOKIE, SignedIn, cookie, is_https,
};
use crate::json::ApiJson;
use crate::{ApiError, AppState, ErrorBody};

/// A user as the API shows it (never the password hash).
#[derive(Serialize, ToSchema)]
pub(crate) struct UserView {
    id: i64,
    email: String,
    name: String,
    #[schema(value_type = String, example = "member")]
    role: Role,
    disabled: bool,
    created_at: DateTime<Utc>,
}

impl From<User> for UserView {
    fn from(u: User) -> Self {
        UserView {
            id: u.id,
            email: u.email,
            name: u.name,
            role: u.role,
            disabled: u.disabled_at.is_some(),
            created_at: u.created_at,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LoginRequest {
    email: String,
    password: String,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct LoginResponse {
    user: UserView,
    /// Send as `X-CSRF-Token` with every state-changing request made with the session cookie.
    csrf_token: String,
    expires_at: DateTime<Utc>,
}

fn session_cookie(value: &str, max_age_secs: i64, secure: bool) -> Result<HeaderValue, ApiError> {
    let cookie = cookie::Cookie::build((SESSION_COOKIE, value.to_owned()))
        .path("/")
        .http_only(true)
        .same_site(cookie::SameSite::Lax)
        .secure(secure)
        .max_age(cookie::time::Duration::seconds(max_age_secs))
        .build();
    HeaderValue::from_str(&cookie.to_string()).map_err(ApiError::internal)
}

/// Signs in with email and password; sets the session cookie.
#[utoipa::path(post, path = "/api/v1/session", tag = "accounts", request_body = LoginRequest, responses(
    (status = 200, description = "Signed in; the session cookie is set", body = LoginResponse),
    (status = 401, description = "Wrong email or password", body = ErrorBody),
    (status = 429, description = "Too many failed attempts for this account from this address", body = ErrorBody)))]
pub(crate) async fn login(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    ApiJson(body): ApiJson<LoginRequest>,
) -> Result<Response, ApiError> {
    let now = Utc::now();
    let session = state
        .accounts
        .login(&body.email, &body.password, address, now)
        .await?;
    let max_age = (session.expires_at - now).num_seconds();
    let set_cookie = session_cookie(session.cookie_value.expose(), max_age, is_https(&headers))?;
    let body = LoginResponse {
        user: session.user.into(),
        csrf_token: session.csrf_token,
        expires_at: session.expires_at,
    };
    Ok(([(header::SET_COOKIE, set_cookie)], Json(body)).into_response())
}

/// Signs out: ends the session and clears the cookie.
#[utoipa::path(delete, path = "/api/v1/session", tag = "accounts", responses(
    (status = 204, description = "Signed out"),
    (status = 403, description = "Missing CSRF token", body = ErrorBody)))]
pub(crate) async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if let Some(value) = cookie(&headers, SESSION_COOKIE) {
        state.accounts.logout(&value).await?;
    }
    let clear = session_cookie("", 0, is_https(&headers))?;
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, clear)]).into_response())
}

/// The signed-in user.
#[utoipa::path(get, path = "/api/v1/me", tag = "accounts", responses(
    (status = 200, description = "The caller", body = UserView),
    (status = 401, description = "Not signed in", body = ErrorBody)))]
pub(crate) async fn me(SignedIn(caller): SignedIn) -> Result<Json<UserView>, ApiError> {
    Ok(Json(caller.user.into()))
}

#[derive(Serialize, ToSchema)]
pub(crate) struct TokenView {
    id: i64,
    name: String,
    /// The first characters, to recognise the token.
    prefix: String,
    created_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

impl From<ApiToken> for TokenView {
    fn from(t: ApiToken) -> Self {
        TokenView {
            id: t.id,
            name: t.name,
            prefix: t.prefix,
            created_at: t.created_at,
            last_used_at: t.last_used_at,
            revoked_at: t.revoked_at,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewTokenRequest {
    name: String,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct NewTokenResponse {
    token: TokenView,
    /// The token itself: shown this once, stored only as a hash.
    value: String,
}

/// The caller's API tokens.
#[utoipa::path(get, path = "/api/v1/me/tokens", tag = "accounts", responses(
    (status = 200, description = "Tokens, without their values", body = Vec<TokenView>)))]
pub(crate) async fn list_tokens(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
) -> Result<Json<Vec<TokenView>>, ApiError> {
    let tokens = state.accounts.list_api_tokens(&caller).await?;
    Ok(Json(tokens.into_iter().map(TokenView::from).collect()))
}

/// Creates an API token; its value is in this answer only.
#[utoipa::path(post, path = "/api/v1/me/tokens", tag = "accounts", request_body = NewTokenRequest, responses(
    (status = 201, description = "Created", body = NewTokenResponse),
    (status = 422, description = "Bad name", body = ErrorBody)))]
pub(crate) async fn create_token(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    ApiJson(body): ApiJson<NewTokenRequest>,
) -> Result<(StatusCode, Json<NewTokenResponse>), ApiError> {
    let (token, value) = state
        .accounts
        .create_api_token(&caller, &body.name, Utc::now())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(NewTokenResponse {
            token: token.into(),
            value: value.expose().to_owned(),
        }),
    ))
}

/// Revokes one of the caller's API tokens.
#[utoipa::path(delete, path = "/api/v1/me/tokens/{id}", tag = "accounts", params(("id" = i64, Path)), responses(
    (status = 204, description = "Revoked"),
    (status = 404, description = "No such live token", body = ErrorBody)))]
pub(crate) async fn revoke_token(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    state
        .accounts
        .revoke_api_token(&caller, id, Utc::now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every user (admins only).
#[utoipa::path(get, path = "/api/v1/users", tag = "accounts", responses(
    (status = 200, description = "Users", body = Vec<UserView>),
    (status = 403, description = "Not an admin", body = ErrorBody)))]
pub(crate) async fn list_users(
    State(state): State<AppState>,
    Permitted(caller, _): Permitted<ManageUsers>,
) -> Result<Json<Vec<UserView>>, ApiError> {
    let users = state.accounts.list_users(&caller).await?;
    Ok(Json(users.into_iter().map(UserView::from).collect()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewUserRequest {
    email: String,
    name: String,
    #[schema(value_type = String, example = "member")]
    role: Role,
    /// At least 12 characters.
    password: String,
}

/// Creates a user (admins only).
#[utoipa::path(post, path = "/api/v1/users", tag = "accounts", request_body = NewUserRequest, responses(
    (status = 201, description = "Created", body = UserView),
    (status = 409, description = "Email taken", body = ErrorBody),
    (status = 422, description = "Invalid field", body = ErrorBody)))]
pub(crate) async fn create_user(
    State(state): State<AppState>,
    Permitted(caller, _): Permitted<ManageUsers>,
    ApiJson(body): ApiJson<NewUserRequest>,
) -> Result<(StatusCode, Json<UserView>), ApiError> {
    let user = state
        .accounts
        .create_user(
            Some(&caller),
            &body.email,
            &body.name,
            body.role,
            &body.password,
            Utc::now(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(user.into())))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UserChangesRequest {
    name: Option<String>,
    #[schema(value_type = Option<String>)]
    role: Option<Role>,
    disabled: Option<bool>,
    password: Option<String>,
}

/// Changes a user's name, role, password or whether they may sign in (admins only).
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "accounts", params(("id" = i64, Path)), request_body = UserChangesRequest, responses(
    (status = 200, description = "Updated", body = UserView),
    (status = 404, description = "No such user", body = ErrorBody)))]
pub(crate) async fn update_user(
    State(state): State<AppState>,
    Permitted(caller, _): Permitted<ManageUsers>,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<UserChangesRequest>,
) -> Result<Json<UserView>, ApiError> {
    let changes = UserChanges {
        name: body.name,
        role: body.role,
        password: body.password.map(Secret::new),
        disabled: body.disabled,
    };
    Ok(Json(
        state
            .accounts
            .update_user(&caller, id, changes, Utc::now())
            .await?
            .into(),
    ))
}
