//! Cairn's HTTP surface. Thin: parse, authorize, call the engine, answer.
//! Every error leaves as `{"error": {"code", "message", "field"}}`.

mod error;
mod health;
mod metrics;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use cairn_store::Store;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use error::{ApiError, ErrorBody};
pub use metrics::metrics_handle;

/// What every handler may use.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub metrics: metrics_exporter_prometheus::PrometheusHandle,
}

/// Settings of the HTTP layer itself.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Largest request body accepted, in bytes.
    pub body_limit: usize,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            body_limit: 1024 * 1024,
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
}

/// The OpenAPI document, generated from the handlers' annotations.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, mut api) = api_router().split_for_parts();
    api.info.version = env!("CARGO_PKG_VERSION").to_owned();
    api
}

/// The whole application.
pub fn router(state: AppState, config: &WebConfig) -> Router {
    let (routes, _) = api_router().split_for_parts();
    let spec = serde_json::to_value(openapi()).unwrap_or_default();
    routes
        .route(
            "/api/openapi.json",
            axum::routing::get(move || async move { axum::Json(spec.clone()) }),
        )
        .route("/metrics", axum::routing::get(metrics::render))
        .route_layer(axum::middleware::from_fn(metrics::track))
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(DefaultBodyLimit::max(config.body_limit))
        .layer(RequestBodyLimitLayer::new(config.body_limit))
        .layer(axum::middleware::from_fn(error::json_errors))
        .layer(CatchPanicLayer::custom(error::panicked))
        .with_state(state)
}
