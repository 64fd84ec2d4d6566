//! What the auth server remembers to go fast, and how long: client registrations
//! (`security.client_cache_seconds`) and successful client-secret checks
//! (`security.secret_cache_seconds`); and the batched token writer.

use std::collections::HashSet;
use std::time::Duration;

use auth_server::domain::token_value::hash;

use test_support::{on_both_backends, sqlite_app_with, TestApp};

async fn cc(app: &TestApp, secret: &str, scope: Option<&str>) -> test_support::Answer {
    let mut form = vec![("grant_type", "client_credentials")];
    if let Some(scope) = scope {
        form.push(("scope", scope));
    }
    app.token_basic(("svc", secret), &form).await
}

#[on_both_backends]
async fn a_remembered_client_answers_exactly_like_a_fresh_one(app: TestApp) {
    app.add_client("svc", "client_credentials", |row| {
        row.access_token_validity = Some(600)
    });
    // The first request reads the database and runs bcrypt; the next ones are served from memory.
    let first = cc(&app, "s3cret", None).await;
    let second = cc(&app, "s3cret", None).await;
    for answer in [&first, &second] {
        let token = answer.field("access_token");
        assert_eq!(
            answer.body,
            format!(
                r#"{{"access_token":"{token}","token_type":"bearer","expires_in":600,"scope":"app read"}}"#
            )
        );
        assert_eq!(answer.header("cache-control"), "no-store");
        let stored =
            auth_server::db::tokens::find_access(&mut app.store.conn().unwrap(), &hash(&token))
                .unwrap()
                .expect("stored before the answer");
        assert_eq!(stored.scope, "app,read");
    }
    // Errors are the same from memory too.
    cc(&app, "s3cret", Some("admin")).await.assert_error(
        400,
        "invalid_scope",
        "Invalid scope: not allowed for this client",
    );
    cc(&app, "wrong", None)
        .await
        .assert_error(401, "invalid_client", "Bad client credentials");
    assert_eq!(
        cc(&app, "s3cret", Some("read")).await.json()["scope"],
        "read"
    );
}

#[on_both_backends(|s| s.security.client_cache_seconds = 1)]
async fn a_changed_secret_or_registration_is_seen_within_the_cache_window(app: TestApp) {
    app.add_client("svc", "client_credentials", |_| {});
    assert_eq!(cc(&app, "s3cret", None).await.status, 200);
    {
        use auth_server::db::schema::oauth_client_details::dsl::*;
        use diesel::prelude::*;
        diesel::update(oauth_client_details.find("svc"))
            .set((
                client_secret.eq(Some("{noop}rotated")),
                scope.eq(Some("read")),
            ))
            .execute(&mut *app.store.conn().unwrap())
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(1100)).await;
    cc(&app, "s3cret", None)
        .await
        .assert_error(401, "invalid_client", "Bad client credentials");
    let rotated = cc(&app, "rotated", None).await;
    assert_eq!(rotated.json()["scope"], "read", "{}", rotated.body);
}

#[on_both_backends]
async fn every_token_of_a_burst_is_committed_before_its_answer(app: TestApp) {
    app.add_client("svc", "client_credentials", |_| {});
    cc(&app, "s3cret", None).await.field("access_token");
    let answers = futures_util::future::join_all((0..200).map(|_| cc(&app, "s3cret", None))).await;
    let tokens: HashSet<String> = answers.iter().map(|a| a.field("access_token")).collect();
    assert_eq!(tokens.len(), 200);
    let mut conn = app.store.conn().unwrap();
    for token in &tokens {
        assert!(
            auth_server::db::tokens::find_access(&mut conn, &hash(token))
                .unwrap()
                .is_some(),
            "a token was answered before it was stored"
        );
    }
}

/// A flood of password checks fills bcrypt's queue and is turned away at once with 503, instead of
/// waiting forever or starving other requests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_bcrypt_queue_answers_503_with_retry_after() {
    let app = sqlite_app_with(|s| {
        s.security.bcrypt_cost = 12;
        s.security.bcrypt_threads = 1;
        s.security.bcrypt_queue = 1;
        s.security.bcrypt_nice = 0;
    })
    .await;
    app.add_user("u", "pw", &["ROLE_USER"]);
    let answers = futures_util::future::join_all((0..12).map(|_| {
        app.token_basic(
            ("dev", "11"),
            &[
                ("grant_type", "password"),
                ("username", "u"),
                ("password", "wrong"),
            ],
        )
    }))
    .await;
    let busy: Vec<_> = answers.iter().filter(|a| a.status == 503).collect();
    assert!(!busy.is_empty(), "{answers:?}");
    for answer in &busy {
        answer.assert_error(
            503,
            "temporarily_unavailable",
            "Too many password checks at once; try again shortly",
        );
        assert_eq!(answer.header("retry-after"), "1");
    }
    for answer in answers.iter().filter(|a| a.status != 503) {
        answer.assert_error(400, "invalid_grant", "Bad credentials");
    }
}
