//! The HTTP foundation every connector shares: timeouts, a user agent, a
//! per-connection request rate, retries with backoff that honour the
//! servers' `Retry-After` and rate-limit headers, an API call counter, and
//! classification of failures into [`ConnectError`]s.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use tokio::time::Instant;
use url::Url;

use cairn_core::secret::Secret;

use crate::error::{ConnectError, Service, TransportKind, scrubbed};

/// Tunables of one connection's HTTP client.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Time allowed to establish a TCP (and TLS) connection.
    pub connect_timeout: Duration,
    /// Time allowed for a whole request, body included.
    pub request_timeout: Duration,
    /// Sustained request rate of this connection (requests per second).
    pub requests_per_second: f64,
    /// Requests allowed back to back before the rate applies.
    pub burst: u32,
    /// Attempts per request, the first included (1 disables retries).
    pub max_attempts: u32,
    /// First backoff delay; doubled per attempt, with jitter.
    pub backoff_base: Duration,
    /// Longest backoff delay.
    pub backoff_max: Duration,
    /// Longest wait the client accepts from `Retry-After` or a rate-limit
    /// reset; beyond it the call fails with `rate_limited` instead of blocking.
    pub max_retry_wait: Duration,
    /// `User-Agent` header.
    pub user_agent: String,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
            requests_per_second: 10.0,
            burst: 10,
            max_attempts: 4,
            backoff_base: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            max_retry_wait: Duration::from_secs(60),
            user_agent: concat!("cairn/", env!("CARGO_PKG_VERSION")).to_string(),
        }
    }
}

/// A request rate limit (GCRA: a token bucket without a timer task).
#[derive(Debug)]
pub(crate) struct RateLimiter {
    interval: Duration,
    tolerance: Duration,
    tat: Mutex<Option<Instant>>,
}

impl RateLimiter {
    pub(crate) fn new(per_second: f64, burst: u32) -> RateLimiter {
        let interval = if per_second.is_finite() && per_second > 0.0 {
            Duration::from_secs_f64(1.0 / per_second)
        } else {
            Duration::ZERO
        };
        RateLimiter {
            interval,
            tolerance: interval * burst.max(1).saturating_sub(1),
            tat: Mutex::new(None),
        }
    }

    /// Reserves the next slot and returns how long to wait for it.
    fn reserve(&self) -> Duration {
        let now = Instant::now();
        let mut tat = self.tat.lock().unwrap_or_else(|e| e.into_inner());
        let t = tat.map_or(now, |t| t.max(now));
        let wait = t
            .saturating_duration_since(now)
            .saturating_sub(self.tolerance);
        *tat = Some(t + self.interval);
        wait
    }

    /// Waits until a request may be sent.
    pub(crate) async fn acquire(&self) {
        let wait = self.reserve();
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

/// A response that arrived with a success status.
#[derive(Debug, Clone)]
pub struct ApiResponse {
    pub(crate) service: Service,
    pub(crate) method: Method,
    /// The URL requested.
    pub url: Url,
    /// HTTP status.
    pub status: u16,
    /// Response headers.
    pub headers: HeaderMap,
    /// Raw body.
    pub body: Vec<u8>,
}

impl ApiResponse {
    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Parses the body as `T`, diagnosing HTML pages and other non-JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ConnectError> {
        if let Some(what) = non_json_body(&self.headers, &self.body) {
            return Err(self.unexpected(what, excerpt(&self.body)));
        }
        serde_json::from_slice(&self.body)
            .map_err(|e| self.unexpected("JSON of an unexpected shape", e.to_string()))
    }

    pub(crate) fn unexpected(&self, what: &str, detail: String) -> ConnectError {
        ConnectError::UnexpectedResponse {
            service: self.service,
            method: self.method.to_string(),
            url: scrubbed(self.url.as_str()),
            status: self.status,
            what: what.to_string(),
            detail: scrubbed(detail),
        }
    }
}

/// Says what the body is when it is plainly not JSON.
fn non_json_body(headers: &HeaderMap, body: &[u8]) -> Option<&'static str> {
    let ct = headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let start = body
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .map_or(&[][..], |i| &body[i..]);
    let looks_html = start.first() == Some(&b'<');
    if ct.contains("text/html") || looks_html {
        Some("an HTML page")
    } else if start.is_empty() {
        Some("an empty body")
    } else if !(matches!(start.first(), Some(b'{' | b'[')) || ct.contains("json")) {
        Some("a body that is not JSON")
    } else {
        None
    }
}

/// The first characters of a body, for error details.
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out: String = text.chars().take(160).collect();
    if text.chars().count() > 160 {
        out.push('…');
    }
    out
}

