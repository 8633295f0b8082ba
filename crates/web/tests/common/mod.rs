//! A Cairn app on a real store with three users (an admin and two members),
//! each with an API token, and the simulator to connect to.

#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Request, StatusCode, Uri};
use axum::response::IntoResponse;
use cairn_connect::outbound::{DestinationPolicy, OutboundConfig};
use cairn_core::authz::Role;
use cairn_engine::goals::gitlab_link::{REFRESH_KIND, RefreshHandler};
use cairn_engine::jobs::{Registry, Worker, WorkerConfig};
use cairn_engine::notify::NotifySettings;
use cairn_store::testing::TestDb;
use cairn_web::{AppState, WebConfig, metrics_handle, router};
use chrono::Utc;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

pub const PASSWORD: &str = "correct horse battery staple";

pub struct User {
    pub id: i64,
    pub email: String,
    pub token: String,
}

pub struct Harness {
    pub db: TestDb,
    pub app: axum::Router,
    pub state: AppState,
    pub sim: cairn_sim::SimHandle,
    pub admin: User,
    pub owner: User,
    pub other: User,
    pub keyring: Arc<cairn_engine::keyring::Keyring>,
    _keys: tempfile::TempDir,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Harness {
    pub async fn new(backend: cairn_store::Backend) -> Harness {
        let db = TestDb::new(backend).await;
        let store = db.store().await;
        let keys = tempfile::tempdir().expect("tempdir");
        let keyring = cairn_engine::keyring::Keyring::load(None, &keys.path().join("master.key"))
            .expect("keyring");
        let keyring = Arc::new(keyring);
        let quick = cairn_connect::HttpConfig {
            max_attempts: 2,
            backoff_base: std::time::Duration::from_millis(10),
            backoff_max: std::time::Duration::from_millis(50),
            max_retry_wait: std::time::Duration::from_secs(2),
            request_timeout: std::time::Duration::from_secs(5),
            ..cairn_connect::HttpConfig::default()
        };
        let settings = cairn_engine::goals::GoalSettings {
            http: quick,
            ..Default::default()
        };
        let sync = cairn_engine::sync::SyncSettings {
            http: settings.http.clone(),
            retry_base: std::time::Duration::from_millis(200),
            retry_cap: std::time::Duration::from_secs(2),
            // A pair is told failing at the first scan that finds it so.
            alert_after: std::time::Duration::ZERO,
            ..Default::default()
        };
        let state = AppState::new(store, keyring.clone(), metrics_handle())
            .with_goal_settings(keyring.clone(), settings)
            .with_sync_settings(keyring.clone(), sync);
        let app = router(state.clone(), &WebConfig::default());
        let sim = cairn_sim::start(cairn_sim::SimConfig::default())
            .await
            .expect("simulator");
        let mut users = Vec::new();
        for (email, role) in [
            ("admin@example.com", Role::Admin),
            ("owner@example.com", Role::Member),
            ("other@example.com", Role::Member),
        ] {
            let user = state
                .accounts
                .create_user(None, email, "Someone", role, PASSWORD, Utc::now())
                .await
                .expect("user");
            let who = cairn_engine::accounts::Authenticated {
                user: user.clone(),
                session: None,
            };
            let (_, token) = state
                .accounts
                .create_api_token(&who, "tests", Utc::now())
                .await
                .expect("token");
            users.push(User {
                id: user.id,
                email: email.to_owned(),
                token: token.expose().to_owned(),
            });
        }
        let other = users.pop().expect("other");
        let owner = users.pop().expect("owner");
        let admin = users.pop().expect("admin");
        Harness {
            db,
            app,
            state,
            sim,
            admin,
            owner,
            other,
            keyring,
            _keys: keys,
        }
    }

    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let request = match body {
            Some(body) => request
                .header("content-type", "application/json")
                .body(Body::from(body.to_string())),
            None => request.body(Body::empty()),
        }
        .expect("request");
        self.send(request).await
    }

