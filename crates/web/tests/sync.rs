//! Two-way sync through the HTTP API, with the simulator's own webhooks
//! moving items between GitLab and Jira (no scan in between), and bad input
//! refused naming the field with nothing saved. Every answer is checked
//! against the OpenAPI document by the shared harness.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{Harness, Running, eventually};
use serde_json::{Value, json};

const PROJECT: &str = "northwind/checkout";

async fn gitlab(h: &Harness) -> i64 {
    h.gitlab_connection(&h.owner, "sim gitlab", false).await
}

async fn jira(h: &Harness) -> i64 {
    let reply = h
        .call(
            "POST",
            "/api/v1/connections",
            Some(&h.owner.token),
            Some(json!({"kind": "jira", "name": "sim jira", "base_url": h.sim.jira_url(), "auth_kind": "basic",
                "username": cairn_sim::DEFAULT_JIRA_EMAIL, "secret": cairn_sim::DEFAULT_JIRA_API_TOKEN, "shared": false})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    reply.body["id"].as_i64().expect("id")
}

fn pair(gitlab: i64, jira: i64, active: bool) -> Value {
    json!({
        "name": "checkout <-> OPS",
        "left": {"connection_id": gitlab, "project": PROJECT},
        "right": {"connection_id": jira, "project": "OPS"},
        "active": active,
    })
}

/// POSTs `body` as the owner and checks it is refused (422) naming `field`.
async fn refused_naming(h: &Harness, path: &str, body: Value, field: &str) {
    let reply = h
        .call("POST", path, Some(&h.owner.token), Some(body.clone()))
        .await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{body}: {}",
        reply.text
    );
    assert_eq!(
        reply.body["error"]["field"], field,
        "{body}: {}",
        reply.text
    );
}

async fn pairs(h: &Harness) -> usize {
    let reply = h
        .call("GET", "/api/v1/sync-pairs", Some(&h.owner.token), None)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    reply.body.as_array().map_or(0, Vec::len)
}

/// Enables real-time on a connection as if Cairn were reached at `host`.
async fn enable(h: &Harness, connection: i64, host: std::net::SocketAddr, body: Value) {
    let request = Request::builder()
        .method("POST")
        .uri(format!("/api/v1/connections/{connection}/hooks/enable"))
        .header("authorization", format!("Bearer {}", h.owner.token))
        .header("content-type", "application/json")
        .header("host", host.to_string())
        .body(Body::from(body.to_string()))
        .expect("request");
    let reply = h.send(request).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
}

/// The Jira key of a GitLab issue's twin, once linked.
async fn twin_key(h: &Harness, pair: i64, iid: u64) -> Option<String> {
    let path = format!("/api/v1/sync-pairs/{pair}/items?state=synced");
    let reply = h.call("GET", &path, Some(&h.owner.token), None).await;
    reply.body.as_array().and_then(|items| {
        items
            .iter()
            .find(|i| i["left"]["id"].as_str() == Some(iid.to_string().as_str()))
            .and_then(|i| i["right"]["key"].as_str().map(str::to_owned))
    })
}

/// The pair's remote writes of items so far (links to the twin and
/// comments apart).
async fn operations(h: &Harness, pair: i64) -> usize {
    operations_of(h, pair, &["create", "update", "transition"]).await
}

/// The pair's remote writes of these kinds so far.
async fn operations_of(h: &Harness, pair: i64, kinds: &[&str]) -> usize {
    let path = format!("/api/v1/sync-pairs/{pair}/operations");
    h.call("GET", &path, Some(&h.owner.token), None)
        .await
        .body
        .as_array()
        .map_or(0, |ops| {
            ops.iter()
                .filter(|o| o["kind"].as_str().is_some_and(|k| kinds.contains(&k)))
                .count()
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_pairs_are_refused_naming_the_field_and_nothing_is_saved() {
    let h = Harness::new(cairn_store::Backend::Sqlite).await;
    let (g, j) = (gitlab(&h).await, jira(&h).await);
    let others = h.gitlab_connection(&h.other, "not yours", false).await;
    let cases = [
        (
            json!({"name": "same", "left": {"connection_id": g, "project": PROJECT},
                "right": {"connection_id": g, "project": PROJECT}}),
            "right.project",
        ),
        (
            json!({"name": "x", "left": {"connection_id": g, "project": "northwind/nope"},
                "right": {"connection_id": j, "project": "OPS"}}),
            "left.project",
        ),
        (
            json!({"name": "x", "left": {"connection_id": others, "project": PROJECT},
                "right": {"connection_id": j, "project": "OPS"}}),
            "left.connection_id",
        ),
        (
            json!({"name": "x", "left": {"connection_id": g, "project": PROJECT},
                "right": {"connection_id": j, "project": "NOPE"}}),
            "right.project",
        ),
        (
            json!({"name": "x", "left": {"connection_id": g, "project": PROJECT},
                "right": {"connection_id": j, "project": "OPS", "jql": "status = = Done"}}),
            "right.jql",
        ),
        (
            json!({"name": "x", "left": {"connection_id": g, "project": PROJECT},
                "right": {"connection_id": j, "project": "OPS"},
                "status_mapping": [
                    {"status": "To Do", "state": "opened", "primary": true},
                    {"status": "In Progress", "state": "opened"},
                    {"status": "In Review", "state": "opened"},
                    {"status": "Done", "state": "closed"}]}),
            "status_mapping",
        ),
        (
            json!({"name": "x", "left": {"connection_id": g, "project": PROJECT},
                "right": {"connection_id": j, "project": "OPS"},
                "status_mapping": [{"status": "Doing", "state": "opened", "primary": true}]}),
            "status_mapping",
        ),
        (
            json!({"name": "x", "left": {"connection_id": g, "project": PROJECT},
                "right": {"connection_id": j, "project": "OPS"},
                "fields": {"title": {"direction": "sideways"}}}),
            "fields.title.direction",
        ),
        (
            json!({"name": "x", "left": {"connection_id": g, "project": PROJECT},
                "right": {"connection_id": j, "project": "OPS"},
                "fields": {"priority": {"direction": "both"}}}),
            "fields",
        ),
        (
            json!({"name": "", "left": {"connection_id": g, "project": PROJECT},
                "right": {"connection_id": j, "project": "OPS"}}),
            "name",
        ),
        (
            json!({"name": "x", "left": {"connection_id": g, "project": PROJECT},
                "right": {"connection_id": j, "project": "OPS"}, "scan_overlap_secs": -1}),
            "scan_overlap_secs",
        ),
        (
            json!({"name": "x", "left": {"connection_id": g, "project": PROJECT},
                "right": {"connection_id": j, "project": "OPS"}, "scan_overlap_secs": 86_401}),
            "scan_overlap_secs",
        ),
    ];
    for (body, field) in cases {
        refused_naming(&h, "/api/v1/sync-pairs", body, field).await;
    }
    // The status named in the mapping's refusal.
    let reply = h
        .call(
            "POST",
            "/api/v1/sync-pairs",
            Some(&h.owner.token),
            Some(
                json!({"name": "x", "left": {"connection_id": g, "project": PROJECT},
                "right": {"connection_id": j, "project": "OPS"},
                "status_mapping": [
                    {"status": "To Do", "state": "opened", "primary": true},
                    {"status": "In Progress", "state": "opened"},
                    {"status": "Done", "state": "closed", "primary": true}]}),
            ),
        )
        .await;
    assert!(
        reply.body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("In Review")),
        "{}",
        reply.text
    );
    assert_eq!(pairs(&h).await, 0, "nothing saved");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pair_is_its_owners_and_admins() {
    let h = Harness::new(cairn_store::Backend::Sqlite).await;
    let (g, j) = (gitlab(&h).await, jira(&h).await);
    let reply = h
        .call(
            "POST",
            "/api/v1/sync-pairs",
            Some(&h.owner.token),
            Some(pair(g, j, false)),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let id = reply.body["id"].as_i64().expect("id");
    assert_eq!(reply.body["active"], false);
    assert_eq!(reply.body["right"]["project_id"], "OPS");
    assert_eq!(reply.body["fields"]["title"]["direction"], "both");
    assert_eq!(
        reply.body["status_mapping"]
            .as_array()
            .map(|m| m.iter().filter(|e| e["primary"] == true).count()),
        Some(2),
        "a suggested mapping with one primary per state"
    );
    let path = format!("/api/v1/sync-pairs/{id}");
    for (token, status) in [
        (Some(h.owner.token.as_str()), StatusCode::OK),
        (Some(h.admin.token.as_str()), StatusCode::OK),
        (Some(h.other.token.as_str()), StatusCode::NOT_FOUND),
        (None, StatusCode::UNAUTHORIZED),
    ] {
        let reply = h.call("GET", &path, token, None).await;
        assert_eq!(reply.status, status, "{}", reply.text);
    }
    let reply = h.call("DELETE", &path, Some(&h.other.token), None).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    let reply = h.call("DELETE", &path, Some(&h.owner.token), None).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_eq!(pairs(&h).await, 0);
}

/// The preview lists what activation would bring across, before and
/// after, and writes nothing on either side.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_preview_shows_what_would_happen_and_writes_nothing() {
    let h = Harness::new(cairn_store::Backend::Sqlite).await;
    let (g, j) = (gitlab(&h).await, jira(&h).await);
    let since = chrono::Utc::now() - chrono::Duration::seconds(5);
    h.control(
        "gitlab/issues",
        json!({"project": PROJECT, "title": "Preview me", "description": "**bold** text"}),
    )
    .await;
    let mut body = pair(g, j, false);
    body["created_after"] = json!(since);
    let reply = h
        .call(
            "POST",
            "/api/v1/sync-pairs",
            Some(&h.owner.token),
            Some(body),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let id = reply.body["id"].as_i64().expect("id");
    h.sim.clear_requests();
    let reply = h
        .call(
            "POST",
            &format!("/api/v1/sync-pairs/{id}/preview"),
            Some(&h.owner.token),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let entries = reply.body.as_array().expect("entries");
    let entry = entries
        .iter()
        .find(|e| e["title"] == "Preview me")
        .expect("the new issue is previewed");
    assert_eq!(entry["action"], "create");
    let description = entry["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .find(|c| c["field"] == "description")
        .expect("description");
    assert_eq!(description["side"], "right");
    assert_eq!(description["after"], "**bold** text");
    h.assert_sim_unwritten("the preview");
}

/// GitLab and Jira kept the same by their own webhooks: a new GitLab issue
/// gets its Jira twin, closing it moves the twin through the workflow, a
/// Jira edit comes back, and Cairn's own writes are not carried back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_carry_changes_both_ways_within_seconds() {
    let h = Harness::new(cairn_store::Backend::Sqlite).await;
    let running = Running::server_and_worker(&h).await;
    let address = running.address.expect("listening");
    let (g, j) = (gitlab(&h).await, jira(&h).await);
    enable(&h, g, address, json!({"projects": [PROJECT]})).await;
    enable(&h, j, address, json!({})).await;
    let reply = h
        .call(
            "POST",
            "/api/v1/sync-pairs",
            Some(&h.owner.token),
            Some(pair(g, j, true)),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let id = reply.body["id"].as_i64().expect("id");

    let made = h
        .control(
            "gitlab/issues",
            json!({"project": PROJECT, "title": "Refund fails", "description": "Steps:\n\n1. pay\n2. refund", "as": "amartin"}),
        )
        .await;
    let iid = made["iid"].as_u64().expect("iid");
    eventually("the Jira twin is created by webhook", || async {
        twin_key(&h, id, iid).await.is_some()
    })
    .await;
    let key = twin_key(&h, id, iid).await.expect("twin");
    let jira_issue = |key: String| {
        let sim = &h.sim;
        async move {
            sim.with_world(|w| {
                w.jira
                    .issues
                    .iter()
                    .find(|i| i.key == key)
                    .map(|i| (i.summary.clone(), i.status.clone()))
            })
        }
    };
    assert_eq!(
        jira_issue(key.clone()).await.map(|(s, _)| s).as_deref(),
        Some("Refund fails")
    );

    // Closing in GitLab: the twin goes to Done (the suggested mapping).
    h.control(
        "gitlab/issues/edit",
        json!({"project": PROJECT, "iid": iid, "state_event": "close", "as": "amartin"}),
    )
    .await;
    eventually("the twin follows to Done", || async {
        jira_issue(key.clone()).await.map(|(_, s)| s).as_deref() == Some("10001")
    })
    .await;

    // A Jira edit comes back to GitLab.
    h.control(
        "jira/issues/edit",
        json!({"key": key, "as": "amartin", "fields": {"summary": "Refund fails for cards"}}),
    )
    .await;
    eventually("GitLab follows the Jira edit", || async {
        h.gitlab(
            "GET",
            &format!("/projects/northwind%2Fcheckout/issues/{iid}"),
            None,
        )
        .await["title"]
            == "Refund fails for cards"
    })
    .await;

    // Every echo arrived and cost nothing: three writes in all (create,
    // the transition's update, GitLab's title), none more.
    eventually("all deliveries handled", || async {
        let counts = h.state.store.job_counts().await.expect("counts");
        counts.0.get("queued").copied().unwrap_or(0) == 0
            && counts.0.get("running").copied().unwrap_or(0) == 0
    })
    .await;
    assert_eq!(operations(&h, id).await, 3, "no echo");
    let runs = h
        .call(
            "GET",
            &format!("/api/v1/sync-pairs/{id}/runs"),
            Some(&h.owner.token),
            None,
        )
        .await;
    assert_eq!(runs.status, StatusCode::OK);
    assert!(
        runs.body
            .as_array()
            .is_some_and(|r| r.iter().any(|run| run["created"] == 1)),
        "{}",
        runs.text
    );
    let reply = h
        .call(
            "GET",
            &format!("/api/v1/sync-pairs/{id}"),
            Some(&h.owner.token),
            None,
        )
        .await;
    assert_eq!(reply.body["items"]["synced"], 1, "{}", reply.text);
    running.stop().await;
}

/// A failing item waits on its own and is retried on request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_item_is_listed_and_retried_on_request() {
    use cairn_sim::{FaultKind, FaultSpec, Service};
    let h = Harness::new(cairn_store::Backend::Sqlite).await;
    let running = Running::worker(&h).await;
    let (g, j) = (gitlab(&h).await, jira(&h).await);
    let reply = h
        .call(
            "POST",
            "/api/v1/sync-pairs",
            Some(&h.owner.token),
            Some(pair(g, j, true)),
        )
        .await;
    let id = reply.body["id"].as_i64().expect("id");
    h.control(
        "gitlab/issues",
        json!({"project": PROJECT, "title": "Will fail first"}),
    )
    .await;
    let mut down = FaultSpec::new(Service::Jira, FaultKind::ServerError);
    down.count = Some(1_000);
    h.sim.inject(&down);
    h.state.sync.scan(id).await.expect("scan");
    let failing_path = format!("/api/v1/sync-pairs/{id}/items?state=failing");
    eventually("the item fails", || async {
        h.call("GET", &failing_path, Some(&h.owner.token), None)
            .await
            .body
            .as_array()
            .is_some_and(|a| a.len() == 1)
    })
    .await;
    let failing = h
        .call("GET", &failing_path, Some(&h.owner.token), None)
        .await;
    let item = &failing.body[0];
    assert!(
        item["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("Jira answered 5")),
        "{item}"
    );
    h.sim.clear_faults();
    let item_id = item["id"].as_i64().expect("item id");
    // The pair's page lists it first, with its error and a Retry button.
    let page = h
        .call(
            "GET",
            &format!("/sync-pairs/{id}"),
            Some(&h.owner.token),
            None,
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(page.text.contains("Jira answered 5"), "{}", page.text);
    // The seed's settings: the time offset and each side's server address.
    assert!(
        page.text
            .contains("<dt>Time offset</dt><dd>120 s: each scan reads"),
        "{}",
        page.text
    );
    let jira_url = h.sim.jira_url().to_string();
    assert!(
        page.text.contains(jira_url.trim_end_matches('/')),
        "{}",
        page.text
    );
    let retry_action = format!("/sync-pairs/{id}/items/{item_id}/retry");
    assert!(page.text.contains(&retry_action), "{}", page.text);
    assert!(
        page.text.contains("<span class=\"pill failing\">1</span>"),
        "{}",
        page.text
    );
    let reply = h
        .call("POST", &retry_action, Some(&h.owner.token), None)
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text);
    let after = reply.headers["location"]
        .to_str()
        .expect("location")
        .to_owned();
    let page = h.call("GET", &after, Some(&h.owner.token), None).await;
    assert!(
        page.text
            .contains(&format!("Item {item_id} is queued to be tried again now.")),
        "{}",
        page.text
    );
    eventually("the retry succeeds", || async {
        h.call(
            "GET",
            &format!("/api/v1/sync-pairs/{id}"),
            Some(&h.owner.token),
            None,
        )
        .await
        .body["items"]["synced"]
            == 1
    })
    .await;
    let page = h
        .call(
            "GET",
            &format!("/sync-pairs/{id}"),
            Some(&h.owner.token),
            None,
        )
        .await;
    assert!(
        page.text.contains("class=\"count-synced\">1<"),
        "{}",
        page.text
    );
    assert!(!page.text.contains(&retry_action), "no Retry once synced");
    let reply = h
        .call(
            "POST",
            &format!("/api/v1/sync-pairs/{id}/items/999999/retry"),
            Some(&h.owner.token),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_on_request_finds_what_no_webhook_said() {
    let h = Harness::new(cairn_store::Backend::Sqlite).await;
    let running = Running::worker(&h).await;
    let (g, j) = (gitlab(&h).await, jira(&h).await);
    let reply = h
        .call(
            "POST",
            "/api/v1/sync-pairs",
            Some(&h.owner.token),
            Some(pair(g, j, false)),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let id = reply.body["id"].as_i64().expect("id");
    let scan = format!("/api/v1/sync-pairs/{id}/scan");
    let reply = h.call("POST", &scan, Some(&h.owner.token), None).await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.text);
    assert_eq!(reply.body["error"]["field"], "active", "{}", reply.text);

    let reply = h
        .call(
            "PUT",
            &format!("/api/v1/sync-pairs/{id}"),
            Some(&h.owner.token),
            Some(pair(g, j, true)),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    // Activating runs the first scan; the next is minutes away.
    let runs = format!("/api/v1/sync-pairs/{id}/runs");
    let scans = || async {
        h.call("GET", &runs, Some(&h.owner.token), None)
            .await
            .body
            .as_array()
            .map_or(0, |runs| {
                runs.iter().filter(|r| r["triggered_by"] == "scan").count()
            })
    };
    eventually("the activation's scan ran", || async { scans().await == 1 }).await;
    // No hook is registered on either side: only a scan can find this.
    let created = h
        .control(
            "gitlab/issues",
            json!({"project": PROJECT, "title": "Found by the scan"}),
        )
        .await;
    let iid = created["iid"].as_u64().expect("iid");
    let reply = h.call("POST", &scan, Some(&h.other.token), None).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.text);
    let reply = h.call("POST", &scan, Some(&h.owner.token), None).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.text);
    eventually("the scan links the new issue", || async {
        twin_key(&h, id, iid).await.is_some()
    })
    .await;
    assert_eq!(scans().await, 2, "one scan on request, no other");
    running.stop().await;
}

/// Comments by webhook, both ways: a GitLab Note Hook and Jira's
/// comment_created / comment_updated carry a comment and its edits within
/// seconds, attributed to its author; Cairn's own copies coming back as
/// webhooks cost nothing; each side links to its twin once; the pair
/// shows its comment option.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_carry_comments_both_ways() {
    let h = Harness::new(cairn_store::Backend::Sqlite).await;
    let running = Running::server_and_worker(&h).await;
    let address = running.address.expect("listening");
    let (g, j) = (gitlab(&h).await, jira(&h).await);
    enable(&h, g, address, json!({"projects": [PROJECT]})).await;
    enable(&h, j, address, json!({})).await;
    let mut body = pair(g, j, true);
    body["delete_comment_copies"] = json!(true);
    let reply = h
        .call(
            "POST",
            "/api/v1/sync-pairs",
            Some(&h.owner.token),
            Some(body),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.body["delete_comment_copies"], true, "{}", reply.text);
    let id = reply.body["id"].as_i64().expect("id");
    let made = h
        .control(
            "gitlab/issues",
            json!({"project": PROJECT, "title": "Comments travel", "as": "amartin"}),
        )
        .await;
    let iid = made["iid"].as_u64().expect("iid");
    eventually("the Jira twin is created by webhook", || async {
        twin_key(&h, id, iid).await.is_some()
    })
    .await;
    let key = twin_key(&h, id, iid).await.expect("twin");
    let (gitlab_name, jira_name) = h.sim.with_world(|w| {
        (
            w.gitlab
                .users
                .iter()
                .find(|u| u.username == "amartin")
                .map(|u| u.name.clone())
                .expect("amartin in GitLab"),
            w.jira
                .users
                .iter()
                .find(|u| u.name == "amartin")
                .map(|u| u.display_name.clone())
                .expect("amartin in Jira"),
        )
    });
    let jira_comments = |key: String| {
        let sim = &h.sim;
        async move {
            sim.with_world(|w| {
                w.jira
                    .issues
                    .iter()
                    .find(|i| i.key == key)
                    .map(|i| {
                        i.comments
                            .iter()
                            .map(|c| c.body.clone())
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default()
            })
        }
    };
    let gitlab_notes = || async {
        h.gitlab(
            "GET",
            &format!("/projects/northwind%2Fcheckout/issues/{iid}/notes?sort=asc"),
            None,
        )
        .await
        .as_array()
        .map(|notes| {
            notes
                .iter()
                .filter(|n| n["system"] != true)
                .filter_map(|n| n["body"].as_str().map(str::to_owned))
                .filter(|b| !b.contains("<!-- cairn-sync backlink"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default()
    };

    let note = h
        .control(
            "gitlab/notes",
            json!({"project": PROJECT, "iid": iid, "body": "Reproduced on **staging**", "as": "amartin"}),
        )
        .await;
    let note_id = note["id"].as_u64().expect("note id");
    eventually("the GitLab comment reaches Jira", || async {
        jira_comments(key.clone()).await.iter().any(|c| {
            c.starts_with(&format!("{gitlab_name} in [GitLab|"))
                && c.ends_with("Reproduced on *staging*")
        })
    })
    .await;
    h.control(
        "jira/comment",
        json!({"key": key, "body": "Fixed in 2.3", "as": "amartin"}),
    )
    .await;
    eventually("the Jira comment reaches GitLab", || async {
        gitlab_notes().await.iter().any(|n| {
            n.starts_with(&format!("{jira_name} in [Jira](")) && n.ends_with("Fixed in 2.3")
        })
    })
    .await;
    h.control(
        "gitlab/notes/edit",
        json!({"project": PROJECT, "iid": iid, "note_id": note_id, "body": "Reproduced on staging and prod", "as": "amartin"}),
    )
    .await;
    eventually("the edit reaches the copy", || async {
        let comments = jira_comments(key.clone()).await;
        comments.len() == 2
            && comments
                .iter()
                .any(|c| c.ends_with("Reproduced on staging and prod"))
    })
    .await;
    eventually("all deliveries handled", || async {
        let counts = h.state.store.job_counts().await.expect("counts");
        counts.0.get("queued").copied().unwrap_or(0) == 0
            && counts.0.get("running").copied().unwrap_or(0) == 0
    })
    .await;
    // Two copies and one edit; every echo cost nothing.
    assert_eq!(operations_of(&h, id, &["comment"]).await, 3, "no echo");
    assert_eq!(gitlab_notes().await.len(), 2);
    assert_eq!(jira_comments(key.clone()).await.len(), 2);
    // One link each way.
    assert_eq!(operations_of(&h, id, &["backlink"]).await, 2);
    let links = h.sim.with_world(|w| {
        w.jira
            .issues
            .iter()
            .find(|i| i.key == key)
            .map_or(0, |i| i.remote_links.len())
    });
    assert_eq!(links, 1);
    // Jira's comment_deleted deletes the GitLab copy (the pair says so).
    let jira_id = h.sim.with_world(|w| {
        w.jira
            .issues
            .iter()
            .find(|i| i.key == key)
            .and_then(|i| {
                i.comments
                    .iter()
                    .find(|c| c.body == "Fixed in 2.3")
                    .map(|c| c.id)
            })
            .expect("the Jira original")
    });
    h.control(
        "jira/comment/delete",
        json!({"key": key, "id": jira_id, "as": "amartin"}),
    )
    .await;
    eventually("the copy goes with its original", || async {
        gitlab_notes().await.len() == 1
    })
    .await;
    running.stop().await;
}

/// `sync_failing`: a pair whose Jira side is down and whose item fails is
/// told once to a channel subscribed without an OKR, with the pair, the
/// unreachable side and the item; later scans of the same episode tell
/// nothing more; once the pair is well again, the next episode is told
/// anew. A subscription to one OKR cannot take the kind.
async fn sync_failing_is_told_once_per_episode(backend: cairn_store::Backend) {
    use cairn_sim::{FaultKind, FaultSpec, Service};
    let h = Harness::new(backend)
        .await
        .with_loopback_notify(std::time::Duration::from_secs(3600));
    let receiver = common::Receiver::start().await;
    let running = Running::worker(&h).await;
    let (g, j) = (gitlab(&h).await, jira(&h).await);
    let reply = h
        .call(
            "POST",
            "/api/v1/channels",
            Some(&h.admin.token),
            Some(json!({"name": "ops", "kind": "slack", "url": receiver.url("/slack")})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let channel = reply.body["id"].as_i64().expect("channel");
    let period = common::period(&h).await;
    let reply = h
        .call(
            "POST",
            "/api/v1/okrs",
            Some(&h.owner.token),
            Some(
                json!({"kind": "key_result", "title": "Any", "period_id": period,
                "measure": {"mode": "percent_complete"}, "progress_source": "check_in"}),
            ),
        )
        .await;
    let okr = reply.body["id"].as_i64().expect("okr");
    let reply = h
        .call(
            "POST",
            "/api/v1/subscriptions",
            Some(&h.admin.token),
            Some(json!({"channel_id": channel, "okr_id": okr, "events": ["sync_failing"]})),
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.text
    );
    assert_eq!(reply.body["error"]["field"], "events", "{}", reply.text);
    let reply = h
        .call(
            "POST",
            "/api/v1/subscriptions",
            Some(&h.admin.token),
            Some(json!({"channel_id": channel, "events": ["sync_failing"]})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);

    let reply = h
        .call(
            "POST",
            "/api/v1/sync-pairs",
            Some(&h.owner.token),
            Some(pair(g, j, true)),
        )
        .await;
    let id = reply.body["id"].as_i64().expect("id");
    let created = h
        .control(
            "gitlab/issues",
            json!({"project": PROJECT, "title": "Fails while Jira is down"}),
        )
        .await;
    assert!(created["iid"].as_u64().is_some(), "{created}");
    let mut down = FaultSpec::new(Service::Jira, FaultKind::ServerError);
    down.count = Some(100_000);
    h.sim.inject(&down);
    let told = |n: usize| {
        let receiver = &receiver;
        let h = &h;
        async move {
            h.state.sync.scan(id).await.expect("scan");
            receiver.received("/slack").len() >= n
        }
    };
    eventually("the channel hears the pair is failing", || told(1)).await;
    let text = receiver.received("/slack")[0].json().to_string();
    assert!(
        text.contains("Sync pair checkout <-> OPS is failing")
            || text.contains("Sync pair checkout &lt;-&gt; OPS is failing"),
        "{text}"
    );
    // Told by whichever came first: a scan that could not list Jira, or
    // the item whose create Jira refused.
    assert!(
        text.contains("Unreachable (right side)") || text.contains("Jira answered 5"),
        "{text}"
    );
    assert!(text.contains(&format!("/sync-pairs/{id}")), "{text}");
    eventually("the item fails too", || async {
        h.state
            .store
            .sync_item_counts(id)
            .await
            .expect("counts")
            .failing
            == 1
    })
    .await;
    // The same episode: more scans, nothing more told.
    for _ in 0..3 {
        h.state.sync.scan(id).await.expect("scan");
    }
    eventually("every job is done", || async {
        let counts = h.state.store.job_counts().await.expect("counts");
        counts.get(cairn_store::JobState::Running) == 0
            && h.state
                .store
                .list_jobs(None, 1000)
                .await
                .expect("jobs")
                .iter()
                .filter(|j| j.kind.starts_with("notify"))
                .all(|j| j.state != cairn_store::JobState::Queued)
    })
    .await;
    assert_eq!(receiver.received("/slack").len(), 1, "told once");

    // Jira is back: the item syncs, the pair is well, and the next
    // episode is told anew, this time naming the failing item.
    h.sim.clear_faults();
    let failing = h
        .state
        .store
        .list_sync_items(id, Some(cairn_core::sync::SyncItemState::Failing), 0, 10)
        .await
        .expect("failing");
    h.call(
        "POST",
        &format!("/api/v1/sync-pairs/{id}/items/{}/retry", failing[0].id),
        Some(&h.owner.token),
        None,
    )
    .await;
    eventually("the pair recovers", || async {
        h.state.sync.scan(id).await.expect("scan");
        let pair = h.state.store.get_sync_pair(id).await.expect("pair");
        pair.is_some_and(|p| p.failing_notified_at.is_none() && p.unreachable_since.is_none())
    })
    .await;
    h.control(
        "gitlab/issues",
        json!({"project": PROJECT, "title": "Fails the second time"}),
    )
    .await;
    h.sim.inject(&down);
    eventually("the second episode is told", || told(2)).await;
    let text = receiver.received("/slack")[1].json().to_string();
    assert!(text.contains("is failing"), "{text}");
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_failing_is_told_once_per_episode_on_sqlite() {
    sync_failing_is_told_once_per_episode(cairn_store::Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_failing_is_told_once_per_episode_on_postgres() {
    sync_failing_is_told_once_per_episode(cairn_store::Backend::Postgres).await;
}

/// People of a pair through the API: a person mapped twice on one side is
/// refused naming the field (`left_id`, `right_id`) and nothing is saved;
/// an unknown person too; a mapping can be removed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_mapped_twice_on_one_side_is_refused_naming_the_field() {
    let h = Harness::new(cairn_store::Backend::Sqlite).await;
    // Two Jira users more, so the right side has someone to map twice.
    h.sim.with_world_mut(|w| {
        for (account, name) in [("acc-ines", "Inês Rocha"), ("acc-joao", "João Pinto")] {
            w.jira.users.push(cairn_sim::model::JiraUser {
                account_id: account.into(),
                name: account.into(),
                display_name: name.into(),
                email: String::new(),
                api_token: String::new(),
                pat: String::new(),
                active: true,
                email_visible: false,
            });
        }
    });
    let (g, j) = (gitlab(&h).await, jira(&h).await);
    let mut body = pair(g, j, false);
    body["auto_map_people"] = json!(true);
    let reply = h
        .call(
            "POST",
            "/api/v1/sync-pairs",
            Some(&h.owner.token),
            Some(body),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.body["auto_map_people"], true);
    let path = format!("/api/v1/sync-pairs/{}/people", reply.body["id"]);
    let people = h.call("GET", &path, Some(&h.owner.token), None).await;
    assert_eq!(people.status, StatusCode::OK, "{}", people.text);
    let ids = |side: &str| -> Vec<String> {
        people.body["people"]
            .as_array()
            .expect("people")
            .iter()
            .filter(|p| p["side"] == side)
            .filter_map(|p| p["id"].as_str().map(str::to_owned))
            .collect()
    };
    let (left, right) = (ids("left"), ids("right"));
    assert!(left.len() >= 2 && right.len() >= 2, "{}", people.text);
    let map = |l: &str, r: &str| json!({"left_id": l, "right_id": r});
    let made = h
        .call(
            "POST",
            &path,
            Some(&h.owner.token),
            Some(map(&left[0], "acc-ines")),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    assert_eq!(made.body["right_name"], "Inês Rocha");
    for (body, field) in [
        (map(&left[0], "acc-joao"), "left_id"),
        (map(&left[1], "acc-ines"), "right_id"),
        (map("999999", "acc-joao"), "left_id"),
        (map(&left[1], "acc-nobody"), "right_id"),
    ] {
        refused_naming(&h, &path, body, field).await;
    }
    let people = h.call("GET", &path, Some(&h.owner.token), None).await;
    let manual = people.body["manual"].as_array().expect("manual");
    assert_eq!(manual.len(), 1, "nothing saved: {}", people.text);
    let mapped = people.body["people"]
        .as_array()
        .expect("people")
        .iter()
        .find(|p| p["side"] == "left" && p["id"] == left[0].as_str())
        .expect("mapped person")
        .clone();
    assert_eq!(mapped["mapping"], "manual");
    assert_eq!(mapped["mapped_to"], "acc-ines");

    let gone = format!("{path}/{}", made.body["id"]);
    let reply = h.call("DELETE", &gone, Some(&h.owner.token), None).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text);
    let reply = h.call("DELETE", &gone, Some(&h.owner.token), None).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.text);
    let people = h.call("GET", &path, Some(&h.owner.token), None).await;
    assert_eq!(people.body["manual"], json!([]));
}

/// Releases of a pair through the API: equal names would be linked and
/// the rest is listed as what the pair would create; linking by hand
/// works, a milestone linked to two versions (or a version to two
/// milestones) and an unknown id are refused naming the field with
/// nothing saved; a link can be removed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn release_links_are_made_by_hand_and_refused_naming_the_field() {
    let h = Harness::new(cairn_store::Backend::Sqlite).await;
    let (g, j) = (gitlab(&h).await, jira(&h).await);
    let reply = h
        .call(
            "POST",
            "/api/v1/sync-pairs",
            Some(&h.owner.token),
            Some(pair(g, j, false)),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let pair_id = reply.body["id"].as_i64().expect("id");
    let path = format!("/api/v1/sync-pairs/{pair_id}/release-links");
    let view = h.call("GET", &path, Some(&h.owner.token), None).await;
    assert_eq!(view.status, StatusCode::OK, "{}", view.text);
    assert_eq!(view.body["links"], json!([]));
    let ids = |side: &str| -> Vec<(String, String)> {
        view.body[side]
            .as_array()
            .expect("releases")
            .iter()
            .map(|r| {
                (
                    r["id"].as_str().unwrap_or_default().to_owned(),
                    r["name"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    };
    // The sample's checkout milestones and OPS versions share no name:
    // each would be created on the other side.
    let (left, right) = (ids("left"), ids("right"));
    assert!(left.len() >= 2 && right.len() >= 2, "{}", view.text);
    assert_eq!(
        view.body["to_create"].as_array().map(Vec::len),
        Some(left.len() + right.len()),
        "{}",
        view.text
    );
    let link = |l: &str, r: &str| json!({"left_id": l, "right_id": r});
    let made = h
        .call(
            "POST",
            &path,
            Some(&h.owner.token),
            Some(link(&left[0].0, &right[0].0)),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    assert_eq!(made.body["how"], "manual");
    assert_eq!(made.body["left_name"], left[0].1.as_str());
    assert_eq!(made.body["right_name"], right[0].1.as_str());
    for (body, field) in [
        (link(&left[0].0, &right[1].0), "left_id"),
        (link(&left[1].0, &right[0].0), "right_id"),
        (link("999999", &right[1].0), "left_id"),
        (link(&left[1].0, "999999"), "right_id"),
        (link("", &right[1].0), "left_id"),
    ] {
        refused_naming(&h, &path, body, field).await;
    }
    let view = h.call("GET", &path, Some(&h.owner.token), None).await;
    assert_eq!(
        view.body["links"].as_array().map(Vec::len),
        Some(1),
        "nothing saved: {}",
        view.text
    );
    assert_eq!(
        view.body["to_create"].as_array().map(Vec::len),
        Some(left.len() + right.len() - 2),
        "the linked two are no longer to be created: {}",
        view.text
    );
    let gone = format!("{path}/{}", made.body["id"]);
    let reply = h.call("DELETE", &gone, Some(&h.owner.token), None).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text);
    let reply = h.call("DELETE", &gone, Some(&h.owner.token), None).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.text);
    let view = h.call("GET", &path, Some(&h.owner.token), None).await;
    assert_eq!(view.body["links"], json!([]));
    // The preview lists the releases it would create.
    let preview = h
        .call(
            "POST",
            &format!("/api/v1/sync-pairs/{pair_id}/preview"),
            Some(&h.owner.token),
            None,
        )
        .await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.text);
    let creates = preview
        .body
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["action"] == "create_release")
        .count();
    assert_eq!(creates, left.len() + right.len(), "{}", preview.text);
}

/// A connection a sync pair has a side on is not deleted while the pair
/// exists (409 saying why, nothing deleted); once the pair is gone it is.
async fn a_connection_in_use_by_a_pair_is_kept(backend: cairn_store::Backend) {
    let h = Harness::new(backend).await;
    let gitlab = h.gitlab_connection(&h.owner, "gitlab", false).await;
    let jira = h.jira_connection(&h.owner, "jira", false).await;
    let reply = h
        .call(
            "POST",
            "/api/v1/sync-pairs",
            Some(&h.owner.token),
            Some(json!({"name": "in use", "left": {"connection_id": gitlab, "project": "northwind/checkout"},
                "right": {"connection_id": jira, "project": "OPS"}, "active": false})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let pair = reply.body["id"].as_i64().expect("pair");
    let connection = format!("/api/v1/connections/{gitlab}");
    let reply = h
        .call("DELETE", &connection, Some(&h.owner.token), None)
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.text);
    assert_eq!(
        reply.body["error"]["message"],
        "1 sync pair(s) have a side on it; delete those pairs first"
    );
    let kept = h.call("GET", &connection, Some(&h.owner.token), None).await;
    assert_eq!(kept.status, StatusCode::OK, "nothing deleted");
    let reply = h
        .call(
            "DELETE",
            &format!("/api/v1/sync-pairs/{pair}"),
            Some(&h.owner.token),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text);
    let reply = h
        .call("DELETE", &connection, Some(&h.owner.token), None)
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_in_use_by_a_pair_is_kept_on_sqlite() {
    a_connection_in_use_by_a_pair_is_kept(cairn_store::Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_in_use_by_a_pair_is_kept_on_postgresql() {
    a_connection_in_use_by_a_pair_is_kept(cairn_store::Backend::Postgres).await;
}
