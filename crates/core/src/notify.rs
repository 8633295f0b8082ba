//! Notifications out: what happened to an OKR or a sync pair, said once in
//! a form every channel (Slack, Teams, a signed webhook) renders, and the
//! schedule on which a failed delivery is tried again.
//!
//! Pure: the engine builds a [`NotificationEvent`] from an assessment and
//! stores it as a job payload; `cairn_connect::outbound` turns it into a
//! request body and sends it.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::goals::Status;
use crate::goals::measure::display_percent;

/// Whether the OKR an event is about is an objective or a key result (the
/// same stable names as the store's OKR kind).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OkrKind {
    Objective,
    KeyResult,
}

impl OkrKind {
    /// The stable name: `objective` or `key_result`.
    pub fn as_str(self) -> &'static str {
        match self {
            OkrKind::Objective => "objective",
            OkrKind::KeyResult => "key_result",
        }
    }

    /// The name people read: "Objective" or "Key result".
    pub fn label(self) -> &'static str {
        match self {
            OkrKind::Objective => "Objective",
            OkrKind::KeyResult => "Key result",
        }
    }
}

/// Which kind of event a notification is; subscriptions filter on these
/// stable names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// The OKR's status changed (e.g. on track to at risk).
    StatusChanged,
    /// The OKR reached its target.
    TargetReached,
    /// The OKR's progress is old: its data link failed to refresh repeatedly.
    LinkStale,
    /// The OKR's data link fails to refresh.
    LinkFailing,
    /// A connection the OKR's data is read through is unhealthy.
    ConnectionUnhealthy,
    /// A sync pair's items have been failing for a while, or one of its
    /// sides cannot be reached: about a pair, not an OKR.
    SyncFailing,
    /// A key result has not been checked in on for its period's cadence:
    /// the reminder, sent once per missed check-in.
    CheckInDue,
}

impl EventKind {
    /// Every kind, in declaration order (for pickers and round-trip tests).
    pub const ALL: [EventKind; 7] = [
        EventKind::StatusChanged,
        EventKind::TargetReached,
        EventKind::LinkStale,
        EventKind::LinkFailing,
        EventKind::ConnectionUnhealthy,
        EventKind::SyncFailing,
        EventKind::CheckInDue,
    ];

    /// Whether events of this kind are about an OKR, so a subscription to
    /// one OKR (or its subtree) can hear them.
    pub fn is_about_okrs(self) -> bool {
        !matches!(self, EventKind::SyncFailing)
    }

    /// The stable name, e.g. `status_changed`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::StatusChanged => "status_changed",
            EventKind::TargetReached => "target_reached",
            EventKind::LinkStale => "link_stale",
            EventKind::LinkFailing => "link_failing",
            EventKind::ConnectionUnhealthy => "connection_unhealthy",
            EventKind::SyncFailing => "sync_failing",
            EventKind::CheckInDue => "check_in_due",
        }
    }

    /// The kind with this stable name, if any.
    pub fn parse(name: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// The hierarchical event type of signed webhooks (Standard Webhooks'
    /// `type`), e.g. `okr.status_changed`, `sync.failing`: named after what
    /// the event is about.
    pub fn webhook_type(self) -> &'static str {
        match self {
            EventKind::StatusChanged => "okr.status_changed",
            EventKind::TargetReached => "okr.target_reached",
            EventKind::LinkStale => "okr.link_stale",
            EventKind::LinkFailing => "okr.link_failing",
            EventKind::ConnectionUnhealthy => "okr.connection_unhealthy",
            EventKind::SyncFailing => "sync.failing",
            EventKind::CheckInDue => "okr.check_in_due",
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not one of [`EventKind`]'s stable names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown notification event kind `{0}`")]
pub struct UnknownEventKind(pub String);

impl FromStr for EventKind {
    type Err = UnknownEventKind;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        EventKind::parse(name).ok_or_else(|| UnknownEventKind(name.to_owned()))
    }
}

/// What happened, with the facts only this kind of event has. Serialised
/// with its stable name in `kind`, next to the event's common fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventDetail {
    /// The status went from `from` to `to`.
    StatusChanged { from: Status, to: Status },
    /// The target is reached.
    TargetReached,
    /// The data link failed `failures` refreshes in a row, so the progress
    /// shown is old.
    LinkStale { failures: u32, last_error: String },
    /// The data link's refreshes fail.
    LinkFailing,
    /// A connection the OKR reads through failed its health check; `code`
    /// is the connector's diagnosis code (e.g. `unauthorized`). One failure
    /// is one event, however many OKRs read through the connection: the
    /// others are `also_affected`, so a channel hears it once.
    ConnectionUnhealthy {
        connection_id: i64,
        connection_name: String,
        code: String,
        #[serde(default)]
        also_affected: Vec<i64>,
    },
    /// No check-in for `every_days` days: one was due at `due_since`.
    CheckInDue {
        due_since: DateTime<Utc>,
        every_days: i64,
    },
}

