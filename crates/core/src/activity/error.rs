//! Why an activity value was refused.

/// A refused activity value, naming the field at fault
/// ([`ActivityError::field`]) so the API answers 422 naming it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActivityError {
    /// A name that is not one of an enum's stable names.
    #[error("`{name}` is not one of: {what}")]
    UnknownName {
        /// The enum's type name, e.g. `ActivityKind`.
        what: &'static str,
        /// The name that was given.
        name: String,
    },
    /// Text that is not a Jira issue key as Cairn recognises one.
    #[error("`{text}` is not a Jira issue key (PROJECT-123, uppercase, no leading zero)")]
    NotAJiraKey {
        /// The text that was given.
        text: String,
    },
}

impl ActivityError {
    /// The request field the error is about, for the API's error body.
    pub fn field(&self) -> &'static str {
        match self {
            ActivityError::UnknownName { .. } => "name",
            ActivityError::NotAJiraKey { .. } => "key",
        }
    }
}
