//! Fault injection and the request log: a middleware below every simulated
//! API route, so handlers never know about it and tests can make either
//! service slow, rate-limited, failing or unauthenticated.

use crate::req::json_response;
use crate::{Shared, SimError};
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// A simulated service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Service {
    /// The GitLab listener.
    Gitlab,
    /// The Jira listener.
    Jira,
}

impl FromStr for Service {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "gitlab" => Ok(Service::Gitlab),
            "jira" => Ok(Service::Jira),
            other => Err(format!("unknown service `{other}` (gitlab or jira)")),
        }
    }
}

/// Kinds of injected faults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// The next `count` requests answer 429 with the service's rate-limit headers.
    RateLimit,
    /// The next `count` requests answer `status` (default 503).
    ServerError,
    /// Every request waits `latency_ms` first (0 clears).
    Latency,
    /// The next `count` responses lose the second half of their body.
    Truncate,
    /// The next `count` responses carry a body that is not valid JSON.
    Malformed,
    /// The next `count` requests never answer (until shutdown).
    Hang,
    /// `token` (or every token of the service) stops working: 401.
    RevokeToken,
    /// Jira's per-issue write limit: more than `count` writes to one issue
    /// within a second answer 429 with `Retry-After` (0 clears).
    IssueWriteLimit,
}

impl FromStr for FaultKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "rate_limit" => FaultKind::RateLimit,
            "server_error" | "error" | "5xx" => FaultKind::ServerError,
            "latency" => FaultKind::Latency,
            "truncate" => FaultKind::Truncate,
            "malformed" => FaultKind::Malformed,
            "hang" => FaultKind::Hang,
            "revoke_token" => FaultKind::RevokeToken,
            "issue_write_limit" => FaultKind::IssueWriteLimit,
            other => {
                return Err(format!(
                    "unknown fault kind `{other}` (rate_limit, server_error, latency, truncate, malformed, hang, revoke_token, issue_write_limit)"
                ));
            }
        })
    }
}

/// One fault to inject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultSpec {
    /// Target service.
    pub service: Service,
    /// What goes wrong.
    pub kind: FaultKind,
    /// How many requests are affected (default 1).
    pub count: Option<u32>,
    /// Status for `server_error` (500..=599).
    pub status: Option<u16>,
    /// Delay for `latency`.
    pub latency_ms: Option<u64>,
    /// `Retry-After` seconds for `rate_limit` (default 1).
    pub retry_after: Option<u64>,
    /// Token for `revoke_token`.
    pub token: Option<String>,
}

impl FaultSpec {
    /// A fault with defaults for everything but service and kind.
    pub fn new(service: Service, kind: FaultKind) -> FaultSpec {
        FaultSpec {
            service,
            kind,
            count: None,
            status: None,
            latency_ms: None,
            retry_after: None,
            token: None,
        }
    }

    /// Validates a JSON body, naming the offending field.
    pub(crate) fn from_json(v: &Value) -> Result<FaultSpec, (String, String)> {
        let obj = v
            .as_object()
            .ok_or_else(|| ("body".to_string(), "must be a JSON object".to_string()))?;
        let text = |k: &str| -> Result<Option<String>, (String, String)> {
            match obj.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err((k.to_string(), "must be a string".to_string())),
            }
        };
        let num = |k: &str, max: u64| -> Result<Option<u64>, (String, String)> {
            match obj.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => match v.as_u64() {
                    Some(n) if n <= max => Ok(Some(n)),
                    _ => Err((k.to_string(), format!("must be an integer from 0 to {max}"))),
                },
            }
        };
        for k in obj.keys() {
            if !matches!(
                k.as_str(),
                "service" | "kind" | "count" | "status" | "latency_ms" | "retry_after" | "token"
            ) {
                return Err((k.clone(), "unknown field".into()));
            }
        }
        let service = text("service")?
            .ok_or_else(|| ("service".to_string(), "is required".to_string()))?
            .parse()
            .map_err(|e| ("service".to_string(), e))?;
        let kind = text("kind")?
            .ok_or_else(|| ("kind".to_string(), "is required".to_string()))?
            .parse()
            .map_err(|e| ("kind".to_string(), e))?;
        let status = num("status", 599)?;
        if status.is_some_and(|s| s < 500) {
            return Err(("status".into(), "must be from 500 to 599".into()));
        }
        Ok(FaultSpec {
            service,
            kind,
            count: num("count", 1_000_000)?.map(|n| n as u32),
            status: status.map(|s| s as u16),
            latency_ms: num("latency_ms", 600_000)?,
            retry_after: num("retry_after", 86_400)?,
            token: text("token")?,
        })
    }
}

impl FromStr for FaultSpec {
    type Err = SimError;