impl EventDetail {
    /// The kind subscriptions filter on.
    pub fn kind(&self) -> EventKind {
        match self {
            EventDetail::StatusChanged { .. } => EventKind::StatusChanged,
            EventDetail::TargetReached => EventKind::TargetReached,
            EventDetail::LinkStale { .. } => EventKind::LinkStale,
            EventDetail::LinkFailing => EventKind::LinkFailing,
            EventDetail::ConnectionUnhealthy { .. } => EventKind::ConnectionUnhealthy,
            EventDetail::CheckInDue { .. } => EventKind::CheckInDue,
        }
    }
}

/// One notification about one OKR: stored as a job payload and rendered by
/// every channel format. Everything a message shows is in here, so a
/// delivery retried hours later says what was true when it happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotificationEvent {
    pub okr_id: i64,
    pub okr_title: String,
    pub okr_kind: OkrKind,
    /// Absolute URL of the OKR's page in Cairn, for the message's button.
    pub okr_url: String,
    /// The OKR's status when the event happened (for a status change, its
    /// new status).
    pub status: Status,
    /// Progress in percent (0..=100).
    pub progress_percent: f64,
    /// Expected progress in percent, when the OKR has a schedule.
    pub expected_percent: Option<f64>,
    pub occurred_at: DateTime<Utc>,
    /// What happened.
    #[serde(flatten)]
    pub detail: EventDetail,
}

impl NotificationEvent {
    /// The kind subscriptions filter on.
    pub fn kind(&self) -> EventKind {
        self.detail.kind()
    }
}

/// The colour a message is marked with, following the progress bars'
/// status colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Colour {
    /// Not started, or nothing to judge.
    Grey,
    /// On track, or the target reached.
    Green,
    /// Behind, or a warning (stale data).
    Orange,
    /// At risk, or a failure.
    Red,
    /// Done.
    Blue,
}

impl Colour {
    /// The colour of a status's progress bar.
    pub fn for_status(status: Status) -> Colour {
        match status {
            Status::NotStarted => Colour::Grey,
            Status::OnTrack => Colour::Green,
            Status::Behind => Colour::Orange,
            Status::AtRisk => Colour::Red,
            Status::Done => Colour::Blue,
        }
    }

    /// The stable name, e.g. `orange`.
    pub fn as_str(self) -> &'static str {
        match self {
            Colour::Grey => "grey",
            Colour::Green => "green",
            Colour::Orange => "orange",
            Colour::Red => "red",
            Colour::Blue => "blue",
        }
    }

    /// `#rrggbb`, for formats that take a colour value.
    pub fn hex(self) -> &'static str {
        match self {
            Colour::Grey => "#6b7280",
            Colour::Green => "#15803d",
            Colour::Orange => "#ea7a0c",
            Colour::Red => "#dc2626",
            Colour::Blue => "#2563eb",
        }
    }
}

