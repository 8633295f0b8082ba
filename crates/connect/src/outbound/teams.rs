//! The body of a Microsoft Teams incoming webhook or Power Automate
//! workflow ("When a Teams webhook request is received"): a `message` with
//! one Adaptive Card attachment (schema 1.4, which both render), holding
//! the headline in the status colour, the sentence, a fact set and a
//! button to the OKR or sync pair.

use serde_json::{Value, json};
use url::Url;

use cairn_core::notify::{
    Colour, EventDetail, Notification, NotificationEvent, Summary, SyncFailingEvent,
    progress_phrase, status_label, summary,
};

use super::OutboundRequest;

/// The attachment content type Teams expects for Adaptive Cards.
pub const ADAPTIVE_CARD_CONTENT_TYPE: &str = "application/vnd.microsoft.card.adaptive";
/// The card schema version: 1.4 is the newest both Teams webhooks and
/// Power Automate workflows render.
pub const ADAPTIVE_CARD_VERSION: &str = "1.4";

/// Adaptive Cards' named text colours for our colours.
fn card_colour(colour: Colour) -> &'static str {
    match colour {
        Colour::Grey => "Default",
        Colour::Green => "Good",
        Colour::Orange => "Warning",
        Colour::Red => "Attention",
        Colour::Blue => "Accent",
    }
}

fn fact(title: &str, value: impl Into<String>) -> Value {
    json!({"title": title, "value": value.into()})
}

/// The Teams / Power Automate webhook body for an OKR's `event`.
pub fn teams_message(event: &NotificationEvent) -> Value {
    let mut facts = vec![
        fact(event.okr_kind.label(), event.okr_title.trim()),
        fact("Status", status_label(event.status)),
        fact("Progress", progress_phrase(event)),
    ];
    match &event.detail {
        EventDetail::StatusChanged { from, .. } => {
            facts.push(fact("Previous status", status_label(*from)));
        }
        EventDetail::TargetReached | EventDetail::LinkFailing => {}
        EventDetail::CheckInDue {
            due_since,
            every_days,
        } => {
            facts.push(fact(
                "Check-in due since",
                due_since.format("%Y-%m-%d").to_string(),
            ));
            facts.push(fact("Check-in every", format!("{every_days} days")));
        }
        EventDetail::LinkStale {
            failures,
            last_error,
        } => {
            facts.push(fact("Failed refreshes", failures.to_string()));
            if !last_error.trim().is_empty() {
                facts.push(fact("Last error", last_error.trim()));
            }
        }
        EventDetail::ConnectionUnhealthy {
            connection_name,
            code,
            ..
        } => {
            facts.push(fact("Connection", connection_name.trim()));
            facts.push(fact("Problem", code.as_str()));
        }
    }
    card_message(&summary(event), facts, event.occurred_at, &event.okr_url)
}

/// The Teams / Power Automate webhook body for a sync pair's trouble.
pub fn teams_sync_message(event: &SyncFailingEvent) -> Value {
    let mut facts = vec![
        fact("Sync pair", event.pair_name.trim()),
        fact("Failing for over an hour", event.failing_count.to_string()),
    ];
    for side in &event.unreachable_sides {
        facts.push(fact(
            &format!("Unreachable ({} side)", side.side),
            format!("{}: {}", side.connection_name.trim(), side.error.trim()),
        ));
    }
    for item in &event.failing_items {
        facts.push(fact(
            &SyncFailingEvent::item_name(item),
            item.last_error.trim(),
        ));
    }
    card_message(
        &cairn_core::notify::sync_summary(event),
        facts,
        event.occurred_at,
        &event.pair_url,
    )
}

/// The card around a message's facts: headline, sentence, facts, when,
/// and a button to `url` when it is a web address.
fn card_message(
    s: &Summary,
    mut facts: Vec<Value>,
    occurred_at: chrono::DateTime<chrono::Utc>,
    url: &str,
) -> Value {
    facts.push(fact(
        "When",
        occurred_at.format("%Y-%m-%d %H:%M UTC").to_string(),
    ));

    let mut card = json!({
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": ADAPTIVE_CARD_VERSION,
        "body": [
            {
                "type": "TextBlock",
                "text": s.title,
                "size": "Large",
                "weight": "Bolder",
                "color": card_colour(s.colour),
                "wrap": true,
            },
            {"type": "TextBlock", "text": s.text, "wrap": true},
            {"type": "FactSet", "facts": facts},
        ],
        "msteams": {"width": "Full"},
    });
    let link = Url::parse(url.trim())
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"));
    if let (Some(url), Some(obj)) = (link, card.as_object_mut()) {
        obj.insert(
            "actions".into(),
            json!([{"type": "Action.OpenUrl", "title": "Open in Cairn", "url": url.as_str()}]),
        );
    }

    json!({
        "type": "message",
        "attachments": [{
            "contentType": ADAPTIVE_CARD_CONTENT_TYPE,
            "contentUrl": null,
            "content": card,
        }]
    })
}

/// The message for a notification as a request for
/// [`super::Outbound::send`].
pub fn request(notification: &Notification) -> OutboundRequest {
    OutboundRequest::json(&match notification {
        Notification::Okr(event) => teams_message(event),
        Notification::Sync(event) => teams_sync_message(event),
    })
}
