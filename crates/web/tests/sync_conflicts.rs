//! "Keep left / keep right": a conflict the pair's rule decided is
//! overturned by a person through the API; the value the rule had replaced
//! is written on both trackers, the conflict records who chose, and the
//! next scan takes none of it for a new change. On SQLite and PostgreSQL.

mod common;

use axum::http::StatusCode;
use common::{Harness, Running, TitleConflict};
use serde_json::{Value, json};

async fn keep_the_overruled_side(backend: cairn_store::Backend) {
    let h = Harness::new(backend).await;
    let running = Running::worker(&h).await;
    let TitleConflict {
        pair,
        iid,
        key,
        conflict,
    } = h.title_conflict().await;
    let get = |path: String| {
        let h = &h;
        async move { h.api_get(&path).await }
    };
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
    let conflicts_path = format!("/api/v1/sync-pairs/{pair}/conflicts");
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
    let listed = get(conflicts_path.clone()).await;
    assert_eq!(listed[0]["chosen"], loser, "{listed}");

    // The next scan sees Cairn's own writes: no new conflict, no write back.
    let writes = get(format!("/api/v1/sync-pairs/{pair}/operations"))
        .await
        .as_array()
        .map_or(0, Vec::len);
    h.scan_now(pair).await;
    assert_eq!(
        get(conflicts_path.clone())
            .await
            .as_array()
            .map_or(0, Vec::len),
        1
    );
    assert_eq!(
        get(format!("/api/v1/sync-pairs/{pair}/operations"))
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
