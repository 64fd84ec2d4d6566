//! Sign-in limits shared through Redis (`brute_force.store = "redis"`): docs/security.md, item 17
//! across replicas, and item 35 (a limit store that is down or slow fails safe, and nothing else
//! depends on it). With `TEST_REDIS_URL` (each test under a key prefix of its own, so they run in
//! parallel on one Redis, or on a `redis-server` of its own that it kills); without it, each says
//! it was skipped.

use auth_server::settings::Settings;
use test_support::{spawn_app_with, OwnRedis, TestRedis};

use super::token_endpoint::assert_locked;
use super::*;

/// Two replicas: one database, one Redis, the same settings.
async fn replicas(
    backend: Backend,
    redis: &TestRedis,
    limits: impl FnOnce(&mut Settings),
) -> Option<(TestApp, TestApp)> {
    let a = spawn_app_with(backend, |s| {
        redis.configure(s);
        limits(s);
    })
    .await?;
    let b = start(a.db.clone(), a.settings.clone()).await;
    Some((a, b))
}

async fn guess(app: &TestApp, username: &str, password: &str) -> Answer {
    app.password_grant_as(("dev", "11"), (username, password))
        .await
}

fn assert_bad_credentials(answer: &Answer) {
    answer.assert_error(400, "invalid_grant", "Bad credentials");
}

/// Failures on replica A count on replica B: four wrong passwords, two on each, lock the account
/// on both, at the password grant and the login form, before any bcrypt work.
#[on_both_backends]
async fn item_17_replicas_sharing_redis_lock_an_account_together(backend: Backend) {
    let Some(redis) = TestRedis::shared() else {
        return;
    };
    let Some((a, b)) = replicas(backend, &redis, |s| {
        s.brute_force.max_failures_per_user = 4;
        s.brute_force.max_failures_per_address = 0;
        s.brute_force.lockout_seconds = 60;
    })
    .await
    else {
        return;
    };
    for replica in [&a, &a, &b, &b] {
        assert_bad_credentials(&guess(replica, "admin", "wrong").await);
    }
    let bcrypt_before = (a.passwords.bcrypt_runs(), b.passwords.bcrypt_runs());
    for replica in [&a, &b] {
        assert_locked(&guess(replica, "admin", "123456").await, 60);
        let page = replica.browser().sign_in("admin", "123456").await;
        assert_eq!(page.status, 429, "{}", page.body);
        assert!(page.header("retry-after").parse::<u64>().unwrap() >= 59);
    }
    assert_eq!(
        (a.passwords.bcrypt_runs(), b.passwords.bcrypt_runs()),
        bcrypt_before
    );
    // Another account is not affected.
    b.add_user("alice", "pw", &["ROLE_USER"]);
    assert_eq!(guess(&a, "alice", "pw").await.status, 200);
}

/// A right password on one replica forgets the account's failures on every replica.
#[on_both_backends]
async fn item_17_a_right_password_on_one_replica_clears_the_account_on_the_other(backend: Backend) {
    let Some(redis) = TestRedis::shared() else {
        return;
    };
    let Some((a, b)) = replicas(backend, &redis, |s| {
        s.brute_force.max_failures_per_user = 3;
        s.brute_force.max_failures_per_address = 0;
    })
    .await
    else {
        return;
    };
    assert_bad_credentials(&guess(&a, "admin", "typo").await);
    assert_bad_credentials(&guess(&a, "admin", "typo").await);
    assert_eq!(guess(&b, "admin", "123456").await.status, 200);
    // Counted from zero again: without the success, the second of these would find a lock.
    assert_bad_credentials(&guess(&a, "admin", "typo").await);
    assert_bad_credentials(&guess(&a, "admin", "typo").await);
    assert_bad_credentials(&guess(&b, "admin", "typo").await);
    assert_locked(&guess(&a, "admin", "123456").await, 60);
}

/// An address spraying one password over many accounts is counted on every replica.
#[on_both_backends]
async fn item_17_replicas_sharing_redis_lock_an_address_together(backend: Backend) {
    let Some(redis) = TestRedis::shared() else {
        return;
    };
    let Some((a, b)) = replicas(backend, &redis, |s| {
        s.brute_force.max_failures_per_user = 0;
        s.brute_force.max_failures_per_address = 3;
    })
    .await
    else {
        return;
    };
    assert_bad_credentials(&guess(&a, "anna", "Summer2026!").await);
    assert_bad_credentials(&guess(&b, "bert", "Summer2026!").await);
    assert_bad_credentials(&guess(&a, "carl", "Summer2026!").await);
    assert_locked(&guess(&b, "admin", "123456").await, 60);
}

