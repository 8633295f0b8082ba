//! The simulated Jira REST API (v2 and v3) and its webhooks, one module per resource.
//!
//! Layers, lowest first: `base` (errors, auth, API version), `views` (JSON
//! representations), `payloads` (webhooks sent), then the resource handlers;
//! this module only assembles the router. `/_sim` control routes live above
//! all of it in `crate::control`.

mod base;
mod comments;
mod instance;
mod issues;
mod payloads;
mod projects;
mod properties;
mod remote_links;
mod search;
mod transitions;
mod users;
mod versions;
mod views;
mod webhooks;
mod worklogs;

pub(crate) use base::JErr;
pub use base::SEARCH_REMOVED;
pub(crate) use comments::{do_add_comment, do_delete_comment, do_update_comment};
pub(crate) use issues::{NewIssue, do_create_issue, do_edit_issue};
pub(crate) use transitions::do_set_status;
pub(crate) use versions::{VersionEdit, do_create_version, do_update_version};
pub(crate) use worklogs::do_add_worklog;

use self::comments::{add_comment, delete_comment, get_comment, list_comments, update_comment};
use self::instance::{fields, server_info};
use self::issues::{create_issue, delete_issue, edit_issue, get_issue};
use self::projects::{get_project, list_projects, project_statuses};
use self::properties::{delete_property, get_property, list_properties, put_property};
use self::remote_links::{delete_link, get_link, list_links, post_link};
use self::search::{approximate_count, search_jql, search_old};
use self::transitions::{do_transition, get_transitions};
use self::users::{assignable_search, myself, user_search};
use self::versions::{create_version, get_version, project_versions, update_version};
use self::webhooks::{
    cloud_register, cloud_unregister, cloud_webhooks, dc_register, dc_unregister, dc_update,
    dc_webhook, dc_webhooks,
};
use self::worklogs::{add_worklog, list_worklogs};
use crate::Shared;
use axum::Router;
use axum::response::IntoResponse;
use axum::routing::{delete, get, post};
use std::sync::Arc;

/// Builds the Jira router (`/rest/...`, control under `/_sim`).
pub(crate) fn router(s: Arc<Shared>) -> Router {
    Router::new()
        .route("/rest/api/{ver}/myself", get(myself))
        .route("/rest/api/{ver}/serverInfo", get(server_info))
        .route("/rest/api/{ver}/field", get(fields))
        .route("/rest/api/{ver}/search", get(search_old).post(search_old))
        .route(
            "/rest/api/{ver}/search/jql",
            get(search_jql).post(search_jql),
        )
        .route(
            "/rest/api/{ver}/search/approximate-count",
            post(approximate_count),
        )
        .route("/rest/api/{ver}/issue", post(create_issue))
        .route(
            "/rest/api/{ver}/issue/{key}",
            get(get_issue).put(edit_issue).delete(delete_issue),
        )
        .route(
            "/rest/api/{ver}/issue/{key}/transitions",
            get(get_transitions).post(do_transition),
        )
        .route(
            "/rest/api/{ver}/issue/{key}/comment",
            get(list_comments).post(add_comment),
        )
        .route(
            "/rest/api/{ver}/issue/{key}/comment/{id}",
            get(get_comment).put(update_comment).delete(delete_comment),
        )
        .route(
            "/rest/api/{ver}/issue/{key}/properties",
            get(list_properties),
        )
        .route(
            "/rest/api/{ver}/issue/{key}/properties/{prop}",
            get(get_property).put(put_property).delete(delete_property),
        )
        .route(
            "/rest/api/{ver}/issue/{key}/remotelink",
            get(list_links).post(post_link),
        )
        .route(
            "/rest/api/{ver}/issue/{key}/remotelink/{id}",
            get(get_link).delete(delete_link),
        )
        .route("/rest/api/{ver}/user/search", get(user_search))
        .route(
            "/rest/api/{ver}/user/assignable/search",
            get(assignable_search),
        )
        .route(
            "/rest/api/{ver}/project/{key}/statuses",
            get(project_statuses),
        )
        .route(
            "/rest/api/{ver}/version/{id}",
            get(get_version).put(update_version),
        )
        .route(
            "/rest/api/{ver}/issue/{key}/worklog",
            get(list_worklogs).post(add_worklog),
        )
        .route("/rest/api/{ver}/project", get(list_projects))
        .route("/rest/api/{ver}/project/{key}", get(get_project))
        .route(
            "/rest/api/{ver}/project/{key}/versions",
            get(project_versions),
        )
        .route("/rest/api/{ver}/version", post(create_version))
        .route(
            "/rest/api/{ver}/webhook",
            get(cloud_webhooks)
                .post(cloud_register)
                .delete(cloud_unregister),
        )
        .route(
            "/rest/webhooks/1.0/webhook",
            get(dc_webhooks).post(dc_register),
        )
        .route(
            "/rest/webhooks/1.0/webhook/{id}",
            delete(dc_unregister).get(dc_webhook).put(dc_update),
        )
        .fallback(|| async { JErr::not_found().into_response() })
        .layer(axum::middleware::from_fn_with_state(
            (s.clone(), crate::faults::Service::Jira),
            crate::faults::fault_layer,
        ))
        .with_state(s)
}
