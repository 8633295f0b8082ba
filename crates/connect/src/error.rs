//! Errors of the connectors, and the diagnosis that turns each one into
//! something a person can act on ("check the base URL", "the token lacks the
//! `api` scope") with a stable machine code the UI and API can key on.
//!
//! No error ever carries a token, a password or an `Authorization` header:
//! they are never put into one, and every text is also passed through
//! [`cairn_core::secret::scrub`] when the error is built.

use std::fmt;
use std::time::Duration;

use serde::Serialize;

/// The remote system a request went to; hints differ between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Service {
    /// A GitLab instance (gitlab.com or self-managed).
    GitLab,
    /// A Jira site (Cloud, Data Center or Server).
    Jira,
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Service::GitLab => "GitLab",
            Service::Jira => "Jira",
        })
    }
}

/// Why a request failed before any HTTP answer arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TransportKind {
    /// The host name did not resolve.
    Dns,
    /// Nothing accepted the TCP connection.
    ConnectionRefused,
    /// The TLS handshake failed (wrong scheme, bad or untrusted certificate).
    Tls,
    /// Connecting or answering took longer than the configured timeout.
    Timeout,
    /// The connection was reset or closed mid-request.
    ConnectionReset,
    /// Any other network failure.
    Other,
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportKind::Dns => "DNS lookup failed",
            TransportKind::ConnectionRefused => "connection refused",
            TransportKind::Tls => "TLS handshake failed",
            TransportKind::Timeout => "timed out",
            TransportKind::ConnectionReset => "connection reset",
            TransportKind::Other => "network error",
        })
    }
}

/// Stable machine code of a diagnosis (serialised in snake_case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DiagnosisCode {
    /// The URL could not be used at all.
    MalformedUrl,
    /// The host name did not resolve.
    DnsFailure,
    /// Nothing listens at the address.
    ConnectionRefused,
    /// TLS failed.
    TlsFailure,
    /// No answer in time.
    Timeout,
    /// Another network failure (reset, closed connection).
    NetworkError,
    /// 401: the credentials were rejected.
    Unauthorized,
    /// 403: authenticated, but not allowed.
    Forbidden,
    /// 404 or 410: wrong base path, or an object that does not exist or is hidden.
    NotFound,
    /// 429: rate limited.
    RateLimited,
    /// 5xx.
    ServerError,
    /// Another 4xx, e.g. invalid JQL: the server's own message says why.
    BadRequest,
    /// The body was not the JSON expected (an HTML login page, a proxy).
    UnexpectedResponse,
    /// The caller passed arguments the connector refuses before sending.
    InvalidInput,
}

impl DiagnosisCode {
    /// The stable code, e.g. `dns_failure`.
    pub fn as_str(self) -> &'static str {
        match self {
            DiagnosisCode::MalformedUrl => "malformed_url",
            DiagnosisCode::DnsFailure => "dns_failure",
            DiagnosisCode::ConnectionRefused => "connection_refused",
            DiagnosisCode::TlsFailure => "tls_failure",
            DiagnosisCode::Timeout => "timeout",
            DiagnosisCode::NetworkError => "network_error",
            DiagnosisCode::Unauthorized => "unauthorized",
            DiagnosisCode::Forbidden => "forbidden",
            DiagnosisCode::NotFound => "not_found",
            DiagnosisCode::RateLimited => "rate_limited",
            DiagnosisCode::ServerError => "server_error",
            DiagnosisCode::BadRequest => "bad_request",
            DiagnosisCode::UnexpectedResponse => "unexpected_response",
            DiagnosisCode::InvalidInput => "invalid_input",
        }
    }
}

impl fmt::Display for DiagnosisCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What went wrong and what to check, for a connection's health display.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnosis {
    /// Stable machine code.
    pub code: DiagnosisCode,
    /// One sentence: what happened.
    pub summary: String,
    /// What a person should check or do.
    pub hint: String,
    /// When the server said to come back (rate limits).
    pub retry_after_secs: Option<u64>,
}

