//! Progress changes as they commit, for pages that show them live: on
//! PostgreSQL from every instance (`NOTIFY cairn_progress` in the
//! transaction that records progress, one `LISTEN` connection per process),
//! on SQLite from this process (sent after commit).

use tokio::sync::broadcast;

/// The PostgreSQL channel progress changes are announced on.
pub(crate) const CHANNEL: &str = "cairn_progress";
/// Signals kept for a slow receiver before it is told it lagged.
const CAPACITY: usize = 4096;
/// Longest `NOTIFY` payload we send (PostgreSQL's limit is 8000 bytes).
const MAX_PAYLOAD: usize = 7000;

/// What a live page hears.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressSignal {
    /// This OKR's progress was recorded (committed).
    Changed(i64),
    /// Changes may have been missed (the listening connection was lost and
    /// opened again): read everything again.
    Resync,
}

/// The sending side, one per store.
#[derive(Clone)]
pub(crate) struct Feed(broadcast::Sender<ProgressSignal>);

impl Default for Feed {
    fn default() -> Self {
        Feed(broadcast::channel(CAPACITY).0)
    }
}

impl Feed {
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<ProgressSignal> {
        self.0.subscribe()
    }

    /// Nobody listening is not an error.
    pub(crate) fn send(&self, signal: ProgressSignal) {
        let _ = self.0.send(signal);
    }
}

/// OKR ids as `NOTIFY` payloads: comma-separated, each under the limit.
pub(crate) fn payloads(ids: &[i64]) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for id in ids {
        let text = id.to_string();
        if !current.is_empty() && current.len() + text.len() + 1 > MAX_PAYLOAD {
            out.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(',');
        }
        current.push_str(&text);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// The OKR ids of a payload; anything else in it is skipped.
pub(crate) fn parse(payload: &str) -> impl Iterator<Item = i64> + '_ {
    payload.split(',').filter_map(|p| p.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_round_trip_and_stay_under_the_limit() {
        let ids: Vec<i64> = (1_000_000_000..1_000_002_000).collect();
        let payloads = payloads(&ids);
        assert!(payloads.len() > 1);
        assert!(payloads.iter().all(|p| p.len() <= MAX_PAYLOAD));
        let back: Vec<i64> = payloads.iter().flat_map(|p| parse(p)).collect();
        assert_eq!(back, ids);
        assert!(super::payloads(&[]).is_empty());
    }
}
