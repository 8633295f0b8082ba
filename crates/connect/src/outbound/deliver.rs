//! Sending one notification once: to the addresses the SSRF guard checked
//! and nowhere else (no redirects, no proxy), within one total timeout,
//! with a [`DeliveryOutcome`] that says what to store, whether to retry and
//! whether the destination is gone for good. Retries are the engine's job
//! (durable, on [`cairn_core::notify::delivery_delay`]'s schedule).

use std::time::Duration;

use chrono::Utc;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use serde::Serialize;
use tokio::time::Instant;
use url::{Host, Url};

use super::destination::{DestinationPolicy, resolve_checked};
use super::{OutboundError, OutboundRequest, redacted_target};
use crate::error::scrubbed;

/// Characters of the response body kept for the delivery log.
pub const RESPONSE_EXCERPT_CHARS: usize = 1000;
/// Bytes read from a response at most (enough for the excerpt in any UTF-8).
const RESPONSE_READ_LIMIT: usize = RESPONSE_EXCERPT_CHARS * 4;

/// How the sender behaves.
#[derive(Debug, Clone)]
pub struct OutboundConfig {
    /// Time allowed for everything: DNS, connecting, sending and reading
    /// the start of the answer.
    pub timeout: Duration,
    /// The internal networks an admin allowlisted.
    pub policy: DestinationPolicy,
    /// `User-Agent` header.
    pub user_agent: String,
}

impl Default for OutboundConfig {
    fn default() -> Self {
        OutboundConfig {
            timeout: Duration::from_secs(10),
            policy: DestinationPolicy::default(),
            user_agent: concat!("Cairn/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}

/// Why a delivery failed, as a stable machine code for the delivery log
/// and the UI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryFailure {
    /// The URL is unusable (scheme, host) or its address is refused by the
    /// SSRF guard.
    RefusedDestination,
    /// The host name did not resolve.
    DnsFailure,
    /// No complete answer within the timeout.
    Timeout,
    /// Nothing accepted the connection.
    ConnectionRefused,
    /// The TLS handshake failed (certificate, protocol).
    TlsFailure,
    /// Another network failure (reset, closed connection).
    NetworkError,
    /// The request itself could not be built (a header Cairn made is invalid).
    InvalidRequest,
    /// The server answered with a status other than 2xx.
    HttpStatus,
}

impl DeliveryFailure {
    /// The stable code, e.g. `refused_destination`.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryFailure::RefusedDestination => "refused_destination",
            DeliveryFailure::DnsFailure => "dns_failure",
            DeliveryFailure::Timeout => "timeout",
            DeliveryFailure::ConnectionRefused => "connection_refused",
            DeliveryFailure::TlsFailure => "tls_failure",
            DeliveryFailure::NetworkError => "network_error",
            DeliveryFailure::InvalidRequest => "invalid_request",
            DeliveryFailure::HttpStatus => "http_status",
        }
    }
}

/// What happened to one delivery attempt, to store beside it and to
/// decide what comes next.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeliveryOutcome {
    /// Whether the server answered 2xx.
    pub success: bool,
    /// The HTTP status, when an answer arrived.
    pub status: Option<u16>,
    /// From the start of the attempt to its end.
    pub duration: Duration,
    /// The first 1,000 characters of the answer (lossy UTF-8).
    pub response_excerpt: String,
    /// When the server asked to come back (`Retry-After`, seconds or an
    /// HTTP date); combine with the schedule through
    /// [`cairn_core::notify::honour_retry_after`].
    pub retry_after: Option<Duration>,
    /// The failure's machine code; `None` on success.
    pub failure: Option<DeliveryFailure>,
    /// A one-line reason for people; `None` on success. Never contains the
    /// URL's path or query.
    pub error: Option<String>,
    /// Retrying cannot help: the hook is gone (404, 410) or the destination
    /// is refused. The engine should disable the channel and say why.
    pub permanent: bool,
}

impl DeliveryOutcome {
    fn failed(
        failure: DeliveryFailure,
        error: String,
        permanent: bool,
        duration: Duration,
    ) -> Self {
        DeliveryOutcome {
            success: false,
            status: None,
            duration,
            response_excerpt: String::new(),
            retry_after: None,
            failure: Some(failure),
            error: Some(scrubbed(error)),
            permanent,
        }
    }
}

/// An answer that arrived.
struct Answer {
    status: u16,
    reason: Option<&'static str>,
    headers: HeaderMap,
    excerpt: String,
}

/// A failure before an answer arrived.
struct Failed {
    failure: DeliveryFailure,
    error: String,
    permanent: bool,
}

impl From<OutboundError> for Failed {
    fn from(e: OutboundError) -> Self {
        let failure = match e {
            OutboundError::Dns { .. } | OutboundError::NoAddresses { .. } => {
                DeliveryFailure::DnsFailure
            }
            _ => DeliveryFailure::RefusedDestination,
        };
        Failed {
            failure,
            permanent: e.is_permanent(),
            error: e.to_string(),
        }
    }
}

