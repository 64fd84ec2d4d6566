//! RFC 6749 §6: refreshing, with and without rotation (SECURITY.md items 9 and 10).

use crate::helpers::{spawn_app, spawn_app_with, Answer, Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(
    a_refresh_keeps_the_refresh_token_by_default,
    a_narrower_scope_is_granted_and_a_wider_one_refused,
    a_refresh_token_is_bound_to_its_client,
    an_unknown_refresh_token_is_invalid_grant,
    an_expired_refresh_token_is_refused,
    per_client_rotation_burns_the_old_token_and_reuse_revokes_the_family,
    global_rotation_applies_unless_the_client_opts_out,
    parallel_refreshes_of_one_rotating_token_succeed_at_most_once,
    a_refused_refresh_does_not_consume_the_token,
    a_disabled_user_can_no_longer_refresh,
    a_reuse_racing_a_rotation_never_leaves_a_live_token,
);

async fn refresh(app: &TestApp, client: (&str, &str), token: &str, scope: Option<&str>) -> Answer {
    let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", token)];
    if let Some(scope) = scope {
        form.push(("scope", scope));
    }
    app.token_basic(client, &form).await
}

async fn password_grant_for(app: &TestApp, client: (&str, &str)) -> Answer {
    app.token_basic(
        client,
        &[
            ("grant_type", "password"),
            ("username", "admin"),
            ("password", "123456"),
        ],
    )
    .await
}

async fn a_refresh_keeps_the_refresh_token_by_default(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let first = app.password_grant().await;
    let token = first.field("refresh_token");
    // The issue's form-authenticated curl line.
    let refreshed = app
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &token),
            ("client_id", "dev"),
            ("client_secret", "11"),
        ])
        .await;
    assert_eq!(
        refreshed.field("refresh_token"),
        token,
        "Spring's reuseRefreshToken"
    );
    assert_ne!(refreshed.field("access_token"), first.field("access_token"));
    assert_eq!(refreshed.json()["scope"], "app");
    assert_eq!(refreshed.json()["expires_in"], 3600);
    // And again: a kept token stays usable.
    assert_eq!(refresh(&app, ("dev", "11"), &token, None).await.status, 200);
}

async fn a_narrower_scope_is_granted_and_a_wider_one_refused(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.add_client("wide", "password,refresh_token", |_| {});
    let token = password_grant_for(&app, ("wide", "s3cret"))
        .await
        .field("refresh_token");
    let narrowed = refresh(&app, ("wide", "s3cret"), &token, Some("read")).await;
    assert_eq!(narrowed.json()["scope"], "read");
    let narrow = password_grant_for_scope(&app, "read")
        .await
        .field("refresh_token");
    refresh(&app, ("wide", "s3cret"), &narrow, Some("read app"))
        .await
        .assert_error(
            400,
            "invalid_scope",
            "Scope is wider than the original grant",
        );
    // Narrowing once does not narrow the refresh token itself (RFC 6749 §6).
    assert_eq!(
        refresh(&app, ("wide", "s3cret"), &token, None).await.json()["scope"],
        "app read"
    );
}

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

async fn a_refresh_token_is_bound_to_its_client(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.add_client("other", "password,refresh_token", |_| {});
    let token = app.password_grant().await.field("refresh_token");
    refresh(&app, ("other", "s3cret"), &token, None)
        .await
        .assert_error(400, "invalid_grant", "Wrong client for this refresh token");
    assert_eq!(refresh(&app, ("dev", "11"), &token, None).await.status, 200);
}

async fn an_unknown_refresh_token_is_invalid_grant(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let access = app.password_grant().await.field("access_token");
    for token in ["nope", access.as_str()] {
        refresh(&app, ("dev", "11"), token, None)
            .await
            .assert_error(400, "invalid_grant", "Invalid refresh token");
    }
}

async fn an_expired_refresh_token_is_refused(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.add_client("brief", "password,refresh_token", |row| {
        row.refresh_token_validity = Some(1)
    });
    let token = password_grant_for(&app, ("brief", "s3cret"))
        .await
        .field("refresh_token");
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    refresh(&app, ("brief", "s3cret"), &token, None)
        .await
        .assert_error(400, "invalid_grant", "Invalid refresh token (expired)");
}