/// One request to send (rebuilt for every attempt).
#[derive(Debug, Clone)]
pub(crate) struct Req {
    pub method: Method,
    pub url: Url,
    pub body: Option<serde_json::Value>,
    /// Safe to resend after a reset or a 502/503/504 (GET, PUT, DELETE, searches).
    pub idempotent: bool,
}

impl Req {
    pub fn get(url: Url) -> Req {
        Req {
            method: Method::GET,
            url,
            body: None,
            idempotent: true,
        }
    }
    pub fn with_body(method: Method, url: Url, body: serde_json::Value) -> Req {
        let idempotent = method != Method::POST;
        Req {
            method,
            url,
            body: Some(body),
            idempotent,
        }
    }
    /// Marks a request safe to resend (e.g. a search sent as POST).
    pub fn idempotent(mut self) -> Req {
        self.idempotent = true;
        self
    }
}

/// The HTTP client of one connection. Clones share the rate limit, the
/// rate-limit gate and the call counter.
#[derive(Clone)]
pub struct HttpClient {
    inner: reqwest::Client,
    config: Arc<HttpConfig>,
    service: Service,
    auth: Option<(HeaderName, Secret)>,
    limiter: Arc<RateLimiter>,
    gate: Arc<Mutex<Option<DateTime<Utc>>>>,
    calls: Arc<AtomicU64>,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("service", &self.service)
            .field("config", &self.config)
            .field("auth", &self.auth.as_ref().map(|(name, _)| name))
            .field("calls", &self.api_calls())
            .finish()
    }
}

impl HttpClient {
    /// Builds a client; `auth` is the header sent with every request.
    pub(crate) fn new(
        service: Service,
        config: HttpConfig,
        auth: Option<(HeaderName, Secret)>,
    ) -> Result<HttpClient, ConnectError> {
        let redirects = reqwest::redirect::Policy::custom(|attempt| {
            // Follow redirects only on the same host and port: a token sent
            // in PRIVATE-TOKEN would otherwise follow to a foreign host.
            let same = attempt.previous().first().is_some_and(|first| {
                first.host_str() == attempt.url().host_str()
                    && first.port_or_known_default() == attempt.url().port_or_known_default()
            });
            if same && attempt.previous().len() < 5 {
                attempt.follow()
            } else {
                attempt.stop()
            }
        });
        let inner = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .user_agent(config.user_agent.clone())
            .redirect(redirects)
            .build()
            .map_err(|e| ConnectError::InvalidInput(scrubbed(error_chain(&e))))?;
        Ok(HttpClient {
            inner,
            limiter: Arc::new(RateLimiter::new(config.requests_per_second, config.burst)),
            config: Arc::new(config),
            service,
            auth,
            gate: Arc::new(Mutex::new(None)),
            calls: Arc::new(AtomicU64::new(0)),
        })
    }

    /// HTTP requests sent so far by this client and its clones (each retry counts).
    pub fn api_calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// The configuration in force.
    pub fn config(&self) -> &HttpConfig {
        &self.config
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .config
            .backoff_base
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let capped = exp.min(self.config.backoff_max);
        capped.mul_f64(rand::random_range(0.5..=1.0))
    }

    /// Time to wait before sending, set by a rate-limit header that hit 0.
    fn gate_wait(&self) -> Duration {
        let gate = self.gate.lock().unwrap_or_else(|e| e.into_inner());
        match *gate {
            Some(until) => (until - Utc::now()).to_std().unwrap_or(Duration::ZERO),
            None => Duration::ZERO,
        }
    }