/// A failed connector call.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// A base URL (or a URL built from it) is unusable.
    #[error("invalid URL `{input}`: {reason}")]
    MalformedUrl {
        /// The URL as given, with any credentials removed.
        input: String,
        /// What is wrong with it.
        reason: String,
    },
    /// No HTTP answer: DNS, TCP, TLS, timeout.
    #[error("{service} {method} {url}: {kind}: {detail}")]
    Transport {
        /// Where the request went.
        service: Service,
        /// HTTP method.
        method: String,
        /// Request URL (never holds credentials).
        url: String,
        /// Classified cause.
        kind: TransportKind,
        /// The underlying error chain, for logs.
        detail: String,
    },
    /// The server answered with an error status.
    #[error("{service} {method} {url} answered {status}{}", messages_suffix(.messages))]
    Status {
        /// Where the request went.
        service: Service,
        /// HTTP method.
        method: String,
        /// Request URL.
        url: String,
        /// HTTP status code.
        status: u16,
        /// The server's own error messages (GitLab `message`/`error`, Jira `errorMessages`/`errors`), intact.
        messages: Vec<String>,
        /// `Retry-After` or the rate-limit reset, when given.
        retry_after: Option<Duration>,
    },
    /// The server answered, but not with the JSON expected.
    #[error("{service} {method} {url} answered {status} with {what}: {detail}")]
    UnexpectedResponse {
        /// Where the request went.
        service: Service,
        /// HTTP method.
        method: String,
        /// Request URL.
        url: String,
        /// HTTP status code.
        status: u16,
        /// Short description of the body ("an HTML page", "invalid JSON").
        what: String,
        /// Parser error or a short excerpt.
        detail: String,
    },
    /// Arguments refused before sending anything.
    #[error("invalid input: {0}")]
    InvalidInput(String),
}

fn messages_suffix(messages: &[String]) -> String {
    if messages.is_empty() {
        String::new()
    } else {
        format!(": {}", messages.join("; "))
    }
}

/// Replaces registered secrets in `text` (see [`cairn_core::secret`]).
pub(crate) fn scrubbed(text: impl Into<String>) -> String {
    let text = text.into();
    cairn_core::secret::scrub(&text).unwrap_or(text)
}

