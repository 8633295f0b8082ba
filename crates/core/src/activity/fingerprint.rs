//! The identity of a piece of work, so the same work seen twice counts
//! once: a push hook and the Events API backstop report the same commit,
//! and a rebase or force-push re-sends the same commits with new SHAs.
//!
//! - A commit is its author's email (lowercased; the author name when the
//!   email is empty), its author date to the second and its message
//!   (line endings as `\n`, trailing whitespace dropped). A rebase and a
//!   cherry-pick keep all three, so the copy is the same work; the SHA,
//!   committer date, branch and project are left out on purpose (the same
//!   commit pushed to a fork is the same work too). A reworded commit is
//!   new work.
//! - A comment is its project and GitLab note id.
//! - Merge request opened and merged, issue opened: project, iid and
//!   action (each happens once).
//! - Every other merge request or issue event: project, iid, action, the
//!   person and the event time to the second (both sources carry the same
//!   event time).

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::model::{Activity, ActivityDetail, IssueAction, MergeRequestAction};

/// A 128-bit hex digest of what makes an activity the same work: equal for
/// a commit and its rebased copy, and for one event from two sources.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ActivityFingerprint(pub String);

impl ActivityFingerprint {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn person_key(activity: &Activity) -> String {
    match (&activity.person.gitlab_user_id, &activity.person.email) {
        (Some(id), _) => format!("u{id}"),
        (None, Some(email)) => format!("e{}", email.trim().to_lowercase()),
        (None, None) => String::from("-"),
    }
}

impl Activity {
    /// What makes this the same work as another report of it (module docs).
    pub fn fingerprint(&self) -> ActivityFingerprint {
        // Every variable part is length-prefixed, so no text can fake a
        // boundary.
        let canonical = match &self.detail {
            ActivityDetail::Commit(c) => {
                let email = c.author_email.trim().to_lowercase();
                let who = if email.is_empty() {
                    format!("n{}", c.author_name.trim())
                } else {
                    format!("e{email}")
                };
                let message = c.message.replace("\r\n", "\n");
                let message = message.trim_end();
                format!(
                    "commit\n{}:{who}\n{}\n{}:{message}",
                    who.len(),
                    c.authored_at.timestamp(),
                    message.len()
                )
            }
            ActivityDetail::Comment(c) => format!("comment\n{}\n{}", self.project.id, c.note_id),
            ActivityDetail::MergeRequest(mr) => match mr.action {
                MergeRequestAction::Opened | MergeRequestAction::Merged => format!(
                    "merge_request\n{}\n{}\n{}",
                    self.project.id, mr.iid, mr.action
                ),
                MergeRequestAction::Updated | MergeRequestAction::Approved => format!(
                    "merge_request\n{}\n{}\n{}\n{}\n{}",
                    self.project.id,
                    mr.iid,
                    mr.action,
                    person_key(self),
                    mr.at.timestamp()
                ),
            },
            ActivityDetail::Issue(i) => match i.action {
                IssueAction::Opened => {
                    format!("issue\n{}\n{}\n{}", self.project.id, i.iid, i.action)
                }
                IssueAction::Closed | IssueAction::Reopened | IssueAction::Edited => format!(
                    "issue\n{}\n{}\n{}\n{}\n{}",
                    self.project.id,
                    i.iid,
                    i.action,
                    person_key(self),
                    i.at.timestamp()
                ),
            },
        };
        ActivityFingerprint(crate::digest::hex128(&canonical))
    }
}

/// Activities with each piece of work once (the first report kept), and
/// how many repeats were left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Deduplicated {
    pub kept: Vec<Activity>,
    pub repeats: usize,
}

/// Keeps the first report of each piece of work, in input order. Linear:
/// one hash lookup per activity.
pub fn deduplicate(activities: impl IntoIterator<Item = Activity>) -> Deduplicated {
    let mut seen = HashSet::new();
    let mut out = Deduplicated::default();
    for activity in activities {
        if seen.insert(activity.fingerprint()) {
            out.kept.push(activity);
        } else {
            out.repeats += 1;
        }
    }
    out
}
