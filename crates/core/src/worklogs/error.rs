//! Why a worklog setting or value was refused.

/// A refused worklog setting or value. Each names the field at fault
/// ([`WorklogError::field`]) so the API answers 422 naming it and saves
/// nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorklogError {
    /// A name that is not one of an enum's stable names.
    #[error("`{name}` is not one of: {what}")]
    UnknownName {
        /// The enum's type name.
        what: &'static str,
        /// The name that was given.
        name: String,
    },
    /// A setting outside its range.
    #[error("{field} must be {expected}, not {given}")]
    OutOfRange {
        /// The setting's field name, e.g. `session_gap_minutes`.
        field: &'static str,
        /// The allowed values, in words.
        expected: &'static str,
        /// The value given.
        given: i64,
    },
    /// A time zone that is not an IANA name (`Europe/Paris`).
    #[error("unknown time zone `{name}` (an IANA name such as Europe/Paris)")]
    UnknownTimeZone {
        /// The name that was given.
        name: String,
    },
}

impl WorklogError {
    /// The request field the error is about, for the API's error body.
    pub fn field(&self) -> &'static str {
        match self {
            WorklogError::UnknownName { .. } => "name",
            WorklogError::OutOfRange { field, .. } => field,
            WorklogError::UnknownTimeZone { .. } => "time_zone",
        }
    }
}
