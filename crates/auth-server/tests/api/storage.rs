//! What the database holds, and what happens when it is gone.

use auth_server::domain::token_value::hash;
use diesel::prelude::*;

use test_support::{on_both_backends, spawn_app, Backend, TestApp};

#[on_both_backends]
async fn tokens_are_stored_only_as_sha256_hashes(app: TestApp) {
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

/// Tokens issued before keys began with the time of issue are stored under their whole SHA-256;
/// an upgrade must not sign everybody out.
#[on_both_backends]
async fn tokens_stored_before_time_ordered_keys_keep_working(app: TestApp) {
    let answer = app.password_grant().await;
    let (access, refresh) = (answer.field("access_token"), answer.field("refresh_token"));
    let whole = |value: &str| {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(value.as_bytes()))
    };
    {
        use auth_server::db::schema::{oauth_access_token as a, oauth_refresh_token as r};
        let mut conn = app.store.conn().unwrap();
        diesel::update(a::table.find(hash(&access)))
            .set((
                a::token_id.eq(whole(&access)),
                a::refresh_token.eq(whole(&refresh)),
            ))
            .execute(&mut *conn)
            .unwrap();
        diesel::update(r::table.find(hash(&refresh)))
            .set(r::token_id.eq(whole(&refresh)))
            .execute(&mut *conn)
            .unwrap();
    }
    let introspected = app
        .post_form(
            "/oauth2/introspect",
            &[("token", &access)],
            Some(("resource", "resource-secret")),
        )
        .await;
    assert_eq!(introspected.json()["active"], true, "{}", introspected.body);
    let hi = app
        .http
        .get(app.url("/hi?name=old"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(hi.status(), 200);
    let refreshed = app.refresh(("dev", "11"), &refresh, None).await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
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
    // The task runs every 100 ms; a busy machine gets 5 s.
    let mut after = before;
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        after = std::fs::metadata(&file).unwrap().len();
        if after > before {
            break;
        }
    }
    assert!(
        after > before,
        "5 s after 400 tokens the database file is still {before} bytes: they are only in the WAL"
    );
}

#[on_both_backends]
async fn health_is_up_while_the_database_answers(app: TestApp) {
    let response = app.http.get(app.url("/health")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), r#"{"status":"UP"}"#);
}
