//! Cairn's HTTP surface. Thin: parse, authorize, call the engine, answer.
//! Every error leaves as `{"error": {"code", "message", "field"}}`.

mod api;
pub mod auth;
mod contract;
mod error;
mod health;
mod hooks;
mod json;
mod metrics;
mod ui;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use cairn_store::Store;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use error::{ApiError, ErrorBody, from_engine};
pub use metrics::metrics_handle;

/// What every handler may use.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub metrics: metrics_exporter_prometheus::PrometheusHandle,
    pub accounts: Arc<cairn_engine::accounts::Accounts>,
    pub connections: Arc<cairn_engine::connections::Connections>,
    pub catalog: Arc<cairn_engine::catalog::Catalog>,
    pub goals: Arc<cairn_engine::goals::Goals>,
    /// Webhooks in: receiving, the apply jobs, setup and health.
    pub hooks: Arc<cairn_engine::hooks::Hooks>,
    /// Notifications out: channels, subscriptions, deliveries, notices.
    pub notify: Arc<cairn_engine::notify::Notifier>,
    /// Two-way sync: pairs, their items, runs and conflicts.
    pub sync: Arc<cairn_engine::sync::SyncEngine>,
    /// Time: GitLab activity, suggested worklogs, writing them.
    pub time: Arc<cairn_engine::time::TimeEngine>,
    /// Largest request body, also for forms read by the CSRF check.
    pub body_limit: usize,
    /// How GitLab and Jira reach this Cairn; `None`: the address a request
    /// came in on.
    pub public_url: Option<String>,
    /// The bearer token `/metrics` asks for; `None`: `/metrics` is open.
    pub metrics_token: Option<cairn_core::secret::Secret>,
    /// Cancelled by [`AppState::stop_streams`]: every `/live` stream ends,
    /// so a graceful shutdown is not held up by open pages.
    pub streams: tokio_util::sync::CancellationToken,
}

impl AppState {
    /// The state for a store and keyring, with default use-case settings.
    pub fn new(
        store: Arc<dyn Store>,
        keyring: Arc<cairn_engine::keyring::Keyring>,
        metrics: metrics_exporter_prometheus::PrometheusHandle,
    ) -> Self {
        let goals = Arc::new(cairn_engine::goals::Goals::new(
            store.clone(),
            keyring.clone(),
            cairn_engine::goals::GoalSettings::default(),
        ));
        let sync = Arc::new(cairn_engine::sync::SyncEngine::new(
            store.clone(),
            keyring.clone(),
            cairn_engine::sync::SyncSettings::default(),
        ));
        let time = Arc::new(cairn_engine::time::TimeEngine::new(
            store.clone(),
            keyring.clone(),
            cairn_engine::time::TimeSettings::default(),
        ));
        AppState {
            accounts: Arc::new(cairn_engine::accounts::Accounts::new(store.clone())),
            connections: Arc::new(cairn_engine::connections::Connections::new(
                store.clone(),
                keyring.clone(),
            )),
            catalog: Arc::new(cairn_engine::catalog::Catalog::new(store.clone())),
            hooks: Arc::new(
                cairn_engine::hooks::Hooks::new(
                    store.clone(),
                    keyring.clone(),
                    goals.clone(),
                    cairn_engine::hooks::HookSettings::default(),
                )
                .with_sync(sync.clone())
                .with_time(time.clone()),
            ),
            sync,
            time,
            notify: Arc::new(cairn_engine::notify::Notifier::new(
                store.clone(),
                keyring,
                cairn_engine::notify::NotifySettings::default(),
            )),
            goals,
            store,
            metrics,
            body_limit: WebConfig::default().body_limit,
            public_url: None,
            metrics_token: None,
            streams: tokio_util::sync::CancellationToken::new(),
        }
    }

    /// Ends every open `/live` event stream (and any opened later). Call it
    /// when the server starts shutting down: a graceful shutdown waits for
    /// open connections, and an event stream would otherwise stay open for
    /// minutes.
    pub fn stop_streams(&self) {
        self.streams.cancel();
    }
}

impl AppState {
    /// Replaces the goals use cases with ones using `settings` (and the
    /// webhook use cases, which apply changes through them).
    pub fn with_goal_settings(
        self,
        keyring: Arc<cairn_engine::keyring::Keyring>,
        settings: cairn_engine::goals::GoalSettings,
    ) -> Self {
        self.with_settings(
            keyring,
            settings,
            cairn_engine::hooks::HookSettings::default(),
        )
    }