    fn observe_rate_headers(&self, headers: &HeaderMap) {
        if let Some(until) = rate_limit_reset(headers, Utc::now()) {
            let mut gate = self.gate.lock().unwrap_or_else(|e| e.into_inner());
            if gate.is_none_or(|g| g < until) {
                tracing::debug!(service = %self.service, %until, "rate limit exhausted, pausing requests");
                *gate = Some(until);
            }
        }
    }

    fn transport_error(&self, req: &Req, e: &reqwest::Error) -> ConnectError {
        ConnectError::Transport {
            service: self.service,
            method: req.method.to_string(),
            url: scrubbed(req.url.as_str()),
            kind: classify(e, &req.url),
            detail: scrubbed(error_chain(e)),
        }
    }

    fn rate_limited_before_sending(&self, req: &Req, wait: Duration) -> ConnectError {
        ConnectError::Status {
            service: self.service,
            method: req.method.to_string(),
            url: scrubbed(req.url.as_str()),
            status: 429,
            messages: vec![format!(
                "the server's rate limit is exhausted for {} s more",
                wait.as_secs()
            )],
            retry_after: Some(wait),
        }
    }

    /// Sends a request with rate limiting and retries; error statuses become errors.
    pub(crate) async fn execute(&self, req: Req) -> Result<ApiResponse, ConnectError> {
        let max_attempts = self.config.max_attempts.max(1);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let gate = self.gate_wait();
            if gate > self.config.max_retry_wait {
                return Err(self.rate_limited_before_sending(&req, gate));
            }
            if !gate.is_zero() {
                tokio::time::sleep(gate).await;
            }
            self.limiter.acquire().await;

            let mut builder = self.inner.request(req.method.clone(), req.url.clone());
            if let Some((name, secret)) = &self.auth {
                let mut value = HeaderValue::from_str(secret.expose()).map_err(|_| {
                    ConnectError::InvalidInput(
                        "the credentials contain characters that cannot be sent in a header".into(),
                    )
                })?;
                value.set_sensitive(true);
                builder = builder.header(name.clone(), value);
            }
            builder = builder.header(reqwest::header::ACCEPT, "application/json");
            if let Some(body) = &req.body {
                builder = builder.json(body);
            }
            self.calls.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(service = %self.service, method = %req.method, url = %req.url, attempt, "request");

            let resp = match builder.send().await {
                Ok(resp) => resp,
                Err(e) => {
                    let err = self.transport_error(&req, &e);
                    let reset = matches!(
                        err,
                        ConnectError::Transport {
                            kind: TransportKind::ConnectionReset,
                            ..
                        }
                    );
                    if reset && req.idempotent && attempt < max_attempts {
                        let wait = self.backoff(attempt);
                        tracing::warn!(service = %self.service, url = %req.url, attempt, ?wait, "connection reset, retrying");
                        tokio::time::sleep(wait).await;
                        continue;
                    }
                    return Err(err);
                }
            };
            let status = resp.status();
            let headers = resp.headers().clone();
            self.observe_rate_headers(&headers);
            let retry_after = retry_after(&headers, Utc::now());

            let retryable = status == StatusCode::TOO_MANY_REQUESTS
                || (req.idempotent
                    && matches!(
                        status,
                        StatusCode::BAD_GATEWAY
                            | StatusCode::SERVICE_UNAVAILABLE
                            | StatusCode::GATEWAY_TIMEOUT
                    ));
            if retryable && attempt < max_attempts {
                let wait = retry_after
                    .or_else(|| (status == StatusCode::TOO_MANY_REQUESTS).then(|| self.gate_wait()))
                    .filter(|w| !w.is_zero() || retry_after.is_some())
                    .unwrap_or_else(|| self.backoff(attempt));
                if wait <= self.config.max_retry_wait {
                    tracing::warn!(service = %self.service, url = %req.url, status = status.as_u16(), attempt, ?wait, "retrying");
                    drop(resp);
                    tokio::time::sleep(wait).await;
                    continue;
                }
            }

            let body = match resp.bytes().await {
                Ok(b) => b.to_vec(),
                Err(e) => return Err(self.transport_error(&req, &e)),
            };
            let reply = ApiResponse {
                service: self.service,
                method: req.method.clone(),
                url: req.url.clone(),
                status: status.as_u16(),
                headers,
                body,
            };
            if status.is_success() {
                return Ok(reply);
            }
            if status.is_redirection() {
                let to = reply.header("location").unwrap_or("another address");
                let detail = format!("redirected to {to}: use that address as the base URL");
                return Err(reply.unexpected("a redirect", detail));
            }
            return Err(ConnectError::Status {
                service: self.service,
                method: req.method.to_string(),
                url: scrubbed(req.url.as_str()),
                status: status.as_u16(),
                messages: error_messages(&reply.body)
                    .into_iter()
                    .map(scrubbed)
                    .collect(),
                retry_after: retry_after.or_else(|| {
                    (status == StatusCode::TOO_MANY_REQUESTS)
                        .then(|| self.gate_wait())
                        .filter(|w| !w.is_zero())
                }),
            });
        }
    }

    /// Sends and parses the JSON answer.
    pub(crate) async fn json<T: DeserializeOwned>(&self, req: Req) -> Result<T, ConnectError> {
        self.execute(req).await?.json()
    }
}

