//! Helpers shared by the integration tests: small local servers.

#![allow(dead_code)]

use std::time::Duration;

use axum::Router;
use cairn_connect::HttpConfig;

/// Serves `app` on 127.0.0.1:0 and returns its base URL.
pub async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

/// An HTTP configuration for tests: short timeouts, fast backoff, no rate limit to speak of.
pub fn fast_http() -> HttpConfig {
    HttpConfig {
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(5),
        requests_per_second: 1000.0,
        burst: 100,
        max_attempts: 4,
        backoff_base: Duration::from_millis(5),
        backoff_max: Duration::from_millis(50),
        max_retry_wait: Duration::from_secs(5),
        ..HttpConfig::default()
    }
}
