//! Runs the connection flows with known credentials through every kind of
//! failure and checks that no error text, Debug output or diagnosis ever
//! contains a token, a password or an Authorization header value.

mod common;

use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse};
use base64::Engine;
use cairn_connect::gitlab::{GitLabAuth, GitLabSettings, test_gitlab};
use cairn_connect::jira::{JiraAuth, JiraSettings, test_jira};
use cairn_connect::{ConnectError, HttpConfig, Secret};
use cairn_sim::{JiraFlavour, SimConfig};
use common::{fast_http, serve};

const GL_TOKEN: &str = "glpat-LEAKCHECK-0123456789";
const JIRA_EMAIL: &str = "leak.check@example.com";
const JIRA_TOKEN: &str = "ATATT-LEAKCHECK-abcdef987";
const JIRA_PAT: &str = "pat-LEAKCHECK-5566778899";

fn forbidden_texts() -> Vec<String> {
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{JIRA_EMAIL}:{JIRA_TOKEN}"));
    vec![
        GL_TOKEN.into(),
        JIRA_TOKEN.into(),
        JIRA_PAT.into(),
        basic,
        "LEAKCHECK".into(),
    ]
}

fn check(label: &str, e: &ConnectError) {
    let d = e.diagnosis();
    let texts = [
        e.to_string(),
        format!("{e:?}"),
        format!("{d:?}"),
        serde_json::to_string(&d).expect("diagnosis json"),
    ];
    for text in &texts {
        for secret in forbidden_texts() {
            assert!(
                !text.contains(&secret),
                "{label}: `{secret}` leaked in: {text}"
            );
        }
    }
}

fn settings_for(base: &str, http: HttpConfig) -> (GitLabSettings, JiraSettings, JiraSettings) {
    let mut gl = GitLabSettings::new(base, GitLabAuth::PrivateToken(Secret::new(GL_TOKEN)));
    gl.http = http.clone();
    let mut cloud = JiraSettings::new(
        base,
        JiraAuth::CloudBasic {
            email: JIRA_EMAIL.into(),
            api_token: Secret::new(JIRA_TOKEN),
        },
    );
    cloud.http = http.clone();
    let mut dc = JiraSettings::new(base, JiraAuth::Pat(Secret::new(JIRA_PAT)));
    dc.http = http;
    (gl, cloud, dc)
}

async fn run_all(label: &str, base: &str, http: HttpConfig) -> usize {
    let (gl, cloud, dc) = settings_for(base, http);
    for text in [format!("{gl:?}"), format!("{cloud:?}"), format!("{dc:?}")] {
        for secret in forbidden_texts() {
            assert!(
                !text.contains(&secret),
                "{label}: settings Debug leaked: {text}"
            );
        }
    }
    let mut failures = 0;
    if let Err(e) = test_gitlab(&gl).await {
        check(&format!("{label} gitlab"), &e);
        failures += 1;
    }
    for s in [&cloud, &dc] {
        if let Err(e) = test_jira(s).await {
            check(&format!("{label} jira"), &e);
            failures += 1;
        }
    }
    failures
}

#[tokio::test]
async fn no_failure_mode_leaks_credentials() {
    // Echoes every request header back in an error body (a misbehaving proxy).
    let echo = serve(Router::new().fallback(|headers: HeaderMap| async move {
        let all: Vec<String> = headers
            .iter()
            .map(|(k, v)| format!("{k}={}", v.to_str().unwrap_or("")))
            .collect();
        let body = serde_json::json!({"message": all.join(" "), "errorMessages": [all.join(" ")]});
        (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response()
    }))
    .await;
    // Echoes the Authorization header inside an HTML page with status 200.
    let html = serve(Router::new().fallback(|headers: HeaderMap| async move {
        let auth = headers
            .get("authorization")
            .or_else(|| headers.get("private-token"))
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        Html(format!("<html><body>Welcome {auth}</body></html>"))
    }))
    .await;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let closed = format!("http://{}", listener.local_addr().expect("addr"));
    drop(listener);
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let silent_url = format!("http://{}", silent.local_addr().expect("addr"));
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = silent.accept().await {
            held.push(s);
        }
    });
    let sim = cairn_sim::start(SimConfig {
        jira_flavour: JiraFlavour::Cloud,
        ..SimConfig::default()
    })
    .await
    .expect("sim");

    let short = HttpConfig {
        request_timeout: Duration::from_millis(200),
        ..fast_http()
    };
    assert_eq!(run_all("echo", &echo, fast_http()).await, 3);
    assert_eq!(run_all("html", &html, fast_http()).await, 3);
    assert_eq!(run_all("closed", &closed, fast_http()).await, 3);
    assert_eq!(run_all("silent", &silent_url, short).await, 3);
    assert_eq!(
        run_all("tls", &echo.replacen("http://", "https://", 1), fast_http()).await,
        3
    );
    assert_eq!(
        run_all("sim gitlab", &sim.gitlab_url(), fast_http()).await,
        3
    );
    assert_eq!(run_all("sim jira", &sim.jira_url(), fast_http()).await, 3);
    let with_creds = format!("https://user:{}@gitlab.example.com", GL_TOKEN);
    assert_eq!(
        run_all("url credentials", &with_creds, fast_http()).await,
        3
    );
    sim.shutdown().await;
}
