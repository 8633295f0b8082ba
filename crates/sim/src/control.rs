//! Fault injection, the request log and the `/_sim/...` control endpoints
//! that make things happen in the simulated services.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::gitlab::{self, IssueEdit, json_response};
use crate::jira;
use crate::req::Params;
use crate::util::parse_duration;
use crate::{Shared, SimError};

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
            other => {
                return Err(format!(
                    "unknown fault kind `{other}` (rate_limit, server_error, latency, truncate, malformed, hang, revoke_token)"
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
    fn from_json(v: &Value) -> Result<FaultSpec, (String, String)> {
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

// ---------------------------------------------------------------- control API

/// A control-endpoint error naming the field at fault.
struct CtlErr(StatusCode, String, Option<String>);

impl IntoResponse for CtlErr {
    fn into_response(self) -> Response {
        let mut v = json!({ "error": self.1 });
        if let Some(f) = self.2 {
            v["field"] = json!(f);
        }
        json_response(self.0, &v, HeaderMap::new())
    }
}

fn field_err(field: &str, msg: impl std::fmt::Display) -> CtlErr {
    CtlErr(
        StatusCode::BAD_REQUEST,
        format!("{field}: {msg}"),
        Some(field.to_string()),
    )
}

fn not_found(msg: impl Into<String>) -> CtlErr {
    CtlErr(StatusCode::NOT_FOUND, msg.into(), None)
}

type CtlResult = Result<Response, CtlErr>;

fn body_obj(body: &[u8]) -> Result<serde_json::Map<String, Value>, CtlErr> {
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(serde_json::Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(field_err("body", "must be a JSON object")),
        Err(e) => Err(field_err("body", format!("invalid JSON: {e}"))),
    }
}

struct Fields(serde_json::Map<String, Value>);

impl Fields {
    fn str_opt(&self, k: &str) -> Result<Option<String>, CtlErr> {
        match self.0.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(_) => Err(field_err(k, "must be a string")),
        }
    }
    fn str(&self, k: &str) -> Result<String, CtlErr> {
        match self.str_opt(k)? {
            Some(s) if !s.trim().is_empty() => Ok(s),
            _ => Err(field_err(k, "is required")),
        }
    }
    fn u64_opt(&self, k: &str) -> Result<Option<u64>, CtlErr> {
        match self.0.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_u64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                .map(Some)
                .ok_or_else(|| field_err(k, "must be a non-negative integer")),
        }
    }
    fn u64(&self, k: &str) -> Result<u64, CtlErr> {
        self.u64_opt(k)?.ok_or_else(|| field_err(k, "is required"))
    }
    fn f64_opt(&self, k: &str) -> Result<Option<f64>, CtlErr> {
        match self.0.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_f64()
                .map(Some)
                .ok_or_else(|| field_err(k, "must be a number")),
        }
    }
    fn strings(&self, k: &str) -> Result<Vec<String>, CtlErr> {
        match self.0.get(k) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|i| {
                    i.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| field_err(k, "must be an array of strings"))
                })
                .collect(),
            Some(_) => Err(field_err(k, "must be an array of strings")),
        }
    }
    fn bools(&self, k: &str) -> Result<Vec<(String, bool)>, CtlErr> {
        match self.0.get(k) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|i| match i {
                    Value::String(s) => Ok((s.clone(), false)),
                    Value::Object(o) => Ok((
                        o.get("title")
                            .and_then(Value::as_str)
                            .ok_or_else(|| field_err(k, "items need a title"))?
                            .to_string(),
                        o.get("done").and_then(Value::as_bool).unwrap_or(false),
                    )),
                    _ => Err(field_err(k, "items must be strings or {title, done}")),
                })
                .collect(),
            Some(_) => Err(field_err(k, "must be an array")),
        }
    }
}

