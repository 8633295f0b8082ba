//! Runs the account and connection flows against a real `cairn serve` (with
//! debug logging) and the simulator, then searches every response body and
//! every log line for every secret used. None may appear, except an API
//! token in the one response that creates it.

use std::path::Path;

use cairn::process::ServeProcess;
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::{Value, json};

const ADMIN_PASSWORD: &str = "admin-password-Zq81x";
const MEMBER_PASSWORD: &str = "member-password-Kp27y";
const URL_PASSWORD: &str = "url-password-Wd55m";
const ROTATED_TOKEN: &str = "glpat-rotated-Hh73n";

struct Recorder {
    client: reqwest::Client,
    base: String,
    bodies: Vec<(String, String)>,
}

impl Recorder {
    async fn call(
        &mut self,
        method: &str,
        path: &str,
        headers: &HeaderMap,
        body: Option<Value>,
    ) -> (u16, HeaderMap, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut request = self
            .client
            .request(method.clone(), format!("{}{path}", self.base))
            .headers(headers.clone());
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("response");
        let status = response.status().as_u16();
        let response_headers = response.headers().clone();
        let text = response.text().await.expect("body");
        self.bodies
            .push((format!("{method} {path} -> {status}"), text.clone()));
        (
            status,
            response_headers,
            serde_json::from_str(&text).unwrap_or(Value::Null),
        )
    }
}