/// Removes `user:password@` from a URL-like string, for error messages.
pub(crate) fn redact_userinfo(input: &str) -> String {
    let Some(scheme_end) = input.find("://") else {
        return scrubbed(input);
    };
    let rest = &input[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    match authority.rfind('@') {
        Some(at) => scrubbed(format!(
            "{}://***@{}",
            &input[..scheme_end],
            &rest[at + 1..]
        )),
        None => scrubbed(input),
    }
}

impl ConnectError {
    /// A malformed-URL error; credentials in `input` are removed.
    pub(crate) fn malformed_url(input: &str, reason: impl Into<String>) -> ConnectError {
        ConnectError::MalformedUrl {
            input: redact_userinfo(input),
            reason: scrubbed(reason),
        }
    }

    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            ConnectError::Status { status, .. }
            | ConnectError::UnexpectedResponse { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The server's own error messages (empty when it gave none).
    pub fn server_messages(&self) -> &[String] {
        match self {
            ConnectError::Status { messages, .. } => messages,
            _ => &[],
        }
    }

    /// When the server said to retry, if it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ConnectError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The stable machine code of this failure.
    pub fn code(&self) -> DiagnosisCode {
        match self {
            ConnectError::MalformedUrl { .. } => DiagnosisCode::MalformedUrl,
            ConnectError::Transport { kind, .. } => match kind {
                TransportKind::Dns => DiagnosisCode::DnsFailure,
                TransportKind::ConnectionRefused => DiagnosisCode::ConnectionRefused,
                TransportKind::Tls => DiagnosisCode::TlsFailure,
                TransportKind::Timeout => DiagnosisCode::Timeout,
                TransportKind::ConnectionReset | TransportKind::Other => {
                    DiagnosisCode::NetworkError
                }
            },
            ConnectError::Status { status, .. } => match status {
                401 => DiagnosisCode::Unauthorized,
                403 => DiagnosisCode::Forbidden,
                404 | 410 => DiagnosisCode::NotFound,
                429 => DiagnosisCode::RateLimited,
                500..=599 => DiagnosisCode::ServerError,
                _ => DiagnosisCode::BadRequest,
            },
            ConnectError::UnexpectedResponse { .. } => DiagnosisCode::UnexpectedResponse,
            ConnectError::InvalidInput(_) => DiagnosisCode::InvalidInput,
        }
    }

    fn service(&self) -> Option<Service> {
        match self {
            ConnectError::Transport { service, .. }
            | ConnectError::Status { service, .. }
            | ConnectError::UnexpectedResponse { service, .. } => Some(*service),
            _ => None,
        }
    }

    fn host(&self) -> String {
        let url = match self {
            ConnectError::Transport { url, .. }
            | ConnectError::Status { url, .. }
            | ConnectError::UnexpectedResponse { url, .. } => url.as_str(),
            ConnectError::MalformedUrl { input, .. } => input.as_str(),
            ConnectError::InvalidInput(_) => "",
        };
        url::Url::parse(url)
            .ok()
            .and_then(|u| {
                let host = u.host_str()?.to_string();
                Some(match u.port_or_known_default() {
                    Some(p) => format!("{host}:{p}"),
                    None => host,
                })
            })
            .unwrap_or_else(|| "the server".to_string())
    }

    /// What happened and what to check, for people.
    pub fn diagnosis(&self) -> Diagnosis {
        let code = self.code();
        let service = self.service();
        let name = service.map_or("the server".to_string(), |s| s.to_string());
        let host = self.host();
        let (summary, hint) = match code {
            DiagnosisCode::MalformedUrl => (
                self.to_string(),
                "Enter the address as shown in the browser, e.g. https://gitlab.example.com or https://example.atlassian.net, with no user name or password in it.".to_string(),
            ),
            DiagnosisCode::DnsFailure => (
                format!("The host name of {host} could not be resolved."),
                "Check the spelling of the host name, and that this server's DNS can resolve it (internal names need the internal DNS or a hosts entry).".to_string(),
            ),
            DiagnosisCode::ConnectionRefused => (
                format!("Nothing accepted a connection at {host}."),
                format!("Check the port in the URL, that {name} is running, and that no firewall blocks this server."),
            ),
            DiagnosisCode::TlsFailure => (
                format!("The TLS (HTTPS) handshake with {host} failed."),
                "Check the scheme (http:// or https://) matches what the server speaks, and that its certificate is valid for this host name and signed by a certificate authority this server trusts (install the CA of a private certificate).".to_string(),
            ),
            DiagnosisCode::Timeout => (
                format!("{name} at {host} did not answer in time."),
                "Check network access from this server (firewall, proxy, VPN) and whether the server is overloaded; a very large query may also need to be narrowed.".to_string(),
            ),
            DiagnosisCode::NetworkError => (
                format!("The connection to {host} failed."),
                "The connection was reset or closed; check proxies and load balancers between this server and the remote, then retry.".to_string(),
            ),
            DiagnosisCode::Unauthorized => (
                format!("{name} rejected the credentials (401)."),
                match service {
                    Some(Service::GitLab) => "Check the token is correct, not expired or revoked, and of the right kind: personal, project or group access tokens are sent as PRIVATE-TOKEN, OAuth tokens as Bearer (they expire after 2 hours).".to_string(),
                    _ => "Check the credentials: Jira Cloud needs the account's email and an API token (not the password); Data Center needs a personal access token; the account must be active.".to_string(),
                },
            ),
            DiagnosisCode::Forbidden => (
                format!("{name} accepted the credentials but refused the request (403)."),
                match service {
                    Some(Service::GitLab) => "The token lacks a scope or permission: it needs the `api` scope (or `read_api` for read-only use), and its user needs at least Reporter access (Maintainer to manage webhooks).".to_string(),
                    _ => "The account lacks a permission: Browse Projects to read issues, Work On Issues to log work, Administer Jira to register webhooks.".to_string(),
                },
            ),
            DiagnosisCode::NotFound => (
                format!("{name} answered {} for {}.", self.status().unwrap_or(404), self.path()),
                match service {
                    Some(Service::GitLab) => "Check the base URL: it is the GitLab address (with its relative root, if any, e.g. https://example.com/gitlab) and Cairn adds /api/v4 itself; a doubled or missing /api/v4 gives 404. GitLab also answers 404 for a project or issue the token cannot see.".to_string(),
                    _ => "Check the site URL, including any context path (e.g. https://jira.example.com/jira), and that the project or issue exists and is visible to this account.".to_string(),
                },
            ),
            DiagnosisCode::RateLimited => (
                match self.retry_after() {
                    Some(d) => format!("{name} rate-limited the requests; retry in {} s.", d.as_secs().max(1)),
                    None => format!("{name} rate-limited the requests."),
                },
                "Lower this connection's request rate or refresh less often; the limit is per user or token on the server.".to_string(),
            ),
            DiagnosisCode::ServerError => (
                format!("{name} failed with {}.", self.status().unwrap_or(500)),
                "A server-side error, usually temporary (maintenance, overload, a proxy in front of it): retry later and check the server's status page or logs.".to_string(),
            ),
            DiagnosisCode::BadRequest => (
                format!("{name} refused the request ({}).", self.status().unwrap_or(400)),
                match self.server_messages() {
                    [] => "Check the query and its parameters.".to_string(),
                    m => format!("The server said: {}", m.join("; ")),
                },
            ),
            DiagnosisCode::UnexpectedResponse => (
                match self {
                    ConnectError::UnexpectedResponse { what, .. } => format!("{name} answered with {what} instead of the expected JSON."),
                    _ => format!("{name} answered something unexpected."),
                },
                "Usually a wrong base URL or a proxy: check the URL points at the GitLab or Jira itself (not a login page, portal or SSO proxy) and that API requests are not intercepted.".to_string(),
            ),
            DiagnosisCode::InvalidInput => (self.to_string(), "Fix the request's arguments.".to_string()),
        };
        let summary = match (code, self.server_messages()) {
            (DiagnosisCode::BadRequest | DiagnosisCode::InvalidInput, _) | (_, []) => summary,
            (_, messages) => format!("{summary} The server said: {}", messages.join("; ")),
        };
        Diagnosis {
            code,
            summary: scrubbed(summary),
            hint: scrubbed(hint),
            retry_after_secs: self.retry_after().map(|d| d.as_secs()),
        }
    }

    fn path(&self) -> String {
        match self {
            ConnectError::Status { url, .. } | ConnectError::UnexpectedResponse { url, .. } => {
                url::Url::parse(url)
                    .map(|u| u.path().to_string())
                    .unwrap_or_else(|_| url.clone())
            }
            _ => String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_is_removed_from_urls() {
        assert_eq!(
            redact_userinfo("https://bob:hunter2@gitlab.example.com/x"),
            "https://***@gitlab.example.com/x"
        );
        assert_eq!(
            redact_userinfo("https://gitlab.example.com/a@b"),
            "https://gitlab.example.com/a@b"
        );
        assert_eq!(redact_userinfo("no scheme"), "no scheme");
    }

    #[test]
    fn status_codes_map_to_diagnoses() {
        let e = |status| ConnectError::Status {
            service: Service::GitLab,
            method: "GET".into(),
            url: "https://gitlab.example.com/api/v4/user".into(),
            status,
            messages: vec!["401 Unauthorized".into()],
            retry_after: Some(Duration::from_secs(7)),
        };
        assert_eq!(e(401).code(), DiagnosisCode::Unauthorized);
        assert_eq!(e(403).code(), DiagnosisCode::Forbidden);
        assert_eq!(e(404).code(), DiagnosisCode::NotFound);
        assert_eq!(e(410).code(), DiagnosisCode::NotFound);
        assert_eq!(e(429).code(), DiagnosisCode::RateLimited);
        assert_eq!(e(503).code(), DiagnosisCode::ServerError);
        assert_eq!(e(400).code(), DiagnosisCode::BadRequest);
        let d = e(429).diagnosis();
        assert_eq!(d.retry_after_secs, Some(7));
        assert!(d.summary.contains("7 s"), "{}", d.summary);
        assert!(e(404).diagnosis().hint.contains("/api/v4"));
        assert!(
            e(401)
                .to_string()
                .contains("answered 401: 401 Unauthorized")
        );
        assert_eq!(
            serde_json::to_value(DiagnosisCode::UnexpectedResponse).expect("serialise"),
            serde_json::json!("unexpected_response")
        );
    }
}
