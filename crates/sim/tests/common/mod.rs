//! Shared test helpers.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::http::HeaderMap;
use axum::routing::post;
use cairn_sim::{DataSource, JiraFlavour, SimConfig, SimHandle};
use serde_json::{Value, json};

pub mod schemas;

pub async fn sim(flavour: JiraFlavour) -> SimHandle {
    cairn_sim::start(SimConfig {
        jira_flavour: flavour,
        data: DataSource::Sample,
        ..SimConfig::default()
    })
    .await
    .expect("simulator starts")
}

pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata")
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

/// A webhook receiver recording (headers, body) of every POST.
pub struct Receiver {
    pub url: String,
    pub got: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Receiver {
    pub async fn start() -> Receiver {
        let got: Arc<Mutex<Vec<(HeaderMap, Bytes)>>> = Arc::default();
        let g = got.clone();
        let app = Router::new().route(
            "/hook",
            post(move |h: HeaderMap, b: Bytes| {
                let g = g.clone();
                async move {
                    g.lock().expect("lock").push((h, b));
                    "ok"
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .await;
        });
        Receiver {
            url: format!("http://{addr}/hook"),
            got,
            stop: Some(tx),
        }
    }

    /// Waits until `n` deliveries arrived (or fails after 5 s).
    pub async fn wait_for(&self, n: usize) -> Vec<(HeaderMap, Bytes)> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            {
                let g = self.got.lock().expect("lock");
                if g.len() >= n {
                    return g.clone();
                }
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {n} webhook deliveries"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

/// Every key path of `reference` (objects recursively, first array element)
/// that `actual` lacks.
pub fn missing_keys(
    reference: &serde_json::Value,
    actual: &serde_json::Value,
    path: &str,
) -> Vec<String> {
    use serde_json::Value;
    let mut out = Vec::new();
    match (reference, actual) {
        (Value::Object(r), Value::Object(a)) => {
            for (k, rv) in r {
                let p = format!("{path}.{k}");
                match a.get(k) {
                    None => out.push(p),
                    Some(av) => out.extend(missing_keys(rv, av, &p)),
                }
            }
        }
        (Value::Array(r), Value::Array(a)) => {
            if let (Some(rf), Some(af)) = (r.first(), a.first()) {
                out.extend(missing_keys(rf, af, &format!("{path}[0]")));
            }
        }
        _ => {}
    }
    out
}

/// A real capture, less what differs per event or per site: the keys of
/// `changes` (which fields changed), site-specific custom fields and the
/// legacy `name`/`key` of Cloud users (removed for privacy).
pub fn capture(rel: &str) -> Value {
    let text = std::fs::read_to_string(fixtures().join(rel)).expect("capture readable");
    let mut v: Value = serde_json::from_str(&text).expect("capture json");
    if let Some(ch) = v.get_mut("changes") {
        *ch = json!({});
    }
    strip_site_specific(&mut v);
    v
}

pub fn strip_site_specific(v: &mut Value) {
    match v {
        Value::Object(o) => {
            o.retain(|k, _| !k.starts_with("customfield_"));
            if o.contains_key("accountId") {
                o.remove("name");
                o.remove("key");
            }
            o.values_mut().for_each(strip_site_specific);
        }
        Value::Array(a) => a.iter_mut().for_each(strip_site_specific),
        _ => {}
    }
}

pub fn header(h: &axum::http::HeaderMap, k: &str) -> String {
    h.get(k)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

pub async fn ctl(c: &reqwest::Client, base: &str, path: &str, body: Value) -> (u16, Value) {
    let r = c
        .post(format!("{base}{path}"))
        .json(&body)
        .send()
        .await
        .expect("send");
    let st = r.status().as_u16();
    (st, r.json().await.unwrap_or(Value::Null))
}