fn bearer(token: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {token}")).expect("header"),
    );
    headers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_a_response_or_a_log_line() {
    let sim = cairn_sim::start(cairn_sim::SimConfig::default())
        .await
        .expect("simulator");
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let server = ServeProcess::start(
        Path::new(env!("CARGO_BIN_EXE_cairn")),
        &["--data-dir", data.to_str().expect("path")],
        "debug",
        &[
            ("CAIRN_ADMIN_EMAIL", "admin@example.com"),
            ("CAIRN_ADMIN_PASSWORD", ADMIN_PASSWORD),
        ],
    )
    .await
    .expect("server");
    let mut r = Recorder {
        client: reqwest::Client::new(),
        base: format!("http://{}", server.address),
        bodies: Vec::new(),
    };
    let none = HeaderMap::new();
    let mut secrets: Vec<String> = vec![
        ADMIN_PASSWORD.into(),
        MEMBER_PASSWORD.into(),
        URL_PASSWORD.into(),
        ROTATED_TOKEN.into(),
        cairn_sim::DEFAULT_GITLAB_TOKEN.into(),
        cairn_sim::DEFAULT_JIRA_API_TOKEN.into(),
        cairn_sim::DEFAULT_JIRA_PAT.into(),
    ];
    let mut log_only: Vec<String> = Vec::new();

    // The admin signs in with a session and works through the cookie.
    let (status, headers, login) = r
        .call(
            "POST",
            "/api/v1/session",
            &none,
            Some(json!({"email": "admin@example.com", "password": ADMIN_PASSWORD})),
        )
        .await;
    assert_eq!(status, 200, "{login}");
    let cookie = headers["set-cookie"]
        .to_str()
        .expect("cookie")
        .split(';')
        .next()
        .expect("pair")
        .to_owned();
    secrets.push(cookie.trim_start_matches("cairn_session=").to_owned());
    let csrf = login["csrf_token"].as_str().expect("csrf").to_owned();
    log_only.push(csrf.clone());
    let mut admin = HeaderMap::new();
    admin.insert("cookie", HeaderValue::from_str(&cookie).expect("cookie"));
    admin.insert("x-csrf-token", HeaderValue::from_str(&csrf).expect("csrf"));

    let (status, _, _) = r
        .call("POST", "/api/v1/users", &admin, Some(json!({"email": "m@example.com", "name": "M", "role": "member", "password": MEMBER_PASSWORD})))
        .await;
    assert_eq!(status, 201);
    let (status, _, _) = r
        .call(
            "POST",
            "/api/v1/session",
            &none,
            Some(json!({"email": "m@example.com", "password": "wrong-password-1"})),
        )
        .await;
    assert_eq!(status, 401);
    let (status, _, created) = r
        .call(
            "POST",
            "/api/v1/me/tokens",
            &admin,
            Some(json!({"name": "automation"})),
        )
        .await;
    assert_eq!(status, 201);
    let api_token = created["value"].as_str().expect("token value").to_owned();
    let token_headers = bearer(&api_token);

    // Connections of every auth kind, tested against the simulator.
    let jira = sim.jira_url();
    let gitlab = sim.gitlab_url();
    let mut ids = Vec::new();
    for body in [
        json!({"kind": "gitlab", "name": "gl", "base_url": gitlab, "auth_kind": "private_token", "secret": cairn_sim::DEFAULT_GITLAB_TOKEN, "shared": true}),
        json!({"kind": "jira", "name": "cloud", "base_url": jira, "auth_kind": "basic", "username": cairn_sim::DEFAULT_JIRA_EMAIL, "secret": cairn_sim::DEFAULT_JIRA_API_TOKEN}),
        json!({"kind": "jira", "name": "dc", "base_url": jira, "auth_kind": "bearer", "secret": cairn_sim::DEFAULT_JIRA_PAT}),
    ] {
        let (status, _, created) = r
            .call("POST", "/api/v1/connections", &token_headers, Some(body))
            .await;
        assert_eq!(status, 201, "{created}");
        ids.push(created["id"].as_i64().expect("id"));
    }
    for id in &ids {
        let (status, _, outcome) = r
            .call(
                "POST",
                &format!("/api/v1/connections/{id}/test"),
                &token_headers,
                None,
            )
            .await;
        assert_eq!(status, 200);
        assert!(outcome["ok"].is_boolean(), "{outcome}");
    }
    let (_, _, outcome) = r
        .call(
            "POST",
            &format!("/api/v1/connections/{}/test", ids[0]),
            &token_headers,
            None,
        )
        .await;
    assert_eq!(outcome["ok"], true, "{outcome}");
    r.call(
        "PATCH",
        &format!("/api/v1/connections/{}", ids[0]),
        &token_headers,
        Some(json!({"secret": ROTATED_TOKEN})),
    )
    .await;
    let (_, _, failed) = r
        .call(
            "POST",
            &format!("/api/v1/connections/{}/test", ids[0]),
            &token_headers,
            None,
        )
        .await;
    assert_eq!(failed["diagnosis"]["code"], "unauthorized", "{failed}");
    let bad_url = format!("https://ops:{URL_PASSWORD}@gitlab.example.com");
    let (status, _, _) = r
        .call("POST", "/api/v1/connections", &token_headers, Some(json!({"kind": "gitlab", "name": "x", "base_url": bad_url, "auth_kind": "private_token", "secret": "glpat-whatever-1"})))
        .await;
    assert_eq!(status, 422);
    for path in [
        "/api/v1/connections",
        "/api/v1/integrations",
        "/api/v1/audit?limit=500",
        "/api/v1/me/tokens",
        "/api/v1/users",
        "/metrics",
        "/api/openapi.json",
    ] {
        r.call("GET", path, &token_headers, None).await;
    }
    for id in &ids {
        r.call(
            "GET",
            &format!("/api/v1/connections/{id}"),
            &token_headers,
            None,
        )
        .await;
    }
    r.call("DELETE", "/api/v1/session", &admin, None).await;

    let (status, lines) = server.terminate().await.expect("stop");
    assert!(status.success());
    assert!(
        lines.len() > 20,
        "debug logging was on: {} lines",
        lines.len()
    );
    sim.shutdown().await;

    for secret in &secrets {
        for (request, body) in &r.bodies {
            assert!(
                !body.contains(secret.as_str()),
                "a secret appears in the response to {request}: {body}"
            );
        }
    }
    let mut token_bodies = r
        .bodies
        .iter()
        .filter(|(_, body)| body.contains(&api_token));
    assert!(
        token_bodies
            .next()
            .is_some_and(|(req, _)| req.starts_with("POST /api/v1/me/tokens"))
    );
    assert!(
        token_bodies.next().is_none(),
        "the API token is shown once only"
    );
    secrets.push(api_token);
    for secret in secrets.iter().chain(&log_only) {
        for line in &lines {
            assert!(
                !line.contains(secret.as_str()),
                "a secret appears in a log line: {line}"
            );
        }
    }
}
