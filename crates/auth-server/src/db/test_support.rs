//! Fixtures for the storage layer's unit tests.

use super::tokens::AccessTokenRecord;
use std::time::Duration;

use super::Store;

/// A migrated SQLite store in a folder that lives as long as the returned guard.
pub fn sqlite_store() -> (tempfile::TempDir, Store) {
    sqlite_store_with(4, Duration::from_secs(3))
}

/// The same with `pool_size` connections, each waited for `connect_timeout` at most.
pub fn sqlite_store_with(pool_size: u32, connect_timeout: Duration) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let url = super::DatabaseUrl::parse(&url).unwrap();
    let store = Store::open(&url, pool_size, connect_timeout).unwrap();
    store.migrate().unwrap();
    (dir, store)
}

/// A lone client_credentials token stored under `token_id`.
pub fn access_token(token_id: &str) -> AccessTokenRecord {
    AccessTokenRecord {
        token_id: token_id.to_owned(),
        authentication_id: "a".into(),
        user_name: None,
        client_id: "c".into(),
        refresh_token: None,
        family_id: "f".into(),
        grant_type: "client_credentials".into(),
        scope: "app".into(),
        authorities: String::new(),
        resource_ids: String::new(),
        issued_at: 1,
        expires_at: None,
    }
}
