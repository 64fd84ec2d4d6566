//! RFC 6749 §2.3: who may ask the token endpoint, and how.

use test_support::{answer, on_both_backends, TestApp};

#[on_both_backends]
async fn a_bad_secret_or_unknown_client_is_401_bad_client_credentials(app: TestApp) {
    for (id, secret) in [("dev", "12"), ("dev", ""), ("nobody", "11")] {
        let basic = app
            .token_basic((id, secret), &[("grant_type", "client_credentials")])
            .await;
        basic.assert_error(401, "invalid_client", "Bad client credentials");
        assert_eq!(
            basic.header("www-authenticate"),
            r#"Basic realm="oauth2/client""#
        );
        app.token(&[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
        ])
        .await
        .assert_error(401, "invalid_client", "Bad client credentials");
    }
}

#[on_both_backends]
async fn no_client_authentication_is_401_with_a_basic_challenge(app: TestApp) {
    let answer = app.token(&[("grant_type", "client_credentials")]).await;
    answer.assert_error(401, "invalid_client", "Client authentication is required");
    assert!(answer.header("www-authenticate").starts_with("Basic "));
}

#[on_both_backends]
async fn basic_and_form_credentials_together_are_invalid_request(app: TestApp) {
    app.token_basic(
        ("dev", "11"),
        &[
            ("grant_type", "client_credentials"),
            ("client_secret", "11"),
        ],
    )
    .await
    .assert_error(
        400,
        "invalid_request",
        "Client authentication must use only one method",
    );
    app.token_basic(
        ("dev", "11"),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "resource"),
        ],
    )
    .await
    .assert_error(
        400,
        "invalid_request",
        "client_id does not match the authenticated client",
    );
    let same = app
        .token_basic(
            ("dev", "11"),
            &[("grant_type", "client_credentials"), ("client_id", "dev")],
        )
        .await;
    assert_eq!(
        same.status, 200,
        "naming the same client twice is harmless: {}",
        same.body
    );
}

#[on_both_backends]
async fn a_malformed_basic_header_is_401(app: TestApp) {
    for header in ["Basic %%%", "Basic ZGV2", "Basic /w=="] {
        let response = app
            .http
            .post(app.url("/oauth/token"))
            .header("Authorization", header)
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        answer(response).await.assert_error(
            401,
            "invalid_client",
            "Malformed client credentials in the Authorization header",
        );
    }
}

#[on_both_backends]
async fn a_grant_the_client_is_not_registered_for_is_unauthorized_client(app: TestApp) {
    app.add_client("cc-only", "client_credentials", |_| {});
    app.password_grant_as(("cc-only", "s3cret"), ("admin", "123456"))
        .await
        .assert_error(
            401,
            "unauthorized_client",
            "Unauthorized grant type: password",
        );
    app.add_client("spring-default", "", |row| {
        row.authorized_grant_types = None
    });
    app.token_basic(
        ("spring-default", "s3cret"),
        &[("grant_type", "client_credentials")],
    )
    .await
    .assert_error(
        401,
        "unauthorized_client",
        "Unauthorized grant type: client_credentials",
    );
}

#[on_both_backends]
async fn form_encoded_basic_credentials_work_as_rfc_6749_asks(app: TestApp) {
    app.add_client("odd", "client_credentials", |row| {
        row.client_secret = Some("{noop}p+w%d:x".into())
    });
    // Raw, as Spring's clients send it.
    let raw = app
        .token_basic(("odd", "p+w%d:x"), &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(raw.status, 200, "{}", raw.body);
    // Form-encoded first, as RFC 6749 §2.3.1 says.
    let encoded = app
        .token_basic(
            ("odd", "p%2Bw%25d%3Ax"),
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(encoded.status, 200, "{}", encoded.body);
}

#[on_both_backends]
async fn a_public_client_may_not_present_a_secret(app: TestApp) {
    app.add_client("spa", "refresh_token", |row| row.client_secret = None);
    app.token(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", "x"),
        ("client_id", "spa"),
        ("client_secret", "guess"),
    ])
    .await
    .assert_error(401, "invalid_client", "Bad client credentials");
    // Identified by client_id alone, it reaches the grant (which then finds no such token).
    app.token(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", "x"),
        ("client_id", "spa"),
    ])
    .await
    .assert_error(400, "invalid_grant", "Invalid refresh token");
}