    /// Sends a request through the app. Every answer of an operation in
    /// the OpenAPI document is checked against it (see [`check_contract`]).
    pub async fn send(&self, request: Request<Body>) -> Reply {
        let method = request.method().as_str().to_ascii_lowercase();
        let path = request.uri().path().to_owned();
        let reply = self.send_unchecked(request).await;
        let document = self.contract().await;
        check_contract(document, &method, &path, &reply);
        reply
    }

    /// The OpenAPI document, read from the app once per test process.
    async fn contract(&self) -> &'static Value {
        if let Some(document) = CONTRACT.get() {
            return document;
        }
        let reply = self
            .send_unchecked(
                Request::get("/api/openapi.json")
                    .body(Body::empty())
                    .expect("request"),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        CONTRACT.get_or_init(|| reply.body)
    }

    async fn send_unchecked(&self, request: Request<Body>) -> Reply {
        let response = self.app.clone().oneshot(request).await.expect("response");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
            text,
        }
    }

    /// A GitLab connection to the simulator owned by `owner`.
    pub async fn gitlab_connection(&self, owner: &User, name: &str, shared: bool) -> i64 {
        let settings = json!({
            "kind": "gitlab",
            "auth_kind": "private_token",
            "base_url": self.sim.gitlab_url(),
            "secret": cairn_sim::DEFAULT_GITLAB_TOKEN,
        });
        self.connection(owner, name, shared, settings).await
    }

    /// A Jira connection to the simulator owned by `owner`.
    pub async fn jira_connection(&self, owner: &User, name: &str, shared: bool) -> i64 {
        let settings = json!({
            "kind": "jira",
            "auth_kind": "basic",
            "base_url": self.sim.jira_url(),
            "username": cairn_sim::DEFAULT_JIRA_EMAIL,
            "secret": cairn_sim::DEFAULT_JIRA_API_TOKEN,
        });
        self.connection(owner, name, shared, settings).await
    }

    /// A connection with `settings` (kind, URL, credentials) owned by
    /// `owner`.
    async fn connection(&self, owner: &User, name: &str, shared: bool, mut settings: Value) -> i64 {
        settings["name"] = json!(name);
        settings["shared"] = json!(shared);
        let reply = self
            .call(
                "POST",
                "/api/v1/connections",
                Some(&owner.token),
                Some(settings),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        reply.body["id"].as_i64().expect("id")
    }
}

impl Harness {
    /// Calls the simulated GitLab's API as its administrator.
    pub async fn gitlab(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let client = reqwest::Client::new();
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut request = client
            .request(method, format!("{}/api/v4{path}", self.sim.gitlab_url()))
            .header("PRIVATE-TOKEN", cairn_sim::DEFAULT_GITLAB_TOKEN);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("GitLab answers");
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        response.json().await.expect("JSON")
    }

    /// Asserts that nothing was written in the simulator since its request
    /// log was last cleared (reads and Jira's POSTed searches apart).
    pub fn assert_sim_unwritten(&self, what: &str) {
        let writes: Vec<_> = self
            .sim
            .requests()
            .into_iter()
            .filter(|r| r.method != "GET" && !r.path.contains("/search"))
            .collect();
        assert!(writes.is_empty(), "{what} wrote: {writes:?}");
    }

    /// Makes something happen in the simulator.
    pub async fn control(&self, path: &str, body: Value) -> Value {
        let response = reqwest::Client::new()
            .post(format!("{}/_sim/{path}", self.sim.gitlab_url()))
            .json(&body)
            .send()
            .await
            .expect("simulator answers");
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        response.json().await.expect("JSON")
    }
}

/// A title both sides of a pair changed before a scan, as the pair's rule
/// decided it.
pub struct TitleConflict {
    pub pair: i64,
    /// The GitLab issue.
    pub iid: u64,
    /// Its Jira twin.
    pub key: String,
    /// The conflict as `GET .../conflicts` lists it.
    pub conflict: Value,
}

