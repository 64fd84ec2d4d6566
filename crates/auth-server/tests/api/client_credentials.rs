//! RFC 6749 §4.4, as the issue's curl lines use it.

use test_support::{on_both_backends, TestApp};

#[on_both_backends]
async fn form_authentication_at_both_paths_answers_springs_json(app: TestApp) {
    for path in ["/oauth/token", "/oauth2/token"] {
        let answer = app
            .post_form(
                path,
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", "dev"),
                    ("client_secret", "11"),
                ],
                None,
            )
            .await;
        assert_eq!(answer.status, 200, "{path}: {}", answer.body);
        assert_eq!(
            answer.header("content-type"),
            "application/json;charset=UTF-8"
        );
        assert_eq!(answer.header("cache-control"), "no-store");
        assert_eq!(answer.header("pragma"), "no-cache");
        // Spring's field order: access_token, token_type, (refresh_token), expires_in, scope.
        let token = answer.field("access_token");
        assert_eq!(
            answer.body,
            format!(
                r#"{{"access_token":"{token}","token_type":"bearer","expires_in":3600,"scope":"app"}}"#
            )
        );
        assert_eq!(token.len(), 43, "256 random bits, base64url");
    }
}

#[on_both_backends]
async fn basic_authentication_gets_a_token(app: TestApp) {
    let answer = app
        .token_basic(("dev", "11"), &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(answer.json()["scope"], "app");
    assert_eq!(answer.json()["token_type"], "bearer");
    let again = app
        .token_basic(("dev", "11"), &[("grant_type", "client_credentials")])
        .await;
    assert_ne!(
        answer.field("access_token"),
        again.field("access_token"),
        "every request gets a fresh token, unlike Spring's reuse"
    );
}

#[on_both_backends]
async fn a_requested_subset_of_the_scope_is_granted(app: TestApp) {
    app.add_client("svc", "client_credentials", |_| {});
    let both = app
        .token_basic(("svc", "s3cret"), &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(both.json()["scope"], "app read", "space-joined, sorted");
    let one = app
        .token_basic(
            ("svc", "s3cret"),
            &[("grant_type", "client_credentials"), ("scope", "read")],
        )
        .await;
    assert_eq!(one.json()["scope"], "read");
}

#[on_both_backends]
async fn a_scope_the_client_does_not_have_is_refused(app: TestApp) {
    app.token_basic(
        ("dev", "11"),
        &[("grant_type", "client_credentials"), ("scope", "app admin")],
    )
    .await
    .assert_error(
        400,
        "invalid_scope",
        "Invalid scope: not allowed for this client",
    );
    app.token_basic(
        ("dev", "11"),
        &[("grant_type", "client_credentials"), ("scope", "app\"x")],
    )
    .await
    .assert_error(400, "invalid_scope", "Malformed scope");
    app.add_client("noscope", "client_credentials", |row| row.scope = None);
    app.token_basic(
        ("noscope", "s3cret"),
        &[("grant_type", "client_credentials")],
    )
    .await
    .assert_error(
        400,
        "invalid_scope",
        "Empty scope (either the client or the user is not allowed the requested scopes)",
    );
}

#[on_both_backends]
async fn validity_comes_from_the_client_or_springs_default(app: TestApp) {
    app.add_client("default", "client_credentials", |row| {
        row.access_token_validity = None
    });
    app.add_client("short", "client_credentials", |row| {
        row.access_token_validity = Some(120)
    });
    app.add_client("forever", "client_credentials", |row| {
        row.access_token_validity = Some(0)
    });
    let expires_in = |client: &'static str| {
        let app = &app;
        async move {
            app.token_basic((client, "s3cret"), &[("grant_type", "client_credentials")])
                .await
                .json()
                .get("expires_in")
                .cloned()
        }
    };
    assert_eq!(
        expires_in("default").await,
        Some(43200.into()),
        "Spring's 12 hours"
    );
    assert_eq!(expires_in("short").await, Some(120.into()));
    assert_eq!(
        expires_in("forever").await,
        None,
        "0 means the token never expires, as in Spring"
    );
}

#[on_both_backends]
async fn a_public_client_cannot_use_client_credentials(app: TestApp) {
    app.add_client("spa", "client_credentials,refresh_token", |row| {
        row.client_secret = None
    });
    app.token(&[("grant_type", "client_credentials"), ("client_id", "spa")])
        .await
        .assert_error(
            401,
            "unauthorized_client",
            "Public clients may not use this grant type",
        );
}
