//! Opening the database of a process: `serve` and `migrate` create a missing SQLite file and wait a
//! while for a database that does not answer yet (a container stack starts in any order); every
//! other command needs a database that exists, so a mistyped path is an error, not a new empty file.

use std::time::{Duration, Instant};

use super::{DatabaseUrl, Store, StoreError};

/// How a process treats a database that is not there yet.
#[derive(Debug, Clone, Copy)]
pub enum Opening {
    /// Create a missing SQLite file; keep trying an unreachable database for `wait`, then migrate.
    CreateAndWait { wait: Duration },
    /// The database must exist and answer now; it is migrated like any other.
    Existing,
}

/// How long to sleep between two attempts while waiting for the database.
const RETRY_EVERY: Duration = Duration::from_secs(1);

/// The store of `url`, migrated; logs each migration applied and each failed attempt.
pub fn open(
    url: &DatabaseUrl,
    pool_size: u32,
    connect_timeout: Duration,
    opening: Opening,
) -> Result<Store, StoreError> {
    let wait = match opening {
        Opening::Existing => {
            if let DatabaseUrl::Sqlite(path) = url {
                if !path.exists() {
                    return Err(StoreError::Unavailable(format!(
                        "no database at {}: check database.url, or create it with `auth-server migrate`",
                        path.display()
                    )));
                }
            }
            Duration::ZERO
        }
        Opening::CreateAndWait { wait } => wait,
    };
    let started = Instant::now();
    let mut attempt = 1;
    loop {
        let opened = Store::open(url, pool_size, connect_timeout).and_then(|store| {
            for version in store.migrate()? {
                log::info!("applied migration {version}");
            }
            Ok(store)
        });
        match opened {
            Err(StoreError::Unavailable(cause)) if started.elapsed() + RETRY_EVERY < wait => {
                let left = wait.saturating_sub(started.elapsed()).as_secs();
                log::warn!(
                    "database {url} does not answer yet (attempt {attempt}: {cause}); \
                     trying again for up to {left} s"
                );
                std::thread::sleep(RETRY_EVERY);
                attempt += 1;
            }
            other => return other,
        }
    }
}
