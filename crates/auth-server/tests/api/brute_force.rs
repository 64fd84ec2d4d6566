//! SECURITY.md item 17: password guessing at the password grant and the login form.

use crate::helpers::{csrf_of, spawn_app_with, Answer, Backend, TestApp};

async fn guess(app: &TestApp, username: &str, password: &str) -> Answer {
    guess_from(app, username, password, None).await
}

async fn guess_from(
    app: &TestApp,
    username: &str,
    password: &str,
    forwarded_for: Option<&str>,
) -> Answer {
    let mut request = app.http.post(app.url("/oauth/token")).form(&[
        ("grant_type", "password"),
        ("username", username),
        ("password", password),
        ("client_id", "dev"),
        ("client_secret", "11"),
    ]);
    if let Some(address) = forwarded_for {
        request = request.header("X-Forwarded-For", address);
    }
    crate::helpers::answer(request.send().await.unwrap()).await
}

fn assert_locked(answer: &Answer, lockout_seconds: u64) {
    answer.assert_error(
        429,
        "invalid_grant",
        "Too many failed sign-in attempts; try again later",
    );
    let wait: u64 = answer.header("retry-after").parse().unwrap();
    assert!((1..=lockout_seconds).contains(&wait), "Retry-After {wait}");
}

/// Per account, from any address, at both endpoints that check a password; a locked account costs
/// no bcrypt work, even when the password is right.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_17_an_account_is_locked_after_repeated_failures_at_every_password_endpoint() {
    let Some(app) = spawn_app_with(Backend::Sqlite, |s| {
        s.brute_force.max_failures_per_user = 3;
        s.brute_force.max_failures_per_address = 0;
        s.brute_force.lockout_seconds = 60;
        // Addresses vary below: only the account can be what is counted.
        s.brute_force.trust_forwarded_for = true;
    })
    .await
    else {
        return;
    };
    for n in 1..=3 {
        guess_from(&app, "admin", "wrong", Some(&format!("10.0.0.{n}")))
            .await
            .assert_error(400, "invalid_grant", "Bad credentials");
    }
    let bcrypt_before = app.passwords.bcrypt_runs();
    let locked = guess_from(&app, "admin", "123456", Some("10.0.0.9")).await;
    assert_locked(&locked, 60);
    assert_eq!(locked.header("cache-control"), "no-store");
    assert_eq!(app.passwords.bcrypt_runs(), bcrypt_before);

    // The login form shares the count: the page comes back with 429 and the wait, no session.
    let browser = app.browser();
    let page = browser.sign_in("admin", "123456").await;
    assert_eq!(page.status, 429, "{}", page.body);
    assert!(page.header("retry-after").parse::<u64>().unwrap() >= 1);
    assert!(page.body.contains("Too many failed sign-in attempts"));
    assert_eq!(page.header("x-frame-options"), "DENY");
    assert!(!csrf_of(&page.body).is_empty(), "the form is shown again");
    assert!(browser.get("/login").await.body.contains("Sign in"));

    // Other accounts are untouched.
    app.add_user("alice", "pw", &["ROLE_USER"]);
    assert_eq!(guess(&app, "alice", "pw").await.status, 200);
}

/// Per client address, whatever the account (a spray of one password over many usernames), and
/// an `X-Forwarded-For` a client writes itself is not believed unless configured.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_17_an_address_is_locked_after_repeated_failures_on_any_account() {
    let Some(app) = spawn_app_with(Backend::Sqlite, |s| {
        s.brute_force.max_failures_per_user = 0;
        s.brute_force.max_failures_per_address = 4;
    })
    .await
    else {
        return;
    };
    for user in ["a", "b", "c", "d"] {
        guess_from(
            &app,
            user,
            "Summer2026!",
            Some(&format!("10.9.9.{}", user.len())),
        )
        .await
        .assert_error(400, "invalid_grant", "Bad credentials");
    }
    // A new header does not make a new address: the peer (127.0.0.1) is what counts.
    assert_locked(
        &guess_from(&app, "admin", "123456", Some("10.1.2.3")).await,
        60,
    );
    let browser = app.browser();
    assert_eq!(browser.sign_in("e", "Summer2026!").await.status, 429);
}

/// A user who mistyped gets in once the lockout has passed, and a success forgets the failures.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_17_the_lockout_ends_and_a_right_password_clears_the_count() {
    let Some(app) = spawn_app_with(Backend::Sqlite, |s| {
        s.brute_force.max_failures_per_user = 2;
        s.brute_force.max_failures_per_address = 0;
        s.brute_force.lockout_seconds = 1;
    })
    .await
    else {
        return;
    };
    for _ in 0..2 {
        assert_eq!(guess(&app, "admin", "typo").await.status, 400);
    }
    assert_locked(&guess(&app, "admin", "123456").await, 1);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    // Through the login form this time: a 303 into the session.
    let browser = app.browser();
    let signed_in = browser.sign_in("admin", "123456").await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    assert_eq!(signed_in.header("location"), "/login");
    // The count started again from zero: one failure is not a lockout.
    assert_eq!(guess(&app, "admin", "typo").await.status, 400);
    assert_eq!(guess(&app, "admin", "123456").await.status, 200);
}

/// Guesses sent all at once are all checked, but past the limit every verdict is the same 429, so a
/// burst learns no more than one guess at a time; a burst of right passwords is never held back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_17_a_burst_of_guesses_learns_nothing_past_the_limit() {
    let Some(app) = spawn_app_with(Backend::Sqlite, |s| {
        s.brute_force.max_failures_per_user = 3;
        s.brute_force.max_failures_per_address = 0;
        s.brute_force.lockout_seconds = 1;
    })
    .await
    else {
        return;
    };
    let legit =
        futures_util::future::join_all((0..12).map(|_| guess(&app, "admin", "123456"))).await;
    assert!(
        legit.iter().all(|a| a.status == 200),
        "concurrent sign-ins of one account"
    );
    let statuses = |answers: &[Answer]| answers.iter().map(|a| a.status).collect::<Vec<_>>();
    let count = |answers: &[Answer], status| answers.iter().filter(|a| a.status == status).count();

    let wrong = futures_util::future::join_all((0..12).map(|n| {
        let password = format!("guess{n}");
        let app = &app;
        async move { guess(app, "admin", &password).await }
    }))
    .await;
    assert!(count(&wrong, 400) <= 3, "{:?}", statuses(&wrong));
    assert_eq!(count(&wrong, 429), 12 - count(&wrong, 400));

    // The lockout over, a burst gets one verdict; the right password in it is answered 429 like
    // the rest, unless it happened to be judged first.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let burst = futures_util::future::join_all((0..12).map(|n| {
        let password = if n == 7 {
            "123456".to_owned()
        } else {
            format!("again{n}")
        };
        let app = &app;
        async move { guess(app, "admin", &password).await }
    }))
    .await;
    if count(&burst, 200) == 0 {
        assert!(count(&burst, 400) <= 1, "{:?}", statuses(&burst));
        assert_eq!(count(&burst, 429), 12 - count(&burst, 400));
    }
}

/// Configured off, nothing is counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_17_limits_of_zero_switch_the_protection_off() {
    let Some(app) = spawn_app_with(Backend::Sqlite, |s| {
        s.brute_force.max_failures_per_user = 0;
        s.brute_force.max_failures_per_address = 0;
    })
    .await
    else {
        return;
    };
    for _ in 0..8 {
        assert_eq!(guess(&app, "admin", "wrong").await.status, 400);
    }
    assert_eq!(guess(&app, "admin", "123456").await.status, 200);
}
