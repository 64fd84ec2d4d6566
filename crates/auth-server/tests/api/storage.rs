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

async fn health_is_up_while_the_database_answers(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let response = app.http.get(app.url("/health")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), r#"{"status":"UP"}"#);
}
