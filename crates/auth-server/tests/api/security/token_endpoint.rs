//! Token endpoint and clients: docs/security.md, items 14 to 18.

use super::*;

pub(super) fn assert_locked(answer: &Answer, lockout_seconds: u64) {
    answer.assert_error(
        429,
        "invalid_grant",
        "Too many failed sign-in attempts; try again later",
    );
    let wait: u64 = answer.header("retry-after").parse().unwrap();
    assert!((1..=lockout_seconds).contains(&wait), "Retry-After {wait}");
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
    answer(request.send().await.unwrap()).await
}

// Item 17: password guessing at the password grant and the login form.

async fn guess(app: &TestApp, username: &str, password: &str) -> Answer {
    guess_from(app, username, password, None).await
}

const HTTP_SAMPLE: usize = 10_000;

fn assert_bcrypt(stored: &str, what: &str) {
    let hash = stored.strip_prefix("{bcrypt}").unwrap_or(stored);
    assert!(
        hash.len() == 60 && ["$2a$", "$2b$", "$2y$"].iter().any(|p| hash.starts_with(p)),
        "{what} is not stored as a bcrypt hash: {stored}"
    );
}

fn assert_clean_token_answer(answer: &Answer, what: &str) {
    assert_eq!(answer.header("cache-control"), "no-store", "{what}");
    assert_eq!(answer.header("pragma"), "no-cache", "{what}");
    assert!(
        answer
            .header("content-type")
            .starts_with("application/json"),
        "{what}"
    );
    let json = answer.json();
    if answer.status == 200 {
        assert!(json["access_token"].is_string(), "{what}: {}", answer.body);
        return;
    }
    let fields = json.as_object().unwrap();
    assert_eq!(fields.len(), 2, "{what}: {}", answer.body);
    let error = fields["error"].as_str().unwrap();
    assert!(
        REGISTERED_ERRORS.contains(&error),
        "{what}: {}",
        answer.body
    );
    let description = fields["error_description"].as_str().unwrap();
    assert!(
        !description.chars().any(char::is_control),
        "{what}: {description:?}"
    );
}

/// RFC 6749 §5.2's codes, `temporarily_unavailable` (§4.1.2.1) for a 503, and Spring's
/// `method_not_allowed`, which its clients already know from a 405.
const REGISTERED_ERRORS: [&str; 8] = [
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "temporarily_unavailable",
    "method_not_allowed",
];