    /// Replaces the notification use cases with ones using `settings`.
    pub fn with_notify_settings(
        mut self,
        keyring: Arc<cairn_engine::keyring::Keyring>,
        settings: cairn_engine::notify::NotifySettings,
    ) -> Self {
        self.notify = Arc::new(cairn_engine::notify::Notifier::new(
            self.store.clone(),
            keyring,
            settings,
        ));
        self
    }

    /// Replaces the goals and webhook use cases with ones using these settings.
    pub fn with_settings(
        mut self,
        keyring: Arc<cairn_engine::keyring::Keyring>,
        goal_settings: cairn_engine::goals::GoalSettings,
        hook_settings: cairn_engine::hooks::HookSettings,
    ) -> Self {
        self.goals = Arc::new(cairn_engine::goals::Goals::new(
            self.store.clone(),
            keyring.clone(),
            goal_settings,
        ));
        self.hooks = Arc::new(
            cairn_engine::hooks::Hooks::new(
                self.store.clone(),
                keyring,
                self.goals.clone(),
                hook_settings,
            )
            .with_sync(self.sync.clone())
            .with_time(self.time.clone()),
        );
        self
    }

    /// Replaces the sync use cases with ones using `settings` (and the
    /// webhook use cases, which hand issue events to them).
    pub fn with_sync_settings(
        mut self,
        keyring: Arc<cairn_engine::keyring::Keyring>,
        settings: cairn_engine::sync::SyncSettings,
    ) -> Self {
        self.sync = Arc::new(cairn_engine::sync::SyncEngine::new(
            self.store.clone(),
            keyring,
            settings,
        ));
        self.hooks = Arc::new(
            cairn_engine::hooks::Hooks::new(
                self.store.clone(),
                self.hooks.keyring(),
                self.goals.clone(),
                self.hooks.settings().clone(),
            )
            .with_sync(self.sync.clone())
            .with_time(self.time.clone()),
        );
        self
    }
}

/// Settings of the HTTP layer itself.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Largest request body accepted, in bytes.
    pub body_limit: usize,
    /// Largest webhook body accepted on `/hooks/*`, in bytes.
    pub hook_body_limit: usize,
    /// How GitLab and Jira reach this Cairn, e.g. `https://cairn.example.com`.
    pub public_url: Option<String>,
    /// The bearer token `/metrics` asks for (as Prometheus' `authorization`
    /// setting sends it); `None`: `/metrics` is open.
    pub metrics_token: Option<cairn_core::secret::Secret>,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            body_limit: 1024 * 1024,
            hook_body_limit: 4 * 1024 * 1024,
            public_url: None,
            metrics_token: None,
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Cairn",
        description = "Self-hosted integration hub: goals, sync, time, hooks for GitLab and Jira."
    ),
    components(schemas(ErrorBody))
)]
struct ApiDoc;

fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(health::status))
        .routes(routes!(api::accounts::login, api::accounts::logout))
        .routes(routes!(api::accounts::me))
        .routes(routes!(
            api::accounts::list_tokens,
            api::accounts::create_token
        ))
        .routes(routes!(api::accounts::revoke_token))
        .routes(routes!(
            api::accounts::list_users,
            api::accounts::create_user
        ))
        .routes(routes!(api::accounts::update_user))
        .routes(routes!(api::connections::list_integrations))
        .routes(routes!(api::connections::update_integration))
        .routes(routes!(
            api::connections::list_connections,
            api::connections::create_connection
        ))
        .routes(routes!(
            api::connections::get_connection,
            api::connections::update_connection,
            api::connections::delete_connection
        ))
        .routes(routes!(api::connections::test_connection))
        .routes(routes!(api::hooks::hook_status))
        .routes(routes!(api::hooks::rotate_hook_secret))
        .routes(routes!(api::hooks::enable_real_time))
        .routes(routes!(api::connections::audit))
        .routes(routes!(
            api::notify::list_channels,
            api::notify::create_channel
        ))
        .routes(routes!(
            api::notify::get_channel,
            api::notify::update_channel,
            api::notify::delete_channel
        ))
        .routes(routes!(api::notify::test_channel))
        .routes(routes!(api::notify::rotate_channel_secret))
        .routes(routes!(api::notify::channel_deliveries))
        .routes(routes!(
            api::notify::list_subscriptions,
            api::notify::create_subscription
        ))
        .routes(routes!(api::notify::delete_subscription))
        .routes(routes!(api::notify::list_notices))
        .routes(routes!(api::notify::dismiss_notice))
        .routes(routes!(api::sync::list_pairs, api::sync::create_pair))
        .routes(routes!(
            api::sync::get_pair,
            api::sync::update_pair,
            api::sync::delete_pair
        ))
        .routes(routes!(api::sync::preview))
        .routes(routes!(api::sync::scan))
        .routes(routes!(api::sync::list_items))
        .routes(routes!(api::sync::retry_item))
        .routes(routes!(api::sync::list_conflicts))
        .routes(routes!(api::sync_conflicts::keep_side))
        .routes(routes!(api::sync::list_runs))
        .routes(routes!(api::sync::list_operations))
        .routes(routes!(
            api::sync_people::list_people,
            api::sync_people::map_person
        ))
        .routes(routes!(api::sync_people::unmap_person))
        .routes(routes!(
            api::sync_initial::get_initial_sync,
            api::sync_initial::start_initial_sync
        ))
        .routes(routes!(api::sync_initial::preview_initial_sync))
        .routes(routes!(api::sync_initial::pause_initial_sync))
        .routes(routes!(api::sync_initial::resume_initial_sync))
        .routes(routes!(
            api::sync_releases::list_release_links,
            api::sync_releases::link_release
        ))
        .routes(routes!(api::sync_releases::unlink_release))
        .routes(routes!(
            api::time::get_source,
            api::time::put_source,
            api::time::delete_source
        ))
        .routes(routes!(api::time::match_people))
        .routes(routes!(api::time::list_people, api::time::connect_people))
        .routes(routes!(api::time::get_me, api::time::put_me))
        .routes(routes!(api::time::delete_person))
        .routes(routes!(api::time::week))
        .routes(routes!(api::time::accept))
        .routes(routes!(api::time::dismiss))
        .routes(routes!(api::time::retry_worklog))
        .routes(routes!(api::time::totals))
        .routes(routes!(api::time::list_dev_links, api::time::put_dev_links))
        .routes(routes!(api::time::delete_dev_links))
        .routes(routes!(api::goals::list_periods, api::goals::create_period))
        .routes(routes!(api::goals::update_period))
        .routes(routes!(api::dashboard::dashboard))
        .routes(routes!(api::goals::list_okrs, api::goals::create_okr))
        .routes(routes!(api::teams::list_teams, api::teams::create_team))
        .routes(routes!(
            api::teams::get_team,
            api::teams::update_team,
            api::teams::delete_team
        ))
        .routes(routes!(api::teams::add_member))
        .routes(routes!(api::teams::remove_member))
        .routes(routes!(
            api::goals::get_okr,
            api::goals::update_okr,
            api::goals::delete_okr
        ))
        .routes(routes!(
            api::goals::list_check_ins,
            api::goals::create_check_in
        ))
        .routes(routes!(
            api::goals::update_check_in,
            api::goals::delete_check_in
        ))
        .routes(routes!(
            api::goals::put_link,
            api::goals::get_link,
            api::goals::delete_link
        ))
        .routes(routes!(api::jira::preview))
        .routes(routes!(api::jira::fields))
        .routes(routes!(api::jira::put_story_points_field))
        .routes(routes!(api::goals::refresh))
        .routes(routes!(api::goals::explain))
        .routes(routes!(api::goals::history))
        .routes(routes!(api::goals::forecast))
        .routes(routes!(api::browse::projects))
        .routes(routes!(api::browse::milestones))
        .routes(routes!(api::browse::members))
        .routes(routes!(api::browse::labels))
        .routes(routes!(api::browse::issues))
}

/// `/hooks/*`: no session, no CSRF check, a body limit of their own.
fn hooks_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(hooks::gitlab))
        .routes(routes!(hooks::jira))
}

