//! RFC 6749 §4.3: the resource owner password grant.

use test_support::{on_both_backends, TestApp};

#[on_both_backends]
async fn the_demo_user_gets_an_access_and_a_refresh_token(app: TestApp) {
    let answer = app.password_grant().await;
    let (access, refresh) = (answer.field("access_token"), answer.field("refresh_token"));
    assert_eq!(
        answer.body,
        format!(
            r#"{{"access_token":"{access}","token_type":"bearer","refresh_token":"{refresh}","expires_in":3600,"scope":"app"}}"#
        )
    );
    assert_ne!(access, refresh);
}

#[on_both_backends]
async fn a_wrong_password_or_unknown_user_is_bad_credentials(app: TestApp) {
    for (username, password) in [
        ("admin", "1234567"),
        ("nobody", "123456"),
        ("ADMIN", "123456"),
    ] {
        app.password_grant_as(("dev", "11"), (username, password))
            .await
            .assert_error(400, "invalid_grant", "Bad credentials");
    }
}

#[on_both_backends]
async fn a_disabled_user_is_refused_once_the_password_is_right(app: TestApp) {
    app.add_user("gone", "pw", &["ROLE_USER"]);
    {
        use auth_server::db::schema::users::dsl::*;
        use diesel::prelude::*;
        diesel::update(users.find("gone"))
            .set(enabled.eq(false))
            .execute(&mut *app.store.conn().unwrap())
            .unwrap();
    }
    let grant = |pw: &'static str| {
        let app = &app;
        async move { app.password_grant_as(("dev", "11"), ("gone", pw)).await }
    };
    grant("wrong")
        .await
        .assert_error(400, "invalid_grant", "Bad credentials");
    grant("pw")
        .await
        .assert_error(400, "invalid_grant", "User is disabled");
}

#[on_both_backends]
async fn a_user_without_authorities_is_refused_as_spring_did(app: TestApp) {
    app.add_user("bare", "pw", &[]);
    app.password_grant_as(("dev", "11"), ("bare", "pw"))
        .await
        .assert_error(400, "invalid_grant", "Bad credentials");
}

#[on_both_backends]
async fn missing_username_or_password_is_invalid_request(app: TestApp) {
    app.token_basic(
        ("dev", "11"),
        &[("grant_type", "password"), ("password", "123456")],
    )
    .await
    .assert_error(400, "invalid_request", "Missing parameter: username");
    app.password_grant_as(("dev", "11"), ("admin", ""))
        .await
        .assert_error(400, "invalid_request", "Missing parameter: password");
}

#[on_both_backends]
async fn no_refresh_token_for_a_client_without_the_refresh_grant(app: TestApp) {
    app.add_client("norefresh", "password", |_| {});
    let answer = app
        .password_grant_as(("norefresh", "s3cret"), ("admin", "123456"))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(answer.json().get("refresh_token").is_none());
}
