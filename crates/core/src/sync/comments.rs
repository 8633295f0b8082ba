//! Comments both ways: which comments of a linked item to copy, edit or
//! delete on the other side, and what a copy says.
//!
//! A copy is linked to its original by a stored row (original side and
//! id, the copy's id once made, the fingerprint of the text last
//! carried). That link, not the text, is what keeps Cairn from copying a
//! copy back (no echo) and makes an edit update the copy instead of making
//! a second one. A row without a copy id is an interrupted create: the
//! copy may exist, so the engine looks for it (it names its original's
//! address) before writing again.

use serde::{Deserialize, Serialize};

use super::settings::Side;

/// Who wrote a comment, as the other side should read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommentAuthor {
    /// The tracker's id of the person (GitLab user id, Jira account id),
    /// by which the pair's people mapping knows them; empty when the
    /// tracker does not say.
    #[serde(default)]
    pub id: String,
    /// The name the tracker shows.
    pub name: String,
    /// Whether the person is mapped to someone on the other side (see
    /// [`super::people`]): then the copy does not name them.
    pub mapped: bool,
}

/// A comment as read from one side, its text as GitLab Markdown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginComment {
    pub id: String,
    pub author: CommentAuthor,
    pub body: String,
    /// The comment's own address, which its copy links to.
    pub url: String,
    /// Not a person's comment: a GitLab system note, an internal note, or
    /// Cairn's link to the twin. Never carried.
    pub skip: bool,
}

/// The stored link between an original comment and its copy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopyLink {
    pub id: i64,
    pub origin_side: Side,
    pub origin_id: String,
    /// Empty until the copy is known to exist.
    pub copy_id: Option<String>,
    /// [`comment_fingerprint`] of the original's text last carried.
    pub origin_hash: String,
}

/// What to do about one comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommentPlan {
    /// A new original: record the link, then write its copy.
    Create {
        origin_side: Side,
        origin: OriginComment,
    },
    /// A create that was interrupted, its copy found on the other side
    /// (a comment naming the original's address): record it.
    Adopt { link: CopyLink, copy_id: String },
    /// A create that was interrupted before the copy was made: write it.
    Recover {
        link: CopyLink,
        origin: OriginComment,
    },
    /// The original was edited: write the copy again.
    Update {
        link: CopyLink,
        origin: OriginComment,
    },
    /// The original is gone and the pair deletes copies.
    Delete { link: CopyLink },
}

/// The fingerprint of a comment's text, to notice edits.
pub fn comment_fingerprint(markdown: &str) -> String {
    crate::digest::hex128(&format!("c:{}", markdown.replace("\r\n", "\n").trim_end()))
}

/// The line that says who wrote a comment on the other side, linking the
/// original: "Ana Silva in [GitLab](…):". The one place attribution is
/// decided. A mapped author's copy is still written by the connection's
/// account (Cairn holds one token per connection, not one per person),
/// so it keeps the link to its original, "[GitLab](…):", without the
/// name: the reader knows the person by the mapping. An unmapped author
/// is named.
pub fn attribution(author: &CommentAuthor, tracker: &str, url: &str) -> String {
    if author.mapped {
        format!("[{tracker}]({url}):")
    } else {
        let name = author.name.trim();
        let name = if name.is_empty() { "Someone" } else { name };
        format!("{name} in [{tracker}]({url}):")
    }
}

/// A copy's text: the attribution line, then the original's text.
pub fn copy_text(origin: &OriginComment, tracker: &str) -> String {
    let body = origin.body.replace("\r\n", "\n");
    format!(
        "{}\n\n{}",
        attribution(&origin.author, tracker, &origin.url),
        body.trim_end()
    )
}

const BACKLINK_MARK: &str = "<!-- cairn-sync backlink ";