/// The pages people use (server-rendered; see `ui`).
fn ui_router() -> Router<AppState> {
    use axum::routing::{get, post};
    Router::new()
        .route("/", get(ui::tree))
        .route("/dashboard", get(ui::dashboard))
        .route("/static/cairn.css", get(ui::stylesheet))
        .route("/static/cairn.js", get(ui::script))
        .route("/live", get(ui::live))
        .route("/live.json", get(ui::live_json))
        .route("/periods/new", get(ui::new_period))
        .route("/periods", post(ui::create_period))
        .route("/okrs/new", get(ui::new_okr))
        .route("/okrs", post(ui::create_okr))
        .route("/okrs/{id}", get(ui::show_okr).post(ui::update_okr))
        .route("/okrs/{id}/edit", get(ui::edit_okr))
        .route(
            "/okrs/{id}/delete",
            get(ui::confirm_delete_okr).post(ui::delete_okr),
        )
        .route("/okrs/{id}/check-ins", post(ui::check_in))
        .route("/okrs/{id}/refresh", post(ui::refresh))
        .route("/okrs/{id}/link", get(ui::link_form))
        .route("/okrs/{id}/link/gitlab", post(ui::link_gitlab))
        .route("/okrs/{id}/link/jira", post(ui::link_jira))
        .route(
            "/connections",
            get(ui::connections).post(ui::create_connection),
        )
        .route(
            "/connections/{id}",
            get(ui::show_connection).post(ui::update_connection),
        )
        .route("/connections/{id}/test", post(ui::test_connection))
        .route("/connections/{id}/share", post(ui::share_connection))
        .route(
            "/connections/{id}/delete",
            get(ui::confirm_delete_connection).post(ui::delete_connection),
        )
        .route("/sync-pairs", get(ui::sync_pairs))
        .route("/sync-pairs/new", get(ui::new_pair))
        .route(
            "/sync-pairs/new/projects",
            get(ui::choose_projects).post(ui::create_draft),
        )
        .route("/sync-pairs/{id}", get(ui::sync_pair))
        .route(
            "/sync-pairs/{id}/setup/scope",
            get(ui::wizard_scope).post(ui::save_scope),
        )
        .route(
            "/sync-pairs/{id}/setup/fields",
            get(ui::wizard_fields).post(ui::save_fields),
        )
        .route(
            "/sync-pairs/{id}/setup/statuses",
            get(ui::wizard_statuses).post(ui::save_statuses),
        )
        .route(
            "/sync-pairs/{id}/setup/people",
            get(ui::wizard_people).post(ui::save_people),
        )
        .route("/sync-pairs/{id}/setup/preview", get(ui::wizard_preview))
        .route("/sync-pairs/{id}/activate", post(ui::activate_pair))
        .route("/sync-pairs/{id}/pause", post(ui::pause_pair))
        .route("/sync-pairs/{id}/resume", post(ui::resume_pair))
        .route(
            "/sync-pairs/{id}/delete",
            get(ui::confirm_delete_pair).post(ui::delete_pair),
        )
        .route(
            "/sync-pairs/{id}/setup/cancel",
            get(ui::confirm_cancel).post(ui::cancel_draft),
        )
        .route(
            "/sync-pairs/{id}/conflicts/{conflict}/keep",
            get(ui::confirm_keep).post(ui::keep_side),
        )
        .route(
            "/sync-pairs/{id}/items/{item}/retry",
            post(ui::retry_sync_item),
        )
        .route("/sync-pairs/{id}/people", post(ui::map_sync_person))
        .route(
            "/sync-pairs/{id}/initial-sync",
            post(ui::start_initial_sync),
        )
        .route(
            "/sync-pairs/{id}/initial-sync/preview",
            post(ui::preview_initial_sync),
        )
        .route(
            "/sync-pairs/{id}/initial-sync/pause",
            post(ui::pause_initial_sync),
        )
        .route(
            "/sync-pairs/{id}/initial-sync/resume",
            post(ui::resume_initial_sync),
        )
        .route(
            "/sync-pairs/{id}/people/{mapping}/delete",
            post(ui::unmap_sync_person),
        )
        .route("/sync-pairs/{id}/releases", post(ui::link_sync_release))
        .route(
            "/sync-pairs/{id}/releases/{link}/remove",
            get(ui::confirm_unlink_release).post(ui::unlink_sync_release),
        )
        .route("/my-work", get(ui::my_work))
        .route("/my-work/accept", post(ui::accept_work))
        .route("/my-work/dismiss", post(ui::dismiss_work))
        .route("/tokens", get(ui::tokens).post(ui::create_token))
        .route("/tokens/{id}/revoke", post(ui::revoke_token))
        .route("/admin/integrations", get(ui::integrations))
        .route("/admin/integrations/{kind}", post(ui::set_integration))
        .route("/admin/users", get(ui::users).post(ui::create_user))
        .route("/admin/users/{id}", post(ui::update_user))
        .route("/admin/users/{id}/disable", get(ui::confirm_disable_user))
        .route("/admin/teams", get(ui::teams).post(ui::create_team))
        .route("/admin/teams/{id}", post(ui::update_team))
        .route("/admin/teams/{id}/members", post(ui::add_team_member))
        .route(
            "/admin/teams/{id}/members/{user_id}/remove",
            post(ui::remove_team_member),
        )
        .route(
            "/admin/teams/{id}/delete",
            get(ui::confirm_delete_team).post(ui::delete_team),
        )
        .route(
            "/admin/notifications",
            get(ui::channels).post(ui::create_channel),
        )
        .route("/admin/notifications/{id}", get(ui::show_channel))
        .route("/admin/notifications/{id}/edit", post(ui::edit_channel))
        .route("/admin/notifications/{id}/test", post(ui::test_channel))
        .route(
            "/admin/notifications/{id}/enabled",
            post(ui::set_channel_enabled),
        )
        .route(
            "/admin/notifications/{id}/secret",
            post(ui::rotate_channel_secret),
        )
        .route(
            "/admin/notifications/{id}/delete",
            get(ui::confirm_delete_channel).post(ui::delete_channel),
        )
        .route(
            "/admin/notifications/{id}/subscriptions",
            post(ui::subscribe_channel),
        )
        .route(
            "/admin/notifications/{id}/subscriptions/{subscription}/delete",
            post(ui::unsubscribe_channel),
        )
        .route("/admin/notices/{id}/dismiss", post(ui::dismiss_notice))
        .route("/admin/time", get(ui::time_admin))
        .route("/admin/time/source", post(ui::save_time_source))
        .route(
            "/admin/time/disconnect",
            get(ui::confirm_time_disconnect).post(ui::time_disconnect),
        )
        .route("/admin/time/match", post(ui::match_time_people))
        .route("/admin/time/people", post(ui::connect_time_people))
        .route(
            "/admin/time/people/{id}/disconnect",
            get(ui::confirm_time_person_disconnect).post(ui::time_person_disconnect),
        )
        .route("/admin/time/dev-links", post(ui::save_dev_links))
        .route(
            "/admin/time/dev-links/{id}/delete",
            post(ui::delete_dev_links),
        )
        .route("/admin/hooks", get(ui::hooks))
        .route("/admin/hooks/{id}/enable", post(ui::enable_hook))
        .route("/admin/hooks/{id}/secret", post(ui::rotate_hook_secret))
}

