//! The check every API test's answers go through (tests/common's
//! `check_contract`) catches an answer the OpenAPI document does not
//! describe: an unlisted status, or a body that does not fit the schema.

mod common;

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use common::{Harness, Reply, check_contract};
use serde_json::{Value, json};

fn reply(status: StatusCode, body: Value) -> Reply {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    Reply {
        status,
        headers,
        text: body.to_string(),
        body,
    }
}

fn fails(document: &Value, method: &str, path: &str, answer: &Reply) -> bool {
    std::panic::catch_unwind(|| check_contract(document, method, path, answer)).is_err()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_outside_the_document_fail_the_tests() {
    let h = Harness::new(cairn_store::Backend::Sqlite).await;
    let period = common::period(&h).await;
    let document = h.call("GET", "/api/openapi.json", None, None).await.body;
    let real = h
        .call("GET", "/api/v1/periods", Some(&h.owner.token), None)
        .await;
    assert_eq!(real.body[0]["id"], period);
    assert!(!fails(&document, "get", "/api/v1/periods", &real));

    let drifted = reply(StatusCode::OK, json!([{"id": "seven", "name": 7}]));
    assert!(
        fails(&document, "get", "/api/v1/periods", &drifted),
        "a body off the schema"
    );
    let unlisted = reply(StatusCode::IM_A_TEAPOT, json!({}));
    assert!(
        fails(&document, "get", "/api/v1/periods", &unlisted),
        "a status not listed"
    );
    let okr = reply(StatusCode::OK, json!({"id": 1}));
    assert!(
        fails(&document, "get", "/api/v1/okrs/7", &okr),
        "an OKR without its fields"
    );
    // Outside the document (pages) nothing is checked.
    assert!(!fails(&document, "get", "/okrs/7", &unlisted));
}
