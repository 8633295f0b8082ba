//! The operation log's names: every remote write is recorded as an intent
//! before the call and finished after it, so an interrupted write is found
//! and completed instead of repeated.

use super::error::SyncError;

stable_names! {
    error: SyncError;
    /// Where a remote write stands.
    pub enum OperationState {
        /// Recorded before the call; the call may or may not have happened.
        Intent => "intent",
        Done => "done",
        Failed => "failed",
    }
}

stable_names! {
    error: SyncError;
    /// What a remote write does.
    pub enum OperationKind {
        /// Creates the twin.
        Create => "create",
        /// Edits fields.
        Update => "update",
        /// Moves a Jira issue through its workflow.
        Transition => "transition",
        /// Creates, edits or deletes the copy of a comment.
        Comment => "comment",
        /// Writes the link from an item to its twin.
        Backlink => "backlink",
    }
}