/// The `/_sim` router, served on both listeners.
pub(crate) fn router(s: Arc<Shared>) -> Router {
    Router::new()
        .route("/_sim/health", get(|| async { "ok" }))
        .route("/_sim/requests", get(get_requests).delete(clear_requests))
        .route("/_sim/deliveries", get(get_deliveries))
        .route(
            "/_sim/faults",
            get(get_faults).post(post_fault).delete(clear_faults),
        )
        .route("/_sim/gitlab/issues", post(gl_add_issue))
        .route("/_sim/gitlab/issues/close", post(gl_close))
        .route("/_sim/gitlab/issues/reopen", post(gl_reopen))
        .route("/_sim/gitlab/tasks/complete", post(gl_complete_task))
        .route("/_sim/gitlab/time", post(gl_time))
        .route("/_sim/gitlab/notes", post(gl_note))
        .route("/_sim/gitlab/push", post(gl_push))
        .route("/_sim/gitlab/merge_requests", post(gl_mr))
        .route("/_sim/jira/issues", post(jira_add_issue))
        .route("/_sim/jira/transition", post(jira_transition))
        .route("/_sim/jira/worklog", post(jira_worklog))
        .route("/_sim/jira/comment", post(jira_comment))
        .with_state(s)
}

async fn get_requests(State(s): State<Arc<Shared>>, RawQuery(q): RawQuery) -> CtlResult {
    let p = Params::from_query(q.as_deref());
    let svc = match p.get("service") {
        None => None,
        Some(v) => Some(v.parse::<Service>().map_err(|e| field_err("service", e))?),
    };
    let log = s.log.lock().unwrap_or_else(|e| e.into_inner());
    let out: Vec<&RequestRecord> = log
        .iter()
        .filter(|r| svc.is_none_or(|x| r.service == x))
        .collect();
    Ok(json_response(StatusCode::OK, &out, HeaderMap::new()))
}

async fn clear_requests(State(s): State<Arc<Shared>>) -> StatusCode {
    s.log.lock().unwrap_or_else(|e| e.into_inner()).clear();
    StatusCode::NO_CONTENT
}

async fn get_deliveries(State(s): State<Arc<Shared>>) -> Response {
    json_response(StatusCode::OK, &s.hooks.records(), HeaderMap::new())
}

async fn get_faults(State(s): State<Arc<Shared>>) -> Response {
    let f = s.faults.lock().unwrap_or_else(|e| e.into_inner()).clone();
    json_response(StatusCode::OK, &f, HeaderMap::new())
}

async fn post_fault(State(s): State<Arc<Shared>>, body: Bytes) -> CtlResult {
    let v = Value::Object(body_obj(&body)?);
    let spec = FaultSpec::from_json(&v).map_err(|(f, m)| field_err(&f, m))?;
    s.faults
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .apply(&spec);
    apply_token_revocations(&s, std::slice::from_ref(&spec));
    Ok(json_response(StatusCode::CREATED, &spec, HeaderMap::new()))
}

async fn clear_faults(State(s): State<Arc<Shared>>) -> StatusCode {
    *s.faults.lock().unwrap_or_else(|e| e.into_inner()) = Faults::default();
    StatusCode::NO_CONTENT
}

/// Resolves `project` (id or path) and `iid`, plus the acting user (`as`,
/// default the issue's author or the project's first member).
fn gl_target(
    s: &Shared,
    f: &Fields,
    need_issue: bool,
) -> Result<(usize, Option<usize>, u64), CtlErr> {
    let project = f.str("project")?;
    let w = s.read();
    let gl = &w.gitlab;
    let pidx = gl
        .project_index(&project)
        .ok_or_else(|| field_err("project", format!("no project `{project}`")))?;
    let p = &gl.projects[pidx];
    let ipos = if need_issue {
        let iid = f.u64("iid")?;
        Some(
            p.issues
                .binary_search_by_key(&iid, |i| i.iid)
                .map_err(|_| field_err("iid", format!("no issue #{iid} in {project}")))?,
        )
    } else {
        None
    };
    let user = match f.str_opt("as")? {
        Some(name) => gl
            .user_by_name(&name)
            .map(|u| u.id)
            .ok_or_else(|| field_err("as", format!("no user `{name}`")))?,
        None => ipos
            .map(|i| p.issues[i].author_id)
            .or_else(|| p.members.first().map(|m| m.0))
            .unwrap_or(0),
    };
    Ok((pidx, ipos, user))
}

fn done(v: Value) -> CtlResult {
    Ok(json_response(StatusCode::OK, &v, HeaderMap::new()))
}

fn gl_err(e: gitlab::GlErr) -> CtlErr {
    CtlErr(StatusCode::NOT_FOUND, format!("{e:?}"), None)
}

