//! SQLite's WAL checkpoints, moved off the writer.
//!
//! By default the connection that commits past 1,000 WAL pages copies them into the database file
//! and waits for its fsync, inside the commit. Here that connection is the one batch writer, so
//! every request waiting on a batch waited for the disk: 14% of its time, and the rest of the time
//! idle. A background task (`housekeeping.rs`) checkpoints instead, every [`INTERVAL`], without
//! blocking writers or readers (PASSIVE); `wal_autocheckpoint` stays set far higher as a backstop
//! should it fall behind.
//! Durability is unchanged: a commit is in the WAL either way.

use std::time::Duration;

use diesel::connection::SimpleConnection;

use super::{Store, StoreError};

/// How often the WAL is copied back. At 30,000 tokens a second it holds about 12 MB between two.
pub const INTERVAL: Duration = Duration::from_millis(100);

/// WAL pages after which a committing connection checkpoints by itself (`PRAGMA
/// wal_autocheckpoint`), if this task has not.
pub const BACKSTOP_PAGES: u32 = 10_000;

/// Checkpoints now. Blocks.
pub fn checkpoint(store: &Store) -> Result<(), StoreError> {
    store.with_conn(|conn| {
        conn.batch_execute("PRAGMA wal_checkpoint(PASSIVE)")
            .map_err(StoreError::from)
    })
}
