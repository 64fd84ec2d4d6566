//! The code exchange at the token endpoint, and PKCE (SECURITY.md items 4, 6, 7, 8).

use crate::helpers::{params_of, spawn_app, spawn_app_with, Answer, Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(
    a_code_is_single_use_and_a_replay_revokes_its_tokens,
    twenty_concurrent_exchanges_of_one_code_succeed_once,
    a_code_expires,
    a_code_is_bound_to_its_client_and_burnt_by_a_wrong_one,
    the_redirect_uri_must_be_repeated_exactly,
    pkce_s256_and_plain_verify,
    a_wrong_missing_or_malformed_verifier_burns_the_code,
    a_verifier_without_a_challenge_is_a_downgrade_and_refused,
    a_public_client_must_use_pkce_and_needs_no_secret,
);

const WALKTHROUGH: &str =
    "response_type=code&client_id=dev&redirect_uri=http://www.baidu.com&state=xyz";

async fn code(app: &TestApp, query: &str) -> String {
    params_of(&app.browser().code_for(query).await)["code"].clone()
}

async fn exchange(app: &TestApp, code: &str, extra: &[(&str, &str)]) -> Answer {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", "http://www.baidu.com"),
    ];
    form.extend_from_slice(extra);
    app.token_basic(("dev", "11"), &form).await
}

async fn check(app: &TestApp, token: &str) -> u16 {
    app.post_form(
        "/oauth/check_token",
        &[("token", token)],
        Some(("resource", "resource-secret")),
    )
    .await
    .status
}

async fn a_code_is_single_use_and_a_replay_revokes_its_tokens(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let code = code(&app, WALKTHROUGH).await;
    let first = exchange(&app, &code, &[]).await;
    let (access, refresh) = (first.field("access_token"), first.field("refresh_token"));
    assert_eq!(check(&app, &access).await, 200);
    exchange(&app, &code, &[]).await.assert_error(
        400,
        "invalid_grant",
        "Authorization code already used; the tokens issued with it are revoked",
    );
    assert_eq!(
        check(&app, &access).await,
        400,
        "the first exchange's access token is revoked"
    );
    app.token_basic(
        ("dev", "11"),
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await
    .assert_error(400, "invalid_grant", "Invalid refresh token");
    exchange(&app, "never-issued", &[]).await.assert_error(
        400,
        "invalid_grant",
        "Invalid authorization code",
    );
}

async fn twenty_concurrent_exchanges_of_one_code_succeed_once(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let code = code(&app, WALKTHROUGH).await;
    let answers = futures_util::future::join_all((0..20).map(|_| exchange(&app, &code, &[]))).await;
    let successes = answers.iter().filter(|a| a.status == 200).count();
    assert_eq!(successes, 1, "{answers:?}");
    assert!(answers
        .iter()
        .filter(|a| a.status != 200)
        .all(|a| a.json()["error"] == "invalid_grant"));
}

async fn a_code_expires(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| s.tokens.code_validity = 1).await else {
        return;
    };
    let code = code(&app, WALKTHROUGH).await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    exchange(&app, &code, &[]).await.assert_error(
        400,
        "invalid_grant",
        "Authorization code expired",
    );
}

async fn a_code_is_bound_to_its_client_and_burnt_by_a_wrong_one(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.add_client("thief", "authorization_code", |row| {
        row.web_server_redirect_uri = Some("http://www.baidu.com".into())
    });
    let code = code(&app, WALKTHROUGH).await;
    app.token_basic(
        ("thief", "s3cret"),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://www.baidu.com"),
        ],
    )
    .await
    .assert_error(
        400,
        "invalid_grant",
        "Authorization code was issued to another client",
    );
    assert_eq!(exchange(&app, &code, &[]).await.status, 400, "burnt");
}

