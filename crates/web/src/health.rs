use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use crate::{ApiError, AppState, ErrorBody};

#[derive(Serialize, ToSchema)]
pub(crate) struct Health {
    status: &'static str,
}

/// The process is up and serving.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "The process is up", body = Health)))]
pub(crate) async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

#[derive(Serialize, ToSchema)]
pub(crate) struct Readiness {
    status: &'static str,
    database: &'static str,
    schema_version: i64,
}

/// The database answers and its schema is the one this build expects.
#[utoipa::path(get, path = "/readyz", tag = "operations", responses(
    (status = 200, description = "Ready to serve", body = Readiness),
    (status = 503, description = "Database unreachable or migrations not applied", body = ErrorBody)))]
pub(crate) async fn readyz(State(state): State<AppState>) -> Result<Json<Readiness>, ApiError> {
    let not_ready =
        |message: String| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "not_ready", message);
    state
        .store
        .ping()
        .await
        .map_err(|e| not_ready(format!("database unreachable: {e}")))?;
    let schema = state
        .store
        .schema_status()
        .await
        .map_err(|e| not_ready(format!("cannot read the schema version: {e}")))?;
    if !schema.is_current() {
        return Err(not_ready(format!(
            "database schema is at version {}, this build expects {}",
            schema.applied, schema.latest_known
        )));
    }
    Ok(Json(Readiness {
        status: "ready",
        database: state.store.backend().as_str(),
        schema_version: schema.applied,
    }))
}

#[derive(Serialize, ToSchema)]
pub(crate) struct Status {
    version: &'static str,
    database: &'static str,
    schema_version: i64,
    /// Jobs by state: queued, running, done, dead.
    jobs: std::collections::BTreeMap<&'static str, u64>,
}

/// Version, database and the job queue at a glance.
#[utoipa::path(get, path = "/api/v1/status", tag = "operations",
    responses((status = 200, description = "Service status", body = Status)))]
pub(crate) async fn status(State(state): State<AppState>) -> Result<Json<Status>, ApiError> {
    let schema = state.store.schema_status().await?;
    let jobs = state.store.job_counts().await?;
    Ok(Json(Status {
        version: env!("CARGO_PKG_VERSION"),
        database: state.store.backend().as_str(),
        schema_version: schema.applied,
        jobs: jobs.0,
    }))
}
