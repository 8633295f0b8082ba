//! Worklogs: the pure rules.
pub mod error;
pub use error::WorklogError;