async fn gl_state(s: Arc<Shared>, body: Bytes, event: &str) -> CtlResult {
    let f = Fields(body_obj(&body)?);
    let (pidx, ipos, user) = gl_target(&s, &f, true)?;
    let ipos = ipos.ok_or_else(|| field_err("iid", "is required"))?;
    let edit = IssueEdit {
        state_event: Some(event.to_string()),
        ..Default::default()
    };
    gitlab::do_update_issue(&s, pidx, ipos, user, edit).map_err(gl_err)?;
    let w = s.read();
    let i = &w.gitlab.projects[pidx].issues[ipos];
    done(json!({"iid": i.iid, "state": i.state}))
}

async fn gl_close(State(s): State<Arc<Shared>>, body: Bytes) -> CtlResult {
    gl_state(s, body, "close").await
}

async fn gl_reopen(State(s): State<Arc<Shared>>, body: Bytes) -> CtlResult {
    gl_state(s, body, "reopen").await
}

async fn gl_add_issue(State(s): State<Arc<Shared>>, body: Bytes) -> CtlResult {
    let f = Fields(body_obj(&body)?);
    let (pidx, _, user) = gl_target(&s, &f, false)?;
    let title = f.str("title")?;
    let mut description = f.str_opt("description")?.unwrap_or_default();
    let tasks = f.bools("tasks")?;
    if !tasks.is_empty() {
        if !description.is_empty() {
            description.push_str("\n\n");
        }
        for (t, d) in &tasks {
            description.push_str(if *d { "- [x] " } else { "- [ ] " });
            description.push_str(t);
            description.push('\n');
        }
    }
    let issue_type = match f.str_opt("issue_type")?.as_deref() {
        None => None,
        Some(t @ ("issue" | "task" | "incident")) => Some(t.to_string()),
        Some(_) => return Err(field_err("issue_type", "must be issue, task or incident")),
    };
    let (assignee_ids, milestone_id) = {
        let w = s.read();
        let gl = &w.gitlab;
        let mut ids = Vec::new();
        for name in f.strings("assignees")? {
            ids.push(
                gl.user_by_name(&name)
                    .map(|u| u.id)
                    .ok_or_else(|| field_err("assignees", format!("no user `{name}`")))?,
            );
        }
        let mid = match f.str_opt("milestone")? {
            None => None,
            Some(t) => Some(
                gl.projects[pidx]
                    .milestones
                    .iter()
                    .find(|m| m.title == t)
                    .map(|m| m.id)
                    .ok_or_else(|| field_err("milestone", format!("no milestone `{t}`")))?,
            ),
        };
        (ids, mid)
    };
    let weight = f.u64_opt("weight")?.map(|w| w as i64);
    let edit = IssueEdit {
        title: Some(title),
        description: Some(description),
        labels: Some(f.strings("labels")?),
        assignee_ids: Some(assignee_ids),
        milestone_id: Some(milestone_id),
        weight: Some(weight),
        issue_type,
        ..Default::default()
    };
    let iid = gitlab::do_create_issue(&s, pidx, user, edit).map_err(gl_err)?;
    Ok(json_response(
        StatusCode::CREATED,
        &json!({"iid": iid}),
        HeaderMap::new(),
    ))
}

async fn gl_complete_task(State(s): State<Arc<Shared>>, body: Bytes) -> CtlResult {
    let f = Fields(body_obj(&body)?);
    let (pidx, ipos, user) = gl_target(&s, &f, true)?;
    let ipos = ipos.ok_or_else(|| field_err("iid", "is required"))?;
    let which = f.u64_opt("task")?;
    let undo = f.0.get("done").and_then(Value::as_bool) == Some(false);
    let description = {
        let w = s.read();
        let i = &w.gitlab.projects[pidx].issues[ipos];
        let to = if undo { "[ ]" } else { "[x]" };
        let mut n = 0u64;
        let mut changed = false;
        let mut out = Vec::new();
        for line in i.description.lines() {
            let indent = line.len() - line.trim_start().len();
            let t = &line[indent..];
            let rest = ["- ", "* ", "+ "].iter().find_map(|p| t.strip_prefix(p));
            let state = rest.and_then(|r| {
                if r.starts_with("[ ]") {
                    Some(false)
                } else if r.starts_with("[x]") || r.starts_with("[X]") {
                    Some(true)
                } else {
                    None
                }
            });
            let mut l = line.to_string();
            if let Some(checked) = state {
                n += 1;
                let target = which.is_none_or(|k| k == n);
                if target && !changed && checked == undo {
                    // Replace the checkbox right after the list marker.
                    let at = indent + 2;
                    l = format!("{}{}{}", &line[..at], to, &line[at + 3..]);
                    changed = true;
                }
            }
            out.push(l);
        }
        if n == 0 {
            return Err(field_err("iid", "the issue has no tasks"));
        }
        if let Some(k) = which
            && (k == 0 || k > n)
        {
            return Err(field_err("task", format!("must be from 1 to {n}")));
        }
        if !changed {
            return done(
                json!({"changed": false, "task_completion_status": {"count": i.tasks.0, "completed_count": i.tasks.1}}),
            );
        }
        let mut d = out.join("\n");
        if i.description.ends_with('\n') {
            d.push('\n');
        }
        d
    };
    let edit = IssueEdit {
        description: Some(description),
        ..Default::default()
    };
    gitlab::do_update_issue(&s, pidx, ipos, user, edit).map_err(gl_err)?;
    let w = s.read();
    let i = &w.gitlab.projects[pidx].issues[ipos];
    done(
        json!({"changed": true, "task_completion_status": {"count": i.tasks.0, "completed_count": i.tasks.1}}),
    )
}

