//! Codes and PKCE: docs/security.md, items 6 to 8.

use super::*;

fn pkce_query(challenge: &str, method: &str) -> String {
    format!("{WALKTHROUGH}&code_challenge={challenge}&code_challenge_method={method}")
}

const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

// RFC 7636 Appendix B.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

#[on_both_backends]
async fn item_06_a_code_is_single_use_and_replay_revokes_its_tokens(app: TestApp) {
    let code = code(&app, WALKTHROUGH).await;
    let first = exchange(&app, &code, &[]).await;
    let (access, refresh) = (first.field("access_token"), first.field("refresh_token"));
    assert_eq!(app.check_token(&access).await.status, 200);
    exchange(&app, &code, &[]).await.assert_error(
        400,
        "invalid_grant",
        "Authorization code already used; the tokens issued with it are revoked",
    );
    assert_eq!(
        app.check_token(&access).await.status,
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

#[on_both_backends]
async fn item_06_twenty_concurrent_exchanges_of_one_code_succeed_once(app: TestApp) {
    let code = code(&app, WALKTHROUGH).await;
    let answers = futures_util::future::join_all((0..20).map(|_| exchange(&app, &code, &[]))).await;
    let successes = answers.iter().filter(|a| a.status == 200).count();
    assert_eq!(successes, 1, "{answers:?}");
    assert!(answers
        .iter()
        .filter(|a| a.status != 200)
        .all(|a| a.json()["error"] == "invalid_grant"));
}

#[on_both_backends(|s| s.tokens.code_validity = 1)]
async fn item_07_a_code_expires(app: TestApp) {
    let code = code(&app, WALKTHROUGH).await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    exchange(&app, &code, &[]).await.assert_error(
        400,
        "invalid_grant",
        "Authorization code expired",
    );
}

#[on_both_backends]
async fn item_07_a_code_is_bound_to_its_client_and_burnt_by_a_wrong_one(app: TestApp) {
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

#[on_both_backends]
async fn item_07_a_code_lives_five_minutes_by_default(app: TestApp) {
    let code = code(&app, WALKTHROUGH).await;
    let stored = auth_server::db::codes::find(&mut app.store.conn().unwrap(), &hash(&code))
        .unwrap()
        .expect("stored under its hash");
    assert_eq!(stored.expires_at - stored.issued_at, 300);
}

/// RFC 6749 §4.1.2: "a maximum authorization code lifetime of 10 minutes is RECOMMENDED". A
/// longer one is a configuration mistake that must stop the server, not be served.
#[test]
fn item_07_a_code_validity_over_ten_minutes_stops_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("a.db").display());
    let migrate = |validity: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_auth-server"))
            .arg("migrate")
            .env("APP__DATABASE__URL", &url)
            .env("APP__TOKENS__CODE_VALIDITY", validity)
            .output()
            .unwrap()
    };
    for refused in ["601", "0", "86400"] {
        let output = migrate(refused);
        assert_eq!(output.status.code(), Some(2), "{refused}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("tokens.code_validity must be between 1 and 600 seconds"),
            "{refused}: {stderr}"
        );
    }
    let ten_minutes = migrate("600");
    assert!(
        ten_minutes.status.success(),
        "{}",
        String::from_utf8_lossy(&ten_minutes.stderr)
    );
}

#[on_both_backends]
async fn item_08_pkce_s256_and_plain_verify(app: TestApp) {
    let s256 = code(&app, &pkce_query(CHALLENGE, "S256")).await;
    assert_eq!(
        exchange(&app, &s256, &[("code_verifier", VERIFIER)])
            .await
            .status,
        200
    );
    // Every unreserved character, and both length limits (VERIFIER has the shortest, 43).
    let longest = format!("{}abc", "a-._~".repeat(25));
    for verifier in [VERIFIER, longest.as_str()] {
        let plain = code(&app, &pkce_query(verifier, "plain")).await;
        assert_eq!(
            exchange(&app, &plain, &[("code_verifier", verifier)])
                .await
                .status,
            200,
            "{verifier}"
        );
    }
}

#[on_both_backends]
async fn item_08_a_wrong_missing_or_malformed_verifier_burns_the_code(app: TestApp) {
    let wrong = VERIFIER.replace('d', "e");
    let short = "a".repeat(42);
    let long = "a".repeat(129);
    let bad_chars = format!("{}!", &VERIFIER[..43]);
    for verifier in [
        Some(wrong.as_str()),
        // What an eavesdropper on the authorization request saw.
        Some(CHALLENGE),
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
    let plain = code(&app, &pkce_query(VERIFIER, "plain")).await;
    exchange(&app, &plain, &[("code_verifier", &wrong)])
        .await
        .assert_error(400, "invalid_grant", "PKCE verification failed");
    assert_eq!(
        exchange(&app, &plain, &[("code_verifier", VERIFIER)])
            .await
            .status,
        400,
        "burnt"
    );
}

#[on_both_backends]
async fn item_08_a_verifier_without_a_challenge_is_a_downgrade_and_refused(app: TestApp) {
    let code = code(&app, WALKTHROUGH).await;
    exchange(&app, &code, &[("code_verifier", VERIFIER)])
        .await
        .assert_error(
            400,
            "invalid_grant",
            "code_verifier sent but the authorization request had no code_challenge",
        );
}

#[on_both_backends]
async fn item_08_a_public_client_must_use_pkce_and_needs_no_secret(app: TestApp) {
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

/// A public client's tokens, through a PKCE code flow: its refresh token, the way it refreshes.
pub(super) async fn public_client_refresh_token(app: &TestApp) -> String {
    app.add_client("spa", "authorization_code,refresh_token", |row| {
        row.client_secret = None;
        row.web_server_redirect_uri = Some("https://spa.example/cb".into());
        // Asks not to rotate: a public client rotates whatever it asks.
        row.additional_information = Some(r#"{"rotate_refresh_tokens":false}"#.into());
    });
    let location = app
        .browser()
        .code_for(&format!("response_type=code&client_id=spa&state=s&code_challenge={CHALLENGE}&code_challenge_method=S256"))
        .await;
    app.token(&[
        ("grant_type", "authorization_code"),
        ("code", &params_of(&location)["code"]),
        ("client_id", "spa"),
        ("code_verifier", VERIFIER),
    ])
    .await
    .field("refresh_token")
}

#[on_both_backends(|s| s.security.pkce_plain_allowed = false)]
async fn item_08_plain_is_refused_when_the_server_allows_only_s256(app: TestApp) {
    let browser = app.browser();
    browser.sign_in("admin", "123456").await;
    let plain = browser.authorize(&pkce_query(VERIFIER, "plain")).await;
    let location = params_of(plain.header("location"));
    assert_eq!(location["error"], "invalid_request");
    assert_eq!(
        location["error_description"],
        "code_challenge_method plain is not allowed; use S256"
    );
    let s256 = browser.code_for(&pkce_query(CHALLENGE, "S256")).await;
    assert!(params_of(&s256).contains_key("code"), "{s256}");
}
