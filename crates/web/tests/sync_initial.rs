//! A pair's initial sync through the API: the preview counts each side's
//! items created before the pair, Start brings them across (progress read
//! back until done), and bad input (a malformed date, one in the future,
//! a second run) is refused with the field named and nothing saved. On
//! SQLite and PostgreSQL; every answer is checked against the OpenAPI
//! document.

mod common;

use axum::http::StatusCode;
use common::{Harness, Running, eventually};
use serde_json::json;

const GITLAB_ITEMS: i64 = 4;
const JIRA_ITEMS: i64 = 3;

async fn initial_sync_through_the_api(backend: cairn_store::Backend) {
    let h = Harness::new(backend).await;
    let running = Running::worker(&h).await;
    let g = h.gitlab_connection(&h.owner, "sim gitlab", false).await;
    let j = h.jira_connection(&h.owner, "sim jira", false).await;
    let since = (chrono::Utc::now() - chrono::Duration::seconds(5)).to_rfc3339();
    for i in 0..GITLAB_ITEMS {
        h.control(
            "gitlab/issues",
            json!({"project": "northwind/checkout", "title": format!("history {i}")}),
        )
        .await;
    }
    for i in 0..JIRA_ITEMS {
        h.control(
            "jira/issues",
            json!({"project": "OPS", "summary": format!("jira history {i}")}),
        )
        .await;
    }
    let reply = h
        .call(
            "POST",
            "/api/v1/sync-pairs",
            Some(&h.owner.token),
            Some(json!({"name": "history", "left": {"connection_id": g, "project": "northwind/checkout"},
                "right": {"connection_id": j, "project": "OPS"}, "active": true})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let pair = reply.body["id"].as_i64().expect("pair");
    let path = format!("/api/v1/sync-pairs/{pair}/initial-sync");
    let post = |to: String, body: serde_json::Value| {
        let h = &h;
        async move { h.call("POST", &to, Some(&h.owner.token), Some(body)).await }
    };

    // Bad input: the field named, nothing saved.
    for (since, why) in [
        ("yesterday", "malformed"),
        ("2999-01-01", "in the future"),
        ("2999-01-01T00:00:00Z", "in the future"),
    ] {
        let refused = post(path.clone(), json!({"since": since})).await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{why}: {}",
            refused.text
        );
        assert_eq!(
            refused.body["error"]["field"], "since",
            "{why}: {}",
            refused.text
        );
    }
    let unknown = post(path.clone(), json!({"since": since, "until": since})).await;
    assert_eq!(
        unknown.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        unknown.text
    );
    let none = h.call("GET", &path, Some(&h.owner.token), None).await;
    assert_eq!(
        none.status,
        StatusCode::NOT_FOUND,
        "nothing saved: {}",
        none.text
    );

    // The preview first: what each side would bring.
    let preview = post(format!("{path}/preview"), json!({"since": since})).await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.text);
    assert_eq!(preview.body["left"], GITLAB_ITEMS, "{}", preview.text);
    assert_eq!(preview.body["right"], JIRA_ITEMS, "{}", preview.text);

    let started = post(path.clone(), json!({"since": since})).await;
    assert_eq!(started.status, StatusCode::ACCEPTED, "{}", started.text);
    assert_eq!(started.body["done"], 0, "{}", started.text);
    // A second one while it runs, or once the pair reaches back there.
    let twice = post(path.clone(), json!({"since": since})).await;
    assert_eq!(
        twice.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        twice.text
    );
    assert_eq!(twice.body["error"]["field"], "since", "{}", twice.text);

    eventually("the initial sync finishes", || async {
        h.api_get(&path).await["state"] == "done"
    })
    .await;
    let done = h.api_get(&path).await;
    assert_eq!(done["total"], GITLAB_ITEMS + JIRA_ITEMS, "{done}");
    assert_eq!(done["done"], GITLAB_ITEMS + JIRA_ITEMS, "{done}");
    assert_eq!(done["percent"], 100, "{done}");
    let paused = h
        .call("POST", &format!("{path}/pause"), Some(&h.owner.token), None)
        .await;
    assert_eq!(
        paused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        paused.text
    );
    assert_eq!(paused.body["error"]["field"], "state", "{}", paused.text);
    eventually("every item is linked", || async {
        h.api_get(&format!("/api/v1/sync-pairs/{pair}/items?state=synced"))
            .await
            .as_array()
            .map_or(0, Vec::len) as i64
            == GITLAB_ITEMS + JIRA_ITEMS
    })
    .await;
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn initial_sync_through_the_api_on_sqlite() {
    initial_sync_through_the_api(cairn_store::Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn initial_sync_through_the_api_on_postgres() {
    initial_sync_through_the_api(cairn_store::Backend::Postgres).await;
}
