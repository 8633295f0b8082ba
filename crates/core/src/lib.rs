//! Cairn's pure domain: types and rules with no I/O and no async, so every
//! number Cairn shows can be recomputed and explained from stored data.

#[macro_use]
mod names;

pub mod activity;
pub mod authz;
mod digest;
pub mod goals;
pub mod integrations;
pub mod jobs;
pub mod notify;
pub mod secret;
pub mod sync;
pub mod text;
pub mod worklogs;
