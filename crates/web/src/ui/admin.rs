//! Administration: the integration catalog, connections (new, test, share,
//! edit, delete), users, and one's own API tokens. Hook setup is in
//! `hooks`, notification channels in `channels`.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use cairn_core::authz::Role;
use cairn_core::integrations::IntegrationKind;
use cairn_core::secret::Secret;
use cairn_engine::accounts::{Authenticated, UserChanges};
use cairn_engine::connections::{
    ConnectionChanges, ConnectionInput, ConnectionUsage, ConnectionView, TestOutcome,
};
use chrono::Utc;
use serde::Deserialize;

use super::common::{
    Choice, DoneQuery, FormError, Nav, PageError, PageResult, admin, ago, done, page, refusal,
    refused, see_other, signed_in, when,
};
use crate::auth::Caller;
use crate::{ApiError, AppState};

pub(crate) struct IntegrationRow {
    pub kind: &'static str,
    pub title: &'static str,
    pub enabled: bool,
    /// "3 connections" or "2 channels".
    pub count: String,
    /// The health in words, e.g. "1 healthy, 1 failing: last delivery
    /// failed 3 min ago (Ops: answered 404)".
    pub health: String,
    pub failing: bool,
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A catalog entry's health in words: from real refreshes, syncs and tests
/// for connections, from real deliveries for channels.
fn catalog_row(
    e: &cairn_engine::catalog::CatalogEntry,
    now: chrono::DateTime<Utc>,
) -> IntegrationRow {
    let i = &e.integration;
    let tracker = i.kind.is_tracker();
    let count = if tracker {
        plural(i.connections, "connection", "connections")
    } else {
        plural(i.connections, "channel", "channels")
    };
    let unchecked = i.connections.saturating_sub(i.healthy + i.failing);
    let mut parts = Vec::new();
    if i.connections == 0 {
        parts.push(
            if tracker {
                "No connection yet"
            } else {
                "No channel yet"
            }
            .to_owned(),
        );
    } else {
        if i.healthy > 0 {
            parts.push(format!("{} healthy", i.healthy));
        }
        if i.failing > 0 {
            parts.push(format!("{} failing", i.failing));
        }
        if unchecked > 0 {
            parts.push(if tracker {
                format!("{unchecked} not used yet")
            } else {
                format!("{unchecked} with no delivery yet")
            });
        }
    }
    let mut health = parts.join(", ");
    if i.failing > 0
        && let Some(at) = e.last_failure_at
    {
        let what = if tracker {
            "last failure"
        } else {
            "last delivery failed"
        };
        health.push_str(&format!(": {what} {}", ago(at, now)));
        if let Some(why) = &e.last_failure {
            health.push_str(&format!(" ({why})"));
        }
    }
    IntegrationRow {
        kind: i.kind.as_str(),
        title: i.kind.title(),
        enabled: i.enabled,
        count,
        health,
        failing: i.failing > 0,
    }
}

#[derive(Template)]
#[template(path = "integrations.html")]
struct IntegrationsPage {
    nav: Nav,
    integrations: Vec<IntegrationRow>,
}

/// `/admin/integrations`: the catalog.
pub(crate) async fn integrations(State(state): State<AppState>, caller: Caller) -> PageResult {
    let who = signed_in(&caller)?;
    let integrations = state
        .catalog
        .list(who)
        .await?
        .iter()
        .map(|e| catalog_row(e, Utc::now()))
        .collect();
    page(&IntegrationsPage {
        nav: Nav::admin(&state, who, "/admin/integrations").await?,
        integrations,
    })
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct EnableForm {
    enabled: String,
}

/// Enables or disables an integration (admins).
pub(crate) async fn set_integration(
    State(state): State<AppState>,
    caller: Caller,
    Path(kind): Path<String>,
    Form(form): Form<EnableForm>,
) -> PageResult {
    let who = signed_in(&caller)?;
    state
        .catalog
        .set_enabled(who, &kind, form.enabled == "true", Utc::now())
        .await?;
    see_other("/admin/integrations")
}

/// The connection form as typed (the secret is never sent back).
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub(crate) struct ConnectionForm {
    kind: String,
    name: String,
    base_url: String,
    auth_kind: String,
    username: String,
    secret: String,
    shared: String,
}

impl ConnectionForm {
    pub fn shared_checked(&self) -> bool {
        !self.shared.is_empty()
    }

    fn from_view(c: &ConnectionView) -> ConnectionForm {
        ConnectionForm {
            kind: c.kind.as_str().to_owned(),
            name: c.name.clone(),
            base_url: c.base_url.clone(),
            auth_kind: c.auth_kind.clone(),
            username: c.username.clone().unwrap_or_default(),
            secret: String::new(),
            shared: if c.shared {
                "on".to_owned()
            } else {
                String::new()
            },
        }
    }
}

const CONNECTION_FIELDS: &[&str] = &[
    "kind",
    "name",
    "base_url",
    "auth_kind",
    "username",
    "secret",
    "shared",
];

pub(crate) struct ConnectionRow {
    pub id: i64,
    pub name: String,
    pub kind: &'static str,
    pub kind_title: &'static str,
    pub base_url: String,
    pub shared: bool,
    pub mine: bool,
    pub health: &'static str,
    pub last_error: Option<String>,
}

fn row(c: &ConnectionView, who: &Authenticated) -> ConnectionRow {
    ConnectionRow {
        id: c.id,
        name: c.name.clone(),
        kind: c.kind.as_str(),
        kind_title: c.kind.title(),
        base_url: c.base_url.clone(),
        shared: c.shared,
        mine: c.owner_id == who.user.id,
        health: c.health.status,
        // An error it has recovered from is on its page, not in the list.
        last_error: c
            .health
            .last_error
            .clone()
            .filter(|_| c.health.status == "failing"),
    }
}

#[derive(Template)]
#[template(path = "connections.html")]
struct ConnectionsPage {
    nav: Nav,
    connections: Vec<ConnectionRow>,
    kinds: Vec<Choice>,
    auth_kinds: Vec<Choice>,
    form: ConnectionForm,
    error: FormError,
}

fn kinds(current: &str) -> Vec<Choice> {
    [IntegrationKind::Gitlab, IntegrationKind::Jira]
        .iter()
        .map(|k| Choice::new(k.as_str(), k.title(), current))
        .collect()
}

fn auth_kinds(current: &str) -> Vec<Choice> {
    [
        (
            "private_token",
            "GitLab: personal, group or project access token",
        ),
        ("oauth", "GitLab: OAuth token"),
        ("basic", "Jira Cloud: email and API token"),
        ("bearer", "Jira Data Center: personal access token"),
    ]
    .iter()
    .map(|(v, l)| Choice::new(*v, *l, current))
    .collect()
}

async fn connections_page(
    state: &AppState,
    who: &Authenticated,
    form: ConnectionForm,
    error: FormError,
) -> Result<ConnectionsPage, PageError> {
    let connections = state
        .connections
        .list(who)
        .await?
        .iter()
        .map(|c| row(c, who))
        .collect();
    Ok(ConnectionsPage {
        nav: Nav::new(who, "connections"),
        connections,
        kinds: kinds(&form.kind),
        auth_kinds: auth_kinds(&form.auth_kind),
        form,
        error,
    })
}

/// `/connections`: the list and the new-connection form.
pub(crate) async fn connections(
    State(state): State<AppState>,
    caller: Caller,
    Query(done): Query<DoneQuery>,
) -> PageResult {
    let who = signed_in(&caller)?;
    let form = ConnectionForm {
        kind: "gitlab".to_owned(),
        auth_kind: "private_token".to_owned(),
        ..ConnectionForm::default()
    };
    let mut shown = connections_page(&state, who, form, FormError::none()).await?;
    shown.nav = shown.nav.with_done(&done);
    page(&shown)
}

fn optional(text: &str) -> Option<String> {
    Some(text.trim().to_owned()).filter(|t| !t.is_empty())
}

/// Creates a connection owned by the caller.
pub(crate) async fn create_connection(
    State(state): State<AppState>,
    caller: Caller,
    Form(mut form): Form<ConnectionForm>,
) -> PageResult {
    let who = signed_in(&caller)?;
    let input = ConnectionInput {
        kind: form.kind.clone(),
        name: form.name.clone(),
        base_url: optional(&form.base_url),
        auth_kind: form.auth_kind.clone(),
        username: optional(&form.username),
        secret: Secret::new(std::mem::take(&mut form.secret)),
        shared: form.shared_checked(),
    };
    // Tested on save: the connection's page then shows the outcome.
    match state
        .connections
        .create_and_test(who, input, Utc::now())
        .await
    {
        Ok((created, _)) => done(
            &format!("/connections/{}", created.id),
            "connection_created",
        ),
        Err(e) => {
            let error = refusal(e, CONNECTION_FIELDS)?;
            refused(
                StatusCode::UNPROCESSABLE_ENTITY,
                &connections_page(&state, who, form, error).await?,
            )
        }
    }
}

pub(crate) struct HealthView {
    pub status: &'static str,
    pub account: Option<String>,
    pub version: Option<String>,
    pub last_ok: Option<String>,
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
}

pub(crate) struct TestView {
    pub ok: bool,
    pub text: String,
}

impl From<TestOutcome> for TestView {
    fn from(t: TestOutcome) -> Self {
        let text = match (&t.diagnosis, &t.account_name) {
            (Some(d), _) => format!("{} {} ({})", d.summary, d.hint, d.code),
            (None, Some(account)) => format!(
                "Connected as {account}{}.",
                t.server_version
                    .as_ref()
                    .map(|v| format!(", server version {v}"))
                    .unwrap_or_default()
            ),
            (None, None) => "Connected.".to_owned(),
        };
        TestView { ok: t.ok, text }
    }
}

impl TestView {
    /// The test made when the connection was created, from the health it
    /// recorded.
    fn of_new(kind_title: &str, health: &HealthView) -> TestView {
        if health.status == "ok" {
            let account = health.account.as_deref().unwrap_or("the token's account");
            let version = health
                .version
                .as_deref()
                .map(|v| format!(" ({kind_title} {v})"))
                .unwrap_or_default();
            TestView {
                ok: true,
                text: format!("Tested on save: connected as {account}{version}."),
            }
        } else {
            let why = health
                .last_error
                .as_deref()
                .unwrap_or("the server gave no reason.");
            TestView {
                ok: false,
                text: format!(
                    "Tested on save, and it failed: {why} The connection is saved anyway: \
                     correct the base URL or the token below and save, then test it again."
                ),
            }
        }
    }
}

#[derive(Template)]
#[template(path = "connection.html")]
struct ConnectionPage {
    nav: Nav,
    id: i64,
    kind_title: &'static str,
    shared: bool,
    health: HealthView,
    auth_kinds: Vec<Choice>,
    form: ConnectionForm,
    error: FormError,
    test: Option<TestView>,
    /// Why Delete would be refused now (it is shown disabled), or `None`.
    delete_refused: Option<String>,
}

async fn connection_page(
    state: &AppState,
    who: &Authenticated,
    id: i64,
    form: Option<ConnectionForm>,
    error: FormError,
    test: Option<TestView>,
) -> Result<ConnectionPage, PageError> {
    let c = state.connections.get(who, id).await?;
    let usage = state.connections.usage(who, id).await?;
    let form = form.unwrap_or_else(|| ConnectionForm::from_view(&c));
    let h = &c.health;
    Ok(ConnectionPage {
        nav: Nav::new(who, "connections"),
        id,
        kind_title: c.kind.title(),
        shared: c.shared,
        health: HealthView {
            status: h.status,
            account: h.account_name.clone(),
            version: h.server_version.clone(),
            last_ok: h.last_ok_at.map(when),
            last_error: h.last_error.clone(),
            last_error_at: h.last_error_at.map(when),
        },
        auth_kinds: auth_kinds(&form.auth_kind),
        form,
        error,
        test,
        delete_refused: delete_refusal(&usage),
    })
}

/// Why deleting a connection would be refused, as the page says it.
fn delete_refusal(usage: &ConnectionUsage) -> Option<String> {
    if !usage.may_delete {
        return Some("Only its owner or an admin may delete it.".to_owned());
    }
    usage.in_use().map(|why| {
        let mut why = why;
        if let Some(first) = why.get(..1) {
            why = first.to_uppercase() + &why[1..];
        }
        format!("{why}.")
    })
}

/// `/connections/{id}`: health, test, share, edit, delete.
pub(crate) async fn show_connection(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(done): Query<DoneQuery>,
) -> PageResult {
    let who = signed_in(&caller)?;
    let mut shown = connection_page(&state, who, id, None, FormError::none(), None).await?;
    if done.code() == Some("connection_created") {
        // Created and tested at once: say how the test went.
        shown.test = Some(TestView::of_new(shown.kind_title, &shown.health));
    }
    shown.nav = shown.nav.with_done(&done);
    page(&shown)
}

/// Saves the edit form; an empty secret keeps the stored one.
pub(crate) async fn update_connection(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Form(mut form): Form<ConnectionForm>,
) -> PageResult {
    let who = signed_in(&caller)?;
    let secret = std::mem::take(&mut form.secret);
    let changes = ConnectionChanges {
        name: Some(form.name.clone()),
        base_url: optional(&form.base_url),
        auth_kind: Some(form.auth_kind.clone()),
        username: Some(optional(&form.username)),
        secret: Some(secret).filter(|s| !s.is_empty()).map(Secret::new),
        shared: Some(form.shared_checked()),
    };
    match state.connections.update(who, id, changes, Utc::now()).await {
        Ok(_) => done(&format!("/connections/{id}"), "connection_saved"),
        Err(e) => {
            let error = refusal(e, CONNECTION_FIELDS)?;
            refused(
                StatusCode::UNPROCESSABLE_ENTITY,
                &connection_page(&state, who, id, Some(form), error, None).await?,
            )
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct ShareForm {
    shared: String,
}

/// Shares a connection with everyone, or makes it private again.
pub(crate) async fn share_connection(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Form(form): Form<ShareForm>,
) -> PageResult {
    let who = signed_in(&caller)?;
    let changes = ConnectionChanges {
        name: None,
        base_url: None,
        auth_kind: None,
        username: None,
        secret: None,
        shared: Some(form.shared == "true"),
    };
    match state.connections.update(who, id, changes, Utc::now()).await {
        Ok(view) if view.shared => done(&format!("/connections/{id}"), "connection_shared"),
        Ok(_) => done(&format!("/connections/{id}"), "connection_private"),
        Err(e) => {
            let error = refusal(e, &[])?;
            refused(
                StatusCode::UNPROCESSABLE_ENTITY,
                &connection_page(&state, who, id, None, error, None).await?,
            )
        }
    }
}

/// Tests the stored credentials and shows the outcome.
pub(crate) async fn test_connection(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> PageResult {
    let who = signed_in(&caller)?;
    let outcome = state.connections.test(who, id, Utc::now()).await?;
    page(
        &connection_page(
            &state,
            who,
            id,
            None,
            FormError::none(),
            Some(outcome.into()),
        )
        .await?,
    )
}

#[derive(Template)]
#[template(path = "connection_delete.html")]
struct ConnectionDeletePage {
    nav: Nav,
    id: i64,
    name: String,
    kind_title: &'static str,
    base_url: String,
    usage: ConnectionUsage,
    /// Why Delete would be refused now, or `None`.
    refused: Option<String>,
}

/// `/connections/{id}/delete`: asks first, saying what uses the
/// connection and what goes with it; nothing is deleted until the POST.
pub(crate) async fn confirm_delete_connection(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> PageResult {
    let who = signed_in(&caller)?;
    let c = state.connections.get(who, id).await?;
    let usage = state.connections.usage(who, id).await?;
    page(&ConnectionDeletePage {
        nav: Nav::new(who, "connections"),
        id,
        name: c.name,
        kind_title: c.kind.title(),
        base_url: c.base_url,
        refused: delete_refusal(&usage),
        usage,
    })
}

/// Deletes a connection; one that links read through or sync pairs use is
/// refused with the reason shown.
pub(crate) async fn delete_connection(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> PageResult {
    let who = signed_in(&caller)?;
    match state.connections.delete(who, id, Utc::now()).await {
        Ok(()) => done("/connections", "connection_deleted"),
        Err(e) => {
            let error = refusal(e, &[])?;
            refused(
                StatusCode::CONFLICT,
                &connection_page(&state, who, id, None, error, None).await?,
            )
        }
    }
}

pub(crate) struct UserRow {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: &'static str,
    pub is_admin: bool,
    pub disabled: bool,
    pub is_me: bool,
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub(crate) struct UserForm {
    email: String,
    name: String,
    role: String,
    password: String,
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    nav: Nav,
    users: Vec<UserRow>,
    roles: Vec<Choice>,
    form: UserForm,
    error: FormError,
}

async fn users_page(
    state: &AppState,
    who: &Authenticated,
    form: UserForm,
    error: FormError,
) -> Result<UsersPage, PageError> {
    let users = state
        .accounts
        .list_users(who)
        .await?
        .into_iter()
        .map(|u| UserRow {
            id: u.id,
            is_me: u.id == who.user.id,
            email: u.email,
            name: u.name,
            role: u.role.as_str(),
            is_admin: u.role == Role::Admin,
            disabled: u.disabled_at.is_some(),
        })
        .collect();
    Ok(UsersPage {
        nav: Nav::admin(state, who, "/admin/users").await?,
        users,
        roles: [("member", "Member"), ("admin", "Admin")]
            .iter()
            .map(|(v, l)| Choice::new(*v, *l, &form.role))
            .collect(),
        form,
        error,
    })
}

/// `/admin/users`.
pub(crate) async fn users(
    State(state): State<AppState>,
    caller: Caller,
    Query(done): Query<DoneQuery>,
) -> PageResult {
    let who = signed_in(&caller)?;
    let form = UserForm {
        role: "member".to_owned(),
        ..UserForm::default()
    };
    let mut shown = users_page(&state, who, form, FormError::none()).await?;
    shown.nav = shown.nav.with_done(&done);
    page(&shown)
}

#[derive(Template)]
#[template(path = "user_disable.html")]
struct UserDisablePage {
    nav: Nav,
    id: i64,
    name: String,
    email: String,
    owned_okrs: usize,
    /// Why disabling would be refused (one's own account), or `None`.
    refused: Option<&'static str>,
}

/// `/admin/users/{id}/disable`: asks before disabling a user (users are
/// disabled, never deleted), saying what stops and what stays.
pub(crate) async fn confirm_disable_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> PageResult {
    let who = admin(&caller, "managing users")?;
    let user = state
        .accounts
        .list_users(who)
        .await?
        .into_iter()
        .find(|u| u.id == id)
        .ok_or_else(|| {
            ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("no user {id}"))
        })?;
    let owned_okrs = state
        .goals
        .list_okrs(who, None)
        .await?
        .iter()
        .filter(|o| o.fields.owner_id == id)
        .count();
    page(&UserDisablePage {
        nav: Nav::admin(&state, who, "/admin/users").await?,
        id,
        name: user.name,
        email: user.email,
        owned_okrs,
        refused: (id == who.user.id).then_some("You cannot disable yourself; ask another admin."),
    })
}

fn role(text: &str) -> Result<Role, FormError> {
    match text.trim() {
        "admin" => Ok(Role::Admin),
        "member" => Ok(Role::Member),
        _ => Err(FormError::at("role", "choose member or admin")),
    }
}

/// Creates a user (admins).
pub(crate) async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    Form(mut form): Form<UserForm>,
) -> PageResult {
    let who = signed_in(&caller)?;
    let password = std::mem::take(&mut form.password);
    let error = match role(&form.role) {
        Err(error) => error,
        Ok(role) => match state
            .accounts
            .create_user(
                Some(who),
                &form.email,
                &form.name,
                role,
                &password,
                Utc::now(),
            )
            .await
        {
            Ok(_) => return done("/admin/users", "user_created"),
            Err(e) => refusal(e, &["email", "name", "role", "password"])?,
        },
    };
    refused(
        StatusCode::UNPROCESSABLE_ENTITY,
        &users_page(&state, who, form, error).await?,
    )
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct UserChangeForm {
    disabled: String,
    role: String,
}

/// Disables, enables or changes the role of a user (admins).
pub(crate) async fn update_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Form(form): Form<UserChangeForm>,
) -> PageResult {
    let who = signed_in(&caller)?;
    let changes = UserChanges {
        name: None,
        role: match form.role.as_str() {
            "" => None,
            r => Some(role(r).map_err(|e| {
                PageError::Failed(ApiError::invalid_field(
                    "role",
                    e.of("role").unwrap_or_default().to_owned(),
                ))
            })?),
        },
        password: None,
        disabled: match form.disabled.as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        },
    };
    let changes_disabled = changes.disabled;
    match state
        .accounts
        .update_user(who, id, changes, Utc::now())
        .await
    {
        Ok(_) => done(
            "/admin/users",
            match changes_disabled {
                Some(true) => "user_disabled",
                Some(false) => "user_enabled",
                None => "user_role",
            },
        ),
        Err(e) => {
            let error = refusal(e, &[])?;
            let form = UserForm {
                role: "member".to_owned(),
                ..UserForm::default()
            };
            refused(
                StatusCode::UNPROCESSABLE_ENTITY,
                &users_page(&state, who, form, error).await?,
            )
        }
    }
}

pub(crate) struct TokenRow {
    pub id: i64,
    pub name: String,
    pub prefix: String,
    pub created: String,
    pub last_used: String,
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub(crate) struct TokenForm {
    name: String,
}

#[derive(Template)]
#[template(path = "tokens.html")]
struct TokensPage {
    nav: Nav,
    tokens: Vec<TokenRow>,
    form: TokenForm,
    error: FormError,
    /// A token just created: shown this once, never again.
    created: Option<String>,
}

async fn tokens_page(
    state: &AppState,
    who: &Authenticated,
    form: TokenForm,
    error: FormError,
    created: Option<String>,
) -> Result<TokensPage, PageError> {
    let tokens = state
        .accounts
        .list_api_tokens(who)
        .await?
        .into_iter()
        .filter(|t| t.revoked_at.is_none())
        .map(|t| TokenRow {
            id: t.id,
            name: t.name,
            prefix: t.prefix,
            created: when(t.created_at),
            last_used: t
                .last_used_at
                .map(when)
                .unwrap_or_else(|| "never".to_owned()),
        })
        .collect();
    Ok(TokensPage {
        nav: Nav::new(who, "tokens"),
        tokens,
        form,
        error: error.anchored(|field| format!("token-{field}")),
        created,
    })
}

/// `/tokens`: the caller's API tokens.
pub(crate) async fn tokens(
    State(state): State<AppState>,
    caller: Caller,
    Query(done): Query<DoneQuery>,
) -> PageResult {
    let who = signed_in(&caller)?;
    let mut shown = tokens_page(&state, who, TokenForm::default(), FormError::none(), None).await?;
    shown.nav = shown.nav.with_done(&done);
    page(&shown)
}

/// Creates a token and shows its value once.
pub(crate) async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    Form(form): Form<TokenForm>,
) -> PageResult {
    let who = signed_in(&caller)?;
    match state
        .accounts
        .create_api_token(who, &form.name, Utc::now())
        .await
    {
        Ok((_, value)) => {
            let mut page_ = tokens_page(
                &state,
                who,
                TokenForm::default(),
                FormError::none(),
                Some(value.expose().to_owned()),
            )
            .await?;
            page_.created = Some(value.expose().to_owned());
            let mut response = page(&page_)?;
            // The value must not linger in caches.
            response.headers_mut().insert(
                axum::http::header::CACHE_CONTROL,
                axum::http::HeaderValue::from_static("no-store"),
            );
            Ok(response)
        }
        Err(e) => {
            let error = refusal(e, &["name"])?;
            refused(
                StatusCode::UNPROCESSABLE_ENTITY,
                &tokens_page(&state, who, form, error, None).await?,
            )
        }
    }
}

/// Revokes one of the caller's tokens.
pub(crate) async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> PageResult {
    let who = signed_in(&caller)?;
    state.accounts.revoke_api_token(who, id, Utc::now()).await?;
    done("/tokens", "token_revoked")
}