async fn per_client_rotation_burns_the_old_token_and_reuse_revokes_the_family(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.add_client("rotating", "password,refresh_token", |row| {
        row.additional_information = Some(r#"{"rotate_refresh_tokens":true}"#.into())
    });
    let client = ("rotating", "s3cret");
    let first = password_grant_for(&app, client)
        .await
        .field("refresh_token");
    let second_answer = refresh(&app, client, &first, None).await;
    let second = second_answer.field("refresh_token");
    assert_ne!(first, second, "rotated");
    let third = refresh(&app, client, &second, None)
        .await
        .field("refresh_token");
    // The burnt first token comes back: it leaked. Everything of the grant is revoked.
    refresh(&app, client, &first, None).await.assert_error(
        400,
        "invalid_grant",
        "Refresh token already used; the grant has been revoked",
    );
    refresh(&app, client, &third, None).await.assert_error(
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
    let unrelated = password_grant_for(&app, client)
        .await
        .field("refresh_token");
    assert_eq!(refresh(&app, client, &unrelated, None).await.status, 200);
}

async fn global_rotation_applies_unless_the_client_opts_out(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| s.tokens.rotate_refresh_tokens = true).await else {
        return;
    };
    let token = app.password_grant().await.field("refresh_token");
    assert_ne!(
        refresh(&app, ("dev", "11"), &token, None)
            .await
            .field("refresh_token"),
        token
    );
    app.add_client("keeper", "password,refresh_token", |row| {
        row.additional_information = Some(r#"{"rotate_refresh_tokens":false}"#.into())
    });
    let kept = password_grant_for(&app, ("keeper", "s3cret"))
        .await
        .field("refresh_token");
    assert_eq!(
        refresh(&app, ("keeper", "s3cret"), &kept, None)
            .await
            .field("refresh_token"),
        kept
    );
}

async fn parallel_refreshes_of_one_rotating_token_succeed_at_most_once(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| s.tokens.rotate_refresh_tokens = true).await else {
        return;
    };
    let token = app.password_grant().await.field("refresh_token");
    let answers =
        futures_util::future::join_all((0..10).map(|_| refresh(&app, ("dev", "11"), &token, None)))
            .await;
    let successes = answers.iter().filter(|a| a.status == 200).count();
    assert!(
        successes <= 1,
        "{successes} of 10 parallel refreshes succeeded"
    );
    for answer in answers.iter().filter(|a| a.status != 200) {
        assert_eq!(answer.json()["error"], "invalid_grant", "{}", answer.body);
    }
}

async fn a_refused_refresh_does_not_consume_the_token(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| s.tokens.rotate_refresh_tokens = true).await else {
        return;
    };
    let token = app.password_grant().await.field("refresh_token");
    refresh(&app, ("dev", "11"), &token, Some("app admin"))
        .await
        .assert_error(
            400,
            "invalid_scope",
            "Scope is wider than the original grant",
        );
    refresh(&app, ("dev", "wrong"), &token, None)
        .await
        .assert_error(401, "invalid_client", "Bad client credentials");
    assert_eq!(refresh(&app, ("dev", "11"), &token, None).await.status, 200);
}

async fn a_disabled_user_can_no_longer_refresh(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let token = app.password_grant().await.field("refresh_token");
    {
        use auth_server::db::schema::users::dsl::*;
        use diesel::prelude::*;
        diesel::update(users.find("admin"))
            .set(enabled.eq(false))
            .execute(&mut *app.store.conn().unwrap())
            .unwrap();
    }
    refresh(&app, ("dev", "11"), &token, None)
        .await
        .assert_error(400, "invalid_grant", "User is disabled");
}

/// SECURITY.md item 10, under a race: a leaked token presented while the legitimate client rotates
/// its current one. Whatever the interleaving, nothing of the grant may stay usable.
async fn a_reuse_racing_a_rotation_never_leaves_a_live_token(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| s.tokens.rotate_refresh_tokens = true).await else {
        return;
    };
    for round in 0..25 {
        let first = app.password_grant().await.field("refresh_token");
        let second = refresh(&app, ("dev", "11"), &first, None)
            .await
            .field("refresh_token");
        let (reuse, rotation) = tokio::join!(
            refresh(&app, ("dev", "11"), &first, None),
            refresh(&app, ("dev", "11"), &second, None)
        );
        assert_eq!(reuse.status, 400, "round {round}: {}", reuse.body);
        if rotation.status == 200 {
            let third = rotation.field("refresh_token");
            let access = rotation.field("access_token");
            refresh(&app, ("dev", "11"), &third, None)
                .await
                .assert_error(400, "invalid_grant", "Invalid refresh token");
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