    /// `service:kind[:count]`, e.g. `gitlab:rate_limit:3` or `jira:latency:250` (ms).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut parts = s.split(':');
        let service: Service = parts
            .next()
            .unwrap_or("")
            .parse()
            .map_err(SimError::Fault)?;
        let kind: FaultKind = parts
            .next()
            .ok_or_else(|| SimError::Fault(format!("`{s}` needs service:kind")))?
            .parse()
            .map_err(SimError::Fault)?;
        let mut f = FaultSpec::new(service, kind);
        if let Some(n) = parts.next() {
            match kind {
                FaultKind::RevokeToken => f.token = Some(n.to_string()),
                _ => {
                    let n: u64 = n
                        .parse()
                        .map_err(|_| SimError::Fault(format!("`{n}` is not a number")))?;
                    if kind == FaultKind::Latency {
                        f.latency_ms = Some(n);
                    } else {
                        f.count = Some(n as u32);
                    }
                }
            }
        }
        Ok(f)
    }
}

/// Active faults of one service.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct SvcFaults {
    pub rate_limit: u32,
    pub retry_after: u64,
    pub errors: u32,
    pub error_status: u16,
    pub latency_ms: u64,
    pub truncate: u32,
    pub malformed: u32,
    pub hang: u32,
    /// Writes allowed per issue per second (0: no limit).
    pub issue_writes_per_sec: u32,
    /// Per issue key: (second, writes in it).
    #[serde(skip)]
    pub issue_writes: std::collections::HashMap<String, (i64, u32)>,
}

/// Active faults of both services.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct Faults {
    pub gitlab: SvcFaults,
    pub jira: SvcFaults,
}

impl Faults {
    fn of(&mut self, s: Service) -> &mut SvcFaults {
        match s {
            Service::Gitlab => &mut self.gitlab,
            Service::Jira => &mut self.jira,
        }
    }

    /// Adds a fault (token revocation is applied to the world separately).
    pub fn apply(&mut self, f: &FaultSpec) {
        let count = f.count.unwrap_or(1);
        let sf = self.of(f.service);
        match f.kind {
            FaultKind::RateLimit => {
                sf.rate_limit = count;
                sf.retry_after = f.retry_after.unwrap_or(1);
            }
            FaultKind::ServerError => {
                sf.errors = count;
                sf.error_status = f.status.unwrap_or(503);
            }
            FaultKind::Latency => sf.latency_ms = f.latency_ms.unwrap_or(0),
            FaultKind::Truncate => sf.truncate = count,
            FaultKind::Malformed => sf.malformed = count,
            FaultKind::Hang => sf.hang = count,
            FaultKind::RevokeToken => {}
            FaultKind::IssueWriteLimit => {
                sf.issue_writes_per_sec = f.count.unwrap_or(0);
                sf.issue_writes.clear();
            }
        }
    }
}

/// Removes revoked tokens from the world.
pub(crate) fn apply_token_revocations(s: &Shared, faults: &[FaultSpec]) {
    let mut w = s.write();
    for f in faults.iter().filter(|f| f.kind == FaultKind::RevokeToken) {
        match f.service {
            Service::Gitlab => match &f.token {
                Some(t) => {
                    w.gitlab.tokens.remove(t);
                }
                None => w.gitlab.tokens.clear(),
            },
            Service::Jira => {
                for u in &mut w.jira.users {
                    if f.token.as_ref().is_none_or(|t| *t == u.api_token) {
                        u.api_token.clear();
                    }
                    if f.token.as_ref().is_none_or(|t| *t == u.pat) {
                        u.pat.clear();
                    }
                }
            }
        }
    }
}

/// One served API request.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RequestRecord {
    /// Which listener.
    pub service: Service,
    /// HTTP method.
    pub method: String,
    /// Path without the query.
    pub path: String,
    /// Raw query string.
    pub query: Option<String>,
    /// Response status.
    pub status: u16,
}

enum Action {
    RateLimit(u64),
    IssueLimit,
    Error(u16),
    Hang,
    Pass { truncate: bool, malformed: bool },
}

