//! "Keep left / keep right": a conflict the pair's rule decided is
//! overturned by a person through the API; the value the rule had replaced
//! is written on both trackers, the conflict records who chose, and the
//! next scan takes none of it for a new change. On SQLite and PostgreSQL.

mod common;

use axum::http::StatusCode;
use common::{Harness, Running, eventually};
use serde_json::{Value, json};

const PROJECT: &str = "northwind/checkout";

async fn get(h: &Harness, path: &str) -> Value {
    let reply = h.call("GET", path, Some(&h.owner.token), None).await;
    assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.text);
    reply.body
}

/// The pair's runs started by a scan.
async fn scans(h: &Harness, pair: i64) -> usize {
    get(h, &format!("/api/v1/sync-pairs/{pair}/runs"))
        .await
        .as_array()
        .map_or(0, |runs| {
            runs.iter().filter(|r| r["triggered_by"] == "scan").count()
        })
}

/// Runs a scan now and waits until it has run.
async fn scan(h: &Harness, pair: i64) {
    let before = scans(h, pair).await;
    let path = format!("/api/v1/sync-pairs/{pair}/scan");
    let reply = h.call("POST", &path, Some(&h.owner.token), None).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.text);
    eventually("the scan ran", || async { scans(h, pair).await > before }).await;
    eventually("its items are carried", || async {
        let counts = h.state.store.job_counts().await.expect("counts");
        counts.0.get("queued").copied().unwrap_or(0) == 0
            && counts.0.get("running").copied().unwrap_or(0) == 0
    })
    .await;
}

async fn keep_the_overruled_side(backend: cairn_store::Backend) {
    let h = Harness::new(backend).await;
    let running = Running::worker(&h).await;
    let g = h.gitlab_connection(&h.owner, "sim gitlab", false).await;
    let j = h.jira_connection(&h.owner, "sim jira", false).await;
    let since = chrono::Utc::now() - chrono::Duration::seconds(5);
    let iid = h
        .control(
            "gitlab/issues",
            json!({"project": PROJECT, "title": "Both sides edit me"}),
        )
        .await["iid"]
        .as_u64()
        .expect("iid");
    let reply = h
        .call(
            "POST",
            "/api/v1/sync-pairs",
            Some(&h.owner.token),
            Some(
                json!({"name": "conflicts", "left": {"connection_id": g, "project": PROJECT},
                "right": {"connection_id": j, "project": "OPS"}, "active": true,
                "created_after": since}),
            ),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let pair = reply.body["id"].as_i64().expect("pair");
    let items = format!("/api/v1/sync-pairs/{pair}/items?state=synced");
    let left_id = iid.to_string();
    let mut key = String::new();
    eventually("the activation links the issue", || async {
        get(&h, &items).await.as_array().is_some_and(|items| {
            items
                .iter()
                .any(|i| i["left"]["id"] == left_id.as_str() && i["right"]["key"].is_string())
        })
    })
    .await;
    for item in get(&h, &items).await.as_array().expect("items") {
        if item["left"]["id"] == left_id.as_str() {
            key = item["right"]["key"].as_str().expect("key").to_owned();
        }
    }
    let gitlab_title = || async {
        h.gitlab(
            "GET",
            &format!("/projects/northwind%2Fcheckout/issues/{iid}"),
            None,
        )
        .await["title"]
            .as_str()
            .map(str::to_owned)
    };
    let jira_title = || {
        h.sim.with_world(|w| {
            w.jira
                .issues
                .iter()
                .find(|i| i.key == key)
                .map(|i| i.summary.clone())
        })
    };

    // No hook is registered: both edits meet in the next scan.
    h.control(
        "gitlab/issues/edit",
        json!({"project": PROJECT, "iid": iid, "title": "GitLab's title"}),
    )
    .await;
    h.control(
        "jira/issues/edit",
        json!({"key": key, "fields": {"summary": "Jira's title"}}),
    )
    .await;
    scan(&h, pair).await;
    let conflicts_path = format!("/api/v1/sync-pairs/{pair}/conflicts");
    let conflicts = get(&h, &conflicts_path).await;
    let conflict = conflicts
        .as_array()
        .and_then(|c| c.iter().find(|c| c["field"] == "title"))
        .cloned()
        .expect("a title conflict");
    assert_eq!(conflict["chosen"], Value::Null, "{conflict}");
    let winner = conflict["winner"].as_str().expect("winner").to_owned();
    let (loser, lost_value) = if winner == "left" {
        ("right", "Jira's title")
    } else {
        ("left", "GitLab's title")
    };
    assert_eq!(
        gitlab_title().await,
        jira_title(),
        "the rule wrote one value"
    );
    assert_ne!(gitlab_title().await.as_deref(), Some(lost_value));

    let id = conflict["id"].as_i64().expect("id");
    let keep = format!("/api/v1/sync-pairs/{pair}/conflicts/{id}/keep");
    // Refused: a side that is not one, another person's pair.
    let reply = h
        .call(
            "POST",
            &keep,
            Some(&h.owner.token),
            Some(json!({"side": "middle"})),
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.text
    );
    assert_eq!(reply.body["error"]["field"], "side", "{}", reply.text);
    let reply = h
        .call(
            "POST",
            &keep,
            Some(&h.other.token),
            Some(json!({"side": loser})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.text);
    assert_eq!(gitlab_title().await, jira_title(), "nothing written");
    assert_ne!(gitlab_title().await.as_deref(), Some(lost_value));

    // The person keeps the overruled side: written on both trackers.
    let reply = h
        .call(
            "POST",
            &keep,
            Some(&h.owner.token),
            Some(json!({"side": loser})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["chosen"], loser, "{}", reply.text);
    assert_eq!(
        reply.body["chosen_by"],
        h.owner.email.as_str(),
        "{}",
        reply.text
    );
    assert_eq!(gitlab_title().await.as_deref(), Some(lost_value));
    assert_eq!(jira_title().as_deref(), Some(lost_value));
    let listed = get(&h, &conflicts_path).await;
    assert_eq!(listed[0]["chosen"], loser, "{listed}");

    // The next scan sees Cairn's own writes: no new conflict, no write back.
    let writes = get(&h, &format!("/api/v1/sync-pairs/{pair}/operations"))
        .await
        .as_array()
        .map_or(0, Vec::len);
    scan(&h, pair).await;
    assert_eq!(
        get(&h, &conflicts_path)
            .await
            .as_array()
            .map_or(0, Vec::len),
        1
    );
    assert_eq!(
        get(&h, &format!("/api/v1/sync-pairs/{pair}/operations"))
            .await
            .as_array()
            .map_or(0, Vec::len),
        writes,
        "nothing carried back"
    );
    assert_eq!(gitlab_title().await.as_deref(), Some(lost_value));
    assert_eq!(jira_title().as_deref(), Some(lost_value));
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keeping_the_overruled_side_writes_it_on_both_trackers_on_sqlite() {
    keep_the_overruled_side(cairn_store::Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keeping_the_overruled_side_writes_it_on_both_trackers_on_postgres() {
    keep_the_overruled_side(cairn_store::Backend::Postgres).await;
}