#[on_both_backends]
async fn item_14_every_token_response_is_no_store_and_errors_are_clean_json(app: TestApp) {
    app.add_client("cc-only", "client_credentials", |_| {});
    let form = Some("application/x-www-form-urlencoded");
    for path in ["/oauth/token", "/oauth2/token"] {
        let dev = Some(("dev", "11"));
        let refresh_token = app.password_grant().await.field("refresh_token");
        let code = code(&app, WALKTHROUGH).await;
        let mut answers = vec![
            (
                "ok: client_credentials",
                app.post_form(path, &[("grant_type", "client_credentials")], dev)
                    .await,
            ),
            (
                "ok: password",
                app.post_form(
                    path,
                    &[
                        ("grant_type", "password"),
                        ("username", "admin"),
                        ("password", "123456"),
                    ],
                    dev,
                )
                .await,
            ),
            (
                "ok: refresh_token",
                app.post_form(
                    path,
                    &[
                        ("grant_type", "refresh_token"),
                        ("refresh_token", &refresh_token),
                    ],
                    dev,
                )
                .await,
            ),
            (
                "ok: authorization_code",
                app.post_form(
                    path,
                    &[
                        ("grant_type", "authorization_code"),
                        ("code", &code),
                        ("redirect_uri", "http://www.baidu.com"),
                    ],
                    dev,
                )
                .await,
            ),
            (
                "no client authentication",
                app.post_form(path, &[("grant_type", "client_credentials")], None)
                    .await,
            ),
            (
                "wrong secret",
                app.post_form(
                    path,
                    &[("grant_type", "client_credentials")],
                    Some(("dev", "12")),
                )
                .await,
            ),
            (
                "unknown client",
                app.post_form(
                    path,
                    &[("grant_type", "client_credentials")],
                    Some(("nobody", "x")),
                )
                .await,
            ),
            (
                "no grant type",
                app.post_form(path, &[("scope", "app")], dev).await,
            ),
            (
                "unknown grant type",
                app.post_form(path, &[("grant_type", "magic")], dev).await,
            ),
            (
                "grant not registered",
                app.post_form(
                    path,
                    &[
                        ("grant_type", "password"),
                        ("username", "admin"),
                        ("password", "123456"),
                    ],
                    Some(("cc-only", "s3cret")),
                )
                .await,
            ),
            (
                "wrong password",
                app.post_form(
                    path,
                    &[
                        ("grant_type", "password"),
                        ("username", "admin"),
                        ("password", "wrong"),
                    ],
                    dev,
                )
                .await,
            ),
            (
                "unknown code",
                app.post_form(
                    path,
                    &[("grant_type", "authorization_code"), ("code", "nope")],
                    dev,
                )
                .await,
            ),
            (
                "scope not allowed",
                app.post_form(
                    path,
                    &[("grant_type", "client_credentials"), ("scope", "admin")],
                    dev,
                )
                .await,
            ),
            (
                "repeated parameter",
                app.post_bytes(
                    path,
                    Some(("dev", "11")),
                    form,
                    b"grant_type=client_credentials&scope=app&scope=app".to_vec(),
                )
                .await,
            ),
            (
                "not UTF-8",
                app.post_bytes(path, Some(("dev", "11")), form, b"grant_type=\xff".to_vec())
                    .await,
            ),
            (
                "not a form",
                app.post_bytes(
                    path,
                    Some(("dev", "11")),
                    Some("application/json"),
                    b"{}".to_vec(),
                )
                .await,
            ),
            (
                "too large",
                app.post_bytes(path, Some(("dev", "11")), form, vec![b'a'; 64 * 1024])
                    .await,
            ),
            (
                "parameters in the query string",
                answer(
                    app.http
                        .post(app.url(&format!("{path}?grant_type=client_credentials")))
                        .basic_auth("dev", Some("11"))
                        .send()
                        .await
                        .unwrap(),
                )
                .await,
            ),
            (
                "wrong method",
                answer(app.http.get(app.url(path)).send().await.unwrap()).await,
            ),
            (
                "CR LF in the Basic credentials",
                answer(
                    app.http
                        .post(app.url(path))
                        .header(
                            "Authorization",
                            format!("Basic {}", STANDARD.encode("dev\r\n:11")),
                        )
                        .form(&[("grant_type", "client_credentials")])
                        .send()
                        .await
                        .unwrap(),
                )
                .await,
            ),
        ];
        // CR and LF anywhere a value can reach a description (header injection, log forging).
        for body in [
            "grant_type=client%0D%0Acredentials",
            "grant_type=client_credentials&scope=app%0D%0ASet-Cookie:%20x=1",
            "grant_type=client_credentials&scope=%0Aadmin",
            "grant_type=password&username=ad%0Amin&password=x",
            "grant_type=authorization_code&code=a%0D%0Ab",
            "grant_type=refresh_token&refresh_token=a%0Ab",
        ] {
            answers.push((
                body,
                app.post_bytes(path, Some(("dev", "11")), form, body.as_bytes().to_vec())
                    .await,
            ));
        }
        answers.push((
            "CR LF in the client_id",
            app.post_form(
                path,
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", "dev\r\n"),
                    ("client_secret", "11"),
                ],
                None,
            )
            .await,
        ));
        for (what, answer) in &answers {
            assert_eq!(
                answer.status == 200,
                what.starts_with("ok:"),
                "{path} {what}: {}",
                answer.body
            );
            assert_clean_token_answer(answer, &format!("{path} {what}"));
        }
    }
}

/// Whatever writes a secret, the demo seed or the command line, writes a bcrypt hash of it.
#[on_both_backends]
async fn item_15_secrets_and_passwords_are_stored_as_bcrypt_hashes(backend: Backend) {
    let Some((db, url)) = TestDb::create(backend) else {
        return;
    };
    crate::cli::ok(&url, &["migrate"]);
    crate::cli::ok(
        &url,
        &[
            "client",
            "add",
            "--client-id",
            "ci",
            "--secret",
            "ci-secret",
            "--scope",
            "read",
            "--grant-types",
            "password",
        ],
    );
    crate::cli::ok(
        &url,
        &[
            "user",
            "add",
            "--username",
            "dora",
            "--password",
            "first",
            "--authorities",
            "ROLE_USER",
        ],
    );
    crate::cli::ok(
        &url,
        &[
            "user",
            "passwd",
            "--username",
            "dora",
            "--password",
            "second",
        ],
    );
    let app = start(db, test_settings(&url)).await;
    {
        use auth_server::db::schema::{oauth_client_details as c, users as u};
        use diesel::prelude::*;
        let mut conn = app.store.conn().unwrap();
        let secrets: Vec<(String, Option<String>)> = c::table
            .select((c::client_id, c::client_secret))
            .load(&mut *conn)
            .unwrap();
        let passwords: Vec<(String, String)> = u::table
            .select((u::username, u::password))
            .load(&mut *conn)
            .unwrap();
        assert_eq!(secrets.len(), 4, "{secrets:?}");
        for (id, secret) in &secrets {
            assert_bcrypt(secret.as_deref().unwrap_or_default(), id);
        }
        assert_eq!(passwords.len(), 2);
        for (username, password) in &passwords {
            assert_bcrypt(password, username);
        }
    }
    // And they are hashes of what was given.
    let token = app
        .password_grant_as(("ci", "ci-secret"), ("dora", "second"))
        .await;
    assert_eq!(token.status, 200, "{}", token.body);
}