/// The human-readable lines every format starts from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// A short headline, e.g. "Checkout revamp is now at risk".
    pub title: String,
    /// One sentence with the numbers, e.g. "Checkout revamp is now at risk
    /// (42% of 60% expected), was behind."
    pub text: String,
    pub colour: Colour,
}

/// A status in words, for sentences: "on track", "at risk".
pub fn status_phrase(status: Status) -> &'static str {
    match status {
        Status::NotStarted => "not started",
        Status::OnTrack => "on track",
        Status::Behind => "behind",
        Status::AtRisk => "at risk",
        Status::Done => "done",
    }
}

/// A status as a label, for fields: "On track", "At risk".
pub fn status_label(status: Status) -> &'static str {
    match status {
        Status::NotStarted => "Not started",
        Status::OnTrack => "On track",
        Status::Behind => "Behind",
        Status::AtRisk => "At risk",
        Status::Done => "Done",
    }
}

/// Progress against expected, as people read it: "42% of 60% expected",
/// or "42%" without a schedule. Whole percents, by the display rule.
pub fn progress_phrase(event: &NotificationEvent) -> String {
    let progress = display_percent(event.progress_percent);
    match event.expected_percent {
        Some(expected) => format!("{progress}% of {}% expected", display_percent(expected)),
        None => format!("{progress}%"),
    }
}

/// The headline, sentence and colour of an event, shared by all formats so
/// Slack, Teams and e-mail say the same thing.
pub fn summary(event: &NotificationEvent) -> Summary {
    let name = event.okr_title.trim();
    let progress = progress_phrase(event);
    match &event.detail {
        EventDetail::StatusChanged { from, to } => {
            let title = format!("{name} is now {}", status_phrase(*to));
            Summary {
                text: format!("{title} ({progress}), was {}.", status_phrase(*from)),
                title,
                colour: Colour::for_status(*to),
            }
        }
        EventDetail::TargetReached => Summary {
            title: format!("{name} reached its target"),
            text: format!("{name} reached its target ({progress})."),
            colour: Colour::Green,
        },
        EventDetail::LinkStale {
            failures,
            last_error,
        } => {
            let times = if *failures == 1 {
                "1 refresh".to_owned()
            } else {
                format!("{failures} refreshes")
            };
            let error = one_line(last_error);
            let reason = if error.is_empty() {
                String::new()
            } else {
                format!(": {error}")
            };
            Summary {
                title: format!("Progress of {name} is out of date"),
                text: format!(
                    "Progress of {name} ({progress}) is out of date: its data link failed {times} in a row{reason}."
                ),
                colour: Colour::Orange,
            }
        }
        EventDetail::CheckInDue {
            due_since,
            every_days,
        } => {
            let cadence = if *every_days == 1 {
                "every day".to_owned()
            } else {
                format!("every {every_days} days")
            };
            Summary {
                title: format!("A check-in on {name} is due"),
                text: format!(
                    "A check-in on {name} ({progress}) is due since {}: its period asks for one {cadence}.",
                    due_since.format("%Y-%m-%d")
                ),
                colour: Colour::Blue,
            }
        }
        EventDetail::LinkFailing => Summary {
            title: format!("The data link of {name} is failing"),
            text: format!(
                "The data link of {name} is failing; the progress shown ({progress}) may be out of date."
            ),
            colour: Colour::Red,
        },
        EventDetail::ConnectionUnhealthy {
            connection_name,
            code,
            also_affected,
            ..
        } => {
            let connection = connection_name.trim();
            let others = match also_affected.len() {
                0 => String::new(),
                1 => " and 1 other OKR".to_owned(),
                n => format!(" and {n} other OKRs"),
            };
            Summary {
                title: format!("Connection {connection} is unhealthy"),
                text: format!(
                    "Connection {connection} is unhealthy ({code}); progress of {name} ({progress}){others} may be out of date."
                ),
                colour: Colour::Red,
            }
        }
    }
}

