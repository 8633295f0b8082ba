//! Why a sync setting was refused.

/// A refused sync setting. Each names the field at fault ([`SyncError::field`])
/// so the API answers 422 naming it and saves nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyncError {
    /// A name that is not one of an enum's stable names.
    #[error("`{name}` is not one of: {what}")]
    UnknownName {
        /// The enum's type name, e.g. `SyncField`.
        what: &'static str,
        /// The name that was given.
        name: String,
    },
    /// Both sides name the same project on the same connection.
    #[error("the left and right sides are the same project")]
    SameProject,
    /// A Jira status of the project that the mapping leaves out.
    #[error("Jira status `{status}` is not mapped to opened or closed")]
    StatusUnmapped {
        /// The status's name.
        status: String,
    },
    /// A mapping entry for a status the project does not have.
    #[error("Jira status `{status}` is not a status of the project")]
    StatusUnknown {
        /// The status's name or id as given.
        status: String,
    },
    /// A status mapped twice.
    #[error("Jira status `{status}` is mapped more than once")]
    StatusMappedTwice {
        /// The status's name.
        status: String,
    },
    /// No primary status for a GitLab state, or more than one.
    #[error("{problem}: exactly one Jira status must be primary for `{state}`")]
    PrimaryStatus {
        /// `opened` or `closed`.
        state: &'static str,
        /// What is wrong, naming the statuses.
        problem: String,
    },
    /// A status marked primary for a state it is not mapped to.
    #[error("Jira status `{status}` is primary for `{state}` but mapped to the other state")]
    PrimaryMismatch {
        /// The status's name.
        status: String,
        /// The state it claims to be primary for.
        state: &'static str,
    },
    /// A label scope with an empty or over-long label.
    #[error("{field}: labels must be 1 to 255 characters")]
    BadLabel {
        /// `left_scope` or `right_scope`.
        field: &'static str,
    },
    /// A manual people mapping naming a person who is already mapped on
    /// that side.
    #[error("{side} person `{id}` is mapped more than once")]
    PersonMappedTwice {
        side: super::settings::Side,
        id: String,
    },
    /// A manual people mapping without a person on one side.
    #[error("a {side} person is required")]
    PersonMissing { side: super::settings::Side },
    /// A release link naming a release already linked on that side.
    #[error("{side} release `{id}` is already linked")]
    ReleaseLinkedTwice {
        side: super::settings::Side,
        id: String,
    },
    /// A release link without a release on one side.
    #[error("a {side} release is required")]
    ReleaseMissing { side: super::settings::Side },
}

impl SyncError {
    /// The request field the error is about, for the API's error body.
    pub fn field(&self) -> &'static str {
        match self {
            SyncError::UnknownName { .. } => "name",
            SyncError::SameProject => "right",
            SyncError::StatusUnmapped { .. }
            | SyncError::StatusUnknown { .. }
            | SyncError::StatusMappedTwice { .. }
            | SyncError::PrimaryStatus { .. }
            | SyncError::PrimaryMismatch { .. } => "status_mapping",
            SyncError::BadLabel { field } => field,
            SyncError::PersonMappedTwice { side, .. }
            | SyncError::PersonMissing { side }
            | SyncError::ReleaseLinkedTwice { side, .. }
            | SyncError::ReleaseMissing { side } => match side {
                super::settings::Side::Left => "left_id",
                super::settings::Side::Right => "right_id",
            },
        }
    }
}