/// The error and all its sources, joined, for diagnosis and logs.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if parts.last() != Some(&text) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

/// Classifies a transport failure by walking the error's sources.
fn classify(e: &reqwest::Error, url: &Url) -> TransportKind {
    if e.is_timeout() {
        return TransportKind::Timeout;
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    let mut io_kind = None;
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            io_kind.get_or_insert(io.kind());
        }
        source = s.source();
    }
    let chain = error_chain(e).to_ascii_lowercase();
    use std::io::ErrorKind as K;
    match io_kind {
        Some(K::TimedOut) => return TransportKind::Timeout,
        Some(K::ConnectionRefused) => return TransportKind::ConnectionRefused,
        Some(K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof)
            if !chain.contains("tls") && !chain.contains("handshake") =>
        {
            return TransportKind::ConnectionReset;
        }
        _ => {}
    }
    if chain.contains("dns error")
        || chain.contains("failed to lookup address")
        || chain.contains("name or service not known")
        || chain.contains("no such host")
    {
        return TransportKind::Dns;
    }
    let tls_words = [
        "tls",
        "certificate",
        "handshake",
        "corrupt message",
        "invalidcontenttype",
        "unknownissuer",
    ];
    if tls_words.iter().any(|w| chain.contains(w)) {
        return TransportKind::Tls;
    }
    if chain.contains("connection closed before message completed")
        || chain.contains("connection reset")
        || chain.contains("broken pipe")
    {
        return TransportKind::ConnectionReset;
    }
    if e.is_connect() && url.scheme() == "https" {
        // A connect failure past DNS and TCP on https is the handshake.
        return TransportKind::Tls;
    }
    TransportKind::Other
}

/// `Retry-After` as a wait: seconds, or an HTTP date relative to `now`.
pub(crate) fn retry_after(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let value = headers.get("retry-after")?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = DateTime::parse_from_rfc2822(value)
        .ok()?
        .with_timezone(&Utc);
    Some((when - now).to_std().unwrap_or(Duration::ZERO))
}

