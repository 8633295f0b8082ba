//! GitLab activity: the pure rules. The engine turns project hooks and the
//! Events and Commits APIs into [`Activity`] values; these functions say
//! when each counts, which Jira keys and GitLab issues it refers to (and
//! which it closes), and whether two reports are the same work. No I/O, so
//! every suggestion can be traced back to stored activity.
//!
//! - [`model`]: the activity kinds and the instant each counts at.
//! - [`references`]: Jira keys, GitLab issue references, closing phrases.
//! - [`fingerprint`]: the same work seen twice counts once.

pub mod error;
pub mod fingerprint;
pub mod model;
pub mod references;

pub use error::ActivityError;
pub use fingerprint::{ActivityFingerprint, Deduplicated, deduplicate};
pub use model::{
    Activity, ActivityDetail, ActivityKind, ActivityPerson, ActivityProject, CommentActivity,
    CommentOn, CommitActivity, IssueAction, IssueActivity, MergeRequestAction,
    MergeRequestActivity, branch_from_ref,
};
pub use references::{
    DropReason, DroppedReference, FoundReference, GitLabIssueRef, JiraKey, MAX_REFERENCES_PER_TEXT,
    Reference, ReferenceScan, Target, TextSource, scan_text,
};

#[cfg(test)]
mod tests;
