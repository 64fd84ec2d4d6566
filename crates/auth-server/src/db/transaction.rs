//! Transactions that write.

use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::Connection;

use super::{DbConnection, StoreError};

/// Runs `f` in a transaction meant to write.
///
/// On SQLite it starts with `BEGIN IMMEDIATE`, taking the write lock up front: a deferred
/// transaction that reads and then writes fails at once with SQLITE_BUSY when another writer got in
/// between, and `busy_timeout` does not help there. Diesel's own transaction manager of the inner
/// connection is used, so the pool still knows whether a connection is mid-transaction.
pub fn write_transaction<T, F>(conn: &mut DbConnection, f: F) -> Result<T, StoreError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, StoreError>,
{
    if let DbConnection::Pg(_) = conn {
        return conn.transaction(f);
    }
    with_sqlite(conn, |c| {
        AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")
    })?;
    match f(conn) {
        Ok(value) => {
            with_sqlite(conn, AnsiTransactionManager::commit_transaction)?;
            Ok(value)
        }
        Err(error) => {
            if let Err(rollback) = with_sqlite(conn, AnsiTransactionManager::rollback_transaction) {
                log::warn!("rollback failed after {error}: {rollback}");
            }
            Err(error)
        }
    }
}

fn with_sqlite(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut diesel::SqliteConnection) -> diesel::QueryResult<()>,
) -> Result<(), StoreError> {
    match conn {
        DbConnection::Sqlite(c) => f(c).map_err(StoreError::from),
        DbConnection::Pg(_) => Err(StoreError::Internal("not a SQLite connection".into())),
    }
}
