//! Connections and the pool. The backend is chosen by the URL scheme (docs/architecture.md, "Storage").

use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::R2D2Connection;
use diesel::{PgConnection, SqliteConnection};

use super::error::StoreError;

/// One connection to either backend; queries written once run on both.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Sqlite(SqliteConnection),
    Pg(PgConnection),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A parsed `database.url`: read once, from the configuration, and trusted after.
#[derive(Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(try_from = "String")]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

impl DatabaseUrl {
    /// `sqlite://relative.db`, `sqlite:///absolute.db`, `sqlite:path`, a bare path, or
    /// `postgres://…` / `postgresql://…`.
    pub fn parse(url: &str) -> Result<Self, String> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(url.to_owned()));
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        if path.is_empty() {
            return Err("names no database file".to_owned());
        }
        if path.contains("://") {
            return Err("has an unsupported scheme: use sqlite:// or postgres://".to_owned());
        }
        Ok(Self::Sqlite(PathBuf::from(path)))
    }

    pub fn backend(&self) -> Backend {
        match self {
            Self::Sqlite(_) => Backend::Sqlite,
            Self::Postgres(_) => Backend::Postgres,
        }
    }
}

impl TryFrom<String> for DatabaseUrl {
    type Error = String;

    fn try_from(url: String) -> Result<Self, String> {
        Self::parse(&url).map_err(|e| format!("database.url {e}"))
    }
}

/// Never prints a password: `postgres://user:***@host/db`.
impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite(path) => write!(f, "sqlite://{}", path.display()),
            Self::Postgres(url) => match url::Url::parse(url) {
                Ok(mut parsed) => {
                    if parsed.password().is_some() {
                        let _ = parsed.set_password(Some("***"));
                    }
                    write!(f, "{parsed}")
                }
                Err(_) => f.write_str("postgres://(unparsable URL)"),
            },
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Per-connection SQLite settings. WAL lets readers run beside the one writer; `busy_timeout` makes
/// a writer wait for the lock instead of failing; NORMAL sync in WAL mode survives a process crash
/// (a committed transaction is in the WAL file) and loses at most the last commits on power loss.
/// Checkpoints are the background task's (`checkpoint.rs`); the WAL file is cut back to 64 MB after
/// one empties it.
fn sqlite_pragmas() -> String {
    format!(
        "PRAGMA busy_timeout = 5000;
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
PRAGMA foreign_keys = ON;
PRAGMA wal_autocheckpoint = {};
PRAGMA journal_size_limit = 67108864;",
        super::checkpoint::BACKSTOP_PAGES
    )
}

/// When the database last failed in a way that can leave dead connections in the pool.
///
/// A PostgreSQL connection killed by a server restart looks healthy until used, and diesel cannot
/// tell the pool it died. Checking every connection at every check-out would cost a round trip per
/// query, forever, for a failure that happens once in a while; so connections are checked only for
/// a while after the database failed.
#[derive(Debug, Default)]
struct Trouble {
    /// Unix milliseconds of the last failure; 0 for none.
    last: AtomicI64,
}

/// How long after a failure every connection is checked before use.
const CHECK_AFTER_TROUBLE_MS: i64 = 60_000;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl Trouble {
    fn note(&self) {
        self.last.store(now_ms(), Ordering::Relaxed);
    }

    fn is_recent(&self) -> bool {
        let last = self.last.load(Ordering::Relaxed);
        last != 0 && now_ms() - last < CHECK_AFTER_TROUBLE_MS
    }
}

pub struct Manager {
    url: DatabaseUrl,
    trouble: Arc<Trouble>,
}

impl r2d2::ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = StoreError;

    fn connect(&self) -> Result<DbConnection, StoreError> {
        let unavailable = |e: ConnectionError| StoreError::Unavailable(e.to_string());
        match &self.url {
            DatabaseUrl::Sqlite(path) => {
                let path = path
                    .to_str()
                    .ok_or_else(|| StoreError::Internal("database path is not UTF-8".into()))?;
                let mut conn = SqliteConnection::establish(path).map_err(unavailable)?;
                conn.batch_execute(&sqlite_pragmas())?;
                Ok(DbConnection::Sqlite(conn))
            }
            DatabaseUrl::Postgres(url) => Ok(DbConnection::Pg(
                PgConnection::establish(url).map_err(unavailable)?,
            )),
        }
    }

    /// Called at every check-out on PostgreSQL; asks the server only while the database has
    /// been failing recently (see [`Trouble`]).
    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), StoreError> {
        if !self.trouble.is_recent() {
            return Ok(());
        }
        conn.batch_execute("SELECT 1").map_err(StoreError::from)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        match conn {
            DbConnection::Sqlite(c) => c.is_broken(),
            DbConnection::Pg(c) => c.is_broken(),
        }
    }
}

