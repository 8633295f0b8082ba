//! The HTTP surface against a real SQLite store, through the full router.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use cairn_store::testing::TestDb;
use cairn_web::{AppState, WebConfig, metrics_handle, router};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

fn state(store: std::sync::Arc<dyn cairn_store::Store>) -> AppState {
    let dir = tempfile::tempdir().expect("tempdir");
    let keyring = cairn_engine::keyring::Keyring::load(None, &dir.path().join("master.key"))
        .expect("keyring");
    AppState::new(store, std::sync::Arc::new(keyring), metrics_handle())
}

async fn app(db: &TestDb, migrate: bool) -> axum::Router {
    let store = if migrate {
        db.store().await
    } else {
        db.open().await
    };
    router(
        state(store),
        &WebConfig {
            body_limit: 1024,
            hook_body_limit: 2048,
            public_url: None,
            metrics_token: None,
        },
    )
}

async fn call(app: &axum::Router, request: Request<Body>) -> (StatusCode, String, Vec<u8>) {
    let response = app.clone().oneshot(request).await.expect("response");
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes()
        .to_vec();
    (status, content_type, body)
}

fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).expect("request")
}

fn json(body: &[u8]) -> Value {
    serde_json::from_slice(body).expect("JSON body")
}

#[tokio::test]
async fn health_and_readiness() {
    let db = TestDb::sqlite();
    let app = app(&db, true).await;
    let (status, _, body) = call(&app, get("/healthz")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json(&body)["status"], "ok");
    let (status, _, body) = call(&app, get("/readyz")).await;
    assert_eq!(status, StatusCode::OK);
    let body = json(&body);
    assert_eq!(body["status"], "ready");
    assert_eq!(body["database"], "sqlite");
}

