//! Outgoing webhooks: a queue drained by background tasks, so an API
//! response never waits for a delivery.
//!
//! A few senders work at once (GitLab and Jira send from many workers too),
//! but deliveries that share an order key (the hook and the project) always
//! go through the same sender, one after another: a project's webhooks
//! arrive in the order its changes happened. One sender alone held a
//! benchmark to one delivery per round trip.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::faults::Service;

/// Senders working at once.
const SENDERS: usize = 8;

/// One queued webhook request.
#[derive(Debug, Clone)]
pub(crate) struct Delivery {
    pub service: Service,
    pub event: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Deliveries with the same key are sent in the order they were queued
    /// (the service's project; the URL is added).
    pub order_key: String,
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
    /// Creates the queue and spawns its senders (they stop on shutdown).
    pub fn new(shutdown: watch::Receiver<bool>) -> (Outbox, JoinHandle<()>) {
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
            let mut lanes = Vec::with_capacity(SENDERS);
            let mut senders = Vec::with_capacity(SENDERS);
            for _ in 0..SENDERS {
                let (lane_tx, lane_rx) = mpsc::unbounded_channel::<Delivery>();
                lanes.push(lane_tx);
                senders.push(tokio::spawn(send_in_order(
                    client.clone(),
                    lane_rx,
                    log.clone(),
                    shutdown.clone(),
                )));
            }
            let mut stop = shutdown.clone();
            let mut assigned: HashMap<(String, String), usize> = HashMap::new();
            loop {
                let d = tokio::select! {
                    d = rx.recv() => match d { Some(d) => d, None => break },
                    _ = stop.wait_for(|v| *v) => break,
                };
                // Each new (URL, key) takes the next sender in turn.
                let next = assigned.len() % SENDERS;
                let lane = *assigned
                    .entry((d.url.clone(), d.order_key.clone()))
                    .or_insert(next);
                if lanes[lane].send(d).is_err() {
                    break;
                }
            }
            drop(lanes);
            for sender in senders {
                let _ = sender.await;
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

/// One sender: its deliveries one after another, in queue order.
async fn send_in_order(
    client: reqwest::Client,
    mut rx: mpsc::UnboundedReceiver<Delivery>,
    log: Arc<Mutex<Vec<DeliveryRecord>>>,
    mut shutdown: watch::Receiver<bool>,
) {
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
}