/// A synced item that has been failing, as a sync event names it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailingSyncItem {
    /// The item's key on each side, once it exists there (`#12`, `OPS-3`).
    pub left_key: Option<String>,
    pub right_key: Option<String>,
    pub failing_since: DateTime<Utc>,
    pub last_error: String,
}

/// A side of a pair its scan could not reach.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnreachableSide {
    /// `left` or `right`.
    pub side: String,
    pub connection_name: String,
    pub error: String,
    pub since: DateTime<Utc>,
}

/// One notification about one sync pair: its items have been failing for
/// a while, or a side cannot be reached. Said once per episode: the pair
/// is heard from again only after it recovered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename = "sync_failing")]
pub struct SyncFailingEvent {
    pub pair_id: i64,
    pub pair_name: String,
    /// Absolute URL of the pair's page in Cairn.
    pub pair_url: String,
    /// How many items have been failing for longer than the threshold.
    pub failing_count: u32,
    /// The first few of them, oldest failure first.
    pub failing_items: Vec<FailingSyncItem>,
    pub unreachable_sides: Vec<UnreachableSide>,
    pub occurred_at: DateTime<Utc>,
}

impl SyncFailingEvent {
    /// The item keys as people read them: "#12 ↔ OPS-3".
    pub fn item_name(item: &FailingSyncItem) -> String {
        match (&item.left_key, &item.right_key) {
            (Some(l), Some(r)) => format!("{l} ↔ {r}"),
            (Some(k), None) | (None, Some(k)) => k.clone(),
            (None, None) => "an item".to_owned(),
        }
    }
}

/// What a channel delivers: an event about an OKR or about a sync pair.
/// Stored untagged so deliveries queued before sync events existed still
/// read as OKR events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Notification {
    Okr(NotificationEvent),
    Sync(SyncFailingEvent),
}

impl From<NotificationEvent> for Notification {
    fn from(event: NotificationEvent) -> Self {
        Notification::Okr(event)
    }
}

impl From<SyncFailingEvent> for Notification {
    fn from(event: SyncFailingEvent) -> Self {
        Notification::Sync(event)
    }
}

impl Notification {
    pub fn kind(&self) -> EventKind {
        match self {
            Notification::Okr(event) => event.kind(),
            Notification::Sync(_) => EventKind::SyncFailing,
        }
    }

    pub fn occurred_at(&self) -> DateTime<Utc> {
        match self {
            Notification::Okr(event) => event.occurred_at,
            Notification::Sync(event) => event.occurred_at,
        }
    }

    /// The Cairn page the message's button opens.
    pub fn url(&self) -> &str {
        match self {
            Notification::Okr(event) => &event.okr_url,
            Notification::Sync(event) => &event.pair_url,
        }
    }

    /// Replaces the page link (made absolute by the fan-out).
    pub fn set_url(&mut self, url: String) {
        match self {
            Notification::Okr(event) => event.okr_url = url,
            Notification::Sync(event) => event.pair_url = url,
        }
    }

    /// The headline, sentence and colour every format starts from.
    pub fn summary(&self) -> Summary {
        match self {
            Notification::Okr(event) => summary(event),
            Notification::Sync(event) => sync_summary(event),
        }
    }
}

/// The headline and sentence of a sync pair's trouble.
pub fn sync_summary(event: &SyncFailingEvent) -> Summary {
    let name = event.pair_name.trim();
    let mut parts = Vec::new();
    for side in &event.unreachable_sides {
        parts.push(format!(
            "its {} side ({}) cannot be reached: {}",
            side.side,
            side.connection_name.trim(),
            one_line(&side.error)
        ));
    }
    if event.failing_count > 0 {
        let items = if event.failing_count == 1 {
            "1 item has".to_owned()
        } else {
            format!("{} items have", event.failing_count)
        };
        let first = event
            .failing_items
            .first()
            .map_or_else(String::new, |item| {
                format!(
                    " (first {}: {})",
                    SyncFailingEvent::item_name(item),
                    one_line(&item.last_error)
                )
            });
        parts.push(format!("{items} been failing for over an hour{first}"));
    }
    let title = format!("Sync pair {name} is failing");
    let text = if parts.is_empty() {
        format!("{title}.")
    } else {
        format!("Sync pair {name}: {}.", parts.join("; "))
    };
    Summary {
        title,
        text,
        colour: Colour::Red,
    }
}