impl Harness {
    /// `GET path` as the owner, which must answer 200; its body.
    pub async fn api_get(&self, path: &str) -> Value {
        let reply = self.call("GET", path, Some(&self.owner.token), None).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.text);
        reply.body
    }

    /// The pair's runs started by a scan.
    async fn scans(&self, pair: i64) -> usize {
        self.api_get(&format!("/api/v1/sync-pairs/{pair}/runs"))
            .await
            .as_array()
            .map_or(0, |runs| {
                runs.iter().filter(|r| r["triggered_by"] == "scan").count()
            })
    }

    /// Runs the pair's scan now and waits until it and the items it found
    /// are done (a worker must run).
    pub async fn scan_now(&self, pair: i64) {
        let before = self.scans(pair).await;
        let path = format!("/api/v1/sync-pairs/{pair}/scan");
        let reply = self
            .call("POST", &path, Some(&self.owner.token), None)
            .await;
        assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.text);
        eventually("the scan ran", || async { self.scans(pair).await > before }).await;
        eventually("its items are carried", || async {
            let counts = self.state.store.job_counts().await.expect("counts");
            counts.0.get("queued").copied().unwrap_or(0) == 0
                && counts.0.get("running").copied().unwrap_or(0) == 0
        })
        .await;
    }

    /// An active pair of the owner's between `northwind/checkout` and Jira's
    /// OPS, without webhooks, whose one issue both sides retitle before a
    /// scan: a title conflict (a worker must run).
    pub async fn title_conflict(&self) -> TitleConflict {
        let g = self
            .gitlab_connection(&self.owner, "sim gitlab", false)
            .await;
        let j = self.jira_connection(&self.owner, "sim jira", false).await;
        let since = chrono::Utc::now() - chrono::Duration::seconds(5);
        let project = "northwind/checkout";
        let iid = self
            .control(
                "gitlab/issues",
                json!({"project": project, "title": "Both sides edit me"}),
            )
            .await["iid"]
            .as_u64()
            .expect("iid");
        let reply = self
            .call(
                "POST",
                "/api/v1/sync-pairs",
                Some(&self.owner.token),
                Some(
                    json!({"name": "conflicts", "left": {"connection_id": g, "project": project},
                    "right": {"connection_id": j, "project": "OPS"}, "active": true,
                    "created_after": since}),
                ),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        let pair = reply.body["id"].as_i64().expect("pair");
        let items = format!("/api/v1/sync-pairs/{pair}/items?state=synced");
        let left_id = iid.to_string();
        let twin = || async {
            self.api_get(&items).await.as_array().and_then(|items| {
                items
                    .iter()
                    .find(|i| i["left"]["id"] == left_id.as_str())
                    .and_then(|i| i["right"]["key"].as_str().map(str::to_owned))
            })
        };
        eventually("the activation links the issue", || async {
            twin().await.is_some()
        })
        .await;
        let key = twin().await.expect("the twin");
        self.control(
            "gitlab/issues/edit",
            json!({"project": project, "iid": iid, "title": "GitLab's title"}),
        )
        .await;
        self.control(
            "jira/issues/edit",
            json!({"key": key, "fields": {"summary": "Jira's title"}}),
        )
        .await;
        self.scan_now(pair).await;
        let conflict = self
            .api_get(&format!("/api/v1/sync-pairs/{pair}/conflicts"))
            .await
            .as_array()
            .and_then(|c| c.iter().find(|c| c["field"] == "title").cloned())
            .expect("a title conflict");
        TitleConflict {
            pair,
            iid,
            key,
            conflict,
        }
    }
}

/// The OpenAPI document the contract is checked against.
static CONTRACT: std::sync::OnceLock<Value> = std::sync::OnceLock::new();

/// Compiled response schemas, by operation and status.
static VALIDATORS: std::sync::LazyLock<Mutex<HashMap<String, Arc<jsonschema::Validator>>>> =
    std::sync::LazyLock::new(|| Mutex::new(HashMap::new()));

