//! A database that disappears with the test.

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub enum TestDb {
    Sqlite(tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl TestDb {
    /// A new empty database and its URL; `None` (and a note on stderr) for PostgreSQL when
    /// `TEST_DATABASE_URL` is not set.
    pub fn create(backend: Backend) -> Option<(TestDb, String)> {
        match backend {
            Backend::Sqlite => {
                let db = TestDb::Sqlite(tempfile::tempdir().expect("temp dir"));
                let url = db.url();
                Some((db, url))
            }
            Backend::Postgres => {
                let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") else {
                    eprintln!("skipped: TEST_DATABASE_URL is not set, PostgreSQL not tested");
                    return None;
                };
                let name = format!("oauth_test_{}", uuid::Uuid::new_v4().simple());
                let mut admin =
                    PgConnection::establish(&admin_url).expect("TEST_DATABASE_URL answers");
                admin
                    .batch_execute(&format!("CREATE DATABASE {name}"))
                    .expect("create test database");
                let db = TestDb::Postgres { admin_url, name };
                let url = db.url();
                Some((db, url))
            }
        }
    }

    /// The database's URL, as `create` gave it.
    pub fn url(&self) -> String {
        match self {
            TestDb::Sqlite(dir) => format!("sqlite://{}", dir.path().join("auth.db").display()),
            TestDb::Postgres { admin_url, name } => {
                let mut url = url::Url::parse(admin_url).expect("TEST_DATABASE_URL is a URL");
                url.set_path(&format!("/{name}"));
                url.to_string()
            }
        }
    }

    pub fn label(&self) -> &'static str {
        match self {
            TestDb::Sqlite(_) => "SQLite",
            TestDb::Postgres { .. } => "PostgreSQL",
        }
    }

    pub fn sqlite_dir(&self) -> Option<&std::path::Path> {
        match self {
            TestDb::Sqlite(dir) => Some(dir.path()),
            TestDb::Postgres { .. } => None,
        }
    }

    /// Drops a PostgreSQL test database now, connections and all (a database outage).
    pub fn drop_now(&self) {
        if let TestDb::Postgres { admin_url, name } = self {
            if let Ok(mut admin) = PgConnection::establish(admin_url) {
                let _ =
                    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        self.drop_now();
    }
}
