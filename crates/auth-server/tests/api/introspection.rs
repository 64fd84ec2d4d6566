//! `POST /oauth/check_token` (Spring) and `POST /oauth2/introspect` (RFC 7662).

use crate::helpers::{answer, spawn_app, Answer, Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(
    check_token_answers_springs_shape,
    check_token_refuses_unknown_and_expired_tokens_with_springs_400,
    introspection_answers_rfc_7662_and_inactive_is_exactly_active_false,
    refresh_tokens_can_be_introspected_until_rotated,
    only_authenticated_trusted_clients_may_introspect,
    the_token_must_be_in_the_body,
);

async fn check(app: &TestApp, token: &str) -> Answer {
    app.post_form(
        "/oauth/check_token",
        &[("token", token)],
        Some(("resource", "resource-secret")),
    )
    .await
}

async fn introspect(app: &TestApp, form: &[(&str, &str)]) -> Answer {
    app.post_form(
        "/oauth2/introspect",
        form,
        Some(("resource", "resource-secret")),
    )
    .await
}

async fn check_token_answers_springs_shape(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let token = app.password_grant().await.field("access_token");
    let answer = check(&app, &token).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let exp = answer.json()["exp"].as_i64().unwrap();
    assert_eq!(
        answer.body,
        format!(
            r#"{{"active":true,"exp":{exp},"user_name":"admin","authorities":["ROLE_ADMIN","ROLE_USER"],"client_id":"dev","scope":["app"]}}"#
        ),
        "no aud for a client without resource_ids"
    );
    app.add_client("svc", "client_credentials", |row| {
        row.resource_ids = Some("hi,reports".into());
        row.authorities = Some("ROLE_SVC".into());
    });
    let client_token = app
        .token_basic(("svc", "s3cret"), &[("grant_type", "client_credentials")])
        .await
        .field("access_token");
    let json = check(&app, &client_token).await.json();
    assert!(json.get("user_name").is_none(), "client-only token");
    assert_eq!(json["authorities"], serde_json::json!(["ROLE_SVC"]));
    assert_eq!(json["aud"], serde_json::json!(["hi", "reports"]));
    assert_eq!(json["scope"], serde_json::json!(["app", "read"]));
}

async fn check_token_refuses_unknown_and_expired_tokens_with_springs_400(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    check(&app, "no-such-token").await.assert_error(
        400,
        "invalid_token",
        "Token was not recognised",
    );
    app.add_client("brief", "client_credentials", |row| {
        row.access_token_validity = Some(1)
    });
    let token = app
        .token_basic(("brief", "s3cret"), &[("grant_type", "client_credentials")])
        .await
        .field("access_token");
    assert_eq!(check(&app, &token).await.status, 200);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    check(&app, &token)
        .await
        .assert_error(400, "invalid_token", "Token has expired");
    // A refresh token is not an access token, for check_token.
    let refresh = app.password_grant().await.field("refresh_token");
    check(&app, &refresh)
        .await
        .assert_error(400, "invalid_token", "Token was not recognised");
}

async fn introspection_answers_rfc_7662_and_inactive_is_exactly_active_false(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let token = app.password_grant().await.field("access_token");
    let answer = introspect(&app, &[("token", &token)]).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("cache-control"), "no-store");
    let json = answer.json();
    assert_eq!(json["active"], true);
    assert_eq!(json["scope"], "app");
    assert_eq!(json["client_id"], "dev");
    assert_eq!(json["username"], "admin");
    assert_eq!(json["sub"], "admin");
    assert_eq!(json["token_type"], "bearer");
    let (iat, exp) = (json["iat"].as_i64().unwrap(), json["exp"].as_i64().unwrap());
    assert_eq!(exp - iat, 3600);
    for unknown in ["nope", "x".repeat(300).as_str()] {
        let inactive = introspect(&app, &[("token", unknown)]).await;
        assert_eq!(
            (inactive.status, inactive.body.as_str()),
            (200, r#"{"active":false}"#)
        );
    }
    app.add_client("brief", "client_credentials", |row| {
        row.access_token_validity = Some(1)
    });
    let brief = app
        .token_basic(("brief", "s3cret"), &[("grant_type", "client_credentials")])
        .await
        .field("access_token");
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(
        introspect(&app, &[("token", &brief)]).await.body,
        r#"{"active":false}"#
    );
}

async fn refresh_tokens_can_be_introspected_until_rotated(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.add_client("rot", "password,refresh_token", |row| {
        row.additional_information = Some(r#"{"rotate_refresh_tokens":true}"#.into())
    });
    let refresh = app
        .token_basic(
            ("rot", "s3cret"),
            &[
                ("grant_type", "password"),
                ("username", "admin"),
                ("password", "123456"),
            ],
        )
        .await
        .field("refresh_token");
    let hinted = introspect(
        &app,
        &[("token", &refresh), ("token_type_hint", "refresh_token")],
    )
    .await;
    assert_eq!(hinted.json()["active"], true);
    assert_eq!(
        hinted.json()["token_type"],
        "refresh_token",
        "never mistaken for a bearer token"
    );
    let unhinted = introspect(&app, &[("token", &refresh)]).await;
    assert_eq!(
        unhinted.json()["active"],
        true,
        "the hint only orders the search"
    );
    app.token_basic(
        ("rot", "s3cret"),
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await
    .field("refresh_token");
    assert_eq!(
        introspect(&app, &[("token", &refresh)]).await.body,
        r#"{"active":false}"#
    );
}

async fn only_authenticated_trusted_clients_may_introspect(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let token = app.password_grant().await.field("access_token");
    for path in ["/oauth/check_token", "/oauth2/introspect"] {
        app.post_form(path, &[("token", &token)], None)
            .await
            .assert_error(401, "invalid_client", "Client authentication is required");
        app.post_form(path, &[("token", &token)], Some(("resource", "wrong")))
            .await
            .assert_error(401, "invalid_client", "Bad client credentials");
        app.post_form(path, &[("token", &token)], Some(("dev", "11")))
            .await
            .assert_error(403, "access_denied", "Access is denied");
    }
    // A public client cannot authenticate, so it may not introspect even when trusted.
    app.add_client("trusted-but-public", "authorization_code", |row| {
        row.client_secret = None;
        row.authorities = Some("ROLE_TRUSTED_CLIENT".into());
    });
    app.post_form(
        "/oauth/check_token",
        &[("token", &token), ("client_id", "trusted-but-public")],
        None,
    )
    .await
    .assert_error(403, "access_denied", "Access is denied");
    // Any client holding ROLE_TRUSTED_CLIENT may, as in Spring's usual checkTokenAccess.
    app.add_client("gateway", "client_credentials", |row| {
        row.authorities = Some("ROLE_TRUSTED_CLIENT".into())
    });
    let answer = app
        .post_form(
            "/oauth/check_token",
            &[("token", &token)],
            Some(("gateway", "s3cret")),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}

async fn the_token_must_be_in_the_body(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let token = app.password_grant().await.field("access_token");
    let response = app
        .http
        .post(app.url(&format!("/oauth/check_token?token={token}")))
        .basic_auth("resource", Some("resource-secret"))
        .send()
        .await
        .unwrap();
    answer(response).await.assert_error(
        400,
        "invalid_request",
        "Parameters must be sent in the request body, not the query string",
    );
    app.post_form(
        "/oauth/check_token",
        &[],
        Some(("resource", "resource-secret")),
    )
    .await
    .assert_error(400, "invalid_request", "Missing parameter: token");
    let get = app
        .http
        .get(app.url("/oauth2/introspect"))
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 405);
}