/// 503 `temporarily_unavailable`, code 5004, and no bcrypt work: what a password check answers
/// while the limit store does not.
async fn assert_fails_safe(app: &TestApp) {
    // The client's secret checked once, and remembered: what bcrypt does below is for passwords.
    app.client_token("dev", "11").await;
    let bcrypt_before = app.passwords.bcrypt_runs();
    let started = std::time::Instant::now();
    let refused = app.password_grant().await;
    refused.assert_error(
        503,
        "temporarily_unavailable",
        "The sign-in limit store does not answer; try again later",
    );
    assert_eq!(refused.header("x-error-code"), "5004");
    assert_eq!(refused.header("retry-after"), "1");
    let page = app.browser().sign_in("admin", "123456").await;
    assert_eq!(page.status, 503, "{}", page.body);
    assert!(page
        .body
        .contains("The sign-in limit store does not answer; try again later"));
    assert_secure_headers(&page, "the login form's 503 page");
    assert_eq!(app.passwords.bcrypt_runs(), bcrypt_before, "no bcrypt work");
    // brute_force.redis_timeout_ms is 500: both answers come within it, or close.
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

/// What does not check a user's password goes on without the limit store.
async fn assert_the_rest_is_served(app: &TestApp) {
    let token = app.client_token("dev", "11").await;
    let checked = app.check_token(&token).await;
    assert_eq!(checked.status, 200, "{}", checked.body);
    assert_eq!(app.get("/health").await.status, 200);
}

/// Password checks answer 200 again within `seconds`, without a restart of the server.
async fn assert_recovers_within(app: &TestApp, seconds: u64) {
    let deadline = std::time::Instant::now() + Duration::from_secs(seconds);
    loop {
        let answer = app.password_grant().await;
        if answer.status == 200 {
            break;
        }
        assert_eq!(answer.status, 503, "{}", answer.body);
        assert!(
            std::time::Instant::now() < deadline,
            "still 503 {seconds} s after Redis answered again"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let browser = app.browser();
    assert_eq!(browser.sign_in("admin", "123456").await.status, 303);
}

/// Redis killed under a running server, then started again on its port: 503 at both password
/// endpoints meanwhile (never an uncounted guess, never a 500), everything else served, and
/// sign-ins again as soon as it is back. A Redis that hangs (SIGSTOP) is the same, after the
/// timeout.
#[on_both_backends]
async fn item_35_a_limit_store_that_is_down_or_slow_fails_safe_and_recovers(backend: Backend) {
    let Some(mut own) = OwnRedis::start() else {
        return;
    };
    let redis = own.redis();
    let Some(app) = spawn_app_with(backend, |s| redis.configure(s)).await else {
        return;
    };
    assert_eq!(app.password_grant().await.status, 200);

    own.kill();
    assert_fails_safe(&app).await;
    assert_the_rest_is_served(&app).await;
    own.restart();
    // Not only eventually: the first sign-in after Redis is back gets in.
    let first = app.password_grant().await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_recovers_within(&app, 5).await;

    own.pause();
    assert_fails_safe(&app).await;
    assert_the_rest_is_served(&app).await;
    own.resume();
    assert_recovers_within(&app, 5).await;
}

/// A server whose Redis does not answer at start starts all the same, serves everything but
/// password checks, and checks passwords once Redis answers.
#[on_both_backends]
async fn item_35_a_server_starts_without_its_limit_store_and_uses_it_once_it_answers(
    backend: Backend,
) {
    let Some(mut own) = OwnRedis::start() else {
        return;
    };
    own.kill();
    let redis = own.redis();
    let Some(app) = spawn_app_with(backend, |s| redis.configure(s)).await else {
        return;
    };
    assert_fails_safe(&app).await;
    assert_the_rest_is_served(&app).await;
    own.restart();
    let first = app.password_grant().await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_recovers_within(&app, 5).await;
}