/// The notification sender. Cheap to clone; holds no connection, since
/// every send connects to freshly checked addresses.
#[derive(Debug, Clone, Default)]
pub struct Outbound {
    config: OutboundConfig,
}

impl Outbound {
    pub fn new(config: OutboundConfig) -> Outbound {
        Outbound { config }
    }

    /// The configuration in force.
    pub fn config(&self) -> &OutboundConfig {
        &self.config
    }

    /// Sends a prepared request (see the format modules).
    pub async fn send(&self, url: &Url, request: &OutboundRequest) -> DeliveryOutcome {
        self.deliver(url, &request.headers, request.body.clone())
            .await
    }

    /// POSTs `body` with `headers` to `url` once. Never panics and never
    /// returns an error: every failure is an outcome to record.
    pub async fn deliver(
        &self,
        url: &Url,
        headers: &[(String, String)],
        body: Vec<u8>,
    ) -> DeliveryOutcome {
        let started = Instant::now();
        let target = redacted_target(url);
        let timeout = self.config.timeout;
        let result = tokio::time::timeout(timeout, self.attempt(url, headers, body)).await;
        let duration = started.elapsed();
        let outcome = match result {
            Err(_elapsed) => DeliveryOutcome::failed(
                DeliveryFailure::Timeout,
                format!("no answer within {}", seconds(timeout)),
                false,
                duration,
            ),
            Ok(Err(f)) => DeliveryOutcome::failed(f.failure, f.error, f.permanent, duration),
            Ok(Ok(answer)) => outcome_of(answer, duration),
        };
        if outcome.success {
            tracing::debug!(target_url = %target, status = ?outcome.status, ?duration, "notification delivered");
        } else {
            tracing::info!(
                target_url = %target,
                status = ?outcome.status,
                failure = outcome.failure.map(DeliveryFailure::as_str),
                error = outcome.error.as_deref().unwrap_or(""),
                permanent = outcome.permanent,
                "notification delivery failed"
            );
        }
        outcome
    }

    async fn attempt(
        &self,
        url: &Url,
        headers: &[(String, String)],
        body: Vec<u8>,
    ) -> Result<Answer, Failed> {
        let addrs = resolve_checked(url, &self.config.policy).await?;
        let header_map = header_map(headers)?;

        let mut builder = reqwest::Client::builder()
            .timeout(self.config.timeout)
            .user_agent(self.config.user_agent.clone())
            .redirect(reqwest::redirect::Policy::none())
            // A proxy would resolve the name itself, around the guard.
            .no_proxy()
            .referer(false);
        if let Some(Host::Domain(domain)) = url.host() {
            // Connect to the checked addresses only (no second lookup).
            builder = builder.resolve_to_addrs(domain, &addrs);
        }
        let client = builder.build().map_err(|e| Failed {
            failure: DeliveryFailure::InvalidRequest,
            error: format!(
                "the HTTP client could not be built: {}",
                error_chain(&e.without_url())
            ),
            permanent: false,
        })?;

        let mut resp = client
            .post(url.clone())
            .headers(header_map)
            .body(body)
            .send()
            .await
            .map_err(|e| classify(e, url))?;

        let status = resp.status();
        let headers = resp.headers().clone();
        let mut bytes: Vec<u8> = Vec::new();
        // Read only what the excerpt needs; a read error after the status
        // arrived does not change what the server answered.
        while bytes.len() < RESPONSE_READ_LIMIT {
            match resp.chunk().await {
                Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
                Ok(None) | Err(_) => break,
            }
        }
        Ok(Answer {
            status: status.as_u16(),
            reason: status.canonical_reason(),
            headers,
            excerpt: excerpt(&bytes),
        })
    }
}

fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0} s")
    } else {
        format!("{s:.1} s")
    }
}

/// The caller's headers, with `content-type: application/json` unless set.
fn header_map(headers: &[(String, String)]) -> Result<HeaderMap, Failed> {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        let invalid = |what: &str| Failed {
            failure: DeliveryFailure::InvalidRequest,
            error: format!("the header {what} cannot be sent"),
            permanent: false,
        };
        let name = HeaderName::from_bytes(name.trim().as_bytes())
            .map_err(|_| invalid(&format!("name `{}`", name.escape_debug())))?;
        let value =
            HeaderValue::from_str(value).map_err(|_| invalid(&format!("value of `{name}`")))?;
        map.append(name, value);
    }
    if !map.contains_key(CONTENT_TYPE) {
        map.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    Ok(map)
}

fn excerpt(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    scrubbed(
        text.chars()
            .take(RESPONSE_EXCERPT_CHARS)
            .collect::<String>(),
    )
}

