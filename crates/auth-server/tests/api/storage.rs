//! What the database holds, and what happens when it is gone.

use auth_server::domain::token_value::hash;
use diesel::prelude::*;

use crate::helpers::{spawn_app, Backend};
use crate::on_both_backends;

on_both_backends!(
    tokens_are_stored_only_as_sha256_hashes,
    health_is_up_while_the_database_answers,
);

async fn tokens_are_stored_only_as_sha256_hashes(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let answer = app.password_grant().await;
    let (access, refresh) = (answer.field("access_token"), answer.field("refresh_token"));
    let record =
        auth_server::db::tokens::find_access(&mut app.store.conn().unwrap(), &hash(&access))
            .unwrap()
            .expect("stored under its hash");
    assert_eq!(
        record.refresh_token.as_deref(),
        Some(hash(&refresh).as_str())
    );
    assert_eq!(record.user_name.as_deref(), Some("admin"));
    assert_eq!(record.authorities, "ROLE_ADMIN,ROLE_USER");
    assert_eq!(record.scope, "app");
    assert_eq!(record.expires_at, Some(record.issued_at + 3600));
    // No column of any row holds a value: a dump is useless to a thief.
    let mut conn = app.store.conn().unwrap();
    use auth_server::db::schema::{oauth_access_token as a, oauth_refresh_token as r};
    let ids: Vec<String> = a::table.select(a::token_id).load(&mut *conn).unwrap();
    let refs: Vec<Option<String>> = a::table.select(a::refresh_token).load(&mut *conn).unwrap();
    let rids: Vec<String> = r::table.select(r::token_id).load(&mut *conn).unwrap();
    for value in ids.iter().chain(rids.iter()).chain(refs.iter().flatten()) {
        assert_ne!(value, &access);
        assert_ne!(value, &refresh);
    }
    if let Some(dir) = app.db.sqlite_dir() {
        drop(conn);
        for entry in std::fs::read_dir(dir).unwrap() {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap();
            for secret in [&access, &refresh] {
                assert!(
                    !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                    "a token value is in the database files"
                );
            }
        }
    }
}

/// Committed tokens are copied from SQLite's WAL into the database file by the background
/// checkpoint within moments, not only once the WAL has grown to thousands of pages (which the
/// committing request would then pay for).
#[actix_web::test]
async fn sqlite_committed_tokens_reach_the_database_file_in_the_background() {
    let app = spawn_app(Backend::Sqlite)
        .await
        .expect("SQLite always runs");
    let file = app.db.sqlite_dir().unwrap().join("auth.db");
    // The demo data at start is checkpointed by the first tick.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let before = std::fs::metadata(&file).unwrap().len();
    let issued = futures_util::future::join_all(
        (0..400).map(|_| app.token_basic(("dev", "11"), &[("grant_type", "client_credentials")])),
    )
    .await;
    assert!(issued.iter().all(|answer| answer.status == 200));
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let after = std::fs::metadata(&file).unwrap().len();
    assert!(
        after > before,
        "400 tokens later the database file is still {before} bytes: they are only in the WAL"
    );
}

async fn health_is_up_while_the_database_answers(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let response = app.http.get(app.url("/health")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), r#"{"status":"UP"}"#);
}
