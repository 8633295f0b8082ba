//! The whole authorization matrix: every endpoint for anonymous, another
//! member, the owner and an admin.

mod common;

use axum::http::StatusCode;
use common::Harness;
use serde_json::{Value, json};

const ANON: usize = 0;

struct Row {
    method: &'static str,
    path: String,
    body: Option<Value>,
    /// Expected status for anonymous, another member, the owner, an admin.
    expect: [u16; 4],
}

fn row(
    method: &'static str,
    path: impl Into<String>,
    body: Option<Value>,
    expect: [u16; 4],
) -> Row {
    Row {
        method,
        path: path.into(),
        body,
        expect,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_for_every_kind_of_caller() {
    let h = Harness::new(cairn_store::Backend::Sqlite).await;
    let private = h
        .gitlab_connection(&h.owner, "owner's private", false)
        .await;
    let shared = h.gitlab_connection(&h.owner, "owner's shared", true).await;
    let other_id = h.other.id;
    let tokens = [
        None,
        Some(h.other.token.clone()),
        Some(h.owner.token.clone()),
        Some(h.admin.token.clone()),
    ];

    // Notification channels are the admins' (the URL does not resolve
    // here, which is allowed: it is checked again at every delivery).
    let created = h
        .call(
            "POST",
            "/api/v1/channels",
            Some(&h.admin.token),
            Some(
                json!({"name": "signed", "kind": "webhook", "url": "https://hooks.invalid/cairn"}),
            ),
        )
        .await;
    assert_eq!(created.status.as_u16(), 201, "{}", created.text);
    let channel = created.body["id"].as_i64().expect("channel");

    let rows = vec![
        row("GET", "/api/v1/channels", None, [401, 403, 403, 200]),
        row(
            "POST",
            "/api/v1/channels",
            Some(json!({"name": "chat", "kind": "slack", "url": "https://hooks.invalid/chat"})),
            [401, 403, 403, 201],
        ),
        row(
            "GET",
            format!("/api/v1/channels/{channel}"),
            None,
            [401, 403, 403, 200],
        ),
        row(
            "PATCH",
            format!("/api/v1/channels/{channel}"),
            Some(json!({"enabled": true})),
            [401, 403, 403, 200],
        ),
        row(
            "GET",
            format!("/api/v1/channels/{channel}/deliveries"),
            None,
            [401, 403, 403, 200],
        ),
        row(
            "POST",
            format!("/api/v1/channels/{channel}/rotate-secret"),
            None,
            [401, 403, 403, 200],
        ),
        row("GET", "/api/v1/channels/424242", None, [401, 403, 403, 404]),
        row("GET", "/api/v1/subscriptions", None, [401, 403, 403, 200]),
        row(
            "POST",
            "/api/v1/subscriptions",
            Some(json!({"channel_id": channel})),
            [401, 403, 403, 201],
        ),
        row(
            "DELETE",
            "/api/v1/subscriptions/424242",
            None,
            [401, 403, 403, 404],
        ),
        row("GET", "/api/v1/notices", None, [401, 403, 403, 200]),
        row(
            "POST",
            "/api/v1/notices/424242/dismiss",
            None,
            [401, 403, 403, 404],
        ),
        row("GET", "/api/v1/me", None, [401, 200, 200, 200]),
        row("GET", "/api/v1/me/tokens", None, [401, 200, 200, 200]),
        row(
            "POST",
            "/api/v1/me/tokens",
            Some(json!({"name": "laptop"})),
            [401, 201, 201, 201],
        ),
        row(
            "DELETE",
            "/api/v1/me/tokens/999",
            None,
            [401, 404, 404, 404],
        ),
        row("GET", "/api/v1/users", None, [401, 403, 403, 200]),
        row(
            "PATCH",
            format!("/api/v1/users/{other_id}"),
            Some(json!({"name": "Renamed"})),
            [401, 403, 403, 200],
        ),
        row("GET", "/api/v1/integrations", None, [401, 200, 200, 200]),
        row(
            "PATCH",
            "/api/v1/integrations/slack",
            Some(json!({"enabled": true})),
            [401, 403, 403, 200],
        ),
        row("GET", "/api/v1/audit", None, [401, 403, 403, 200]),
        row("GET", "/api/v1/connections", None, [401, 200, 200, 200]),
        row(
            "GET",
            format!("/api/v1/connections/{private}"),
            None,
            [401, 404, 200, 200],
        ),
        row(
            "GET",
            format!("/api/v1/connections/{shared}"),
            None,
            [401, 200, 200, 200],
        ),
        row(
            "PATCH",
            format!("/api/v1/connections/{private}"),
            Some(json!({"shared": false})),
            [401, 404, 200, 200],
        ),
        row(
            "PATCH",
            format!("/api/v1/connections/{shared}"),
            Some(json!({"shared": true})),
            [401, 403, 200, 200],
        ),
        row(
            "POST",
            format!("/api/v1/connections/{private}/test"),
            None,
            [401, 404, 200, 200],
        ),
        row(
            "POST",
            format!("/api/v1/connections/{shared}/test"),
            None,
            [401, 200, 200, 200],
        ),
        row(
            "GET",
            "/api/v1/connections/424242",
            None,
            [401, 404, 404, 404],
        ),
        row(
            "GET",
            format!("/api/v1/connections/{private}/hooks"),
            None,
            [401, 404, 200, 200],
        ),
        row(
            "GET",
            format!("/api/v1/connections/{shared}/hooks"),
            None,
            [401, 200, 200, 200],
        ),
        row(
            "GET",
            "/api/v1/connections/424242/hooks",
            None,
            [401, 404, 404, 404],
        ),
        row(
            "POST",
            format!("/api/v1/connections/{private}/hooks/secret"),
            None,
            [401, 404, 200, 200],
        ),
        row(
            "POST",
            format!("/api/v1/connections/{shared}/hooks/secret"),
            None,
            [401, 403, 200, 200],
        ),
        row(
            "POST",
            "/api/v1/connections/424242/hooks/secret",
            None,
            [401, 404, 404, 404],
        ),
        // Without an address for GitLab to call, the answer says what to
        // paste by hand.
        row(
            "POST",
            format!("/api/v1/connections/{private}/hooks/enable"),
            Some(json!({})),
            [401, 404, 200, 200],
        ),
        row(
            "POST",
            format!("/api/v1/connections/{shared}/hooks/enable"),
            Some(json!({})),
            [401, 403, 200, 200],
        ),
        // Webhooks ignore API tokens and sessions: only the hook secret
        // (X-Gitlab-Token) lets a delivery in.
        row(
            "POST",
            format!("/hooks/gitlab/{shared}"),
            Some(json!({"object_kind": "issue"})),
            [401, 401, 401, 401],
        ),
        row(
            "POST",
            "/hooks/gitlab/424242",
            Some(json!({"object_kind": "issue"})),
            [404, 404, 404, 404],
        ),
    ];
    for row in &rows {
        for (who, token) in tokens.iter().enumerate() {
            let reply = h
                .call(row.method, &row.path, token.as_deref(), row.body.clone())
                .await;
            assert_eq!(
                reply.status.as_u16(),
                row.expect[who],
                "{} {} as caller #{who}: {}",
                row.method,
                row.path,
                reply.text
            );
            assert!(
                reply.body["error"].is_object() || reply.status.is_success(),
                "{}",
                reply.text
            );
            if reply.status == StatusCode::NOT_FOUND {
                assert!(
                    !reply.text.contains("owner's"),
                    "a 404 reveals nothing: {}",
                    reply.text
                );
            }
        }
    }

    // Creating and deleting change state: fresh subjects for each caller.
    for (who, token) in tokens.iter().enumerate() {
        let reply = h
            .call(
                "POST",
                "/api/v1/users",
                token.as_deref(),
                Some(json!({"email": format!("new{who}@example.com"), "name": "New", "role": "member", "password": common::PASSWORD})),
            )
            .await;
        assert_eq!(
            reply.status.as_u16(),
            [401, 403, 403, 201][who],
            "create user as #{who}: {}",
            reply.text
        );

        let reply = h
            .call(
                "POST",
                "/api/v1/connections",
                token.as_deref(),
                Some(json!({"kind": "gitlab", "name": format!("mine {who}"), "auth_kind": "private_token", "secret": "glpat-x"})),
            )
            .await;
        assert_eq!(
            reply.status.as_u16(),
            [401, 201, 201, 201][who],
            "create connection as #{who}: {}",
            reply.text
        );

        for (shared, expect) in [(false, [401, 404, 204, 204]), (true, [401, 403, 204, 204])] {
            let id = h
                .gitlab_connection(&h.owner, &format!("doomed {who} {shared}"), shared)
                .await;
            let reply = h
                .call(
                    "DELETE",
                    &format!("/api/v1/connections/{id}"),
                    token.as_deref(),
                    None,
                )
                .await;
            assert_eq!(
                reply.status.as_u16(),
                expect[who],
                "delete shared={shared} as #{who}: {}",
                reply.text
            );
        }
    }

    // Lists show only what the caller may see.
    let names = |reply: common::Reply| -> Vec<String> {
        reply
            .body
            .as_array()
            .expect("list")
            .iter()
            .map(|c| c["name"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    let seen_by_other = names(
        h.call("GET", "/api/v1/connections", Some(&h.other.token), None)
            .await,
    );
    assert!(seen_by_other.contains(&"owner's shared".to_owned()));
    assert!(!seen_by_other.contains(&"owner's private".to_owned()));
    let seen_by_admin = names(
        h.call("GET", "/api/v1/connections", Some(&h.admin.token), None)
            .await,
    );
    assert!(seen_by_admin.contains(&"owner's private".to_owned()));
    let _ = ANON;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_use_shared_connections_but_never_see_secrets() {
    let h = Harness::new(cairn_store::Backend::Sqlite).await;
    let shared = h.gitlab_connection(&h.owner, "team gitlab", true).await;
    for token in [&h.other.token, &h.owner.token, &h.admin.token] {
        let reply = h
            .call(
                "GET",
                &format!("/api/v1/connections/{shared}"),
                Some(token),
                None,
            )
            .await;
        assert!(
            !reply.text.contains(cairn_sim::DEFAULT_GITLAB_TOKEN),
            "{}",
            reply.text
        );
        assert!(reply.body.get("secret").is_none());
    }
    let reply = h
        .call(
            "POST",
            &format!("/api/v1/connections/{shared}/test"),
            Some(&h.other.token),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["ok"], true, "{}", reply.text);
    assert!(
        reply.body["account_name"]
            .as_str()
            .is_some_and(|n| n.contains("root")),
        "{}",
        reply.text
    );
    assert!(reply.body["server_version"].is_string());
}

/// Admin endpoints answer 401/403 before reading the body: a bad body does
/// not turn a refusal into a complaint about the body.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_endpoints_refuse_before_reading_the_body() {
    let h = Harness::new(cairn_store::Backend::Sqlite).await;
    let bad_bodies = [json!(["p", "2027-04-01", "2027-06-30"]), json!({"x": 1})];
    for (method, path) in [
        ("POST", "/api/v1/users".to_owned()),
        ("PATCH", format!("/api/v1/users/{}", h.other.id)),
        ("POST", "/api/v1/periods".to_owned()),
        ("PATCH", "/api/v1/integrations/gitlab".to_owned()),
        ("POST", "/api/v1/channels".to_owned()),
        ("PATCH", "/api/v1/channels/1".to_owned()),
        ("POST", "/api/v1/subscriptions".to_owned()),
    ] {
        for body in &bad_bodies {
            let anonymous = h.call(method, &path, None, Some(body.clone())).await;
            assert_eq!(
                anonymous.status,
                StatusCode::UNAUTHORIZED,
                "{method} {path}: {}",
                anonymous.text
            );
            let member = h
                .call(method, &path, Some(&h.owner.token), Some(body.clone()))
                .await;
            assert_eq!(
                member.status,
                StatusCode::FORBIDDEN,
                "{method} {path}: {}",
                member.text
            );
        }
    }
    // A signed-in-only endpoint: 401 before the body too.
    let reply = h
        .call(
            "POST",
            "/api/v1/okrs",
            None,
            Some(json!(["not", "an", "okr"])),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.text);
}

async fn okr(h: &Harness, token: &str, period: i64, owner: Option<i64>) -> common::Reply {
    let mut body = json!({"kind": "objective", "title": "Owned", "period_id": period, "measure": {"mode": "percent_complete"}, "progress_source": "roll_up"});
    if let Some(owner) = owner {
        body["owner_id"] = json!(owner);
    }
    h.call("POST", "/api/v1/okrs", Some(token), Some(body))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn who_may_set_an_okrs_owner() {
    let h = Harness::new(cairn_store::Backend::Sqlite).await;
    let period = common::period(&h).await;
    // A disabled user.
    let reply = h
        .call(
            "POST",
            "/api/v1/users",
            Some(&h.admin.token),
            Some(json!({"email": "gone@example.com", "name": "Gone", "role": "member", "password": common::PASSWORD})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let gone = reply.body["id"].as_i64().expect("id");
    let reply = h
        .call(
            "PATCH",
            &format!("/api/v1/users/{gone}"),
            Some(&h.admin.token),
            Some(json!({"disabled": true})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);

    // A member creates OKRs owned by themselves only.
    let reply = okr(&h, &h.owner.token, period, Some(h.other.id)).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.text);
    let reply = okr(&h, &h.owner.token, period, Some(h.owner.id)).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let mine = reply.body["id"].as_i64().expect("id");

    // Nobody gives an OKR to a disabled user, admins included.
    let reply = okr(&h, &h.admin.token, period, Some(gone)).await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.text
    );
    assert_eq!(reply.body["error"]["field"], "owner_id");
    let hand_to = |owner: i64| json!({"kind": "objective", "title": "Owned", "period_id": period, "owner_id": owner, "measure": {"mode": "percent_complete"}, "progress_source": "roll_up"});
    let path = format!("/api/v1/okrs/{mine}");
    let reply = h
        .call("PUT", &path, Some(&h.owner.token), Some(hand_to(gone)))
        .await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.text
    );
    assert_eq!(reply.body["error"]["field"], "owner_id");
    assert_eq!(
        h.call("GET", &path, Some(&h.owner.token), None).await.body["owner_id"],
        h.owner.id,
        "unchanged"
    );

    // An admin may create for anyone active; editing keeps the owner.
    let reply = okr(&h, &h.admin.token, period, Some(h.other.id)).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let theirs = reply.body["id"].as_i64().expect("id");
    let reply = h
        .call(
            "PUT",
            &format!("/api/v1/okrs/{theirs}"),
            Some(&h.admin.token),
            Some(json!({"kind": "objective", "title": "Renamed", "period_id": period, "measure": {"mode": "percent_complete"}, "progress_source": "roll_up"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(
        reply.body["owner_id"], h.other.id,
        "an admin's edit does not take it"
    );

    // The owner hands their OKR to another active user; then it is theirs.
    let reply = h
        .call(
            "PUT",
            &path,
            Some(&h.owner.token),
            Some(hand_to(h.other.id)),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["owner_id"], h.other.id);
    let reply = h
        .call(
            "PUT",
            &path,
            Some(&h.owner.token),
            Some(hand_to(h.owner.id)),
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.text);
}
