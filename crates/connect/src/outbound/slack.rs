//! The body of a Slack incoming webhook: a plain `text` fallback (shown in
//! notifications and to screen readers) and Block Kit `blocks` with the
//! headline, the status and progress (or the sync pair's failures) as
//! fields, and a button to the OKR or the pair.
//!
//! Slack parses `&`, `<` and `>` in mrkdwn text as control characters
//! (links, mentions such as `<!channel>`), so every string that came from a
//! person is escaped before it is put into mrkdwn.

use serde_json::{Value, json};
use url::Url;

use cairn_core::notify::{
    Colour, EventDetail, Notification, NotificationEvent, Summary, SyncFailingEvent,
    progress_phrase, status_label, summary,
};

use super::OutboundRequest;

/// Slack's limit on a header block's text.
const HEADER_MAX: usize = 150;
/// Slack's limit on a section's text.
const SECTION_MAX: usize = 3000;
/// Slack's limit on one section field's text.
const FIELD_MAX: usize = 2000;
/// Slack's limit on a button's URL.
const URL_MAX: usize = 3000;

/// Escapes Slack's control characters in text from people: `&`, `<`, `>`
/// (and nothing else: Slack only decodes these three entities).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// `text` cut to `max` characters, with an ellipsis when cut.
fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Escapes and then truncates, never cutting an entity in half.
fn mrkdwn(text: &str, max: usize) -> String {
    let mut out = String::new();
    let mut len = 0;
    let chars: Vec<char> = text.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        let piece = escape(&c.to_string());
        let piece_len = piece.chars().count();
        let last = i + 1 == chars.len();
        let room = if last { max } else { max.saturating_sub(1) };
        if len + piece_len > room {
            out.push('…');
            return out;
        }
        out.push_str(&piece);
        len += piece_len;
    }
    out
}

/// A Cairn page URL when it is one Slack accepts for a button or a link.
fn page_link(url: &str) -> Option<String> {
    let url = Url::parse(url.trim()).ok()?;
    let ok = matches!(url.scheme(), "http" | "https") && url.as_str().len() <= URL_MAX;
    ok.then(|| url.to_string())
}

/// An emoji shortcode for the colour, since Block Kit has no colour bar.
fn emoji(colour: Colour) -> &'static str {
    match colour {
        Colour::Grey => ":white_circle:",
        Colour::Green => ":large_green_circle:",
        Colour::Orange => ":large_orange_circle:",
        Colour::Red => ":red_circle:",
        Colour::Blue => ":large_blue_circle:",
    }
}

fn field(label: &str, value: &str) -> Value {
    let label = escape(label);
    let room = FIELD_MAX.saturating_sub(label.chars().count() + 3);
    json!({"type": "mrkdwn", "text": format!("*{label}*\n{}", mrkdwn(value, room))})
}

/// A field whose value is already mrkdwn (escaped by the caller).
fn field_raw(label: &str, value: String) -> Value {
    json!({"type": "mrkdwn", "text": format!("*{}*\n{value}", escape(label))})
}

/// The Slack incoming-webhook body for an OKR's `event`.
pub fn slack_message(event: &NotificationEvent) -> Value {
    let s = summary(event);
    let link = page_link(&event.okr_url);
    let status_colour = Colour::for_status(event.status);

    let okr = match &link {
        // Inside `<url|label>` the URL is escaped like text and must not
        // contain `|`, which would end it early.
        Some(url) => format!(
            "<{}|{}>",
            escape(&url.replace('|', "%7C")),
            mrkdwn(event.okr_title.trim(), 500)
        ),
        None => mrkdwn(event.okr_title.trim(), 500),
    };
    let mut fields = vec![
        field_raw(event.okr_kind.label(), okr),
        field_raw(
            "Status",
            format!("{} {}", emoji(status_colour), status_label(event.status)),
        ),
        field("Progress", &progress_phrase(event)),
    ];
    match &event.detail {
        EventDetail::StatusChanged { from, .. } => {
            fields.push(field("Previous status", status_label(*from)));
        }
        EventDetail::TargetReached | EventDetail::LinkFailing => {}
        EventDetail::CheckInDue {
            due_since,
            every_days,
        } => {
            fields.push(field(
                "Check-in due since",
                &due_since.format("%Y-%m-%d").to_string(),
            ));
            fields.push(field("Check-in every", &format!("{every_days} days")));
        }
        EventDetail::LinkStale {
            failures,
            last_error,
        } => {
            fields.push(field("Failed refreshes", &failures.to_string()));
            if !last_error.trim().is_empty() {
                fields.push(field("Last error", last_error.trim()));
            }
        }
        EventDetail::ConnectionUnhealthy {
            connection_name,
            code,
            ..
        } => {
            fields.push(field("Connection", connection_name.trim()));
            fields.push(field("Problem", code));
        }
    }

    blocks_message(&s, fields, event.occurred_at, link.as_deref())
}

