//! Cairn's use cases and the durable job runner that carries them out in the
//! background. Web handlers, the CLI and schedulers call into here; nothing
//! here knows about HTTP.

pub mod accounts;
mod batch;
pub mod catalog;
pub mod clients;
pub mod connections;
pub mod error;
pub mod goals;
pub mod health;
pub mod hooks;
pub mod jobs;
pub mod keyring;
pub mod notify;
pub mod sync;
pub mod time;

pub use error::{EngineError, authorize};

/// The JSON shape of a connector's diagnosis (`cairn_connect::Diagnosis`)
/// in API answers, for the OpenAPI document: `connect` knows nothing of the
/// API.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct DiagnosisView {
    /// Stable machine code, e.g. `unauthorized`, `rate_limited`.
    code: String,
    /// One sentence: what happened.
    summary: String,
    /// What a person should check or do.
    hint: String,
    /// When the server said to come back (rate limits).
    retry_after_secs: Option<u64>,
}
