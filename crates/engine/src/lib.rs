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
pub mod hooks;
pub mod jobs;
pub mod keyring;
pub mod notify;
pub mod sync;

pub use error::{EngineError, authorize};
