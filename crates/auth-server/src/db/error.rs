//! Storage failures, sorted by what the caller can do about them.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

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
                note_trouble();
                StoreError::Unavailable(error.to_string())
            }
            DieselError::BrokenTransactionManager => {
                note_trouble();
                StoreError::Unavailable(error.to_string())
            }
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

/// When the database last failed in a way that can leave dead connections in the pool (unix ms).
static LAST_TROUBLE: AtomicI64 = AtomicI64::new(i64::MIN / 2);

/// How long after a failure every connection is checked before use.
const CHECK_AFTER_TROUBLE_MS: i64 = 60_000;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn note_trouble() {
    LAST_TROUBLE.store(now_ms(), Ordering::Relaxed);
}

/// Whether pooled connections must be checked before use: only for a while after the database
/// failed. A PostgreSQL connection killed by a server restart looks healthy until used, and diesel
/// cannot tell the pool it died; checking every connection at every check-out would cost a round
/// trip per query, forever, for a failure that happens once in a while.
pub fn recently_troubled() -> bool {
    now_ms() - LAST_TROUBLE.load(Ordering::Relaxed) < CHECK_AFTER_TROUBLE_MS
}

impl From<r2d2::Error> for StoreError {
    fn from(error: r2d2::Error) -> Self {
        note_trouble();
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
