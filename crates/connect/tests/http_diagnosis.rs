//! The HTTP foundation against small local servers: every diagnosis, the
//! retry rules, rate limits and the call counter.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{any, get};
use cairn_connect::gitlab::{GitLabAuth, GitLabClient, GitLabSettings, ProjectRef};
use cairn_connect::{ConnectError, DiagnosisCode, HttpConfig};
use cairn_core::secret::Secret;
use common::{fast_http, serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TOKEN: &str = "glpat-never-print-me-4711";

fn client(base: &str, http: HttpConfig) -> GitLabClient {
    let mut s = GitLabSettings::new(base, GitLabAuth::PrivateToken(Secret::new(TOKEN)));
    s.http = http;
    GitLabClient::new(&s).expect("client")
}

fn user_json() -> &'static str {
    r#"{"id":1,"username":"root","name":"Administrator","state":"active"}"#
}

fn json_response(status: StatusCode, body: &'static str) -> Response {
    (status, [("content-type", "application/json")], body).into_response()
}

fn assert_no_token(e: &ConnectError) {
    let d = e.diagnosis();
    for text in [
        e.to_string(),
        format!("{e:?}"),
        d.summary,
        d.hint,
        format!("{:?}", e.server_messages()),
    ] {
        assert!(!text.contains(TOKEN), "token leaked: {text}");
    }
}

async fn user_error(base: &str, http: HttpConfig) -> ConnectError {
    let e = client(base, http)
        .current_user()
        .await
        .expect_err("must fail");
    assert_no_token(&e);
    eprintln!("DIAG {e}");
    e
}

#[tokio::test]
async fn connection_refused_is_diagnosed() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    let e = user_error(&format!("http://127.0.0.1:{port}"), fast_http()).await;
    assert_eq!(e.code(), DiagnosisCode::ConnectionRefused, "{e}");
    assert!(e.diagnosis().summary.contains(&port.to_string()));
}