#[tokio::test]
async fn not_ready_until_migrated() {
    let db = TestDb::sqlite();
    let app = app(&db, false).await;
    let (status, content_type, body) = call(&app, get("/readyz")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(content_type, "application/json");
    let body = json(&body);
    assert_eq!(body["error"]["code"], "not_ready");
    assert!(
        body["error"]["message"]
            .as_str()
            .expect("message")
            .contains("schema")
    );
}

#[tokio::test]
async fn errors_are_json_with_code_and_message() {
    let db = TestDb::sqlite();
    let app = app(&db, true).await;
    let (status, content_type, body) = call(&app, get("/no/such/page")).await;
    assert_eq!(
        (status, content_type.as_str()),
        (StatusCode::NOT_FOUND, "application/json")
    );
    assert_eq!(json(&body)["error"]["code"], "not_found");

    let delete = Request::delete("/healthz")
        .body(Body::empty())
        .expect("request");
    let (status, _, body) = call(&app, delete).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(json(&body)["error"]["code"], "method_not_allowed");
}

#[tokio::test]
async fn bodies_over_the_limit_get_413_json() {
    let db = TestDb::sqlite();
    let app = app(&db, true).await;
    let big = Request::post("/api/v1/status")
        .header("content-type", "application/json")
        .header("content-length", "5000")
        .body(Body::from(vec![b'x'; 5000]))
        .expect("request");
    let (status, content_type, body) = call(&app, big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(content_type, "application/json");
    let body = json(&body);
    assert_eq!(body["error"]["code"], "payload_too_large");
    assert!(
        !body["error"]["message"]
            .as_str()
            .expect("message")
            .is_empty()
    );
}

#[tokio::test]
async fn metrics_report_requests_by_route_and_jobs_by_state() {
    let db = TestDb::sqlite();
    let store = db.store().await;
    let now = chrono::Utc::now();
    store
        .enqueue(
            cairn_store::NewJob::new("noop", serde_json::json!({}), now),
            now,
        )
        .await
        .expect("enqueue");
    let app = router(state(store), &WebConfig::default());
    call(&app, get("/healthz")).await;
    let (status, content_type, body) = call(&app, get("/metrics")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type.starts_with("text/plain"));
    let text = String::from_utf8(body).expect("utf-8");
    assert!(
        text.lines()
            .any(|l| l.starts_with("cairn_http_requests_total{")
                && l.contains("route=\"/healthz\"")
                && l.contains("status=\"200\"")),
        "{text}"
    );
    assert!(
        text.contains("cairn_http_request_duration_seconds_bucket{"),
        "{text}"
    );
    assert!(
        text.lines().any(|l| l == "cairn_jobs{state=\"queued\"} 1"),
        "{text}"
    );
    assert!(
        text.lines().any(|l| l == "cairn_jobs{state=\"dead\"} 0"),
        "{text}"
    );
}

#[tokio::test]
async fn metrics_can_ask_for_a_bearer_token() {
    let db = TestDb::sqlite();
    let store = db.store().await;
    let app = router(
        state(store),
        &WebConfig {
            metrics_token: Some(cairn_core::secret::Secret::new("scrape-me-please")),
            ..WebConfig::default()
        },
    );
    let scrape = |auth: Option<&str>| {
        let mut request = Request::get("/metrics");
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        request.body(Body::empty()).expect("request")
    };
    for auth in [
        None,
        Some("Bearer wrong"),
        Some("Bearer scrape-me-pleas"),
        Some("scrape-me-please"),
    ] {
        let response = app.clone().oneshot(scrape(auth)).await.expect("response");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{auth:?}");
        assert!(response.headers().contains_key("www-authenticate"));
    }
    let (status, content_type, _) = call(&app, scrape(Some("Bearer scrape-me-please"))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type.starts_with("text/plain"));
    // Without the setting it stays open (the test above).
}

#[tokio::test]
async fn openapi_document_lists_the_routes() {
    let db = TestDb::sqlite();
    let app = app(&db, true).await;
    let (status, _, body) = call(&app, get("/api/openapi.json")).await;
    assert_eq!(status, StatusCode::OK);
    let doc = json(&body);
    assert!(doc["openapi"].as_str().expect("version").starts_with('3'));
    for path in ["/healthz", "/readyz", "/api/v1/status"] {
        assert!(doc["paths"][path]["get"].is_object(), "{path} missing");
    }
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
}

/// The document declares how to authenticate and, for every operation,
/// the statuses its kind can answer; every response body is a schema with
/// a shape, never a bare `object`.
#[tokio::test]
async fn openapi_document_declares_security_statuses_and_schemas() {
    let db = TestDb::sqlite();
    let app = app(&db, true).await;
    let (_, _, body) = call(&app, get("/api/openapi.json")).await;
    let doc = json(&body);
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["scheme"], "bearer", "{schemes}");
    assert_eq!(schemes["session"]["in"], "cookie", "{schemes}");
    assert_eq!(schemes["csrf"]["in"], "header", "{schemes}");
    let paths = doc["paths"].as_object().expect("paths");
    let mut bare = Vec::new();
    for (path, item) in paths {
        for (method, op) in item.as_object().expect("item") {
            let responses = &op["responses"];
            let public = path.starts_with("/hooks/")
                || ["/healthz", "/readyz", "/api/v1/status"].contains(&path.as_str())
                || (path == "/api/v1/session" && method == "post");
            if !public {
                assert!(op["security"].is_array(), "{method} {path}: no security");
                assert!(responses["401"].is_object(), "{method} {path}: no 401");
            }
            if op["requestBody"].is_object() {
                for status in ["400", "413", "415", "422"] {
                    assert!(
                        responses[status].is_object(),
                        "{method} {path}: no {status}"
                    );
                }
            }
            if path.contains('{') {
                assert!(responses["404"].is_object(), "{method} {path}: no 404");
            }
            for (status, response) in responses.as_object().expect("responses") {
                let schema = &response["content"]["application/json"]["schema"];
                let schema = if schema["type"] == "array" {
                    &schema["items"]
                } else {
                    schema
                };
                if schema["type"] == "object" && schema["properties"].is_null() {
                    bare.push(format!("{method} {path} {status}"));
                }
            }
        }
    }
    assert!(bare.is_empty(), "bare object bodies: {bare:#?}");
}
