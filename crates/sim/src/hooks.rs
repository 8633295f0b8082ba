//! Outgoing webhooks: a queue drained by one background task, so an API
//! response never waits for a delivery.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::control::Service;

/// One queued webhook request.
#[derive(Debug, Clone)]
pub(crate) struct Delivery {
    pub service: Service,
    pub event: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// The outcome of one delivery attempt, for tests and `/_sim/deliveries`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DeliveryRecord {
    /// Which service sent it.
    pub service: Service,
    /// `Issue Hook`, `jira:issue_updated`, ...
    pub event: String,
    /// Target URL.
    pub url: String,
    /// HTTP status, when a response arrived.
    pub status: Option<u16>,
    /// Transport error, when none did.
    pub error: Option<String>,
}

/// Sending side of the queue plus the delivery log.
pub(crate) struct Outbox {
    tx: mpsc::UnboundedSender<Delivery>,
    records: Arc<Mutex<Vec<DeliveryRecord>>>,
}

impl Outbox {
    /// Creates the queue and spawns its worker (stops on shutdown).
    pub fn new(mut shutdown: watch::Receiver<bool>) -> (Outbox, JoinHandle<()>) {
        let (tx, mut rx) = mpsc::unbounded_channel::<Delivery>();
        let records = Arc::new(Mutex::new(Vec::new()));
        let log = records.clone();
        let worker = tokio::spawn(async move {
            let client = match reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
            {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!(error = %e, "cannot build webhook client");
                    return;
                }
            };
            loop {
                let d = tokio::select! {
                    d = rx.recv() => match d { Some(d) => d, None => break },
                    _ = shutdown.wait_for(|v| *v) => break,
                };
                let mut req = client.post(&d.url).body(d.body.clone());
                for (k, v) in &d.headers {
                    req = req.header(k.as_str(), v.as_str());
                }
                let rec = match req.send().await {
                    Ok(resp) => DeliveryRecord {
                        service: d.service,
                        event: d.event.clone(),
                        url: d.url.clone(),
                        status: Some(resp.status().as_u16()),
                        error: None,
                    },
                    Err(e) => DeliveryRecord {
                        service: d.service,
                        event: d.event.clone(),
                        url: d.url.clone(),
                        status: None,
                        error: Some(e.to_string()),
                    },
                };
                tracing::debug!(url = %d.url, event = %d.event, status = ?rec.status, "webhook delivered");
                log.lock().unwrap_or_else(|e| e.into_inner()).push(rec);
            }
        });
        (Outbox { tx, records }, worker)
    }

    /// Queues a delivery; never blocks.
    pub fn enqueue(&self, d: Delivery) {
        if self.tx.send(d).is_err() {
            tracing::debug!("webhook queue closed; delivery dropped");
        }
    }

    /// Deliveries attempted so far.
    pub fn records(&self) -> Vec<DeliveryRecord> {
        self.records
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}
