//! `/api/v1`: one module per resource.

pub(crate) mod accounts;
pub(crate) mod browse;
pub(crate) mod connections;
pub(crate) mod dashboard;
pub(crate) mod goals;
pub(crate) mod hooks;
pub(crate) mod jira;
pub(crate) mod notify;
pub(crate) mod sync;
pub(crate) mod sync_conflicts;
pub(crate) mod sync_initial;
pub(crate) mod sync_people;
pub(crate) mod sync_releases;
pub(crate) mod teams;
pub(crate) mod time;