/// When a rate-limit header family says the budget is spent, the time it
/// refills: GitLab `RateLimit-Remaining` + `RateLimit-Reset` (epoch
/// seconds), Jira `X-RateLimit-Remaining` + `X-RateLimit-Reset` (ISO time).
pub(crate) fn rate_limit_reset(headers: &HeaderMap, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let exhausted = |name: &str| text(name).and_then(|v| v.parse::<i64>().ok()) == Some(0);
    let until = if exhausted("ratelimit-remaining") {
        let reset = text("ratelimit-reset")?;
        match reset.parse::<i64>() {
            Ok(epoch) => DateTime::from_timestamp(epoch, 0)?,
            Err(_) => parse_time(reset)?,
        }
    } else if exhausted("x-ratelimit-remaining") {
        let reset = text("x-ratelimit-reset")?;
        match parse_time(reset) {
            Some(t) => t,
            None => DateTime::from_timestamp(reset.parse::<i64>().ok()?, 0)?,
        }
    } else {
        return None;
    };
    (until > now).then_some(until)
}

/// Parses the time formats GitLab and Jira use: RFC 3339, ISO without
/// seconds (`2025-01-01T10:00Z`), Jira's `+0000` offsets, GitLab's
/// `2017-09-15 16:50:55 UTC`, and HTTP dates.
pub fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%dT%H:%M%z",
        "%Y-%m-%d %H:%M:%S %z",
        "%Y-%m-%d %H:%M:%S%.f%z",
    ] {
        if let Ok(t) = DateTime::parse_from_str(text, fmt) {
            return Some(t.with_timezone(&Utc));
        }
    }
    for (suffix, fmts) in [
        ("Z", &["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S%.f"][..]),
        (" UTC", &["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S%.f"][..]),
    ] {
        if let Some(stripped) = text.strip_suffix(suffix) {
            for fmt in fmts {
                if let Ok(t) = NaiveDateTime::parse_from_str(stripped, fmt) {
                    return Some(t.and_utc());
                }
            }
        }
    }
    DateTime::parse_from_rfc2822(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The server's error messages from a JSON error body (GitLab or Jira shapes).
pub(crate) fn error_messages(body: &[u8]) -> Vec<String> {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
        let text = excerpt(body);
        return if text.is_empty() || text.starts_with('<') {
            Vec::new()
        } else {
            vec![text]
        };
    };
    let mut out = Vec::new();
    fn push_value(out: &mut Vec<String>, prefix: Option<&str>, v: &serde_json::Value) {
        match v {
            serde_json::Value::String(s) => out.push(match prefix {
                Some(p) => format!("{p}: {s}"),
                None => s.clone(),
            }),
            serde_json::Value::Array(items) => {
                for item in items {
                    push_value(out, prefix, item);
                }
            }
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    push_value(out, Some(k), v);
                }
            }
            serde_json::Value::Null => {}
            other => out.push(other.to_string()),
        }
    }
    // Jira: {"errorMessages": [...], "errors": {"field": "msg"}}
    if let Some(m) = v.get("errorMessages") {
        push_value(&mut out, None, m);
    }
    if let Some(m) = v.get("errors") {
        push_value(&mut out, None, m);
    }
    // GitLab: {"message": "..." | {...}}, {"error": "...", "error_description": "..."}
    for key in ["message", "error", "error_description"] {
        if let Some(m) = v.get(key) {
            push_value(&mut out, None, m);
        }
    }
    // GitLab 403 insufficient_scope names the scopes that would do.
    if let Some(scope) = v.get("scope").and_then(serde_json::Value::as_str) {
        out.push(format!("required scope: {scope}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).expect("header"));
        }
        h
    }

    fn at(text: &str) -> DateTime<Utc> {
        parse_time(text).expect("time")
    }

    #[test]
    fn retry_after_accepts_seconds_and_http_dates() {
        let now = at("2026-01-01T10:00:00Z");
        assert_eq!(
            retry_after(&headers(&[("retry-after", "7")]), now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            retry_after(
                &headers(&[("retry-after", "Thu, 01 Jan 2026 10:00:30 GMT")]),
                now
            ),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            retry_after(
                &headers(&[("retry-after", "Thu, 01 Jan 2026 09:00:00 GMT")]),
                now
            ),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after(&headers(&[("retry-after", "soon")]), now), None);
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }

    #[test]
    fn gitlab_and_jira_rate_limit_headers_give_the_reset_time() {
        let now = at("2026-01-01T10:00:00Z");
        let gl = headers(&[
            ("ratelimit-remaining", "0"),
            ("ratelimit-reset", "1767261620"), // 2026-01-01T10:00:20Z
        ]);
        assert_eq!(rate_limit_reset(&gl, now), Some(at("2026-01-01T10:00:20Z")));
        let not_spent = headers(&[
            ("ratelimit-remaining", "5"),
            ("ratelimit-reset", "1767261620"),
        ]);
        assert_eq!(rate_limit_reset(&not_spent, now), None);
        let jira = headers(&[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "2026-01-01T10:01Z"),
        ]);
        assert_eq!(
            rate_limit_reset(&jira, now),
            Some(at("2026-01-01T10:01:00Z"))
        );
        let past = headers(&[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "2025-12-31T10:01Z"),
        ]);
        assert_eq!(rate_limit_reset(&past, now), None);
    }

    #[test]
    fn time_formats_of_both_services_parse() {
        let expected = at("2017-09-15T16:50:55Z");
        assert_eq!(parse_time("2017-09-15 16:50:55 UTC"), Some(expected));
        assert_eq!(parse_time("2017-09-15T16:50:55.000+0000"), Some(expected));
        assert_eq!(parse_time("2017-09-15T18:50:55.000+0200"), Some(expected));
        assert_eq!(parse_time("2017-09-15 16:50:55 +0000"), Some(expected));
        assert_eq!(parse_time("2017-09-15T16:50:55Z"), Some(expected));
        assert_eq!(parse_time("not a time"), None);
    }

    #[test]
    fn error_messages_keep_server_text() {
        let jira = br#"{"errorMessages":["Error in the JQL Query: bad (line 1, character 12)"],"errors":{"jql":"nope"}}"#;
        assert_eq!(
            error_messages(jira),
            vec![
                "Error in the JQL Query: bad (line 1, character 12)".to_string(),
                "jql: nope".to_string()
            ]
        );
        assert_eq!(
            error_messages(br#"{"message":"401 Unauthorized"}"#),
            vec!["401 Unauthorized".to_string()]
        );
        assert_eq!(
            error_messages(br#"{"message":{"title":["can't be blank"]}}"#),
            vec!["title: can't be blank".to_string()]
        );
        assert_eq!(
            error_messages(b"Retry later"),
            vec!["Retry later".to_string()]
        );
        assert!(error_messages(b"<html>x</html>").is_empty());
    }

    #[test]
    fn html_and_empty_bodies_are_not_json() {
        let html = headers(&[("content-type", "text/html; charset=utf-8")]);
        assert_eq!(
            non_json_body(&html, b"<!DOCTYPE html>"),
            Some("an HTML page")
        );
        assert_eq!(
            non_json_body(&HeaderMap::new(), b"  <html>"),
            Some("an HTML page")
        );
        assert_eq!(non_json_body(&HeaderMap::new(), b""), Some("an empty body"));
        assert_eq!(non_json_body(&HeaderMap::new(), b"{\"a\":1}"), None);
    }

    #[tokio::test(start_paused = true)]
    async fn rate_limiter_spaces_requests_after_the_burst() {
        let limiter = RateLimiter::new(10.0, 3);
        let start = Instant::now();
        for _ in 0..3 {
            limiter.acquire().await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO, "the burst passes at once");
        for _ in 0..5 {
            limiter.acquire().await;
        }
        // 5 more at 10/s after a burst of 3: the 8th slot is at 700 ms - 200 ms tolerance.
        let elapsed = start.elapsed();
        assert!(
            elapsed >= Duration::from_millis(490) && elapsed <= Duration::from_millis(510),
            "{elapsed:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn rate_limiter_refills_while_idle() {
        let limiter = RateLimiter::new(2.0, 1);
        limiter.acquire().await;
        tokio::time::advance(Duration::from_secs(5)).await;
        let start = Instant::now();
        limiter.acquire().await;
        assert_eq!(start.elapsed(), Duration::ZERO);
        limiter.acquire().await;
        assert_eq!(start.elapsed(), Duration::from_millis(500));
    }
}
