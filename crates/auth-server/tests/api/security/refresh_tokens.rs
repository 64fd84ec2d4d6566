//! Refresh tokens: docs/security.md, items 9 to 10.

use super::*;

async fn password_grant_for_scope(app: &TestApp, scope: &str) -> Answer {
    app.token_basic(
        ("wide", "s3cret"),
        &[
            ("grant_type", "password"),
            ("username", "admin"),
            ("password", "123456"),
            ("scope", scope),
        ],
    )
    .await
}

#[on_both_backends]
async fn item_09_a_refresh_token_is_bound_to_its_client(app: TestApp) {
    app.add_client("other", "password,refresh_token", |_| {});
    let token = app.password_grant().await.field("refresh_token");
    app.refresh(("other", "s3cret"), &token, None)
        .await
        .assert_error(400, "invalid_grant", "Wrong client for this refresh token");
    assert_eq!(app.refresh(("dev", "11"), &token, None).await.status, 200);
}

#[on_both_backends]
async fn item_09_a_narrower_scope_is_granted_and_a_wider_one_is_invalid_scope(app: TestApp) {
    app.add_client("wide", "password,refresh_token", |_| {});
    let token = app
        .password_grant_for(("wide", "s3cret"))
        .await
        .field("refresh_token");
    let narrowed = app.refresh(("wide", "s3cret"), &token, Some("read")).await;
    assert_eq!(narrowed.json()["scope"], "read");
    let narrow = password_grant_for_scope(&app, "read")
        .await
        .field("refresh_token");
    app.refresh(("wide", "s3cret"), &narrow, Some("read app"))
        .await
        .assert_error(
            400,
            "invalid_scope",
            "Scope is wider than the original grant",
        );
    // Narrowing once does not narrow the refresh token itself (RFC 6749 §6).
    assert_eq!(
        app.refresh(("wide", "s3cret"), &token, None).await.json()["scope"],
        "app read"
    );
}