/// The whole application.
pub fn router(mut state: AppState, config: &WebConfig) -> Router {
    state.body_limit = config.body_limit;
    state.public_url = config.public_url.clone();
    state.metrics_token = config.metrics_token.clone();
    // The OpenAPI document comes from the handlers' annotations.
    let (routes, mut api) = api_router().split_for_parts();
    let (hook_routes, hook_api) = hooks_router().split_for_parts();
    api.merge(hook_api);
    api.info.version = env!("CARGO_PKG_VERSION").to_owned();
    // After every route is in: statuses and security for all of them.
    utoipa::Modify::modify(&contract::Contract, &mut api);
    let spec = serde_json::to_value(api).unwrap_or_default();
    let hook_routes = hook_routes
        .route_layer(axum::middleware::from_fn(metrics::track))
        .layer(DefaultBodyLimit::max(config.hook_body_limit))
        .layer(RequestBodyLimitLayer::new(config.hook_body_limit));
    // Outside the session layer: Prometheus' bearer token is the metrics
    // token, not an API token.
    let metrics_routes = Router::new()
        .route("/metrics", axum::routing::get(metrics::render))
        .route_layer(axum::middleware::from_fn(metrics::track));
    routes
        .route(
            "/api/openapi.json",
            axum::routing::get(move || async move { axum::Json(spec.clone()) }),
        )
        .merge(ui_router())
        .route(
            "/login",
            axum::routing::get(ui::login_form).post(ui::login_submit),
        )
        .route("/logout", axum::routing::post(ui::logout))
        .route_layer(axum::middleware::from_fn(metrics::track))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ))
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(DefaultBodyLimit::max(config.body_limit))
        .layer(RequestBodyLimitLayer::new(config.body_limit))
        .merge(hook_routes)
        .merge(metrics_routes)
        .layer(axum::middleware::from_fn(error::json_errors))
        .layer(axum::middleware::from_fn(security_headers))
        .layer(CatchPanicLayer::custom(error::panicked))
        .with_state(state)
}

/// Headers every response carries: no inline scripts, no framing, no
/// content sniffing, no referrer leaking paths to other sites.
async fn security_headers(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::HeaderValue;
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        "content-security-policy",
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
        ),
    );
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    headers.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    response
}
