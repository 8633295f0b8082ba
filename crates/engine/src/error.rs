use cairn_store::StoreError;

use crate::keyring::KeyringError;

/// Why a use case refused or failed, in terms the web layer maps to HTTP.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// Bad input, naming the field (422).
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// Nobody or the wrong credentials (401).
    #[error("{0}")]
    Unauthenticated(String),
    /// Signed in but not allowed (403).
    #[error("{0}")]
    Forbidden(String),
    /// Absent, or not visible to this user (404).
    #[error("{0}")]
    NotFound(String),
    /// A unique value is taken, or the state forbids it (409).
    #[error("{message}")]
    Conflict {
        field: Option<String>,
        message: String,
    },
    /// Too many attempts (429).
    #[error("too many attempts; try again in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    /// A remote system (GitLab, Jira) failed or refused; the diagnosis says
    /// what to check (502). Never holds a secret: diagnoses are scrubbed.
    #[error("{}: {} {}", .0.code, .0.summary, .0.hint)]
    Upstream(cairn_connect::Diagnosis),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Keyring(#[from] KeyringError),
    /// This process cannot do it now; try again (503).
    #[error("{0}")]
    Unavailable(String),
}

impl From<crate::batch::BatchError> for EngineError {
    fn from(error: crate::batch::BatchError) -> Self {
        match error {
            crate::batch::BatchError::Store(error) => EngineError::Store(error),
            crate::batch::BatchError::Stopped => EngineError::Unavailable(error.to_string()),
        }
    }
}

impl EngineError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        EngineError::Invalid {
            field: field.to_owned(),
            message: message.into(),
        }
    }
}

/// Turns a store conflict into a 409 naming the field.
pub(crate) fn conflicts(error: StoreError) -> EngineError {
    match error {
        StoreError::Conflict { field } => EngineError::Conflict {
            field: Some(field.to_owned()),
            message: format!("{field} is already taken"),
        },
        other => EngineError::Store(other),
    }
}

/// Applies the authorization rules: `Ok` or the refusal to return.
pub fn authorize(
    actor: Option<cairn_core::authz::Actor>,
    action: cairn_core::authz::Action,
) -> Result<(), EngineError> {
    use cairn_core::authz::Decision;
    match cairn_core::authz::decide(actor, action) {
        Decision::Allow => Ok(()),
        Decision::Unauthenticated => Err(EngineError::Unauthenticated(
            "sign in or send an API token".to_owned(),
        )),
        Decision::Forbidden => Err(EngineError::Forbidden(
            "you are not allowed to do this".to_owned(),
        )),
        Decision::NotFound => Err(EngineError::NotFound("no such resource".to_owned())),
    }
}
