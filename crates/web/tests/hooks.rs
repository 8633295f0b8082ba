//! Issue 7, webhooks in: every real capture through the HTTP endpoints,
//! deduplication, refusals (401, 404, 413, 400), a disabled integration,
//! unreadable payloads, and the simulator's own webhooks moving a key
//! result without a refresh, to the same numbers a poll gives.

mod common;

use std::net::SocketAddr;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use cairn_engine::hooks::{GITLAB_HOOK_KIND, JIRA_HOOK_KIND};
use cairn_store::IntegrationKind;
use chrono::Utc;
use common::{Harness, Reply, Running, eventually, period};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

const PROJECT: &str = "northwind/checkout";

fn fixtures(kind: &str) -> Vec<(String, Vec<u8>)> {
    let dir = format!("{}/../../testdata/{kind}", env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            (name, std::fs::read(&p).expect("fixture"))
        })
        .collect();
    files.sort();
    assert!(files.len() > 10, "{dir} has the captures");
    files
}

/// The `X-Gitlab-Event` a capture was sent with (its file-name prefix).
fn gitlab_event(file: &str) -> &'static str {
    if file.starts_with("confidential_issue_hook") {
        "Confidential Issue Hook"
    } else if file.starts_with("issue_hook") {
        "Issue Hook"
    } else if file.starts_with("merge_request") {
        "Merge Request Hook"
    } else if file.starts_with("note_hook") {
        "Note Hook"
    } else if file.starts_with("tag_push_hook") {
        "Tag Push Hook"
    } else if file.starts_with("push_hook") {
        "Push Hook"
    } else {
        panic!("no event for {file}")
    }
}

fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

async fn post(h: &Harness, path: &str, headers: &[(&str, &str)], body: Vec<u8>) -> Reply {
    let mut request = Request::builder().method("POST").uri(path);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    h.send(
        request
            .header("content-type", "application/json")
            .body(Body::from(body))
            .expect("request"),
    )
    .await
}

