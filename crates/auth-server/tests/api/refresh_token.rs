//! RFC 6749 §6: refreshing, with and without rotation (docs/security.md, items 9 and 10 are
//! proven in security/refresh_tokens.rs).

use test_support::{on_both_backends, TestApp};

#[on_both_backends]
async fn a_refresh_keeps_the_refresh_token_by_default(app: TestApp) {
    let first = app.password_grant().await;
    let token = first.field("refresh_token");
    // The form-authenticated curl line.
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
    assert_eq!(app.refresh(("dev", "11"), &token, None).await.status, 200);
}

#[on_both_backends]
async fn an_unknown_refresh_token_is_invalid_grant(app: TestApp) {
    let access = app.password_grant().await.field("access_token");
    for token in ["nope", access.as_str()] {
        app.refresh(("dev", "11"), token, None).await.assert_error(
            400,
            "invalid_grant",
            "Invalid refresh token",
        );
    }
}

#[on_both_backends]
async fn an_expired_refresh_token_is_refused(app: TestApp) {
    app.add_client("brief", "password,refresh_token", |row| {
        row.refresh_token_validity = Some(1)
    });
    let token = app
        .password_grant_for(("brief", "s3cret"))
        .await
        .field("refresh_token");
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    app.refresh(("brief", "s3cret"), &token, None)
        .await
        .assert_error(400, "invalid_grant", "Invalid refresh token (expired)");
}

#[on_both_backends]
async fn a_disabled_user_can_no_longer_refresh(app: TestApp) {
    let token = app.password_grant().await.field("refresh_token");
    {
        use auth_server::db::schema::users::dsl::*;
        use diesel::prelude::*;
        diesel::update(users.find("admin"))
            .set(enabled.eq(false))
            .execute(&mut *app.store.conn().unwrap())
            .unwrap();
    }
    app.refresh(("dev", "11"), &token, None).await.assert_error(
        400,
        "invalid_grant",
        "User is disabled",
    );
}
