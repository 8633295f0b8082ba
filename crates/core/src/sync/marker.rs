//! The mark Cairn leaves on every item it creates, naming the pair and the
//! item it is the twin of. It is how a create interrupted between the
//! remote call and recording the link is finished instead of repeated: the
//! retry looks for an item carrying the mark before it creates one. It
//! also tells a twin's own "created" webhook apart from a new item.
//!
//! On Jira it is an entity property ([`PROPERTY_KEY`]), invisible to
//! people; on GitLab, which has no such thing, an HTML comment on the last
//! line of the description, which GitLab does not render.

use serde::{Deserialize, Serialize};

use super::settings::Side;

/// The Jira entity property holding the mark.
pub const PROPERTY_KEY: &str = "cairn.sync";

const COMMENT_START: &str = "<!-- cairn-sync ";
const COMMENT_END: &str = " -->";

/// Which pair an item was created by, and the twin it was created from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Marker {
    pub pair_id: i64,
    /// The side of the item it was created from.
    pub origin: Side,
    /// That item's id on its side (GitLab issue id, Jira issue id).
    pub origin_id: String,
}

impl Marker {
    /// The HTML comment form, for GitLab descriptions.
    pub fn comment(&self) -> String {
        format!(
            "{COMMENT_START}pair={} origin={}:{}{COMMENT_END}",
            self.pair_id, self.origin, self.origin_id
        )
    }

    fn parse_comment(line: &str) -> Option<Marker> {
        let inner = line
            .strip_prefix(COMMENT_START)?
            .strip_suffix(COMMENT_END)?;
        let mut pair_id = None;
        let mut origin = None;
        for part in inner.split_whitespace() {
            match part.split_once('=') {
                Some(("pair", v)) => pair_id = v.parse().ok(),
                Some(("origin", v)) => {
                    let (side, id) = v.split_once(':')?;
                    if id.is_empty() {
                        return None;
                    }
                    origin = Some((Side::parse(side)?, id.to_owned()));
                }
                _ => return None,
            }
        }
        let (origin, origin_id) = origin?;
        Some(Marker {
            pair_id: pair_id?,
            origin,
            origin_id,
        })
    }
}

/// A description as Cairn compares it: line endings as `\n`, no trailing
/// whitespace (trackers differ in what they keep at the end).
pub fn normalize_description(text: &str) -> String {
    text.replace("\r\n", "\n").trim_end().to_owned()
}

/// Splits a GitLab description into its text (normalized) and Cairn's
/// mark, when its last non-blank line is one.
pub fn split_marker(description: &str) -> (String, Option<Marker>) {
    let text = normalize_description(description);
    let (body, last) = match text.rsplit_once('\n') {
        Some((body, last)) => (body, last),
        None => ("", text.as_str()),
    };
    match Marker::parse_comment(last.trim()) {
        Some(marker) => (normalize_description(body), Some(marker)),
        None => (text, None),
    }
}

/// A description with Cairn's mark as its last line.
pub fn with_marker(description: &str, marker: &Marker) -> String {
    let text = normalize_description(description);
    if text.is_empty() {
        marker.comment()
    } else {
        format!("{text}\n\n{}", marker.comment())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marker() -> Marker {
        Marker {
            pair_id: 12,
            origin: Side::Right,
            origin_id: "10042".into(),
        }
    }

    #[test]
    fn the_mark_round_trips_and_leaves_the_text_as_it_was() {
        for text in [
            "",
            "one line",
            "para\n\n- a\n- b",
            "ends with space  \r\n\r\n",
        ] {
            let marked = with_marker(text, &marker());
            assert!(marked.ends_with("<!-- cairn-sync pair=12 origin=right:10042 -->"));
            assert_eq!(
                split_marker(&marked),
                (normalize_description(text), Some(marker())),
                "{text:?}"
            );
        }
    }

    #[test]
    fn text_without_a_mark_is_only_normalized() {
        assert_eq!(split_marker("a\r\nb\n\n"), ("a\nb".into(), None));
        // A mark that is not on the last line is somebody's text.
        let quoted = format!("{}\nmore", marker().comment());
        assert_eq!(split_marker(&quoted), (quoted.clone(), None));
    }

    #[test]
    fn damaged_marks_are_not_marks() {
        for line in [
            "<!-- cairn-sync pair=x origin=right:1 -->",
            "<!-- cairn-sync pair=1 origin=up:1 -->",
            "<!-- cairn-sync pair=1 origin=left: -->",
            "<!-- cairn-sync pair=1 -->",
            "<!-- cairn-sync pair=1 origin=left:1 extra=2 -->",
            "<!-- cairn-sync pair=1 origin=left:1",
        ] {
            assert_eq!(split_marker(line).1, None, "{line}");
        }
    }

    #[test]
    fn the_property_form_is_plain_json() {
        let json = serde_json::to_value(marker()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"pair_id": 12, "origin": "right", "origin_id": "10042"})
        );
    }
}
