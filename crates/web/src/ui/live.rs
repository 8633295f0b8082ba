//! Live progress: the bars on a page move and change colour without a
//! reload when a refresh, a scheduled poll or a webhook changes an OKR.
//!
//! `/live?ids=1,2` is a server-sent event stream: one `progress` event with
//! every bar at once, then one whenever a bar changes. It reads the stored
//! progress when the store announces a change to one of its OKRs (from any
//! instance: PostgreSQL `LISTEN`/`NOTIFY`, or this process on SQLite), and
//! otherwise only every [`SAFETY_POLL`], so a thousand open pages cost the
//! database nothing while nothing changes. It ends after a few minutes;
//! the browser reconnects (signing in again with the cookie, so an expired
//! session stops it).
//! `/live.json?ids=1,2` answers the same once, for the script's polling
//! fallback. [`AppState::stop_streams`] ends every stream at once, for a
//! graceful shutdown.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use axum::Json;
use axum::extract::{Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use cairn_engine::accounts::Authenticated;
use cairn_store::ProgressSignal;
use serde::Deserialize;
use tokio::sync::broadcast;

use super::common::Bar;
use crate::auth::Caller;
use crate::{ApiError, AppState};

/// How often the stream reads the stored progress when it heard of no
/// change: a backstop for a change it missed, not the way changes arrive.
const SAFETY_POLL: Duration = Duration::from_secs(30);
/// After hearing of a change, how long to gather more before reading (a
/// burst of changes is one read).
const GATHER: Duration = Duration::from_millis(50);
/// How long one stream lasts before the browser reconnects.
const LIFETIME: Duration = Duration::from_secs(300);
/// At most this many bars a stream.
const MAX_IDS: usize = 500;

#[derive(Deserialize)]
pub(crate) struct LiveQuery {
    #[serde(default)]
    ids: String,
}

fn ids(query: &LiveQuery) -> Result<Vec<i64>, ApiError> {
    let mut ids = Vec::new();
    for part in query
        .ids
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        ids.push(
            part.parse()
                .map_err(|_| ApiError::invalid_field("ids", format!("`{part}` is not an id")))?,
        );
    }
    if ids.len() > MAX_IDS {
        return Err(ApiError::invalid_field(
            "ids",
            format!("at most {MAX_IDS} OKRs at once"),
        ));
    }
    Ok(ids)
}

/// An OKR's bar with when its data link last synced, so a live page's
/// "synced … ago" follows every refresh.
async fn live_bar(state: &AppState, okr: &cairn_store::goals::Okr) -> Result<Bar, ApiError> {
    let mut bar = Bar::new(okr.id, &okr.fields.measure, okr.progress.as_ref());
    if okr.fields.progress_source == cairn_core::goals::ProgressSource::DataLink {
        bar.synced_at = state
            .store
            .link_for_okr(okr.id)
            .await
            .map_err(cairn_engine::EngineError::from)?
            .and_then(|link| link.last_success_at)
            .map(super::common::iso);
    }
    Ok(bar)
}