async fn gl_time(State(s): State<Arc<Shared>>, body: Bytes) -> CtlResult {
    let f = Fields(body_obj(&body)?);
    let (pidx, ipos, user) = gl_target(&s, &f, true)?;
    let ipos = ipos.ok_or_else(|| field_err("iid", "is required"))?;
    let d = f.str("duration")?;
    let secs = parse_duration(&d).ok_or_else(|| field_err("duration", "must look like 1h30m"))?;
    let action = match f.str_opt("kind")?.as_deref() {
        None | Some("spent") => "add_spent_time",
        Some("estimate") => "time_estimate",
        Some(_) => return Err(field_err("kind", "must be spent or estimate")),
    };
    gitlab::do_time(&s, pidx, ipos, user, action, secs).map_err(gl_err)?;
    let w = s.read();
    let i = &w.gitlab.projects[pidx].issues[ipos];
    done(json!({"time_estimate": i.time_estimate, "total_time_spent": i.total_time_spent}))
}

async fn gl_note(State(s): State<Arc<Shared>>, body: Bytes) -> CtlResult {
    let f = Fields(body_obj(&body)?);
    let (pidx, ipos, user) = gl_target(&s, &f, true)?;
    let ipos = ipos.ok_or_else(|| field_err("iid", "is required"))?;
    let text = f.str("body")?;
    let id = gitlab::do_add_note(&s, pidx, ipos, user, text, false).map_err(gl_err)?;
    Ok(json_response(
        StatusCode::CREATED,
        &json!({"id": id}),
        HeaderMap::new(),
    ))
}

async fn gl_push(State(s): State<Arc<Shared>>, body: Bytes) -> CtlResult {
    let f = Fields(body_obj(&body)?);
    let (pidx, _, user) = gl_target(&s, &f, false)?;
    let branch = f.str_opt("branch")?.unwrap_or_else(|| "main".into());
    let mut messages = f.strings("messages")?;
    if messages.is_empty() {
        let n = f.u64_opt("commits")?.unwrap_or(1);
        if n == 0 || n > 1000 {
            return Err(field_err("commits", "must be from 1 to 1000"));
        }
        messages = (1..=n).map(|i| format!("Simulated commit {i}")).collect();
    }
    let after = gitlab::do_push(&s, pidx, user, &branch, &messages).map_err(gl_err)?;
    Ok(json_response(
        StatusCode::CREATED,
        &json!({"after": after, "commits": messages.len()}),
        HeaderMap::new(),
    ))
}

async fn gl_mr(State(s): State<Arc<Shared>>, body: Bytes) -> CtlResult {
    let f = Fields(body_obj(&body)?);
    let (pidx, _, user) = gl_target(&s, &f, false)?;
    let action = f.str_opt("action")?.unwrap_or_else(|| "open".into());
    if !matches!(
        action.as_str(),
        "open" | "merge" | "close" | "reopen" | "update"
    ) {
        return Err(field_err(
            "action",
            "must be open, merge, close, reopen or update",
        ));
    }
    let iid = f.u64_opt("iid")?;
    if iid.is_none() && action != "open" {
        return Err(field_err("iid", "is required unless action is open"));
    }
    let iid = gitlab::do_merge_request(&s, pidx, user, iid, f.str_opt("title")?, &action)
        .map_err(|_| field_err("iid", "no such merge request"))?;
    done(json!({"iid": iid}))
}