/// Generates a connection's hook secret through the API.
async fn hook_secret(h: &Harness, connection: i64) -> String {
    let reply = h
        .call(
            "POST",
            &format!("/api/v1/connections/{connection}/hooks/secret"),
            Some(&h.owner.token),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    reply.body["secret"].as_str().expect("secret").to_owned()
}

async fn hook_status(h: &Harness, connection: i64) -> Value {
    let reply = h
        .call(
            "GET",
            &format!("/api/v1/connections/{connection}/hooks"),
            Some(&h.owner.token),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    reply.body
}

async fn jira_connection(h: &Harness, name: &str) -> i64 {
    let reply = h
        .call(
            "POST",
            "/api/v1/connections",
            Some(&h.owner.token),
            Some(json!({"kind": "jira", "name": name, "base_url": h.sim.jira_url(), "auth_kind": "basic",
                "username": cairn_sim::DEFAULT_JIRA_EMAIL, "secret": cairn_sim::DEFAULT_JIRA_API_TOKEN, "shared": true})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    reply.body["id"].as_i64().expect("id")
}

/// Deliveries stored for a connection, ever.
async fn stored(h: &Harness, connection: i64) -> u64 {
    h.state
        .store
        .hook_stats(connection, chrono::DateTime::UNIX_EPOCH)
        .await
        .expect("stats")
        .deliveries
}

async fn jobs_of(h: &Harness, kind: &str) -> usize {
    h.state
        .store
        .list_jobs(None, 10_000)
        .await
        .expect("jobs")
        .iter()
        .filter(|j| j.kind == kind)
        .count()
}

/// A Prometheus counter's value, 0 when absent.
async fn counter(h: &Harness, name: &str, labels: &[(&str, &str)]) -> f64 {
    let text = h.call("GET", "/metrics", None, None).await.text;
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")))
        .filter(|l| {
            labels
                .iter()
                .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

async fn no_pending(h: &Harness, connection: i64, tracker: IntegrationKind) -> bool {
    h.state
        .store
        .pending_deliveries(connection, tracker, 1)
        .await
        .expect("pending")
        .is_empty()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_real_capture_gets_a_2xx_and_is_stored_and_applied_without_harm() {
    let h = Harness::new(cairn_store::Backend::Sqlite).await;
    let gitlab = h.gitlab_connection(&h.owner, "gitlab", true).await;
    let token = hook_secret(&h, gitlab).await;
    let jira = jira_connection(&h, "jira").await;
    let jira_secret = hook_secret(&h, jira).await;

    let captures = fixtures("gitlab-webhooks");
    for (n, (file, body)) in captures.iter().enumerate() {
        let id = format!("capture-{n}");
        let reply = post(
            &h,
            &format!("/hooks/gitlab/{gitlab}"),
            &[
                ("x-gitlab-token", &token),
                ("x-gitlab-event", gitlab_event(file)),
                ("idempotency-key", &id),
            ],
            body.clone(),
        )
        .await;
        assert!(reply.status.is_success(), "{file}: {}", reply.text);
        let status = reply.body["status"].as_str().unwrap_or_default();
        let expected = if file.starts_with("issue_hook__epic")
            || file.starts_with("issue_hook__objective")
            || file.starts_with("issue_hook__key_result")
        {
            "ignored" // not what data links read
        } else if file.contains("issue_hook") || file.starts_with("note_hook__issue_note") {
            "accepted" // issues, and comments on them (sync carries them)
        } else {
            "ignored" // other comments, merge requests, pushes: parsed, not read yet
        };
        assert_eq!(status, expected, "{file}: {}", reply.text);
    }
    let jira_captures = fixtures("jira-webhooks");
    for (n, (file, body)) in jira_captures.iter().enumerate() {
        let id = format!("jira-capture-{n}");
        let signed = signature(&jira_secret, body);
        let reply = post(
            &h,
            &format!("/hooks/jira/{jira}"),
            &[
                ("x-hub-signature", &signed),
                ("x-atlassian-webhook-identifier", &id),
            ],
            body.clone(),
        )
        .await;
        assert!(reply.status.is_success(), "{file}: {}", reply.text);
        let status = reply.body["status"].as_str().unwrap_or_default();
        let expected = match file.as_str() {
            "example_anomalous_payload.json" => "unreadable",
            f if f.starts_with("created")
                || f.starts_with("deleted")
                || f.starts_with("issue_")
                || f.starts_with("change_status")
                || f.starts_with("commented")
                || f.starts_with("comment_") =>
            {
                "accepted"
            }
            _ => "ignored",
        };
        assert_eq!(status, expected, "{file}: {}", reply.text);
    }
    assert_eq!(stored(&h, gitlab).await, captures.len() as u64);
    assert_eq!(stored(&h, jira).await, jira_captures.len() as u64);
    let status = hook_status(&h, gitlab).await;
    assert_eq!(status["deliveries_today"], captures.len());
    assert_eq!(status["failures_today"], 0);
    assert!(status["last_delivery_at"].is_string(), "{status}");
    let status = hook_status(&h, jira).await;
    assert_eq!(status["failures_today"], 1, "the anomalous payload");

    // Their jobs apply them: no link reads these projects, so each ends
    // ignored, and nothing fails.
    let running = Running::worker(&h).await;
    eventually("every GitLab capture applied", || {
        no_pending(&h, gitlab, IntegrationKind::Gitlab)
    })
    .await;
    eventually("every Jira capture applied", || {
        no_pending(&h, jira, IntegrationKind::Jira)
    })
    .await;
    running.stop().await;
    assert_eq!(hook_status(&h, gitlab).await["failures_today"], 0);
    assert_eq!(hook_status(&h, jira).await["failures_today"], 1);
    let dead = h
        .state
        .store
        .list_jobs(Some(cairn_store::JobState::Dead), 100)
        .await
        .expect("jobs");
    assert!(dead.is_empty(), "{dead:?}");
}

async fn key_result(h: &Harness, period: i64) -> i64 {
    common::linked_key_result(h, period).await
}

/// A key result counting the `hooked` OPS tickets, at 0% to start.
async fn hooked_key_result(h: &Harness, period: i64, jira: i64) -> i64 {
    let kr = key_result(h, period).await;
    let reply = h
        .call(
            "PUT",
            &format!("/api/v1/okrs/{kr}/link"),
            Some(&h.owner.token),
            Some(json!({"tracker": "jira", "connection_id": jira, "jql": "project = OPS AND labels = hooked ORDER BY key",
                "metric": "count"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(percent(h, kr).await, 0.0);
    kr
}

async fn okr(h: &Harness, id: i64) -> Value {
    h.call(
        "GET",
        &format!("/api/v1/okrs/{id}"),
        Some(&h.owner.token),
        None,
    )
    .await
    .body
}

async fn percent(h: &Harness, id: i64) -> f64 {
    okr(h, id).await["progress"]["percent"]
        .as_f64()
        .unwrap_or(-1.0)
}

async fn history(h: &Harness, id: i64) -> Vec<Value> {
    h.call(
        "GET",
        &format!("/api/v1/okrs/{id}/history"),
        Some(&h.owner.token),
        None,
    )
    .await
    .body
    .as_array()
    .cloned()
    .unwrap_or_default()
}

async fn explain(h: &Harness, id: i64) -> Value {
    let reply = h
        .call(
            "GET",
            &format!("/api/v1/okrs/{id}/explain"),
            Some(&h.owner.token),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    reply.body
}

/// A key result linked to this test's own milestone of the simulator's
/// `northwind/checkout`, with `issues` open issues in it.
struct GitLabSetup {
    h: Harness,
    connection: i64,
    kr: i64,
    iids: Vec<u64>,
}

async fn gitlab_setup(backend: cairn_store::Backend, issues: usize) -> GitLabSetup {
    let h = Harness::new(backend).await;
    let period = period(&h).await;
    let connection = h.gitlab_connection(&h.owner, "gitlab", true).await;
    let milestone = "Hooks";
    h.gitlab(
        "POST",
        "/projects/northwind%2Fcheckout/milestones",
        Some(json!({"title": milestone})),
    )
    .await;
    let mut iids = Vec::new();
    for n in 0..issues {
        let issue = h
            .control(
                "gitlab/issues",
                json!({"project": PROJECT, "title": format!("Hooked {n}"), "milestone": milestone}),
            )
            .await;
        iids.push(issue["iid"].as_u64().expect("iid"));
    }
    let kr = key_result(&h, period).await;
    let reply = h
        .call(
            "PUT",
            &format!("/api/v1/okrs/{kr}/link"),
            Some(&h.owner.token),
            Some(json!({"tracker": "gitlab", "connection_id": connection, "project": PROJECT, "milestone": milestone})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    GitLabSetup {
        h,
        connection,
        kr,
        iids,
    }
}

/// An `Issue Hook` for a simulator issue as it is now, in GitLab's shape.
async fn issue_hook(h: &Harness, iid: u64, state: &str, updated_at: &str) -> Vec<u8> {
    let issue = h
        .gitlab(
            "GET",
            &format!("/projects/northwind%2Fcheckout/issues/{iid}"),
            None,
        )
        .await;
    json!({
        "object_kind": "issue",
        "event_type": "issue",
        "user": {"id": 1, "name": "Root", "username": "root"},
        "project": {"id": issue["project_id"], "name": "checkout", "path_with_namespace": PROJECT},
        "object_attributes": {
            "id": issue["id"], "iid": iid, "project_id": issue["project_id"],
            "title": issue["title"], "description": issue["description"], "state": state,
            "action": if state == "closed" { "close" } else { "reopen" },
            "milestone_id": issue["milestone"]["id"], "labels": [],
            "url": issue["web_url"], "updated_at": updated_at, "type": "Issue",
            "time_estimate": 0, "total_time_spent": 0,
        },
        "labels": [],
        "assignees": [],
        "changes": {"state_id": {"previous": 1, "current": 2}},
    })
    .to_string()
    .into_bytes()
}

/// Many links on one project, each choosing its own issue: a delivery is
/// written to and recomputes only the link whose selection holds (or now
/// takes) its issue.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_moves_only_the_link_that_selects_its_issue() {
    let h = Harness::new(cairn_store::Backend::Sqlite).await;
    let period = period(&h).await;
    let connection = h.gitlab_connection(&h.owner, "gitlab", true).await;
    let mut krs = Vec::new();
    for n in 0..3 {
        let issue = h
            .control(
                "gitlab/issues",
                json!({"project": PROJECT, "title": format!("Chosen {n}")}),
            )
            .await;
        let iid = issue["iid"].as_u64().expect("iid");
        let kr = key_result(&h, period).await;
        let reply = h
            .call(
                "PUT",
                &format!("/api/v1/okrs/{kr}/link"),
                Some(&h.owner.token),
                Some(json!({"tracker": "gitlab", "connection_id": connection, "project": PROJECT, "iids": [iid]})),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        krs.push((kr, iid, history(&h, kr).await.len()));
    }
    let token = hook_secret(&h, connection).await;
    let body = issue_hook(&h, krs[0].1, "closed", &Utc::now().to_rfc3339()).await;
    let reply = post(
        &h,
        &format!("/hooks/gitlab/{connection}"),
        &[
            ("x-gitlab-token", token.as_str()),
            ("x-gitlab-event", "Issue Hook"),
            ("x-gitlab-event-uuid", "chosen-1"),
        ],
        body,
    )
    .await;
    assert_eq!(reply.body["status"], "accepted", "{}", reply.text);
    let running = Running::worker(&h).await;
    eventually("the delivery applied", || {
        no_pending(&h, connection, IntegrationKind::Gitlab)
    })
    .await;
    running.stop().await;
    assert_eq!(percent(&h, krs[0].0).await, 100.0);
    assert_eq!(history(&h, krs[0].0).await.len(), krs[0].2 + 1);
    for (kr, _, points) in &krs[1..] {
        assert_eq!(percent(&h, *kr).await, 0.0);
        assert_eq!(history(&h, *kr).await.len(), *points, "no new point");
    }
    let link = h
        .state
        .store
        .link_for_okr(krs[0].0)
        .await
        .expect("link")
        .expect("link");
    assert_eq!(
        h.state
            .store
            .links_with_item(connection, &format!("{PROJECT}#{}", krs[0].1))
            .await
            .expect("links"),
        vec![link.id]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redelivery_is_stored_and_applied_once() {
    let s = gitlab_setup(cairn_store::Backend::Sqlite, 2).await;
    let h = &s.h;
    let token = hook_secret(h, s.connection).await;
    let path = format!("/hooks/gitlab/{}", s.connection);
    let points_before = history(h, s.kr).await.len();
    let now = Utc::now().to_rfc3339();
    let body = issue_hook(h, s.iids[0], "closed", &now).await;
    let headers = [
        ("x-gitlab-token", token.as_str()),
        ("x-gitlab-event", "Issue Hook"),
        ("idempotency-key", "delivery-1"),
        ("x-gitlab-event-uuid", "event-1"),
    ];
    let first = post(h, &path, &headers, body.clone()).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    assert_eq!(first.body["status"], "accepted");
    let again = post(h, &path, &headers, body.clone()).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
    assert_eq!(again.body["status"], "duplicate");
    // Without an Idempotency-Key, the event UUID identifies the delivery.
    let by_uuid = [
        ("x-gitlab-token", token.as_str()),
        ("x-gitlab-event", "Issue Hook"),
        ("x-gitlab-event-uuid", "event-2"),
    ];
    assert_eq!(
        post(h, &path, &by_uuid, body.clone()).await.body["status"],
        "accepted"
    );
    assert_eq!(
        post(h, &path, &by_uuid, body.clone()).await.body["status"],
        "duplicate"
    );
    assert_eq!(stored(h, s.connection).await, 2);
    assert_eq!(jobs_of(h, GITLAB_HOOK_KIND).await, 2);

    let running = Running::worker(h).await;
    eventually("the delivery applied", || {
        no_pending(h, s.connection, IntegrationKind::Gitlab)
    })
    .await;
    assert_eq!(percent(h, s.kr).await, 50.0);
    let points = history(h, s.kr).await;
    assert_eq!(points.len(), points_before + 1, "one change, one point");
    assert_eq!(
        points[0]["note"],
        format!("webhook: {PROJECT}#{} closed", s.iids[0])
    );

    // A late delivery older than what is stored changes nothing.
    let stale = issue_hook(h, s.iids[0], "opened", "2020-01-01T00:00:00Z").await;
    let reply = post(
        h,
        &path,
        &[("x-gitlab-token", &token), ("x-gitlab-event", "Issue Hook")],
        stale,
    )
    .await;
    assert_eq!(reply.body["status"], "accepted", "{}", reply.text);
    eventually("the stale delivery handled", || {
        no_pending(h, s.connection, IntegrationKind::Gitlab)
    })
    .await;
    running.stop().await;
    assert_eq!(percent(h, s.kr).await, 50.0);
    assert_eq!(history(h, s.kr).await.len(), points_before + 1);
    let delivery = reply.body["delivery"].as_i64().expect("delivery");
    let delivery = h
        .state
        .store
        .get_delivery(delivery)
        .await
        .expect("get")
        .expect("stored");
    assert_eq!(
        delivery.state,
        cairn_store::hooks::DeliveryState::Ignored,
        "{delivery:?}"
    );
}

/// Makes every write of a progress point fail (a trigger), or stops it: a
/// fault between the transaction that commits a change's items and the one
/// that records its point, as when the process dies or the database goes
/// away in between.
async fn lose_points(h: &Harness, lose: bool) {
    let sql = match (h.db.backend, lose) {
        (cairn_store::Backend::Sqlite, true) => {
            "CREATE TRIGGER lose_points BEFORE INSERT ON progress_points \
             BEGIN SELECT RAISE(ABORT, 'a lost point'); END;"
        }
        (cairn_store::Backend::Sqlite, false) => "DROP TRIGGER lose_points;",
        (cairn_store::Backend::Postgres, true) => {
            "CREATE FUNCTION lose_point() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'a lost point'; END $$; \
             CREATE TRIGGER lose_points BEFORE INSERT ON progress_points \
             FOR EACH ROW EXECUTE FUNCTION lose_point();"
        }
        (cairn_store::Backend::Postgres, false) => {
            "DROP TRIGGER lose_points ON progress_points; DROP FUNCTION lose_point();"
        }
    };
    h.db.execute(sql).await;
}

/// The history points made since `before` points, newest first: percent
/// and note.
async fn new_points(h: &Harness, kr: i64, before: usize) -> Vec<(f64, String)> {
    let points = history(h, kr).await;
    points[..points.len() - before]
        .iter()
        .map(|p| {
            (
                p["percent"].as_f64().unwrap_or(-1.0),
                p["note"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// A change whose items were committed but whose point was not (issue 14:
/// the process applying it killed) keeps its own step in the history: the
/// next change to the key result records it first, with its note, and a
/// retry of it records nothing twice; a change lost last is recorded by
/// its retry.
async fn a_lost_point_keeps_its_step(backend: cairn_store::Backend) {
    use cairn_store::hooks::DeliveryState;
    let s = gitlab_setup(backend, 4).await;
    let h = &s.h;
    let token = hook_secret(h, s.connection).await;
    let path = format!("/hooks/gitlab/{}", s.connection);
    let before = history(h, s.kr).await.len();
    let deliver = |iid: u64| {
        let (token, path) = (token.clone(), path.clone());
        async move {
            let body = issue_hook(h, iid, "closed", &Utc::now().to_rfc3339()).await;
            let reply = post(h, &path, &[("x-gitlab-token", &token)], body).await;
            assert_eq!(reply.body["status"], "accepted", "{}", reply.text);
            reply.body["delivery"].as_i64().expect("delivery id")
        }
    };
    let closed = |iid: u64| format!("webhook: {PROJECT}#{iid} closed");
    let apply = |delivery: i64| h.state.hooks.apply_gitlab(delivery, Utc::now());

    lose_points(h, true).await;
    let first = deliver(s.iids[0]).await;
    let error = apply(first).await.expect_err("the point cannot be written");
    lose_points(h, false).await;
    assert!(error.to_string().contains("a lost point"), "{error}");
    assert!(new_points(h, s.kr, before).await.is_empty());

    let second = deliver(s.iids[1]).await;
    assert_eq!(
        apply(second).await.expect("applied"),
        DeliveryState::Applied
    );
    assert_eq!(
        new_points(h, s.kr, before).await,
        vec![(50.0, closed(s.iids[1])), (25.0, closed(s.iids[0]))],
        "each change its own point, in order"
    );
    // The first delivery's retry (its job's lease expired) adds nothing.
    assert_eq!(apply(first).await.expect("retried"), DeliveryState::Applied);
    assert_eq!(new_points(h, s.kr, before).await.len(), 2);

    lose_points(h, true).await;
    let third = deliver(s.iids[2]).await;
    apply(third).await.expect_err("the point cannot be written");
    lose_points(h, false).await;
    assert_eq!(new_points(h, s.kr, before).await.len(), 2);
    assert_eq!(apply(third).await.expect("retried"), DeliveryState::Applied);
    assert_eq!(
        new_points(h, s.kr, before).await,
        vec![
            (75.0, closed(s.iids[2])),
            (50.0, closed(s.iids[1])),
            (25.0, closed(s.iids[0]))
        ]
    );
    assert_eq!(percent(h, s.kr).await, 75.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_point_keeps_its_step_on_sqlite() {
    a_lost_point_keeps_its_step(cairn_store::Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_point_keeps_its_step_on_postgres() {
    a_lost_point_keeps_its_step(cairn_store::Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_applied_at_once_end_at_the_right_number() {
    let s = gitlab_setup(cairn_store::Backend::Sqlite, 8).await;
    let h = &s.h;
    let token = hook_secret(h, s.connection).await;
    let path = format!("/hooks/gitlab/{}", s.connection);
    let points_before = history(h, s.kr).await.len();
    let now = Utc::now().to_rfc3339();
    for iid in &s.iids {
        let body = issue_hook(h, *iid, "closed", &now).await;
        let reply = post(h, &path, &[("x-gitlab-token", &token)], body).await;
        assert_eq!(reply.body["status"], "accepted", "{}", reply.text);
    }
    // Sixteen job slots take the eight deliveries at once.
    let running = Running::worker(h).await;
    eventually("every delivery applied", || {
        no_pending(h, s.connection, IntegrationKind::Gitlab)
    })
    .await;
    running.stop().await;
    assert_eq!(percent(h, s.kr).await, 100.0);
    let points = history(h, s.kr).await;
    let new = &points[..points.len() - points_before];
    assert!(!new.is_empty() && new.len() <= 8, "{new:?}");
    assert_eq!(new[0]["percent"], 100.0, "the last word is the latest");
    for pair in new.windows(2) {
        assert_ne!(pair[0]["percent"], pair[1]["percent"], "{new:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_token_or_signature_is_401_and_stores_nothing() {
    let h = Harness::new(cairn_store::Backend::Sqlite).await;
    let gitlab = h.gitlab_connection(&h.owner, "gitlab", true).await;
    let jira = jira_connection(&h, "jira").await;
    let body = fixtures("gitlab-webhooks")
        .into_iter()
        .find(|(f, _)| f == "issue_hook__issue_closed.json")
        .map(|(_, b)| b)
        .expect("capture");
    let path = format!("/hooks/gitlab/{gitlab}");

    // No secret generated yet: nothing can be verified.
    let reply = post(&h, &path, &[("x-gitlab-token", "guess")], body.clone()).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.text);
    assert_eq!(reply.body["error"]["code"], "unauthorized");
    let token = hook_secret(&h, gitlab).await;
    for headers in [
        vec![],
        vec![("x-gitlab-token", "wrong")],
        vec![("x-gitlab-token", &token[..token.len() - 1])],
        vec![("x-gitlab-token", "")],
    ] {
        let reply = post(&h, &path, &headers, body.clone()).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.text);
        assert!(reply.body["error"].is_object(), "{}", reply.text);
        assert!(!reply.text.contains(&token), "the secret never leaves");
    }
    assert_eq!(stored(&h, gitlab).await, 0);
    assert_eq!(jobs_of(&h, GITLAB_HOOK_KIND).await, 0);
    let ok = post(&h, &path, &[("x-gitlab-token", &token)], body.clone()).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    assert_eq!(stored(&h, gitlab).await, 1);

    // A signed-in browser session is not what lets a webhook in, and no
    // CSRF token is asked for: the hook secret is the credential.
    let login = h
        .send(
            Request::post("/api/v1/session")
                .header("content-type", "application/json")
                .body(Body::from(
                    json!({"email": h.owner.email, "password": common::PASSWORD}).to_string(),
                ))
                .expect("request"),
        )
        .await;
    assert!(login.status.is_success(), "{}", login.text);
    let cookie = login.headers["set-cookie"]
        .to_str()
        .expect("cookie")
        .split(';')
        .next()
        .expect("pair")
        .to_owned();
    let reply = post(&h, &path, &[("cookie", &cookie)], body.clone()).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.text);
    assert_eq!(reply.body["error"]["code"], "unauthorized");
    let reply = post(
        &h,
        &path,
        &[("cookie", &cookie), ("x-gitlab-token", &token)],
        body.clone(),
    )
    .await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "no CSRF check: {}",
        reply.text
    );
    assert_eq!(stored(&h, gitlab).await, 2);

    // A rotated secret replaces the old one at once.
    let rotated = hook_secret(&h, gitlab).await;
    assert_ne!(rotated, token);
    let reply = post(&h, &path, &[("x-gitlab-token", &token)], body.clone()).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);

    // Jira: unsigned deliveries are accepted until a secret is set (Jira
    // Data Center cannot sign); then the signature must match.
    let jira_body = fixtures("jira-webhooks")
        .into_iter()
        .find(|(f, _)| f == "issue_updated__status.json")
        .map(|(_, b)| b)
        .expect("capture");
    let jira_path = format!("/hooks/jira/{jira}");
    let reply = post(&h, &jira_path, &[], jira_body.clone()).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let secret = hook_secret(&h, jira).await;
    let before = stored(&h, jira).await;
    let wrong = signature("not the secret", &jira_body);
    let tampered = signature(&secret, b"another body");
    for headers in [
        vec![],
        vec![("x-hub-signature", wrong.as_str())],
        vec![("x-hub-signature", tampered.as_str())],
        vec![("x-hub-signature", "sha256=zz")],
    ] {
        let reply = post(&h, &jira_path, &headers, jira_body.clone()).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.text);
        assert_eq!(reply.body["error"]["code"], "unauthorized");
    }
    assert_eq!(stored(&h, jira).await, before);
    let signed = signature(&secret, &jira_body);
    let reply = post(&h, &jira_path, &[("x-hub-signature", &signed)], jira_body).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(stored(&h, jira).await, before + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_413_400_404_or_a_stored_2xx_never_a_panic() {
    let h = Harness::new(cairn_store::Backend::Sqlite).await;
    let gitlab = h.gitlab_connection(&h.owner, "gitlab", true).await;
    let jira = jira_connection(&h, "jira").await;
    let token = hook_secret(&h, gitlab).await;
    let path = format!("/hooks/gitlab/{gitlab}");
    let auth = [("x-gitlab-token", token.as_str())];

    // Over the webhook limit (4 MiB by default): 413, as JSON.
    let huge = format!(
        "{{\"object_kind\":\"pipeline\",\"pad\":\"{}\"}}",
        "x".repeat(4 * 1024 * 1024)
    );
    let reply = post(&h, &path, &auth, huge.into_bytes()).await;
    assert_eq!(
        reply.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        reply.text
    );
    assert_eq!(reply.body["error"]["code"], "payload_too_large");
    // ... but the API's own limit (1 MiB) does not apply to webhooks.
    let big = format!(
        "{{\"object_kind\":\"pipeline\",\"pad\":\"{}\"}}",
        "x".repeat(2 * 1024 * 1024)
    );
    let reply = post(
        &h,
        &path,
        &[
            ("x-gitlab-token", &token),
            ("x-gitlab-event", "Pipeline Hook"),
        ],
        big.into_bytes(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["status"], "ignored");

    // Not JSON: 400, nothing stored, and the next delivery is fine.
    let before = stored(&h, gitlab).await;
    let malformed_before = counter(
        &h,
        "cairn_hooks_received_total",
        &[("tracker", "gitlab"), ("outcome", "malformed")],
    )
    .await;
    for body in ["{\"object_kind\": ", "", "not json", "{\"a\":1}}"] {
        let reply = post(&h, &path, &auth, body.as_bytes().to_vec()).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{body}: {}",
            reply.text
        );
        assert_eq!(reply.body["error"]["code"], "malformed_json");
    }
    assert_eq!(stored(&h, gitlab).await, before);
    assert_eq!(
        counter(
            &h,
            "cairn_hooks_received_total",
            &[("tracker", "gitlab"), ("outcome", "malformed")],
        )
        .await
            - malformed_before,
        4.0
    );
    let reply = post(
        &h,
        &format!("/hooks/jira/{jira}"),
        &[],
        b"{\"webhookEvent\":".to_vec(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);

    // Unknown connections, or the other tracker's: 404, nothing stored.
    for (path, headers) in [
        ("/hooks/gitlab/424242".to_owned(), auth.to_vec()),
        ("/hooks/gitlab/not-a-number".to_owned(), auth.to_vec()),
        (format!("/hooks/gitlab/{jira}"), auth.to_vec()),
        (format!("/hooks/jira/{gitlab}"), vec![]),
        ("/hooks/jira/424242".to_owned(), vec![]),
    ] {
        let reply = post(&h, &path, &headers, b"{\"object_kind\":\"issue\"}".to_vec()).await;
        assert_eq!(
            reply.status,
            StatusCode::NOT_FOUND,
            "{path}: {}",
            reply.text
        );
        assert_eq!(reply.body["error"]["code"], "not_found");
    }
    assert_eq!(stored(&h, gitlab).await, before);

    // Valid JSON with missing or unexpected fields, or an event Cairn does
    // not read: stored, counted, 2xx, never a 4xx.
    let unreadable_before = counter(
        &h,
        "cairn_hooks_received_total",
        &[("tracker", "gitlab"), ("outcome", "unreadable")],
    )
    .await;
    let gitlab_failures_before = hook_status(&h, gitlab).await["failures_today"].clone();
    let jira_failures_before = hook_status(&h, jira).await["failures_today"].clone();
    assert_eq!(
        (&gitlab_failures_before, &jira_failures_before),
        (&json!(0), &json!(0))
    );
    let cases: Vec<(&str, Value, &str)> = vec![
        ("Issue Hook", json!({}), "unreadable"),
        ("Issue Hook", json!([1, 2, 3]), "unreadable"),
        ("Issue Hook", json!(null), "unreadable"),
        (
            "Issue Hook",
            json!({"object_kind": "issue", "object_attributes": {"id": 1, "title": 7}}),
            "unreadable",
        ),
        (
            "Issue Hook",
            json!({"object_kind": "issue", "object_attributes": {"id": "x", "iid": 1}}),
            "unreadable",
        ),
        (
            "Pipeline Hook",
            json!({"object_kind": "pipeline", "object_attributes": {"id": 1}}),
            "ignored",
        ),
        (
            "Some Future Hook",
            json!({"object_kind": "future_thing", "extra": [1, {"a": null}]}),
            "ignored",
        ),
        (
            "Issue Hook",
            json!({"object_kind": "issue", "project": null,
                   "object_attributes": {"id": 1, "iid": 1, "type": "Epic", "unknown": {"deep": true}}}),
            "ignored",
        ),
    ];
    for (n, (event, body, expected)) in cases.iter().enumerate() {
        let id = format!("odd-{n}");
        let reply = post(
            &h,
            &path,
            &[
                ("x-gitlab-token", &token),
                ("x-gitlab-event", event),
                ("idempotency-key", &id),
            ],
            body.to_string().into_bytes(),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{body}: {}", reply.text);
        assert_eq!(reply.body["status"], *expected, "{body}: {}", reply.text);
    }
    // Exactly the five unreadable cases: the counter is process-wide, but
    // no other test in this file sends an unreadable GitLab delivery (the
    // captures' anomalous payload is Jira's); the connection's own count
    // cannot be moved by another test at all.
    assert_eq!(
        counter(
            &h,
            "cairn_hooks_received_total",
            &[("tracker", "gitlab"), ("outcome", "unreadable")],
        )
        .await
            - unreadable_before,
        5.0
    );
    assert_eq!(hook_status(&h, gitlab).await["failures_today"], 5);
    for (body, expected) in [
        (json!({}), "unreadable"),
        (json!({"webhookEvent": "jira:issue_updated"}), "unreadable"),
        (
            json!({"webhookEvent": "jira:issue_updated", "issue": {"key": "x\" OR key = \"Y-1"}}),
            "unreadable",
        ),
        (json!({"webhookEvent": 12}), "unreadable"),
        (
            json!({"webhookEvent": "board_created", "board": {}}),
            "ignored",
        ),
    ] {
        let reply = post(
            &h,
            &format!("/hooks/jira/{jira}"),
            &[],
            body.to_string().into_bytes(),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{body}: {}", reply.text);
        assert_eq!(reply.body["status"], expected, "{body}: {}", reply.text);
    }
    assert_eq!(hook_status(&h, jira).await["failures_today"], 4);
    // Nothing stored above needs a job.
    assert_eq!(jobs_of(&h, GITLAB_HOOK_KIND).await, 0);
    assert_eq!(jobs_of(&h, JIRA_HOOK_KIND).await, 0);
    // The server still answers.
    assert_eq!(
        h.call("GET", "/healthz", None, None).await.status,
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_integration_drops_hooks_with_202_and_counts_them() {
    let h = Harness::new(cairn_store::Backend::Sqlite).await;
    let gitlab = h.gitlab_connection(&h.owner, "gitlab", true).await;
    let token = hook_secret(&h, gitlab).await;
    let reply = h
        .call(
            "PATCH",
            "/api/v1/integrations/gitlab",
            Some(&h.admin.token),
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let labels = [("tracker", "gitlab"), ("reason", "integration_disabled")];
    let before = counter(&h, "cairn_hooks_dropped_total", &labels).await;
    let body = json!({"object_kind": "issue", "object_attributes": {"id": 1, "iid": 1}});
    // Verified before it is dropped: a wrong token hears 401, as always.
    for wrong in ["guess", ""] {
        let reply = post(
            &h,
            &format!("/hooks/gitlab/{gitlab}"),
            &[("x-gitlab-token", wrong), ("x-gitlab-event", "Issue Hook")],
            body.to_string().into_bytes(),
        )
        .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.text);
    }
    let reply = post(
        &h,
        &format!("/hooks/gitlab/{gitlab}"),
        &[("x-gitlab-token", &token), ("x-gitlab-event", "Issue Hook")],
        body.to_string().into_bytes(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.text);
    assert_eq!(reply.body["status"], "dropped");
    assert_eq!(stored(&h, gitlab).await, 0);
    assert_eq!(jobs_of(&h, GITLAB_HOOK_KIND).await, 0);
    assert_eq!(
        counter(&h, "cairn_hooks_dropped_total", &labels).await - before,
        1.0
    );
    // Unknown connections are still 404 while disabled.
    let reply = post(
        &h,
        "/hooks/gitlab/424242",
        &[("x-gitlab-token", &token)],
        body.to_string().into_bytes(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    // Enabled again, deliveries are stored again.
    h.call(
        "PATCH",
        "/api/v1/integrations/gitlab",
        Some(&h.admin.token),
        Some(json!({"enabled": true})),
    )
    .await;
    let reply = post(
        &h,
        &format!("/hooks/gitlab/{gitlab}"),
        &[("x-gitlab-token", &token), ("x-gitlab-event", "Issue Hook")],
        body.to_string().into_bytes(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(stored(&h, gitlab).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hook_setup_shows_the_secret_once() {
    let h = Harness::new(cairn_store::Backend::Sqlite).await;
    let gitlab = h.gitlab_connection(&h.owner, "gitlab", true).await;
    let jira = jira_connection(&h, "jira").await;
    let status = hook_status(&h, gitlab).await;
    assert_eq!(status["url_path"], format!("/hooks/gitlab/{gitlab}"));
    assert_eq!(status["tracker"], "gitlab");
    assert_eq!(status["secret_set"], false);
    assert_eq!(status["deliveries_today"], 0);
    assert!(status["last_delivery_at"].is_null());
    assert!(
        status["events"]
            .as_array()
            .is_some_and(|e| e.contains(&json!("issues_events"))),
        "{status}"
    );
    let reply = h
        .call(
            "POST",
            &format!("/api/v1/connections/{gitlab}/hooks/secret"),
            Some(&h.owner.token),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let secret = reply.body["secret"].as_str().expect("secret").to_owned();
    assert!(secret.len() >= 32, "{secret}");
    assert_eq!(reply.body["url_path"], format!("/hooks/gitlab/{gitlab}"));
    assert!(reply.body["events"].is_array());
    for token in [&h.owner.token, &h.other.token, &h.admin.token] {
        let reply = h
            .call(
                "GET",
                &format!("/api/v1/connections/{gitlab}/hooks"),
                Some(token),
                None,
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        assert_eq!(reply.body["secret_set"], true);
        assert!(reply.body.get("secret").is_none());
        assert!(!reply.text.contains(&secret));
        let connection = h
            .call(
                "GET",
                &format!("/api/v1/connections/{gitlab}"),
                Some(token),
                None,
            )
            .await;
        assert!(!connection.text.contains(&secret));
    }
    let audit = h
        .call("GET", "/api/v1/audit", Some(&h.admin.token), None)
        .await;
    assert!(audit.text.contains("connection.hook_secret_created"));
    assert!(!audit.text.contains(&secret));
    let status = hook_status(&h, jira).await;
    assert_eq!(status["url_path"], format!("/hooks/jira/{jira}"));
    assert!(
        status["events"]
            .as_array()
            .is_some_and(|e| e.contains(&json!("jira:issue_updated"))),
        "{status}"
    );
}

async fn hook_applied_end_to_end(backend: cairn_store::Backend) {
    let s = gitlab_setup(backend, 2).await;
    let h = &s.h;
    let secret = hook_secret(h, s.connection).await;
    let running = Running::server_and_worker(h).await;
    let address = running.address.expect("listening");
    h.gitlab(
        "POST",
        "/projects/northwind%2Fcheckout/hooks",
        Some(
            json!({"url": format!("http://{address}/hooks/gitlab/{}", s.connection),
            "token": secret, "issues_events": true, "note_events": true, "push_events": true}),
        ),
    )
    .await;
    let before = okr(h, s.kr).await;
    assert_eq!(before["progress"]["percent"], 0.0, "{before}");
    assert_eq!(before["progress"]["status"], "behind", "{before}");
    let points_before = history(h, s.kr).await.len();
    let link = h
        .state
        .store
        .link_for_okr(s.kr)
        .await
        .expect("link")
        .expect("link");

    // The simulator closes an issue and sends its webhook; nobody refreshes.
    h.control(
        "gitlab/issues/close",
        json!({"project": PROJECT, "iid": s.iids[0]}),
    )
    .await;
    eventually("the key result moved", || async {
        percent(h, s.kr).await == 50.0
    })
    .await;
    let after = okr(h, s.kr).await;
    assert_eq!(after["progress"]["status"], "on_track", "{after}");
    let points = history(h, s.kr).await;
    assert_eq!(points.len(), points_before + 1, "{points:?}");
    assert_eq!(points[0]["percent"], 50.0);
    assert_eq!(
        points[0]["note"],
        format!("webhook: {PROJECT}#{} closed", s.iids[0])
    );
    let unchanged = h
        .state
        .store
        .get_link(link.id)
        .await
        .expect("link")
        .expect("link");
    assert_eq!(
        unchanged.last_success_at, link.last_success_at,
        "no poll ran"
    );
    // A comment and a push are received too, and change nothing.
    h.control(
        "gitlab/notes",
        json!({"project": PROJECT, "iid": s.iids[1], "body": "on it"}),
    )
    .await;
    eventually("the simulator delivered every hook", || async {
        let deliveries = h.sim.deliveries();
        deliveries.len() >= 2 && deliveries.iter().all(|d| d.status.is_some())
    })
    .await;
    assert!(
        h.sim
            .deliveries()
            .iter()
            .all(|d| d.status.is_some_and(|s| (200..300).contains(&s))),
        "{:?}",
        h.sim.deliveries()
    );
    eventually("every delivery applied", || {
        no_pending(h, s.connection, IntegrationKind::Gitlab)
    })
    .await;
    running.stop().await;

    // The hook's snapshots and numbers are the poll's: a full refresh
    // changes nothing.
    let explained = explain(h, s.kr).await;
    let items = h.state.store.link_items(link.id).await.expect("items");
    let outcome = h
        .state
        .goals
        .refresh_link(link.id, true, Utc::now())
        .await
        .expect("refresh");
    assert!(outcome.error.is_none(), "{outcome:?}");
    assert_eq!(explain(h, s.kr).await, explained);
    let polled = h.state.store.link_items(link.id).await.expect("items");
    // The comment moved its issue's update time, as GitLab's do; the poll
    // reads that, the Note Hook does not carry the issue. All else agrees.
    let commented = format!("{PROJECT}#{}", s.iids[1]);
    let timeless = |snapshots: &[cairn_core::goals::ItemSnapshot]| {
        snapshots
            .iter()
            .map(|i| {
                let mut i = i.clone();
                if i.key == commented {
                    i.updated_at = Default::default();
                }
                i
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        timeless(&polled),
        timeless(&items),
        "the same snapshots whichever way they came"
    );
    assert_eq!(history(h, s.kr).await.len(), points_before + 1);
    let status = hook_status(h, s.connection).await;
    assert!(status["deliveries_today"].as_u64() >= Some(2), "{status}");
    assert_eq!(status["failures_today"], 0, "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gitlab_closes_an_issue_and_the_key_result_moves_without_a_refresh() {
    hook_applied_end_to_end(cairn_store::Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gitlab_closes_an_issue_and_the_key_result_moves_without_a_refresh_on_postgres() {
    hook_applied_end_to_end(cairn_store::Backend::Postgres).await;
}

async fn jira_issue(h: &Harness, summary: &str) -> String {
    let response = reqwest::Client::new()
        .post(format!("{}/_sim/jira/issues", h.sim.jira_url()))
        .json(&json!({"project": "OPS", "summary": summary, "labels": ["hooked"]}))
        .send()
        .await
        .expect("simulator answers");
    assert!(response.status().is_success());
    let body: Value = response.json().await.expect("JSON");
    body["key"].as_str().expect("key").to_owned()
}

async fn jira_control(h: &Harness, path: &str, body: Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/_sim/{path}", h.sim.jira_url()))
        .json(&body)
        .send()
        .await
        .expect("simulator answers");
    assert!(response.status().is_success(), "{path}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jira_moves_a_ticket_to_done_and_the_key_result_moves_without_a_refresh() {
    let h = Harness::new(cairn_store::Backend::Sqlite).await;
    let period = period(&h).await;
    let jira = jira_connection(&h, "jira").await;
    let mut keys = Vec::new();
    for n in 0..4 {
        keys.push(jira_issue(&h, &format!("Hooked {n}")).await);
    }
    let kr = hooked_key_result(&h, period, jira).await;
    let link = h
        .state
        .store
        .link_for_okr(kr)
        .await
        .expect("link")
        .expect("link");
    let points_before = history(&h, kr).await.len();
    let secret = hook_secret(&h, jira).await;
    let running = Running::server_and_worker(&h).await;
    let address = running.address.expect("listening");
    let response = reqwest::Client::new()
        .post(format!("{}/rest/api/3/webhook", h.sim.jira_url()))
        .basic_auth(
            cairn_sim::DEFAULT_JIRA_EMAIL,
            Some(cairn_sim::DEFAULT_JIRA_API_TOKEN),
        )
        .json(&json!({"url": format!("http://{address}/hooks/jira/{jira}"), "secret": secret,
            "webhooks": [{"events": ["jira:issue_created", "jira:issue_updated", "jira:issue_deleted"],
                          "jqlFilter": "project = OPS"}]}))
        .send()
        .await
        .expect("register");
    assert!(response.status().is_success());

    // Done through the simulator's workflow; its webhook reaches Cairn.
    jira_control(
        &h,
        "jira/transition",
        json!({"key": keys[0], "status": "Done"}),
    )
    .await;
    eventually("the key result moved", || async {
        percent(&h, kr).await == 25.0
    })
    .await;
    let after = okr(&h, kr).await;
    assert_eq!(after["progress"]["status"], "on_track", "{after}");
    let points = history(&h, kr).await;
    assert_eq!(points.len(), points_before + 1, "{points:?}");
    assert!(
        points[0]["note"]
            .as_str()
            .is_some_and(|n| n.starts_with("webhook:")),
        "{points:?}"
    );
    // A new ticket the JQL matches joins; one that stops matching leaves.
    jira_issue(&h, "Hooked late").await;
    eventually("the new ticket joined", || async {
        percent(&h, kr).await == 20.0
    })
    .await;
    let api = reqwest::Client::new();
    let response = api
        .put(format!("{}/rest/api/3/issue/{}", h.sim.jira_url(), keys[1]))
        .basic_auth(
            cairn_sim::DEFAULT_JIRA_EMAIL,
            Some(cairn_sim::DEFAULT_JIRA_API_TOKEN),
        )
        .json(&json!({"update": {"labels": [{"remove": "hooked"}]}}))
        .send()
        .await
        .expect("edit");
    assert!(response.status().is_success(), "{}", response.status());
    let response = api
        .delete(format!("{}/rest/api/3/issue/{}", h.sim.jira_url(), keys[2]))
        .basic_auth(
            cairn_sim::DEFAULT_JIRA_EMAIL,
            Some(cairn_sim::DEFAULT_JIRA_API_TOKEN),
        )
        .send()
        .await
        .expect("delete");
    assert!(response.status().is_success(), "{}", response.status());
    eventually("the unlabelled and the deleted ticket left", || async {
        (percent(&h, kr).await - 100.0 / 3.0).abs() < 0.01
    })
    .await;
    let unchanged = h
        .state
        .store
        .get_link(link.id)
        .await
        .expect("link")
        .expect("link");
    assert_eq!(
        unchanged.last_success_at, link.last_success_at,
        "no poll ran"
    );
    eventually("every delivery applied", || {
        no_pending(&h, jira, IntegrationKind::Jira)
    })
    .await;
    running.stop().await;
    assert!(
        h.sim
            .deliveries()
            .iter()
            .all(|d| d.status.is_some_and(|s| (200..300).contains(&s))),
        "{:?}",
        h.sim.deliveries()
    );

    let explained = explain(&h, kr).await;
    let items = h.state.store.link_items(link.id).await.expect("items");
    let outcome = h
        .state
        .goals
        .refresh_link(link.id, true, Utc::now())
        .await
        .expect("refresh");
    assert!(outcome.error.is_none(), "{outcome:?}");
    assert_eq!(explain(&h, kr).await, explained);
    assert_eq!(
        h.state.store.link_items(link.id).await.expect("items"),
        items,
        "the same snapshots whichever way they came"
    );
    let status = hook_status(&h, jira).await;
    assert_eq!(status["failures_today"], 0, "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_lists_the_hook_endpoints() {
    let h = Harness::new(cairn_store::Backend::Sqlite).await;
    let doc = h.call("GET", "/api/openapi.json", None, None).await.body;
    for (path, method) in [
        ("/hooks/gitlab/{connection_id}", "post"),
        ("/hooks/jira/{connection_id}", "post"),
        ("/api/v1/connections/{id}/hooks", "get"),
        ("/api/v1/connections/{id}/hooks/secret", "post"),
    ] {
        let operation = &doc["paths"][path][method];
        assert!(operation.is_object(), "{path} {method}");
        assert!(operation["responses"]["200"].is_object(), "{path}");
    }
    for status in ["202", "400", "401", "404", "413"] {
        assert!(
            doc["paths"]["/hooks/gitlab/{connection_id}"]["post"]["responses"][status].is_object(),
            "{status}"
        );
    }
    let secret = doc["paths"]["/api/v1/connections/{id}/hooks/secret"]["post"]["responses"]["200"]
        ["content"]["application/json"]["schema"]["$ref"]
        .as_str()
        .and_then(|r| r.strip_prefix("#/components/schemas/"))
        .unwrap_or_default()
        .to_owned();
    // The secret's fields, and those of the setup it flattens in.
    let schema = format!(
        "{}{}",
        doc["components"]["schemas"][&secret], doc["components"]["schemas"]["HookSetupView"]
    );
    for key in ["secret", "url_path", "events"] {
        assert!(schema.contains(&format!("\"{key}\"")), "{secret}: {schema}");
    }
}

/// POST /api/v1/connections/{id}/hooks/enable as `token`, as if the
/// browser reached Cairn at `host` (the address GitLab or Jira is told).
async fn enable(h: &Harness, connection: i64, token: &str, host: Option<SocketAddr>) -> Reply {
    let mut request = Request::builder()
        .method("POST")
        .uri(format!("/api/v1/connections/{connection}/hooks/enable"))
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json");
    if let Some(host) = host {
        request = request.header("host", host.to_string());
    }
    h.send(request.body(Body::from("{}")).expect("request"))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enabling_real_time_registers_the_hook_once_and_the_simulator_then_moves_the_key_result() {
    let s = gitlab_setup(cairn_store::Backend::Sqlite, 2).await;
    let h = &s.h;
    let running = Running::server_and_worker(h).await;
    let address = running.address.expect("listening");

    // Without an address Cairn can give GitLab, nothing is registered and
    // the answer says what to do.
    let reply = enable(h, s.connection, &h.owner.token, None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["registered"], json!([]));
    assert!(
        reply.body["by_hand"][0]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("public_url")),
        "{}",
        reply.text
    );
    let secret = reply.body["secret"]
        .as_str()
        .expect("generated once")
        .to_owned();

    // A member may use the shared connection but not hook it.
    let refused = enable(h, s.connection, &h.other.token, Some(address)).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);

    let url = format!("http://{address}/hooks/gitlab/{}", s.connection);
    for action in ["created", "updated"] {
        let reply = enable(h, s.connection, &h.owner.token, Some(address)).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        assert_eq!(reply.body["url"], url);
        assert_eq!(reply.body["registered"][0]["target"], PROJECT);
        assert_eq!(
            reply.body["registered"][0]["action"], action,
            "{}",
            reply.text
        );
        assert!(
            reply.body.get("secret").is_none(),
            "the secret is shown once"
        );
        assert!(!reply.text.contains(&secret));
    }
    let hooks = h
        .gitlab("GET", "/projects/northwind%2Fcheckout/hooks", None)
        .await;
    let ours: Vec<&Value> = hooks
        .as_array()
        .expect("hooks")
        .iter()
        .filter(|hook| hook["url"] == url)
        .collect();
    assert_eq!(ours.len(), 1, "registered once: {hooks}");
    assert_eq!(ours[0]["issues_events"], true);

    // The simulator's own webhook, with the secret Cairn registered, moves
    // the key result; nobody refreshes.
    h.control(
        "gitlab/issues/close",
        json!({"project": PROJECT, "iid": s.iids[0]}),
    )
    .await;
    eventually("the key result moved", || async {
        percent(h, s.kr).await == 50.0
    })
    .await;
    let status = hook_status(h, s.connection).await;
    assert!(status["last_delivery_at"].is_string(), "{status}");
    assert!(status["deliveries_today"].as_u64().is_some_and(|n| n >= 1));
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enabling_real_time_on_jira_registers_a_signed_webhook() {
    let h = Harness::new(cairn_store::Backend::Sqlite).await;
    let jira = jira_connection(&h, "jira").await;
    let running = Running::server_and_worker(&h).await;
    let address = running.address.expect("listening");
    let reply = enable(&h, jira, &h.owner.token, Some(address)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(
        reply.body["registered"][0]["target"], "jira",
        "{}",
        reply.text
    );
    assert_eq!(
        reply.body["url"],
        format!("http://{address}/hooks/jira/{jira}")
    );
    assert_eq!(reply.body["registered"][0]["action"], "created");
    // Enabling again rewrites the webhook instead of adding a second one.
    let again = enable(&h, jira, &h.owner.token, Some(address)).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
    assert_eq!(again.body["registered"][0]["action"], "updated");
    assert_eq!(
        again.body["registered"][0]["hook_id"],
        reply.body["registered"][0]["hook_id"]
    );
    assert_eq!(h.sim.with_world(|w| w.jira.webhooks.len()), 1);
    // The simulator now signs its deliveries with the secret; Cairn accepts
    // them (a wrong signature would be a 401).
    let before = stored(&h, jira).await;
    h.control(
        "jira/issues",
        json!({"project": "OPS", "summary": "Hooked"}),
    )
    .await;
    eventually("a signed delivery was stored", || async {
        stored(&h, jira).await > before
    })
    .await;
    assert!(
        h.sim
            .deliveries()
            .iter()
            .filter(|d| d.url.contains("/hooks/jira/"))
            .all(|d| d.status == Some(200)),
        "{:?}",
        h.sim.deliveries()
    );
    running.stop().await;
}

/// An older Jira Server delivery (a workflow post-function's: no
/// `webhookEvent`, a top-level `transition`, the issue) is acted on by its
/// issue key, not stored as unreadable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jira_server_transition_delivery_is_acted_on_by_its_key() {
    let h = Harness::new(cairn_store::Backend::Sqlite).await;
    let period = period(&h).await;
    let jira = jira_connection(&h, "jira").await;
    let mut keys = Vec::new();
    for n in 0..2 {
        keys.push(jira_issue(&h, &format!("Server {n}")).await);
    }
    let kr = hooked_key_result(&h, period, jira).await;
    let running = Running::worker(&h).await;
    // Done in Jira (no webhook registered there); the delivery comes in
    // the Server format.
    jira_control(
        &h,
        "jira/transition",
        json!({"key": keys[0], "status": "Done"}),
    )
    .await;
    let body = json!({
        "timestamp": 1_733_500_000_000_i64,
        "transition": {"workflowId": 1, "workflowName": "classic", "transitionId": 31,
                       "transitionName": "Done", "from_status": "To Do", "to_status": "Done"},
        "comment": "",
        "user": {"name": "admin"},
        "issue": {"id": "1", "key": keys[0], "fields": {"summary": "Server 0"}},
    });
    let reply = post(
        &h,
        &format!("/hooks/jira/{jira}"),
        &[],
        body.to_string().into_bytes(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["status"], "accepted", "{}", reply.text);
    eventually("the key result moved", || async {
        percent(&h, kr).await == 50.0
    })
    .await;
    running.stop().await;
}
