//! The auth server guards its own `/hi` and `/me` with the shared guard and its own token store.

use crate::helpers::{answer, spawn_app, Answer, Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(
    hi_answers_a_caller_with_a_valid_token,
    requests_without_a_good_token_get_rfc_6750_answers,
    an_expired_or_revoked_token_is_refused,
    a_token_for_another_resource_is_refused,
);

async fn get(app: &TestApp, path: &str, bearer: Option<&str>) -> Answer {
    let mut request = app.http.get(app.url(path));
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    answer(request.send().await.unwrap()).await
}

async fn hi_answers_a_caller_with_a_valid_token(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let token = app.password_grant().await.field("access_token");
    let by_query = get(&app, &format!("/hi?name=1111&access_token={token}"), None).await;
    assert_eq!(
        (by_query.status, by_query.body.as_str()),
        (200, "hi , 1111")
    );
    assert_eq!(by_query.header("content-type"), "text/plain;charset=UTF-8");
    let by_header = get(&app, "/hi?name=%3Cb%3Ex", Some(&token)).await;
    assert_eq!(by_header.body, "hi , <b>x");
    assert_eq!(by_header.header("x-content-type-options"), "nosniff");
    let me = get(&app, "/me", Some(&token)).await.json();
    assert_eq!(me["user_name"], "admin");
    assert_eq!(me["client_id"], "dev");
    assert_eq!(
        me["authorities"],
        serde_json::json!(["ROLE_ADMIN", "ROLE_USER"])
    );
}

async fn requests_without_a_good_token_get_rfc_6750_answers(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let none = get(&app, "/hi?name=1111", None).await;
    none.assert_error(
        401,
        "unauthorized",
        "Full authentication is required to access this resource",
    );
    assert_eq!(
        none.header("www-authenticate"),
        r#"Bearer realm="oauth2-resource""#
    );
    let bad = get(&app, "/hi?name=1111", Some("not-a-token")).await;
    bad.assert_error(401, "invalid_token", "Invalid access token");
    assert!(bad
        .header("www-authenticate")
        .contains(r#"error="invalid_token""#));
    let token = app.password_grant().await.field("access_token");
    get(
        &app,
        &format!("/hi?name=1&access_token={token}"),
        Some(&token),
    )
    .await
    .assert_error(
        400,
        "invalid_request",
        "The access token must be sent in exactly one way",
    );
    get(&app, "/hi", Some(&token)).await.assert_error(
        400,
        "invalid_request",
        "Missing parameter: name",
    );
    // Authentication comes first: no token and no name is a 401.
    assert_eq!(get(&app, "/hi", None).await.status, 401);
}

async fn an_expired_or_revoked_token_is_refused(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.add_client("brief", "client_credentials", |row| {
        row.access_token_validity = Some(1)
    });
    let brief = app
        .token_basic(("brief", "s3cret"), &[("grant_type", "client_credentials")])
        .await
        .field("access_token");
    assert_eq!(get(&app, "/hi?name=a", Some(&brief)).await.status, 200);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    get(&app, "/hi?name=a", Some(&brief)).await.assert_error(
        401,
        "invalid_token",
        "Access token expired",
    );
    // Revocation: a rotated refresh token reused revokes its family, access tokens included.
    app.add_client("rot", "password,refresh_token", |row| {
        row.additional_information = Some(r#"{"rotate_refresh_tokens":true}"#.into())
    });
    let first = app
        .token_basic(
            ("rot", "s3cret"),
            &[
                ("grant_type", "password"),
                ("username", "admin"),
                ("password", "123456"),
            ],
        )
        .await;
    let access = first.field("access_token");
    let refresh = first.field("refresh_token");
    assert_eq!(get(&app, "/hi?name=a", Some(&access)).await.status, 200);
    for _ in 0..2 {
        app.token_basic(
            ("rot", "s3cret"),
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        )
        .await;
    }
    get(&app, "/hi?name=a", Some(&access)).await.assert_error(
        401,
        "invalid_token",
        "Invalid access token",
    );
}

async fn a_token_for_another_resource_is_refused(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.add_client("for-hi", "client_credentials", |row| {
        row.resource_ids = Some("hi".into())
    });
    let token = app
        .token_basic(
            ("for-hi", "s3cret"),
            &[("grant_type", "client_credentials")],
        )
        .await
        .field("access_token");
    get(&app, "/hi?name=a", Some(&token)).await.assert_error(
        401,
        "invalid_token",
        "Invalid token does not contain resource id (oauth2-resource)",
    );
}
