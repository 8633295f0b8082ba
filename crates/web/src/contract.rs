//! What the OpenAPI document says about every operation beyond each
//! handler's own annotations: the security schemes (an API token as a
//! bearer token; the UI's session cookie, with the CSRF header on writes)
//! and the statuses every operation of a kind can return, from one place,
//! so no handler can forget one. Tests check every response the API gives
//! against the document (tests/common).

use utoipa::openapi::path::Operation;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref};

/// Adds the security schemes and the common statuses.
pub(crate) struct Contract;

const BEARER: &str = "bearer";
const SESSION: &str = "session";
const CSRF: &str = "csrf";

/// Operations anyone may call.
fn is_public(path: &str, method: &str) -> bool {
    matches!(
        (method, path),
        (_, "/healthz" | "/readyz") | ("get", "/api/v1/status") | ("post", "/api/v1/session")
    ) || path.starts_with("/hooks/")
}

fn add(operation: &mut Operation, status: &str, description: &str) {
    let responses = &mut operation.responses.responses;
    if responses.contains_key(status) {
        return;
    }
    let content = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("ErrorBody")))
        .build();
    responses.insert(
        status.to_owned(),
        ResponseBuilder::new()
            .description(description)
            .content("application/json", content)
            .build()
            .into(),
    );
}

impl utoipa::Modify for Contract {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http({
                let mut http = Http::new(HttpAuthScheme::Bearer);
                http.description = Some(
                    "An API token (`cairn_...`, made on /tokens or POST /api/v1/me/tokens)"
                        .to_owned(),
                );
                http
            }),
        );
        components.add_security_scheme(
            SESSION,
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::auth::SESSION_COOKIE,
                "The session cookie set by POST /api/v1/session",
            ))),
        );
        components.add_security_scheme(
            CSRF,
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-CSRF-Token",
                "With the session cookie, every request but GET carries the session's CSRF token",
            ))),
        );
        for (path, item) in openapi.paths.paths.iter_mut() {
            let has_path_params = path.contains('{');
            let operations = [
                ("get", &mut item.get),
                ("put", &mut item.put),
                ("post", &mut item.post),
                ("delete", &mut item.delete),
                ("patch", &mut item.patch),
            ];
            for (method, operation) in operations {
                let Some(operation) = operation else {
                    continue;
                };
                let public = is_public(path, method);
                let write = method != "get";
                if !public {
                    let session = if write {
                        SecurityRequirement::new(SESSION, Vec::<String>::new())
                            .add(CSRF, Vec::<String>::new())
                    } else {
                        SecurityRequirement::new(SESSION, Vec::<String>::new())
                    };
                    operation.security = Some(vec![
                        SecurityRequirement::new(BEARER, Vec::<String>::new()),
                        session,
                    ]);
                    add(
                        operation,
                        "401",
                        "Not signed in, or an unknown, revoked or disabled user's token",
                    );
                    if write {
                        add(
                            operation,
                            "403",
                            "Not allowed, or (with the session cookie) a missing or wrong CSRF token",
                        );
                    }
                }
                if operation.request_body.is_some() {
                    add(operation, "400", "The body is not valid JSON");
                    add(operation, "413", "The body is over the size limit");
                    add(
                        operation,
                        "415",
                        "The body is not declared as JSON (`Content-Type: application/json`)",
                    );
                    add(
                        operation,
                        "422",
                        "A field is invalid (named in `error.field`), or the body is not an object",
                    );
                }
                if has_path_params {
                    add(operation, "400", "A path parameter is not of its type");
                    add(operation, "404", "No such resource");
                }
                add(
                    operation,
                    "500",
                    "Internal error; the server log has the details",
                );
            }
        }
    }
}