/// docs/security.md, item 15: an unknown user, a `{noop}` user, a wrong password, an unknown client and
/// a `{noop}` client each cost exactly one bcrypt verification at the configured cost, so the time
/// of an answer tells neither who exists nor how a secret is stored. Counted, not timed: on a
/// shared 2-core machine wall-clock comparisons are noise, the work done is not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_15_an_unknown_user_costs_as_much_as_a_wrong_password() {
    let app = sqlite_app_with(|_| {}).await;
    app.add_client("plain", "password", |_| {});
    app.add_user("plainuser", "pw", &["ROLE_USER"]);
    // "plain" is stored as {noop}s3cret, so its own checks cost bcrypt too; the first one below
    // warms nothing (failures are never remembered).
    let bcrypt_work_of = |username: &'static str| {
        let app = &app;
        async move {
            let before = app.passwords.bcrypt_runs();
            app.password_grant_as(("plain", "s3cret"), (username, "wrong"))
                .await
                .assert_error(400, "invalid_grant", "Bad credentials");
            app.passwords.bcrypt_runs() - before
        }
    };
    // The first request verifies the client secret once too; after that it is remembered.
    bcrypt_work_of("admin").await;
    assert_eq!(bcrypt_work_of("admin").await, 1, "wrong password");
    assert_eq!(bcrypt_work_of("nobody").await, 1, "unknown user");
    assert_eq!(bcrypt_work_of("plainuser").await, 1, "{{noop}} user");

    let client_work_of = |client: &'static str| {
        let app = &app;
        async move {
            let before = app.passwords.bcrypt_runs();
            app.token_basic((client, "wrong"), &[("grant_type", "client_credentials")])
                .await
                .assert_error(401, "invalid_client", "Bad client credentials");
            app.passwords.bcrypt_runs() - before
        }
    };
    assert_eq!(client_work_of("nobody").await, 1, "unknown client");
    assert_eq!(client_work_of("plain").await, 1, "{{noop}} client");
    assert_eq!(
        client_work_of("dev").await,
        1,
        "bcrypt client, wrong secret"
    );
}

/// Concurrent grants for one user and client: Spring's JdbcTokenStore failed exactly here, with
/// duplicate-key errors. Then a large sample, from the grant that does no bcrypt.
#[on_both_backends]
async fn item_16_thousands_of_tokens_issued_over_http_are_256_bit_and_distinct(app: TestApp) {
    let mut tokens = HashSet::new();
    let mut keep = |token: String| {
        assert_eq!(
            URL_SAFE_NO_PAD.decode(&token).map(|b| b.len()).ok(),
            Some(32),
            "256 random bits: {token}"
        );
        assert!(tokens.insert(token), "issued twice");
    };
    let requests = (0..50).map(|_| app.password_grant());
    for answer in futures_util::future::join_all(requests).await {
        assert_eq!(answer.status, 200, "{}", answer.body);
        keep(answer.field("access_token"));
        keep(answer.field("refresh_token"));
    }
    for _ in 0..HTTP_SAMPLE / 50 {
        let requests = (0..50)
            .map(|_| app.token_basic(("dev", "11"), &[("grant_type", "client_credentials")]));
        for answer in futures_util::future::join_all(requests).await {
            keep(answer.field("access_token"));
        }
    }
    assert_eq!(tokens.len(), 100 + HTTP_SAMPLE);
}

