//! Storage failures, sorted by what the caller can do about them.

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use shared::{ApiError, ErrorCode};

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The database is unreachable, locked, read-only or out of connections: try again later (503).
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A unique key already holds this value.
    #[error("conflict: {0}")]
    Conflict(String),
    /// Our bug or bad data (500).
    #[error("database error: {0}")]
    Internal(String),
}

impl From<DieselError> for StoreError {
    fn from(error: DieselError) -> Self {
        match &error {
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                StoreError::Conflict(info.message().to_owned())
            }
            DieselError::DatabaseError(
                DatabaseErrorKind::ForeignKeyViolation
                | DatabaseErrorKind::NotNullViolation
                | DatabaseErrorKind::CheckViolation,
                info,
            ) => StoreError::Internal(info.message().to_owned()),
            DieselError::DatabaseError(kind, info) if is_transient(kind, info.message()) => {
                StoreError::Unavailable(error.to_string())
            }
            DieselError::BrokenTransactionManager => StoreError::Unavailable(error.to_string()),
            _ => StoreError::Internal(error.to_string()),
        }
    }
}

/// Failures that pass once the database is back: a lost connection, a server shutting down, a
/// locked, read-only or full SQLite file, a serialization conflict. Anything else (bad data, our
/// bug) is not the database being down and must not be answered as if it were.
fn is_transient(kind: &DatabaseErrorKind, message: &str) -> bool {
    if matches!(
        kind,
        DatabaseErrorKind::ClosedConnection
            | DatabaseErrorKind::UnableToSendCommand
            | DatabaseErrorKind::SerializationFailure
            | DatabaseErrorKind::ReadOnlyTransaction
    ) {
        return true;
    }
    let message = message.to_ascii_lowercase();
    [
        "database is locked",
        "database table is locked",
        "readonly database",
        "disk i/o error",
        "database or disk is full",
        "unable to open database",
        "terminating connection",
        "server closed the connection",
        "connection to server",
        "the database system is",
        "could not connect",
        "canceling statement due to",
    ]
    .iter()
    .any(|pattern| message.contains(pattern))
}

impl From<r2d2::Error> for StoreError {
    fn from(error: r2d2::Error) -> Self {
        StoreError::Unavailable(error.to_string())
    }
}

/// A pool that is full or stopped: the database work cannot happen now (503).
impl From<crate::workers::PoolError> for StoreError {
    fn from(error: crate::workers::PoolError) -> Self {
        StoreError::Unavailable(error.to_string())
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(cause) => ApiError::unavailable(cause),
            StoreError::Conflict(cause) | StoreError::Internal(cause) => {
                ApiError::new(ErrorCode::ServerError).with_cause(cause)
            }
        }
    }
}
