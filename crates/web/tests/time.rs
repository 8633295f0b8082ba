//! Time (issue 17) through the HTTP API, on both backends: an admin sets up
//! the activity source (its project hooks registered with the simulator)
//! and connects people in bulk from the matches shown; a member connects
//! themselves; the simulator's own push hooks fill a person's week;
//! accepting writes a Jira worklog; bad input is refused naming the field;
//! nobody reads another member's activity (authz rows); disconnecting
//! removes activity and the hooks. Every answer is checked against the
//! OpenAPI document by the shared harness.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use cairn_core::authz::Role;
use chrono::Utc;
use common::{Harness, PASSWORD, Running, User, eventually};
use serde_json::{Value, json};

const PROJECT: &str = "northwind/checkout";

async fn both(backend: cairn_store::Backend) {
    time_through_the_api(backend).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_time_through_the_api() {
    both(cairn_store::Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_time_through_the_api() {
    both(cairn_store::Backend::Postgres).await;
}

/// A member with an API token.
async fn member(h: &Harness, email: &str, name: &str) -> User {
    let user = h
        .state
        .accounts
        .create_user(None, email, name, Role::Member, PASSWORD, Utc::now())
        .await
        .expect("user");
    let who = cairn_engine::accounts::Authenticated {
        user: user.clone(),
        session: None,
    };
    let (_, token) = h
        .state
        .accounts
        .create_api_token(&who, "tests", Utc::now())
        .await
        .expect("token");
    User {
        id: user.id,
        email: email.to_owned(),
        token: token.expose().to_owned(),
    }
}

fn sim_user(h: &Harness, username: &str) -> (u64, String) {
    h.sim.with_world(|w| {
        let u = w.gitlab.user_by_name(username).expect("sim user");
        (u.id, u.email.clone())
    })
}

async fn jira_connection(h: &Harness) -> i64 {
    let reply = h
        .call(
            "POST",
            "/api/v1/connections",
            Some(&h.admin.token),
            Some(json!({"kind": "jira", "name": "sim jira", "base_url": h.sim.jira_url(), "auth_kind": "basic",
                "username": cairn_sim::DEFAULT_JIRA_EMAIL, "secret": cairn_sim::DEFAULT_JIRA_API_TOKEN, "shared": true})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    reply.body["id"].as_i64().expect("id")
}

fn hooks_on_project(h: &Harness) -> usize {
    h.sim.with_world(|w| {
        w.gitlab
            .projects
            .iter()
            .find(|p| p.path_with_namespace == PROJECT)
            .map_or(0, |p| p.hooks.len())
    })
}

async fn week(h: &Harness, token: &str, user: i64) -> (StatusCode, Value) {
    let reply = h
        .call(
            "GET",
            &format!("/api/v1/time/people/{user}/week?day=2026-12-01"),
            Some(token),
            None,
        )
        .await;
    (reply.status, reply.body)
}

/// An admin's PUT of `body` to `path` is refused (422) naming `field`.
async fn refused_naming(h: &Harness, path: &str, body: serde_json::Value, field: &str) {
    let reply = h.call("PUT", path, Some(&h.admin.token), Some(body)).await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.text
    );
    assert_eq!(reply.body["error"]["field"], field, "{}", reply.text);
}

async fn time_through_the_api(backend: cairn_store::Backend) {
    let h = Harness::new(backend).await;
    let running = Running::server_and_worker(&h).await;
    let address = running.address.expect("address");
    let gitlab = h.gitlab_connection(&h.admin, "sim gitlab", true).await;
    let jira = jira_connection(&h).await;
    let alice = member(&h, "amartin@example.com", "Alice Martin").await;
    let bruno = member(&h, "bokafor@corp.example", "Bruno Okafor").await;

    // A member may not set up the source; bad settings name their field.
    let source = json!({"connection_id": gitlab, "jira_connection_id": jira, "enabled": true,
        "projects": [PROJECT]});
    let reply = h
        .call(
            "PUT",
            "/api/v1/time/source",
            Some(&h.owner.token),
            Some(source.clone()),
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.text);
    for (body, field) in [
        (
            json!({"connection_id": gitlab, "settings": {"rounding_minutes": 7}}),
            "rounding_minutes",
        ),
        (json!({"connection_id": jira}), "connection_id"),
        (
            json!({"connection_id": gitlab, "jira_connection_id": gitlab}),
            "jira_connection_id",
        ),
        (
            json!({"connection_id": gitlab, "projects": ["northwind/nothing"]}),
            "projects",
        ),
    ] {
        refused_naming(&h, "/api/v1/time/source", body, field).await;
    }
    let reply = h
        .call("GET", "/api/v1/time/source", Some(&h.admin.token), None)
        .await;
    assert_eq!(
        reply.status,
        StatusCode::NOT_FOUND,
        "nothing saved: {}",
        reply.text
    );

    // Development links: per GitLab connection and Jira connection; the
    // wrong kind on either side is refused naming it, nothing saved.
    for (body, field) in [
        (
            json!({"gitlab_connection_id": jira, "jira_connection_id": jira}),
            "gitlab_connection_id",
        ),
        (
            json!({"gitlab_connection_id": gitlab, "jira_connection_id": gitlab}),
            "jira_connection_id",
        ),
        (
            json!({"gitlab_connection_id": gitlab, "jira_connection_id": 424242}),
            "jira_connection_id",
        ),
    ] {
        refused_naming(&h, "/api/v1/time/dev-links", body, field).await;
    }
    let reply = h
        .call("GET", "/api/v1/time/dev-links", Some(&h.admin.token), None)
        .await;
    assert_eq!(reply.body, json!([]), "nothing saved");
    let links =
        json!({"gitlab_connection_id": gitlab, "jira_connection_id": jira, "transition": true});
    let reply = h
        .call(
            "PUT",
            "/api/v1/time/dev-links",
            Some(&h.admin.token),
            Some(links.clone()),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(
        (&reply.body["comment"], &reply.body["transition"]),
        (&json!(false), &json!(true))
    );
    let again = h
        .call(
            "PUT",
            "/api/v1/time/dev-links",
            Some(&h.admin.token),
            Some(links),
        )
        .await;
    assert_eq!(again.body["id"], reply.body["id"], "one per pair");

    // Enabling registers the project hook where GitLab reaches this Cairn.
    let request = Request::builder()
        .method("PUT")
        .uri("/api/v1/time/source")
        .header("authorization", format!("Bearer {}", h.admin.token))
        .header("content-type", "application/json")
        .header("host", address.to_string())
        .body(Body::from(source.to_string()))
        .expect("request");
    let reply = h.send(request).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["enabled"], true);
    assert_eq!(reply.body["projects"][0]["path"], PROJECT);
    assert_eq!(reply.body["registered_hooks"], 1, "{}", reply.text);
    assert_eq!(hooks_on_project(&h), 1);

    // Bulk connect: the matches first (by email, by username, none).
    let reply = h
        .call(
            "POST",
            "/api/v1/time/people/match",
            Some(&h.admin.token),
            Some(json!({"user_ids": [alice.id, bruno.id, h.other.id]})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let matched: Vec<(Value, Value)> = reply
        .body
        .as_array()
        .expect("list")
        .iter()
        .map(|m| (m["gitlab_username"].clone(), m["matched_by"].clone()))
        .collect();
    assert_eq!(
        matched,
        [
            (json!("amartin"), json!("email")),
            (json!("bokafor"), json!("username")),
            (Value::Null, Value::Null),
        ]
    );
    let (amartin, amartin_email) = sim_user(&h, "amartin");
    let (bokafor, _) = sim_user(&h, "bokafor");
    let people = json!([
        {"user_id": alice.id, "gitlab_user_id": amartin, "gitlab_username": "amartin",
         "gitlab_email": amartin_email, "time_zone": "America/Los_Angeles", "matched_by": "email"},
        {"user_id": bruno.id, "gitlab_user_id": bokafor, "gitlab_username": "bokafor",
         "time_zone": "Mars/Olympus_Mons", "matched_by": "username"},
    ]);
    let reply = h
        .call(
            "POST",
            "/api/v1/time/people",
            Some(&h.admin.token),
            Some(json!({"people": people.clone()})),
        )
        .await;
    // Nobody was connected by the refused batch.
    let listed = h
        .call("GET", "/api/v1/time/people", Some(&h.admin.token), None)
        .await;
    assert_eq!(listed.body, json!([]));
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.text
    );
    assert_eq!(
        reply.body["error"]["field"], "people[1].time_zone",
        "{}",
        reply.text
    );
    let mut people = people;
    people[1]["time_zone"] = json!("Asia/Kolkata");
    let reply = h
        .call(
            "POST",
            "/api/v1/time/people",
            Some(&h.admin.token),
            Some(json!({"people": people})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body.as_array().map(Vec::len), Some(2));

    // A member connects themselves; an account someone has is refused.
    let (crossi, _) = sim_user(&h, "crossi");
    let reply = h
        .call(
            "PUT",
            "/api/v1/time/people/me",
            Some(&h.owner.token),
            Some(json!({"gitlab_user_id": amartin, "gitlab_username": "amartin", "time_zone": "UTC"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.text);
    assert_eq!(reply.body["error"]["field"], "gitlab_user_id");
    let reply = h
        .call(
            "PUT",
            "/api/v1/time/people/me",
            Some(&h.owner.token),
            Some(
                json!({"gitlab_user_id": crossi, "gitlab_username": "crossi", "time_zone": "UTC"}),
            ),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["matched_by"], "self");

    // Alice works on OPS-1 then OPS-2 (09:00 and 13:00 in Los Angeles);
    // the simulator's own push hooks bring it in.
    for (branch, message, at) in [
        (
            "feature/OPS-1-login",
            "Add login form",
            "2026-12-01T17:00:00Z",
        ),
        ("fix/OPS-2", "Fix rounding", "2026-12-01T21:00:00Z"),
    ] {
        h.control(
            "gitlab/push",
            json!({"project": PROJECT, "as": "amartin", "branch": branch, "messages": [message],
                   "authored_at": at}),
        )
        .await;
    }
    eventually("Alice's two suggestions", || async {
        week(&h, &alice.token, alice.id).await.1["suggestions"]
            .as_array()
            .is_some_and(|s| s.len() == 2)
    })
    .await;
    let (_, alice_week) = week(&h, &alice.token, alice.id).await;
    let first = alice_week["suggestions"][0].clone();
    let second = alice_week["suggestions"][1].clone();
    assert_eq!(first["target"], "OPS-1");
    assert_eq!(first["minutes"], 30);
    assert_eq!(first["start"], "2026-12-01T16:30:00Z");
    assert_eq!(second["target"], "OPS-2");
    assert_eq!(alice_week["time_zone"], "America/Los_Angeles");
    assert_eq!(alice_week["activities"].as_array().map(Vec::len), Some(2));

    // Authz rows: nobody else reads or decides Alice's items.
    let key = first["key"].as_str().expect("key");
    let rows: Vec<(&str, String, Option<Value>, &str, StatusCode)> = vec![
        (
            "GET",
            format!("/api/v1/time/people/{}/week", alice.id),
            None,
            &bruno.token,
            StatusCode::NOT_FOUND,
        ),
        (
            "GET",
            format!("/api/v1/time/people/{}/week", alice.id),
            None,
            &h.admin.token,
            StatusCode::NOT_FOUND,
        ),
        (
            "POST",
            format!("/api/v1/time/people/{}/accept", alice.id),
            Some(json!({"key": key})),
            &bruno.token,
            StatusCode::NOT_FOUND,
        ),
        (
            "POST",
            format!("/api/v1/time/people/{}/dismiss", alice.id),
            Some(json!({"key": key})),
            &bruno.token,
            StatusCode::NOT_FOUND,
        ),
        (
            "DELETE",
            format!("/api/v1/time/people/{}", alice.id),
            None,
            &bruno.token,
            StatusCode::NOT_FOUND,
        ),
        (
            "GET",
            "/api/v1/time/people".into(),
            None,
            &bruno.token,
            StatusCode::FORBIDDEN,
        ),
        (
            "GET",
            "/api/v1/time/totals".into(),
            None,
            &bruno.token,
            StatusCode::FORBIDDEN,
        ),
        (
            "GET",
            "/api/v1/time/source".into(),
            None,
            &bruno.token,
            StatusCode::FORBIDDEN,
        ),
        (
            "DELETE",
            "/api/v1/time/source".into(),
            None,
            &bruno.token,
            StatusCode::FORBIDDEN,
        ),
        (
            "POST",
            "/api/v1/time/people/match".into(),
            Some(json!({"user_ids": [alice.id]})),
            &bruno.token,
            StatusCode::FORBIDDEN,
        ),
        (
            "POST",
            "/api/v1/time/people".into(),
            Some(json!({"people": []})),
            &bruno.token,
            StatusCode::FORBIDDEN,
        ),
        (
            "PUT",
            "/api/v1/time/people/me".into(),
            Some(
                json!({"user_id": alice.id, "gitlab_user_id": 1, "gitlab_username": "x", "time_zone": "UTC"}),
            ),
            &bruno.token,
            StatusCode::NOT_FOUND,
        ),
    ];
    for (method, path, body, token, status) in rows {
        let reply = h.call(method, &path, Some(token), body).await;
        assert_eq!(reply.status, status, "{method} {path}: {}", reply.text);
        assert!(
            !reply.text.contains("Add login form"),
            "{method} {path} leaks an item"
        );
    }
    let reply = h
        .call(
            "GET",
            &format!("/api/v1/time/people/{}/week", alice.id),
            None,
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);

    // Alice accepts the first (edited) and dismisses the second.
    let reply = h
        .call(
            "POST",
            &format!("/api/v1/time/people/{}/accept", alice.id),
            Some(&alice.token),
            Some(json!({"key": key, "minutes": 0})),
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.text
    );
    assert_eq!(reply.body["error"]["field"], "minutes");
    let reply = h
        .call(
            "POST",
            &format!("/api/v1/time/people/{}/accept", alice.id),
            Some(&alice.token),
            Some(json!({"key": key, "minutes": 45, "description": "Login form"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.body["state"], "written");
    assert_eq!(reply.body["minutes"], 45);
    let reply = h
        .call(
            "POST",
            &format!("/api/v1/time/people/{}/accept", alice.id),
            Some(&alice.token),
            Some(json!({"key": key})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.text);
    let reply = h
        .call(
            "POST",
            &format!("/api/v1/time/people/{}/dismiss", alice.id),
            Some(&alice.token),
            Some(json!({"key": second["key"]})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let (_, alice_week) = week(&h, &alice.token, alice.id).await;
    let states: Vec<&str> = alice_week["suggestions"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|s| s["state"].as_str())
        .collect();
    assert_eq!(states, ["edited", "dismissed"]);
    assert_eq!(alice_week["days"][1]["logged_minutes"], 45);
    assert_eq!(alice_week["worklogs"].as_array().map(Vec::len), Some(1));

    // Admin totals: counts per person and project, never the items.
    let reply = h
        .call(
            "GET",
            "/api/v1/time/totals?from=2026-11-30T00:00:00Z&to=2026-12-07T00:00:00Z",
            Some(&h.admin.token),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(
        reply.body["activities"],
        json!([{"user_id": alice.id, "project": PROJECT, "activities": 2}])
    );
    assert!(!reply.text.contains("OPS-1") && !reply.text.contains("login"));
    let reply = h
        .call(
            "GET",
            "/api/v1/time/totals?from=2026-12-07T00:00:00Z&to=2026-11-30T00:00:00Z",
            Some(&h.admin.token),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.body["error"]["field"], "from");

    // Alice disconnects herself: her activity goes, nobody else's link.
    let reply = h
        .call(
            "DELETE",
            &format!("/api/v1/time/people/{}", alice.id),
            Some(&alice.token),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["activities"], 2);
    assert_eq!(
        week(&h, &alice.token, alice.id).await.0,
        StatusCode::NOT_FOUND
    );
    let reply = h
        .call("GET", "/api/v1/time/people", Some(&h.admin.token), None)
        .await;
    assert_eq!(
        reply.body.as_array().map(Vec::len),
        Some(2),
        "{}",
        reply.text
    );

    // The organisation disconnects: everyone, and the hook is removed.
    let reply = h
        .call("DELETE", "/api/v1/time/source", Some(&h.admin.token), None)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["people"], 2);
    assert_eq!(hooks_on_project(&h), 0);
    let reply = h
        .call("GET", "/api/v1/time/people", Some(&h.admin.token), None)
        .await;
    assert_eq!(reply.body, json!([]));
    running.stop().await;
}
