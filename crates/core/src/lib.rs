//! Cairn's pure domain: types and rules with no I/O and no async, so every
//! number Cairn shows can be recomputed and explained from stored data.

pub mod authz;
pub mod goals;
pub mod integrations;
pub mod jobs;
pub mod notify;
pub mod secret;
pub mod text;