/// The GitLab note that links an issue to its twin, with a mark (an HTML
/// comment GitLab does not render) by which a retry finds it.
pub fn backlink_note(pair_id: i64, twin_key: &str, twin_url: &str) -> String {
    format!("Synced with [{twin_key}]({twin_url}) by Cairn.\n\n{BACKLINK_MARK}pair={pair_id} -->")
}

/// Whether a note is Cairn's link to the twin of `pair_id`.
pub fn is_backlink_note(pair_id: i64, body: &str) -> bool {
    body.contains(&format!("{BACKLINK_MARK}pair={pair_id} -->"))
}

/// Decides what to do about a linked item's comments, from both sides'
/// comments and the stored links. A comment that is a copy (its id is a
/// link's copy id) is never copied back; a copy a person deleted is not
/// made again; a deleted original's copy is deleted only when the pair
/// says so.
pub fn plan_comments(
    left: &[OriginComment],
    right: &[OriginComment],
    links: &[CopyLink],
    delete_copies: bool,
) -> Vec<CommentPlan> {
    let mut plans = Vec::new();
    // Copies of interrupted creates, found by the original's address they
    // name: adopted, never taken for new comments.
    let mut adopted: Vec<(Side, String)> = Vec::new();
    for (side, comments, other) in [(Side::Left, left, right), (Side::Right, right, left)] {
        for link in links
            .iter()
            .filter(|l| l.origin_side == side && l.copy_id.is_none())
        {
            let Some(origin) = comments.iter().find(|c| c.id == link.origin_id) else {
                continue;
            };
            let known = |id: &str| {
                links.iter().any(|l| {
                    (l.origin_side == side.other() && l.origin_id == id)
                        || (l.origin_side == side && l.copy_id.as_deref() == Some(id))
                })
            };
            if let Some(copy) = other.iter().find(|c| {
                !c.skip
                    && !known(&c.id)
                    && !adopted.contains(&(side.other(), c.id.clone()))
                    && c.body.contains(&origin.url)
            }) {
                adopted.push((side.other(), copy.id.clone()));
                plans.push(CommentPlan::Adopt {
                    link: link.clone(),
                    copy_id: copy.id.clone(),
                });
                if link.origin_hash != comment_fingerprint(&origin.body) {
                    let mut found = link.clone();
                    found.copy_id = Some(copy.id.clone());
                    plans.push(CommentPlan::Update {
                        link: found,
                        origin: origin.clone(),
                    });
                }
            }
        }
    }
    for (side, comments) in [(Side::Left, left), (Side::Right, right)] {
        let is_copy = |id: &str| {
            links
                .iter()
                .any(|l| l.origin_side == side.other() && l.copy_id.as_deref() == Some(id))
                || adopted.contains(&(side, id.to_owned()))
        };
        for comment in comments {
            if comment.skip || is_copy(&comment.id) {
                continue;
            }
            let link = links
                .iter()
                .find(|l| l.origin_side == side && l.origin_id == comment.id);
            match link {
                None => plans.push(CommentPlan::Create {
                    origin_side: side,
                    origin: comment.clone(),
                }),
                Some(link) if link.copy_id.is_none() => {
                    let found = plans.iter().any(
                        |p| matches!(p, CommentPlan::Adopt { link: l, .. } if l.id == link.id),
                    );
                    if !found {
                        plans.push(CommentPlan::Recover {
                            link: link.clone(),
                            origin: comment.clone(),
                        });
                    }
                }
                Some(link) if link.origin_hash != comment_fingerprint(&comment.body) => {
                    plans.push(CommentPlan::Update {
                        link: link.clone(),
                        origin: comment.clone(),
                    });
                }
                Some(_) => {}
            }
        }
        if delete_copies {
            for link in links.iter().filter(|l| l.origin_side == side) {
                let present = comments.iter().any(|c| c.id == link.origin_id);
                if !present && link.copy_id.is_some() {
                    plans.push(CommentPlan::Delete { link: link.clone() });
                }
            }
        }
    }
    plans
}