pub type PooledConnection = r2d2::PooledConnection<Manager>;

/// The handle every repository call goes through. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: r2d2::Pool<Manager>,
    url: Arc<DatabaseUrl>,
    trouble: Arc<Trouble>,
}

impl Store {
    /// Opens the pool, creating the SQLite file's folder if needed. Fails when the database does
    /// not answer within `connect_timeout`.
    pub fn open(
        url: &DatabaseUrl,
        pool_size: u32,
        connect_timeout: Duration,
    ) -> Result<Self, StoreError> {
        if let DatabaseUrl::Sqlite(path) = url {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| {
                    StoreError::Unavailable(format!("cannot create {}: {e}", dir.display()))
                })?;
            }
        }
        let trouble = Arc::new(Trouble::default());
        let pool = r2d2::Pool::builder()
            .max_size(pool_size)
            .min_idle(Some(1))
            // A PostgreSQL connection can die with the server and must then be checked before use
            // (see `Manager::is_valid`); a SQLite one is a file handle.
            .test_on_check_out(url.backend() == Backend::Postgres)
            .connection_timeout(connect_timeout)
            .error_handler(Box::new(r2d2::LoggingErrorHandler))
            .event_handler(Box::new(crate::metrics::PoolEvents))
            .build(Manager {
                url: url.clone(),
                trouble: trouble.clone(),
            })
            .map_err(|e| StoreError::Unavailable(format!("{url}: {e}")))?;
        Ok(Self {
            pool,
            url: Arc::new(url.clone()),
            trouble,
        })
    }

    /// A connection of the pool; waits `connect_timeout` at most.
    pub fn conn(&self) -> Result<PooledConnection, StoreError> {
        self.pool.get().map_err(|e| {
            self.note_trouble();
            StoreError::from(e)
        })
    }

    /// Runs `f` on a connection of the pool, noting a failure that may have killed connections.
    pub fn with_conn<T>(
        &self,
        f: impl FnOnce(&mut DbConnection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let done = f(&mut *self.conn()?);
        if matches!(done, Err(StoreError::Unavailable(_))) {
            self.note_trouble();
        }
        done
    }

    /// The database failed in a way that may have left dead connections in the pool: check each
    /// one before use for a while.
    pub fn note_trouble(&self) {
        self.trouble.note();
    }

    /// How many connections the pool holds, and how many of them are idle.
    pub fn pool_state(&self) -> r2d2::State {
        self.pool.state()
    }

    pub fn backend(&self) -> Backend {
        self.url.backend()
    }

    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    /// Applies pending migrations; returns the versions applied.
    pub fn migrate(&self) -> Result<Vec<String>, StoreError> {
        super::migrate::run(&mut *self.conn()?)
    }

    /// For `/health`: a round trip to the database.
    pub fn ping(&self) -> Result<(), StoreError> {
        self.with_conn(|conn| conn.batch_execute("SELECT 1").map_err(StoreError::from))
    }

    /// For `/health/ready`: the number of migrations this build has and the database lacks.
    pub fn pending_migrations(&self) -> Result<usize, StoreError> {
        self.with_conn(super::migrate::pending)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scheme_picks_the_backend() {
        assert_eq!(
            DatabaseUrl::parse("sqlite://data/auth.db").unwrap(),
            DatabaseUrl::Sqlite("data/auth.db".into())
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:///var/lib/auth.db").unwrap(),
            DatabaseUrl::Sqlite("/var/lib/auth.db".into())
        );
        assert_eq!(
            DatabaseUrl::parse("auth.db").unwrap(),
            DatabaseUrl::Sqlite("auth.db".into())
        );
        assert_eq!(
            DatabaseUrl::parse("postgresql://u@h/db").unwrap().backend(),
            Backend::Postgres
        );
        assert!(DatabaseUrl::parse("mysql://u@h/db").is_err());
        assert!(DatabaseUrl::parse("sqlite://").is_err());
    }

    #[test]
    fn passwords_never_print() {
        let url = DatabaseUrl::parse("postgres://app:s3cret@db:5432/auth").unwrap();
        assert_eq!(url.to_string(), "postgres://app:***@db:5432/auth");
        assert!(!format!("{url:?}").contains("s3cret"));
    }
}