/// The Slack incoming-webhook body for a sync pair's trouble.
pub fn slack_sync_message(event: &SyncFailingEvent) -> Value {
    let link = page_link(&event.pair_url);
    let pair = match &link {
        Some(url) => format!(
            "<{}|{}>",
            escape(&url.replace('|', "%7C")),
            mrkdwn(event.pair_name.trim(), 500)
        ),
        None => mrkdwn(event.pair_name.trim(), 500),
    };
    let mut fields = vec![
        field_raw("Sync pair", pair),
        field("Failing for over an hour", &event.failing_count.to_string()),
    ];
    // Slack takes at most 10 fields in a section.
    for side in event.unreachable_sides.iter().take(2) {
        fields.push(field(
            &format!("Unreachable ({} side)", side.side),
            &format!("{}: {}", side.connection_name.trim(), side.error.trim()),
        ));
    }
    for item in event.failing_items.iter().take(6) {
        fields.push(field(
            &SyncFailingEvent::item_name(item),
            item.last_error.trim(),
        ));
    }
    blocks_message(
        &cairn_core::notify::sync_summary(event),
        fields,
        event.occurred_at,
        link.as_deref(),
    )
}

/// The blocks around a message's fields: header, sentence, fields, a
/// button to `link` and when it happened.
fn blocks_message(
    s: &Summary,
    fields: Vec<Value>,
    occurred_at: chrono::DateTime<chrono::Utc>,
    link: Option<&str>,
) -> Value {
    let ts = occurred_at.timestamp();
    let fallback = occurred_at.format("%Y-%m-%d %H:%M UTC").to_string();
    let mut blocks = vec![
        json!({
            "type": "header",
            "text": {"type": "plain_text", "text": truncate(&s.title, HEADER_MAX), "emoji": true}
        }),
        json!({
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": format!("{} {}", emoji(s.colour), mrkdwn(&s.text, SECTION_MAX - 30)),
            }
        }),
        json!({"type": "section", "fields": fields}),
    ];
    if let Some(url) = link {
        blocks.push(json!({
            "type": "actions",
            "elements": [{
                "type": "button",
                "text": {"type": "plain_text", "text": "Open in Cairn", "emoji": true},
                "url": url,
                "action_id": "cairn_open",
            }]
        }));
    }
    blocks.push(json!({
        "type": "context",
        "elements": [{
            "type": "mrkdwn",
            "text": format!("Cairn · <!date^{ts}^{{date_short_pretty}} at {{time}}|{fallback}>"),
        }]
    }));

    json!({
        "text": mrkdwn(&s.text, SECTION_MAX),
        "blocks": blocks,
    })
}

/// The message for a notification as a request for
/// [`super::Outbound::send`].
pub fn request(notification: &Notification) -> OutboundRequest {
    OutboundRequest::json(&match notification {
        Notification::Okr(event) => slack_message(event),
        Notification::Sync(event) => slack_sync_message(event),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_only_the_three_control_characters() {
        assert_eq!(
            escape("R&D <team> \"quotes\" 'x'"),
            "R&amp;D &lt;team&gt; \"quotes\" 'x'"
        );
        assert_eq!(escape("<!channel>"), "&lt;!channel&gt;");
    }

    #[test]
    fn truncation_never_splits_an_entity() {
        assert_eq!(mrkdwn("abc", 3), "abc");
        assert_eq!(mrkdwn("abcd", 3), "ab…");
        // "a&" escapes to "a&amp;" (6 chars): with room for 4 the entity
        // does not fit, so it is dropped whole.
        assert_eq!(mrkdwn("a&b", 5), "a…");
        assert_eq!(truncate("ééé", 2), "é…");
    }
}
