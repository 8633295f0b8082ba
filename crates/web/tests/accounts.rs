//! Sign-in, sessions and CSRF, the login rate limit, and bad input on
//! connections: clear errors naming the field, nothing changed.

mod common;

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use common::{Harness, PASSWORD};
use serde_json::{Value, json};

fn login_request(email: &str, password: &str, from: [u8; 4], https: bool) -> Request<Body> {
    let mut request = Request::post("/api/v1/session").header("content-type", "application/json");
    if https {
        request = request.header("x-forwarded-proto", "https");
    }
    let mut request = request
        .body(Body::from(
            json!({"email": email, "password": password}).to_string(),
        ))
        .expect("request");
    request
        .extensions_mut()
        .insert(ConnectInfo(SocketAddr::from((from, 40000))));
    request
}

fn with_cookie(
    method: &str,
    path: &str,
    cookie: &str,
    csrf: Option<&str>,
    body: Option<Value>,
) -> Request<Body> {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header("cookie", cookie);
    if let Some(csrf) = csrf {
        request = request.header("x-csrf-token", csrf);
    }
    match body {
        Some(body) => request
            .header("content-type", "application/json")
            .body(Body::from(body.to_string())),
        None => request.body(Body::empty()),
    }
    .expect("request")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_cookie_and_csrf() {
    let h = Harness::new(cairn_store::Backend::Sqlite).await;
    let reply = h
        .send(login_request(
            "Owner@Example.com",
            PASSWORD,
            [10, 0, 0, 1],
            false,
        ))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let set_cookie = reply.headers["set-cookie"]
        .to_str()
        .expect("cookie")
        .to_owned();
    assert!(set_cookie.starts_with("cairn_session="));
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"),
        "{set_cookie}"
    );
    assert!(!set_cookie.contains("Secure"), "plain HTTP: {set_cookie}");
    let cookie = set_cookie.split(';').next().expect("pair").to_owned();
    let csrf = reply.body["csrf_token"].as_str().expect("csrf").to_owned();
    assert_eq!(reply.body["user"]["email"], "owner@example.com");
    assert!(reply.body["user"].get("password_hash").is_none());

    let https = h
        .send(login_request(
            "owner@example.com",
            PASSWORD,
            [10, 0, 0, 1],
            true,
        ))
        .await;
    assert!(
        https.headers["set-cookie"]
            .to_str()
            .expect("cookie")
            .contains("Secure")
    );

    // Reading needs no CSRF token; writing does.
    let me = h
        .send(with_cookie("GET", "/api/v1/me", &cookie, None, None))
        .await;
    assert_eq!(me.status, StatusCode::OK);
    let body = Some(json!({"name": "from the browser"}));
    for token in [None, Some("wrong")] {
        let reply = h
            .send(with_cookie(
                "POST",
                "/api/v1/me/tokens",
                &cookie,
                token,
                body.clone(),
            ))
            .await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.text);
        assert_eq!(reply.body["error"]["code"], "csrf_failed");
    }
    let tokens = h
        .call("GET", "/api/v1/me/tokens", Some(&h.owner.token), None)
        .await;
    assert_eq!(
        tokens.body.as_array().map(Vec::len),
        Some(1),
        "nothing was created: {}",
        tokens.text
    );
    let reply = h
        .send(with_cookie(
            "POST",
            "/api/v1/me/tokens",
            &cookie,
            Some(&csrf),
            body,
        ))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);

    // Bearer tokens carry no ambient authority and need no CSRF token.
    let reply = h
        .call(
            "POST",
            "/api/v1/me/tokens",
            Some(&h.owner.token),
            Some(json!({"name": "ci"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);

    let out = h
        .send(with_cookie(
            "DELETE",
            "/api/v1/session",
            &cookie,
            Some(&csrf),
            None,
        ))
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    let me = h
        .send(with_cookie("GET", "/api/v1/me", &cookie, None, None))
        .await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED, "the session ended");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_logins_are_rate_limited_per_account_and_address() {
    let h = Harness::new(cairn_store::Backend::Sqlite).await;
    for attempt in 1..=10 {
        let reply = h
            .send(login_request(
                "owner@example.com",
                "wrong password!",
                [10, 0, 0, 9],
                false,
            ))
            .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "attempt {attempt}");
        assert_eq!(reply.body["error"]["message"], "wrong email or password");
    }
    let reply = h
        .send(login_request(
            "owner@example.com",
            PASSWORD,
            [10, 0, 0, 9],
            false,
        ))
        .await;
    assert_eq!(
        reply.status,
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password waits"
    );
    assert_eq!(reply.body["error"]["code"], "rate_limited");
    let reply = h
        .send(login_request(
            "owner@example.com",
            PASSWORD,
            [10, 0, 0, 10],
            false,
        ))
        .await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "another address is not blocked"
    );
    let reply = h
        .send(login_request(
            "other@example.com",
            PASSWORD,
            [10, 0, 0, 9],
            false,
        ))
        .await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "another account is not blocked"
    );
    let unknown = h
        .send(login_request(
            "nobody@example.com",
            PASSWORD,
            [10, 0, 0, 9],
            false,
        ))
        .await;
    assert_eq!(
        unknown.body["error"]["message"], "wrong email or password",
        "no account enumeration"
    );
    let audit = h
        .call("GET", "/api/v1/audit?limit=100", Some(&h.admin.token), None)
        .await;
    let failures = audit
        .body
        .as_array()
        .expect("audit")
        .iter()
        .filter(|e| e["action"] == "session.failed")
        .count();
    assert_eq!(failures, 11, "failed sign-ins are audited");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_connection_input_names_the_field_and_changes_nothing() {
    let h = Harness::new(cairn_store::Backend::Sqlite).await;
    let private = h.gitlab_connection(&h.owner, "taken", false).await;
    let base = json!({"kind": "gitlab", "name": "fresh", "auth_kind": "private_token", "secret": "glpat-abc"});
    let with = |key: &str, value: Value| {
        let mut body = base.clone();
        body[key] = value;
        body
    };
    let cases = [
        (
            with("base_url", json!("gitlab.example.com")),
            422,
            "base_url",
        ),
        (
            with("base_url", json!("ftp://gitlab.example.com")),
            422,
            "base_url",
        ),
        (
            with(
                "base_url",
                json!("https://ada:hunter2hunter2@gitlab.example.com"),
            ),
            422,
            "base_url",
        ),
        (
            with("base_url", json!("https://exa mple.com")),
            422,
            "base_url",
        ),
        (with("name", json!("   ")), 422, "name"),
        (with("name", json!("x".repeat(101))), 422, "name"),
        (with("name", json!("taken")), 409, "name"),
        (with("kind", json!("github")), 422, "kind"),
        (with("kind", json!("slack")), 422, "kind"),
        (with("auth_kind", json!("password")), 422, "auth_kind"),
        (with("secret", json!("")), 422, "secret"),
        (with("shared", json!("yes")), 422, "shared"),
        (
            json!({"kind": "gitlab", "name": "n", "auth_kind": "private_token"}),
            422,
            "secret",
        ),
        (
            json!({"kind": "jira", "name": "j", "base_url": "https://x.atlassian.net", "auth_kind": "basic", "secret": "t"}),
            422,
            "username",
        ),
        (
            json!({"kind": "jira", "name": "j", "auth_kind": "bearer", "secret": "t"}),
            422,
            "base_url",
        ),
    ];
    for (body, status, field) in cases {
        let reply = h
            .call(
                "POST",
                "/api/v1/connections",
                Some(&h.owner.token),
                Some(body.clone()),
            )
            .await;
        assert_eq!(reply.status.as_u16(), status, "{body}: {}", reply.text);
        assert_eq!(
            reply.body["error"]["field"], field,
            "{body}: {}",
            reply.text
        );
        assert!(
            !reply.text.contains("hunter2hunter2"),
            "credentials never echoed: {}",
            reply.text
        );
    }
    let reply = h
        .call("POST", "/api/v1/connections", Some(&h.owner.token), None)
        .await;
    assert_eq!(reply.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let malformed = Request::post("/api/v1/connections")
        .header("authorization", format!("Bearer {}", h.owner.token))
        .header("content-type", "application/json")
        .body(Body::from("{\"kind\": "))
        .expect("request");
    assert_eq!(h.send(malformed).await.status, StatusCode::BAD_REQUEST);

    // Another member's private connection: 404, and nothing changes.
    let reply = h
        .call(
            "PATCH",
            &format!("/api/v1/connections/{private}"),
            Some(&h.other.token),
            Some(json!({"name": "mine now"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    let reply = h
        .call(
            "PATCH",
            &format!("/api/v1/connections/{private}"),
            Some(&h.owner.token),
            Some(json!({"name": ""})),
        )
        .await;
    assert_eq!(
        (reply.status.as_u16(), reply.body["error"]["field"].as_str()),
        (422, Some("name"))
    );
    let list = h
        .call("GET", "/api/v1/connections", Some(&h.admin.token), None)
        .await;
    let names: Vec<&str> = list
        .body
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(names, vec!["taken"], "nothing half-saved");

    // Users: bad email, short password, duplicate email.
    for (body, field, status) in [
        (
            json!({"email": "not-an-email", "name": "N", "role": "member", "password": PASSWORD}),
            "email",
            422,
        ),
        (
            json!({"email": "n@example.com", "name": "N", "role": "member", "password": "short"}),
            "password",
            422,
        ),
        (
            json!({"email": "n@example.com", "name": "N", "role": "boss", "password": PASSWORD}),
            "role",
            422,
        ),
        (
            json!({"email": "OWNER@example.com", "name": "N", "role": "member", "password": PASSWORD}),
            "email",
            409,
        ),
    ] {
        let reply = h
            .call(
                "POST",
                "/api/v1/users",
                Some(&h.admin.token),
                Some(body.clone()),
            )
            .await;
        assert_eq!(
            (reply.status.as_u16(), reply.body["error"]["field"].as_str()),
            (status, Some(field)),
            "{body}: {}",
            reply.text
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabling_an_integration_blocks_new_connections_and_enabling_resumes() {
    let h = Harness::new(cairn_store::Backend::Sqlite).await;
    h.gitlab_connection(&h.owner, "before", true).await;
    let reply = h
        .call(
            "PATCH",
            "/api/v1/integrations/gitlab",
            Some(&h.admin.token),
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        (
            reply.body["enabled"].as_bool(),
            reply.body["connections"].as_u64()
        ),
        (Some(false), Some(1))
    );
    let body = json!({"kind": "gitlab", "name": "during", "auth_kind": "private_token", "secret": "glpat-x"});
    let reply = h
        .call(
            "POST",
            "/api/v1/connections",
            Some(&h.owner.token),
            Some(body.clone()),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.text);
    assert_eq!(reply.body["error"]["field"], "kind");
    let list = h
        .call("GET", "/api/v1/connections", Some(&h.owner.token), None)
        .await;
    assert_eq!(
        list.body.as_array().map(Vec::len),
        Some(1),
        "nothing deleted"
    );
    h.call(
        "PATCH",
        "/api/v1/integrations/gitlab",
        Some(&h.admin.token),
        Some(json!({"enabled": true})),
    )
    .await;
    let reply = h
        .call(
            "POST",
            "/api/v1/connections",
            Some(&h.owner.token),
            Some(body),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let reply = h
        .call(
            "PATCH",
            "/api/v1/integrations/github",
            Some(&h.admin.token),
            Some(json!({"enabled": true})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    let catalog = h
        .call("GET", "/api/v1/integrations", Some(&h.other.token), None)
        .await;
    let kinds: Vec<&str> = catalog
        .body
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|i| i["kind"].as_str())
        .collect();
    assert_eq!(kinds, vec!["gitlab", "jira", "slack", "teams", "webhook"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn testing_a_connection_diagnoses_and_records_health() {
    let h = Harness::new(cairn_store::Backend::Sqlite).await;
    let create = |name: &str, base_url: String, secret: &str| json!({"kind": "gitlab", "name": name, "base_url": base_url, "auth_kind": "private_token", "secret": secret});
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let refused_url = format!("http://{}", closed.local_addr().expect("addr"));
    drop(closed);
    let cases = [
        (
            "good",
            h.sim.gitlab_url(),
            cairn_sim::DEFAULT_GITLAB_TOKEN,
            None,
        ),
        (
            "bad token",
            h.sim.gitlab_url(),
            "glpat-not-a-real-token",
            Some("unauthorized"),
        ),
        (
            "wrong path",
            format!("{}/gitlab", h.sim.gitlab_url()),
            cairn_sim::DEFAULT_GITLAB_TOKEN,
            Some("not_found"),
        ),
        (
            "refused",
            refused_url,
            cairn_sim::DEFAULT_GITLAB_TOKEN,
            Some("connection_refused"),
        ),
        (
            "no such host",
            "https://gitlab.cairn-test.invalid".to_owned(),
            cairn_sim::DEFAULT_GITLAB_TOKEN,
            Some("dns_failure"),
        ),
    ];
    for (name, url, secret, code) in cases {
        let reply = h
            .call(
                "POST",
                "/api/v1/connections",
                Some(&h.owner.token),
                Some(create(name, url, secret)),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        let id = reply.body["id"].as_i64().expect("id");
        // Tested on save: the answer carries the outcome and the health.
        let saved_as = if code.is_some() { "failing" } else { "ok" };
        assert_eq!(
            reply.body["health"]["status"], saved_as,
            "{name}: {}",
            reply.text
        );
        assert_eq!(
            reply.body["test"]["ok"],
            code.is_none(),
            "{name}: {}",
            reply.text
        );
        if let Some(code) = code {
            assert_eq!(reply.body["test"]["diagnosis"]["code"], code, "{name}");
            assert_eq!(reply.body["health"]["last_error_code"], code, "{name}");
        } else {
            assert!(
                reply.body["health"]["account_name"].is_string(),
                "{}",
                reply.text
            );
        }
        assert!(!reply.text.contains(secret), "{name}: secret leaked");
        let test = h
            .call(
                "POST",
                &format!("/api/v1/connections/{id}/test"),
                Some(&h.owner.token),
                None,
            )
            .await;
        assert_eq!(test.status, StatusCode::OK, "{}", test.text);
        let view = h
            .call(
                "GET",
                &format!("/api/v1/connections/{id}"),
                Some(&h.owner.token),
                None,
            )
            .await;
        match code {
            None => {
                assert_eq!(test.body["ok"], true, "{name}: {}", test.text);
                assert!(
                    test.body["server_version"]
                        .as_str()
                        .is_some_and(|v| !v.is_empty())
                );
                assert_eq!(view.body["health"]["status"], "ok");
                assert!(view.body["health"]["account_name"].is_string());
            }
            Some(code) => {
                assert_eq!(test.body["ok"], false, "{name}: {}", test.text);
                assert_eq!(
                    test.body["diagnosis"]["code"], code,
                    "{name}: {}",
                    test.text
                );
                assert!(
                    test.body["diagnosis"]["hint"]
                        .as_str()
                        .is_some_and(|h| !h.is_empty())
                );
                assert_eq!(view.body["health"]["status"], "failing");
                assert_eq!(view.body["health"]["last_error_code"], code);
            }
        }
        assert!(
            !test.text.contains(secret) && !view.text.contains(secret),
            "{name}: secret leaked"
        );
    }
    let catalog = h
        .call("GET", "/api/v1/integrations", Some(&h.admin.token), None)
        .await;
    let gitlab = &catalog.body.as_array().expect("list")[0];
    assert_eq!(
        (
            gitlab["connections"].as_u64(),
            gitlab["healthy"].as_u64(),
            gitlab["failing"].as_u64()
        ),
        (Some(5), Some(1), Some(4))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_trying_many_accounts_is_slowed_without_locking_them_out() {
    let h = Harness::new(cairn_store::Backend::Sqlite).await;
    let spray = [10, 0, 0, 66];
    let mut limited = None;
    for attempt in 0..40 {
        let email = format!("person{}@example.com", attempt % 12);
        let reply = h
            .send(login_request(&email, "wrong password!", spray, false))
            .await;
        if reply.status == StatusCode::TOO_MANY_REQUESTS {
            limited = Some((attempt, reply));
            break;
        }
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "attempt {attempt}");
    }
    let (attempt, reply) = limited.expect("one address trying 12 accounts is slowed");
    assert_eq!(attempt, 30, "after 30 failures a minute from one address");
    let retry_after: u64 = reply.headers["retry-after"]
        .to_str()
        .expect("text")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_eq!(reply.body["error"]["code"], "rate_limited");
    // The people themselves, elsewhere, are not locked out.
    let reply = h
        .send(login_request(
            "owner@example.com",
            PASSWORD,
            [10, 0, 0, 67],
            false,
        ))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
}