fn jira_actor(s: &Shared, f: &Fields) -> Result<String, CtlErr> {
    let w = s.read();
    match f.str_opt("as")? {
        Some(name) => w
            .jira
            .user(&name)
            .map(|u| u.account_id.clone())
            .ok_or_else(|| field_err("as", format!("no user `{name}`"))),
        None => w
            .jira
            .users
            .first()
            .map(|u| u.account_id.clone())
            .ok_or_else(|| not_found("no Jira users")),
    }
}

fn jira_issue(s: &Shared, f: &Fields) -> Result<usize, CtlErr> {
    let key = f.str("key")?;
    s.read()
        .jira
        .issue_index(&key)
        .ok_or_else(|| field_err("key", format!("no issue `{key}`")))
}

async fn jira_add_issue(State(s): State<Arc<Shared>>, body: Bytes) -> CtlResult {
    let f = Fields(body_obj(&body)?);
    let actor = jira_actor(&s, &f)?;
    let mut create = jira::NewIssue {
        project: f.str("project")?,
        summary: f.str("summary")?,
        issue_type: f.str_opt("issue_type")?.unwrap_or_else(|| "Story".into()),
        description: f.str_opt("description")?,
        labels: f.strings("labels")?,
        parent: f.str_opt("parent")?,
        epic: f.str_opt("epic")?,
        assignee: f.str_opt("assignee")?,
        story_points: f.f64_opt("story_points")?,
        original_estimate: None,
        status: f.str_opt("status")?,
        custom: Default::default(),
    };
    if let Some(e) = f.str_opt("original_estimate")? {
        create.original_estimate = Some(
            parse_duration(&e)
                .ok_or_else(|| field_err("original_estimate", "must look like 2h"))?,
        );
    }
    let key = jira::do_create_issue(&s, create, &actor).map_err(|e| field_err(&e.0, e.1))?;
    Ok(json_response(
        StatusCode::CREATED,
        &json!({"key": key}),
        HeaderMap::new(),
    ))
}

async fn jira_transition(State(s): State<Arc<Shared>>, body: Bytes) -> CtlResult {
    let f = Fields(body_obj(&body)?);
    let actor = jira_actor(&s, &f)?;
    let idx = jira_issue(&s, &f)?;
    let status = f.str("status")?;
    let sid = {
        let w = s.read();
        w.jira
            .statuses
            .iter()
            .find(|st| st.name.eq_ignore_ascii_case(&status) || st.id == status)
            .map(|st| st.id.clone())
            .ok_or_else(|| field_err("status", format!("no status `{status}`")))?
    };
    jira::do_set_status(&s, idx, &sid, &actor);
    let w = s.read();
    let i = &w.jira.issues[idx];
    done(json!({"key": i.key, "status": w.jira.status(&i.status).map(|st| st.name.clone())}))
}

async fn jira_worklog(State(s): State<Arc<Shared>>, body: Bytes) -> CtlResult {
    let f = Fields(body_obj(&body)?);
    let actor = jira_actor(&s, &f)?;
    let idx = jira_issue(&s, &f)?;
    let d = f.str("time_spent")?;
    let secs = parse_duration(&d)
        .filter(|s| *s > 0)
        .ok_or_else(|| field_err("time_spent", "must be a positive duration like 2h"))?;
    let id = jira::do_add_worklog(
        &s,
        idx,
        &actor,
        secs,
        None,
        f.str_opt("comment")?,
        "auto",
        None,
    );
    Ok(json_response(
        StatusCode::CREATED,
        &json!({"id": id.to_string()}),
        HeaderMap::new(),
    ))
}

async fn jira_comment(State(s): State<Arc<Shared>>, body: Bytes) -> CtlResult {
    let f = Fields(body_obj(&body)?);
    let actor = jira_actor(&s, &f)?;
    let idx = jira_issue(&s, &f)?;
    let text = f.str("body")?;
    let id = jira::do_add_comment(&s, idx, &actor, text);
    Ok(json_response(
        StatusCode::CREATED,
        &json!({"id": id.to_string()}),
        HeaderMap::new(),
    ))
}