#[cfg(test)]
mod tests {
    use super::*;

    fn comment(id: &str, body: &str) -> OriginComment {
        OriginComment {
            id: id.into(),
            author: CommentAuthor {
                id: "1".into(),
                name: "Ana Silva".into(),
                mapped: false,
            },
            body: body.into(),
            url: format!("https://gitlab.example/g/p/-/issues/1#note_{id}"),
            skip: false,
        }
    }

    fn link(origin_side: Side, origin: &str, copy: Option<&str>, body: &str) -> CopyLink {
        CopyLink {
            id: 1,
            origin_side,
            origin_id: origin.into(),
            copy_id: copy.map(str::to_owned),
            origin_hash: comment_fingerprint(body),
        }
    }

    #[test]
    fn an_unmapped_author_is_named_and_the_original_linked() {
        let text = copy_text(&comment("5", "Looks **good**\r\n"), "GitLab");
        assert_eq!(
            text,
            "Ana Silva in [GitLab](https://gitlab.example/g/p/-/issues/1#note_5):\n\nLooks **good**"
        );
        let mut mapped = comment("5", "x");
        mapped.author.mapped = true;
        assert!(copy_text(&mapped, "Jira").starts_with("[Jira](https://"));
    }

    #[test]
    fn new_comments_are_copied_once_and_copies_never_come_back() {
        let left = [comment("1", "hello")];
        let right = [comment("9", "hello copy")];
        let links = [link(Side::Left, "1", Some("9"), "hello")];
        assert!(plan_comments(&left, &right, &links, false).is_empty());
        let plans = plan_comments(&left, &right, &[], false);
        assert_eq!(plans.len(), 2, "without the link both look new: {plans:?}");
    }

    #[test]
    fn an_edit_updates_and_an_interrupted_create_is_recovered() {
        let left = [comment("1", "hello, edited"), comment("2", "second")];
        let links = [
            link(Side::Left, "1", Some("9"), "hello"),
            link(Side::Left, "2", None, "second"),
        ];
        let plans = plan_comments(&left, &[], &links, false);
        assert!(matches!(&plans[0], CommentPlan::Update { link, .. } if link.origin_id == "1"));
        assert!(matches!(&plans[1], CommentPlan::Recover { link, .. } if link.origin_id == "2"));
    }

    #[test]
    fn an_interrupted_copy_that_was_made_is_adopted_not_copied_back() {
        let left = [comment("2", "second")];
        let mut made = comment("44", "");
        made.body = copy_text(&left[0], "GitLab");
        let links = [link(Side::Left, "2", None, "second")];
        let plans = plan_comments(&left, &[made], &links, false);
        assert_eq!(
            plans,
            vec![CommentPlan::Adopt {
                link: links[0].clone(),
                copy_id: "44".into()
            }]
        );
    }

    #[test]
    fn skipped_comments_and_deleted_copies_are_left_alone() {
        let mut system = comment("3", "closed");
        system.skip = true;
        let links = [link(Side::Right, "7", Some("3"), "x")];
        // The original (right 7) is gone: kept unless the pair deletes.
        assert!(plan_comments(&[system.clone()], &[], &links, false).is_empty());
        let plans = plan_comments(&[system], &[], &links, true);
        assert_eq!(
            plans,
            vec![CommentPlan::Delete {
                link: links[0].clone()
            }]
        );
        // A copy someone deleted is not made again.
        let links = [link(Side::Left, "1", Some("9"), "hello")];
        assert!(plan_comments(&[comment("1", "hello")], &[], &links, true).is_empty());
    }

    #[test]
    fn the_backlink_note_is_recognised_for_its_pair_only() {
        let note = backlink_note(4, "OPS-2", "https://jira.example/browse/OPS-2");
        assert!(is_backlink_note(4, &note));
        assert!(!is_backlink_note(40, &note));
        assert!(!is_backlink_note(4, "Synced with OPS-2"));
    }
}