/// Collapses whitespace so an error message fits on one line.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Delays before the 2nd, 3rd, … attempt: Standard Webhooks' example
/// schedule (5 s, 5 min, 30 min, 2 h, 5 h, 10 h), about 17½ hours in all.
pub const DELIVERY_SCHEDULE: [Duration; 6] = [
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
];

/// Attempts a delivery gets in all, the first included.
pub const MAX_DELIVERY_ATTEMPTS: u32 = DELIVERY_SCHEDULE.len() as u32 + 1;

/// Share of a delay randomised either way (±20%), so that deliveries that
/// failed together do not all retry in the same second.
pub const DELIVERY_JITTER: f64 = 0.2;

/// The longest `Retry-After` honoured: a server asking for more is retried
/// after this, and the schedule decides when to give up.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// The wait after the `attempt`-th failed attempt (1 for the first), or
/// `None` when the delivery should be given up. `jitter` is a number in
/// [0, 1) the caller draws at random, so the rule stays pure: 0.5 gives
/// the scheduled delay exactly, 0 gives 20% less, 1 gives 20% more.
pub fn delivery_delay(attempt: u32, jitter: f64) -> Option<Duration> {
    let index = attempt.max(1) as usize - 1;
    let base = *DELIVERY_SCHEDULE.get(index)?;
    let unit = if jitter.is_finite() {
        jitter.clamp(0.0, 1.0)
    } else {
        0.5
    };
    let factor = 1.0 + DELIVERY_JITTER * (2.0 * unit - 1.0);
    Some(base.mul_f64(factor))
}

/// The wait before the next attempt when the server also said when to come
/// back: the later of the two, with `Retry-After` capped at
/// [`MAX_RETRY_AFTER`].
pub fn honour_retry_after(scheduled: Duration, retry_after: Option<Duration>) -> Duration {
    match retry_after {
        Some(wait) => scheduled.max(wait.min(MAX_RETRY_AFTER)),
        None => scheduled,
    }
}

/// [`delivery_delay`] and [`honour_retry_after`] in one: the wait after the
/// `attempt`-th failed attempt, or `None` to give up.
pub fn next_delivery_delay(
    attempt: u32,
    jitter: f64,
    retry_after: Option<Duration>,
) -> Option<Duration> {
    delivery_delay(attempt, jitter).map(|scheduled| honour_retry_after(scheduled, retry_after))
}

/// The event a key result's new status makes, if any: reaching `done` is
/// [`EventDetail::TargetReached`]; moving between on track, behind and at
/// risk is [`EventDetail::StatusChanged`]. The first computation (`old` is
/// `None`), an unchanged status and moves to `not_started` are no event.
pub fn status_event(old: Option<Status>, new: Status) -> Option<EventDetail> {
    let old = old?;
    if old == new {
        return None;
    }
    match new {
        Status::Done => Some(EventDetail::TargetReached),
        Status::OnTrack | Status::Behind | Status::AtRisk => {
            Some(EventDetail::StatusChanged { from: old, to: new })
        }
        Status::NotStarted => None,
    }
}