/// The document's path template a request path falls under (the one with
/// the most literal segments), if any.
pub fn template_of<'a>(document: &'a Value, path: &str) -> Option<&'a str> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    document["paths"]
        .as_object()?
        .keys()
        .filter_map(|template| {
            let parts: Vec<&str> = template.split('/').collect();
            if parts.len() != segments.len() {
                return None;
            }
            let mut literal = 0;
            for (part, segment) in parts.iter().zip(&segments) {
                if part.starts_with('{') {
                    if segment.is_empty() {
                        return None;
                    }
                } else if part == segment {
                    literal += 1;
                } else {
                    return None;
                }
            }
            Some((literal, template.as_str()))
        })
        .max_by_key(|(literal, _)| *literal)
        .map(|(_, template)| template)
}

/// Checks one answer against the OpenAPI document: its status is listed
/// for the operation, and a JSON body is valid against the schema given
/// for that status. Requests outside the document (pages, static files)
/// and methods a path does not have are not checked.
pub fn check_contract(document: &Value, method: &str, path: &str, reply: &Reply) {
    let Some(template) = template_of(document, path) else {
        return;
    };
    let operation = &document["paths"][template][method];
    if operation.is_null() {
        return;
    }
    let status = reply.status.as_u16().to_string();
    let response = &operation["responses"][&status];
    assert!(
        !response.is_null(),
        "{} {template} answered {status}, which the OpenAPI document does not list for it: {}",
        method.to_uppercase(),
        reply.text
    );
    let schema = &response["content"]["application/json"]["schema"];
    let is_json = reply
        .headers
        .get("content-type")
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if schema.is_null() || !is_json {
        return;
    }
    let key = format!("{method} {template} {status}");
    let validator = {
        let mut validators = VALIDATORS.lock().unwrap_or_else(|e| e.into_inner());
        validators
            .entry(key.clone())
            .or_insert_with(|| {
                let mut root = schema.clone();
                root["components"] = document["components"].clone();
                Arc::new(jsonschema::validator_for(&root).expect("the schema compiles"))
            })
            .clone()
    };
    let errors: Vec<String> = validator
        .iter_errors(&reply.body)
        .take(5)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{key}: the body does not match the OpenAPI document: {errors:?}\n{}",
        reply.text
    );
}

/// Runs the job worker (refreshes and hook jobs) until dropped.
pub struct Running {
    pub shutdown: CancellationToken,
    pub tasks: Vec<tokio::task::JoinHandle<()>>,
    /// Where the app listens, when it was asked to.
    pub address: Option<SocketAddr>,
}

impl Running {
    pub async fn worker(h: &Harness) -> Running {
        Running::start(h, false).await
    }

    pub async fn server_and_worker(h: &Harness) -> Running {
        Running::start(h, true).await
    }

    /// The server alone: jobs wait in the queue until a worker runs.
    pub async fn server(h: &Harness) -> Running {
        Running::start_with(h, true, false).await
    }

    pub async fn start(h: &Harness, serve: bool) -> Running {
        Running::start_with(h, serve, true).await
    }

    async fn start_with(h: &Harness, serve: bool, work: bool) -> Running {
        let shutdown = CancellationToken::new();
        let mut tasks = Vec::new();
        let mut address = None;
        if serve {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("listen");
            address = Some(listener.local_addr().expect("address"));
            let app = h.app.clone();
            let stop = shutdown.clone();
            let state = h.state.clone();
            tasks.push(tokio::spawn(async move {
                // As `cairn serve` does: open event streams end on shutdown.
                let stopping = async move {
                    stop.cancelled().await;
                    state.stop_streams();
                };
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(stopping)
                    .await;
            }));
        }
        if !work {
            return Running {
                shutdown,
                tasks,
                address,
            };
        }
        let mut registry = Registry::with_builtins();
        registry.register(REFRESH_KIND, RefreshHandler(h.state.goals.clone()));
        h.state.hooks.register(&mut registry);
        h.state.notify.register(&mut registry);
        h.state.sync.register(&mut registry);
        h.state.time.register(&mut registry);
        let worker = Worker::new(
            h.state.store.clone(),
            registry,
            WorkerConfig {
                poll_interval: Duration::from_millis(50),
                ..WorkerConfig::default()
            },
            "hooks-test".into(),
            h.state.hooks.signal(),
        );
        let stop = shutdown.clone();
        tasks.push(tokio::spawn(async move {
            worker.run(stop).await.expect("worker ran");
        }));
        Running {
            shutdown,
            tasks,
            address,
        }
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        for task in self.tasks {
            task.await.expect("task");
        }
    }
}