fn outcome_of(answer: Answer, duration: Duration) -> DeliveryOutcome {
    let status = answer.status;
    let retry_after = crate::http::retry_after(&answer.headers, Utc::now());
    let success = (200..300).contains(&status);
    let permanent = matches!(status, 404 | 410);
    let named = match answer.reason {
        Some(reason) => format!("{status} {reason}"),
        None => status.to_string(),
    };
    let error = if success {
        None
    } else if permanent {
        Some(format!(
            "the endpoint answered {named}: the webhook no longer exists"
        ))
    } else if (300..400).contains(&status) {
        Some(format!(
            "the endpoint answered {named}, a redirect, which is not followed: use the address it redirects to"
        ))
    } else if status == 429 {
        Some(format!("the endpoint is rate limiting ({named})"))
    } else {
        Some(format!("the endpoint answered {named}"))
    };
    DeliveryOutcome {
        success,
        status: Some(status),
        duration,
        response_excerpt: answer.excerpt,
        retry_after,
        failure: (!success).then_some(DeliveryFailure::HttpStatus),
        error,
        permanent,
    }
}

/// The error and its sources, joined, without the URL.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

/// Turns a send error into a failure code and a one-line reason that
/// never contains the URL.
fn classify(e: reqwest::Error, url: &Url) -> Failed {
    let timeout = e.is_timeout();
    let connect = e.is_connect();
    let e = e.without_url();
    let chain = error_chain(&e);
    let lower = chain.to_ascii_lowercase();
    let mut io_kind = None;
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            io_kind.get_or_insert(io.kind());
        }
        source = s.source();
    }
    use std::io::ErrorKind as K;
    let host = redacted_target(url);
    let (failure, error) = if timeout || io_kind == Some(K::TimedOut) {
        (
            DeliveryFailure::Timeout,
            format!("{host} did not answer in time"),
        )
    } else if io_kind == Some(K::ConnectionRefused) {
        (
            DeliveryFailure::ConnectionRefused,
            format!("{host} refused the connection"),
        )
    } else if ["tls", "certificate", "handshake", "unknownissuer"]
        .iter()
        .any(|w| lower.contains(w))
        || (connect && url.scheme() == "https" && io_kind.is_none())
    {
        (
            DeliveryFailure::TlsFailure,
            format!("TLS with {host} failed: {}", one_line(&chain)),
        )
    } else {
        (
            DeliveryFailure::NetworkError,
            format!("sending to {host} failed: {}", one_line(&chain)),
        )
    };
    Failed {
        failure,
        error,
        permanent: false,
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_codes_are_stable() {
        assert_eq!(
            DeliveryFailure::RefusedDestination.as_str(),
            "refused_destination"
        );
        assert_eq!(
            serde_json::to_value(DeliveryFailure::TlsFailure).unwrap(),
            serde_json::json!("tls_failure")
        );
    }

    #[test]
    fn statuses_become_outcomes() {
        let answer = |status: u16, headers: HeaderMap| Answer {
            status,
            reason: reqwest::StatusCode::from_u16(status)
                .ok()
                .and_then(|s| s.canonical_reason()),
            headers,
            excerpt: "ok".into(),
        };
        let ok = outcome_of(answer(204, HeaderMap::new()), Duration::ZERO);
        assert!(ok.success && ok.error.is_none() && ok.failure.is_none() && !ok.permanent);

        let gone = outcome_of(answer(410, HeaderMap::new()), Duration::ZERO);
        assert!(!gone.success && gone.permanent);
        assert_eq!(
            gone.error.as_deref(),
            Some("the endpoint answered 410 Gone: the webhook no longer exists")
        );
        assert!(outcome_of(answer(404, HeaderMap::new()), Duration::ZERO).permanent);
        assert!(!outcome_of(answer(500, HeaderMap::new()), Duration::ZERO).permanent);

        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("120"));
        let limited = outcome_of(answer(429, h), Duration::ZERO);
        assert_eq!(limited.retry_after, Some(Duration::from_secs(120)));
        assert_eq!(limited.failure, Some(DeliveryFailure::HttpStatus));
    }

    #[test]
    fn headers_get_a_json_content_type_unless_given() {
        let map = header_map(&[("webhook-id".into(), "msg_1".into())])
            .ok()
            .unwrap();
        assert_eq!(map.get("content-type").unwrap(), "application/json");
        let map = header_map(&[("Content-Type".into(), "text/plain".into())])
            .ok()
            .unwrap();
        assert_eq!(map.get("content-type").unwrap(), "text/plain");
        assert!(header_map(&[("bad name".into(), "x".into())]).is_err());
        assert!(header_map(&[("x".into(), "line\nbreak".into())]).is_err());
    }

    #[test]
    fn excerpts_are_cut_at_characters() {
        let long = "é".repeat(1500);
        assert_eq!(excerpt(long.as_bytes()).chars().count(), 1000);
        assert_eq!(excerpt(&[0xff, b'o', b'k']), "\u{fffd}ok");
        assert_eq!(seconds(Duration::from_millis(300)), "0.3 s");
        assert_eq!(seconds(Duration::from_secs(10)), "10 s");
    }
}