async fn the_redirect_uri_must_be_repeated_exactly(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    for (given, status) in [
        (None, 400),
        (Some("http://www.baidu.com/"), 400),
        (Some("http://www.baidu.com"), 200),
    ] {
        let code = code(&app, WALKTHROUGH).await;
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
        ];
        if let Some(uri) = given {
            form.push(("redirect_uri", uri));
        }
        let answer = app.token_basic(("dev", "11"), &form).await;
        assert_eq!(answer.status, status, "{given:?}: {}", answer.body);
        if status == 400 {
            answer.assert_error(400, "invalid_grant", "Redirect URI mismatch.");
        }
    }
    // Not given in the authorization request (one registered URI): may be left out, or repeated.
    let code = code(&app, "response_type=code&client_id=dev&state=xyz").await;
    let answer = app
        .token_basic(
            ("dev", "11"),
            &[("grant_type", "authorization_code"), ("code", &code)],
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}

// RFC 7636 Appendix B.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn pkce_query(challenge: &str, method: &str) -> String {
    format!("{WALKTHROUGH}&code_challenge={challenge}&code_challenge_method={method}")
}

async fn pkce_s256_and_plain_verify(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let s256 = code(&app, &pkce_query(CHALLENGE, "S256")).await;
    assert_eq!(
        exchange(&app, &s256, &[("code_verifier", VERIFIER)])
            .await
            .status,
        200
    );
    let plain = code(&app, &pkce_query(VERIFIER, "plain")).await;
    assert_eq!(
        exchange(&app, &plain, &[("code_verifier", VERIFIER)])
            .await
            .status,
        200
    );
}

async fn a_wrong_missing_or_malformed_verifier_burns_the_code(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let wrong = VERIFIER.replace('d', "e");
    let short = "a".repeat(42);
    let long = "a".repeat(129);
    let bad_chars = format!("{}!", &VERIFIER[..43]);
    for verifier in [
        Some(wrong.as_str()),
        None,
        Some(short.as_str()),
        Some(long.as_str()),
        Some(bad_chars.as_str()),
    ] {
        let code = code(&app, &pkce_query(CHALLENGE, "S256")).await;
        let extra: Vec<(&str, &str)> = verifier
            .map(|v| vec![("code_verifier", v)])
            .unwrap_or_default();
        exchange(&app, &code, &extra).await.assert_error(
            400,
            "invalid_grant",
            "PKCE verification failed",
        );
        // Burnt: even the right verifier fails now.
        assert_eq!(
            exchange(&app, &code, &[("code_verifier", VERIFIER)])
                .await
                .status,
            400,
            "{verifier:?}"
        );
    }
}

async fn a_verifier_without_a_challenge_is_a_downgrade_and_refused(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let code = code(&app, WALKTHROUGH).await;
    exchange(&app, &code, &[("code_verifier", VERIFIER)])
        .await
        .assert_error(
            400,
            "invalid_grant",
            "code_verifier sent but the authorization request had no code_challenge",
        );
}

async fn a_public_client_must_use_pkce_and_needs_no_secret(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.add_client("spa", "authorization_code,refresh_token", |row| {
        row.client_secret = None;
        row.web_server_redirect_uri = Some("https://spa.example/cb".into());
    });
    let browser = app.browser();
    browser.sign_in("admin", "123456").await;
    let refused = browser
        .authorize("response_type=code&client_id=spa&state=s")
        .await;
    assert_eq!(
        refused.header("location"),
        "https://spa.example/cb?error=invalid_request&error_description=Public+clients+must+use+PKCE+%28code_challenge%29&state=s"
    );
    let location = browser
        .code_for(&format!("response_type=code&client_id=spa&state=s&code_challenge={CHALLENGE}&code_challenge_method=S256"))
        .await;
    let code = params_of(&location)["code"].clone();
    let token = app
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", "spa"),
            ("code_verifier", VERIFIER),
        ])
        .await;
    assert_eq!(token.status, 200, "{}", token.body);
    token.field("refresh_token");
}
