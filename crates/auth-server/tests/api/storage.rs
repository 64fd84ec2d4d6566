//! What the database holds, and what happens when it is gone.

use auth_server::domain::token_value::hash;
use diesel::prelude::*;

use crate::helpers::{answer, spawn_app, Backend};
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

/// SECURITY.md item 22 in its first form: the database gone, answers are 503 JSON, never a lie
/// such as "invalid_client", and never a token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_database_gone_the_token_endpoint_and_health_answer_503() {
    let Some(app) = crate::helpers::spawn_app_with(Backend::Postgres, |s| {
        s.database.connect_timeout_ms = 500;
    })
    .await
    else {
        return;
    };
    assert_eq!(app.password_grant().await.status, 200);
    app.db.drop_now();
    let token = app.password_grant().await;
    token.assert_error(
        503,
        "temporarily_unavailable",
        "The service is temporarily unavailable; try again later",
    );
    assert_eq!(token.header("retry-after"), "1");
    let cc = app
        .token_basic(("dev", "11"), &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(cc.status, 503, "{}", cc.body);
    let health = answer(app.http.get(app.url("/health")).send().await.unwrap()).await;
    assert_eq!(health.status, 503);
    assert_eq!(health.body, r#"{"status":"DOWN"}"#);
}

/// A PostgreSQL restart kills every pooled connection behind the server's back. The first request
/// may find a dead one and answer 503; from then on connections are checked before use, dead ones
/// replaced, and service resumes by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_killed_by_the_database_are_replaced() {
    let Some(app) = crate::helpers::spawn_app(Backend::Postgres).await else {
        return;
    };
    let warm = futures_util::future::join_all((0..8).map(|_| app.password_grant())).await;
    assert!(warm.iter().all(|a| a.status == 200));
    let crate::helpers::TestDb::Postgres { admin_url, name } = &app.db else {
        unreachable!()
    };
    {
        use diesel::connection::SimpleConnection;
        let mut admin = diesel::PgConnection::establish(admin_url).unwrap();
        admin
            .batch_execute(&format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
            ))
            .unwrap();
    }
    let mut statuses = Vec::new();
    for _ in 0..20 {
        let answer = app.password_grant().await;
        statuses.push(answer.status);
        assert_ne!(answer.status, 500, "{}", answer.body);
        if statuses.ends_with(&[200, 200, 200]) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        statuses.ends_with(&[200, 200, 200]),
        "did not recover: {statuses:?}"
    );
    assert!(
        statuses.iter().filter(|s| **s == 503).count() <= 2,
        "{statuses:?}"
    );
}