#[tokio::test]
async fn a_silent_server_times_out() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            held.push(sock);
        }
    });
    let http = HttpConfig {
        request_timeout: Duration::from_millis(300),
        ..fast_http()
    };
    let start = Instant::now();
    let e = user_error(&format!("http://{addr}"), http).await;
    assert_eq!(e.code(), DiagnosisCode::Timeout, "{e}");
    assert!(start.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn https_to_a_plain_http_server_is_a_tls_failure() {
    let base = serve(Router::new().route("/api/v4/user", get(|| async { user_json() }))).await;
    let https = base.replacen("http://", "https://", 1);
    let e = user_error(&https, fast_http()).await;
    assert_eq!(e.code(), DiagnosisCode::TlsFailure, "{e}");
}

#[tokio::test]
async fn an_unresolvable_host_is_a_dns_failure() {
    let e = user_error("https://gitlab.cairn-test.invalid", fast_http()).await;
    assert_eq!(e.code(), DiagnosisCode::DnsFailure, "{e}");
}

#[tokio::test]
async fn an_html_login_page_is_an_unexpected_response() {
    let app = Router::new().fallback(|| async {
        Html("<!DOCTYPE html><html><body><form action=/users/sign_in>Sign in</form></body></html>")
    });
    let base = serve(app).await;
    let e = user_error(&base, fast_http()).await;
    assert_eq!(e.code(), DiagnosisCode::UnexpectedResponse, "{e}");
    assert!(e.to_string().contains("an HTML page"), "{e}");
    assert!(e.diagnosis().hint.contains("base URL"));
}

#[tokio::test]
async fn json_of_the_wrong_shape_is_an_unexpected_response() {
    let app = Router::new().fallback(|| async { json_response(StatusCode::OK, r#"{"hello":1}"#) });
    let e = user_error(&serve(app).await, fast_http()).await;
    assert_eq!(e.code(), DiagnosisCode::UnexpectedResponse, "{e}");
}

#[tokio::test]
async fn auth_and_path_statuses_are_diagnosed_with_server_messages() {
    let app = Router::new()
        .route(
            "/a/api/v4/user",
            get(|| async { json_response(StatusCode::UNAUTHORIZED, r#"{"message":"401 Unauthorized"}"#) }),
        )
        .route(
            "/b/api/v4/user",
            get(|| async {
                json_response(
                    StatusCode::FORBIDDEN,
                    r#"{"error":"insufficient_scope","error_description":"The request requires higher privileges than provided by the access token.","scope":"api read_api"}"#,
                )
            }),
        )
        .fallback(|| async { json_response(StatusCode::NOT_FOUND, r#"{"error":"404 Not Found"}"#) });
    let base = serve(app).await;

    let e = user_error(&format!("{base}/a"), fast_http()).await;
    assert_eq!(e.code(), DiagnosisCode::Unauthorized);
    assert_eq!(e.server_messages(), ["401 Unauthorized"]);
    assert!(e.diagnosis().hint.contains("PRIVATE-TOKEN"));

    let e = user_error(&format!("{base}/b"), fast_http()).await;
    assert_eq!(e.code(), DiagnosisCode::Forbidden);
    assert_eq!(e.server_messages()[0], "insufficient_scope");
    assert_eq!(
        e.server_messages().last().map(String::as_str),
        Some("required scope: api read_api")
    );
    assert!(e.diagnosis().hint.contains("scope"));

    // The user typed /api/v4 twice: one is tolerated, two are not.
    let e = user_error(&format!("{base}/a/api/v4/api/v4"), fast_http()).await;
    assert_eq!(e.code(), DiagnosisCode::NotFound);
    assert!(e.diagnosis().hint.contains("/api/v4"));
    assert!(e.diagnosis().summary.contains("/a/api/v4/api/v4/user"));
}

#[tokio::test]
async fn rate_limited_then_success_is_retried_after_retry_after() {
    let hits = Arc::new(AtomicU32::new(0));
    let h = hits.clone();
    let app = Router::new().route(
        "/api/v4/user",
        get(move || {
            let h = h.clone();
            async move {
                if h.fetch_add(1, Ordering::SeqCst) == 0 {
                    (
                        StatusCode::TOO_MANY_REQUESTS,
                        [("retry-after", "1")],
                        "Retry later",
                    )
                        .into_response()
                } else {
                    json_response(StatusCode::OK, user_json())
                }
            }
        }),
    );
    let base = serve(app).await;
    let c = client(&base, fast_http());
    let start = Instant::now();
    let user = c.current_user().await.expect("retried");
    assert_eq!(user.username, "root");
    assert!(
        start.elapsed() >= Duration::from_millis(950),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    assert_eq!(c.api_calls(), 2);
}

#[tokio::test]
async fn a_retry_after_beyond_the_limit_fails_at_once_with_the_retry_time() {
    let hits = Arc::new(AtomicU32::new(0));
    let h = hits.clone();
    let app = Router::new().fallback(move || {
        h.fetch_add(1, Ordering::SeqCst);
        async {
            (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", "3600")],
                "Retry later",
            )
                .into_response()
        }
    });
    let e = user_error(&serve(app).await, fast_http()).await;
    assert_eq!(e.code(), DiagnosisCode::RateLimited);
    assert_eq!(e.retry_after(), Some(Duration::from_secs(3600)));
    assert_eq!(e.diagnosis().retry_after_secs, Some(3600));
    assert_eq!(e.server_messages(), ["Retry later"]);
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

fn flaky(fail_first: u32, status: StatusCode) -> (Router, Arc<AtomicU32>) {
    let hits = Arc::new(AtomicU32::new(0));
    let h = hits.clone();
    let app = Router::new().fallback(any(move || {
        let h = h.clone();
        async move {
            if h.fetch_add(1, Ordering::SeqCst) < fail_first {
                json_response(status, r#"{"message":"try again"}"#)
            } else {
                json_response(
                    StatusCode::CREATED,
                    r#"{"id":9,"body":"hi","system":false}"#,
                )
            }
        }
    }));
    (app, hits)
}

#[tokio::test]
async fn gateway_errors_are_retried_with_backoff_for_reads_only() {
    let (app, hits) = flaky(2, StatusCode::SERVICE_UNAVAILABLE);
    let c = client(&serve(app).await, fast_http());
    let notes = c.notes(&ProjectRef::Id(1), 2).collect_all().await;
    // The list endpoint answered an object: shape error, but only after the retries.
    assert_eq!(hits.load(Ordering::SeqCst), 3);
    assert_eq!(
        notes.expect_err("object, not list").code(),
        DiagnosisCode::UnexpectedResponse
    );

    // A POST is not resent after a 503 (it may have been applied).
    let (app, hits) = flaky(1, StatusCode::SERVICE_UNAVAILABLE);
    let c = client(&serve(app).await, fast_http());
    let e = c
        .create_note(&ProjectRef::Id(1), 2, "hi")
        .await
        .expect_err("503");
    assert_eq!(e.code(), DiagnosisCode::ServerError);
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    assert_eq!(c.api_calls(), 1);

    // A POST is resent after a 429 (not applied).
    let (app, hits) = flaky(1, StatusCode::TOO_MANY_REQUESTS);
    let c = client(&serve(app).await, fast_http());
    let note = c
        .create_note(&ProjectRef::Id(1), 2, "hi")
        .await
        .expect("note");
    assert_eq!(note.id, 9);
    assert_eq!(hits.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn retries_stop_after_the_configured_attempts() {
    let (app, hits) = flaky(100, StatusCode::BAD_GATEWAY);
    let http = HttpConfig {
        max_attempts: 3,
        ..fast_http()
    };
    let e = user_error(&serve(app).await, http).await;
    assert_eq!(e.code(), DiagnosisCode::ServerError);
    assert_eq!(e.status(), Some(502));
    assert_eq!(hits.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_reset_connection_is_retried() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let accepted = Arc::new(AtomicU32::new(0));
    let a = accepted.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let n = a.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let _ = sock.read(&mut buf).await;
                if n == 0 {
                    // Close without answering: "connection closed before message completed".
                    drop(sock);
                    return;
                }
                let body = user_json();
                let reply = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(reply.as_bytes()).await;
            });
        }
    });
    let c = client(&format!("http://{addr}"), fast_http());
    let user = c.current_user().await.expect("retried after reset");
    assert_eq!(user.username, "root");
    assert_eq!(accepted.load(Ordering::SeqCst), 2);
    assert_eq!(c.api_calls(), 2);
}

#[tokio::test]
async fn an_exhausted_rate_limit_header_pauses_the_next_request() {
    let hits = Arc::new(AtomicU32::new(0));
    let h = hits.clone();
    let app = Router::new().fallback(move || {
        let h = h.clone();
        async move {
            let n = h.fetch_add(1, Ordering::SeqCst);
            let reset = chrono::Utc::now() + chrono::Duration::milliseconds(400);
            let mut headers = HeaderMap::new();
            if n == 0 {
                headers.insert("x-ratelimit-remaining", "0".parse().expect("header"));
                headers.insert(
                    "x-ratelimit-reset",
                    reset
                        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
                        .parse()
                        .expect("header"),
                );
            }
            (headers, json_response(StatusCode::OK, user_json())).into_response()
        }
    });
    let c = client(&serve(app).await, fast_http());
    c.current_user().await.expect("first");
    let start = Instant::now();
    c.current_user().await.expect("second");
    assert!(
        start.elapsed() >= Duration::from_millis(300),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn a_far_rate_limit_reset_fails_without_sending() {
    let hits = Arc::new(AtomicU32::new(0));
    let h = hits.clone();
    let app = Router::new().fallback(move || {
        h.fetch_add(1, Ordering::SeqCst);
        async {
            let reset = (chrono::Utc::now().timestamp() + 600).to_string();
            let mut headers = HeaderMap::new();
            headers.insert("ratelimit-remaining", "0".parse().expect("header"));
            headers.insert("ratelimit-reset", reset.parse().expect("header"));
            (headers, json_response(StatusCode::OK, user_json())).into_response()
        }
    });
    let c = client(&serve(app).await, fast_http());
    c.current_user().await.expect("first");
    let e = c.current_user().await.expect_err("paused");
    assert_eq!(e.code(), DiagnosisCode::RateLimited);
    assert!(
        e.retry_after()
            .is_some_and(|d| d > Duration::from_secs(500))
    );
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    assert_eq!(c.api_calls(), 1);
}

#[tokio::test]
async fn the_request_rate_is_limited_per_connection() {
    let app = Router::new().fallback(|| async { json_response(StatusCode::OK, user_json()) });
    let base = serve(app).await;
    let http = HttpConfig {
        requests_per_second: 20.0,
        burst: 1,
        ..fast_http()
    };
    let c = client(&base, http);
    let start = Instant::now();
    for _ in 0..5 {
        c.current_user().await.expect("user");
    }
    // 5 requests at 20/s with no burst: at least 4 intervals of 50 ms.
    assert!(
        start.elapsed() >= Duration::from_millis(195),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(c.api_calls(), 5);
}

#[tokio::test]
async fn user_agent_names_cairn_and_the_token_is_sent_as_private_token() {
    let app = Router::new().fallback(|headers: HeaderMap| async move {
        let ua = headers
            .get("user-agent")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let token_ok = headers.get("private-token").and_then(|v| v.to_str().ok()) == Some(TOKEN);
        let body = format!(r#"{{"id":1,"username":"{}","name":"{}"}}"#, ua, token_ok);
        (StatusCode::OK, [("content-type", "application/json")], body).into_response()
    });
    let c = client(&serve(app).await, fast_http());
    let user = c.current_user().await.expect("user");
    assert_eq!(user.username, concat!("cairn/", env!("CARGO_PKG_VERSION")));
    assert_eq!(user.name, "true");
}

#[tokio::test]
async fn a_server_echoing_the_token_does_not_leak_it_into_errors() {
    // A misbehaving proxy that reflects the request headers in its error body.
    let app = Router::new().fallback(|headers: HeaderMap| async move {
        let token = headers
            .get("private-token")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let body = format!(r#"{{"message":"bad token {token}"}}"#);
        (
            StatusCode::BAD_REQUEST,
            [("content-type", "application/json")],
            body,
        )
            .into_response()
    });
    let e = user_error(&serve(app).await, fast_http()).await;
    assert_eq!(e.code(), DiagnosisCode::BadRequest);
    assert_eq!(e.server_messages(), ["bad token [REDACTED]"]);
}

#[tokio::test]
async fn a_cross_host_redirect_is_not_followed_with_the_token() {
    let app = Router::new().fallback(|| async {
        (
            StatusCode::FOUND,
            [(
                "location",
                "http://other-host.cairn-test.invalid/users/sign_in",
            )],
        )
            .into_response()
    });
    let e = user_error(&serve(app).await, fast_http()).await;
    assert_eq!(e.code(), DiagnosisCode::UnexpectedResponse, "{e}");
    assert!(
        e.to_string().contains("other-host.cairn-test.invalid"),
        "{e}"
    );
}