/// The event a link's `failures`-th refresh failure in a row makes: stale
/// at the first, failing at the third, nothing otherwise (so a link that
/// keeps failing is not announced at every refresh).
pub fn link_failure_event(failures: u32, last_error: &str) -> Option<EventDetail> {
    match failures {
        1 => Some(EventDetail::LinkStale {
            failures,
            last_error: last_error.to_owned(),
        }),
        3 => Some(EventDetail::LinkFailing),
        _ => None,
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use chrono::TimeZone;

    fn event(detail: EventDetail) -> NotificationEvent {
        NotificationEvent {
            okr_id: 7,
            okr_title: "Checkout revamp".into(),
            okr_kind: OkrKind::KeyResult,
            okr_url: "https://cairn.example.com/okrs/7".into(),
            status: Status::AtRisk,
            progress_percent: 42.0,
            expected_percent: Some(60.0),
            occurred_at: Utc.with_ymd_and_hms(2026, 3, 2, 9, 30, 0).unwrap(),
            detail,
        }
    }

    fn sync_event() -> SyncFailingEvent {
        let at = Utc.with_ymd_and_hms(2026, 3, 2, 9, 30, 0).unwrap();
        SyncFailingEvent {
            pair_id: 3,
            pair_name: "Checkout ↔ OPS".into(),
            pair_url: "/sync-pairs/3".into(),
            failing_count: 2,
            failing_items: vec![FailingSyncItem {
                left_key: Some("#12".into()),
                right_key: Some("OPS-3".into()),
                failing_since: at - chrono::Duration::hours(2),
                last_error: "Jira answered 500:\n  try later".into(),
            }],
            unreachable_sides: vec![UnreachableSide {
                side: "right".into(),
                connection_name: "Acme Jira".into(),
                error: "connection refused".into(),
                since: at - chrono::Duration::hours(1),
            }],
            occurred_at: at,
        }
    }

    #[test]
    fn sync_events_say_what_fails_and_read_back_as_themselves() {
        let sync = Notification::Sync(sync_event());
        let s = sync.summary();
        assert_eq!(s.title, "Sync pair Checkout ↔ OPS is failing");
        assert_eq!(
            s.text,
            "Sync pair Checkout ↔ OPS: its right side (Acme Jira) cannot be reached: connection refused; \
             2 items have been failing for over an hour (first #12 ↔ OPS-3: Jira answered 500: try later)."
        );
        assert_eq!(s.colour, Colour::Red);
        assert_eq!(sync.kind(), EventKind::SyncFailing);
        let json = serde_json::to_value(&sync).unwrap();
        assert_eq!(json["kind"], "sync_failing");
        assert_eq!(serde_json::from_value::<Notification>(json).unwrap(), sync);
        // An OKR event stored before sync events existed reads as one.
        let okr = serde_json::to_value(event(EventDetail::TargetReached)).unwrap();
        assert!(matches!(
            serde_json::from_value::<Notification>(okr).unwrap(),
            Notification::Okr(_)
        ));
        assert!(!EventKind::SyncFailing.is_about_okrs());
    }

    #[test]
    fn event_kinds_round_trip_through_their_names() {
        for kind in EventKind::ALL {
            assert_eq!(kind.as_str().parse::<EventKind>(), Ok(kind));
            assert_eq!(kind.to_string(), kind.as_str());
            if kind.is_about_okrs() {
                assert_eq!(
                    kind.webhook_type(),
                    format!("okr.{}", kind.as_str()),
                    "OKR webhook types are the kind under okr."
                );
            }
        }
        assert_eq!(EventKind::SyncFailing.webhook_type(), "sync.failing");
        assert_eq!(
            "status-changed".parse::<EventKind>(),
            Err(UnknownEventKind("status-changed".into()))
        );
    }

    #[test]
    fn every_detail_has_its_kind() {
        let cases = [
            (
                EventDetail::StatusChanged {
                    from: Status::OnTrack,
                    to: Status::AtRisk,
                },
                EventKind::StatusChanged,
            ),
            (EventDetail::TargetReached, EventKind::TargetReached),
            (
                EventDetail::LinkStale {
                    failures: 3,
                    last_error: "timeout".into(),
                },
                EventKind::LinkStale,
            ),
            (EventDetail::LinkFailing, EventKind::LinkFailing),
            (
                EventDetail::CheckInDue {
                    due_since: Utc::now(),
                    every_days: 7,
                },
                EventKind::CheckInDue,
            ),
            (
                EventDetail::ConnectionUnhealthy {
                    connection_id: 1,
                    connection_name: "GitLab".into(),
                    code: "unauthorized".into(),
                    also_affected: vec![7, 8],
                },
                EventKind::ConnectionUnhealthy,
            ),
        ];
        for (detail, kind) in cases {
            assert_eq!(event(detail).kind(), kind);
        }
    }

    #[test]
    fn status_change_reads_as_a_sentence_with_the_numbers() {
        let s = summary(&event(EventDetail::StatusChanged {
            from: Status::Behind,
            to: Status::AtRisk,
        }));
        assert_eq!(s.title, "Checkout revamp is now at risk");
        assert_eq!(
            s.text,
            "Checkout revamp is now at risk (42% of 60% expected), was behind."
        );
        assert_eq!(s.colour, Colour::Red);
    }

    #[test]
    fn status_change_takes_the_colour_of_the_new_status() {
        for (to, colour) in [
            (Status::NotStarted, Colour::Grey),
            (Status::OnTrack, Colour::Green),
            (Status::Behind, Colour::Orange),
            (Status::AtRisk, Colour::Red),
            (Status::Done, Colour::Blue),
        ] {
            let s = summary(&event(EventDetail::StatusChanged {
                from: Status::OnTrack,
                to,
            }));
            assert_eq!(s.colour, colour, "{to}");
            assert!(s.title.ends_with(status_phrase(to)), "{}", s.title);
        }
    }

    #[test]
    fn progress_without_a_schedule_shows_only_the_percent() {
        let mut e = event(EventDetail::TargetReached);
        e.progress_percent = 100.0;
        e.expected_percent = None;
        let s = summary(&e);
        assert_eq!(s.title, "Checkout revamp reached its target");
        assert_eq!(s.text, "Checkout revamp reached its target (100%).");
        assert_eq!(s.colour, Colour::Green);
    }

    #[test]
    fn percents_are_rounded_by_the_display_rule() {
        let mut e = event(EventDetail::LinkFailing);
        e.progress_percent = 3.0 / 11.0 * 100.0;
        e.expected_percent = Some(99.6);
        assert_eq!(progress_phrase(&e), "27% of 99% expected");
    }

    #[test]
    fn link_and_connection_events_say_what_failed() {
        let s = summary(&event(EventDetail::LinkStale {
            failures: 4,
            last_error: "Jira answered 401:\n  token expired".into(),
        }));
        assert_eq!(s.title, "Progress of Checkout revamp is out of date");
        assert_eq!(
            s.text,
            "Progress of Checkout revamp (42% of 60% expected) is out of date: its data link failed 4 refreshes in a row: Jira answered 401: token expired."
        );
        assert_eq!(s.colour, Colour::Orange);

        let s = summary(&event(EventDetail::LinkStale {
            failures: 1,
            last_error: String::new(),
        }));
        assert!(s.text.ends_with("failed 1 refresh in a row."), "{}", s.text);

        let s = summary(&event(EventDetail::LinkFailing));
        assert_eq!(s.title, "The data link of Checkout revamp is failing");
        assert_eq!(s.colour, Colour::Red);

        let s = summary(&event(EventDetail::ConnectionUnhealthy {
            connection_id: 3,
            connection_name: "Company GitLab".into(),
            code: "unauthorized".into(),
            also_affected: Vec::new(),
        }));
        assert_eq!(s.title, "Connection Company GitLab is unhealthy");
        assert!(s.text.contains("(unauthorized)"), "{}", s.text);
        assert!(!s.text.contains("other"), "{}", s.text);
        assert_eq!(s.colour, Colour::Red);
        let s = summary(&event(EventDetail::ConnectionUnhealthy {
            connection_id: 3,
            connection_name: "Company GitLab".into(),
            code: "unauthorized".into(),
            also_affected: vec![4, 5],
        }));
        assert!(
            s.text.contains(" and 2 other OKRs may be out of date"),
            "{}",
            s.text
        );
    }

    #[test]
    fn schedule_without_jitter_is_the_standard_one_then_gives_up() {
        let expected = [5, 300, 1800, 7200, 18000, 36000];
        for (i, secs) in expected.into_iter().enumerate() {
            assert_eq!(
                delivery_delay(i as u32 + 1, 0.5),
                Some(Duration::from_secs(secs)),
                "attempt {}",
                i + 1
            );
        }
        assert_eq!(delivery_delay(7, 0.5), None);
        assert_eq!(delivery_delay(u32::MAX, 0.5), None);
        assert_eq!(MAX_DELIVERY_ATTEMPTS, 7);
        // 0 failed attempts is read as the first.
        assert_eq!(delivery_delay(0, 0.5), Some(Duration::from_secs(5)));
    }

    #[test]
    fn jitter_is_twenty_percent_either_way_and_deterministic() {
        assert_eq!(delivery_delay(2, 0.0), Some(Duration::from_secs(240)));
        assert_eq!(delivery_delay(2, 1.0), Some(Duration::from_secs(360)));
        assert_eq!(delivery_delay(2, 0.25), delivery_delay(2, 0.25));
        for i in 0..100 {
            let d = delivery_delay(4, i as f64 / 100.0).unwrap();
            assert!(
                d >= Duration::from_secs(5760) && d < Duration::from_secs(8640),
                "{d:?}"
            );
        }
        // Out-of-range or NaN jitter never leaves the band.
        assert_eq!(delivery_delay(1, -3.0), Some(Duration::from_secs(4)));
        assert_eq!(delivery_delay(1, 7.0), Some(Duration::from_secs(6)));
        assert_eq!(delivery_delay(1, f64::NAN), Some(Duration::from_secs(5)));
    }

    #[test]
    fn retry_after_wins_only_when_later_and_is_capped() {
        let five = Duration::from_secs(5);
        assert_eq!(honour_retry_after(five, None), five);
        assert_eq!(honour_retry_after(five, Some(Duration::from_secs(2))), five);
        assert_eq!(
            honour_retry_after(five, Some(Duration::from_secs(90))),
            Duration::from_secs(90)
        );
        assert_eq!(
            honour_retry_after(five, Some(Duration::from_secs(10 * 24 * 3600))),
            MAX_RETRY_AFTER
        );
        assert_eq!(
            next_delivery_delay(1, 0.5, Some(Duration::from_secs(7))),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            next_delivery_delay(7, 0.5, Some(Duration::from_secs(7))),
            None
        );
    }

    #[test]
    fn colours_have_names_and_hex_values() {
        for c in [
            Colour::Grey,
            Colour::Green,
            Colour::Orange,
            Colour::Red,
            Colour::Blue,
        ] {
            assert!(c.hex().starts_with('#') && c.hex().len() == 7);
            assert!(!c.as_str().is_empty());
        }
        assert_eq!(OkrKind::KeyResult.as_str(), "key_result");
        assert_eq!(OkrKind::Objective.label(), "Objective");
    }

    #[test]
    fn only_real_status_moves_are_events() {
        assert_eq!(
            status_event(None, Status::AtRisk),
            None,
            "first computation"
        );
        assert_eq!(status_event(Some(Status::Behind), Status::Behind), None);
        assert_eq!(
            status_event(Some(Status::Behind), Status::OnTrack),
            Some(EventDetail::StatusChanged {
                from: Status::Behind,
                to: Status::OnTrack
            })
        );
        assert_eq!(
            status_event(Some(Status::OnTrack), Status::Done),
            Some(EventDetail::TargetReached)
        );
        assert_eq!(
            status_event(Some(Status::OnTrack), Status::NotStarted),
            None
        );
        assert!(matches!(
            link_failure_event(1, "x"),
            Some(EventDetail::LinkStale { failures: 1, .. })
        ));
        assert_eq!(link_failure_event(2, "x"), None);
        assert_eq!(link_failure_event(3, "x"), Some(EventDetail::LinkFailing));
        assert_eq!(link_failure_event(4, "x"), None);
    }
}