#[on_both_backends]
async fn item_10_per_client_rotation_burns_the_old_token_and_reuse_revokes_the_family(
    app: TestApp,
) {
    app.add_client("rotating", "password,refresh_token", |row| {
        row.additional_information = Some(r#"{"rotate_refresh_tokens":true}"#.into())
    });
    let client = ("rotating", "s3cret");
    let first = app.password_grant_for(client).await.field("refresh_token");
    let second_answer = app.refresh(client, &first, None).await;
    let second = second_answer.field("refresh_token");
    assert_ne!(first, second, "rotated");
    let third = app
        .refresh(client, &second, None)
        .await
        .field("refresh_token");
    // The burnt first token comes back: it leaked. Everything of the grant is revoked.
    app.refresh(client, &first, None).await.assert_error(
        400,
        "invalid_grant",
        "Refresh token already used; the grant has been revoked",
    );
    app.refresh(client, &third, None).await.assert_error(
        400,
        "invalid_grant",
        "Invalid refresh token",
    );
    let access = second_answer.field("access_token");
    assert!(
        auth_server::db::tokens::find_access(
            &mut app.store.conn().unwrap(),
            &auth_server::domain::token_value::hash(&access)
        )
        .unwrap()
        .is_none(),
        "access tokens of the family are revoked too"
    );
    // Other grants of the same user and client are untouched.
    let unrelated = app.password_grant_for(client).await.field("refresh_token");
    assert_eq!(app.refresh(client, &unrelated, None).await.status, 200);
}

#[on_both_backends(|s| s.tokens.rotate_refresh_tokens = true)]
async fn item_10_global_rotation_applies_unless_the_client_opts_out(app: TestApp) {
    let token = app.password_grant().await.field("refresh_token");
    assert_ne!(
        app.refresh(("dev", "11"), &token, None)
            .await
            .field("refresh_token"),
        token
    );
    app.add_client("keeper", "password,refresh_token", |row| {
        row.additional_information = Some(r#"{"rotate_refresh_tokens":false}"#.into())
    });
    let kept = app
        .password_grant_for(("keeper", "s3cret"))
        .await
        .field("refresh_token");
    assert_eq!(
        app.refresh(("keeper", "s3cret"), &kept, None)
            .await
            .field("refresh_token"),
        kept
    );
}

#[on_both_backends(|s| s.tokens.rotate_refresh_tokens = true)]
async fn item_10_parallel_refreshes_of_one_rotating_token_succeed_at_most_once(app: TestApp) {
    let token = app.password_grant().await.field("refresh_token");
    let answers =
        futures_util::future::join_all((0..20).map(|_| app.refresh(("dev", "11"), &token, None)))
            .await;
    let successes = answers.iter().filter(|a| a.status == 200).count();
    assert!(
        successes <= 1,
        "{successes} of 20 parallel refreshes succeeded"
    );
    for answer in answers.iter().filter(|a| a.status != 200) {
        assert_eq!(answer.json()["error"], "invalid_grant", "{}", answer.body);
    }
}

#[on_both_backends(|s| s.tokens.rotate_refresh_tokens = true)]
async fn item_10_a_failed_refresh_never_consumes_the_only_valid_token(app: TestApp) {
    let token = app.password_grant().await.field("refresh_token");
    app.refresh(("dev", "11"), &token, Some("app admin"))
        .await
        .assert_error(
            400,
            "invalid_scope",
            "Scope is wider than the original grant",
        );
    app.refresh(("dev", "11"), &token, Some("app\"x"))
        .await
        .assert_error(400, "invalid_scope", "Malformed scope");
    app.refresh(("dev", "wrong"), &token, None)
        .await
        .assert_error(401, "invalid_client", "Bad client credentials");
    app.refresh(("nobody", "11"), &token, None)
        .await
        .assert_error(401, "invalid_client", "Bad client credentials");
    app.token(&[("grant_type", "refresh_token"), ("refresh_token", &token)])
        .await
        .assert_error(401, "invalid_client", "Client authentication is required");
    // Presented by another client (a thief with credentials of its own).
    app.add_client("other", "password,refresh_token", |_| {});
    app.refresh(("other", "s3cret"), &token, None)
        .await
        .assert_error(400, "invalid_grant", "Wrong client for this refresh token");
    app.post_bytes(
        "/oauth/token",
        Some(("dev", "11")),
        Some("application/x-www-form-urlencoded"),
        format!("grant_type=refresh_token&refresh_token={token}&refresh_token={token}")
            .into_bytes(),
    )
    .await
    .assert_error(400, "invalid_request", "Repeated parameter: refresh_token");
    assert_eq!(app.refresh(("dev", "11"), &token, None).await.status, 200);
}

/// docs/security.md, item 10, under a race: a leaked token presented while the legitimate client rotates
/// its current one. Whatever the interleaving, nothing of the grant may stay usable.
#[on_both_backends(|s| s.tokens.rotate_refresh_tokens = true)]
async fn item_10_a_reuse_racing_a_rotation_never_leaves_a_live_token(app: TestApp) {
    for round in 0..25 {
        let first = app.password_grant().await.field("refresh_token");
        let second = app
            .refresh(("dev", "11"), &first, None)
            .await
            .field("refresh_token");
        let (reuse, rotation) = tokio::join!(
            app.refresh(("dev", "11"), &first, None),
            app.refresh(("dev", "11"), &second, None)
        );
        assert_eq!(reuse.status, 400, "round {round}: {}", reuse.body);
        if rotation.status == 200 {
            let third = rotation.field("refresh_token");
            let access = rotation.field("access_token");
            app.refresh(("dev", "11"), &third, None).await.assert_error(
                400,
                "invalid_grant",
                "Invalid refresh token",
            );
            let stored = auth_server::db::tokens::find_access(
                &mut app.store.conn().unwrap(),
                &auth_server::domain::token_value::hash(&access),
            )
            .unwrap();
            assert!(
                stored.is_none(),
                "round {round}: an access token of a revoked grant survived"
            );
        }
    }
}

/// RFC 9700 §2.2.2: a public client cannot keep a secret, so a stolen refresh token must show itself
/// at its next use: its refresh tokens rotate whatever the settings and the client say, and the
/// stolen one's replay ends the grant for both.
#[on_both_backends]
async fn item_10_a_public_clients_refresh_tokens_always_rotate_and_a_replay_ends_the_grant(
    app: TestApp,
) {
    let first = super::codes_and_pkce::public_client_refresh_token(&app).await;
    let refresh = |token: String| {
        let app = &app;
        async move {
            app.token(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", &token),
                ("client_id", "spa"),
            ])
            .await
        }
    };
    let rotated = refresh(first.clone()).await;
    let second = rotated.field("refresh_token");
    assert_ne!(second, first, "a new refresh token");
    let access = rotated.field("access_token");
    refresh(first).await.assert_error(
        400,
        "invalid_grant",
        "Refresh token already used; the grant has been revoked",
    );
    refresh(second)
        .await
        .assert_error(400, "invalid_grant", "Invalid refresh token");
    app.check_token(&access)
        .await
        .assert_error(400, "invalid_token", "Token was not recognised");
}