/// Middleware applying faults and recording every request.
pub(crate) async fn fault_layer(
    State((s, svc)): State<(Arc<Shared>, Service)>,
    req: Request,
    next: Next,
) -> Response {
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let query = req.uri().query().map(str::to_string);
    let (latency, action) = {
        let mut f = s.faults.lock().unwrap_or_else(|e| e.into_inner());
        let sf = f.of(svc);
        let action = if sf.hang > 0 {
            sf.hang -= 1;
            Action::Hang
        } else if sf.rate_limit > 0 {
            sf.rate_limit -= 1;
            Action::RateLimit(sf.retry_after)
        } else if sf.errors > 0 {
            sf.errors -= 1;
            Action::Error(sf.error_status)
        } else if let Some(key) = written_issue(&method, &path)
            .filter(|_| svc == Service::Jira && sf.issue_writes_per_sec > 0)
        {
            let now = Utc::now().timestamp();
            let limit = sf.issue_writes_per_sec;
            let slot = sf.issue_writes.entry(key).or_insert((now, 0));
            if slot.0 != now {
                *slot = (now, 0);
            }
            slot.1 += 1;
            if slot.1 > limit {
                Action::IssueLimit
            } else {
                Action::Pass {
                    truncate: false,
                    malformed: false,
                }
            }
        } else {
            let truncate = sf.truncate > 0;
            let malformed = !truncate && sf.malformed > 0;
            if truncate {
                sf.truncate -= 1;
            } else if malformed {
                sf.malformed -= 1;
            }
            Action::Pass {
                truncate,
                malformed,
            }
        };
        (sf.latency_ms, action)
    };
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    let resp = match action {
        Action::Hang => {
            let mut rx = s.shutdown.clone();
            let _ = rx.wait_for(|v| *v).await;
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
        Action::RateLimit(retry) => rate_limited(svc, retry, s.flavour),
        Action::IssueLimit => {
            let mut r = rate_limited(svc, 1, s.flavour);
            r.headers_mut().insert(
                "ratelimit-reason",
                HeaderValue::from_static("jira-per-issue-on-write"),
            );
            r
        }
        Action::Error(status) => server_error(svc, status),
        Action::Pass {
            truncate,
            malformed,
        } => {
            let resp = next.run(req).await;
            if truncate || malformed {
                let (parts, body) = resp.into_parts();
                let bytes = axum::body::to_bytes(body, 64 * 1024 * 1024)
                    .await
                    .unwrap_or_default();
                let new: Bytes = if truncate {
                    bytes.slice(..bytes.len() / 2)
                } else {
                    Bytes::from_static(b"{\"data\": [1, 2,, <html>oops")
                };
                let mut r = Response::from_parts(parts, Body::from(new));
                r.headers_mut().remove(header::CONTENT_LENGTH);
                r
            } else {
                resp
            }
        }
    };
    s.log
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(RequestRecord {
            service: svc,
            method,
            path,
            query,
            status: resp.status().as_u16(),
        });
    resp
}

fn rate_limited(svc: Service, retry: u64, flavour: crate::JiraFlavour) -> Response {
    let now = Utc::now();
    let reset = now + chrono::Duration::seconds(retry as i64);
    let mut h = HeaderMap::new();
    let mut set = |k: &'static str, v: String| {
        if let Ok(v) = HeaderValue::from_str(&v) {
            h.insert(k, v);
        }
    };
    set("retry-after", retry.to_string());
    match svc {
        Service::Gitlab => {
            set("ratelimit-name", "throttle_authenticated_api".into());
            set("ratelimit-limit", "2000".into());
            set("ratelimit-observed", "2001".into());
            set("ratelimit-remaining", "0".into());
            set("ratelimit-reset", reset.timestamp().to_string());
            set(
                "ratelimit-resettime",
                reset.format("%a, %d %b %Y %H:%M:%S GMT").to_string(),
            );
            set("content-type", "text/plain".into());
            (StatusCode::TOO_MANY_REQUESTS, h, "Retry later\n").into_response()
        }
        Service::Jira => {
            set("x-ratelimit-limit", "100".into());
            set("x-ratelimit-remaining", "0".into());
            if flavour == crate::JiraFlavour::Cloud {
                set(
                    "x-ratelimit-reset",
                    reset.format("%Y-%m-%dT%H:%MZ").to_string(),
                );
                set("x-ratelimit-nearlimit", "true".into());
                set("ratelimit-reason", "jira-quota-tenant-based".into());
            } else {
                set("x-ratelimit-interval-seconds", "60".into());
                set("x-ratelimit-fillrate", "10".into());
            }
            json_response(
                StatusCode::TOO_MANY_REQUESTS,
                &json!({"errorMessages": ["Rate limit exceeded."], "errors": {}}),
                h,
            )
        }
    }
}

fn server_error(svc: Service, status: u16) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    let mut h = HeaderMap::new();
    if code == StatusCode::SERVICE_UNAVAILABLE {
        h.insert("retry-after", HeaderValue::from_static("1"));
    }
    match svc {
        Service::Gitlab => json_response(
            code,
            &json!({"message": format!("{} {}", code.as_u16(), code.canonical_reason().unwrap_or("Error"))}),
            h,
        ),
        Service::Jira => json_response(
            code,
            &json!({"errorMessages": ["Internal server error"], "errors": {}}),
            h,
        ),
    }
}

/// The issue key a Jira write request changes (`POST|PUT|DELETE
/// /rest/api/{v}/issue/{key}[/...]`), for the per-issue write limit.
fn written_issue(method: &str, path: &str) -> Option<String> {
    if !matches!(method, "POST" | "PUT" | "DELETE") {
        return None;
    }
    let mut parts = path.trim_start_matches('/').split('/');
    match (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) {
        (Some("rest"), Some("api"), Some(_), Some("issue"), Some(key))
            if !key.is_empty() && key != "bulk" =>
        {
            Some(key.to_ascii_uppercase())
        }
        _ => None,
    }
}