#[test]
fn item_16_a_hundred_thousand_generated_tokens_are_256_bit_and_distinct() {
    let tokens: HashSet<String> = (0..100_000)
        .map(|_| token_value::generate(TokenFormat::Random))
        .collect();
    assert_eq!(tokens.len(), 100_000);
    for token in &tokens {
        assert_eq!(
            URL_SAFE_NO_PAD.decode(token).map(|b| b.len()).ok(),
            Some(32),
            "{token}"
        );
    }
}

#[on_both_backends(|s| s.tokens.format = TokenFormat::Uuid)]
async fn item_16_the_uuid_format_gives_spring_style_tokens(app: TestApp) {
    let password = app.password_grant().await;
    for token in [
        password.field("access_token"),
        password.field("refresh_token"),
    ] {
        assert_eq!(
            uuid::Uuid::parse_str(&token)
                .expect("a UUID")
                .get_version_num(),
            4
        );
    }
}

#[on_both_backends]
async fn item_18_client_credentials_issues_no_refresh_token(app: TestApp) {
    let answer = app
        .token_basic(("dev", "11"), &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(answer.status, 200);
    assert!(
        answer.json().get("refresh_token").is_none(),
        "{}",
        answer.body
    );
}

#[on_both_backends]
async fn item_18_implicit_puts_the_token_only_in_the_fragment(app: TestApp) {
    let browser = app.browser();
    let location = browser
        .code_for("response_type=token&client_id=dev&redirect_uri=http://www.baidu.com&state=xyz")
        .await;
    assert!(
        location.starts_with("http://www.baidu.com/#access_token="),
        "{location}"
    );
    let url = url::Url::parse(&location).unwrap();
    assert_eq!(url.query(), None, "nothing in the query");
    let fragment = url.fragment().unwrap();
    let keys: Vec<&str> = fragment
        .split('&')
        .map(|p| p.split('=').next().unwrap())
        .collect();
    assert_eq!(
        keys,
        ["access_token", "token_type", "expires_in", "state"],
        "{fragment}"
    );
    let params = params_of(&location);
    assert_eq!(
        (
            params["token_type"].as_str(),
            params["expires_in"].as_str(),
            params["state"].as_str()
        ),
        ("bearer", "3600", "xyz")
    );
    let check = app
        .post_form(
            "/oauth/check_token",
            &[("token", &params["access_token"])],
            Some(("resource", "resource-secret")),
        )
        .await;
    assert_eq!(check.json()["user_name"], "admin");
    // A client without the implicit grant gets unauthorized_client, in the fragment.
    app.add_client("codeonly", "authorization_code", |row| {
        row.web_server_redirect_uri = Some("https://c.example/cb".into())
    });
    let refused = browser
        .authorize("response_type=token&client_id=codeonly&state=s")
        .await;
    assert_eq!(
        refused.header("location"),
        "https://c.example/cb#error=unauthorized_client&error_description=Unauthorized+grant+type%3A+implicit&state=s"
    );
}

/// Per account, from any address, at both endpoints that check a password; a locked account costs
/// no bcrypt work, even when the password is right.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_17_an_account_is_locked_after_repeated_failures_at_every_password_endpoint() {
    let app = sqlite_app_with(|s| {
        s.brute_force.max_failures_per_user = 3;
        s.brute_force.max_failures_per_address = 0;
        s.brute_force.lockout_seconds = 60;
        // Addresses vary below: only the account can be what is counted.
        s.brute_force.trust_forwarded_for = true;
    })
    .await;
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
    let app = sqlite_app_with(|s| {
        s.brute_force.max_failures_per_user = 0;
        s.brute_force.max_failures_per_address = 4;
    })
    .await;
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
    let app = sqlite_app_with(|s| {
        s.brute_force.max_failures_per_user = 2;
        s.brute_force.max_failures_per_address = 0;
        s.brute_force.lockout_seconds = 1;
    })
    .await;
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
    // Long enough that a burst checked by a busy machine's bcrypt thread (at the lowest priority)
    // ends within one lockout.
    let app = sqlite_app_with(|s| {
        s.brute_force.max_failures_per_user = 3;
        s.brute_force.max_failures_per_address = 0;
        s.brute_force.lockout_seconds = 4;
    })
    .await;
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
    tokio::time::sleep(std::time::Duration::from_millis(4100)).await;
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
    let app = sqlite_app_with(|s| {
        s.brute_force.max_failures_per_user = 0;
        s.brute_force.max_failures_per_address = 0;
    })
    .await;
    for _ in 0..8 {
        assert_eq!(guess(&app, "admin", "wrong").await.status, 400);
    }
    assert_eq!(guess(&app, "admin", "123456").await.status, 200);
}
