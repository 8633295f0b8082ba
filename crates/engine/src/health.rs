//! A connection's health from what Cairn does with it on its own: every
//! successful refresh, sync or hook registration records it as working;
//! a failure that is the connection's fault (rejected credentials, an
//! unreachable host, TLS) records it as failing, the same way for GitLab
//! and Jira, with the one `connection_unhealthy` notification.

use cairn_connect::{ConnectError, DiagnosisCode};
use cairn_store::{Connection, Store, StoreError};
use chrono::{DateTime, Utc};

/// Whether a failure says the connection itself is broken (its token, its
/// host, its certificate) rather than one request or one project.
pub fn is_connection_fault(code: DiagnosisCode) -> bool {
    matches!(
        code,
        DiagnosisCode::Unauthorized
            | DiagnosisCode::Forbidden
            | DiagnosisCode::DnsFailure
            | DiagnosisCode::ConnectionRefused
            | DiagnosisCode::TlsFailure
            | DiagnosisCode::Timeout
    )
}

/// Records that a call with the connection worked (at most one write a
/// minute, see [`cairn_store::AccountStore::record_connection_ok`]).
pub(crate) async fn worked(
    store: &dyn Store,
    id: i64,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    store.record_connection_ok(id, now).await?;
    Ok(())
}

/// Records a failed call as the connection's health when it is the
/// connection's fault; returns whether it did.
pub(crate) async fn failed(
    store: &dyn Store,
    connection: &Connection,
    error: &ConnectError,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let diagnosis = error.diagnosis();
    if !is_connection_fault(diagnosis.code) {
        return Ok(false);
    }
    crate::notify::record_connection_failure(
        store,
        connection,
        diagnosis.code.as_str(),
        &format!("{} {}", diagnosis.summary, diagnosis.hint),
        now,
    )
    .await?;
    Ok(true)
}

/// Records a failure already classified as the connection's fault (by
/// [`is_connection_fault`]) for the connection with this id, with `message`
/// as the reason.
pub(crate) async fn failed_with_code(
    store: &dyn Store,
    connection_id: i64,
    code: DiagnosisCode,
    message: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if !is_connection_fault(code) {
        return Ok(());
    }
    let Some(connection) = store.get_connection(connection_id).await? else {
        return Ok(());
    };
    crate::notify::record_connection_failure(store, &connection, code.as_str(), message, now)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_host_and_tls_are_the_connections_fault_a_bad_query_is_not() {
        for code in [
            DiagnosisCode::Unauthorized,
            DiagnosisCode::Forbidden,
            DiagnosisCode::DnsFailure,
            DiagnosisCode::ConnectionRefused,
            DiagnosisCode::TlsFailure,
            DiagnosisCode::Timeout,
        ] {
            assert!(is_connection_fault(code), "{code}");
        }
        for code in [
            DiagnosisCode::NotFound,
            DiagnosisCode::BadRequest,
            DiagnosisCode::RateLimited,
            DiagnosisCode::ServerError,
            DiagnosisCode::InvalidInput,
            DiagnosisCode::UnexpectedResponse,
        ] {
            assert!(!is_connection_fault(code), "{code}");
        }
    }
}