/// The bars of `ids` as stored now; OKRs that vanished or are not visible
/// are left out.
async fn bars(state: &AppState, who: &Authenticated, ids: &[i64]) -> Result<Vec<Bar>, ApiError> {
    let mut out = Vec::with_capacity(ids.len());
    if ids.len() <= 10 {
        for id in ids {
            match state.goals.get_okr(who, *id).await {
                Ok(okr) => out.push(live_bar(state, &okr).await?),
                Err(cairn_engine::EngineError::NotFound(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
    } else {
        let wanted: HashSet<i64> = ids.iter().copied().collect();
        for okr in state.goals.list_okrs(who, None).await? {
            if wanted.contains(&okr.id) {
                out.push(live_bar(state, &okr).await?);
            }
        }
    }
    Ok(out)
}

/// The bars once, as JSON (the polling fallback).
pub(crate) async fn live_json(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<LiveQuery>,
) -> Result<Json<Vec<Bar>>, ApiError> {
    let who = caller.require()?;
    Ok(Json(bars(&state, who, &ids(&query)?).await?))
}

struct Stream {
    state: AppState,
    who: Authenticated,
    ids: Vec<i64>,
    wanted: HashSet<i64>,
    /// What each bar last showed, to send only changes.
    sent: HashMap<i64, String>,
    started: tokio::time::Instant,
    first: bool,
    changes: broadcast::Receiver<ProgressSignal>,
}

/// Why a stream reads again.
enum Wake {
    /// These OKRs changed; heard at that moment.
    Changed(HashSet<i64>, tokio::time::Instant),
    /// Anything may have changed: read every bar.
    All,
    Stop,
}

impl Stream {
    /// Waits until one of the stream's OKRs may have changed, or the safety
    /// poll is due.
    async fn wait(&mut self) -> Wake {
        let poll = tokio::time::sleep(SAFETY_POLL);
        tokio::pin!(poll);
        let mut changed = HashSet::new();
        loop {
            tokio::select! {
                _ = &mut poll => return Wake::All,
                _ = self.state.streams.cancelled() => return Wake::Stop,
                signal = self.changes.recv() => match signal {
                    Ok(ProgressSignal::Changed(id)) if self.wanted.contains(&id) => {
                        changed.insert(id);
                        break;
                    }
                    Ok(ProgressSignal::Changed(_)) => {}
                    Ok(ProgressSignal::Resync) | Err(broadcast::error::RecvError::Lagged(_)) => {
                        return Wake::All;
                    }
                    // The store's feed is gone: the safety poll remains.
                    Err(broadcast::error::RecvError::Closed) => {
                        (&mut poll).await;
                        return Wake::All;
                    }
                },
            }
        }
        let heard = tokio::time::Instant::now();
        tokio::select! {
            _ = tokio::time::sleep(GATHER) => {}
            _ = self.state.streams.cancelled() => return Wake::Stop,
        }
        // What arrived meanwhile is read with it.
        loop {
            match self.changes.try_recv() {
                Ok(ProgressSignal::Changed(id)) => {
                    if self.wanted.contains(&id) {
                        changed.insert(id);
                    }
                }
                Ok(ProgressSignal::Resync) | Err(broadcast::error::TryRecvError::Lagged(_)) => {
                    return Wake::All;
                }
                Err(_) => break,
            }
        }
        Wake::Changed(changed, heard)
    }

    /// The bars of the OKRs that changed, each read once for every page of
    /// this process that heard of the change.
    async fn changed_bars(
        &self,
        ids: &HashSet<i64>,
        heard: tokio::time::Instant,
    ) -> Result<Vec<Bar>, ApiError> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            match self.state.goals.get_okr_since(&self.who, *id, heard).await {
                Ok(okr) => out.push(live_bar(&self.state, &okr).await?),
                Err(cairn_engine::EngineError::NotFound(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(out)
    }
}

/// The event stream.
pub(crate) async fn live(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<LiveQuery>,
) -> Result<Response, ApiError> {
    let who = caller.require()?.clone();
    let ids = ids(&query)?;
    // Subscribed before the first read, so no change slips in between.
    let changes = state.goals.watch_progress();
    let start = Stream {
        state,
        who,
        wanted: ids.iter().copied().collect(),
        ids,
        sent: HashMap::new(),
        started: tokio::time::Instant::now(),
        first: true,
        changes,
    };
    let events = futures_util::stream::unfold(start, |mut s| async move {
        loop {
            if s.started.elapsed() > LIFETIME || s.state.streams.is_cancelled() {
                return None;
            }
            let read = if s.first {
                bars(&s.state, &s.who, &s.ids).await
            } else {
                match s.wait().await {
                    Wake::Stop => return None,
                    Wake::All => bars(&s.state, &s.who, &s.ids).await,
                    Wake::Changed(ids, heard) => s.changed_bars(&ids, heard).await,
                }
            };
            s.first = false;
            let Ok(now) = read else {
                // A failing store ends the stream; the browser retries.
                return None;
            };
            let changed: Vec<Bar> = now
                .into_iter()
                .filter(|bar| {
                    let text = serde_json::to_string(bar).unwrap_or_default();
                    s.sent.insert(bar.okr_id, text.clone()) != Some(text)
                })
                .collect();
            if changed.is_empty() {
                continue;
            }
            let event = Event::default()
                .event("progress")
                .json_data(&changed)
                .unwrap_or_else(|_| Event::default().comment("unserialisable"));
            return Some((Ok::<_, std::convert::Infallible>(event), s));
        }
    });
    Ok(Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response())
}