/// A period around today (started ten days ago, ends in ninety), so that
/// statuses mean something.
pub async fn period(h: &Harness) -> i64 {
    let today = chrono::Utc::now().date_naive();
    let reply = h
        .call(
            "POST",
            "/api/v1/periods",
            Some(&h.admin.token),
            Some(serde_json::json!({"name": "Now",
                "starts_on": (today - chrono::Duration::days(10)).to_string(),
                "ends_on": (today + chrono::Duration::days(90)).to_string()})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    reply.body["id"].as_i64().expect("period")
}

/// A key result of `owner`'s in `period`, measured in percent complete
/// from a data link (to be linked).
pub async fn linked_key_result(h: &Harness, period: i64) -> i64 {
    let reply = h
        .call(
            "POST",
            "/api/v1/okrs",
            Some(&h.owner.token),
            Some(
                json!({"kind": "key_result", "title": "Ship it", "period_id": period,
                "measure": {"mode": "percent_complete"}, "progress_source": "data_link"}),
            ),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    reply.body["id"].as_i64().expect("okr")
}

/// Waits (polling, with a deadline) until `check` holds.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }
}

/// A scripted answer: status and headers.
pub type Answer = (u16, Vec<(&'static str, &'static str)>);

#[derive(Clone, Default)]
pub struct ReceiverState {
    pub received: Arc<Mutex<Vec<Received>>>,
    /// Answers to give, in order, before answering 200.
    pub script: Arc<Mutex<VecDeque<Answer>>>,
}

/// A real HTTP receiver on 127.0.0.1:0 that records every request.
pub struct Receiver {
    pub address: SocketAddr,
    pub state: ReceiverState,
    stop: CancellationToken,
}

async fn receive(
    State(state): State<ReceiverState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    let headers = headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                v.to_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    state.received.lock().expect("lock").push(Received {
        path: uri.path().to_owned(),
        headers,
        body: body.to_vec(),
    });
    let next = state.script.lock().expect("lock").pop_front();
    match next {
        Some((status, headers)) => {
            let mut response = (
                StatusCode::from_u16(status).expect("status"),
                "scripted answer",
            )
                .into_response();
            for (name, value) in headers {
                response
                    .headers_mut()
                    .insert(name, axum::http::HeaderValue::from_static(value));
            }
            response
        }
        None => (StatusCode::OK, "ok").into_response(),
    }
}

impl Receiver {
    pub async fn start() -> Receiver {
        let state = ReceiverState::default();
        let app = axum::Router::new()
            .fallback(receive)
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("listen");
        let address = listener.local_addr().expect("address");
        let stop = CancellationToken::new();
        let stopped = stop.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(stopped.cancelled_owned())
                .await;
        });
        Receiver {
            address,
            state,
            stop,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    pub fn script(&self, status: u16, headers: Vec<(&'static str, &'static str)>) {
        self.state
            .script
            .lock()
            .expect("lock")
            .push_back((status, headers));
    }

    pub fn received(&self, path: &str) -> Vec<Received> {
        self.state
            .received
            .lock()
            .expect("lock")
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl Harness {
    /// The harness with notifications that may reach loopback (like the
    /// demo), retry delays scaled down from seconds to milliseconds, and
    /// channels disabled after failing for `disable_after`.
    pub fn with_loopback_notify(self, disable_after: Duration) -> Harness {
        self.with_loopback_notify_scaled(disable_after, 0.001)
    }

    /// [`Harness::with_loopback_notify`] with retry delays (and
    /// `Retry-After`) multiplied by `delay_scale`.
    pub fn with_loopback_notify_scaled(
        mut self,
        disable_after: Duration,
        delay_scale: f64,
    ) -> Harness {
        let settings = NotifySettings {
            public_url: Some("https://cairn.example.com".to_owned()),
            outbound: OutboundConfig {
                policy: DestinationPolicy::parse(["127.0.0.0/8", "::1/128"]).expect("policy"),
                timeout: Duration::from_secs(5),
                ..OutboundConfig::default()
            },
            delay_scale,
            disable_after,
        };
        self.state = self
            .state
            .clone()
            .with_notify_settings(self.keyring.clone(), settings);
        self.app = router(self.state.clone(), &WebConfig::default());
        self
    }
}

/// What a period's dashboard is checked against (see `dashboard_scenario`).
pub struct DashboardScenario {
    pub period: i64,
    pub team: i64,
    /// The team's key result: on track, then done (a status change).
    pub moved: i64,
    /// The owner's key result: on track since its only check-in.
    pub steady: i64,
    /// The owner's linked key result: never checked in on (due), its
    /// connection's token revoked after a first refresh (stale link).
    pub linked: i64,
    /// The owner's GitLab connection, failing.
    pub connection: i64,
}

/// A period with a team, a key result that changed status, one that did
/// not, a stale link and a failing connection (the owner's, not shared).
pub async fn dashboard_scenario(h: &Harness) -> DashboardScenario {
    let period = period(h).await;
    let reply = h
        .call(
            "POST",
            "/api/v1/teams",
            Some(&h.admin.token),
            Some(json!({"name": "Platform", "lead_id": h.admin.id})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let team = reply.body["id"].as_i64().expect("team");
    let mut ids = Vec::new();
    for (token, title, team) in [
        (&h.admin.token, "Cut build time", Some(team)),
        (&h.owner.token, "Answer every ticket", None),
    ] {
        let reply = h
            .call(
                "POST",
                "/api/v1/okrs",
                Some(token),
                Some(
                    json!({"kind": "key_result", "title": title, "period_id": period,
                    "owner_team_id": team, "measure": {"mode": "percent_complete"},
                    "progress_source": "check_in"}),
                ),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        ids.push(reply.body["id"].as_i64().expect("okr"));
    }
    let (moved, steady) = (ids[0], ids[1]);
    for (okr, token, value) in [
        (moved, &h.admin.token, 60.0),
        (steady, &h.owner.token, 60.0),
        (moved, &h.admin.token, 100.0),
    ] {
        let reply = h
            .call(
                "POST",
                &format!("/api/v1/okrs/{okr}/check-ins"),
                Some(token),
                Some(json!({"value": value, "note": "weekly"})),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    }
    let connection = h.gitlab_connection(&h.owner, "Owner's GitLab", false).await;
    let linked = linked_key_result(h, period).await;
    let reply = h
        .call(
            "PUT",
            &format!("/api/v1/okrs/{linked}/link"),
            Some(&h.owner.token),
            Some(json!({"tracker": "gitlab", "connection_id": connection,
                "project": "northwind/checkout"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let reply = h
        .call(
            "PATCH",
            &format!("/api/v1/connections/{connection}"),
            Some(&h.owner.token),
            Some(json!({"secret": "revoked-token"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let reply = h
        .call(
            "POST",
            &format!("/api/v1/okrs/{linked}/refresh"),
            Some(&h.owner.token),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert!(reply.body["error"].is_object(), "{}", reply.text);
    DashboardScenario {
        period,
        team,
        moved,
        steady,
        linked,
        connection,
    }
}
